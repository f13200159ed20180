// Package topology holds the declarative Spec of the platform to stand up, its validation, and the
// Provider interface (with optional capabilities) that realises a Spec on some substrate.
package topology

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"

	"dpsim/internal/strictyaml"
)

// Spec says what to deploy. It never says what is acceptable: that is the job of the claims.
type Spec struct {
	Name          string        `yaml:"name"`
	Nodes         int           `yaml:"nodes"`
	Zones         []string      `yaml:"zones"`
	Tenants       []string      `yaml:"tenants"`
	Kafka         Kafka         `yaml:"kafka"`
	Elasticsearch Elasticsearch `yaml:"elasticsearch"`
	StackGraph    StackGraph    `yaml:"stackgraph"`
	ObjectStore   ObjectStore   `yaml:"objectStore"`
	Backup        Backup        `yaml:"backup"`
	Offboarding   Offboarding   `yaml:"offboarding"`
	TLS           TLS           `yaml:"tls"`
	Auth          Auth          `yaml:"auth"`
	Network       Network       `yaml:"network"`
	Encryption    Encryption    `yaml:"encryption"`
}

// Kafka is the per-tenant log store.
type Kafka struct {
	Brokers           int    `yaml:"brokers"`
	ReplicationFactor int    `yaml:"replicationFactor"`
	MinInsyncReplicas int    `yaml:"minInsyncReplicas"`
	Acks              string `yaml:"acks"` // "all", "1" or "0"
	Partitions        int    `yaml:"partitions"`
}

// Elasticsearch is the per-tenant document store.
type Elasticsearch struct {
	Nodes               int    `yaml:"nodes"`
	Shards              int    `yaml:"shards"`
	Replicas            int    `yaml:"replicas"`
	WaitForActiveShards string `yaml:"waitForActiveShards"` // "all" or a count
}

// StackGraph is the per-tenant graph store's storage: HDFS, one namenode and Datanodes datanodes.
type StackGraph struct {
	Datanodes   int `yaml:"datanodes"`
	Replication int `yaml:"replication"` // dfs.replication: copies of every block
	// MinReplication is dfs.namenode.replication.min: copies a block needs before a write completes.
	MinReplication int `yaml:"minReplication"`
}

// ObjectStore is the S3 stand-in: one erasure set of Drives with Parity drives.
type ObjectStore struct {
	Drives int `yaml:"drives"`
	Parity int `yaml:"parity"`
}

// Backup is the Velero schedule of every tenant.
type Backup struct {
	Schedule  string `yaml:"schedule"`  // cron expression
	Retention string `yaml:"retention"` // Go duration, e.g. 720h: the backups' TTL
	// ExcludeComponents are data components (DataComponents) whose volumes the schedule leaves out.
	ExcludeComponents []string `yaml:"excludeComponents"`
}

// Offboarding is how the platform removes a departing tenant.
type Offboarding struct {
	// PurgeBackupRepository deletes the tenant's backup repository and its data in the bucket;
	// false is what Velero does by itself (it never deletes repository data).
	PurgeBackupRepository bool `yaml:"purgeBackupRepository"`
}

// DataComponents are the in-cluster data-storing components every tenant gets, by name.
var DataComponents = []string{"kafka", "elasticsearch", "stackgraph"}

// TLS is the ingress controller's TLS configuration.
type TLS struct {
	MinVersion string `yaml:"minVersion"` // "1.0" ... "1.3"
	MaxVersion string `yaml:"maxVersion"` // "1.0" ... "1.3"
	// CipherSuites are the TLS 1.2 (and older) suites offered, by Go's names; TLS 1.3's are fixed.
	CipherSuites []string `yaml:"cipherSuites"`
	// Curves are the key exchanges offered: X25519, P-256, P-384, P-521, X25519MLKEM768.
	Curves       []string `yaml:"curves"`
	CertCurve    string   `yaml:"certCurve"`    // P-256, P-384, P-521
	CertLifetime string   `yaml:"certLifetime"` // Go duration, e.g. 2160h
}

// Auth is the identity provider's configuration.
type Auth struct {
	Provider       string `yaml:"provider"`       // keycloak
	HashAlgorithm  string `yaml:"hashAlgorithm"`  // pbkdf2-sha256, pbkdf2-sha512, pbkdf2
	HashIterations int    `yaml:"hashIterations"` // e.g. 20000
	// APITrust is which tokens a tenant's API accepts: own-realm (its realm's, for its audience,
	// as promised) or every-realm (every realm's, for any audience: a misconfiguration, to show
	// DP-AUTH-1 failing).
	APITrust string `yaml:"apiTrust"`
}

// Network is the tenant network configuration.
type Network struct {
	Isolation    string `yaml:"isolation"`    // namespace or none
	PolicyEngine string `yaml:"policyEngine"` // kube-router or calico
	// SecurityGroups is the firewall at the edge of the platform's network: "vpc" admits from
	// outside only the ingress's ports 80 and 443 and Expose; "none" admits everything.
	SecurityGroups string `yaml:"securityGroups"`
	// Expose are further TCP ports the security groups admit from outside (default none).
	Expose []int `yaml:"expose"`
}

