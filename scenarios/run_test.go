package scenarios

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"dpsim/claims"
	"dpsim/fakes"
	"dpsim/internal/progress"
	"dpsim/reports"
	"dpsim/topology"
)

// fakeEnv stands a fake platform of spec up with opts (torn down at the test's end) and returns the
// environment scenarios run in.
func fakeEnv(t testing.TB, spec topology.Spec, opts ...fakes.Option) Env {
	t.Helper()
	p := fakes.NewProvider(opts...)
	if err := p.Up(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Down(context.Background()) })
	return Env{Provider: p, Spec: spec, Claims: claims.Default(), Seed: 1, Log: progress.Discard()}
}

// run stands a fake platform up with opts, runs the named scenarios and returns their results.
func run(t testing.TB, spec topology.Spec, opts []fakes.Option, names ...string) []reports.Scenario {
	t.Helper()
	env := fakeEnv(t, spec, opts...)
	list, err := Select(names)
	if err != nil {
		t.Fatal(err)
	}
	return Run(context.Background(), env, list)
}

// checkStatus is the worst status of the named check across the results.
func checkStatus(results []reports.Scenario, check string) reports.Status {
	var statuses []reports.Status
	for _, r := range results {
		for _, c := range r.Checks {
			if c.Name == check {
				statuses = append(statuses, c.Status)
			}
		}
	}
	return reports.Worst(statuses...)
}

// TestCheckersFailOnMisbehavingFake shows each checker failing when the fake breaks the promise it
// checks, and passing when it does not.
func TestCheckersFailOnMisbehavingFake(t *testing.T) {
	tests := []struct {
		name     string
		opts     []fakes.Option
		spec     func(*topology.Spec)
		scenario string
		check    string
		want     reports.Status
	}{
		{"ledger holds on an honest fake", nil, nil, "node-kill", "ledger", reports.Pass},
		{"ledger catches dropped acknowledged writes", []fakes.Option{fakes.WithFault(fakes.DropAcknowledged)}, nil, "node-kill", "ledger", reports.Fail},
		{"ledger catches acks without replication under drive loss", []fakes.Option{fakes.WithFault(fakes.AckWithoutReplicating, topology.KindLog)}, nil, "drive-loss", "ledger", reports.Fail},
		{"ledger catches acks=1 losing a leader's drive", nil, func(s *topology.Spec) { s.Kafka.Acks = "1" }, "drive-loss", "ledger", reports.Fail},
		{"placement holds on an honest fake", nil, nil, "node-kill", "placement", reports.Pass},
		{"placement catches acks without replication", []fakes.Option{fakes.WithFault(fakes.AckWithoutReplicating)}, nil, "node-kill", "placement", reports.Fail},
		{"placement catches replication factor 1", nil, func(s *topology.Spec) { s.Kafka.ReplicationFactor = 1 }, "node-kill", "placement", reports.Fail},
		{"topology holds on an honest fake", nil, nil, "node-kill", "topology", reports.Pass},
		{"topology catches components on two nodes", []fakes.Option{fakes.WithComponentNodes(2)}, nil, "node-kill", "topology", reports.Fail},
		{"recovery holds on an honest fake", nil, nil, "node-kill", "recovery", reports.Pass},
		{"recovery catches a store that never comes back", []fakes.Option{fakes.WithFault(fakes.NeverRecover, topology.KindDocument)}, nil, "node-kill", "recovery", reports.Fail},
		{"zone outage catches a store that never comes back", []fakes.Option{fakes.WithFault(fakes.NeverRecover)}, nil, "zone-loss", "zone-outage", reports.Fail},
		{"zone outage holds on an honest fake", nil, nil, "zone-loss", "zone-outage", reports.Pass},
		{"zone outage catches every copy in the zone that went down", nil, func(s *topology.Spec) { s.Zones = []string{"zone-a"} }, "zone-loss", "zone-outage", reports.Fail},
		{"zone spread holds on an honest fake", nil, nil, "zone-loss", "zone-spread", reports.Pass},
		{"zone spread catches one zone for every copy", nil, func(s *topology.Spec) { s.Zones = []string{"zone-a"} }, "zone-loss", "zone-spread", reports.Fail},
		{"zone spread catches two of three nodes in one zone", nil, func(s *topology.Spec) { s.Zones = []string{"zone-a", "zone-b"} }, "zone-loss", "zone-spread", reports.Fail},
		{"tls holds on the default spec", nil, nil, "tls-posture", "tls", reports.Pass},
		{"tls catches TLS 1.0", nil, func(s *topology.Spec) { s.TLS.MinVersion = "1.0" }, "tls-posture", "tls", reports.Fail},
		{"tls catches a P-256 certificate", nil, func(s *topology.Spec) { s.TLS.CertCurve = "P-256" }, "tls-posture", "tls", reports.Fail},
		{"isolation holds with namespace policies", nil, nil, "isolation", "isolation", reports.Pass},
		{"ledger catches a definite failure that is present", []fakes.Option{fakes.WithFault(fakes.FailAfterApply, topology.KindLog)}, nil, "node-kill", "ledger", reports.Fail},
		{"ledger catches a corrupt value", []fakes.Option{fakes.WithFault(fakes.CorruptValues, topology.KindDocument)}, nil, "node-kill", "ledger", reports.Fail},
		{"placement catches an acknowledged record with no location", []fakes.Option{fakes.WithFault(fakes.HideLocation, topology.KindObject)}, nil, "node-kill", "placement", reports.Fail},
		{"ledger catches stackgraph with one copy under drive loss", nil, func(s *topology.Spec) { s.StackGraph.Replication, s.StackGraph.MinReplication = 1, 1 }, "drive-loss", "ledger", reports.Fail},
		{"placement catches stackgraph keeping one copy", nil, func(s *topology.Spec) { s.StackGraph.Replication, s.StackGraph.MinReplication = 1, 1 }, "node-kill", "placement", reports.Fail},
		{"isolation catches a platform without policies", nil, func(s *topology.Spec) { s.Network.Isolation = "none" }, "isolation", "isolation", reports.Fail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := topology.Default()
			if tt.spec != nil {
				tt.spec(&spec)
			}
			results := run(t, spec, tt.opts, tt.scenario)
			if got := checkStatus(results, tt.check); got != tt.want {
				t.Fatalf("%s check is %s, want %s\n%+v", tt.check, got, tt.want, results[0].Checks)
			}
		})
	}
}

