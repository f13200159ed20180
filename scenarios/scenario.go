// Package scenarios declares the catalogue of scenarios (workload + fault + invariants, as data)
// and the engine that runs them against a provider and turns what it saw into report entries.
package scenarios

import (
	"log/slog"
	"time"

	"dpsim/claims"
	"dpsim/reports"
	"dpsim/topology"
)

// Env is what a scenario runs against.
type Env struct {
	Provider topology.Provider
	Spec     topology.Spec
	Claims   claims.Claims
	Seed     int64
	Log      *slog.Logger
}

// Scenario is one experiment, as plain data: what traffic to drive, which fault to inject while it
// runs, and which invariants judge the outcome.
type Scenario struct {
	Name        string
	Description string
	// Controls are the controls this scenario's invariants give evidence for.
	Controls []string
	// Needs are the provider capabilities the scenario cannot run without.
	Needs []topology.Capability
	// Traffic drives writes before, during and after the fault; nil for probe-only scenarios.
	Traffic *Traffic
	// Fault is injected after the first traffic phase and recovered after the second; nil for none.
	Fault Fault
	// Probe observes the platform (TLS, ports, ...) once the traffic is done; nil for none.
	Probe Probe
	// Invariants judge the observation.
	Invariants []Invariant
}

// Traffic is the workload: every tenant's every store receives WritesPerPhase writes before and
// after the fault and FaultWrites while it is in force (enough to measure the write rate a store
// keeps up through the fault).
type Traffic struct {
	WritesPerPhase int
	FaultWrites    int
	ValueBytes     int
}

// writes is the number of writes per store in phase.
func (t Traffic) writes(phase string) int {
	if phase == "during" && t.FaultWrites > 0 {
		return t.FaultWrites
	}
	return t.WritesPerPhase
}

// Invariant is one checker applied to a scenario's observation, as evidence for one control.
type Invariant struct {
	Name    string
	Control string
	Check   func(o *Observation, c claims.Claims) []reports.Check
}

// FaultWindow is when one fault was in force.
type FaultWindow struct {
	Kind   string
	Target string
	Nodes  []string // the nodes the fault took down or cut off
	Start  time.Time
	End    time.Time
}
