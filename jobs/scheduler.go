// Package jobs runs OrderDesk's background work: named jobs on intervals, each
// run recorded in job_runs, guarded by a lease row so that two processes never
// run one job at once. The CLI runs the same jobs once in the foreground.
package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"orderdesk/model"
)

// Job is a named piece of background work.
type Job struct {
	Name     string
	Interval time.Duration
	// Run does one round of the work and reports into the run.
	Run func(ctx context.Context, run *Run) error
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

// Scheduler runs jobs on their intervals.
type Scheduler struct {
	store  *model.Store
	log    *slog.Logger
	holder string // this process's name on leases
	jobs   []*Job
	mu     sync.Mutex
	wake   map[string]chan struct{}
}

// New makes a scheduler for the jobs.
func New(store *model.Store, log *slog.Logger, jobs ...*Job) *Scheduler {
	b := make([]byte, 4)
	rand.Read(b)
	host, _ := os.Hostname()
	s := &Scheduler{store: store, log: log, jobs: jobs, wake: map[string]chan struct{}{},
		holder: fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))}
	for _, j := range jobs {
		s.wake[j.Name] = make(chan struct{}, 1)
	}
	return s
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

// Start runs every job on its interval until ctx ends.
func (s *Scheduler) Start(ctx context.Context) {
	for _, j := range s.jobs {
		go s.loop(ctx, j)
	}
}

// Wake asks the named job to run now instead of at its next tick; false for a
// job the scheduler does not have.
func (s *Scheduler) Wake(name string) bool {
	ch, ok := s.wake[name]
	if ok {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	return ok
}

func (s *Scheduler) loop(ctx context.Context, j *Job) {
	failures := 0
	wait := time.Duration(0) // first run soon after start
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		case <-s.wake[j.Name]:
		}
		_, err := s.RunOnce(ctx, j)
		if err != nil && ctx.Err() == nil {
			failures++
			s.log.Error("job failed", "job", j.Name, "err", err, "failures", failures)
		} else {
			failures = 0
		}
		wait = backoff(j.Interval, failures)
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

// ErrBusy means another process holds the job's lease, or the job is paused.
var ErrBusy = fmt.Errorf("the job is running elsewhere or paused")

// RunOnce runs a job now if its lease can be taken, records the run, and
// recovers a panic into a failed run.
func (s *Scheduler) RunOnce(ctx context.Context, j *Job) (*model.JobRun, error) {
	// The lease outlives a normal run; if this process dies, it expires by itself.
	ttl := max(10*time.Minute, 2*j.Interval)
	got, err := s.store.AcquireJobLease(ctx, j.Name, s.holder, ttl)
	if err != nil {
		return nil, err
	}
	if !got {
		return nil, ErrBusy
	}
	defer s.store.ReleaseJobLease(context.WithoutCancel(ctx), j.Name, s.holder)
	rec, err := s.store.StartJobRun(ctx, j.Name)
	if err != nil {
		return nil, err
	}
	run := &Run{}
	runErr := func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("job panicked", "job", j.Name, "panic", p, "stack", string(debug.Stack()))
				err = fmt.Errorf("panic: %v", p)
			}
		}()
		return j.Run(ctx, run)
	}()
	rec.Processed, rec.Failed, rec.Messages = run.Processed, run.Failed, run.Messages
	if runErr != nil {
		rec.Error = runErr.Error()
	}
	if err := s.store.FinishJobRun(context.WithoutCancel(ctx), rec); err != nil {
		return rec, err
	}
	return rec, runErr
}
