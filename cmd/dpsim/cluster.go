package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"dpsim/images"
	"dpsim/internal/progress"
	"dpsim/topology"
	"dpsim/topology/kind"
)

// platformArgs are the flags of the commands that manage the kind platform.
type platformArgs struct {
	spec     topology.Spec
	specFile string
	retain   bool // up: keep what a failed stand-up made
	all      bool // down: every platform on the host
}

// withRetain and withAll add the flags that only up and down have.
func withRetain(fs *flag.FlagSet, pa *platformArgs) {
	fs.BoolVar(&pa.retain, "retain", false, "keep what a failed command made, for inspection")
}

func withAll(fs *flag.FlagSet, pa *platformArgs) {
	fs.BoolVar(&pa.all, "all", false, "remove every platform dpsim made on this host, whatever its name")
}

// parsePlatformArgs parses --spec and the command's own flags, and loads the spec.
func parsePlatformArgs(name, usage, summary string, args []string, stderr io.Writer, own ...func(*flag.FlagSet, *platformArgs)) (platformArgs, error) {
	fs := newFlags(name, usage, summary, stderr)
	var pa platformArgs
	fs.StringVar(&pa.specFile, "spec", "", "spec file (YAML); default: the platform as promised")
	for _, add := range own {
		add(fs, &pa)
	}
	if err := parse(fs, args); err != nil {
		return pa, err
	}
	if fs.NArg() > 0 {
		return pa, usagef("unexpected argument %q", fs.Arg(0))
	}
	spec, err := loadSpec(pa.specFile)
	if err != nil {
		return pa, usageError{err}
	}
	pa.spec = spec
	return pa, nil
}

func runUp(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	pa, err := parsePlatformArgs("up", "[--spec FILE] [--retain]",
		"Build what is missing and stand the platform of the spec up on kind: the zoned cluster with its\nNetworkPolicy engine, the object store beside it and every tenant. Idempotent.", args, stderr, withRetain)
	if err != nil {
		return exitUsage, err
	}
	spec := pa.spec
	log := progress.New(stderr, slog.LevelInfo)
	p := kind.NewPlatform(log, kind.PlatformOptions{Retain: pa.retain})
	if err := p.Up(ctx, spec); err != nil {
		if !pa.retain {
			tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), teardownTimeout)
			defer cancel()
			log.Warn("up failed, tearing down (use --retain to keep it)")
			if derr := p.Down(tctx); derr != nil {
				log.Error("tear down: " + derr.Error())
			}
		}
		return exitTopology, fmt.Errorf("stand up %q: %w", spec.Name, err)
	}
	code, err := printStatus(ctx, p.Cluster(), stdout)
	if notes := degradedNotes(p); len(notes) > 0 && err == nil {
		// Kept up for inspection: `dpsim down` removes it.
		return exitTopology, fmt.Errorf("stand up %q: up without some of its parts (kept for inspection; dpsim down removes it): %s", spec.Name, strings.Join(notes, "; "))
	}
	return code, err
}

func runDown(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	pa, err := parsePlatformArgs("down", "[--spec FILE | --all]", "Remove the platform of the spec (by its name) and everything dpsim made for it; with --all,\nevery platform dpsim left on this host (clusters, object stores and volume disks of interrupted runs).", args, stderr, withAll)
	if err != nil {
		return exitUsage, err
	}
	if pa.all && pa.specFile != "" {
		return exitUsage, usagef("--all and --spec exclude each other")
	}
	spec := pa.spec
	names := []string{spec.Name}
	if pa.all {
		if names, err = kind.Platforms(ctx); err != nil {
			return exitFailed, err
		}
		if len(names) == 0 {
			fmt.Fprintln(stdout, "no platform to remove")
		}
	}
	log := progress.New(stderr, slog.LevelInfo)
	var errs []error
	for _, name := range names {
		s := spec
		s.Name = name
		if err := kind.NewPlatform(log, kind.PlatformOptions{}).DownSpec(context.WithoutCancel(ctx), s); err != nil {
			errs = append(errs, fmt.Errorf("tear down %q: %w", name, err))
			continue
		}
		fmt.Fprintf(stdout, "platform %q removed\n", name)
	}
	if len(errs) > 0 {
		return exitFailed, errors.Join(errs...)
	}
	return exitOK, nil
}

func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	pa, err := parsePlatformArgs("status", "[--spec FILE]", "Show the state of the platform's cluster and nodes.", args, stderr)
	if err != nil {
		return exitUsage, err
	}
	spec := pa.spec
	c, err := kind.New(kind.Config{ClusterName: spec.Name, Workers: spec.Nodes, Zones: spec.Zones})
	if err != nil {
		return exitUsage, usageError{err}
	}
	return printStatus(ctx, c, stdout)
}

func printStatus(ctx context.Context, c *kind.Provider, stdout io.Writer) (int, error) {
	st, err := c.Status(ctx)
	if err != nil {
		return exitFailed, err
	}
	if !st.Exists {
		fmt.Fprintf(stdout, "cluster %s: absent\n", c.Config().ClusterName)
		return exitFailed, nil
	}
	fmt.Fprintf(stdout, "cluster %s: network %s, NetworkPolicy engine %s, kubeconfig %s\n", c.Config().ClusterName, st.Network, orNone(st.PolicyEngine), st.Kubeconfig)
	for _, n := range st.Nodes {
		fmt.Fprintf(stdout, "  %-28s %-14s zone %-8s running %-5t ready %t\n", n.Name, n.Role, orNone(n.Zone), n.Running, n.Ready)
	}
	return exitOK, nil
}

func orNone(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func runImages(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	if len(args) == 0 || (args[0] != "build" && args[0] != "list") {
		return exitUsage, usagef("usage: dpsim images build [--force] [NAME...] | dpsim images list")
	}
	if args[0] == "list" {
		for _, im := range images.Catalogue() {
			fmt.Fprintf(stdout, "%-24s %-42s %s\n", im.Name, images.MustTag(im.Name), im.Description)
		}
		return exitOK, nil
	}
	fs := newFlags("images build", "[--force] [NAME...]", "Build the named images (default: every image the kind platform needs) from package registries,\nskipping those whose recipe did not change.", stderr)
	force := fs.Bool("force", false, "rebuild the named images even when current")
	names, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return exitUsage, err
	}
	if len(names) == 0 {
		names = []string{images.KindNode, images.Kafka, images.Elasticsearch, images.HDFS, images.MinIO, images.Agent, images.Velero, images.VeleroPluginAWS,
			images.Traefik, images.Pebble, images.Keycloak, images.Postgres}
	}
	for _, n := range names {
		if _, err := images.Tag(n); err != nil {
			return exitUsage, usageError{err}
		}
	}
	log := progress.New(stderr, slog.LevelInfo)
	start := time.Now()
	results, err := images.Build(ctx, log, names, images.Options{Force: *force})
	for _, r := range results {
		state := "cached"
		if r.Built {
			state = "built in " + r.Elapsed.Round(time.Second).String()
		}
		fmt.Fprintf(stdout, "%-24s %-42s %s\n", r.Name, r.Tag, state)
	}
	if err != nil {
		return exitFailed, fmt.Errorf("build images: %w", err)
	}
	fmt.Fprintf(stdout, "%d images current in %s\n", len(results), strings.TrimSpace(time.Since(start).Round(time.Second).String()))
	return exitOK, nil
}
