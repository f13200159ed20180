package scenarios

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"dpsim/reports"
	"dpsim/scenarios/history"
	"dpsim/stores"
	"dpsim/topology"
)

// ErrInterrupted is the reason given to scenarios a cancelled run did not finish.
var ErrInterrupted = errors.New("interrupted")

// Run runs the scenarios one after another and returns one report entry for each. Once ctx is
// cancelled, the scenario under way stops at its next step and it and every later one are reported
// as errors ("interrupted") with whatever they had recorded.
func Run(ctx context.Context, env Env, list []Scenario) []reports.Scenario {
	out := make([]reports.Scenario, 0, len(list))
	for _, sc := range list {
		out = append(out, runOne(ctx, env, sc))
	}
	return out
}

// wallClock is the clock of providers that do not simulate time.
type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

func clockOf(p topology.Provider) topology.Clock {
	if c, ok := p.(topology.Clocked); ok {
		return c.Clock()
	}
	return wallClock{}
}

// runner is one scenario under way.
type runner struct {
	env   Env
	sc    Scenario
	clock topology.Clock
	start time.Time
	// wallStart is when the scenario began on the wall clock, whatever the provider's clock: the
	// logs collected as its evidence start there.
	wallStart time.Time
	rng       *rand.Rand
	dataset   string
	hist      history.History
	recs      []*history.Recorder
	obs       Observation
	events    []reports.Event
	// settleBy is when (on the wall clock) waiting for the platform to settle gives up; unsettled is
	// why it did.
	settleBy  time.Time
	unsettled error
	// unhealed names what recovery could not undo or what did not settle.
	unhealed []string
	// madeBackups are the backups the scenario made, deleted at its end unless the run retains them.
	madeBackups []string
}

// newResult is the empty report entry of a scenario.
func newResult(sc Scenario) reports.Scenario {
	return reports.Scenario{Name: sc.Name, Description: sc.Description, Controls: sc.Controls,
		Faults: []reports.Fault{}, Ledgers: []reports.Ledger{}, Checks: []reports.Check{},
		Recovery: []reports.Recovery{}, Timeline: []reports.Bucket{}, Events: []reports.Event{}}
}

// NotRun is the report entry of a scenario that could not run for reason (an error, not a skip: the
// platform should have run it).
func NotRun(sc Scenario, reason string) reports.Scenario {
	res := newResult(sc)
	res.Status, res.Reason = reports.Error, reason
	return res
}

// Dataset is the name of the dataset (topic, index, bucket prefix) a scenario of run runID writes.
func Dataset(runID, scenario string) string { return runID + "-" + scenario }

func runOne(ctx context.Context, env Env, sc Scenario) (res reports.Scenario) {
	res = newResult(sc)
	for _, need := range sc.Needs {
		if !topology.Has(env.Provider, need) {
			res.Status = reports.Skipped
			res.Reason = fmt.Sprintf("provider %s lacks the %s capability", env.Provider.Name(), need)
			env.Log.Info(sc.Name + ": skipped: " + res.Reason)
			return res
		}
	}
	if why := unavailable(env.Provider, sc.Needs); why != "" {
		env.Log.Warn(sc.Name + ": error: " + why)
		return NotRun(sc, why)
	}
	if ctx.Err() != nil {
		return NotRun(sc, ErrInterrupted.Error())
	}
	clock := clockOf(env.Provider)
	r := &runner{env: env, sc: sc, clock: clock, start: clock.Now(), wallStart: time.Now(), dataset: Dataset(env.RunID, sc.Name),
		rng: rand.New(rand.NewPCG(uint64(env.Seed), nameHash(sc.Name)))}
	if sc.Traffic != nil {
		res.Dataset = r.dataset
	}
	env.Log.Info(sc.Name + ": started")
	err := r.execute(ctx)
	defer r.collectEvidence(ctx, &res) // once the verdict is known
	r.dropDatasets(ctx)
	r.deleteBackups(ctx)
	r.obs.Ops = r.hist.Ops()
	end := clock.Now()
	res.DurationSeconds = r.since(end)
	for _, f := range r.obs.Faults {
		res.Faults = append(res.Faults, reports.Fault{Kind: f.Kind, Target: f.Target, StartSeconds: r.since(f.Start), EndSeconds: r.since(f.End), Effect: f.Effect})
	}
	res.Timeline = buckets(r.obs.Ops, r.start, end)
	res.Events = r.events
	res.Unhealed = r.unhealed
	res.Backups = backupReport(r.obs.Backup)
	if err == nil {
		err = r.evidenceMissing()
	}
	if err != nil {
		res.Status, res.Reason = reports.Error, err.Error()
		if ctx.Err() != nil {
			res.Reason = ErrInterrupted.Error() + ": " + err.Error()
		}
		env.Log.Warn(sc.Name + ": error: " + res.Reason)
		return res
	}
	for _, inv := range sc.Invariants {
		res.Checks = append(res.Checks, inv.Check(&r.obs, env.Claims)...)
	}
	res.Ledgers = append(res.Ledgers, r.obs.Ledgers...)
	res.Isolation = r.obs.Isolation
	res.TLS = r.obs.TLS
	res.Exposure = r.obs.Exposure
	res.AtRest = r.obs.AtRest
	res.Passwords = r.obs.Passwords
	res.OIDC = r.obs.OIDC
	res.Recovery = append(res.Recovery, r.obs.Recovery...)
	res.Placements = placementSamples(r.obs)
	res.Status, res.Reason = judged(res.Checks)
	env.Log.Info(fmt.Sprintf("%s: %s (%d checks)", sc.Name, res.Status, len(res.Checks)))
	return res
}

