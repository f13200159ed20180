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

	"dpsim/stores/s3"
	"dpsim/topology"
)

// TestIntegrationAgent runs a real agent (httptest) against the stores named by DPSIM_TEST_KAFKA,
// DPSIM_TEST_ES and DPSIM_TEST_S3 and drives every store through the Client as the engine does.
func TestIntegrationAgent(t *testing.T) {
	cfg := Config{Tenant: "tenant-it", Spec: SpecConfigOf(topology.Default())}
	if v := os.Getenv("DPSIM_TEST_KAFKA"); v != "" {
		cfg.Kafka = &KafkaConfig{Bootstrap: strings.Split(v, ",")}
	}
	if v := os.Getenv("DPSIM_TEST_ES"); v != "" {
		cfg.Elasticsearch = &ElasticConfig{URLs: strings.Split(v, ",")}
	}
	if v := os.Getenv("DPSIM_TEST_S3"); v != "" {
		u, err := url.Parse(v)
		if err != nil || u.User == nil {
			t.Fatalf("DPSIM_TEST_S3 %q: want http://ACCESS_KEY:SECRET_KEY@host:port", v)
		}
		secret, _ := u.User.Password()
		cfg.S3 = &S3Config{Endpoint: u.Host, AccessKey: u.User.Username(), SecretKey: secret,
			Servers: []s3.Server{{Name: "minio-0", URL: "http://" + u.Host}}}
	}
	if cfg.Kafka == nil && cfg.Elasticsearch == nil && cfg.S3 == nil {
		t.Skip("DPSIM_TEST_KAFKA, DPSIM_TEST_ES and DPSIM_TEST_S3 are unset: set at least one to run the agent against real stores")
	}
	srv, err := NewServer(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	c := NewClient(ts.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dataset := fmt.Sprintf("it-agent-%d", time.Now().UnixNano())
	list, err := c.Stores(ctx, cfg.Tenant, dataset)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range list {
		t.Run(st.Name(), func(t *testing.T) {
			n := map[string]int{StoreKafka: 5000, StoreElastic: 2000, StoreObject: 200}[st.Name()]
			ids := make([]string, n)
			for i := range ids {
				ids[i] = fmt.Sprintf("%s/%s/before-%05d", dataset, st.Name(), i)
			}
			start := time.Now()
			res, err := st.(topology.BatchWriter).WriteBatch(ctx, ids, 100)
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
			read, err := st.ReadAll(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(read) != acked {
				t.Errorf("read %d records, %d acknowledged", len(read), acked)
			}
			pl, err := st.Placement(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(pl) != len(read) {
				t.Errorf("%d placements for %d records", len(pl), len(read))
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
