package kind

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"dpsim/topology"
	"dpsim/topology/platform"
)

var _ topology.EvidenceCollector = (*Platform)(nil)

// evidenceLogLines bounds each container's log in the evidence (its last lines).
const evidenceLogLines = 5000

// CollectEvidence implements topology.EvidenceCollector for the whole platform: the logs (from
// since on) and events of every namespace dpsim deployed, and what is not ready and why.
func (p *Platform) CollectEvidence(ctx context.Context, dir string, since time.Time) error {
	return p.collect(ctx, dir, p.namespaces(), since)
}

// namespaces are the namespaces dpsim deploys into, the cluster's own add-ons' included.
func (p *Platform) namespaces() []string {
	return append([]string{"kube-system", "local-path-storage", veleroNamespace, ingressNamespace, platform.IdentityNamespace, platform.OutsideNamespace},
		p.tenantNamespaces()...)
}

// tenantNamespaces are the tenants' namespaces.
func (p *Platform) tenantNamespaces() []string {
	var out []string
	for _, t := range p.spec.Tenants {
		out = append(out, platform.Namespace(t))
	}
	return out
}

// collect writes into dir, as kind's `export logs` does for nodes, what explains a failure in
// namespaces: the nodes' conditions (nodes.txt), every pod with its node and state (pods.txt),
// `kubectl describe` of every pod that is not ready (not-ready/), and per namespace its events
// (<ns>/events.txt) and the logs of its pods' containers, the previous run's too where a container
// restarted (<ns>/<pod>.<container>[.previous].log), each from since on (zero: all) and at most
// its last evidenceLogLines lines. It keeps going past what it cannot read, and says what that was.
func (p *Platform) collect(ctx context.Context, dir string, namespaces []string, since time.Time) error {
	if p.cluster == nil {
		return errors.New("no cluster to collect evidence from")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("evidence folder: %w", err)
	}
	var mu sync.Mutex
	var errs []error
	// save writes what kubectl printed, and why it failed where it did (a container that never
	// started has no log), into the file: only a file that cannot be written is an error.
	save := func(name string, args ...string) {
		out, err := p.cluster.Kubectl(ctx, nil, args...)
		if err != nil {
			out = append(out, []byte("\n# "+err.Error()+"\n")...)
		}
		if err := writeEvidence(filepath.Join(dir, name), out); err != nil {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}
	}
	save("nodes.txt", "describe", "nodes")
	save("pods.txt", "get", "pods", "--all-namespaces", "-o", "wide")
	out, err := p.cluster.Kubectl(ctx, nil, "get", "pods", "--all-namespaces", "-o", "json")
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("list pods: %w", err))...)
	}
	pods, err := decodePods(out)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	var jobs [][]string // file name, then kubectl arguments
	for _, pd := range pods {
		ns, name := pd.Metadata.Namespace, pd.Metadata.Name
		if !pd.ready() && pd.Status.Phase != "Succeeded" {
			jobs = append(jobs, []string{filepath.Join("not-ready", ns+"_"+name+".txt"), "-n", ns, "describe", "pod", name})
		}
		if !slices.Contains(namespaces, ns) {
			continue
		}
		for _, c := range append(slices.Clone(pd.Status.InitContainerStatuses), pd.Status.ContainerStatuses...) {
			logArgs := []string{"-n", ns, "logs", name, "-c", c.Name, fmt.Sprintf("--tail=%d", evidenceLogLines)}
			if !since.IsZero() {
				logArgs = append(logArgs, "--since-time="+since.UTC().Format(time.RFC3339))
			}
			base := filepath.Join(ns, name+"."+c.Name)
			jobs = append(jobs, append([]string{base + ".log"}, logArgs...))
			if c.RestartCount > 0 {
				jobs = append(jobs, append([]string{base + ".previous.log"}, append(logArgs, "--previous")...))
			}
		}
	}
	for _, ns := range namespaces {
		jobs = append(jobs, []string{filepath.Join(ns, "events.txt"), "-n", ns, "get", "events", "--sort-by=.lastTimestamp", "-o", "wide"})
	}
	// A few at once: each is a docker exec into the control plane.
	work := make(chan []string)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for j := range work {
				save(j[0], j[1:]...)
			}
		})
	}
	for _, j := range jobs {
		work <- j
	}
	close(work)
	wg.Wait()
	return errors.Join(errs...)
}

// writeEvidence writes data to path, making its folder.
func writeEvidence(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// evidenceNote is how an error names the folder its evidence went to.
func evidenceNote(dir string, err error) string {
	if err != nil {
		return fmt.Sprintf("evidence partly collected in %s: %v", dir, strings.SplitN(err.Error(), "\n", 2)[0])
	}
	return "evidence in " + dir
}
