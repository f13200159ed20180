package hdfs

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"dpsim/internal/testservers"
	tshdfs "dpsim/internal/testservers/hdfs"
	"dpsim/stores"
	"dpsim/topology"
)

// TestIntegrationHDFS runs against a real HDFS 3.4 (one namenode, 3 datanodes, dfs.replication 2)
// configured as topology/platform/manifests/hdfs.yaml configures it. Unless DPSIM_TEST_HDFS names
// one, it starts one in containers (testHDFS) and runs every phase in one go: a healthy pass waits
// for the first accepted write, writes, reads, places and drops one dataset, and leaves a second
// one, the seed (seedDataset); then datanode hdfs-datanode-1 is killed, and the DatanodeDown phase
// follows what fsck says of the seed's replicas on it until it is stale, reads the seed, writes with
// the datanode down, and drops both.
//
// A running cluster is named by the namenode's HTTP URL, from inside the network where the
// datanodes' registered host names resolve (the namenode redirects to them):
//
//	DPSIM_TEST_HDFS=http://hdfs-namenode-0.hdfs-namenode.<ns>.svc.cluster.local:9870
//
// There the phases take two runs: a healthy one, then, with one datanode stopped, one with
// DPSIM_TEST_HDFS_DOWN set to its pod name (hdfs-datanode-1). DPSIM_TEST_HDFS_STARTED, the Unix time
// the cluster was started at, times the first write from then. Run against a cluster with
// dfs.namenode.replication.min 1 (read from the namenode's /conf), a healthy pass counts the writes
// acknowledged with Ack.Copies 1 instead of refusing them.

// testHDFS is the package's HDFS, started on first use when DPSIM_TEST_HDFS is unset.
var testHDFS = testservers.Shared[*tshdfs.Cluster]{Run: func(ctx context.Context) (*tshdfs.Cluster, error) {
	return tshdfs.Run(ctx, tshdfs.WithLogger(testservers.Logger()))
}}

func TestMain(m *testing.M) { testservers.Main(m, &testHDFS) }

// hdfsTarget is an HDFS under test.
type hdfsTarget struct {
	cfg Config // its namenode, and how to reach its datanodes
	// down is the datanode an earlier run left stopped (DPSIM_TEST_HDFS_DOWN): this run judges the
	// seed and writes, without the healthy phases.
	down string
	// stop kills a datanode once the seed is written and names it; nil for a running cluster, whose
	// datanode-down phase is a run of its own.
	stop func(ctx context.Context) (string, error)
}

func target(t *testing.T) hdfsTarget {
	t.Helper()
	if v := os.Getenv("DPSIM_TEST_HDFS"); v != "" {
		return hdfsTarget{cfg: Config{NameNodes: []string{v}}, down: os.Getenv("DPSIM_TEST_HDFS_DOWN")}
	}
	c := testHDFS.Get(t)
	return hdfsTarget{
		cfg: Config{NameNodes: []string{c.NameNode()}, DialContext: c.DialContext},
		stop: func(ctx context.Context) (string, error) {
			n := c.Datanode(1)
			return n.Name, n.Kill(ctx)
		},
	}
}

const (
	itValueBytes = 100
	itWrites     = 200
	seedDataset  = "it-hdfs-seed"
)

var podName = regexp.MustCompile(`^hdfs-datanode-\d+$`)

func itIDs(dataset string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s/w-%05d", dataset, i)
	}
	return out
}

// namenodeConf is one setting of the running namenode (its /conf servlet).
func namenodeConf(ctx context.Context, nn, name string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(nn, "/")+"/conf?"+url.Values{"name": {name}}.Encode(), nil)
	if err != nil {
		return "", err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("namenode conf %s: %w", name, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return "", fmt.Errorf("namenode conf %s: %w", name, err)
	}
	var conf struct {
		Property []struct {
			Name  string `xml:"name"`
			Value string `xml:"value"`
		} `xml:"property"`
	}
	if err := xml.Unmarshal(body, &conf); err != nil {
		return "", fmt.Errorf("namenode conf %s: %w", name, err)
	}
	for _, p := range conf.Property {
		if p.Name == name {
			return p.Value, nil
		}
	}
	return "", fmt.Errorf("namenode conf %s: not set", name)
}

