package elastic

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"

	"dpsim/internal/testservers"
	tselastic "dpsim/internal/testservers/elastic"
	"dpsim/reports"
	"dpsim/scenarios/checkers"
	"dpsim/scenarios/history"
	"dpsim/stores"
	"dpsim/topology"
)

// testES is the package's Elasticsearch cluster, started on first use when DPSIM_TEST_ES is unset.
var testES = testservers.Shared[*tselastic.Cluster]{Run: func(ctx context.Context) (*tselastic.Cluster, error) {
	return tselastic.Run(ctx, tselastic.WithLogger(testservers.Logger()))
}}

func TestMain(m *testing.M) { testservers.Main(m, &testES) }

// esTarget is the URLs of a cluster of at least 2 data nodes and a kill and restart of one of them:
// DPSIM_TEST_ES (http://host:9200,...), DPSIM_TEST_ES_KILL and DPSIM_TEST_ES_RESTART (shell
// commands) name a running one; unset, the test starts 2 nodes in containers and the fault hits the
// one that is not the elected master (with 2 master-eligible nodes only the master votes).
func esTarget(t *testing.T) ([]string, testservers.Fault, error) {
	t.Helper()
	if v := os.Getenv("DPSIM_TEST_ES"); v != "" {
		f, err := testservers.ShellFault("DPSIM_TEST_ES_KILL", "DPSIM_TEST_ES_RESTART")
		return strings.Split(v, ","), f, err
	}
	c := testES.Get(t)
	return c.URLs(), c.NonMasterFault(), nil
}

