package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"dpsim/claims"
	"dpsim/controls"
	"dpsim/internal/failpoint"
	"dpsim/internal/progress"
	"dpsim/reports"
	"dpsim/scenarios"
	"dpsim/topology"
)

// teardownTimeout bounds teardown after an interrupt, when the run's own context is already done.
const teardownTimeout = 5 * time.Minute

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func runSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := newFlags("simulate", "[flags]", "Stand the platform of the spec up on a provider, run the scenarios against it, tear it down\nand write report.json, junit.xml, report.md and report.html into --out.", stderr)
	providerName := fs.String("provider", "fake", "where to stand the platform up: "+strings.Join(providerNames(), " or "))
	specFile := fs.String("spec", "", "spec file (YAML); default: the platform as promised (dpsim spec default)")
	claimsFile := fs.String("claims", "", "claims file (YAML) replacing the built-in promises (dpsim claims)")
	var names stringList
	fs.Var(&names, "scenario", "run only this scenario (repeatable); default: all (dpsim list)")
	seed := fs.Int64("seed", 1, "seed for every random choice (targets, values); same seed, same run")
	settle := fs.Duration("settle-timeout", 5*time.Minute, "how long to wait for the platform to recover after a fault before judging it as it is")
	writes := fs.Int("writes", scenarios.DefaultTraffic.WritesPerPhase, "writes to each store in each phase before and after a fault and around a backup;\nfewer make a quicker, less thorough run")
	out := fs.String("out", "dpsim-report", "directory the reports are written to")
	retain := fs.Bool("retain", false, "keep the topology and the run's datasets after the run (tear it down later with dpsim down)")
	strict := fs.Bool("strict", false, "exit 1 when any control is skipped, not only when one fails or errs (a pre-release gate)")
	verbose := fs.Bool("v", false, "print debug detail")
	if err := parse(fs, args); err != nil {
		return exitUsage, err
	}
	if fs.NArg() > 0 {
		return exitUsage, usagef("unexpected argument %q", fs.Arg(0))
	}
	spec, err := loadSpec(*specFile)
	if err != nil {
		return exitUsage, usageError{err}
	}
	cl, err := loadClaims(*claimsFile)
	if err != nil {
		return exitUsage, usageError{err}
	}
	list, err := scenarios.Select(names)
	if err != nil {
		return exitUsage, usageError{err}
	}
	if *writes < 1 {
		return exitUsage, usagef("--writes %d: want at least 1", *writes)
	}
	list = scenarios.WithWrites(list, *writes)
	if *settle <= 0 {
		return exitUsage, usagef("--settle-timeout %s: want a positive duration", *settle)
	}
	if *writes > maxWrites {
		return exitUsage, usagef("--writes %d: want at most %d", *writes, maxWrites)
	}
	if err := failpoint.Check(); err != nil {
		return exitUsage, usageError{err}
	}
	if err := checkOutDir(*out); err != nil {
		return exitUsage, usageError{err}
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := progress.New(stderr, level)
	evidence := filepath.Join(*out, "logs")
	provider, err := newProvider(*providerName, log, providerOptions{Retain: *retain, EvidenceDir: evidence})
	if err != nil {
		return exitUsage, usageError{err}
	}
	// Evidence of an earlier run in the same folder would be taken for this one's.
	if err := os.RemoveAll(evidence); err != nil {
		return exitUsage, fmt.Errorf("clear the evidence folder: %w", err)
	}

	rep := newReport(provider.Name(), spec, cl, *seed, list)
	rep.Run.ID = scenarios.NewRunID(provider, *seed)
	if *settle != 5*time.Minute {
		rep.Run.Notes = append(rep.Run.Notes, fmt.Sprintf("--settle-timeout %s: the platform was judged as it was after %s of waiting to recover, not the default 5m0s", *settle, *settle))
	}
	if *writes != scenarios.DefaultTraffic.WritesPerPhase {
		rep.Run.Notes = append(rep.Run.Notes, fmt.Sprintf("--writes %d: %d writes per store and phase, not the default %d", *writes, *writes, scenarios.DefaultTraffic.WritesPerPhase))
	}
	for _, n := range failpoint.Active() {
		rep.Run.Notes = append(rep.Run.Notes, "failpoint "+n)
		log.Warn("failpoint " + n)
	}
	for _, n := range spec.Notes() {
		log.Warn(n)
	}
	code := simulate(ctx, log, provider, spec, cl, *seed, list, runOptions{retain: *retain, settle: *settle, evidence: evidence}, &rep)
	rep.Run.Finished = time.Now().UTC()
	rep.Run.DurationSeconds = rep.Run.Finished.Sub(rep.Run.Started).Seconds()
	rep.Run.Interrupted = ctx.Err() != nil
	rep.Run.Summary = reports.Tally(rep.Controls)
	if nothingJudged(rep.Run.Summary) {
		rep.Run.Notes = append(rep.Run.Notes, nothingJudgedNote)
	}
	if err := reports.WriteAll(*out, rep); err != nil {
		return exitFailed, fmt.Errorf("write reports: %w", err)
	}
	s := rep.Run.Summary
	log.Info(fmt.Sprintf("controls: %d pass, %d fail, %d skipped, %d error; reports in %s", s.Pass, s.Fail, s.Skipped, s.Error, *out))
	fmt.Fprintf(stdout, "%s\n", summaryTable(rep))
	if code == exitOK && (s.Fail > 0 || s.Error > 0 || (*strict && s.Skipped > 0)) {
		code = exitFailed
	}
	if *strict && s.Skipped > 0 {
		log.Warn(fmt.Sprintf("--strict: %d controls skipped", s.Skipped))
	}
	if nothingJudged(s) {
		log.Error(nothingJudgedNote)
		code = max(code, exitFailed)
	}
	return code, nil
}

