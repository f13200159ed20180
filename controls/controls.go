// Package controls lists the platform's data-protection controls (DP-DUR-1 ... DP-ENC-1), each a
// promise stated from the claims, and composes the verdicts of the scenarios' checks into one
// verdict per control.
package controls

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"dpsim/claims"
	"dpsim/reports"
)

// Def is one control: a stable ID, a title and the claim it proves, worded from the claims.
type Def struct {
	ID    string
	Title string
	Claim func(c claims.Claims) string
}

// Catalogue returns every control in report order.
func Catalogue() []Def {
	return []Def{
		{"DP-DUR-1", "Data components run on enough nodes", func(c claims.Claims) string {
			return fmt.Sprintf("every data-storing component (Kafka, Elasticsearch, StackGraph, the object store) runs on at least %d nodes", c.MinNodesPerComponent)
		}},
		{"DP-DUR-2", "Every record is replicated", func(c claims.Claims) string {
			if c.MinCopiesAt == claims.CopiesOnceSettled {
				return fmt.Sprintf("every acknowledged record is stored on at least %d distinct nodes once the platform has settled (a weaker promise: not from its acknowledgement)", c.MinCopies)
			}
			return fmt.Sprintf("every acknowledged record is stored on at least %d distinct nodes from its acknowledgement on", c.MinCopies)
		}},
		{"DP-DUR-3", "Node loss loses no acknowledged write", func(c claims.Claims) string {
			return fmt.Sprintf("losing one node (or cutting it off) loses at most %d acknowledged writes", c.MaxLostOnNodeLoss)
		}},
		{"DP-DUR-4", "Drive loss loses no acknowledged write", func(c claims.Claims) string {
			return fmt.Sprintf("losing one drive (volume) loses at most %d acknowledged writes", c.MaxLostOnDriveLoss)
		}},
		{"DP-DUR-5", "Zone outage", func(c claims.Claims) string {
			return fmt.Sprintf("volumes live in one availability zone, so every record keeps a copy outside each zone; a zone outage loses at most %d acknowledged writes once the zone is back", c.MaxLostOnZoneLoss)
		}},
		{"DP-BAK-1", "Daily backups of every data volume", func(c claims.Claims) string {
			return fmt.Sprintf("every data volume is backed up at least every %s and a completed backup covers every volume", c.BackupInterval)
		}},
		{"DP-BAK-2", "Backups restore", func(claims.Claims) string {
			return "a backup restores every write acknowledged before it, and nothing written after it"
		}},
		{"DP-BAK-3", "Backup retention", func(c claims.Claims) string {
			return fmt.Sprintf("backups are kept for %s and then removed from the object store", c.BackupRetention)
		}},
		{"DP-BAK-4", "The backup store survives a drive loss", func(claims.Claims) string {
			return "the object store replicates across drives: with one drive lost, every backup is still readable"
		}},
		{"DP-OFF-1", "Offboarding deletes everything", func(claims.Claims) string {
			return "a departing customer's services, volumes and all its backups are deleted"
		}},
		{"DP-NET-1", "Only the ingress is exposed, over TLS", func(claims.Claims) string {
			return "only the ingress controller is reachable from outside, and only over TLS"
		}},
		{"DP-NET-2", "TLS posture", func(c claims.Claims) string {
			return fmt.Sprintf("the ingress accepts exactly TLS %s, with ECDSA %s certificates living at most %s",
				strings.Join(c.TLSVersions, " and "), c.CertCurve, c.MaxCertLifetime)
		}},
		{"DP-NET-3", "Tenant network isolation", func(c claims.Claims) string {
			return fmt.Sprintf("tenant isolation %q: each customer's namespace accepts connections only from itself and the ingress", c.TenantIsolation)
		}},
		{"DP-AUTH-1", "OIDC authentication", func(c claims.Claims) string {
			return fmt.Sprintf("authentication is %s with Keycloak; a token of one tenant is refused by another", strings.ToUpper(c.AuthProtocol))
		}},
		{"DP-AUTH-2", "Password storage", func(c claims.Claims) string {
			return fmt.Sprintf("passwords are stored salted, as %s with %d iterations", strings.ToUpper(c.HashAlgorithm), c.HashIterations)
		}},
		{"DP-ENC-1", "Encryption at rest", func(claims.Claims) string {
			return "data volumes are encrypted at rest"
		}},
	}
}

// IDs returns every control ID in report order.
func IDs() []string {
	var ids []string
	for _, d := range Catalogue() {
		ids = append(ids, d.ID)
	}
	return ids
}

