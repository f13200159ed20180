package fakes

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"dpsim/topology"
	"dpsim/topology/platform"
)

// The fake's backup system follows Velero's file-system backups closely enough to be wrong in the
// same ways: one schedule per tenant from the spec; a backup copies every volume of the tenant's
// stores and lives as objects in the shared object store under Velero's layout (backups/<name>/
// for the backup, kopia/<namespace>/ for the volume data, which deleting a backup leaves behind);
// expired backups are removed by a garbage collection that runs every GCPeriod.

// GCPeriod is how often the fake's backup system removes expired backups (the kind platform's
// test setting).
const GCPeriod = time.Minute

// backupBucket prefixes the backup storage's keys in the shared object store, as a bucket of its own.
const backupBucket = "velero/"

// Simulated durations of the backup system's work.
const (
	backupTime  = 30 * time.Second
	restoreTime = time.Minute
)

// backups is the fake's backup system.
type backups struct {
	list       []*fakeBackup // in creation order
	lastGC     time.Time
	offboarded map[string]bool // tenants offboarded
	destroyed  map[string]bool // tenants whose namespace is gone until a restore
	// kept are what offboarding left behind under the Offboard* misbehaviours.
	kept []topology.Remnant
}

// fakeBackup is one backup: what the backup system reports and the images of the volumes it holds.
type fakeBackup struct {
	run topology.BackupRun
	// images hold, per store and member (volume), the member's copy of every group.
	images map[tenantStore]map[*member]map[int][]string
	// hashes are the values' hashes of the records the images hold.
	hashes map[tenantStore]map[string]string
}

var (
	_ topology.Backups    = (*Provider)(nil)
	_ topology.Offboarder = (*Provider)(nil)
)

func namespace(tenant string) string { return platform.Namespace(tenant) }

func scheduleName(tenant string) string { return namespace(tenant) + "-daily" }

// tenant finds a tenant that is still on the platform.
func (s *site) tenant(name string) (*tenantStores, error) {
	for i := range s.tenants {
		if t := &s.tenants[i]; t.name == name && !s.backups.offboarded[name] {
			return t, nil
		}
	}
	return nil, fmt.Errorf("unknown tenant %q", name)
}

// BackupSchedules lists one schedule per tenant, made from the spec.
func (p *Provider) BackupSchedules(ctx context.Context) ([]topology.BackupSchedule, error) {
	var out []topology.BackupSchedule
	err := p.do(ctx, func(s *site) error {
		ttl, err := time.ParseDuration(s.spec.Backup.Retention)
		if err != nil {
			return fmt.Errorf("backup.retention: %w", err)
		}
		for _, t := range s.tenants {
			if s.backups.offboarded[t.name] {
				continue
			}
			out = append(out, topology.BackupSchedule{Name: scheduleName(t.name), Cron: s.spec.Backup.Schedule, TTL: ttl,
				Namespaces: []string{namespace(t.name)}, Tenants: []string{t.name}})
		}
		return nil
	})
	return out, err
}

// BackUp copies every volume of tenant's stores (but those of excluded components, which it skips
// with a warning as Velero does) into a backup in the object store.
func (p *Provider) BackUp(ctx context.Context, tenant, label string, ttl time.Duration) (topology.BackupRun, error) {
	var run topology.BackupRun
	err := p.do(ctx, func(s *site) error {
		t, err := s.tenant(tenant)
		if err != nil {
			return err
		}
		ns := namespace(tenant)
		name := ns + "-" + label
		if s.backups.find(name) != nil {
			return fmt.Errorf("backup %s already exists", name)
		}
		if ttl <= 0 {
			if ttl, err = time.ParseDuration(s.spec.Backup.Retention); err != nil {
				return err
			}
		}
		b := &fakeBackup{images: map[tenantStore]map[*member]map[int][]string{}, hashes: map[tenantStore]map[string]string{}}
		b.run = topology.BackupRun{Name: name, Tenant: tenant, Started: s.clock.Now(), Repository: "kopia/" + ns + "/"}
		for _, st := range t.own {
			b.images[st], b.hashes[st] = map[*member]map[int][]string{}, map[string]string{}
			skip := slices.Contains(s.spec.Backup.ExcludeComponents, st.name()) ||
				(p.cfg.has(BackupSkipsVolume) && st.kind() == topology.KindDocument)
			for _, m := range st.members() {
				claim := "data-" + m.name
				b.run.DataVolumes = append(b.run.DataVolumes, topology.DataVolume{Component: st.name(), Claim: claim})
				if skip {
					b.run.Warnings = append(b.run.Warnings, fmt.Sprintf("volume data of pod %s/%s skipped: not selected for backup", ns, m.name))
					continue
				}
				vb := topology.VolumeBackup{Claim: claim, Pod: m.name, Phase: "Completed"}
				image := st.image(m)
				if _, _, err := s.object.put(backupBucket + "kopia/" + ns + "/" + name + "/" + m.name); err != nil || !m.running() {
					vb.Phase = "Failed"
				} else {
					b.images[st][m] = image
					for _, ids := range image {
						vb.Bytes += int64(len(ids)) * 64
					}
				}
				b.run.Volumes = append(b.run.Volumes, vb)
				b.run.Bytes += vb.Bytes
			}
			for k, h := range s.hashes[st] {
				b.hashes[st][k] = h
			}
		}
		b.run.Phase = "Completed"
		if _, _, err := s.object.put(backupBucket + "backups/" + name + "/velero-backup.json"); err != nil {
			b.run.Phase = "Failed"
		}
		for _, v := range b.run.Volumes {
			if v.Phase != "Completed" {
				b.run.Phase = "PartiallyFailed"
			}
		}
		s.clock.Advance(backupTime)
		b.run.Completed = s.clock.Now()
		b.run.Expires = b.run.Started.Add(ttl)
		s.backups.list = append(s.backups.list, b)
		run = b.run
		return nil
	})
	return run, err
}

