package scenarios

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"dpsim/scenarios/history"
	"dpsim/topology"
)

// Drill is a scenario's procedure when it is not traffic around one fault: backing up, restoring,
// expiring backups, offboarding a tenant. It records what it saw in the runner's observation.
type Drill interface {
	run(ctx context.Context, r *runner) error
}

// BackupObservation is what the backup scenarios saw of the backup system.
type BackupObservation struct {
	// From is when the schedules were read; their cron is evaluated over the year after it.
	From      time.Time
	Schedules []topology.BackupSchedule
	// Tenants are the platform's tenants, each of which a schedule must cover.
	Tenants []string
	// Backups are the backups the scenario made, in order.
	Backups     []topology.BackupRun
	Restores    []RestoreObservation
	Expiry      *ExpiryObservation
	DriveLoss   []DriveLossObservation
	Offboarding *OffboardingObservation
}

// RestoreObservation is one round of ledger writes, backup, destruction and restore of a tenant.
type RestoreObservation struct {
	Tenant string
	// Label names the round; its writes' phases start with it ("<label>-before", ...).
	Label  string
	Backup topology.BackupRun
	// BackupStart and BackupEnd are the engine's own times around the backup: writes acknowledged
	// before BackupStart must come back, writes started after BackupEnd must not.
	BackupStart, BackupEnd time.Time
	Destroyed              time.Time
	Run                    topology.RestoreRun
	// Stores are the tenant's stores read back after the restore.
	Stores []StoreState
	// Unsettled is why the restored stores did not become healthy in time; nil when they did.
	Unsettled error
}

// judged reports whether store s keeps its data in the tenant's volumes, which are what a backup
// holds; other stores (the object store: the backup's own storage) are not judged by a restore.
func (ro RestoreObservation) judged(store string) bool {
	return slices.ContainsFunc(ro.Backup.DataVolumes, func(v topology.DataVolume) bool { return v.Component == store })
}

// ExpiryObservation is the retention experiment.
type ExpiryObservation struct {
	Expired    string
	ExpiredTTL time.Duration
	Kept       string
	Waited     time.Duration
	GCPeriod   time.Duration
	Listed     []topology.BackupRun
	Objects    []topology.StoredObject
}

// DriveLossObservation is the backups read back with object-store drives down.
type DriveLossObservation struct {
	// Fault says which drives were down and how (wiped, offline, a zone's servers stopped).
	Fault string
	Down  int
	// WithinClaim is true while no more drives are down than the store's parity (at least one),
	// or when a zone's drives are down: the steps the claim judges.
	WithinClaim bool
	Backups     []topology.BackupRun
	Listed      []topology.BackupRun
	Objects     []topology.StoredObject
	// ListErr is why the storage could not be listed at all (beyond the claim only).
	ListErr string
}

// OffboardingObservation is an offboarding: what the search found of the tenant before it, the
// steps, what the same search found afterwards, and the other tenants' backups afterwards.
type OffboardingObservation struct {
	Tenant       string
	Before       []topology.Remnant
	Steps        []string
	Remains      []topology.Remnant
	OtherBackups []topology.BackupRun
	Listed       []topology.BackupRun
	Objects      []topology.StoredObject
}

// backupSystem is the provider's backup system.
func (r *runner) backupSystem() topology.Backups { return r.env.Provider.(topology.Backups) }

func (r *runner) backupObs() *BackupObservation {
	if r.obs.Backup == nil {
		r.obs.Backup = &BackupObservation{}
	}
	return r.obs.Backup
}

// readSchedules reads the live schedules.
func (r *runner) readSchedules(ctx context.Context) error {
	scheds, err := r.backupSystem().BackupSchedules(ctx)
	if err != nil {
		return fmt.Errorf("read the backup schedules: %w", err)
	}
	o := r.backupObs()
	o.From, o.Schedules, o.Tenants = r.clock.Now(), scheds, r.env.Spec.Tenants
	var names []string
	for _, s := range scheds {
		names = append(names, fmt.Sprintf("%s %q ttl %s for %s", s.Name, s.Cron, s.TTL, strings.Join(s.Tenants, ",")))
	}
	r.event("%d backup schedules: %s", len(names), strings.Join(names, "; "))
	return nil
}

