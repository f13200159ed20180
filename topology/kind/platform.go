package kind

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"dpsim/agent/api"
	"dpsim/images"
	"dpsim/stores/s3/keys"
	"dpsim/topology"
	"dpsim/topology/minio"
	"dpsim/topology/platform"
)

// Object store credentials: the store lives on the host's own Docker network, for this run only.
const (
	objectStoreAccessKey = "dpsimadmin"
	objectStoreSecretKey = "dpsim-object-store-secret"
	ingressNamespace     = "ingress"
	// objectStoreName is the object store's component name: S3 beside the cluster, MinIO on kind.
	objectStoreName = "objectstore"
)

// PlatformOptions tune the kind platform.
type PlatformOptions struct {
	// Retain keeps what a failed Up made, for inspection.
	Retain bool
	// Images tunes image builds.
	Images images.Options
	// ReadyTimeout bounds each wait for the platform to be ready or to recover (default 10 min).
	ReadyTimeout time.Duration
	// EvidenceDir is where what explains a failed stand-up step is collected before anything is
	// torn down (a folder per step; "": nothing is collected).
	EvidenceDir string
}

// Platform is the kind provider of the whole platform: the cluster, the object store beside it
// and, per tenant, Kafka, Elasticsearch and the dpsim agent that drives them. It implements
// topology.Provider with the inventory, data-store, node-kill, drive-loss, partition and settle
// capabilities.
type Platform struct {
	log     *slog.Logger
	opts    PlatformOptions
	spec    topology.Spec
	cluster *Provider
	objects *minio.Store
	agents  map[string]*agentLink // by tenant

	probersMu sync.Mutex
	probers   map[string]bool // nodes the prober binary was copied into

	// withEdge deploys the ingress and its ACME CA (Plan); certIssuance is how long the
	// certificates took to be served once the edge was up.
	withEdge     bool
	certIssuance time.Duration
	// withIdentity deploys Keycloak and its database (Plan); identityApplied is when, for the
	// log of how long it took to be ready.
	withIdentity    bool
	identityApplied time.Time

	// unavailable maps each capability of a part that could not be stood up to why (Degraded);
	// failedParts names those parts.
	unavailable map[topology.Capability]string
	failedParts map[string]bool

	mu             sync.Mutex
	isolated       []string          // nodes cut off by Isolate
	droppedVolumes map[string]string // tenant/pod -> the volume DropDrive destroyed
}

var (
	_ topology.Provider     = (*Platform)(nil)
	_ topology.Inventory    = (*Platform)(nil)
	_ topology.StoreAccess  = (*Platform)(nil)
	_ topology.NodeKiller   = (*Platform)(nil)
	_ topology.DriveDropper = (*Platform)(nil)
	_ topology.Partitioner  = (*Platform)(nil)
	_ topology.Settler      = (*Platform)(nil)
	_ topology.Preexisting  = (*Platform)(nil)
	_ topology.Degraded     = (*Platform)(nil)
)

// Unavailable implements topology.Degraded: the capabilities of the parts Up could not stand up.
func (p *Platform) Unavailable() map[topology.Capability]string { return maps.Clone(p.unavailable) }

// Preexisting implements topology.Preexisting: the cluster was up before this Up.
func (p *Platform) Preexisting() bool { return p.cluster != nil && p.cluster.Reused() }

// NewPlatform returns the kind platform provider; it touches nothing until Up. Unless Plan says
// otherwise, Up stands the whole platform up, the edge and the identity provider included.
func NewPlatform(log *slog.Logger, opts PlatformOptions) *Platform {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = 10 * time.Minute
	}
	return &Platform{log: log, opts: opts, agents: map[string]*agentLink{}, droppedVolumes: map[string]string{}, withEdge: true, withIdentity: true}
}

// Name implements topology.Provider.
func (p *Platform) Name() string { return "kind" }

