package kind

import (
	"context"
	"fmt"
	"net"
	"strings"
)

// A machine that reboots keeps its address; a kind node's container that is started again gets
// whatever address Docker's allocator hands out next (seen: 172.19.0.12, then 172.19.0.2), and
// kube-router then routes to the old one until its peers' configuration is synced again (seen:
// 4 min with no route to the node's pods). So dpsim's network has a subnet of its own choosing
// (Docker assigns a fixed address only on such a network) and a killed node is reconnected with
// the address it had before it is started again.

// subnetCandidates are the /16 networks dpsim may give its network, in Docker's own default order.
var subnetCandidates = func() []string {
	var s []string
	for i := 18; i <= 31; i++ {
		s = append(s, fmt.Sprintf("172.%d.0.0/16", i))
	}
	return s
}()

// freeSubnet is the first candidate that overlaps no subnet in use (Docker's networks and this
// host's interfaces).
func freeSubnet(used []*net.IPNet) (string, error) {
	for _, c := range subnetCandidates {
		_, cand, _ := net.ParseCIDR(c)
		if !overlapsAny(cand, used) {
			return c, nil
		}
	}
	return "", fmt.Errorf("no free subnet among %s ... %s", subnetCandidates[0], subnetCandidates[len(subnetCandidates)-1])
}

func overlapsAny(n *net.IPNet, used []*net.IPNet) bool {
	for _, u := range used {
		if u.Contains(n.IP) || n.Contains(u.IP) {
			return true
		}
	}
	return false
}

// usedSubnets lists the subnets of Docker's networks and of this host's interfaces.
func (p *Provider) usedSubnets(ctx context.Context) ([]*net.IPNet, error) {
	ids, err := p.run(ctx, nil, p.docker, "network", "ls", "-q")
	if err != nil {
		return nil, fmt.Errorf("list docker networks: %w", err)
	}
	var cidrs []string
	if f := strings.Fields(string(ids)); len(f) > 0 {
		out, err := p.run(ctx, nil, p.docker, append([]string{"network", "inspect", "--format",
			"{{range .IPAM.Config}}{{.Subnet}} {{end}}"}, f...)...)
		if err != nil {
			return nil, fmt.Errorf("inspect docker networks: %w", err)
		}
		cidrs = strings.Fields(string(out))
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			cidrs = append(cidrs, a.String())
		}
	}
	var used []*net.IPNet
	for _, c := range cidrs {
		if _, n, err := net.ParseCIDR(c); err == nil && n.IP.To4() != nil {
			used = append(used, n)
		}
	}
	return used, nil
}

// nodeAddress is the node container's address on dpsim's network.
func (p *Provider) nodeAddress(ctx context.Context, name string) (string, error) {
	out, err := p.run(ctx, nil, p.docker, "inspect", "--format",
		`{{with index .NetworkSettings.Networks "`+NetworkName+`"}}{{.IPAddress}}{{end}}`, name)
	if err != nil {
		return "", fmt.Errorf("address of node %s: %w", name, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// pinAddress reconnects a stopped node container to dpsim's network with the address it had, so
// that it starts again with it. On a network without a subnet of dpsim's choosing (made by an
// older dpsim) Docker refuses a fixed address: the node is reconnected without one and the
// restart may move it, as before.
func (p *Provider) pinAddress(ctx context.Context, name, addr string) error {
	if addr == "" {
		return nil
	}
	if err := p.reconnect(ctx, name, addr); err != nil {
		p.log.Warn("node address not kept: its restart may move it (a network an older dpsim made has no subnet of its choosing: dpsim down, then up)",
			"node", name, "address", addr, "err", err)
		return p.reconnect(ctx, name, "")
	}
	return nil
}

// unpinAddress reconnects a stopped node container without a fixed address: Docker does not hold
// a stopped container's address, and another container may have taken it meanwhile.
func (p *Provider) unpinAddress(ctx context.Context, name string) error {
	p.log.Warn("node address taken while it was down: it starts again with another one", "node", name)
	return p.reconnect(ctx, name, "")
}

// reconnect disconnects a node container from dpsim's network and connects it again, with addr
// when it is not empty.
func (p *Provider) reconnect(ctx context.Context, name, addr string) error {
	if _, err := p.run(ctx, nil, p.docker, "network", "disconnect", "--force", NetworkName, name); err != nil {
		return fmt.Errorf("disconnect node %s: %w", name, err)
	}
	args := []string{"network", "connect", NetworkName, name}
	if addr != "" {
		args = []string{"network", "connect", "--ip", addr, NetworkName, name}
	}
	if _, err := p.run(ctx, nil, p.docker, args...); err != nil {
		return fmt.Errorf("connect node %s to %s: %w", name, NetworkName, err)
	}
	return nil
}

// addressTaken tells a start Docker refused because the container's fixed address is in use.
func addressTaken(err error) bool {
	return err != nil && strings.Contains(strings.ToLower(err.Error()), "address already in use")
}