// Judge composes one verdict per control from the scenarios' checks (each check names its control);
// the worst verdict wins. A control with no check that ran is skipped, with the reasons its
// scenarios gave. A control whose evidence is partly missing is never a plain pass: when a selected
// scenario that claims it was skipped while others judged it, the part that scenario would have
// judged is missing, so what would be a pass is an error naming the skipped scenario and why (which
// part of the claim a scenario covers is not known here, so no scenario's evidence stands in for
// another's); a fail or error keeps its status and names the skipped scenario too.
func Judge(c claims.Claims, scenarios []reports.Scenario) []reports.Control {
	var out []reports.Control
	for _, d := range Catalogue() {
		ctl := reports.Control{ID: d.ID, Title: d.Title, Claim: d.Claim(c), Scenarios: []string{}, Evidence: []reports.Evidence{}}
		var skipReasons []string
		for _, s := range scenarios {
			if !slices.Contains(s.Controls, d.ID) {
				continue
			}
			ctl.Scenarios = append(ctl.Scenarios, s.Name)
			if s.Status == reports.Skipped {
				skipReasons = append(skipReasons, s.Name+": "+orUnsaid(s.Reason, "skipped without a reason"))
				continue
			}
			ctl.Evidence = append(ctl.Evidence, evidenceFor(d.ID, s)...)
		}
		if len(ctl.Evidence) > 0 {
			ctl.Evidence = append(ctl.Evidence, claimEvidence(c, d.ID)...)
		}
		sort.Strings(skipReasons)
		ctl.Status, ctl.Reason = verdictOf(ctl, skipReasons)
		out = append(out, ctl)
	}
	return out
}

// evidenceFor is what scenario s, which ran (or broke), gives for control id: its checks of the
// control, or else an error saying why there are none. The run breaking before any check is the
// scenario's reason; a scenario that judged other things but not this control gave no evidence.
func evidenceFor(id string, s reports.Scenario) []reports.Evidence {
	var ev []reports.Evidence
	for _, chk := range s.Checks {
		if chk.Control == id {
			ev = append(ev, reports.Evidence{Scenario: s.Name, Check: chk.Label(), Status: chk.Status,
				Summary: orUnsaid(chk.Summary, "the check gave no summary")})
		}
	}
	if len(ev) > 0 {
		return ev
	}
	summary := "the scenario ran but gave no evidence for this control"
	if s.Status == reports.Error && len(s.Checks) == 0 {
		summary = orUnsaid(s.Reason, "the scenario broke without a reason")
	}
	return []reports.Evidence{{Scenario: s.Name, Check: "run", Status: reports.Error, Summary: summary}}
}

// verdictOf is a control's status and reason from its evidence and the reasons its skipped
// scenarios gave (see Judge).
func verdictOf(ctl reports.Control, skipReasons []string) (reports.Status, string) {
	var statuses []reports.Status
	for _, e := range ctl.Evidence {
		statuses = append(statuses, e.Status)
	}
	status := reports.Worst(statuses...)
	switch {
	case len(ctl.Scenarios) == 0:
		return reports.Skipped, "no selected scenario proves this control"
	case len(ctl.Evidence) == 0:
		return reports.Skipped, strings.Join(skipReasons, "; ")
	case len(skipReasons) == 0 && status == reports.Pass:
		return reports.Pass, ""
	case len(skipReasons) == 0:
		return status, firstSummary(ctl.Evidence, status)
	case status == reports.Pass:
		return reports.Error, fmt.Sprintf("judged in part only: %s passed, but its other scenarios were skipped (%s), so their part of the claim has no evidence",
			strings.Join(judgedBy(ctl.Evidence), ", "), strings.Join(skipReasons, "; "))
	}
	return status, firstSummary(ctl.Evidence, status) + "; not judged: " + strings.Join(skipReasons, "; ")
}

// judgedBy names the scenarios that gave evidence, each once, in order.
func judgedBy(ev []reports.Evidence) []string {
	var names []string
	for _, e := range ev {
		if !slices.Contains(names, e.Scenario) {
			names = append(names, e.Scenario)
		}
	}
	return names
}

// orUnsaid is s, or unsaid when s is blank: no reason or summary is ever empty.
func orUnsaid(s, unsaid string) string {
	if strings.TrimSpace(s) == "" {
		return unsaid
	}
	return s
}

func firstSummary(ev []reports.Evidence, status reports.Status) string {
	for _, e := range ev {
		if e.Status == status {
			return e.Scenario + "/" + e.Check + ": " + e.Summary
		}
	}
	return ""
}
