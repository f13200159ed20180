package topology

import "context"

// The vocabulary of the tenant-isolation truth table (DP-NET-3), shared by the providers that discover
// probe targets, the agent that probes them and the checker that judges the table. It lives here
// rather than in the checker because providers and the agent must name it and the checker already
// imports this package.

// Address kinds: how a probe reaches its target.
const (
	AddressPodIP     = "pod-ip"     // the pod's own IP
	AddressServiceIP = "service-ip" // a Service's cluster IP (kube-proxy picks the backend)
	AddressDNS       = "dns"        // a cluster DNS name (Service or, for headless Services, one pod)
)

// Probe protocols.
const (
	ProtocolTCP = "tcp"
	ProtocolUDP = "udp"
)

// Target is one listening port of one tenant component, reached one way.
type Target struct {
	Tenant    string `json:"tenant"`
	Component string `json:"component"` // kafka, elasticsearch, agent, ...
	// Pod is the pod behind the address; empty when a Service picks it.
	Pod string `json:"pod,omitempty"`
	// Node is the node Pod runs on (empty with Pod): NetworkPolicy cannot block a pod's own node.
	Node        string `json:"node,omitempty"`
	Port        int    `json:"port"`
	Protocol    string `json:"protocol"`    // ProtocolTCP or ProtocolUDP
	AddressKind string `json:"addressKind"` // AddressPodIP, AddressServiceIP or AddressDNS
	Address     string `json:"address"`     // an IP or a DNS name
}

// Source kinds: where a probe runs from.
const (
	SourceTenant  = "tenant"  // a pod in a tenant's namespace (its agent)
	SourceOutside = "outside" // a pod in no tenant's namespace
	SourceNode    = "node"    // a node's host network
)

// Source is where a probe ran from.
type Source struct {
	Kind   string `json:"kind"`             // SourceTenant, SourceOutside or SourceNode
	Tenant string `json:"tenant,omitempty"` // for SourceTenant
	Name   string `json:"name"`             // the pod or node
}

// Label names the source in summaries: the tenant, "outside (pod)" or "node NAME".
func (s Source) Label() string {
	switch s.Kind {
	case SourceTenant:
		return s.Tenant
	case SourceNode:
		return "node " + s.Name
	}
	return s.Kind + " (" + s.Name + ")"
}

// Outcome is what one connection probe saw.
type Outcome string

// The probe outcomes. Refused and TimedOut mean the target was not reached; DNSFailure is its own
// outcome: the name did not resolve from the source, which says nothing about a policy.
const (
	OutcomeAllowed    Outcome = "allowed"     // the connection was made (TCP) or answered (UDP)
	OutcomeRefused    Outcome = "refused"     // actively rejected: RST, ICMP port/host unreachable
	OutcomeTimeout    Outcome = "timeout"     // no answer within the probe's timeout (dropped)
	OutcomeDNSFailure Outcome = "dns-failure" // the name did not resolve from the source
	OutcomeError      Outcome = "error"       // the probe itself could not run; it says nothing
)

// Reached reports whether the outcome is a connection.
func (o Outcome) Reached() bool { return o == OutcomeAllowed }

// Blocked reports whether the outcome shows the connection was not made (refused or timed out); a
// name that did not resolve and an error are neither reached nor blocked.
func (o Outcome) Blocked() bool {
	return o == OutcomeRefused || o == OutcomeTimeout
}

// ProbeResult is what one probe of a target saw.
type ProbeResult struct {
	Outcome   Outcome `json:"outcome"`
	LatencyMs float64 `json:"latencyMs"`
	Detail    string  `json:"detail,omitempty"`
}

// IsolationProber is a provider that can take the tenant-isolation truth table: it lists every
// listening port of every tenant component (each way it can be reached) and every place a probe can
// run from, and probes a batch of targets from one source.
type IsolationProber interface {
	IsolationTargets(ctx context.Context) ([]Target, error)
	IsolationSources(ctx context.Context) ([]Source, error)
	// ProbeFrom probes targets from src; the results are in the targets' order.
	ProbeFrom(ctx context.Context, src Source, targets []Target) ([]ProbeResult, error)
}

// PolicyEngineRestarter is a provider whose NetworkPolicy engine runs as a pod per node that can be
// restarted; it returns once the new pod is ready and names what it restarted.
type PolicyEngineRestarter interface {
	RestartPolicyEngine(ctx context.Context, node string) (string, error)
}

// PolicyEnforcement is how a new deny policy took effect.
type PolicyEnforcement struct {
	// Seconds from the policy's creation to the first new connection refused or dropped; -1 when it
	// was never enforced within the measurement's limit.
	Seconds float64 `json:"seconds"`
	// PreexistingCut tells whether a connection opened before the policy stopped working once it
	// was enforced.
	PreexistingCut bool   `json:"preexistingCut"`
	Detail         string `json:"detail,omitempty"`
}

// PolicyTimer is a provider that can measure how long a new NetworkPolicy takes to be enforced.
type PolicyTimer interface {
	MeasurePolicyEnforcement(ctx context.Context) (PolicyEnforcement, error)
}
