package checkers

import (
	"slices"
	"strings"
	"testing"
	"time"

	"dpsim/reports"
	"dpsim/scenarios/history"
	"dpsim/topology"
)

var jan1 = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

func TestLongestGap(t *testing.T) {
	for _, tt := range []struct {
		cron string
		want time.Duration
	}{
		{"0 2 * * *", 24 * time.Hour},
		{"@daily", 24 * time.Hour},
		{"0 */6 * * *", 6 * time.Hour},
		{"0 2 * * 1", 7 * 24 * time.Hour},
		{"0 2 1 * *", 31 * 24 * time.Hour},  // monthly: the longest month
		{"0 2 * * 1-5", 3 * 24 * time.Hour}, // weekdays: Friday to Monday
	} {
		got, err := LongestGap(tt.cron, jan1, 365*24*time.Hour)
		if err != nil || got != tt.want {
			t.Errorf("%q: %s, %v; want %s", tt.cron, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "not a cron", "0 2 30 2 *"} { // February 30th never comes
		if _, err := LongestGap(bad, jan1, 365*24*time.Hour); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestSchedulesFailWhenATenantIsUncovered(t *testing.T) {
	scheds := []topology.BackupSchedule{{Name: "a-daily", Cron: "0 2 * * *", Tenants: []string{"a"}}}
	if v := Schedules(scheds, []string{"a"}, 24*time.Hour, jan1); v.Status != reports.Pass {
		t.Fatalf("covered: %+v", v)
	}
	v := Schedules(scheds, []string{"a", "b"}, 24*time.Hour, jan1)
	if v.Status != reports.Fail || !strings.Contains(v.Summary, "tenant b") {
		t.Fatalf("uncovered tenant: %+v", v)
	}
	scheds[0].Paused = true
	if v := Schedules(scheds, []string{"a"}, 24*time.Hour, jan1); v.Status != reports.Fail {
		t.Fatalf("paused: %+v", v)
	}
}

func TestCoverageNamesLeftOutVolumes(t *testing.T) {
	b := topology.BackupRun{Name: "b", Phase: "Completed",
		DataVolumes: []topology.DataVolume{{Component: "kafka", Claim: "data-kafka-0"}, {Component: "elasticsearch", Claim: "data-es-0"}},
		Volumes:     []topology.VolumeBackup{{Claim: "data-kafka-0", Phase: "Completed"}, {Claim: "data-es-0", Phase: "Failed"}}}
	missing, v := Coverage(b)
	if v.Status != reports.Fail || len(missing) != 1 || missing[0] != "elasticsearch/data-es-0" {
		t.Fatalf("%v %+v", missing, v)
	}
	if _, v := Coverage(topology.BackupRun{Name: "b", Phase: "Completed"}); v.Status != reports.Error {
		t.Fatalf("no data volumes listed: %+v", v)
	}
}

// at is s seconds into jan1.
func at(s int) time.Time { return jan1.Add(time.Duration(s) * time.Second) }

// restoreOp is a write of id invoked at s seconds and finished a second later with outcome o.
func restoreOp(id string, s int, o history.Outcome) history.Op {
	return history.Op{ID: id, Invoked: at(s), Finished: at(s + 1), Outcome: o, Hash: "h-" + id}
}

func TestCoverageFailsABackupThatDidNotComplete(t *testing.T) {
	b := topology.BackupRun{Name: "b", Phase: "PartiallyFailed",
		DataVolumes: []topology.DataVolume{{Component: "kafka", Claim: "data-kafka-0"}},
		Volumes:     []topology.VolumeBackup{{Claim: "data-kafka-0", Phase: "Completed"}}}
	if missing, v := Coverage(b); v.Status != reports.Fail || len(missing) != 0 || !strings.Contains(v.Summary, "backup b (PartiallyFailed)") {
		t.Fatalf("every volume backed up, the backup not completed: %v %s (%s), want fail naming its phase", missing, v.Status, v.Summary)
	}
	b.Phase = "Completed"
	if _, v := Coverage(b); v.Status != reports.Pass {
		t.Fatalf("completed: %s (%s)", v.Status, v.Summary)
	}
}

func TestExpiryFailsWhenTheKeptBackupGoes(t *testing.T) {
	kept := topology.BackupRun{Name: "kept"}
	keptObject := topology.StoredObject{Key: BackupPrefix("kept") + "velero-backup.json"}
	tests := []struct {
		name    string
		listed  []topology.BackupRun
		objects []topology.StoredObject
		want    reports.Status
		inText  string
	}{
		{"expired gone, kept listed with its objects", []topology.BackupRun{kept}, []topology.StoredObject{keptObject}, reports.Pass, "listed with 1 objects"},
		{"kept backup no longer listed", nil, []topology.StoredObject{keptObject}, reports.Fail, "backup kept, within its TTL, is not listed"},
		{"kept backup's objects gone", []topology.BackupRun{kept}, nil, reports.Fail, "backup kept, within its TTL, has no objects"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, v := Expiry("expired", "kept", tt.listed, tt.objects); v.Status != tt.want || !strings.Contains(v.Summary, tt.inText) {
				t.Fatalf("got %s (%s), want %s saying %q", v.Status, v.Summary, tt.want, tt.inText)
			}
		})
	}
}

func TestRestoredJudgesAroundTheBackup(t *testing.T) {
	ops := []history.Op{
		restoreOp("pre-1", 0, history.OK), restoreOp("pre-2", 0, history.OK), restoreOp("pre-3", 0, history.OK),
		restoreOp("during-1", 10, history.OK), // neither way
		restoreOp("marker-1", 30, history.OK), restoreOp("marker-2", 30, history.OK),
	}
	read := topology.ReadBack{Records: []topology.Record{
		{ID: "pre-1", Hash: "h-pre-1"}, {ID: "pre-2", Hash: "other"}, {ID: "during-1", Hash: "h-during-1"}, {ID: "marker-2", Hash: "h-marker-2"},
	}}
	l, v := Restored(ops, read, at(5), at(20))
	if v.Status != reports.Fail {
		t.Fatalf("want fail: %+v", v)
	}
	rs := l.Restore
	if l.Acknowledged != 3 || rs.Restored != 1 || l.Lost != 1 || l.Corrupt != 1 || rs.Markers != 2 || rs.MarkersFound != 1 || rs.WindowLost != 1 {
		t.Fatalf("ledger %+v restore %+v", l, rs)
	}
	clean := topology.ReadBack{Records: []topology.Record{{ID: "pre-1", Hash: "h-pre-1"}, {ID: "pre-2", Hash: "h-pre-2"}, {ID: "pre-3", Hash: "h-pre-3"}}}
	if _, v := Restored(ops, clean, at(5), at(20)); v.Status != reports.Pass {
		t.Fatalf("want pass: %+v", v)
	}
	if _, v := Restored(ops[3:], clean, at(5), at(20)); v.Status != reports.Error {
		t.Fatalf("nothing acknowledged before the backup: want error, got %+v", v)
	}
}

// restoreOps are three records acknowledged before a backup taken from t+5s to t+20s and two markers
// written after it, with the markers' outcome.
func restoreOps(marker history.Outcome) []history.Op {
	return []history.Op{restoreOp("pre-1", 0, history.OK), restoreOp("pre-2", 0, history.OK), restoreOp("pre-3", 0, history.OK),
		restoreOp("marker-1", 30, marker), restoreOp("marker-2", 30, marker)}
}

func TestRestoredJudgesAcknowledgedMarkers(t *testing.T) {
	backupStart, backupEnd := at(5), at(20)
	restored := []topology.Record{{ID: "pre-1", Hash: "h-pre-1"}, {ID: "pre-2", Hash: "h-pre-2"}, {ID: "pre-3", Hash: "h-pre-3"}}
	withMarker := append(slices.Clone(restored), topology.Record{ID: "marker-2", Hash: "h-marker-2"})
	tests := []struct {
		name    string
		markers history.Outcome
		read    []topology.Record
		want    reports.Status
		inText  string
	}{
		{"every record back, markers acknowledged and absent", history.OK, restored, reports.Pass, "2 markers written after it (2 acknowledged), 0 found"},
		{"every record back but an acknowledged marker too", history.OK, withMarker, reports.Fail, "1 found"},
		{"every marker refused: their absence shows nothing", history.Failed, restored, reports.Error, "no marker written after the backup was acknowledged"},
		{"every marker's outcome unknown", history.Unknown, restored, reports.Error, "(0 acknowledged)"},
		{"a refused marker found anyway", history.Failed, withMarker, reports.Fail, "1 found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, v := Restored(restoreOps(tt.markers), topology.ReadBack{Records: tt.read}, backupStart, backupEnd)
			if v.Status != tt.want || !strings.Contains(v.Summary, tt.inText) {
				t.Fatalf("got %s (%s), want %s saying %q", v.Status, v.Summary, tt.want, tt.inText)
			}
			if tt.markers == history.OK && l.Restore.MarkersAcknowledged != 2 {
				t.Fatalf("restore ledger %+v: want 2 markers acknowledged", l.Restore)
			}
		})
	}
}

func TestReadableCountsTheRepository(t *testing.T) {
	b := topology.BackupRun{Name: "b1", Repository: "kopia/ns/"}
	objs := []topology.StoredObject{{Key: "backups/b1/velero-backup.json"}, {Key: "kopia/ns/p1", Unreadable: "1 of 2 shards"}}
	unreadable, v := Readable([]topology.BackupRun{b}, []topology.BackupRun{b}, objs)
	if v.Status != reports.Fail || len(unreadable) != 1 {
		t.Fatalf("%v %+v", unreadable, v)
	}
	if _, v := Readable([]topology.BackupRun{b}, nil, objs[:1]); v.Status != reports.Fail || !strings.Contains(v.Summary, "b1") {
		t.Fatalf("unlisted backup: %+v", v)
	}
	if _, v := Readable(nil, nil, objs); v.Status != reports.Error {
		t.Fatalf("no backup given: %+v", v)
	}
}
