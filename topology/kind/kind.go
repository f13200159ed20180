// Package kind is dpsim's kind provider: it stands up a local Kubernetes
// cluster with sigs.k8s.io/kind's Go API (1 control plane + N workers labelled
// with availability zones), on the node image that package images builds
// offline, with kube-router as CNI and NetworkPolicy engine and
// local-path-provisioner making `local` volumes. It tears the cluster down and
// fails nodes (kill, restart) for the scenarios.
package kind

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodes"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"

	"dpsim/images"
	"dpsim/internal/atrest"
)

// Labels and names dpsim sets.
const (
	// ZoneLabel is the well-known label that carries a node's zone.
	ZoneLabel = "topology.kubernetes.io/zone"
	// ConfigLabel carries a hash of the cluster's configuration on every
	// node, so that `up` reuses an existing cluster only when it matches.
	ConfigLabel = "dpsim.io/config"
	// NetworkLabel marks a docker network dpsim created.
	NetworkLabel = "dpsim.io/created-by"
	// NetworkName is the docker network kind puts its nodes on.
	NetworkName = "kind"
	// StorageClass is the default StorageClass (local-path, `local` volumes).
	StorageClass = "standard"
	// PolicyEngine names what enforces NetworkPolicy on this provider.
	PolicyEngine = "kube-router " + images.KubeRouterVersion
	// localPathDir is where local-path-provisioner puts volumes on a node
	// (under /var, which kind makes a volume of the node container).
	localPathDir = "/var/local-path-provisioner"
)

// Config configures a kind cluster.
type Config struct {
	// ClusterName is kind's cluster name (default "dpsim").
	ClusterName string
	// Workers is the number of worker nodes (default 3).
	Workers int
	// Zones are assigned to workers round robin (default zone-a, zone-b, zone-c).
	Zones []string
	// Retain keeps the nodes of a failed Up for inspection.
	Retain bool
	// Logger receives progress; nil discards it.
	Logger *slog.Logger
	// NodeImage overrides the node image (default: images' kind-node tag).
	NodeImage string
	// BuildImages builds the node image in Up when it is missing; otherwise
	// Up fails and says to run `make images`.
	BuildImages bool
	// PolicyEngine is the CNI and NetworkPolicy engine: EngineKubeRouter (default, built offline)
	// or EngineCalico (needs its upstream images present locally).
	PolicyEngine string
	// DisableNetworkPolicy runs kube-router without its firewall: pods are
	// networked but NetworkPolicy is not enforced. For negative controls.
	DisableNetworkPolicy bool
	// ReadyTimeout bounds the wait for nodes and add-ons (default 5 min).
	ReadyTimeout time.Duration
	// KubeconfigPath is the kubeconfig file kind merges the cluster's context into and removes it
	// from on Down (default: the first file of $KUBECONFIG, else ~/.kube/config, as kubectl reads).
	KubeconfigPath string
	// Volumes is where the workers keep their volumes: VolumesNone (in the node containers),
	// VolumesPlain or VolumesFscrypt (on a disk of the cluster's, plaintext or encrypted).
	Volumes string
	// EvidenceDir is where a failed Up exports the nodes' logs (kind's `export logs`) before it
	// tears the cluster down, into a folder "cluster" ("": nothing is exported).
	EvidenceDir string
}

// Node is one node of the cluster as the provider sees it.
type Node struct {
	Name    string
	Zone    string // empty for the control plane
	Role    string // "control-plane" or "worker"
	Running bool   // the node container runs
	// Ready: the container runs and Kubernetes reports the node Ready.
	// Kubernetes' view lags: a killed node stays Ready there until the
	// node-monitor grace period (~50 s) passes, which is why Running is
	// reported apart.
	Ready bool
}

// Status is what exists of the cluster.
type Status struct {
	Exists     bool   // kind has nodes for the cluster name
	Nodes      []Node // as Nodes reports them
	Network    string // the docker network of the nodes
	Kubeconfig string // path of the kubeconfig Up wrote
	// PolicyEngine names what enforces NetworkPolicy ("" when disabled).
	PolicyEngine string
}

// Provider realises a Config as a kind cluster.
type Provider struct {
	cfg    Config
	log    *slog.Logger
	kind   *cluster.Provider
	docker string
	// reused is set by an Up that found the cluster already running and matching.
	reused bool
	// volumes is the volume disk this process made (nil if none or an earlier process's);
	// volumesErr is why it could not be made.
	volumes    *atrest.Disk
	volumesErr error
}

