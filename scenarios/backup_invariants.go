package scenarios

import (
	"fmt"
	"strings"
	"time"

	"dpsim/claims"
	"dpsim/reports"
	"dpsim/scenarios/checkers"
	"dpsim/scenarios/history"
	"dpsim/topology"
)

// noBackup is the check of a backup invariant when the scenario saw no backup system: an error.
func noBackup(name, control, what string) []reports.Check {
	return []reports.Check{{Name: name, Control: control, Status: reports.Error, Summary: "no " + what + " was observed: nothing to judge"}}
}

func verdictCheck(name, control, tenant string, v checkers.Verdict) reports.Check {
	return reports.Check{Name: name, Control: control, Tenant: tenant, Status: v.Status, Summary: v.Summary}
}

// scheduleInvariant checks the live schedules: every tenant covered, firing at least once per
// claimed interval (DP-BAK-1).
func scheduleInvariant() Invariant {
	return Invariant{Name: "schedule", Control: "DP-BAK-1", Check: func(o *Observation, c claims.Claims) []reports.Check {
		b := o.Backup
		if b == nil || b.From.IsZero() {
			return noBackup("schedule", "DP-BAK-1", "backup schedule")
		}
		return []reports.Check{verdictCheck("schedule", "DP-BAK-1", "", checkers.Schedules(b.Schedules, b.Tenants, claims.Duration(c.BackupInterval), b.From))}
	}}
}

// coverageInvariant checks that every backup the scenario made holds every data volume of its
// tenant (DP-BAK-1).
func coverageInvariant() Invariant {
	return Invariant{Name: "volume coverage", Control: "DP-BAK-1", Check: func(o *Observation, c claims.Claims) []reports.Check {
		if o.Backup == nil || len(o.Backup.Backups) == 0 {
			return noBackup("volume coverage", "DP-BAK-1", "backup")
		}
		var out []reports.Check
		for _, b := range o.Backup.Backups {
			_, v := checkers.Coverage(b)
			out = append(out, verdictCheck("volume coverage", "DP-BAK-1", b.Tenant, v))
		}
		return out
	}}
}

// restoreInvariant judges every restore: the backup system's verdict, the stores' health after it,
// and each judged store's ledger around the backup.
func restoreInvariant(control string) Invariant {
	return Invariant{Name: "restore", Control: control, Check: func(o *Observation, c claims.Claims) []reports.Check {
		if o.Backup == nil || len(o.Backup.Restores) == 0 {
			return noBackup("restore", control, "restore")
		}
		var out []reports.Check
		for _, ro := range o.Backup.Restores {
			out = append(out, verdictCheck("restore", control, ro.Tenant, restorePhase(ro)))
			judged := 0
			for _, s := range ro.Stores {
				if !ro.judged(s.Name) {
					continue
				}
				judged++
				l, v := checkers.Restored(roundOps(s.ops(o), ro.Label), s.Read, ro.BackupStart, ro.BackupEnd)
				l.Tenant, l.Store = s.Tenant, s.Name
				o.Ledgers = append(o.Ledgers, l)
				out = append(out, check("restore ledger", control, s, v))
			}
			if judged == 0 {
				out = append(out, reports.Check{Name: "restore ledger", Control: control, Tenant: ro.Tenant, Status: reports.Error,
					Summary: "no store of the tenant keeps its data in a backed-up volume: nothing to judge"})
			}
		}
		return out
	}}
}

// restorePhase judges what the backup system and the stores said about a restore: it must have
// completed and the restored stores must have become healthy.
func restorePhase(ro RestoreObservation) checkers.Verdict {
	summary := fmt.Sprintf("restore %s of %s: %s, %d volumes, stores answered %s after it began", ro.Run.Name, ro.Backup.Name,
		ro.Run.Phase, ro.Run.Volumes, ro.Run.Answered.Sub(ro.Run.Started).Round(time.Second))
	if len(ro.Run.Warnings) > 0 {
		summary += "; warnings: " + strings.Join(ro.Run.Warnings, "; ")
	}
	switch {
	case ro.Run.Phase != "Completed":
		return checkers.Verdict{Status: reports.Fail, Summary: summary}
	case ro.Unsettled != nil:
		return checkers.Verdict{Status: reports.Fail, Summary: summary + "; the restored stores did not become healthy: " + ro.Unsettled.Error()}
	}
	return checkers.Verdict{Status: reports.Pass, Summary: summary + "; the restored stores are healthy"}
}

// roundOps keeps the operations of one round of a restore scenario (phases "<label>-...").
func roundOps(ops []history.Op, label string) []history.Op {
	var out []history.Op
	for _, op := range ops {
		if strings.HasPrefix(op.ID[strings.LastIndex(op.ID, "/")+1:], label+"-") {
			out = append(out, op)
		}
	}
	return out
}

// retentionInvariant checks that the schedules keep backups as long as claimed and that an expired
// backup vanishes while one within its TTL stays (DP-BAK-3).
func retentionInvariant() Invariant {
	return Invariant{Name: "retention", Control: "DP-BAK-3", Check: func(o *Observation, c claims.Claims) []reports.Check {
		b := o.Backup
		if b == nil || b.Expiry == nil {
			return noBackup("retention", "DP-BAK-3", "expiry")
		}
		_, expiry := checkers.Expiry(b.Expiry.Expired, b.Expiry.Kept, b.Expiry.Listed, b.Expiry.Objects)
		return []reports.Check{
			verdictCheck("schedule ttl", "DP-BAK-3", "", checkers.Retention(b.Schedules, claims.Duration(c.BackupRetention))),
			verdictCheck("expiry", "DP-BAK-3", "", expiry),
		}
	}}
}

