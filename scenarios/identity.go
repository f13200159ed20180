package scenarios

import (
	"context"
	"fmt"
	"time"

	"dpsim/claims"
	"dpsim/reports"
	"dpsim/scenarios/checkers"
	"dpsim/scenarios/probes"
	"dpsim/topology"
)

// PasswordProbe reads from the identity provider itself how it stores its test users' passwords
// and recomputes each hash from the known password (DP-AUTH-2).
type PasswordProbe struct{}

// Observe implements Probe.
func (PasswordProbe) Observe(ctx context.Context, env Env, o *Observation) error {
	st, err := env.Provider.(topology.PasswordStore).StoredPasswords(ctx)
	if err != nil {
		return fmt.Errorf("read the stored passwords: %w", err)
	}
	p := probes.Passwords(st)
	o.Passwords = &p
	return nil
}

func passwordInvariant() Invariant {
	return probeInvariant("password-storage", "DP-AUTH-2", "no stored credential read", func(o *Observation) *reports.Passwords { return o.Passwords },
		func(p reports.Passwords, c claims.Claims) checkers.Verdict {
			return checkers.PasswordStorage(p, checkers.PasswordClaim{Algorithm: c.HashAlgorithm, Iterations: c.HashIterations})
		})
}

// OIDCProbe tries every tenant's realm and API as a client would, through the ingress (DP-AUTH-1).
type OIDCProbe struct{}

// Observe implements Probe.
func (OIDCProbe) Observe(ctx context.Context, env Env, o *Observation) error {
	access, err := env.Provider.(topology.OIDCSite).OIDC(ctx)
	if err != nil {
		return fmt.Errorf("reach the identity provider: %w", err)
	}
	clock := clockOf(env.Provider)
	obs, err := probes.OIDC(ctx, access, func(ctx context.Context, d time.Duration) error { return sleepOn(ctx, clock, d) })
	o.OIDC = &obs // what it saw before an error too
	return err
}

func oidcInvariant() Invariant {
	return probeInvariant("oidc", "DP-AUTH-1", "no OIDC probe answered", func(o *Observation) *reports.OIDC { return o.OIDC },
		func(obs reports.OIDC, _ claims.Claims) checkers.Verdict { return checkers.OIDC(obs) })
}
