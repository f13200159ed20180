package topology

import (
	"fmt"
	"slices"
	"strings"
)

// The bounds of a local platform. dpsim stands the whole platform up on one machine (the reference
// is 2 cores and 24 GiB: a tenant of the default spec asks for about 4.5 GiB), so every count of the
// spec is bounded: generously, but finitely, so that a typo fails at validation, not after an hour.
const (
	MaxNodes          = 10        // worker nodes, and zones
	MaxTenants        = 4         // each runs its own Kafka, Elasticsearch and HDFS
	MaxStoreMembers   = 5         // kafka.brokers, kafka.minInsyncReplicas, elasticsearch.nodes, stackgraph.datanodes
	MaxPartitions     = 64        // kafka.partitions
	MaxShards         = 24        // elasticsearch.shards
	MaxDrives         = 16        // objectStore.drives: MinIO's largest erasure set
	MaxHashIterations = 2_000_000 // auth.hashIterations: every test user's hash is recomputed
	maxNameLength     = 50        // name: kind's bound on a cluster's name
)

// ReservedTenants are names no tenant may take: Kubernetes' own namespaces, the namespaces dpsim
// deploys its own parts into, the identity provider's host name (auth.<name>.test) and Keycloak's
// administration realm (a tenant's name is its realm's and its host's). Names beginning with
// "kube-" are Kubernetes' too.
var ReservedTenants = []string{"default", "kube-system", "kube-public", "kube-node-lease", "local-path-storage",
	"velero", "ingress", "identity", "dpsim-outside", "auth", "master"}

// TenantNamespace is the namespace of a tenant: "tenant-" and its name without that prefix.
func TenantNamespace(tenant string) string { return "tenant-" + strings.TrimPrefix(tenant, "tenant-") }

// countBound is one count of the spec with its bounds: a number, or a list's length.
type countBound struct {
	path     string
	got      int
	min, max int
	list     bool
}

// counts are the spec's counts with their bounds; the relations between them (a replication
// factor within the brokers, ...) are checked apart.
func (s Spec) counts() []countBound {
	return []countBound{
		{"nodes", s.Nodes, 1, MaxNodes, false},
		{"zones", len(s.Zones), 1, MaxNodes, true},
		{"tenants", len(s.Tenants), 1, MaxTenants, true},
		{"kafka.brokers", s.Kafka.Brokers, 1, MaxStoreMembers, false},
		{"kafka.minInsyncReplicas", s.Kafka.MinInsyncReplicas, 1, MaxStoreMembers, false},
		{"kafka.partitions", s.Kafka.Partitions, 1, MaxPartitions, false},
		{"elasticsearch.nodes", s.Elasticsearch.Nodes, 1, MaxStoreMembers, false},
		{"elasticsearch.shards", s.Elasticsearch.Shards, 1, MaxShards, false},
		{"stackgraph.datanodes", s.StackGraph.Datanodes, 1, MaxStoreMembers, false},
		{"objectStore.drives", s.ObjectStore.Drives, 1, MaxDrives, false},
		{"auth.hashIterations", s.Auth.HashIterations, 1, MaxHashIterations, false},
	}
}

// problem says what is wrong with the count, or "".
func (b countBound) problem() string {
	verb := "be"
	if b.list {
		verb = "name"
	}
	switch {
	case b.got < b.min:
		return fmt.Sprintf("must %s at least %d, got %d", verb, b.min, b.got)
	case b.got > b.max:
		return fmt.Sprintf("must %s at most %d (a local platform's bound), got %d", verb, b.max, b.got)
	}
	return ""
}

// checkTenants checks the tenants' names: DNS labels, none reserved, each with a namespace of its
// own that Kubernetes accepts.
func checkTenants(tenants []string, bad func(string, string, ...any)) {
	checkNames(tenants, "tenants", bad)
	namespaces := map[string]int{}
	for i, t := range tenants {
		p := fmt.Sprintf("tenants[%d]", i)
		if slices.Contains(ReservedTenants, t) || strings.HasPrefix(t, "kube-") {
			bad(p, "%q is reserved (Kubernetes' or dpsim's own: %s, kube-*)", t, strings.Join(ReservedTenants, ", "))
		}
		ns := TenantNamespace(t)
		if len(ns) > 63 {
			bad(p, "%q gives namespace %q, longer than 63 characters", t, ns)
		}
		if j, ok := namespaces[ns]; ok && tenants[j] != t {
			bad(p, "%q gives namespace %q, as tenants[%d] %q does", t, ns, j, tenants[j])
		}
		namespaces[ns] = i
	}
}
