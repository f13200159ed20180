package kind

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"dpsim/stores/s3/keys"
	"dpsim/topology"
	"dpsim/topology/platform"
)

// Drives implements topology.DriveDropper: every component member's volume (named after its pod, on
// the pod's node) and every object store server's drive.
func (p *Platform) Drives(ctx context.Context) ([]topology.Drive, error) {
	var out []topology.Drive
	for _, t := range p.spec.Tenants {
		for _, c := range platform.Components() {
			pods, err := p.componentPods(ctx, platform.Namespace(t), c)
			if err != nil {
				return nil, err
			}
			for _, pod := range pods {
				out = append(out, topology.Drive{Node: pod.node, Name: pod.name, Component: c.Name, Tenant: t, MetadataOnly: pod.metadataOnly})
			}
		}
	}
	if p.objects != nil {
		for _, s := range p.objects.Servers {
			out = append(out, topology.Drive{Node: s.Name, Name: s.Name, Component: objectStoreName})
		}
	}
	return out, nil
}

// DropDrive implements topology.DriveDropper. A pod's volume is lost the way a dead disk is replaced
// in Kubernetes: its claim and the local volume under it are deleted with the pod, and the
// StatefulSet brings the pod back on a new, empty volume on the same node. An object store server's
// drive is wiped in place. The evidence names the volume destroyed.
func (p *Platform) DropDrive(ctx context.Context, d topology.Drive) (string, error) {
	if d.Component == objectStoreName {
		i, err := p.objectServer(d.Name)
		if err != nil {
			return "", err
		}
		if err := p.objects.DropDrive(ctx, i); err != nil {
			return "", err
		}
		return fmt.Sprintf("drive of object store server %s wiped", d.Name), nil
	}
	ns := platform.Namespace(d.Tenant)
	volume, err := p.claimVolume(ctx, ns, "data-"+d.Name)
	if err != nil {
		return "", err
	}
	if _, err := p.cluster.Kubectl(ctx, nil, "-n", ns, "delete", "pvc", "data-"+d.Name, "--wait=false"); err != nil {
		return "", fmt.Errorf("delete the volume claim of %s: %w", d.Name, err)
	}
	if _, err := p.cluster.Kubectl(ctx, nil, "-n", ns, "delete", "pod", d.Name, "--grace-period=0", "--force", "--wait=false"); err != nil && !isNotFound(err) {
		return "", fmt.Errorf("delete pod %s: %w", d.Name, err)
	}
	p.mu.Lock()
	p.droppedVolumes[d.Tenant+"/"+d.Name] = volume
	p.mu.Unlock()
	p.log.Info("drive dropped", "tenant", d.Tenant, "pod", d.Name, "node", d.Node, "volume", volume)
	return fmt.Sprintf("claim data-%s deleted with its volume %s", d.Name, volume), nil
}

// claimVolume names the volume bound to a claim, with the claim's uid ("pvc-... (uid ...)").
func (p *Platform) claimVolume(ctx context.Context, ns, claim string) (string, error) {
	out, err := p.cluster.Kubectl(ctx, nil, "-n", ns, "get", "pvc", claim, "-o", `jsonpath={.spec.volumeName} {.metadata.uid}`)
	if err != nil {
		return "", fmt.Errorf("volume of claim %s/%s: %w", ns, claim, err)
	}
	name, uid, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	if name == "" || uid == "" {
		return "", fmt.Errorf("claim %s/%s is not bound to a volume", ns, claim)
	}
	return fmt.Sprintf("%s (claim uid %s)", name, uid), nil
}