// judged is the status of a scenario that ran, from its checks, with the reason of one that did not
// pass (its first check of that status). A scenario that ran and gave no check judged nothing: an
// error, never a skip.
func judged(checks []reports.Check) (reports.Status, string) {
	if len(checks) == 0 {
		return reports.Error, "the scenario ran but its invariants gave no check: nothing was judged"
	}
	statuses := make([]reports.Status, len(checks))
	for i, c := range checks {
		statuses[i] = c.Status
	}
	status := reports.Worst(statuses...)
	i := slices.IndexFunc(checks, func(c reports.Check) bool { return c.Status == status })
	if status == reports.Pass || i < 0 {
		return status, ""
	}
	return status, checks[i].Label() + ": " + checks[i].Summary
}

// unavailable says why a capability of needs is missing from a platform stood up without some of
// its parts ("" when none is).
func unavailable(p topology.Provider, needs []topology.Capability) string {
	d, ok := p.(topology.Degraded)
	if !ok {
		return ""
	}
	missing := d.Unavailable()
	for _, need := range needs {
		if why, ok := missing[need]; ok {
			return fmt.Sprintf("the platform was stood up without its %s capability: %s", need, why)
		}
	}
	return ""
}

// collectEvidence saves, for a scenario that failed or erred, what the provider can show of why
// into a folder of its own under the run's evidence folder, and names that folder in the report
// (and in the reason of an error). Evidence that cannot be collected is logged, never a verdict.
// An interrupted run collects nothing: it stops and tears down promptly.
func (r *runner) collectEvidence(ctx context.Context, res *reports.Scenario) {
	ec, ok := r.env.Provider.(topology.EvidenceCollector)
	if !ok || r.env.EvidenceDir == "" || ctx.Err() != nil || (res.Status != reports.Fail && res.Status != reports.Error) {
		return
	}
	dir := filepath.Join(r.env.EvidenceDir, r.sc.Name)
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), evidenceTimeout)
	defer cancel()
	start := time.Now()
	if err := ec.CollectEvidence(cctx, dir, r.wallStart); err != nil {
		r.env.Log.Warn(fmt.Sprintf("%s: collect evidence into %s: %v", r.sc.Name, dir, err))
	}
	res.Logs = filepath.Join(filepath.Base(r.env.EvidenceDir), r.sc.Name)
	if res.Status == reports.Error {
		res.Reason += " (evidence in " + dir + ")"
	}
	r.env.Log.Info(fmt.Sprintf("%s: evidence collected into %s in %s", r.sc.Name, dir, time.Since(start).Round(100*time.Millisecond)))
}

// evidenceTimeout bounds collecting one scenario's evidence.
const evidenceTimeout = 3 * time.Minute

