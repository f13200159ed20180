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
			return fmt.Sprintf("volumes live in one availability zone; a zone outage loses at most %d acknowledged writes once the zone is back", c.MaxLostOnZoneLoss)
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
// scenarios gave.
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
			switch s.Status {
			case reports.Skipped:
				skipReasons = append(skipReasons, s.Name+": "+s.Reason)
			case reports.Error:
				ctl.Evidence = append(ctl.Evidence, reports.Evidence{Scenario: s.Name, Check: "run", Status: reports.Error, Summary: s.Reason})
			}
			judged := false
			for _, chk := range s.Checks {
				if chk.Control == d.ID {
					judged = true
					ctl.Evidence = append(ctl.Evidence, reports.Evidence{Scenario: s.Name, Check: checkName(chk), Status: chk.Status, Summary: chk.Summary})
				}
			}
			if !judged && (s.Status == reports.Pass || s.Status == reports.Fail) {
				// The scenario ran but none of its checks spoke to this control: no evidence is an
				// error, never a pass and never a silent skip.
				ctl.Evidence = append(ctl.Evidence, reports.Evidence{Scenario: s.Name, Check: "run", Status: reports.Error,
					Summary: "the scenario ran but gave no evidence for this control"})
			}
		}
		if len(ctl.Evidence) > 0 {
			ctl.Evidence = append(ctl.Evidence, claimEvidence(c, d.ID)...)
		}
		var statuses []reports.Status
		for _, e := range ctl.Evidence {
			statuses = append(statuses, e.Status)
		}
		ctl.Status = reports.Worst(statuses...)
		switch {
		case len(ctl.Scenarios) == 0:
			ctl.Reason = "no selected scenario proves this control"
		case ctl.Status == reports.Skipped:
			sort.Strings(skipReasons)
			ctl.Reason = strings.Join(skipReasons, "; ")
		case ctl.Status != reports.Pass:
			ctl.Reason = firstSummary(ctl.Evidence, ctl.Status)
		}
		if ctl.Reason == "" && ctl.Status != reports.Pass {
			ctl.Reason = "no evidence: its scenarios gave no reason" // never an empty reason
		}
		out = append(out, ctl)
	}
	return out
}

func checkName(c reports.Check) string {
	parts := []string{c.Name}
	if c.Tenant != "" {
		parts = append(parts, c.Tenant)
	}
	if c.Store != "" {
		parts = append(parts, c.Store)
	}
	return strings.Join(parts, "/")
}

func firstSummary(ev []reports.Evidence, status reports.Status) string {
	for _, e := range ev {
		if e.Status == status {
			return e.Scenario + "/" + e.Check + ": " + e.Summary
		}
	}
	return ""
}
