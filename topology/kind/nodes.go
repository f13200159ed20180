package kind

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"

	kindlog "sigs.k8s.io/kind/pkg/log"
)

// Nodes lists the cluster's nodes: control plane first, then workers in
// kind's order, with whether their containers run and whether Kubernetes
// reports them Ready. It works while the API server is down (Ready is then
// false everywhere).
func (p *Provider) Nodes(ctx context.Context) ([]Node, error) {
	all, err := p.kind.ListNodes(p.cfg.ClusterName)
	if err != nil {
		return nil, fmt.Errorf("list nodes of cluster %s: %w", p.cfg.ClusterName, err)
	}
	k8s := p.kubeNodes(ctx)
	var out []Node
	for _, n := range all {
		name := n.String()
		role, err := n.Role()
		if err != nil {
			return nil, fmt.Errorf("role of node %s: %w", name, err)
		}
		st, err := p.containerState(ctx, name)
		if err != nil {
			return nil, err
		}
		node := Node{Name: name, Role: role, Running: st.running, Zone: p.expectedZone(name)}
		if kn, ok := k8s[name]; ok {
			node.Ready = kn.ready && st.running
			if kn.zone != "" {
				node.Zone = kn.zone
			}
		}
		out = append(out, node)
	}
	slices.SortFunc(out, func(a, b Node) int {
		if (a.Role == "control-plane") != (b.Role == "control-plane") {
			if a.Role == "control-plane" {
				return -1
			}
			return 1
		}
		return p.nodeOrder(a.Name) - p.nodeOrder(b.Name)
	})
	return out, nil
}

// nodeOrder is a worker's 0-based index from its kind name.
func (p *Provider) nodeOrder(name string) int {
	for i := range p.cfg.Workers {
		if p.WorkerName(i) == name {
			return i
		}
	}
	return p.cfg.Workers
}

// expectedZone is the zone the configuration gives a node ("" for the
// control plane).
func (p *Provider) expectedZone(name string) string {
	if i := p.nodeOrder(name); i < p.cfg.Workers {
		return p.zoneOf(i)
	}
	return ""
}

type kubeNode struct {
	ready bool
	zone  string
}

// kubeNodes asks the API server about the nodes; nil when it does not answer.
func (p *Provider) kubeNodes(ctx context.Context) map[string]kubeNode {
	out, err := p.Kubectl(ctx, nil, "get", "nodes", "-o", "json", "--request-timeout=10s")
	if err != nil {
		p.log.Debug("api server not answering", "err", err)
		return nil
	}
	return parseKubeNodes(out)
}

func parseKubeNodes(data []byte) map[string]kubeNode {
	var list struct {
		Items []struct {
			Metadata struct {
				Name   string            `json:"name"`
				Labels map[string]string `json:"labels"`
			} `json:"metadata"`
			Status struct {
				Conditions []struct {
					Type   string `json:"type"`
					Status string `json:"status"`
				} `json:"conditions"`
			} `json:"status"`
		} `json:"items"`
	}
	if err := json.Unmarshal(data, &list); err != nil {
		return nil
	}
	m := map[string]kubeNode{}
	for _, it := range list.Items {
		kn := kubeNode{zone: it.Metadata.Labels[ZoneLabel]}
		for _, c := range it.Status.Conditions {
			if c.Type == "Ready" {
				kn.ready = c.Status == "True"
			}
		}
		m[it.Metadata.Name] = kn
	}
	return m
}

// node checks that name is a node of this cluster.
func (p *Provider) node(name string) error {
	all, err := p.kind.ListNodes(p.cfg.ClusterName)
	if err != nil {
		return fmt.Errorf("list nodes of cluster %s: %w", p.cfg.ClusterName, err)
	}
	for _, n := range all {
		if n.String() == name {
			return nil
		}
	}
	return fmt.Errorf("no node %q in cluster %s", name, p.cfg.ClusterName)
}

// KillNode kills a node's container (SIGKILL: no clean shutdown), as a
// machine losing power would; like a machine's, its address is kept for its restart.
func (p *Provider) KillNode(ctx context.Context, name string) error {
	if err := p.node(name); err != nil {
		return err
	}
	addr, err := p.nodeAddress(ctx, name)
	if err != nil {
		return err
	}
	if _, err := p.run(ctx, nil, p.docker, "kill", name); err != nil {
		return fmt.Errorf("kill node %s: %w", name, err)
	}
	if err := p.pinAddress(ctx, name, addr); err != nil {
		return err
	}
	p.log.Info("node killed", "node", name)
	return nil
}

// RestartNode starts a stopped or killed node's container again, or
// restarts a running one. The node rejoins with its data (its /var volume
// survives); Ready follows after the kubelet reports in (about 100 s after a
// kill, see DESIGN.md).
func (p *Provider) RestartNode(ctx context.Context, name string) error {
	if err := p.node(name); err != nil {
		return err
	}
	st, err := p.containerState(ctx, name)
	if err != nil {
		return err
	}
	verb := "start"
	if st.running {
		verb = "restart"
	}
	_, err = p.run(ctx, nil, p.docker, verb, name)
	if !st.running && addressTaken(err) {
		if err := p.unpinAddress(ctx, name); err != nil {
			return err
		}
		_, err = p.run(ctx, nil, p.docker, verb, name)
	}
	if err != nil {
		return fmt.Errorf("%s node %s: %w", verb, name, err)
	}
	p.log.Info("node restarted", "node", name, "was_running", st.running)
	return nil
}

// kindLogger adapts a *slog.Logger to kind's logger interface.
type kindLogger struct{ l *slog.Logger }

var _ kindlog.Logger = kindLogger{}

func (k kindLogger) Warn(m string)                            { k.l.Warn(strings.TrimSpace(m), "from", "kind") }
func (k kindLogger) Warnf(f string, a ...any)                 { k.Warn(fmt.Sprintf(f, a...)) }
func (k kindLogger) Error(m string)                           { k.l.Error(strings.TrimSpace(m), "from", "kind") }
func (k kindLogger) Errorf(f string, a ...any)                { k.Error(fmt.Sprintf(f, a...)) }
func (k kindLogger) V(level kindlog.Level) kindlog.InfoLogger { return kindInfo{k.l, level} }

type kindInfo struct {
	l     *slog.Logger
	level kindlog.Level
}

func (k kindInfo) Info(m string) {
	m = strings.TrimSpace(m)
	if m == "" {
		return
	}
	if k.level > 0 {
		k.l.Debug(m, "from", "kind")
		return
	}
	k.l.Info(m, "from", "kind")
}
func (k kindInfo) Infof(f string, a ...any) { k.Info(fmt.Sprintf(f, a...)) }
func (k kindInfo) Enabled() bool            { return true }

// NodeIP is node's address on the cluster's docker network.
func (p *Provider) NodeIP(ctx context.Context, node string) (string, error) {
	out, err := p.run(ctx, nil, p.docker, "inspect", "--format", `{{(index .NetworkSettings.Networks "`+NetworkName+`").IPAddress}}`, node)
	if err != nil {
		return "", fmt.Errorf("address of node %s: %w", node, err)
	}
	ip := strings.TrimSpace(string(out))
	if net.ParseIP(ip) == nil {
		return "", fmt.Errorf("address of node %s: %q is no IP address", node, ip)
	}
	return ip, nil
}
