package kind

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"dpsim/images"
	"dpsim/internal/testenv"
)

// isolation is the verdict of the same-namespace-only check.
type isolation string

const (
	enforced    isolation = "enforced"     // outsider blocked, insider reached
	notEnforced isolation = "not enforced" // outsider still reached
	broken      isolation = "broken"       // insider blocked too
)

// TestIntegrationNetworkPolicyEnforced shows that a same-namespace-only ingress policy in namespace
// b blocks a pod in namespace a on another node while a pod inside b still connects.
// (TestIntegrationUpLifecycle runs the same check on its cluster, which has no policy engine, and
// wants "not enforced": one cluster fewer.)
func TestIntegrationNetworkPolicyEnforced(t *testing.T) {
	testenv.RequireDocker(t)
	ctx, cancel := context.WithTimeout(t.Context(), 40*time.Minute)
	defer cancel()
	log := testenv.Logger(t)
	if _, err := images.Build(ctx, log, []string{images.KindNode}, images.Options{}); err != nil {
		t.Fatalf("build images: %v", err)
	}
	p := upCluster(ctx, t, Config{ClusterName: "dpsim-it-netpol", Workers: 2, Logger: log})
	requireIsolation(ctx, t, p, enforced)
}

// upCluster stands up the cluster of cfg for the test and tears it down when the test ends.
func upCluster(ctx context.Context, t *testing.T, cfg Config) *Provider {
	t.Helper()
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if err := p.Down(c); err != nil {
			t.Errorf("down: %v", err)
		}
	})
	if err := p.Up(ctx); err != nil {
		t.Fatalf("up: %v", err)
	}
	return p
}

// requireIsolation runs checkSameNamespaceIsolation on p and fails unless its verdict is want.
func requireIsolation(ctx context.Context, t *testing.T, p *Provider, want isolation) {
	t.Helper()
	got, err := checkSameNamespaceIsolation(ctx, t, p)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("isolation verdict %q, want %q", got, want)
	}
}

// checkSameNamespaceIsolation places a client in namespace a on worker 0, a
// server in b on worker 1 and a peer in b on worker 0, checks that the client
// reaches the server, applies a same-namespace-only ingress policy in b and
// judges what follows.
func checkSameNamespaceIsolation(ctx context.Context, t *testing.T, p *Provider) (isolation, error) {
	img := images.MustTag(images.NetCheck)
	var manifest strings.Builder
	for _, ns := range []string{"a", "b"} {
		fmt.Fprintf(&manifest, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n---\n", ns)
	}
	for _, pod := range []struct{ ns, name, node string }{
		{"a", "client", p.WorkerName(0)},
		{"b", "server", p.WorkerName(1)},
		{"b", "peer", p.WorkerName(0)},
	} {
		fmt.Fprintf(&manifest, `apiVersion: v1
kind: Pod
metadata:
  name: %s
  namespace: %s
  labels: {app: %s}
spec:
  nodeName: %s
  terminationGracePeriodSeconds: 0
  containers:
  - name: netcheck
    image: %s
    imagePullPolicy: Never
    args: ["listen", ":8080"]
    ports: [{containerPort: 8080}]
---
`, pod.name, pod.ns, pod.name, pod.node, img)
	}
	if _, err := p.Kubectl(ctx, strings.NewReader(manifest.String()), "apply", "-f", "-"); err != nil {
		return "", err
	}
	for _, ns := range []string{"a", "b"} {
		if _, err := p.Kubectl(ctx, nil, "wait", "-n", ns, "--for=condition=Ready", "pod", "--all", "--timeout=120s"); err != nil {
			return "", err
		}
	}
	out, err := p.Kubectl(ctx, nil, "get", "pod", "-n", "b", "server", "-o", "jsonpath={.status.podIP}")
	if err != nil {
		return "", err
	}
	server := strings.TrimSpace(string(out)) + ":8080"

	// Before any policy the client reaches the server across nodes.
	if r, err := eventually(ctx, 60*time.Second, func() (ProbeResult, error) {
		return p.Probe(ctx, "a", "client", server, 3*time.Second)
	}, true); err != nil {
		return "", err
	} else if !r.Reached {
		return "", fmt.Errorf("before the policy a/client could not reach b/server: %s", r.Detail)
	}
	t.Logf("before the policy: a/client -> b/server: %s", "reached")

	policy := `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: same-namespace-only
  namespace: b
spec:
  podSelector: {}
  policyTypes: [Ingress]
  ingress:
  - from:
    - podSelector: {}
`
	if _, err := p.Kubectl(ctx, strings.NewReader(policy), "apply", "-f", "-"); err != nil {
		return "", err
	}
	outsider, err := eventually(ctx, 30*time.Second, func() (ProbeResult, error) {
		return p.Probe(ctx, "a", "client", server, 3*time.Second)
	}, false)
	if err != nil {
		return "", err
	}
	insider, err := p.Probe(ctx, "b", "peer", server, 3*time.Second)
	if err != nil {
		return "", err
	}
	t.Logf("with the policy: a/client -> b/server: %s; b/peer -> b/server: %s", outsider.Detail, insider.Detail)
	switch {
	case !insider.Reached:
		return broken, nil
	case outsider.Reached:
		return notEnforced, nil
	default:
		return enforced, nil
	}
}

// eventually probes until the result's Reached equals want or the window
// ends, and returns the last result.
func eventually(ctx context.Context, window time.Duration, probe func() (ProbeResult, error), want bool) (ProbeResult, error) {
	end := time.Now().Add(window)
	for {
		r, err := probe()
		if err != nil {
			return r, err
		}
		if r.Reached == want || time.Now().After(end) {
			return r, nil
		}
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}
