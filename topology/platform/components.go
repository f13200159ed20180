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
	// App is its pods' app label; Workload what rolls it out ("statefulset/kafka"); PodPrefix
	// names member i PodPrefix-i.
	App, Workload, PodPrefix string
	// Members is how many members the spec asks for.
	Members func(topology.Spec) int
	// Endpoints are the addresses the tenant's agent reaches it at, from inside namespace ns.
	Endpoints func(spec topology.Spec, ns string) []string
}

// Pod is the pod name of member i.
func (c Component) Pod(i int) string { return fmt.Sprintf("%s-%d", c.PodPrefix, i) }

// Components are the data stores every tenant gets, in apply order.
func Components() []Component {
	return []Component{
		{
			Name: "kafka", Kind: topology.KindLog, Manifest: "kafka.yaml", Image: "kafka",
			App: "kafka", Workload: "statefulset/kafka", PodPrefix: "kafka",
			Members: func(s topology.Spec) int { return s.Kafka.Brokers },
			Endpoints: func(s topology.Spec, ns string) []string {
				return memberAddresses(s.Kafka.Brokers, "kafka-%d.kafka."+ns+".svc.cluster.local:9092")
			},
		},
		{
			Name: "elasticsearch", Kind: topology.KindDocument, Manifest: "elasticsearch.yaml", Image: "elasticsearch",
			App: "elasticsearch", Workload: "statefulset/es", PodPrefix: "es",
			Members: func(s topology.Spec) int { return s.Elasticsearch.Nodes },
			Endpoints: func(s topology.Spec, ns string) []string {
				return memberAddresses(s.Elasticsearch.Nodes, "http://es-%d.elasticsearch."+ns+".svc.cluster.local:9200")
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