// TestStoresThatReturnNothingFailClosed: a provider whose stores take no write, read back nothing and
// place nothing gives the durability controls no evidence, so they are errors with a reason, never a
// pass or an empty skip.
func TestStoresThatReturnNothingFailClosed(t *testing.T) {
	results := run(t, topology.Default(), []fakes.Option{fakes.WithFault(fakes.ReturnNothing)}, "node-kill", "drive-loss")
	for _, r := range results {
		for _, c := range r.Checks {
			if (c.Name == "ledger" || c.Name == "placement") && c.Status != reports.Error {
				t.Errorf("%s: %s check on %s/%s is %s (%s), want error", r.Name, c.Name, c.Tenant, c.Store, c.Status, c.Summary)
			}
		}
		if r.Status == reports.Pass {
			t.Errorf("%s passed with stores that return nothing", r.Name)
		}
	}
}

// TestRunScopedDatasets: every id of a run lies in its run-unique dataset, and the dataset is gone at
// the end unless retained.
func TestRunScopedDatasets(t *testing.T) {
	spec := topology.Default()
	p := fakes.NewProvider()
	ctx := context.Background()
	if err := p.Up(ctx, spec); err != nil {
		t.Fatal(err)
	}
	defer p.Down(ctx)
	list, _ := Select([]string{"node-kill"})
	for _, retain := range []bool{false, true} {
		env := Env{Provider: p, Spec: spec, Claims: claims.Default(), Seed: 1, Log: progress.Discard(), RunID: fmt.Sprintf("run%v", retain), Retain: retain}
		res := Run(ctx, env, list)[0]
		if res.Dataset != Dataset(env.RunID, "node-kill") {
			t.Fatalf("dataset %q, want the run's", res.Dataset)
		}
		sts, err := p.Stores(ctx, "tenant-a", res.Dataset)
		if err != nil {
			t.Fatal(err)
		}
		rb, err := sts[0].Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if left := len(rb.Records); (left > 0) != retain {
			t.Errorf("retain %v: %d records left in the dataset", retain, left)
		}
		for _, l := range res.Ledgers {
			if l.Unexpected != 0 {
				t.Errorf("retain %v: %s/%s read %d records of another run", retain, l.Tenant, l.Store, l.Unexpected)
			}
		}
	}
}

