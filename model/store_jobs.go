package model

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
)

// JobRun is one run of a background job, for one shop or for the instance.
type JobRun struct {
	ID int64
	// TenantID is the shop's id; zero for a run of an instance job (kept in
	// instance_job_runs, apart from every shop's runs).
	TenantID   int64
	Name       string
	StartedAt  time.Time
	FinishedAt *time.Time
	Processed  int
	Failed     int
	Messages   []string
	Error      string
}

// EndedInFailure reports whether a finished run failed: its error, or items it
// could not process.
func (r *JobRun) EndedInFailure() bool {
	return r.FinishedAt != nil && (r.Error != "" || r.Failed > 0)
}

// JobLeaseTTL is how long a run's lease lasts for a job of this interval: longer
// than a normal run, so that it is not taken from under a live run, and short
// enough that the lease of a process that died expires by itself.
func JobLeaseTTL(interval time.Duration) time.Duration { return max(10*time.Minute, 2*interval) }

// Running reports whether the run may still be going: not finished and younger
// than its lease. An older unfinished run was cut off (its process ended), so
// that the page stops following it.
func (r *JobRun) Running(now time.Time, interval time.Duration) bool {
	return r.FinishedAt == nil && now.Sub(r.StartedAt) < JobLeaseTTL(interval)
}

