package minio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	miniogo "github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"dpsim/topology"
)

// client is an S3 client of the store with its root credentials, from this host, at the first
// server that is live: like S3's endpoint, it does not depend on one server (or zone) being up.
func (s *Store) client(ctx context.Context) (*miniogo.Client, error) {
	if s == nil || len(s.Servers) == 0 {
		return nil, errors.New("object store is not running")
	}
	endpoint := s.liveEndpoint(ctx)
	c, err := miniogo.New(endpoint, &miniogo.Options{Creds: credentials.NewStaticV4(s.cfg.AccessKey, s.cfg.SecretKey, "")})
	if err != nil {
		return nil, fmt.Errorf("object store client: %w", err)
	}
	return c, nil
}

// liveEndpoint is the address of the first server whose liveness check answers 200, or of the
// first server when none does (its error is then the caller's answer).
func (s *Store) liveEndpoint(ctx context.Context) string {
	for _, srv := range s.Servers {
		endpoint := strings.TrimPrefix(srv.URL, "http://")
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		req, err := http.NewRequestWithContext(cctx, http.MethodGet, srv.URL+"/minio/health/live", nil)
		if err == nil {
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					cancel()
					return endpoint
				}
			}
		}
		cancel()
	}
	return strings.TrimPrefix(s.Servers[0].URL, "http://")
}

// EnsureBucket makes bucket unless it exists.
func (s *Store) EnsureBucket(ctx context.Context, bucket string) error {
	c, err := s.client(ctx)
	if err != nil {
		return err
	}
	ok, err := c.BucketExists(ctx, bucket)
	if err != nil {
		return fmt.Errorf("look for bucket %s: %w", bucket, err)
	}
	if ok {
		return nil
	}
	if err := c.MakeBucket(ctx, bucket, miniogo.MakeBucketOptions{}); err != nil {
		return fmt.Errorf("make bucket %s: %w", bucket, err)
	}
	return nil
}

// List lists every object of bucket under prefix ("" for all), recursively, with its size.
func (s *Store) List(ctx context.Context, bucket, prefix string) ([]topology.StoredObject, error) {
	c, err := s.client(ctx)
	if err != nil {
		return nil, err
	}
	var out []topology.StoredObject
	for o := range c.ListObjects(ctx, bucket, miniogo.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			return out, fmt.Errorf("list bucket %s under %q: %w", bucket, prefix, o.Err)
		}
		out = append(out, topology.StoredObject{Key: o.Key, Size: o.Size})
	}
	return out, nil
}

// ReadAll lists every object of bucket under prefix and reads each whole; an object that cannot be
// read back whole (an error, or fewer or more bytes than listed) says why in Unreadable.
func (s *Store) ReadAll(ctx context.Context, bucket, prefix string) ([]topology.StoredObject, error) {
	objs, err := s.List(ctx, bucket, prefix)
	if err != nil {
		return objs, err
	}
	c, err := s.client(ctx)
	if err != nil {
		return objs, err
	}
	for i := range objs {
		if err := ctx.Err(); err != nil {
			return objs, err
		}
		n, err := readObject(ctx, c, bucket, objs[i].Key)
		switch {
		case err != nil:
			objs[i].Unreadable = err.Error()
		case n != objs[i].Size:
			objs[i].Unreadable = fmt.Sprintf("read %d bytes, listed %d", n, objs[i].Size)
		}
	}
	return objs, nil
}

func readObject(ctx context.Context, c *miniogo.Client, bucket, key string) (int64, error) {
	o, err := c.GetObject(ctx, bucket, key, miniogo.GetObjectOptions{})
	if err != nil {
		return 0, err
	}
	defer o.Close()
	return io.Copy(io.Discard, o)
}

// Get reads one object whole.
func (s *Store) Get(ctx context.Context, bucket, key string) ([]byte, error) {
	c, err := s.client(ctx)
	if err != nil {
		return nil, err
	}
	o, err := c.GetObject(ctx, bucket, key, miniogo.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("get %s/%s: %w", bucket, key, err)
	}
	defer o.Close()
	data, err := io.ReadAll(o)
	if err != nil {
		return nil, fmt.Errorf("get %s/%s: %w", bucket, key, err)
	}
	return data, nil
}

// RemovePrefix removes every object of bucket under prefix and returns how many it removed.
func (s *Store) RemovePrefix(ctx context.Context, bucket, prefix string) (int, error) {
	if prefix == "" {
		return 0, errors.New("remove objects: refusing an empty prefix")
	}
	objs, err := s.List(ctx, bucket, prefix)
	if err != nil {
		return 0, err
	}
	c, err := s.client(ctx)
	if err != nil {
		return 0, err
	}
	removed := 0
	for _, o := range objs {
		if err := c.RemoveObject(ctx, bucket, o.Key, miniogo.RemoveObjectOptions{}); err != nil {
			return removed, fmt.Errorf("remove %s/%s: %w", bucket, o.Key, err)
		}
		removed++
	}
	return removed, nil
}

// noBucket tells S3's answer that a bucket does not exist.
func noBucket(err error) bool { return miniogo.ToErrorResponse(err).Code == "NoSuchBucket" }

// Contents lists every object of bucket, recursively; a bucket that does not exist has none and
// exists is false.
func (s *Store) Contents(ctx context.Context, bucket string) (objs []topology.StoredObject, exists bool, err error) {
	objs, err = s.List(ctx, bucket, "")
	if noBucket(errors.Unwrap(err)) || noBucket(err) {
		return nil, false, nil
	}
	return objs, err == nil, err
}

// RemoveBucket removes bucket with every object in it and returns how many objects it removed; a
// bucket that does not exist is no error.
func (s *Store) RemoveBucket(ctx context.Context, bucket string) (int, error) {
	objs, exists, err := s.Contents(ctx, bucket)
	if err != nil || !exists {
		return 0, err
	}
	c, err := s.client(ctx)
	if err != nil {
		return 0, err
	}
	for i, o := range objs {
		if err := c.RemoveObject(ctx, bucket, o.Key, miniogo.RemoveObjectOptions{}); err != nil {
			return i, fmt.Errorf("remove %s/%s: %w", bucket, o.Key, err)
		}
	}
	if err := c.RemoveBucket(ctx, bucket); err != nil && !noBucket(err) {
		return len(objs), fmt.Errorf("remove bucket %s: %w", bucket, err)
	}
	return len(objs), nil
}
