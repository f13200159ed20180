package reports

import (
	"bytes"
	"fmt"
	"html/template"
	"slices"
)

// htmlPage is the view-model of report.html: the template only prints what is computed here.
type htmlPage struct {
	Title       string
	Interrupted bool
	Notes       []string
	Fields      []field
	Summary     []statusCount
	Controls    htmlTable
	Scenarios   []htmlScenario
}

// htmlScenario is one scenario's part of the page; Timeline is nil when there is nothing to draw.
type htmlScenario struct {
	Name        string
	Description string
	Status      Status
	Label       string
	Fields      []field
	Timeline    *svgTimeline
	Tables      []htmlTable
}

// htmlTable is a titled table; the cell in column StatusCol (-1 for none) is drawn as a badge.
type htmlTable struct {
	Title     string
	Header    []string
	Rows      []htmlRow
	StatusCol int
}

// htmlRow is one table row; Class is the verdict that colours it, if any.
type htmlRow struct {
	Class Status
	Cells []string
}

var pageTemplate = template.Must(template.New("page").Parse(pageHTML))

func renderHTML(buf *bytes.Buffer, r Report) error {
	if err := pageTemplate.Execute(buf, newPage(r)); err != nil {
		return fmt.Errorf("render html report: %w", err)
	}
	return nil
}

func newPage(r Report) htmlPage {
	p := htmlPage{
		Title:       "dpsim verification report: " + r.Run.SpecName,
		Interrupted: r.Run.Interrupted,
		Notes:       r.Run.Notes,
		Fields:      runFields(r.Run, r.Controls),
		Summary:     summaryCounts(r.Controls),
		Controls:    controlTable(r.Controls),
	}
	for _, s := range r.Scenarios {
		p.Scenarios = append(p.Scenarios, newHTMLScenario(s))
	}
	return p
}

func controlTable(controls []Control) htmlTable {
	sec := section{Header: []string{"ID", "Status", "Title", "Reason / first evidence"}}
	for _, c := range controls {
		sec.add(verdict(c.Status), c.ID, statusLabel(c.Status), c.Title, controlDetail(c))
	}
	return newHTMLTable(sec)
}

func newHTMLScenario(s Scenario) htmlScenario {
	hs := htmlScenario{
		Name:        s.Name,
		Description: s.Description,
		Status:      verdict(s.Status),
		Label:       statusLabel(s.Status),
		Fields:      scenarioFields(s),
		Timeline:    newTimeline(s),
	}
	for _, sec := range scenarioSections(s) {
		hs.Tables = append(hs.Tables, newHTMLTable(sec))
	}
	return hs
}

func newHTMLTable(sec section) htmlTable {
	t := htmlTable{Title: sec.Title, Header: sec.Header, StatusCol: slices.Index(sec.Header, "Status")}
	for i, cells := range sec.Rows {
		t.Rows = append(t.Rows, htmlRow{Class: sec.RowClass[i], Cells: cells})
	}
	return t
}