// Reused reports whether Up found the cluster already up (made by an earlier `dpsim up` or run).
func (p *Provider) Reused() bool { return p.reused }

var clusterNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]*$`)

// New validates cfg, fills in defaults and returns a provider. It does not
// touch Docker.
func New(cfg Config) (*Provider, error) {
	if cfg.ClusterName == "" {
		cfg.ClusterName = "dpsim"
	}
	if !clusterNameRE.MatchString(cfg.ClusterName) || len(cfg.ClusterName) > 50 {
		return nil, fmt.Errorf("cluster name %q: want lower-case letters, digits, '.' and '-', at most 50", cfg.ClusterName)
	}
	if cfg.Workers == 0 {
		cfg.Workers = 3
	}
	if cfg.Workers < 1 {
		return nil, fmt.Errorf("workers: %d, want at least 1", cfg.Workers)
	}
	if len(cfg.Zones) == 0 {
		cfg.Zones = []string{"zone-a", "zone-b", "zone-c"}
	}
	for _, z := range cfg.Zones {
		if z == "" || strings.ContainsAny(z, " ,=") {
			return nil, fmt.Errorf("zone %q: not a valid label value", z)
		}
	}
	if cfg.ReadyTimeout == 0 {
		cfg.ReadyTimeout = 5 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.NodeImage == "" {
		t, err := images.Tag(images.KindNode)
		if err != nil {
			return nil, err
		}
		cfg.NodeImage = t
	}
	if cfg.KubeconfigPath == "" {
		cfg.KubeconfigPath = defaultKubeconfig()
	}
	log := cfg.Logger.With("provider", "kind", "cluster", cfg.ClusterName)
	return &Provider{
		cfg:    cfg,
		log:    log,
		kind:   cluster.NewProvider(cluster.ProviderWithDocker(), cluster.ProviderWithLogger(kindLogger{log})),
		docker: "docker",
	}, nil
}

// Config returns the provider's configuration with defaults filled in.
func (p *Provider) Config() Config { return p.cfg }

// Kubeconfig returns the path of the cluster's kubeconfig (valid after Up).
func (p *Provider) Kubeconfig() string { return p.cfg.KubeconfigPath }

// KubeContext is the cluster's context in the kubeconfig, as kind names it.
func (p *Provider) KubeContext() string { return "kind-" + p.cfg.ClusterName }

// Network returns the docker network the nodes are on.
func (p *Provider) Network() string { return NetworkName }

// WorkerName returns kind's name of worker i (0-based).
func (p *Provider) WorkerName(i int) string {
	if i == 0 {
		return p.cfg.ClusterName + "-worker"
	}
	return p.cfg.ClusterName + "-worker" + strconv.Itoa(i+1)
}

// ControlPlaneName returns kind's name of the control-plane node.
func (p *Provider) ControlPlaneName() string { return p.cfg.ClusterName + "-control-plane" }

// zoneOf returns the zone of worker i.
func (p *Provider) zoneOf(i int) string { return p.cfg.Zones[i%len(p.cfg.Zones)] }

// fingerprint identifies everything about the cluster that Up must not
// silently change on a reused cluster.
func (p *Provider) fingerprint() string {
	h := sha256.New()
	fmt.Fprintf(h, "image %s\nworkers %d\nzones %s\npolicy %v %s\nvolumes %s\ncni portmap\n%s\n%s\n",
		p.cfg.NodeImage, p.cfg.Workers, strings.Join(p.cfg.Zones, ","), !p.cfg.DisableNetworkPolicy, p.cfg.PolicyEngine, p.cfg.Volumes,
		strings.Join(hostPatches().kubeadm, "\n"), strings.Join(hostPatches().containerd, "\n"))
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Up creates the cluster, installs its add-ons and waits until every node
// and add-on is ready. An existing cluster of the same name is reused when it
// runs and matches the configuration, and is otherwise deleted and created
// anew (this covers node containers left stopped by a machine restart).
// When Up fails, it tears down what it made unless Retain is set.
func (p *Provider) Up(ctx context.Context) (err error) {
	start := time.Now()
	if err := p.checkDocker(ctx); err != nil {
		return err
	}
	if p.cfg.PolicyEngine == EngineCalico {
		if _, _, err := p.calicoPresent(ctx); err != nil {
			return err
		}
	}
	if err := p.ensureNodeImage(ctx); err != nil {
		return err
	}
	reused, err := p.reuse(ctx)
	if err != nil {
		return err
	}
	if reused {
		p.reused = true
		p.log.Info("cluster reused", "elapsed", time.Since(start).Round(time.Second).String())
		return nil
	}
	defer func() {
		if err != nil && ctx.Err() == nil && p.cfg.EvidenceDir != "" {
			dir := filepath.Join(p.cfg.EvidenceDir, "cluster")
			start := time.Now()
			cerr := p.kind.CollectLogs(p.cfg.ClusterName, dir)
			p.log.Info("nodes' logs exported", "dir", dir, "elapsed", time.Since(start).Round(time.Second).String())
			err = fmt.Errorf("%w (%s)", err, evidenceNote(dir, cerr))
		}
		if err != nil && !p.cfg.Retain {
			p.log.Warn("up failed, tearing down", "err", err)
			c, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
			defer cancel()
			if derr := p.Down(c); derr != nil {
				err = errors.Join(err, fmt.Errorf("tear down after failed up: %w", derr))
			}
		}
	}()
	if err := p.ensureNetwork(ctx); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p.cfg.KubeconfigPath), 0o700); err != nil {
		return fmt.Errorf("kubeconfig dir: %w", err)
	}
	if err := p.createVolumes(ctx); err != nil {
		return err
	}
	createStart := time.Now()
	p.log.Info("creating cluster", "workers", p.cfg.Workers, "zones", strings.Join(p.cfg.Zones, ","), "image", p.cfg.NodeImage)
	// kind's Create takes no context; it returns within a minute or so.
	if err := p.kind.Create(p.cfg.ClusterName,
		cluster.CreateWithV1Alpha4Config(p.kindConfig()),
		cluster.CreateWithRetain(true), // Up's own teardown honours Config.Retain
		cluster.CreateWithKubeconfigPath(p.cfg.KubeconfigPath),
		cluster.CreateWithDisplayUsage(false),
		cluster.CreateWithDisplaySalutation(false),
	); err != nil {
		return fmt.Errorf("kind create cluster %s: %w", p.cfg.ClusterName, err)
	}
	p.log.Info("cluster created", "elapsed", time.Since(createStart).Round(time.Second).String())
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := p.installAddons(ctx); err != nil {
		return err
	}
	if err := p.waitReady(ctx, p.cfg.ReadyTimeout); err != nil {
		return err
	}
	p.log.Info("cluster up", "elapsed", time.Since(start).Round(time.Second).String())
	return nil
}

// kindConfig is the kind cluster configuration.
func (p *Provider) kindConfig() *v1alpha4.Cluster {
	fp := p.fingerprint()
	cfg := &v1alpha4.Cluster{
		TypeMeta: v1alpha4.TypeMeta{Kind: "Cluster", APIVersion: "kind.x-k8s.io/v1alpha4"},
		Name:     p.cfg.ClusterName,
		Nodes: []v1alpha4.Node{{
			Role:   v1alpha4.ControlPlaneRole,
			Image:  p.cfg.NodeImage,
			Labels: map[string]string{ConfigLabel: fp},
		}},
		Networking: v1alpha4.Networking{DisableDefaultCNI: true},
	}
	for i := range p.cfg.Workers {
		cfg.Nodes = append(cfg.Nodes, v1alpha4.Node{
			Role:        v1alpha4.WorkerRole,
			Image:       p.cfg.NodeImage,
			Labels:      map[string]string{ZoneLabel: p.zoneOf(i), ConfigLabel: fp},
			ExtraMounts: p.volumeMounts(p.WorkerName(i)),
		})
	}
	hp := hostPatches()
	cfg.KubeadmConfigPatches = hp.kubeadm
	cfg.ContainerdConfigPatches = hp.containerd
	v1alpha4.SetDefaultsCluster(cfg)
	return cfg
}

// patches are the host-dependent settings of the nodes.
type patches struct {
	kubeadm, containerd []string
}

// hostPatches returns the settings this host needs (see DESIGN.md):
// kubelet's failCgroupV1 off on cgroup v1 hosts, and containerd's
// restrict_oom_score_adj where the capability bounding set lacks
// CAP_SYS_RESOURCE (setting oom_score_adj below 0 is then refused).
func hostPatches() patches {
	var p patches
	if !cgroupV2() {
		p.kubeadm = append(p.kubeadm, "kind: KubeletConfiguration\nfailCgroupV1: false\n")
	}
	if !hasCapSysResource() {
		p.containerd = append(p.containerd, "[plugins.\"io.containerd.grpc.v1.cri\"]\n  restrict_oom_score_adj = true\n")
	}
	return p
}

// cgroupV2 reports whether the host runs the unified cgroup hierarchy.
func cgroupV2() bool {
	_, err := os.Stat("/sys/fs/cgroup/cgroup.controllers")
	return err == nil
}

// hasCapSysResource reports whether CAP_SYS_RESOURCE (bit 24) is in this
// process's capability bounding set.
func hasCapSysResource() bool {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return true
	}
	return capBoundingHas(string(data), 24)
}

func capBoundingHas(status string, bit uint) bool {
	for line := range strings.SplitSeq(status, "\n") {
		if v, ok := strings.CutPrefix(line, "CapBnd:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				return true
			}
			return n&(1<<bit) != 0
		}
	}
	return true
}

// checkDocker fails clearly when the engine does not answer.
func (p *Provider) checkDocker(ctx context.Context) error {
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if _, err := p.run(c, nil, p.docker, "info", "--format", "{{.ServerVersion}}"); err != nil {
		return fmt.Errorf("docker engine not answering (run `make deps` as root to install and start it): %w", err)
	}
	return nil
}

// ensureNodeImage makes sure the node image exists locally: kind would try
// to pull it otherwise, and nothing can be pulled here.
func (p *Provider) ensureNodeImage(ctx context.Context) error {
	if _, err := p.run(ctx, nil, p.docker, "image", "inspect", "--format", "{{.Id}}", p.cfg.NodeImage); err == nil {
		return nil
	}
	if !p.cfg.BuildImages {
		return fmt.Errorf("node image %s not found: build it with `make images`", p.cfg.NodeImage)
	}
	if p.cfg.NodeImage != images.MustTag(images.KindNode) {
		return fmt.Errorf("node image %s not found and not one dpsim builds", p.cfg.NodeImage)
	}
	_, err := images.Build(ctx, p.log, []string{images.KindNode}, images.Options{})
	return err
}

// reuse decides what to do with an existing cluster of the same name. It
// returns true when the cluster runs, matches the configuration and is
// ready; it deletes any other cluster of that name.
func (p *Provider) reuse(ctx context.Context) (bool, error) {
	existing, err := p.kind.ListNodes(p.cfg.ClusterName)
	if err != nil {
		return false, fmt.Errorf("list nodes of cluster %s: %w", p.cfg.ClusterName, err)
	}
	if len(existing) == 0 {
		return false, nil
	}
	why := p.unusable(ctx, existing)
	if why == "" {
		p.log.Info("cluster exists and matches; reusing it")
		if why = p.settle(ctx); why == "" {
			return true, p.kind.ExportKubeConfig(p.cfg.ClusterName, p.cfg.KubeconfigPath, false)
		}
	}
	p.log.Info("deleting existing cluster", "reason", why)
	if err := p.kind.Delete(p.cfg.ClusterName, p.cfg.KubeconfigPath); err != nil {
		return false, fmt.Errorf("delete existing cluster %s: %w", p.cfg.ClusterName, err)
	}
	return false, nil
}

// settle re-applies the add-ons of a reused cluster and waits for it to be
// ready; it says why that failed ("" when it did not).
func (p *Provider) settle(ctx context.Context) string {
	if err := p.installAddons(ctx); err != nil {
		return "add-ons: " + err.Error()
	}
	// A cluster that was fine needs no long wait; a broken one is recreated.
	if err := p.waitReady(ctx, min(p.cfg.ReadyTimeout, 90*time.Second)); err != nil {
		return "not ready: " + err.Error()
	}
	return ""
}

// unusable says why existing nodes cannot be reused ("" when they can).
func (p *Provider) unusable(ctx context.Context, existing []nodes.Node) string {
	if len(existing) != 1+p.cfg.Workers {
		return fmt.Sprintf("has %d nodes, want %d", len(existing), 1+p.cfg.Workers)
	}
	for _, n := range existing {
		st, err := p.containerState(ctx, n.String())
		if err != nil {
			return err.Error()
		}
		if !st.running {
			return "node " + n.String() + " is not running"
		}
		if st.image != p.cfg.NodeImage {
			return "node " + n.String() + " runs image " + st.image
		}
	}
	out, err := p.Kubectl(ctx, nil, "get", "nodes", "-o", "jsonpath={range .items[*]}{.metadata.labels.dpsim\\.io/config}{\"\\n\"}{end}")
	if err != nil {
		return "api server not answering: " + err.Error()
	}
	fp := p.fingerprint()
	labels := strings.Fields(string(out))
	if len(labels) != 1+p.cfg.Workers {
		return fmt.Sprintf("api server lists %d nodes, want %d", len(labels), 1+p.cfg.Workers)
	}
	for _, l := range labels {
		if l != fp {
			return "made with another configuration"
		}
	}
	return p.volumesUnusable()
}

type containerState struct {
	running bool
	image   string
}

func (p *Provider) containerState(ctx context.Context, name string) (containerState, error) {
	out, err := p.run(ctx, nil, p.docker, "inspect", "--format", "{{.State.Running}} {{.Config.Image}}", name)
	if err != nil {
		return containerState{}, fmt.Errorf("inspect node %s: %w", name, err)
	}
	running, image, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	return containerState{running: running == "true", image: image}, nil
}

// ensureNetwork creates kind's docker network, labelled as dpsim's, when it
// does not exist yet, so that Down removes only a network dpsim made.
func (p *Provider) ensureNetwork(ctx context.Context) error {
	if _, err := p.run(ctx, nil, p.docker, "network", "inspect", NetworkName); err == nil {
		return nil
	}
	args := []string{"network", "create", "--driver", "bridge", "--label", NetworkLabel + "=dpsim",
		"-o", "com.docker.network.bridge.enable_ip_masquerade=true"}
	if out, err := p.run(ctx, nil, p.docker, "network", "inspect", "bridge", "--format",
		`{{index .Options "com.docker.network.driver.mtu"}}`); err == nil {
		if mtu := strings.TrimSpace(string(out)); mtu != "" && mtu != "<no value>" {
			args = append(args, "-o", "com.docker.network.driver.mtu="+mtu)
		}
	}
	used, err := p.usedSubnets(ctx)
	if err != nil {
		return err
	}
	subnet, err := freeSubnet(used)
	if err != nil {
		return err
	}
	args = append(args, "--subnet", subnet, NetworkName)
	if _, err := p.run(ctx, nil, p.docker, args...); err != nil {
		return fmt.Errorf("create docker network %s: %w", NetworkName, err)
	}
	p.log.Info("docker network created", "network", NetworkName, "subnet", subnet)
	return nil
}

// defaultKubeconfig is where kubectl looks by default: the first file of $KUBECONFIG, else
// ~/.kube/config. kind merges the cluster's context into it and removes it again on delete.
func defaultKubeconfig() string {
	if env := os.Getenv("KUBECONFIG"); env != "" {
		return filepath.SplitList(env)[0]
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = os.TempDir()
	}
	return filepath.Join(home, ".kube", "config")
}

// Down deletes the cluster, the docker network if dpsim created it and
// nothing else uses it, and the kubeconfig file. It succeeds when there is
// nothing to remove.
func (p *Provider) Down(ctx context.Context) error {
	var errs []error
	existing, err := p.kind.ListNodes(p.cfg.ClusterName)
	if err != nil {
		errs = append(errs, fmt.Errorf("list nodes: %w", err))
	}
	if len(existing) > 0 || err != nil {
		if err := p.kind.Delete(p.cfg.ClusterName, p.cfg.KubeconfigPath); err != nil {
			errs = append(errs, fmt.Errorf("delete cluster %s: %w", p.cfg.ClusterName, err))
		} else {
			p.log.Info("cluster deleted")
		}
	}
	if err := p.removeNetwork(ctx); err != nil {
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		if err := p.removeVolumes(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (p *Provider) removeNetwork(ctx context.Context) error {
	out, err := p.run(ctx, nil, p.docker, "network", "inspect", "--format",
		`{{index .Labels "`+NetworkLabel+`"}} {{len .Containers}}`, NetworkName)
	if err != nil {
		return nil // no network
	}
	owner, count, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	if owner != "dpsim" {
		return nil
	}
	if count != "0" {
		p.log.Info("docker network kept: containers still attached", "network", NetworkName, "containers", count)
		return nil
	}
	if _, err := p.run(ctx, nil, p.docker, "network", "rm", NetworkName); err != nil {
		return fmt.Errorf("remove docker network %s: %w", NetworkName, err)
	}
	p.log.Info("docker network removed", "network", NetworkName)
	return nil
}

// Status reports whether the cluster exists and the state of its nodes.
func (p *Provider) Status(ctx context.Context) (Status, error) {
	st := Status{Network: NetworkName, Kubeconfig: p.cfg.KubeconfigPath}
	if !p.cfg.DisableNetworkPolicy {
		st.PolicyEngine = p.EngineName()
	}
	nodes, err := p.Nodes(ctx)
	if err != nil {
		return st, err
	}
	st.Exists = len(nodes) > 0
	st.Nodes = nodes
	return st, nil
}

// Kubectl runs kubectl with the cluster's admin credentials inside the
// control-plane node (the node image carries the kubectl built with the
// Kubernetes binaries, so the host needs none) and returns its output.
func (p *Provider) Kubectl(ctx context.Context, stdin io.Reader, args ...string) ([]byte, error) {
	return p.run(ctx, stdin, p.docker, p.kubectlArgs(stdin != nil, args...)...)
}

// kubectlArgs are the docker arguments that run kubectl with args in the control-plane node
// (interactive: with standard input attached).
func (p *Provider) kubectlArgs(interactive bool, args ...string) []string {
	full := []string{"exec"}
	if interactive {
		full = append(full, "-i")
	}
	full = append(full, p.ControlPlaneName(), "kubectl", "--kubeconfig=/etc/kubernetes/admin.conf")
	return append(full, args...)
}

// run runs a command and returns its standard output; its error carries the
// command's standard error.
func (p *Provider) run(ctx context.Context, stdin io.Reader, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 2000 {
			msg = msg[len(msg)-2000:]
		}
		return stdout.Bytes(), fmt.Errorf("%s %s: %w: %s", filepath.Base(name), strings.Join(firstArgs(args, 6), " "), err, msg)
	}
	return stdout.Bytes(), nil
}

func firstArgs(args []string, n int) []string {
	if len(args) <= n {
		return args
	}
	return append(slices.Clone(args[:n]), "…")
}

// LoadImages copies locally built images into every node's containerd, for images the node does
// not already hold (a reused cluster keeps what was loaded before).
func (p *Provider) LoadImages(ctx context.Context, tags ...string) error {
	return p.loadImages(ctx, false, tags)
}

// LoadControlPlaneImages is LoadImages into the control plane only, for what runs only there.
func (p *Provider) LoadControlPlaneImages(ctx context.Context, tags ...string) error {
	return p.loadImages(ctx, true, tags)
}

func (p *Provider) loadImages(ctx context.Context, controlPlaneOnly bool, tags []string) error {
	all, err := p.kind.ListNodes(p.cfg.ClusterName)
	if err != nil {
		return err
	}
	var targets []nodes.Node
	var missing []string
	for _, n := range all {
		if controlPlaneOnly && n.String() != p.ControlPlaneName() {
			continue
		}
		lack, err := p.missingImages(ctx, n.String(), tags)
		if err != nil {
			return err
		}
		if len(lack) > 0 {
			targets = append(targets, n)
		}
		for _, t := range lack {
			if !slices.Contains(missing, t) {
				missing = append(missing, t)
			}
		}
	}
	if len(missing) == 0 {
		return nil
	}
	dir, err := os.MkdirTemp("", "dpsim-images-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	archive := filepath.Join(dir, "images.tar")
	// docker save writes a new file at the path: open it only afterwards.
	if _, err := p.run(ctx, nil, p.docker, append([]string{"save", "-o", archive}, missing...)...); err != nil {
		return fmt.Errorf("save images: %w", err)
	}
	// One node at a time takes as long per node as all of them at once: the import is I/O bound.
	errs := make([]error, len(targets))
	var wg sync.WaitGroup
	for i, n := range targets {
		wg.Go(func() {
			if err := loadArchive(n, archive); err != nil {
				errs[i] = fmt.Errorf("load images into %s: %w", n, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// missingImages lists the tags node's containerd does not hold.
func (p *Provider) missingImages(ctx context.Context, node string, tags []string) ([]string, error) {
	out, err := p.run(ctx, nil, p.docker, "exec", node, "ctr", "-n", "k8s.io", "images", "ls", "-q")
	if err != nil {
		return nil, fmt.Errorf("list the images of node %s: %w", node, err)
	}
	have := map[string]bool{}
	for _, ref := range strings.Fields(string(out)) {
		have[ref] = true
	}
	var missing []string
	for _, t := range tags {
		if !have[t] && !have["docker.io/"+t] && !have["docker.io/library/"+t] {
			missing = append(missing, t)
		}
	}
	return missing, nil
}

func loadArchive(n nodes.Node, archive string) error {
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	return nodeutils.LoadImageArchive(n, f)
}
