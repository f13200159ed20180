package checkers

import (
	"strings"
	"testing"

	"dpsim/claims"
	"dpsim/reports"
	"dpsim/topology"
)

func TestExposure(t *testing.T) {
	// node is an address behind a firewall: the open ports answer, every other port is dropped.
	node := func(addr string, open ...topology.OpenPort) topology.ScannedAddress {
		return topology.ScannedAddress{Address: addr, Open: open, Dropped: 65535 - len(open)}
	}
	// refusing has ports (e.g. "9200") refused instead of dropped: the firewall admits them.
	refusing := func(a topology.ScannedAddress, ports string) topology.ScannedAddress {
		spans, err := topology.PortSpans(ports)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range spans {
			a.Refused += s.Last - s.First + 1
		}
		a.Dropped -= a.Refused
		a.RefusedPorts = ports
		return a
	}
	// counts overrides what the scan says it told.
	counts := func(a topology.ScannedAddress, refused, dropped, errors int) topology.ScannedAddress {
		a.Refused, a.Dropped, a.Errors = refused, dropped, errors
		return a
	}
	port := func(p int, answer string) topology.OpenPort { return topology.OpenPort{Port: p, Answer: answer} }
	https := port(443, "https")
	redirect := topology.OpenPort{Port: 80, Answer: "redirect to https", Detail: "308 https://tenant-a.dpsim.test/"}
	claimed := claims.Default().ExposedPorts
	withSSH := append(append([]topology.ExposedPort(nil), claimed...), topology.ExposedPort{Port: 22, Answer: "tcp"})
	es := append(append([]topology.ExposedPort(nil), claimed...), topology.ExposedPort{Port: 9200, Answer: "https"})
	tests := []struct {
		name    string
		addrs   []topology.ScannedAddress
		allowed []topology.ExposedPort
		want    reports.Status
		says    string
	}{
		{"only the ingress", []topology.ScannedAddress{node("10.0.0.2", redirect, https), node("10.0.0.3", redirect, https)}, claimed,
			reports.Pass, "443 completed a TLS handshake at 2, 80 answered a plain-HTTP GET / with a 3xx to an https:// URL at 2"},
		{"every port accounted for", []topology.ScannedAddress{node("10.0.0.2", https)}, claimed,
			reports.Pass, "every port of 1-65535 accounted for"},
		{"claimed ports refused where no ingress runs", []topology.ScannedAddress{node("10.0.0.2", redirect, https), refusing(node("10.0.0.3"), "80,443")}, claimed,
			reports.Pass, "2 refused), every other port was dropped (131066)"},
		{"80 closed", []topology.ScannedAddress{node("10.0.0.2", https)}, claimed, reports.Pass, "80 took none"},
		{"the API server open", []topology.ScannedAddress{node("10.0.0.2", redirect, https, port(6443, "https"))}, claimed,
			reports.Fail, "10.0.0.2:6443 answered https (not a port the claims expose)"},
		{"Elasticsearch answering where the spec exposes it", []topology.ScannedAddress{node("10.0.0.2", redirect, https, port(9200, "http 200"))}, claimed,
			reports.Fail, "10.0.0.2:9200 answered http 200 (not a port the claims expose)"},
		{"the firewall admitting 9200, nothing listening", []topology.ScannedAddress{refusing(node("10.0.0.2", redirect, https), "9200")}, claimed,
			reports.Fail, "10.0.0.2: 9200 refused (the packets reached the node"},
		{"no firewall", []topology.ScannedAddress{refusing(node("10.0.0.2", redirect, https), "1-79,81-442,444-65535")}, claimed,
			reports.Fail, "10.0.0.2: 1-79,81-442,444-65535 refused"},
		{"the claims admit 9200", []topology.ScannedAddress{refusing(node("10.0.0.2", redirect, https), "9200")}, es,
			reports.Pass, "1 refused"},
		{"a claimed port answering otherwise", []topology.ScannedAddress{node("10.0.0.2", https, port(9200, "http 200"))}, es,
			reports.Fail, "10.0.0.2:9200 answered http 200 (the claims allow only https there)"},
		{"a port the claims expose", []topology.ScannedAddress{node("10.0.0.2", redirect, https, port(22, "tcp"))}, withSSH,
			reports.Pass, "22 took a connection at 1"},
		{"80 serves content", []topology.ScannedAddress{node("10.0.0.2", port(80, "http 200"), https)}, claimed,
			reports.Fail, "10.0.0.2:80 answered http 200 (the claims allow only redirect to https there)"},
		{"80 redirects to plain HTTP", []topology.ScannedAddress{node("10.0.0.2", topology.OpenPort{Port: 80, Answer: "http 301", Detail: "http://x/"}, https)}, claimed,
			reports.Fail, "10.0.0.2:80 answered http 301 http://x/"},
		{"443 without TLS", []topology.ScannedAddress{node("10.0.0.2", port(443, "tcp"))}, claimed,
			reports.Fail, "no node completed a TLS handshake on 443"},
		{"nothing answers", []topology.ScannedAddress{node("10.0.0.2")}, claimed, reports.Fail, "ingress is not reachable"},
		{"ports not told", []topology.ScannedAddress{counts(node("10.0.0.2", https), 0, 65531, 3)}, claimed,
			reports.Error, "3 ports not told"},
		{"a scan that told about 3 ports", []topology.ScannedAddress{counts(node("10.0.0.2", redirect, https), 0, 1, 0)}, claimed,
			reports.Error, "10.0.0.2: 3 of the 65535 ports of 1-65535 accounted for"},
		{"one address short", []topology.ScannedAddress{node("10.0.0.2", redirect, https), counts(node("10.0.0.3", redirect, https), 0, 65532, 0)}, claimed,
			reports.Error, "10.0.0.3: 65534 of the 65535"},
		{"more told than scanned", []topology.ScannedAddress{counts(node("10.0.0.2", https), 0, 65535, 0)}, claimed,
			reports.Error, "65536 of the 65535"},
		{"an open port told twice", []topology.ScannedAddress{counts(node("10.0.0.2", https, https), 0, 65534, 0)}, claimed,
			reports.Error, "1 open of 2 reported"},
		{"refused ports not named", []topology.ScannedAddress{counts(node("10.0.0.2", https), 1, 65533, 0)}, claimed,
			reports.Error, "1 ports refused, 0 of them named"},
		{"refused ports unreadable", []topology.ScannedAddress{func() topology.ScannedAddress {
			a := counts(node("10.0.0.2", https), 1, 65533, 0)
			a.RefusedPorts = "80-x"
			return a
		}()}, claimed, reports.Error, "refused ports unreadable"},
		{"an exposed port fails whatever is untold", []topology.ScannedAddress{counts(node("10.0.0.2", https, port(9200, "http 200")), 0, 0, 0)}, claimed,
			reports.Fail, "10.0.0.2:9200 answered http 200"},
		{"nothing scanned", nil, claimed, reports.Error, "no node address"},
		{"443 not told", []topology.ScannedAddress{{Address: "10.0.0.2", Open: []topology.OpenPort{}, Dropped: 65534, Errors: 1, Error: "port 443: no route to host"}}, claimed,
			reports.Error, "port 443: no route to host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Exposure(topology.Exposure{Ports: "1-65535", Addresses: tt.addrs}, tt.allowed)
			if v.Status != tt.want || !strings.Contains(v.Summary, tt.says) {
				t.Fatalf("got %s (%s), want %s mentioning %q", v.Status, v.Summary, tt.want, tt.says)
			}
		})
	}
}

func TestExposureNeedsTheScannedRange(t *testing.T) {
	v := Exposure(topology.Exposure{Ports: "all", Addresses: []topology.ScannedAddress{{Address: "10.0.0.2"}}}, claims.Default().ExposedPorts)
	if v.Status != reports.Error || !strings.Contains(v.Summary, `"all"`) {
		t.Fatalf("got %s (%s), want an error naming the range", v.Status, v.Summary)
	}
}
