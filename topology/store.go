package topology

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash/fnv"
	"iter"
	"math/rand/v2"
	"time"
)

// StoreAccess hands workloads the data stores of one tenant. Each dataset (a Kafka topic, an
// Elasticsearch index, a bucket prefix) is created on first use; a run names its datasets after its
// run id, so no run reads another's records.
type StoreAccess interface {
	Stores(ctx context.Context, tenant, dataset string) ([]Store, error)
}

// ErrIndefinite marks a write whose outcome is unknown (a timeout, a lost connection): it may or may
// not have been applied. Errors that do not wrap it are definite failures.
var ErrIndefinite = errors.New("outcome unknown")

// Store is one dataset of one tenant's data store: the one contract every store (real, remote
// through the agent, or fake) implements.
type Store interface {
	// Name is the component's name (kafka, elasticsearch, objectstore).
	Name() string
	// Kind is the store family.
	Kind() Kind
	// WriteStream writes ids as they come, each with the value Value(id, valueBytes), and reports
	// each write's outcome as soon as it is known. ids may block (the caller paces them) and may end
	// early. emit is called exactly once for every id taken from ids, from any goroutine, never after
	// WriteStream returns: an id taken but never sent because ctx ended is failed, one in flight when
	// ctx ended is unknown (its error wraps ErrIndefinite).
	WriteStream(ctx context.Context, ids iter.Seq[string], valueBytes int, emit func(WriteResult)) error
	// Read reads back every record the dataset holds, with the hash of the value read, once per
	// stored copy of the log (so a duplicated record appears twice). A part (partition, shard) that
	// cannot be read is named in ReadBack.Unreadable and the read goes on. Call it after faults
	// have healed, or after a bounded wait for them to.
	Read(ctx context.Context) (ReadBack, error)
	// Placement tells, for every record, the distinct members (brokers, nodes, drive servers) that
	// hold a copy (or a shard) of it, as the store's replicas themselves report now: never from
	// configuration or from metadata cached at acknowledgement time.
	Placement(ctx context.Context) ([]Placement, error)
	// Drop removes the dataset (topic, index, prefix) and everything in it.
	Drop(ctx context.Context) error
}

// WriteResult is the outcome of one write.
type WriteResult struct {
	ID       string
	Invoked  time.Time
	Finished time.Time
	Ack      Ack
	// Err is nil for an acknowledged write; it wraps ErrIndefinite when the outcome is unknown.
	Err error
	// Detail is store-specific (a Kafka partition and offset, an Elasticsearch _seq_no, an S3
	// ETag), for reports and debugging only; checkers never read it.
	Detail string
}

// Ack is what a store said when it acknowledged a write.
type Ack struct {
	Node string `json:"node,omitempty"` // the member that acknowledged (leader, primary)
	// Copies is how many copies the store said it had written when it acknowledged
	// (_shards.successful, HDFS's block locations right after the close, drives); 0 when the
	// answer does not say (Kafka's produce response does not: a client's cached in-sync replica
	// list is no evidence).
	Copies int `json:"copies,omitempty"`
	// Part is the partition or shard the record went to ("3"), so availability is measured per part.
	Part string `json:"part,omitempty"`
}

// ReadBack is what a final read saw.
type ReadBack struct {
	Records []Record `json:"records"`
	// Unreadable names each part that could not be read, with the reason ("shard 1: no active
	// copy"). Acknowledged records on it are absent from Records, so the ledger counts them lost.
	Unreadable []string `json:"unreadable,omitempty"`
}

// Record is one record read back: its id and the hash of its value (ValueHash).
type Record struct {
	ID   string `json:"id"`
	Hash string `json:"hash"`
}

// Placement is where one record lives.
type Placement struct {
	ID    string   `json:"id"`
	Nodes []string `json:"nodes"`
	// Tolerates is how many node losses the record survives (copies-1 for a replicated record; for an
	// erasure-coded object, how many parts can go with enough left to read it).
	Tolerates int `json:"tolerates"`
}

// Value is the value written under id: n printable bytes derived from the id, so a record read back
// can be told apart from another one of the same size, and its hash is known without keeping it.
func Value(id string, n int) []byte {
	h := fnv.New64a()
	h.Write([]byte(id))
	rng := rand.New(rand.NewPCG(h.Sum64(), uint64(n)))
	v := make([]byte, n)
	for i := range v {
		v[i] = byte('a' + rng.IntN(26))
	}
	return v
}

// ValueHash is the hash of a value as written and as read back (16 hex digits of its SHA-256).
func ValueHash(v []byte) string {
	sum := sha256.Sum256(v)
	return hex.EncodeToString(sum[:8])
}
