// Package agent is dpsim's in-cluster agent: a small HTTP (JSON) server that runs next to one
// tenant's data stores, writes workload batches into them concurrently and close to the data, reads
// them back and reports where every record lives; and the Client through which the engine uses it
// as topology.Stores. Batch outcomes are streamed back as they are known, so a broken connection to
// the agent loses only the outcomes not yet sent (the engine records those as unknown).
package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"dpsim/stores/s3"
	"dpsim/topology"
)

// Config is the agent's configuration file (JSON). Keys are matched case-insensitively; a store
// whose section is absent is not offered.
type Config struct {
	Tenant        string         `json:"tenant"`
	Kafka         *KafkaConfig   `json:"kafka,omitempty"`
	Elasticsearch *ElasticConfig `json:"elasticsearch,omitempty"`
	S3            *S3Config      `json:"s3,omitempty"`
	Spec          SpecConfig     `json:"spec"`
	// BatchTimeout bounds one write batch (a Go duration, default 10m): writes still in flight then
	// are reported unknown.
	BatchTimeout string `json:"batchTimeout,omitempty"`
}

// KafkaConfig is how the agent reaches the tenant's Kafka.
type KafkaConfig struct {
	Bootstrap []string `json:"bootstrap"` // host:port, ...
}

// ElasticConfig is how the agent reaches the tenant's Elasticsearch.
type ElasticConfig struct {
	URLs []string `json:"urls"` // http://host:9200, ...
}

// S3Config is how the agent reaches the object store and the tenant's bucket.
type S3Config struct {
	Endpoint  string      `json:"endpoint"` // host:port
	Secure    bool        `json:"secure,omitempty"`
	AccessKey string      `json:"accessKey"`
	SecretKey string      `json:"secretKey"`
	Bucket    string      `json:"bucket,omitempty"`  // default: the tenant
	Servers   []s3.Server `json:"servers,omitempty"` // the erasure set's servers; default: the endpoint
}

// SpecConfig is the part of topology.Spec the stores need (topics, indices, erasure set).
type SpecConfig struct {
	Kafka         topology.Kafka         `json:"kafka"`
	Elasticsearch topology.Elasticsearch `json:"elasticsearch"`
	ObjectStore   topology.ObjectStore   `json:"objectStore"`
}

// SpecConfigOf takes the stores' part of a spec.
func SpecConfigOf(s topology.Spec) SpecConfig {
	return SpecConfig{Kafka: s.Kafka, Elasticsearch: s.Elasticsearch, ObjectStore: s.ObjectStore}
}

// Spec is a topology.Spec carrying the stores' part of the configuration.
func (c SpecConfig) Spec() topology.Spec {
	s := topology.Default()
	s.Kafka, s.Elasticsearch, s.ObjectStore = c.Kafka, c.Elasticsearch, c.ObjectStore
	return s
}

// Validate checks that the configuration can serve at least one store.
func (c Config) Validate() error {
	var errs []error
	if c.Tenant == "" {
		errs = append(errs, errors.New("tenant: required"))
	}
	if c.Kafka == nil && c.Elasticsearch == nil && c.S3 == nil {
		errs = append(errs, errors.New("no store configured: give kafka, elasticsearch or s3"))
	}
	if c.Kafka != nil && len(c.Kafka.Bootstrap) == 0 {
		errs = append(errs, errors.New("kafka.bootstrap: required"))
	}
	if c.Elasticsearch != nil && len(c.Elasticsearch.URLs) == 0 {
		errs = append(errs, errors.New("elasticsearch.urls: required"))
	}
	if c.S3 != nil && c.S3.Endpoint == "" {
		errs = append(errs, errors.New("s3.endpoint: required"))
	}
	if _, err := c.batchTimeout(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (c Config) batchTimeout() (time.Duration, error) {
	if c.BatchTimeout == "" {
		return 10 * time.Minute, nil
	}
	d, err := time.ParseDuration(c.BatchTimeout)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("batchTimeout %q: want a positive Go duration", c.BatchTimeout)
	}
	return d, nil
}

// ParseConfig decodes and validates a configuration; unknown keys are errors.
func ParseConfig(data []byte) (Config, error) {
	var c Config
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("decode agent config: %w", err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("agent config: %w", err)
	}
	return c, nil
}

// LoadConfig reads and validates the configuration file at path.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read agent config: %w", err)
	}
	return ParseConfig(data)
}
