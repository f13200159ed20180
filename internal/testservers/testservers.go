// Package testservers runs the stores' real servers in Docker containers for integration tests,
// from dpsim's own images (package dpsim/images): a Cluster is a service's containers on a network of
// its own, each at a fixed address that the test process (on the Docker host) reaches directly and
// that a stopped container keeps when it starts again. The per-service packages below it say how
// each server is configured and started; this one holds naming, networks, start-up and cleanup.
//
// Containers and networks are named dpsim-test-<pid>-... and labelled with the owning process, so
// that a run that crashed is cleaned up by the next one (testcontainers' reaper image cannot be
// pulled here), and nothing else on the host (a kind cluster, dpsim's own containers) is touched.
package testservers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/types/network"
	"github.com/testcontainers/testcontainers-go"
	tcexec "github.com/testcontainers/testcontainers-go/exec"
	tclog "github.com/testcontainers/testcontainers-go/log"
	tcnetwork "github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"

	"dpsim/images"
)

// Prefix starts the name of every container and network this package makes.
const Prefix = "dpsim-test-"

// Labels on every container and network this package makes: the owning process's pid and its start
// time (in clock ticks since boot, from /proc), so that a reused pid is not taken for the owner.
const (
	LabelPID     = "dpsim.test/pid"
	LabelStarted = "dpsim.test/started"
)

// StartTimeout bounds a node's start-up (its wait strategy): Elasticsearch takes 25 s on an idle
// 2-core host, over 4 min while an image build loads it.
const StartTimeout = 8 * time.Minute

var setupOnce sync.Once

// setup configures testcontainers for this host once per process and removes what dead test
// processes left behind.
func setup(ctx context.Context, log *slog.Logger) {
	setupOnce.Do(func() {
		// As topology/minio: the reaper image cannot be pulled, and the test process runs on the Docker
		// host itself (containers are reached at their addresses; nothing is published).
		os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
		if os.Getenv("TESTCONTAINERS_HOST_OVERRIDE") == "" {
			os.Setenv("TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1")
		}
		tclog.SetDefault(tcLogger{})
		if err := RemoveStale(ctx); err != nil {
			log.Warn("remove stale test containers", "err", err)
		}
	})
}

// tcLogger drops testcontainers' chatter: failures reach the caller as errors.
type tcLogger struct{}

func (tcLogger) Printf(string, ...any) {}

// Logger is the log of shared clusters: standard error, which outlives any one test.
func Logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// owner is this process's labels.
func owner() map[string]string {
	return map[string]string{LabelPID: strconv.Itoa(os.Getpid()), LabelStarted: startTime(os.Getpid())}
}

// startTime is a process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat), or
// "" when there is no such process.
func startTime(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	_, rest, ok := strings.Cut(string(b), ") ") // the command name may hold spaces
	f := strings.Fields(rest)
	if !ok || len(f) < 20 {
		return ""
	}
	return f[19]
}

// alive reports whether the process a pid and start-time label pair names still runs.
func alive(pid, started string) bool {
	n, err := strconv.Atoi(pid)
	if err != nil {
		return false
	}
	return startTime(n) != "" && startTime(n) == started
}

