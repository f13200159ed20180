package fakes

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"

	"dpsim/topology"
)

// errNotUp is returned by every operation on a platform that is not (or no longer) up.
var errNotUp = errors.New("fake platform is not up")

// node is one machine of the fake platform.
type node struct {
	name     string
	zone     string
	killed   bool
	isolated bool
}

func (n *node) ready() bool { return !n.killed && !n.isolated }

// member is one broker, Elasticsearch node or MinIO drive, with its own drive (volume).
type member struct {
	name      string // kafka-0, es-1, minio-2: also its drive's name
	component string
	tenant    string // "" for the shared object store
	node      *node
	lost      bool // its drive was dropped and not yet restored
	offline   bool // its drive is offline, with its data, until brought back
	// metadataOnly marks a member holding no records (HDFS's namenode).
	metadataOnly bool
}

// running reports whether the member's process is up: its node runs and its drive is there.
func (m *member) running() bool { return !m.node.killed && !m.lost && !m.offline }

// available reports whether the rest of the platform can reach the running member.
func (m *member) available() bool { return m.running() && !m.node.isolated }

func (m *member) drive() topology.Drive {
	return topology.Drive{Node: m.node.name, Name: m.name, Component: m.component, Tenant: m.tenant, MetadataOnly: m.metadataOnly}
}

func (m *member) info() topology.Member {
	return topology.Member{Name: m.name, Node: m.node.name, Zone: m.node.zone, MetadataOnly: m.metadataOnly}
}

// placeMembers makes count members of component named prefix-<i>, member i on hosts[i % len(hosts)].
func placeMembers(prefix, component, tenant string, count int, hosts []*node) []*member {
	ms := make([]*member, count)
	for i := range ms {
		ms[i] = &member{
			name:      fmt.Sprintf("%s-%d", prefix, i),
			component: component,
			tenant:    tenant,
			node:      hosts[i%len(hosts)],
		}
	}
	return ms
}

// simStore is what the provider drives in each store besides the workload's topology.Store.
type simStore interface {
	// members lists the store's members in a stable order.
	members() []*member
	// react applies a change of node or drive state at once: copies that went away leave the
	// in-sync set and leaders are re-elected.
	react()
	// wipe empties m's drive.
	wipe(m *member)
	// settle performs every pending re-sync and heal.
	settle()
}

// simData is the record side of a store: keys are the ids the engine writes (prefixed with the
// tenant in the shared object store). Every method runs under the platform lock.
type simData interface {
	name() string
	kind() topology.Kind
	misbehaves() *misbehaviour
	// put writes key by the store's rules; applied reports whether any copy took it (a dropped
	// write and a refused one did not).
	put(key string) (ack topology.Ack, applied bool, err error)
	// readable lists the keys under prefix a read can reach now, once per copy read, and the parts
	// it cannot read with the reason.
	readable(prefix string) (keys, unreadable []string)
	// placements tells where every key under prefix lives.
	placements(prefix string) []topology.Placement
	// remove deletes every key under prefix.
	remove(prefix string)
}

// site is what one Up stood up. Stores keep a pointer to it; Down closes it, so a store handed out
// before Down refuses work afterwards.
type site struct {
	mu      *sync.Mutex // the provider's: one lock for the whole platform
	clock   *SimClock
	lat     Latencies
	closed  bool
	spec    topology.Spec
	nodes   []*node
	tenants []tenantStores // in spec order
	object  *objectStore
	ingress *ingress
	backups backups
	// hashes are the hashes of the values each store holds, by key.
	hashes map[simData]map[string]string
}

// dataset opens one dataset of store data, its keys prefixed with keyPrefix.
func (s *site) dataset(data simData, keyPrefix, name string) *dataset {
	if s.hashes[data] == nil {
		s.hashes[data] = map[string]string{}
	}
	return &dataset{site: s, data: data, keyPrefix: keyPrefix, prefix: name + "/", hashes: s.hashes[data]}
}

