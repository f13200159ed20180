package reports

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// This file holds the presentation helpers every renderer shares, so JUnit, Markdown and HTML
// agree on labels, ordering, number formats and what a control's one-line explanation is.

// statusOrder is the order verdicts are listed in summaries: worst first.
var statusOrder = []Status{Fail, Error, Pass, Skipped}

// verdict maps a status to one of the four verdicts; anything unknown counts as Error, as Tally does.
func verdict(s Status) Status {
	switch s {
	case Pass, Fail, Skipped:
		return s
	default:
		return Error
	}
}

// statusLabel is the upper-case label of a verdict, e.g. "FAIL".
func statusLabel(s Status) string {
	return strings.ToUpper(string(verdict(s)))
}

// statusCount is one verdict and how many controls have it.
type statusCount struct {
	Status Status
	Label  string
	Count  int
}

// summaryCounts tallies the controls (rather than trusting Run.Summary, so the counts always match
// the control table) and lists them in statusOrder.
func summaryCounts(controls []Control) []statusCount {
	s := Tally(controls)
	n := map[Status]int{Pass: s.Pass, Fail: s.Fail, Skipped: s.Skipped, Error: s.Error}
	out := make([]statusCount, 0, len(statusOrder))
	for _, st := range statusOrder {
		out = append(out, statusCount{Status: st, Label: statusLabel(st), Count: n[st]})
	}
	return out
}

// summaryLine is e.g. "1 fail, 0 error, 3 pass, 1 skipped (5 controls)".
func summaryLine(controls []Control) string {
	parts := make([]string, 0, len(statusOrder))
	for _, c := range summaryCounts(controls) {
		parts = append(parts, fmt.Sprintf("%d %s", c.Count, c.Status))
	}
	return fmt.Sprintf("%s (%d controls)", strings.Join(parts, ", "), len(controls))
}

// controlDetail is a control's one-line explanation: its reason, or else its first evidence.
func controlDetail(c Control) string {
	if c.Reason != "" {
		return c.Reason
	}
	if len(c.Evidence) == 0 {
		return ""
	}
	return evidenceLine(c.Evidence[0])
}

// evidenceLine is e.g. "[fail] broker-loss/ledger: 3 acknowledged writes lost".
func evidenceLine(e Evidence) string {
	where := e.Scenario
	if e.Check != "" {
		where += "/" + e.Check
	}
	return fmt.Sprintf("[%s] %s: %s", verdict(e.Status), where, e.Summary)
}

// finite returns x, or 0 if x is NaN or infinite, so no renderer ever prints NaN or Inf.
func finite(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return x
}

// secs formats a duration in seconds compactly, e.g. "12.5s" or "0s".
func secs(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "n/a"
	}
	return strconv.FormatFloat(math.Round(x*100)/100, 'f', -1, 64) + "s"
}

// recoverySecs formats Recovery.Seconds, where a negative value means no write was acknowledged.
func recoverySecs(x float64) string {
	if x < 0 {
		return "never"
	}
	return secs(x)
}

// stamp formats a wall-clock time in UTC, or "n/a" if it was never set.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "n/a"
	}
	return t.UTC().Format(time.RFC3339)
}

// faultLabel names a fault, e.g. "kill-node broker-2".
func faultLabel(f Fault) string {
	return strings.TrimSpace(f.Kind + " " + f.Target)
}

// versionsLine lists component versions sorted by name, e.g. "dpsim=1.0, kafka=3.7".
func versionsLine(v map[string]string) string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+v[k])
	}
	return strings.Join(parts, ", ")
}

// field is one labelled value of a header; renderers skip empty values.
type field struct{ Name, Value string }

