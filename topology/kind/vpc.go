package kind

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"dpsim/images"
	"dpsim/topology"
	"dpsim/topology/platform"
)

var _ topology.ExposureScanner = (*Platform)(nil)

// The VPC: on a cloud the nodes are reachable from outside only through the load balancer's
// ports, as the security groups allow. Here a docker network of its own holds a client outside
// the platform's network, and a chain of the host's firewall, jumped to from DOCKER-USER, admits
// from it to the nodes only the ingress's ports and network.expose's.
const (
	// OutsideNetwork is the docker network of the client outside the VPC.
	OutsideNetwork = "dpsim-outside"
	// vpcChain holds the security group rules in the host's filter table.
	vpcChain = "DPSIM-VPC"
)

// ingressPorts are what the load balancer forwards: HTTP (redirected) and HTTPS.
var ingressPorts = []int{80, 443}

// vpcRules are the iptables rules of vpcChain between the outside network's bridge and the nodes'
// bridge: the packets of connections it admitted pass both ways; with security groups, new connections from
// outside reach only ports (TCP) and everything else from outside is dropped, as a security group
// drops; without them, everything from outside is admitted (docker's own isolation of its
// networks would otherwise drop it).
func vpcRules(outsideBridge, nodesBridge string, ports []int, securityGroups bool) [][]string {
	rule := func(args ...string) []string { return append([]string{"-A", vpcChain}, args...) }
	rules := [][]string{
		rule("-i", nodesBridge, "-o", outsideBridge, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"),
		rule("-i", outsideBridge, "-o", nodesBridge, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"),
	}
	if !securityGroups {
		rules = append(rules, rule("-i", outsideBridge, "-o", nodesBridge, "-j", "ACCEPT"))
	} else {
		for _, p := range ports {
			rules = append(rules, rule("-i", outsideBridge, "-o", nodesBridge, "-p", "tcp", "--dport", strconv.Itoa(p),
				"-m", "conntrack", "--ctstate", "NEW", "-j", "ACCEPT"))
		}
		rules = append(rules, rule("-i", outsideBridge, "-o", nodesBridge, "-j", "DROP"))
	}
	return append(rules, rule("-j", "RETURN"))
}

// admitted is what the security groups let in from outside: the ingress's ports and expose, once
// each, in order.
func admitted(expose []int) []int {
	out := append([]int(nil), ingressPorts...)
	for _, p := range expose {
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// bridgeName is the host interface of a docker bridge network with id.
func bridgeName(id string) (string, error) {
	if len(id) < 12 {
		return "", fmt.Errorf("docker network id %q too short", id)
	}
	return "br-" + id[:12], nil
}

// outsideBridge is the host interface of OutsideNetwork.
const outsideBridge = "dpsim-outside"

// scanConcurrency is how many connection attempts the outside client makes at once: a port the
// security groups drop takes its whole dial timeout, so every port of four nodes within 30 s
// needs thousands in flight.
const scanConcurrency = 16384

// applyVPC makes the outside network and puts the security groups (or, with securityGroups none,
// an open door) between it and the nodes' network.
func (p *Platform) applyVPC(ctx context.Context) error {
	docker := p.cluster.docker
	if _, err := p.cluster.run(ctx, nil, docker, "network", "inspect", OutsideNetwork); err != nil {
		if _, err := p.cluster.run(ctx, nil, docker, "network", "create", "--label", NetworkLabel+"=dpsim",
			"-o", "com.docker.network.bridge.name="+outsideBridge, OutsideNetwork); err != nil {
			return fmt.Errorf("create the network outside the VPC: %w", err)
		}
	}
	id, err := p.cluster.run(ctx, nil, docker, "network", "inspect", "--format", "{{.Id}}", NetworkName)
	if err != nil {
		return fmt.Errorf("inspect network %s: %w", NetworkName, err)
	}
	nodesBridge, err := bridgeName(strings.TrimSpace(string(id)))
	if err != nil {
		return err
	}
	_, _ = p.cluster.run(ctx, nil, "iptables", "-N", vpcChain) // exists already on a reused cluster
	cmds := [][]string{{"-F", vpcChain}}
	cmds = append(cmds, vpcRules(outsideBridge, nodesBridge, admitted(p.spec.Network.Expose), p.spec.Network.SecurityGroups != "none")...)
	for _, args := range cmds {
		if _, err := p.cluster.run(ctx, nil, "iptables", args...); err != nil {
			return fmt.Errorf("security groups: iptables %s: %w", strings.Join(args, " "), err)
		}
	}
	if _, err := p.cluster.run(ctx, nil, "iptables", "-C", "DOCKER-USER", "-j", vpcChain); err != nil {
		if _, err := p.cluster.run(ctx, nil, "iptables", "-I", "DOCKER-USER", "1", "-j", vpcChain); err != nil {
			return fmt.Errorf("security groups: jump from DOCKER-USER: %w", err)
		}
	}
	p.log.Info("VPC in place", "securityGroups", p.spec.Network.SecurityGroups, "admitted", admittedPorts(p.spec.Network))
	return nil
}

// removeVPC removes the security groups and the outside network; what is not there is fine.
func (p *Platform) removeVPC(ctx context.Context) error {
	docker := p.cluster.docker
	_, _ = p.cluster.run(ctx, nil, docker, "rm", "-f", p.scannerName()) // an interrupted scan's
	for _, args := range [][]string{{"-D", "DOCKER-USER", "-j", vpcChain}, {"-F", vpcChain}, {"-X", vpcChain}} {
		_, _ = p.cluster.run(ctx, nil, "iptables", args...)
	}
	out, err := p.cluster.run(ctx, nil, docker, "network", "inspect", "--format", `{{index .Labels "`+NetworkLabel+`"}}`, OutsideNetwork)
	if err != nil || strings.TrimSpace(string(out)) != "dpsim" {
		return nil
	}
	if _, err := p.cluster.run(ctx, nil, docker, "network", "rm", OutsideNetwork); err != nil {
		return fmt.Errorf("remove network %s: %w", OutsideNetwork, err)
	}
	return nil
}

// ScanFromOutside implements topology.ExposureScanner: a container on the outside network runs
// `dpsim scan` against every node's address.
func (p *Platform) ScanFromOutside(ctx context.Context) (topology.Exposure, error) {
	if !p.withEdge {
		return topology.Exposure{}, errors.New("the edge was not deployed: the run's scenarios did not need it")
	}
	nodes, err := p.cluster.Nodes(ctx)
	if err != nil {
		return topology.Exposure{}, err
	}
	byIP := map[string]string{}
	args := []string{"run", "--rm", "--network", OutsideNetwork, "--name", p.scannerName(),
		images.MustTag(platform.AgentImage), "scan", "--concurrency", strconv.Itoa(scanConcurrency)}
	for _, n := range nodes {
		ip, err := p.cluster.NodeIP(ctx, n.Name)
		if err != nil {
			return topology.Exposure{}, err
		}
		byIP[ip] = n.Name
		args = append(args, ip)
	}
	_, _ = p.cluster.run(ctx, nil, p.cluster.docker, "rm", "-f", p.scannerName()) // an interrupted run's
	out, err := p.cluster.run(ctx, nil, p.cluster.docker, args...)
	if err != nil {
		return topology.Exposure{}, fmt.Errorf("scan from outside: %w", err)
	}
	var e topology.Exposure
	if err := json.Unmarshal(out, &e); err != nil {
		return topology.Exposure{}, fmt.Errorf("scan from outside: %w: %.200q", err, out)
	}
	for i := range e.Addresses {
		e.Addresses[i].Node = byIP[e.Addresses[i].Address]
	}
	e.From = fmt.Sprintf("a container on docker network %s, outside the VPC (security groups: %s; admitted from outside: %v)",
		OutsideNetwork, p.spec.Network.SecurityGroups, admittedPorts(p.spec.Network))
	return e, nil
}

// admittedPorts is what the security groups let in: every port without them.
func admittedPorts(n topology.Network) string {
	if n.SecurityGroups == "none" {
		return "every port"
	}
	return fmt.Sprint(admitted(n.Expose))
}

// scannerName is the container of the scan from outside.
func (p *Platform) scannerName() string { return p.specOrDefault().Name + "-outside-scan" }