// evidenceMissing fails a scenario closed when it ran but saw nothing to judge: a workload that
// recorded no operation, or a fault that left no evidence of taking effect.
func (r *runner) evidenceMissing() error {
	if r.sc.Traffic != nil && len(r.obs.Ops) == 0 {
		return errors.New("the workload recorded no operation: nothing to judge")
	}
	for _, f := range r.obs.Faults {
		if len(f.Effect) == 0 {
			return fmt.Errorf("%s on %s left no evidence of taking effect (node down, new volume, packets dropped): nothing to judge", f.Kind, f.Target)
		}
	}
	return nil
}

// placementSamplesPerStore bounds the placement evidence the report keeps per store.
const placementSamplesPerStore = 5

// placementSamples picks, per store, acknowledged records spread over the ids (so over the phases)
// with the nodes the store reported holding them.
func placementSamples(o Observation) []reports.PlacementSample {
	var out []reports.PlacementSample
	for _, s := range o.Stores {
		acked := map[string]bool{}
		for _, op := range s.ops(&o) {
			if op.Outcome == history.OK {
				acked[op.ID] = true
			}
		}
		var picked []topology.Placement
		for _, p := range s.Placement {
			if acked[p.ID] {
				picked = append(picked, p)
			}
		}
		slices.SortFunc(picked, func(a, b topology.Placement) int { return strings.Compare(a.ID, b.ID) })
		step := max(len(picked)/placementSamplesPerStore, 1) // spread over the phases' ids
		for i := 0; i < len(picked) && i/step < placementSamplesPerStore; i += step {
			p := picked[i]
			out = append(out, reports.PlacementSample{Tenant: s.Tenant, Store: s.Name, ID: p.ID, Nodes: p.Nodes})
		}
	}
	return out
}

func nameHash(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

func (r *runner) since(t time.Time) float64 { return t.Sub(r.start).Seconds() }

func (r *runner) event(format string, args ...any) {
	what := fmt.Sprintf(format, args...)
	r.events = append(r.events, reports.Event{AtSeconds: r.since(r.clock.Now()), What: what})
	r.env.Log.Info(r.sc.Name + ": " + what)
}

// execute runs the scenario's steps: inspect, traffic before, fault, traffic during, recover,
// traffic after, settle, final read, probe.
func (r *runner) execute(ctx context.Context) error {
	p := r.env.Provider
	if inv, ok := p.(topology.Inventory); ok {
		comps, err := inv.Components(ctx)
		if err != nil {
			return fmt.Errorf("inspect components: %w", err)
		}
		r.obs.Components = comps
	}
	if r.sc.Drill != nil {
		return r.sc.Drill.run(ctx, r)
	}
	if r.sc.Traffic != nil {
		if err := r.openStores(ctx); err != nil {
			return err
		}
	}
	if err := r.traffic(ctx, "before"); err != nil {
		return err
	}
	if err := r.observePhase(ctx, "before", nil); err != nil {
		return err
	}
	if r.sc.Fault != nil {
		if err := r.fault(ctx); err != nil {
			return err
		}
	}
	if r.sc.Traffic != nil {
		if err := r.settle(ctx); err != nil {
			return err
		}
		if err := r.finalRead(ctx); err != nil {
			return err
		}
	}
	if r.sc.Probe != nil {
		if err := r.sc.Probe.Observe(ctx, r.env, &r.obs); err != nil {
			return fmt.Errorf("probe: %w", err)
		}
	}
	return nil
}

// metadataTaken names each metadata-only member (HDFS's namenode) on the nodes a fault took: its
// component stops taking writes until it is back, and the recovery figures show for how long.
func metadataTaken(comps []topology.Component, nodes []string) []string {
	var out []string
	for _, c := range comps {
		for _, m := range c.Members {
			if m.MetadataOnly && slices.Contains(nodes, m.Node) {
				out = append(out, fmt.Sprintf("the fault took %s/%s's %s on %s, the one process keeping its metadata", c.Tenant, c.Name, m.Name, m.Node))
			}
		}
	}
	return out
}

// fault injects the scenario's fault, drives traffic while it is in force and recovers from it.
// Recovery always runs once the fault is in, even when the run was interrupted (then with a bounded
// time of its own), and what it could not heal is reported.
func (r *runner) fault(ctx context.Context) error {
	f := r.sc.Fault
	start := r.clock.Now()
	inj, err := f.Inject(ctx, r.env, r.rng)
	if err != nil {
		return fmt.Errorf("inject %s: %w", f.Kind(), err)
	}
	inj.Effect = append(inj.Effect, metadataTaken(r.obs.Components, inj.Nodes)...)
	r.event("injected %s on %s: %s", f.Kind(), inj.Target, strings.Join(inj.Effect, "; "))
	window := FaultWindow{Kind: f.Kind(), Target: inj.Target, Nodes: inj.Nodes, Effect: inj.Effect, Start: start}
	recoverFault := func() error {
		rctx := ctx
		if ctx.Err() != nil {
			var cancel context.CancelFunc
			rctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), recoverTimeout)
			defer cancel()
		}
		effect, err := inj.Recover(rctx)
		window.Effect = append(window.Effect, effect...)
		window.End = r.clock.Now()
		r.obs.Faults = append(r.obs.Faults, window)
		r.settleBy = time.Now().Add(r.env.settleTimeout()) // a wall-clock bound, whatever the provider's clock
		if err != nil {
			r.unhealed = append(r.unhealed, fmt.Sprintf("%s on %s: %v", f.Kind(), inj.Target, err))
			return fmt.Errorf("recover from %s on %s: %w", f.Kind(), inj.Target, err)
		}
		r.event("recovered from %s on %s%s", f.Kind(), inj.Target, prefixed(": ", strings.Join(effect, "; ")))
		return nil
	}
	r.nodeStatus(ctx)
	if err := r.observePhase(ctx, "during", inj.Nodes); err != nil {
		return errors.Join(err, recoverFault())
	}
	window.WorkloadStart = r.clock.Now()
	trafficErr := r.traffic(ctx, "during")
	window.WorkloadEnd = r.clock.Now()
	if t := r.sc.Traffic; t != nil && r.timed("during") {
		if stop := window.WorkloadStart.Add(t.faultDuration()); stop.Before(window.WorkloadEnd) {
			window.WorkloadEnd = stop // a timed workload starts no write after its duration
		}
	}
	if err := errors.Join(trafficErr, recoverFault()); err != nil {
		return err
	}
	if err := r.settle(ctx); err != nil {
		return err
	}
	r.nodeStatus(ctx)
	if err := r.traffic(ctx, "after"); err != nil {
		return err
	}
	return r.observePhase(ctx, "after", nil)
}