// Versions names what the platform runs, for the report: Kubernetes, kind, the NetworkPolicy
// engine in force and the stores.
func (p *Platform) Versions() map[string]string {
	v := map[string]string{
		"kubernetes": images.KubernetesVersion, "kind": images.KindVersion,
		"kafka": images.KafkaVersion, "elasticsearch": images.ElasticsearchVersion, "minio": images.MinIOVersion,
		"velero": images.VeleroVersion,
	}
	if p.cluster != nil {
		v["policyEngine"] = p.cluster.EngineName()
	}
	if p.withEdge {
		maps.Copy(v, edgeVersions())
	}
	if p.withIdentity {
		maps.Copy(v, identityVersions())
	}
	return v
}

// Cluster returns the cluster under the platform, for probes and tests (nil before Up).
func (p *Platform) Cluster() *Provider { return p.cluster }

// clusterFor makes the cluster provider of spec.
func (p *Platform) clusterFor(spec topology.Spec) (*Provider, error) {
	return New(Config{ClusterName: spec.Name, Workers: spec.Nodes, Zones: spec.Zones, Retain: p.opts.Retain,
		Logger: p.log, BuildImages: true, ReadyTimeout: p.opts.ReadyTimeout, PolicyEngine: spec.Network.PolicyEngine, Volumes: spec.Encryption.AtRest,
		EvidenceDir: p.opts.EvidenceDir})
}

// The parts of the platform that a run can do without: when one cannot be stood up, the run goes
// on, and the scenarios that need what it serves are errors with the diagnosis.
const (
	partVelero   = "velero"
	partIdentity = "identity"
	partEdge     = "edge"
	partTenants  = "tenants"
)

// partServes maps each part to the capabilities it serves (the identity provider is read through
// the edge, so the edge serves its capabilities too).
var partServes = map[string][]topology.Capability{
	partVelero:   {topology.CapBackup, topology.CapOffboarding},
	partIdentity: identityNeeds,
	partEdge:     append(slices.Clone(edgeNeeds), identityNeeds...),
	partTenants:  {topology.CapStores, topology.CapBackup, topology.CapOffboarding, topology.CapIsolation, topology.CapEncryption},
}

