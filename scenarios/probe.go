package scenarios

import (
	"context"
	"fmt"

	"dpsim/scenarios/probes"
	"dpsim/topology"
)

// Probe observes the platform once, filling in the observation.
type Probe interface {
	Observe(ctx context.Context, env Env, o *Observation) error
}

// TLSProbe takes the ingress's TLS matrix: per tenant host name and without SNI, every version,
// TLS 1.2 suite and key exchange alone, the certificate and HSTS.
type TLSProbe struct{}

// Observe implements Probe.
func (TLSProbe) Observe(ctx context.Context, env Env, o *Observation) error {
	ep, err := env.Provider.(topology.Ingress).IngressEndpoint(ctx)
	if err != nil {
		return fmt.Errorf("find ingress: %w", err)
	}
	obs, err := probes.TLS(ctx, ep)
	if err != nil {
		return err
	}
	o.TLS = &obs
	return nil
}
