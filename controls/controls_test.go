package controls

import (
	"strings"
	"testing"

	"dpsim/claims"
	"dpsim/reports"
)

func scenario(name string, status reports.Status, reason string, checks ...reports.Check) reports.Scenario {
	return reports.Scenario{Name: name, Status: status, Reason: reason, Controls: []string{"DP-DUR-3"}, Checks: checks}
}

func TestJudge(t *testing.T) {
	pass := reports.Check{Name: "ledger", Control: "DP-DUR-3", Status: reports.Pass, Summary: "0 lost"}
	fail := reports.Check{Name: "ledger", Control: "DP-DUR-3", Status: reports.Fail, Summary: "3 lost"}
	tests := []struct {
		name      string
		scenarios []reports.Scenario
		want      reports.Status
		reason    string
	}{
		{"no scenario selected", nil, reports.Skipped, "no selected scenario"},
		{"skipped scenario gives its reason", []reports.Scenario{scenario("node-kill", reports.Skipped, "provider x lacks node-kill")}, reports.Skipped, "lacks node-kill"},
		{"passing evidence", []reports.Scenario{scenario("node-kill", reports.Pass, "", pass)}, reports.Pass, ""},
		{"worst evidence wins", []reports.Scenario{scenario("node-kill", reports.Pass, "", pass), scenario("partition", reports.Fail, "", fail)}, reports.Fail, "3 lost"},
		{"a broken run is an error, not a pass", []reports.Scenario{scenario("node-kill", reports.Error, "interrupted")}, reports.Error, "interrupted"},
		{"a skipped scenario beside a pass", []reports.Scenario{scenario("node-kill", reports.Skipped, "no"), scenario("partition", reports.Pass, "", pass)}, reports.Pass, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Judge(claims.Default(), tt.scenarios)
			if len(got) != len(IDs()) {
				t.Fatalf("%d controls, want %d", len(got), len(IDs()))
			}
			var c reports.Control
			for _, x := range got {
				if x.ID == "DP-DUR-3" {
					c = x
				}
			}
			if c.Status != tt.want || !strings.Contains(c.Reason, tt.reason) {
				t.Fatalf("DP-DUR-3 %s (%q), want %s mentioning %q", c.Status, c.Reason, tt.want, tt.reason)
			}
		})
	}
}

func TestClaimsWordTheControls(t *testing.T) {
	c := claims.Default()
	c.MinNodesPerComponent = 5
	for _, ctl := range Judge(c, nil) {
		if ctl.ID == "DP-DUR-1" && !strings.Contains(ctl.Claim, "at least 5 nodes") {
			t.Fatalf("claim not worded from the claims: %q", ctl.Claim)
		}
	}
}
