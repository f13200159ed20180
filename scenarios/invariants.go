package scenarios

import (
	"fmt"
	"time"

	"dpsim/claims"
	"dpsim/reports"
	"dpsim/scenarios/checkers"
	"dpsim/scenarios/history"
	"dpsim/topology"
)

// Observation is everything a scenario saw, for the invariants to judge.
type Observation struct {
	Ops        []history.Op
	Stores     []StoreState
	Components []topology.Component
	Faults     []FaultWindow
	TLS        *reports.TLS
	// Exposure is a scan of the nodes from outside, taken by ExposureProbe.
	Exposure *topology.Exposure
	// AtRest is a scan of the volumes' raw storage, taken by AtRestDrill.
	AtRest *topology.AtRest
	// Passwords is how the identity provider stores passwords, read by PasswordProbe.
	Passwords *reports.Passwords
	// OIDC is what OIDCProbe saw of the realms and the tenants' APIs.
	OIDC *reports.OIDC
	// Isolation is the tenant-isolation truth table, taken by IsolationTable.
	Isolation *reports.Isolation
	// Ledgers is filled by the ledger invariant, for the report.
	Ledgers []reports.Ledger
	// Recovery is filled by the recovery invariant, for the report.
	Recovery []reports.Recovery
	// Backup is what the backup scenarios saw; nil in the others.
	Backup *BackupObservation
}

// StoreState is one tenant's store after the faults healed (or the wait for them gave up).
type StoreState struct {
	Tenant    string
	Name      string
	Kind      topology.Kind
	Read      topology.ReadBack
	Placement []topology.Placement
	// PlacementErr is why the store's placement could not be observed.
	PlacementErr error
}

func (s StoreState) ops(o *Observation) []history.Op { return history.Filter(o.Ops, s.Tenant, s.Name) }

func check(name, control string, s StoreState, v checkers.Verdict) reports.Check {
	return reports.Check{Name: name, Control: control, Tenant: s.Tenant, Store: s.Name, Status: v.Status, Summary: v.Summary}
}

func maxLostOnNode(c claims.Claims) int  { return c.MaxLostOnNodeLoss }
func maxLostOnDrive(c claims.Claims) int { return c.MaxLostOnDriveLoss }
func maxLostOnZone(c claims.Claims) int  { return c.MaxLostOnZoneLoss }
func noLoss(claims.Claims) int           { return 0 }

// noStores is the check of an invariant over stores when no store was read back: an error, since
// there is nothing to judge.
func noStores(name, control string) []reports.Check {
	return []reports.Check{{Name: name, Control: control, Status: reports.Error, Summary: "no data store was read back: nothing to judge"}}
}

// noFault is the check of an invariant over faults when no fault was in force: an error.
func noFault(name, control string) []reports.Check {
	return []reports.Check{{Name: name, Control: control, Status: reports.Error, Summary: "no fault was in force: nothing to judge"}}
}

// ledgerInvariant runs the set checker over every store.
func ledgerInvariant(control string, maxLost func(claims.Claims) int) Invariant {
	return Invariant{Name: "ledger", Control: control, Check: func(o *Observation, c claims.Claims) []reports.Check {
		if len(o.Stores) == 0 {
			return noStores("ledger", control)
		}
		var out []reports.Check
		for _, s := range o.Stores {
			l, v := checkers.Ledger(s.ops(o), s.Read, maxLost(c))
			l.Tenant, l.Store = s.Tenant, s.Name
			acks := checkers.CountAckCopies(s.ops(o), c.MinCopies, s.Kind.TellsCopies())
			acks.Into(&l)
			o.Ledgers = append(o.Ledgers, l)
			out = append(out, check("ledger", control, s, v))
		}
		return out
	}}
}

// placementInvariant checks every acknowledged record's copies (DP-DUR-2).
func placementInvariant() Invariant {
	return Invariant{Name: "placement", Control: "DP-DUR-2", Check: func(o *Observation, c claims.Claims) []reports.Check {
		if len(o.Stores) == 0 {
			return noStores("placement", "DP-DUR-2")
		}
		var out []reports.Check
		for _, s := range o.Stores {
			rule := checkers.PlacementRule{MinCopies: c.MinCopies, AtAcknowledgement: c.MinCopiesAt != claims.CopiesOnceSettled,
				TellsCopies: s.Kind.TellsCopies()}
			v := checkers.Placement(s.ops(o), s.Placement, rule)
			if s.PlacementErr != nil {
				v = checkers.Verdict{Status: reports.Error, Summary: "placement could not be observed from the store: " + s.PlacementErr.Error()}
			}
			out = append(out, check("placement", "DP-DUR-2", s, v))
		}
		return out
	}}
}

// topologyInvariant checks the data components' spread over nodes (DP-DUR-1).
func topologyInvariant() Invariant {
	return Invariant{Name: "topology", Control: "DP-DUR-1", Check: func(o *Observation, c claims.Claims) []reports.Check {
		v := checkers.Topology(o.Components, c.MinNodesPerComponent)
		return []reports.Check{{Name: "topology", Control: "DP-DUR-1", Status: v.Status, Summary: v.Summary}}
	}}
}

// recoveryInvariant measures each store's availability across each fault.
func recoveryInvariant(control string) Invariant {
	return Invariant{Name: "recovery", Control: control, Check: func(o *Observation, c claims.Claims) []reports.Check {
		if len(o.Stores) == 0 {
			return noStores("recovery", control)
		}
		if len(o.Faults) == 0 {
			return noFault("recovery", control)
		}
		var out []reports.Check
		for _, f := range o.Faults {
			for _, s := range o.Stores {
				out = append(out, check("recovery", control, s, recovery(o, f, s, claims.Duration(c.MaxRecovery))))
			}
		}
		return out
	}}
}