// image copies member m's copy of every group.
func (st *replicatedStore) image(m *member) map[int][]string {
	out := map[int][]string{}
	for _, g := range st.groups {
		for _, r := range g.replicas {
			if r.m == m {
				out[g.index] = slices.Clone(r.ids)
			}
		}
	}
	return out
}

func (b *backups) find(name string) *fakeBackup {
	for _, x := range b.list {
		if x.run.Name == name {
			return x
		}
	}
	return nil
}

// ListBackups lists the backups after removing the expired ones, if garbage collection is due.
func (p *Provider) ListBackups(ctx context.Context) ([]topology.BackupRun, error) {
	var out []topology.BackupRun
	err := p.do(ctx, func(s *site) error {
		s.collectGarbage(p.cfg.has(DeleteKeepsObjects))
		for _, b := range s.backups.list {
			out = append(out, b.run)
		}
		return nil
	})
	return out, err
}

// collectGarbage deletes every expired backup once GCPeriod has passed since it last ran.
func (s *site) collectGarbage(keepObjects bool) {
	now := s.clock.Now()
	if now.Sub(s.backups.lastGC) < GCPeriod {
		return
	}
	s.backups.lastGC = now
	for _, b := range slices.Clone(s.backups.list) {
		if now.After(b.run.Expires) {
			s.deleteBackup(b.run.Name, keepObjects)
		}
	}
}

// deleteBackup removes a backup and its objects (but, as Velero, not its volume data in the
// repository); keepObjects leaves the objects (the DeleteKeepsObjects misbehaviour).
func (s *site) deleteBackup(name string, keepObjects bool) {
	s.backups.list = slices.DeleteFunc(s.backups.list, func(b *fakeBackup) bool { return b.run.Name == name })
	if !keepObjects {
		s.object.remove(backupBucket + "backups/" + name + "/")
	}
}

// DeleteBackup deletes a backup with its objects; one that is gone already is no error.
func (p *Provider) DeleteBackup(ctx context.Context, name string) error {
	return p.do(ctx, func(s *site) error {
		if s.backups.find(name) == nil {
			return nil // gone already (expired, or deleted by offboarding)
		}
		s.deleteBackup(name, p.cfg.has(DeleteKeepsObjects))
		return nil
	})
}

// DestroyTenant wipes every volume of tenant's stores: its namespace is gone until a restore.
func (p *Provider) DestroyTenant(ctx context.Context, tenant string) (string, error) {
	var gone []string
	err := p.do(ctx, func(s *site) error {
		t, err := s.tenant(tenant)
		if err != nil {
			return err
		}
		for _, st := range t.own {
			for _, m := range st.members() {
				st.wipe(m)
				gone = append(gone, "data-"+m.name)
			}
			clear(s.hashes[st])
		}
		s.backups.destroyed[tenant] = true
		s.clock.Advance(s.lat.Fault)
		return nil
	})
	return fmt.Sprintf("namespace %s deleted with its volumes %s", namespace(tenant), strings.Join(gone, ", ")), err
}

// Restore puts back every volume image of backup whose data reads back from the object store;
// a volume whose data does not read back is restored empty and the restore only partly succeeds.
func (p *Provider) Restore(ctx context.Context, tenant, backup string) (topology.RestoreRun, error) {
	var run topology.RestoreRun
	err := p.do(ctx, func(s *site) error {
		t, err := s.tenant(tenant)
		if err != nil {
			return err
		}
		b := s.backups.find(backup)
		if b == nil {
			return fmt.Errorf("backup %s not found", backup)
		}
		ns := namespace(tenant)
		run = topology.RestoreRun{Name: backup + "-restore", Backup: backup, Phase: "Completed", Started: s.clock.Now()}
		for _, st := range t.own {
			for _, m := range st.members() {
				image, ok := b.images[st][m]
				if !ok {
					continue // not in the backup: comes back empty
				}
				if s.object.readable1(backupBucket+"kopia/"+ns+"/"+backup+"/"+m.name) < s.object.data {
					run.Phase = "PartiallyFailed"
					run.Warnings = append(run.Warnings, fmt.Sprintf("volume data-%s: repository data unreadable", m.name))
					continue
				}
				st.restoreImage(m, image)
				run.Volumes++
			}
			for k, h := range b.hashes[st] {
				s.hashes[st][k] = h
			}
		}
		delete(s.backups.destroyed, tenant)
		s.clock.Advance(restoreTime)
		run.Answered = s.clock.Now()
		return nil
	})
	return run, err
}