// Up builds what is missing, creates the cluster, starts the object store, installs Velero and
// deploys every tenant with its backup schedule, the identity provider and the edge, then waits
// until all of it is ready and the agents answer. A part that cannot be stood up (Velero, the
// identity provider, the edge, a tenant's component) leaves its capabilities unavailable with the
// diagnosis and its evidence, and Up goes on; a failure of the cluster, the object store or the
// agents fails Up, after the evidence of what was up is collected.
func (p *Platform) Up(ctx context.Context, spec topology.Spec) (err error) {
	p.spec = spec
	p.unavailable, p.failedParts = map[topology.Capability]string{}, map[string]bool{}
	c, err := p.clusterFor(spec)
	if err != nil {
		return err
	}
	p.cluster = c
	recipes := append(p.loadedImages(), images.MinIO)
	if _, err := images.Build(ctx, p.log, recipes, p.opts.Images); err != nil {
		return fmt.Errorf("build platform images: %w", err)
	}
	if err := c.Up(ctx); err != nil {
		return err
	}
	defer func() {
		if err != nil && ctx.Err() == nil && p.opts.EvidenceDir != "" {
			dir := filepath.Join(p.opts.EvidenceDir, "stand-up")
			err = fmt.Errorf("%w (%s)", err, evidenceNote(dir, p.collectNow(ctx, dir)))
		}
	}()
	// The identity provider runs on the control plane only: its images (Keycloak's is the
	// largest) go there alone.
	var everywhere, controlPlane []string
	for _, r := range p.loadedImages() {
		if slices.Contains(identityImages(), r) {
			controlPlane = append(controlPlane, images.MustTag(r))
		} else {
			everywhere = append(everywhere, images.MustTag(r))
		}
	}
	start := time.Now()
	if err := c.LoadImages(ctx, everywhere...); err != nil {
		return fmt.Errorf("load platform images into the nodes: %w", err)
	}
	if err := c.LoadControlPlaneImages(ctx, controlPlane...); err != nil {
		return fmt.Errorf("load the identity provider's images into the control plane: %w", err)
	}
	p.log.Info("platform images loaded into the nodes", "elapsed", since(start))
	if err := minio.RemoveAll(ctx, spec.Name); err != nil {
		return err
	}
	p.objects, err = minio.Run(ctx, minio.Config{Owner: spec.Name, Image: images.MustTag(images.MinIO), Network: c.Network(),
		Drives: spec.ObjectStore.Drives, Parity: spec.ObjectStore.Parity, AccessKey: objectStoreAccessKey, SecretKey: objectStoreSecretKey, Logger: p.log})
	if err != nil {
		return err
	}
	p.part(ctx, partVelero, []string{veleroNamespace}, func() error { return p.applyVelero(ctx) })
	opts := p.platformOptions()
	if p.withIdentity { // Keycloak starts while the tenants and the edge come up
		p.part(ctx, partIdentity, []string{platform.IdentityNamespace}, func() error { return p.applyIdentity(ctx, opts) })
	}
	p.part(ctx, partTenants, p.tenantNamespaces(), func() error { return p.deployTenants(ctx, opts) })
	if p.withIdentity {
		p.part(ctx, partIdentity, []string{platform.IdentityNamespace}, func() error { return p.waitIdentity(ctx) })
	}
	if p.withEdge {
		p.part(ctx, partEdge, []string{ingressNamespace}, func() error {
			if err := p.applyEdge(ctx, opts); err != nil {
				return err
			}
			return p.applyVPC(ctx)
		})
	}
	p.part(ctx, partVelero, []string{veleroNamespace}, func() error { return p.waitVelero(ctx) })
	if err := ctx.Err(); err != nil {
		return err
	}
	p.checkConfig(ctx)
	if p.failedParts[partTenants] {
		return nil // no agent to reach: every capability that needs one is unavailable
	}
	return p.connectAgents(ctx)
}

// part runs one stand-up step of a part the run can do without, unless an earlier step of that
// part failed. When the step fails, what explains it (the part's pods' logs and events, what is not
// ready and why, the nodes' conditions) is collected into the evidence folder first, then the
// part's capabilities are marked unavailable with the failure and where its evidence is, and the
// stand-up goes on. An interrupted step is left to Up, which stops.
func (p *Platform) part(ctx context.Context, name string, namespaces []string, step func() error) {
	if p.failedParts[name] {
		return
	}
	err := step()
	if err == nil || ctx.Err() != nil {
		return
	}
	note := "no evidence collected"
	if p.opts.EvidenceDir != "" {
		dir := filepath.Join(p.opts.EvidenceDir, name)
		note = evidenceNote(dir, p.collectNow(ctx, dir, namespaces...))
	}
	p.markUnavailable(name, fmt.Sprintf("%s could not be stood up: %v (%s)", name, err, note))
}

// markUnavailable fails part: the capabilities it serves are unavailable, for why.
func (p *Platform) markUnavailable(part, why string) {
	p.log.Error(why)
	p.failedParts[part] = true
	for _, c := range partServes[part] {
		if _, ok := p.unavailable[c]; !ok {
			p.unavailable[c] = why
		}
	}
}

// collectNow collects the evidence of namespaces (default: every namespace dpsim deploys), all
// their logs, into dir, within a bound of its own.
func (p *Platform) collectNow(ctx context.Context, dir string, namespaces ...string) error {
	if len(namespaces) == 0 {
		namespaces = p.namespaces()
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Minute)
	defer cancel()
	start := time.Now()
	err := p.collect(cctx, dir, namespaces, time.Time{})
	p.log.Info("evidence collected", "dir", dir, "elapsed", since(start))
	return err
}

// inClusterImages are the image recipes the tenants' pods run: every component's and the agent's.
func inClusterImages() []string {
	out := []string{platform.AgentImage}
	for _, c := range platform.Components() {
		out = append(out, c.Image)
	}
	return out
}

