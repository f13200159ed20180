package testservers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"testing"
	"time"

	"dpsim/internal/testenv"
)

// Terminator is a running service that can be removed.
type Terminator interface {
	Terminate(ctx context.Context) error
}

// Shared is a service a test package's tests share: started by the first test that asks for it
// (so a -run that selects none starts nothing), removed by Main once every test has run. Tests keep
// apart by their datasets.
type Shared[H Terminator] struct {
	// Run starts the service; it returns what it started even on error, for removal.
	Run  func(ctx context.Context) (H, error)
	once sync.Once
	mu   sync.Mutex
	h    H
	set  bool
	err  error
}

// startDeadline bounds a shared service's start, image builds included (a cold build of the
// store images takes minutes).
const startDeadline = 30 * time.Minute

// Get returns the running service, starting it on first use. Docker is required: without it the
// test fails, or skips under -short (testenv.RequireDocker).
func (s *Shared[H]) Get(t testing.TB) H {
	t.Helper()
	testenv.RequireDocker(t)
	h, err := s.Start()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// Start returns the running service, starting it on first use; any goroutine may call it.
func (s *Shared[H]) Start() (H, error) {
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), startDeadline)
		defer cancel()
		h, err := s.Run(ctx)
		s.mu.Lock()
		s.h, s.set, s.err = h, true, err
		s.mu.Unlock()
	})
	if s.err != nil {
		return s.h, fmt.Errorf("start test servers: %w", s.err)
	}
	return s.h, nil
}

// Terminate removes the service if it was started.
func (s *Shared[H]) Terminate(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.set {
		return nil
	}
	s.set = false
	return s.h.Terminate(ctx)
}

// Main runs a package's tests (TestMain calls it) and then removes services. An interrupt
// (Ctrl-C, SIGTERM) removes them too before the process exits; a run killed outright leaves them
// to the next run's RemoveStale.
func Main(m *testing.M, services ...Terminator) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		fmt.Fprintln(os.Stderr, "interrupted: removing test servers")
		if err := terminate(services); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
		os.Exit(130)
	}()
	code := m.Run()
	if err := terminate(services); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

func terminate(services []Terminator) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var errs []error
	for _, s := range services {
		if err := s.Terminate(ctx); err != nil {
			errs = append(errs, fmt.Errorf("remove test servers: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Fault kills one node of a service under test and restarts it.
type Fault struct {
	Kill, Restart func(ctx context.Context) error
}

// NodeFault kills node n (SIGKILL) and starts it again, waiting until it is ready.
func NodeFault(n *Node) Fault { return Fault{Kill: n.Kill, Restart: n.Start} }

// ShellFault is the Fault of a service the tests did not start: the shell commands in the
// environment variables killEnv and restartEnv. Both must be set.
func ShellFault(killEnv, restartEnv string) (Fault, error) {
	kill, restart := os.Getenv(killEnv), os.Getenv(restartEnv)
	if kill == "" || restart == "" {
		return Fault{}, fmt.Errorf("%s and %s must be set to the shell commands that kill and restart one node of the cluster named by the environment", killEnv, restartEnv)
	}
	return Fault{Kill: shell(kill), Restart: shell(restart)}, nil
}

func shell(command string) func(context.Context) error {
	return func(ctx context.Context) error {
		if out, err := exec.CommandContext(ctx, "sh", "-c", command).CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %w: %s", command, err, out)
		}
		return nil
	}
}
