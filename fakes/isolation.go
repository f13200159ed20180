package fakes

import (
	"context"
	"fmt"
	"time"

	"dpsim/topology"
)

// The fake's tenant network: every tenant's brokers and Elasticsearch nodes listen on their usual
// ports at a made-up pod IP, and the spec's network.isolation decides what connects. Under
// "namespace" a tenant reaches only itself, and a node reaches only the pods on it (as kubelet's
// health checks must); under "none" everything connects. A member on a killed or isolated node does
// not answer (timeout), and a probe from such a node cannot run.

var _ topology.IsolationProber = (*Provider)(nil)

// probeLatency is the simulated duration of one probe.
const probeLatency = time.Millisecond

// IsolationTargets implements topology.IsolationProber: each port of each tenant member by pod IP.
func (p *Provider) IsolationTargets(ctx context.Context) ([]topology.Target, error) {
	var out []topology.Target
	err := p.do(ctx, func(s *site) error {
		for ti, t := range s.tenants {
			for _, store := range t.own {
				for mi, m := range store.members() {
					for _, port := range store.ports(m) {
						out = append(out, topology.Target{Tenant: t.name, Component: store.name(), Pod: m.name, Node: m.node.name,
							Port: port, Protocol: topology.ProtocolTCP, AddressKind: topology.AddressPodIP,
							Address: fmt.Sprintf("10.244.%d.%d", ti+1, 10*len(store.name())+mi)})
					}
				}
			}
		}
		return nil
	})
	return out, err
}

// IsolationSources implements topology.IsolationProber: each tenant's agent, one pod outside any
// tenant and every node.
func (p *Provider) IsolationSources(ctx context.Context) ([]topology.Source, error) {
	var out []topology.Source
	err := p.do(ctx, func(s *site) error {
		for _, t := range s.tenants {
			out = append(out, topology.Source{Kind: topology.SourceTenant, Tenant: t.name, Name: "agent"})
		}
		out = append(out, topology.Source{Kind: topology.SourceOutside, Name: "prober"})
		for _, n := range s.nodes {
			out = append(out, topology.Source{Kind: topology.SourceNode, Name: n.name})
		}
		return nil
	})
	return out, err
}

// ProbeFrom implements topology.IsolationProber.
func (p *Provider) ProbeFrom(ctx context.Context, src topology.Source, targets []topology.Target) ([]topology.ProbeResult, error) {
	out := make([]topology.ProbeResult, len(targets))
	err := p.do(ctx, func(s *site) error {
		nodes := map[string]*node{}
		for _, n := range s.nodes {
			nodes[n.name] = n
		}
		if n := nodes[src.Name]; src.Kind == topology.SourceNode && (n == nil || !n.ready()) {
			return fmt.Errorf("node %s is down: nothing runs there", src.Name)
		}
		open := s.spec.Network.Isolation == "none"
		for i, t := range targets {
			s.clock.Advance(probeLatency)
			switch n := nodes[t.Node]; {
			case n == nil || !n.ready():
				out[i] = topology.ProbeResult{Outcome: topology.OutcomeTimeout, LatencyMs: 1000, Detail: "no answer: its node is down"}
			case open, src.Kind == topology.SourceTenant && src.Tenant == t.Tenant,
				src.Kind == topology.SourceNode && src.Name == t.Node:
				out[i] = topology.ProbeResult{Outcome: topology.OutcomeAllowed, LatencyMs: 1}
			default:
				out[i] = topology.ProbeResult{Outcome: topology.OutcomeRefused, LatencyMs: 1, Detail: "rejected by the namespace's policy"}
			}
		}
		return nil
	})
	return out, err
}
