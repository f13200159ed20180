package s3

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"dpsim/internal/testservers"
	tss3 "dpsim/internal/testservers/s3"
	"dpsim/stores"
	"dpsim/topology"
)

// testS3 is the package's MinIO server, started on first use when DPSIM_TEST_S3 is unset.
var testS3 = testservers.Shared[*tss3.Server]{Run: func(ctx context.Context) (*tss3.Server, error) {
	return tss3.Run(ctx, tss3.WithLogger(testservers.Logger()))
}}

func TestMain(m *testing.M) { testservers.Main(m, &testS3) }

// s3Target is the Config of one MinIO server with an erasure set of 4 drives with EC:2 and a kill
// and restart of it: DPSIM_TEST_S3 (http://ACCESS:SECRET@host:port), DPSIM_TEST_S3_KILL and
// DPSIM_TEST_S3_RESTART (shell commands) name a running one; unset, the test starts one in a
// container.
func s3Target(t *testing.T) (Config, testservers.Fault, error) {
	t.Helper()
	cfg := Config{Bucket: "dpsim-it", Drives: 4, Parity: 2}
	if v := os.Getenv("DPSIM_TEST_S3"); v != "" {
		u, err := url.Parse(v)
		if err != nil || u.User == nil {
			t.Fatalf("DPSIM_TEST_S3 %q: want http://ACCESS_KEY:SECRET_KEY@host:port", v)
		}
		cfg.Endpoint, cfg.Secure, cfg.AccessKey = u.Host, u.Scheme == "https", u.User.Username()
		cfg.SecretKey, _ = u.User.Password()
		cfg.Servers = []Server{{Name: "minio-0", URL: u.Scheme + "://" + u.Host}}
		f, err := testservers.ShellFault("DPSIM_TEST_S3_KILL", "DPSIM_TEST_S3_RESTART")
		return cfg, f, err
	}
	srv := testS3.Get(t)
	cfg.Endpoint, cfg.AccessKey, cfg.SecretKey = srv.Endpoint(), tss3.AccessKey, tss3.SecretKey
	cfg.Servers = []Server{{Name: "minio-0", URL: "http://" + srv.Endpoint()}}
	return cfg, testservers.NodeFault(srv.Node()), nil
}

func TestIntegrationS3(t *testing.T) {
	cfg, _, _ := s3Target(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dataset := fmt.Sprintf("it-s3-%d", time.Now().UnixNano())
	s, err := Open(ctx, cfg, dataset)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Drop(context.Background()); err != nil {
			t.Errorf("drop: %v", err)
		}
	})
	want := make([]string, 200)
	for i := range want {
		want[i] = fmt.Sprintf("w-%05d", i)
	}
	start := time.Now()
	results, err := stores.Collect(ctx, s, want, 1024)
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	acked := 0
	for _, r := range results {
		if r.Err != nil {
			t.Errorf("put %s: %v", r.ID, r.Err)
			continue
		}
		acked++
	}
	t.Logf("objectstore: %d of %d acknowledged in %s: %.0f acknowledged objects/s", acked, len(want), elapsed, float64(acked)/elapsed.Seconds())
	read, err := s.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(read.Records) != len(want) || len(read.Unreadable) != 0 {
		t.Errorf("read %d objects (unreadable %q), want %d", len(read.Records), read.Unreadable, len(want))
	}
	for _, r := range read.Records {
		if h := topology.ValueHash(topology.Value(r.ID, 1024)); r.Hash != h {
			t.Errorf("%s: read hash %s, want %s", r.ID, r.Hash, h)
		}
	}
	if places, err := s.Placement(ctx); !errors.Is(err, ErrPlacementFromDrives) {
		t.Errorf("placement: %d entries, %v; want ErrPlacementFromDrives (the provider reads the drives)", len(places), err)
	}
	st := s.Describe(ctx)
	if !st.ClusterHealthy || len(st.Servers) != 1 || !st.Servers[0].Live {
		t.Errorf("describe: %+v", st)
	}
	// A dataset of another name does not see these objects.
	other, err := Open(ctx, cfg, dataset+"-other")
	if err != nil {
		t.Fatal(err)
	}
	if rb, err := other.Read(ctx); err != nil || len(rb.Records) != 0 {
		t.Errorf("other dataset reads %d objects (%v)", len(rb.Records), err)
	}
	// Drop empties the dataset.
	if err := s.Drop(ctx); err != nil {
		t.Fatal(err)
	}
	if rb, err := s.Read(ctx); err != nil || len(rb.Records) != 0 {
		t.Errorf("after drop the dataset reads %d objects (%v)", len(rb.Records), err)
	}
}

// TestIntegrationS3ServerKill kills the object store (one server) in the middle of paced batches
// and restarts it (s3Target), and checks the outcome classes and that no acknowledged object is lost.
func TestIntegrationS3ServerKill(t *testing.T) {
	cfg, fault, err := s3Target(t)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dataset := fmt.Sprintf("it-s3-kill-%d", time.Now().UnixNano())
	s, err := Open(ctx, cfg, dataset)
	if err != nil {
		t.Fatal(err)
	}
	var results []topology.WriteResult
	for b := range 8 {
		switch b {
		case 2:
			if err := fault.Kill(ctx); err != nil {
				t.Fatalf("kill: %v", err)
			}
		case 5:
			if err := fault.Restart(ctx); err != nil {
				t.Fatalf("restart: %v", err)
			}
			for !s.Describe(ctx).ClusterHealthy && ctx.Err() == nil {
				time.Sleep(500 * time.Millisecond)
			}
		}
		batch := make([]string, 100)
		for i := range batch {
			batch[i] = fmt.Sprintf("w-%02d-%03d", b, i)
		}
		res, err := stores.Collect(ctx, s, batch, 1024)
		if err != nil {
			t.Fatal(err)
		}
		results = append(results, res...)
		ok, failed, unknown, first := 0, 0, 0, ""
		for _, r := range res {
			switch {
			case r.Err == nil:
				ok++
			case errors.Is(r.Err, topology.ErrIndefinite):
				unknown++
			default:
				failed++
			}
			if r.Err != nil && first == "" {
				first = r.Err.Error()
			}
		}
		t.Logf("batch %d: %d acknowledged %d failed %d unknown %.150s", b, ok, failed, unknown, first)
	}
	read, err := s.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	present := map[string]bool{}
	for _, r := range read.Records {
		present[r.ID] = r.Hash == topology.ValueHash(topology.Value(r.ID, 1024))
	}
	lost := 0
	for _, r := range results {
		if r.Err == nil && !present[r.ID] {
			lost++
		}
	}
	t.Logf("objectstore server kill: attempted %d, read %d, unreadable %d, lost %d", len(results), len(read.Records), len(read.Unreadable), lost)
	if lost > 0 {
		t.Errorf("%d acknowledged objects lost", lost)
	}
}
