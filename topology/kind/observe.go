package kind

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Observe implements topology.Observer: one line per data-store or agent pod that is not ready or
// has restarted, with its node, phase, the reason Kubernetes gives and its restart count.
func (p *Platform) Observe(ctx context.Context) ([]string, error) {
	out, err := p.cluster.Kubectl(ctx, nil, "get", "pods", "--all-namespaces", "-l", "dpsim.io/component", "-o", "json")
	if err != nil {
		return nil, fmt.Errorf("list the platform's pods: %w", err)
	}
	return podNotes(out)
}

// podNotes turns `kubectl get pods -o json` into notes about the pods that are not ready or have
// restarted; a healthy, never restarted pod says nothing.
func podNotes(data []byte) ([]string, error) {
	list, err := decodePods(data)
	if err != nil {
		return nil, err
	}
	var notes []string
	for _, pod := range list {
		ready, restarts := pod.Status.Phase == "Running", 0
		var why []string
		for _, c := range pod.Status.ContainerStatuses {
			ready = ready && c.Ready
			restarts += c.RestartCount
			for state, s := range c.State {
				if state != "running" && s.Reason != "" {
					why = append(why, s.Reason)
				}
			}
		}
		for _, c := range pod.Status.Conditions {
			if c.Status == "False" && c.Message != "" && c.Type == "PodScheduled" {
				why = append(why, c.Message)
			}
		}
		if pod.Status.Reason != "" {
			why = append(why, pod.Status.Reason)
		}
		if ready && restarts == 0 {
			continue
		}
		node := pod.Spec.NodeName
		if node == "" {
			node = "no node"
		}
		state := "ready"
		if !ready {
			state = "not ready, " + pod.Status.Phase
		}
		note := fmt.Sprintf("%s/%s on %s: %s", pod.Metadata.Namespace, pod.Metadata.Name, node, state)
		if len(why) > 0 {
			note += " (" + strings.Join(why, "; ") + ")"
		}
		if restarts > 0 {
			note += fmt.Sprintf(", %d restarts", restarts)
		}
		notes = append(notes, note)
	}
	sort.Strings(notes)
	return notes, nil
}

// pod is what dpsim reads of a pod from `kubectl get pods -o json`.
type pod struct {
	Metadata objectMeta `json:"metadata"`
	Spec     struct {
		NodeName string `json:"nodeName"`
		Volumes  []struct {
			Name                  string `json:"name"`
			PersistentVolumeClaim *struct {
				ClaimName string `json:"claimName"`
			} `json:"persistentVolumeClaim"`
		} `json:"volumes"`
	} `json:"spec"`
	Status struct {
		Phase      string     `json:"phase"`
		Reason     string     `json:"reason"`
		StartTime  *time.Time `json:"startTime"`
		Conditions []struct {
			Type, Status, Reason, Message string
		} `json:"conditions"`
		ContainerStatuses     []containerStatus `json:"containerStatuses"`
		InitContainerStatuses []containerStatus `json:"initContainerStatuses"`
	} `json:"status"`
}

// containerStatus is one container's state in a pod's status.
type containerStatus struct {
	Name         string `json:"name"`
	Ready        bool   `json:"ready"`
	RestartCount int    `json:"restartCount"`
	State        map[string]struct {
		Reason string `json:"reason"`
	} `json:"state"`
}

// ready reports whether the pod runs with every container ready.
func (p pod) ready() bool {
	if p.Status.Phase != "Running" {
		return false
	}
	for _, c := range p.Status.ContainerStatuses {
		if !c.Ready {
			return false
		}
	}
	return true
}

// decodePods decodes `kubectl get pods -o json`.
func decodePods(data []byte) ([]pod, error) {
	var list struct {
		Items []pod `json:"items"`
	}
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("decode pods: %w", err)
	}
	return list.Items, nil
}