// loadedImages are the image recipes loaded into the nodes: the tenants' pods', Velero's and,
// when deployed, the edge's.
func (p *Platform) loadedImages() []string {
	out := append(inClusterImages(), veleroImages()...)
	if p.withEdge {
		out = append(out, edgeImages()...)
	}
	if p.withIdentity {
		out = append(out, identityImages()...)
	}
	return out
}

// platformOptions are the kind platform's choices for the manifests.
func (p *Platform) platformOptions() platform.Options {
	tags := map[string]string{}
	for _, r := range p.loadedImages() {
		tags[r] = images.MustTag(r)
	}
	return platform.Options{
		Images:           tags,
		StorageClass:     StorageClass,
		IngressNamespace: ingressNamespace,
		AgentConfig:      p.agentConfig,
		Revision:         p.objects.Servers[0].ID,
		Identity:         p.withIdentity,
	}
}

// deployTenants applies every tenant's objects, restarts at once the pods a changed configuration
// left stale (a kept platform re-applied), and waits for them to be ready.
func (p *Platform) deployTenants(ctx context.Context, opts platform.Options) error {
	start := time.Now()
	for _, t := range p.spec.Tenants {
		manifest, err := platform.Tenant(p.spec, t, opts)
		if err != nil {
			return err
		}
		if _, err := p.cluster.Kubectl(ctx, strings.NewReader(manifest), "apply", "-f", "-"); err != nil {
			return fmt.Errorf("deploy tenant %s: %w", t, err)
		}
		if p.spec.Network.Isolation != "namespace" { // a kept platform may hold them from an earlier spec
			if _, err := p.cluster.Kubectl(ctx, nil, "-n", platform.Namespace(t), "delete", "networkpolicy",
				"-l", platform.IsolationSelector, "--ignore-not-found"); err != nil {
				return fmt.Errorf("remove tenant %s's isolation: %w", t, err)
			}
		}
	}
	if err := p.restartStale(ctx, p.tenantNamespaces()); err != nil {
		return err
	}
	outside, err := platform.Outside(opts)
	if err != nil {
		return err
	}
	if _, err := p.cluster.Kubectl(ctx, strings.NewReader(outside), "apply", "-f", "-"); err != nil {
		return fmt.Errorf("deploy the outside prober: %w", err)
	}
	if err := p.rollout(ctx, platform.OutsideNamespace, "deployment/prober"); err != nil {
		return err
	}
	for _, t := range p.spec.Tenants {
		ns := platform.Namespace(t)
		for _, w := range append(workloads(), "deployment/dpsim-agent") {
			if err := p.rollout(ctx, ns, w); err != nil {
				return err
			}
		}
		p.log.Info("tenant ready", "tenant", t, "elapsed", since(start))
	}
	return nil
}

// workloads are what rolls every component out.
func workloads() []string {
	var out []string
	for _, c := range platform.Components() {
		for _, r := range c.Roles {
			out = append(out, r.Workload)
		}
	}
	return out
}

// agentConfig is the configuration of a tenant's agent: every component at its endpoints, and the
// object store beside the cluster.
func (p *Platform) agentConfig(tenant, ns string) ([]byte, error) {
	cfg := api.Config{Tenant: tenant, Stores: map[string]api.StoreConfig{}, Spec: api.SpecConfigOf(p.spec)}
	for _, c := range platform.Components() {
		cfg.Stores[c.Name] = api.StoreConfig{Endpoints: c.Endpoints(p.spec, ns)}
	}
	if p.objects != nil {
		cfg.Stores[objectStoreName] = api.StoreConfig{Endpoints: []string{strings.TrimPrefix(p.objects.Servers[0].URL, "http://")},
			AccessKey: objectStoreAccessKey, SecretKey: objectStoreSecretKey}
	}
	return json.Marshal(cfg)
}

