package reports

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
)

// junitClassname is the classname of every control's testcase.
const junitClassname = "dpsim.controls"

// The JUnit XML schema as CI systems read it: one suite, one testcase per control.
type (
	junitSuites struct {
		XMLName  xml.Name     `xml:"testsuites"`
		Tests    int          `xml:"tests,attr"`
		Failures int          `xml:"failures,attr"`
		Errors   int          `xml:"errors,attr"`
		Skipped  int          `xml:"skipped,attr"`
		Time     string       `xml:"time,attr"`
		Suites   []junitSuite `xml:"testsuite"`
	}
	junitSuite struct {
		Name       string          `xml:"name,attr"`
		Tests      int             `xml:"tests,attr"`
		Failures   int             `xml:"failures,attr"`
		Errors     int             `xml:"errors,attr"`
		Skipped    int             `xml:"skipped,attr"`
		Time       string          `xml:"time,attr"`
		Timestamp  string          `xml:"timestamp,attr,omitempty"`
		Properties []junitProperty `xml:"properties>property"`
		Cases      []junitCase     `xml:"testcase"`
	}
	junitProperty struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	}
	junitCase struct {
		Name      string        `xml:"name,attr"`
		Classname string        `xml:"classname,attr"`
		Failure   *junitOutcome `xml:"failure"`
		Error     *junitOutcome `xml:"error"`
		Skipped   *junitOutcome `xml:"skipped"`
		SystemOut string        `xml:"system-out,omitempty"`
	}
	junitOutcome struct {
		Message string `xml:"message,attr,omitempty"`
		Text    string `xml:",chardata"`
	}
)

func renderJUnit(buf *bytes.Buffer, r Report) error {
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(buf)
	enc.Indent("", "  ")
	if err := enc.Encode(junitReport(r)); err != nil {
		return fmt.Errorf("encode junit report: %w", err)
	}
	buf.WriteByte('\n')
	return nil
}

// junitReport maps a report onto the JUnit schema.
func junitReport(r Report) junitSuites {
	s := Tally(r.Controls)
	suite := junitSuite{
		Name:      "dpsim",
		Tests:     len(r.Controls),
		Failures:  s.Fail,
		Errors:    s.Error,
		Skipped:   s.Skipped,
		Time:      strconv.FormatFloat(finite(r.Run.DurationSeconds), 'f', 3, 64),
		Timestamp: junitTimestamp(r.Run),
		Properties: []junitProperty{
			{Name: "provider", Value: r.Run.Provider},
			{Name: "seed", Value: strconv.FormatInt(r.Run.Seed, 10)},
			{Name: "specHash", Value: r.Run.SpecHash},
		},
	}
	for _, c := range r.Controls {
		suite.Cases = append(suite.Cases, junitTestcase(c))
	}
	return junitSuites{
		Tests: suite.Tests, Failures: suite.Failures, Errors: suite.Errors, Skipped: suite.Skipped,
		Time: suite.Time, Suites: []junitSuite{suite},
	}
}

func junitTimestamp(r Run) string {
	if r.Started.IsZero() {
		return ""
	}
	return r.Started.UTC().Format("2006-01-02T15:04:05")
}

// junitTestcase is one control: failed controls carry <failure>, broken ones <error>, skipped ones
// <skipped>; the evidence goes in the element's text.
func junitTestcase(c Control) junitCase {
	tc := junitCase{Name: strings.TrimSpace(c.ID + " " + c.Title), Classname: junitClassname, SystemOut: c.Claim}
	outcome := &junitOutcome{Message: junitMessage(c), Text: evidenceText(c.Evidence)}
	switch verdict(c.Status) {
	case Fail:
		tc.Failure = outcome
	case Error:
		tc.Error = outcome
	case Skipped:
		tc.Skipped = &junitOutcome{Message: c.Reason}
	}
	return tc
}

// junitMessage is the one-line message of a failure or error.
func junitMessage(c Control) string {
	if d := controlDetail(c); d != "" {
		return d
	}
	return fmt.Sprintf("control %s: %s", c.ID, verdict(c.Status))
}

// evidenceText lists the evidence, one finding per line.
func evidenceText(ev []Evidence) string {
	lines := make([]string, 0, len(ev))
	for _, e := range ev {
		lines = append(lines, evidenceLine(e))
	}
	return strings.Join(lines, "\n")
}
