// Package testenv holds what tests share: the Docker requirement (skip under -short
// when the engine is missing, fail otherwise, so a missing engine never turns into a pass) and a
// logger that writes to the test log, and a loopback listener.
package testenv

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// RequireDocker skips under -short when the Docker engine does not answer, and fails otherwise.
func RequireDocker(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput()
	if err == nil {
		return
	}
	msg := fmt.Sprintf("docker engine not answering (%v: %s); `make deps` installs and starts it", err, strings.TrimSpace(string(out)))
	if testing.Short() {
		t.Skip("integration test needs Docker: " + msg)
	}
	t.Fatal("integration test needs Docker: " + msg)
}

// Logger sends slog output to the test log.
func Logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(writer{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// Writer returns an io.Writer that writes to the test log, line by line.
func Writer(t testing.TB) writer { return writer{t} }

type writer struct{ t testing.TB }

func (w writer) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Listen listens on a loopback port until the test ends and hands every connection it takes to
// serve, each in a goroutine of its own; serve closes it.
func Listen(t testing.TB, serve func(net.Conn)) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serve(c)
		}
	}()
	return ln
}
