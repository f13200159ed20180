package kind

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"dpsim/images"
	"dpsim/topology"
	"dpsim/topology/platform"
)

// Velero on the kind platform: the server and node-agent in namespace velero, backing up to bucket
// velero of the object store beside the cluster, file-system backup (kopia) of every pod volume.
const (
	veleroNamespace = "velero"
	veleroBucket    = "velero"
	veleroLocation  = "default" // the BackupStorageLocation install makes
	// veleroGCPeriod is how often Velero's garbage collector looks for expired backups. Velero's
	// default is 1 h; dpsim sets 1 min so that a retention test sees expiry within minutes.
	veleroGCPeriod = time.Minute
	// veleroRegion is the region the S3 plugin signs with; MinIO accepts any.
	veleroRegion = "minio"
	// Velero backs up one pod at a time and copies one volume at a time per node, by default; in
	// 1.18 every volume's copy is a data-mover pod of its own, whose start on a busy 2-core host is
	// most of a backup's time (10 volumes of 90 MB took 1m54s). dpsim lets it back up
	// veleroPodWorkers pods at once and copy veleroNodeCopies volumes per node at once (restores too).
	veleroPodWorkers = 4
	veleroNodeCopies = 2
	// veleroNodeAgentConfig is the ConfigMap node-agent reads its per-node concurrency from at start.
	veleroNodeAgentConfig = "dpsim-node-agent"
	// volumeExcludesAnnotation opts a pod's volumes out of file-system backup.
	volumeExcludesAnnotation = "backup.velero.io/backup-volumes-excludes"
)

var (
	_ topology.Backups    = (*Platform)(nil)
	_ topology.Offboarder = (*Platform)(nil)
)

// veleroImages are the image recipes Velero's pods run; every node holds them (the data-mover pods
// use pull policy Never).
func veleroImages() []string { return []string{images.Velero, images.VeleroPluginAWS} }

// veleroBinary is the velero CLI for this host: the binary the velero image carries.
func (p *Platform) veleroBinary(ctx context.Context) (string, error) {
	return images.VeleroBinary(ctx, p.log, images.Options{CacheDir: p.opts.Images.CacheDir, Docker: p.opts.Images.Docker})
}