// DownSpec tears down the platform of spec, made by this or an earlier process (by its name).
func (p *Platform) DownSpec(ctx context.Context, spec topology.Spec) error {
	if p.spec.Name == "" {
		p.spec = spec
	}
	return p.Down(ctx)
}

// Down tears down everything Up made: the agents' port-forwards, the object store and the cluster.
func (p *Platform) Down(ctx context.Context) error {
	var errs []error
	for t, a := range p.agents {
		a.close()
		delete(p.agents, t)
	}
	if p.objects != nil {
		if err := p.objects.Terminate(ctx); err != nil {
			errs = append(errs, err)
		}
		p.objects = nil
	}
	if err := minio.RemoveAll(ctx, p.specOrDefault().Name); err != nil {
		errs = append(errs, err)
	}
	if p.cluster == nil {
		c, err := p.clusterFor(p.specOrDefault())
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		p.cluster = c
	}
	if err := p.removeVPC(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := p.cluster.Down(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (p *Platform) specOrDefault() topology.Spec {
	if p.spec.Name == "" {
		return topology.Default()
	}
	return p.spec
}

// Nodes implements topology.Provider: the worker nodes, which the faults may touch.
func (p *Platform) Nodes(ctx context.Context) ([]topology.Node, error) {
	nodes, err := p.cluster.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	var out []topology.Node
	for _, n := range nodes {
		if n.Role == "control-plane" {
			continue
		}
		out = append(out, topology.Node{Name: n.Name, Zone: n.Zone, Ready: n.Ready && !slices.Contains(p.isolatedNodes(), n.Name)})
	}
	return out, nil
}

func (p *Platform) isolatedNodes() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.isolated)
}

// componentPod is one pod of a component: its name, its node and whether it keeps metadata only.
type componentPod struct {
	name, node   string
	metadataOnly bool
}

// componentPods lists the pods of every role of c in ns, each role's sorted by name.
func (p *Platform) componentPods(ctx context.Context, ns string, c platform.Component) ([]componentPod, error) {
	var out []componentPod
	for _, r := range c.Roles {
		pods, err := p.podNodes(ctx, ns, r.App)
		if err != nil {
			return nil, err
		}
		for _, pod := range sortedKeys(pods) {
			out = append(out, componentPod{name: pod, node: pods[pod], metadataOnly: r.MetadataOnly})
		}
	}
	return out, nil
}

// podNodes maps the pods of ns with label app=app to their nodes.
func (p *Platform) podNodes(ctx context.Context, ns, app string) (map[string]string, error) {
	out, err := p.cluster.Kubectl(ctx, nil, "-n", ns, "get", "pods", "-l", "app="+app,
		"-o", `jsonpath={range .items[*]}{.metadata.name}{" "}{.spec.nodeName}{"\n"}{end}`)
	if err != nil {
		return nil, fmt.Errorf("list %s pods in %s: %w", app, ns, err)
	}
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if pod, node, ok := strings.Cut(line, " "); ok {
			m[pod] = node
		}
	}
	return m, nil
}

