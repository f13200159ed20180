package testservers

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// testRange holds the /24 subnets test networks take: far from Docker's defaults (172.17-31,
// 192.168) and from kind's network, so that a cluster running beside the tests keeps its addresses.
var testRange = netip.MustParsePrefix("10.213.0.0/16")

// network24 is a user-defined bridge network with a /24 subnet of this package's choosing, which
// Docker requires for fixed addresses.
type network24 struct {
	name   string
	subnet netip.Prefix
}

// addr is the i-th node's address: .10 upwards, clear of the gateway (.1).
func (n *network24) addr(i int) string {
	a := n.subnet.Addr().As4()
	a[3] = byte(10 + i)
	return netip.AddrFrom4(a).String()
}

// newNetwork creates network name on the first /24 of testRange that no Docker network and no
// interface of this host uses. Test processes running side by side may pick the same one: Docker
// refuses the second ("overlaps"), which then tries the next.
func newNetwork(ctx context.Context, name string) (*network24, error) {
	used, err := usedSubnets(ctx)
	if err != nil {
		return nil, err
	}
	args := []string{"network", "create", "--driver", "bridge"}
	for k, v := range owner() {
		args = append(args, "--label", k+"="+v)
	}
	var lastErr error
	for i := range 256 {
		a := testRange.Addr().As4()
		a[2] = byte(i)
		subnet := netip.PrefixFrom(netip.AddrFrom4(a), 24)
		if overlaps(subnet, used) {
			continue
		}
		_, err := docker(ctx, append(args, "--subnet", subnet.String(), name)...)
		if err == nil {
			return &network24{name: name, subnet: subnet}, nil
		}
		lastErr = err
		if !strings.Contains(err.Error(), "overlaps") {
			return nil, fmt.Errorf("create network %s: %w", name, err)
		}
	}
	return nil, fmt.Errorf("create network %s: no free /24 in %s: %v", name, testRange, lastErr)
}

func overlaps(p netip.Prefix, used []netip.Prefix) bool {
	for _, u := range used {
		if u.Overlaps(p) {
			return true
		}
	}
	return false
}

// usedSubnets lists the IPv4 subnets of Docker's networks and of this host's interfaces.
func usedSubnets(ctx context.Context) ([]netip.Prefix, error) {
	ids, err := docker(ctx, "network", "ls", "-q")
	if err != nil {
		return nil, err
	}
	var cidrs []string
	for _, id := range strings.Fields(ids) { // one by one: another process may remove one meanwhile
		if out, err := docker(ctx, "network", "inspect", "--format", "{{range .IPAM.Config}}{{.Subnet}} {{end}}", id); err == nil {
			cidrs = append(cidrs, strings.Fields(out)...)
		}
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			cidrs = append(cidrs, a.String())
		}
	}
	var used []netip.Prefix
	for _, c := range cidrs {
		if p, err := netip.ParsePrefix(c); err == nil && p.Addr().Is4() {
			used = append(used, p.Masked())
		}
	}
	return used, nil
}
