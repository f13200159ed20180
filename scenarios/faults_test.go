package scenarios

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"dpsim/topology"
)

// Drive loss takes one data drive per tenant's component on the node, and one drive of a component
// outside the nodes; a metadata-only member's volume is never among them.
func TestChooseDrivesTakesDataDrivesOnly(t *testing.T) {
	all := []topology.Drive{
		{Node: "n1", Name: "hdfs-a-namenode-0", Component: "stackgraph", Tenant: "t", MetadataOnly: true},
		{Node: "n1", Name: "hdfs-datanode-0", Component: "stackgraph", Tenant: "t"},
		{Node: "n1", Name: "kafka-0", Component: "kafka", Tenant: "t"},
		{Node: "n2", Name: "kafka-1", Component: "kafka", Tenant: "t"},
		{Node: "minio-1", Name: "minio-1", Component: "objectstore"},
	}
	got := chooseDrives(all, "n1", []string{"n1", "n2"}, rand.New(rand.NewPCG(1, 2)))
	var names []string
	for _, d := range got {
		names = append(names, d.Name)
	}
	if want := []string{"hdfs-datanode-0", "kafka-0", "minio-1"}; !slices.Equal(names, want) {
		t.Fatalf("chose %v, want %v", names, want)
	}
}

// A fault that takes a metadata-only member's node names it; one elsewhere does not.
func TestMetadataTakenNamesTheNamenode(t *testing.T) {
	comps := []topology.Component{{Tenant: "t", Name: "stackgraph", Members: []topology.Member{
		{Name: "hdfs-namenode-0", Node: "n1", MetadataOnly: true}, {Name: "hdfs-datanode-0", Node: "n1"}, {Name: "hdfs-datanode-1", Node: "n2"}}}}
	if got := metadataTaken(comps, []string{"n1"}); len(got) != 1 || !strings.Contains(got[0], "t/stackgraph's hdfs-namenode-0 on n1") {
		t.Errorf("node n1: %v", got)
	}
	if got := metadataTaken(comps, []string{"n2"}); len(got) != 0 {
		t.Errorf("node n2: %v, want nothing", got)
	}
}
