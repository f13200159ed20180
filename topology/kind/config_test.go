package kind

import (
	"strings"
	"testing"
	"time"
)

// A pod whose configuration hash is not its workload's template's is named; a pod being deleted,
// a workload without a hash and a pod of another workload are not.
func TestMismatches(t *testing.T) {
	w := workload{Kind: "Deployment"}
	w.Metadata.Name = "pebble"
	w.Spec.Selector.MatchLabels = map[string]string{"app": "pebble"}
	w.Spec.Template.Metadata.Annotations = map[string]string{configHashKey: "new"}
	mk := func(name, app, hash string, deleting bool) pod {
		var p pod
		p.Metadata.Name, p.Metadata.Namespace = name, "ingress"
		p.Metadata.Labels = map[string]string{"app": app}
		p.Metadata.Annotations = map[string]string{configHashKey: hash}
		if deleting {
			now := time.Now()
			p.Metadata.DeletionTimestamp = &now
		}
		return p
	}
	pods := []pod{mk("pebble-new", "pebble", "new", false), mk("pebble-old", "pebble", "old", false),
		mk("pebble-going", "pebble", "old", true), mk("traefik-x", "traefik", "other", false)}
	got := mismatches([]workload{w, {Kind: "DaemonSet"}}, pods)
	if len(got) != 1 || !strings.Contains(got[0].String(), `ingress/pebble-old runs configuration "old", its deployment pebble was applied with "new"`) {
		t.Fatalf("mismatches = %q, want pebble-old alone", got)
	}
}

// A re-apply restarts a StatefulSet's stale pods itself; a Deployment's and a DaemonSet's roll out
// on their own.
func TestRestartable(t *testing.T) {
	stale := []stalePod{{Name: "kafka-0", Kind: "StatefulSet"}, {Name: "pebble-x", Kind: "Deployment"},
		{Name: "es-1", Kind: "StatefulSet"}, {Name: "traefik-y", Kind: "DaemonSet"}}
	if got := restartable(stale); strings.Join(got, " ") != "kafka-0 es-1" {
		t.Fatalf("restartable = %q, want kafka-0 es-1", got)
	}
	if got := restartable(nil); len(got) != 0 {
		t.Fatalf("restartable(nil) = %q, want none", got)
	}
}