// AcquireJobLease takes the lease of the named job in one shop for holder until
// ttl from now. It fails (false) while another holder's lease runs, when the job
// is paused in this shop, or when the instance's operator paused it for every
// shop. A lease row, not a lock in memory, so that two processes (the server and
// a CLI run, say) never run one shop's job at once.
func (s *Store) AcquireJobLease(ctx context.Context, tenantID int64, name, holder string, ttl time.Duration) (_ bool, err error) {
	defer wrapErr(&err, "acquire job lease (tenantID=%d)", tenantID)
	now := s.now()
	// INSERT … SELECT … WHERE: no row at all while the instance pause holds; the
	// upsert's WHERE keeps a paused or held lease as it is.
	res, err := s.DB.W.ExecContext(ctx, `INSERT INTO job_leases (tenant_id, name, holder, expires_at)
		SELECT ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM job_instance_pauses WHERE name = ?)
		ON CONFLICT (tenant_id, name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE job_leases.paused = 0 AND job_leases.expires_at < ?`,
		tenantID, name, holder, now.Add(ttl), name, now)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ReleaseJobLease gives the shop's lease back if holder still has it.
func (s *Store) ReleaseJobLease(ctx context.Context, tenantID int64, name, holder string) (err error) {
	defer wrapErr(&err, "release job lease (tenantID=%d)", tenantID)
	_, err = s.DB.W.ExecContext(ctx, `UPDATE job_leases SET expires_at = ? WHERE tenant_id = ? AND name = ? AND holder = ?`,
		time.Time{}.UTC(), tenantID, name, holder)
	return err
}

// SetJobPaused pauses or resumes a job in one shop: a paused job's lease cannot
// be taken there. Other shops are untouched.
func (s *Store) SetJobPaused(ctx context.Context, tenantID int64, name string, paused bool) (err error) {
	defer wrapErr(&err, "set job paused (tenantID=%d)", tenantID)
	_, err = s.DB.W.ExecContext(ctx, `INSERT INTO job_leases (tenant_id, name, holder, expires_at, paused) VALUES (?, ?, '', ?, ?)
		ON CONFLICT (tenant_id, name) DO UPDATE SET paused = excluded.paused`, tenantID, name, time.Time{}.UTC(), paused)
	return err
}

// JobPaused reports whether the job is paused in the shop.
func (s *Store) JobPaused(ctx context.Context, tenantID int64, name string) (_ bool, err error) {
	defer wrapErr(&err, "job paused (tenantID=%d)", tenantID)
	var p bool
	err = s.DB.R.QueryRowContext(ctx, `SELECT paused FROM job_leases WHERE tenant_id = ? AND name = ?`, tenantID, name).Scan(&p)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return p, err
}

// SetInstanceJobPaused pauses or resumes a job for every shop of the instance
// (the CLI's `orderdesk jobs pause|resume`; no page changes it).
func (s *Store) SetInstanceJobPaused(ctx context.Context, name string, paused bool) (err error) {
	defer wrapErr(&err, "set instance job paused")
	if !paused {
		_, err := s.DB.W.ExecContext(ctx, `DELETE FROM job_instance_pauses WHERE name = ?`, name)
		return err
	}
	_, err = s.DB.W.ExecContext(ctx, `INSERT INTO job_instance_pauses (name, paused_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, name, s.now())
	return err
}

// InstanceJobPaused reports whether the instance's operator paused the job for
// every shop.
func (s *Store) InstanceJobPaused(ctx context.Context, name string) (_ bool, err error) {
	defer wrapErr(&err, "instance job paused")
	var n int
	err = s.DB.R.QueryRowContext(ctx, `SELECT count(*) FROM job_instance_pauses WHERE name = ?`, name).Scan(&n)
	return n > 0, err
}

// StartJobRun records the start of a run in the shop.
func (s *Store) StartJobRun(ctx context.Context, tenantID int64, name string) (_ *JobRun, err error) {
	defer wrapErr(&err, "start job run (tenantID=%d)", tenantID)
	now := s.now()
	res, err := s.DB.W.ExecContext(ctx, `INSERT INTO job_runs (tenant_id, name, started_at) VALUES (?, ?, ?)`, tenantID, name, now)
	if err != nil {
		return nil, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return nil, err
	}
	return &JobRun{ID: id, TenantID: tenantID, Name: name, StartedAt: now}, nil
}

// FinishJobRun records the end of a run with its counts and messages, and drops
// the shop's runs older than 30 days.
func (s *Store) FinishJobRun(ctx context.Context, r *JobRun) (err error) {
	defer wrapErr(&err, "finish job run")
	now := s.now()
	r.FinishedAt = &now
	_, err = s.DB.W.ExecContext(ctx, `UPDATE job_runs SET finished_at = ?, processed = ?, failed = ?, messages = ?, error = ? WHERE tenant_id = ? AND id = ?`,
		now, r.Processed, r.Failed, strings.Join(r.Messages, "\n"), r.Error, r.TenantID, r.ID)
	if err != nil {
		return err
	}
	_, err = s.DB.W.ExecContext(ctx, `DELETE FROM job_runs WHERE tenant_id = ? AND started_at < ?`, r.TenantID, now.AddDate(0, 0, -30))
	return err
}

// DiscardJobRun deletes a run that did nothing (no count, no message, no
// error), so that a job polling every few seconds does not leave a row a tick.
// The run is marked finished all the same, for the caller that reports it.
func (s *Store) DiscardJobRun(ctx context.Context, r *JobRun) (err error) {
	defer wrapErr(&err, "discard job run")
	now := s.now()
	r.FinishedAt = &now
	_, err = s.DB.W.ExecContext(ctx, `DELETE FROM job_runs WHERE tenant_id = ? AND id = ?`, r.TenantID, r.ID)
	return err
}

const jobRunColumns = `id, tenant_id, name, started_at, finished_at, processed, failed, messages, error`

func scanJobRun(row interface{ Scan(...any) error }) (*JobRun, error) {
	r := &JobRun{}
	var fin sql.NullTime
	var msgs string
	if err := row.Scan(&r.ID, &r.TenantID, &r.Name, &r.StartedAt, &fin, &r.Processed, &r.Failed, &msgs, &r.Error); err != nil {
		return nil, notFound(err)
	}
	if fin.Valid {
		r.FinishedAt = &fin.Time
	}
	if msgs != "" {
		r.Messages = strings.Split(msgs, "\n")
	}
	return r, nil
}

// FindJobRun returns one of the shop's runs, or ErrNotFound (another shop's run
// is not found).
func (s *Store) FindJobRun(ctx context.Context, tenantID, id int64) (_ *JobRun, err error) {
	defer wrapErr(&err, "find job run (tenantID=%d id=%d)", tenantID, id)
	return scanJobRun(s.DB.R.QueryRowContext(ctx, `SELECT `+jobRunColumns+` FROM job_runs WHERE tenant_id = ? AND id = ?`, tenantID, id))
}

// FindJobRuns lists the shop's latest runs of a job, newest first.
func (s *Store) FindJobRuns(ctx context.Context, tenantID int64, name string, limit int) (_ []*JobRun, err error) {
	defer wrapErr(&err, "find job runs (tenantID=%d limit=%d)", tenantID, limit)
	rows, err := s.DB.R.QueryContext(ctx, `SELECT `+jobRunColumns+` FROM job_runs WHERE tenant_id = ? AND name = ? ORDER BY id DESC LIMIT ?`,
		tenantID, name, limit)
	return collect(rows, err, scanJobRun)
}

// FindLatestJobRuns returns the shop's newest run of each named job that has
// run, by name, in one statement: each name is one seek of the (tenant_id,
// name, id) index (the dashboard asks for every job on every view). The
// unary + keeps SQLite from reading all the shop's runs to test each id.
func (s *Store) FindLatestJobRuns(ctx context.Context, tenantID int64, names []string) (map[string]*JobRun, error) {
	out := map[string]*JobRun{}
	if len(names) == 0 {
		return out, nil
	}
	args := make([]any, 0, len(names)+2)
	args = append(args, tenantID, tenantID)
	for _, n := range names {
		args = append(args, n)
	}
	rows, err := s.DB.R.QueryContext(ctx, `SELECT `+jobRunColumns+` FROM job_runs WHERE +tenant_id = ? AND id IN (
		SELECT (SELECT max(r.id) FROM job_runs r WHERE r.tenant_id = ? AND r.name = n.column1)
		FROM (VALUES `+strings.TrimSuffix(strings.Repeat("(?), ", len(names)), ", ")+`) n)`, args...)
	runs, err := collect(rows, err, scanJobRun)
	if err != nil {
		return nil, err
	}
	for _, r := range runs {
		out[r.Name] = r
	}
	return out, nil
}

// AcquireInstanceJobLease takes the lease of an instance job (done once for
// the installation, not per shop) for holder until ttl from now. It fails
// (false) while another holder's lease runs or while the instance's operator
// has paused the job.
func (s *Store) AcquireInstanceJobLease(ctx context.Context, name, holder string, ttl time.Duration) (_ bool, err error) {
	defer wrapErr(&err, "acquire instance job lease")
	now := s.now()
	res, err := s.DB.W.ExecContext(ctx, `INSERT INTO instance_job_leases (name, holder, expires_at)
		SELECT ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM job_instance_pauses WHERE name = ?)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE instance_job_leases.expires_at < ?`,
		name, holder, now.Add(ttl), name, now)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ReleaseInstanceJobLease gives an instance job's lease back if holder still
// has it.
func (s *Store) ReleaseInstanceJobLease(ctx context.Context, name, holder string) (err error) {
	defer wrapErr(&err, "release instance job lease")
	_, err = s.DB.W.ExecContext(ctx, `UPDATE instance_job_leases SET expires_at = ? WHERE name = ? AND holder = ?`,
		time.Time{}.UTC(), name, holder)
	return err
}

// StartInstanceJobRun records the start of a run of an instance job.
func (s *Store) StartInstanceJobRun(ctx context.Context, name string) (_ *JobRun, err error) {
	defer wrapErr(&err, "start instance job run")
	now := s.now()
	res, err := s.DB.W.ExecContext(ctx, `INSERT INTO instance_job_runs (name, started_at) VALUES (?, ?)`, name, now)
	if err != nil {
		return nil, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return nil, err
	}
	return &JobRun{ID: id, Name: name, StartedAt: now}, nil
}

// FinishInstanceJobRun records the end of an instance job's run, and drops
// the job's runs older than a year (a daily job keeps its history readable).
func (s *Store) FinishInstanceJobRun(ctx context.Context, r *JobRun) (err error) {
	defer wrapErr(&err, "finish instance job run")
	now := s.now()
	r.FinishedAt = &now
	_, err = s.DB.W.ExecContext(ctx, `UPDATE instance_job_runs SET finished_at = ?, processed = ?, failed = ?, messages = ?, error = ? WHERE id = ?`,
		now, r.Processed, r.Failed, strings.Join(r.Messages, "\n"), r.Error, r.ID)
	if err != nil {
		return err
	}
	_, err = s.DB.W.ExecContext(ctx, `DELETE FROM instance_job_runs WHERE name = ? AND started_at < ?`, r.Name, now.AddDate(-1, 0, 0))
	return err
}

const instanceJobRunColumns = `id, 0, name, started_at, finished_at, processed, failed, messages, error`

// FindInstanceJobRuns lists an instance job's latest runs, newest first.
func (s *Store) FindInstanceJobRuns(ctx context.Context, name string, limit int) (_ []*JobRun, err error) {
	defer wrapErr(&err, "find instance job runs (limit=%d)", limit)
	rows, err := s.DB.R.QueryContext(ctx, `SELECT `+instanceJobRunColumns+` FROM instance_job_runs WHERE name = ? ORDER BY id DESC LIMIT ?`,
		name, limit)
	return collect(rows, err, scanJobRun)
}

// LastGoodInstanceJobRun returns an instance job's latest run that finished
// without an error, or ErrNotFound: the scheduler counts the job's interval
// from it, so that restarting the server does not run a daily job again.
func (s *Store) LastGoodInstanceJobRun(ctx context.Context, name string) (_ *JobRun, err error) {
	defer wrapErr(&err, "last good instance job run")
	return scanJobRun(s.DB.R.QueryRowContext(ctx, `SELECT `+instanceJobRunColumns+` FROM instance_job_runs
		WHERE name = ? AND finished_at IS NOT NULL AND error = '' ORDER BY id DESC LIMIT 1`, name))
}
