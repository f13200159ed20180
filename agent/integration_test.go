package agent

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"dpsim/agent/api"
	"dpsim/stores"
	"dpsim/topology"
)

// TestIntegrationAgent runs a real agent (httptest) against the stores named by DPSIM_TEST_KAFKA,
// DPSIM_TEST_ES and DPSIM_TEST_S3 and drives every store through the Client as the engine does.
func TestIntegrationAgent(t *testing.T) {
	cfg := api.Config{Tenant: "tenant-it", Spec: api.SpecConfigOf(topology.Default()), Stores: map[string]api.StoreConfig{}}
	if v := os.Getenv("DPSIM_TEST_KAFKA"); v != "" {
		cfg.Stores["kafka"] = api.StoreConfig{Endpoints: strings.Split(v, ",")}
	}
	if v := os.Getenv("DPSIM_TEST_ES"); v != "" {
		cfg.Stores["elasticsearch"] = api.StoreConfig{Endpoints: strings.Split(v, ",")}
	}
	if v := os.Getenv("DPSIM_TEST_S3"); v != "" {
		u, err := url.Parse(v)
		if err != nil || u.User == nil {
			t.Fatalf("DPSIM_TEST_S3 %q: want http://ACCESS_KEY:SECRET_KEY@host:port", v)
		}
		secret, _ := u.User.Password()
		cfg.Stores["objectstore"] = api.StoreConfig{Endpoints: []string{u.Host}, Secure: u.Scheme == "https",
			AccessKey: u.User.Username(), SecretKey: secret}
	}
	if len(cfg.Stores) == 0 {
		t.Skip("DPSIM_TEST_KAFKA, DPSIM_TEST_ES and DPSIM_TEST_S3 are unset: set at least one to run the agent against real stores")
	}
	srv, err := NewServer(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	c := api.NewClient(ts.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dataset := fmt.Sprintf("it-agent-%d", time.Now().UnixNano())
	list, err := c.Stores(ctx, cfg.Tenant, dataset)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range list {
		t.Run(st.Name(), func(t *testing.T) {
			defer func() {
				if err := st.Drop(context.WithoutCancel(ctx)); err != nil {
					t.Errorf("drop %s: %v", dataset, err)
				}
			}()
			n := map[string]int{"kafka": 5000, "elasticsearch": 2000, "objectstore": 200}[st.Name()]
			ids := make([]string, n)
			for i := range ids {
				ids[i] = fmt.Sprintf("%s/%s/before-%05d", dataset, st.Name(), i)
			}
			start := time.Now()
			res, err := stores.Collect(ctx, st, ids, 100)
			elapsed := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			acked := 0
			for _, r := range res {
				if r.Err == nil {
					acked++
				} else if !errors.Is(r.Err, topology.ErrIndefinite) {
					t.Errorf("%s failed: %v", r.ID, r.Err)
				}
			}
			t.Logf("%s through the agent: %d of %d acknowledged in %s: %.0f acknowledged records/s", st.Name(), acked, n, elapsed.Round(time.Millisecond), float64(acked)/elapsed.Seconds())
			rb, err := st.Read(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(rb.Records) != acked || len(rb.Unreadable) > 0 {
				t.Errorf("read %d records (unreadable: %v), %d acknowledged", len(rb.Records), rb.Unreadable, acked)
			}
			for _, r := range rb.Records {
				if want := topology.ValueHash(topology.Value(r.ID, 100)); r.Hash != want {
					t.Errorf("%s read with hash %s, written with %s", r.ID, r.Hash, want)
					break
				}
			}
			pl, err := st.Placement(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(pl) != len(rb.Records) {
				t.Errorf("%d placements for %d records", len(pl), len(rb.Records))
			}
			if len(pl) > 0 {
				t.Logf("%s placement of %s: %+v", st.Name(), pl[0].ID, pl[0])
			}
			raw, err := c.Describe(ctx, st.Name(), dataset)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s describe: %.300s", st.Name(), raw)
		})
	}
}
