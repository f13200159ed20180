package scenarios

import (
	"context"
	"testing"

	"dpsim/claims"
	"dpsim/fakes"
	"dpsim/internal/progress"
	"dpsim/reports"
	"dpsim/topology"
)

// On the fake, encrypted volumes hide every marker while the plaintext canaries beside them are
// found; with encryption.atRest none the markers are there and the volumes say unencrypted.
func TestAtRestOnTheFake(t *testing.T) {
	sc := run(t, topology.Default(), nil, "encryption-at-rest")[0]
	wantControl(t, sc, "DP-ENC-1", reports.Pass, "found all 8 canaries", "all 20 volumes encrypted")
	if a := sc.AtRest; a == nil || a.Canary.Written != 8 || a.Canary.Found != 8 {
		t.Errorf("canaries in the report: %+v", sc.AtRest)
	}

	spec := topology.Default()
	spec.Encryption.AtRest = "none"
	sc = run(t, spec, nil, "encryption-at-rest")[0]
	wantControl(t, sc, "DP-ENC-1", reports.Fail, "tenant-a/kafka: 400 of 400 markers in plaintext", "20 of 20 volumes unencrypted")
}

// blindScanner is the fake with a scan that reads the volumes but not where the canaries are.
type blindScanner struct{ *fakes.Provider }

func (p blindScanner) ScanAtRest(ctx context.Context, markers, canaries []string) (topology.AtRest, map[string]int, error) {
	a, counts, err := p.Provider.ScanAtRest(ctx, markers, canaries)
	for _, c := range canaries {
		delete(counts, c)
	}
	return a, counts, err
}

// A scan that misses the plaintext canaries proves nothing about the markers it did not find
// either: DP-ENC-1 is an error, not a pass.
func TestAtRestBlindScanIsAnError(t *testing.T) {
	spec := topology.Default()
	p := blindScanner{fakes.NewProvider()}
	if err := p.Up(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Down(context.Background()) })
	list, err := Select([]string{"encryption-at-rest"})
	if err != nil {
		t.Fatal(err)
	}
	sc := Run(context.Background(), Env{Provider: p, Spec: spec, Claims: claims.Default(), Seed: 1, Log: progress.Discard()}, list)[0]
	wantControl(t, sc, "DP-ENC-1", reports.Error, "the scan is blind: it found 0 of 8 canaries")
}
