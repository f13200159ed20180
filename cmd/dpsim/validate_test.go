package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// A claims file with a value dpsim cannot judge exits 2 before anything starts, naming the key.
func TestSimulateRefusesInvalidClaims(t *testing.T) {
	for _, bad := range []string{"authProtocol: saml", `tlsVersions: ["1.7"]`, "certCurve: P-999", "maxCertLifetime: -5h", "tenantIsolation: sometimes"} {
		key, _, _ := strings.Cut(bad, ":")
		t.Run(key, func(t *testing.T) {
			code, _, errOut := dpsim(t, context.Background(), "simulate", "--provider", "fake", "--claims", writeFile(t, "claims.yaml", bad+"\n"), "--out", t.TempDir())
			if code != exitUsage || !strings.Contains(errOut, "invalid claims") || !strings.Contains(errOut, key) || strings.Contains(errOut, "standing up") {
				t.Fatalf("exit %d, want %d with invalid claims naming %s before standing up:\n%s", code, exitUsage, key, errOut)
			}
		})
	}
}

// A spec beyond a local platform, with a reserved tenant or with two documents exits 2 naming the
// key, from spec validate and from simulate, never with a stack trace.
func TestRefusesInvalidSpecs(t *testing.T) {
	tests := []struct{ name, yaml, key string }{
		{"nodes", "nodes: 100000\n", "nodes"},
		{"tenants", "tenants: [" + strings.Repeat("t,", 1999) + "t]\n", "tenants"},
		{"brokers", "kafka:\n  brokers: 1000000\n", "kafka.brokers"},
		{"kube-system", "tenants: [kube-system]\n", "tenants[0]"},
		{"velero", "tenants: [velero]\n", "tenants[0]"},
		{"dpsim-outside", "tenants: [dpsim-outside]\n", "tenants[0]"},
		{"two documents", "name: a\n---\nname: b\n", "second YAML document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := writeFile(t, "spec.yaml", tt.yaml)
			for _, args := range [][]string{{"spec", "validate", spec}, {"simulate", "--provider", "fake", "--spec", spec, "--out", t.TempDir()}} {
				code, _, errOut := dpsim(t, context.Background(), args...)
				if code != exitUsage || !strings.Contains(errOut, tt.key) || strings.Contains(errOut, "goroutine") {
					t.Fatalf("%s: exit %d, want %d naming %s:\n%s", args[0], code, exitUsage, tt.key, errOut)
				}
			}
		})
	}
}

// A run that judged nothing (every control skipped) says so and exits 1; its report is written and
// carries the note.
func TestSimulateNothingJudged(t *testing.T) {
	out := t.TempDir()
	code, _, errOut := dpsim(t, context.Background(), "simulate", "--provider", "fake", "--scenario", "ingress-exposure", "--out", out)
	if code != exitFailed || !strings.Contains(errOut, "nothing was judged") {
		t.Fatalf("exit %d, want %d saying nothing was judged:\n%s", code, exitFailed, errOut)
	}
	if r := readReport(t, out); !slices.Contains(r.Run.Notes, nothingJudgedNote) {
		t.Fatalf("report notes %q, want %q", r.Run.Notes, nothingJudgedNote)
	}
}

// report render refuses a file that is not a report, saying why.
func TestReportRenderRefusesWhatIsNotAReport(t *testing.T) {
	code, out, errOut := dpsim(t, context.Background(), "report", "render", writeFile(t, "r.json", "{}\n"), "--format", "md")
	if code == exitOK || !strings.Contains(errOut, "not a dpsim report") || out != "" {
		t.Fatalf("exit %d, output %q, want a refusal:\n%s", code, out, errOut)
	}
}

// An --out that cannot be written is refused with exit 2 before anything starts.
func TestUnwritableOutIsRefusedFirst(t *testing.T) {
	file := writeFile(t, "a-file", "x")
	unwritable := map[string]string{"under a file": filepath.Join(file, "out")}
	if os.Geteuid() != 0 { // root writes into a read-only directory
		ro := t.TempDir()
		if err := os.Chmod(ro, 0o555); err != nil {
			t.Fatal(err)
		}
		unwritable["in a read-only directory"] = filepath.Join(ro, "out")
	}
	report := t.TempDir()
	if code, _, errOut := dpsim(t, context.Background(), "simulate", "--provider", "fake", "--scenario", "tls-posture", "--out", report); code != exitOK {
		t.Fatalf("simulate: exit %d\n%s", code, errOut)
	}
	for name, out := range unwritable {
		t.Run(name, func(t *testing.T) {
			code, _, errOut := dpsim(t, context.Background(), "simulate", "--provider", "fake", "--out", out)
			if code != exitUsage || !strings.Contains(errOut, "--out") || strings.Contains(errOut, "standing up") {
				t.Fatalf("simulate: exit %d, want %d before standing up:\n%s", code, exitUsage, errOut)
			}
			code, _, errOut = dpsim(t, context.Background(), "report", "render", filepath.Join(report, "report.json"), "--format", "md", "--out", filepath.Join(out, "r.md"))
			if code != exitUsage || !strings.Contains(errOut, "--out") {
				t.Fatalf("report render: exit %d, want %d:\n%s", code, exitUsage, errOut)
			}
		})
	}
	t.Run("a report file that is a directory", func(t *testing.T) {
		out := t.TempDir()
		if err := os.Mkdir(filepath.Join(out, "report.json"), 0o755); err != nil {
			t.Fatal(err)
		}
		if code, _, errOut := dpsim(t, context.Background(), "simulate", "--provider", "fake", "--out", out); code != exitUsage || !strings.Contains(errOut, "is a directory") {
			t.Fatalf("exit %d, want %d:\n%s", code, exitUsage, errOut)
		}
	})
}

// --writes is bounded like the spec's counts.
func TestSimulateBoundsWrites(t *testing.T) {
	if code, _, errOut := dpsim(t, context.Background(), "simulate", "--provider", "fake", "--writes", "1000000", "--out", t.TempDir()); code != exitUsage || !strings.Contains(errOut, "--writes") {
		t.Fatalf("exit %d, want %d:\n%s", code, exitUsage, errOut)
	}
}
