// Package jobs runs OrderDesk's background work: named jobs on intervals, run
// once per shop, each run recorded in that shop's job_runs and guarded by a lease
// row for (job, shop), so that two processes never run one shop's job at once.
// The CLI runs the same jobs once in the foreground.
package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"orderdesk/model"
)

// Job is a named piece of background work, done for one shop at a time, or
// once for the whole installation (an instance job).
type Job struct {
	Name     string
	Interval time.Duration
	// Run does one round of the work for the shop t and reports into the run.
	// It reads and changes that shop's rows only.
	Run func(ctx context.Context, t *model.Tenant, run *Run) error
	// RunInstance, set instead of Run, makes the job the instance's: work done
	// once for the installation rather than per shop (the backup of its one
	// database file). Its lease and runs are the instance's (instance_job_runs,
	// shown by `orderdesk jobs list`); no shop's jobs page lists or runs it,
	// and its interval counts from its last good run, so that a restart does
	// not run a daily job again.
	RunInstance func(ctx context.Context, run *Run) error
}

// Instance reports whether the job is an instance job (RunInstance).
func (j *Job) Instance() bool { return j.RunInstance != nil }

// Run is what a job reports while it runs: counts and messages, one line each.
type Run struct {
	Processed, Failed int
	Messages          []string
	mu                sync.Mutex // workers of one run report concurrently (add)
}

// idle reports whether the run did nothing: no count and no message.
func (r *Run) idle() bool { return r.Processed == 0 && r.Failed == 0 && len(r.Messages) == 0 }

// Logf adds a message line to the run.
func (r *Run) Logf(format string, args ...any) {
	r.Messages = append(r.Messages, fmt.Sprintf(format, args...))
}

// Why a run could not start. They are conflicts (model.ErrConflict), so that
// the pages show them as a notice rather than a failure.
var (
	// ErrBusy means the job is running for the shop already, here or in another
	// process.
	ErrBusy error = &model.ConflictError{Msg: "it is running for this shop right now; try again when that run has finished"}
	// ErrPaused means the job is paused in the shop.
	ErrPaused error = &model.ConflictError{Msg: "it is paused for this shop: resume it first"}
	// ErrInstancePaused means the instance's operator paused the job for every
	// shop (orderdesk jobs pause NAME).
	ErrInstancePaused error = &model.ConflictError{Msg: "it is paused for every shop by the operator of this installation"}
	// ErrStopping means the scheduler is stopping (the server shuts down).
	ErrStopping error = &model.ConflictError{Msg: "the server is shutting down; try again when it is back"}
)

// stopGrace is how long Stop waits for runs after it cancelled them, when
// they did not end within its own wait.
const stopGrace = 5 * time.Second

// instanceRetry is the longest an instance job waits before it tries again
// after a failed run, or looks again while it is paused or running elsewhere
// (shorter for a job whose interval is).
const instanceRetry = 10 * time.Minute

// instanceLeaseTTL is how long an instance job's lease lasts: longer than a
// backup of any database one machine serves takes, and short enough that the
// lease of a process that died mid-backup does not skip the next day's.
const instanceLeaseTTL = 2 * time.Hour

// Scheduler runs jobs on their intervals, for every shop (and once for the
// instance's jobs), until Stop.
type Scheduler struct {
	store  *model.Store
	log    *slog.Logger
	holder string // this process's name on leases
	seq    atomic.Int64
	jobs   []*Job

	// stopCtx ends when Stop is called: the loops start no more runs.
	stopCtx context.Context
	stop    context.CancelFunc
	// runs is the context of the runs the scheduler starts itself (its ticks
	// and Run now): Stop cancels it only when its wait is over, so that a run
	// under way ends its work and records it.
	runs       context.Context
	cancelRuns context.CancelFunc
	mu         sync.Mutex // orders wg.Add after Stop's check against its wg.Wait
	stopped    bool
	wg         sync.WaitGroup // the loops and every run going on
	// observe hears of every run's end (the metrics); nil: nobody.
	observe func(job string, err error)
}

