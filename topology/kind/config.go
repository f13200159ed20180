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

// stalePod is a live pod of a hashed workload whose configuration hash is not its template's.
type stalePod struct {
	Namespace, Name string
	// Kind and Workload name the workload (StatefulSet, kafka); Got and Want are the pod's hash and
	// its template's.
	Kind, Workload, Got, Want string
}

func (s stalePod) String() string {
	return fmt.Sprintf("%s/%s runs configuration %q, its %s %s was applied with %q (not restarted since its configuration changed)",
		s.Namespace, s.Name, s.Got, strings.ToLower(s.Kind), s.Workload, s.Want)
}

// staleConfig lists, per part of the platform, every pod of namespaces that does not run the
// configuration its workload was last applied with from this run's spec (its dpsim.io/config-hash
// differs from its pod template's): a pod that was not restarted when its configuration changed
// would be judged as if it ran this spec. Pods being deleted are passed over.
func (p *Platform) staleConfig(ctx context.Context, namespaces map[string]string) (map[string][]stalePod, error) {
	stale := map[string][]stalePod{}
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
		sort.Slice(s, func(i, j int) bool { return s[i].String() < s[j].String() })
	}
	return stale, nil
}

// mismatches names each live pod of a hashed workload whose configuration hash is not its
// template's.
func mismatches(workloads []workload, pods []pod) []stalePod {
	var out []stalePod
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
				out = append(out, stalePod{Namespace: pd.Metadata.Namespace, Name: pd.Metadata.Name, Kind: w.Kind,
					Workload: w.Metadata.Name, Got: got, Want: want})
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

// restartStale deletes, all at once, every StatefulSet pod of namespaces that runs an older
// configuration than its template: on a kept platform re-applied with a changed spec, the
// StatefulSets (each with podManagementPolicy Parallel) recreate them together from the new
// template, where a rolling update would restart one pod at a time and wait for each (rolling a
// weakened spec onto two tenants took 10m45s that way). Deployments roll themselves.
func (p *Platform) restartStale(ctx context.Context, namespaces []string) error {
	parts := map[string]string{}
	for _, ns := range namespaces {
		parts[ns] = ns
	}
	stale, err := p.staleConfig(ctx, parts)
	if err != nil {
		return err
	}
	for ns, pods := range stale {
		names := restartable(pods)
		if len(names) == 0 {
			continue
		}
		p.log.Info("restarting the pods whose configuration changed, at once", "namespace", ns, "pods", strings.Join(names, " "))
		if _, err := p.cluster.Kubectl(ctx, nil, append([]string{"-n", ns, "delete", "pod", "--wait=false"}, names...)...); err != nil {
			return fmt.Errorf("restart the pods of %s whose configuration changed: %w", ns, err)
		}
	}
	return nil
}

// restartable names the stale pods restartStale deletes: those of StatefulSets, which recreate
// them from the new template; a Deployment's or DaemonSet's pods are replaced by its own rollout.
func restartable(stale []stalePod) []string {
	var names []string
	for _, s := range stale {
		if s.Kind == "StatefulSet" {
			names = append(names, s.Name)
		}
	}
	return names
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
		p.markUnavailable(partTenants, "the configuration the pods run could not be checked: "+err.Error())
		return
	}
	for part, pods := range stale {
		var named []string
		for _, s := range pods {
			named = append(named, s.String())
		}
		p.markUnavailable(part, "not running the configuration of this run's spec: "+strings.Join(named, "; "))
	}
}
