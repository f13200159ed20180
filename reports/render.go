package reports

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Format is an output format a Report can be rendered in.
type Format string

// The formats. JSON is the source of truth; the others are rendered from it.
const (
	JSON     Format = "json"
	JUnit    Format = "junit"
	Markdown Format = "md"
	HTML     Format = "html"
)

// Formats lists every format, in the order WriteAll writes them.
func Formats() []Format {
	return []Format{JSON, JUnit, Markdown, HTML}
}

// FileName is the file WriteAll writes the format to, e.g. "junit.xml".
func (f Format) FileName() string {
	switch f {
	case JSON:
		return "report.json"
	case JUnit:
		return "junit.xml"
	case Markdown:
		return "report.md"
	case HTML:
		return "report.html"
	default:
		return ""
	}
}

// ParseFormat parses a format name, ignoring case and surrounding space.
func ParseFormat(s string) (Format, error) {
	f := Format(strings.ToLower(strings.TrimSpace(s)))
	if f.FileName() == "" {
		return "", fmt.Errorf("unknown report format %q: want one of %s", s, formatNames())
	}
	return f, nil
}

func formatNames() string {
	names := make([]string, 0, len(Formats()))
	for _, f := range Formats() {
		names = append(names, string(f))
	}
	return strings.Join(names, ", ")
}

// Render writes r to w in format f. Nothing is written if rendering fails.
func Render(w io.Writer, r Report, f Format) error {
	var buf bytes.Buffer
	if err := render(&buf, r, f); err != nil {
		return err
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write %s report: %w", f, err)
	}
	return nil
}

func render(buf *bytes.Buffer, r Report, f Format) error {
	switch f {
	case JSON:
		return renderJSON(buf, r)
	case JUnit:
		return renderJUnit(buf, r)
	case Markdown:
		return renderMarkdown(buf, r)
	case HTML:
		return renderHTML(buf, r)
	default:
		return fmt.Errorf("render report: unknown format %q: want one of %s", f, formatNames())
	}
}

// renderJSON encodes r exactly as WriteJSON does.
func renderJSON(buf *bytes.Buffer, r Report) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	buf.Write(data)
	buf.WriteByte('\n')
	return nil
}

// WriteAll writes r in every format into dir, creating it: report.json (via WriteJSON), junit.xml,
// report.md and report.html. It writes every file it can and reports all failures.
func WriteAll(dir string, r Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create report directory: %w", err)
	}
	var errs []error
	for _, f := range Formats() {
		path := filepath.Join(dir, f.FileName())
		if err := writeFile(path, r, f); err != nil {
			errs = append(errs, fmt.Errorf("write %s: %w", path, err))
		}
	}
	return errors.Join(errs...)
}

func writeFile(path string, r Report, f Format) error {
	if f == JSON {
		return WriteJSON(path, r)
	}
	var buf bytes.Buffer
	if err := render(&buf, r, f); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
