package kind

import (
	"slices"
	"strings"
	"testing"

	"dpsim/topology"

	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
)

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"defaults", Config{}, true},
		{"upper case name", Config{ClusterName: "Dpsim"}, false},
		{"negative workers", Config{Workers: -1}, false},
		{"bad zone", Config{Zones: []string{"a b"}}, false},
		{"custom", Config{ClusterName: "x-1", Workers: 5, Zones: []string{"z1", "z2"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if (err == nil) != tt.ok {
				t.Fatalf("New(%+v) err = %v, want ok=%v", tt.cfg, err, tt.ok)
			}
		})
	}
}

func TestKindConfig(t *testing.T) {
	p, err := New(Config{ClusterName: "c", Workers: 4, Zones: []string{"za", "zb", "zc"}, NodeImage: "img:1"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := p.kindConfig()
	if !cfg.Networking.DisableDefaultCNI {
		t.Error("default CNI not disabled")
	}
	if len(cfg.Nodes) != 5 {
		t.Fatalf("%d nodes, want 5", len(cfg.Nodes))
	}
	if cfg.Nodes[0].Role != v1alpha4.ControlPlaneRole {
		t.Errorf("first node role %s", cfg.Nodes[0].Role)
	}
	wantZones := []string{"za", "zb", "zc", "za"}
	for i, n := range cfg.Nodes[1:] {
		if n.Role != v1alpha4.WorkerRole {
			t.Errorf("node %d role %s", i+1, n.Role)
		}
		if n.Labels[ZoneLabel] != wantZones[i] {
			t.Errorf("worker %d zone %q, want %q", i, n.Labels[ZoneLabel], wantZones[i])
		}
		if n.Image != "img:1" {
			t.Errorf("worker %d image %q", i, n.Image)
		}
	}
	if fp := cfg.Nodes[0].Labels[ConfigLabel]; fp == "" || fp != cfg.Nodes[1].Labels[ConfigLabel] {
		t.Error("config fingerprint label missing or inconsistent")
	}
	q, _ := New(Config{ClusterName: "c", Workers: 4, Zones: []string{"za", "zb", "zc"}, NodeImage: "img:1", DisableNetworkPolicy: true})
	if q.fingerprint() == p.fingerprint() {
		t.Error("fingerprint ignores the policy setting")
	}
	if got := p.WorkerName(0) + "," + p.WorkerName(2); got != "c-worker,c-worker3" {
		t.Errorf("worker names %s", got)
	}
}

func TestCapBoundingHas(t *testing.T) {
	tests := []struct {
		status string
		want   bool
	}{
		{"Name:\tx\nCapBnd:\t000001fffeffffff\n", false},
		{"CapBnd:\t000001ffffffffff\n", true},
		{"no such line", true},
	}
	for _, tt := range tests {
		if got := capBoundingHas(tt.status, 24); got != tt.want {
			t.Errorf("capBoundingHas(%q) = %v, want %v", tt.status, got, tt.want)
		}
	}
}

func TestAdaptKubeRouter(t *testing.T) {
	in := "image: docker.io/cloudnativelabs/kube-router\nimagePullPolicy: Always\nargs:\n- --run-firewall=true\n" +
		"image: docker.io/cloudnativelabs/kube-router\nimagePullPolicy: Always\n" + cniBridgeEnd + "       ]\n"
	out, err := adaptKubeRouter(in, "dpsim/kube-router:abc", false)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "cloudnativelabs") || strings.Contains(out, "Always") || strings.Count(out, "dpsim/kube-router:abc") != 2 {
		t.Errorf("not adapted:\n%s", out)
	}
	if !strings.Contains(out, "},\n"+cniPortmap+"\n       ]") {
		t.Errorf("no portmap plugin after the bridge:\n%s", out)
	}
	if !strings.Contains(out, "--run-firewall=true") {
		t.Error("firewall changed without DisableNetworkPolicy")
	}
	out, err = adaptKubeRouter(in, "x", true)
	if err != nil || !strings.Contains(out, "--run-firewall=false") {
		t.Errorf("firewall not disabled: %v\n%s", err, out)
	}
	if _, err := adaptKubeRouter("nothing here", "x", false); err == nil {
		t.Error("a manifest without the expected lines was accepted")
	}
}

func TestRenderLocalPath(t *testing.T) {
	m, err := renderLocalPath()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"defaultVolumeType: local", "name: " + StorageClass, localPathDir, "dpsim/local-path-helper:", "dpsim/local-path-provisioner:"} {
		if !strings.Contains(m, want) {
			t.Errorf("manifest lacks %q", want)
		}
	}
	if strings.Contains(m, "busybox") {
		t.Error("manifest still uses busybox")
	}
}

func TestParseKubeNodes(t *testing.T) {
	data := []byte(`{"items":[
	 {"metadata":{"name":"c-worker","labels":{"topology.kubernetes.io/zone":"za"}},"status":{"conditions":[{"type":"Ready","status":"True"}]}},
	 {"metadata":{"name":"c-worker2","labels":{}},"status":{"conditions":[{"type":"Ready","status":"Unknown"}]}}]}`)
	m := parseKubeNodes(data)
	if !m["c-worker"].ready || m["c-worker"].zone != "za" {
		t.Errorf("c-worker = %+v", m["c-worker"])
	}
	if m["c-worker2"].ready {
		t.Errorf("c-worker2 = %+v", m["c-worker2"])
	}
	if parseKubeNodes([]byte("garbage")) != nil {
		t.Error("garbage parsed")
	}
}

// Every namespace the platform deploys its own parts into is a name no tenant may take, so a
// tenant's namespace never lands among them.
func TestOwnNamespacesAreReserved(t *testing.T) {
	p := &Platform{spec: topology.Default()}
	own := slices.DeleteFunc(p.namespaces(), func(ns string) bool { return slices.Contains(p.tenantNamespaces(), ns) })
	if len(own) == 0 {
		t.Fatal("no namespace of the platform's own")
	}
	for _, ns := range own {
		if !slices.Contains(topology.ReservedTenants, ns) {
			t.Errorf("namespace %q is dpsim's own but not in topology.ReservedTenants", ns)
		}
	}
}
