package kind

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"dpsim/stores/s3/keys"
	"dpsim/topology"
	"dpsim/topology/platform"
)

// parseResults turns Velero's results file (gzipped JSON of errors and warnings, each by scope)
// into lines "<error|warning>: <scope>: <message>".
func parseResults(gz []byte) ([]string, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		return nil, err
	}
	type result struct {
		Velero     []string            `json:"velero"`
		Cluster    []string            `json:"cluster"`
		Namespaces map[string][]string `json:"namespaces"`
	}
	var r struct {
		Errors   result `json:"errors"`
		Warnings result `json:"warnings"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, err
	}
	var out []string
	for _, k := range []struct {
		kind string
		r    result
	}{{"error", r.Errors}, {"warning", r.Warnings}} {
		for _, m := range k.r.Velero {
			out = append(out, k.kind+": velero: "+m)
		}
		for _, m := range k.r.Cluster {
			out = append(out, k.kind+": cluster: "+m)
		}
		for _, ns := range sortedKeysOf(k.r.Namespaces) {
			for _, m := range k.r.Namespaces[ns] {
				out = append(out, k.kind+": "+ns+": "+m)
			}
		}
	}
	return out, nil
}

func sortedKeysOf[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// DestroyTenant implements topology.Backups: it deletes the tenant's namespace and waits until the
// namespace, its claims and the volumes bound to them are gone.
func (p *Platform) DestroyTenant(ctx context.Context, tenant string) (string, error) {
	ns := platform.Namespace(tenant)
	start := time.Now()
	volumes, err := p.deleteNamespace(ctx, ns)
	if err != nil {
		return "", fmt.Errorf("destroy tenant %s: %w", tenant, err)
	}
	p.log.Info("tenant destroyed", "tenant", tenant, "volumes", len(volumes), "elapsed", since(start))
	if len(volumes) == 0 {
		return fmt.Sprintf("namespace %s deleted; it had no volumes", ns), nil
	}
	return fmt.Sprintf("namespace %s deleted with its %d volumes: %s", ns, len(volumes), strings.Join(volumes, ", ")), nil
}

// deleteNamespace deletes ns and waits until it, its claims and the volumes bound to them are gone;
// it returns the names of those volumes.
func (p *Platform) deleteNamespace(ctx context.Context, ns string) ([]string, error) {
	volumes, err := p.namespaceVolumes(ctx, ns)
	if err != nil {
		return nil, err
	}
	if _, err := p.cluster.Kubectl(ctx, nil, "delete", "namespace", ns, "--wait=false", "--ignore-not-found"); err != nil {
		return nil, fmt.Errorf("delete namespace %s: %w", ns, err)
	}
	err = p.waitFor(ctx, p.opts.ReadyTimeout, func() error {
		out, err := p.cluster.Kubectl(ctx, nil, "get", "namespace", ns, "--ignore-not-found", "-o", "name")
		if err != nil {
			return err
		}
		if len(bytes.TrimSpace(out)) > 0 {
			return fmt.Errorf("namespace %s still there", ns)
		}
		left, err := p.namespaceVolumes(ctx, ns)
		if err != nil {
			return err
		}
		if len(left) > 0 {
			return fmt.Errorf("volumes of %s still there: %s", ns, strings.Join(left, ", "))
		}
		return nil
	})
	if err != nil {
		return volumes, fmt.Errorf("wait for namespace %s to go: %w", ns, err)
	}
	return volumes, nil
}

// namespaceVolumes names the persistent volumes whose claim is in ns.
func (p *Platform) namespaceVolumes(ctx context.Context, ns string) ([]string, error) {
	var pvs []persistentVolume
	if err := list(ctx, p, "", "persistentvolumes", &pvs); err != nil {
		return nil, err
	}
	var out []string
	for _, pv := range pvs {
		if pv.Spec.ClaimRef != nil && pv.Spec.ClaimRef.Namespace == ns {
			out = append(out, pv.Metadata.Name)
		}
	}
	slices.Sort(out)
	return out, nil
}

// Restore implements topology.Backups: a Velero restore of backup, then the wait until the
// tenant's workloads are rolled out and its stores answer through its agent.
func (p *Platform) Restore(ctx context.Context, tenant, backup string) (topology.RestoreRun, error) {
	ns := platform.Namespace(tenant)
	name := fmt.Sprintf("%s-%s", backup, time.Now().UTC().Format("20060102150405"))
	restore := map[string]any{
		"apiVersion": "velero.io/v1", "kind": "Restore",
		"metadata": map[string]any{"name": name, "namespace": veleroNamespace, "labels": map[string]string{"dpsim.io/tenant": tenant}},
		"spec":     map[string]any{"backupName": backup, "includedNamespaces": []string{ns}},
	}
	data, err := json.Marshal(restore)
	if err != nil {
		return topology.RestoreRun{}, err
	}
	run := topology.RestoreRun{Name: name, Backup: backup, Started: time.Now()}
	if _, err := p.cluster.Kubectl(ctx, bytes.NewReader(data), "create", "-f", "-"); err != nil {
		return run, fmt.Errorf("create restore %s: %w", name, err)
	}
	var r veleroRestore
	err = p.waitFor(ctx, p.opts.ReadyTimeout, func() error {
		out, err := p.cluster.Kubectl(ctx, nil, "-n", veleroNamespace, "get", "restores.velero.io", name, "-o", "json")
		if err != nil {
			return err
		}
		if err := json.Unmarshal(out, &r); err != nil {
			return err
		}
		switch r.Status.Phase {
		case "Completed", "PartiallyFailed", "Failed", "FailedValidation":
			return nil
		}
		return fmt.Errorf("restore %s: phase %q", name, r.Status.Phase)
	})
	run.Phase = r.Status.Phase
	if err != nil {
		return run, fmt.Errorf("restore tenant %s: %w", tenant, err)
	}
	var pvrs []podVolumeOp
	if err := list(ctx, p, veleroNamespace, "podvolumerestores.velero.io", &pvrs, "velero.io/restore-name="+name); err != nil {
		return run, err
	}
	run.Volumes = len(pvrs)
	for _, v := range pvrs {
		if v.Status.Phase != "Completed" {
			run.Warnings = append(run.Warnings, fmt.Sprintf("volume %s of pod %s: %s %s", v.Spec.Volume, v.Spec.Pod.Name, v.Status.Phase, v.Status.Message))
		}
	}
	if r.Status.FailureReason != "" {
		run.Warnings = append(run.Warnings, "failure: "+r.Status.FailureReason)
	}
	for _, e := range r.Status.ValidationErrors {
		run.Warnings = append(run.Warnings, "validation: "+e)
	}
	if r.Status.Warnings > 0 || r.Status.Errors > 0 {
		run.Warnings = append(run.Warnings, p.results(ctx, "restores/"+name+"/restore-"+name+"-results.gz")...)
	}
	p.log.Info("restore ended", "restore", name, "phase", run.Phase, "volumes", run.Volumes, "elapsed", since(run.Started))
	if run.Phase != "Completed" && run.Phase != "PartiallyFailed" {
		return run, fmt.Errorf("restore %s of tenant %s: phase %s", name, tenant, run.Phase)
	}
	for _, w := range append(workloads(), "deployment/dpsim-agent") {
		if err := p.rollout(ctx, ns, w); err != nil {
			return run, fmt.Errorf("restore tenant %s: %w", tenant, err)
		}
	}
	if err := p.waitFor(ctx, p.opts.ReadyTimeout, func() error { return p.storesAnswer(ctx, tenant) }); err != nil {
		return run, fmt.Errorf("restore tenant %s: stores do not answer: %w", tenant, err)
	}
	run.Answered = time.Now()
	p.log.Info("tenant restored", "tenant", tenant, "restore", name, "elapsed", since(run.Started))
	return run, nil
}

// storesAnswer checks that tenant's agent answers and each of its in-cluster stores answers a
// question about every dataset in use (its replication state). With no dataset in use the agent's
// list of its stores is the answer (the workloads' readiness probes already said the stores
// listen). An answer is enough: whether the data came back is for the caller to read.
func (p *Platform) storesAnswer(ctx context.Context, tenant string) error {
	a, ok := p.agents[tenant]
	if !ok {
		return fmt.Errorf("no agent for tenant %q", tenant)
	}
	if err := a.client.Healthy(ctx); err != nil {
		return err
	}
	if _, err := a.client.StoreInfos(ctx); err != nil {
		return err
	}
	for _, c := range platform.Components() {
		for _, ds := range a.datasets() {
			if _, err := a.client.Replicated(ctx, c.Name, ds); err != nil { // a missing dataset is an answer
				return err
			}
		}
	}
	return nil
}

// BackupObjects implements topology.Backups: every object of the bucket, each read whole.
func (p *Platform) BackupObjects(ctx context.Context) ([]topology.StoredObject, error) {
	if p.objects == nil {
		return nil, fmt.Errorf("no object store")
	}
	return p.objects.ReadAll(ctx, veleroBucket, "")
}

// tenantBackups lists the Backups of ns: those that include it, or are named after it.
func (p *Platform) tenantBackups(ctx context.Context, ns string) ([]veleroBackup, error) {
	var all []veleroBackup
	if err := list(ctx, p, veleroNamespace, "backups.velero.io", &all); err != nil {
		return nil, err
	}
	var out []veleroBackup
	for _, b := range all {
		if slices.Contains(b.Spec.IncludedNamespaces, ns) || strings.HasPrefix(b.Metadata.Name, ns+"-") {
			out = append(out, b)
		}
	}
	return out, nil
}

// Offboard implements topology.Offboarder: the tenant's schedule, then every backup of its
// namespace through a DeleteBackupRequest (as `velero backup delete` does: deleting the Backup
// object alone is undone by the sync from the bucket), then, when the spec says so, its backup
// repositories with their data under kopia/<namespace>/, then its namespace.
func (p *Platform) Offboard(ctx context.Context, tenant string) ([]string, error) {
	ns := platform.Namespace(tenant)
	var steps []string
	step := func(format string, args ...any) {
		s := fmt.Sprintf(format, args...)
		steps = append(steps, s)
		p.log.Info("offboard: "+s, "tenant", tenant)
	}
	if _, err := p.cluster.Kubectl(ctx, nil, "-n", veleroNamespace, "delete", "schedules.velero.io", scheduleName(tenant), "--ignore-not-found"); err != nil {
		return steps, fmt.Errorf("offboard %s: delete schedule: %w", tenant, err)
	}
	step("schedule %s deleted", scheduleName(tenant))

	backups, err := p.tenantBackups(ctx, ns)
	if err != nil {
		return steps, err
	}
	if len(backups) > 0 {
		start := time.Now()
		if err := p.deleteBackups(ctx, backups, func() ([]veleroBackup, error) { return p.tenantBackups(ctx, ns) }); err != nil {
			return steps, fmt.Errorf("offboard %s: %w", tenant, err)
		}
		step("%d backups deleted through delete-backup requests in %s", len(backups), since(start))
		// Velero keeps a processed request (naming the backup) for 24 h; the tenant leaves no trace.
		names, err := p.deleteRequests(ctx, ns)
		if err != nil {
			return steps, fmt.Errorf("offboard %s: %w", tenant, err)
		}
		if len(names) > 0 {
			args := append([]string{"-n", veleroNamespace, "delete", "deletebackuprequests.velero.io", "--ignore-not-found"}, names...)
			if _, err := p.cluster.Kubectl(ctx, nil, args...); err != nil {
				return steps, fmt.Errorf("offboard %s: delete processed delete-backup requests: %w", tenant, err)
			}
		}
		step("processed delete-backup requests removed: %s", orNone(names))
	} else {
		step("no backups to delete")
	}

	if p.spec.Offboarding.PurgeBackupRepository {
		var repos []backupRepository
		if err := list(ctx, p, veleroNamespace, "backuprepositories.velero.io", &repos); err != nil {
			return steps, err
		}
		var names []string
		for _, r := range repos {
			if r.belongsTo(ns) {
				names = append(names, r.Metadata.Name)
			}
		}
		if len(names) > 0 {
			args := append([]string{"-n", veleroNamespace, "delete", "backuprepositories.velero.io", "--ignore-not-found"}, names...)
			if _, err := p.cluster.Kubectl(ctx, nil, args...); err != nil {
				return steps, fmt.Errorf("offboard %s: delete backup repositories: %w", tenant, err)
			}
		}
		step("backup repositories deleted: %s", orNone(names))
		n, err := p.objects.RemovePrefix(ctx, veleroBucket, "kopia/"+ns+"/")
		if err != nil {
			return steps, fmt.Errorf("offboard %s: purge repository data: %w", tenant, err)
		}
		step("%d repository objects removed under %s/kopia/%s/", n, veleroBucket, ns)
	}

	start := time.Now()
	volumes, err := p.deleteNamespace(ctx, ns)
	if err != nil {
		return steps, fmt.Errorf("offboard %s: %w", tenant, err)
	}
	step("namespace %s deleted with %d volumes (%s) in %s", ns, len(volumes), strings.Join(volumes, ", "), since(start))
	if p.objects != nil { // the tenant's own data in the object store goes too
		bucket, err := keys.BucketName(tenant)
		if err != nil {
			return steps, err
		}
		n, err := p.objects.RemoveBucket(ctx, bucket)
		if err != nil {
			return steps, fmt.Errorf("offboard %s: %w", tenant, err)
		}
		step("object store bucket %s deleted with %d objects", bucket, n)
	}
	return steps, nil
}

// DeleteBackup implements topology.Backups: a DeleteBackupRequest for the backup, as `velero
// backup delete` makes it, then the wait until the Backup is gone (Velero removes its objects in
// the bucket, its volume backups' snapshots and its restores first).
func (p *Platform) DeleteBackup(ctx context.Context, name string) error {
	out, err := p.cluster.Kubectl(ctx, nil, "-n", veleroNamespace, "get", "backups.velero.io", name, "--ignore-not-found", "-o", "json")
	if err != nil {
		return fmt.Errorf("delete backup %s: %w", name, err)
	}
	if len(bytes.TrimSpace(out)) == 0 {
		return nil // gone already (expired, or deleted by offboarding)
	}
	var b veleroBackup
	if err := json.Unmarshal(out, &b); err != nil {
		return fmt.Errorf("delete backup %s: %w", name, err)
	}
	start := time.Now()
	err = p.deleteBackups(ctx, []veleroBackup{b}, func() ([]veleroBackup, error) {
		out, err := p.cluster.Kubectl(ctx, nil, "-n", veleroNamespace, "get", "backups.velero.io", name, "--ignore-not-found", "-o", "name")
		if err != nil || len(bytes.TrimSpace(out)) == 0 {
			return nil, err
		}
		return []veleroBackup{b}, nil
	})
	if err != nil {
		return err
	}
	p.log.Info("backup deleted", "backup", name, "elapsed", since(start))
	return nil
}

// deleteBackups asks Velero to delete backups, one DeleteBackupRequest each, and waits until left
// lists none.
func (p *Platform) deleteBackups(ctx context.Context, backups []veleroBackup, left func() ([]veleroBackup, error)) error {
	if err := p.waitLocation(ctx); err != nil { // Velero refuses deletions while it is unavailable
		return fmt.Errorf("delete backups: %w", err)
	}
	for _, b := range backups {
		req := map[string]any{
			"apiVersion": "velero.io/v1", "kind": "DeleteBackupRequest",
			"metadata": map[string]any{"generateName": b.Metadata.Name + "-", "namespace": veleroNamespace,
				"labels": map[string]string{"velero.io/backup-name": validLabel(b.Metadata.Name), "velero.io/backup-uid": b.Metadata.UID}},
			"spec": map[string]any{"backupName": b.Metadata.Name},
		}
		data, err := json.Marshal(req)
		if err != nil {
			return err
		}
		if _, err := p.cluster.Kubectl(ctx, bytes.NewReader(data), "create", "-f", "-"); err != nil {
			return fmt.Errorf("request deletion of backup %s: %w", b.Metadata.Name, err)
		}
	}
	return p.waitFor(ctx, p.opts.ReadyTimeout, func() error {
		still, err := left()
		if err != nil {
			return err
		}
		if len(still) > 0 {
			var names []string
			for _, b := range still {
				names = append(names, b.Metadata.Name)
			}
			return fmt.Errorf("backups still there: %s", strings.Join(names, ", "))
		}
		return nil
	})
}

// deleteRequests names the DeleteBackupRequests of ns's backups.
func (p *Platform) deleteRequests(ctx context.Context, ns string) ([]string, error) {
	var dbrs []struct {
		Metadata objectMeta `json:"metadata"`
		Spec     struct {
			BackupName string `json:"backupName"`
		} `json:"spec"`
	}
	if err := list(ctx, p, veleroNamespace, "deletebackuprequests.velero.io", &dbrs); err != nil {
		return nil, err
	}
	var out []string
	for _, d := range dbrs {
		if strings.HasPrefix(d.Spec.BackupName, ns+"-") {
			out = append(out, d.Metadata.Name)
		}
	}
	return out, nil
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// validLabel is name as a label value (Velero hashes longer names; dpsim's are short).
func validLabel(name string) string {
	if len(name) <= 63 {
		return name
	}
	return name[:63]
}

// backupRepository is the part of a BackupRepository dpsim reads.
type backupRepository struct {
	Metadata objectMeta `json:"metadata"`
	Spec     struct {
		VolumeNamespace  string `json:"volumeNamespace"`
		ResticIdentifier string `json:"resticIdentifier"`
	} `json:"spec"`
}

func (r backupRepository) belongsTo(ns string) bool {
	return r.Spec.VolumeNamespace == ns || r.Metadata.Labels["velero.io/volume-namespace"] == ns
}

// Remains implements topology.Offboarder: everything of tenant still on the platform.
func (p *Platform) Remains(ctx context.Context, tenant string) ([]topology.Remnant, error) {
	ns := platform.Namespace(tenant)
	var out []topology.Remnant
	add := func(kind, name, where string) {
		out = append(out, topology.Remnant{Kind: kind, Name: name, Where: where})
	}

	nsOut, err := p.cluster.Kubectl(ctx, nil, "get", "namespace", ns, "--ignore-not-found", "-o", "name")
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(nsOut)) > 0 {
		add("Namespace", ns, "cluster")
		var claims []claim
		if err := list(ctx, p, ns, "persistentvolumeclaims", &claims); err != nil {
			return nil, err
		}
		for _, c := range claims {
			add("PersistentVolumeClaim", c.Metadata.Name, ns)
		}
	}
	volumes, err := p.namespaceVolumes(ctx, ns)
	if err != nil {
		return nil, err
	}
	for _, v := range volumes {
		add("PersistentVolume", v, "cluster")
	}

	// local-path-provisioner's directories: pvc-<uid>_<namespace>_<claim> under its path, per node.
	nodes, err := p.cluster.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	for _, n := range nodes {
		dirs, err := p.cluster.run(ctx, nil, p.cluster.docker, "exec", n.Name, "ls", "-1", localPathDir)
		if err != nil {
			if strings.Contains(err.Error(), "No such file") {
				continue
			}
			return nil, fmt.Errorf("list volume directories on %s: %w", n.Name, err)
		}
		for _, d := range strings.Fields(string(dirs)) {
			if strings.Contains(d, "_"+ns+"_") {
				add("VolumeDirectory", localPathDir+"/"+d, n.Name)
			}
		}
	}

	// Velero's objects of the tenant.
	backups, err := p.tenantBackups(ctx, ns)
	if err != nil {
		return nil, err
	}
	for _, b := range backups {
		add("Backup", b.Metadata.Name, veleroNamespace)
	}
	var restores []veleroRestore
	if err := list(ctx, p, veleroNamespace, "restores.velero.io", &restores); err != nil {
		return nil, err
	}
	for _, r := range restores {
		if slices.Contains(r.Spec.IncludedNamespaces, ns) || strings.HasPrefix(r.Spec.BackupName, ns+"-") || r.Metadata.Labels["dpsim.io/tenant"] == tenant {
			add("Restore", r.Metadata.Name, veleroNamespace)
		}
	}
	for _, res := range []struct{ kind, resource string }{{"PodVolumeBackup", "podvolumebackups.velero.io"}, {"PodVolumeRestore", "podvolumerestores.velero.io"}} {
		var ops []podVolumeOp
		if err := list(ctx, p, veleroNamespace, res.resource, &ops); err != nil {
			return nil, err
		}
		for _, o := range ops {
			if o.Spec.Pod.Namespace == ns || strings.HasPrefix(o.Metadata.Labels["velero.io/backup-name"], ns+"-") || strings.HasPrefix(o.Metadata.Labels["velero.io/restore-name"], ns+"-") {
				add(res.kind, o.Metadata.Name, veleroNamespace)
			}
		}
	}
	var repos []backupRepository
	if err := list(ctx, p, veleroNamespace, "backuprepositories.velero.io", &repos); err != nil {
		return nil, err
	}
	for _, r := range repos {
		if r.belongsTo(ns) {
			add("BackupRepository", r.Metadata.Name, veleroNamespace)
		}
	}
	dbrs, err := p.deleteRequests(ctx, ns)
	if err != nil {
		return nil, err
	}
	for _, d := range dbrs {
		add("DeleteBackupRequest", d, veleroNamespace)
	}
	var schedules []veleroSchedule
	if err := list(ctx, p, veleroNamespace, "schedules.velero.io", &schedules); err != nil {
		return nil, err
	}
	for _, s := range schedules {
		var tmpl backupSpec
		_ = json.Unmarshal(s.Spec.Template, &tmpl)
		if s.Metadata.Name == scheduleName(tenant) || slices.Contains(tmpl.IncludedNamespaces, ns) {
			add("Schedule", s.Metadata.Name, veleroNamespace)
		}
	}

	// The bucket, all of it listed: any key that names the namespace.
	if p.objects != nil {
		objs, err := p.objects.List(ctx, veleroBucket, "")
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			if strings.Contains(o.Key, ns) {
				out = append(out, topology.StorageRemnant(o.Key, veleroBucket))
			}
		}
		bucket, err := keys.BucketName(tenant)
		if err != nil {
			return nil, err
		}
		own, exists, err := p.objects.Contents(ctx, bucket)
		if err != nil {
			return nil, err
		}
		if exists {
			add("Bucket", bucket, "object store")
		}
		for _, o := range own {
			add(topology.RemnantBucketObject, o.Key, bucket)
		}
	}
	return out, nil
}
