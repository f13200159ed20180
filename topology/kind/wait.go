package kind

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// progressEvery is how often a wait says what it is still waiting for.
const progressEvery = 30 * time.Second

// rollout waits, within the platform's ReadyTimeout, until workload w in ns has every replica
// ready. Every 30 s it logs which of ns's pods are not ready and why, so that a stall shows itself
// while it lasts; its error says the same.
func (p *Platform) rollout(ctx context.Context, ns, w string) error {
	err := p.cluster.waitKubectl(ctx, time.Now().Add(p.opts.ReadyTimeout), w+" in "+ns,
		[]string{"-n", ns, "rollout", "status", w}, func() string { return p.cluster.notReady(ctx, ns) })
	if err != nil {
		return fmt.Errorf("%w%s", err, p.podSummary(ctx, ns))
	}
	return nil
}

// waitKubectl runs a kubectl command that waits (`rollout status`, `wait`) in slices of 30 s until
// it succeeds or deadline passes; after each slice it logs what it waits for and what notReady
// says is not ready yet, and a wait that ends unmet says so in its error.
func (c *Provider) waitKubectl(ctx context.Context, deadline time.Time, what string, args []string, notReady func() string) error {
	start := time.Now()
	for {
		slice := min(progressEvery, time.Until(deadline))
		_, err := c.Kubectl(ctx, nil, append(args, fmt.Sprintf("--timeout=%ds", max(1, int(slice.Seconds()))))...)
		if err == nil {
			return nil
		}
		if !waitTimedOut(err) || ctx.Err() != nil {
			return fmt.Errorf("wait for %s: %w", what, err)
		}
		if !time.Now().Before(deadline) {
			return fmt.Errorf("wait for %s: not ready within %s: %s", what, time.Since(start).Round(time.Second), notReady())
		}
		c.log.Info("waiting for "+what, "elapsed", since(start), "not_ready", notReady())
	}
}

// waitTimedOut tells kubectl's own timeout (what it waits for is not there yet) from another failure.
func waitTimedOut(err error) bool {
	return strings.Contains(err.Error(), "timed out waiting")
}

// notReady names the pods of ns ("": every namespace) that are not ready (or have restarted) and
// why, on one line.
func (c *Provider) notReady(ctx context.Context, ns string) string {
	args := []string{"get", "pods", "-o", "json", "--all-namespaces"}
	if ns != "" {
		args = []string{"-n", ns, "get", "pods", "-o", "json"}
	}
	out, err := c.Kubectl(ctx, nil, args...)
	if err != nil {
		return "pods could not be listed: " + err.Error()
	}
	notes, err := podNotes(out)
	if err != nil {
		return err.Error()
	}
	if len(notes) == 0 {
		return "every pod ready"
	}
	return strings.Join(notes, "; ")
}

// podSummary lists the pods of ns with their phase and node, for error messages.
func (p *Platform) podSummary(ctx context.Context, ns string) string {
	out, err := p.cluster.Kubectl(ctx, nil, "-n", ns, "get", "pods", "-o", "wide", "--no-headers")
	if err != nil {
		return ""
	}
	return "\npods in " + ns + ":\n" + strings.TrimSpace(string(out))
}

// waitFor polls check every second until it succeeds, timeout passes or ctx ends; it returns the
// last error, and every 30 s logs it as what it is still waiting for.
func (p *Platform) waitFor(ctx context.Context, timeout time.Duration, check func() error) error {
	start := time.Now()
	deadline, next := start.Add(timeout), start.Add(progressEvery)
	for {
		err := check()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s: %w", timeout, err)
		}
		if time.Now().After(next) {
			p.log.Info("still waiting", "elapsed", since(start), "for", err.Error())
			next = next.Add(progressEvery)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w; last seen: %w", ctx.Err(), err)
		case <-time.After(time.Second):
		}
	}
}