func prefixed(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}

// observePhase runs the scenario's phase probe, if it has one.
func (r *runner) observePhase(ctx context.Context, phase string, down []string) error {
	if r.sc.Phases == nil {
		return nil
	}
	if err := r.sc.Phases.ObservePhase(ctx, r.env, phase, down, &r.obs); err != nil {
		return fmt.Errorf("observe %s the fault: %w", phase, err)
	}
	return nil
}

// nodeStatus records how many nodes the provider reports ready and, where the provider can tell,
// what the platform did about the fault (members not ready, pending, restarted).
func (r *runner) nodeStatus(ctx context.Context) {
	nodes, err := r.env.Provider.Nodes(ctx)
	if err != nil {
		r.event("could not list nodes: %v", err)
		return
	}
	ready := 0
	for _, n := range nodes {
		if n.Ready {
			ready++
		}
	}
	r.event("%d of %d nodes ready", ready, len(nodes))
	if o, ok := r.env.Provider.(topology.Observer); ok {
		notes, err := o.Observe(ctx)
		if err != nil {
			r.event("could not observe the platform: %v", err)
		}
		for _, n := range notes {
			r.event("%s", n)
		}
	}
}

// settle waits for the platform to recover, at most until settleBy (set when a fault was healed).
// A platform that does not settle in time is judged as it is: the wait's error is reported as
// unhealed and the scenario goes on to its final read; later waits are skipped. Only cancellation
// stops the scenario.
func (r *runner) settle(ctx context.Context) error {
	s, ok := r.env.Provider.(topology.Settler)
	if !ok || r.unsettled != nil {
		return nil
	}
	sctx := ctx
	if !r.settleBy.IsZero() {
		var cancel context.CancelFunc
		sctx, cancel = context.WithDeadline(ctx, r.settleBy)
		defer cancel()
	}
	if err := s.Settle(sctx); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("wait for the platform to settle: %w", err)
		}
		r.unsettled = err
		r.unhealed = append(r.unhealed, "did not settle: "+err.Error())
		r.event("platform did not settle in time; judging it as it is: %v", err)
		return nil
	}
	r.event("platform settled")
	return nil
}

