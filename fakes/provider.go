// Package fakes holds in-memory stand-ins so the engine, checkers and reports are tested in
// milliseconds: a fake provider with nodes, zones, drives and replicated stores that follow the real
// stores' rules closely enough to be wrong in the same ways (acks=1 losing the leader's tail, a
// replication factor of 1 losing a drive's records). A fake can be told to misbehave (see
// WithFault) so every checker is shown to fail when it should.
//
// The fake is deterministic: no goroutines in the data path, no map order in results and no wall
// clock in its behaviour; it keeps simulated time on a SimClock. Only the ingress is real: a TLS
// listener on 127.0.0.1 that probes can handshake with.
package fakes

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"dpsim/topology"
)

// Provider is the in-memory provider "fake". Besides topology.Provider it offers Inventory,
// StoreAccess, NodeKiller, DriveDropper, Partitioner, Settler, Ingress and Clocked. It is safe for
// concurrent use; every operation runs under one lock.
type Provider struct {
	cfg   config
	clock *SimClock
	mu    sync.Mutex
	site  *site // nil unless up
}

var (
	_ topology.Provider      = (*Provider)(nil)
	_ topology.Inventory     = (*Provider)(nil)
	_ topology.StoreAccess   = (*Provider)(nil)
	_ topology.NodeKiller    = (*Provider)(nil)
	_ topology.DriveDropper  = (*Provider)(nil)
	_ topology.Partitioner   = (*Provider)(nil)
	_ topology.DriveOffliner = (*Provider)(nil)
	_ topology.Settler       = (*Provider)(nil)
	_ topology.Ingress       = (*Provider)(nil)
	_ topology.Clocked       = (*Provider)(nil)
)

// NewProvider returns a fake provider: defaults first, then opts in order.
func NewProvider(opts ...Option) *Provider {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	return &Provider{cfg: cfg, clock: NewSimClock(cfg.start)}
}

// Name is "fake".
func (p *Provider) Name() string { return "fake" }

// Clock returns the provider's *SimClock. It is reset to the start instant on every Up.
func (p *Provider) Clock() topology.Clock { return p.clock }

// Up stands up spec in memory and starts the ingress listener.
func (p *Provider) Up(ctx context.Context, spec topology.Spec) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := spec.Validate(); err != nil {
		return fmt.Errorf("validate spec: %w", err)
	}
	if err := p.cfg.validate(); err != nil {
		return fmt.Errorf("configure fake provider: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.site != nil {
		return errors.New("fake platform is already up")
	}
	in, err := startIngress(spec, p.clock)
	if err != nil {
		return fmt.Errorf("start ingress: %w", err)
	}
	p.clock.reset(p.cfg.start)
	p.site = p.build(spec, in)
	return nil
}

// build lays out nodes and stores for spec.
func (p *Provider) build(spec topology.Spec, in *ingress) *site {
	s := &site{mu: &p.mu, clock: p.clock, lat: p.cfg.lat, spec: spec, ingress: in, hashes: map[simData]map[string]string{},
		backups: backups{offboarded: map[string]bool{}, destroyed: map[string]bool{}, lastGC: p.clock.Now()}}
	for i := range spec.Nodes {
		s.nodes = append(s.nodes, &node{name: fmt.Sprintf("node-%d", i+1), zone: spec.ZoneOf(i)})
	}
	hosts := s.nodes
	if n := p.cfg.componentNodes; n >= 1 && n < len(hosts) {
		hosts = hosts[:n]
	}
	for ti, t := range spec.Tenants {
		s.tenants = append(s.tenants, tenantStores{name: t, own: []tenantStore{
			newLogStore(s, spec, t, ti, hosts, p.cfg.misbehaviourFor(topology.KindLog)),
			newDocumentStore(s, spec, t, ti, hosts, p.cfg.misbehaviourFor(topology.KindDocument)),
			newFileStore(s, spec, t, ti, hosts, p.cfg.misbehaviourFor(topology.KindFile)),
		}})
	}
	s.object = newObjectStore(s, spec, hosts, p.cfg.misbehaviourFor(topology.KindObject))
	return s
}

// Down stops the ingress and forgets the platform; stores handed out before refuse work after it.
// It is safe to call at any time, also when nothing is up.
func (p *Provider) Down(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.site == nil {
		return nil
	}
	s := p.site
	p.site, s.closed = nil, true
	return s.ingress.close()
}

// do runs f on the platform under the lock once ctx and the platform allow it.
func (p *Provider) do(ctx context.Context, f func(s *site) error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	if p.site == nil {
		return errNotUp
	}
	return f(p.site)
}

// Nodes lists node-1..node-N; a killed or isolated node is not Ready.
func (p *Provider) Nodes(ctx context.Context) ([]topology.Node, error) {
	var out []topology.Node
	err := p.do(ctx, func(s *site) error {
		for _, n := range s.nodes {
			out = append(out, topology.Node{Name: n.name, Zone: n.zone, Ready: n.ready()})
		}
		return nil
	})
	return out, err
}

// Components lists, per tenant in spec order, its kafka and elasticsearch with their members, then
// the shared objectstore (Tenant "") with its drives as members.
func (p *Provider) Components(ctx context.Context) ([]topology.Component, error) {
	var out []topology.Component
	err := p.do(ctx, func(s *site) error {
		for _, t := range s.tenants {
			for _, st := range t.own {
				out = append(out, component(t.name, st.name(), st.kind(), st.members()))
			}
		}
		out = append(out, component("", "objectstore", topology.KindObject, s.object.members()))
		return nil
	})
	return out, err
}

func component(tenant, name string, kind topology.Kind, ms []*member) topology.Component {
	c := topology.Component{Tenant: tenant, Name: name, Kind: kind}
	for _, m := range ms {
		c.Members = append(c.Members, m.info())
	}
	return c
}

