package reports

import (
	"strings"
	"testing"

	"dpsim/topology"
)

// The offboarding evidence shows what the search found of the tenant before offboarding and after,
// by class, in Markdown and in HTML.
func TestOffboardingSearchRendered(t *testing.T) {
	r := sampleReport()
	r.Scenarios = append(r.Scenarios, Scenario{Name: "offboarding", Status: Fail, Backups: &Backups{Offboarding: &Offboarding{
		Tenant: "acme", Steps: []string{"deleted namespace acme"},
		Searched: []RemnantCount{{Class: "namespace", Before: 1}, {Class: "repository objects", Before: 22, After: 3}},
	}}})
	for _, f := range []Format{Markdown, HTML} {
		out := renderString(t, r, f)
		for _, want := range []string{"namespace: 1 found before offboarding, 0 after", "repository objects: 22 found before offboarding, 3 after"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s does not show %q", f, want)
			}
		}
	}
}

// The scan at rest shows the canaries it had to find and the kernel's answer on each volume.
func TestAtRestProofRendered(t *testing.T) {
	r := sampleReport()
	r.Scenarios = append(r.Scenarios, Scenario{Name: "at-rest", Status: Error, AtRest: &topology.AtRest{Encryption: "none",
		Stores:  []topology.AtRestStore{{Tenant: "acme", Store: "kafka", Written: 400}},
		Volumes: []topology.AtRestVolume{{Node: "w1", Path: "/v/pvc-1"}, {Node: "w2", Path: "/v/pvc-2", Encrypted: true}},
		Canary:  topology.AtRestCanary{Where: "/v/dpsim-canary", Written: 8, Found: 7}}})
	for _, f := range []Format{Markdown, HTML} {
		out := renderString(t, r, f)
		for _, want := range []string{"/v/dpsim-canary", "7 of 8 found by the scan", "/v/pvc-1", "not encrypted"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s does not show %q", f, want)
			}
		}
	}
	if md := renderString(t, r, Markdown); !strings.Contains(md, "| volume on w1 | /v/pvc-1 | not encrypted |") {
		t.Errorf("markdown lacks the volume's row:\n%s", md)
	}
}
