package scenarios

import (
	"testing"

	"dpsim/fakes"
	"dpsim/reports"
	"dpsim/topology"
)

// The offboarding search finds every class of the tenant's things before the offboarding and
// none after; the report counts them.
func TestOffboardingSearchFindsTheTenantBeforeAndNothingAfter(t *testing.T) {
	sc := run(t, topology.Default(), nil, "offboarding")[0]
	wantControl(t, sc, "DP-OFF-1", reports.Pass, "found namespace 1 before, 0 after", "bucket objects")
	if sc.Backups == nil || sc.Backups.Offboarding == nil {
		t.Fatalf("no offboarding in the report: %+v", sc.Backups)
	}
	counted := map[string]reports.RemnantCount{}
	for _, c := range sc.Backups.Offboarding.Searched {
		counted[c.Class] = c
	}
	for _, class := range topology.OffboardingClasses {
		if c := counted[class]; c.Before == 0 || c.After != 0 {
			t.Errorf("%s: %d found before, %d after; want some before, none after", class, c.Before, c.After)
		}
	}
}

// A tenant whose bucket held nothing before the offboarding gives its search nothing to prove it
// would find bucket objects: DP-OFF-1 is an error, not a pass.
func TestOffboardingOfAnEmptyBucketProvesNothing(t *testing.T) {
	sc := run(t, topology.Default(), []fakes.Option{fakes.WithFault(fakes.ReturnNothing, topology.KindObject)}, "offboarding")[0]
	wantControl(t, sc, "DP-OFF-1", reports.Error, "found no bucket objects of tenant tenant-b before offboarding")
}
