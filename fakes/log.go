package fakes

import (
	"dpsim/topology"
)

// newLogStore makes tenant number ti's Kafka: spec.Kafka.Brokers brokers ("kafka-<b>" on
// hosts[b % len(hosts)], each with its own drive) and one topic of spec.Kafka.Partitions
// partitions, partition p replicated on ReplicationFactor brokers from (p+ti) % brokers on.
//
// Writes follow the producer's acks: with "all" a write needs the effective min.insync.replicas
// in sync and lands on every in-sync replica before the ack; with "1" (and "0") only the leader
// has it when it is acknowledged and followers copy it at the next Settle, so losing the leader
// first loses it, as in Kafka.
func newLogStore(st *site, spec topology.Spec, tenant string, ti int, hosts []*node, mis *misbehaviour) *replicatedStore {
	k := spec.Kafka
	s := &replicatedStore{
		site:         st,
		component:    "kafka",
		family:       topology.KindLog,
		rules:        logRules(spec),
		mis:          mis,
		mems:         placeMembers("kafka", "kafka", tenant, k.Brokers, hosts),
		unreplicated: map[string]bool{},
		listens:      []int{9092, 9093},
	}
	for p := range k.Partitions {
		s.groups = append(s.groups, newGroup(p, s.mems, p+ti, k.ReplicationFactor))
	}
	return s
}

func logRules(spec topology.Spec) rules {
	r := rules{need: 1, sync: false, group: "partition", leader: "leader", tooFew: "NOT_ENOUGH_REPLICAS"}
	if spec.Kafka.Acks == "all" {
		r.need, r.sync = spec.EffectiveMinInsync(), true
	}
	return r
}
