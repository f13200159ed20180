package scenarios

import (
	"context"
	"strings"
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
	refused   string              // ports refused (the firewall admits them, nothing listens)
	untold    int                 // ports of the range the scan never reports
	plaintext bool                // every marker is found in the raw storage
	written   []string
}

func (p *edgeProvider) ScanFromOutside(context.Context) (topology.Exposure, error) {
	refused := strings.Count(p.refused, ",") + 1
	if p.refused == "" {
		refused = 0
	}
	return topology.Exposure{Ports: "1-65535", Addresses: []topology.ScannedAddress{{Address: "10.0.0.2", Open: p.open,
		Refused: refused, RefusedPorts: p.refused, Dropped: 65535 - len(p.open) - refused - p.untold}}}, nil
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
// DP-NET-1 judges against the claims: a port the spec's network.expose opens fails it unless the
// claims expose it too.
func TestEdgeScenarios(t *testing.T) {
	ingress := []topology.OpenPort{{Port: 80, Answer: "redirect to https"}, {Port: 443, Answer: "https"}}
	elasticsearch := append(ingress, topology.OpenPort{Port: 9200, Answer: "http 200"})
	claimsES := claims.Default()
	claimsES.ExposedPorts = append(claimsES.ExposedPorts, topology.ExposedPort{Port: 9200, Answer: "http"})
	tests := []struct {
		name      string
		open      []topology.OpenPort
		refused   string
		untold    int
		expose    []int // the spec's network.expose
		claims    claims.Claims
		plaintext bool
		scenario  string
		want      reports.Status
		says      string
	}{
		{"only the ingress answers", ingress, "", 0, nil, claims.Default(), false, "ingress-exposure", reports.Pass, "80 answered a plain-HTTP GET / with a 3xx"},
		{"the API server answers", append(ingress, topology.OpenPort{Port: 6443, Answer: "https"}), "", 0, nil, claims.Default(), false, "ingress-exposure", reports.Fail, "6443"},
		{"the spec exposes Elasticsearch", elasticsearch, "", 0, []int{9200}, claims.Default(), false, "ingress-exposure", reports.Fail, "10.0.0.2:9200 answered http 200"},
		{"the spec exposes 9200, nothing listens", ingress, "9200", 0, []int{9200}, claims.Default(), false, "ingress-exposure", reports.Fail, "10.0.0.2: 9200 refused"},
		{"the claims expose Elasticsearch", elasticsearch, "", 0, []int{9200}, claimsES, false, "ingress-exposure", reports.Pass, "9200 answered a plain-HTTP GET / at 1"},
		{"a scan that told about 3 ports", ingress, "", 65532, nil, claims.Default(), false, "ingress-exposure", reports.Error, "3 of the 65535 ports"},
		{"no plaintext", ingress, "", 0, nil, claims.Default(), false, "encryption-at-rest", reports.Pass, ""},
		{"plaintext", ingress, "", 0, nil, claims.Default(), true, "encryption-at-rest", reports.Fail, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &edgeProvider{Provider: fakes.NewProvider(), open: tt.open, refused: tt.refused, untold: tt.untold, plaintext: tt.plaintext}
			spec := topology.Default()
			spec.Network.Expose = tt.expose
			if err := p.Up(context.Background(), spec); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { p.Down(context.Background()) })
			list, err := Select([]string{tt.scenario})
			if err != nil {
				t.Fatal(err)
			}
			res := Run(context.Background(), Env{Provider: p, Spec: spec, Claims: tt.claims, Seed: 1, Log: progress.Discard()}, list)
			if len(res) != 1 || res[0].Status != tt.want || !strings.Contains(res[0].Checks[0].Summary, tt.says) {
				t.Fatalf("%s: %s (%s), want %s mentioning %q; checks %+v", tt.scenario, res[0].Status, res[0].Reason, tt.want, tt.says, res[0].Checks)
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
