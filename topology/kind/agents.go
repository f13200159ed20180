package kind

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"dpsim/agent/api"
	"dpsim/images"
	"dpsim/topology/platform"
)

// agentLink is the host's line to one tenant's agent: a kubectl port-forward to its pod on the
// control-plane node (restarted when it drops) and the client that uses it.
type agentLink struct {
	client *api.Client
	cancel context.CancelFunc
	done   sync.WaitGroup

	mu   sync.Mutex
	sets []string // the datasets opened through the agent
}

// opened notes that dataset is in use, so Settle checks its replication.
func (a *agentLink) opened(dataset string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !slices.Contains(a.sets, dataset) {
		a.sets = append(a.sets, dataset)
	}
}

// dropped notes that dataset is gone, so Settle no longer checks it.
func (a *agentLink) dropped(dataset string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sets = slices.DeleteFunc(a.sets, func(s string) bool { return s == dataset })
}

func (a *agentLink) datasets() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.sets)
}

func (a *agentLink) close() {
	a.cancel()
	a.done.Wait()
}

// connectAgents forwards a local port to every tenant's agent and waits until each answers.
func (p *Platform) connectAgents(ctx context.Context) error {
	kubectl, err := p.kubectlBinary(ctx)
	if err != nil {
		return err
	}
	for _, t := range p.spec.Tenants {
		port, err := freePort()
		if err != nil {
			return err
		}
		fctx, cancel := context.WithCancel(context.Background())
		link := &agentLink{client: api.NewClient(fmt.Sprintf("http://127.0.0.1:%d", port)), cancel: cancel}
		p.agents[t] = link
		link.done.Add(1)
		go p.forward(fctx, &link.done, kubectl, platform.Namespace(t), port)
		if err := p.waitFor(ctx, time.Minute, func() error { return link.client.Healthy(ctx) }); err != nil {
			return fmt.Errorf("reach the agent of tenant %s through port %d: %w", t, port, err)
		}
	}
	return nil
}

// forward keeps `kubectl port-forward` to ns's agent running on port until ctx ends.
func (p *Platform) forward(ctx context.Context, done *sync.WaitGroup, kubectl, ns string, port int) {
	defer done.Done()
	for ctx.Err() == nil {
		// The context is named: the kubeconfig is shared, and another cluster created or deleted
		// meanwhile changes its current context.
		cmd := exec.CommandContext(ctx, kubectl, "--kubeconfig", p.cluster.Kubeconfig(), "--context", p.cluster.KubeContext(), "-n", ns,
			"port-forward", "deployment/dpsim-agent", fmt.Sprintf("%d:8080", port))
		stderr, _ := cmd.StderrPipe()
		if err := cmd.Start(); err != nil {
			p.log.Warn("agent port-forward", "namespace", ns, "err", err)
		} else {
			sc := bufio.NewScanner(stderr)
			for sc.Scan() {
				p.log.Debug("port-forward: "+sc.Text(), "namespace", ns)
			}
			_ = cmd.Wait()
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// kubectlBinary finds kubectl on the host, or copies the one the node image carries.
func (p *Platform) kubectlBinary(ctx context.Context) (string, error) {
	if path, err := exec.LookPath("kubectl"); err == nil {
		return path, nil
	}
	dir := filepath.Join(p.cacheDir(), "bin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	dst := filepath.Join(dir, "kubectl")
	if _, err := p.cluster.run(ctx, nil, p.cluster.docker, "cp", p.cluster.ControlPlaneName()+":/usr/bin/kubectl", dst); err != nil {
		return "", fmt.Errorf("copy kubectl from the control plane: %w", err)
	}
	return dst, nil
}

func (p *Platform) cacheDir() string {
	if p.opts.Images.CacheDir != "" {
		return filepath.Dir(p.opts.Images.CacheDir)
	}
	return filepath.Dir(images.DefaultCacheDir)
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// isNotFound tells a kubectl "not found" error.
func isNotFound(err error) bool { return err != nil && strings.Contains(err.Error(), "NotFound") }
