package model

import (
	"context"
	"database/sql"
	"strings"
	"time"
)

// JobRun is one run of a background job.
type JobRun struct {
	ID         int64
	Name       string
	StartedAt  time.Time
	FinishedAt *time.Time
	Processed  int
	Failed     int
	Messages   []string
	Error      string
}

// AcquireJobLease takes the named job's lease for holder until ttl from now. It
// fails (false) while another holder's lease runs, or when the job is paused. A
// lease row, not a lock in memory, so that two processes (the server and a CLI
// run, say) never run one job at once.
func (s *Store) AcquireJobLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	now := s.now()
	res, err := s.DB.W.ExecContext(ctx, `INSERT INTO job_leases (name, holder, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE job_leases.paused = 0 AND (job_leases.expires_at < ? OR job_leases.holder = excluded.holder)`,
		name, holder, now.Add(ttl), now)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// ReleaseJobLease gives the lease back if holder still has it.
func (s *Store) ReleaseJobLease(ctx context.Context, name, holder string) error {
	_, err := s.DB.W.ExecContext(ctx, `UPDATE job_leases SET expires_at = ? WHERE name = ? AND holder = ?`, time.Time{}.UTC(), name, holder)
	return err
}

// SetJobPaused pauses or resumes a job: a paused job's lease cannot be taken.
func (s *Store) SetJobPaused(ctx context.Context, name string, paused bool) error {
	_, err := s.DB.W.ExecContext(ctx, `INSERT INTO job_leases (name, holder, expires_at, paused) VALUES (?, '', ?, ?)
		ON CONFLICT (name) DO UPDATE SET paused = excluded.paused`, name, time.Time{}.UTC(), paused)
	return err
}

// JobPaused reports whether the job is paused.
func (s *Store) JobPaused(ctx context.Context, name string) (bool, error) {
	var p bool
	err := s.DB.R.QueryRowContext(ctx, `SELECT paused FROM job_leases WHERE name = ?`, name).Scan(&p)
	if err == sql.ErrNoRows {
		return false, nil
	}
	return p, err
}

// StartJobRun records the start of a run.
func (s *Store) StartJobRun(ctx context.Context, name string) (*JobRun, error) {
	now := s.now()
	res, err := s.DB.W.ExecContext(ctx, `INSERT INTO job_runs (name, started_at) VALUES (?, ?)`, name, now)
	if err != nil {
		return nil, err
	}
	id, _ := res.LastInsertId()
	return &JobRun{ID: id, Name: name, StartedAt: now}, nil
}

// FinishJobRun records the end of a run with its counts and messages, and drops
// runs older than 30 days.
func (s *Store) FinishJobRun(ctx context.Context, r *JobRun) error {
	now := s.now()
	r.FinishedAt = &now
	_, err := s.DB.W.ExecContext(ctx, `UPDATE job_runs SET finished_at = ?, processed = ?, failed = ?, messages = ?, error = ? WHERE id = ?`,
		now, r.Processed, r.Failed, strings.Join(r.Messages, "\n"), r.Error, r.ID)
	if err != nil {
		return err
	}
	_, err = s.DB.W.ExecContext(ctx, `DELETE FROM job_runs WHERE started_at < ?`, now.AddDate(0, 0, -30))
	return err
}

// FindJobRuns lists a job's latest runs, newest first.
func (s *Store) FindJobRuns(ctx context.Context, name string, limit int) ([]*JobRun, error) {
	rows, err := s.DB.R.QueryContext(ctx, `SELECT id, name, started_at, finished_at, processed, failed, messages, error
		FROM job_runs WHERE name = ? ORDER BY id DESC LIMIT ?`, name, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*JobRun
	for rows.Next() {
		r := &JobRun{}
		var fin sql.NullTime
		var msgs string
		if err := rows.Scan(&r.ID, &r.Name, &r.StartedAt, &fin, &r.Processed, &r.Failed, &msgs, &r.Error); err != nil {
			return nil, err
		}
		if fin.Valid {
			r.FinishedAt = &fin.Time
		}
		if msgs != "" {
			r.Messages = strings.Split(msgs, "\n")
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
