package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"dpsim/images"
	"dpsim/internal/testenv"
	"dpsim/reports"
)

// agentBinary builds dpsim for the agent image once per test binary (the test binary itself cannot
// serve as the agent), unless the environment already names one.
func agentBinary(t *testing.T) {
	t.Helper()
	if os.Getenv(images.AgentBinaryEnv) != "" {
		return
	}
	bin := filepath.Join(t.TempDir(), "dpsim")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build dpsim for the agent image: %v\n%s", err, out)
	}
	t.Setenv(images.AgentBinaryEnv, bin)
}

// leftovers lists the containers of platform name still on the host.
func leftovers(t *testing.T, name string) []string {
	t.Helper()
	out, err := exec.Command("docker", "ps", "-a", "--format", "{{.Names}}").Output()
	if err != nil {
		t.Fatalf("docker ps: %v", err)
	}
	var left []string
	for _, n := range strings.Fields(string(out)) {
		if strings.HasPrefix(n, name+"-") {
			left = append(left, n)
		}
	}
	return left
}

func ledgerTotals(r reports.Report, store string) (acked, lost int) {
	for _, s := range r.Scenarios {
		for _, l := range s.Ledgers {
			if l.Store == store {
				acked += l.Acknowledged
				lost += l.Lost
			}
		}
	}
	return acked, lost
}

// failsOnlyOnThinAcks tells whether the only control that failed is DP-DUR-2 and some store
// acknowledged records with fewer than 2 copies: the real stores may do that under a fault
// (Elasticsearch fails an unreachable replica and acknowledges with the primary alone), a finding the
// report shows and the platform as promised is allowed to have.
func failsOnlyOnThinAcks(t *testing.T, r reports.Report) bool {
	t.Helper()
	thin := 0
	for _, s := range r.Scenarios {
		for _, l := range s.Ledgers {
			if l.ThinAcknowledged > 0 {
				t.Logf("%s: %s/%s acknowledged %d records with too few copies: %v", s.Name, l.Tenant, l.Store, l.ThinAcknowledged, l.ThinAnswers)
			}
			thin += l.ThinAcknowledged
		}
	}
	for _, c := range r.Controls {
		if c.Status != reports.Pass && c.Status != reports.Skipped && c.ID != "DP-DUR-2" {
			return false
		}
	}
	return thin > 0 && statusOf(r, "DP-DUR-2") == reports.Fail
}

// kindPlatform is the one platform both cases of TestIntegrationKindDriveLoss run on.
const kindPlatform = "dpsim-it"

