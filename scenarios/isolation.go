package scenarios

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"dpsim/claims"
	"dpsim/reports"
	"dpsim/scenarios/checkers"
	"dpsim/topology"
)

// PhaseProbe observes the platform at each phase of a scenario: "before" the fault, "during" it
// (down names the nodes it took down or cut off) and "after" recovery.
type PhaseProbe interface {
	ObservePhase(ctx context.Context, env Env, phase string, down []string, o *Observation) error
}

// IsolationTable takes the tenant-isolation truth table (DP-NET-3): from every source the provider
// offers to every listening port of every tenant component, each way it can be reached. As a
// PhaseProbe it takes the table before, during and after the scenario's fault; as its final Probe it
// restarts the NetworkPolicy engine's pod on one node, takes the table again, and measures how long
// a new policy takes to be enforced (where the provider can do these).
type IsolationTable struct{}

var (
	_ PhaseProbe = IsolationTable{}
	_ Probe      = IsolationTable{}
)

// ObservePhase implements PhaseProbe.
func (IsolationTable) ObservePhase(ctx context.Context, env Env, phase string, down []string, o *Observation) error {
	note := ""
	if len(down) > 0 {
		note = "down: " + strings.Join(down, ", ")
	}
	return takeTable(ctx, env, phase, note, down, o)
}

// Observe implements Probe: the table after a policy-engine restart, and the enforcement delay.
func (IsolationTable) Observe(ctx context.Context, env Env, o *Observation) error {
	if r, ok := env.Provider.(topology.PolicyEngineRestarter); ok {
		node, err := lastNode(ctx, env.Provider)
		if err != nil {
			return err
		}
		what, err := r.RestartPolicyEngine(ctx, node)
		if err != nil {
			return fmt.Errorf("restart the policy engine on %s: %w", node, err)
		}
		if err := takeTable(ctx, env, "engine-restart", "restarted "+what, nil, o); err != nil {
			return err
		}
	}
	if t, ok := env.Provider.(topology.PolicyTimer); ok {
		pe, err := t.MeasurePolicyEnforcement(ctx)
		if err != nil {
			return fmt.Errorf("measure policy enforcement: %w", err)
		}
		isolationOf(o).PolicyEnforcement = &pe
	}
	return nil
}

// lastNode is the last node in name order (a worker on kind, where the control plane sorts first).
func lastNode(ctx context.Context, p topology.Provider) (string, error) {
	nodes, err := p.Nodes(ctx)
	if err != nil || len(nodes) == 0 {
		return "", fmt.Errorf("list nodes: %v", err)
	}
	names := make([]string, len(nodes))
	for i, n := range nodes {
		names[i] = n.Name
	}
	return slices.Max(names), nil
}

func isolationOf(o *Observation) *reports.Isolation {
	if o.Isolation == nil {
		o.Isolation = &reports.Isolation{Phases: []reports.IsolationPhase{}, Cells: []reports.IsolationCell{}, ConnectedPairs: []string{}}
	}
	return o.Isolation
}

// takeTable probes every target from every source (the sources concurrently, each batch inside its
// source) and appends the cells, with the claims' expectations, to the observation. While nodes are
// down, a target on one is not judged in either direction (a dead pod neither proves nor breaks
// isolation), and one behind a Service, whose backend may be on a down node, is not judged where it
// is expected allowed, nor where it timed out: only a refusal or a connection says something then.
func takeTable(ctx context.Context, env Env, phase, note string, down []string, o *Observation) error {
	ip := env.Provider.(topology.IsolationProber)
	clock := clockOf(env.Provider)
	start := clock.Now()
	targets, err := ip.IsolationTargets(ctx)
	if err != nil {
		return fmt.Errorf("list isolation targets: %w", err)
	}
	sources, err := ip.IsolationSources(ctx)
	if err != nil {
		return fmt.Errorf("list isolation sources: %w", err)
	}
	sources = slices.DeleteFunc(sources, func(s topology.Source) bool {
		return s.Kind == topology.SourceNode && slices.Contains(down, s.Name)
	})
	results := make([][]topology.ProbeResult, len(sources))
	errs := make([]error, len(sources))
	var wg sync.WaitGroup
	for i, src := range sources {
		wg.Go(func() { results[i], errs[i] = ip.ProbeFrom(ctx, src, targets) })
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	table := isolationOf(o)
	n := 0
	for i, src := range sources {
		for j, t := range targets {
			cell := reports.IsolationCell{Phase: phase, Source: src, Target: t,
				Expected: checkers.ExpectedIsolation(env.Claims.TenantIsolation, src, t)}
			switch {
			case errs[i] != nil:
				cell.Observed, cell.Detail = topology.OutcomeError, "probe from this source failed: "+errs[i].Error()
			case j < len(results[i]):
				r := results[i][j]
				cell.Observed, cell.LatencyMs, cell.Detail = r.Outcome, r.LatencyMs, r.Detail
			default:
				cell.Observed, cell.Detail = topology.OutcomeError, "no result for this target"
			}
			if why := targetDown(cell, down); why != "" {
				cell.Expected = checkers.ExpectAny
				cell.Detail = strings.TrimPrefix(cell.Detail+"; not judged: "+why, "; ")
			}
			table.Cells = append(table.Cells, cell)
			n++
		}
	}
	table.Phases = append(table.Phases, reports.IsolationPhase{Name: phase, Seconds: clock.Now().Sub(start).Seconds(), Cells: n, Note: note})
	env.Log.Info(fmt.Sprintf("isolation table %s: %d cells from %d sources in %s", phase, n, len(sources), clock.Now().Sub(start).Round(1e6)))
	return nil
}

// targetDown says why a cell cannot be judged while nodes are down ("" when it can).
func targetDown(c reports.IsolationCell, down []string) string {
	switch {
	case len(down) == 0 || c.Expected == checkers.ExpectAny:
		return ""
	case c.Target.Pod != "" && slices.Contains(down, c.Target.Node):
		return "its target is on a node that is down"
	case c.Target.Pod == "" && (c.Expected == checkers.ExpectAllowed || c.Observed == topology.OutcomeTimeout):
		return "a Service whose backend may be on a node that is down"
	}
	return ""
}

// isolationInvariant judges the truth table of every phase (DP-NET-3) and marks the cells that
// differ from their expectation for the report.
func isolationInvariant() Invariant {
	return Invariant{Name: "isolation", Control: "DP-NET-3", Check: func(o *Observation, _ claims.Claims) []reports.Check {
		if o.Isolation == nil {
			return []reports.Check{{Name: "isolation", Control: "DP-NET-3", Status: reports.Error, Summary: "no isolation table was taken"}}
		}
		v, differing, pairs := checkers.Isolation(o.Isolation.Cells)
		for i := range o.Isolation.Cells {
			o.Isolation.Cells[i].Differs = checkers.Differs(o.Isolation.Cells[i])
		}
		o.Isolation.Differing = len(differing)
		if pairs != nil {
			o.Isolation.ConnectedPairs = pairs
		}
		return []reports.Check{{Name: "isolation", Control: "DP-NET-3", Status: v.Status, Summary: v.Summary}}
	}}
}
