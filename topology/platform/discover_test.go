package platform

import (
	"os"
	"slices"
	"testing"

	"dpsim/topology"
)

func TestTargets(t *testing.T) {
	data, err := os.ReadFile("testdata/tenant-a.json") // kubectl get pods,services,endpointslices -o json
	if err != nil {
		t.Fatal(err)
	}
	got, err := Targets("tenant-a", data)
	if err != nil {
		t.Fatal(err)
	}
	const dns = ".tenant-a.svc.cluster.local"
	tcp := func(component, pod, node string, port int, kind, addr string) topology.Target {
		return topology.Target{Tenant: "tenant-a", Component: component, Pod: pod, Node: node, Port: port, Protocol: "tcp", AddressKind: kind, Address: addr}
	}
	want := []topology.Target{
		tcp("agent", "dpsim-agent-7c9f", "dpsim-control-plane", 8080, topology.AddressPodIP, "10.244.0.5"),
		tcp("elasticsearch", "", "", 9200, topology.AddressDNS, "elasticsearch"+dns),
		tcp("elasticsearch", "", "", 9300, topology.AddressDNS, "elasticsearch"+dns),
		tcp("elasticsearch", "es-0", "dpsim-worker", 9200, topology.AddressDNS, "es-0.elasticsearch"+dns),
		tcp("elasticsearch", "es-0", "dpsim-worker", 9200, topology.AddressPodIP, "10.244.1.20"),
		tcp("elasticsearch", "es-0", "dpsim-worker", 9300, topology.AddressDNS, "es-0.elasticsearch"+dns),
		tcp("elasticsearch", "es-0", "dpsim-worker", 9300, topology.AddressPodIP, "10.244.1.20"),
		// es-1 is not ready: its endpoint has no DNS name, but its pod IP is probed.
		tcp("elasticsearch", "es-1", "dpsim-worker2", 9200, topology.AddressPodIP, "10.244.2.20"),
		tcp("elasticsearch", "es-1", "dpsim-worker2", 9300, topology.AddressPodIP, "10.244.2.20"),
		tcp("kafka", "", "", 9092, topology.AddressDNS, "kafka"+dns),
		tcp("kafka", "", "", 9093, topology.AddressDNS, "kafka"+dns),
	}
	for i, node := range []string{"dpsim-worker", "dpsim-worker2", "dpsim-worker3"} {
		pod := "kafka-" + string(rune('0'+i))
		ip := "10.244." + string(rune('1'+i)) + ".10"
		want = append(want,
			tcp("kafka", pod, node, 9092, topology.AddressDNS, pod+".kafka"+dns),
			tcp("kafka", pod, node, 9092, topology.AddressPodIP, ip),
			tcp("kafka", pod, node, 9093, topology.AddressDNS, pod+".kafka"+dns),
			tcp("kafka", pod, node, 9093, topology.AddressPodIP, ip))
	}
	// A ClusterIP Service by IP and name, UDP kept, SCTP dropped; pending and finished pods skipped.
	udp := func(pod, node, kind, addr string) topology.Target {
		return topology.Target{Tenant: "tenant-a", Component: "syslog", Pod: pod, Node: node, Port: 514, Protocol: "udp", AddressKind: kind, Address: addr}
	}
	want = append(want,
		udp("", "", topology.AddressDNS, "logs"+dns),
		udp("", "", topology.AddressServiceIP, "10.96.40.7"),
		udp("syslog", "dpsim-worker3", topology.AddressPodIP, "10.244.3.30"))
	if !slices.Equal(got, want) {
		t.Errorf("got %d targets, want %d", len(got), len(want))
		for _, g := range got {
			if !slices.Contains(want, g) {
				t.Errorf("unexpected %+v", g)
			}
		}
		for _, w := range want {
			if !slices.Contains(got, w) {
				t.Errorf("missing %+v", w)
			}
		}
		if len(got) == len(want) {
			t.Errorf("order differs:\n got %+v\nwant %+v", got, want)
		}
	}
}

func TestTargetsErrors(t *testing.T) {
	for name, in := range map[string]string{
		"not JSON":       `kafka-0   1/1   Running`,
		"malformed spec": `{"items": [{"kind": "Service", "metadata": {"name": "kafka"}, "spec": {"ports": "9092"}}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Targets("tenant-a", []byte(in)); err == nil {
				t.Fatal("want an error")
			}
		})
	}
	got, err := Targets("tenant-a", []byte(`{"apiVersion": "v1", "kind": "List", "items": []}`))
	if err != nil || len(got) != 0 {
		t.Fatalf("empty namespace: got %v, %v", got, err)
	}
}
