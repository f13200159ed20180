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
	volumes := []topology.AtRestVolume{{Node: "w1", Path: "/v/pvc-1", Encrypted: true}, {Node: "w2", Path: "/v/pvc-2", Encrypted: true}}
	canary := topology.AtRestCanary{Where: "/v/dpsim-canary", Written: 8, Found: 8}
	good := func() topology.AtRest {
		return topology.AtRest{Encryption: "fscrypt v2", Storage: "volumes.img", BytesScanned: 1 << 30, Stores: stores(0, 0, 0),
			Volumes: append([]topology.AtRestVolume{}, volumes...), Canary: canary}
	}
	with := func(change func(*topology.AtRest)) topology.AtRest {
		o := good()
		change(&o)
		return o
	}
	tests := []struct {
		name string
		obs  topology.AtRest
		want reports.Status
		says string
	}{
		{"encrypted", good(), reports.Pass, "none of 600 markers"},
		{"plaintext", with(func(o *topology.AtRest) { o.Encryption, o.Stores = "none", stores(200, 0, 187) }), reports.Fail,
			"tenant-a/kafka: 200 of 200 markers in plaintext (400 occurrences); tenant-a/stackgraph: 187 of 200"},
		{"a volume the kernel reports unencrypted", with(func(o *topology.AtRest) { o.Volumes[1].Encrypted = false }), reports.Fail,
			"the kernel reports 1 of 2 volumes unencrypted: w2:/v/pvc-2"},
		{"unencrypted, and the scan blind", with(func(o *topology.AtRest) { o.Volumes[0].Encrypted, o.Canary.Found = false, 0 }), reports.Fail,
			"volumes unencrypted: w1:/v/pvc-1"},
		{"canary not found", with(func(o *topology.AtRest) { o.Canary.Found = 0 }), reports.Error, "the scan is blind: it found 0 of 8 canaries"},
		{"a canary missed", with(func(o *topology.AtRest) { o.Canary.Found = 7 }), reports.Error, "found 7 of 8 canaries"},
		{"no canary written", with(func(o *topology.AtRest) { o.Canary = topology.AtRestCanary{} }), reports.Error, "no plaintext canary"},
		{"no volume asked about", with(func(o *topology.AtRest) { o.Volumes = nil }), reports.Error, "asked about no volume"},
		{"nothing read", with(func(o *topology.AtRest) { o.BytesScanned, o.Canary.Found = 0, 0 }), reports.Error, "read nothing"},
		{"no store", with(func(o *topology.AtRest) { o.Stores = nil }), reports.Error, "no store"},
		{"a store wrote nothing", with(func(o *topology.AtRest) { o.Stores = []topology.AtRestStore{{Tenant: "t", Store: "kafka"}} }), reports.Error, "t/kafka"},
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
