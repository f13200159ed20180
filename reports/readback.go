package reports

import (
	"fmt"
	"slices"
)

// statuses are the verdicts a report may hold.
var statuses = []Status{Pass, Fail, Skipped, Error}

// notAReport says why r, as read back from a file, is not a dpsim report, or "": a file of
// something else (or `{}`) would otherwise render as an empty report that failed nothing.
func notAReport(r Report) string {
	switch {
	case r.Run.Tool != "dpsim":
		return fmt.Sprintf("run.tool is %q, not \"dpsim\"", r.Run.Tool)
	case len(r.Controls) == 0:
		return "it has no controls"
	}
	for i, c := range r.Controls {
		if c.ID == "" || !slices.Contains(statuses, c.Status) {
			return fmt.Sprintf("controls[%d] (id %q) has status %q, not one of pass, fail, skipped, error", i, c.ID, c.Status)
		}
	}
	return ""
}
