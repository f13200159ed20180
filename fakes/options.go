package fakes

import (
	"fmt"
	"slices"
	"time"

	"dpsim/topology"
)

// Misbehaviour is a way a fake store can be told to break a promise, so every checker can be shown
// to fail when it should.
type Misbehaviour string

// The misbehaviours.
const (
	// DropAcknowledged acknowledges every write but silently discards every Nth one (see
	// WithDropEvery; N is 10 by default).
	DropAcknowledged Misbehaviour = "drop-acknowledged"
	// AckWithoutReplicating writes only to the leader, the primary or one drive (there, for an
	// object, as many shards as a read needs) but acknowledges as if the write were replicated, and
	// never re-replicates those records later.
	AckWithoutReplicating Misbehaviour = "ack-without-replicating"
	// IgnoreMinInsync acknowledges writes even when fewer copies are in sync than the store
	// requires: Kafka's min.insync.replicas, Elasticsearch's wait_for_active_shards, MinIO's write
	// quorum.
	IgnoreMinInsync Misbehaviour = "ignore-min-insync"
	// NeverRecover refuses every write from the first fault on, even after the fault heals: a store
	// that does not come back.
	NeverRecover Misbehaviour = "never-recover"
	// FailAfterApply applies every Nth write but answers it with a definite failure (a client that
	// misclassifies an answer, or a store that lies).
	FailAfterApply Misbehaviour = "fail-after-apply"
	// CorruptValues keeps a value other than the one written for every Nth acknowledged write.
	CorruptValues Misbehaviour = "corrupt-values"
	// HideLocation leaves every Nth record out of Placement: a store that cannot say where a record
	// lives.
	HideLocation Misbehaviour = "hide-location"
	// ReturnNothing makes the store take no write (every id is refused before it is sent), read back
	// nothing and report no placement: a provider whose stores return nothing.
	ReturnNothing Misbehaviour = "return-nothing"

	// The backup system's misbehaviours apply to the platform, whatever store kinds WithFault names.

	// BackupSkipsVolume makes every backup leave the document store's volumes out, with only a
	// warning, as Velero does with volumes it cannot back up.
	BackupSkipsVolume Misbehaviour = "backup-skips-volume"
	// DeleteKeepsObjects makes deleting a backup (by request, by expiry or by offboarding) leave
	// its objects in the storage.
	DeleteKeepsObjects Misbehaviour = "delete-keeps-objects"
	// OffboardKeepsClaim makes offboarding leave a PersistentVolumeClaim of the tenant behind.
	OffboardKeepsClaim Misbehaviour = "offboard-keeps-claim"
	// OffboardKeepsBackup makes offboarding leave the tenant's backups behind.
	OffboardKeepsBackup Misbehaviour = "offboard-keeps-backup"
)

// DefaultDropEvery is how often DropAcknowledged discards a write unless WithDropEvery says otherwise.
const DefaultDropEvery = 10

// Latencies are the simulated durations the fake charges to its clock. Tests never depend on the
// wall clock; they may depend on these.
type Latencies struct {
	Ack        time.Duration // an acknowledged write
	Failure    time.Duration // a write that definitely failed
	Indefinite time.Duration // a write whose outcome is unknown (a timeout)
	Fault      time.Duration // a node kill, restart, drive drop, restore, isolation or heal
	Settle     time.Duration // a Settle: the simulated re-sync time
}

// DefaultLatencies returns 2 ms per acknowledged write, 5 ms per failed write, 100 ms per timed-out
// write, 1 s per fault and 10 s per Settle.
func DefaultLatencies() Latencies {
	return Latencies{
		Ack:        2 * time.Millisecond,
		Failure:    5 * time.Millisecond,
		Indefinite: 100 * time.Millisecond,
		Fault:      time.Second,
		Settle:     10 * time.Second,
	}
}

// Option configures a Provider.
type Option func(*config)

type config struct {
	start          time.Time
	lat            Latencies
	faults         []fault
	dropEvery      int
	componentNodes int
}

// fault is one WithFault: a misbehaviour and the store kinds it applies to (none: every store).
type fault struct {
	m     Misbehaviour
	kinds []topology.Kind
}

func defaultConfig() config {
	return config{start: DefaultStart, lat: DefaultLatencies(), dropEvery: DefaultDropEvery}
}

// WithFault makes the stores of the given kinds (every store when none is given) misbehave as m.
// It may be given several times; the misbehaviours add up.
func WithFault(m Misbehaviour, kinds ...topology.Kind) Option {
	return func(c *config) { c.faults = append(c.faults, fault{m: m, kinds: kinds}) }
}

