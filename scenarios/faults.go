package scenarios

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"dpsim/topology"
)

// Fault is one kind of failure a scenario injects (a nemesis, in Jepsen's words).
type Fault interface {
	// Kind names the fault in reports ("node-kill").
	Kind() string
	// Needs lists the provider capabilities the fault uses.
	Needs() []topology.Capability
	// Inject breaks something chosen with rng and returns what it broke and how to undo it.
	Inject(ctx context.Context, env Env, rng *rand.Rand) (Injected, error)
}

// Injected is a fault in force.
type Injected struct {
	Target string
	Nodes  []string // the nodes taken down or cut off
	// Effect is the evidence, observed on the substrate, that the fault took effect.
	Effect []string
	// Recover undoes the fault. It tries every step even when one fails, joins the errors, and
	// returns what it observed while healing (a new volume, packets a cut dropped) as more evidence.
	Recover func(ctx context.Context) ([]string, error)
}

// evidence appends e to list unless it is empty.
func evidence(list []string, e string) []string {
	if e == "" {
		return list
	}
	return append(list, e)
}

// NodeKill stops one node and starts it again on recovery.
type NodeKill struct{}

// Kind implements Fault.
func (NodeKill) Kind() string { return "node-kill" }

// Needs implements Fault.
func (NodeKill) Needs() []topology.Capability { return []topology.Capability{topology.CapNodeKill} }

// Inject implements Fault.
func (NodeKill) Inject(ctx context.Context, env Env, rng *rand.Rand) (Injected, error) {
	node, err := pickNode(ctx, env.Provider, rng)
	if err != nil {
		return Injected{}, err
	}
	return killNodes(ctx, env.Provider.(topology.NodeKiller), []string{node}, node)
}

// ZoneLoss stops every node of one zone and starts them again on recovery.
type ZoneLoss struct{}

// Kind implements Fault.
func (ZoneLoss) Kind() string { return "zone-loss" }

// Needs implements Fault.
func (ZoneLoss) Needs() []topology.Capability { return []topology.Capability{topology.CapNodeKill} }

// Inject implements Fault.
func (ZoneLoss) Inject(ctx context.Context, env Env, rng *rand.Rand) (Injected, error) {
	nodes, err := env.Provider.Nodes(ctx)
	if err != nil {
		return Injected{}, fmt.Errorf("list nodes: %w", err)
	}
	var zones []string
	for _, n := range nodes {
		if !slices.Contains(zones, n.Zone) {
			zones = append(zones, n.Zone)
		}
	}
	if len(zones) == 0 {
		return Injected{}, fmt.Errorf("provider %s has no nodes, so no zone to take down", env.Provider.Name())
	}
	slices.Sort(zones)
	zone := zones[rng.IntN(len(zones))]
	var inZone []string
	for _, n := range nodes {
		if n.Zone == zone {
			inZone = append(inZone, n.Name)
		}
	}
	return killNodes(ctx, env.Provider.(topology.NodeKiller), inZone, fmt.Sprintf("%s (%s)", zone, strings.Join(inZone, ", ")))
}

// killNodes stops every node in nodes; if one cannot be stopped, those already stopped are started
// again before the error is returned (a fault is never left half-injected).
func killNodes(ctx context.Context, k topology.NodeKiller, nodes []string, target string) (Injected, error) {
	inj := Injected{Target: target, Nodes: nodes, Recover: func(ctx context.Context) ([]string, error) {
		return nil, restartNodes(ctx, k, nodes)
	}}
	for i, n := range nodes {
		e, err := k.KillNode(ctx, n)
		if err != nil {
			return Injected{Target: target}, errors.Join(fmt.Errorf("kill node %s: %w", n, err),
				restartNodes(context.WithoutCancel(ctx), k, nodes[:i+1]))
		}
		inj.Effect = evidence(inj.Effect, e)
	}
	return inj, nil
}

// restartNodes starts every node of nodes again, trying each even when one fails.
func restartNodes(ctx context.Context, k topology.NodeKiller, nodes []string) error {
	var errs []error
	for _, n := range nodes {
		if err := k.RestartNode(ctx, n); err != nil {
			errs = append(errs, fmt.Errorf("restart node %s: %w", n, err))
		}
	}
	return errors.Join(errs...)
}

// DriveLoss wipes one drive of every data component: for the components running on the platform's
// nodes, their drives on one node chosen with rng; for components outside them (an object store
// beside the cluster), one drive chosen with rng. A metadata-only member's volume (HDFS's namenode)
// is no data drive and is left alone. On recovery the drives come back empty.
type DriveLoss struct{}

// Kind implements Fault.
func (DriveLoss) Kind() string { return "drive-loss" }

// Needs implements Fault.
func (DriveLoss) Needs() []topology.Capability { return []topology.Capability{topology.CapDriveLoss} }

