package jobs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"time"

	"orderdesk/model"
)

// BackupName is the name of the daily backup, an instance job.
const BackupName = "backup"

// backupFileRe matches the names TakeBackup gives; PruneBackups deletes no
// other file. The timestamp sorts as text in the order of time.
var backupFileRe = regexp.MustCompile(`^orderdesk-\d{8}-\d{6}\.\d{3}\.db$`)

// BackupFileName is the name of a backup taken at now (UTC, to the
// millisecond): orderdesk-20250131-020000.123.db.
func BackupFileName(now time.Time) string {
	return "orderdesk-" + now.UTC().Format("20060102-150405.000") + ".db"
}

// TakeBackup writes a consistent copy of the database into dir (made 0700
// when missing: the copies hold what the database holds) under a timestamped
// name, and returns its path.
func TakeBackup(ctx context.Context, db *model.DB, dir string, now time.Time) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	path := filepath.Join(dir, BackupFileName(now))
	if err := db.Backup(ctx, path); err != nil {
		return "", err
	}
	return path, nil
}

// PruneBackups deletes the backups in dir but the newest keep (at least one),
// and returns the paths it deleted. Files not named like TakeBackup's are left
// alone.
func PruneBackups(dir string, keep int) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() && backupFileRe.MatchString(e.Name()) {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	var removed []string
	var errs []error
	for _, name := range names[:max(len(names)-max(keep, 1), 0)] {
		p := filepath.Join(dir, name)
		if err := os.Remove(p); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, p)
	}
	return removed, errors.Join(errs...)
}

// Backup is the daily backup of the installation's database into dir,
// keeping the newest keep backups there. It is an instance job: one database
// file holds every shop.
func Backup(db *model.DB, dir string, keep int) *Job {
	return &Job{Name: BackupName, Interval: 24 * time.Hour, RunInstance: func(ctx context.Context, r *Run) error {
		path, err := TakeBackup(ctx, db, dir, time.Now())
		if err != nil {
			return err
		}
		st, err := os.Stat(path)
		if err != nil {
			return err
		}
		r.Processed = 1
		r.Logf("backed up to %s (%s)", path, ByteSize(st.Size()))
		removed, err := PruneBackups(dir, keep)
		for _, p := range removed {
			r.Logf("removed the old backup %s (keeping the newest %d)", p, keep)
		}
		if err != nil {
			return fmt.Errorf("remove old backups: %w", err)
		}
		return nil
	}}
}

// ByteSize writes a file size for people: 12.3 MB.
func ByteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
