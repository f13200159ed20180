package kind

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"time"

	"dpsim/agent/api"
	"dpsim/images"
	"dpsim/topology"
	"dpsim/topology/platform"
)

// The isolation truth table on kind: targets are read from each tenant namespace's pods, Services
// and EndpointSlices; probes run, in one batch per source, inside each tenant's agent (POST
// /v1/probe), in the prober outside every tenant (kubectl exec ... dpsim probe) and on every node's
// host network (the dpsim binary copied into the node, run with docker exec).

var (
	_ topology.IsolationProber       = (*Platform)(nil)
	_ topology.PolicyEngineRestarter = (*Platform)(nil)
	_ topology.PolicyTimer           = (*Platform)(nil)
)

const (
	// isolationProbeTimeout bounds each probe of the table.
	isolationProbeTimeout = time.Second
	// nodeProber is where the dpsim binary is copied in each node.
	nodeProber = "/usr/local/bin/dpsim-probe"
	// podProber is the dpsim binary in the agent image.
	podProber = "/usr/local/bin/dpsim"
	// proberPort is the HTTP port of the outside prober.
	proberPort = 8080
)

// IsolationTargets implements topology.IsolationProber.
func (p *Platform) IsolationTargets(ctx context.Context) ([]topology.Target, error) {
	var all []topology.Target
	for _, t := range p.spec.Tenants {
		out, err := p.cluster.Kubectl(ctx, nil, "-n", platform.Namespace(t), "get", "pods,services,endpointslices", "-o", "json")
		if err != nil {
			return nil, fmt.Errorf("list the listening ports of tenant %s: %w", t, err)
		}
		targets, err := platform.Targets(t, out)
		if err != nil {
			return nil, err
		}
		all = append(all, targets...)
	}
	return all, nil
}

// IsolationSources implements topology.IsolationProber: each tenant's agent, the outside prober
// and every node, control plane included.
func (p *Platform) IsolationSources(ctx context.Context) ([]topology.Source, error) {
	var out []topology.Source
	for _, t := range p.spec.Tenants {
		out = append(out, topology.Source{Kind: topology.SourceTenant, Tenant: t, Name: platform.Namespace(t) + "/dpsim-agent"})
	}
	out = append(out, topology.Source{Kind: topology.SourceOutside, Name: platform.OutsideNamespace + "/prober"})
	nodes, err := p.cluster.Nodes(ctx)
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	for _, n := range nodes {
		out = append(out, topology.Source{Kind: topology.SourceNode, Name: n.Name})
	}
	return out, nil
}

// ProbeFrom implements topology.IsolationProber.
func (p *Platform) ProbeFrom(ctx context.Context, src topology.Source, targets []topology.Target) ([]topology.ProbeResult, error) {
	req := api.ProbeRequest{Targets: make([]api.ProbeTarget, len(targets))}
	for i, t := range targets {
		req.Targets[i] = api.ProbeTarget{Address: t.Address, Port: t.Port, Protocol: t.Protocol, TimeoutMs: int(isolationProbeTimeout.Milliseconds())}
	}
	var res api.ProbeResponse
	var err error
	switch src.Kind {
	case topology.SourceTenant:
		link, ok := p.agents[src.Tenant]
		if !ok {
			return nil, fmt.Errorf("no agent of tenant %s", src.Tenant)
		}
		res, err = link.client.Probe(ctx, req)
	case topology.SourceOutside:
		res, err = p.probeByCommand(ctx, req, func(body []byte) ([]byte, error) {
			return p.cluster.Kubectl(ctx, bytes.NewReader(body), "-n", platform.OutsideNamespace, "exec", "-i", "deployment/prober", "--", podProber, "probe")
		})
	case topology.SourceNode:
		if err := p.ensureNodeProber(ctx, src.Name); err != nil {
			return nil, err
		}
		res, err = p.probeByCommand(ctx, req, func(body []byte) ([]byte, error) {
			return p.cluster.run(ctx, bytes.NewReader(body), p.cluster.docker, "exec", "-i", src.Name, nodeProber, "probe")
		})
	default:
		return nil, fmt.Errorf("unknown source kind %q", src.Kind)
	}
	if err != nil {
		return nil, fmt.Errorf("probe from %s: %w", src.Label(), err)
	}
	if len(res.Results) != len(targets) {
		return nil, fmt.Errorf("probe from %s: %d results for %d targets", src.Label(), len(res.Results), len(targets))
	}
	out := make([]topology.ProbeResult, len(targets))
	for i, r := range res.Results {
		out[i] = topology.ProbeResult{Outcome: r.Outcome, LatencyMs: r.LatencyMs, Detail: r.Detail}
	}
	return out, nil
}

