package jobs_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"orderdesk/jobs"
	"orderdesk/model"
)

// TestStopWaitsForRunningJobs stops the scheduler while a run is under way, as
// serve does at shutdown, and closes the database right after Stop returns: the
// run must have ended and recorded itself before.
func TestStopWaitsForRunningJobs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "orderdesk.db")
	db, err := model.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	store := model.NewStore(db, testKeys())
	shopA, _ := twoShops(t, store)
	started, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	blocking := &jobs.Job{Name: "blocking", Interval: time.Minute, Run: func(ctx context.Context, t *model.Tenant, r *jobs.Run) error {
		if t.Slug != "shop-a" {
			return nil
		}
		once.Do(func() { close(started) })
		<-release // deaf to ctx: a run that must finish its work
		r.Processed = 1
		r.Logf("finished the slow work")
		return nil
	}}
	ctx, cancel := context.WithCancel(context.Background())
	sched := jobs.New(store, quiet, blocking)
	sched.Start(ctx)
	<-started
	cancel() // the signal that ends serve: the loops stop, the run goes on

	stopped := make(chan error, 1)
	go func() { stopped <- sched.Stop(context.Background()) }()
	select {
	case err := <-stopped:
		t.Fatalf("Stop returned while the job was running: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	if _, err := sched.RunNow(context.Background(), shopA, "blocking", 0); !errors.Is(err, jobs.ErrStopping) {
		t.Errorf("run now while stopping: %v, want ErrStopping", err)
	}
	close(release)
	if err := <-stopped; err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = model.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	store = model.NewStore(db, testKeys())
	runs, err := store.FindJobRuns(context.Background(), shopA.ID, "blocking", 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].FinishedAt == nil || runs[0].Processed != 1 || runs[0].Error != "" {
		t.Fatalf("the run as recorded after the database closed: %+v", runs)
	}
	// Its lease was given back before the close: a new process runs at once.
	if _, err := jobs.New(store, quiet, blocking).RunOnce(context.Background(), blocking, shopA); err != nil {
		t.Errorf("the lease after the stop: %v", err)
	}
}

// TestStopCancelsRunsAfterItsWait: a run still going when Stop's wait ends is
// cancelled, records its end, and Stop says so.
func TestStopCancelsRunsAfterItsWait(t *testing.T) {
	store := newStore(t)
	shopA, _ := twoShops(t, store)
	started := make(chan struct{})
	patient := &jobs.Job{Name: "patient", Interval: time.Minute, Run: func(ctx context.Context, t *model.Tenant, r *jobs.Run) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	}}
	sched := jobs.New(store, quiet, patient)
	run, err := sched.RunNow(context.Background(), shopA, "patient", 0)
	if err != nil {
		t.Fatal(err)
	}
	<-started
	wait, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := sched.Stop(wait); err == nil || !strings.Contains(err.Error(), "cancelled") {
		t.Errorf("Stop: %v, want a word that runs were cancelled", err)
	}
	got, err := store.FindJobRun(context.Background(), shopA.ID, run.ID)
	if err != nil || got.FinishedAt == nil || !strings.Contains(got.Error, "context canceled") {
		t.Errorf("the cancelled run as recorded: %+v, %v", got, err)
	}
}

