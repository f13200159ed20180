package reports

import (
	"strings"
	"testing"
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
