package scenarios

import (
	"slices"
	"strings"
	"testing"

	"dpsim/fakes"
	"dpsim/reports"
	"dpsim/topology"
)

// controlStatus is the worst status of the checks a scenario gave for control, with their summaries.
func controlStatus(sc reports.Scenario, control string) (reports.Status, string) {
	var statuses []reports.Status
	var summaries []string
	for _, c := range sc.Checks {
		if c.Control == control {
			statuses = append(statuses, c.Status)
			summaries = append(summaries, c.Summary)
		}
	}
	if len(statuses) == 0 {
		return "", "no check for " + control
	}
	return reports.Worst(statuses...), strings.Join(summaries, " | ")
}

func wantControl(t *testing.T, sc reports.Scenario, control string, want reports.Status, mentions ...string) {
	t.Helper()
	got, summary := controlStatus(sc, control)
	if got != want {
		t.Errorf("%s: %s is %s, want %s (scenario %s: %s): %s", sc.Name, control, got, want, sc.Status, sc.Reason, summary)
	}
	for _, m := range mentions {
		if !strings.Contains(summary, m) {
			t.Errorf("%s: %s does not name %q: %s", sc.Name, control, m, summary)
		}
	}
}

func TestBackupScenariosPassOnAPlatformThatKeepsItsPromises(t *testing.T) {
	res := run(t, topology.Default(), nil, "backup-restore", "backup-retention", "backup-store-drive-loss", "offboarding")
	for _, sc := range res {
		if sc.Status != reports.Pass {
			t.Errorf("%s: %s (%s)", sc.Name, sc.Status, sc.Reason)
			for _, c := range sc.Checks {
				t.Logf("  %s %s %s: %s", c.Control, c.Name, c.Status, c.Summary)
			}
		}
	}
	restore := res[0]
	if restore.Backups == nil || len(restore.Backups.Restores) != 1 || len(restore.Backups.Backups) != 2 {
		t.Fatalf("backup-restore report: %+v", restore.Backups)
	}
	for _, l := range restore.Ledgers {
		if l.Restore == nil || l.Restore.AcknowledgedBefore == 0 || l.Restore.Restored != l.Restore.AcknowledgedBefore || l.Restore.Markers == 0 {
			t.Errorf("%s/%s restore ledger: %+v", l.Tenant, l.Store, l.Restore)
		}
	}
}

func TestBackupLeavingOutAVolumeFailsCoverageAndLosesItsRecords(t *testing.T) {
	for name, tc := range map[string]struct {
		spec func(*topology.Spec)
		opts []fakes.Option
	}{
		"excluded by the spec":   {spec: func(s *topology.Spec) { s.Backup.ExcludeComponents = []string{"elasticsearch"} }},
		"skipped with a warning": {opts: []fakes.Option{fakes.WithFault(fakes.BackupSkipsVolume)}},
	} {
		t.Run(name, func(t *testing.T) {
			spec := topology.Default()
			if tc.spec != nil {
				tc.spec(&spec)
			}
			sc := run(t, spec, tc.opts, "backup-restore")[0]
			wantControl(t, sc, "DP-BAK-1", reports.Fail, "left out: elasticsearch/data-es-0")
			wantControl(t, sc, "DP-BAK-2", reports.Fail)
			lost := 0
			for _, l := range sc.Ledgers {
				if l.Store == "elasticsearch" {
					lost += l.Lost
				}
			}
			if lost == 0 {
				t.Errorf("no Elasticsearch record counted lost: %+v", sc.Ledgers)
			}
		})
	}
}

func TestScheduleFiringLessThanDailyFails(t *testing.T) {
	spec := topology.Default()
	spec.Backup.Schedule = "0 2 * * 1" // weekly
	sc := run(t, spec, nil, "backup-restore")[0]
	wantControl(t, sc, "DP-BAK-1", reports.Fail, "168h0m0s")
}

func TestRetentionOtherThanClaimedFails(t *testing.T) {
	spec := topology.Default()
	spec.Backup.Retention = "2160h"
	sc := run(t, spec, nil, "backup-retention")[0]
	wantControl(t, sc, "DP-BAK-3", reports.Fail, "keeps backups 2160h0m0s, not 720h0m0s")
}

func TestExpiredBackupWhoseObjectsStayFails(t *testing.T) {
	sc := run(t, topology.Default(), []fakes.Option{fakes.WithFault(fakes.DeleteKeepsObjects)}, "backup-retention")[0]
	wantControl(t, sc, "DP-BAK-3", reports.Fail, "objects of expired backup")
	if sc.Backups.Expiry == nil || len(sc.Backups.Expiry.ObjectsLeft) == 0 {
		t.Errorf("the report names no object left: %+v", sc.Backups.Expiry)
	}
}

func TestBackupStoreWithoutParityFails(t *testing.T) {
	spec := topology.Default()
	spec.ObjectStore.Parity = 0
	sc := run(t, spec, nil, "backup-store-drive-loss")[0]
	wantControl(t, sc, "DP-BAK-4", reports.Fail, "unreadable")
}

func TestOffboardingThatLeavesSomethingFails(t *testing.T) {
	for name, tc := range map[string]struct {
		spec     func(*topology.Spec)
		opts     []fakes.Option
		mentions []string
	}{
		"repository kept": {spec: func(s *topology.Spec) { s.Offboarding.PurgeBackupRepository = false },
			mentions: []string{"RepositoryObject: kopia/tenant-b/"}},
		"a claim kept":  {opts: []fakes.Option{fakes.WithFault(fakes.OffboardKeepsClaim)}, mentions: []string{"PersistentVolumeClaim: data-es-0 (tenant-b)"}},
		"a backup kept": {opts: []fakes.Option{fakes.WithFault(fakes.OffboardKeepsBackup)}, mentions: []string{"Backup: tenant-b-"}},
		"objects kept":  {opts: []fakes.Option{fakes.WithFault(fakes.DeleteKeepsObjects)}, mentions: []string{"BackupObject: backups/tenant-b-"}},
	} {
		t.Run(name, func(t *testing.T) {
			spec := topology.Default()
			if tc.spec != nil {
				tc.spec(&spec)
			}
			sc := run(t, spec, tc.opts, "offboarding")[0]
			wantControl(t, sc, "DP-OFF-1", reports.Fail, tc.mentions...)
			if sc.Backups == nil || sc.Backups.Offboarding == nil || len(sc.Backups.Offboarding.Remains) == 0 {
				t.Errorf("the report lists nothing that remained: %+v", sc.Backups)
			}
		})
	}
}

func TestBackupScenariosSkipWithoutABackupSystem(t *testing.T) {
	// The fake always has one; a provider without the capability is what the kind test exercises.
	// Here: every backup scenario names the capability it needs.
	for _, sc := range Catalogue() {
		if sc.Drill == nil || !slices.ContainsFunc(sc.Controls, func(c string) bool { return strings.HasPrefix(c, "DP-BAK") || strings.HasPrefix(c, "DP-OFF") }) {
			continue
		}
		if !strings.Contains(strings.Join(capNames(sc.Needs), ","), string(topology.CapBackup)) {
			t.Errorf("%s does not need the backup capability: %v", sc.Name, sc.Needs)
		}
	}
}

func capNames(cs []topology.Capability) []string {
	var out []string
	for _, c := range cs {
		out = append(out, string(c))
	}
	return out
}