// probeByCommand sends req to a `dpsim probe` run by run and decodes its answer.
func (p *Platform) probeByCommand(ctx context.Context, req api.ProbeRequest, run func([]byte) ([]byte, error)) (api.ProbeResponse, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return api.ProbeResponse{}, err
	}
	out, err := run(body)
	if err != nil {
		return api.ProbeResponse{}, err
	}
	var res api.ProbeResponse
	if err := json.Unmarshal(out, &res); err != nil {
		return res, fmt.Errorf("decode the prober's answer: %w", err)
	}
	return res, nil
}

// ensureNodeProber copies the dpsim binary into node once.
func (p *Platform) ensureNodeProber(ctx context.Context, node string) error {
	p.probersMu.Lock()
	defer p.probersMu.Unlock()
	if p.probers[node] {
		return nil
	}
	bin := images.AgentBinary()
	if bin == "" {
		return errors.New("no dpsim binary to copy into the nodes")
	}
	if _, err := p.cluster.run(ctx, nil, p.cluster.docker, "cp", bin, node+":"+nodeProber); err != nil {
		return fmt.Errorf("copy the prober into node %s: %w", node, err)
	}
	if p.probers == nil {
		p.probers = map[string]bool{}
	}
	p.probers[node] = true
	return nil
}

// policyEngineLabel is the pod label of the NetworkPolicy engine's daemonset pods.
func (p *Platform) policyEngineLabel() string {
	if p.cluster.cfg.PolicyEngine == EngineCalico {
		return "k8s-app=calico-node"
	}
	return "k8s-app=kube-router"
}

// RestartPolicyEngine implements topology.PolicyEngineRestarter: it deletes the engine's pod on node
// and waits until its replacement is ready.
func (p *Platform) RestartPolicyEngine(ctx context.Context, node string) (string, error) {
	start := time.Now()
	name := func() (string, bool, error) {
		out, err := p.cluster.Kubectl(ctx, nil, "-n", "kube-system", "get", "pods", "-l", p.policyEngineLabel(),
			"--field-selector", "spec.nodeName="+node, "-o",
			`jsonpath={range .items[*]}{.metadata.name}{" "}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}`)
		if err != nil {
			return "", false, err
		}
		f := strings.Fields(string(out))
		if len(f) != 2 {
			return "", false, fmt.Errorf("policy engine pods on %s: %q", node, strings.TrimSpace(string(out)))
		}
		return f[0], f[1] == "True", nil
	}
	old, _, err := name()
	if err != nil {
		return "", err
	}
	if _, err := p.cluster.Kubectl(ctx, nil, "-n", "kube-system", "delete", "pod", old, "--wait=true"); err != nil {
		return "", fmt.Errorf("delete %s: %w", old, err)
	}
	var fresh string
	err = p.waitFor(ctx, p.opts.ReadyTimeout, func() error {
		n, ready, err := name()
		if err != nil {
			return err
		}
		if n == old || !ready {
			return fmt.Errorf("no ready replacement of %s yet", old)
		}
		fresh = n
		return nil
	})
	if err != nil {
		return "", err
	}
	what := fmt.Sprintf("the policy engine's pod on %s (%s, replaced by %s, ready after %s)", node, old, fresh, since(start))
	p.log.Info("policy engine restarted", "node", node, "old", old, "new", fresh, "elapsed", since(start))
	return what, nil
}

// enforcementLimit is how long MeasurePolicyEnforcement waits for a new policy to take effect.
const enforcementLimit = 30 * time.Second

// enforcementPolicy denies every ingress to the outside prober's namespace.
const enforcementPolicy = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: dpsim-enforcement-check
  namespace: ` + platform.OutsideNamespace + `