// settleAnew waits for the platform to settle after a change of the drill's own (a restore, drives
// brought back), with a fresh bound, whatever an earlier wait found.
func (r *runner) settleAnew(ctx context.Context) error {
	r.settleBy, r.unsettled = time.Now().Add(r.env.settleTimeout()), nil
	return r.settle(ctx)
}

// openStores opens this scenario's dataset in every store of every tenant, each behind a recording
// client.
func (r *runner) openStores(ctx context.Context) error {
	for _, tenant := range r.env.Spec.Tenants {
		if _, err := r.openTenant(ctx, tenant); err != nil {
			return err
		}
	}
	return nil
}

// openTenant opens this scenario's dataset in every store of tenant and returns their recorders.
func (r *runner) openTenant(ctx context.Context, tenant string) ([]*history.Recorder, error) {
	sa, ok := r.env.Provider.(topology.StoreAccess)
	if !ok {
		return nil, fmt.Errorf("provider %s lacks the %s capability", r.env.Provider.Name(), topology.CapStores)
	}
	stores, err := sa.Stores(ctx, tenant, r.dataset)
	if err != nil {
		return nil, fmt.Errorf("open stores of tenant %s: %w", tenant, err)
	}
	var out []*history.Recorder
	for _, s := range stores {
		out = append(out, &history.Recorder{Store: s, Tenant: tenant, History: &r.hist})
	}
	r.recs = append(r.recs, out...)
	return out, nil
}

// dropDatasets removes the scenario's datasets unless the run retains them; it runs after an
// interrupt too, with a bounded time of its own.
func (r *runner) dropDatasets(ctx context.Context) {
	failed, ran := cleanUp(ctx, r, r.recs, func(ctx context.Context, rec *history.Recorder) (string, error) {
		return rec.Tenant + "/" + rec.Store.Name(), rec.Store.Drop(ctx)
	})
	switch {
	case len(failed) > 0:
		r.event("could not remove dataset %s: %s", r.dataset, strings.Join(failed, "; "))
	case ran:
		r.event("removed dataset %s from %d stores", r.dataset, len(r.recs))
	}
}

// cleanUp removes every item the scenario made unless the run retains its data; it runs after an
// interrupt too, with a bounded time of its own. It returns what could not be removed, and whether
// it ran at all.
func cleanUp[T any](ctx context.Context, r *runner, items []T, remove func(context.Context, T) (string, error)) (failed []string, ran bool) {
	if r.env.Retain || len(items) == 0 {
		return nil, false
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recoverTimeout)
	defer cancel()
	for _, it := range items {
		if name, err := remove(dctx, it); err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", name, err))
		}
	}
	return failed, true
}

// timed reports whether phase's writes are a timed workload: while the fault is in force, on a
// provider that runs on the wall clock. A provider with a simulated clock gets a number of writes.
func (r *runner) timed(phase string) bool {
	return phase == "during" && r.sc.Traffic.FaultSeconds > 0 && !r.simulated()
}

// simulated reports whether the provider keeps a simulated clock (the fake), on which traffic goes
// one store after another and counts writes instead of timing them.
func (r *runner) simulated() bool {
	_, ok := r.env.Provider.(topology.Clocked)
	return ok
}

// traffic writes the phase's records to every store. On a real platform the stores are written
// concurrently, and while the fault is in force each for Traffic.FaultSeconds; on a provider with
// a simulated clock one store after another, which keeps it repeatable. A write that fails is
// recorded and the traffic goes on; only cancellation stops it.
func (r *runner) traffic(ctx context.Context, phase string) error {
	t := r.sc.Traffic
	if t == nil {
		return nil
	}
	timed := r.timed(phase)
	before := r.hist.Len()
	r.eachStore(r.recs, func(rec *history.Recorder) {
		var err error
		if timed {
			err = rec.WriteFor(ctx, stores.TimedLoad{Prefix: r.idPrefix(rec) + phase + "-", Duration: t.faultDuration(),
				Rate: t.FaultRate, InFlight: t.FaultInFlight, ValueBytes: t.ValueBytes})
		} else {
			err = r.writeIDs(ctx, rec, phase, t.writes(phase))
		}
		if err != nil && ctx.Err() == nil {
			r.env.Log.Warn(fmt.Sprintf("%s: %s/%s %s the fault: %v", r.sc.Name, rec.Tenant, rec.Store.Name(), phase, err))
		}
	})
	if err := ctx.Err(); err != nil {
		return err
	}
	if timed {
		r.event("%s the fault: %d writes to %d stores in %gs (at most %d/s per store)", phase, r.hist.Len()-before, len(r.recs), t.FaultSeconds, t.FaultRate)
	} else {
		r.event("%s the fault: %d writes per store", phase, t.writes(phase))
	}
	return nil
}