// backUp makes a backup of tenant from its schedule's template and records it; the scenario
// deletes it at its end unless the run retains its data.
func (r *runner) backUp(ctx context.Context, tenant, label string, ttl time.Duration) (topology.BackupRun, error) {
	b, err := r.backupSystem().BackUp(ctx, tenant, r.env.RunID+"-"+label, ttl)
	if b.Name != "" {
		r.madeBackups = append(r.madeBackups, b.Name)
	}
	if err != nil {
		return b, fmt.Errorf("back up tenant %s: %w", tenant, err)
	}
	o := r.backupObs()
	o.Backups = append(o.Backups, b)
	r.event("backed up tenant %s: %s %s, %d of %d data volumes, %d bytes in %s", tenant, b.Name, b.Phase,
		len(b.Volumes), len(b.DataVolumes), b.Bytes, b.Completed.Sub(b.Started).Round(time.Second))
	return b, nil
}

// deleteBackups deletes the backups the scenario made, through the backup system, unless the run
// retains its data.
func (r *runner) deleteBackups(ctx context.Context) {
	failed, ran := cleanUp(ctx, r, r.madeBackups, func(ctx context.Context, name string) (string, error) {
		return name, r.backupSystem().DeleteBackup(ctx, name)
	})
	switch {
	case len(failed) > 0:
		r.event("could not delete backups: %s", strings.Join(failed, "; "))
	case ran:
		r.event("deleted the %d backups the scenario made", len(r.madeBackups))
	}
}

// writePhase writes writesPerPhase records of phase to every store in recs.
func (r *runner) writePhase(ctx context.Context, recs []*history.Recorder, phase string) error {
	n := r.writesPerPhase()
	r.eachStore(recs, func(rec *history.Recorder) {
		if err := r.writeIDs(ctx, rec, phase, n); err != nil && ctx.Err() == nil {
			r.env.Log.Warn(fmt.Sprintf("%s: %s/%s %s: %v", r.sc.Name, rec.Tenant, rec.Store.Name(), phase, err))
		}
	})
	if err := ctx.Err(); err != nil {
		return err
	}
	r.event("%s: %d writes to each of %d stores", phase, n, len(recs))
	return nil
}

func (r *runner) writesPerPhase() int {
	if r.sc.Traffic != nil && r.sc.Traffic.WritesPerPhase > 0 {
		return r.sc.Traffic.WritesPerPhase
	}
	return DefaultTraffic.WritesPerPhase
}

// backedUpLedger writes label-before records to recs, backs tenant up (writing label-during
// records while it runs, on a real platform) and then writes label-after markers.
func (r *runner) backedUpLedger(ctx context.Context, tenant, label string, recs []*history.Recorder) (*RestoreObservation, error) {
	ro := &RestoreObservation{Tenant: tenant, Label: label}
	if err := r.writePhase(ctx, recs, label+"-before"); err != nil {
		return nil, err
	}
	ro.BackupStart = r.clock.Now()
	var err error
	if r.simulated() {
		ro.Backup, err = r.backUp(ctx, tenant, label, 0)
	} else {
		done := make(chan struct{})
		go func() {
			defer close(done)
			ro.Backup, err = r.backUp(ctx, tenant, label, 0)
		}()
		werr := r.writePhase(ctx, recs, label+"-during")
		<-done
		err = errors.Join(err, werr)
	}
	ro.BackupEnd = r.clock.Now()
	if err != nil {
		return nil, err
	}
	for _, rec := range recs {
		if !ro.judged(rec.Store.Name()) {
			r.event("%s/%s: not judged by the restore: its data is not in the tenant's volumes", tenant, rec.Store.Name())
		}
	}
	return ro, r.writePhase(ctx, recs, label+"-after")
}

