package checkers

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"dpsim/reports"
	"dpsim/topology"
)

// Leftovers judges an offboarding (DP-OFF-1) by one search run twice: before the offboarding it
// must find the tenant's namespace, volumes, backups, repository objects and bucket objects
// (proof that it would see them), afterwards nothing. Anything found afterwards fails; a class
// the search did not find before leaves it blind to that class (error).
func Leftovers(tenant string, before, after []topology.Remnant) Verdict {
	counts := RemnantCounts(before, after)
	if len(after) > 0 {
		return verdict(false, "tenant %s was offboarded but %d things remain: %s (search before and after: %s)",
			tenant, len(after), remnantList(after), countList(counts))
	}
	var unseen []string
	for _, c := range counts {
		if c.Before == 0 && slices.Contains(topology.OffboardingClasses, c.Class) {
			unseen = append(unseen, c.Class)
		}
	}
	if len(unseen) > 0 {
		return Verdict{Status: reports.Error, Summary: fmt.Sprintf("the search found no %s of tenant %s before offboarding it, so finding none afterwards proves nothing (search before and after: %s)",
			strings.Join(unseen, ", "), tenant, countList(counts))}
	}
	return verdict(true, "nothing of tenant %s remains: the search for its %s, run before and after offboarding, found %s",
		tenant, strings.Join(topology.OffboardingClasses, ", "), countList(counts))
}

// RemnantCounts counts by class what the offboarding search found before and after: every class
// offboarding must remove first, in order, then any other class found.
func RemnantCounts(before, after []topology.Remnant) []reports.RemnantCount {
	byClass := map[string]*reports.RemnantCount{}
	out := []reports.RemnantCount{}
	for _, c := range append(slices.Clone(topology.OffboardingClasses), topology.ClassOther) {
		out = append(out, reports.RemnantCount{Class: c})
	}
	for i := range out {
		byClass[out[i].Class] = &out[i]
	}
	for _, r := range before {
		byClass[r.Class()].Before++
	}
	for _, r := range after {
		byClass[r.Class()].After++
	}
	return out
}

// countList is "namespace 1 before, 0 after; volumes 10 before, 0 after; ...".
func countList(counts []reports.RemnantCount) string {
	var parts []string
	for _, c := range counts {
		parts = append(parts, fmt.Sprintf("%s %d before, %d after", c.Class, c.Before, c.After))
	}
	return strings.Join(parts, "; ")
}

// remnantList names the remnants by kind, a sample of each.
func remnantList(remains []topology.Remnant) string {
	byKind := map[string][]string{}
	for _, r := range remains {
		name := r.Name
		if r.Where != "" {
			name += " (" + r.Where + ")"
		}
		byKind[r.Kind] = append(byKind[r.Kind], name)
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(byKind)) {
		parts = append(parts, fmt.Sprintf("%d %s: %s", len(byKind[k]), k, strings.Join(sample(byKind[k]), ", ")))
	}
	return strings.Join(parts, "; ")
}
