package checkers

import (
	"slices"
	"strings"
	"testing"

	"dpsim/reports"
	"dpsim/topology"
)

func TestExpectedIsolation(t *testing.T) {
	kafka0 := topology.Target{Tenant: "tenant-a", Component: "kafka", Pod: "kafka-0", Node: "worker", Port: 9092}
	svc := topology.Target{Tenant: "tenant-a", Component: "kafka", Port: 9092, AddressKind: topology.AddressDNS}
	tests := []struct {
		name      string
		isolation string
		src       topology.Source
		dst       topology.Target
		want      string
	}{
		{"same tenant", "namespace", topology.Source{Kind: topology.SourceTenant, Tenant: "tenant-a"}, kafka0, ExpectAllowed},
		{"same tenant without a promise", "none", topology.Source{Kind: topology.SourceTenant, Tenant: "tenant-a"}, kafka0, ExpectAllowed},
		{"other tenant", "namespace", topology.Source{Kind: topology.SourceTenant, Tenant: "tenant-b"}, kafka0, ExpectBlocked},
		{"other tenant without a promise", "none", topology.Source{Kind: topology.SourceTenant, Tenant: "tenant-b"}, kafka0, ExpectAny},
		{"outside", "namespace", topology.Source{Kind: topology.SourceOutside, Name: "probe"}, kafka0, ExpectBlocked},
		{"other node", "namespace", topology.Source{Kind: topology.SourceNode, Name: "worker2"}, kafka0, ExpectBlocked},
		{"the pod's own node", "namespace", topology.Source{Kind: topology.SourceNode, Name: "worker"}, kafka0, ExpectAny},
		{"node to a service", "namespace", topology.Source{Kind: topology.SourceNode, Name: "worker2"}, svc, ExpectAny},
		{"unknown claim", "vlan", topology.Source{Kind: topology.SourceOutside, Name: "probe"}, kafka0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ExpectedIsolation(tt.isolation, tt.src, tt.dst); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

var (
	isoSources = []topology.Source{
		{Kind: topology.SourceTenant, Tenant: "tenant-a", Name: "dpsim-agent-a"},
		{Kind: topology.SourceTenant, Tenant: "tenant-b", Name: "dpsim-agent-b"},
		{Kind: topology.SourceOutside, Name: "dpsim-probe"},
		{Kind: topology.SourceNode, Name: "worker"},
	}
	isoPhases = []string{"before", "during", "after"}
)

// isoTargets are a few ports of each tenant by every address kind, on node worker2.
func isoTargets() []topology.Target {
	var out []topology.Target
	for _, tenant := range []string{"tenant-a", "tenant-b"} {
		ns := tenant
		out = append(out,
			topology.Target{Tenant: tenant, Component: "kafka", Pod: "kafka-0", Node: "worker2", Port: 9092, Protocol: "tcp", AddressKind: topology.AddressPodIP, Address: "10.244.1.2"},
			topology.Target{Tenant: tenant, Component: "kafka", Pod: "kafka-0", Node: "worker2", Port: 9093, Protocol: "tcp", AddressKind: topology.AddressPodIP, Address: "10.244.1.2"},
			topology.Target{Tenant: tenant, Component: "kafka", Pod: "kafka-0", Node: "worker2", Port: 9092, Protocol: "tcp", AddressKind: topology.AddressDNS, Address: "kafka-0.kafka." + ns + ".svc.cluster.local"},
			topology.Target{Tenant: tenant, Component: "elasticsearch", Port: 9200, Protocol: "tcp", AddressKind: topology.AddressServiceIP, Address: "10.96.0.20"},
			topology.Target{Tenant: tenant, Component: "agent", Pod: "dpsim-agent", Node: "worker2", Port: 8080, Protocol: "tcp", AddressKind: topology.AddressPodIP, Address: "10.244.1.9"},
		)
	}
	return out
}

// table probes every source x target in every phase under the "namespace" claim, the platform
// answering with behave.
func table(behave func(phase string, src topology.Source, dst topology.Target) topology.Outcome) []Cell {
	var cells []Cell
	for _, phase := range isoPhases {
		for _, src := range isoSources {
			for _, dst := range isoTargets() {
				cells = append(cells, Cell{Source: src, Target: dst, Phase: phase, Expected: ExpectedIsolation("namespace", src, dst),
					Observed: behave(phase, src, dst), LatencyMs: 1})
			}
		}
	}
	return cells
}

// enforced is a platform with per-namespace policies: only the tenant itself gets through.
func enforced(_ string, src topology.Source, dst topology.Target) topology.Outcome {
	if src.Kind == topology.SourceTenant && src.Tenant == dst.Tenant {
		return topology.OutcomeAllowed
	}
	return topology.OutcomeRefused
}

func TestIsolation(t *testing.T) {
	tests := []struct {
		name      string
		cells     []Cell
		want      reports.Status
		differing int
		pairs     []string // substrings the pairs must hold, in order
		summary   string   // substring of the summary
	}{
		{name: "policies enforced", cells: table(enforced), want: reports.Pass, summary: "in phases before, during, after"},
		{name: "policies drop instead of refusing", want: reports.Pass, cells: table(func(p string, s topology.Source, d topology.Target) topology.Outcome {
			if o := enforced(p, s, d); o != topology.OutcomeAllowed {
				return topology.OutcomeTimeout
			}
			return topology.OutcomeAllowed
		})},
		{name: "no policies: every cross-tenant cell allowed", want: reports.Fail, differing: 3 * 28,
			cells: table(func(string, topology.Source, topology.Target) topology.Outcome { return topology.OutcomeAllowed }),
			pairs: []string{
				"node worker -> tenant-a: agent:8080 (pod-ip), kafka:9092 (dns), kafka:9092 (pod-ip), kafka:9093 (pod-ip)",
				"node worker -> tenant-b:",
				"outside (dpsim-probe) -> tenant-a:",
				"outside (dpsim-probe) -> tenant-b:",
				"tenant-a -> tenant-b: agent:8080 (pod-ip), elasticsearch:9200 (service-ip), kafka:9092 (dns), kafka:9092 (pod-ip), kafka:9093 (pod-ip)",
				"tenant-b -> tenant-a: agent:8080 (pod-ip), elasticsearch:9200 (service-ip), kafka:9092 (dns), kafka:9092 (pod-ip), kafka:9093 (pod-ip)",
			}, summary: "tenant-b -> tenant-a: agent:8080"},
		{name: "one cell opens only during the fault", want: reports.Fail, differing: 1,
			cells: table(func(p string, s topology.Source, d topology.Target) topology.Outcome {
				if p == "during" && s.Tenant == "tenant-b" && d.Tenant == "tenant-a" && d.Port == 9092 && d.AddressKind == topology.AddressPodIP {
					return topology.OutcomeAllowed
				}
				return enforced(p, s, d)
			}),
			pairs: []string{"tenant-b -> tenant-a: kafka:9092 (pod-ip; during)"}},
		{name: "a tenant cannot reach itself", want: reports.Fail, differing: 1, summary: "1 cells expected allowed were not reached",
			cells: table(func(p string, s topology.Source, d topology.Target) topology.Outcome {
				if p == "after" && s.Tenant == "tenant-a" && d.Tenant == "tenant-a" && d.AddressKind == topology.AddressDNS {
					return topology.OutcomeDNSFailure
				}
				return enforced(p, s, d)
			})},
		{name: "names that do not resolve count as blocked", want: reports.Pass, summary: "unresolved",
			cells: table(func(p string, s topology.Source, d topology.Target) topology.Outcome {
				if s.Kind == topology.SourceNode && d.AddressKind == topology.AddressDNS {
					return topology.OutcomeDNSFailure
				}
				return enforced(p, s, d)
			})},
		{name: "a probe error cannot be judged", want: reports.Error, summary: "could not be judged",
			cells: table(func(p string, s topology.Source, d topology.Target) topology.Outcome {
				if s.Kind == topology.SourceOutside && d.Port == 8080 {
					return topology.OutcomeError
				}
				return enforced(p, s, d)
			})},
		{name: "an opened cell outweighs probe errors", want: reports.Fail, differing: 3,
			cells: table(func(p string, s topology.Source, d topology.Target) topology.Outcome {
				switch {
				case s.Kind == topology.SourceOutside && d.Port == 8080:
					return topology.OutcomeError
				case s.Kind == topology.SourceOutside && d.Tenant == "tenant-a" && d.Port == 9093:
					return topology.OutcomeAllowed
				}
				return enforced(p, s, d)
			}),
			pairs: []string{"outside (dpsim-probe) -> tenant-a: kafka:9093 (pod-ip)"}},
		{name: "unknown expectation", want: reports.Error, summary: `expected ""`,
			cells: []Cell{{Source: isoSources[2], Target: isoTargets()[0], Observed: topology.OutcomeRefused, Phase: "before"}}},
		{name: "empty table", want: reports.Error},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, differing, pairs := Isolation(tt.cells)
			if v.Status != tt.want || len(differing) != tt.differing || len(pairs) != len(tt.pairs) {
				t.Fatalf("got %s with %d differing cells, pairs %q (%s)", v.Status, len(differing), pairs, v.Summary)
			}
			for i, want := range tt.pairs {
				if !strings.HasPrefix(pairs[i], want) {
					t.Errorf("pair %d = %q, want it to start with %q", i, pairs[i], want)
				}
				if !strings.Contains(v.Summary, pairs[i]) {
					t.Errorf("summary %q does not name %q", v.Summary, pairs[i])
				}
			}
			if !strings.Contains(v.Summary, tt.summary) {
				t.Errorf("summary %q does not contain %q", v.Summary, tt.summary)
			}
			for _, c := range differing {
				if !slices.Contains(tt.cells, c) {
					t.Errorf("differing cell %+v is not in the table", c)
				}
			}
		})
	}
}

// A name that does not resolve is its own outcome: not judged where the cell expects blocked (no
// pass for the policy, no error either), a failure where it expects allowed.
func TestIsolationDNSFailureIsNotBlocked(t *testing.T) {
	src := topology.Source{Kind: topology.SourceTenant, Tenant: "a", Name: "agent"}
	other := topology.Target{Tenant: "b", Component: "kafka", Port: 9092, AddressKind: topology.AddressDNS, Address: "kafka.b"}
	own := topology.Target{Tenant: "a", Component: "kafka", Port: 9092, AddressKind: topology.AddressDNS, Address: "kafka.a"}
	refusedIP := Cell{Phase: "before", Source: src, Target: topology.Target{Tenant: "b", Component: "kafka", Port: 9092, AddressKind: topology.AddressPodIP, Address: "10.0.0.1"},
		Expected: ExpectBlocked, Observed: topology.OutcomeRefused}
	unresolved := Cell{Phase: "before", Source: src, Target: other, Expected: ExpectBlocked, Observed: topology.OutcomeDNSFailure}
	if v, differing, _ := Isolation([]Cell{refusedIP, unresolved}); v.Status != reports.Pass || len(differing) != 0 || !strings.Contains(v.Summary, "1 blocked as expected") {
		t.Errorf("unresolved name expected blocked: %s (%s), want it not counted as blocked", v.Status, v.Summary)
	}
	broken := Cell{Phase: "before", Source: src, Target: own, Expected: ExpectAllowed, Observed: topology.OutcomeDNSFailure}
	if v, _, _ := Isolation([]Cell{refusedIP, broken}); v.Status != reports.Fail {
		t.Errorf("own service not resolved: %s (%s), want fail", v.Status, v.Summary)
	}
}