// Inject implements Fault.
func (DriveLoss) Inject(ctx context.Context, env Env, rng *rand.Rand) (Injected, error) {
	dd := env.Provider.(topology.DriveDropper)
	node, err := pickNode(ctx, env.Provider, rng)
	if err != nil {
		return Injected{}, err
	}
	all, err := dd.Drives(ctx)
	if err != nil {
		return Injected{}, fmt.Errorf("list drives: %w", err)
	}
	drop := chooseDrives(all, node, nodeNames(ctx, env.Provider), rng)
	if len(drop) == 0 {
		return Injected{}, fmt.Errorf("node %s has no data drive", node)
	}
	var names []string
	for _, d := range drop {
		names = append(names, strings.Join(slices.DeleteFunc([]string{d.Node, d.Tenant, d.Name}, func(s string) bool { return s == "" }), "/"))
	}
	target := strings.Join(names, ", ")
	inj := Injected{Target: target, Nodes: []string{node}}
	for i, d := range drop {
		e, err := dd.DropDrive(ctx, d)
		if err != nil {
			_, rerr := restoreDrives(context.WithoutCancel(ctx), dd, drop[:i+1])
			return Injected{Target: target}, errors.Join(fmt.Errorf("drop drive %s on %s: %w", d.Name, d.Node, err), rerr)
		}
		inj.Effect = evidence(inj.Effect, e)
	}
	inj.Recover = func(ctx context.Context) ([]string, error) { return restoreDrives(ctx, dd, drop) }
	return inj, nil
}

// restoreDrives brings every drive of drops back, trying each even when one fails, and returns the
// evidence that each is a new one.
func restoreDrives(ctx context.Context, dd topology.DriveDropper, drops []topology.Drive) ([]string, error) {
	var effect []string
	var errs []error
	for _, d := range drops {
		e, err := dd.RestoreDrive(ctx, d)
		if err != nil {
			errs = append(errs, fmt.Errorf("restore drive %s on %s: %w", d.Name, d.Node, err))
		}
		effect = evidence(effect, e)
	}
	return effect, errors.Join(errs...)
}

// chooseDrives picks one drive per (tenant, component): on node for components on the platform's
// nodes, any one (by rng) for components whose drives sit elsewhere.
func chooseDrives(all []topology.Drive, node string, nodes []string, rng *rand.Rand) []topology.Drive {
	type key struct{ tenant, component string }
	external := map[key][]topology.Drive{}
	var order []key
	var drop []topology.Drive
	seen := map[key]bool{}
	for _, d := range all {
		k := key{d.Tenant, d.Component}
		if d.MetadataOnly {
			continue
		}
		if !slices.Contains(nodes, d.Node) {
			if len(external[k]) == 0 {
				order = append(order, k)
			}
			external[k] = append(external[k], d)
			continue
		}
		if d.Node == node && !seen[k] {
			seen[k] = true
			drop = append(drop, d)
		}
	}
	for _, k := range order {
		drop = append(drop, external[k][rng.IntN(len(external[k]))])
	}
	return drop
}

// nodeNames lists the platform's node names (none if they cannot be listed: pickNode reports that).
func nodeNames(ctx context.Context, p topology.Provider) []string {
	nodes, _ := p.Nodes(ctx)
	var names []string
	for _, n := range nodes {
		names = append(names, n.Name)
	}
	return names
}

// Partition cuts one node off from every other node and heals the cut on recovery.
type Partition struct{}

// Kind implements Fault.
func (Partition) Kind() string { return "partition" }

// Needs implements Fault.
func (Partition) Needs() []topology.Capability { return []topology.Capability{topology.CapPartition} }

// Inject implements Fault.
func (Partition) Inject(ctx context.Context, env Env, rng *rand.Rand) (Injected, error) {
	p := env.Provider.(topology.Partitioner)
	node, err := pickNode(ctx, env.Provider, rng)
	if err != nil {
		return Injected{}, err
	}
	heal := func(ctx context.Context) ([]string, error) {
		e, err := p.Heal(ctx)
		return evidence(nil, e), err
	}
	if err := p.Isolate(ctx, node); err != nil {
		_, herr := heal(context.WithoutCancel(ctx))
		return Injected{Target: node}, errors.Join(fmt.Errorf("isolate node %s: %w", node, err), herr)
	}
	return Injected{Target: node, Nodes: []string{node}, Recover: heal}, nil
}

// pickNode chooses one node with rng, from the nodes in name order.
func pickNode(ctx context.Context, p topology.Provider, rng *rand.Rand) (string, error) {
	nodes, err := p.Nodes(ctx)
	if err != nil {
		return "", fmt.Errorf("list nodes: %w", err)
	}
	if len(nodes) == 0 {
		return "", fmt.Errorf("provider %s has no nodes", p.Name())
	}
	names := make([]string, len(nodes))
	for i, n := range nodes {
		names[i] = n.Name
	}
	slices.Sort(names)
	return names[rng.IntN(len(names))], nil
}
