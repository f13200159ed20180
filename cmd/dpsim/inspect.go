package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"dpsim/claims"
	"dpsim/controls"
	"dpsim/scenarios"
	"dpsim/topology"
)

func runList(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := newFlags("list", "", "List the scenarios (with the controls they prove and the provider capabilities they need)\nand the controls.", stderr)
	if err := parse(fs, args); err != nil {
		return exitUsage, err
	}
	fmt.Fprintln(stdout, "Scenarios:")
	for _, s := range scenarios.Catalogue() {
		var needs []string
		for _, n := range s.Needs {
			needs = append(needs, string(n))
		}
		fmt.Fprintf(stdout, "  %-24s %-20s needs %s\n      %s\n", s.Name, strings.Join(s.Controls, ","), strings.Join(needs, ", "), s.Description)
	}
	fmt.Fprintln(stdout, "\nControls:")
	cl := claims.Default()
	for _, c := range controls.Catalogue() {
		fmt.Fprintf(stdout, "  %-9s %s: %s\n", c.ID, c.Title, c.Claim(cl))
	}
	return exitOK, nil
}

func runSpec(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	if len(args) == 0 {
		return exitUsage, usagef("missing subcommand: default or validate FILE")
	}
	switch args[0] {
	case "default":
		if len(args) > 1 {
			return exitUsage, usagef("spec default takes no argument")
		}
		fmt.Fprint(stdout, specHeader)
		stdout.Write(topology.Default().Marshal())
		return exitOK, nil
	case "validate":
		if len(args) != 2 {
			return exitUsage, usagef("usage: dpsim spec validate FILE")
		}
		spec, err := loadSpec(args[1])
		if err != nil {
			return exitUsage, usageError{err}
		}
		fmt.Fprintf(stdout, "%s: valid spec %q (hash %s)\n", args[1], spec.Name, spec.Hash())
		for _, n := range spec.Notes() {
			fmt.Fprintf(stdout, "note: %s\n", n)
		}
		return exitOK, nil
	}
	return exitUsage, usagef("unknown spec subcommand %q: want default or validate FILE", args[0])
}

const specHeader = `# dpsim spec: what to deploy. The default is the platform as promised; see README.md for every key.
`

func runClaims(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := newFlags("claims", "[--claims FILE]", "Print the claims (the promises the controls judge against): the built-in ones, or FILE's.", stderr)
	file := fs.String("claims", "", "claims file to load and print")
	if err := parse(fs, args); err != nil {
		return exitUsage, err
	}
	cl, err := loadClaims(*file)
	if err != nil {
		return exitUsage, usageError{err}
	}
	stdout.Write(cl.Marshal())
	return exitOK, nil
}
