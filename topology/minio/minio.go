// Package minio runs the platform's S3 stand-in outside the cluster, as S3 is outside the platform's
// network: MinIO servers with one drive each, forming one erasure set with the spec's parity, in
// containers started with testcontainers-go on the kind Docker network. Its reaper image cannot be
// pulled here, so containers carry dpsim's labels and are removed by label.
//
// It also observes the drives from the host, which the in-cluster S3 client cannot: where each
// object's erasure-coded parts are (Placement) and whether healing has put a part of every object
// back on every drive (Healed). Buckets and keys are named by dpsim/stores/s3/keys, the mapping the
// client writes with.
package minio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/testcontainers/testcontainers-go"
	tcexec "github.com/testcontainers/testcontainers-go/exec"
	tclog "github.com/testcontainers/testcontainers-go/log"
	tcnetwork "github.com/testcontainers/testcontainers-go/network"
)

// Labels on every container this package starts.
const (
	LabelOwner    = "dpsim.io/owner" // the platform's name
	LabelRole     = "dpsim.io/role"  // "objectstore"
	roleValue     = "objectstore"
	dataDir       = "/data"
	readyDeadline = 3 * time.Minute
)

// Config describes the object store to run.
type Config struct {
	// Owner names the platform; containers are named <Owner>-minio-<i> and labelled with it.
	Owner string
	// Image is the locally built MinIO image.
	Image string
	// Network is the Docker network to join (kind's).
	Network string
	// Drives is the number of servers, one drive each; Parity the erasure-code parity.
	Drives, Parity int
	// AccessKey and SecretKey are the root credentials.
	AccessKey, SecretKey string
	Logger               *slog.Logger
}

// debugLogger sends testcontainers' chatter to the run's logger at debug level.
type debugLogger struct{ l *slog.Logger }

func (d debugLogger) Printf(format string, args ...any) {
	d.l.Debug(strings.TrimSpace(fmt.Sprintf(format, args...)))
}

// Server is one MinIO server of the store.
type Server struct {
	Name string // the container name, also its alias on the network
	// URL is the S3 endpoint as seen from the Docker network (the cluster's pods).
	URL string
	// ID is the container's id: a new server has a new one.
	ID string
	c  *testcontainers.DockerContainer
}

// Store is a running object store.
type Store struct {
	cfg     Config
	Servers []Server
	// HostEndpoint is the first server's S3 endpoint as seen from this host: its address on the kind
	// network (a bridge of this host), never a published port.
	HostEndpoint string
}

// Run starts cfg.Drives servers and waits until the cluster reports write quorum. On error it
// returns what it started, so the caller can register cleanup first and check the error next.
func Run(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Drives < 1 || cfg.Parity < 0 || cfg.Parity > cfg.Drives/2 {
		return nil, fmt.Errorf("object store: %d drives with parity %d is not an erasure set", cfg.Drives, cfg.Parity)
	}
	os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true") // the reaper image cannot be pulled
	// dpsim runs on the Docker host itself. testcontainers-go takes a host with /.dockerenv for a
	// container and would dial the default gateway for published ports; nothing here publishes a
	// port (servers are reached at their addresses on the kind network), and the override keeps
	// anything it still resolves on this host.
	if os.Getenv("TESTCONTAINERS_HOST_OVERRIDE") == "" {
		os.Setenv("TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1")
	}
	tclog.SetDefault(debugLogger{cfg.Logger})
	s := &Store{cfg: cfg}
	names := make([]string, cfg.Drives)
	for i := range names {
		names[i] = fmt.Sprintf("%s-minio-%d", cfg.Owner, i+1)
	}
	volumes := dataDir
	if cfg.Drives > 1 {
		volumes = fmt.Sprintf("http://%s-minio-{1...%d}%s", cfg.Owner, cfg.Drives, dataDir)
	}
	env := map[string]string{
		"MINIO_ROOT_USER":     cfg.AccessKey,
		"MINIO_ROOT_PASSWORD": cfg.SecretKey,
		"MINIO_CI_CD":         "on",
	}
	if cfg.Drives > 1 {
		env["MINIO_STORAGE_CLASS_STANDARD"] = fmt.Sprintf("EC:%d", cfg.Parity)
	}
	start := time.Now()
	for _, name := range names {
		c, err := testcontainers.Run(ctx, cfg.Image,
			testcontainers.WithName(name),
			testcontainers.WithEnv(env),
			testcontainers.WithCmd("server", "--address", ":9000", volumes),
			testcontainers.WithLabels(map[string]string{LabelOwner: cfg.Owner, LabelRole: roleValue}),
			tcnetwork.WithNetworkName([]string{name}, cfg.Network),
		)
		if c != nil {
			s.Servers = append(s.Servers, Server{Name: name, URL: "http://" + name + ":9000", ID: c.GetContainerID(), c: c})
		}
		if err != nil {
			return s, fmt.Errorf("start object store server %s: %w", name, err)
		}
	}
	for i := range s.Servers {
		ip, err := s.Servers[i].c.ContainerIP(ctx)
		if err != nil {
			return s, fmt.Errorf("address of %s: %w", s.Servers[i].Name, err)
		}
		s.Servers[i].URL = "http://" + ip + ":9000"
	}
	s.HostEndpoint = strings.TrimPrefix(s.Servers[0].URL, "http://")
	if err := s.waitQuorum(ctx); err != nil {
		return s, err
	}
	cfg.Logger.Info(fmt.Sprintf("object store up: %d drives, parity %d, in %.1fs", cfg.Drives, cfg.Parity, time.Since(start).Seconds()))
	return s, nil
}

