// Package progress prints a run's progress for people: one line per step, prefixed with the time
// elapsed since the run began, as a log/slog handler so it is passed in like any logger.
package progress

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// New returns a logger that writes progress lines to w, timed from now.
func New(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(&handler{w: w, start: time.Now(), level: level, mu: &sync.Mutex{}})
}

// Discard returns a logger that prints nothing.
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

type handler struct {
	w     io.Writer
	start time.Time
	level slog.Level
	attrs []slog.Attr
	mu    *sync.Mutex
}

func (h *handler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *handler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "[%7.1fs] ", time.Since(h.start).Seconds())
	if r.Level >= slog.LevelWarn {
		b.WriteString(strings.ToLower(r.Level.String()) + ": ")
	}
	b.WriteString(r.Message)
	write := func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	}
	for _, a := range h.attrs {
		write(a)
	}
	r.Attrs(write)
	b.WriteByte('\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), attrs...)
	return &c
}

func (h *handler) WithGroup(string) slog.Handler { return h }
