package kafka

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"dpsim/internal/testservers"
	tskafka "dpsim/internal/testservers/kafka"
	"dpsim/reports"
	"dpsim/scenarios/checkers"
	"dpsim/scenarios/history"
	"dpsim/stores"
	"dpsim/topology"
)

// testKafka is the package's Kafka cluster, started on first use when DPSIM_TEST_KAFKA is unset.
var testKafka = testservers.Shared[*tskafka.Cluster]{Run: func(ctx context.Context) (*tskafka.Cluster, error) {
	return tskafka.Run(ctx, tskafka.WithLogger(testservers.Logger()))
}}

func TestMain(m *testing.M) { testservers.Main(m, &testKafka) }

// kafkaTarget is the bootstrap list of a cluster of at least 3 brokers and a kill and restart of
// one of them: DPSIM_TEST_KAFKA (host:port,...), DPSIM_TEST_KAFKA_KILL and DPSIM_TEST_KAFKA_RESTART
// (shell commands) name a running one; unset, the test starts 3 brokers in containers.
func kafkaTarget(t *testing.T) ([]string, testservers.Fault, error) {
	t.Helper()
	if v := os.Getenv("DPSIM_TEST_KAFKA"); v != "" {
		f, err := testservers.ShellFault("DPSIM_TEST_KAFKA_KILL", "DPSIM_TEST_KAFKA_RESTART")
		return strings.Split(v, ","), f, err
	}
	c := testKafka.Get(t)
	return c.Brokers(), testservers.NodeFault(c.Broker(1)), nil
}

func testConfig(brokers []string) Config {
	return Config{Brokers: brokers, Partitions: 6, ReplicationFactor: 2, MinInsync: 2, Acks: "all"}
}

// tally counts a batch's outcomes and returns the acknowledged ids.
func tally(results []topology.WriteResult) (acked map[string]bool, failed, unknown int, firstErrs []string) {
	acked = map[string]bool{}
	for _, r := range results {
		switch {
		case r.Err == nil:
			acked[r.ID] = true
		case errors.Is(r.Err, topology.ErrIndefinite):
			unknown++
		default:
			failed++
		}
		if r.Err != nil && len(firstErrs) < 5 {
			firstErrs = append(firstErrs, r.Err.Error())
		}
	}
	return acked, failed, unknown, firstErrs
}

// readBack reads the store and counts each id's copies, failing the test on a wrong value or an
// unreadable partition.
func readBack(ctx context.Context, t *testing.T, s *Store, valueBytes int) (present map[string]int, total int) {
	t.Helper()
	rb, err := s.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rb.Unreadable) > 0 {
		t.Errorf("unreadable partitions: %v", rb.Unreadable)
	}
	present = map[string]int{}
	bad := 0
	for _, r := range rb.Records {
		present[r.ID]++
		if want := topology.ValueHash(topology.Value(r.ID, valueBytes)); r.Hash != want && bad < 5 {
			bad++
			t.Errorf("record %s read with value hash %s, want %s", r.ID, r.Hash, want)
		}
	}
	return present, len(rb.Records)
}

func ids(dataset string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s/w-%05d", dataset, i)
	}
	return out
}

