package topology

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"dpsim/internal/strictyaml"
)

func TestDefaultRoundTrips(t *testing.T) {
	def := Default()
	if err := def.Validate(); err != nil {
		t.Fatalf("default spec invalid: %v", err)
	}
	got, err := Parse(def.Marshal(), "default")
	if err != nil {
		t.Fatalf("parse default: %v", err)
	}
	if got.Hash() != def.Hash() {
		t.Fatalf("default spec does not round-trip:\n%s\n---\n%s", def.Marshal(), got.Marshal())
	}
}

func TestPartialSpecKeepsDefaults(t *testing.T) {
	got, err := Parse([]byte("kafka:\n  replicationFactor: 3\ntenants: [a]\n"), "partial")
	if err != nil {
		t.Fatal(err)
	}
	if got.Kafka.ReplicationFactor != 3 || got.Kafka.Brokers != 3 || len(got.Tenants) != 1 || got.TLS.CertCurve != "P-384" {
		t.Fatalf("unexpected spec %+v", got)
	}
}

func TestParseRejectsWithKeyPath(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		path string
	}{
		{"wrong type", "kafka:\n  brokers: three\n", "kafka.brokers"},
		{"unknown key", "kafka:\n  replicationFactr: 2\n", "kafka.replicationFactr"},
		{"unknown top-level key", "nodez: 3\n", "nodez"},
		{"mapping expected", "kafka: 3\n", "kafka"},
		{"list expected", "zones: zone-a\n", "zones"},
		{"list item type", "tenants: [a, [b]]\n", "tenants[1]"},
		{"replication above brokers", "kafka:\n  replicationFactor: 4\n", "kafka.replicationFactor"},
		{"bad acks", "kafka:\n  acks: some\n", "kafka.acks"},
		{"replicas above nodes", "elasticsearch:\n  replicas: 3\n", "elasticsearch.replicas"},
		{"unknown tls version", "tls:\n  minVersion: \"0.9\"\n", "tls.minVersion"},
		{"min above max", "tls:\n  minVersion: \"1.3\"\n  maxVersion: \"1.2\"\n", "tls.minVersion"},
		{"unknown curve", "tls:\n  certCurve: P-192\n", "tls.certCurve"},
		{"bad lifetime", "tls:\n  certLifetime: 90d\n", "tls.certLifetime"},
		{"bad isolation", "network:\n  isolation: vlan\n", "network.isolation"},
		{"bad api trust", "auth:\n  apiTrust: some-realms\n", "auth.apiTrust"},
		{"bad security groups", "network:\n  securityGroups: open\n", "network.securityGroups"},
		{"exposed port out of range", "network:\n  expose: [22, 70000]\n", "network.expose[1]"},
		{"bad encryption at rest", "encryption:\n  atRest: luks\n", "encryption.atRest"},
		{"duplicate tenant", "tenants: [a, a]\n", "tenants[1]"},
		{"tenant not a DNS label", "tenants: [Tenant_A]\n", "tenants[0]"},
		{"hdfs replication above datanodes", "stackgraph:\n  replication: 4\n", "stackgraph.replication"},
		{"hdfs min above replication", "stackgraph:\n  minReplication: 3\n", "stackgraph.minReplication"},
		{"parity above half", "objectStore:\n  drives: 4\n  parity: 3\n", "objectStore.parity"},
		{"unknown excluded component", "backup:\n  excludeComponents: [nosuch]\n", "backup.excludeComponents[0]"},
		{"purge not a boolean", "offboarding:\n  purgeBackupRepository: maybe\n", "offboarding.purgeBackupRepository"},
		{"not YAML", "kafka: [\n", "(document)"},
		{"a second document", "name: a\n---\nname: b\n", "(document)"},
		{"an integer too large for Go", "nodes: 99999999999999999999\n", "nodes"},
		{"name longer than kind allows", "name: " + strings.Repeat("n", 51) + "\n", "name"},
		{"nodes beyond a local platform", "nodes: 100000\n", "nodes"},
		{"more zones than nodes can be", "zones: [a, b, c, d, e, f, g, h, i, j, k]\n", "zones"},
		{"too many tenants", "tenants: [a, b, c, d, e]\n", "tenants"},
		{"a million brokers", "kafka:\n  brokers: 1000000\n", "kafka.brokers"},
		{"min in-sync beyond any broker count", "kafka:\n  minInsyncReplicas: 100\n", "kafka.minInsyncReplicas"},
		{"too many partitions", "kafka:\n  partitions: 100000\n", "kafka.partitions"},
		{"too many elasticsearch nodes", "elasticsearch:\n  nodes: 100\n", "elasticsearch.nodes"},
		{"too many shards", "elasticsearch:\n  shards: 5000\n", "elasticsearch.shards"},
		{"too many datanodes", "stackgraph:\n  datanodes: 100\n", "stackgraph.datanodes"},
		{"too many drives", "objectStore:\n  drives: 64\n", "objectStore.drives"},
		{"too many hash iterations", "auth:\n  hashIterations: 1000000000\n", "auth.hashIterations"},
		{"unknown hash algorithm", "auth:\n  hashAlgorithm: md5\n", "auth.hashAlgorithm"},
		{"tenant kube-system", "tenants: [kube-system]\n", "tenants[0]"},
		{"tenant kube-anything", "tenants: [a, kube-foo]\n", "tenants[1]"},
		{"tenant velero", "tenants: [velero]\n", "tenants[0]"},
		{"tenant dpsim-outside", "tenants: [dpsim-outside]\n", "tenants[0]"},
		{"tenant default", "tenants: [default]\n", "tenants[0]"},
		{"tenant auth (the identity provider's host)", "tenants: [auth]\n", "tenants[0]"},
		{"tenant master (Keycloak's realm)", "tenants: [master]\n", "tenants[0]"},
		{"two tenants, one namespace", "tenants: [a, tenant-a]\n", "tenants[1]"},
		{"tenant namespace too long", "tenants: [" + strings.Repeat("t", 60) + "]\n", "tenants[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml), "s.yaml")
			var ve *strictyaml.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("want a validation error, got %v", err)
			}
			if !strings.Contains(err.Error(), tt.path) || !strings.Contains(err.Error(), "s.yaml") {
				t.Fatalf("error does not name %q and the file: %v", tt.path, err)
			}
		})
	}
}

