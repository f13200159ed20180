package checkers

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"dpsim/reports"
	"dpsim/scenarios/history"
	"dpsim/topology"
)

// LongestGap is the longest time between two consecutive firings of the cron expression over the
// span after from, parsed as Velero parses a Schedule's (robfig/cron's standard parser: five
// fields or a descriptor such as @daily). An expression that never fires twice in the span has no
// gap: error.
func LongestGap(expr string, from time.Time, span time.Duration) (time.Duration, error) {
	sched, err := cron.ParseStandard(expr)
	if err != nil {
		return 0, fmt.Errorf("parse cron %q: %w", expr, err)
	}
	end := from.Add(span)
	var longest time.Duration
	prev := sched.Next(from)
	if prev.IsZero() || prev.After(end) {
		return 0, fmt.Errorf("cron %q does not fire within %s", expr, span)
	}
	// The first gap counts from the start of the span: a schedule must also fire soon enough.
	longest = prev.Sub(from)
	fired := 1
	for t := prev; ; {
		next := sched.Next(t)
		if next.IsZero() || next.After(end) {
			break
		}
		longest = max(longest, next.Sub(t))
		t = next
		fired++
	}
	if fired < 2 {
		return 0, fmt.Errorf("cron %q fires only once within %s", expr, span)
	}
	return longest, nil
}

// Schedules checks that every tenant is covered by a schedule that is not paused and whose cron
// fires at least once per interval (the longest gap over a year).
func Schedules(schedules []topology.BackupSchedule, tenants []string, interval time.Duration, from time.Time) Verdict {
	if len(schedules) == 0 {
		return verdict(false, "the backup system holds no schedule")
	}
	var problems, seen []string
	covered := map[string]bool{}
	for _, s := range schedules {
		gap, err := LongestGap(s.Cron, from, 365*24*time.Hour)
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("schedule %s: %v", s.Name, err))
			continue
		case gap > interval:
			problems = append(problems, fmt.Sprintf("schedule %s (%q) leaves up to %s between backups, more than %s", s.Name, s.Cron, gap, interval))
			continue
		case s.Paused:
			problems = append(problems, fmt.Sprintf("schedule %s is paused", s.Name))
			continue
		}
		seen = append(seen, fmt.Sprintf("%s %q (longest gap %s) covers %s", s.Name, s.Cron, gap, strings.Join(s.Tenants, ", ")))
		for _, t := range s.Tenants {
			covered[t] = true
		}
	}
	for _, t := range tenants {
		if !covered[t] {
			problems = append(problems, fmt.Sprintf("no running schedule within %s covers tenant %s", interval, t))
		}
	}
	if len(problems) > 0 {
		return verdict(false, "%s", strings.Join(problems, "; "))
	}
	return verdict(true, "%s", strings.Join(seen, "; "))
}

// Coverage checks that a backup completed and holds a completed volume backup of every data volume
// of its tenant: a backup system can skip a volume with only a warning, so a completed backup proves
// nothing by itself.
func Coverage(b topology.BackupRun) (missing []string, v Verdict) {
	if len(b.DataVolumes) == 0 {
		return nil, Verdict{Status: reports.Error, Summary: fmt.Sprintf("backup %s: the tenant's data volumes could not be listed: nothing to match", b.Name)}
	}
	done := map[string]bool{}
	for _, vb := range b.Volumes {
		if vb.Phase == "Completed" {
			done[vb.Claim] = true
		}
	}
	for _, dv := range b.DataVolumes {
		if !done[dv.Claim] {
			missing = append(missing, dv.Component+"/"+dv.Claim)
		}
	}
	sort.Strings(missing)
	summary := fmt.Sprintf("backup %s (%s) holds %d volume backups for %d data volumes", b.Name, b.Phase, len(done), len(b.DataVolumes))
	if len(missing) > 0 {
		summary += "; left out: " + strings.Join(missing, ", ")
	}
	if len(b.Warnings) > 0 {
		summary += "; warnings: " + strings.Join(sample(b.Warnings), "; ")
	}
	return missing, verdict(len(missing) == 0 && b.Phase == "Completed", "%s", summary)
}

