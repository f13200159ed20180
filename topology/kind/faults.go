package kind

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"dpsim/topology"
	"dpsim/topology/platform"
)

// storeApps are the in-cluster data components: their label app and component name.
var storeApps = []struct{ app, component string }{{"kafka", "kafka"}, {"elasticsearch", "elasticsearch"}}

// Drives implements topology.DriveDropper: every Kafka broker's and Elasticsearch node's volume
// (named after its pod, on the pod's node) and every object store server's drive.
func (p *Platform) Drives(ctx context.Context) ([]topology.Drive, error) {
	var out []topology.Drive
	for _, t := range p.spec.Tenants {
		for _, a := range storeApps {
			pods, err := p.podNodes(ctx, platform.Namespace(t), a.app)
			if err != nil {
				return nil, err
			}
			for _, pod := range sortedKeys(pods) {
				out = append(out, topology.Drive{Node: pods[pod], Name: pod, Component: a.component, Tenant: t})
			}
		}
	}
	if p.objects != nil {
		for _, s := range p.objects.Servers {
			out = append(out, topology.Drive{Node: s.Name, Name: s.Name, Component: "objectstore"})
		}
	}
	return out, nil
}

// DropDrive implements topology.DriveDropper. A pod's volume is lost the way a dead disk is replaced
// in Kubernetes: its claim and the local volume under it are deleted with the pod, and the
// StatefulSet brings the pod back on a new, empty volume on the same node. An object store server's
// drive is wiped in place.
func (p *Platform) DropDrive(ctx context.Context, d topology.Drive) error {
	if d.Component == "objectstore" {
		i, err := p.objectServer(d.Name)
		if err != nil {
			return err
		}
		return p.objects.DropDrive(ctx, i)
	}
	ns := platform.Namespace(d.Tenant)
	if _, err := p.cluster.Kubectl(ctx, nil, "-n", ns, "delete", "pvc", "data-"+d.Name, "--wait=false"); err != nil {
		return fmt.Errorf("delete the volume claim of %s: %w", d.Name, err)
	}
	if _, err := p.cluster.Kubectl(ctx, nil, "-n", ns, "delete", "pod", d.Name, "--grace-period=0", "--force", "--wait=false"); err != nil && !isNotFound(err) {
		return fmt.Errorf("delete pod %s: %w", d.Name, err)
	}
	p.log.Info("drive dropped", "tenant", d.Tenant, "pod", d.Name, "node", d.Node)
	return nil
}