// New makes a scheduler for the jobs.
func New(store *model.Store, log *slog.Logger, jobs ...*Job) *Scheduler {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		// Only the lease holder's name: the pid alone still tells processes apart.
		log.Warn("jobs: no random lease suffix", "err", err)
	}
	host, err := os.Hostname()
	if err != nil {
		host = "unknown-host"
	}
	s := &Scheduler{store: store, log: log, jobs: jobs,
		holder: fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))}
	s.stopCtx, s.stop = context.WithCancel(context.Background())
	s.runs, s.cancelRuns = context.WithCancel(context.Background())
	return s
}

// Observe makes f hear of the end of every run, with the work's error (nil
// when it went well): the one place the metrics count runs and failures.
// Call it before Start.
func (s *Scheduler) Observe(f func(job string, err error)) { s.observe = f }

// Jobs lists the scheduler's jobs.
func (s *Scheduler) Jobs() []*Job { return s.jobs }

// Job returns the named job, or nil.
func (s *Scheduler) Job(name string) *Job {
	for _, j := range s.jobs {
		if j.Name == name {
			return j
		}
	}
	return nil
}

// enter counts a loop or a run in, unless the scheduler is stopping.
func (s *Scheduler) enter() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return ErrStopping
	}
	s.wg.Add(1)
	return nil
}

// Start runs every job on its interval, for every shop (an instance job once),
// until ctx ends or Stop is called. A run under way when ctx ends goes on
// until Stop.
func (s *Scheduler) Start(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	context.AfterFunc(s.stopCtx, cancel)
	for _, j := range s.jobs {
		if s.enter() != nil {
			return
		}
		go func() {
			defer s.wg.Done()
			if j.Instance() {
				s.instanceLoop(ctx, j)
			} else {
				s.loop(ctx, j)
			}
		}()
	}
}

// Stop starts no more runs and waits for the runs under way (a tick's, a "Run
// now", a RunOnce) to end and record themselves, so that the caller may close
// the database after it. When ctx ends first, it cancels the runs and waits
// stopGrace more for them; it then reports that runs were cut short.
func (s *Scheduler) Stop(ctx context.Context) error {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	s.stop()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	defer s.cancelRuns()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	s.cancelRuns()
	select {
	case <-done:
		return fmt.Errorf("jobs: runs still going when the wait for them ended were cancelled: %w", ctx.Err())
	case <-time.After(stopGrace):
		return fmt.Errorf("jobs: runs still going %s after they were cancelled: %w", stopGrace, ctx.Err())
	}
}

// loop runs one job for every shop on each tick. Backoff is per shop: a shop
// whose run keeps failing (no Taobao account, say) waits longer and longer, and
// the other shops keep their interval.
func (s *Scheduler) loop(ctx context.Context, j *Job) {
	due := map[int64]time.Time{} // when each shop's next run is due; zero: now
	failures := map[int64]int{}
	for {
		wait := j.Interval
		tenants, err := s.store.FindTenants(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Error("job: list shops", "job", j.Name, "err", err)
		}
		for _, t := range tenants {
			if ctx.Err() != nil {
				return
			}
			if time.Now().Before(due[t.ID]) {
				wait = min(wait, time.Until(due[t.ID]))
				continue
			}
			_, err := s.RunOnce(s.runs, j, t)
			switch {
			case err == nil, ctx.Err() != nil:
				failures[t.ID] = 0
			case errors.Is(err, model.ErrConflict):
				// Paused or running elsewhere: not a failure of the work.
				s.log.Debug("job skipped", "job", j.Name, "tenant", t.Slug, "why", err)
				failures[t.ID] = 0
			default:
				failures[t.ID]++
				s.log.Error("job failed", "job", j.Name, "tenant", t.Slug, "err", err, "failures", failures[t.ID])
			}
			d := backoff(j.Interval, failures[t.ID])
			due[t.ID] = time.Now().Add(d)
			wait = min(wait, d)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(max(wait, 0)):
		}
	}
}

