package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"

	"dpsim/reports"
)

func runReport(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	if len(args) == 0 || args[0] != "render" {
		return exitUsage, usagef("usage: dpsim report render FILE --format html|md|junit|json [--out FILE]")
	}
	fs := newFlags("report render", "FILE --format html|md|junit|json [--out FILE]", "Re-render a saved report.json in another format.", stderr)
	format := fs.String("format", "html", "output format: html, md, junit or json")
	out := fs.String("out", "", "file to write; default: standard output")
	positional, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return exitUsage, err
	}
	if len(positional) != 1 {
		return exitUsage, usagef("want exactly one report file, got %d", len(positional))
	}
	f, err := reports.ParseFormat(*format)
	if err != nil {
		return exitUsage, usageError{err}
	}
	if *out != "" {
		if err := checkOutFile(*out); err != nil {
			return exitUsage, usageError{err}
		}
	}
	rep, err := reports.ReadJSON(positional[0])
	if err != nil {
		return exitUsage, usageError{err}
	}
	var buf bytes.Buffer
	if err := reports.Render(&buf, rep, f); err != nil {
		return exitFailed, fmt.Errorf("render %s: %w", f, err)
	}
	if *out == "" {
		_, err = stdout.Write(buf.Bytes())
		return exitOK, err
	}
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		return exitFailed, fmt.Errorf("write %s: %w", *out, err)
	}
	return exitOK, nil
}
