package reports

import (
	"bytes"
	"fmt"
	"strings"
)

// cellEscaper keeps a value inside one Markdown table cell, as text: no pipes, line breaks or HTML tags.
var cellEscaper = strings.NewReplacer("|", `\|`, "\r\n", " ", "\n", " ", "\r", " ", "<", "&lt;")

func renderMarkdown(buf *bytes.Buffer, r Report) error {
	mdHeader(buf, r.Run, r.Controls)
	mdControls(buf, r.Controls)
	if len(r.Scenarios) > 0 {
		buf.WriteString("## Scenarios\n\n")
	}
	for _, s := range r.Scenarios {
		mdScenario(buf, s)
	}
	return nil
}

func mdHeader(buf *bytes.Buffer, run Run, controls []Control) {
	fmt.Fprintf(buf, "# dpsim verification report: %s\n\n", run.SpecName)
	if run.Interrupted {
		buf.WriteString("> **Interrupted:** the run was stopped before it finished; verdicts are incomplete.\n\n")
	}
	mdFields(buf, runFields(run, controls))
	for _, n := range run.Notes {
		fmt.Fprintf(buf, "> %s\n\n", n)
	}
}

// mdFields writes one "- **name:** value" line per field.
func mdFields(buf *bytes.Buffer, fields []field) {
	for _, f := range fields {
		fmt.Fprintf(buf, "- **%s:** %s\n", f.Name, f.Value)
	}
	if len(fields) > 0 {
		buf.WriteByte('\n')
	}
}

func mdControls(buf *bytes.Buffer, controls []Control) {
	buf.WriteString("## Controls\n\n")
	rows := make([][]string, 0, len(controls))
	for _, c := range controls {
		rows = append(rows, []string{c.ID, statusLabel(c.Status), c.Title, controlDetail(c)})
	}
	mdTable(buf, []string{"ID", "Status", "Title", "Reason / first evidence"}, rows)
}

func mdScenario(buf *bytes.Buffer, s Scenario) {
	fmt.Fprintf(buf, "### %s: %s\n\n", s.Name, statusLabel(s.Status))
	if s.Description != "" {
		fmt.Fprintf(buf, "%s\n\n", s.Description)
	}
	mdFields(buf, scenarioFields(s))
	for _, sec := range scenarioSections(s) {
		fmt.Fprintf(buf, "#### %s\n\n", sec.Title)
		mdTable(buf, sec.Header, sec.Rows)
	}
}

// mdTable writes a GitHub-flavoured Markdown table, escaping every cell.
func mdTable(buf *bytes.Buffer, header []string, rows [][]string) {
	mdRow(buf, header)
	buf.WriteString("|" + strings.Repeat(" --- |", len(header)) + "\n")
	for _, r := range rows {
		mdRow(buf, r)
	}
	buf.WriteByte('\n')
}

func mdRow(buf *bytes.Buffer, cells []string) {
	buf.WriteByte('|')
	for _, c := range cells {
		buf.WriteString(" " + cellEscaper.Replace(c) + " |")
	}
	buf.WriteByte('\n')
}
