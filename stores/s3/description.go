package s3

import (
	"cmp"
	"context"
	"errors"

	"dpsim/stores"
	"dpsim/topology"
)

// Description is the S3 object store as the agent knows it.
var Description = stores.Description{Name: "objectstore", Kind: topology.KindObject, Connect: connect}

func connect(_ context.Context, c stores.Connection) (stores.Cluster, error) {
	if len(c.Endpoints) == 0 {
		return nil, errors.New("s3: no endpoint")
	}
	cfg := Config{Endpoint: c.Endpoints[0], Secure: c.Secure, AccessKey: c.AccessKey, SecretKey: c.SecretKey,
		Bucket: cmp.Or(c.Bucket, c.Tenant), Drives: c.Spec.ObjectStore.Drives, Parity: c.Spec.ObjectStore.Parity, Log: c.Log}
	// S3 needs no connection of its own: each dataset opens the bucket.
	open := func(ctx context.Context, name string) (*Store, error) { return Open(ctx, cfg, name) }
	return stores.Datasets(open, func() error { return nil }), nil
}

// State reports the servers' liveness and the erasure set's write-quorum health.
func (s *Store) State(ctx context.Context) (any, error) { return s.Describe(ctx), nil }

// Replicated reports whether the erasure set has write quorum. Whether every object has all its
// parts again is read from the drives, which only the provider sees.
func (s *Store) Replicated(ctx context.Context) (bool, string, error) {
	st := s.Describe(ctx)
	return st.ClusterHealthy, "cluster health: " + st.ClusterStatus, nil
}