// Encryption is how the nodes keep their volumes.
type Encryption struct {
	// AtRest is the volumes' filesystem: "fscrypt" (ext4 native encryption, AES-256-XTS) or
	// "none" (the same filesystem, plaintext).
	AtRest string `yaml:"atRest"`
}

// Default returns the platform as promised: 3 nodes in 3 zones, 2 tenants, every record on 2 of 3
// nodes, daily backups, TLS 1.2-1.3 with P-384 certificates living 90 days, PBKDF2 with 20000
// iterations, namespace isolation, the nodes reachable from outside only through the ingress, and
// volumes encrypted at rest.
func Default() Spec {
	return Spec{
		Name:          "dpsim",
		Nodes:         3,
		Zones:         []string{"zone-a", "zone-b", "zone-c"},
		Tenants:       []string{"tenant-a", "tenant-b"},
		Kafka:         Kafka{Brokers: 3, ReplicationFactor: 2, MinInsyncReplicas: 2, Acks: "all", Partitions: 6},
		Elasticsearch: Elasticsearch{Nodes: 3, Shards: 3, Replicas: 1, WaitForActiveShards: "all"},
		StackGraph:    StackGraph{Datanodes: 3, Replication: 2, MinReplication: 2},
		ObjectStore:   ObjectStore{Drives: 4, Parity: 2},
		Backup:        Backup{Schedule: "0 2 * * *", Retention: "720h", ExcludeComponents: []string{}},
		Offboarding:   Offboarding{PurgeBackupRepository: true},
		TLS: TLS{MinVersion: "1.2", MaxVersion: "1.3", CipherSuites: slices.Clone(AEADSuites), Curves: []string{"X25519", "P-256", "P-384"},
			CertCurve: "P-384", CertLifetime: "2160h"},
		Auth:       Auth{Provider: "keycloak", HashAlgorithm: "pbkdf2-sha256", HashIterations: 20000, APITrust: "own-realm"},
		Network:    Network{Isolation: "namespace", PolicyEngine: "kube-router", SecurityGroups: "vpc", Expose: []int{}},
		Encryption: Encryption{AtRest: "fscrypt"},
	}
}

// Marshal renders the spec as YAML.
func (s Spec) Marshal() []byte {
	return strictyaml.Marshal(s)
}

// Hash is a short, stable digest of the spec's canonical YAML.
func (s Spec) Hash() string {
	sum := sha256.Sum256(s.Marshal())
	return hex.EncodeToString(sum[:8])
}

// EffectiveMinInsync is the min.insync.replicas topics are created with: the spec's value, capped at
// the replication factor (a larger value would make every acks=all write fail).
func (s Spec) EffectiveMinInsync() int {
	return min(s.Kafka.MinInsyncReplicas, s.Kafka.ReplicationFactor)
}

// Notes are non-fatal remarks about the spec: settings dpsim adjusted while deploying it.
func (s Spec) Notes() []string {
	var notes []string
	if s.Kafka.MinInsyncReplicas > s.Kafka.ReplicationFactor {
		notes = append(notes, fmt.Sprintf("kafka.minInsyncReplicas %d exceeds kafka.replicationFactor %d: topics are created with min.insync.replicas=%d",
			s.Kafka.MinInsyncReplicas, s.Kafka.ReplicationFactor, s.EffectiveMinInsync()))
	}
	return notes
}

// ZoneOf returns the zone of the i-th node (nodes are spread round-robin over the zones).
func (s Spec) ZoneOf(i int) string {
	return s.Zones[i%len(s.Zones)]
}

// TenantHost is the host name tenant's API is reached by at the ingress.
func (s Spec) TenantHost(tenant string) string { return tenant + "." + s.Name + ".test" }

// AuthHost is the identity provider's host name at the ingress.
func (s Spec) AuthHost() string { return "auth." + s.Name + ".test" }

// IssuerURL is the OIDC issuer of tenant's realm, as tokens name it.
func (s Spec) IssuerURL(tenant string) string { return "https://" + s.AuthHost() + "/realms/" + tenant }

// APIAudience is the audience the tokens for tenant's API name: its URL.
func (s Spec) APIAudience(tenant string) string { return "https://" + s.TenantHost(tenant) }

// APITrusts are the issuers whose tokens tenant's API accepts and the audience they must name
// ("": any), as auth.apiTrust says.
func (s Spec) APITrusts(tenant string) (issuers []string, audience string) {
	if s.Auth.APITrust == "every-realm" {
		for _, t := range s.Tenants {
			issuers = append(issuers, s.IssuerURL(t))
		}
		return issuers, ""
	}
	return []string{s.IssuerURL(tenant)}, s.APIAudience(tenant)
}
