package s3

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"testing"
	"time"

	"dpsim/stores"
	"dpsim/topology"
)

// s3Config reads DPSIM_TEST_S3 (http://ACCESS:SECRET@host:port, an erasure set of 4 drives with
// EC:2 on one server) or skips.
func s3Config(t *testing.T) Config {
	t.Helper()
	v := os.Getenv("DPSIM_TEST_S3")
	if v == "" {
		t.Skip("DPSIM_TEST_S3 is unset: set it to http://ACCESS_KEY:SECRET_KEY@host:port of a MinIO server with 4 drives and EC:2")
	}
	u, err := url.Parse(v)
	if err != nil || u.User == nil {
		t.Fatalf("DPSIM_TEST_S3 %q: want http://ACCESS_KEY:SECRET_KEY@host:port", v)
	}
	secret, _ := u.User.Password()
	return Config{Endpoint: u.Host, Secure: u.Scheme == "https", AccessKey: u.User.Username(), SecretKey: secret,
		Bucket: "dpsim-it", Drives: 4, Parity: 2,
		Servers: []Server{{Name: "minio-0", URL: u.Scheme + "://" + u.Host}}}
}

func TestIntegrationS3(t *testing.T) {
	cfg := s3Config(t)
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

// TestIntegrationS3ServerKill kills the object store in the middle of paced batches
// (DPSIM_TEST_S3_KILL is the shell command that does it, DPSIM_TEST_S3_RESTART the one that brings
// it back; on loopback MinIO is one server) and checks the outcome classes and that no acknowledged
// object is lost.
func TestIntegrationS3ServerKill(t *testing.T) {
	cfg := s3Config(t)
	kill, restart := os.Getenv("DPSIM_TEST_S3_KILL"), os.Getenv("DPSIM_TEST_S3_RESTART")
	if kill == "" || restart == "" {
		t.Skip("DPSIM_TEST_S3_KILL and DPSIM_TEST_S3_RESTART are unset: set them to shell commands that kill and restart the MinIO server")
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
			if out, err := exec.CommandContext(ctx, "sh", "-c", kill).CombinedOutput(); err != nil {
				t.Fatalf("kill: %v: %s", err, out)
			}
		case 5:
			if out, err := exec.CommandContext(ctx, "sh", "-c", restart).CombinedOutput(); err != nil {
				t.Fatalf("restart: %v: %s", err, out)
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