// runFields are the facts about a run every renderer shows in its header.
func runFields(run Run, controls []Control) []field {
	return nonEmpty([]field{
		{"Provider", run.Provider},
		{"Seed", strconv.FormatInt(run.Seed, 10)},
		{"Spec", specLine(run)},
		{"Claims hash", run.ClaimsHash},
		{"Scenarios selected", strings.Join(run.Scenarios, ", ")},
		{"Started", stamp(run.Started)},
		{"Finished", stamp(run.Finished)},
		{"Duration", secs(run.DurationSeconds)},
		{"Versions", versionsLine(run.Versions)},
		{"Summary", summaryLine(controls)},
	})
}

// scenarioFields are the facts about a scenario shown under its heading.
func scenarioFields(s Scenario) []field {
	return nonEmpty([]field{
		{"Reason", s.Reason},
		{"Controls", strings.Join(s.Controls, ", ")},
		{"Duration", secs(s.DurationSeconds)},
	})
}

func nonEmpty(fields []field) []field {
	out := fields[:0]
	for _, f := range fields {
		if f.Value != "" {
			out = append(out, f)
		}
	}
	return out
}

// section is one table of a scenario's data. RowClass gives each row's verdict for renderers that
// colour rows ("" for none).
type section struct {
	Title    string
	Header   []string
	Rows     [][]string
	RowClass []Status
}

func (s *section) add(class Status, cells ...string) {
	s.Rows = append(s.Rows, cells)
	s.RowClass = append(s.RowClass, class)
}

// scenarioSections lays out a scenario's data as tables, leaving out the empty ones.
func scenarioSections(s Scenario) []section {
	all := []section{
		evidenceSection(s.Logs), faultSection(s.Faults), unhealedSection(s.Unhealed), ledgerSection(s.Ledgers), identitySection(s.Ledgers),
		checkSection(s.Checks), placementSection(s.Placements), recoverySection(s.Recovery), eventSection(s.Events),
	}
	if s.Isolation != nil {
		all = append(all, isolationPhaseSection(*s.Isolation), isolationSummarySection(*s.Isolation), differingSection(*s.Isolation))
	}
	all = append(all, edgeSections(s)...)
	if b := s.Backups; b != nil {
		all = append(all, scheduleSection(b.Schedules), backupSection(b.Backups), restoreSection(b.Restores, s.Ledgers),
			expirySection(b.Expiry), backupDriveLossSection(b.DriveLoss), offboardingSection(b.Offboarding))
	}
	out := all[:0]
	for _, sec := range all {
		if len(sec.Rows) > 0 {
			out = append(out, sec)
		}
	}
	return out
}

func faultSection(faults []Fault) section {
	sec := section{Title: "Faults", Header: []string{"Kind", "Target", "Start", "End", "Evidence it took effect"}}
	for _, f := range faults {
		class := Status("")
		if len(f.Effect) == 0 {
			class = Error
		}
		sec.add(class, f.Kind, f.Target, secs(f.StartSeconds), secs(f.EndSeconds), strings.Join(f.Effect, "; "))
	}
	return sec
}

// unhealedSection lists what recovery could not undo or what did not settle.
func unhealedSection(unhealed []string) section {
	sec := section{Title: "Not healed", Header: []string{"What"}}
	for _, u := range unhealed {
		sec.add(Fail, u)
	}
	return sec
}

// evidenceSection names the folder, beside the report, of what was collected to explain a failure.
func evidenceSection(logs string) section {
	sec := section{Title: "Evidence collected", Header: []string{"Folder (beside this report)", "What"}}
	if logs != "" {
		sec.add("", logs, "the pods' logs from the scenario's start and their events, what was not ready and why, the nodes' conditions")
	}
	return sec
}

// placementSection lists the sampled records and the nodes the stores reported holding them.
func placementSection(samples []PlacementSample) section {
	sec := section{Title: "Placement samples", Header: []string{"Tenant", "Store", "Record", "Nodes"}}
	for _, p := range samples {
		sec.add("", p.Tenant, p.Store, p.ID, strings.Join(p.Nodes, ", "))
	}
	return sec
}