// TestIntegrationKindDriveLoss runs the drive-loss, backup-restore and isolation scenarios on kind against real
// Kafka, Elasticsearch, HDFS and MinIO, and real NetworkPolicies (as promised, the edge and identity
// scenarios against real Traefik, Pebble and Keycloak too), on one platform stood up once (dpsim up),
// twice: as promised (replication factor 2, namespace isolation) no acknowledged write is lost,
// DP-DUR-4 passes and so does DP-NET-3 with the full truth table, and a Velero backup restores every
// record acknowledged before it (DP-BAK-1, -2); then, on the same platform re-applied with a
// weakened spec (Kafka's topics with one copy, no NetworkPolicies, Elasticsearch left out of the
// backup schedule: only Kafka's and Elasticsearch's pods restart, at once), real Kafka loses
// acknowledged records and DP-DUR-4 fails, DP-NET-3 fails naming the tenant pairs that connected,
// and DP-BAK-1 and -2 fail. Each case is a run of its own: it finds the platform up, leaves it up and
// removes its datasets; the test tears the platform down and requires nothing of it left.
func TestIntegrationKindDriveLoss(t *testing.T) {
	testenv.RequireDocker(t)
	agentBinary(t)
	named := replace("name: dpsim", "name: "+kindPlatform)
	upSpec := writeSpec(t, named)
	start := time.Now()
	if code := Run(context.Background(), []string{"up", "--spec", upSpec}, testenv.Writer(t), testenv.Writer(t)); code != exitOK {
		t.Fatalf("dpsim up: exit %d", code)
	}
	t.Logf("platform %s up in %s", kindPlatform, time.Since(start).Round(time.Second))
	t.Cleanup(func() {
		if code := Run(context.Background(), []string{"down", "--spec", upSpec}, testenv.Writer(t), testenv.Writer(t)); code != exitOK {
			t.Errorf("dpsim down: exit %d", code)
		}
		if left := leftovers(t, kindPlatform); len(left) > 0 {
			t.Errorf("containers left after dpsim down: %v", left)
		}
	})
	tests := []struct {
		name     string
		edit     func(string) string
		args     []string
		wantCode int
		want     reports.Status
		losing   []string // stores that must lose acknowledged records when want is fail
	}{
		// As promised, the edge and identity too: only the ingress reachable from outside, its TLS
		// as claimed, the volumes' raw storage without a record in plaintext, Keycloak's tokens
		// accepted by their own tenant's API alone and its passwords stored as claimed.
		{"as promised", func(s string) string { return s },
			[]string{"--scenario", "ingress-exposure", "--scenario", "tls-posture", "--scenario", "encryption-at-rest",
				"--scenario", "oidc", "--scenario", "password-hashing"}, exitOK, reports.Pass, nil},
		// Changes only what it must on the running platform: Kafka's topics are created per run with
		// the spec's replication, the policies are deleted, Kafka's and Elasticsearch's pods restart
		// with their new configuration; HDFS keeps its 2 copies (its one-copy losses are shown by
		// stores/hdfs's tests), so the scenarios settle as they would as promised.
		{"same platform weakened: kafka topics with one copy, no isolation, elasticsearch out of the backup", func(s string) string {
			s = replace("replicationFactor: 2", "replicationFactor: 1")(s)
			s = replace("isolation: namespace", "isolation: none")(s)
			s = replace("excludeComponents: []", "excludeComponents: [elasticsearch]")(s)
			return replace("minInsyncReplicas: 2", "minInsyncReplicas: 1")(s)
		}, []string{"--settle-timeout", "2m"}, exitFailed, reports.Fail, []string{"kafka"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := writeSpec(t, func(s string) string { return named(tt.edit(s)) })
			out := t.TempDir()
			// 100 writes per phase, not 400: HDFS takes about 10 a second, and re-replicates what a
			// wiped drive held at its own pace; the paths are the same, make test stays under an hour.
			code := Run(context.Background(), append([]string{"simulate", "--provider", "kind", "--spec", spec, "--writes", "100",
				"--scenario", "drive-loss", "--scenario", "backup-restore", "--scenario", "isolation", "--out", out}, tt.args...),
				testenv.Writer(t), testenv.Writer(t))
			r := readReport(t, out)
			logControls(t, r)
			if code != tt.wantCode && !(tt.wantCode == exitOK && failsOnlyOnThinAcks(t, r)) {
				t.Errorf("exit %d, want %d", code, tt.wantCode)
			}
			if s := statusOf(r, "DP-DUR-4"); s != tt.want {
				t.Errorf("DP-DUR-4 is %s, want %s", s, tt.want)
			}
			for _, store := range []string{"kafka", "stackgraph"} {
				acked, lost := ledgerTotals(r, store)
				t.Logf("%s: %d acknowledged, %d lost", store, acked, lost)
				if acked == 0 || slices.Contains(tt.losing, store) != (lost > 0) {
					t.Errorf("%s acknowledged %d, lost %d", store, acked, lost)
				}
			}
			if s := statusOf(r, "DP-NET-3"); s != tt.want {
				t.Errorf("DP-NET-3 is %s, want %s", s, tt.want)
			}
			for _, id := range []string{"DP-BAK-1", "DP-BAK-2"} {
				if s := statusOf(r, id); s != tt.want {
					t.Errorf("%s is %s, want %s", id, s, tt.want)
				}
			}
			checkBackupRestore(t, r, tt.want)
			checkDriveLossEvidence(t, r, tt.want)
			checkIsolationTable(t, r, tt.want)
			if tt.want == reports.Pass {
				checkEdge(t, r)
			}
		})
	}
}