// tenantStores are one tenant's own stores, in the order reports list them.
type tenantStores struct {
	name string
	own  []tenantStore
}

// tenantStore is one of a tenant's own data components: what faults, backups, isolation and the
// workload drive in it.
type tenantStore interface {
	simStore
	simData
	// image copies what member m's volume holds (per part), for a backup.
	image(m *member) map[int][]string
	// restoreImage puts a backup's image of m's volume back.
	restoreImage(m *member, image map[int][]string)
	// ports are the ports member m listens on.
	ports(m *member) []int
}

// do runs f under the platform lock once ctx and the platform allow it.
func (s *site) do(ctx context.Context, f func() error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed {
		return errNotUp
	}
	return f()
}

// charge advances the clock by what a write with outcome err costs.
func (s *site) charge(err error) {
	switch {
	case err == nil:
		s.clock.Advance(s.lat.Ack)
	case errors.Is(err, topology.ErrIndefinite):
		s.clock.Advance(s.lat.Indefinite)
	default:
		s.clock.Advance(s.lat.Failure)
	}
}

// stores lists every store in a stable order: each tenant's log and document store, then the
// object store.
func (s *site) stores() []simStore {
	var all []simStore
	for _, t := range s.tenants {
		for _, st := range t.own {
			all = append(all, st)
		}
	}
	return append(all, s.object)
}

func (s *site) node(name string) (*node, error) {
	for _, n := range s.nodes {
		if n.name == name {
			return n, nil
		}
	}
	return nil, fmt.Errorf("unknown node %q", name)
}

// member finds the store and member owning drive d (by tenant and name; by node too if d names one).
func (s *site) member(d topology.Drive) (simStore, *member, error) {
	for _, st := range s.stores() {
		for _, m := range st.members() {
			if m.tenant == d.Tenant && m.name == d.Name && (d.Node == "" || d.Node == m.node.name) {
				return st, m, nil
			}
		}
	}
	return nil, nil, fmt.Errorf("unknown drive %q (tenant %q, node %q)", d.Name, d.Tenant, d.Node)
}

// react lets every store respond to a fault, then charges the fault's time.
func (s *site) react() {
	for _, st := range s.stores() {
		st.react()
	}
	s.clock.Advance(s.lat.Fault)
}

// holdings records, per record id, how many copies or shards each node holds.
type holdings map[string]map[string]int

func (h holdings) add(id, node string, units int) {
	if units <= 0 {
		return
	}
	if h[id] == nil {
		h[id] = map[string]int{}
	}
	h[id][node] += units
}

// placements lists every record sorted by id with its distinct nodes (sorted) and how many node
// losses it tolerates when a read needs `need` units.
func (h holdings) placements(need int) []topology.Placement {
	ids := make([]string, 0, len(h))
	for id := range h {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := make([]topology.Placement, 0, len(ids))
	for _, id := range ids {
		nodes := make([]string, 0, len(h[id]))
		units := make([]int, 0, len(h[id]))
		for n := range h[id] {
			nodes = append(nodes, n)
		}
		sort.Strings(nodes)
		for _, n := range nodes {
			units = append(units, h[id][n])
		}
		out = append(out, topology.Placement{ID: id, Nodes: nodes, Tolerates: tolerates(units, need)})
	}
	return out
}

// tolerates is the largest k such that losing ANY k of the nodes (holding units[i] each) leaves at
// least need units; -1 when even no loss leaves enough. The worst k losses are the k largest
// holdings, so removing those is exact. With need 1 and one copy per node it is copies-1.
func tolerates(units []int, need int) int {
	sorted := slices.Clone(units)
	slices.Sort(sorted)
	slices.Reverse(sorted)
	left := 0
	for _, u := range sorted {
		left += u
	}
	for k, u := range sorted {
		if left < need {
			return k - 1
		}
		left -= u
	}
	if left < need {
		return len(sorted) - 1
	}
	return len(sorted)
}
