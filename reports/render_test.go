package reports

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"dpsim/topology"
)

// sampleReport has one control of each verdict, a scenario with faults, ledgers and a timeline, and
// a skipped scenario with no data at all.
func sampleReport() Report {
	started := time.Date(2025, 3, 14, 9, 26, 53, 589_000_000, time.FixedZone("CET", 3600))
	controls := []Control{
		{ID: "DP-1", Title: "Acknowledged writes survive a broker loss", Claim: "no acknowledged write is lost",
			Status: Pass, Scenarios: []string{"broker-loss"},
			Evidence: []Evidence{{Scenario: "broker-loss", Check: "ledger", Status: Pass, Summary: "0 of 90 acknowledged writes lost"}}},
		{ID: "DP-2", Title: "Tenants | stores are isolated", Claim: "no tenant reads another's data",
			Status: Fail, Scenarios: []string{"broker-loss"},
			Evidence: []Evidence{
				{Scenario: "broker-loss", Check: "ledger", Status: Fail, Summary: "3 acknowledged writes lost"},
				{Scenario: "broker-loss", Check: "isolation", Status: Fail, Summary: "1 unexpected record"},
			}},
		{ID: "DP-3", Title: "Backups restore within the RPO", Claim: "restores lose at most 5 minutes",
			Status: Skipped, Reason: "provider fake has no object store", Scenarios: []string{"restore"}},
		{ID: "DP-4", Title: "Encryption at rest <script>alert(1)</script>", Claim: "volumes are encrypted",
			Status: Error, Reason: "probe crashed: exit status 2", Scenarios: []string{"broker-loss"}},
	}
	var timeline []Bucket
	for i := range 30 {
		b := Bucket{StartSeconds: float64(i), OK: 5}
		if i >= 10 && i < 15 {
			b = Bucket{StartSeconds: float64(i), OK: 1, Failed: 3, Unknown: 1}
		}
		timeline = append(timeline, b)
	}
	return Report{
		Run: Run{
			Tool: "dpsim", Provider: "fake", Seed: 42, SpecName: "payments", SpecHash: "sha256:abc123",
			ClaimsHash: "sha256:def456", Scenarios: []string{"broker-loss", "restore"},
			Started: started, Finished: started.Add(95 * time.Second), DurationSeconds: 95,
			Versions: map[string]string{"dpsim": "0.1.0", "kafka": "3.7.0"},
			Notes:    []string{"seeded exploratory run"},
			Summary:  Tally(controls),
		},
		Controls: controls,
		Scenarios: []Scenario{
			{
				Name: "broker-loss", Description: "kill a Kafka broker under write load",
				Controls: []string{"DP-1", "DP-2", "DP-4"}, Status: Fail, DurationSeconds: 30, Logs: "logs/broker-loss",
				Faults: []Fault{
					{Kind: "kill-node", Target: "broker-2", StartSeconds: 10, EndSeconds: 15},
					{Kind: "partition", Target: "zone-b", StartSeconds: 25, EndSeconds: 29.5},
				},
				Ledgers: []Ledger{
					{Tenant: "acme", Store: "orders", Attempted: 100, Acknowledged: 90, Failed: 6, Unknown: 4,
						Lost: 3, Unexpected: 1, Recovered: 2, LostIDs: []string{"acme-17", "acme-18", "acme-19"}, UnexpectedIDs: []string{"zz-1"}},
					{Tenant: "globex", Store: "orders", Attempted: 50, Acknowledged: 50},
				},
				Checks: []Check{
					{Name: "ledger", Tenant: "acme", Store: "orders", Status: Fail, Summary: "3 acknowledged writes lost"},
					{Name: "ledger", Tenant: "globex", Store: "orders", Status: Pass, Summary: "0 lost"},
				},
				Recovery: []Recovery{
					{Tenant: "acme", Store: "orders", Fault: "kill-node broker-2", Seconds: 5.5, UnavailableSeconds: 4.25},
					{Tenant: "globex", Store: "orders", Fault: "partition zone-b", Seconds: -1, UnavailableSeconds: 4.5},
				},
				Timeline: timeline,
				Events:   []Event{{AtSeconds: 10.2, What: "broker-2 stopped"}, {AtSeconds: 14.9, What: "partition reassigned"}},
			},
			{Name: "restore", Description: "restore the latest backup", Controls: []string{"DP-3"},
				Status: Skipped, Reason: "provider fake has no object store"},
		},
	}
}