// Restored judges a restore with the ledger: every record acknowledged before the backup started
// must be back with its value; no marker (a write started after the backup completed) may be; writes
// in between are judged neither way. Only an acknowledged marker's absence shows that nothing
// written after the backup came back (a refused one may never have been written); a marker found is
// a failure whatever its outcome. The ledger's Acknowledged and Lost count only the records
// acknowledged before the backup; Restore holds the rest. Short of a failure, with no record
// acknowledged before the backup or no marker acknowledged there is nothing to judge: error.
func Restored(ops []history.Op, read topology.ReadBack, backupStart, backupEnd time.Time) (reports.Ledger, Verdict) {
	l := reports.Ledger{Unreadable: read.Unreadable, Restore: &reports.RestoreLedger{}}
	rs := l.Restore
	values := map[string]string{}
	for _, r := range read.Records {
		if _, dup := values[r.ID]; dup {
			l.Duplicated++
			continue
		}
		values[r.ID] = r.Hash
	}
	var lost, corrupt, resurrected, windowLost []string
	for _, op := range ops {
		l.Attempted++
		switch op.Outcome {
		case history.Failed:
			l.Failed++
		case history.Unknown:
			l.Unknown++
		}
		hash, present := values[op.ID]
		switch {
		case op.Outcome == history.OK && !op.Finished.After(backupStart):
			l.Acknowledged++
			switch {
			case !present:
				lost = append(lost, op.ID)
			case op.Hash != "" && hash != op.Hash:
				corrupt = append(corrupt, op.ID)
			default:
				rs.Restored++
			}
		case !op.Invoked.Before(backupEnd):
			rs.Markers++
			if op.Outcome == history.OK {
				rs.MarkersAcknowledged++
			}
			if present {
				resurrected = append(resurrected, op.ID)
			} else if op.Outcome == history.OK {
				windowLost = append(windowLost, op.ID)
			}
		case op.Outcome == history.OK && !present:
			windowLost = append(windowLost, op.ID) // acknowledged while the backup ran, not in it
		}
	}
	for _, ids := range [][]string{lost, corrupt, resurrected} {
		sort.Strings(ids)
	}
	l.Lost, l.Corrupt, rs.MarkersFound, rs.WindowLost = len(lost), len(corrupt), len(resurrected), len(windowLost)
	rs.AcknowledgedBefore = l.Acknowledged
	l.LostIDs, l.CorruptIDs, rs.MarkerIDs = sample(lost), sample(corrupt), sample(resurrected)
	summary := fmt.Sprintf("%d acknowledged before the backup: %d restored, %d lost, %d corrupt; %d markers written after it (%d acknowledged), %d found; %d acknowledged after the backup began are gone (the window lost)",
		l.Acknowledged, rs.Restored, l.Lost, l.Corrupt, rs.Markers, rs.MarkersAcknowledged, rs.MarkersFound, rs.WindowLost)
	if len(read.Unreadable) > 0 {
		summary += "; unreadable: " + strings.Join(sample(read.Unreadable), "; ")
	}
	switch {
	case l.Lost > 0 || l.Corrupt > 0 || rs.MarkersFound > 0:
		return l, verdict(false, "%s", summary)
	case l.Acknowledged == 0:
		return l, Verdict{Status: reports.Error, Summary: "no record acknowledged before the backup, nothing to judge: " + summary}
	case rs.MarkersAcknowledged == 0:
		return l, Verdict{Status: reports.Error, Summary: "no marker written after the backup was acknowledged, so their absence shows nothing: " + summary}
	}
	return l, verdict(true, "%s", summary)
}

