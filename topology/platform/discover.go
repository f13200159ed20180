package platform

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"dpsim/topology"
)

// The Kubernetes objects discovery reads, as `kubectl get pods,services,endpointslices -o json`
// prints them: only the fields it needs.
type (
	kubeList struct {
		Items []kubeObject `json:"items"`
	}
	kubeObject struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Name      string            `json:"name"`
			Namespace string            `json:"namespace"`
			Labels    map[string]string `json:"labels"`
		} `json:"metadata"`
		Spec      json.RawMessage `json:"spec"`
		Status    json.RawMessage `json:"status"`
		Endpoints []struct {
			Hostname   string `json:"hostname"`
			Conditions struct {
				Ready *bool `json:"ready"`
			} `json:"conditions"`
			TargetRef struct {
				Kind string `json:"kind"`
				Name string `json:"name"`
			} `json:"targetRef"`
		} `json:"endpoints"`
		Ports []kubePort `json:"ports"` // EndpointSlice
	}
	kubePort struct {
		Name          string `json:"name"`
		Port          int    `json:"port"`
		ContainerPort int    `json:"containerPort"`
		Protocol      string `json:"protocol"`
	}
	podSpec struct {
		NodeName    string `json:"nodeName"`
		HostNetwork bool   `json:"hostNetwork"`
		Containers  []struct {
			Ports []kubePort `json:"ports"`
		} `json:"containers"`
	}
	podStatus struct {
		Phase string `json:"phase"`
		PodIP string `json:"podIP"`
	}
	serviceSpec struct {
		ClusterIP string            `json:"clusterIP"`
		Selector  map[string]string `json:"selector"`
		Ports     []kubePort        `json:"ports"`
	}
)

// pod is a tenant pod that can be probed.
type pod struct {
	name, node, ip, component string
	labels                    map[string]string
}

