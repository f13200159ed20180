package fakes

import (
	"fmt"
	"hash/fnv"
	"slices"
	"strings"

	"dpsim/topology"
)

// This file holds the bookkeeping the log and the document store share: groups of replicas (Kafka
// partitions, Elasticsearch shards) with one leader (primary), an in-sync set, election and re-sync.

// replica is one copy of a group, held on a member's drive.
type replica struct {
	m      *member
	ids    []string // the copy's records, in order
	has    map[string]bool
	inSync bool
}

// add appends id; a keyed copy (documents) holds an id once, so re-writing it overwrites.
func (r *replica) add(id string, keyed bool) {
	if keyed && r.has[id] {
		return
	}
	if r.has == nil {
		r.has = map[string]bool{}
	}
	r.ids = append(r.ids, id)
	r.has[id] = true
}

// reset replaces the copy's records with ids.
func (r *replica) reset(ids []string) {
	r.ids, r.has = nil, nil
	for _, id := range ids {
		r.add(id, false)
	}
}

// group is one partition or shard: its replicas in assignment order and the one that leads.
type group struct {
	index    int
	replicas []*replica
	leader   *replica // nil: offline
}

// newGroup assigns copies replicas to members[start], members[start+1], ... (wrapping), all in
// sync, the first leading.
func newGroup(index int, members []*member, start, copies int) *group {
	g := &group{index: index}
	for j := range copies {
		g.replicas = append(g.replicas, &replica{m: members[(start+j)%len(members)], inSync: true})
	}
	g.leader = g.replicas[0]
	return g
}

// active lists the in-sync replicas the leader can reach, in assignment order.
func (g *group) active() []*replica {
	var out []*replica
	for _, r := range g.replicas {
		if r.inSync && r.m.available() {
			out = append(out, r)
		}
	}
	return out
}

// shrink removes r from the in-sync set, except the last member: like Kafka's controller it keeps
// the last in-sync replica there, so that replica leads again when it returns.
func (g *group) shrink(r *replica) {
	if !r.inSync {
		return
	}
	for _, o := range g.replicas {
		if o != r && o.inSync {
			r.inSync = false
			return
		}
	}
}

// elect makes the first available in-sync replica leader (clean elections only); none: offline.
func (g *group) elect() {
	g.leader = nil
	if a := g.active(); len(a) > 0 {
		g.leader = a[0]
	}
}

// failover takes leadership from the current leader (which the controller found unreachable).
func (g *group) failover() {
	if g.leader != nil {
		g.shrink(g.leader)
	}
	g.elect()
}

// react drops stopped replicas and unreachable followers from the in-sync set and re-elects when
// the leader stopped. An unreachable leader keeps leading until the controller notices (a write
// routed to it, or Settle).
func (g *group) react() {
	for _, r := range g.replicas {
		if !r.m.running() || (r.m.node.isolated && r != g.leader) {
			g.shrink(r)
		}
	}
	if g.leader == nil || !g.leader.m.running() {
		g.elect()
	}
}

// settle fails over from an unreachable leader, then brings every reachable replica to the
// leader's log (truncating what the leader lacks, copying what it misses, except the ids skip
// names) and back into the in-sync set.
func (g *group) settle(skip map[string]bool) {
	if g.leader != nil && !g.leader.m.available() {
		g.failover()
	}
	if g.leader == nil {
		g.elect()
	}
	if g.leader == nil {
		return
	}
	var ids []string
	for _, id := range g.leader.ids {
		if !skip[id] {
			ids = append(ids, id)
		}
	}
	for _, r := range g.replicas {
		if r != g.leader && r.m.available() {
			r.reset(ids)
			r.inSync = true
		}
	}
}

// rules is what differs between the log and the document store.
type rules struct {
	need   int  // in-sync copies, the leader included, a write needs
	sync   bool // whether followers get the write before the ack (false: acks=1/0, they lag)
	keyed  bool // a re-written id overwrites its record (documents) instead of appending (logs)
	group  string
	leader string
	tooFew string // the store's error for too few in-sync copies
}

// replicatedStore is a store of leader-based replica groups: one tenant's Kafka topic or
// Elasticsearch index.
type replicatedStore struct {
	site         *site
	component    string
	family       topology.Kind
	rules        rules
	mis          *misbehaviour
	mems         []*member
	groups       []*group
	unreplicated map[string]bool // ids written under AckWithoutReplicating: never copied
	listens      []int           // every member's ports
}

