// Package s3 runs the object store for integration tests: one MinIO server with its drives (one
// erasure set) in the container's filesystem, so that they survive a kill.
package s3

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"

	"dpsim/images"
	"dpsim/internal/testservers"
)

// Port is the S3 API's port; AccessKey and SecretKey the root credentials.
const (
	Port      = 9000
	AccessKey = "dpsim-test"
	SecretKey = "dpsim-test-secret"
)

type config struct {
	drives, parity int
	log            *slog.Logger
}

// Option changes a default of Run.
type Option func(*config)

// WithLogger logs the server's start-up to l.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// Server is a running MinIO server, node "minio-0".
type Server struct{ *testservers.Cluster }

// Run starts one server with 4 drives and parity EC:2 (the platform's default spec) and waits until
// it has write quorum. On error it returns what it started, for Terminate.
func Run(ctx context.Context, opts ...Option) (*Server, error) {
	cfg := config{drives: 4, parity: 2}
	for _, o := range opts {
		o(&cfg)
	}
	tc, err := testservers.NewCluster(ctx, cfg.log, "minio", images.MinIO)
	if err != nil {
		return nil, err
	}
	s := &Server{tc}
	return s, tc.Start(ctx, testservers.NodeSpec{
		Name:  "minio-0",
		Image: images.MustTag(images.MinIO),
		Cmd:   []string{"server", "--address", ":" + strconv.Itoa(Port), fmt.Sprintf("/data{1...%d}", cfg.drives)},
		Env: map[string]string{
			"MINIO_ROOT_USER":              AccessKey,
			"MINIO_ROOT_PASSWORD":          SecretKey,
			"MINIO_STORAGE_CLASS_STANDARD": fmt.Sprintf("EC:%d", cfg.parity),
			"MINIO_CI_CD":                  "on", // drives on the root filesystem
		},
		Ready: testservers.HTTPReady(Port, "/minio/health/cluster", " 200 OK"),
	})
}

// Endpoint is the S3 API's host:port, reachable from this host.
func (s *Server) Endpoint() string { return fmt.Sprintf("%s:%d", s.Addr(0), Port) }

// Node is the server's node.
func (s *Server) Node() *testservers.Node { return s.Cluster.Node("minio-0") }

// Terminate removes the server and its network.
func (s *Server) Terminate(ctx context.Context) error {
	if s == nil {
		return nil
	}
	return s.Cluster.Terminate(ctx)
}
