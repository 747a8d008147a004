package main

// The operator's backups: orderdesk backup, and the backup job's last run for
// orderdesk jobs list.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"orderdesk/jobs"
	"orderdesk/model"
)

// cmdBackup writes a consistent copy of the database, while a server may be
// running on it, to --to or into the data folder's backups/.
func cmdBackup(args []string, out io.Writer) (err error) {
	var to string
	s := newSetup("backup")
	s.fs.StringVar(&to, "to", "", "the file to write, which must not exist; default: the data folder's backups/ with a timestamp")
	s.fs.StringVar(&to, "out", "", "the same as --to")
	if err := s.parse(args); err != nil {
		return err
	}
	c := s.c
	ctx := context.Background()
	// The database as it is, without migrating it: a backup taken before an
	// upgrade, with the new binary, must hold the old schema.
	path := filepath.Join(c.Data, "orderdesk.db")
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("there is no database at %s to back up (--data)", path)
	} else if err != nil {
		return err
	}
	db, err := model.Open(path)
	if err != nil {
		return err
	}
	defer joinClose(&err, db)
	if to == "" {
		to, err = jobs.TakeBackup(ctx, db, c.backupDir(), time.Now())
	} else {
		err = db.Backup(ctx, to)
	}
	if err != nil {
		return err
	}
	st, err := os.Stat(to)
	if err != nil {
		return err
	}
	return printOut(out, fmt.Sprintf("backed up to %s (%s)\n", to, jobs.ByteSize(st.Size())))
}

// lastInstanceRun tells how an instance job's latest run went, for `jobs list`.
func lastInstanceRun(ctx context.Context, store *model.Store, name string) (string, error) {
	runs, err := store.FindInstanceJobRuns(ctx, name, 1)
	if err != nil || len(runs) == 0 {
		return "no run yet", err
	}
	r := runs[0]
	at := r.StartedAt.UTC().Format("2006-01-02 15:04 UTC")
	switch {
	case r.FinishedAt == nil:
		return "last run started " + at + ", not finished", nil
	case r.Error != "":
		return "last run " + at + " failed: " + r.Error, nil
	}
	last := "last run " + at + " ok"
	if len(r.Messages) > 0 {
		last += ": " + r.Messages[0]
	}
	return last, nil
}