// destroyAndRestore destroys the tenant's namespace, restores it from ro's backup, waits (bounded)
// for its stores to become healthy and reads them back.
func (r *runner) destroyAndRestore(ctx context.Context, ro *RestoreObservation, recs []*history.Recorder) error {
	bs := r.backupSystem()
	evidence, err := bs.DestroyTenant(ctx, ro.Tenant)
	if err != nil {
		return fmt.Errorf("destroy tenant %s: %w", ro.Tenant, err)
	}
	ro.Destroyed = r.clock.Now()
	r.event("destroyed tenant %s: %s", ro.Tenant, evidence)
	if ro.Run, err = bs.Restore(ctx, ro.Tenant, ro.Backup.Name); err != nil {
		return fmt.Errorf("restore tenant %s from %s: %w", ro.Tenant, ro.Backup.Name, err)
	}
	r.event("restored tenant %s from %s: %s, %d volumes; stores answered after %s", ro.Tenant, ro.Backup.Name, ro.Run.Phase,
		ro.Run.Volumes, ro.Run.Answered.Sub(ro.Run.Started).Round(time.Second))
	if err := r.settleAnew(ctx); err != nil {
		return err
	}
	ro.Unsettled = r.unsettled
	for _, rec := range recs {
		rb, err := rec.Store.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			// A store that cannot be read after the restore lost what it held: judged, not an error.
			rb = topology.ReadBack{Unreadable: []string{"the whole store: " + err.Error()}}
			r.event("%s/%s could not be read after the restore: %v", rec.Tenant, rec.Store.Name(), err)
		}
		ro.Stores = append(ro.Stores, StoreState{Tenant: rec.Tenant, Name: rec.Store.Name(), Read: rb})
	}
	o := r.backupObs()
	o.Restores = append(o.Restores, *ro)
	return nil
}

// BackupRestore backs every tenant up from its schedule, and for the first tenant writes a ledger
// around its backup, destroys the tenant, restores it and reads it back (DP-BAK-1, DP-BAK-2).
type BackupRestore struct{}

func (BackupRestore) run(ctx context.Context, r *runner) error {
	if err := r.readSchedules(ctx); err != nil {
		return err
	}
	tenants := r.env.Spec.Tenants
	recs, err := r.openTenant(ctx, tenants[0])
	if err != nil {
		return err
	}
	ro, err := r.backedUpLedger(ctx, tenants[0], "restore", recs)
	if err != nil {
		return err
	}
	for _, t := range tenants[1:] { // every tenant's backup must cover its volumes too
		if _, err := r.backUp(ctx, t, "coverage", 0); err != nil {
			return err
		}
	}
	return r.destroyAndRestore(ctx, ro, recs)
}

// ShortTTL is the lifetime of the backup the retention scenario waits to see expire.
const ShortTTL = time.Minute

// BackupRetention makes one backup that expires within a minute and one within its TTL, waits
// for the backup system's garbage collection and looks for both in the backup system and the
// storage (DP-BAK-3).
type BackupRetention struct{}

func (BackupRetention) run(ctx context.Context, r *runner) error {
	if err := r.readSchedules(ctx); err != nil {
		return err
	}
	bs, tenant := r.backupSystem(), r.env.Spec.Tenants[0]
	expiring, err := r.backUp(ctx, tenant, "expiring", ShortTTL)
	if err != nil {
		return err
	}
	kept, err := r.backUp(ctx, tenant, "kept", 0)
	if err != nil {
		return err
	}
	e := &ExpiryObservation{Expired: expiring.Name, ExpiredTTL: ShortTTL, Kept: kept.Name, GCPeriod: bs.GarbageCollectionPeriod()}
	r.backupObs().Expiry = e
	bound := ShortTTL + 3*e.GCPeriod + 2*time.Minute
	start := r.clock.Now()
	r.event("waiting up to %s for %s (ttl %s) to expire; garbage collection runs every %s", bound, expiring.Name, ShortTTL, e.GCPeriod)
	for {
		if e.Listed, err = bs.ListBackups(ctx); err != nil {
			return fmt.Errorf("list backups: %w", err)
		}
		if e.Objects, err = bs.BackupObjects(ctx); err != nil {
			return fmt.Errorf("list the backup storage: %w", err)
		}
		e.Waited = r.clock.Now().Sub(start)
		if gone(expiring.Name, e.Listed, e.Objects) || e.Waited >= bound {
			break
		}
		if err := r.sleep(ctx, min(e.GCPeriod/2, 15*time.Second)); err != nil {
			return err
		}
	}
	r.event("after %s: %d backups listed, %d objects in the storage", e.Waited.Round(time.Second), len(e.Listed), len(e.Objects))
	return nil
}

