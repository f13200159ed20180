package kind

import (
	"fmt"
	"slices"
	"strconv"
)

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
// bridge: answers to connections it admitted go back; with security groups, new connections from
// outside reach only ports (TCP) and everything else from outside is dropped, as a security group
// drops; without them, everything from outside is admitted (docker's own isolation of its
// networks would otherwise drop it).
func vpcRules(outsideBridge, nodesBridge string, ports []int, securityGroups bool) [][]string {
	rule := func(args ...string) []string { return append([]string{"-A", vpcChain}, args...) }
	rules := [][]string{rule("-i", nodesBridge, "-o", outsideBridge, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT")}
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