// Stores returns tenant's kafka, elasticsearch and its view of the shared objectstore, seen through
// one dataset (see dataset for how the fake keeps datasets apart).
func (p *Provider) Stores(ctx context.Context, tenant, name string) ([]topology.Store, error) {
	var out []topology.Store
	err := p.do(ctx, func(s *site) error {
		t, err := s.tenant(tenant)
		if err != nil {
			return err
		}
		for _, st := range t.own {
			out = append(out, s.dataset(st, "", name))
		}
		out = append(out, s.dataset(s.object, tenant+"/", name))
		return nil
	})
	return out, err
}

// KillNode stops every member on node name; their drives keep their data. Leaders move at once.
func (p *Provider) KillNode(ctx context.Context, name string) (string, error) {
	var down []string
	err := p.setNode(ctx, name, func(s *site, n *node) {
		n.killed = true
		down = membersOn(s, n)
	})
	return fmt.Sprintf("node %s stopped, members down: %s", name, strings.Join(down, ", ")), err
}

// membersOn names the members running on n, for evidence.
func membersOn(s *site, n *node) []string {
	var out []string
	for _, st := range s.stores() {
		for _, m := range st.members() {
			if m.node == n {
				out = append(out, m.name)
			}
		}
	}
	return out
}

// RestartNode starts the members of node name again with their data; they re-sync in Settle.
func (p *Provider) RestartNode(ctx context.Context, name string) error {
	return p.setNode(ctx, name, func(_ *site, n *node) { n.killed = false })
}

// Isolate cuts node name off from every other node: its members keep their data but leave the in-sync
// sets; a leader there keeps leading until a write routed to it times out (ErrIndefinite) or
// Settle runs, and then fails over.
func (p *Provider) Isolate(ctx context.Context, name string) error {
	return p.setNode(ctx, name, func(_ *site, n *node) { n.isolated = true })
}

// Heal reconnects every isolated node; its members re-sync in Settle.
func (p *Provider) Heal(ctx context.Context) (string, error) {
	var healed []string
	err := p.do(ctx, func(s *site) error {
		for _, n := range s.nodes {
			if n.isolated {
				healed = append(healed, n.name)
			}
			n.isolated = false
		}
		s.react()
		return nil
	})
	if len(healed) == 0 {
		return "", err
	}
	return "cut off until healed: " + strings.Join(healed, ", "), err
}

func (p *Provider) setNode(ctx context.Context, name string, change func(*site, *node)) error {
	return p.do(ctx, func(s *site) error {
		n, err := s.node(name)
		if err != nil {
			return err
		}
		change(s, n)
		s.react()
		return nil
	})
}

// Drives lists every drive sorted by node, tenant and name.
func (p *Provider) Drives(ctx context.Context) ([]topology.Drive, error) {
	var out []topology.Drive
	err := p.do(ctx, func(s *site) error {
		for _, st := range s.stores() {
			for _, m := range st.members() {
				out = append(out, m.drive())
			}
		}
		return nil
	})
	slices.SortFunc(out, func(a, b topology.Drive) int {
		return strings.Compare(a.Node+"\x00"+a.Tenant+"\x00"+a.Name, b.Node+"\x00"+b.Tenant+"\x00"+b.Name)
	})
	return out, err
}

// DropDrive wipes drive d (found by tenant and name) and stops its member until RestoreDrive.
func (p *Provider) DropDrive(ctx context.Context, d topology.Drive) (string, error) {
	return fmt.Sprintf("drive %s on %s wiped", d.Name, d.Node), p.changeDrive(ctx, d, func(st simStore, m *member) {
		st.wipe(m)
		m.lost = true
	})
}

// RestoreDrive brings drive d back empty; its member re-syncs (or heals) in Settle.
func (p *Provider) RestoreDrive(ctx context.Context, d topology.Drive) (string, error) {
	return fmt.Sprintf("drive %s on %s back, empty", d.Name, d.Node), p.changeDrive(ctx, d, func(_ simStore, m *member) { m.lost = false })
}

// OfflineDrive stops drive d's member; its data stays.
func (p *Provider) OfflineDrive(ctx context.Context, d topology.Drive) (string, error) {
	return fmt.Sprintf("drive %s on %s offline", d.Name, d.Node), p.changeDrive(ctx, d, func(_ simStore, m *member) { m.offline = true })
}

// OnlineDrive starts drive d's member again with its data.
func (p *Provider) OnlineDrive(ctx context.Context, d topology.Drive) (string, error) {
	return fmt.Sprintf("drive %s on %s online with its data", d.Name, d.Node), p.changeDrive(ctx, d, func(_ simStore, m *member) { m.offline = false })
}

// changeDrive applies change to drive d's store and member, then lets every store react.
func (p *Provider) changeDrive(ctx context.Context, d topology.Drive, change func(simStore, *member)) error {
	return p.do(ctx, func(s *site) error {
		st, m, err := s.member(d)
		if err != nil {
			return err
		}
		change(st, m)
		s.react()
		return nil
	})
}

// Settle performs every pending failover, re-sync, re-replication and heal, and charges the
// simulated re-sync time.
func (p *Provider) Settle(ctx context.Context) error {
	return p.do(ctx, func(s *site) error {
		for _, st := range s.stores() {
			st.settle()
		}
		s.clock.Advance(s.lat.Settle)
		return nil
	})
}

// IngressEndpoint is the ingress TLS listener, the tenants' host names and the fake CA.
func (p *Provider) IngressEndpoint(ctx context.Context) (topology.IngressEndpoint, error) {
	var ep topology.IngressEndpoint
	err := p.do(ctx, func(s *site) error {
		ep = s.ingress.endpoint()
		return nil
	})
	return ep, err
}