spec:
  podSelector: {}
  policyTypes: [Ingress]
`

// MeasurePolicyEnforcement implements topology.PolicyTimer. From the first tenant's agent it holds
// a connection to the outside prober and opens new ones every 50 ms (dpsim probe --hold); then it
// creates a policy denying every ingress to the prober's namespace and reads off when new
// connections stopped, counted from kubectl apply returning, and whether the held one kept working.
// The policy is deleted afterwards.
func (p *Platform) MeasurePolicyEnforcement(ctx context.Context) (topology.PolicyEnforcement, error) {
	res := topology.PolicyEnforcement{Seconds: -1}
	if len(p.spec.Tenants) == 0 {
		return res, errors.New("no tenant to measure from")
	}
	ipOut, err := p.cluster.Kubectl(ctx, nil, "-n", platform.OutsideNamespace, "get", "pods", "-l", "app=prober", "-o", "jsonpath={.items[0].status.podIP}")
	if err != nil {
		return res, fmt.Errorf("find the outside prober: %w", err)
	}
	target := fmt.Sprintf("%s:%d", strings.TrimSpace(string(ipOut)), proberPort)
	hctx, stop := context.WithCancel(ctx)
	defer stop()
	cmd := exec.CommandContext(hctx, p.cluster.docker, p.cluster.kubectlArgs(false,
		"-n", platform.Namespace(p.spec.Tenants[0]), "exec", "deployment/dpsim-agent", "--", podProber, "probe", "--hold", target, "--every", "50ms", "--for", (3*enforcementLimit).String())...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return res, err
	}
	if err := cmd.Start(); err != nil {
		return res, fmt.Errorf("start holding a connection: %w", err)
	}
	var wg sync.WaitGroup
	samples := make(chan api.HoldSample, 1024)
	wg.Go(func() {
		defer close(samples)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var s api.HoldSample
			if json.Unmarshal(sc.Bytes(), &s) == nil {
				samples <- s
			}
		}
	})
	defer func() {
		stop()
		_ = cmd.Wait()
		wg.Wait()
		_, _ = p.cluster.Kubectl(context.WithoutCancel(ctx), strings.NewReader(enforcementPolicy), "delete", "-f", "-", "--ignore-not-found")
	}()
	next := func(limit <-chan time.Time) (api.HoldSample, error) {
		select {
		case s, ok := <-samples:
			if !ok {
				return s, fmt.Errorf("the held connection's prober stopped: %s", strings.TrimSpace(stderr.String()))
			}
			return s, nil
		case <-limit:
			return api.HoldSample{}, errLimit
		case <-ctx.Done():
			return api.HoldSample{}, ctx.Err()
		}
	}
	warmup := time.After(enforcementLimit)
	for {
		s, err := next(warmup)
		if err != nil {
			return res, fmt.Errorf("before the policy: %w", err)
		}
		if s.New.Reached() && s.Held.Reached() {
			break
		}
	}
	if _, err := p.cluster.Kubectl(ctx, strings.NewReader(enforcementPolicy), "apply", "-f", "-"); err != nil {
		return res, fmt.Errorf("create the deny policy: %w", err)
	}
	created := time.Now()
	limit := time.After(enforcementLimit)
	var enforcedAt time.Time
	for {
		s, err := next(limit)
		if errors.Is(err, errLimit) {
			break
		}
		if err != nil {
			return res, err
		}
		if !s.Held.Reached() {
			res.PreexistingCut = true
		}
		if enforcedAt.IsZero() && s.New.Blocked() {
			enforcedAt = s.At
			limit = time.After(2 * time.Second) // watch the held connection a little longer
		}
	}
	if enforcedAt.IsZero() {
		res.Detail = fmt.Sprintf("new connections from tenant %s to %s still connected %s after the policy was created", p.spec.Tenants[0], target, enforcementLimit)
		return res, nil
	}
	res.Seconds = max(enforcedAt.Sub(created).Seconds(), 0)
	res.Detail = fmt.Sprintf("measured from tenant %s's agent to the outside prober at %s, probing every 50 ms; counted from kubectl apply returning", p.spec.Tenants[0], target)
	return res, nil
}

// errLimit is a wait that ran out.
var errLimit = errors.New("time limit reached")