func ledgerSection(ledgers []Ledger) section {
	sec := section{Title: "Ledgers", Header: []string{"Tenant", "Store", "Attempted", "Acknowledged",
		"Failed", "Unknown", "Lost", "Unexpected", "Duplicated", "Recovered", "Failed but present", "Corrupt", "Acknowledged with too few copies", "Unreadable"}}
	for _, l := range ledgers {
		cells := []string{l.Tenant, l.Store}
		for _, n := range []int{l.Attempted, l.Acknowledged, l.Failed, l.Unknown, l.Lost, l.Unexpected, l.Duplicated, l.Recovered, l.FailedPresent, l.Corrupt, l.ThinAcknowledged} {
			cells = append(cells, strconv.Itoa(n))
		}
		cells = append(cells, strings.Join(l.Unreadable, "; "))
		class := Status("")
		if l.Lost > 0 || l.Unexpected > 0 || l.FailedPresent > 0 || l.Corrupt > 0 || l.ThinAcknowledged > 0 {
			class = Fail
		}
		sec.add(class, cells...)
	}
	return sec
}

// identitySection lists the first lost, unexpected, failed-but-present, corrupt and thinly
// acknowledged identities of each ledger, and the store's own answers to the failed-but-present and
// thin ones.
func identitySection(ledgers []Ledger) section {
	sec := section{Title: "Lost, unexpected, failed-but-present, corrupt and thinly acknowledged identities", Header: []string{"Tenant", "Store", "Kind", "First identities"}}
	for _, l := range ledgers {
		for _, k := range []struct {
			kind string
			ids  []string
		}{{"lost", l.LostIDs}, {"unexpected", l.UnexpectedIDs}, {"failed but present", l.FailedPresentIDs},
			{"failed but present: the store's answers", l.FailedPresentAnswers}, {"corrupt", l.CorruptIDs},
			{"acknowledged with too few copies", l.ThinIDs}, {"acknowledged with too few copies: the store's answers", l.ThinAnswers}} {
			if len(k.ids) > 0 {
				sec.add(Fail, l.Tenant, l.Store, k.kind, strings.Join(k.ids, ", "))
			}
		}
	}
	return sec
}

func checkSection(checks []Check) section {
	sec := section{Title: "Checks", Header: []string{"Check", "Tenant", "Store", "Status", "Summary"}}
	for _, c := range checks {
		sec.add(verdict(c.Status), c.Name, c.Tenant, c.Store, statusLabel(c.Status), c.Summary)
	}
	return sec
}

func recoverySection(recovery []Recovery) section {
	sec := section{Title: "Recovery", Header: []string{"Tenant", "Store", "Fault", "Recovered after", "Longest unavailable", "Acknowledged/s during the fault", "By partition or shard"}}
	for _, r := range recovery {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(r.AckedPerSecondByPart)) {
			parts = append(parts, k+": "+strconv.FormatFloat(finite(r.AckedPerSecondByPart[k]), 'f', 0, 64))
		}
		sec.add("", r.Tenant, r.Store, r.Fault, recoverySecs(r.Seconds), secs(r.UnavailableSeconds),
			strconv.FormatFloat(finite(r.AckedPerSecond), 'f', 0, 64), strings.Join(parts, ", "))
	}
	return sec
}

// scheduleSection lists the live backup schedules.
func scheduleSection(scheds []BackupSchedule) section {
	sec := section{Title: "Backup schedules", Header: []string{"Schedule", "Cron", "Longest gap over a year", "TTL", "Tenants"}}
	for _, s := range scheds {
		sec.add("", s.Name, s.Cron, secs(s.LongestGapSeconds), s.TTL, strings.Join(s.Tenants, ", "))
	}
	return sec
}

