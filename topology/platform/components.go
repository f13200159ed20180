package platform

import (
	"fmt"

	"dpsim/topology"
)

// Component is one in-cluster data store as the platform deploys it: its manifest and what a
// provider needs to find, reach and watch it. Components lists them; a store is added here with its
// manifest (and to stores/registry with its client package, and to images with its recipe).
type Component struct {
	// Name is the store's name, as in stores/registry, the agent's configuration and reports.
	Name string
	Kind topology.Kind
	// Manifest is its template under manifests/; Image the image recipe its pods run (images).
	Manifest, Image string
	// Roles are its kinds of pods, each rolled out by its own workload.
	Roles []Role
	// Endpoints are the addresses the tenant's agent reaches it at, from inside namespace ns.
	Endpoints func(spec topology.Spec, ns string) []string
}

// Role is one kind of a component's pods: their app label, the workload that rolls them out
// ("statefulset/kafka") and their names' prefix (pod i is PodPrefix-i, its volume's claim
// data-PodPrefix-i).
type Role struct {
	App, Workload, PodPrefix string
	// MetadataOnly marks pods that keep the component's metadata and none of its records (HDFS's
	// namenode): topology.Member.MetadataOnly.
	MetadataOnly bool
}

// statefulSet is the role of the pods of StatefulSet name, labelled app=name.
func statefulSet(name string) Role {
	return Role{App: name, Workload: "statefulset/" + name, PodPrefix: name}
}

// Components are the data stores every tenant gets, in apply order.
func Components() []Component {
	return []Component{
		{
			Name: "kafka", Kind: topology.KindLog, Manifest: "kafka.yaml", Image: "kafka",
			Roles: []Role{statefulSet("kafka")},
			Endpoints: func(s topology.Spec, ns string) []string {
				return memberAddresses(s.Kafka.Brokers, "kafka-%d.kafka."+ns+".svc.cluster.local:9092")
			},
		},
		{
			Name: "elasticsearch", Kind: topology.KindDocument, Manifest: "elasticsearch.yaml", Image: "elasticsearch",
			Roles: []Role{{App: "elasticsearch", Workload: "statefulset/es", PodPrefix: "es"}},
			Endpoints: func(s topology.Spec, ns string) []string {
				return memberAddresses(s.Elasticsearch.Nodes, "http://es-%d.elasticsearch."+ns+".svc.cluster.local:9200")
			},
		},
		{
			// StackGraph keeps its data in HDFS: one namenode (the file names) and the datanodes.
			Name: "stackgraph", Kind: topology.KindFile, Manifest: "hdfs.yaml", Image: "hdfs",
			Roles: []Role{
				{App: "hdfs-namenode", Workload: "statefulset/hdfs-namenode", PodPrefix: "hdfs-namenode", MetadataOnly: true},
				statefulSet("hdfs-datanode"),
			},
			Endpoints: func(s topology.Spec, ns string) []string {
				return []string{"http://hdfs-namenode-0.hdfs-namenode." + ns + ".svc.cluster.local:9870"}
			},
		},
	}
}

// memberAddresses formats the address of each of n members.
func memberAddresses(n int, format string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(format, i)
	}
	return out
}

// AgentImage is the image recipe of the dpsim agent (and the outside prober).
const AgentImage = "agent"