// instanceLoop runs an instance job once per interval, counted from its last
// good run in the database: a server restarted an hour after the daily backup
// makes the next one a day after that backup, not at start.
func (s *Scheduler) instanceLoop(ctx context.Context, j *Job) {
	retry := min(j.Interval, instanceRetry)
	failures := 0
	for {
		wait := retry
		last, err := s.store.LastGoodInstanceJobRun(ctx, j.Name)
		switch {
		case err == nil && s.store.Now().Sub(last.StartedAt) < j.Interval:
			wait = j.Interval - s.store.Now().Sub(last.StartedAt)
		case err != nil && !errors.Is(err, model.ErrNotFound):
			if ctx.Err() == nil {
				s.log.Error("job: last run", "job", j.Name, "err", err)
			}
		default:
			_, err := s.RunInstanceOnce(s.runs, j)
			switch {
			case err == nil, ctx.Err() != nil:
				failures, wait = 0, j.Interval
			case errors.Is(err, model.ErrConflict):
				// Paused or running elsewhere: look again later.
				s.log.Debug("job skipped", "job", j.Name, "why", err)
				failures = 0
			default:
				failures++
				wait = min(backoff(retry, failures), j.Interval)
				s.log.Error("job failed", "job", j.Name, "err", err, "failures", failures)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(max(wait, 0)):
		}
	}
}

// backoff waits the interval, doubled for each failure in a row, up to an hour.
func backoff(interval time.Duration, failures int) time.Duration {
	d := interval
	for i := 0; i < failures && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, max(time.Hour, interval))
}

// RunOnce runs a job for one shop now if the shop's lease can be taken, records
// the run in the shop, and recovers a panic into a failed run of that shop only.
// A run that did nothing leaves no row (see finish).
func (s *Scheduler) RunOnce(ctx context.Context, j *Job, t *model.Tenant) (*model.JobRun, error) {
	if j.Instance() {
		return nil, fmt.Errorf("jobs: %s is the instance's job, not a shop's", j.Name)
	}
	return s.runOnce(ctx, j, t)
}

// RunInstanceOnce runs an instance job now if its lease can be taken, and
// records the run in instance_job_runs.
func (s *Scheduler) RunInstanceOnce(ctx context.Context, j *Job) (*model.JobRun, error) {
	if !j.Instance() {
		return nil, fmt.Errorf("jobs: %s is a shop's job, not the instance's", j.Name)
	}
	return s.runOnce(ctx, j, nil)
}

// runOnce runs j for the shop t, or for the instance when t is nil.
func (s *Scheduler) runOnce(ctx context.Context, j *Job, t *model.Tenant) (*model.JobRun, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.wg.Done()
	rec, holder, err := s.begin(ctx, j, t)
	if err != nil {
		return nil, err
	}
	return rec, s.finish(ctx, j, t, rec, holder, false)
}

// RunNow starts the named job for one shop (the jobs page's "Run now") and
// waits up to wait for it to end. It returns the run as recorded: finished when
// it ended in time, else as started (FinishedAt nil), to be followed with
// model.Store.FindJobRun while it goes on. The run goes on when the request
// that asked for it ends, until the scheduler stops; its row stays even when
// it did nothing, since the page that asked follows it by its id.
func (s *Scheduler) RunNow(ctx context.Context, t *model.Tenant, name string, wait time.Duration) (*model.JobRun, error) {
	j := s.Job(name)
	if j == nil || j.Instance() {
		return nil, model.ErrNotFound
	}
	if err := s.enter(); err != nil {
		return nil, err
	}
	rec, holder, err := s.begin(ctx, j, t)
	if err != nil {
		s.wg.Done()
		return nil, err
	}
	started := *rec // the goroutine below owns rec from here
	done := make(chan struct{})
	go func() {
		defer s.wg.Done()
		defer close(done)
		if err := s.finish(s.runs, j, t, rec, holder, true); err != nil {
			s.log.Warn("job run now", "job", j.Name, "tenant", t.Slug, "err", err)
		}
	}()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-done:
		return rec, nil
	case <-timer.C:
	case <-ctx.Done():
	}
	return &started, nil
}

