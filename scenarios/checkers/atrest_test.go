package checkers

import (
	"strings"
	"testing"

	"dpsim/reports"
	"dpsim/topology"
)

func TestAtRest(t *testing.T) {
	stores := func(found ...int) []topology.AtRestStore {
		var out []topology.AtRestStore
		for i, f := range found {
			out = append(out, topology.AtRestStore{Tenant: "tenant-a", Store: []string{"kafka", "elasticsearch", "stackgraph"}[i], Written: 200, Found: f, Instances: 2 * f})
		}
		return out
	}
	tests := []struct {
		name string
		obs  topology.AtRest
		want reports.Status
		says string
	}{
		{"encrypted", topology.AtRest{Encryption: "fscrypt v2", Storage: "volumes.img", BytesScanned: 1 << 30, Stores: stores(0, 0, 0)}, reports.Pass, "none of 600 markers"},
		{"plaintext", topology.AtRest{Encryption: "none", Storage: "volumes.img", BytesScanned: 1 << 30, Stores: stores(200, 0, 187)}, reports.Fail,
			"tenant-a/kafka: 200 of 200 markers in plaintext (400 occurrences); tenant-a/stackgraph: 187 of 200"},
		{"nothing read", topology.AtRest{Storage: "volumes.img", Stores: stores(0)}, reports.Error, "read nothing"},
		{"no store", topology.AtRest{BytesScanned: 1}, reports.Error, "no store"},
		{"a store wrote nothing", topology.AtRest{BytesScanned: 1, Stores: []topology.AtRestStore{{Tenant: "t", Store: "kafka"}}}, reports.Error, "t/kafka"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := AtRest(tt.obs)
			if v.Status != tt.want || !strings.Contains(v.Summary, tt.says) {
				t.Fatalf("got %s (%s), want %s mentioning %q", v.Status, v.Summary, tt.want, tt.says)
			}
		})
	}
}