// Retention checks that every schedule keeps its backups exactly as long as claimed: shorter loses
// backups early, longer keeps a customer's data past the promise.
func Retention(schedules []topology.BackupSchedule, retention time.Duration) Verdict {
	if len(schedules) == 0 {
		return verdict(false, "the backup system holds no schedule")
	}
	var bad, good []string
	for _, s := range schedules {
		if s.TTL != retention {
			bad = append(bad, fmt.Sprintf("schedule %s keeps backups %s, not %s", s.Name, s.TTL, retention))
		} else {
			good = append(good, s.Name)
		}
	}
	if len(bad) > 0 {
		return verdict(false, "%s", strings.Join(bad, "; "))
	}
	return verdict(true, "schedules %s keep backups %s", strings.Join(good, ", "), retention)
}

// Expiry checks that a backup past its TTL is gone from the backup system and its objects from the
// storage, while one within its TTL is still listed with its objects.
func Expiry(expired, kept string, listed []topology.BackupRun, objects []topology.StoredObject) (left []string, v Verdict) {
	names := map[string]bool{}
	for _, b := range listed {
		names[b.Name] = true
	}
	keptObjects := 0
	for _, o := range objects {
		switch {
		case strings.HasPrefix(o.Key, BackupPrefix(expired)):
			left = append(left, o.Key)
		case strings.HasPrefix(o.Key, BackupPrefix(kept)):
			keptObjects++
		}
	}
	var problems []string
	if names[expired] {
		problems = append(problems, fmt.Sprintf("expired backup %s is still listed", expired))
	}
	if len(left) > 0 {
		problems = append(problems, fmt.Sprintf("%d objects of expired backup %s remain: %s", len(left), expired, strings.Join(sample(left), ", ")))
	}
	if !names[kept] {
		problems = append(problems, fmt.Sprintf("backup %s, within its TTL, is not listed", kept))
	}
	if keptObjects == 0 {
		problems = append(problems, fmt.Sprintf("backup %s, within its TTL, has no objects in the storage", kept))
	}
	if len(problems) > 0 {
		return left, verdict(false, "%s", strings.Join(problems, "; "))
	}
	return left, verdict(true, "expired backup %s is gone with its objects; backup %s within its TTL is listed with %d objects", expired, kept, keptObjects)
}

// BackupPrefix is where a backup's own objects live in the storage (Velero's layout).
func BackupPrefix(name string) string { return "backups/" + name + "/" }

// Readable checks that every backup is listed and that every object of it (its own, and its
// repository's, which holds the volume data) reads back whole.
func Readable(backups []topology.BackupRun, listed []topology.BackupRun, objects []topology.StoredObject) (unreadable []string, v Verdict) {
	if len(backups) == 0 {
		return nil, Verdict{Status: reports.Error, Summary: "no backup to read back: nothing to judge"}
	}
	have := map[string]bool{}
	for _, b := range listed {
		have[b.Name] = true
	}
	var missing []string
	count := 0
	for _, b := range backups {
		if !have[b.Name] {
			missing = append(missing, b.Name)
		}
		own := 0
		for _, o := range objects {
			mine := strings.HasPrefix(o.Key, BackupPrefix(b.Name))
			if !mine && (b.Repository == "" || !strings.HasPrefix(o.Key, b.Repository)) {
				continue
			}
			if mine {
				own++
			}
			count++
			if o.Unreadable != "" && !slices.Contains(unreadable, o.Key+": "+o.Unreadable) {
				unreadable = append(unreadable, o.Key+": "+o.Unreadable)
			}
		}
		if own == 0 {
			missing = append(missing, b.Name+" (no objects)")
		}
	}
	if len(missing) > 0 || len(unreadable) > 0 {
		return unreadable, verdict(false, "backups missing: %s; objects unreadable: %d %s", listOrNone(missing), len(unreadable), strings.Join(sample(unreadable), "; "))
	}
	return nil, verdict(true, "%d backups listed, all %d of their objects (repository included) read back whole", len(backups), count)
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
