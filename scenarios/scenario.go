// Package scenarios declares the catalogue of scenarios (workload + fault + invariants, as data)
// and the engine that runs them against a provider and turns what it saw into report entries.
package scenarios

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
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
	// RunID is unique per run (see NewRunID); every dataset of the run carries it.
	RunID string
	// Retain keeps the run's datasets; otherwise each scenario removes its own at its end.
	Retain bool
	// SettleTimeout bounds the wait for the platform to recover after a fault (default 5 min): a
	// store that cannot recover is judged, not waited on.
	SettleTimeout time.Duration
	// EvidenceDir is where a scenario that fails or errs saves what explains it, in a folder of
	// its own, on a provider that can collect evidence ("": nothing is collected).
	EvidenceDir string
}

// settleTimeout is env's bound on settling after a fault.
func (e Env) settleTimeout() time.Duration {
	if e.SettleTimeout > 0 {
		return e.SettleTimeout
	}
	return 5 * time.Minute
}

// recoverTimeout bounds healing a fault after the run was interrupted.
const recoverTimeout = 3 * time.Minute

// NewRunID returns a run id unique to this run: random on a real platform, where datasets of
// earlier runs may still exist; derived from the seed on a provider that simulates time, whose
// platform lives only as long as the process, so that two runs with one seed stay identical.
func NewRunID(p topology.Provider, seed int64) string {
	if _, simulated := p.(topology.Clocked); simulated {
		return fmt.Sprintf("s%x", uint64(seed))
	}
	return fmt.Sprintf("r%08x", rand.Uint32())
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
	// Phases observes the platform before the fault, while it is in force and after recovery; nil
	// for none.
	Phases PhaseProbe
	// Drill replaces traffic and fault with a procedure of its own (back up, restore, offboard);
	// Traffic then only sizes its writes. Nil for none.
	Drill Drill
	// Probe observes the platform (TLS, ports, ...) once the traffic is done; nil for none.
	Probe Probe
	// Invariants judge the observation.
	Invariants []Invariant
}

// Traffic is the workload: every tenant's every store receives WritesPerPhase writes before and
// after the fault. While the fault is in force, a store that writes for a time by itself
// (topology.TimedWriter: the real platform's agent) writes for FaultSeconds, at most FaultRate
// writes per second with at most FaultInFlight awaiting an outcome, which measures the write rate
// it keeps up through the fault; other stores (the fake) receive FaultWrites writes.
type Traffic struct {
	WritesPerPhase int
	FaultWrites    int
	FaultSeconds   float64
	FaultRate      int
	FaultInFlight  int
	ValueBytes     int
}

// faultDuration is how long timed stores write while the fault is in force.
func (t Traffic) faultDuration() time.Duration {
	return time.Duration(t.FaultSeconds * float64(time.Second))
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
	// Effect is the evidence that the fault took effect, from injecting and from healing it.
	Effect []string
	Start  time.Time
	End    time.Time
	// WorkloadStart and WorkloadEnd bound the writes made while the fault was in force: from the
	// first write after the fault took effect to the last one started (a timed workload's duration)
	// or, for a workload of so many writes, the last outcome. Zero when there were none.
	WorkloadStart, WorkloadEnd time.Time
}

// rateWindow is the span the fault's write rate is measured over: its workload, or the whole
// fault when it had none.
func (f FaultWindow) rateWindow() (time.Time, time.Time) {
	if f.WorkloadEnd.IsZero() {
		return f.Start, f.End
	}
	return f.WorkloadStart, f.WorkloadEnd
}
