// Package sandboxkit holds what the providers' sandboxes do alike, so that
// each sandbox says only what its provider does differently: the switches a
// tester flips on the control page (the public URL, a delay on every
// answer, a failure armed for the next call), the pages (the customer's
// pay/decline/abandon form, the control page's common forms, rendering and
// redirects) and the notifications to the shop with their retries.
//
// A sandbox keeps its switches either in memory (Board and Once) or, when a
// CLI run must see what the server's control page set, in its settings
// table (Stored). Both wait out the latency the same way (Wait).
package sandboxkit

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Board holds what a tester sets on every in-memory sandbox: the public URL
// it is mounted at and the delay added to each API answer. Embed it in a
// Sandbox so that SetBaseURL, BaseURL, SetLatency and Latency are the
// sandbox's own. The zero value is ready: no URL yet, no delay.
type Board struct {
	mu      sync.Mutex
	baseURL string
	latency time.Duration
}

// SetBaseURL sets the public URL the sandbox is mounted at (tests learn it
// once their httptest server has started).
func (b *Board) SetBaseURL(u string) {
	b.mu.Lock()
	b.baseURL = strings.TrimRight(u, "/")
	b.mu.Unlock()
}

// BaseURL returns the public URL the sandbox is mounted at, without a
// trailing slash.
func (b *Board) BaseURL() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.baseURL
}

// SetLatency delays every API answer by d (0 turns it off).
func (b *Board) SetLatency(d time.Duration) {
	b.mu.Lock()
	b.latency = d
	b.mu.Unlock()
}

// Latency returns the delay added to every API answer.
func (b *Board) Latency() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.latency
}

// Wait delays an API answer by the board's latency; see Wait.
func (b *Board) Wait(r *http.Request) bool { return Wait(r.Context(), b.Latency()) }

// Wait sleeps d, the latency switch, before an answer. It returns false
// when ctx ended first: the caller went away and gets no answer.
func Wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Once is a switch that acts on the next call only ("fail the next API
// call", "decline the next payment"): Arm sets it, Take reads and clears it
// in one step, so two concurrent calls never both fail. M is the provider's
// FailMode, or bool for a plain on/off switch; the zero value is off.
type Once[M comparable] struct {
	mu sync.Mutex
	v  M
}

// Arm sets the switch for the next call (the zero value clears it).
func (o *Once[M]) Arm(v M) {
	o.mu.Lock()
	o.v = v
	o.mu.Unlock()
}

// Armed returns the switch without using it up, for the control page.
func (o *Once[M]) Armed() M {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.v
}

// Take returns the switch and clears it: the call that takes it is the one
// that fails.
func (o *Once[M]) Take() M {
	o.mu.Lock()
	defer o.mu.Unlock()
	v := o.v
	var zero M
	o.v = zero
	return v
}

// Count is a switch that acts on the next n calls ("fail the next 3
// calls"), each taking one.
type Count struct {
	mu sync.Mutex
	n  int
}

// Arm makes the next n calls take the switch (0 or less clears it).
func (c *Count) Arm(n int) {
	c.mu.Lock()
	c.n = max(n, 0)
	c.mu.Unlock()
}

// Add arms it for one call more.
func (c *Count) Add() {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
}

// Armed returns how many calls are still to take it.
func (c *Count) Armed() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// Take reports whether this call takes the switch, and counts it.
func (c *Count) Take() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n <= 0 {
		return false
	}
	c.n--
	return true
}

// Defaults fills what a sandbox's config may leave nil: the HTTP client it
// sends the shop's notifications with (10 s timeout) and its clock.
func Defaults(hc **http.Client, now *func() time.Time) {
	if *hc == nil {
		*hc = &http.Client{Timeout: 10 * time.Second}
	}
	if *now == nil {
		*now = time.Now
	}
}