// backupReadableInvariant checks that with as many object-store drives down as the claim allows,
// every backup is listed and reads back whole (DP-BAK-4). Steps beyond the claim are reported, not
// judged.
func backupReadableInvariant() Invariant {
	return Invariant{Name: "backups readable", Control: "DP-BAK-4", Check: func(o *Observation, c claims.Claims) []reports.Check {
		if o.Backup == nil || len(o.Backup.DriveLoss) == 0 {
			return noBackup("backups readable", "DP-BAK-4", "drive loss")
		}
		var out []reports.Check
		for _, step := range o.Backup.DriveLoss {
			if !step.WithinClaim {
				continue
			}
			_, v := checkers.Readable(step.Backups, step.Listed, step.Objects)
			v.Summary = step.Fault + ": " + v.Summary
			out = append(out, verdictCheck("backups readable", "DP-BAK-4", "", v))
		}
		return out
	}}
}

// offboardingInvariant checks that nothing of the offboarded tenant remains and that the other
// tenants' backups are still there and readable (their data is judged by the ledger invariant).
func offboardingInvariant() Invariant {
	return Invariant{Name: "offboarding", Control: "DP-OFF-1", Check: func(o *Observation, c claims.Claims) []reports.Check {
		if o.Backup == nil || o.Backup.Offboarding == nil {
			return noBackup("offboarding", "DP-OFF-1", "offboarding")
		}
		oo := o.Backup.Offboarding
		out := []reports.Check{verdictCheck("leftovers", "DP-OFF-1", oo.Tenant, checkers.Leftovers(oo.Tenant, oo.Before, oo.Remains))}
		if len(oo.OtherBackups) > 0 {
			_, v := checkers.Readable(oo.OtherBackups, oo.Listed, oo.Objects)
			out = append(out, verdictCheck("other tenants' backups", "DP-OFF-1", "", v))
		}
		return out
	}}
}

// backupReport turns the backup observation into the report's section.
func backupReport(b *BackupObservation) *reports.Backups {
	if b == nil {
		return nil
	}
	out := &reports.Backups{Schedules: []reports.BackupSchedule{}, Backups: []reports.Backup{}}
	for _, s := range b.Schedules {
		gap, _ := checkers.LongestGap(s.Cron, b.From, 365*24*time.Hour)
		out.Schedules = append(out.Schedules, reports.BackupSchedule{Name: s.Name, Cron: s.Cron, TTL: s.TTL.String(),
			Tenants: s.Tenants, LongestGapSeconds: gap.Seconds(), Paused: s.Paused})
	}
	for _, bk := range b.Backups {
		missing, _ := checkers.Coverage(bk)
		out.Backups = append(out.Backups, reports.Backup{Name: bk.Name, Tenant: bk.Tenant, Phase: bk.Phase,
			DurationSeconds: bk.Completed.Sub(bk.Started).Seconds(), Bytes: bk.Bytes, Volumes: len(bk.Volumes),
			DataVolumes: len(bk.DataVolumes), MissingVolumes: missing, TTLSeconds: bk.Expires.Sub(bk.Started).Seconds(), Warnings: bk.Warnings})
	}
	for _, ro := range b.Restores {
		out.Restores = append(out.Restores, reports.Restore{Tenant: ro.Tenant, Backup: ro.Backup.Name, Name: ro.Run.Name,
			Phase: ro.Run.Phase, Volumes: ro.Run.Volumes, RTOSeconds: ro.Run.Answered.Sub(ro.Run.Started).Seconds(),
			RPOSeconds: ro.Destroyed.Sub(ro.BackupStart).Seconds(), Warnings: ro.Run.Warnings})
	}
	if e := b.Expiry; e != nil {
		left, _ := checkers.Expiry(e.Expired, e.Kept, e.Listed, e.Objects)
		x := &reports.Expiry{Expired: e.Expired, ExpiredTTL: e.ExpiredTTL.String(), Kept: e.Kept, WaitedSeconds: e.Waited.Seconds(),
			ObjectsLeft: left, GCPeriod: e.GCPeriod.String()}
		for _, obj := range e.Objects {
			if strings.HasPrefix(obj.Key, "kopia/") {
				x.RepositoryObjects++
				x.RepositoryBytes += obj.Size
			}
		}
		out.Expiry = x
	}
	for _, step := range b.DriveLoss {
		unreadable, v := checkers.Readable(step.Backups, step.Listed, step.Objects)
		objects := 0
		for _, obj := range step.Objects {
			for _, b := range step.Backups {
				if strings.HasPrefix(obj.Key, checkers.BackupPrefix(b.Name)) || (b.Repository != "" && strings.HasPrefix(obj.Key, b.Repository)) {
					objects++
				}
			}
		}
		if step.ListErr != "" {
			unreadable = append([]string{"the storage could not be listed: " + step.ListErr}, unreadable...)
			v.Status = reports.Fail
		}
		status := v.Status
		if !step.WithinClaim && status == reports.Fail {
			status = reports.Skipped // beyond the claim: shown, not judged
		}
		out.DriveLoss = append(out.DriveLoss, reports.BackupDriveLoss{Fault: step.Fault, Drives: step.Down, WithinClaim: step.WithinClaim,
			Listed: len(step.Listed), Objects: objects, Unreadable: unreadable, Status: status})
	}
	if oo := b.Offboarding; oo != nil {
		out.Offboarding = &reports.Offboarding{Tenant: oo.Tenant, Steps: oo.Steps, Remains: append([]topology.Remnant{}, oo.Remains...),
			Searched: checkers.RemnantCounts(oo.Before, oo.Remains)}
	}
	return out
}
