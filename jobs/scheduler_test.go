package jobs_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
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

// twoShops makes two tenants in the store.
func twoShops(t *testing.T, store *model.Store) (a, b *model.Tenant) {
	t.Helper()
	var shops []*model.Tenant
	for _, slug := range []string{"shop-a", "shop-b"} {
		s, err := store.CreateTenant(context.Background(), model.NewTenant{Slug: slug, Name: slug, Currency: "USD", Language: "en", Timezone: "UTC"})
		if err != nil {
			t.Fatal(err)
		}
		shops = append(shops, s)
	}
	return shops[0], shops[1]
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// tally counts runs per shop, for jobs run by the scheduler's goroutines.
type tally struct {
	mu   sync.Mutex
	runs map[string]int
}

func (c *tally) add(t *model.Tenant) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.runs == nil {
		c.runs = map[string]int{}
	}
	c.runs[t.Slug]++
}

func (c *tally) of(slug string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.runs[slug]
}

// waitFor polls cond for up to five seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestTwoProcessesNeverRunOneShopsJobAtOnce(t *testing.T) {
	store := newStore(t)
	shopA, shopB := twoShops(t, store)
	ctx := context.Background()
	started, release := make(chan struct{}), make(chan struct{})
	slow := &jobs.Job{Name: "slow", Interval: time.Minute, Run: func(ctx context.Context, _ *model.Tenant, r *jobs.Run) error {
		close(started)
		<-release
		r.Processed = 1
		return nil
	}}
	a, b := jobs.New(store, quiet, slow), jobs.New(store, quiet, slow)
	done := make(chan error)
	go func() { _, err := a.RunOnce(ctx, slow, shopA); done <- err }()
	<-started
	if _, err := b.RunOnce(ctx, slow, shopA); !errors.Is(err, jobs.ErrBusy) {
		t.Fatalf("second process ran shop A's job while the first held it: %v", err)
	}
	// The lease is the shop's: the other shop's run of the same job goes ahead.
	quick := &jobs.Job{Name: "slow", Interval: time.Minute, Run: func(_ context.Context, _ *model.Tenant, r *jobs.Run) error {
		r.Processed = 1 // a run that did something keeps its row
		return nil
	}}
	if _, err := b.RunOnce(ctx, quick, shopB); err != nil {
		t.Fatalf("shop B waited for shop A's run: %v", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Once released, the other process may run it.
	if _, err := b.RunOnce(ctx, quick, shopA); err != nil {
		t.Fatalf("after release: %v", err)
	}
	runs, err := store.FindJobRuns(ctx, shopA.ID, "slow", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 || runs[1].Processed != 1 || runs[1].FinishedAt == nil {
		t.Errorf("shop A's recorded runs: %+v", runs)
	}
	if runs, _ := store.FindJobRuns(ctx, shopB.ID, "slow", 10); len(runs) != 1 {
		t.Errorf("shop B's recorded runs: %d, want its one", len(runs))
	}
}

func TestPanicIsRecordedForThatShopOnly(t *testing.T) {
	store := newStore(t)
	shopA, shopB := twoShops(t, store)
	ctx := context.Background()
	boom := &jobs.Job{Name: "boom", Interval: time.Minute, Run: func(ctx context.Context, t *model.Tenant, r *jobs.Run) error {
		r.Logf("working for %s", t.Slug)
		if t.Slug == "shop-a" {
			panic("supplier answered nonsense")
		}
		r.Processed++
		return nil
	}}
	sched := jobs.New(store, quiet, boom)
	_, err := sched.RunOnce(ctx, boom, shopA)
	if err == nil || !strings.Contains(err.Error(), "supplier answered nonsense") {
		t.Fatalf("panic not turned into an error: %v", err)
	}
	if _, err := sched.RunOnce(ctx, boom, shopB); err != nil {
		t.Fatalf("shop B's run after shop A's panic: %v", err)
	}
	runs, _ := store.FindJobRuns(ctx, shopA.ID, "boom", 5)
	if len(runs) != 1 || !strings.Contains(runs[0].Error, "panic") || runs[0].Messages[0] != "working for shop-a" {
		t.Errorf("shop A's run record: %+v", runs)
	}
	runs, _ = store.FindJobRuns(ctx, shopB.ID, "boom", 5)
	if len(runs) != 1 || runs[0].Error != "" || runs[0].Processed != 1 || strings.Contains(strings.Join(runs[0].Messages, " "), "shop-a") {
		t.Errorf("shop B's run record: %+v", runs)
	}
	// The lease was given back despite the panic.
	ok := &jobs.Job{Name: "boom", Interval: time.Minute, Run: func(context.Context, *model.Tenant, *jobs.Run) error { return nil }}
	if _, err := jobs.New(store, quiet, ok).RunOnce(ctx, ok, shopA); err != nil {
		t.Errorf("lease kept after panic: %v", err)
	}
}

func TestPausedShopDoesNotRunWhileOthersDo(t *testing.T) {
	store := newStore(t)
	shopA, shopB := twoShops(t, store)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var ran tally
	j := &jobs.Job{Name: "tick", Interval: 10 * time.Millisecond, Run: func(_ context.Context, t *model.Tenant, _ *jobs.Run) error {
		ran.add(t)
		return nil
	}}
	if err := store.SetJobPaused(ctx, shopA.ID, "tick", true); err != nil {
		t.Fatal(err)
	}
	sched := jobs.New(store, quiet, j)
	sched.Start(ctx)
	waitFor(t, "shop B's runs", func() bool { return ran.of("shop-b") >= 3 })
	if n := ran.of("shop-a"); n != 0 {
		t.Errorf("paused shop A ran %d times", n)
	}
	if _, err := sched.RunOnce(ctx, j, shopA); !errors.Is(err, jobs.ErrPaused) {
		t.Errorf("run now in paused shop A: %v, want ErrPaused", err)
	}
	if paused, _ := store.JobPaused(ctx, shopB.ID, "tick"); paused {
		t.Error("pausing shop A paused shop B")
	}
	// Resumed, shop A runs on the next ticks.
	if err := store.SetJobPaused(ctx, shopA.ID, "tick", false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "shop A's runs after resuming", func() bool { return ran.of("shop-a") >= 1 })
}

func TestInstancePauseStopsEveryShop(t *testing.T) {
	store := newStore(t)
	shopA, shopB := twoShops(t, store)
	ctx := context.Background()
	var ran tally
	j := &jobs.Job{Name: "tick", Interval: 10 * time.Millisecond, Run: func(_ context.Context, t *model.Tenant, _ *jobs.Run) error {
		ran.add(t)
		return nil
	}}
	other := &jobs.Job{Name: "other", Interval: 10 * time.Millisecond, Run: func(_ context.Context, t *model.Tenant, _ *jobs.Run) error {
		ran.add(&model.Tenant{Slug: "other/" + t.Slug})
		return nil
	}}
	if err := store.SetInstanceJobPaused(ctx, "tick", true); err != nil {
		t.Fatal(err)
	}
	sched := jobs.New(store, quiet, j, other)
	for _, shop := range []*model.Tenant{shopA, shopB} {
		if _, err := sched.RunOnce(ctx, j, shop); !errors.Is(err, jobs.ErrInstancePaused) {
			t.Errorf("%s ran the job paused for the instance: %v", shop.Slug, err)
		}
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	sched.Start(runCtx)
	// The other job runs in both shops meanwhile: the ticks go on.
	waitFor(t, "the other job's runs", func() bool { return ran.of("other/shop-a") >= 3 && ran.of("other/shop-b") >= 3 })
	if a, b := ran.of("shop-a"), ran.of("shop-b"); a+b != 0 {
		t.Errorf("the paused job ran %d times in shop A and %d in shop B", a, b)
	}
	if err := store.SetInstanceJobPaused(ctx, "tick", false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "both shops' runs after the resume", func() bool { return ran.of("shop-a") >= 1 && ran.of("shop-b") >= 1 })
}

func TestFailingShopBacksOffAlone(t *testing.T) {
	store := newStore(t)
	twoShops(t, store)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var ran tally
	j := &jobs.Job{Name: "flaky", Interval: 10 * time.Millisecond, Run: func(_ context.Context, t *model.Tenant, _ *jobs.Run) error {
		ran.add(t)
		if t.Slug == "shop-a" {
			return errors.New("no usable account")
		}
		return nil
	}}
	jobs.New(store, quiet, j).Start(ctx)
	waitFor(t, "shop B's runs", func() bool { return ran.of("shop-b") >= 12 })
	// Shop A waits 20, 40, 80, 160 ms… after its failures; shop B keeps 10 ms.
	if a := ran.of("shop-a"); a > 5 || a < 1 {
		t.Errorf("failing shop A ran %d times while shop B ran %d", a, ran.of("shop-b"))
	}
}

func TestRunNow(t *testing.T) {
	store := newStore(t)
	shopA, _ := twoShops(t, store)
	ctx := context.Background()
	release := make(chan struct{})
	quick := &jobs.Job{Name: "quick", Interval: time.Minute, Run: func(_ context.Context, _ *model.Tenant, r *jobs.Run) error {
		r.Processed = 3
		return nil
	}}
	slow := &jobs.Job{Name: "slow", Interval: time.Minute, Run: func(_ context.Context, _ *model.Tenant, r *jobs.Run) error {
		<-release
		r.Processed = 7
		return nil
	}}
	sched := jobs.New(store, quiet, quick, slow)

	t.Run("a quick run is answered finished, with its counts", func(t *testing.T) {
		run, err := sched.RunNow(ctx, shopA, "quick", 2*time.Second)
		if err != nil || run.FinishedAt == nil || run.Processed != 3 {
			t.Fatalf("run now: %+v, %v", run, err)
		}
	})

	t.Run("a slow run is answered started, then finishes on its own", func(t *testing.T) {
		start := time.Now()
		run, err := sched.RunNow(ctx, shopA, "slow", 50*time.Millisecond)
		if err != nil || run.FinishedAt != nil || run.ID == 0 {
			t.Fatalf("run now: %+v, %v", run, err)
		}
		if waited := time.Since(start); waited > time.Second {
			t.Errorf("answered after %s", waited)
		}
		// The same process cannot start it twice for the shop.
		if _, err := sched.RunNow(ctx, shopA, "slow", 0); !errors.Is(err, jobs.ErrBusy) {
			t.Errorf("second run now while running: %v, want ErrBusy", err)
		}
		close(release)
		waitFor(t, "the run's end", func() bool {
			r, err := store.FindJobRun(ctx, shopA.ID, run.ID)
			return err == nil && r.FinishedAt != nil && r.Processed == 7
		})
	})

	t.Run("an unknown job is not found", func(t *testing.T) {
		if _, err := sched.RunNow(ctx, shopA, "nope", 0); !errors.Is(err, model.ErrNotFound) {
			t.Errorf("got %v", err)
		}
	})
}
