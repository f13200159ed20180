package scenarios

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"dpsim/reports"
	"dpsim/scenarios/history"
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
	env    Env
	sc     Scenario
	clock  topology.Clock
	start  time.Time
	rng    *rand.Rand
	hist   history.History
	obs    Observation
	events []reports.Event
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

func runOne(ctx context.Context, env Env, sc Scenario) reports.Scenario {
	res := newResult(sc)
	for _, need := range sc.Needs {
		if !topology.Has(env.Provider, need) {
			res.Status = reports.Skipped
			res.Reason = fmt.Sprintf("provider %s lacks the %s capability", env.Provider.Name(), need)
			env.Log.Info(sc.Name + ": skipped: " + res.Reason)
			return res
		}
	}
	if ctx.Err() != nil {
		return NotRun(sc, ErrInterrupted.Error())
	}
	clock := clockOf(env.Provider)
	r := &runner{env: env, sc: sc, clock: clock, start: clock.Now(), rng: rand.New(rand.NewPCG(uint64(env.Seed), nameHash(sc.Name)))}
	env.Log.Info(sc.Name + ": started")
	err := r.execute(ctx)
	r.obs.Ops = r.hist.Ops()
	end := clock.Now()
	res.DurationSeconds = r.since(end)
	for _, f := range r.obs.Faults {
		res.Faults = append(res.Faults, reports.Fault{Kind: f.Kind, Target: f.Target, StartSeconds: r.since(f.Start), EndSeconds: r.since(f.End)})
	}
	res.Timeline = buckets(r.obs.Ops, r.start, end)
	res.Events = r.events
	if err != nil {
		res.Status, res.Reason = reports.Error, err.Error()
		if ctx.Err() != nil {
			res.Reason = ErrInterrupted.Error() + ": " + err.Error()
		}
		env.Log.Warn(sc.Name + ": error: " + res.Reason)
		return res
	}
	var statuses []reports.Status
	for _, inv := range sc.Invariants {
		for _, c := range inv.Check(&r.obs, env.Claims) {
			res.Checks = append(res.Checks, c)
			statuses = append(statuses, c.Status)
		}
	}
	res.Ledgers = append(res.Ledgers, r.obs.Ledgers...)
	res.Isolation = r.obs.Isolation
	res.Recovery = append(res.Recovery, r.obs.Recovery...)
	res.Status = reports.Worst(statuses...)
	env.Log.Info(fmt.Sprintf("%s: %s (%d checks)", sc.Name, res.Status, len(res.Checks)))
	return res
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
	var recs []*history.Recorder
	if r.sc.Traffic != nil {
		var err error
		if recs, err = r.recorders(ctx); err != nil {
			return err
		}
	}
	if err := r.traffic(ctx, recs, "before"); err != nil {
		return err
	}
	if err := r.observePhase(ctx, "before", nil); err != nil {
		return err
	}
	if r.sc.Fault != nil {
		if err := r.fault(ctx, recs); err != nil {
			return err
		}
	}
	if r.sc.Traffic != nil {
		if err := r.settle(ctx); err != nil {
			return err
		}
		if err := r.finalRead(ctx, recs); err != nil {
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

// fault injects the scenario's fault, drives traffic while it is in force and recovers from it.
func (r *runner) fault(ctx context.Context, recs []*history.Recorder) error {
	f := r.sc.Fault
	start := r.clock.Now()
	inj, err := f.Inject(ctx, r.env, r.rng)
	if err != nil {
		return fmt.Errorf("inject %s: %w", f.Kind(), err)
	}
	r.event("injected %s on %s", f.Kind(), inj.Target)
	r.nodeStatus(ctx)
	if err := r.observePhase(ctx, "during", inj.Nodes); err != nil {
		r.obs.Faults = append(r.obs.Faults, FaultWindow{Kind: f.Kind(), Target: inj.Target, Nodes: inj.Nodes, Start: start, End: r.clock.Now()})
		return errors.Join(err, inj.Recover(context.WithoutCancel(ctx)))
	}
	workloadStart := r.clock.Now()
	trafficErr := r.traffic(ctx, recs, "during")
	window := FaultWindow{Kind: f.Kind(), Target: inj.Target, Nodes: inj.Nodes, Start: start,
		WorkloadStart: workloadStart, WorkloadEnd: r.clock.Now()}
	if t := r.sc.Traffic; t != nil && t.FaultSeconds > 0 && slices.ContainsFunc(recs, (*history.Recorder).Timed) {
		if stop := workloadStart.Add(t.faultDuration()); stop.Before(window.WorkloadEnd) {
			window.WorkloadEnd = stop // a timed workload starts no write after its duration
		}
	}
	if ctx.Err() != nil { // interrupted: teardown follows, recovering would only delay it
		window.End = window.WorkloadEnd
		r.obs.Faults = append(r.obs.Faults, window)
		return trafficErr
	}
	recErr := inj.Recover(ctx)
	window.End = r.clock.Now()
	r.obs.Faults = append(r.obs.Faults, window)
	if err := errors.Join(trafficErr, recErr); err != nil {
		return fmt.Errorf("%s on %s: %w", f.Kind(), inj.Target, err)
	}
	r.event("recovered from %s on %s", f.Kind(), inj.Target)
	if err := r.settle(ctx); err != nil {
		return err
	}
	r.nodeStatus(ctx)
	if err := r.traffic(ctx, recs, "after"); err != nil {
		return err
	}
	return r.observePhase(ctx, "after", nil)
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

func (r *runner) settle(ctx context.Context) error {
	s, ok := r.env.Provider.(topology.Settler)
	if !ok {
		return nil
	}
	if err := s.Settle(ctx); err != nil {
		return fmt.Errorf("wait for the platform to settle: %w", err)
	}
	r.event("platform settled")
	return nil
}

// recorders wraps every store of every tenant in a recording client.
func (r *runner) recorders(ctx context.Context) ([]*history.Recorder, error) {
	sa := r.env.Provider.(topology.StoreAccess)
	var recs []*history.Recorder
	for _, tenant := range r.env.Spec.Tenants {
		stores, err := sa.Stores(ctx, tenant, r.sc.Name)
		if err != nil {
			return nil, fmt.Errorf("open stores of tenant %s: %w", tenant, err)
		}
		for _, s := range stores {
			recs = append(recs, &history.Recorder{Store: s, Tenant: tenant, Clock: r.clock, History: &r.hist})
		}
	}
	return recs, nil
}

// traffic writes the phase's records to every store. Stores that write by themselves (a real
// platform's agent) run concurrently: while the fault is in force those that can write for a time
// do so for Traffic.FaultSeconds, the others write a batch of Traffic.writes(phase) ids. Stores that
// cannot are written round-robin, one write at a time, which keeps simulated providers repeatable.
// A write that fails is recorded and the traffic goes on; only cancellation stops it.
func (r *runner) traffic(ctx context.Context, recs []*history.Recorder, phase string) error {
	t := r.sc.Traffic
	if t == nil {
		return nil
	}
	ids := func(rec *history.Recorder) []string {
		out := make([]string, t.writes(phase))
		for i := range out {
			out[i] = fmt.Sprintf("%s%s-%05d", r.idPrefix(rec), phase, i)
		}
		return out
	}
	timed := phase == "during" && t.FaultSeconds > 0
	var own, single []*history.Recorder
	for _, rec := range recs {
		if rec.Batched() || (timed && rec.Timed()) {
			own = append(own, rec)
		} else {
			single = append(single, rec)
		}
	}
	before := r.hist.Len()
	var wg sync.WaitGroup
	for _, rec := range own {
		wg.Go(func() {
			var err error
			if timed && rec.Timed() {
				err = rec.WriteFor(ctx, topology.TimedLoad{Prefix: r.idPrefix(rec) + phase + "-", Duration: t.faultDuration(),
					Rate: t.FaultRate, InFlight: t.FaultInFlight, ValueBytes: t.ValueBytes})
			} else {
				err = rec.WriteBatch(ctx, ids(rec), t.ValueBytes)
			}
			if err != nil && ctx.Err() == nil {
				r.env.Log.Warn(fmt.Sprintf("%s: %s/%s %s the fault: %v", r.sc.Name, rec.Tenant, rec.Store.Name(), phase, err))
			}
		})
	}
	singleIDs := make([][]string, len(single))
	for k, rec := range single {
		singleIDs[k] = ids(rec)
	}
	value := make([]byte, t.ValueBytes)
	for i := range t.writes(phase) {
		for k, rec := range single {
			if err := ctx.Err(); err != nil {
				wg.Wait()
				return err
			}
			for j := range value {
				value[j] = byte('a' + r.rng.IntN(26))
			}
			_ = rec.Write(ctx, singleIDs[k][i], value) // the outcome is in the history
		}
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	if timed && len(own) > 0 {
		r.event("%s the fault: %d writes to %d stores in %gs (at most %d/s per store)", phase, r.hist.Len()-before, len(recs), t.FaultSeconds, t.FaultRate)
	} else {
		r.event("%s the fault: %d writes per store", phase, t.writes(phase))
	}
	return nil
}

// idPrefix is the keyspace of this scenario's writes to one tenant's store.
func (r *runner) idPrefix(rec *history.Recorder) string {
	return r.sc.Name + "/" + rec.Tenant + "/" + rec.Store.Name() + "/"
}

// finalRead reads every store back and asks where each record lives. Each scenario writes its ids
// under its own prefix (as if into its own topic, index and bucket) and reads back only those, so
// the records of earlier scenarios on the same platform are not counted as unexpected.
func (r *runner) finalRead(ctx context.Context, recs []*history.Recorder) error {
	for _, rec := range recs {
		all, err := rec.Store.ReadAll(ctx)
		if err != nil {
			return fmt.Errorf("final read of %s/%s: %w", rec.Tenant, rec.Store.Name(), err)
		}
		var read []string
		for _, id := range all {
			if strings.HasPrefix(id, r.idPrefix(rec)) {
				read = append(read, id)
			}
		}
		placement, err := rec.Store.Placement(ctx)
		if err != nil {
			return fmt.Errorf("placement of %s/%s: %w", rec.Tenant, rec.Store.Name(), err)
		}
		r.obs.Stores = append(r.obs.Stores, StoreState{Tenant: rec.Tenant, Name: rec.Store.Name(), FinalRead: read, Placement: placement})
	}
	r.event("read back %d stores", len(recs))
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