// logControls logs every control's verdict and reason, so a failed case says what decided it.
func logControls(t *testing.T, r reports.Report) {
	t.Helper()
	for _, c := range r.Controls {
		t.Logf("%-9s %-7s %s", c.ID, c.Status, c.Reason)
	}
}

// checkBackupRestore checks what backup-restore must show: the backups with their figures, the
// restore's RTO, and per store the records acknowledged before the backup; with Elasticsearch left
// out of the schedule, its volumes named and its records lost.
func checkBackupRestore(t *testing.T, r reports.Report, want reports.Status) {
	t.Helper()
	for _, s := range r.Scenarios {
		if s.Name != "backup-restore" {
			continue
		}
		if s.Backups == nil || len(s.Backups.Backups) == 0 || len(s.Backups.Restores) != 1 {
			t.Fatalf("backup-restore report (%s: %s): %+v", s.Status, s.Reason, s.Backups)
		}
		for _, b := range s.Backups.Backups {
			t.Logf("backup %s: %s in %.0fs, %d bytes, %d of %d volumes, left out %v", b.Name, b.Phase, b.DurationSeconds, b.Bytes, b.Volumes, b.DataVolumes, b.MissingVolumes)
			if (want == reports.Fail) != (len(b.MissingVolumes) > 0) {
				t.Errorf("backup %s left out %v", b.Name, b.MissingVolumes)
			}
			if want == reports.Pass && (b.Phase != "Completed" || b.DataVolumes == 0 || b.Volumes != b.DataVolumes) {
				t.Errorf("backup %s: %s with %d of %d data volumes, want every one", b.Name, b.Phase, b.Volumes, b.DataVolumes)
			}
		}
		rs := s.Backups.Restores[0]
		t.Logf("restore %s: %s, RTO %.0fs, RPO %.0fs", rs.Name, rs.Phase, rs.RTOSeconds, rs.RPOSeconds)
		esLost := 0
		for _, l := range s.Ledgers {
			if l.Restore == nil {
				continue
			}
			t.Logf("%s/%s: %d acknowledged before the backup, %d restored, %d lost, markers %d of %d found",
				l.Tenant, l.Store, l.Restore.AcknowledgedBefore, l.Restore.Restored, l.Lost, l.Restore.MarkersFound, l.Restore.Markers)
			if l.Store == "elasticsearch" {
				esLost += l.Lost
			}
		}
		if (want == reports.Fail) != (esLost > 0) {
			t.Errorf("elasticsearch lost %d records in the restore", esLost)
		}
	}
}

// checkDriveLossEvidence checks what the drive-loss scenario must show besides its verdicts: the
// fault's evidence (the volumes destroyed and the new ones), its run-scoped dataset, and placement
// samples naming the nodes the stores reported (two or more when replication is as promised).
func checkDriveLossEvidence(t *testing.T, r reports.Report, want reports.Status) {
	t.Helper()
	for _, s := range r.Scenarios {
		if s.Name != "drive-loss" {
			continue
		}
		if len(s.Faults) != 1 || len(s.Faults[0].Effect) == 0 {
			t.Errorf("drive-loss faults %+v: want one fault with its evidence", s.Faults)
		}
		for _, f := range s.Faults {
			t.Logf("fault %s on %s: %s", f.Kind, f.Target, strings.Join(f.Effect, "; "))
		}
		if !strings.HasPrefix(s.Dataset, r.Run.ID+"-") {
			t.Errorf("dataset %q is not under the run id %q", s.Dataset, r.Run.ID)
		}
		if len(s.Placements) == 0 {
			t.Error("no placement evidence in the report")
		}
		for _, p := range s.Placements {
			if want == reports.Pass && len(p.Nodes) < 2 {
				t.Errorf("%s/%s %s on %v: fewer than 2 nodes as promised", p.Tenant, p.Store, p.ID, p.Nodes)
			}
		}
		for _, rec := range s.Recovery {
			t.Logf("%s/%s during %s: %.0f acknowledged/s, by part %v", rec.Tenant, rec.Store, rec.Fault, rec.AckedPerSecond, rec.AckedPerSecondByPart)
		}
		return
	}
	t.Error("no drive-loss scenario in the report")
}