func renderString(t testing.TB, r Report, f Format) string {
	t.Helper()
	var buf bytes.Buffer
	if err := Render(&buf, r, f); err != nil {
		t.Fatalf("render %s: %v", f, err)
	}
	return buf.String()
}

func TestParseFormat(t *testing.T) {
	tests := []struct {
		in      string
		want    Format
		wantErr bool
	}{
		{in: "json", want: JSON},
		{in: "junit", want: JUnit},
		{in: " MD ", want: Markdown},
		{in: "html", want: HTML},
		{in: "markdown", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseFormat(tt.in)
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), "json, junit, md, html") {
					t.Fatalf("ParseFormat(%q) error = %v, want one naming the accepted formats", tt.in, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseFormat(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestRenderUnknownFormat(t *testing.T) {
	var buf bytes.Buffer
	if err := Render(&buf, sampleReport(), "pdf"); err == nil {
		t.Fatal("Render with format pdf succeeded, want an error")
	}
	if buf.Len() != 0 {
		t.Fatalf("Render wrote %d bytes on failure, want none", buf.Len())
	}
}

// The JUnit schema as a CI system reads it, declared apart from the encoder's types.
type (
	xSuites struct {
		Tests    int      `xml:"tests,attr"`
		Failures int      `xml:"failures,attr"`
		Suites   []xSuite `xml:"testsuite"`
	}
	xSuite struct {
		Name       string      `xml:"name,attr"`
		Tests      int         `xml:"tests,attr"`
		Failures   int         `xml:"failures,attr"`
		Errors     int         `xml:"errors,attr"`
		Skipped    int         `xml:"skipped,attr"`
		Time       string      `xml:"time,attr"`
		Properties []xProperty `xml:"properties>property"`
		Cases      []xCase     `xml:"testcase"`
	}
	xProperty struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	}
	xCase struct {
		Name      string    `xml:"name,attr"`
		Classname string    `xml:"classname,attr"`
		Failure   *xOutcome `xml:"failure"`
		Error     *xOutcome `xml:"error"`
		Skipped   *xOutcome `xml:"skipped"`
	}
	xOutcome struct {
		Message string `xml:"message,attr"`
		Text    string `xml:",chardata"`
	}
)

// outcome names the one result element a testcase carries, or "pass" for none.
func (c xCase) outcome() string {
	var found []string
	for name, o := range map[string]*xOutcome{"failure": c.Failure, "error": c.Error, "skipped": c.Skipped} {
		if o != nil {
			found = append(found, name)
		}
	}
	switch len(found) {
	case 0:
		return "pass"
	case 1:
		return found[0]
	default:
		return fmt.Sprintf("several: %v", found)
	}
}

func TestJUnit(t *testing.T) {
	var doc xSuites
	if err := xml.Unmarshal([]byte(renderString(t, sampleReport(), JUnit)), &doc); err != nil {
		t.Fatalf("junit.xml does not parse: %v", err)
	}
	if len(doc.Suites) != 1 {
		t.Fatalf("got %d testsuites, want 1", len(doc.Suites))
	}
	suite := doc.Suites[0]
	counts := map[string][2]int{
		"tests":         {suite.Tests, 4},
		"failures":      {suite.Failures, 1},
		"errors":        {suite.Errors, 1},
		"skipped":       {suite.Skipped, 1},
		"root tests":    {doc.Tests, 4},
		"root failures": {doc.Failures, 1},
	}
	for name, c := range counts {
		if c[0] != c[1] {
			t.Errorf("%s = %d, want %d", name, c[0], c[1])
		}
	}
	if suite.Name != "dpsim" || suite.Time != "95.000" {
		t.Errorf("suite name, time = %q, %q; want dpsim, 95.000", suite.Name, suite.Time)
	}
	props := map[string]string{}
	for _, p := range suite.Properties {
		props[p.Name] = p.Value
	}
	wantProps := map[string]string{"provider": "fake", "seed": "42", "specHash": "sha256:abc123"}
	if !reflect.DeepEqual(props, wantProps) {
		t.Errorf("properties = %v, want %v", props, wantProps)
	}

	tests := []struct {
		name, outcome, message string
		textHas                []string
	}{
		{name: "DP-1 Acknowledged writes survive a broker loss", outcome: "pass"},
		{name: "DP-2 Tenants | stores are isolated", outcome: "failure",
			message: "[fail] broker-loss/ledger: 3 acknowledged writes lost",
			textHas: []string{"3 acknowledged writes lost", "1 unexpected record"}},
		{name: "DP-3 Backups restore within the RPO", outcome: "skipped", message: "provider fake has no object store"},
		{name: "DP-4 Encryption at rest <script>alert(1)</script>", outcome: "error", message: "probe crashed: exit status 2"},
	}
	if len(suite.Cases) != len(tests) {
		t.Fatalf("got %d testcases, want one per control (%d)", len(suite.Cases), len(tests))
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := suite.Cases[i]
			if c.Name != tt.name || c.Classname != "dpsim.controls" {
				t.Fatalf("testcase = %q (%s), want %q (dpsim.controls)", c.Name, c.Classname, tt.name)
			}
			if got := c.outcome(); got != tt.outcome {
				t.Fatalf("outcome = %s, want %s", got, tt.outcome)
			}
			o := map[string]*xOutcome{"failure": c.Failure, "error": c.Error, "skipped": c.Skipped}[tt.outcome]
			if o == nil {
				return
			}
			if o.Message != tt.message {
				t.Errorf("message = %q, want %q", o.Message, tt.message)
			}
			for _, s := range tt.textHas {
				if !strings.Contains(o.Text, s) {
					t.Errorf("text %q does not contain %q", o.Text, s)
				}
			}
		})
	}
}

func TestMarkdown(t *testing.T) {
	md := renderString(t, sampleReport(), Markdown)
	tests := []struct {
		name, want string
	}{
		{"provider", "**Provider:** fake"},
		{"seed", "**Seed:** 42"},
		{"spec", "payments (sha256:abc123)"},
		{"summary", "1 fail, 1 error, 1 pass, 1 skipped (4 controls)"},
		{"DP-1", "| DP-1 | PASS |"},
		{"DP-2 with escaped pipe", "| DP-2 | FAIL | Tenants \\| stores are isolated | [fail] broker-loss/ledger: 3 acknowledged writes lost |"},
		{"DP-3", "| DP-3 | SKIPPED | Backups restore within the RPO | provider fake has no object store |"},
		{"DP-4 with escaped tag", "| DP-4 | ERROR | Encryption at rest &lt;script>alert(1)&lt;/script> | probe crashed: exit status 2 |"},
		{"ledger with lost count", "| acme | orders | 100 | 90 | 6 | 4 | 3 | 1 | 0 | 2 |"},
		{"lost identities", "acme-17, acme-18, acme-19"},
		{"fault with times", "| kill-node | broker-2 | 10s | 15s |"},
		{"recovery that never came", "| globex | orders | partition zone-b | never | 4.5s |"},
		{"event", "| 10.2s | broker-2 stopped |"},
		{"skipped scenario", "### restore: SKIPPED"},
		{"evidence folder", "| logs/broker-loss | the pods' logs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(md, tt.want) {
				t.Errorf("markdown does not contain %q:\n%s", tt.want, md)
			}
		})
	}
}

