package kind

import (
	"errors"
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

// The wait for certificates acts on the last failed order in Traefik's log, and on nothing else.
func TestLastACMEFailure(t *testing.T) {
	log := `2026-12-07T03:00:01Z INF Traefik version 3.6.12 built on I don't know when
2026-12-07T03:00:02Z ERR Unable to obtain ACME certificate for domains error="cannot get ACME client get directory at 'https://pebble.ingress.svc:14000/dir': Get \"https://pebble.ingress.svc:14000/dir\": dial tcp 10.96.12.7:14000: connect: connection refused" ACME CA=https://pebble.ingress.svc:14000/dir domains=["tenant-a.dpsim.test"] providerName=acme.acme routerName=tenant-a-web
2026-12-07T03:00:03Z ERR Unable to obtain ACME certificate for domains error="cannot get ACME client get directory: tls: failed to verify certificate: x509: certificate signed by unknown authority" domains=["tenant-b.dpsim.test"] providerName=acme.acme
2026-12-07T03:00:04Z ERR error while building a router error="service not found" routerName=x`
	got := lastACMEFailure(log)
	if !strings.Contains(got, "x509: certificate signed by unknown authority") || !strings.Contains(got, "tenant-b.dpsim.test") {
		t.Errorf("last failure %q, want the x509 failure for tenant-b", got)
	}
	coloured := "\x1b[90m2026-12-07T03:43:42Z\x1b[0m \x1b[31mERR\x1b[0m \x1b[1mUnable to obtain ACME certificate for domains\x1b[0m \x1b[36merror=\x1b[0m\x1b[31m\x1b[1m\"cannot get ACME client get directory: x509: certificate signed by unknown authority\"\x1b[0m\x1b[0m"
	if got := lastACMEFailure(coloured); !strings.HasPrefix(got, "2026-12-07T03:43:42Z ERR Unable to obtain ACME certificate") {
		t.Errorf("a coloured log line gives %q", got)
	}
	if got := lastACMEFailure("2026-12-07T03:00:01Z INF Starting provider *acme.Provider\n2026-12-07T03:00:04Z ERR error while building a router"); got != "" {
		t.Errorf("a log without a failed order gives %q", got)
	}
}

// Only kubectl's own timeout lets a wait go on; any other failure ends it.
func TestWaitTimedOut(t *testing.T) {
	if !waitTimedOut(errors.New("docker exec dpsim-control-plane kubectl …: exit status 1: error: timed out waiting for the condition")) {
		t.Error("kubectl's timeout not recognised")
	}
	if waitTimedOut(errors.New(`Error from server (NotFound): deployments.apps "pebble" not found`)) {
		t.Error("a missing workload taken for a wait that goes on")
	}
}
