package jobs_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"orderdesk/jobs"
	"orderdesk/model"
)

func newStore(t *testing.T) *model.Store {
	t.Helper()
	db, err := model.Open(filepath.Join(t.TempDir(), "orderdesk.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return model.NewStore(db, testKeys())
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestTwoProcessesNeverRunOneJobAtOnce(t *testing.T) {
	store := newStore(t)
	ctx := context.Background()
	started, release := make(chan struct{}), make(chan struct{})
	slow := &jobs.Job{Name: "slow", Interval: time.Minute, Run: func(ctx context.Context, r *jobs.Run) error {
		close(started)
		<-release
		r.Processed = 1
		return nil
	}}
	a, b := jobs.New(store, quiet, slow), jobs.New(store, quiet, slow)
	done := make(chan error)
	go func() { _, err := a.RunOnce(ctx, slow); done <- err }()
	<-started
	if _, err := b.RunOnce(ctx, slow); !errors.Is(err, jobs.ErrBusy) {
		t.Fatalf("second process ran the job while the first held it: %v", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Once released, the other process may run it.
	quick := &jobs.Job{Name: "slow", Interval: time.Minute, Run: func(context.Context, *jobs.Run) error { return nil }}
	if _, err := b.RunOnce(ctx, quick); err != nil {
		t.Fatalf("after release: %v", err)
	}
	runs, _ := store.FindJobRuns(ctx, "slow", 10)
	if len(runs) != 2 || runs[1].Processed != 1 || runs[1].FinishedAt == nil {
		t.Errorf("recorded runs: %+v", runs)
	}
}

func TestPanicIsRecoveredAndRecorded(t *testing.T) {
	store := newStore(t)
	boom := &jobs.Job{Name: "boom", Interval: time.Minute, Run: func(ctx context.Context, r *jobs.Run) error {
		r.Logf("about to fail")
		panic("supplier answered nonsense")
	}}
	_, err := jobs.New(store, quiet, boom).RunOnce(context.Background(), boom)
	if err == nil || !strings.Contains(err.Error(), "supplier answered nonsense") {
		t.Fatalf("panic not turned into an error: %v", err)
	}
	runs, _ := store.FindJobRuns(context.Background(), "boom", 1)
	if len(runs) != 1 || !strings.Contains(runs[0].Error, "panic") || runs[0].Messages[0] != "about to fail" {
		t.Errorf("run record: %+v", runs)
	}
	// The lease was given back despite the panic.
	ok := &jobs.Job{Name: "boom", Interval: time.Minute, Run: func(context.Context, *jobs.Run) error { return nil }}
	if _, err := jobs.New(store, quiet, ok).RunOnce(context.Background(), ok); err != nil {
		t.Errorf("lease kept after panic: %v", err)
	}
}

func TestPausedJobDoesNotRun(t *testing.T) {
	store := newStore(t)
	ctx := context.Background()
	ran := false
	j := &jobs.Job{Name: "p", Interval: time.Minute, Run: func(context.Context, *jobs.Run) error { ran = true; return nil }}
	store.SetJobPaused(ctx, "p", true)
	if _, err := jobs.New(store, quiet, j).RunOnce(ctx, j); !errors.Is(err, jobs.ErrBusy) || ran {
		t.Fatalf("paused job ran: %v", err)
	}
	store.SetJobPaused(ctx, "p", false)
	if _, err := jobs.New(store, quiet, j).RunOnce(ctx, j); err != nil || !ran {
		t.Fatalf("resumed job did not run: %v", err)
	}
}

func TestSchedulerRunsOnItsInterval(t *testing.T) {
	store := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ticks := make(chan struct{}, 10)
	j := &jobs.Job{Name: "tick", Interval: 20 * time.Millisecond, Run: func(context.Context, *jobs.Run) error { ticks <- struct{}{}; return nil }}
	jobs.New(store, quiet, j).Start(ctx)
	for i := 0; i < 3; i++ {
		select {
		case <-ticks:
		case <-time.After(5 * time.Second):
			t.Fatalf("only %d runs", i)
		}
	}
}