// maxWrites bounds --writes: 25 times the default, a run of hours on kind.
const maxWrites = 10_000

const nothingJudgedNote = "nothing was judged: every control was skipped (each says why), so this run proves no promise"

// nothingJudged reports whether no control was judged: none passed, failed or erred.
func nothingJudged(s reports.Summary) bool { return s.Pass+s.Fail+s.Error == 0 }

// runOptions are a run's settings beyond the spec, the claims and the scenarios.
type runOptions struct {
	retain   bool          // keep the platform and the datasets
	settle   time.Duration // bound on recovering after a fault
	evidence string        // folder of the evidence collected on failures
}

// simulate stands the platform up, runs the scenarios and tears it down, filling rep. It returns
// exitTopology when the platform could not be stood up, else exitOK (the verdicts decide the rest).
// A platform stood up without some of its parts is run: the scenarios that need those are errors.
func simulate(ctx context.Context, log *slog.Logger, p topology.Provider, spec topology.Spec, cl claims.Claims,
	seed int64, list []scenarios.Scenario, o runOptions, rep *reports.Report) int {
	retain := o.retain
	code := exitOK
	log.Info(fmt.Sprintf("standing up %q on provider %s", spec.Name, p.Name()))
	if pl, ok := p.(topology.Planner); ok {
		pl.Plan(scenarios.Needs(list))
	}
	upErr := p.Up(ctx, spec)
	var results []reports.Scenario
	if upErr != nil {
		log.Error("stand up: " + upErr.Error())
		code = exitTopology
		for _, sc := range list {
			results = append(results, scenarios.NotRun(sc, "the topology could not be stood up: "+upErr.Error()))
		}
	} else {
		rep.Run.Notes = append(rep.Run.Notes, degradedNotes(p)...)
		env := scenarios.Env{Provider: p, Spec: spec, Claims: cl, Seed: seed, Log: log, RunID: rep.Run.ID, Retain: retain,
			SettleTimeout: o.settle, EvidenceDir: o.evidence}
		results = scenarios.Run(ctx, env, list)
	}
	rep.Scenarios = results
	rep.Controls = controls.Judge(cl, results)
	if v, ok := p.(topology.Versioned); ok {
		maps.Copy(rep.Run.Versions, v.Versions())
	}
	if upErr == nil && (retain || preexisting(p)) {
		hint := "dpsim down"
		if spec.Name != topology.Default().Name {
			hint += " --spec <the spec file>"
		}
		why := "--retain"
		if !retain {
			why = "it was up before this run"
		}
		log.Info(fmt.Sprintf("keeping the topology up (%s); tear it down with: %s", why, hint))
		return code
	}
	// Tear down even after an interrupt: the run's context may be done, so give teardown its own.
	tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), teardownTimeout)
	defer cancel()
	log.Info("tearing down")
	if err := p.Down(tctx); err != nil {
		log.Error("tear down: " + err.Error())
		rep.Run.Notes = append(rep.Run.Notes, "tear down failed: "+err.Error())
	}
	return code
}

// degradedNotes name, for the report, each reason a capability of the platform is unavailable, once.
func degradedNotes(p topology.Provider) []string {
	d, ok := p.(topology.Degraded)
	if !ok {
		return nil
	}
	var notes []string
	for _, why := range d.Unavailable() {
		if !slices.Contains(notes, why) {
			notes = append(notes, why)
		}
	}
	slices.Sort(notes)
	return notes
}

// preexisting reports whether the provider found its platform already up (made by dpsim up), which
// a run leaves as it found it.
func preexisting(p topology.Provider) bool {
	pe, ok := p.(topology.Preexisting)
	return ok && pe.Preexisting()
}

func newReport(provider string, spec topology.Spec, cl claims.Claims, seed int64, list []scenarios.Scenario) reports.Report {
	var names []string
	for _, s := range list {
		names = append(names, s.Name)
	}
	return reports.Report{
		Run: reports.Run{
			Tool: "dpsim", Provider: provider, Seed: seed, SpecName: spec.Name, SpecHash: spec.Hash(),
			ClaimsHash: cl.Hash(), Scenarios: names, Started: time.Now().UTC(), Versions: versions(),
			Notes: spec.Notes(),
		},
	}
}

// versions names the software the run used.
func versions() map[string]string {
	v := map[string]string{"go": runtime.Version(), "dpsim": "devel"}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			v["dpsim"] = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				v["dpsim"] += "+" + s.Value[:min(12, len(s.Value))]
			}
		}
	}
	return v
}

// summaryTable is the one screen a person reads after a run.
func summaryTable(r reports.Report) string {
	var b strings.Builder
	for _, c := range r.Controls {
		fmt.Fprintf(&b, "%-9s %-7s %s", c.ID, c.Status, c.Title)
		if c.Status != reports.Pass && c.Reason != "" {
			fmt.Fprintf(&b, " - %s", c.Reason)
		}
		b.WriteByte('\n')
	}
	return strings.TrimRight(b.String(), "\n")
}

func loadSpec(path string) (topology.Spec, error) {
	if path == "" {
		return topology.Default(), nil
	}
	return topology.LoadFile(path)
}

func loadClaims(path string) (claims.Claims, error) {
	if path == "" {
		return claims.Default(), nil
	}
	return claims.LoadFile(path)
}