func (s *replicatedStore) name() string              { return s.component }
func (s *replicatedStore) kind() topology.Kind       { return s.family }
func (s *replicatedStore) misbehaves() *misbehaviour { return s.mis }

// put routes key to its group by a stable hash and writes it there by the store's rules.
func (s *replicatedStore) put(key string) (topology.Ack, bool, error) {
	g := s.groups[hashOf(key)%uint32(len(s.groups))]
	ack, applied, err := s.write(g, key)
	ack.Part = fmt.Sprint(g.index)
	return ack, applied, err
}

func (s *replicatedStore) write(g *group, id string) (topology.Ack, bool, error) {
	l := g.leader
	switch {
	case s.mis.refuses():
		return topology.Ack{}, false, fmt.Errorf("%s: service unavailable", s.where(g))
	case l == nil:
		return topology.Ack{}, false, fmt.Errorf("%s: no in-sync replica left to lead", s.where(g))
	case !l.m.running():
		return topology.Ack{}, false, fmt.Errorf("%s: %s %s on %s: connection refused", s.where(g), s.rules.leader, l.m.name, l.m.node.name)
	case l.m.node.isolated:
		l.add(id, s.rules.keyed)
		g.failover()
		return topology.Ack{}, true, fmt.Errorf("%s: %s %s on %s: request timed out: %w", s.where(g), s.rules.leader, l.m.name, l.m.node.name, topology.ErrIndefinite)
	}
	active := g.active()
	if len(active) < s.rules.need && !s.mis.ignoreQuorum {
		return topology.Ack{}, false, fmt.Errorf("%s: %s: %d in-sync copies, %d required", s.where(g), s.rules.tooFew, len(active), s.rules.need)
	}
	ack := topology.Ack{Node: l.m.node.name, Copies: len(active)}
	targets := active
	if !s.rules.sync {
		ack.Copies, targets = 1, []*replica{l}
	}
	if s.mis.drop() {
		return ack, false, nil
	}
	if s.mis.noReplicate {
		targets = []*replica{l}
		s.unreplicated[id] = true
	}
	for _, r := range targets {
		r.add(id, s.rules.keyed)
	}
	return ack, true, nil
}

func (s *replicatedStore) where(g *group) string {
	return fmt.Sprintf("%s %s %d", s.component, s.rules.group, g.index)
}

// readable returns the leader's records under prefix of every group that has a reachable leader;
// the others are unreadable.
func (s *replicatedStore) readable(prefix string) (keys, unreadable []string) {
	for _, g := range s.groups {
		if g.leader == nil || !g.leader.m.available() {
			unreadable = append(unreadable, fmt.Sprintf("%s %d: no reachable %s", s.rules.group, g.index, s.rules.leader))
			continue
		}
		for _, id := range g.leader.ids {
			if strings.HasPrefix(id, prefix) {
				keys = append(keys, id)
			}
		}
	}
	return keys, unreadable
}

// placements tells, per distinct record under prefix, the distinct nodes holding a copy.
func (s *replicatedStore) placements(prefix string) []topology.Placement {
	h := holdings{}
	for _, g := range s.groups {
		for _, r := range g.replicas {
			for _, id := range r.ids {
				if strings.HasPrefix(id, prefix) {
					h.add(id, r.m.node.name, 1)
				}
			}
		}
	}
	return h.placements(1)
}

// remove deletes every record under prefix from every copy.
func (s *replicatedStore) remove(prefix string) {
	for _, g := range s.groups {
		for _, r := range g.replicas {
			r.reset(slices.DeleteFunc(slices.Clone(r.ids), func(id string) bool { return strings.HasPrefix(id, prefix) }))
		}
	}
}

func (s *replicatedStore) members() []*member { return s.mems }

func (s *replicatedStore) ports(*member) []int { return s.listens }

func (s *replicatedStore) react() {
	s.mis.noteFault()
	for _, g := range s.groups {
		g.react()
	}
}

func (s *replicatedStore) wipe(m *member) {
	for _, g := range s.groups {
		for _, r := range g.replicas {
			if r.m == m {
				r.reset(nil)
			}
		}
	}
}

func (s *replicatedStore) settle() {
	for _, g := range s.groups {
		g.settle(s.unreplicated)
	}
}

// hashOf is the stable hash that routes a record to its partition or shard.
func hashOf(id string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(id))
	return h.Sum32()
}
