package checkers

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"dpsim/reports"
	"dpsim/topology"
)

// What the claims expect of one cell of the isolation truth table.
const (
	ExpectAllowed = "allowed" // the probe must connect
	ExpectBlocked = "blocked" // the probe must not connect (refused or timed out)
	ExpectAny     = "any"     // the claim promises nothing about this cell; it is not judged
)

// Cell is one cell of the isolation truth table (see reports.IsolationCell).
type Cell = reports.IsolationCell

// ExpectedIsolation derives a cell's expectation from the tenantIsolation claim, never from the spec:
//
//   - a tenant reaching its own namespace is always expected allowed (otherwise the platform is
//     broken, whatever it promises);
//   - a node reaching a pod that may run on that very node is not judged (ExpectAny): Kubernetes
//     NetworkPolicy cannot block a pod's own node (kubelet probes come from it), and a Service
//     address (target without a Pod) may be answered by such a pod;
//   - under "namespace" everything else (other tenants, pods outside any tenant, other nodes) is
//     expected blocked; under "none" nothing else is promised (ExpectAny).
//
// An unknown claim gives "", which the Isolation checker reports as an error.
//
// A name that does not resolve from the source (dns-failure) is its own outcome: where the cell is
// expected blocked it is not judged (kind nodes, for instance, do not use the cluster DNS; every
// target is also probed by IP, and those cells judge the policy); where it is expected allowed the
// target was not reached, which fails.
func ExpectedIsolation(isolation string, src topology.Source, dst topology.Target) string {
	switch {
	case src.Kind == topology.SourceTenant && src.Tenant == dst.Tenant:
		return ExpectAllowed
	case src.Kind == topology.SourceNode && (dst.Pod == "" || dst.Node == src.Name):
		return ExpectAny
	case isolation == "namespace":
		return ExpectBlocked
	case isolation == "none":
		return ExpectAny
	}
	return ""
}

// Differs reports whether a judged cell's observation contradicts its expectation: a cell
// expected blocked that connected, or one expected allowed that was refused, timed out or did not
// resolve.
func Differs(c Cell) bool {
	return judged(c) && (c.Expected == ExpectAllowed) != c.Observed.Reached()
}

// judged reports whether a cell can be judged: it expects allowed or blocked, and its probe either
// connected or was blocked (not an error); a name that did not resolve is judged only where the
// cell expects allowed.
func judged(c Cell) bool {
	switch {
	case c.Expected == ExpectAllowed:
		return c.Observed.Reached() || c.Observed.Blocked() || c.Observed == topology.OutcomeDNSFailure
	case c.Expected == ExpectBlocked:
		return c.Observed.Reached() || c.Observed.Blocked()
	}
	return false
}

// unresolvedBlocked reports whether a cell expected blocked did not resolve: not judged, and no
// error either (the same target's IP cells judge the policy).
func unresolvedBlocked(c Cell) bool {
	return c.Expected == ExpectBlocked && c.Observed == topology.OutcomeDNSFailure
}

// Isolation judges a truth table taken in any number of phases. It fails when any cell expected
// blocked connected in any phase (the summary and the returned pairs name the sources and tenants
// that connected, with the ports and address kinds) and when any cell expected allowed was not
// reached (a broken platform). Cells whose probe errored, or whose expectation is unknown, make
// the verdict an error unless something failed. It returns the cells that differ from their
// expectation, in table order.
func Isolation(cells []Cell) (Verdict, []Cell, []string) {
	if len(cells) == 0 {
		return Verdict{Status: reports.Error, Summary: "no isolation probe was made"}, nil, nil
	}
	var phases []string
	var differing, broken, unjudged []Cell
	var allowed, refused, timedOut, unresolved, ignored int
	for _, c := range cells {
		if !slices.Contains(phases, c.Phase) {
			phases = append(phases, c.Phase)
		}
		switch {
		case c.Expected == ExpectAny:
			ignored++
		case unresolvedBlocked(c):
			unresolved++
		case !judged(c):
			unjudged = append(unjudged, c)
		case Differs(c):
			differing = append(differing, c)
			if c.Expected == ExpectAllowed {
				broken = append(broken, c)
			}
		case c.Observed == topology.OutcomeAllowed:
			allowed++
		case c.Observed == topology.OutcomeRefused:
			refused++
		default:
			timedOut++
		}
	}
	pairs := connectedPairs(differing, len(phases))
	var problems []string
	if len(pairs) > 0 {
		problems = append(problems, "connected where the claim forbids it: "+strings.Join(pairs, "; "))
	}
	if len(broken) > 0 {
		problems = append(problems, fmt.Sprintf("%d cells expected allowed were not reached, e.g. %s", len(broken), cellString(broken[0])))
	}
	switch {
	case len(problems) > 0:
		return verdict(false, "%s", strings.Join(problems, "; ")), differing, pairs
	case len(unjudged) > 0:
		return Verdict{Status: reports.Error, Summary: fmt.Sprintf("%d of %d probes could not be judged, e.g. %s (expected %q)",
			len(unjudged), len(cells), cellString(unjudged[0]), unjudged[0].Expected)}, differing, pairs
	}
	return verdict(true, "%d cells in phases %s: %d allowed as expected, %d blocked as expected (%d refused, %d timed out), %d unresolved names (not judged: their IP cells judge the policy), %d not judged",
		len(cells), strings.Join(phases, ", "), allowed, refused+timedOut, refused, timedOut, unresolved, ignored), differing, pairs
}

// connectedPairs groups the cells expected blocked that connected by source and target tenant:
// "tenant-b -> tenant-a: kafka:9092 (pod-ip), ...". A port that opened only in some of the table's
// phases names them: "kafka:9092 (pod-ip; during)".
func connectedPairs(differing []Cell, allPhases int) []string {
	opened := map[string]map[string][]string{} // pair -> port -> phases
	for _, c := range differing {
		if c.Expected != ExpectBlocked {
			continue
		}
		pair := c.Source.Label() + " -> " + c.Target.Tenant
		if opened[pair] == nil {
			opened[pair] = map[string][]string{}
		}
		port := portLabel(c.Target) + " (" + c.Target.AddressKind
		if !slices.Contains(opened[pair][port], c.Phase) {
			opened[pair][port] = append(opened[pair][port], c.Phase)
		}
	}
	var out []string
	for _, pair := range slices.Sorted(maps.Keys(opened)) {
		var ports []string
		for _, port := range slices.Sorted(maps.Keys(opened[pair])) {
			if ph := opened[pair][port]; len(ph) < allPhases {
				port += "; " + strings.Join(ph, ", ")
			}
			ports = append(ports, port+")")
		}
		out = append(out, pair+": "+strings.Join(ports, ", "))
	}
	return out
}

// portLabel is "component:port", with "/udp" for UDP.
func portLabel(t topology.Target) string {
	s := fmt.Sprintf("%s:%d", t.Component, t.Port)
	if t.Protocol == topology.ProtocolUDP {
		s += "/udp"
	}
	return s
}

func cellString(c Cell) string {
	return fmt.Sprintf("%s -> %s %s at %s (%s) %s in phase %s", c.Source.Label(), c.Target.Tenant, portLabel(c.Target),
		c.Target.Address, c.Target.AddressKind, c.Observed, c.Phase)
}