// RemoveStale removes the containers, then the networks, named with Prefix whose owning process is
// gone. Anything without both the prefix and the labels is left alone.
func RemoveStale(ctx context.Context) error {
	format := `{{.ID}} {{.Names}} {{.Label "` + LabelPID + `"}} {{.Label "` + LabelStarted + `"}}`
	out, err := docker(ctx, "ps", "-a", "--filter", "label="+LabelPID, "--format", format)
	if err != nil {
		return err
	}
	var errs []error
	if ids := stale(out); len(ids) > 0 {
		_, err := docker(ctx, append([]string{"rm", "-f", "-v"}, ids...)...)
		errs = append(errs, err)
	}
	format = `{{.ID}} {{.Name}} {{.Label "` + LabelPID + `"}} {{.Label "` + LabelStarted + `"}}`
	out, err = docker(ctx, "network", "ls", "--filter", "label="+LabelPID, "--format", format)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, id := range stale(out) {
		_, err := docker(ctx, "network", "rm", id)
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// stale picks the ids of lines "<id> <name> <pid> <started>" that carry Prefix and a dead owner.
func stale(listing string) []string {
	var ids []string
	for _, line := range strings.Split(strings.TrimSpace(listing), "\n") {
		f := strings.Fields(line)
		if len(f) == 4 && strings.HasPrefix(f[1], Prefix) && !alive(f[2], f[3]) {
			ids = append(ids, f[0])
		}
	}
	return ids
}

// docker runs the docker CLI; an error keeps its output.
func docker(ctx context.Context, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// Cluster is one service's containers on a Docker network of their own.
type Cluster struct {
	// Name is the prefix of its containers' names and its network's name: dpsim-test-<pid>-<service>.
	Name  string
	Nodes []*Node
	net   *network24
	log   *slog.Logger
	mu    sync.Mutex
}

// NewCluster makes service's network and builds (or finds) images, after removing what dead test
// processes left behind. The caller adds nodes with Start and ends with Terminate.
func NewCluster(ctx context.Context, log *slog.Logger, service string, imageNames ...string) (*Cluster, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	setup(ctx, log)
	if err := ensureImages(ctx, log, imageNames); err != nil {
		return nil, fmt.Errorf("images for %s: %w", service, err)
	}
	c := &Cluster{Name: fmt.Sprintf("%s%d-%s", Prefix, os.Getpid(), service), log: log}
	n, err := newNetwork(ctx, c.Name)
	if err != nil {
		return nil, err
	}
	c.net = n
	return c, nil
}

// ensureImages builds the named images unless all exist. images.Build would find them too, but only
// once it holds the build lock, which a running `make images` keeps for its whole run.
func ensureImages(ctx context.Context, log *slog.Logger, names []string) error {
	for _, name := range names {
		if _, err := docker(ctx, "image", "inspect", "--format", "{{.Id}}", images.MustTag(name)); err != nil {
			_, err := images.Build(ctx, log, names, images.Options{})
			return err
		}
	}
	return nil
}

// Addr is the fixed address of the i-th node (from 0) on the cluster's network.
func (c *Cluster) Addr(i int) string { return c.net.addr(i) }

// NodeSpec describes one container.
type NodeSpec struct {
	Name  string // short: "kafka-0"; the container is <cluster name>-<Name>, Name its alias on the network
	Index int    // the node's address is Addr(Index)
	Image string
	Cmd   []string
	Env   map[string]string
	Files map[string]string // path in the container: content
	// Ready is probed at start-up and at each Start; nil waits for nothing.
	Ready wait.Strategy
}

// Start starts nodes concurrently and waits until each is ready. Nodes that were created are added
// to the cluster even when they fail to become ready, so that Terminate removes them.
func (c *Cluster) Start(ctx context.Context, specs ...NodeSpec) error {
	errs := make([]error, len(specs))
	var wg sync.WaitGroup
	for i, s := range specs {
		wg.Go(func() { errs[i] = c.start(ctx, s) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (c *Cluster) start(ctx context.Context, s NodeSpec) error {
	name := c.Name + "-" + s.Name
	ip := c.Addr(s.Index)
	opts := []testcontainers.ContainerCustomizer{
		testcontainers.WithName(name),
		testcontainers.WithLabels(owner()),
		testcontainers.WithEnv(s.Env),
		tcnetwork.WithNetworkName([]string{s.Name}, c.net.name),
		testcontainers.WithEndpointSettingsModifier(func(m map[string]*network.EndpointSettings) {
			if e := m[c.net.name]; e != nil {
				e.IPAMConfig = &network.EndpointIPAMConfig{IPv4Address: netip.MustParseAddr(ip)}
			}
		}),
	}
	if len(s.Cmd) > 0 {
		opts = append(opts, testcontainers.WithCmd(s.Cmd...))
	}
	for path, content := range s.Files {
		opts = append(opts, testcontainers.WithFiles(testcontainers.ContainerFile{
			Reader: strings.NewReader(content), ContainerFilePath: path, FileMode: 0o755}))
	}
	if s.Ready != nil {
		opts = append(opts, testcontainers.WithWaitStrategyAndDeadline(StartTimeout, s.Ready))
	}
	start := time.Now()
	ctr, err := testcontainers.Run(ctx, s.Image, opts...)
	if ctr != nil {
		c.mu.Lock()
		c.Nodes = append(c.Nodes, &Node{Name: s.Name, Container: name, IP: ip, c: ctr})
		c.mu.Unlock()
	}
	if err != nil {
		return fmt.Errorf("start %s: %w%s", name, err, logTail(ctx, ctr))
	}
	c.log.Info("test server up", "node", name, "address", ip, "elapsed", time.Since(start).Round(100*time.Millisecond).String())
	return nil
}

// logTail is the end of a container's log, for an error message.
func logTail(ctx context.Context, ctr *testcontainers.DockerContainer) string {
	if ctr == nil {
		return ""
	}
	rc, err := ctr.Logs(context.WithoutCancel(ctx))
	if err != nil {
		return ""
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return "; log tail:\n" + string(b)
}

// Node returns the node named name (its short name), or nil.
func (c *Cluster) Node(name string) *Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// Terminate removes every node (killed: nothing of theirs is kept) with its volumes, concurrently,
// then the network.
func (c *Cluster) Terminate(ctx context.Context) error {
	if c == nil {
		return nil
	}
	errs := make([]error, len(c.Nodes)+1)
	var wg sync.WaitGroup
	for i, n := range c.Nodes {
		wg.Go(func() {
			if err := n.c.Terminate(ctx, testcontainers.StopTimeout(0), testcontainers.RemoveVolumes()); err != nil {
				errs[i] = fmt.Errorf("remove %s: %w", n.Container, err)
			}
		})
	}
	wg.Wait()
	if c.net != nil {
		_, errs[len(c.Nodes)] = docker(ctx, "network", "rm", c.net.name)
	}
	return errors.Join(errs...)
}

// Node is one container of a cluster.
type Node struct {
	Name      string // short name, also its alias on the network
	Container string // the container's name
	IP        string // its fixed address
	c         *testcontainers.DockerContainer
}

// Kill stops the node at once (SIGKILL): no shutdown, what is on its filesystem stays.
func (n *Node) Kill(ctx context.Context) error {
	zero := time.Duration(0)
	if err := n.c.Stop(ctx, &zero); err != nil {
		return fmt.Errorf("kill %s: %w", n.Container, err)
	}
	return nil
}

// Stop stops the node gracefully (SIGTERM, SIGKILL after 10 s).
func (n *Node) Stop(ctx context.Context) error {
	grace := 10 * time.Second
	if err := n.c.Stop(ctx, &grace); err != nil {
		return fmt.Errorf("stop %s: %w", n.Container, err)
	}
	return nil
}

// Start starts the stopped node again, with its filesystem and address, and waits until it is ready.
func (n *Node) Start(ctx context.Context) error {
	if err := n.c.Start(ctx); err != nil {
		return fmt.Errorf("start %s again: %w", n.Container, err)
	}
	return nil
}

// Exec runs cmd in the node and returns its output; a non-zero exit is an error with the output.
func (n *Node) Exec(ctx context.Context, cmd ...string) (string, error) {
	code, r, err := n.c.Exec(ctx, cmd, tcexec.Multiplexed())
	if err != nil {
		return "", fmt.Errorf("%s: %s: %w", n.Container, strings.Join(cmd, " "), err)
	}
	var b strings.Builder
	if r != nil {
		_, _ = io.Copy(&b, r)
	}
	if code != 0 {
		return b.String(), fmt.Errorf("%s: %s: exit %d: %s", n.Container, strings.Join(cmd, " "), code, strings.TrimSpace(b.String()))
	}
	return b.String(), nil
}

// HTTPReady is a readiness probe run in the container: GET path on 127.0.0.1:port answers with text
// in its status line, headers or body. Bash's /dev/tcp, as the platform's probes: the images have no
// curl.
func HTTPReady(port int, path, text string) wait.Strategy {
	script := `exec 3<>"/dev/tcp/127.0.0.1/$0" || exit 1; printf 'GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n' "$1" >&3; grep -qF -- "$2" <&3`
	return wait.ForExec([]string{"bash", "-c", script, strconv.Itoa(port), path, text}).
		WithPollInterval(time.Second).WithStartupTimeout(StartTimeout)
}

// TCPReady is a readiness probe run in the container: 127.0.0.1:port accepts a connection.
func TCPReady(port int) wait.Strategy {
	return wait.ForExec([]string{"bash", "-c", `exec 3<>"/dev/tcp/127.0.0.1/$0"`, strconv.Itoa(port)}).
		WithPollInterval(time.Second).WithStartupTimeout(StartTimeout)
}