// waitQuorum polls /minio/health/cluster until the erasure set has write quorum.
func (s *Store) waitQuorum(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyDeadline)
	defer cancel()
	for {
		if ok, _ := s.Healthy(ctx); ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("object store: no write quorum within %s: %w", readyDeadline, ctx.Err())
		case <-time.After(time.Second):
		}
	}
}

// Healthy reports whether the cluster has write quorum (GET /minio/health/cluster answers 200).
func (s *Store) Healthy(ctx context.Context) (bool, error) {
	return healthOK(ctx, "http://"+s.HostEndpoint+"/minio/health/cluster")
}

// Live reports whether server i itself answers (MinIO's liveness endpoint), whatever the others do.
func (s *Store) Live(ctx context.Context, i int) (bool, error) {
	if i < 0 || i >= len(s.Servers) {
		return false, fmt.Errorf("no object store server %d", i)
	}
	return healthOK(ctx, s.Servers[i].URL+"/minio/health/live")
}

// healthOK reports whether a GET of a health endpoint answers 200.
func healthOK(ctx context.Context, url string) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK, nil
}

// DropDrive wipes server i's drive (every object shard and MinIO's own metadata on it). The
// server keeps running, as it would over a failed drive, and may write into a directory while it
// is removed ("Directory not empty"): the removal is tried again, up to 10 times.
func (s *Store) DropDrive(ctx context.Context, i int) error {
	wipe := "rm -rf " + dataDir + "/* " + dataDir + "/.minio.sys"
	_, err := s.run(ctx, i, "sh", "-c", "for try in 1 2 3 4 5 6 7 8 9; do "+wipe+" 2>/dev/null && exit 0; sleep 0.2; done; "+wipe)
	return err
}

// StopServer stops server i (its drive goes offline, its data stays); StartServer starts it again.
func (s *Store) StopServer(ctx context.Context, i int) error {
	if i < 0 || i >= len(s.Servers) {
		return fmt.Errorf("no object store server %d", i)
	}
	return s.Servers[i].c.Stop(ctx, nil)
}

// StartServer starts server i again after StopServer. Clients reach the servers at the addresses
// they had when the store started: a server that comes back at another address is an error.
func (s *Store) StartServer(ctx context.Context, i int) error {
	if i < 0 || i >= len(s.Servers) {
		return fmt.Errorf("no object store server %d", i)
	}
	if err := s.Servers[i].c.Start(ctx); err != nil {
		return err
	}
	ip, err := s.Servers[i].c.ContainerIP(ctx)
	if err != nil {
		return fmt.Errorf("address of %s: %w", s.Servers[i].Name, err)
	}
	if want := "http://" + ip + ":9000"; want != s.Servers[i].URL {
		return fmt.Errorf("%s came back at %s, not %s", s.Servers[i].Name, want, s.Servers[i].URL)
	}
	return nil
}

// errNoContainer is the answer for a server this process did not start.
var errNoContainer = errors.New("no container handle: the server was not started by this process")

// run runs cmd in server i (one docker exec) and returns its output, stdout then stderr; a
// command that exits non-zero is an error that keeps its output.
func (s *Store) run(ctx context.Context, i int, cmd ...string) (string, error) {
	if i < 0 || i >= len(s.Servers) {
		return "", fmt.Errorf("no object store server %d", i)
	}
	srv := s.Servers[i]
	if srv.c == nil {
		return "", fmt.Errorf("%s: %w", srv.Name, errNoContainer)
	}
	code, out, err := srv.c.Exec(ctx, cmd, tcexec.Multiplexed())
	if err != nil {
		return "", fmt.Errorf("%s: %s: %w", srv.Name, strings.Join(cmd, " "), err)
	}
	var b strings.Builder
	if out != nil {
		if _, err := io.Copy(&b, out); err != nil {
			return "", fmt.Errorf("%s: %s: read output: %w", srv.Name, strings.Join(cmd, " "), err)
		}
	}
	if code != 0 {
		return b.String(), fmt.Errorf("%s: %s: exit %d: %s", srv.Name, strings.Join(cmd, " "), code, strings.TrimSpace(b.String()))
	}
	return b.String(), nil
}

// Terminate removes every server with its volumes.
func (s *Store) Terminate(ctx context.Context) error {
	if s == nil {
		return nil
	}
	var errs []error
	for _, srv := range s.Servers {
		if err := srv.c.Terminate(ctx, testcontainers.RemoveVolumes()); err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", srv.Name, err))
		}
	}
	return errors.Join(errs...)
}

// RemoveAll removes every object store container of owner, including those a crashed run left
// behind (there is no reaper to do it).
func RemoveAll(ctx context.Context, owner string) error {
	out, err := exec.CommandContext(ctx, "docker", "ps", "-aq", "--filter", "label="+LabelOwner+"="+owner, "--filter", "label="+LabelRole+"="+roleValue).Output()
	if err != nil {
		return fmt.Errorf("list object store containers: %w", err)
	}
	ids := strings.Fields(string(out))
	if len(ids) == 0 {
		return nil
	}
	if out, err := exec.CommandContext(ctx, "docker", append([]string{"rm", "-f", "-v"}, ids...)...).CombinedOutput(); err != nil {
		return fmt.Errorf("remove object store containers: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Owners lists the platforms (by name) that have object store containers on this host, running or not.
func Owners(ctx context.Context) ([]string, error) {
	out, err := exec.CommandContext(ctx, "docker", "ps", "-a", "--filter", "label="+LabelRole+"="+roleValue,
		"--format", `{{.Label "`+LabelOwner+`"}}`).Output()
	if err != nil {
		return nil, fmt.Errorf("list object store containers: %w", err)
	}
	return strings.Fields(string(out)), nil
}
