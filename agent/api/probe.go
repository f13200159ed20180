package api

import (
	"time"

	"dpsim/topology"
)

// The connection prober behind the isolation truth table (DP-NET-3): the agent probes a batch of
// targets from inside its pod (POST /v1/probe); `dpsim probe` does the same from a pod outside any
// tenant or a node's host network.

// ProbeRequest is a batch of targets to probe.
type ProbeRequest struct {
	Targets []ProbeTarget `json:"targets"`
}

// ProbeTarget is one address and port to connect to. Protocol is "tcp" (the default) or "udp";
// TimeoutMs bounds the probe, name resolution included (default 1000, at most 30000).
type ProbeTarget struct {
	Address   string `json:"address"`
	Port      int    `json:"port"`
	Protocol  string `json:"protocol,omitempty"`
	TimeoutMs int    `json:"timeoutMs,omitempty"`
}

// ProbeResponse holds one result per target, in the request's order.
type ProbeResponse struct {
	Results []ProbeResult `json:"results"`
}

// ProbeResult is what probing one target saw. LatencyMs runs from the start of the probe (name
// resolution included) to its outcome; Detail says which address was dialled and why a probe was
// not allowed.
type ProbeResult struct {
	Address   string           `json:"address"`
	Port      int              `json:"port"`
	Protocol  string           `json:"protocol"`
	Outcome   topology.Outcome `json:"outcome"`
	LatencyMs float64          `json:"latencyMs"`
	Detail    string           `json:"detail,omitempty"`
}

// HoldSample is one round of Hold.
type HoldSample struct {
	At   time.Time        `json:"at"`
	New  topology.Outcome `json:"new"`  // a new TCP connection to the target
	Held topology.Outcome `json:"held"` // a request over the connection opened at the start
	// Detail says why the held request failed.
	Detail string `json:"detail,omitempty"`
}
