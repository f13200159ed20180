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
	erred := reports.Check{Name: "ledger", Control: "DP-DUR-3", Status: reports.Error, Summary: "no write was acknowledged"}
	other := reports.Check{Name: "topology", Control: "DP-DUR-1", Status: reports.Pass, Summary: "on 3 nodes"}
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
		{"a skipped scenario beside a pass is missing evidence", []reports.Scenario{scenario("node-kill", reports.Skipped, "provider x lacks node-kill"), scenario("partition", reports.Pass, "", pass)},
			reports.Error, "judged in part only: partition passed, but its other scenarios were skipped (node-kill: provider x lacks node-kill)"},
		{"a skipped scenario beside a fail is named", []reports.Scenario{scenario("node-kill", reports.Skipped, "provider x lacks node-kill"), scenario("partition", reports.Fail, "", fail)},
			reports.Fail, "3 lost; not judged: node-kill: provider x lacks node-kill"},
		{"a scenario failed by its checks gives them, not an empty run", []reports.Scenario{scenario("node-kill", reports.Error, "", erred)}, reports.Error, "node-kill/ledger: no write was acknowledged"},
		{"a broken run without a reason still says so", []reports.Scenario{scenario("node-kill", reports.Error, "")}, reports.Error, "the scenario broke without a reason"},
		{"a run that judged other controls only", []reports.Scenario{scenario("node-kill", reports.Pass, "", other)}, reports.Error, "the scenario ran but gave no evidence for this control"},
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
			if empty := saysNothing(got); len(empty) > 0 {
				t.Fatalf("empty reasons or summaries: %v", empty)
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

// saysNothing names every control that is not a pass with no reason, and every piece of evidence
// with an empty summary or one that ends with ':' (acceptance: no reason or summary is ever empty).
func saysNothing(controls []reports.Control) []string {
	var bad []string
	for _, c := range controls {
		if c.Status != reports.Pass && strings.TrimSpace(c.Reason) == "" {
			bad = append(bad, c.ID+" (no reason)")
		}
		for _, e := range c.Evidence {
			if s := strings.TrimSpace(e.Summary); s == "" || strings.HasSuffix(s, ":") {
				bad = append(bad, c.ID+" evidence "+e.Scenario+"/"+e.Check)
			}
		}
	}
	return bad
}

// A claim dpsim cannot judge (made in code: files are refused at load) turns the passing evidence
// of its control into an error naming the claim, never a pass.
func TestUnjudgeableClaimIsNeverAPass(t *testing.T) {
	tests := []struct {
		control, key string
		weaken       func(*claims.Claims)
	}{
		{"DP-AUTH-1", "authProtocol", func(c *claims.Claims) { c.AuthProtocol = "saml" }},
		{"DP-NET-3", "tenantIsolation", func(c *claims.Claims) { c.TenantIsolation = "sometimes" }},
		{"DP-NET-2", "tlsVersions", func(c *claims.Claims) { c.TLSVersions = []string{"1.7"} }},
		{"DP-NET-2", "certCurve", func(c *claims.Claims) { c.CertCurve = "P-999" }},
		{"DP-NET-2", "maxCertLifetime", func(c *claims.Claims) { c.MaxCertLifetime = "-5h" }},
		{"DP-DUR-2", "minCopies", func(c *claims.Claims) { c.MinCopies = 0 }},
		{"DP-DUR-3", "maxLostOnNodeLoss", func(c *claims.Claims) { c.MaxLostOnNodeLoss = -1 }},
		{"DP-AUTH-2", "hashIterations", func(c *claims.Claims) { c.HashIterations = 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			c := claims.Default()
			tt.weaken(&c)
			pass := reports.Check{Name: "probe", Control: tt.control, Status: reports.Pass, Summary: "all as claimed"}
			sc := reports.Scenario{Name: "s", Status: reports.Pass, Controls: []string{tt.control}, Checks: []reports.Check{pass}}
			for _, ctl := range Judge(c, []reports.Scenario{sc}) {
				if ctl.ID == tt.control && (ctl.Status != reports.Error || !strings.Contains(ctl.Reason, tt.key)) {
					t.Fatalf("%s %s (%q), want error naming %s", ctl.ID, ctl.Status, ctl.Reason, tt.key)
				}
			}
		})
	}
}

// Every control says which claims it reads, and every claim is read by a control.
func TestEveryClaimIsReadByAControl(t *testing.T) {
	read := map[string]bool{}
	for _, id := range IDs() {
		keys, ok := claimsRead[id]
		if !ok {
			t.Errorf("%s: no entry in claimsRead", id)
		}
		for _, k := range keys {
			if p := claims.Default().Problem(k); p != "" {
				t.Errorf("%s reads %q: %s", id, k, p)
			}
			read[k] = true
		}
	}
	for _, k := range claims.Keys() {
		if !read[k] {
			t.Errorf("claim %q is read by no control in claimsRead", k)
		}
	}
}