// backupSection lists the backups a scenario made, with the data volumes they left out.
func backupSection(backups []Backup) section {
	sec := section{Title: "Backups", Header: []string{"Backup", "Tenant", "Phase", "Took", "Bytes", "Volumes / data volumes", "Left out", "Warnings"}}
	for _, b := range backups {
		class := Status("")
		if len(b.MissingVolumes) > 0 || b.Phase != "Completed" {
			class = Fail
		}
		sec.add(class, b.Name, b.Tenant, b.Phase, secs(b.DurationSeconds), strconv.FormatInt(b.Bytes, 10),
			fmt.Sprintf("%d / %d", b.Volumes, b.DataVolumes), strings.Join(b.MissingVolumes, ", "), strings.Join(b.Warnings, "; "))
	}
	return sec
}

// restoreSection lists each restore and, per store, the records around its backup.
func restoreSection(restores []Restore, ledgers []Ledger) section {
	sec := section{Title: "Restores", Header: []string{"Tenant", "Store", "Backup", "Phase", "RTO", "RPO",
		"Acknowledged before the backup", "Restored", "Lost", "Markers found / acknowledged / written", "Acknowledged after it began, gone"}}
	for _, r := range restores {
		class := Status("")
		if r.Phase != "Completed" {
			class = Fail
		}
		sec.add(class, r.Tenant, "", r.Backup, r.Phase,
			secs(r.RTOSeconds), secs(r.RPOSeconds), "", "", "", "", "")
		for _, l := range ledgers {
			if l.Restore == nil || l.Tenant != r.Tenant {
				continue
			}
			class := Status("")
			if l.Lost > 0 || l.Corrupt > 0 || l.Restore.MarkersFound > 0 {
				class = Fail
			}
			sec.add(class, l.Tenant, l.Store, r.Backup, "", "", "", strconv.Itoa(l.Restore.AcknowledgedBefore), strconv.Itoa(l.Restore.Restored),
				strconv.Itoa(l.Lost), fmt.Sprintf("%d / %d / %d", l.Restore.MarkersFound, l.Restore.MarkersAcknowledged, l.Restore.Markers), strconv.Itoa(l.Restore.WindowLost))
		}
	}
	return sec
}

// expirySection shows the retention experiment.
func expirySection(e *Expiry) section {
	sec := section{Title: "Expiry", Header: []string{"Expired backup (TTL)", "Kept backup", "Waited", "GC period", "Objects left of the expired", "Repository objects (bytes) after"}}
	if e != nil {
		class := Status("")
		if len(e.ObjectsLeft) > 0 {
			class = Fail
		}
		sec.add(class, e.Expired+" ("+e.ExpiredTTL+")", e.Kept, secs(e.WaitedSeconds), e.GCPeriod, strings.Join(e.ObjectsLeft, ", "),
			fmt.Sprintf("%d (%d)", e.RepositoryObjects, e.RepositoryBytes))
	}
	return sec
}

// backupDriveLossSection shows the backups read back with object-store drives down.
func backupDriveLossSection(steps []BackupDriveLoss) section {
	sec := section{Title: "Backups with object-store drives down", Header: []string{"Drives down", "Within the claim", "Backups listed", "Objects", "Unreadable"}}
	for _, st := range steps {
		sec.add(verdict(st.Status), st.Fault, strconv.FormatBool(st.WithinClaim), strconv.Itoa(st.Listed), strconv.Itoa(st.Objects), strings.Join(st.Unreadable, "; "))
	}
	return sec
}

// offboardingSection lists what the search found before and after offboarding, what offboarding
// did and what remained.
func offboardingSection(o *Offboarding) section {
	sec := section{Title: "Offboarding", Header: []string{"Tenant", "Step or remnant", "What"}}
	if o == nil {
		return sec
	}
	for _, c := range o.Searched {
		var class Status
		if c.After > 0 {
			class = Fail
		}
		sec.add(class, o.Tenant, "searched", fmt.Sprintf("%s: %d found before offboarding, %d after", c.Class, c.Before, c.After))
	}
	for _, st := range o.Steps {
		sec.add("", o.Tenant, "step", st)
	}
	for _, r := range o.Remains {
		what := r.Kind + " " + r.Name
		if r.Where != "" {
			what += " (" + r.Where + ")"
		}
		sec.add(Fail, o.Tenant, "remains", what)
	}
	return sec
}

