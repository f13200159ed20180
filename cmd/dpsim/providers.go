package main

import (
	"fmt"
	"log/slog"
	"sort"
	"strings"

	"dpsim/fakes"
	"dpsim/topology"
	"dpsim/topology/kind"
)

// providers maps each provider name to its constructor; retain keeps what a failed stand-up made.
var providers = map[string]func(log *slog.Logger, retain bool) topology.Provider{
	"fake": func(*slog.Logger, bool) topology.Provider { return fakes.NewProvider() },
	"kind": func(log *slog.Logger, retain bool) topology.Provider {
		return kind.NewPlatform(log, kind.PlatformOptions{Retain: retain})
	},
}

func providerNames() []string {
	names := make([]string, 0, len(providers))
	for n := range providers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func newProvider(name string, log *slog.Logger, retain bool) (topology.Provider, error) {
	mk, ok := providers[name]
	if !ok {
		return nil, fmt.Errorf("unknown provider %q (known: %s)", name, strings.Join(providerNames(), ", "))
	}
	return mk(log, retain), nil
}
