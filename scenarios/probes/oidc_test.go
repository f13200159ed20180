package probes

import (
	"context"
	"strings"
	"testing"
	"time"

	"dpsim/fakes"
	"dpsim/reports"
	"dpsim/scenarios/checkers"
	"dpsim/topology"
)

// A realm whose test user cannot get a token still has every trial recorded, each as not made
// with its reason, and DP-AUTH-1 is then an error naming them; nothing is skipped.
func TestOIDCRecordsTrialsNotMade(t *testing.T) {
	ctx := context.Background()
	p := fakes.NewProvider()
	if err := p.Up(ctx, topology.Default()); err != nil {
		t.Fatal(err)
	}
	defer p.Down(ctx)
	access, err := p.OIDC(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sleep := func(_ context.Context, d time.Duration) error { p.Clock().(*fakes.SimClock).Advance(d); return nil }

	obs, err := OIDC(ctx, access, sleep)
	if err != nil {
		t.Fatal(err)
	}
	if v := checkers.OIDC(obs); v.Status != reports.Pass {
		t.Fatalf("as deployed: %s: %s", v.Status, v.Summary)
	}
	complete := len(obs.Tokens)

	access.Realms[0].Password = "not-the-password"
	obs, err = OIDC(ctx, access, sleep)
	if err != nil {
		t.Fatal(err)
	}
	if len(obs.Tokens) != complete {
		t.Errorf("%d trials recorded, want all %d", len(obs.Tokens), complete)
	}
	realm := access.Realms[0].Realm
	notMade := 0
	for _, tr := range obs.Tokens {
		if tr.Realm != realm {
			continue
		}
		if tr.Result != "error" || !strings.HasPrefix(tr.Detail, "not made: ") {
			t.Errorf("trial %+v of a realm with no token: want an error saying it was not made", tr)
		}
		notMade++
	}
	if want := len(access.Realms) + 3; notMade != want {
		t.Errorf("%d trials of realm %s recorded, want %d", notMade, realm, want)
	}
	v := checkers.OIDC(obs)
	if v.Status != reports.Error || !strings.Contains(v.Summary, "unsigned token of "+realm+" at "+access.Realms[0].Tenant+"'s API: error not made: no valid token to alter") {
		t.Errorf("%s: %s, want an error naming the trials not made", v.Status, v.Summary)
	}
}