// isolationPhaseSection lists the takings of the truth table and the policy enforcement measure.
func isolationPhaseSection(iso Isolation) section {
	sec := section{Title: "Isolation table phases", Header: []string{"Phase", "Took", "Cells", "Note"}}
	for _, p := range iso.Phases {
		sec.add("", p.Name, secs(p.Seconds), strconv.Itoa(p.Cells), p.Note)
	}
	if pe := iso.PolicyEnforcement; pe != nil {
		took := "never, within the limit"
		if pe.Seconds >= 0 {
			took = secs(pe.Seconds)
		}
		cut := "kept working"
		if pe.PreexistingCut {
			cut = "cut"
		}
		sec.add("", "new deny policy", took, "", fmt.Sprintf("enforced after %s; a connection opened before it: %s. %s", took, cut, pe.Detail))
	}
	return sec
}

// isolationSummarySection counts the cells per phase, source and target tenant.
func isolationSummarySection(iso Isolation) section {
	sec := section{Title: "Isolation truth table", Header: []string{"Phase", "Source", "Target tenant", "Cells", "Allowed", "Blocked", "Not judged", "Differing"}}
	type key struct{ phase, source, tenant string }
	type tally struct{ cells, allowed, blocked, any, differing int }
	var order []key
	counts := map[key]*tally{}
	for _, c := range iso.Cells {
		k := key{c.Phase, c.Source.Label(), c.Target.Tenant}
		t := counts[k]
		if t == nil {
			t = &tally{}
			counts[k] = t
			order = append(order, k)
		}
		t.cells++
		switch {
		case c.Observed.Reached():
			t.allowed++
		case c.Observed.Blocked():
			t.blocked++
		}
		if c.Expected == "any" {
			t.any++
		}
		if c.Differs {
			t.differing++
		}
	}
	for _, k := range order {
		t := counts[k]
		class := Status("")
		if t.differing > 0 {
			class = Fail
		}
		sec.add(class, k.phase, k.source, k.tenant, strconv.Itoa(t.cells), strconv.Itoa(t.allowed), strconv.Itoa(t.blocked), strconv.Itoa(t.any), strconv.Itoa(t.differing))
	}
	return sec
}

// maxDifferingRows bounds the differing cells listed (report.json has them all).
const maxDifferingRows = 50

// differingSection lists the cells whose observation contradicts the claim.
func differingSection(iso Isolation) section {
	sec := section{Title: "Isolation cells that differ from the claim", Header: []string{"Phase", "Source", "Target", "Address", "Expected", "Observed", "Latency", "Detail"}}
	for _, c := range iso.Cells {
		if !c.Differs || len(sec.Rows) >= maxDifferingRows {
			continue
		}
		t := c.Target
		target := fmt.Sprintf("%s %s:%d/%s", t.Tenant, t.Component, t.Port, t.Protocol)
		if t.Pod != "" {
			target += " (" + t.Pod + ")"
		}
		sec.add(Fail, c.Phase, c.Source.Label(), target, t.Address+" ("+t.AddressKind+")", c.Expected, string(c.Observed),
			strconv.FormatFloat(c.LatencyMs, 'f', 1, 64)+" ms", c.Detail)
	}
	return sec
}

func eventSection(events []Event) section {
	sec := section{Title: "Events", Header: []string{"At", "What"}}
	for _, e := range events {
		sec.add("", secs(e.AtSeconds), e.What)
	}
	return sec
}

// specLine is e.g. "payments (sha256:ab12...)".
func specLine(r Run) string {
	if r.SpecHash == "" {
		return r.SpecName
	}
	return fmt.Sprintf("%s (%s)", r.SpecName, r.SpecHash)
}
