package checkers

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"dpsim/reports"
	"dpsim/scenarios/history"
	"dpsim/topology"
)

// A record survives the loss of a zone when fewer of its holders (the nodes holding its copies, or
// its erasure-coded parts) sit in the zone than it tolerates losing (Placement.Tolerates): a
// replicated record then has a copy outside the zone, an erasure-coded object enough parts outside
// it to be read. An acknowledged record the store reports no location for has no copy outside any
// zone (fail closed).

// ZoneOutage judges the zone that went down (DP-DUR-5): every acknowledged record must have kept a
// copy outside it, that is survive the loss of the nodes in down. what names the zone in the summary.
func ZoneOutage(ops []history.Op, placements []topology.Placement, what string, down []string) Verdict {
	zoneOf := map[string]string{}
	for _, n := range down {
		zoneOf[n] = what
	}
	z := byZone(ops, placements, zoneOf)
	if z.acknowledged == 0 {
		return Verdict{Status: reports.Error, Summary: "no acknowledged record to inspect"}
	}
	lost := z.lost[what]
	return verdict(len(lost) == 0 && len(z.nowhere) == 0, "%d of %d acknowledged records had no copy outside %s (placement read after it came back)%s%s",
		len(lost), z.acknowledged, what, listed(lost), z.nowhereText())
}

// ZoneSpread judges placement by zone (DP-DUR-5): every acknowledged record must survive the loss of
// any one zone, zoneOf giving the zone of each node (and object-store server). A holder of no known
// zone leaves its record unjudged: an error unless some record fails.
func ZoneSpread(ops []history.Op, placements []topology.Placement, zoneOf map[string]string) Verdict {
	z := byZone(ops, placements, zoneOf)
	if z.acknowledged == 0 {
		return Verdict{Status: reports.Error, Summary: "no acknowledged record to inspect"}
	}
	zones := slices.Sorted(maps.Keys(z.holding))
	summary := fmt.Sprintf("%d acknowledged records held in zones %s", z.acknowledged, listOrNone(zones))
	var failed []string
	for _, zone := range zones {
		if lost := z.lost[zone]; len(lost) > 0 {
			failed = append(failed, fmt.Sprintf("%d would be lost with zone %s (no copy outside it)%s", len(lost), zone, listed(lost)))
		}
	}
	if len(failed) > 0 || len(z.nowhere) > 0 {
		return verdict(false, "%s; %s%s", summary, strings.Join(failed, "; "), z.nowhereText())
	}
	if len(z.unplaced) > 0 {
		return Verdict{Status: reports.Error, Summary: fmt.Sprintf("%s; the zone of %s is not known, so %d records cannot be judged%s",
			summary, strings.Join(slices.Sorted(maps.Keys(z.unplaced)), ", "), len(z.unjudged), listed(z.unjudged))}
	}
	return verdict(true, "%s; each survives the loss of any one zone", summary)
}

// zoneLoss is what the loss of each zone would do to a store's acknowledged records.
type zoneLoss struct {
	acknowledged int
	// lost lists, per zone, the records that do not survive its loss (sorted).
	lost map[string][]string
	// holding counts, per zone, the records with a holder in it.
	holding map[string]int
	// nowhere are the acknowledged records with no location; unjudged those that survive the loss
	// of every known zone but have holders of no known zone (unplaced).
	nowhere, unjudged []string
	unplaced          map[string]bool
}

// byZone works out, for each acknowledged record, which zones' loss it does not survive.
func byZone(ops []history.Op, placements []topology.Placement, zoneOf map[string]string) zoneLoss {
	located := map[string]topology.Placement{}
	for _, p := range placements {
		located[p.ID] = p
	}
	z := zoneLoss{lost: map[string][]string{}, holding: map[string]int{}, unplaced: map[string]bool{}}
	for _, id := range acknowledgedIDs(ops) {
		z.acknowledged++
		p, ok := located[id]
		if !ok {
			z.nowhere = append(z.nowhere, id)
			continue
		}
		held := map[string]int{}
		var unplaced []string
		for _, n := range p.Nodes {
			if zone, ok := zoneOf[n]; ok {
				held[zone]++
			} else {
				unplaced = append(unplaced, n)
			}
		}
		lostSomewhere := false
		for zone, n := range held {
			z.holding[zone]++
			if n > p.Tolerates {
				z.lost[zone] = append(z.lost[zone], id)
				lostSomewhere = true
			}
		}
		if !lostSomewhere && len(unplaced) > 0 {
			z.unjudged = append(z.unjudged, id)
			for _, n := range unplaced {
				z.unplaced[n] = true
			}
		}
	}
	return z
}

// nowhereText names the records with no location, if any.
func (z zoneLoss) nowhereText() string {
	if len(z.nowhere) == 0 {
		return ""
	}
	return fmt.Sprintf("; %d with no location reported by the store%s", len(z.nowhere), listed(z.nowhere))
}

// acknowledgedIDs lists the ids of ops with at least one acknowledged write, sorted.
func acknowledgedIDs(ops []history.Op) []string {
	var ids []string
	for _, op := range ops {
		if op.Outcome == history.OK {
			ids = append(ids, op.ID)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}
