package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"dpsim/agent"
)

// Exit codes.
const (
	exitOK       = 0 // every control that ran passed
	exitFailed   = 1 // a control failed or could not be judged
	exitUsage    = 2 // bad usage, spec or claims
	exitTopology = 3 // the topology could not be stood up
)

// usageError is bad input: it exits 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// command is one subcommand.
type command struct {
	name    string
	args    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error)
}

func commands() []command {
	return []command{
		{"simulate", "[flags]", "stand the platform up, run scenarios, write the report", runSimulate},
		{"list", "", "list the scenarios and the controls they prove", runList},
		{"spec", "default | validate FILE", "print the default spec, or check a spec file", runSpec},
		{"claims", "[--claims FILE]", "print the claims the controls judge against", runClaims},
		{"report", "render FILE --format html|md|junit|json [--out FILE]", "re-render a saved report.json", runReport},
		{"up", "[--spec FILE] [--retain]", "stand the platform up on kind (builds what is missing)", runUp},
		{"down", "[--spec FILE]", "remove the kind platform and everything dpsim made for it", runDown},
		{"status", "[--spec FILE]", "show the kind platform's cluster and nodes", runStatus},
		{"images", "build [--force] [NAME...] | list", "build the container images from package registries", runImages},
		{"agent", "--config FILE [--listen ADDR]", "run the in-cluster agent (inside the platform's pods)", runAgent},
		{"probe", "< REQUEST.json", "probe addresses from here (connection outcomes as JSON; used inside the platform)", runProbe},
		{"scan", "[flags] ADDRESS...", "scan every TCP port of the addresses from here (JSON; used outside the platform's network)", runScan},
		{"web", "--tenant NAME [--listen ADDR]", "serve a tenant's API stand-in (inside the platform, behind the ingress)", runWeb},
		{"doctor", "", "report what the kind provider needs from this host and what is missing", runDoctor},
	}
}

// Run is the whole CLI: it parses args, runs one subcommand and returns the process exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		code, err := c.run(ctx, args[1:], stdout, stderr)
		if err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return exitOK
			}
			fmt.Fprintf(stderr, "dpsim %s: %v\n", c.name, err)
			var ue usageError
			if errors.As(err, &ue) {
				return exitUsage
			}
		}
		return code
	}
	fmt.Fprintf(stderr, "dpsim: unknown command %q (run dpsim --help)\n", args[0])
	return exitUsage
}

func usage(w io.Writer) {
	var b strings.Builder
	b.WriteString(`dpsim proves a multi-tenant data platform's data-protection promises with real faults and probes.

Usage: dpsim COMMAND [ARGS]

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-9s %-52s %s\n", c.name, c.args, c.summary)
	}
	b.WriteString(`
Exit codes: 0 every control that ran passed, 1 a control failed or could not be judged,
2 usage, spec or claims error, 3 the topology could not be stood up.
Run "dpsim COMMAND --help" for a command's flags.
`)
	io.WriteString(w, b.String())
}

// newFlags returns a flag set that reports errors instead of exiting and prints help to stderr.
func newFlags(name, args, summary string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: dpsim %s %s\n\n%s\n\nFlags:\n", name, args, summary)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags, turning flag errors into usage errors.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	return nil
}

// parseInterspersed parses flags that may come before, between or after positional arguments, and
// returns the positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := parse(fs, args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func runAgent(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	return agent.Main(ctx, args, stdout, stderr), nil
}

func runProbe(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	return agent.ProbeMain(ctx, args, os.Stdin, stdout, stderr), nil
}
