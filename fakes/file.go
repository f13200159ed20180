package fakes

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"dpsim/topology"
)

// fileStore is tenant number ti's StackGraph storage, HDFS: one namenode ("hdfs-namenode-0" on
// hosts[ti % len(hosts)]) that keeps the file names on its own volume, and spec.StackGraph.Datanodes
// datanodes ("hdfs-datanode-<i>" on hosts[i % len(hosts)]) that keep the blocks. A record is a file
// of one block.
//
// A write needs the namenode; its block goes to the first Replication reachable datanodes from a
// stable offset (the client leaves out a datanode it cannot reach and asks for another), and the
// file completes (the write is acknowledged) only with at least MinReplication copies written, as
// dfs.namenode.replication.min decides; Ack.Copies is how many were. The namenode notices
// neither a dead datanode nor a missing copy before Settle, which re-replicates every block with a
// reachable copy up to Replication.
type fileStore struct {
	site         *site
	namenode     *member
	datanodes    []*member
	replication  int
	minCopies    int
	mis          *misbehaviour
	files        map[string]bool             // the namenode's namespace
	blocks       map[*member]map[string]bool // per datanode, the files whose block it holds
	unreplicated map[string]bool             // files written under AckWithoutReplicating: never copied
}

// The ports of HDFS's daemons: namenode RPC and HTTP, datanode data transfer and HTTP.
var (
	namenodePorts = []int{8020, 9870}
	datanodePorts = []int{9866, 9864}
)

func newFileStore(st *site, spec topology.Spec, tenant string, ti int, hosts []*node, mis *misbehaviour) *fileStore {
	g := spec.StackGraph
	s := &fileStore{
		site:         st,
		namenode:     placeMembers("hdfs-namenode", "stackgraph", tenant, 1, hosts[ti%len(hosts):])[0],
		datanodes:    placeMembers("hdfs-datanode", "stackgraph", tenant, g.Datanodes, hosts),
		replication:  g.Replication,
		minCopies:    g.MinReplication,
		mis:          mis,
		files:        map[string]bool{},
		blocks:       map[*member]map[string]bool{},
		unreplicated: map[string]bool{},
	}
	s.namenode.metadataOnly = true
	for _, d := range s.datanodes {
		s.blocks[d] = map[string]bool{}
	}
	return s
}

func (s *fileStore) name() string              { return "stackgraph" }
func (s *fileStore) kind() topology.Kind       { return topology.KindFile }
func (s *fileStore) misbehaves() *misbehaviour { return s.mis }

// live lists the datanodes the namenode and clients can reach, from a stable offset for key.
func (s *fileStore) live(key string) []*member {
	var out []*member
	start := int(hashOf(key) % uint32(len(s.datanodes)))
	for i := range s.datanodes {
		if d := s.datanodes[(start+i)%len(s.datanodes)]; d.available() {
			out = append(out, d)
		}
	}
	return out
}

// put creates the file key and writes its block through a pipeline of up to Replication reachable
// datanodes; the close succeeds with at least MinReplication copies.
func (s *fileStore) put(key string) (topology.Ack, bool, error) {
	nn := s.namenode
	switch {
	case s.mis.refuses():
		return topology.Ack{}, false, fmt.Errorf("stackgraph create %s: service unavailable", key)
	case !nn.running():
		return topology.Ack{}, false, fmt.Errorf("stackgraph create %s: namenode %s on %s: connection refused", key, nn.name, nn.node.name)
	case nn.node.isolated:
		return topology.Ack{}, false, fmt.Errorf("stackgraph create %s: namenode %s on %s: timed out: %w", key, nn.name, nn.node.name, topology.ErrIndefinite)
	}
	targets := s.live(key)
	targets = targets[:min(len(targets), s.replication)]
	if (len(targets) == 0 || len(targets) < s.minCopies) && !s.mis.ignoreQuorum {
		return topology.Ack{}, false, fmt.Errorf("stackgraph close %s: could only be written to %d of the %d minReplication nodes", key, len(targets), s.minCopies)
	}
	if len(targets) == 0 {
		return topology.Ack{}, false, fmt.Errorf("stackgraph create %s: no datanode reachable", key)
	}
	ack := topology.Ack{Node: targets[0].node.name, Copies: len(targets)}
	if s.mis.drop() {
		return ack, false, nil
	}
	if s.mis.noReplicate {
		targets = targets[:1]
		s.unreplicated[key] = true
	}
	s.files[key] = true
	for _, d := range targets {
		s.blocks[d][key] = true
	}
	return ack, true, nil
}

