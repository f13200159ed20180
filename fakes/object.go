package fakes

import (
	"fmt"
	"sort"
	"strings"

	"dpsim/topology"
)

// objectStore is the S3 stand-in shared by every tenant: one MinIO erasure set of drives
// ("minio-<d>" on hosts[d % len(hosts)]) with parity shards. An object is split into data+parity
// shards, one per drive; a read needs data shards; a write needs the write quorum online (data
// drives, one more when data == parity, as in MinIO). Keys are "<tenant>/<id>".
type objectStore struct {
	site         *site
	drives       []*objectDrive
	data         int // shards a read needs
	quorum       int // drives a write needs online
	mis          *misbehaviour
	unreplicated map[string]bool // keys written under AckWithoutReplicating: never healed
}

// objectDrive is one drive and the shards it holds (per key; normally 1).
type objectDrive struct {
	m      *member
	shards map[string]int
}

func newObjectStore(st *site, spec topology.Spec, hosts []*node, mis *misbehaviour) *objectStore {
	o := spec.ObjectStore
	s := &objectStore{
		site:         st,
		data:         o.Drives - o.Parity,
		mis:          mis,
		unreplicated: map[string]bool{},
	}
	s.quorum = s.data
	if s.data == o.Parity {
		s.quorum++
	}
	for _, m := range placeMembers("minio", "objectstore", "", o.Drives, hosts) {
		s.drives = append(s.drives, &objectDrive{m: m, shards: map[string]int{}})
	}
	return s
}

// online lists the drives a write or read can reach, in drive order.
func (s *objectStore) online() []*objectDrive {
	var out []*objectDrive
	for _, d := range s.drives {
		if d.m.available() {
			out = append(out, d)
		}
	}
	return out
}

// readable1 counts key's shards on reachable drives.
func (s *objectStore) readable1(key string) int {
	n := 0
	for _, d := range s.online() {
		n += d.shards[key]
	}
	return n
}

func (s *objectStore) name() string              { return "objectstore" }
func (s *objectStore) kind() topology.Kind       { return topology.KindObject }
func (s *objectStore) misbehaves() *misbehaviour { return s.mis }

// put writes key's shards to every online drive, if a write quorum is online.
func (s *objectStore) put(key string) (topology.Ack, bool, error) {
	if s.mis.refuses() {
		return topology.Ack{}, false, fmt.Errorf("objectstore put %s: service unavailable", key)
	}
	online := s.online()
	if len(online) == 0 || (len(online) < s.quorum && !s.mis.ignoreQuorum) {
		return topology.Ack{}, false, fmt.Errorf("objectstore put %s: insufficient online drives: %d of %d, write quorum %d", key, len(online), len(s.drives), s.quorum)
	}
	for _, d := range s.drives { // an overwrite replaces every old shard
		delete(d.shards, key)
	}
	ack := topology.Ack{Node: online[0].m.node.name, Copies: len(online)}
	if s.mis.drop() {
		return ack, false, nil
	}
	if s.mis.noReplicate {
		online[0].shards[key] = s.data
		s.unreplicated[key] = true
		return ack, true, nil
	}
	for _, d := range online {
		d.shards[key] = 1
	}
	return ack, true, nil
}

// readable lists the objects under prefix with enough reachable shards to read; the others are
// unreadable.
func (s *objectStore) readable(prefix string) (keys, unreadable []string) {
	for _, k := range s.keys(prefix) {
		if n := s.readable1(k); n >= s.data {
			keys = append(keys, k)
		} else {
			unreadable = append(unreadable, fmt.Sprintf("object %s: %d of %d shards reachable", k, n, s.data))
		}
	}
	return keys, unreadable
}

// placements tells, per object under prefix, the distinct nodes holding shards and how many node
// losses it survives (-1: too few shards left to read it even with every node up).
func (s *objectStore) placements(prefix string) []topology.Placement {
	h := holdings{}
	for _, d := range s.drives {
		for k, n := range d.shards {
			if strings.HasPrefix(k, prefix) {
				h.add(k, d.m.node.name, n)
			}
		}
	}
	return h.placements(s.data)
}

// remove deletes every object under prefix.
func (s *objectStore) remove(prefix string) {
	for _, k := range s.keys(prefix) {
		for _, d := range s.drives {
			delete(d.shards, k)
		}
	}
}

// keys lists every key with a prefix, sorted (S3 lists lexicographically).
func (s *objectStore) keys(prefix string) []string {
	seen := map[string]bool{}
	var out []string
	for _, d := range s.drives {
		for k := range d.shards {
			if strings.HasPrefix(k, prefix) && !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}

func (s *objectStore) members() []*member {
	ms := make([]*member, len(s.drives))
	for i, d := range s.drives {
		ms[i] = d.m
	}
	return ms
}

// react has nothing to do: an offline drive simply stops being written to.
func (s *objectStore) react() { s.mis.noteFault() }

func (s *objectStore) wipe(m *member) {
	for _, d := range s.drives {
		if d.m == m {
			clear(d.shards)
		}
	}
}

// settle heals every object that still has enough shards: each reachable drive lacking its shard
// gets it rebuilt.
func (s *objectStore) settle() {
	for _, key := range s.keys("") {
		if s.unreplicated[key] || s.readable1(key) < s.data {
			continue
		}
		for _, d := range s.online() {
			if d.shards[key] == 0 {
				d.shards[key] = 1
			}
		}
	}
}