// Components implements topology.Inventory: per tenant every component with the nodes its pods
// run on, and the object store's servers (beside the cluster: each its own machine).
func (p *Platform) Components(ctx context.Context) ([]topology.Component, error) {
	zones := map[string]string{}
	nodes, err := p.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	for _, n := range nodes {
		zones[n.Name] = n.Zone
	}
	var out []topology.Component
	for _, t := range p.spec.Tenants {
		ns := platform.Namespace(t)
		for _, c := range platform.Components() {
			pods, err := p.componentPods(ctx, ns, c)
			if err != nil {
				return nil, err
			}
			comp := topology.Component{Tenant: t, Name: c.Name, Kind: c.Kind}
			for _, pod := range pods {
				comp.Members = append(comp.Members, topology.Member{Name: pod.name, Node: pod.node, Zone: zones[pod.node], MetadataOnly: pod.metadataOnly})
			}
			out = append(out, comp)
		}
	}
	if p.objects != nil {
		comp := topology.Component{Name: objectStoreName, Kind: topology.KindObject}
		for i, s := range p.objects.Servers {
			// The servers run beside the cluster; each stands for one zone's S3, round-robin.
			comp.Members = append(comp.Members, topology.Member{Name: s.Name, Node: s.Name, Zone: p.spec.ZoneOf(i)})
		}
		out = append(out, comp)
	}
	return out, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Stores implements topology.StoreAccess through the tenant's agent. The stores returned name the
// nodes that hold a record: an in-cluster component's placement names its members (pods), mapped
// to the nodes they run on; the object store's is read from its drives on this host.
func (p *Platform) Stores(ctx context.Context, tenant, dataset string) ([]topology.Store, error) {
	a, ok := p.agents[tenant]
	if !ok {
		return nil, fmt.Errorf("no agent for tenant %q", tenant)
	}
	remote, err := a.client.Stores(ctx, tenant, dataset)
	if err != nil {
		return nil, err
	}
	a.opened(dataset)
	out := make([]topology.Store, len(remote))
	for i, s := range remote {
		ps := &placedStore{RemoteStore: s, link: a}
		if s.Name() == objectStoreName {
			ps.locate = func(ctx context.Context) ([]topology.Placement, error) {
				if p.objects == nil {
					return nil, errors.New("no object store")
				}
				return p.objects.Placement(ctx, tenant, keys.Prefix(dataset))
			}
		} else {
			ps.locate = func(ctx context.Context) ([]topology.Placement, error) { return p.memberPlacement(ctx, tenant, s) }
		}
		out[i] = ps
	}
	return out, nil
}

// memberPlacement is an in-cluster store's placement, its members mapped to their nodes. A member
// whose pod cannot be found is left as it is: a name that is no node, never a made-up copy.
func (p *Platform) memberPlacement(ctx context.Context, tenant string, s *api.RemoteStore) ([]topology.Placement, error) {
	placements, err := s.Placement(ctx)
	if err != nil {
		return nil, err
	}
	nodes := map[string]string{}
	for _, c := range platform.Components() {
		pods, err := p.componentPods(ctx, platform.Namespace(tenant), c)
		if err != nil {
			return nil, err
		}
		for _, pod := range pods {
			nodes[pod.name] = pod.node
		}
	}
	for i := range placements {
		for j, member := range placements[i].Nodes {
			if n, ok := nodes[member]; ok {
				placements[i].Nodes[j] = n
			}
		}
	}
	return placements, nil
}

// placedStore is an agent's store whose placement names nodes, and whose dataset is no longer
// watched by Settle once dropped.
type placedStore struct {
	*api.RemoteStore
	link   *agentLink
	locate func(ctx context.Context) ([]topology.Placement, error)
}

// Placement implements topology.Store.
func (s *placedStore) Placement(ctx context.Context) ([]topology.Placement, error) {
	return s.locate(ctx)
}

// Drop implements topology.Store.
func (s *placedStore) Drop(ctx context.Context) error {
	if err := s.RemoteStore.Drop(ctx); err != nil {
		return err
	}
	s.link.dropped(s.Dataset())
	return nil
}

// KillNode implements topology.NodeKiller; the evidence is the node container's state after it.
func (p *Platform) KillNode(ctx context.Context, node string) (string, error) {
	if err := p.cluster.KillNode(ctx, node); err != nil {
		return "", err
	}
	st, err := p.cluster.containerState(ctx, node)
	if err != nil {
		return "", err
	}
	if st.running {
		return "", nil // no evidence: the container still runs
	}
	return fmt.Sprintf("node container %s not running after docker kill", node), nil
}

// RestartNode implements topology.NodeKiller.
func (p *Platform) RestartNode(ctx context.Context, node string) error {
	return p.cluster.RestartNode(ctx, node)
}

func since(t time.Time) string { return time.Since(t).Round(100 * time.Millisecond).String() }
