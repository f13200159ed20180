package kind

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"dpsim/images"
	"dpsim/topology"
)

func TestVPCRules(t *testing.T) {
	join := func(rules [][]string) string {
		var lines []string
		for _, r := range rules {
			lines = append(lines, strings.Join(r, " "))
		}
		return strings.Join(lines, "\n")
	}
	groups := join(vpcRules("br-out", "br-kind", admitted([]int{22, 443}), true))
	for _, want := range []string{
		"-A DPSIM-VPC -i br-kind -o br-out -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
		// the client's own packets of an admitted connection, not only the first
		"-A DPSIM-VPC -i br-out -o br-kind -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
		"-A DPSIM-VPC -i br-out -o br-kind -p tcp --dport 80 -m conntrack --ctstate NEW -j ACCEPT",
		"-A DPSIM-VPC -i br-out -o br-kind -p tcp --dport 443 -m conntrack --ctstate NEW -j ACCEPT",
		"-A DPSIM-VPC -i br-out -o br-kind -p tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT",
		"-A DPSIM-VPC -i br-out -o br-kind -j DROP",
	} {
		if !strings.Contains(groups, want) {
			t.Errorf("rules lack %q:\n%s", want, groups)
		}
	}
	if strings.Count(groups, "--dport 443") != 1 {
		t.Errorf("443 admitted twice:\n%s", groups)
	}
	if !strings.HasSuffix(groups, "-A DPSIM-VPC -j RETURN") {
		t.Errorf("rules do not end by returning:\n%s", groups)
	}
	open := join(vpcRules("br-out", "br-kind", admitted(nil), false))
	if strings.Contains(open, "DROP") || !strings.Contains(open, "-A DPSIM-VPC -i br-out -o br-kind -j ACCEPT") {
		t.Errorf("without security groups everything from outside is admitted:\n%s", open)
	}
	if b, err := bridgeName("0123456789abcdef"); err != nil || b != "br-0123456789ab" {
		t.Errorf("bridgeName = %q, %v", b, err)
	}
}

// The edge is deployed for the scenarios that probe it, and only for them.
func TestPlanDeploysTheEdgeOnlyWhenNeeded(t *testing.T) {
	p := NewPlatform(nil, PlatformOptions{})
	if !p.withEdge {
		t.Error("a platform never told what the run needs (dpsim up) has no edge")
	}
	p.Plan([]topology.Capability{topology.CapInventory, topology.CapStores})
	if p.withEdge || slices.Contains(p.loadedImages(), images.Traefik) {
		t.Error("the edge is deployed for durability scenarios")
	}
	p.Plan([]topology.Capability{topology.CapInventory, topology.CapExposure})
	if !p.withEdge || !slices.Contains(p.loadedImages(), images.Traefik) {
		t.Error("no edge for the exposure scan")
	}
	if admittedPorts(topology.Network{SecurityGroups: "none"}) != "every port" ||
		admittedPorts(topology.Network{SecurityGroups: "vpc", Expose: []int{22}}) != "[80 443 22]" {
		t.Error("admitted ports misnamed")
	}
}

// Workers get their volume directory on the cluster's disk bound onto local-path's, unless the
// volumes stay in the node containers.
func TestVolumeMounts(t *testing.T) {
	p, err := New(Config{ClusterName: "c", Volumes: VolumesFscrypt})
	if err != nil {
		t.Fatal(err)
	}
	m := p.volumeMounts("c-worker")
	if len(m) != 1 || m[0].HostPath != "/var/lib/dpsim/c/volumes/c-worker" || m[0].ContainerPath != localPathDir {
		t.Errorf("mounts %+v", m)
	}
	if p.VolumesImage() != "/var/lib/dpsim/c/volumes.img" {
		t.Errorf("image %s", p.VolumesImage())
	}
	p.volumesErr = errors.New("no loop device")
	if m := p.volumeMounts("c-worker"); m != nil {
		t.Errorf("mounts %+v of a disk that could not be made", m)
	}
	if _, err := p.VolumesDisk(); !errors.Is(err, p.volumesErr) {
		t.Errorf("VolumesDisk: %v, want why the disk could not be made", err)
	}
	p.cfg.Volumes, p.volumesErr = VolumesNone, nil
	if m := p.volumeMounts("c-worker"); m != nil {
		t.Errorf("mounts %+v without a disk", m)
	}
}