// recovery measures how store s fared across fault f (see checkers.Recovery), adds the figures
// and the write rate while the fault was in force to the report, and returns the verdict.
func recovery(o *Observation, f FaultWindow, s StoreState, maxRecovery time.Duration) checkers.Verdict {
	ops := s.ops(o)
	res, v := checkers.Recovery(ops, f.Start, f.End, maxRecovery)
	from, to := f.rateWindow()
	o.Recovery = append(o.Recovery, reports.Recovery{Tenant: s.Tenant, Store: s.Name, Fault: f.Kind,
		Seconds: res.Seconds, UnavailableSeconds: res.LongestGapSeconds, AckedPerSecond: checkers.AckRate(ops, from, to),
		AckedPerSecondByPart: checkers.AckRateByPart(ops, from, to)})
	return v
}

// zoneOutageInvariant judges what a zone outage did (DP-DUR-5): writes acknowledged and refused
// while the zone was down are reported; it fails when an acknowledged record had no copy outside the
// zone (see checkers.ZoneOutage) or when writes stayed refused after the zone came back.
func zoneOutageInvariant() Invariant {
	return Invariant{Name: "zone-outage", Control: "DP-DUR-5", Check: func(o *Observation, c claims.Claims) []reports.Check {
		if len(o.Stores) == 0 {
			return noStores("zone-outage", "DP-DUR-5")
		}
		if len(o.Faults) == 0 {
			return noFault("zone-outage", "DP-DUR-5")
		}
		var out []reports.Check
		for _, f := range o.Faults {
			for _, s := range o.Stores {
				var during [3]int
				for _, op := range s.ops(o) {
					if op.Invoked.Before(f.Start) || !op.Invoked.Before(f.End) {
						continue
					}
					during[outcomeIndex(op.Outcome)]++
				}
				zv := placementVerdict(s, func() checkers.Verdict { return checkers.ZoneOutage(s.ops(o), s.Placement, f.Target, f.Nodes) })
				rv := recovery(o, f, s, 0)
				v := checkers.Verdict{Status: reports.Worst(zv.Status, rv.Status), Summary: fmt.Sprintf(
					"while %s was down: %d writes acknowledged, %d refused, %d unknown; %s; after: %s",
					f.Target, during[0], during[1], during[2], zv.Summary, rv.Summary)}
				out = append(out, check("zone-outage", "DP-DUR-5", s, v))
			}
		}
		return out
	}}
}

// zoneSpreadInvariant judges every store's placement by zone (DP-DUR-5), the zones being those of
// the nodes the inventory found the components' members on: every acknowledged record must survive
// the loss of any one zone, whichever zone the outage took.
func zoneSpreadInvariant() Invariant {
	return Invariant{Name: "zone-spread", Control: "DP-DUR-5", Check: func(o *Observation, c claims.Claims) []reports.Check {
		if len(o.Stores) == 0 {
			return noStores("zone-spread", "DP-DUR-5")
		}
		zones := memberZones(o.Components)
		var out []reports.Check
		for _, s := range o.Stores {
			v := placementVerdict(s, func() checkers.Verdict { return checkers.ZoneSpread(s.ops(o), s.Placement, zones) })
			out = append(out, check("zone-spread", "DP-DUR-5", s, v))
		}
		return out
	}}
}

// placementVerdict is judge's verdict on s's placement, or an error when the store's placement could
// not be observed.
func placementVerdict(s StoreState, judge func() checkers.Verdict) checkers.Verdict {
	if s.PlacementErr != nil {
		return checkers.Verdict{Status: reports.Error, Summary: "placement could not be observed from the store: " + s.PlacementErr.Error()}
	}
	return judge()
}

// memberZones maps every node (or object-store server) a component's member runs on to its zone.
func memberZones(comps []topology.Component) map[string]string {
	zones := map[string]string{}
	for _, c := range comps {
		for _, m := range c.Members {
			if m.Node != "" && m.Zone != "" {
				zones[m.Node] = m.Zone
			}
		}
	}
	return zones
}

func outcomeIndex(o history.Outcome) int {
	switch o {
	case history.OK:
		return 0
	case history.Failed:
		return 1
	}
	return 2
}

// tlsInvariant judges the ingress's TLS posture (DP-NET-2).
func tlsInvariant() Invariant {
	return probeInvariant("tls", "DP-NET-2", "no TLS observation", func(o *Observation) *reports.TLS { return o.TLS },
		func(t reports.TLS, c claims.Claims) checkers.Verdict {
			return checkers.TLSPosture(t, checkers.TLSClaim{Versions: c.TLSVersions, Suites: c.TLSCipherSuites, Curves: c.TLSCurves,
				CertCurve: c.CertCurve, MaxLifetime: claims.Duration(c.MaxCertLifetime)})
		})
}

// probeInvariant judges what one probe saw (seen) with one checker; nothing seen is an error
// saying missing.
func probeInvariant[T any](name, control, missing string, seen func(*Observation) *T, judge func(T, claims.Claims) checkers.Verdict) Invariant {
	return Invariant{Name: name, Control: control, Check: func(o *Observation, c claims.Claims) []reports.Check {
		s := seen(o)
		if s == nil {
			return []reports.Check{{Name: name, Control: control, Status: reports.Error, Summary: missing}}
		}
		return []reports.Check{verdictCheck(name, control, "", judge(*s, c))}
	}}
}