var (
	networkRef = regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?\s*(https?:)?//`)
	badNumber  = regexp.MustCompile(`="[^"]*(NaN|Inf)[^"]*"`)
)

func TestHTML(t *testing.T) {
	zeroDuration := Scenario{Name: "instant", Status: Pass,
		Timeline: []Bucket{{StartSeconds: 0, OK: 0}},
		Faults:   []Fault{{Kind: "kill-node", Target: "db-0"}}}
	degenerate := Scenario{Name: "degenerate", Status: Error, DurationSeconds: math.NaN(),
		Timeline: []Bucket{{StartSeconds: math.Inf(1), OK: 3}, {StartSeconds: math.NaN(), Failed: -2}},
		Faults:   []Fault{{Kind: "cut", Target: "net", StartSeconds: math.Inf(-1), EndSeconds: math.NaN()}, {Kind: "stuck", Target: "disk", StartSeconds: 5, EndSeconds: 1}},
		Events:   []Event{{AtSeconds: math.Inf(1), What: "see https://example.com/runbook"}}}
	tests := []struct {
		name    string
		report  Report
		wantSVG bool
		want    []string
	}{
		{name: "sample", report: sampleReport(), wantSVG: true,
			want: []string{"DP-1", "DP-2", "DP-3", "DP-4", "kill-node broker-2", "No timeline recorded.", "&lt;script&gt;"}},
		{name: "empty report", report: Report{}, want: []string{"<table>"}},
		{name: "zero-duration scenario", report: Report{Scenarios: []Scenario{zeroDuration}}, wantSVG: true, want: []string{"kill-node db-0"}},
		{name: "non-finite numbers", report: Report{Scenarios: []Scenario{degenerate}}, wantSVG: true, want: []string{"stuck disk"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := renderString(t, tt.report, HTML)
			if got := strings.Contains(page, "<svg"); got != tt.wantSVG {
				t.Errorf("contains <svg = %v, want %v", got, tt.wantSVG)
			}
			for _, s := range tt.want {
				if !strings.Contains(page, s) {
					t.Errorf("page does not contain %q", s)
				}
			}
			if strings.Contains(page, "<script>") {
				t.Error("page contains an unescaped <script>")
			}
			if m := networkRef.FindString(page); m != "" {
				t.Errorf("page loads a network asset: %q", m)
			}
			if strings.Contains(page, "NaN") || badNumber.MatchString(page) {
				t.Errorf("page contains a non-finite number: %q", badNumber.FindString(page))
			}
		})
	}
}