func TestSkippedForMissingCapability(t *testing.T) {
	results := run(t, topology.Default(), nil, "ingress-exposure")
	for _, r := range results {
		if r.Status != reports.Skipped || r.Reason == "" {
			t.Errorf("%s: %s (%q), want skipped with a reason", r.Name, r.Status, r.Reason)
		}
	}
}

func TestInterruptedScenarioIsAnError(t *testing.T) {
	env := fakeEnv(t, topology.Default())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	list, _ := Select([]string{"node-kill", "tls-posture"})
	for _, r := range Run(ctx, env, list) {
		if r.Status != reports.Error {
			t.Errorf("%s: %s, want error", r.Name, r.Status)
		}
	}
}

// A scenario that ran but whose invariants gave no check judged nothing: an error with a reason,
// never a skip; one that did not pass says which check did not.
func TestScenarioStatusFromItsChecks(t *testing.T) {
	env := fakeEnv(t, topology.Default())
	giving := func(checks ...reports.Check) Scenario {
		return Scenario{Name: "probe", Controls: []string{"DP-NET-2"}, Invariants: []Invariant{{Name: "tls", Control: "DP-NET-2",
			Check: func(*Observation, claims.Claims) []reports.Check { return checks }}}}
	}
	tests := []struct {
		name   string
		sc     Scenario
		want   reports.Status
		reason string
	}{
		{"no check", giving(), reports.Error, "gave no check: nothing was judged"},
		{"a passing check", giving(reports.Check{Name: "tls", Status: reports.Pass, Summary: "fine"}), reports.Pass, ""},
		{"an erring check", giving(reports.Check{Name: "tls", Status: reports.Pass, Summary: "fine"},
			reports.Check{Name: "ledger", Tenant: "t", Store: "kafka", Status: reports.Error, Summary: "nothing read"}), reports.Error, "ledger/t/kafka: nothing read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Run(context.Background(), env, []Scenario{tt.sc})[0]
			if r.Status != tt.want || !strings.Contains(r.Reason, tt.reason) || (tt.reason == "") != (r.Reason == "") {
				t.Fatalf("%s (%q), want %s saying %q", r.Status, r.Reason, tt.want, tt.reason)
			}
		})
	}
}

func TestSelectUnknown(t *testing.T) {
	if _, err := Select([]string{"node-kill", "meteor"}); err == nil {
		t.Fatal("unknown scenario accepted")
	}
}

// BenchmarkFakeCatalogue runs the whole catalogue on the fake provider.
func BenchmarkFakeCatalogue(b *testing.B) {
	for b.Loop() {
		run(b, topology.Default(), nil)
	}
}

