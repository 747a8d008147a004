package model

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// newKeptTestStore is a store on a migrated database, for kept reads of
// made-up data.
func newKeptTestStore(t *testing.T) *Store {
	t.Helper()
	db := openTestDB(t)
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return NewStore(db, nil)
}

// The requests that find a kept read missing at once (a change to the shop
// sends them all to read again) share one read of it.
func TestKeptReadsMissedAtOnceShareOneRead(t *testing.T) {
	s := newKeptTestStore(t)
	c := newKeptCache[string, int](8)
	var reads atomic.Int64
	release := make(chan struct{})
	read := func() (int, error) {
		reads.Add(1)
		<-release
		return 42, nil
	}
	var wg sync.WaitGroup
	got := make([]int, 16)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := keptRead(context.Background(), s, c, 1, "desk", read)
			if err != nil {
				t.Error(err)
			}
			got[i] = v
		}()
	}
	time.Sleep(100 * time.Millisecond) // all of them ask while the first read is under way
	close(release)
	wg.Wait()
	for i, v := range got {
		if v != 42 {
			t.Errorf("caller %d got %d", i, v)
		}
	}
	if n := reads.Load(); n != 1 {
		t.Errorf("%d reads for %d callers asking at once, want 1", n, len(got))
	}
}

// Keys that differ are never shared, however their values would print, and a
// cancelled request that read for the others does not fail them.
func TestKeptReadsShareOnlyTheSameKeyAndSurviveACancelledReader(t *testing.T) {
	s := newKeptTestStore(t)
	type pair struct{ a, b string }
	c := newKeptCache[pair, string](8)
	first, second := pair{"x y", "z"}, pair{"x", "y z"} // both {x y z} as %v writes them
	started, release := make(chan struct{}), make(chan struct{})
	firstDone := make(chan string, 1)
	go func() {
		v, err := keptRead(context.Background(), s, c, 1, first, func() (string, error) {
			close(started)
			<-release
			return "first", nil
		})
		if err != nil {
			t.Error(err)
		}
		firstDone <- v
	}()
	<-started
	secondDone := make(chan string, 1)
	go func() {
		v, err := keptRead(context.Background(), s, c, 1, second, func() (string, error) { return "second", nil })
		if err != nil {
			t.Error(err)
		}
		secondDone <- v
	}()
	time.Sleep(50 * time.Millisecond) // the second asks while the first's read is under way
	close(release)
	if v := <-firstDone; v != "first" {
		t.Errorf("the first key read %q", v)
	}
	if v := <-secondDone; v != "second" {
		t.Errorf("the second key, asked while the first was read, got %q", v)
	}

	ints := newKeptCache[string, int](8)
	leaderCtx, cancel := context.WithCancel(context.Background())
	started, release = make(chan struct{}), make(chan struct{})
	leader := make(chan error, 1)
	go func() {
		_, err := keptRead(leaderCtx, s, ints, 1, "k", func() (int, error) {
			close(started)
			<-release
			return 0, leaderCtx.Err()
		})
		leader <- err
	}()
	<-started
	joiner := make(chan int, 1)
	go func() {
		v, err := keptRead(context.Background(), s, ints, 1, "k", func() (int, error) { return 7, nil })
		if err != nil {
			t.Error(err)
		}
		joiner <- v
	}()
	time.Sleep(50 * time.Millisecond) // the second caller joins the first's read
	cancel()
	close(release)
	if err := <-leader; err == nil {
		t.Error("the cancelled reader got no error")
	}
	if v := <-joiner; v != 7 {
		t.Errorf("the caller sharing a cancelled read got %d, want its own read (7)", v)
	}
}
