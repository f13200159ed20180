package fakes

import (
	"sync"
	"time"
)

// DefaultStart is the instant a SimClock starts at unless WithStart says otherwise.
var DefaultStart = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

// SimClock is a simulated clock: it stands still until Advance moves it, so two runs of the same
// scenario see the same times. It implements topology.Clock and is safe for concurrent use.
type SimClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewSimClock returns a clock standing at start.
func NewSimClock(start time.Time) *SimClock {
	return &SimClock{now: start}
}

// Now returns the simulated time.
func (c *SimClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d (never backwards: a negative d is ignored).
func (c *SimClock) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// reset puts the clock back at start (a new Up starts a new, repeatable timeline).
func (c *SimClock) reset(start time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = start
}