func TestIntegrationElastic(t *testing.T) {
	urls, _, _ := esTarget(t) // first: starting the cluster is not the test's time
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := Connect(ctx, Config{URLs: urls, Shards: 3, Replicas: 1, WaitForActiveShards: "all"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dataset := fmt.Sprintf("it-elastic-%d", time.Now().UnixNano())
	s, err := c.Store(ctx, dataset)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := s.Drop(context.WithoutCancel(ctx)); err != nil {
			t.Errorf("drop: %v", err)
		}
	}()
	want := make([]string, 2000)
	for i := range want {
		want[i] = fmt.Sprintf("%s/w-%05d", dataset, i)
	}
	start := time.Now()
	results, err := stores.Collect(ctx, s, want, 100)
	elapsed := time.Since(start)
	if err != nil {
		t.Fatalf("write batch: %v", err)
	}
	if len(results) != len(want) {
		t.Fatalf("%d outcomes for %d writes", len(results), len(want))
	}
	acked := map[string]bool{}
	var errs []string
	for _, r := range results {
		if r.Err == nil {
			acked[r.ID] = true
			if r.Ack.Copies != 2 || r.Ack.Part == "" || r.Finished.Before(r.Invoked) {
				t.Errorf("ack of %s: %+v, want 2 copies and a shard", r.ID, r.Ack)
			}
		} else if len(errs) < 5 {
			errs = append(errs, fmt.Sprintf("%v (indefinite %v)", r.Err, errors.Is(r.Err, topology.ErrIndefinite)))
		}
	}
	t.Logf("elasticsearch: %d of %d acknowledged in %s: %.0f acknowledged records/s", len(acked), len(want), elapsed, float64(len(acked))/elapsed.Seconds())
	if len(acked) != len(want) {
		t.Errorf("healthy cluster acknowledged %d of %d; first errors %v", len(acked), len(want), errs)
	}
	// A second create of the same ids by the same Store is a retry of its own writes: acknowledged
	// as existing (409). Another Store (another run) did not write them: failed.
	again, err := stores.Collect(ctx, s, want[:10], 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range again {
		if r.Err != nil {
			t.Errorf("re-create of %s by the same store: %v, want acknowledged as existing", r.ID, r.Err)
		}
	}
	other, err := c.Store(ctx, dataset)
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := stores.Collect(ctx, other, want[:10], 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range foreign {
		if !errors.Is(r.Err, topology.ErrIndefinite) {
			t.Errorf("create of %s by another store: %v, want unknown (already exists on its first send)", r.ID, r.Err)
		}
	}
	read, err := s.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(read.Unreadable) > 0 {
		t.Errorf("healthy index has unreadable shards: %v", read.Unreadable)
	}
	seen := map[string]bool{}
	for _, rec := range read.Records {
		seen[rec.ID] = true
		if want := topology.ValueHash(topology.Value(rec.ID, 100)); rec.Hash != want {
			t.Errorf("%s read back with hash %s, want %s", rec.ID, rec.Hash, want)
		}
	}
	for id := range acked {
		if !seen[id] {
			t.Errorf("acknowledged %s not read back", id)
		}
	}
	if len(read.Records) != len(want) {
		t.Errorf("read %d records, want %d", len(read.Records), len(want))
	}
	places, err := s.Placement(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(places) != len(want) {
		t.Errorf("%d placements, want %d", len(places), len(want))
	}
	for _, p := range places {
		if len(p.Nodes) != 2 || p.Tolerates != 1 || p.Nodes[0] == p.Nodes[1] {
			t.Errorf("placement of %s: %+v, want 2 distinct nodes tolerating 1", p.ID, p)
			break
		}
	}
	shards, err := s.Shards(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(shards) != 6 {
		t.Errorf("%d shard copies, want 6: %+v", len(shards), shards)
	}
	t.Logf("shards: %+v", shards)
}

// TestIntegrationElasticNodeKill kills a node in the middle of paced batches and restarts it
// (esTarget) on an index
// of 3 shards with 1 replica written with wait_for_active_shards=all, and checks that no
// acknowledged write is lost.
func TestIntegrationElasticNodeKill(t *testing.T) {
	urls, fault, err := esTarget(t)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	c, err := Connect(ctx, Config{URLs: urls, Shards: 3, Replicas: 1, WaitForActiveShards: "all"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dataset := fmt.Sprintf("it-elastic-kill-%d", time.Now().UnixNano())
	s, err := c.Store(ctx, dataset)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.call(ctx, esapiHealthGreen(s.Index()), nil); err != nil {
		t.Fatal(err)
	}
	var h history.History
	rec := &history.Recorder{Store: s, Tenant: "it", History: &h}
	killed, effect := false, ""
	start := time.Now()
	// 10 paced batches: the node is killed before the 3rd and restarted before the 7th, so that
	// writes meet the cluster healthy, with a node down (each batch waits out the writes' timeout
	// for the missing copies) and recovering.
	for b := range 10 {
		switch b {
		case 2:
			if err := fault.Kill(ctx); err != nil {
				t.Fatalf("kill node: %v", err)
			}
			killed = true
			t.Logf("killed a node at %s", time.Since(start).Round(time.Millisecond))
		case 6:
			if effect == "" {
				t.Fatal("the node kill left every shard copy started: the fault had no effect")
			}
			t.Logf("fault in effect: %s", effect)
			if err := fault.Restart(ctx); err != nil {
				t.Fatalf("restart node: %v", err)
			}
			t.Logf("restarted the node at %s", time.Since(start).Round(time.Millisecond))
		}
		batch := make([]string, 200)
		for i := range batch {
			batch[i] = fmt.Sprintf("%s/w-%02d-%03d", dataset, b, i)
		}
		if err := rec.WriteIDs(ctx, batch, 100); err != nil {
			t.Fatalf("batch %d: %v", b, err)
		}
		if killed && effect == "" && b < 6 { // the fault must show: a shard copy no longer started
			if ok, why, err := s.Replicated(ctx); err == nil && !ok {
				effect = why
			}
		}
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		err := c.call(ctx, esapiHealthGreen(s.Index()), nil)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("index not green again: %v", err)
		}
		time.Sleep(2 * time.Second)
	}
	read, err := s.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	l, verdict := checkers.Ledger(h.Ops(), read, 0)
	t.Logf("elasticsearch node kill: %s", verdict.Summary)
	if verdict.Status != reports.Pass {
		t.Errorf("ledger %s: %s (lost %v, failed but present %v, corrupt %v)", verdict.Status, verdict.Summary, l.LostIDs, l.FailedPresentIDs, l.CorruptIDs)
	}
	places, err := s.Placement(ctx)
	if err != nil {
		t.Fatal(err)
	}
	short := 0
	for _, p := range places {
		if len(p.Nodes) < 2 {
			short++
		}
	}
	t.Logf("after recovery: %d documents placed, %d on fewer than 2 nodes", len(places), short)
}

// esapiHealthGreen waits (up to 60 s) for index to be green and fails if it is not.
func esapiHealthGreen(index string) esapi.ClusterHealthRequest {
	return esapi.ClusterHealthRequest{Index: []string{index}, WaitForStatus: "green", Timeout: time.Minute}
}
