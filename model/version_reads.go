package model

import (
	"context"
	"sync"
)

// versionReads shares reads of a shop's version among the requests that ask
// for it at the same time. Every kept read begins with the version, so under
// load a dozen requests of one shop ask for it at once, and each asking
// SQLite was a sixth of the storefront's time.
//
// A caller is given the answer of a read that began after it asked, never of
// one already under way: that one may have read the version before a change
// the caller has just made or has just been told of. So a shared answer is
// never older than the caller's own read would have been. While a read is
// under way, the callers that come meanwhile wait for it to end and share
// the one read that then begins.
type versionReads struct {
	mu    sync.Mutex
	shops map[int64]*shopVersionReads
}

// shopVersionReads is one shop's read under way and the one gathering the
// callers that came after it began; either may be nil.
type shopVersionReads struct {
	running, next *versionRead
}

// versionRead is one read of a shop's version: its answer once done is closed.
type versionRead struct {
	done    chan struct{}
	callers int // who asked for it, the one who runs it included (under versionReads.mu)
	version int64
	err     error
}

func newVersionReads() *versionReads {
	return &versionReads{shops: map[int64]*shopVersionReads{}}
}

// get gives the shop's version as read by read, begun after get was called.
// The read runs without the caller's cancellation (others may share it); a
// caller whose context ends stops waiting.
func (vr *versionReads) get(ctx context.Context, tenantID int64, read func(context.Context) (int64, error)) (int64, error) {
	vr.mu.Lock()
	shop := vr.shops[tenantID]
	if shop == nil {
		shop = &shopVersionReads{}
		vr.shops[tenantID] = shop
	}
	switch {
	case shop.running == nil && shop.next == nil:
		r := &versionRead{done: make(chan struct{}), callers: 1}
		shop.running = r
		vr.mu.Unlock()
		vr.run(ctx, shop, r, read)
		return r.version, r.err
	case shop.next == nil:
		// A read is under way: gather the callers that come until it ends
		// into the next one, and lead it.
		r, under := &versionRead{done: make(chan struct{}), callers: 1}, shop.running
		shop.next = r
		vr.mu.Unlock()
		<-under.done // a read of a primary key: not worth leaving
		vr.mu.Lock()
		shop.running, shop.next = r, nil
		vr.mu.Unlock()
		vr.run(ctx, shop, r, read)
		return r.version, r.err
	default:
		r := shop.next
		r.callers++
		vr.mu.Unlock()
		select {
		case <-r.done:
			return r.version, r.err
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// run reads the version into r, and ends r and the shop's read under way.
func (vr *versionReads) run(ctx context.Context, shop *shopVersionReads, r *versionRead, read func(context.Context) (int64, error)) {
	r.version, r.err = read(context.WithoutCancel(ctx))
	vr.mu.Lock()
	if shop.running == r {
		shop.running = nil
	}
	vr.mu.Unlock()
	close(r.done)
}
