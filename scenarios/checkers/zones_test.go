package checkers

import (
	"strings"
	"testing"

	"dpsim/reports"
	"dpsim/topology"
)

// placed is a record id-i held on nodes, tolerating the loss of tolerates of them.
func placed(id string, tolerates int, nodes ...string) topology.Placement {
	return topology.Placement{ID: id, Nodes: nodes, Tolerates: tolerates}
}

func TestZoneOutage(t *testing.T) {
	tests := []struct {
		name       string
		outcomes   string
		placements []topology.Placement
		down       []string
		want       reports.Status
		inText     string
	}{
		{"a copy outside the zone", "oo", []topology.Placement{placed("id-0", 1, "n1", "n2"), placed("id-1", 1, "n2", "n3")}, []string{"n1"},
			reports.Pass, "0 of 2 acknowledged records had no copy outside zone-a"},
		{"every copy in the zone", "oo", []topology.Placement{placed("id-0", 1, "n1", "n2"), placed("id-1", 1, "n2", "n3")}, []string{"n1", "n2"},
			reports.Fail, "1 of 2 acknowledged records had no copy outside zone-a (placement read after it came back) e.g. id-0"},
		{"no location for an acknowledged record", "oo", []topology.Placement{placed("id-0", 1, "n1", "n2")}, []string{"n3"},
			reports.Fail, "1 with no location reported by the store e.g. id-1"},
		{"an erasure-coded object with enough parts outside", "o", []topology.Placement{placed("id-0", 2, "s1", "s2", "s3", "s4")}, []string{"s1", "s2"},
			reports.Pass, "0 of 1"},
		{"an erasure-coded object with too few parts outside", "o", []topology.Placement{placed("id-0", 2, "s1", "s2", "s3", "s4")}, []string{"s1", "s2", "s3"},
			reports.Fail, "1 of 1"},
		{"a refused write is not judged", "of", []topology.Placement{placed("id-0", 1, "n1", "n2"), placed("id-1", 0, "n1")}, []string{"n1"},
			reports.Pass, "0 of 1"},
		{"nothing acknowledged", "ff", nil, []string{"n1"}, reports.Error, "no acknowledged record"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := ZoneOutage(ops(tt.outcomes), tt.placements, "zone-a", tt.down)
			if v.Status != tt.want || !strings.Contains(v.Summary, tt.inText) {
				t.Fatalf("got %s (%s), want %s saying %q", v.Status, v.Summary, tt.want, tt.inText)
			}
		})
	}
}

func TestZoneSpread(t *testing.T) {
	zones := map[string]string{"n1": "zone-a", "n2": "zone-b", "n3": "zone-a", "s1": "zone-a", "s2": "zone-b", "s3": "zone-c", "s4": "zone-a"}
	tests := []struct {
		name       string
		placements []topology.Placement
		want       reports.Status
		inText     string
	}{
		{"copies in two zones", []topology.Placement{placed("id-0", 1, "n1", "n2"), placed("id-1", 1, "n2", "n3")},
			reports.Pass, "2 acknowledged records held in zones zone-a, zone-b; each survives the loss of any one zone"},
		{"both copies in one zone on two nodes", []topology.Placement{placed("id-0", 1, "n1", "n3"), placed("id-1", 1, "n2", "n3")},
			reports.Fail, "1 would be lost with zone zone-a (no copy outside it) e.g. id-0"},
		{"an erasure-coded object with half its parts in one zone", []topology.Placement{placed("id-0", 2, "s1", "s2", "s3", "s4"), placed("id-1", 1, "n1", "n2")},
			reports.Pass, "each survives"},
		{"an erasure-coded object that one zone can make unreadable", []topology.Placement{placed("id-0", 1, "s1", "s2", "s3", "s4"), placed("id-1", 1, "n1", "n2")},
			reports.Fail, "1 would be lost with zone zone-a"},
		{"a holder of no known zone", []topology.Placement{placed("id-0", 1, "n1", "kafka-2"), placed("id-1", 1, "n1", "n2")},
			reports.Error, "the zone of kafka-2 is not known, so 1 records cannot be judged e.g. id-0"},
		{"a failure outweighs a holder of no known zone", []topology.Placement{placed("id-0", 1, "n1", "kafka-2"), placed("id-1", 1, "n1", "n3")},
			reports.Fail, "1 would be lost with zone zone-a"},
		{"no location", []topology.Placement{placed("id-0", 1, "n1", "n2")}, reports.Fail, "1 with no location reported by the store e.g. id-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := ZoneSpread(ops("oo"), tt.placements, zones)
			if v.Status != tt.want || !strings.Contains(v.Summary, tt.inText) {
				t.Fatalf("got %s (%s), want %s saying %q", v.Status, v.Summary, tt.want, tt.inText)
			}
		})
	}
	if v := ZoneSpread(ops("f"), nil, zones); v.Status != reports.Error {
		t.Fatalf("nothing acknowledged: %s (%s), want error", v.Status, v.Summary)
	}
}
