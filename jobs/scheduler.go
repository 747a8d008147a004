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

// Job is a named piece of background work, done for one shop at a time.
type Job struct {
	Name     string
	Interval time.Duration
	// Run does one round of the work for the shop t and reports into the run.
	// It reads and changes that shop's rows only.
	Run func(ctx context.Context, t *model.Tenant, run *Run) error
}

// Run is what a job reports while it runs: counts and messages, one line each.
type Run struct {
	Processed, Failed int
	Messages          []string
	mu                sync.Mutex // workers of one run report concurrently (add)
}

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
)

// Scheduler runs jobs on their intervals, for every shop.
type Scheduler struct {
	store  *model.Store
	log    *slog.Logger
	holder string // this process's name on leases
	seq    atomic.Int64
	jobs   []*Job
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
	return &Scheduler{store: store, log: log, jobs: jobs,
		holder: fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))}
}

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

// Start runs every job on its interval, for every shop, until ctx ends.
func (s *Scheduler) Start(ctx context.Context) {
	for _, j := range s.jobs {
		go s.loop(ctx, j)
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
			_, err := s.RunOnce(ctx, j, t)
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
func (s *Scheduler) RunOnce(ctx context.Context, j *Job, t *model.Tenant) (*model.JobRun, error) {
	rec, holder, err := s.begin(ctx, j, t)
	if err != nil {
		return nil, err
	}
	return rec, s.finish(ctx, j, t, rec, holder)
}

// RunNow starts the named job for one shop (the jobs page's "Run now") and
// waits up to wait for it to end. It returns the run as recorded: finished when
// it ended in time, else as started (FinishedAt nil), to be followed with
// model.Store.FindJobRun while it goes on. The run goes on when the request
// that asked for it ends.
func (s *Scheduler) RunNow(ctx context.Context, t *model.Tenant, name string, wait time.Duration) (*model.JobRun, error) {
	j := s.Job(name)
	if j == nil {
		return nil, model.ErrNotFound
	}
	rec, holder, err := s.begin(ctx, j, t)
	if err != nil {
		return nil, err
	}
	started := *rec // the goroutine below owns rec from here
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := s.finish(context.WithoutCancel(ctx), j, t, rec, holder); err != nil {
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

// begin takes the shop's lease of the job and records the start of a run. Each
// run has a holder name of its own, so that a "Run now" and the scheduler's tick
// in one process exclude each other like two processes do.
func (s *Scheduler) begin(ctx context.Context, j *Job, t *model.Tenant) (*model.JobRun, string, error) {
	holder := fmt.Sprintf("%s/%d", s.holder, s.seq.Add(1))
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

// whyNot says why the shop's lease could not be taken.
func (s *Scheduler) whyNot(ctx context.Context, j *Job, t *model.Tenant) error {
	if paused, err := s.store.InstanceJobPaused(ctx, j.Name); err != nil {
		return err
	} else if paused {
		return ErrInstancePaused
	}
	if paused, err := s.store.JobPaused(ctx, t.ID, j.Name); err != nil {
		return err
	} else if paused {
		return ErrPaused
	}
	return ErrBusy
}

// finish runs the job's work on a begun run, records its end and gives the
// lease back; it returns the work's error (a panic becomes one).
func (s *Scheduler) finish(ctx context.Context, j *Job, t *model.Tenant, rec *model.JobRun, holder string) error {
	run := &Run{}
	runErr := func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("job panicked", "job", j.Name, "tenant", t.Slug, "panic", p, "stack", string(debug.Stack()))
				err = fmt.Errorf("panic: %v", p)
			}
		}()
		return j.Run(ctx, t, run)
	}()
	rec.Processed, rec.Failed, rec.Messages = run.Processed, run.Failed, run.Messages
	if runErr != nil {
		rec.Error = runErr.Error()
	}
	// The record and the release must happen even when ctx has ended.
	bg := context.WithoutCancel(ctx)
	return errors.Join(runErr, s.store.FinishJobRun(bg, rec), s.store.ReleaseJobLease(bg, t.ID, j.Name, holder))
}
