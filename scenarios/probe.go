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

// TLSProbe handshakes with the ingress at every TLS version.
type TLSProbe struct{}

// Observe implements Probe.
func (TLSProbe) Observe(ctx context.Context, env Env, o *Observation) error {
	addr, err := env.Provider.(topology.Ingress).IngressAddress(ctx)
	if err != nil {
		return fmt.Errorf("find ingress: %w", err)
	}
	obs, err := probes.TLS(ctx, addr)
	if err != nil {
		return err
	}
	o.TLS = &obs
	return nil
}
