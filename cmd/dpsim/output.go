package main

import (
	"fmt"
	"os"
	"path/filepath"

	"dpsim/reports"
)

// checkOutDir makes the report directory and proves every report file can be written in it, before
// a run starts: a report that cannot be written is found now, not after an hour of faults.
func checkOutDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("--out %s: cannot make the report directory: %w", dir, err)
	}
	for _, f := range reports.Formats() {
		if err := checkOutFile(filepath.Join(dir, f.FileName())); err != nil {
			return err
		}
	}
	return nil
}

// checkOutFile proves path can be written without changing it: an existing file is opened for
// writing (not truncated), a new one is tried as a temporary file beside it.
func checkOutFile(path string) error {
	if fi, err := os.Stat(path); err == nil {
		if fi.IsDir() {
			return fmt.Errorf("--out: %s is a directory", path)
		}
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return fmt.Errorf("--out: cannot write %s: %w", path, err)
		}
		return f.Close()
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".dpsim-write-check-*")
	if err != nil {
		return fmt.Errorf("--out: cannot write %s: %w", path, err)
	}
	f.Close()
	return os.Remove(f.Name())
}