// eachStore runs write for every recorder: concurrently on a real platform, one after another on a
// provider with a simulated clock, which keeps it repeatable.
func (r *runner) eachStore(recs []*history.Recorder, write func(rec *history.Recorder)) {
	if r.simulated() {
		for _, rec := range recs {
			write(rec)
		}
		return
	}
	var wg sync.WaitGroup
	for _, rec := range recs {
		wg.Go(func() { write(rec) })
	}
	wg.Wait()
}

// writeIDs writes n records of phase to rec's store: ids <dataset>/<tenant>/<store>/<phase>-NNNNN.
func (r *runner) writeIDs(ctx context.Context, rec *history.Recorder, phase string, n int) error {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s%s-%05d", r.idPrefix(rec), phase, i)
	}
	return rec.WriteIDs(ctx, ids, r.valueBytes())
}

// valueBytes is the size of the values the scenario writes.
func (r *runner) valueBytes() int {
	if r.sc.Traffic != nil && r.sc.Traffic.ValueBytes > 0 {
		return r.sc.Traffic.ValueBytes
	}
	return DefaultTraffic.ValueBytes
}

// idPrefix is the prefix of this scenario's ids in one tenant's store.
func (r *runner) idPrefix(rec *history.Recorder) string {
	return r.dataset + "/" + rec.Tenant + "/" + rec.Store.Name() + "/"
}

// finalRead reads every store's dataset back and asks the stores where each record lives. The
// dataset is this run's alone, so everything in it is judged: a record the run never attempted is
// unexpected. A store whose placement cannot be observed is recorded with the error, which makes
// its placement check an error, not a pass.
func (r *runner) finalRead(ctx context.Context) error {
	for _, rec := range r.recs {
		rb, err := rec.Store.Read(ctx)
		if err != nil {
			return fmt.Errorf("final read of %s/%s: %w", rec.Tenant, rec.Store.Name(), err)
		}
		st := StoreState{Tenant: rec.Tenant, Name: rec.Store.Name(), Kind: rec.Store.Kind(), Read: rb}
		if st.Placement, err = rec.Store.Placement(ctx); err != nil {
			if ctx.Err() != nil {
				return err
			}
			st.PlacementErr = err
			r.event("placement of %s/%s could not be observed: %v", rec.Tenant, rec.Store.Name(), err)
		}
		for _, u := range rb.Unreadable {
			r.event("%s/%s: unreadable: %s", rec.Tenant, rec.Store.Name(), u)
		}
		r.obs.Stores = append(r.obs.Stores, st)
	}
	r.event("read back %d stores", len(r.recs))
	return nil
}

// timelineBuckets is how many slices the timeline of a scenario is cut into.
const timelineBuckets = 60

// buckets counts operation outcomes over time, for the report's timeline.
func buckets(ops []history.Op, start, end time.Time) []reports.Bucket {
	span := end.Sub(start)
	if len(ops) == 0 || span <= 0 {
		return []reports.Bucket{}
	}
	width := span / timelineBuckets
	if width <= 0 {
		width = span
	}
	n := int(span/width) + 1
	out := make([]reports.Bucket, n)
	for i := range out {
		out[i].StartSeconds = (time.Duration(i) * width).Seconds()
	}
	for _, op := range ops {
		i := min(max(int(op.Invoked.Sub(start)/width), 0), n-1)
		switch op.Outcome {
		case history.OK:
			out[i].OK++
		case history.Failed:
			out[i].Failed++
		default:
			out[i].Unknown++
		}
	}
	return out
}