// restoreImage puts m's copies back and makes every copy in sync again, the first leading.
func (st *replicatedStore) restoreImage(m *member, image map[int][]string) {
	for _, g := range st.groups {
		for _, r := range g.replicas {
			if r.m == m {
				r.reset(image[g.index])
				r.inSync = true
			}
		}
		g.leader = g.replicas[0]
	}
}

// BackupObjects lists every object of the backup storage, with those that cannot be read whole.
func (p *Provider) BackupObjects(ctx context.Context) ([]topology.StoredObject, error) {
	var out []topology.StoredObject
	err := p.do(ctx, func(s *site) error {
		for _, k := range s.object.keys(backupBucket) {
			o := topology.StoredObject{Key: strings.TrimPrefix(k, backupBucket), Size: 64}
			if n := s.object.readable1(k); n < s.object.data {
				o.Unreadable = fmt.Sprintf("%d of %d shards reachable", n, s.object.data)
			}
			out = append(out, o)
		}
		return nil
	})
	return out, err
}

// GarbageCollectionPeriod implements topology.Backups.
func (p *Provider) GarbageCollectionPeriod() time.Duration { return GCPeriod }

// Offboard deletes tenant's schedule and backups, its repository data when the spec says to purge
// it, and its namespace with its volumes.
func (p *Provider) Offboard(ctx context.Context, tenant string) ([]string, error) {
	var steps []string
	err := p.do(ctx, func(s *site) error {
		t, err := s.tenant(tenant)
		if err != nil {
			return err
		}
		ns := namespace(tenant)
		steps = append(steps, "deleted schedule "+scheduleName(tenant))
		for _, b := range slices.Clone(s.backups.list) {
			if b.run.Tenant != tenant {
				continue
			}
			if p.cfg.has(OffboardKeepsBackup) {
				s.backups.kept = append(s.backups.kept, topology.Remnant{Kind: "Backup", Name: b.run.Name})
				continue
			}
			s.deleteBackup(b.run.Name, p.cfg.has(DeleteKeepsObjects))
			steps = append(steps, "deleted backup "+b.run.Name)
		}
		if s.spec.Offboarding.PurgeBackupRepository {
			s.object.remove(backupBucket + "kopia/" + ns + "/")
			steps = append(steps, "deleted the backup repository of "+ns+" and its data")
		}
		for _, st := range t.own {
			for _, m := range st.members() {
				st.wipe(m)
				if p.cfg.has(OffboardKeepsClaim) && st.kind() == topology.KindDocument && m == st.members()[0] {
					s.backups.kept = append(s.backups.kept, topology.Remnant{Kind: "PersistentVolumeClaim", Name: "data-" + m.name, Where: ns})
				}
			}
			clear(s.hashes[st])
		}
		s.object.remove(tenant + "/")
		s.backups.offboarded[tenant] = true
		steps = append(steps, "deleted namespace "+ns)
		return nil
	})
	return steps, err
}

// Remains lists what is left of tenant: everything while it is still on the platform, afterwards
// what offboarding kept and any backup, schedule or object that names its namespace.
func (p *Provider) Remains(ctx context.Context, tenant string) ([]topology.Remnant, error) {
	var out []topology.Remnant
	err := p.do(ctx, func(s *site) error {
		ns := namespace(tenant)
		if t, err := s.tenant(tenant); err == nil {
			out = append(out, topology.Remnant{Kind: "Namespace", Name: ns}, topology.Remnant{Kind: "Schedule", Name: scheduleName(tenant)})
			for _, st := range t.own {
				for _, m := range st.members() {
					out = append(out, topology.Remnant{Kind: "PersistentVolumeClaim", Name: "data-" + m.name, Where: ns})
				}
			}
		}
		out = append(out, s.backups.kept...)
		for _, b := range s.backups.list {
			if b.run.Tenant == tenant && !slices.ContainsFunc(out, func(r topology.Remnant) bool { return r.Kind == "Backup" && r.Name == b.run.Name }) {
				out = append(out, topology.Remnant{Kind: "Backup", Name: b.run.Name})
			}
		}
		for _, k := range s.object.keys(backupBucket) {
			if strings.Contains(k, ns) {
				out = append(out, topology.StorageRemnant(strings.TrimPrefix(k, backupBucket), "backup storage"))
			}
		}
		for _, k := range s.object.keys(tenant + "/") {
			out = append(out, topology.Remnant{Kind: topology.RemnantBucketObject, Name: k, Where: "object store"})
		}
		return nil
	})
	return out, err
}
