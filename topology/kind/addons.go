package kind

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/template"
	"time"

	"dpsim/images"
)

//go:embed manifests/local-path.yaml
var localPathManifest string

// kubeRouterManifest returns kube-router's kubeadm daemonset manifest from
// the Go module cache of its pinned version, with the locally built image
// (never pulled) and, when policy is off, its firewall disabled.
func kubeRouterManifest(ctx context.Context, disablePolicy bool) (string, error) {
	dir, err := images.ModuleDir(ctx, images.KubeRouterModule, images.KubeRouterVersion)
	if err != nil {
		return "", err
	}
	raw, err := os.ReadFile(filepath.Join(dir, "daemonset", "kubeadm-kuberouter.yaml"))
	if err != nil {
		return "", fmt.Errorf("read kube-router manifest: %w", err)
	}
	return adaptKubeRouter(string(raw), images.MustTag(images.KubeRouter), disablePolicy)
}

// cniBridgeEnd is the end of the bridge plugin in kube-router's CNI configuration; cniPortmap is
// the plugin that maps hostPorts, as kind's own CNI configuration has it.
const (
	cniBridgeEnd = "                \"type\":\"host-local\"\n             }\n          }\n"
	cniPortmap   = `          {"type":"portmap","capabilities":{"snat":true,"portMappings":true}}`
)

// adaptKubeRouter rewrites kube-router's manifest; it fails when the
// manifest no longer has the lines it rewrites.
func adaptKubeRouter(m, image string, disablePolicy bool) (string, error) {
	edits := []struct{ old, new string }{
		{"image: docker.io/cloudnativelabs/kube-router\n", "image: " + image + "\n"},
		{"imagePullPolicy: Always\n", "imagePullPolicy: Never\n"},
		// The portmap plugin after the bridge, so that the ingress's hostPorts 80 and 443 work.
		{cniBridgeEnd, cniBridgeEnd[:len(cniBridgeEnd)-1] + ",\n" + cniPortmap + "\n"},
	}
	if disablePolicy {
		edits = append(edits, struct{ old, new string }{"- --run-firewall=true\n", "- --run-firewall=false\n"})
	}
	for _, e := range edits {
		if !strings.Contains(m, e.old) {
			return "", fmt.Errorf("kube-router manifest: %q not found", strings.TrimSpace(e.old))
		}
		m = strings.ReplaceAll(m, e.old, e.new)
	}
	return m, nil
}

// renderLocalPath renders dpsim's local-path-provisioner manifest.
func renderLocalPath() (string, error) {
	t, err := template.New("local-path").Option("missingkey=error").Parse(localPathManifest)
	if err != nil {
		return "", err
	}
	var out bytes.Buffer
	err = t.Execute(&out, map[string]string{
		"ProvisionerImage": images.MustTag(images.LocalPathProvisioner),
		"HelperImage":      images.MustTag(images.LocalPathHelper),
		"StorageClass":     StorageClass,
		"Path":             localPathDir,
	})
	return out.String(), err
}

// installAddons applies kube-router and local-path-provisioner (idempotent).
func (p *Provider) installAddons(ctx context.Context) error {
	engine, cni := EngineKubeRouter, ""
	var err error
	if p.cfg.PolicyEngine == EngineCalico {
		engine = EngineCalico
		cni, err = p.calicoAddon(ctx)
	} else {
		cni, err = kubeRouterManifest(ctx, p.cfg.DisableNetworkPolicy)
	}
	if err != nil {
		return err
	}
	lp, err := renderLocalPath()
	if err != nil {
		return fmt.Errorf("render local-path manifest: %w", err)
	}
	start := time.Now()
	for _, m := range []struct{ name, yaml string }{{engine, cni}, {"local-path-provisioner", lp}} {
		if _, err := p.Kubectl(ctx, strings.NewReader(m.yaml), "apply", "-f", "-"); err != nil {
			return fmt.Errorf("apply %s: %w", m.name, err)
		}
	}
	p.log.Info("add-ons applied", "policy_engine", p.EngineName(), "network_policy", !p.cfg.DisableNetworkPolicy,
		"elapsed", time.Since(start).Round(time.Millisecond).String())
	return nil
}

// waitReady waits, within timeout, until every node is Ready and the CNI, DNS and storage add-ons
// are rolled out, saying every 30 s which pods are not ready yet.
func (p *Provider) waitReady(ctx context.Context, timeout time.Duration) error {
	start := time.Now()
	deadline := start.Add(timeout)
	steps := []waitStep{
		p.engineRollout(),
		{"nodes", []string{"wait", "--for=condition=Ready", "node", "--all"}},
		{"coredns", []string{"-n", "kube-system", "rollout", "status", "deployment/coredns"}},
		{"local-path-provisioner", []string{"-n", "local-path-storage", "rollout", "status", "deployment/local-path-provisioner"}},
	}
	for _, s := range steps {
		if err := p.waitKubectl(ctx, deadline, s.what, s.args, func() string { return p.notReady(ctx, "") }); err != nil {
			return fmt.Errorf("%w (deadline %s)", err, timeout)
		}
	}
	p.log.Info("nodes and add-ons ready", "elapsed", time.Since(start).Round(time.Second).String())
	return nil
}

// EngineName names the NetworkPolicy engine in force, with its version, for reports.
func (p *Provider) EngineName() string {
	if p.cfg.PolicyEngine == EngineCalico {
		return "calico v3.28.5"
	}
	return PolicyEngine
}

// waitStep is one readiness wait: what is awaited and the kubectl arguments that wait for it.
type waitStep struct {
	what string
	args []string
}

// engineRollout waits for the CNI and policy engine's daemonset.
func (p *Provider) engineRollout() waitStep {
	ds := "daemonset/kube-router"
	if p.cfg.PolicyEngine == EngineCalico {
		ds = "daemonset/calico-node"
	}
	return waitStep{ds, []string{"-n", "kube-system", "rollout", "status", ds}}
}