// checkIsolationTable checks the isolation scenario's table: every phase, every source to every
// target, and connected tenant pairs named exactly when the control fails.
func checkIsolationTable(t *testing.T, r reports.Report, want reports.Status) {
	t.Helper()
	for _, s := range r.Scenarios {
		if s.Name != "isolation" {
			continue
		}
		iso := s.Isolation
		if iso == nil || len(iso.Phases) < 4 {
			t.Fatalf("isolation table: %+v, want the phases before, during, after and engine-restart", iso)
		}
		for _, p := range iso.Phases {
			t.Logf("isolation table %s: %d cells in %.1fs %s", p.Name, p.Cells, p.Seconds, p.Note)
			if p.Cells == 0 {
				t.Errorf("phase %s has no cells", p.Name)
			}
		}
		if pe := iso.PolicyEnforcement; pe != nil {
			t.Logf("new policy enforced after %.3fs; connection opened before it cut: %v", pe.Seconds, pe.PreexistingCut)
		}
		pairs := strings.Join(iso.ConnectedPairs, "; ")
		if named := strings.Contains(pairs, "tenant-a -> tenant-b") && strings.Contains(pairs, "tenant-b -> tenant-a"); named != (want == reports.Fail) {
			t.Errorf("connected pairs %q (control %s)", pairs, want)
		}
		return
	}
	t.Error("no isolation scenario in the report")
}

// checkEdge checks what the edge's scenarios must show on kind as promised: DP-NET-1, DP-NET-2 and
// DP-ENC-1 pass, with every node scanned, the TLS matrix per host and the scan counts.
func checkEdge(t *testing.T, r reports.Report) {
	t.Helper()
	for _, id := range []string{"DP-NET-1", "DP-NET-2", "DP-ENC-1", "DP-AUTH-1", "DP-AUTH-2"} {
		if s := statusOf(r, id); s != reports.Pass {
			t.Errorf("%s is %s, want pass", id, s)
		}
	}
	for _, s := range r.Scenarios {
		switch {
		case s.Exposure != nil:
			t.Logf("scan from outside: %d addresses, ports %s, in %.1fs", len(s.Exposure.Addresses), s.Exposure.Ports, s.Exposure.Seconds)
			if len(s.Exposure.Addresses) < 2 {
				t.Errorf("scan from outside covered %d node addresses", len(s.Exposure.Addresses))
			}
		case s.TLS != nil:
			t.Logf("TLS matrix at %s: %d targets", s.TLS.Address, len(s.TLS.Targets))
			if len(s.TLS.Targets) != 3 { // two tenants' hosts and no SNI
				t.Errorf("TLS targets %d, want 3", len(s.TLS.Targets))
			}
		case s.AtRest != nil:
			t.Logf("at rest: %s, %d bytes in %.1fs, stores %+v", s.AtRest.Encryption, s.AtRest.BytesScanned, s.AtRest.Seconds, s.AtRest.Stores)
		case s.OIDC != nil:
			t.Logf("OIDC: %s, %d realms, %d tokens tried", s.OIDC.Provider, len(s.OIDC.Realms), len(s.OIDC.Tokens))
			if !strings.HasPrefix(s.OIDC.Provider, "keycloak ") || len(s.OIDC.Tokens) != 10 { // 2x2 valid, 2x3 altered
				t.Errorf("OIDC from %q with %d token trials, want keycloak's and 10", s.OIDC.Provider, len(s.OIDC.Tokens))
			}
		case s.Passwords != nil:
			t.Logf("passwords: %s, %d users", s.Passwords.Provider, len(s.Passwords.Users))
			if len(s.Passwords.Users) != 4 {
				t.Errorf("%d users' credentials read, want 4", len(s.Passwords.Users))
			}
		}
	}
}