// Targets turns the output of `kubectl get pods,services,endpointslices -n NS -o json` for tenant's
// namespace into every probe target of the tenant, sorted:
//
//   - every container port of every pod with an IP (not finished, not on the host network), by pod
//     IP;
//   - every port of every Service with a cluster IP, by that IP and by its DNS name
//     <svc>.<ns>.svc.cluster.local;
//   - every port of every headless Service's EndpointSlices by the Service's DNS name (which
//     resolves to the pods), and by each ready endpoint's own name <hostname>.<svc>.<ns>.svc.cluster.local
//     (a StatefulSet pod's hostname is its name).
//
// A target's component is its pod's dpsim.io/component label, else its app label (for a Service:
// of the pods it selects, else the Service's name). TCP and UDP ports are kept; SCTP is not probed.
func Targets(tenant string, kubectlJSON []byte) ([]topology.Target, error) {
	var list kubeList
	if err := json.Unmarshal(kubectlJSON, &list); err != nil {
		return nil, fmt.Errorf("decode kubectl output of tenant %s: %w", tenant, err)
	}
	pods := map[string]pod{}
	var out []topology.Target
	add := func(t topology.Target, protocol string) {
		if p := strings.ToLower(cmp.Or(protocol, "tcp")); p == topology.ProtocolTCP || p == topology.ProtocolUDP {
			t.Tenant, t.Protocol = tenant, p
			out = append(out, t)
		}
	}
	for _, o := range list.Items {
		if o.Kind != "Pod" {
			continue
		}
		var spec podSpec
		var status podStatus
		if err := unmarshalParts(o, &spec, &status); err != nil {
			return nil, err
		}
		if status.PodIP == "" || spec.HostNetwork || status.Phase == "Succeeded" || status.Phase == "Failed" {
			continue
		}
		p := pod{name: o.Metadata.Name, node: spec.NodeName, ip: status.PodIP, labels: o.Metadata.Labels,
			component: cmp.Or(o.Metadata.Labels["dpsim.io/component"], o.Metadata.Labels["app"], o.Metadata.Name)}
		pods[p.name] = p
		for _, c := range spec.Containers {
			for _, port := range c.Ports {
				add(topology.Target{Component: p.component, Pod: p.name, Node: p.node, Port: port.ContainerPort,
					AddressKind: topology.AddressPodIP, Address: p.ip}, port.Protocol)
			}
		}
	}
	services := map[string]serviceSpec{}
	for _, o := range list.Items {
		if o.Kind != "Service" {
			continue
		}
		var spec serviceSpec
		if err := unmarshalParts(o, &spec, nil); err != nil {
			return nil, err
		}
		services[o.Metadata.Name] = spec
		if spec.ClusterIP == "" || spec.ClusterIP == "None" {
			continue // headless: reached through its EndpointSlices below
		}
		component := serviceComponent(o.Metadata.Name, spec, pods)
		for _, port := range spec.Ports {
			for kind, addr := range map[string]string{topology.AddressServiceIP: spec.ClusterIP,
				topology.AddressDNS: serviceDNS(o.Metadata.Name, o.Metadata.Namespace)} {
				add(topology.Target{Component: component, Port: port.Port, AddressKind: kind, Address: addr}, port.Protocol)
			}
		}
	}
	for _, o := range list.Items {
		svcName := o.Metadata.Labels["kubernetes.io/service-name"]
		spec, ok := services[svcName]
		if o.Kind != "EndpointSlice" || !ok || (spec.ClusterIP != "" && spec.ClusterIP != "None") {
			continue
		}
		svcDNS := serviceDNS(svcName, o.Metadata.Namespace)
		component := serviceComponent(svcName, spec, pods)
		for _, port := range o.Ports {
			add(topology.Target{Component: component, Port: port.Port, AddressKind: topology.AddressDNS, Address: svcDNS}, port.Protocol)
			for _, ep := range o.Endpoints {
				if ep.Hostname == "" || (ep.Conditions.Ready != nil && !*ep.Conditions.Ready) {
					continue
				}
				t := topology.Target{Component: component, Port: port.Port, AddressKind: topology.AddressDNS, Address: ep.Hostname + "." + svcDNS}
				if p, ok := pods[ep.TargetRef.Name]; ok && ep.TargetRef.Kind == "Pod" {
					t.Component, t.Pod, t.Node = p.component, p.name, p.node
				}
				add(t, port.Protocol)
			}
		}
	}
	return sortedUnique(out), nil
}

// unmarshalParts decodes an object's spec and (when status is not nil) status; absent parts stay
// zero.
func unmarshalParts(o kubeObject, spec, status any) error {
	if len(o.Spec) > 0 {
		if err := json.Unmarshal(o.Spec, spec); err != nil {
			return fmt.Errorf("decode %s %s spec: %w", o.Kind, o.Metadata.Name, err)
		}
	}
	if status != nil && len(o.Status) > 0 {
		if err := json.Unmarshal(o.Status, status); err != nil {
			return fmt.Errorf("decode %s %s status: %w", o.Kind, o.Metadata.Name, err)
		}
	}
	return nil
}

func serviceDNS(name, namespace string) string { return name + "." + namespace + ".svc.cluster.local" }

// serviceComponent is the component of the pods a Service selects, or the Service's name.
func serviceComponent(name string, spec serviceSpec, pods map[string]pod) string {
	if len(spec.Selector) > 0 {
		for _, p := range slices.Sorted(maps.Keys(pods)) {
			if selects(spec.Selector, pods[p].labels) {
				return pods[p].component
			}
		}
	}
	return name
}

func selects(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// sortedUnique orders targets by component, pod, port, protocol, address kind and address, and drops
// repeats (an endpoint listed in two slices).
func sortedUnique(ts []topology.Target) []topology.Target {
	slices.SortFunc(ts, func(a, b topology.Target) int {
		return cmp.Or(cmp.Compare(a.Component, b.Component), cmp.Compare(a.Pod, b.Pod), cmp.Compare(a.Port, b.Port),
			cmp.Compare(a.Protocol, b.Protocol), cmp.Compare(a.AddressKind, b.AddressKind), cmp.Compare(a.Address, b.Address))
	})
	return slices.Compact(ts)
}
