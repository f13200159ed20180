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
	want := make([]string, 200)
	for i := range want {
		want[i] = fmt.Sprintf("%s/w-%05d", dataset, i)
	}
	start := time.Now()
	results, err := s.WriteBatch(ctx, want, 1024)
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
	read, err := s.ReadAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(read) != len(want) {
		t.Errorf("listed %d objects, want %d", len(read), len(want))
	}
	places, err := s.Placement(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(places) != len(want) || places[0].Tolerates != 0 || len(places[0].Nodes) != 1 || places[0].Nodes[0] != "minio-0" {
		t.Errorf("placement: %d entries, first %+v; want %d on [minio-0] tolerating 0", len(places), places[0], len(want))
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
	if ids, err := other.ReadAll(ctx); err != nil || len(ids) != 0 {
		t.Errorf("other dataset lists %d objects (%v)", len(ids), err)
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
			batch[i] = fmt.Sprintf("%s/w-%02d-%03d", dataset, b, i)
		}
		res, err := s.WriteBatch(ctx, batch, 1024)
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
	read, err := s.ReadAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	present := map[string]bool{}
	for _, id := range read {
		present[id] = true
	}
	lost := 0
	for _, r := range results {
		if r.Err == nil && !present[r.ID] {
			lost++
		}
	}
	t.Logf("objectstore server kill: attempted %d, read %d, lost %d", len(results), len(read), lost)
	if lost > 0 {
		t.Errorf("%d acknowledged objects lost", lost)
	}
}