// pageHTML is the whole page. It must stay self-contained: no external stylesheets, scripts, fonts
// or images, so a report can be archived and opened offline.
const pageHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 1100px; padding: 1.5em; color: #212121; }
h1 { font-size: 1.5em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: .2em; margin-top: 2em; }
h3 { margin-top: 2em; } h4 { margin: 1.2em 0 .4em; }
dl.meta { display: grid; grid-template-columns: max-content auto; gap: .15em 1em; }
dl.meta dt { font-weight: 600; } dl.meta dd { margin: 0; word-break: break-all; }
table { border-collapse: collapse; width: 100%; margin: .4em 0 1em; }
th, td { border: 1px solid #e0e0e0; padding: .3em .5em; text-align: left; vertical-align: top; }
th { background: #f5f5f5; }
td:not(:first-child) { word-break: break-word; }
.badge { display: inline-block; border-radius: 3px; padding: 0 .45em; color: #fff; font-size: .85em; font-weight: 600; background: #9e9e9e; }
.summary { list-style: none; padding: 0; display: flex; gap: .6em; }
.summary .badge { font-size: 1em; padding: .2em .7em; }
.pass .badge, .badge.pass { background: #2e7d32; }
.fail .badge, .badge.fail { background: #c62828; }
.error .badge, .badge.error { background: #6a1b9a; }
.skipped .badge, .badge.skipped { background: #757575; }
tr.pass td:first-child { border-left: 4px solid #2e7d32; }
tr.fail { background: #ffebee; } tr.fail td:first-child { border-left: 4px solid #c62828; }
tr.error { background: #f3e5f5; } tr.error td:first-child { border-left: 4px solid #6a1b9a; }
tr.skipped { color: #616161; } tr.skipped td:first-child { border-left: 4px solid #9e9e9e; }
.banner { background: #fff3e0; border-left: 4px solid #ef6c00; padding: .5em .8em; }
.note { background: #f5f5f5; border-left: 4px solid #90a4ae; padding: .4em .8em; }
.empty { color: #757575; font-style: italic; }
svg.timeline { width: 100%; height: auto; display: block; font-size: 11px; }
svg.timeline .ok { fill: #43a047; } svg.timeline .failed { fill: #e53935; } svg.timeline .unknown { fill: #ffb300; }
svg.timeline .fault { fill: #1e88e5; fill-opacity: .12; stroke: #1e88e5; stroke-opacity: .5; }
svg.timeline .fault-label { fill: #0d47a1; paint-order: stroke; stroke: #fff; stroke-width: 3px; }
svg.timeline .axis { stroke: #9e9e9e; } svg.timeline .tick { fill: #616161; }
.legend span { margin-right: 1.2em; } .legend i { display: inline-block; width: .9em; height: .9em; margin-right: .3em; vertical-align: -.1em; }
.legend .ok { background: #43a047; } .legend .failed { background: #e53935; } .legend .unknown { background: #ffb300; }
.legend .fault { background: rgba(30, 136, 229, .25); border: 1px solid #1e88e5; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
{{if .Interrupted}}<p class="banner"><strong>Interrupted:</strong> the run was stopped before it finished; verdicts are incomplete.</p>{{end}}
{{template "fields" .Fields}}
<ul class="summary">{{range .Summary}}<li><span class="badge {{.Status}}">{{.Count}} {{.Label}}</span></li>{{end}}</ul>
{{range .Notes}}<p class="note">{{.}}</p>
{{end}}
<h2>Controls</h2>
{{template "table" .Controls}}
{{if .Scenarios}}<h2>Scenarios</h2>{{end}}
{{range .Scenarios}}<section class="scenario {{.Status}}">
<h3>{{.Name}} <span class="badge {{.Status}}">{{.Label}}</span></h3>
{{if .Description}}<p>{{.Description}}</p>{{end}}
{{template "fields" .Fields}}
{{with .Timeline}}{{template "timeline" .}}{{else}}<p class="empty">No timeline recorded.</p>{{end}}
{{range .Tables}}{{template "table" .}}{{end}}
</section>
{{end}}
</body>
</html>
{{define "fields"}}{{if .}}<dl class="meta">{{range .}}<dt>{{.Name}}</dt><dd>{{.Value}}</dd>{{end}}</dl>{{end}}{{end}}
{{define "table"}}{{if .Title}}<h4>{{.Title}}</h4>
{{end}}<table>
<thead><tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>
{{- $status := .StatusCol}}{{range .Rows}}
<tr class="{{.Class}}">{{range $i, $c := .Cells}}<td>{{if eq $i $status}}<span class="badge">{{$c}}</span>{{else}}{{$c}}{{end}}</td>{{end}}</tr>
{{- end}}
</tbody>
</table>
{{end}}
{{define "timeline"}}<svg class="timeline" viewBox="0 0 {{.Width}} {{.Height}}" role="img" aria-label="Operations per time slice, with fault windows">
{{range .Faults}}<rect class="fault" x="{{.X}}" y="{{.Y}}" width="{{.W}}" height="{{.H}}"><title>{{.Title}}</title></rect>
{{end}}{{range .Bars}}<g><title>{{.Title}}</title>{{range .Segments}}<rect class="{{.Class}}" x="{{.X}}" y="{{.Y}}" width="{{.W}}" height="{{.H}}"/>{{end}}</g>
{{end}}<line class="axis" x1="{{.Left}}" y1="{{.Bottom}}" x2="{{.Right}}" y2="{{.Bottom}}"/>
<line class="axis" x1="{{.Left}}" y1="{{.Top}}" x2="{{.Left}}" y2="{{.Bottom}}"/>
<text class="tick" x="{{.Left}}" y="{{.BarTop}}" dx="-4" dy="8" text-anchor="end">{{.MaxLabel}}</text>
<text class="tick" x="{{.Left}}" y="{{.Bottom}}" dx="-4" text-anchor="end">0</text>
{{$t := .}}{{range .Ticks}}<line class="axis" x1="{{.X}}" y1="{{$t.Bottom}}" x2="{{.X}}" y2="{{$t.TickEnd}}"/><text class="tick" x="{{.X}}" y="{{$t.Bottom}}" dy="16" text-anchor="middle">{{.Label}}</text>
{{end}}{{range .Faults}}<text class="fault-label" x="{{.LabelX}}" y="{{.LabelY}}" text-anchor="{{.Anchor}}">{{.Label}}</text>
{{end}}</svg>
<p class="legend"><span><i class="ok"></i>ok</span><span><i class="failed"></i>failed</span><span><i class="unknown"></i>unknown</span><span><i class="fault"></i>fault in force</span></p>
{{end}}`
