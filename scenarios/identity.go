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
	return Invariant{Name: "password-storage", Control: "DP-AUTH-2", Check: func(o *Observation, c claims.Claims) []reports.Check {
		if o.Passwords == nil {
			return []reports.Check{{Name: "password-storage", Control: "DP-AUTH-2", Status: reports.Error, Summary: "no stored credential read"}}
		}
		v := checkers.PasswordStorage(*o.Passwords, checkers.PasswordClaim{Algorithm: c.HashAlgorithm, Iterations: c.HashIterations})
		return []reports.Check{{Name: "password-storage", Control: "DP-AUTH-2", Status: v.Status, Summary: v.Summary}}
	}}
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
	return Invariant{Name: "oidc", Control: "DP-AUTH-1", Check: func(o *Observation, _ claims.Claims) []reports.Check {
		if o.OIDC == nil {
			return []reports.Check{{Name: "oidc", Control: "DP-AUTH-1", Status: reports.Error, Summary: "no OIDC probe answered"}}
		}
		v := checkers.OIDC(*o.OIDC)
		return []reports.Check{{Name: "oidc", Control: "DP-AUTH-1", Status: v.Status, Summary: v.Summary}}
	}}
}