// holders lists the reachable datanodes holding key's block.
func (s *fileStore) holders(key string) []*member {
	var out []*member
	for _, d := range s.datanodes {
		if d.available() && s.blocks[d][key] {
			out = append(out, d)
		}
	}
	return out
}

// readable lists the files under prefix with a reachable copy of their block; without the
// namenode nothing can be read.
func (s *fileStore) readable(prefix string) (keys, unreadable []string) {
	if !s.namenode.available() {
		return nil, []string{fmt.Sprintf("namenode %s on %s unreachable", s.namenode.name, s.namenode.node.name)}
	}
	for _, k := range s.keys(prefix) {
		if len(s.holders(k)) > 0 {
			keys = append(keys, k)
		} else {
			unreadable = append(unreadable, fmt.Sprintf("file %s: no live replica of its block", k))
		}
	}
	return keys, unreadable
}

// placements tells, per file the namenode knows under prefix, the nodes of the datanodes holding
// its block.
func (s *fileStore) placements(prefix string) []topology.Placement {
	h := holdings{}
	for _, d := range s.datanodes {
		for k := range s.blocks[d] {
			if strings.HasPrefix(k, prefix) && s.files[k] {
				h.add(k, d.node.name, 1)
			}
		}
	}
	return h.placements(1)
}

// remove deletes every file under prefix and its blocks.
func (s *fileStore) remove(prefix string) {
	for _, k := range s.keys(prefix) {
		delete(s.files, k)
		for _, d := range s.datanodes {
			delete(s.blocks[d], k)
		}
	}
}

// keys lists the namenode's files under prefix, sorted.
func (s *fileStore) keys(prefix string) []string {
	var out []string
	for k := range s.files {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func (s *fileStore) members() []*member { return append([]*member{s.namenode}, s.datanodes...) }

// react has nothing to do: the namenode declares a datanode dead only long after it stopped.
func (s *fileStore) react() { s.mis.noteFault() }

// wipe empties m's volume: the namenode's loses every file name, a datanode's its blocks.
func (s *fileStore) wipe(m *member) {
	if m == s.namenode {
		clear(s.files)
		return
	}
	clear(s.blocks[m])
}

// settle re-replicates every block with a reachable copy to Replication reachable datanodes.
func (s *fileStore) settle() {
	if !s.namenode.available() {
		return
	}
	for _, k := range s.keys("") {
		have := s.holders(k)
		if s.unreplicated[k] || len(have) == 0 {
			continue
		}
		for _, d := range s.live(k) {
			if len(have) >= s.replication {
				break
			}
			if !s.blocks[d][k] {
				s.blocks[d][k] = true
				have = append(have, d)
			}
		}
	}
}

// image copies m's volume: the namenode's file names, or a datanode's blocks.
func (s *fileStore) image(m *member) map[int][]string {
	if m == s.namenode {
		return map[int][]string{0: s.keys("")}
	}
	ids := make([]string, 0, len(s.blocks[m]))
	for k := range s.blocks[m] {
		ids = append(ids, k)
	}
	slices.Sort(ids)
	return map[int][]string{0: ids}
}

// restoreImage puts m's volume back from image.
func (s *fileStore) restoreImage(m *member, image map[int][]string) {
	held := s.files
	if m != s.namenode {
		held = s.blocks[m]
	}
	clear(held)
	for _, k := range image[0] {
		held[k] = true
	}
}

func (s *fileStore) ports(m *member) []int {
	if m == s.namenode {
		return namenodePorts
	}
	return datanodePorts
}