// begin takes the lease of the job (the shop's, or the instance's when t is
// nil) and records the start of a run. Each run has a holder name of its own,
// so that a "Run now" and the scheduler's tick in one process exclude each
// other like two processes do.
func (s *Scheduler) begin(ctx context.Context, j *Job, t *model.Tenant) (*model.JobRun, string, error) {
	holder := fmt.Sprintf("%s/%d", s.holder, s.seq.Add(1))
	if t == nil {
		got, err := s.store.AcquireInstanceJobLease(ctx, j.Name, holder, instanceLeaseTTL)
		if err != nil {
			return nil, "", err
		}
		if !got {
			return nil, "", s.whyNot(ctx, j, nil)
		}
		rec, err := s.store.StartInstanceJobRun(ctx, j.Name)
		if err != nil {
			return nil, "", errors.Join(err, s.store.ReleaseInstanceJobLease(context.WithoutCancel(ctx), j.Name, holder))
		}
		return rec, holder, nil
	}
	got, err := s.store.AcquireJobLease(ctx, t.ID, j.Name, holder, model.JobLeaseTTL(j.Interval))
	if err != nil {
		return nil, "", err
	}
	if !got {
		return nil, "", s.whyNot(ctx, j, t)
	}
	rec, err := s.store.StartJobRun(ctx, t.ID, j.Name)
	if err != nil {
		return nil, "", errors.Join(err, s.store.ReleaseJobLease(context.WithoutCancel(ctx), t.ID, j.Name, holder))
	}
	return rec, holder, nil
}

// whyNot says why the lease could not be taken (the shop's, or the
// instance's when t is nil).
func (s *Scheduler) whyNot(ctx context.Context, j *Job, t *model.Tenant) error {
	if paused, err := s.store.InstanceJobPaused(ctx, j.Name); err != nil {
		return err
	} else if paused {
		return ErrInstancePaused
	}
	if t == nil {
		return ErrBusy
	}
	if paused, err := s.store.JobPaused(ctx, t.ID, j.Name); err != nil {
		return err
	} else if paused {
		return ErrPaused
	}
	return ErrBusy
}

// finish runs the job's work on a begun run, records its end and gives the
// lease back; it returns the work's error (a panic becomes one). A shop's run
// that did nothing and failed at nothing is deleted instead, unless keep: the
// payment poller ticks every 3 seconds in every shop, and its idle runs would
// add ~28,800 rows a day per shop that tell nobody anything.
func (s *Scheduler) finish(ctx context.Context, j *Job, t *model.Tenant, rec *model.JobRun, holder string, keep bool) error {
	run := &Run{}
	runErr := func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("job panicked", "job", j.Name, "tenant", slugOf(t), "panic", p, "stack", string(debug.Stack()))
				err = fmt.Errorf("panic: %v", p)
			}
		}()
		if t == nil {
			return j.RunInstance(ctx, run)
		}
		return j.Run(ctx, t, run)
	}()
	if s.observe != nil {
		s.observe(j.Name, runErr)
	}
	rec.Processed, rec.Failed, rec.Messages = run.Processed, run.Failed, run.Messages
	if runErr != nil {
		rec.Error = runErr.Error()
	}
	// The record and the release must happen even when ctx has ended.
	bg := context.WithoutCancel(ctx)
	switch {
	case t == nil:
		return errors.Join(runErr, s.store.FinishInstanceJobRun(bg, rec), s.store.ReleaseInstanceJobLease(bg, j.Name, holder))
	case runErr == nil && run.idle() && !keep:
		return errors.Join(s.store.DiscardJobRun(bg, rec), s.store.ReleaseJobLease(bg, t.ID, j.Name, holder))
	}
	return errors.Join(runErr, s.store.FinishJobRun(bg, rec), s.store.ReleaseJobLease(bg, t.ID, j.Name, holder))
}

// slugOf names the shop of a run in the logs; "" for the instance.
func slugOf(t *model.Tenant) string {
	if t == nil {
		return ""
	}
	return t.Slug
}
