package kind

import (
	"strings"
	"testing"
)

func TestPodNotes(t *testing.T) {
	data := []byte(`{"items": [
 {"metadata": {"name": "kafka-0", "namespace": "tenant-a"}, "spec": {"nodeName": "w1"},
  "status": {"phase": "Running", "containerStatuses": [{"ready": true, "restartCount": 0, "state": {"running": {}}}]}},
 {"metadata": {"name": "kafka-1", "namespace": "tenant-a"}, "spec": {"nodeName": "w2"},
  "status": {"phase": "Running", "containerStatuses": [{"ready": false, "restartCount": 2, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}},
 {"metadata": {"name": "es-2", "namespace": "tenant-b"}, "spec": {},
  "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/4 nodes are available: 1 node(s) had volume node affinity conflict."}]}}
]}`)
	notes, err := podNotes(data)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(notes, "\n")
	want := "tenant-a/kafka-1 on w2: not ready, Running (CrashLoopBackOff), 2 restarts\n" +
		"tenant-b/es-2 on no node: not ready, Pending (0/4 nodes are available: 1 node(s) had volume node affinity conflict.)"
	if got != want {
		t.Fatalf("notes:\n%s\nwant:\n%s", got, want)
	}
}