// RestoreDrive implements topology.DriveDropper: it waits until the pod runs again on its new,
// empty volume. An object store drive heals by itself.
func (p *Platform) RestoreDrive(ctx context.Context, d topology.Drive) error {
	if d.Component == "objectstore" {
		return nil
	}
	ns := platform.Namespace(d.Tenant)
	return waitFor(ctx, p.opts.ReadyTimeout, func() error {
		out, err := p.cluster.Kubectl(ctx, nil, "-n", ns, "get", "pod", d.Name, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
		if err != nil {
			return err
		}
		if strings.TrimSpace(string(out)) != "True" {
			return fmt.Errorf("pod %s/%s not ready%s", ns, d.Name, p.podSummary(ctx, ns))
		}
		return nil
	})
}

func (p *Platform) objectServer(name string) (int, error) {
	if p.objects != nil {
		for i, s := range p.objects.Servers {
			if s.Name == name {
				return i, nil
			}
		}
	}
	return 0, fmt.Errorf("no object store server %q", name)
}

// partitionChain is the iptables chain that cuts a node off; it drops everything on the node's
// link to the kind network, addresses unchanged.
const partitionChain = "DPSIM-PARTITION"

// Isolate implements topology.Partitioner: it cuts node off from every other node (and the control
// plane) with iptables DROP rules inside the node container.
func (p *Platform) Isolate(ctx context.Context, node string) error {
	script := fmt.Sprintf(`set -e
iptables -N %[1]s 2>/dev/null || iptables -F %[1]s
iptables -A %[1]s -i eth0 -j DROP
iptables -A %[1]s -o eth0 -j DROP
for c in INPUT OUTPUT FORWARD; do iptables -C $c -j %[1]s 2>/dev/null || iptables -I $c 1 -j %[1]s; done`, partitionChain)
	if _, err := p.cluster.run(ctx, nil, p.cluster.docker, "exec", node, "sh", "-c", script); err != nil {
		return fmt.Errorf("isolate node %s: %w", node, err)
	}
	p.mu.Lock()
	p.isolated = append(p.isolated, node)
	p.mu.Unlock()
	p.log.Info("node isolated", "node", node)
	return nil
}

// Heal implements topology.Partitioner: it removes the cut from every isolated node.
func (p *Platform) Heal(ctx context.Context) error {
	script := fmt.Sprintf(`for c in INPUT OUTPUT FORWARD; do while iptables -D $c -j %[1]s 2>/dev/null; do :; done; done
iptables -F %[1]s 2>/dev/null; iptables -X %[1]s 2>/dev/null; true`, partitionChain)
	p.mu.Lock()
	nodes := p.isolated
	p.isolated = nil
	p.mu.Unlock()
	for _, n := range nodes {
		if _, err := p.cluster.run(ctx, nil, p.cluster.docker, "exec", n, "sh", "-c", script); err != nil {
			return fmt.Errorf("heal node %s: %w", n, err)
		}
		p.log.Info("node healed", "node", n)
	}
	return nil
}

// Settle implements topology.Settler: it waits until every worker is Ready, every tenant's brokers
// and Elasticsearch nodes run, and every workload topic and index is fully replicated again.
func (p *Platform) Settle(ctx context.Context) error {
	start := time.Now()
	err := waitFor(ctx, p.opts.ReadyTimeout, func() error {
		nodes, err := p.Nodes(ctx)
		if err != nil {
			return err
		}
		for _, n := range nodes {
			if !n.Ready {
				return fmt.Errorf("node %s not ready", n.Name)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := waitFor(ctx, p.opts.ReadyTimeout, func() error { return p.networkConverged(ctx) }); err != nil {
		return fmt.Errorf("pod network: %w", err)
	}
	for _, t := range p.spec.Tenants {
		ns := platform.Namespace(t)
		for _, w := range []string{"statefulset/kafka", "statefulset/es"} {
			if err := p.rollout(ctx, ns, w); err != nil {
				return err
			}
		}
		if err := waitFor(ctx, p.opts.ReadyTimeout, func() error { return p.replicated(ctx, t) }); err != nil {
			return fmt.Errorf("tenant %s: %w", t, err)
		}
	}
	p.log.Info("platform settled", "elapsed", since(start))
	return nil
}

// replicated checks, through the tenant's agent, that every partition of every workload topic has
// its full in-sync replica set and every shard copy of every workload index is started.
func (p *Platform) replicated(ctx context.Context, tenant string) error {
	a, ok := p.agents[tenant]
	if !ok {
		return nil
	}
	for _, ds := range a.datasets() {
		var topic struct {
			Topic      string `json:"topic"`
			Partitions []struct {
				Partition int32   `json:"partition"`
				Replicas  []int32 `json:"replicas"`
				ISR       []int32 `json:"isr"`
			} `json:"partitions"`
		}
		if err := a.describe(ctx, "kafka", ds, &topic); err != nil {
			return err
		}
		for _, part := range topic.Partitions {
			if !slices.Equal(sorted(part.ISR), sorted(part.Replicas)) {
				return fmt.Errorf("topic %s partition %d: in-sync %v of replicas %v", topic.Topic, part.Partition, part.ISR, part.Replicas)
			}
		}
		var index struct {
			Index  string                                  `json:"index"`
			Shards []struct{ Shard, PriRep, State string } `json:"shards"`
		}
		if err := a.describe(ctx, "elasticsearch", ds, &index); err != nil {
			return err
		}
		for _, sh := range index.Shards {
			if sh.State != "STARTED" {
				return fmt.Errorf("index %s shard %s (%s) is %s", index.Index, sh.Shard, sh.PriRep, sh.State)
			}
		}
	}
	return nil
}

func sorted(v []int32) []int32 {
	c := slices.Clone(v)
	slices.Sort(c)
	return c
}

// networkConverged reports whether the pod network has recovered: the policy engine's daemonset
// has every pod ready and, with kube-router, every node routes to every node's pod subnet. Until a
// restarted node has learned those routes, its host-network traffic to pods elsewhere bypasses the
// NetworkPolicy (measured: about 19 s after a node restart), so the platform is not settled before.
func (p *Platform) networkConverged(ctx context.Context) error {
	step := p.cluster.engineRollout()
	if _, err := p.cluster.Kubectl(ctx, nil, append(step.args, "--timeout=1s")...); err != nil {
		return fmt.Errorf("%s not rolled out: %w", step.what, err)
	}
	if p.cluster.cfg.PolicyEngine == EngineCalico {
		return nil
	}
	nodes, err := p.cluster.Nodes(ctx)
	if err != nil {
		return err
	}
	prefix := strings.Join(strings.Split(podSubnet, ".")[:2], ".") + "." // "10.244."
	for _, n := range nodes {
		out, err := p.cluster.run(ctx, nil, p.cluster.docker, "exec", n.Name, "ip", "-4", "route", "show")
		if err != nil {
			return err
		}
		routes := 0
		for _, line := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(line, prefix) {
				routes++
			}
		}
		if routes < len(nodes) {
			return fmt.Errorf("node %s routes to %d of %d pod subnets", n.Name, routes, len(nodes))
		}
	}
	return nil
}