// The isolation table covers every source and target in every phase, and without policies the
// report names the tenant pairs that connected.
func TestIsolationTableNamesConnectedPairs(t *testing.T) {
	spec := topology.Default()
	spec.Network.Isolation = "none"
	res := run(t, spec, nil, "isolation")[0]
	iso := res.Isolation
	if iso == nil {
		t.Fatal("no isolation table in the report")
	}
	var phases []string
	for _, p := range iso.Phases {
		phases = append(phases, p.Name)
	}
	if !slices.Equal(phases, []string{"before", "during", "after"}) {
		t.Errorf("phases %v, want before, during, after", phases)
	}
	joined := strings.Join(iso.ConnectedPairs, "; ")
	for _, pair := range []string{"tenant-a -> tenant-b", "tenant-b -> tenant-a", "outside (prober) -> tenant-a"} {
		if !strings.Contains(joined, pair) {
			t.Errorf("connected pairs %q do not name %s", joined, pair)
		}
	}
	if iso.Differing == 0 {
		t.Error("no cell marked as differing")
	}
	// 2 tenants x (2 components x 3 members + 4 HDFS daemons) x 2 ports = 40 targets; 2 agents +
	// outside + 5 nodes.
	before := 0
	for _, c := range iso.Cells {
		if c.Phase == "before" {
			before++
		}
	}
	if want := 40 * (3 + spec.Nodes); before != want {
		t.Errorf("%d cells before the fault, want %d", before, want)
	}
}

// degradedFake is the fake platform stood up without its edge, collecting evidence into a folder
// like the kind provider.
type degradedFake struct {
	*fakes.Provider
	missing   map[topology.Capability]string
	collected []string // the folders evidence was collected into
}

func (d *degradedFake) Unavailable() map[topology.Capability]string { return d.missing }

func (d *degradedFake) CollectEvidence(_ context.Context, dir string, _ time.Time) error {
	d.collected = append(d.collected, dir)
	return nil
}

// A scenario that needs what the platform was stood up without is an error with the diagnosis;
// the others run and are judged. A scenario that fails or errs gets its evidence collected into a
// folder of its own, named in the report; one that passes gets none.
func TestDegradedPlatformJudgesWhatStoodUp(t *testing.T) {
	spec := topology.Default()
	d := &degradedFake{Provider: fakes.NewProvider(fakes.WithFault(fakes.DropAcknowledged)),
		missing: map[topology.Capability]string{topology.CapIngress: "edge could not be stood up: no certificate (evidence in out/logs/edge)"}}
	if err := d.Up(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Down(context.Background()) })
	list, err := Select([]string{"tls-posture", "node-kill", "drive-loss"})
	if err != nil {
		t.Fatal(err)
	}
	env := Env{Provider: d, Spec: spec, Claims: claims.Default(), Seed: 1, Log: progress.Discard(), EvidenceDir: "out/logs"}
	byName := map[string]reports.Scenario{}
	for _, r := range Run(context.Background(), env, list) {
		byName[r.Name] = r
	}
	tlsPosture, nodeKill := byName["tls-posture"], byName["node-kill"]
	if tlsPosture.Status != reports.Error || !strings.Contains(tlsPosture.Reason, "ingress-tls") || !strings.Contains(tlsPosture.Reason, "no certificate (evidence in out/logs/edge)") {
		t.Errorf("tls-posture: %s %q, want an error naming the missing capability and its diagnosis", tlsPosture.Status, tlsPosture.Reason)
	}
	if nodeKill.Status != reports.Fail || nodeKill.Logs != "logs/node-kill" {
		t.Errorf("node-kill on a fake dropping acknowledged writes: %s, logs %q; want fail with logs/node-kill", nodeKill.Status, nodeKill.Logs)
	}
	if !slices.Contains(d.collected, filepath.Join("out/logs", "node-kill")) || slices.Contains(d.collected, filepath.Join("out/logs", "tls-posture")) {
		t.Errorf("evidence collected into %q, want node-kill's folder (the scenario that ran and failed) only among these", d.collected)
	}

	honest := &degradedFake{Provider: fakes.NewProvider()}
	if err := honest.Up(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { honest.Down(context.Background()) })
	env.Provider = honest
	one, _ := Select([]string{"node-kill"})
	if r := Run(context.Background(), env, one); r[0].Status != reports.Pass || r[0].Logs != "" || len(honest.collected) != 0 {
		t.Errorf("node-kill on an honest fake: %s, logs %q, collected %q; want a pass with no evidence collected", r[0].Status, r[0].Logs, honest.collected)
	}
}