// The largest platform the bounds allow is a valid spec: the bounds are the limits, not below them.
func TestLargestSpecIsValid(t *testing.T) {
	s := Default()
	s.Nodes, s.Tenants = MaxNodes, nil
	for i := range MaxTenants {
		s.Tenants = append(s.Tenants, fmt.Sprintf("t%d", i))
	}
	s.Kafka.Brokers, s.Kafka.MinInsyncReplicas, s.Kafka.Partitions = MaxStoreMembers, MaxStoreMembers, MaxPartitions
	s.Elasticsearch.Nodes, s.Elasticsearch.Shards = MaxStoreMembers, MaxShards
	s.StackGraph.Datanodes, s.ObjectStore.Drives, s.Auth.HashIterations = MaxStoreMembers, MaxDrives, MaxHashIterations
	if err := s.Validate(); err != nil {
		t.Fatalf("the largest platform the bounds allow is refused: %v", err)
	}
}

func TestWeakSpecsAreValid(t *testing.T) {
	// A weak platform is for the controls to fail, not for validation to refuse.
	for _, y := range []string{
		"kafka:\n  replicationFactor: 1\n",
		"tls:\n  minVersion: \"1.0\"\n",
		"auth:\n  hashIterations: 1000\n",
		"network:\n  isolation: none\n",
		"elasticsearch:\n  replicas: 0\n",
	} {
		if _, err := Parse([]byte(y), "weak"); err != nil {
			t.Errorf("%q rejected: %v", y, err)
		}
	}
}

func TestMinInsyncCappedAtReplication(t *testing.T) {
	s := Default()
	s.Kafka.ReplicationFactor = 1
	if s.EffectiveMinInsync() != 1 || len(s.Notes()) != 1 {
		t.Fatalf("min in-sync %d, notes %v", s.EffectiveMinInsync(), s.Notes())
	}
}

func FuzzParse(f *testing.F) {
	f.Add(Default().Marshal())
	f.Add([]byte("kafka:\n  brokers: three\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data, "fuzz")
		if err == nil {
			if verr := s.Validate(); verr != nil {
				t.Fatalf("Parse accepted an invalid spec: %v", verr)
			}
		}
	})
}