func TestIntegrationKafka(t *testing.T) {
	brokers, _, _ := kafkaTarget(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := Connect(ctx, testConfig(brokers))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dataset := fmt.Sprintf("it-kafka-%d", time.Now().UnixNano())
	created := time.Now()
	s, err := c.Store(ctx, dataset)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("topic %s created and ready in %s", s.Topic(), time.Since(created).Round(time.Millisecond))
	want := ids(dataset, 5000)
	start := time.Now()
	results, err := stores.Collect(ctx, s, want, 100)
	elapsed := time.Since(start)
	if err != nil {
		t.Fatalf("write batch: %v", err)
	}
	if len(results) != len(want) {
		t.Fatalf("%d outcomes for %d writes", len(results), len(want))
	}
	acked, failed, unknown, errs := tally(results)
	t.Logf("kafka: %d acknowledged, %d failed, %d unknown in %s: %.0f acknowledged records/s", len(acked), failed, unknown, elapsed, float64(len(acked))/elapsed.Seconds())
	if len(acked) != len(want) {
		t.Errorf("healthy cluster acknowledged %d of %d writes; first errors: %v", len(acked), len(want), errs)
	}
	for _, r := range results {
		if r.Err == nil && (r.Ack.Node == "" || r.Ack.Copies != 2 || r.Ack.Part == "" || r.Finished.Before(r.Invoked)) {
			t.Errorf("ack of %s: %+v invoked %v finished %v", r.ID, r.Ack, r.Invoked, r.Finished)
			break
		}
	}
	readStart := time.Now()
	seen, read := readBack(ctx, t, s, 100)
	t.Logf("read %d records back in %s", read, time.Since(readStart).Round(time.Millisecond))
	for id := range acked {
		if seen[id] == 0 {
			t.Errorf("acknowledged %s not read back", id)
		}
	}
	if len(seen) != len(want) {
		t.Errorf("read %d distinct ids, want %d", len(seen), len(want))
	}
	places, err := s.Placement(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(places) != len(want) {
		t.Errorf("%d placements, want %d", len(places), len(want))
	}
	for _, p := range places {
		if len(p.Nodes) != 2 || p.Tolerates != 1 || !strings.HasPrefix(p.Nodes[0], "kafka-") {
			t.Errorf("placement of %s: %+v, want 2 kafka members tolerating 1", p.ID, p)
			break
		}
	}
	parts, err := s.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 6 {
		t.Errorf("%d partitions, want 6", len(parts))
	}
	var total int64
	for _, p := range parts {
		total += p.HighWatermark
		if len(p.Replicas) != 2 || len(p.ISR) != 2 {
			t.Errorf("partition %+v: want 2 replicas, 2 in sync", p)
		}
	}
	if total != int64(read) {
		t.Errorf("high watermarks sum to %d, read %d records", total, read)
	}
	t.Logf("partitions: %+v", parts)
	if err := s.Drop(ctx); err != nil {
		t.Errorf("drop: %v", err)
	}
}

// TestIntegrationKafkaBrokerKill kills a broker in the middle of a batch (kafkaTarget) on a topic
// with replication factor 2 and min.insync.replicas 2, and checks that no acknowledged write is lost.
func TestIntegrationKafkaBrokerKill(t *testing.T) {
	brokers, fault, err := kafkaTarget(t)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	c, err := Connect(ctx, testConfig(brokers))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dataset := fmt.Sprintf("it-kafka-kill-%d", time.Now().UnixNano())
	s, err := c.Store(ctx, dataset)
	if err != nil {
		t.Fatal(err)
	}
	// Paced writes: 40 batches of 500, so the kill lands mid-traffic and the outcomes after it show.
	var h history.History
	rec := &history.Recorder{Store: s, Tenant: "it", History: &h}
	killed, effect := false, ""
	start := time.Now()
	for b := range 40 {
		if b == 4 {
			if err := fault.Kill(ctx); err != nil {
				t.Fatalf("kill broker: %v", err)
			}
			killed = true
			t.Logf("killed a broker at %s", time.Since(start).Round(time.Millisecond))
		}
		batch := make([]string, 500)
		for i := range batch {
			batch[i] = fmt.Sprintf("%s/w-%02d-%03d", dataset, b, i)
		}
		if err := rec.WriteIDs(ctx, batch, 100); err != nil {
			t.Fatalf("batch %d: %v", b, err)
		}
		if killed && effect == "" { // the fault must show: a replica offline or out of sync
			if parts, err := s.Describe(ctx); err == nil {
				for _, p := range parts {
					if len(p.OfflineReplicas) > 0 || len(p.ISR) < len(p.Replicas) {
						effect = fmt.Sprintf("partition %d: replicas %v, in sync %v, offline %v", p.Partition, p.Replicas, p.ISR, p.OfflineReplicas)
						break
					}
				}
			}
		}
	}
	if !killed || effect == "" {
		t.Fatalf("the broker kill left no trace in the partitions' replicas (killed %v)", killed)
	}
	t.Logf("fault in effect: %s", effect)
	if err := fault.Restart(ctx); err != nil {
		t.Fatalf("restart broker: %v", err)
	}
	// Wait for the restarted broker to rejoin every ISR.
	deadline := time.Now().Add(3 * time.Minute)
	for {
		ok, why, err := s.Replicated(ctx)
		if err == nil && ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replicas not back in sync: %s %v", why, err)
		}
		time.Sleep(2 * time.Second)
	}
	rb, err := s.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	l, v := checkers.Ledger(h.Ops(), rb, 0)
	t.Logf("kafka broker kill: %s", v.Summary)
	if v.Status != reports.Pass {
		t.Errorf("ledger %s: %s (lost %v, failed but present %v, corrupt %v)", v.Status, v.Summary, l.LostIDs, l.FailedPresentIDs, l.CorruptIDs)
	}
	places, err := s.Placement(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range places {
		if len(p.Nodes) != 2 {
			t.Errorf("placement of %s after the broker rejoined: %+v, want 2 members", p.ID, p)
			break
		}
	}
}
