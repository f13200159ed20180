// Package api is the agent's API: its configuration, the wire types of its protocol and the Client
// through which the engine uses an agent's stores as topology.Stores. It links none of the stores'
// client libraries, so the providers that deploy and reach agents stay free of them.
package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"dpsim/topology"
)

// Config is the agent's configuration file (JSON). A store whose section is absent is not offered.
type Config struct {
	Tenant string `json:"tenant"`
	// Stores are the tenant's stores by name ("kafka", "elasticsearch", "objectstore").
	Stores map[string]StoreConfig `json:"stores"`
	Spec   SpecConfig             `json:"spec"`
	// BatchTimeout bounds one write stream (a Go duration, default 10m): writes still in flight then
	// are reported unknown.
	BatchTimeout string `json:"batchTimeout,omitempty"`
}

// StoreConfig is how the agent reaches one store: its endpoints (Kafka bootstrap host:port,
// Elasticsearch URLs, the S3 endpoint host:port) and, where the store needs them, credentials and a
// bucket.
type StoreConfig struct {
	Endpoints []string `json:"endpoints"`
	Secure    bool     `json:"secure,omitempty"`
	AccessKey string   `json:"accessKey,omitempty"`
	SecretKey string   `json:"secretKey,omitempty"`
	Bucket    string   `json:"bucket,omitempty"` // default: the tenant
}

// SpecConfig is the part of topology.Spec the stores need (topics, indices, erasure set).
type SpecConfig struct {
	Kafka         topology.Kafka         `json:"kafka"`
	Elasticsearch topology.Elasticsearch `json:"elasticsearch"`
	StackGraph    topology.StackGraph    `json:"stackgraph"`
	ObjectStore   topology.ObjectStore   `json:"objectStore"`
}

// SpecConfigOf takes the stores' part of a spec.
func SpecConfigOf(s topology.Spec) SpecConfig {
	return SpecConfig{Kafka: s.Kafka, Elasticsearch: s.Elasticsearch, StackGraph: s.StackGraph, ObjectStore: s.ObjectStore}
}

// Spec is a topology.Spec carrying the stores' part of the configuration.
func (c SpecConfig) Spec() topology.Spec {
	s := topology.Default()
	s.Kafka, s.Elasticsearch, s.StackGraph, s.ObjectStore = c.Kafka, c.Elasticsearch, c.StackGraph, c.ObjectStore
	return s
}

// Validate checks that the configuration can serve at least one store.
func (c Config) Validate() error {
	var errs []error
	if c.Tenant == "" {
		errs = append(errs, errors.New("tenant: required"))
	}
	if len(c.Stores) == 0 {
		errs = append(errs, errors.New("stores: give at least one store"))
	}
	for name, s := range c.Stores {
		if len(s.Endpoints) == 0 {
			errs = append(errs, fmt.Errorf("stores.%s.endpoints: required", name))
		}
	}
	if _, err := c.StreamTimeout(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// StreamTimeout is the bound on one write stream.
func (c Config) StreamTimeout() (time.Duration, error) {
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
