package main

import (
	"fmt"
	"log/slog"
	"sort"
	"strings"

	"dpsim/fakes"
	"dpsim/topology"
)

// providers maps each provider name to its constructor.
var providers = map[string]func(log *slog.Logger) topology.Provider{
	"fake": func(*slog.Logger) topology.Provider { return fakes.NewProvider() },
}

func providerNames() []string {
	names := make([]string, 0, len(providers))
	for n := range providers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func newProvider(name string, log *slog.Logger) (topology.Provider, error) {
	mk, ok := providers[name]
	if !ok {
		return nil, fmt.Errorf("unknown provider %q (known: %s)", name, strings.Join(providerNames(), ", "))
	}
	return mk(log), nil
}