// TestIdleRunsLeaveNoRow: the scheduler's runs that did nothing leave no row;
// runs that did something, failed, or were asked for with "Run now" do.
func TestIdleRunsLeaveNoRow(t *testing.T) {
	store := newStore(t)
	shopA, shopB := twoShops(t, store)
	ctx := context.Background()
	count := func(name string) int {
		t.Helper()
		var n int
		if err := store.DB.R.QueryRow(`SELECT count(*) FROM job_runs WHERE name = ?`, name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	var ran tally
	idle := &jobs.Job{Name: "idle", Interval: 5 * time.Millisecond, Run: func(_ context.Context, t *model.Tenant, _ *jobs.Run) error {
		ran.add(t)
		return nil
	}}
	busy := &jobs.Job{Name: "busy", Interval: time.Minute, Run: func(_ context.Context, t *model.Tenant, r *jobs.Run) error {
		if t.Slug == "shop-a" {
			r.Processed = 1
		} else {
			r.Logf("nothing to buy, but worth saying")
		}
		return nil
	}}
	failing := &jobs.Job{Name: "failing", Interval: time.Minute, Run: func(context.Context, *model.Tenant, *jobs.Run) error {
		return errors.New("no usable account")
	}}
	sched := jobs.New(store, quiet, idle, busy, failing)

	t.Run("a poller's idle ticks leave no row", func(t *testing.T) {
		ticking := jobs.New(store, quiet, idle)
		ticking.Start(ctx)
		waitFor(t, "the idle job's ticks", func() bool { return ran.of("shop-a") >= 20 && ran.of("shop-b") >= 20 })
		if err := ticking.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		if n := count("idle"); n != 0 {
			t.Errorf("%d rows after %d idle runs, want none", n, ran.of("shop-a")+ran.of("shop-b"))
		}
	})

	t.Run("runs that did something or failed keep their row", func(t *testing.T) {
		for _, shop := range []*model.Tenant{shopA, shopB} {
			if _, err := sched.RunOnce(ctx, busy, shop); err != nil {
				t.Fatal(err)
			}
			if _, err := sched.RunOnce(ctx, failing, shop); err == nil {
				t.Fatal("the failing job did not fail")
			}
		}
		if n := count("busy"); n != 2 {
			t.Errorf("busy runs recorded: %d, want 2 (a count, a message)", n)
		}
		if n := count("failing"); n != 2 {
			t.Errorf("failed runs recorded: %d, want 2", n)
		}
	})

	t.Run("an idle Run now keeps its row for the page that follows it", func(t *testing.T) {
		run, err := sched.RunNow(ctx, shopA, "idle", 2*time.Second)
		if err != nil || run.FinishedAt == nil {
			t.Fatalf("run now: %+v, %v", run, err)
		}
		if got, err := store.FindJobRun(ctx, shopA.ID, run.ID); err != nil || got.FinishedAt == nil {
			t.Errorf("the run now's row: %+v, %v", got, err)
		}
	})
	if err := sched.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestInstanceJobs: an instance job runs once for the installation, records
// its runs apart from every shop's, is not a shop's to run, follows the
// operator's pause, and counts its interval from its last good run.
func TestInstanceJobs(t *testing.T) {
	store := newStore(t)
	shopA, _ := twoShops(t, store)
	ctx := context.Background()
	var runs tally
	j := &jobs.Job{Name: "nightly", Interval: time.Hour, RunInstance: func(_ context.Context, r *jobs.Run) error {
		runs.add(&model.Tenant{Slug: "instance"})
		r.Processed = 1
		return nil
	}}
	sched := jobs.New(store, quiet, j)

	if _, err := sched.RunOnce(ctx, j, shopA); err == nil {
		t.Error("an instance job ran for a shop")
	}
	if _, err := sched.RunNow(ctx, shopA, "nightly", 0); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("a shop's run now of the instance job: %v, want not found", err)
	}
	if err := store.SetInstanceJobPaused(ctx, "nightly", true); err != nil {
		t.Fatal(err)
	}
	if _, err := sched.RunInstanceOnce(ctx, j); !errors.Is(err, jobs.ErrInstancePaused) {
		t.Errorf("run while paused: %v", err)
	}
	if err := store.SetInstanceJobPaused(ctx, "nightly", false); err != nil {
		t.Fatal(err)
	}

	// First start: no good run yet, so it runs at once, once.
	runCtx, cancel := context.WithCancel(ctx)
	sched.Start(runCtx)
	waitFor(t, "the first run", func() bool { return runs.of("instance") == 1 })
	time.Sleep(100 * time.Millisecond)
	cancel()
	if err := sched.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	// A restart within the interval does not run it again.
	again := jobs.New(store, quiet, j)
	runCtx, cancel = context.WithCancel(ctx)
	again.Start(runCtx)
	time.Sleep(200 * time.Millisecond)
	cancel()
	if err := again.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if n := runs.of("instance"); n != 1 {
		t.Errorf("runs after a restart within the interval: %d, want 1", n)
	}
	recorded, err := store.FindInstanceJobRuns(ctx, "nightly", 5)
	if err != nil || len(recorded) != 1 || recorded[0].Processed != 1 || recorded[0].FinishedAt == nil {
		t.Errorf("the instance's runs: %+v, %v", recorded, err)
	}
	if shopRuns, _ := store.FindJobRuns(ctx, shopA.ID, "nightly", 5); len(shopRuns) != 0 {
		t.Errorf("a shop has %d runs of the instance job", len(shopRuns))
	}
}
