package topology

import (
	"context"
	"strings"
	"time"
)

// Backups is the platform's backup system (Velero on kind): one schedule per tenant made from the
// spec, backups made from a schedule's template, restores, expiry and deletion. Everything it
// returns is read from the running system, never from the spec.
type Backups interface {
	// BackupSchedules reads the schedules the backup system runs.
	BackupSchedules(ctx context.Context) ([]BackupSchedule, error)
	// BackUp makes a backup of tenant from its schedule's template, with ttl when ttl > 0, waits
	// until it ends and returns what it holds. label goes into the backup's name, which also
	// carries the tenant's namespace.
	BackUp(ctx context.Context, tenant, label string, ttl time.Duration) (BackupRun, error)
	// ListBackups lists the backups the backup system holds now.
	ListBackups(ctx context.Context) ([]BackupRun, error)
	// DestroyTenant deletes tenant's namespace with its volumes and waits until they are gone; it
	// returns evidence (the volumes that went).
	DestroyTenant(ctx context.Context, tenant string) (string, error)
	// Restore restores backup into tenant's namespace and waits until its stores answer again.
	Restore(ctx context.Context, tenant, backup string) (RestoreRun, error)
	// DeleteBackup deletes a backup through the backup system (with its objects in the storage) and
	// waits until it is gone; a backup that is gone already is no error.
	DeleteBackup(ctx context.Context, name string) error
	// BackupObjects lists every object of the backup storage (the whole bucket), each read whole.
	BackupObjects(ctx context.Context) ([]StoredObject, error)
	// GarbageCollectionPeriod is how often the backup system removes expired backups.
	GarbageCollectionPeriod() time.Duration
}

// BackupSchedule is one schedule as the backup system holds it.
type BackupSchedule struct {
	Name string `json:"name"`
	// Cron is the schedule's cron expression (robfig/cron syntax, as Velero parses it).
	Cron string `json:"cron"`
	// TTL is how long a backup of the schedule is kept.
	TTL time.Duration `json:"ttl"`
	// Namespaces are the namespaces its backups include.
	Namespaces []string `json:"namespaces"`
	// Tenants are the tenants whose namespace is among Namespaces.
	Tenants []string `json:"tenants"`
	// Paused schedules make no backups.
	Paused bool `json:"paused,omitempty"`
}

// BackupRun is one backup as the backup system reports it.
type BackupRun struct {
	Name   string `json:"name"`
	Tenant string `json:"tenant"`
	// Phase is the backup system's verdict ("Completed", "PartiallyFailed", ...).
	Phase     string    `json:"phase"`
	Started   time.Time `json:"started"`
	Completed time.Time `json:"completed"`
	Expires   time.Time `json:"expires"`
	// Repository is the storage prefix of the repository that holds its volume data
	// ("kopia/<namespace>/"), shared with the tenant's other backups.
	Repository string `json:"repository"`
	// Bytes is what the volume backups moved.
	Bytes int64 `json:"bytes"`
	// Volumes are the volume backups it holds (Velero's PodVolumeBackups).
	Volumes []VolumeBackup `json:"volumes"`
	// DataVolumes are the tenant's data volumes when the backup ran, to match Volumes against.
	DataVolumes []DataVolume `json:"dataVolumes"`
	Warnings    []string     `json:"warnings,omitempty"`
}

// VolumeBackup is one volume in a backup.
type VolumeBackup struct {
	Claim string `json:"claim"` // the PersistentVolumeClaim it backed up
	Pod   string `json:"pod"`
	Phase string `json:"phase"`
	Bytes int64  `json:"bytes"`
}

// DataVolume is one data volume of a tenant's component.
type DataVolume struct {
	Component string `json:"component"`
	Claim     string `json:"claim"`
}

// RestoreRun is one restore.
type RestoreRun struct {
	Name   string `json:"name"`
	Backup string `json:"backup"`
	Phase  string `json:"phase"`
	// Started is when the restore began; Answered when the tenant's stores answered again.
	Started, Answered time.Time
	// Volumes counts the volumes restored (Velero's PodVolumeRestores).
	Volumes  int      `json:"volumes"`
	Warnings []string `json:"warnings,omitempty"`
}

// StoredObject is one object of the backup storage, read whole (or why it could not be).
type StoredObject struct {
	Key  string `json:"key"`
	Size int64  `json:"size"`
	// Unreadable is why reading it whole failed; empty when it read back.
	Unreadable string `json:"unreadable,omitempty"`
}

// Offboarder removes a departing tenant the way the platform does and then looks for anything of
// it that remains.
type Offboarder interface {
	// Offboard deletes tenant's schedule and backups through the backup system, its backup
	// repository (when the spec says to purge it) and its namespace; it returns the steps taken.
	Offboard(ctx context.Context, tenant string) ([]string, error)
	// Remains lists everything of tenant still on the platform: Kubernetes objects, volumes and
	// their directories on the nodes, backup-system objects, and objects in the backup storage
	// (found by listing all of it) and in the tenant's bucket. The same search runs before
	// offboarding, where it must find the tenant's OffboardingClasses, and after it.
	Remains(ctx context.Context, tenant string) ([]Remnant, error)
}

// Remnant is one thing of a tenant that the offboarding search found on the platform.
type Remnant struct {
	Kind  string `json:"kind"` // Namespace, PersistentVolume, Backup, RepositoryObject, BucketObject, ...
	Name  string `json:"name"`
	Where string `json:"where,omitempty"`
}

// The kinds of remnant that are objects in storage.
const (
	RemnantBackupObject     = "BackupObject"     // a backup's object in the backup storage
	RemnantRepositoryObject = "RepositoryObject" // volume data in the backup repository (kopia/)
	RemnantBucketObject     = "BucketObject"     // an object in the tenant's own bucket
)

// The classes of what a tenant has on the platform. The offboarding search must find each of
// OffboardingClasses while the tenant is there (proof that it can) and nothing afterwards.
const (
	ClassNamespace  = "namespace"
	ClassVolumes    = "volumes"
	ClassBackups    = "backups"
	ClassRepository = "repository objects"
	ClassBucket     = "bucket objects"
	ClassOther      = "other"
)

// OffboardingClasses are the classes the offboarding search must find of a tenant on the platform.
var OffboardingClasses = []string{ClassNamespace, ClassVolumes, ClassBackups, ClassRepository, ClassBucket}

// remnantClasses gives the class of each kind of remnant; other kinds (schedules, restores,
// the bucket itself, ...) are ClassOther.
var remnantClasses = map[string]string{
	"Namespace":             ClassNamespace,
	"PersistentVolumeClaim": ClassVolumes,
	"PersistentVolume":      ClassVolumes,
	"VolumeDirectory":       ClassVolumes,
	"Backup":                ClassBackups,
	RemnantBackupObject:     ClassBackups,
	RemnantRepositoryObject: ClassRepository,
	RemnantBucketObject:     ClassBucket,
}

// Class is the class of what the tenant has on the platform that r is part of.
func (r Remnant) Class() string {
	if c, ok := remnantClasses[r.Kind]; ok {
		return c
	}
	return ClassOther
}

// StorageRemnant is an object of the backup storage (key, in bucket where): repository data under
// kopia/, otherwise a backup's object.
func StorageRemnant(key, where string) Remnant {
	if strings.HasPrefix(key, "kopia/") {
		return Remnant{Kind: RemnantRepositoryObject, Name: key, Where: where}
	}
	return Remnant{Kind: RemnantBackupObject, Name: key, Where: where}
}
