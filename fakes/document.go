package fakes

import (
	"strconv"

	"dpsim/topology"
)

// newDocumentStore makes tenant number ti's Elasticsearch: spec.Elasticsearch.Nodes nodes
// ("es-<n>" on hosts[n % len(hosts)], each with its own drive) and one index of Shards primaries,
// shard s's primary on es (s+ti) % nodes and its Replicas replicas on the next ones.
//
// A write needs wait_for_active_shards copies active ("all": replicas+1), then goes to the primary
// and every active replica before the ack (_shards.successful is Ack.Copies). Documents are keyed
// by id: re-writing an id overwrites it.
func newDocumentStore(st *site, spec topology.Spec, tenant string, ti int, hosts []*node, mis *misbehaviour) *replicatedStore {
	e := spec.Elasticsearch
	s := &replicatedStore{
		site:         st,
		component:    "elasticsearch",
		family:       topology.KindDocument,
		rules:        documentRules(spec),
		mis:          mis,
		mems:         placeMembers("es", "elasticsearch", tenant, e.Nodes, hosts),
		unreplicated: map[string]bool{},
		listens:      []int{9200, 9300},
	}
	for sh := range e.Shards {
		s.groups = append(s.groups, newGroup(sh, s.mems, sh+ti, e.Replicas+1))
	}
	return s
}

func documentRules(spec topology.Spec) rules {
	need := spec.Elasticsearch.Replicas + 1
	if n, err := strconv.Atoi(spec.Elasticsearch.WaitForActiveShards); err == nil {
		need = n
	}
	return rules{need: need, sync: true, keyed: true, group: "shard", leader: "primary", tooFew: "unavailable_shards_exception"}
}
