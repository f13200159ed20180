package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"dpsim/controls"
	"dpsim/internal/failpoint"
	"dpsim/reports"
	"dpsim/scenarios"
)

// dpsim runs the CLI in-process and returns its exit code and output.
func dpsim(t *testing.T, ctx context.Context, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Run(ctx, args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func writeSpec(t *testing.T, edit func(string) string) string {
	t.Helper()
	code, out, errOut := dpsim(t, context.Background(), "spec", "default")
	if code != 0 {
		t.Fatalf("spec default: exit %d: %s", code, errOut)
	}
	path := filepath.Join(t.TempDir(), "spec.yaml")
	if err := os.WriteFile(path, []byte(edit(out)), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func readReport(t *testing.T, dir string) reports.Report {
	t.Helper()
	r, err := reports.ReadJSON(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func statusOf(r reports.Report, id string) reports.Status {
	for _, c := range r.Controls {
		if c.ID == id {
			return c.Status
		}
	}
	return "absent"
}

// --strict turns the fake's skipped controls (it has no disks to scan, ...) into exit 1, and a
// run records its id and each durability scenario's run-scoped dataset.
func TestSimulateStrict(t *testing.T) {
	out := t.TempDir()
	code, _, errOut := dpsim(t, context.Background(), "simulate", "--provider", "fake", "--strict", "--scenario", "node-kill", "--scenario", "ingress-exposure", "--out", out)
	if code != exitFailed {
		t.Fatalf("exit %d with skipped controls under --strict, want %d\n%s", code, exitFailed, errOut)
	}
	r := readReport(t, out)
	if statusOf(r, "DP-NET-1") != reports.Skipped || r.Run.ID == "" {
		t.Fatalf("DP-NET-1 %s, run id %q: want skipped and an id", statusOf(r, "DP-NET-1"), r.Run.ID)
	}
	if ds := r.Scenarios[0].Dataset; !strings.HasPrefix(ds, r.Run.ID) {
		t.Errorf("node-kill wrote dataset %q, not under the run id %q", ds, r.Run.ID)
	}
}

func TestSimulateFakeDefault(t *testing.T) {
	out := t.TempDir()
	code, _, errOut := dpsim(t, context.Background(), "simulate", "--provider", "fake", "--out", out)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	for _, f := range []string{"report.json", "junit.xml", "report.md", "report.html"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s missing or empty", f)
		}
	}
	r := readReport(t, out)
	if len(r.Controls) != len(controls.IDs()) {
		t.Fatalf("%d controls, want %d", len(r.Controls), len(controls.IDs()))
	}
	for _, id := range []string{"DP-DUR-1", "DP-DUR-2", "DP-DUR-3", "DP-DUR-4", "DP-DUR-5", "DP-NET-2", "DP-BAK-1", "DP-BAK-2", "DP-BAK-3", "DP-BAK-4", "DP-OFF-1"} {
		if s := statusOf(r, id); s != reports.Pass {
			t.Errorf("%s is %s, want pass", id, s)
		}
	}
	for _, c := range r.Controls {
		if c.Status == reports.Skipped && c.Reason == "" {
			t.Errorf("%s skipped without a reason", c.ID)
		}
	}
	acked, lost := 0, 0
	for _, s := range r.Scenarios {
		for _, l := range s.Ledgers {
			acked += l.Acknowledged
			lost += l.Lost
		}
	}
	if acked == 0 || lost != 0 {
		t.Fatalf("acknowledged %d, lost %d", acked, lost)
	}
}

func TestSimulateWeakSpecsFail(t *testing.T) {
	tests := []struct {
		name     string
		edit     func(string) string
		scenario string
		control  string
	}{
		{"replication factor 1 loses a drive's writes", replace("replicationFactor: 2", "replicationFactor: 1"), "drive-loss", "DP-DUR-4"},
		{"replication factor 1 is not two copies", replace("replicationFactor: 2", "replicationFactor: 1"), "node-kill", "DP-DUR-2"},
		{"TLS 1.0 allowed", replace(`minVersion: "1.2"`, `minVersion: "1.0"`), "tls-posture", "DP-NET-2"},
		{"P-256 certificates", replace("certCurve: P-384", "certCurve: P-256"), "tls-posture", "DP-NET-2"},
		{"a CBC suite", replace("    - TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "    - TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"), "tls-posture", "DP-NET-2"},
		{"P-521 key exchange", replace("    - P-384\n  certCurve", "    - P-521\n  certCurve"), "tls-posture", "DP-NET-2"},
		{"certificates living a year", replace("certLifetime: 2160h", "certLifetime: 8760h"), "tls-posture", "DP-NET-2"},
		{"an API trusting every realm", replace("apiTrust: own-realm", "apiTrust: every-realm"), "oidc", "DP-AUTH-1"},
		{"Elasticsearch without replicas", replace("replicas: 1", "replicas: 0"), "drive-loss", "DP-DUR-4"},
		{"two Kafka brokers", replace("brokers: 3", "brokers: 2"), "node-kill", "DP-DUR-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := writeSpec(t, tt.edit)
			out := t.TempDir()
			code, _, errOut := dpsim(t, context.Background(), "simulate", "--spec", spec, "--scenario", tt.scenario, "--out", out)
			if code != exitFailed {
				t.Fatalf("exit %d, want %d\n%s", code, exitFailed, errOut)
			}
			if s := statusOf(readReport(t, out), tt.control); s != reports.Fail {
				t.Fatalf("%s is %s, want fail", tt.control, s)
			}
		})
	}
}

func replace(old, new string) func(string) string {
	return func(s string) string {
		if !strings.Contains(s, old) {
			panic("default spec lacks " + old)
		}
		return strings.Replace(s, old, new, 1)
	}
}

func TestReplicationFactorOneLosesWrites(t *testing.T) {
	spec := writeSpec(t, replace("replicationFactor: 2", "replicationFactor: 1"))
	out := t.TempDir()
	dpsim(t, context.Background(), "simulate", "--spec", spec, "--scenario", "drive-loss", "--out", out)
	lost := 0
	for _, s := range readReport(t, out).Scenarios {
		for _, l := range s.Ledgers {
			if l.Store == "kafka" {
				lost += l.Lost
			}
		}
	}
	if lost == 0 {
		t.Fatal("no acknowledged Kafka record lost with replication factor 1 and a dropped drive")
	}
}

// TestWritesSizesTheWorkload: --writes sets the writes of each phase around a fault, and the report
// says the run was not the default one.
func TestWritesSizesTheWorkload(t *testing.T) {
	out := t.TempDir()
	if code, _, errOut := dpsim(t, context.Background(), "simulate", "--scenario", "drive-loss", "--writes", "25", "--out", out); code != exitOK {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	r := readReport(t, out)
	if !slices.ContainsFunc(r.Run.Notes, func(n string) bool { return strings.Contains(n, "--writes 25") }) {
		t.Errorf("run notes %q do not say --writes 25", r.Run.Notes)
	}
	want := 25 + scenarios.DefaultTraffic.FaultWrites + 25 // before, during (the fake's), after
	for _, s := range r.Scenarios {
		for _, l := range s.Ledgers {
			if l.Attempted != want {
				t.Errorf("%s/%s: %d writes attempted, want %d", l.Tenant, l.Store, l.Attempted, want)
			}
		}
	}
}

// TestSameSeedSameReport runs twice with one seed: the reports differ only in the documented time
// fields (run.started, run.finished, run.durationSeconds) and what the fake's real TLS listener
// gives each run (its address, its certificate's serial and validity).
func TestSameSeedSameReport(t *testing.T) {
	var docs []string
	for range 2 {
		out := t.TempDir()
		if code, _, errOut := dpsim(t, context.Background(), "simulate", "--seed", "7", "--out", out); code != exitOK {
			t.Fatalf("exit %d\n%s", code, errOut)
		}
		data, err := os.ReadFile(filepath.Join(out, "report.json"))
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		run := doc["run"].(map[string]any)
		for _, k := range []string{"started", "finished", "durationSeconds"} {
			if _, ok := run[k]; !ok {
				t.Fatalf("run.%s missing", k)
			}
			delete(run, k)
		}
		for _, sc := range doc["scenarios"].([]any) { // the fake's ingress is a real listener
			if m, ok := sc.(map[string]any)["tls"].(map[string]any); ok {
				delete(m, "address")
				for _, target := range m["targets"].([]any) {
					cert := target.(map[string]any)["certificate"].(map[string]any)
					for _, k := range []string{"serial", "notBefore", "notAfter"} {
						delete(cert, k)
					}
				}
			}
		}
		norm, _ := json.MarshalIndent(doc, "", " ")
		docs = append(docs, string(norm))
	}
	if docs[0] != docs[1] {
		t.Fatal("two runs with the same seed differ beyond the time fields")
	}
}

func TestInterruptedRunStillWritesReport(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := t.TempDir()
	code, _, _ := dpsim(t, ctx, "simulate", "--out", out)
	if code == exitOK {
		t.Fatal("an interrupted run exited 0")
	}
	r := readReport(t, out)
	if !r.Run.Interrupted {
		t.Fatal("report does not say the run was interrupted")
	}
}

func TestBadInput(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("kafka:\n  brokers: three\n"), 0o644)
	tests := []struct {
		name       string
		args       []string
		says       string
		failpoints string
	}{
		{"malformed spec", []string{"spec", "validate", bad}, "kafka.brokers", ""},
		{"malformed spec to simulate", []string{"simulate", "--spec", bad, "--out", t.TempDir()}, "kafka.brokers", ""},
		{"missing spec", []string{"simulate", "--spec", "/nonexistent.yaml"}, "nonexistent.yaml", ""},
		{"unknown scenario", []string{"simulate", "--scenario", "meteor", "--out", t.TempDir()}, `unknown scenario "meteor"`, ""},
		{"unknown provider", []string{"simulate", "--provider", "cloud", "--out", t.TempDir()}, `unknown provider "cloud"`, ""},
		{"no writes", []string{"simulate", "--writes", "0", "--out", t.TempDir()}, "--writes 0: want at least 1", ""},
		{"no settling", []string{"simulate", "--settle-timeout", "0s", "--out", t.TempDir()}, "--settle-timeout 0s: want a positive duration", ""},
		{"unknown flag", []string{"simulate", "--sed", "1"}, "sed", ""},
		{"down, all and one", []string{"down", "--all", "--spec", writeSpec(t, func(s string) string { return s })}, "--all and --spec exclude each other", ""},
		{"unknown command", []string{"simluate"}, `unknown command "simluate"`, ""},
		{"unknown format", []string{"report", "render", bad, "--format", "pdf"}, "pdf", ""},
		{"no command", nil, "Usage", ""},
		{"unknown failpoint", []string{"simulate", "--out", t.TempDir()}, `unknown failpoint "edge-cax"`, "edge-cax"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.failpoints != "" {
				t.Setenv(failpoint.Env, tt.failpoints)
			}
			code, out, errOut := dpsim(t, context.Background(), tt.args...)
			if code != exitUsage || !strings.Contains(out+errOut, tt.says) {
				t.Fatalf("exit %d, output %q; want exit 2 naming %q", code, out+errOut, tt.says)
			}
		})
	}
}

func TestReportRender(t *testing.T) {
	out := t.TempDir()
	if code, _, errOut := dpsim(t, context.Background(), "simulate", "--scenario", "tls-posture", "--out", out); code != exitOK {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	for format, says := range map[string]string{"html": "<td>DP-NET-2</td>", "md": "DP-NET-2", "junit": "<testsuite", "json": `"controls"`} {
		code, stdout, errOut := dpsim(t, context.Background(), "report", "render", filepath.Join(out, "report.json"), "--format", format)
		if code != exitOK || !strings.Contains(stdout, says) {
			t.Errorf("render %s: exit %d, %s", format, code, errOut)
		}
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"simulate", "--help"}, {"list"}, {"claims"}} {
		if code, out, errOut := dpsim(t, context.Background(), args...); code != exitOK || out+errOut == "" {
			t.Errorf("%v: exit %d", args, code)
		}
	}
}
