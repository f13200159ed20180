package main

import (
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"dpsim/fakes"
	"dpsim/topology"
	"dpsim/topology/kind"
)

// providerOptions are what a run asks of every provider.
type providerOptions struct {
	// Retain keeps what a failed stand-up made.
	Retain bool
	// EvidenceDir is where what explains a failed stand-up step is collected.
	EvidenceDir string
}

// providers maps each provider name to its constructor.
var providers = map[string]func(log *slog.Logger, o providerOptions) topology.Provider{
	"fake": func(*slog.Logger, providerOptions) topology.Provider { return fakes.NewProvider() },
	"kind": func(log *slog.Logger, o providerOptions) topology.Provider {
		return kind.NewPlatform(log, kind.PlatformOptions{Retain: o.Retain, EvidenceDir: o.EvidenceDir})
	},
}

func providerNames() []string { return slices.Sorted(maps.Keys(providers)) }

func newProvider(name string, log *slog.Logger, o providerOptions) (topology.Provider, error) {
	mk, ok := providers[name]
	if !ok {
		return nil, fmt.Errorf("unknown provider %q (known: %s)", name, strings.Join(providerNames(), ", "))
	}
	return mk(log, o), nil
}
