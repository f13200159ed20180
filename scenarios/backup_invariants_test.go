package scenarios

import (
	"errors"
	"strings"
	"testing"
	"time"

	"dpsim/reports"
	"dpsim/topology"
)

func TestRestorePhaseFailsARestoreThatDidNotComplete(t *testing.T) {
	started := time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)
	observed := func(phase string, unsettled error) RestoreObservation {
		return RestoreObservation{Tenant: "tenant-a", Backup: topology.BackupRun{Name: "b"}, Unsettled: unsettled,
			Run: topology.RestoreRun{Name: "r", Phase: phase, Volumes: 3, Started: started, Answered: started.Add(time.Minute)}}
	}
	tests := []struct {
		name   string
		ro     RestoreObservation
		want   reports.Status
		inText string
	}{
		{"completed, stores healthy", observed("Completed", nil), reports.Pass, "the restored stores are healthy"},
		{"partially failed, stores healthy", observed("PartiallyFailed", nil), reports.Fail, "restore r of b: PartiallyFailed"},
		{"completed, stores never healthy", observed("Completed", errors.New("es not green")), reports.Fail, "did not become healthy: es not green"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if v := restorePhase(tt.ro); v.Status != tt.want || !strings.Contains(v.Summary, tt.inText) {
				t.Fatalf("got %s (%s), want %s saying %q", v.Status, v.Summary, tt.want, tt.inText)
			}
		})
	}
}
