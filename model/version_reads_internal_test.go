package model

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// waitFor polls cond (under the reads' lock) until it holds, or fails with
// what did not happen.
func waitFor(t *testing.T, vr *versionReads, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		vr.mu.Lock()
		ok := cond()
		vr.mu.Unlock()
		if ok {
			return
		}
	}
	t.Fatal(what + " (waited 10 s)")
}

// A caller never gets the answer of a read that began before it asked: that
// read may have missed the change the caller just made. The callers that come
// while a read is under way share the one read after it.
func TestShopVersionReadsNeverGiveAnAnswerReadBeforeTheCallerAsked(t *testing.T) {
	vr := newVersionReads()
	var truth, reads atomic.Int64
	truth.Store(1)
	firstRead, release := make(chan struct{}), make(chan struct{})
	read := func(context.Context) (int64, error) {
		v := truth.Load() // what the database holds when the read begins
		if reads.Add(1) == 1 {
			close(firstRead)
			<-release
		}
		return v, nil
	}
	ctx := context.Background()

	first := make(chan int64)
	go func() {
		v, err := vr.get(ctx, 7, read)
		if err != nil {
			t.Error(err)
		}
		first <- v
	}()
	<-firstRead // the first read has read version 1 and has not answered yet
	truth.Store(2)

	var wg sync.WaitGroup
	later := make([]int64, 3)
	for i := range later {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := vr.get(ctx, 7, read)
			if err != nil {
				t.Error(err)
			}
			later[i] = v
		}()
	}
	waitFor(t, vr, "the callers that came while a read was under way did not wait for the next one", func() bool { s := vr.shops[7]; return s.next != nil && s.next.callers == len(later) })
	close(release)
	wg.Wait()

	if v := <-first; v != 1 {
		t.Errorf("the first caller got version %d, want 1", v)
	}
	for i, v := range later {
		if v != 2 {
			t.Errorf("caller %d, who asked after the change, got version %d, want 2", i, v)
		}
	}
	if n := reads.Load(); n != 2 {
		t.Errorf("%d reads for four callers, want 2 (the callers that came meanwhile share one)", n)
	}

	// Another shop's callers neither wait for nor share this shop's reads.
	if v, err := vr.get(ctx, 8, func(context.Context) (int64, error) { return 80, nil }); err != nil || v != 80 {
		t.Errorf("another shop's version: %d, %v", v, err)
	}
}

// A caller whose request ends stops waiting, and its end does not end the
// read the others share.
func TestShopVersionReadsACallerLeavingDoesNotEndTheSharedRead(t *testing.T) {
	vr := newVersionReads()
	firstRead, release := make(chan struct{}), make(chan struct{})
	var reads atomic.Int64
	read := func(ctx context.Context) (int64, error) {
		if reads.Add(1) == 1 {
			close(firstRead)
			<-release
		}
		return 5, ctx.Err()
	}
	go func() {
		if _, err := vr.get(context.Background(), 1, read); err != nil {
			t.Error(err)
		}
	}()
	<-firstRead
	leaderCtx, cancelLeader := context.WithCancel(context.Background())
	leaving, cancelLeaving := context.WithCancel(context.Background())
	results := make(chan error, 3)
	go func() { _, err := vr.get(leaderCtx, 1, read); results <- err }()
	waitFor(t, vr, "the second caller did not wait for a read of its own", func() bool { return vr.shops[1].next != nil })
	go func() { _, err := vr.get(leaving, 1, read); results <- err }()
	go func() { _, err := vr.get(context.Background(), 1, read); results <- err }()
	waitFor(t, vr, "the callers did not gather for one read", func() bool { return vr.shops[1].next.callers == 3 })
	cancelLeaving()
	if err := <-results; err != context.Canceled {
		t.Fatalf("the caller that left got %v, want context.Canceled", err)
	}
	cancelLeader() // the leader's request ends while its read waits to run
	close(release)
	for range 2 {
		if err := <-results; err != nil {
			t.Errorf("a caller sharing the read got %v", err)
		}
	}
}