// WithDropEvery sets N for DropAcknowledged: every Nth acknowledged write of a store is discarded.
// Values below 1 keep the default.
func WithDropEvery(n int) Option {
	return func(c *config) {
		if n >= 1 {
			c.dropEvery = n
		}
	}
}

// WithComponentNodes places the members of every component (brokers, ES nodes, MinIO drives) on the
// first n nodes only, as a platform scheduled without anti-affinity would; Inventory and Placement
// then show it. Values below 1, or above the spec's node count, keep the spread over every node.
func WithComponentNodes(n int) Option {
	return func(c *config) { c.componentNodes = n }
}

// WithStart sets the instant the simulated clock starts at on every Up.
func WithStart(t time.Time) Option {
	return func(c *config) { c.start = t }
}

// WithLatencies sets the simulated durations charged to the clock.
func WithLatencies(l Latencies) Option {
	return func(c *config) { c.lat = l }
}

// WithSettleTime sets the simulated duration of a Settle.
func WithSettleTime(d time.Duration) Option {
	return func(c *config) { c.lat.Settle = d }
}

func (c config) validate() error {
	for _, f := range c.faults {
		switch f.m {
		case DropAcknowledged, AckWithoutReplicating, IgnoreMinInsync, NeverRecover, FailAfterApply, CorruptValues, HideLocation, ReturnNothing,
			BackupSkipsVolume, DeleteKeepsObjects, OffboardKeepsClaim, OffboardKeepsBackup:
		default:
			return fmt.Errorf("unknown misbehaviour %q", f.m)
		}
	}
	return nil
}

// has reports whether the platform was told to misbehave as m.
func (c config) has(m Misbehaviour) bool {
	return slices.ContainsFunc(c.faults, func(f fault) bool { return f.m == m })
}

// misbehaviourFor collects the misbehaviours that apply to stores of kind k.
func (c config) misbehaviourFor(k topology.Kind) *misbehaviour {
	b := &misbehaviour{}
	for _, f := range c.faults {
		if len(f.kinds) > 0 && !slices.Contains(f.kinds, k) {
			continue
		}
		switch f.m {
		case DropAcknowledged:
			b.dropEvery = c.dropEvery
		case AckWithoutReplicating:
			b.noReplicate = true
		case IgnoreMinInsync:
			b.ignoreQuorum = true
		case NeverRecover:
			b.neverRecover = true
		case FailAfterApply:
			b.failEvery = c.dropEvery
		case CorruptValues:
			b.corruptEvery = c.dropEvery
		case HideLocation:
			b.hideEvery = c.dropEvery
		case ReturnNothing:
			b.nothing = true
		}
	}
	return b
}

// misbehaviour is what one store has been told to do wrong.
type misbehaviour struct {
	dropEvery    int  // discard every dropEvery-th acknowledged write; 0: never
	failEvery    int  // FailAfterApply: answer every failEvery-th applied write with a failure
	corruptEvery int  // CorruptValues: keep a wrong value for every corruptEvery-th write
	hideEvery    int  // HideLocation: leave every hideEvery-th record out of Placement
	noReplicate  bool // AckWithoutReplicating
	ignoreQuorum bool // IgnoreMinInsync
	neverRecover bool // NeverRecover
	nothing      bool // ReturnNothing
	faulted      bool // a fault has hit the platform since Up
	acked        int  // acknowledged writes so far, for the every-Nth misbehaviours
}

// drop counts one acknowledged write and reports whether it is to be discarded.
func (b *misbehaviour) drop() bool {
	b.acked++
	return hits(b.acked, b.dropEvery)
}

// failsAfterApply reports whether the write just counted is to be answered with a failure.
func (b *misbehaviour) failsAfterApply() bool { return hits(b.acked, b.failEvery) }

// corrupts reports whether the write just counted keeps a wrong value.
func (b *misbehaviour) corrupts() bool { return hits(b.acked, b.corruptEvery) }

// hides reports whether the i-th record (from 1) is left out of Placement.
func (b *misbehaviour) hides(i int) bool { return hits(i, b.hideEvery) }

// hits reports whether the n-th event is one of every `every` (never when every < 1).
func hits(n, every int) bool { return every >= 1 && n%every == 0 }

// noteFault records that a fault hit the platform.
func (b *misbehaviour) noteFault() { b.faulted = true }

// refuses reports whether the store refuses writes for good (NeverRecover after a fault).
func (b *misbehaviour) refuses() bool { return b.neverRecover && b.faulted }
