package jobs_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"orderdesk/jobs"
)

// TestBackupJobKeepsTheNewest runs the daily backup job three times with a
// keep of two: two backups stay, each a private, whole copy, and files that
// are not its backups are left alone.
func TestBackupJobKeepsTheNewest(t *testing.T) {
	store := newStore(t)
	twoShops(t, store)
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "backups")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	mine := filepath.Join(dir, "before-upgrade.db")
	if err := os.WriteFile(mine, []byte("the operator's own copy"), 0o600); err != nil {
		t.Fatal(err)
	}
	j := jobs.Backup(store.DB, dir, 2)
	sched := jobs.New(store, quiet, j)
	var messages []string
	for range 3 {
		run, err := sched.RunInstanceOnce(ctx, j)
		if err != nil {
			t.Fatal(err)
		}
		messages = append(messages, run.Messages...)
		time.Sleep(2 * time.Millisecond) // names are to the millisecond
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var backups []string
	for _, e := range entries {
		if e.Name() != "before-upgrade.db" {
			backups = append(backups, e.Name())
		}
	}
	if len(backups) != 2 {
		t.Fatalf("files in backups/: %v, want the newest 2 and the operator's own", backups)
	}
	if _, err := os.Stat(mine); err != nil {
		t.Errorf("the operator's own file: %v", err)
	}
	if all := strings.Join(messages, "\n"); !strings.Contains(all, "removed the old backup") || !strings.Contains(all, "backed up to "+dir) {
		t.Errorf("the runs' messages:\n%s", all)
	}
	for _, name := range backups {
		p := filepath.Join(dir, name)
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", name, st.Mode().Perm())
		}
		db, err := sql.Open("sqlite3", "file:"+p+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM tenants WHERE slug IN ('shop-a', 'shop-b')`).Scan(&n); err != nil || n != 2 {
			t.Errorf("%s: shops in the copy %d, %v", name, n, err)
		}
		db.Close()
	}
}
