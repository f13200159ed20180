package hdfs

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"

	"dpsim/stores"
	"dpsim/topology"
)

// Description is StackGraph's storage as the agent knows it.
var Description = stores.Description{Name: "stackgraph", Kind: topology.KindFile, InFlight: DefaultWorkers, Connect: connect}

func connect(ctx context.Context, c stores.Connection) (stores.Cluster, error) {
	cfg := ConfigFromSpec(c.Endpoints, c.Spec)
	cfg.Log = c.Log
	cl, err := Connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return stores.Datasets(cl.Store, cl.Close), nil
}

// Store is one dataset (directory) of a Cluster. It implements topology.Store and stores.Stater.
type Store struct {
	c   *Cluster
	dir string
}

var (
	_ topology.Store      = (*Store)(nil)
	_ stores.StreamWriter = (*Store)(nil)
	_ stores.Stater       = (*Store)(nil)
)

// Name is the component's name.
func (s *Store) Name() string { return Description.Name }

// Kind is the store family.
func (s *Store) Kind() topology.Kind { return Description.Kind }

// Dir is the dataset's directory.
func (s *Store) Dir() string { return s.dir }

func (s *Store) file(id string) string { return s.dir + "/" + Name(id) }

// Drop deletes the dataset's directory and everything in it; one already gone is no error.
func (s *Store) Drop(ctx context.Context) error {
	if err := s.c.remove(ctx, s.dir, true); err != nil {
		return fmt.Errorf("delete %s: %w", s.dir, err)
	}
	return nil
}

// Placement lists, for every file, the datanodes holding a live replica of its blocks now, from one
// fsck of the directory: a replica counts only in state LIVE, so one on a datanode that stopped
// heartbeating (STALE_NODE after dfs.namenode.stale.datanode.interval, 30 s by default), corrupt or
// decommissioned does not, though the namenode keeps it on record until it declares the datanode
// dead. Members are named as the platform names the pods (memberName). A file tolerates the loss of
// all but one holder of its least-held block; a file without a block is held nowhere. An
// erasure-coded file (dpsim makes none) is left out: unplaced, it fails closed.
func (s *Store) Placement(ctx context.Context) ([]topology.Placement, error) {
	files, err := s.fsck(ctx)
	if err != nil {
		return nil, err
	}
	names := s.c.namer(ctx)
	out := make([]topology.Placement, 0, len(files))
	for _, f := range files {
		id, ok := ID(path.Base(f.Path))
		if !ok || path.Dir(f.Path) != s.dir || f.ErasureCode {
			continue
		}
		out = append(out, placementOf(id, f, names))
	}
	slices.SortFunc(out, func(a, b topology.Placement) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func placementOf(id string, f fsckFile, names namer) topology.Placement {
	p := topology.Placement{ID: id, Nodes: []string{}, Tolerates: -1}
	for i, b := range f.Blocks {
		live := b.live()
		for _, addr := range live {
			if n := names.name(addr); !slices.Contains(p.Nodes, n) {
				p.Nodes = append(p.Nodes, n)
			}
		}
		if i == 0 || len(live)-1 < p.Tolerates {
			p.Tolerates = len(live) - 1
		}
	}
	slices.Sort(p.Nodes)
	return p
}

// State is the dataset's directory as the report shows it, from fsck.
type State struct {
	Dir          string `json:"dir"`
	Files        int    `json:"files"`
	Blocks       int    `json:"blocks"`
	LiveReplicas int    `json:"liveReplicas"`
	// UnderReplicated counts blocks with fewer live replicas than their file's replication factor;
	// Missing those with none.
	UnderReplicated int      `json:"underReplicated"`
	Missing         int      `json:"missing"`
	Datanodes       []string `json:"datanodes"` // holders of live replicas
	// Short describes the first under-replicated blocks: file, block, live of wanted, replica states.
	Short []string `json:"short,omitempty"`
	// SafeMode is the namenode's account of why it is in safe mode (refusing every write); empty
	// when it is not; "unknown: ..." when the namenode did not say.
	SafeMode string `json:"safeMode,omitempty"`
}

const shortListed = 10

// Describe reports the directory's files, blocks and live replicas.
func (s *Store) Describe(ctx context.Context) (State, error) {
	files, err := s.fsck(ctx)
	if err != nil {
		return State{}, err
	}
	info, err := s.c.nameNodeInfo(ctx)
	names := s.c.namerOf(info, err)
	st := State{Dir: s.dir, Files: len(files), Datanodes: []string{}, SafeMode: info.Safemode}
	if err != nil {
		st.SafeMode = "unknown: " + err.Error()
	}
	for _, f := range files {
		for _, b := range f.Blocks {
			if !f.ErasureCode {
				st.add(f, b, names)
			}
		}
	}
	slices.Sort(st.Datanodes)
	return st, nil
}

// add counts block b of file f.
func (st *State) add(f fsckFile, b fsckBlock, names namer) {
	live := b.live()
	st.Blocks++
	st.LiveReplicas += len(live)
	for _, addr := range live {
		if n := names.name(addr); !slices.Contains(st.Datanodes, n) {
			st.Datanodes = append(st.Datanodes, n)
		}
	}
	if len(live) == 0 {
		st.Missing++
	}
	if len(live) >= f.Replication {
		return
	}
	st.UnderReplicated++
	if len(st.Short) < shortListed {
		st.Short = append(st.Short, fmt.Sprintf("%s block %s: %d of %d replicas live %s",
			f.Path, b.Name, len(live), f.Replication, replicaStates(b, names)))
	}
}

func replicaStates(b fsckBlock, names namer) string {
	var parts []string
	for _, r := range b.Replicas {
		parts = append(parts, names.name(r.Addr)+" "+r.State)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// State reports the directory's files, blocks and live replicas (Describe).
func (s *Store) State(ctx context.Context) (any, error) { return s.Describe(ctx) }

// Replicated reports whether every block of every file has as many live replicas as its file's
// replication factor (fsck prints the factor HdfsFileStatus holds, the one LISTSTATUS shows as
// "replication") and the namenode is out of safe mode (in it, no write is taken: a namenode
// restarted or restored leaves it once its datanodes reported 99.9 % of its blocks, and never on
// its own when blocks are lost); the detail names what is short.
func (s *Store) Replicated(ctx context.Context) (bool, string, error) {
	st, err := s.Describe(ctx)
	if err != nil {
		return false, "", err
	}
	if st.SafeMode != "" {
		return false, "namenode's safe mode (no write taken while on): " + st.SafeMode, nil
	}
	if len(st.Short) > 0 {
		return false, fmt.Sprintf("%d of %d blocks under-replicated, e.g. %s", st.UnderReplicated, st.Blocks, st.Short[0]), nil
	}
	return true, fmt.Sprintf("%s: %d blocks of %d files, each with its replication in live replicas", s.dir, st.Blocks, st.Files), nil
}