// applyVelero makes the bucket and applies what `velero install` renders; it does not wait for
// Velero to be ready (waitVelero does). Applying again is harmless: a reused cluster gets the same
// objects, with the object store's address of this run.
func (p *Platform) applyVelero(ctx context.Context) error {
	start := time.Now()
	if err := p.objects.EnsureBucket(ctx, veleroBucket); err != nil {
		return err
	}
	bin, err := p.veleroBinary(ctx)
	if err != nil {
		return fmt.Errorf("velero cli: %w", err)
	}
	dir, err := os.MkdirTemp("", "dpsim-velero-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	secret := filepath.Join(dir, "credentials")
	creds := fmt.Sprintf("[default]\naws_access_key_id=%s\naws_secret_access_key=%s\n", objectStoreAccessKey, objectStoreSecretKey)
	if err := os.WriteFile(secret, []byte(creds), 0o600); err != nil {
		return err
	}
	args := []string{"install", "--dry-run", "-o", "yaml",
		"--kubeconfig", p.cluster.Kubeconfig(), "--kubecontext", p.cluster.KubeContext(),
		"--namespace", veleroNamespace,
		"--provider", "aws",
		"--plugins", images.MustTag(images.VeleroPluginAWS),
		"--image", images.MustTag(images.Velero),
		"--bucket", veleroBucket,
		"--secret-file", secret,
		"--use-volume-snapshots=false",
		"--backup-location-config", fmt.Sprintf("region=%s,s3ForcePathStyle=true,s3Url=%s", veleroRegion, p.objects.Servers[0].URL),
		"--use-node-agent",
		"--default-volumes-to-fs-backup",
		"--garbage-collection-frequency", veleroGCPeriod.String(),
		"--item-block-worker-count", strconv.Itoa(veleroPodWorkers),
		"--node-agent-configmap", veleroNodeAgentConfig,
	}
	render := func(extra ...string) (string, error) {
		cmd := exec.CommandContext(ctx, bin, append(args, extra...)...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("render velero install: %w: %s", err, strings.TrimSpace(stderr.String()))
		}
		return string(out), nil
	}
	// node-agent reads its ConfigMap when it starts, and install refuses to render without it.
	if _, err := p.cluster.Kubectl(ctx, strings.NewReader(nodeAgentConfig()), "apply", "-f", "-"); err != nil {
		return fmt.Errorf("apply node-agent's configuration: %w", err)
	}
	// The custom resources need their definitions established first.
	crds, err := render("--crds-only")
	if err != nil {
		return err
	}
	if _, err := p.cluster.Kubectl(ctx, strings.NewReader(crds), "apply", "-f", "-"); err != nil {
		return fmt.Errorf("apply velero's resource definitions: %w", err)
	}
	if _, err := p.cluster.Kubectl(ctx, nil, "wait", "--for=condition=established", "crd", "-l", "component=velero", "--timeout=2m"); err != nil {
		return fmt.Errorf("wait for velero's resource definitions: %w", err)
	}
	manifest, err := render()
	if err != nil {
		return err
	}
	if _, err := p.cluster.Kubectl(ctx, strings.NewReader(manifest), "apply", "-f", "-"); err != nil {
		return fmt.Errorf("apply velero install: %w", err)
	}
	if p.cluster.Reused() {
		p.forgetOldBackups(ctx)
	}
	p.log.Info("velero applied", "elapsed", since(start))
	return nil
}

// nodeAgentConfig is Velero's namespace and the ConfigMap of node-agent's per-node concurrency.
func nodeAgentConfig() string {
	return fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata:
  name: %[1]s
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: %[2]s
  namespace: %[1]s
data:
  node-agent.json: '{"loadConcurrency": {"globalConfig": %[3]d}}'
`, veleroNamespace, veleroNodeAgentConfig, veleroNodeCopies)
}

// forgetOldBackups removes, on a reused cluster, Velero's records of the object store of an earlier
// run: Up always starts a new, empty one, so those backups are gone, and a backup repository
// object of a namespace whose kopia repository is gone would make its next backup fail. A failure
// here is logged, not fatal (Velero's backup sync removes the backups by itself within a minute).
func (p *Platform) forgetOldBackups(ctx context.Context) {
	out, err := p.cluster.Kubectl(ctx, nil, "-n", veleroNamespace, "delete", "--all", "--ignore-not-found", "--wait=false",
		"backups.velero.io,restores.velero.io,backuprepositories.velero.io,deletebackuprequests.velero.io")
	if err != nil {
		p.log.Warn("velero: forget the backups of an earlier object store", "err", err)
		return
	}
	if s := strings.TrimSpace(string(out)); s != "" {
		p.log.Info("velero: backups of an earlier object store forgotten", "objects", strings.Count(s, "\n")+1)
	}
}

// waitLocation waits until Velero reports its backup storage location available: after an outage
// of the object store it validates the location again within a minute, and until then it refuses
// to delete backups.
func (p *Platform) waitLocation(ctx context.Context) error {
	return p.waitFor(ctx, p.opts.ReadyTimeout, func() error {
		out, err := p.cluster.Kubectl(ctx, nil, "-n", veleroNamespace, "get", "backupstoragelocation", veleroLocation,
			"-o", `jsonpath={.status.phase} {.status.message}`)
		if err != nil {
			return err
		}
		if phase, msg, _ := strings.Cut(strings.TrimSpace(string(out)), " "); phase != "Available" {
			return fmt.Errorf("backup storage location %s: phase %q %s", veleroLocation, phase, msg)
		}
		return nil
	})
}

// waitVelero waits until the server and every node agent are ready and the backup storage location
// is available, then applies every tenant's schedule.
func (p *Platform) waitVelero(ctx context.Context) error {
	start := time.Now()
	for _, w := range []string{"deployment/velero", "daemonset/node-agent"} {
		if err := p.rollout(ctx, veleroNamespace, w); err != nil {
			return err
		}
	}
	if err := p.waitLocation(ctx); err != nil {
		return fmt.Errorf("wait for velero: %w", err)
	}
	if err := p.applySchedules(ctx); err != nil {
		return err
	}
	p.log.Info("velero ready", "elapsed", since(start))
	return nil
}

// scheduleName is the name of tenant's schedule.
func scheduleName(tenant string) string { return platform.Namespace(tenant) + "-daily" }

// applySchedules applies one schedule per tenant from the spec: its cron, its retention as the
// backups' TTL, the tenant's namespace with every pod volume backed up by file-system backup. A new
// schedule makes no backup until its cron fires (skipImmediately).
func (p *Platform) applySchedules(ctx context.Context) error {
	ttl, err := time.ParseDuration(p.spec.Backup.Retention)
	if err != nil {
		return fmt.Errorf("backup.retention %q: %w", p.spec.Backup.Retention, err)
	}
	var docs []string
	for _, t := range p.spec.Tenants {
		s := map[string]any{
			"apiVersion": "velero.io/v1", "kind": "Schedule",
			"metadata": map[string]any{"name": scheduleName(t), "namespace": veleroNamespace,
				"labels": map[string]string{"dpsim.io/tenant": t}},
			"spec": map[string]any{
				"schedule":        p.spec.Backup.Schedule,
				"skipImmediately": true,
				"template": map[string]any{
					"ttl":                      ttl.String(),
					"includedNamespaces":       []string{platform.Namespace(t)},
					"defaultVolumesToFsBackup": true,
					"storageLocation":          veleroLocation,
				},
			},
		}
		data, err := json.Marshal(s)
		if err != nil {
			return err
		}
		docs = append(docs, string(data))
	}
	if len(docs) == 0 {
		return nil
	}
	if _, err := p.cluster.Kubectl(ctx, strings.NewReader(strings.Join(docs, "\n")), "apply", "-f", "-"); err != nil {
		return fmt.Errorf("apply backup schedules: %w", err)
	}
	return nil
}

// GarbageCollectionPeriod implements topology.Backups.
func (p *Platform) GarbageCollectionPeriod() time.Duration { return veleroGCPeriod }

// The parts of Velero's and Kubernetes' objects dpsim reads (kubectl -o json).
type (
	objectMeta struct {
		Name              string            `json:"name"`
		Namespace         string            `json:"namespace"`
		UID               string            `json:"uid"`
		Labels            map[string]string `json:"labels"`
		Annotations       map[string]string `json:"annotations"`
		DeletionTimestamp *time.Time        `json:"deletionTimestamp"`
	}
	veleroSchedule struct {
		Metadata objectMeta `json:"metadata"`
		Spec     struct {
			Schedule string          `json:"schedule"`
			Paused   bool            `json:"paused"`
			Template json.RawMessage `json:"template"`
		} `json:"spec"`
	}
	backupSpec struct {
		TTL                string   `json:"ttl"`
		IncludedNamespaces []string `json:"includedNamespaces"`
	}
	veleroBackup struct {
		Metadata objectMeta `json:"metadata"`
		Spec     backupSpec `json:"spec"`
		Status   struct {
			Phase               string     `json:"phase"`
			StartTimestamp      *time.Time `json:"startTimestamp"`
			CompletionTimestamp *time.Time `json:"completionTimestamp"`
			Expiration          *time.Time `json:"expiration"`
			Warnings            int        `json:"warnings"`
			Errors              int        `json:"errors"`
			FailureReason       string     `json:"failureReason"`
			ValidationErrors    []string   `json:"validationErrors"`
		} `json:"status"`
	}
	veleroRestore struct {
		Metadata objectMeta `json:"metadata"`
		Spec     struct {
			BackupName         string   `json:"backupName"`
			IncludedNamespaces []string `json:"includedNamespaces"`
		} `json:"spec"`
		Status struct {
			Phase            string   `json:"phase"`
			Warnings         int      `json:"warnings"`
			Errors           int      `json:"errors"`
			FailureReason    string   `json:"failureReason"`
			ValidationErrors []string `json:"validationErrors"`
		} `json:"status"`
	}
	podVolumeOp struct { // PodVolumeBackup and PodVolumeRestore
		Metadata objectMeta `json:"metadata"`
		Spec     struct {
			Pod struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"pod"`
			Volume          string `json:"volume"`
			VolumeNamespace string `json:"volumeNamespace"`
			BackupName      string `json:"backupName"`
		} `json:"spec"`
		Status struct {
			Phase    string `json:"phase"`
			Message  string `json:"message"`
			Progress struct {
				TotalBytes int64 `json:"totalBytes"`
				BytesDone  int64 `json:"bytesDone"`
			} `json:"progress"`
		} `json:"status"`
	}
	persistentVolume struct {
		Metadata objectMeta `json:"metadata"`
		Spec     struct {
			ClaimRef *struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"claimRef"`
		} `json:"spec"`
	}
	claim struct {
		Metadata objectMeta `json:"metadata"`
		Spec     struct {
			VolumeName string `json:"volumeName"`
		} `json:"spec"`
	}
)

// list reads every object of resource in ns ("" for cluster-scoped ones) into items; a resource
// whose namespace is gone lists nothing.
func list[T any](ctx context.Context, p *Platform, ns, resource string, items *[]T, selector ...string) error {
	args := []string{"get", resource, "-o", "json"}
	if ns != "" {
		args = append([]string{"-n", ns}, args...)
	}
	if len(selector) > 0 {
		args = append(args, "-l", strings.Join(selector, ","))
	}
	out, err := p.cluster.Kubectl(ctx, nil, args...)
	if err != nil {
		return fmt.Errorf("list %s: %w", resource, err)
	}
	var l struct {
		Items []T `json:"items"`
	}
	if err := json.Unmarshal(out, &l); err != nil {
		return fmt.Errorf("list %s: decode: %w", resource, err)
	}
	*items = l.Items
	return nil
}

// tenantOf names the tenant whose namespace is ns, or "".
func (p *Platform) tenantOf(ns string) string {
	for _, t := range p.spec.Tenants {
		if platform.Namespace(t) == ns {
			return t
		}
	}
	return ""
}

// BackupSchedules implements topology.Backups: the Schedules in Velero's namespace.
func (p *Platform) BackupSchedules(ctx context.Context) ([]topology.BackupSchedule, error) {
	var items []veleroSchedule
	if err := list(ctx, p, veleroNamespace, "schedules.velero.io", &items); err != nil {
		return nil, err
	}
	var out []topology.BackupSchedule
	for _, s := range items {
		var tmpl backupSpec
		if err := json.Unmarshal(s.Spec.Template, &tmpl); err != nil {
			return nil, fmt.Errorf("schedule %s: template: %w", s.Metadata.Name, err)
		}
		bs := topology.BackupSchedule{Name: s.Metadata.Name, Cron: s.Spec.Schedule, Namespaces: tmpl.IncludedNamespaces, Paused: s.Spec.Paused}
		if tmpl.TTL != "" {
			ttl, err := time.ParseDuration(tmpl.TTL)
			if err != nil {
				return nil, fmt.Errorf("schedule %s: ttl %q: %w", s.Metadata.Name, tmpl.TTL, err)
			}
			bs.TTL = ttl
		}
		for _, ns := range tmpl.IncludedNamespaces {
			if t := p.tenantOf(ns); t != "" {
				bs.Tenants = append(bs.Tenants, t)
			}
		}
		out = append(out, bs)
	}
	return out, nil
}

// terminalBackup tells a backup phase that no longer changes.
func terminalBackup(phase string) bool {
	switch phase {
	case "Completed", "PartiallyFailed", "Failed", "FailedValidation":
		return true
	}
	return false
}

// BackUp implements topology.Backups: a Backup made from tenant's schedule template, as `velero
// backup create NAME --from-schedule` makes it, with ttl when ttl > 0.
func (p *Platform) BackUp(ctx context.Context, tenant, label string, ttl time.Duration) (topology.BackupRun, error) {
	ns := platform.Namespace(tenant)
	name := ns + "-" + label
	out, err := p.cluster.Kubectl(ctx, nil, "-n", veleroNamespace, "get", "schedules.velero.io", scheduleName(tenant), "-o", "json")
	if err != nil {
		return topology.BackupRun{}, fmt.Errorf("back up tenant %s: schedule: %w", tenant, err)
	}
	var sched struct {
		Metadata objectMeta `json:"metadata"`
		Spec     struct {
			Template map[string]any `json:"template"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(out, &sched); err != nil {
		return topology.BackupRun{}, fmt.Errorf("back up tenant %s: schedule: %w", tenant, err)
	}
	spec := sched.Spec.Template
	if spec == nil {
		spec = map[string]any{}
	}
	if ttl > 0 {
		spec["ttl"] = ttl.String()
	}
	labels := map[string]string{}
	for k, v := range sched.Metadata.Labels {
		labels[k] = v
	}
	labels["velero.io/schedule-name"] = sched.Metadata.Name
	backup := map[string]any{
		"apiVersion": "velero.io/v1", "kind": "Backup",
		"metadata": map[string]any{"name": name, "namespace": veleroNamespace, "labels": labels},
		"spec":     spec,
	}
	data, err := json.Marshal(backup)
	if err != nil {
		return topology.BackupRun{}, err
	}
	// The tenant's data volumes and pods as they are when the backup starts.
	dataVolumes, err := p.dataVolumes(ctx, ns)
	if err != nil {
		return topology.BackupRun{}, err
	}
	var pods []pod
	if err := list(ctx, p, ns, "pods", &pods); err != nil {
		return topology.BackupRun{}, err
	}
	start := time.Now()
	if _, err := p.cluster.Kubectl(ctx, strings.NewReader(string(data)), "create", "-f", "-"); err != nil {
		return topology.BackupRun{}, fmt.Errorf("create backup %s: %w", name, err)
	}
	var b veleroBackup
	err = p.waitFor(ctx, p.opts.ReadyTimeout, func() error {
		out, err := p.cluster.Kubectl(ctx, nil, "-n", veleroNamespace, "get", "backups.velero.io", name, "-o", "json")
		if err != nil {
			return err
		}
		if err := json.Unmarshal(out, &b); err != nil {
			return err
		}
		if !terminalBackup(b.Status.Phase) {
			return fmt.Errorf("backup %s: phase %q", name, b.Status.Phase)
		}
		return nil
	})
	if err != nil {
		return topology.BackupRun{}, fmt.Errorf("back up tenant %s: %w", tenant, err)
	}
	var pvbs []podVolumeOp
	if err := list(ctx, p, veleroNamespace, "podvolumebackups.velero.io", &pvbs, "velero.io/backup-name="+name); err != nil {
		return topology.BackupRun{}, err
	}
	run := p.backupRun(ctx, b, pvbs, pods)
	run.DataVolumes = dataVolumes
	p.log.Info("backup made", "backup", name, "phase", run.Phase, "volumes", len(run.Volumes), "bytes", run.Bytes, "elapsed", since(start))
	return run, nil
}

// backupRun is what a backup holds; pods map its volume backups to claims.
func (p *Platform) backupRun(ctx context.Context, b veleroBackup, pvbs []podVolumeOp, pods []pod) topology.BackupRun {
	run := topology.BackupRun{Name: b.Metadata.Name, Phase: b.Status.Phase}
	for _, ns := range b.Spec.IncludedNamespaces {
		if t := p.tenantOf(ns); t != "" {
			run.Tenant = t
		}
	}
	if t := b.Status.StartTimestamp; t != nil {
		run.Started = *t
	}
	if t := b.Status.CompletionTimestamp; t != nil {
		run.Completed = *t
	}
	if t := b.Status.Expiration; t != nil {
		run.Expires = *t
	}
	claims := map[string]string{} // pod/volume -> claim
	for _, pd := range pods {
		for _, v := range pd.Spec.Volumes {
			if v.PersistentVolumeClaim != nil {
				claims[pd.Metadata.Namespace+"/"+pd.Metadata.Name+"/"+v.Name] = v.PersistentVolumeClaim.ClaimName
			}
		}
	}
	for _, v := range pvbs {
		vb := topology.VolumeBackup{
			Claim: claims[v.Spec.Pod.Namespace+"/"+v.Spec.Pod.Name+"/"+v.Spec.Volume],
			Pod:   v.Spec.Pod.Name, Phase: v.Status.Phase, Bytes: v.Status.Progress.BytesDone,
		}
		if vb.Bytes == 0 {
			vb.Bytes = v.Status.Progress.TotalBytes
		}
		if vb.Claim == "" && v.Spec.Volume == "data" {
			vb.Claim = "data-" + v.Spec.Pod.Name // a StatefulSet's claim, when the pod is gone
		}
		if v.Status.Message != "" {
			run.Warnings = append(run.Warnings, fmt.Sprintf("volume %s of pod %s: %s", v.Spec.Volume, v.Spec.Pod.Name, v.Status.Message))
		}
		run.Bytes += vb.Bytes
		run.Volumes = append(run.Volumes, vb)
	}
	slices.SortFunc(run.Volumes, func(a, b topology.VolumeBackup) int { return strings.Compare(a.Pod+a.Claim, b.Pod+b.Claim) })
	if r := b.Status.FailureReason; r != "" {
		run.Warnings = append(run.Warnings, "failure: "+r)
	}
	for _, e := range b.Status.ValidationErrors {
		run.Warnings = append(run.Warnings, "validation: "+e)
	}
	if b.Status.Warnings > 0 || b.Status.Errors > 0 {
		run.Warnings = append(run.Warnings, p.results(ctx, "backups/"+b.Metadata.Name+"/"+b.Metadata.Name+"-results.gz")...)
	}
	return run
}

// dataVolumes lists the claims of ns with the component each belongs to.
func (p *Platform) dataVolumes(ctx context.Context, ns string) ([]topology.DataVolume, error) {
	var claims []claim
	if err := list(ctx, p, ns, "persistentvolumeclaims", &claims); err != nil {
		return nil, err
	}
	var out []topology.DataVolume
	for _, c := range claims {
		out = append(out, topology.DataVolume{Component: componentOf(c), Claim: c.Metadata.Name})
	}
	return out, nil
}

// componentOf names the component a claim belongs to: by its app label (a StatefulSet's claims
// carry its selector's labels), else by its name (data-<pod prefix>-<i>).
func componentOf(c claim) string {
	for _, comp := range platform.Components() {
		for _, r := range comp.Roles {
			if c.Metadata.Labels["app"] == r.App || strings.HasPrefix(c.Metadata.Name, "data-"+r.PodPrefix+"-") {
				return comp.Name
			}
		}
	}
	return c.Metadata.Labels["app"]
}

// ListBackups implements topology.Backups.
func (p *Platform) ListBackups(ctx context.Context) ([]topology.BackupRun, error) {
	var backups []veleroBackup
	if err := list(ctx, p, veleroNamespace, "backups.velero.io", &backups); err != nil {
		return nil, err
	}
	var pvbs []podVolumeOp
	if err := list(ctx, p, veleroNamespace, "podvolumebackups.velero.io", &pvbs); err != nil {
		return nil, err
	}
	var pods []pod
	for _, t := range p.spec.Tenants {
		var tp []pod
		if err := list(ctx, p, platform.Namespace(t), "pods", &tp); err != nil {
			return nil, err
		}
		pods = append(pods, tp...)
	}
	var out []topology.BackupRun
	for _, b := range backups {
		var mine []podVolumeOp
		for _, v := range pvbs {
			if v.Metadata.Labels["velero.io/backup-name"] == b.Metadata.Name {
				mine = append(mine, v)
			}
		}
		out = append(out, p.backupRun(ctx, b, mine, pods))
	}
	return out, nil
}

// results reads a backup's or restore's results file from the bucket (gzipped JSON: errors and
// warnings by scope) as lines "warning: <scope>: <message>".
func (p *Platform) results(ctx context.Context, key string) []string {
	data, err := p.objects.Get(ctx, veleroBucket, key)
	if err != nil {
		return []string{"results unreadable: " + err.Error()}
	}
	lines, err := parseResults(data)
	if err != nil {
		return []string{"results " + key + ": " + err.Error()}
	}
	return lines
}