// gone reports whether backup name is neither listed nor has objects in the storage.
func gone(name string, listed []topology.BackupRun, objects []topology.StoredObject) bool {
	if slices.ContainsFunc(listed, func(b topology.BackupRun) bool { return b.Name == name }) {
		return false
	}
	return !slices.ContainsFunc(objects, func(o topology.StoredObject) bool { return strings.HasPrefix(o.Key, "backups/"+name+"/") })
}

// sleep waits d on the run's clock.
func (r *runner) sleep(ctx context.Context, d time.Duration) error { return sleepOn(ctx, r.clock, d) }

// sleepOn waits d: on a simulated clock by advancing it, otherwise on the wall clock.
func sleepOn(ctx context.Context, clock topology.Clock, d time.Duration) error {
	if a, ok := clock.(interface{ Advance(time.Duration) }); ok {
		a.Advance(d)
		return ctx.Err()
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// BackupStoreDriveLoss backs the first tenant up with a ledger, then wipes object-store drives one
// after another up to the store's parity (at least one, the claim): every backup must stay listed
// and readable, and a restore with that many drives wiped must pass the ledger. Then one drive more
// than the claim is taken offline at once, not wiped (a wipe beyond parity would destroy the bucket
// for good), to show what becomes unreadable. Last, every drive of the zone holding most of them is taken offline: S3's
// promise is replication across zones (DP-BAK-4).
type BackupStoreDriveLoss struct{}

func (BackupStoreDriveLoss) run(ctx context.Context, r *runner) error {
	drives, err := r.objectStoreDrives(ctx)
	if err != nil {
		return err
	}
	tenant := r.env.Spec.Tenants[0]
	recs, err := r.openTenant(ctx, tenant)
	if err != nil {
		return err
	}
	ro, err := r.backedUpLedger(ctx, tenant, "drive-loss", recs)
	if err != nil {
		return err
	}
	claim := min(max(r.env.Spec.ObjectStore.Parity, 1), len(drives))
	dd := r.env.Provider.(topology.DriveDropper)
	var wiped []topology.Drive
	defer func() { r.restoreDrives(ctx, dd, wiped) }()
	for k := 1; k <= claim; k++ {
		d := drives[k-1]
		evidence, err := dd.DropDrive(ctx, d)
		if err != nil {
			return fmt.Errorf("drop object-store drive %s: %w", d.Name, err)
		}
		wiped = append(wiped, d)
		r.event("wiped object-store drive %s (%d of %d down): %s", d.Name, k, len(drives), evidence)
		if err := r.readBackups(ctx, ro, fmt.Sprintf("%d of %d drives wiped: %s", k, len(drives), driveNames(wiped)), k, true); err != nil {
			return err
		}
	}
	if err := r.destroyAndRestore(ctx, ro, recs); err != nil {
		return err
	}
	// Wiped drives heal in the background; with them back, one drive more than the claim is taken
	// offline at once (stopped, not wiped), which is beyond what the store tolerates.
	r.restoreDrives(ctx, dd, wiped)
	wiped = nil
	if claim < len(drives) {
		beyond := drives[:claim+1]
		err := r.offline(ctx, beyond, func() error {
			return r.readBackups(ctx, ro, fmt.Sprintf("%d of %d drives offline at once: %s", len(beyond), len(drives), driveNames(beyond)), len(beyond), false)
		})
		if err != nil {
			return err
		}
	}
	zone, down := r.busiestZone(drives)
	if zone == "" {
		r.event("the object store's drives carry no zone: no zone taken away")
		return nil
	}
	return r.offline(ctx, down, func() error {
		return r.readBackups(ctx, ro, fmt.Sprintf("zone %s's %d of %d drives offline: %s", zone, len(down), len(drives), driveNames(down)), len(down), true)
	})
}

// readBackups lists the backups and reads every object of the storage with drives down.
func (r *runner) readBackups(ctx context.Context, ro *RestoreObservation, fault string, down int, withinClaim bool) error {
	step := DriveLossObservation{Fault: fault, Down: down, WithinClaim: withinClaim, Backups: []topology.BackupRun{ro.Backup}}
	bs := r.backupSystem()
	var err error
	if step.Listed, err = bs.ListBackups(ctx); err != nil {
		return fmt.Errorf("list backups, %s: %w", fault, err)
	}
	if step.Objects, err = bs.BackupObjects(ctx); err != nil {
		if withinClaim {
			return fmt.Errorf("list the backup storage, %s: %w", fault, err)
		}
		step.ListErr = err.Error() // beyond the claim, a storage that cannot even be listed is what it shows
	}
	r.backupObs().DriveLoss = append(r.backupObs().DriveLoss, step)
	return nil
}

// offline takes drives offline, runs observe and brings them back, even after an interrupt, and
// waits (bounded) for the platform to settle.
func (r *runner) offline(ctx context.Context, drives []topology.Drive, observe func() error) error {
	do, ok := r.env.Provider.(topology.DriveOffliner)
	if !ok {
		return fmt.Errorf("provider %s lacks the %s capability", r.env.Provider.Name(), topology.CapDriveOffline)
	}
	var down []topology.Drive
	var errs []error
	for _, d := range drives {
		evidence, err := do.OfflineDrive(ctx, d)
		if err != nil {
			errs = append(errs, fmt.Errorf("take drive %s offline: %w", d.Name, err))
			break
		}
		down = append(down, d)
		r.event("took object-store drive %s offline: %s", d.Name, evidence)
	}
	if len(errs) == 0 {
		errs = append(errs, observe())
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recoverTimeout)
	defer cancel()
	for _, d := range down {
		evidence, err := do.OnlineDrive(rctx, d)
		if err != nil {
			r.unhealed = append(r.unhealed, fmt.Sprintf("drive %s offline: %v", d.Name, err))
			errs = append(errs, err)
			continue
		}
		r.event("object-store drive %s back online: %s", d.Name, evidence)
	}
	if err := r.settleAnew(rctx); err != nil { // the store regains its quorum
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// busiestZone is the zone holding the most object-store drives, and those drives ("" when the
// inventory gives their members no zone).
func (r *runner) busiestZone(drives []topology.Drive) (string, []topology.Drive) {
	zoneOf := map[string]string{}
	for _, c := range r.obs.Components {
		if c.Kind == topology.KindObject {
			for _, m := range c.Members {
				zoneOf[m.Name] = m.Zone
			}
		}
	}
	byZone := map[string][]topology.Drive{}
	best := ""
	for _, d := range drives {
		z := zoneOf[d.Name]
		if z == "" {
			continue
		}
		byZone[z] = append(byZone[z], d)
		if best == "" || len(byZone[z]) > len(byZone[best]) || (len(byZone[z]) == len(byZone[best]) && z < best) {
			best = z
		}
	}
	return best, byZone[best]
}

func driveNames(ds []topology.Drive) string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Name)
	}
	return strings.Join(out, ", ")
}

// objectStoreDrives lists the drives of the object store (the component of the object kind).
func (r *runner) objectStoreDrives(ctx context.Context) ([]topology.Drive, error) {
	var name string
	for _, c := range r.obs.Components {
		if c.Kind == topology.KindObject {
			name = c.Name
		}
	}
	if name == "" {
		return nil, errors.New("the inventory shows no object store")
	}
	all, err := r.env.Provider.(topology.DriveDropper).Drives(ctx)
	if err != nil {
		return nil, fmt.Errorf("list drives: %w", err)
	}
	var out []topology.Drive
	for _, d := range all {
		if d.Component == name {
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the object store %s has no drive to drop", name)
	}
	return out, nil
}

// restoreDrives brings dropped drives back and waits (bounded) for the platform to settle; it runs
// after an interrupt too, and what it cannot restore is reported as unhealed.
func (r *runner) restoreDrives(ctx context.Context, dd topology.DriveDropper, dropped []topology.Drive) {
	if len(dropped) == 0 {
		return
	}
	rctx := ctx
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		rctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), recoverTimeout)
		defer cancel()
	}
	for _, d := range dropped {
		evidence, err := dd.RestoreDrive(rctx, d)
		if err != nil {
			r.unhealed = append(r.unhealed, fmt.Sprintf("drive %s on %s: %v", d.Name, d.Node, err))
			continue
		}
		r.event("restored object-store drive %s on %s: %s", d.Name, d.Node, evidence)
	}
	_ = r.settleAnew(rctx)
}

