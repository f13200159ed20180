package reports

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A file that is not a dpsim report is refused, saying why, rather than rendered as an empty
// report that failed nothing; a written report reads back.
func TestReadJSONRefusesWhatIsNotAReport(t *testing.T) {
	tests := []struct{ name, json, why string }{
		{"an empty object", `{}`, `run.tool is ""`},
		{"another tool's run", `{"run":{"tool":"other"},"controls":[{"id":"X","status":"pass"}]}`, `run.tool is "other"`},
		{"no controls", `{"run":{"tool":"dpsim"},"controls":[]}`, "no controls"},
		{"a control without a verdict", `{"run":{"tool":"dpsim"},"controls":[{"id":"DP-1"}]}`, `controls[0] (id "DP-1") has status ""`},
		{"an unknown verdict", `{"run":{"tool":"dpsim"},"controls":[{"id":"DP-1","status":"ok"}]}`, `status "ok"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "report.json")
			if err := os.WriteFile(path, []byte(tt.json), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ReadJSON(path)
			if err == nil || !strings.Contains(err.Error(), "not a dpsim report") || !strings.Contains(err.Error(), tt.why) {
				t.Fatalf("error %v, want not a dpsim report: %s", err, tt.why)
			}
		})
	}
	path := filepath.Join(t.TempDir(), "report.json")
	r := sampleReport()
	if err := WriteJSON(path, r); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadJSON(path); err != nil {
		t.Fatalf("a written report does not read back: %v", err)
	}
}
