package elastic

import (
	"context"
	"slices"
	"strings"

	"dpsim/topology"
)

// copyPreference is the search preference that selects one copy: shard n on the node with id
// nodeID. Elasticsearch's OperationRouting takes "_shards:<n>" first, then the rest after '|';
// "_only_nodes:<ids>" keeps the copies on the nodes those ids (or names) resolve to, and fails the
// search (no data nodes with criteria ...) when none is there.
func copyPreference(shard, nodeID string) string {
	return "_shards:" + shard + "|_only_nodes:" + nodeID
}

// Placement lists, for every document, the nodes whose copy of its shard holds it now: the index's
// shard copies are listed (_cat/shards), every STARTED copy is searched on its own
// (copyPreference), and a document is placed on the node of each copy that returned it. A copy that
// cannot be searched counts as holding nothing (fail closed), so a copy that lost documents shows
// them missing. Nodes are Elasticsearch node names (the deployment makes them the pod names es-0,
// es-1, ...); each document tolerates the loss of all but one of them.
func (s *Store) Placement(ctx context.Context) ([]topology.Placement, error) {
	s.refresh(ctx)
	copies, err := s.Shards(ctx)
	if err != nil {
		return nil, err
	}
	where := map[string][]string{}
	for _, sh := range copies {
		if sh.State != "STARTED" || sh.NodeID == "" || sh.Node == "" {
			continue
		}
		var ids []string
		err := s.scan(ctx, copyPreference(sh.Shard, sh.NodeID), false, func(id, _ string) { ids = append(ids, id) })
		if err != nil {
			s.c.log.Warn("shard copy not searchable: counted as holding nothing", "index", s.index, "shard", sh.Shard,
				"primary", sh.PriRep == "p", "node", sh.Node, "err", err)
			continue
		}
		for _, id := range ids {
			if !slices.Contains(where[id], sh.Node) {
				where[id] = append(where[id], sh.Node)
			}
		}
	}
	out := make([]topology.Placement, 0, len(where))
	for id, nodes := range where {
		slices.Sort(nodes)
		out = append(out, topology.Placement{ID: id, Nodes: nodes, Tolerates: len(nodes) - 1})
	}
	slices.SortFunc(out, func(a, b topology.Placement) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}
