package kind

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// NetCheckBinary is the path of the connector in the images' netcheck image.
const NetCheckBinary = "/usr/local/bin/netcheck"

// ProbeResult is the outcome of one TCP connection attempt between pods.
type ProbeResult struct {
	Reached bool   // the connection was made and answered
	Detail  string // the connector's own words ("reached: ok b-server", "blocked: ... connection refused")
}

// Probe connects from a pod running the netcheck image to addr
// ("host:port") and reports whether it got through. A connection refused,
// timed out or unanswered is a result (Reached false), not an error; an
// error means the probe itself could not run.
func (p *Provider) Probe(ctx context.Context, namespace, pod, addr string, timeout time.Duration) (ProbeResult, error) {
	out, err := p.Kubectl(ctx, nil, "exec", "-n", namespace, pod, "--",
		NetCheckBinary, "connect", addr, timeout.String())
	detail := strings.TrimSpace(string(out))
	switch {
	case err == nil && strings.HasPrefix(detail, "reached:"):
		return ProbeResult{Reached: true, Detail: detail}, nil
	case strings.HasPrefix(detail, "blocked:"):
		return ProbeResult{Detail: detail}, nil
	case err != nil:
		return ProbeResult{}, fmt.Errorf("probe %s/%s -> %s: %w", namespace, pod, addr, err)
	default:
		return ProbeResult{}, fmt.Errorf("probe %s/%s -> %s: unexpected answer %q", namespace, pod, addr, detail)
	}
}
