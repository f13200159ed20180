package api

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dpsim/topology"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name    string
		json    string
		wantErr []string // every part must appear in the error; none: the config is valid
	}{
		{"full", `{"tenant":"tenant-a",
			"stores":{"kafka":{"endpoints":["kafka-0:9092","kafka-1:9092"]},
			          "elasticsearch":{"endpoints":["http://es:9200"]},
			          "objectstore":{"endpoints":["minio:9000"],"secure":true,"accessKey":"a","secretKey":"b","bucket":"bk"}},
			"spec":{"kafka":{"partitions":6,"replicationFactor":2,"minInsyncReplicas":2,"acks":"all"},"objectStore":{"drives":4,"parity":2}},
			"batchTimeout":"5m"}`, nil},
		{"unknown top-level key", `{"tenant":"a","stores":{"kafka":{"endpoints":["k:9092"]}},"tls":{}}`, []string{"unknown field", "tls"}},
		{"unknown store key", `{"tenant":"a","stores":{"kafka":{"endpoints":["k:9092"],"bootstrap":["k:9092"]}}}`, []string{"unknown field", "bootstrap"}},
		{"old layout", `{"tenant":"a","kafka":{"bootstrap":["k:9092"]}}`, []string{"unknown field", "kafka"}},
		{"not JSON", `{"tenant":`, []string{"decode agent config"}},
		{"no tenant", `{"stores":{"kafka":{"endpoints":["k:9092"]}}}`, []string{"tenant: required"}},
		{"no stores", `{"tenant":"a"}`, []string{"stores: give at least one store"}},
		{"empty stores", `{"tenant":"a","stores":{}}`, []string{"stores: give at least one store"}},
		{"store without endpoints", `{"tenant":"a","stores":{"kafka":{"endpoints":["k:9092"]},"objectstore":{"accessKey":"a"}}}`,
			[]string{"stores.objectstore.endpoints: required"}},
		{"store with empty endpoints", `{"tenant":"a","stores":{"kafka":{"endpoints":[]}}}`, []string{"stores.kafka.endpoints: required"}},
		{"bad batchTimeout", `{"tenant":"a","stores":{"kafka":{"endpoints":["k:9092"]}},"batchTimeout":"soon"}`, []string{`batchTimeout "soon"`}},
		{"negative batchTimeout", `{"tenant":"a","stores":{"kafka":{"endpoints":["k:9092"]}},"batchTimeout":"-1s"}`, []string{"batchTimeout"}},
		{"zero batchTimeout", `{"tenant":"a","stores":{"kafka":{"endpoints":["k:9092"]}},"batchTimeout":"0s"}`, []string{"batchTimeout"}},
		{"every problem at once", `{"stores":{"kafka":{}},"batchTimeout":"x"}`,
			[]string{"tenant: required", "stores.kafka.endpoints: required", "batchTimeout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseConfig([]byte(tt.json))
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("ParseConfig accepted %s: %+v", tt.json, c)
				}
				for _, part := range tt.wantErr {
					if !strings.Contains(err.Error(), part) {
						t.Errorf("error %q, want it to contain %q", err, part)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Stores) != 3 || c.Stores["kafka"].Endpoints[1] != "kafka-1:9092" {
				t.Errorf("stores %+v", c.Stores)
			}
			if o := c.Stores["objectstore"]; !o.Secure || o.AccessKey != "a" || o.SecretKey != "b" || o.Bucket != "bk" {
				t.Errorf("objectstore %+v", o)
			}
			spec := c.Spec.Spec()
			if spec.Kafka.Partitions != 6 || spec.Kafka.ReplicationFactor != 2 || spec.EffectiveMinInsync() != 2 || spec.ObjectStore.Parity != 2 {
				t.Errorf("spec %+v", spec)
			}
			if d, err := c.StreamTimeout(); err != nil || d != 5*time.Minute {
				t.Errorf("StreamTimeout = %s, %v; want 5m", d, err)
			}
		})
	}
}

func TestStreamTimeoutDefault(t *testing.T) {
	if d, err := (Config{}).StreamTimeout(); err != nil || d != 10*time.Minute {
		t.Errorf("StreamTimeout = %s, %v; want the 10m default", d, err)
	}
}

func TestSpecConfigRoundTrip(t *testing.T) {
	spec := topology.Default()
	spec.Kafka.Partitions = 9
	spec.ObjectStore.Parity = 1
	got := SpecConfigOf(spec).Spec()
	if got.Kafka != spec.Kafka || got.ObjectStore != spec.ObjectStore {
		t.Errorf("SpecConfigOf(spec).Spec() = %+v, want the stores' part of %+v", got, spec)
	}
}

func TestLoadConfigMissingFile(t *testing.T) {
	_, err := LoadConfig(filepath.Join(t.TempDir(), "none.json"))
	if err == nil || !strings.Contains(err.Error(), "read agent config") {
		t.Errorf("error %v, want one saying the file could not be read", err)
	}
}
