package kind

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"dpsim/internal/testenv"

	"dpsim/images"
)

// TestIntegrationUpLifecycle covers what `up` must cope with: a failed up
// tears down, an existing matching cluster is reused, one whose node
// containers were stopped (as after a machine restart) is made anew, and
// node kill/restart and Down do what they say. Its cluster has no policy
// engine, and the isolation check run on it must say "not enforced" (the
// check that passes with kube-router is TestIntegrationNetworkPolicyEnforced).
func TestIntegrationUpLifecycle(t *testing.T) {
	testenv.RequireDocker(t)
	ctx, cancel := context.WithTimeout(t.Context(), 40*time.Minute)
	defer cancel()
	if _, err := images.Build(ctx, testenv.Logger(t), []string{images.KindNode}, images.Options{}); err != nil {
		t.Fatalf("build images: %v", err)
	}
	cfg := Config{ClusterName: "dpsim-it-life", Workers: 2, Zones: []string{"zone-x"}, Logger: testenv.Logger(t),
		DisableNetworkPolicy: true}

	// A failed up (here: an impossible readiness deadline) leaves nothing.
	failing := cfg
	failing.ReadyTimeout = time.Millisecond
	fp, err := New(failing)
	if err != nil {
		t.Fatal(err)
	}
	if err := fp.Up(ctx); err == nil {
		t.Fatal("up with a 1 ms readiness deadline succeeded")
	}
	if st, err := fp.Status(ctx); err != nil || st.Exists {
		t.Fatalf("after a failed up: exists=%v err=%v, want nothing left", st.Exists, err)
	}

	p := upCluster(ctx, t, cfg)
	nodes := map[string]string{p.ControlPlaneName(): "", p.WorkerName(0): "zone-x", p.WorkerName(1): "zone-x"}
	requireNodes(ctx, t, p, nodes)
	t.Run("no enforcement is caught", func(t *testing.T) { requireIsolation(ctx, t, p, notEnforced) })
	ids := containerIDs(t, p)

	// Up on a running, matching cluster reuses it.
	if err := p.Up(ctx); err != nil {
		t.Fatalf("second up: %v", err)
	}
	if got := containerIDs(t, p); got != ids {
		t.Fatalf("second up replaced the nodes (%s -> %s), want them reused", ids, got)
	}

	// Stopped node containers: up makes the cluster anew.
	if out, err := exec.CommandContext(ctx, "docker", "stop", "-t", "1", p.ControlPlaneName(), p.WorkerName(0), p.WorkerName(1)).CombinedOutput(); err != nil {
		t.Fatalf("docker stop: %v: %s", err, out)
	}
	if err := p.Up(ctx); err != nil {
		t.Fatalf("up over stopped nodes: %v", err)
	}
	if got := containerIDs(t, p); got == ids {
		t.Fatal("up over stopped nodes kept the stopped containers")
	}
	requireNodes(ctx, t, p, nodes)

	// Kill and restart a worker.
	if err := p.KillNode(ctx, p.WorkerName(0)); err != nil {
		t.Fatal(err)
	}
	if n := nodeNamed(ctx, t, p, p.WorkerName(0)); n.Running || n.Ready {
		t.Fatalf("killed node reported %+v", n)
	}
	if err := p.RestartNode(ctx, p.WorkerName(0)); err != nil {
		t.Fatal(err)
	}
	if n := nodeNamed(ctx, t, p, p.WorkerName(0)); !n.Running {
		t.Fatalf("restarted node reported %+v", n)
	}
	if err := p.KillNode(ctx, "no-such-node"); err == nil {
		t.Error("killing an unknown node succeeded")
	}

	if err := p.Down(ctx); err != nil {
		t.Fatal(err)
	}
	if st, err := p.Status(ctx); err != nil || st.Exists {
		t.Fatalf("after down: exists=%v err=%v", st.Exists, err)
	}
}

func requireNodes(ctx context.Context, t *testing.T, p *Provider, want map[string]string) {
	t.Helper()
	nodes, err := p.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != len(want) {
		t.Fatalf("nodes %+v, want %v", nodes, want)
	}
	for _, n := range nodes {
		zone, ok := want[n.Name]
		if !ok || n.Zone != zone || !n.Running || !n.Ready {
			t.Errorf("node %+v, want zone %q, running and ready", n, zone)
		}
	}
}

func nodeNamed(ctx context.Context, t *testing.T, p *Provider, name string) Node {
	t.Helper()
	nodes, err := p.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if n.Name == name {
			return n
		}
	}
	t.Fatalf("no node %s in %+v", name, nodes)
	return Node{}
}

// containerIDs identifies the current node containers.
func containerIDs(t *testing.T, p *Provider) string {
	t.Helper()
	out, err := exec.Command("docker", "inspect", "--format", "{{.Id}}", p.ControlPlaneName(), p.WorkerName(0), p.WorkerName(1)).Output()
	if err != nil {
		t.Fatalf("docker inspect: %v", err)
	}
	return strings.Join(strings.Fields(string(out)), ",")
}
