package kind

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"dpsim/topology/platform"
)

// configHashKey is the pod-template annotation that carries the hash of the configuration a
// component was rendered with (see platform.renderHashed).
const configHashKey = "dpsim.io/config-hash"

// workload is what the configuration check reads of a Deployment, StatefulSet or DaemonSet.
type workload struct {
	Kind     string     `json:"kind"`
	Metadata objectMeta `json:"metadata"`
	Spec     struct {
		Selector struct {
			MatchLabels map[string]string `json:"matchLabels"`
		} `json:"selector"`
		Template struct {
			Metadata objectMeta `json:"metadata"`
		} `json:"template"`
	} `json:"spec"`
}

// staleConfig lists, per part of the platform, every pod of namespaces that does not run the
// configuration its workload was last applied with from this run's spec (its dpsim.io/config-hash
// differs from its pod template's): a pod that was not restarted when its configuration changed
// would be judged as if it ran this spec. Pods being deleted are passed over.
func (p *Platform) staleConfig(ctx context.Context, namespaces map[string]string) (map[string][]string, error) {
	stale := map[string][]string{}
	for ns, part := range namespaces {
		out, err := p.cluster.Kubectl(ctx, nil, "-n", ns, "get", "deployments,statefulsets,daemonsets", "-o", "json")
		if err != nil {
			return nil, fmt.Errorf("list the workloads of %s: %w", ns, err)
		}
		var list struct {
			Items []workload `json:"items"`
		}
		if err := json.Unmarshal(out, &list); err != nil {
			return nil, fmt.Errorf("decode the workloads of %s: %w", ns, err)
		}
		podsOut, err := p.cluster.Kubectl(ctx, nil, "-n", ns, "get", "pods", "-o", "json")
		if err != nil {
			return nil, fmt.Errorf("list the pods of %s: %w", ns, err)
		}
		pods, err := decodePods(podsOut)
		if err != nil {
			return nil, err
		}
		stale[part] = append(stale[part], mismatches(list.Items, pods)...)
	}
	for part, s := range stale {
		if len(s) == 0 {
			delete(stale, part)
		}
		sort.Strings(s)
	}
	return stale, nil
}

// mismatches names each live pod of a hashed workload whose configuration hash is not its
// template's.
func mismatches(workloads []workload, pods []pod) []string {
	var out []string
	for _, w := range workloads {
		want := w.Spec.Template.Metadata.Annotations[configHashKey]
		if want == "" || len(w.Spec.Selector.MatchLabels) == 0 {
			continue
		}
		for _, pd := range pods {
			if pd.Metadata.DeletionTimestamp != nil || !selects(w.Spec.Selector.MatchLabels, pd.Metadata.Labels) {
				continue
			}
			if got := pd.Metadata.Annotations[configHashKey]; got != want {
				out = append(out, fmt.Sprintf("%s/%s runs configuration %q, its %s %s was applied with %q (not restarted since its configuration changed)",
					pd.Metadata.Namespace, pd.Metadata.Name, got, strings.ToLower(w.Kind), w.Metadata.Name, want))
			}
		}
	}
	return out
}

func selects(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// checkConfig makes every part some of whose pods do not run this spec's configuration unavailable,
// naming the pods: nothing that part serves is judged as if it did.
func (p *Platform) checkConfig(ctx context.Context) {
	parts := map[string]string{ingressNamespace: partEdge, platform.IdentityNamespace: partIdentity}
	for _, ns := range p.tenantNamespaces() {
		parts[ns] = partTenants
	}
	stale, err := p.staleConfig(ctx, parts)
	if err != nil {
		p.log.Warn("the configuration the pods run could not be checked", "err", err)
		stale = map[string][]string{partTenants: {"the configuration the pods run could not be checked: " + err.Error()}}
	}
	for part, pods := range stale {
		p.markUnavailable(part, "not running the configuration of this run's spec: "+strings.Join(pods, "; "))
	}
}
