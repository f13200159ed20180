// Package failpoint names points in dpsim where a test makes one step fail on purpose, the way
// etcd's gofail failpoints do, so that a failure path is exercised like any other. Failpoints are
// switched on with the environment variable DPSIM_FAILPOINTS, a comma-separated list of names.
package failpoint

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
)

// Env is the environment variable that lists the failpoints in force.
const Env = "DPSIM_FAILPOINTS"

// The failpoints dpsim knows, each with what it breaks.
const (
	// EdgeCA gives the ingress controller a wrong CA certificate for the ACME CA: it can reach the
	// CA but trusts none of its answers, so no certificate can be issued.
	EdgeCA = "edge-ca"
)

// known maps every failpoint to what it does, for error messages and --help.
var known = map[string]string{
	EdgeCA: "the ingress controller trusts a wrong CA certificate for the ACME CA: no certificate can be issued",
}

// Enabled reports whether failpoint name is in force.
func Enabled(name string) bool {
	return slices.Contains(parse(os.Getenv(Env)), name)
}

// Check fails on a failpoint name dpsim does not know, so that a misspelt one is an error rather
// than a run that silently breaks nothing.
func Check() error {
	for _, n := range parse(os.Getenv(Env)) {
		if _, ok := known[n]; !ok {
			return fmt.Errorf("%s: unknown failpoint %q (known: %s)", Env, n, strings.Join(Names(), ", "))
		}
	}
	return nil
}

// Active lists the failpoints in force, for the report's notes.
func Active() []string {
	var out []string
	for _, n := range parse(os.Getenv(Env)) {
		out = append(out, n+": "+known[n])
	}
	return out
}

// Names lists the known failpoints, sorted.
func Names() []string { return slices.Sorted(maps.Keys(known)) }

func parse(v string) []string {
	var out []string
	for f := range strings.SplitSeq(v, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