// RestoreDrive implements topology.DriveDropper: it waits until the pod runs again and returns, as
// evidence, its new volume next to the one destroyed; the same volume is no evidence. An object
// store drive heals by itself (Settle waits for it); the evidence is that its server answers.
func (p *Platform) RestoreDrive(ctx context.Context, d topology.Drive) (string, error) {
	if d.Component == objectStoreName {
		if ok, err := p.objects.Healthy(ctx); err != nil || !ok {
			return "", fmt.Errorf("object store after wiping %s: write quorum %v: %v", d.Name, ok, err)
		}
		return fmt.Sprintf("object store server %s serves again with an empty drive", d.Name), nil
	}
	ns := platform.Namespace(d.Tenant)
	err := p.waitFor(ctx, p.opts.ReadyTimeout, func() error {
		out, err := p.cluster.Kubectl(ctx, nil, "-n", ns, "get", "pod", d.Name, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
		if err != nil {
			return err
		}
		if strings.TrimSpace(string(out)) != "True" {
			return fmt.Errorf("pod %s/%s not ready%s", ns, d.Name, p.podSummary(ctx, ns))
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	volume, err := p.claimVolume(ctx, ns, "data-"+d.Name)
	if err != nil {
		return "", err
	}
	p.mu.Lock()
	old := p.droppedVolumes[d.Tenant+"/"+d.Name]
	delete(p.droppedVolumes, d.Tenant+"/"+d.Name)
	p.mu.Unlock()
	if volume == old {
		return "", nil // the pod came back on the volume that was to be destroyed: no evidence
	}
	return fmt.Sprintf("%s back on a new volume %s (was %s)", d.Name, volume, old), nil
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

// Heal implements topology.Partitioner: it removes the cut from every isolated node, trying each,
// and returns as evidence how many packets each cut dropped (read from its rules' counters just
// before removing them).
func (p *Platform) Heal(ctx context.Context) (string, error) {
	script := fmt.Sprintf(`iptables -L %[1]s -v -n -x 2>/dev/null | awk 'NR>2 {n+=$1} END {print n+0}'
for c in INPUT OUTPUT FORWARD; do while iptables -D $c -j %[1]s 2>/dev/null; do :; done; done
iptables -F %[1]s 2>/dev/null; iptables -X %[1]s 2>/dev/null; true`, partitionChain)
	p.mu.Lock()
	nodes := p.isolated
	p.isolated = nil
	p.mu.Unlock()
	var errs []error
	var dropped []string
	for _, n := range nodes {
		out, err := p.cluster.run(ctx, nil, p.cluster.docker, "exec", n, "sh", "-c", script)
		if err != nil {
			errs = append(errs, fmt.Errorf("heal node %s: %w", n, err))
			continue
		}
		if packets := strings.TrimSpace(string(out)); packets != "" && packets != "0" {
			dropped = append(dropped, fmt.Sprintf("the cut of %s dropped %s packets", n, packets))
		}
		p.log.Info("node healed", "node", n)
	}
	return strings.Join(dropped, "; "), errors.Join(errs...)
}

// Settle implements topology.Settler: it waits until every worker is Ready, every tenant's brokers
// and Elasticsearch nodes run, and every workload topic and index is fully replicated again.
func (p *Platform) Settle(ctx context.Context) error {
	start := time.Now()
	err := p.waitFor(ctx, p.opts.ReadyTimeout, func() error {
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
	if err := p.waitFor(ctx, p.opts.ReadyTimeout, func() error { return p.networkConverged(ctx) }); err != nil {
		return fmt.Errorf("pod network: %w", err)
	}
	for _, t := range p.spec.Tenants {
		ns := platform.Namespace(t)
		for _, w := range workloads() {
			if err := p.rollout(ctx, ns, w); err != nil {
				return err
			}
		}
		if err := p.waitFor(ctx, p.opts.ReadyTimeout, func() error { return p.replicated(ctx, t) }); err != nil {
			return fmt.Errorf("tenant %s: %w", t, err)
		}
		if err := p.waitFor(ctx, p.opts.ReadyTimeout, func() error { return p.objectsHealed(ctx, t) }); err != nil {
			return fmt.Errorf("tenant %s: object store: %w", t, err)
		}
	}
	p.log.Info("platform settled", "elapsed", since(start))
	return nil
}

// replicated checks, through the tenant's agent, that every part of every dataset in use has all
// its copies again (each store says what that means for it: a full in-sync replica set, every shard
// copy started, write quorum).
func (p *Platform) replicated(ctx context.Context, tenant string) error {
	a, ok := p.agents[tenant]
	if !ok {
		return nil
	}
	infos, err := a.client.StoreInfos(ctx)
	if err != nil {
		return err
	}
	for _, ds := range a.datasets() {
		for _, st := range infos.Stores {
			r, err := a.client.Replicated(ctx, st.Name, ds)
			if err != nil {
				return err
			}
			if !r.Replicated && !r.Missing { // no wait brings back a dataset that is gone: the read judges it
				return fmt.Errorf("%s: %s", st.Name, r.Detail)
			}
		}
	}
	return nil
}

// objectsHealed checks, on the object store's drives, that every object of the tenant's datasets
// has its part on every drive again (MinIO heals a wiped drive in the background).
func (p *Platform) objectsHealed(ctx context.Context, tenant string) error {
	a, ok := p.agents[tenant]
	if !ok || p.objects == nil {
		return nil
	}
	for _, ds := range a.datasets() {
		healed, what, err := p.objects.Healed(ctx, tenant, keys.Prefix(ds))
		if err != nil {
			return err
		}
		if !healed {
			return fmt.Errorf("dataset %s not healed: %s", ds, what)
		}
	}
	return nil
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