// TestTimelineGeometry checks every shape of every timeline lies inside the SVG's view box.
func TestTimelineGeometry(t *testing.T) {
	scenarios := append(sampleReport().Scenarios,
		Scenario{Name: "one bucket", DurationSeconds: 10, Timeline: []Bucket{{StartSeconds: 4, OK: 1}}},
		Scenario{Name: "fault past the end", DurationSeconds: 10, Faults: []Fault{{StartSeconds: 8, EndSeconds: 40}}},
		Scenario{Name: "unsorted buckets", DurationSeconds: 3, Timeline: []Bucket{{StartSeconds: 2, OK: 1}, {StartSeconds: 0, Unknown: 4}, {StartSeconds: 1, Failed: 2}}},
	)
	for _, s := range scenarios {
		t.Run(s.Name, func(t *testing.T) {
			tl := newTimeline(s)
			if tl == nil {
				if len(s.Timeline)+len(s.Faults) > 0 {
					t.Fatal("no timeline for a scenario with data")
				}
				return
			}
			var rects [][4]px
			for _, b := range tl.Bars {
				for _, r := range b.Segments {
					if r.Y < tl.BarTop-0.05 {
						t.Errorf("bar segment %+v reaches above the fault labels at %v", r, tl.BarTop)
					}
					rects = append(rects, [4]px{r.X, r.Y, r.W, r.H})
				}
			}
			for _, f := range tl.Faults {
				rects = append(rects, [4]px{f.X, f.Y, f.W, f.H})
			}
			for _, r := range rects {
				x, y, w, h := float64(r[0]), float64(r[1]), float64(r[2]), float64(r[3])
				if x < 0 || y < 0 || w < 0 || h < 0 || x+w > float64(tl.Width)+2 || y+h > float64(tl.Height) {
					t.Errorf("rect %v lies outside the %vx%v view box", r, tl.Width, tl.Height)
				}
			}
			if len(s.Timeline) > 0 && len(tl.Bars) == 0 && maxCount(s.Timeline) > 0 {
				t.Error("no bars drawn for buckets with operations")
			}
		})
	}
}

