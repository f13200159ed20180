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

// edgeProvider is the fake with a scan from outside and a raw scan of its volumes, each answering
// as told.
type edgeProvider struct {
	*fakes.Provider
	open      []topology.OpenPort // what answers at the one node address
	plaintext bool                // every marker is found in the raw storage
	written   []string
}

func (p *edgeProvider) ScanFromOutside(context.Context) (topology.Exposure, error) {
	return topology.Exposure{Ports: "1-65535", Addresses: []topology.ScannedAddress{{Address: "10.0.0.2", Open: p.open, Refused: 65533}}}, nil
}

func (p *edgeProvider) ScanAtRest(_ context.Context, markers, canaries []string) (topology.AtRest, map[string]int, error) {
	p.written = markers
	counts := map[string]int{}
	for _, m := range markers {
		if p.plaintext {
			counts[m] = 2
		}
	}
	for _, c := range canaries {
		counts[c] = 1
	}
	return topology.AtRest{Encryption: "test", Storage: "test image", BytesScanned: 1 << 20,
		Volumes: []topology.AtRestVolume{{Node: "w1", Path: "/v/pvc-1", Encrypted: true}}, Canary: topology.AtRestCanary{Where: "test image root"}}, counts, nil
}

// The exposure and at-rest scenarios judge what the platform's scans saw: a node answering on the
// API server's port fails DP-NET-1, records found in plaintext fail DP-ENC-1, naming the stores.
func TestEdgeScenarios(t *testing.T) {
	ingress := []topology.OpenPort{{Port: 80, Answer: "redirect to https"}, {Port: 443, Answer: "https"}}
	tests := []struct {
		name      string
		open      []topology.OpenPort
		plaintext bool
		scenario  string
		want      reports.Status
	}{
		{"only the ingress answers", ingress, false, "ingress-exposure", reports.Pass},
		{"the API server answers", append(ingress, topology.OpenPort{Port: 6443, Answer: "https"}), false, "ingress-exposure", reports.Fail},
		{"no plaintext", ingress, false, "encryption-at-rest", reports.Pass},
		{"plaintext", ingress, true, "encryption-at-rest", reports.Fail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &edgeProvider{Provider: fakes.NewProvider(), open: tt.open, plaintext: tt.plaintext}
			spec := topology.Default()
			if err := p.Up(context.Background(), spec); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { p.Down(context.Background()) })
			list, err := Select([]string{tt.scenario})
			if err != nil {
				t.Fatal(err)
			}
			res := Run(context.Background(), Env{Provider: p, Spec: spec, Claims: claims.Default(), Seed: 1, Log: progress.Discard()}, list)
			if len(res) != 1 || res[0].Status != tt.want {
				t.Fatalf("%s: %s (%s), want %s; checks %+v", tt.scenario, res[0].Status, res[0].Reason, tt.want, res[0].Checks)
			}
			if tt.scenario == "encryption-at-rest" {
				a := res[0].AtRest
				if a == nil || len(a.Stores) != len(spec.Tenants)*3 || len(p.written) == 0 {
					t.Fatalf("at-rest report %+v, %d markers: want every tenant's three stores", a, len(p.written))
				}
				for _, s := range a.Stores {
					if s.Written == 0 || (s.Found > 0) != tt.plaintext {
						t.Errorf("%s/%s: %d written, %d found", s.Tenant, s.Store, s.Written, s.Found)
					}
				}
			}
		})
	}
}
