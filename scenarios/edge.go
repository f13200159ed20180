package scenarios

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"dpsim/claims"
	"dpsim/scenarios/checkers"
	"dpsim/scenarios/history"
	"dpsim/topology"
)

// ExposureProbe scans every node from a client outside the platform's network (DP-NET-1).
type ExposureProbe struct{}

// Observe implements Probe.
func (ExposureProbe) Observe(ctx context.Context, env Env, o *Observation) error {
	e, err := env.Provider.(topology.ExposureScanner).ScanFromOutside(ctx)
	if err != nil {
		return fmt.Errorf("scan the nodes from outside: %w", err)
	}
	o.Exposure = &e
	return nil
}

func exposureInvariant() Invariant {
	return probeInvariant("exposure", "DP-NET-1", "no scan from outside", func(o *Observation) *topology.Exposure { return o.Exposure },
		func(e topology.Exposure, c claims.Claims) checkers.Verdict {
			return checkers.Exposure(e, c.ExposedPorts)
		})
}

// AtRestDrill writes records through every data store on the nodes' volumes of every tenant
// (not the object store: it is beside the cluster, its encryption is the bucket's), then has the
// platform read its volumes' raw storage for their values (DP-ENC-1): each value is 64 random
// letters, unique to its record, so a value found there is plaintext of that record. The platform
// also writes canaries, values of the same kind, in plaintext on purpose on the same storage: the
// scan must find them, or it would not have seen the records either.
type AtRestDrill struct{}

// atRestCanaries is how many canaries the drill has written in plaintext.
const atRestCanaries = 8

func (AtRestDrill) run(ctx context.Context, r *runner) error {
	if err := r.openStores(ctx); err != nil {
		return err
	}
	r.recs = slices.DeleteFunc(r.recs, func(rec *history.Recorder) bool { return rec.Store.Kind() == topology.KindObject })
	if err := r.writePhase(ctx, r.recs, "at-rest"); err != nil {
		return err
	}
	markers := map[string]string{} // marker -> tenant/store
	for _, op := range r.hist.Ops() {
		if op.Outcome == history.OK {
			markers[string(topology.Value(op.ID, r.valueBytes()))] = op.Tenant + "/" + op.Store
		}
	}
	var canaries []string
	for i := range atRestCanaries {
		canaries = append(canaries, string(topology.Value(fmt.Sprintf("%s-at-rest-canary-%d", r.env.RunID, i), r.valueBytes())))
	}
	scan, counts, err := r.env.Provider.(topology.AtRestScanner).ScanAtRest(ctx, slices.Sorted(maps.Keys(markers)), canaries)
	if err != nil {
		return fmt.Errorf("scan the volumes' storage: %w", err)
	}
	scan.Canary.Written = len(canaries)
	for _, c := range canaries {
		if counts[c] > 0 {
			scan.Canary.Found++
		}
	}
	for _, rec := range r.recs {
		s := topology.AtRestStore{Tenant: rec.Tenant, Store: rec.Store.Name()}
		for m, owner := range markers {
			if owner == s.Tenant+"/"+s.Store {
				s.Written++
				if counts[m] > 0 {
					s.Found++
					s.Instances += counts[m]
				}
			}
		}
		scan.Stores = append(scan.Stores, s)
	}
	r.obs.AtRest = &scan
	r.event("%d markers written, %d bytes of %s scanned in %.0fs; %d of %d plaintext canaries found", len(markers), scan.BytesScanned, scan.Storage, scan.Seconds,
		scan.Canary.Found, scan.Canary.Written)
	return nil
}

func atRestInvariant() Invariant {
	return probeInvariant("at-rest", "DP-ENC-1", "no scan of the volumes' storage", func(o *Observation) *topology.AtRest { return o.AtRest },
		func(a topology.AtRest, _ claims.Claims) checkers.Verdict { return checkers.AtRest(a) })
}