// firstWrite connects and writes one record, again every half second until HDFS accepts one: the
// readiness of a cluster that was just started. It logs each new refusal and the acceptance with the
// time since the cluster was started (DPSIM_TEST_HDFS_STARTED, Unix seconds), or else since the
// test began.
func firstWrite(ctx context.Context, t *testing.T, cfg Config, began time.Time) *Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 4*time.Minute)
	defer cancel()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	var started time.Time
	if v, err := strconv.ParseFloat(os.Getenv("DPSIM_TEST_HDFS_STARTED"), 64); err == nil {
		started = time.Unix(0, int64(v*1e9))
	}
	at := func() string {
		if started.IsZero() {
			return fmt.Sprintf("+%s from the test's start", time.Since(began).Round(time.Millisecond))
		}
		return fmt.Sprintf("+%s from the cluster's start", time.Since(started).Round(time.Millisecond))
	}
	attempts, last := 0, ""
	for {
		attempts++
		c, s, err := tryWrite(ctx, cfg, attempts)
		if err == nil {
			t.Logf("start-up: first write accepted at %s, attempt %d", at(), attempts)
			if err := s.Drop(ctx); err != nil {
				t.Errorf("drop %s: %v", s.Dir(), err)
			}
			return c
		}
		if err.Error() != last {
			t.Logf("start-up: %s: attempt %d: %v", at(), attempts, err)
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no write accepted in %d attempts: %v", attempts, last)
		case <-tick.C:
		}
	}
}