// Offboarding writes to every tenant, backs every tenant up, offboards the last tenant and then
// looks for anything of it that remains, and at the other tenants' data and backups (DP-OFF-1).
type Offboarding struct{}

func (Offboarding) run(ctx context.Context, r *runner) error {
	tenants := r.env.Spec.Tenants
	target := tenants[len(tenants)-1]
	for _, t := range tenants {
		recs, err := r.openTenant(ctx, t)
		if err != nil {
			return err
		}
		if err := r.writePhase(ctx, recs, "before"); err != nil {
			return err
		}
	}
	oo := &OffboardingObservation{Tenant: target}
	for _, t := range tenants {
		b, err := r.backUp(ctx, t, "offboarding", 0)
		if err != nil {
			return err
		}
		if t != target {
			oo.OtherBackups = append(oo.OtherBackups, b)
		}
	}
	r.backupObs().Offboarding = oo
	off := r.env.Provider.(topology.Offboarder)
	var err error
	if oo.Before, err = off.Remains(ctx, target); err != nil {
		return fmt.Errorf("look for tenant %s before offboarding it: %w", target, err)
	}
	r.event("%d things of tenant %s found before offboarding it", len(oo.Before), target)
	steps, err := off.Offboard(ctx, target)
	oo.Steps = steps
	// Whatever offboarding did, the tenant's stores and backups are no longer the scenario's to drop.
	r.recs = slices.DeleteFunc(r.recs, func(rec *history.Recorder) bool { return rec.Tenant == target })
	r.madeBackups = slices.DeleteFunc(r.madeBackups, func(n string) bool {
		return !slices.ContainsFunc(oo.OtherBackups, func(b topology.BackupRun) bool { return b.Name == n })
	})
	if err != nil {
		return fmt.Errorf("offboard tenant %s: %w", target, err)
	}
	r.event("offboarded tenant %s: %s", target, strings.Join(steps, "; "))
	if oo.Remains, err = off.Remains(ctx, target); err != nil {
		return fmt.Errorf("look for what remains of tenant %s: %w", target, err)
	}
	r.event("%d things of tenant %s remain", len(oo.Remains), target)
	bs := r.backupSystem()
	if oo.Listed, err = bs.ListBackups(ctx); err != nil {
		return fmt.Errorf("list backups: %w", err)
	}
	if oo.Objects, err = bs.BackupObjects(ctx); err != nil {
		return fmt.Errorf("list the backup storage: %w", err)
	}
	for _, rec := range r.recs {
		rb, err := rec.Store.Read(ctx)
		if err != nil {
			return fmt.Errorf("read back %s/%s: %w", rec.Tenant, rec.Store.Name(), err)
		}
		r.obs.Stores = append(r.obs.Stores, StoreState{Tenant: rec.Tenant, Name: rec.Store.Name(), Read: rb})
	}
	return nil
}
