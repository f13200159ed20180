package agent

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"dpsim/agent/api"
	"dpsim/internal/testenv"
	"dpsim/internal/testservers"
	tselastic "dpsim/internal/testservers/elastic"
	tskafka "dpsim/internal/testservers/kafka"
	tss3 "dpsim/internal/testservers/s3"
	"dpsim/stores"
	"dpsim/stores/s3"
	"dpsim/topology"
)

// The stores the agent is tested against, each started on first use when its environment variable
// is unset.
var (
	testKafka = testservers.Shared[*tskafka.Cluster]{Run: func(ctx context.Context) (*tskafka.Cluster, error) {
		return tskafka.Run(ctx, tskafka.WithLogger(testservers.Logger()))
	}}
	testES = testservers.Shared[*tselastic.Cluster]{Run: func(ctx context.Context) (*tselastic.Cluster, error) {
		return tselastic.Run(ctx, tselastic.WithLogger(testservers.Logger()))
	}}
	testS3 = testservers.Shared[*tss3.Server]{Run: func(ctx context.Context) (*tss3.Server, error) {
		return tss3.Run(ctx, tss3.WithLogger(testservers.Logger()))
	}}
)

func TestMain(m *testing.M) { testservers.Main(m, &testKafka, &testES, &testS3) }

// storeConfigs configures the agent's Kafka, Elasticsearch and object store: DPSIM_TEST_KAFKA
// (host:port,...), DPSIM_TEST_ES (http://host:9200,...) and DPSIM_TEST_S3
// (http://ACCESS:SECRET@host:port) name running ones; for each one unset, the test starts it in
// containers, the three concurrently.
func storeConfigs(t *testing.T) map[string]api.StoreConfig {
	t.Helper()
	stores := map[string]api.StoreConfig{}
	start := map[string]func() (api.StoreConfig, error){} // the stores to start, concurrently
	if v := os.Getenv("DPSIM_TEST_KAFKA"); v != "" {
		stores["kafka"] = api.StoreConfig{Endpoints: strings.Split(v, ",")}
	} else {
		start["kafka"] = func() (api.StoreConfig, error) {
			c, err := testKafka.Start()
			if err != nil {
				return api.StoreConfig{}, err
			}
			return api.StoreConfig{Endpoints: c.Brokers()}, nil
		}
	}
	if v := os.Getenv("DPSIM_TEST_ES"); v != "" {
		stores["elasticsearch"] = api.StoreConfig{Endpoints: strings.Split(v, ",")}
	} else {
		start["elasticsearch"] = func() (api.StoreConfig, error) {
			c, err := testES.Start()
			if err != nil {
				return api.StoreConfig{}, err
			}
			return api.StoreConfig{Endpoints: c.URLs()}, nil
		}
	}
	if v := os.Getenv("DPSIM_TEST_S3"); v != "" {
		u, err := url.Parse(v)
		if err != nil || u.User == nil {
			t.Fatalf("DPSIM_TEST_S3 %q: want http://ACCESS_KEY:SECRET_KEY@host:port", v)
		}
		secret, _ := u.User.Password()
		stores["objectstore"] = api.StoreConfig{Endpoints: []string{u.Host}, Secure: u.Scheme == "https",
			AccessKey: u.User.Username(), SecretKey: secret}
	} else {
		start["objectstore"] = func() (api.StoreConfig, error) {
			srv, err := testS3.Start()
			if err != nil {
				return api.StoreConfig{}, err
			}
			return api.StoreConfig{Endpoints: []string{srv.Endpoint()}, AccessKey: tss3.AccessKey, SecretKey: tss3.SecretKey}, nil
		}
	}
	if len(start) > 0 {
		testenv.RequireDocker(t)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var errs []error
	for name, f := range start {
		wg.Go(func() {
			sc, err := f()
			mu.Lock()
			defer mu.Unlock()
			stores[name] = sc
			errs = append(errs, err)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return stores
}

// TestIntegrationAgent runs a real agent (httptest) against Kafka, Elasticsearch and the object
// store (storeConfigs) and drives every store through the Client as the engine does.
func TestIntegrationAgent(t *testing.T) {
	cfg := api.Config{Tenant: "tenant-it", Spec: api.SpecConfigOf(topology.Default()), Stores: storeConfigs(t)}
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
			if st.Name() == s3.Description.Name { // where an object's parts are is read from the drives by the provider
				if err == nil || !strings.Contains(err.Error(), s3.ErrPlacementFromDrives.Error()) {
					t.Errorf("objectstore placement through the agent: %d entries, %v; want the S3 client's refusal", len(pl), err)
				}
			} else if err != nil {
				t.Fatal(err)
			} else if len(pl) != len(rb.Records) {
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
