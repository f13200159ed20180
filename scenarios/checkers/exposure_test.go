package checkers

import (
	"strings"
	"testing"

	"dpsim/reports"
	"dpsim/topology"
)

func TestExposure(t *testing.T) {
	node := func(addr string, open ...topology.OpenPort) topology.ScannedAddress {
		return topology.ScannedAddress{Address: addr, Open: open, Refused: 65535 - len(open)}
	}
	https := topology.OpenPort{Port: 443, Answer: "https"}
	redirect := topology.OpenPort{Port: 80, Answer: "redirect to https", Detail: "308 https://tenant-a.dpsim.test/"}
	tests := []struct {
		name   string
		addrs  []topology.ScannedAddress
		expose []int
		want   reports.Status
		says   string
	}{
		{"only the ingress", []topology.ScannedAddress{node("10.0.0.2", redirect, https), node("10.0.0.3", redirect, https)}, nil, reports.Pass, "80 only redirects"},
		{"the API server open", []topology.ScannedAddress{node("10.0.0.2", redirect, https, topology.OpenPort{Port: 6443, Answer: "https"})}, nil,
			reports.Fail, "10.0.0.2:6443 answered https"},
		{"a port the spec exposes", []topology.ScannedAddress{node("10.0.0.2", redirect, https, topology.OpenPort{Port: 22, Answer: "tcp"})}, []int{22},
			reports.Pass, "ports refused"},
		{"80 serves content", []topology.ScannedAddress{node("10.0.0.2", topology.OpenPort{Port: 80, Answer: "http 200"}, https)}, nil,
			reports.Fail, "10.0.0.2:80 answered http 200"},
		{"443 without TLS", []topology.ScannedAddress{node("10.0.0.2", topology.OpenPort{Port: 443, Answer: "tcp"})}, nil,
			reports.Fail, "not reachable from outside"},
		{"nothing answers", []topology.ScannedAddress{node("10.0.0.2")}, nil, reports.Fail, "ingress is not reachable"},
		{"ports not told", []topology.ScannedAddress{{Address: "10.0.0.2", Open: []topology.OpenPort{https}, Errors: 3, Error: "port 7: too many open files"}}, nil,
			reports.Error, "too many open files"},
		{"nothing scanned", nil, nil, reports.Error, "no node address"},
		{"443 not told", []topology.ScannedAddress{{Address: "10.0.0.2", Open: []topology.OpenPort{}, Errors: 1, Error: "port 443: no route to host"}}, nil,
			reports.Error, "port 443: no route to host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Exposure(topology.Exposure{Ports: "1-65535", Addresses: tt.addrs}, tt.expose)
			if v.Status != tt.want || !strings.Contains(v.Summary, tt.says) {
				t.Fatalf("got %s (%s), want %s mentioning %q", v.Status, v.Summary, tt.want, tt.says)
			}
		})
	}
}