// tryWrite connects and writes one record; an error names the file <file>, so that one refusal
// reads the same on every attempt.
func tryWrite(ctx context.Context, cfg Config, attempt int) (*Cluster, *Store, error) {
	c, err := Connect(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	s, err := c.Store(ctx, "it-hdfs-startup")
	if err == nil {
		id := fmt.Sprintf("startup/%d", attempt)
		if err = s.write(ctx, id, topology.Value(id, itValueBytes)).Err; err != nil {
			err = errors.New(strings.ReplaceAll(err.Error(), Name(id), "<file>"))
		}
	}
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	return c, s, nil
}

// outcomes tallies a batch: the acknowledged ids, how many failed and unknown, the first errors,
// and the latencies of the acknowledged writes and of the others.
type outcomes struct {
	acked           map[string]topology.WriteResult
	failed, unknown int
	errs            []string
	ackLat, errLat  []time.Duration
}

func tallyWrites(results []topology.WriteResult) outcomes {
	o := outcomes{acked: map[string]topology.WriteResult{}}
	for _, r := range results {
		d := r.Finished.Sub(r.Invoked)
		switch {
		case r.Err == nil:
			o.acked[r.ID] = r
			o.ackLat = append(o.ackLat, d)
			continue
		case errors.Is(r.Err, topology.ErrIndefinite):
			o.unknown++
		default:
			o.failed++
		}
		o.errLat = append(o.errLat, d)
		if len(o.errs) < 5 {
			o.errs = append(o.errs, r.Err.Error())
		}
	}
	return o
}

// latencies summarises durations: min, median, 90th percentile and max.
func latencies(ds []time.Duration) string {
	if len(ds) == 0 {
		return "none"
	}
	s := slices.Sorted(slices.Values(ds))
	at := func(q float64) time.Duration {
		return s[min(len(s)-1, int(q*float64(len(s))))].Round(100 * time.Microsecond)
	}
	return fmt.Sprintf("min %s, median %s, p90 %s, max %s", s[0].Round(100*time.Microsecond), at(0.5), at(0.9), s[len(s)-1].Round(100*time.Microsecond))
}

// copiesCount counts acknowledged writes by Ack.Copies.
func copiesCount(acked map[string]topology.WriteResult) map[int]int {
	n := map[int]int{}
	for _, r := range acked {
		n[r.Ack.Copies]++
	}
	return n
}

// writeBatch writes itWrites records to dataset and logs the outcome.
func writeBatch(ctx context.Context, t *testing.T, c *Cluster, dataset string) (*Store, []string, outcomes) {
	t.Helper()
	s, err := c.Store(ctx, dataset)
	if err != nil {
		t.Fatal(err)
	}
	want := itIDs(dataset, itWrites)
	start := time.Now()
	results, err := stores.Collect(ctx, s, want, itValueBytes)
	elapsed := time.Since(start)
	if err != nil {
		t.Fatalf("write batch: %v", err)
	}
	if len(results) != len(want) {
		t.Fatalf("%d outcomes for %d writes", len(results), len(want))
	}
	o := tallyWrites(results)
	t.Logf("%s: %d acknowledged, %d failed, %d unknown in %s: %.0f acknowledged writes/s; latency of acknowledged: %s; of the others: %s; Ack.Copies: %v",
		dataset, len(o.acked), o.failed, o.unknown, elapsed.Round(time.Millisecond), float64(len(o.acked))/elapsed.Seconds(),
		latencies(o.ackLat), latencies(o.errLat), copiesCount(o.acked))
	if len(o.errs) > 0 {
		t.Logf("first errors: %q", o.errs)
	}
	return s, want, o
}

// readAll reads the dataset back, checks every value's hash and returns the ids read.
func readAll(ctx context.Context, t *testing.T, s *Store) map[string]bool {
	t.Helper()
	start := time.Now()
	rb, err := s.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("read %d records of %s in %s, %d unreadable", len(rb.Records), s.Dir(), time.Since(start).Round(time.Millisecond), len(rb.Unreadable))
	if len(rb.Unreadable) > 0 {
		t.Errorf("unreadable: %d, first %q", len(rb.Unreadable), rb.Unreadable[:min(3, len(rb.Unreadable))])
	}
	seen := map[string]bool{}
	for _, r := range rb.Records {
		if seen[r.ID] {
			t.Errorf("record %s read twice", r.ID)
		}
		seen[r.ID] = true
		if want := topology.ValueHash(topology.Value(r.ID, itValueBytes)); r.Hash != want {
			t.Errorf("record %s read with value hash %s, want %s", r.ID, r.Hash, want)
		}
	}
	return seen
}

func TestIntegrationHDFS(t *testing.T) {
	began := time.Now()
	tg := target(t)
	nn := tg.cfg.NameNodes[0]
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	down := tg.down
	var c *Cluster
	if down == "" {
		c = firstWrite(ctx, t, tg.cfg, began)
	} else { // judged at once: a write could wait out a pipeline through the stopped datanode
		var err error
		if c, err = Connect(ctx, tg.cfg); err != nil {
			t.Fatal(err)
		}
	}
	defer c.Close()
	minRep, err := namenodeConf(ctx, nn, "dfs.namenode.replication.min")
	if err != nil {
		t.Fatal(err)
	}
	replication, err := namenodeConf(ctx, nn, "dfs.replication")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("namenode: dfs.replication %s, dfs.namenode.replication.min %s", replication, minRep)
	if replication != "2" {
		t.Fatalf("the namenode's dfs.replication is %s: these tests judge a cluster with 2", replication)
	}

	t.Run("Healthy", func(t *testing.T) {
		if down != "" {
			t.Skip("DPSIM_TEST_HDFS_DOWN is set: a datanode is down")
		}
		healthy(ctx, t, c, minRep == "1")
	})
	t.Run("Seed", func(t *testing.T) {
		if down != "" {
			t.Skip("DPSIM_TEST_HDFS_DOWN is set: the seed is judged, not written")
		}
		_ = c.remove(ctx, Root+"/"+Name(seedDataset), true)
		_, _, o := writeBatch(ctx, t, c, seedDataset)
		if len(o.acked) != itWrites {
			t.Errorf("seed: %d of %d writes acknowledged", len(o.acked), itWrites)
		}
	})
	if down == "" && tg.stop != nil {
		if down, err = tg.stop(ctx); err != nil {
			t.Fatalf("kill a datanode: %v", err)
		}
		t.Logf("killed %s", down)
	}
	t.Run("DatanodeDown", func(t *testing.T) {
		if down == "" {
			t.Skip("DPSIM_TEST_HDFS_DOWN is unset: stop one datanode after a healthy pass and set it to its pod name")
		}
		datanodeDown(ctx, t, c, down)
	})
}

// healthy writes, reads, places, describes and drops one dataset on a cluster with every datanode
// up. With minReplication 1 an acknowledgement may come before the second replica was reported, so
// Ack.Copies 1 is counted, not refused.
func healthy(ctx context.Context, t *testing.T, c *Cluster, minRep1 bool) {
	dataset := fmt.Sprintf("it-hdfs-%d", time.Now().UnixNano())
	s, want, o := writeBatch(ctx, t, c, dataset)
	if len(o.acked) != len(want) {
		t.Errorf("healthy cluster acknowledged %d of %d writes", len(o.acked), len(want))
	}
	counts := copiesCount(o.acked)
	t.Logf("Ack.Copies right after the acknowledgement: %d of %d acknowledged writes with 1 copy, %d with 2", counts[1], len(o.acked), counts[2])
	for _, r := range o.acked {
		okCopies := r.Ack.Copies == 2 || minRep1 && r.Ack.Copies == 1
		if !okCopies || !podName.MatchString(r.Ack.Node) || r.Finished.Before(r.Invoked) {
			t.Errorf("ack of %s: %+v (%s) invoked %v finished %v", r.ID, r.Ack, r.Detail, r.Invoked, r.Finished)
			break
		}
	}

	seen := readAll(ctx, t, s)
	for _, id := range want {
		if !seen[id] {
			t.Errorf("%s not read back", id)
		}
	}
	if len(seen) != len(want) {
		t.Errorf("read %d ids, want %d", len(seen), len(want))
	}

	places, err := s.Placement(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(places) != len(want) {
		t.Errorf("%d placements, want %d", len(places), len(want))
	}
	holds := map[string]int{}
	for _, p := range places {
		for _, n := range p.Nodes {
			holds[n]++
		}
		if len(p.Nodes) != 2 || p.Nodes[0] == p.Nodes[1] || !podName.MatchString(p.Nodes[0]) || !podName.MatchString(p.Nodes[1]) || p.Tolerates != 1 {
			t.Errorf("placement of %s: %+v, want 2 datanode pods tolerating 1", p.ID, p)
			break
		}
	}
	t.Logf("placement: records per datanode %v", holds)

	ok, detail, err := s.Replicated(ctx)
	if err != nil || !ok {
		t.Errorf("Replicated = %v, %q, %v; want true", ok, detail, err)
	}
	st, err := s.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("state: %+v", st)
	if st.Dir != s.Dir() || st.Files != len(want) || st.Blocks != len(want) || st.LiveReplicas != 2*len(want) ||
		st.UnderReplicated != 0 || st.Missing != 0 || len(st.Datanodes) < 2 || len(st.Short) != 0 {
		t.Errorf("state %+v, want %d files of one block each with 2 live replicas", st, len(want))
	}
	for _, n := range st.Datanodes {
		if !podName.MatchString(n) {
			t.Errorf("state names datanode %q, want a pod name", n)
		}
	}

	if err := s.Drop(ctx); err != nil {
		t.Fatalf("drop: %v", err)
	}
	if _, _, err := s.Replicated(ctx); !errors.Is(err, stores.ErrDatasetMissing) {
		t.Errorf("Replicated after Drop: %v, want ErrDatasetMissing", err)
	}
	if err := s.Drop(ctx); err != nil {
		t.Errorf("a second Drop: %v", err)
	}
	rb, err := s.Read(ctx)
	if err != nil || len(rb.Records) != 0 || len(rb.Unreadable) != 1 {
		t.Errorf("Read after Drop: %+v, %v; want nothing read and the directory named missing", rb, err)
	}
}

// lastContact is the seconds since the namenode last heard from the datanode named pod and the
// JMX list (LiveNodes or DeadNodes) that holds it; -1 when neither does.
func lastContact(ctx context.Context, nn, pod string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(nn, "/")+"/jmx?qry=Hadoop:service=NameNode,name=NameNodeInfo", nil)
	if err != nil {
		return 0, "", err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	var ans struct {
		Beans []map[string]any `json:"beans"`
	}
	if err := json.NewDecoder(res.Body).Decode(&ans); err != nil || len(ans.Beans) == 0 {
		return 0, "", fmt.Errorf("NameNodeInfo: %v", err)
	}
	for _, list := range []string{"LiveNodes", "DeadNodes"} {
		text, _ := ans.Beans[0][list].(string)
		var nodes map[string]struct {
			LastContact int `json:"lastContact"`
		}
		if err := json.Unmarshal([]byte(text), &nodes); err != nil {
			return 0, "", fmt.Errorf("NameNodeInfo %s: %w", list, err)
		}
		for key, n := range nodes {
			if memberName(hostOf(key)) == pod {
				return n.LastContact, list, nil
			}
		}
	}
	return -1, "", nil
}

// replicasOn counts the replicas fsck lists on the datanode named pod, by state.
func replicasOn(ctx context.Context, s *Store, pod string) (map[string]int, error) {
	files, err := s.fsck(ctx)
	if err != nil {
		return nil, err
	}
	names := s.c.namer(ctx)
	states := map[string]int{}
	for _, f := range files {
		for _, b := range f.Blocks {
			for _, r := range b.Replicas {
				if names.name(r.Addr) == pod {
					states[r.State]++
				}
			}
		}
	}
	return states, nil
}

// placedOn counts the placements that name pod and those tolerating no loss.
func placedOn(places []topology.Placement, pod string) (on, fragile int) {
	for _, p := range places {
		if slices.Contains(p.Nodes, pod) {
			on++
		}
		if p.Tolerates < 1 {
			fragile++
		}
	}
	return on, fragile
}

// datanodeDown judges the seed dataset's placement while the stopped datanode turns stale, then
// writes a batch with it down.
func datanodeDown(ctx context.Context, t *testing.T, c *Cluster, down string) {
	nn := c.cfg.NameNodes[0]
	seed, err := c.Store(ctx, seedDataset)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := seed.Drop(ctx); err != nil {
			t.Errorf("drop seed: %v", err)
		}
	}()

	// The seed's replicas on the stopped datanode, every 2 s, until none is LIVE (it is stale).
	deadline := time.Now().Add(3 * time.Minute)
	start := time.Now()
	prev := ""
	var states map[string]int
	for {
		lc, list, err := lastContact(ctx, nn, down)
		if err != nil {
			t.Fatal(err)
		}
		states, err = replicasOn(ctx, seed, down)
		if err != nil {
			t.Fatal(err)
		}
		places, err := seed.Placement(ctx)
		if err != nil {
			t.Fatal(err)
		}
		on, fragile := placedOn(places, down)
		ok, detail, err := seed.Replicated(ctx)
		if err != nil {
			t.Fatal(err)
		}
		now := fmt.Sprintf("fsck lists the seed's replicas on %s as %v; Placement names it for %d of %d records, %d records tolerate no loss; Replicated %v (%s)",
			down, states, on, len(places), fragile, ok, detail)
		if now != prev {
			t.Logf("+%s (the namenode last heard from %s %d s ago, in %s): %s", time.Since(start).Round(time.Second), down, lc, list, now)
			prev = now
		}
		if states["LIVE"] == 0 {
			if on != 0 || ok || len(places) != itWrites {
				t.Errorf("with %s stale: Placement names it for %d records of %d, Replicated %v; want 0 and false", down, on, len(places), ok)
			}
			if states["STALE_NODE"] == 0 {
				t.Errorf("fsck lists no replica of the seed on %s: %v", down, states)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replicas on %s still LIVE after %s", down, time.Since(start).Round(time.Second))
		}
		select {
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(2 * time.Second):
		}
	}
	seen := readAll(ctx, t, seed)
	if len(seen) != itWrites {
		t.Errorf("read %d of the seed's %d records with %s down", len(seen), itWrites, down)
	}

	// Writes with the datanode down.
	s, _, o := writeBatch(ctx, t, c, fmt.Sprintf("it-hdfs-down-%d", time.Now().UnixNano()))
	defer func() {
		if err := s.Drop(ctx); err != nil {
			t.Errorf("drop: %v", err)
		}
	}()
	if len(o.acked) == 0 {
		t.Fatalf("no write acknowledged with %s down", down)
	}
	for _, r := range o.acked {
		if r.Ack.Copies < 1 || !podName.MatchString(r.Ack.Node) || r.Ack.Node == down {
			t.Errorf("ack of %s with %s down: %+v (%s)", r.ID, down, r.Ack, r.Detail)
			break
		}
	}
	seen = readAll(ctx, t, s)
	for id := range o.acked {
		if !seen[id] {
			t.Errorf("acknowledged %s not read back", id)
		}
	}
	places, err := s.Placement(ctx)
	if err != nil {
		t.Fatal(err)
	}
	holds := map[string]int{}
	for _, p := range places {
		for _, n := range p.Nodes {
			holds[n]++
		}
	}
	on, fragile := placedOn(places, down)
	t.Logf("placement of the writes made with %s down: %d records, per datanode %v, %d tolerate no loss", down, len(places), holds, fragile)
	if on != 0 {
		t.Errorf("%d records placed on the stopped %s", on, down)
	}
}