func TestWriteAll(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out", "run-1")
	want := sampleReport()
	if err := WriteAll(dir, want); err != nil {
		t.Fatalf("WriteAll: %v", err)
	}
	for _, f := range Formats() {
		t.Run(string(f), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, f.FileName()))
			if err != nil {
				t.Fatal(err)
			}
			if len(data) == 0 {
				t.Fatalf("%s is empty", f.FileName())
			}
			if rendered := renderString(t, want, f); rendered != string(data) {
				t.Errorf("%s differs from Render(%s)", f.FileName(), f)
			}
		})
	}
	got, err := ReadJSON(filepath.Join(dir, JSON.FileName()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(utcTimes(got), utcTimes(want)) {
		t.Errorf("report.json does not round-trip:\n got %+v\nwant %+v", got, want)
	}
}

func utcTimes(r Report) Report {
	r.Run.Started, r.Run.Finished = r.Run.Started.UTC(), r.Run.Finished.UTC()
	return r
}

func TestWriteAllUnwritableDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteAll(filepath.Join(file, "sub"), sampleReport()); err == nil {
		t.Fatal("WriteAll under a regular file succeeded, want an error")
	}
}

func BenchmarkRenderHTML(b *testing.B) {
	r := largeReport(16, 14, 200)
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := Render(&buf, r, HTML); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(buf.Len()))
}

func largeReport(controls, scenarios, buckets int) Report {
	r := sampleReport()
	r.Controls, r.Scenarios = nil, nil
	base := sampleReport().Scenarios[0]
	for i := range controls {
		c := sampleReport().Controls[i%4]
		c.ID = "DP-" + strconv.Itoa(i+1)
		r.Controls = append(r.Controls, c)
	}
	for i := range scenarios {
		s := base
		s.Name = fmt.Sprintf("scenario-%d", i)
		s.DurationSeconds = float64(buckets) / 2
		s.Timeline = make([]Bucket, buckets)
		for j := range s.Timeline {
			s.Timeline[j] = Bucket{StartSeconds: float64(j) / 2, OK: 10 + j%7, Failed: j % 3, Unknown: j % 2}
		}
		r.Scenarios = append(r.Scenarios, s)
	}
	return r
}

// The edge's evidence is shown as tables: the TLS matrix, the scan from outside, the raw storage.
func TestMarkdownEdgeSections(t *testing.T) {
	r := sampleReport()
	r.Scenarios = append(r.Scenarios, Scenario{Name: "edge", Status: Fail,
		TLS: &TLS{Address: "10.0.0.2:443", Targets: []TLSTarget{{Host: "", Versions: []TLSOffer{
			{Offered: "1.2", Result: OfferAccepted}, {Offered: "1.1", Result: OfferRefused}, {Offered: "1.0", Result: "error"}},
			Certificate: &TLSCertificate{KeyType: "ECDSA", Curve: "P-384", LifetimeHours: 2160, Issuer: "Pebble"}, HSTS: "max-age=1"}}},
		Exposure: &topology.Exposure{Ports: "1-65535", Addresses: []topology.ScannedAddress{{Address: "10.0.0.2", Node: "w1",
			Open: []topology.OpenPort{{Port: 443, Answer: "https"}, {Port: 10250, Answer: "tcp"}}, Dropped: 65533}}},
		AtRest: &topology.AtRest{Encryption: "none", Stores: []topology.AtRestStore{{Tenant: "acme", Store: "kafka", Written: 400, Found: 400, Instances: 800}}},
	})
	md := renderString(t, r, Markdown)
	for _, want := range []string{
		"| (no SNI) | 1.2 |  |  | 1.0 | ECDSA P-384, , 2160 h, issuer Pebble | max-age=1 |",
		"| 10.0.0.2 | w1 | 443 https; 10250 tcp | 0 | 65533 | 0 |",
		"| acme | kafka | 400 | 400 | 800 |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown does not contain %q:\n%s", want, md)
		}
	}
}
