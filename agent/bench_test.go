package agent

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"dpsim/agent/api"
	"dpsim/stores"
	"dpsim/topology"
)

// BenchmarkWriteStreamTimed measures the full-duplex write path (client feed, agent, a store that
// answers at once, outcomes back) with the fault workload's shape: as fast as it goes, at most 2000
// writes awaiting an outcome. It reports writes per second.
func BenchmarkWriteStreamTimed(b *testing.B) {
	st := &fakeStore{name: "kafka", kind: topology.KindLog}
	srv := NewServerWith("tenant-a", []api.StoreInfo{{Name: "kafka", Kind: topology.KindLog}},
		func(context.Context, string, string) (topology.Store, error) { return st, nil }, nil)
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	list, err := api.NewClient(ts.URL).Stores(context.Background(), "tenant-a", "ds")
	if err != nil {
		b.Fatal(err)
	}
	total, start := 0, time.Now()
	for b.Loop() {
		n, err := stores.WriteFor(context.Background(), list[0], stores.TimedLoad{Prefix: "ds/", Duration: time.Second, InFlight: 2000, ValueBytes: 64},
			func(topology.WriteResult) {})
		if err != nil {
			b.Fatal(err)
		}
		total += n
	}
	b.ReportMetric(float64(total)/time.Since(start).Seconds(), "writes/s")
}
