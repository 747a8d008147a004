package model

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"

	// The SQLite driver, registered as "sqlite3"; Backup uses its connection.
	sqlite3 "github.com/mattn/go-sqlite3"
)

// DB is the application's SQLite database: one writer connection and a pool of
// readers on the same file.
//
// SQLite allows one writer at a time. With a single writer connection, writes queue
// in Go instead of failing with SQLITE_BUSY, and `_txlock=immediate` takes the write
// lock at BEGIN so that a transaction that reads then writes cannot deadlock against
// another. Readers never block the writer in WAL mode, so they get their own pool.
type DB struct {
	W *sql.DB // the one writer connection; use InTx for writes
	R *sql.DB // the read pool
}

// dsn builds the connection string. Pragmas go in the DSN so that every connection
// the pool opens gets them (a plain `PRAGMA` statement reaches one connection only).
func dsn(path string, write bool) string {
	q := url.Values{}
	q.Set("_journal_mode", "WAL")   // readers and the writer do not block each other
	q.Set("_busy_timeout", "10000") // wait for a lock rather than fail at once
	q.Set("_foreign_keys", "on")    // SQLite leaves them off unless asked, per connection
	q.Set("_synchronous", "NORMAL") // safe in WAL mode, far fewer fsyncs than FULL
	// Each connection keeps its prepared statements: preparing the order's
	// query (its joins and subquery) was a quarter of the tracking page's time.
	q.Set("_stmt_cache_size", "128")
	if write {
		q.Set("_txlock", "immediate")
	} else {
		q.Set("_query_only", "true") // a stray write on the read pool fails loudly
	}
	return "file:" + filepath.ToSlash(path) + "?" + q.Encode()
}

// PrepareFile creates the SQLite file at path with mode 0600 when it is missing,
// and tightens an existing one and its -wal and -shm files to 0600. The database
// holds sessions and customers' data; SQLite gives the -wal and -shm files it
// creates the database file's mode, so this covers them too.
func PrepareFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("make %s private: %w", p, err)
		}
	}
	return nil
}

// Open opens (and creates when missing, see PrepareFile) the database file at path.
func Open(path string) (*DB, error) {
	if err := PrepareFile(path); err != nil {
		return nil, err
	}
	w, err := sql.Open(driverName, dsn(path, true))
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	// The first connection creates the file and switches it to WAL before readers
	// open it.
	if err := w.Ping(); err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, errors.Join(err, w.Close()))
	}
	r, err := sql.Open(driverName, dsn(path, false))
	if err != nil {
		return nil, errors.Join(err, w.Close())
	}
	n := max(4, runtime.NumCPU()*2)
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	return &DB{W: w, R: r}, nil
}

// Close closes both pools and reports what either failed at: closing the writer
// checkpoints the WAL, so its error matters even when the readers' does too.
func (db *DB) Close() error {
	return errors.Join(db.R.Close(), db.W.Close())
}

// Ping checks that the database answers a query.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	return db.R.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// InTx runs fn in a write transaction on the writer connection. It commits when fn
// returns nil and rolls back on an error or a panic (the panic goes on). A failed
// rollback is joined to fn's error: it can leave the one writer connection
// unusable, which the caller should hear of.
func (db *DB) InTx(ctx context.Context, fn func(tx *sql.Tx) error) (err error) {
	tx, err := db.W.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			if rbErr := rollback(tx); rbErr != nil {
				panic(fmt.Errorf("%v (and the rollback failed: %w)", p, rbErr))
			}
			panic(p)
		}
		if err != nil {
			// Joined only when it failed, so that fn's error comes back as it
			// is, for callers that compare it.
			if rbErr := rollback(tx); rbErr != nil {
				err = errors.Join(err, rbErr)
			}
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// rollback rolls tx back. sql.ErrTxDone is no failure here: a transaction that
// has already ended (a cancelled context rolls it back by itself) has nothing
// left to undo.
func rollback(tx *sql.Tx) error {
	if err := tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		return fmt.Errorf("roll back: %w", err)
	}
	return nil
}

// Backup writes a consistent copy of the database, as of one moment, to a new
// file at path (0600; an existing file is refused) while the application goes
// on reading and writing. The copy is made under path + ".partial" and renamed
// when checked, so that a file under the final name is always a whole backup.
//
// It uses SQLite's online backup API from a connection of the read pool, in
// one step: one read transaction, so the copy is one point in time, and in WAL
// mode the writer goes on meanwhile. Not VACUUM INTO: the readers are
// query_only, which refuses it, and through the one writer connection it would
// hold up every checkout and webhook for as long as the copy takes. Not in
// several steps either: a stepwise backup starts over whenever another
// connection writes, which under steady writes may never end.
func (db *DB) Backup(ctx context.Context, path string) (err error) {
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("back up to %s: %w", path, fs.ErrExist)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	partial := path + ".partial"
	f, err := os.OpenFile(partial, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			for _, p := range []string{partial, partial + "-journal", partial + "-wal", partial + "-shm"} {
				if rerr := os.Remove(p); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
					err = errors.Join(err, rerr)
				}
			}
		}
	}()
	if err := backupInto(ctx, partial, db.R); err != nil {
		return fmt.Errorf("back up to %s: %w", path, err)
	}
	return os.Rename(partial, path)
}

// backupInto copies src into the empty database file at path and checks the
// copy: one nobody can open is no backup.
func backupInto(ctx context.Context, path string, src *sql.DB) (err error) {
	dest, err := sql.Open("sqlite3", "file:"+filepath.ToSlash(path)+"?_busy_timeout=10000")
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, dest.Close()) }()
	if err := copyDatabase(ctx, dest, src); err != nil {
		return err
	}
	var check string
	if err := dest.QueryRowContext(ctx, `PRAGMA quick_check`).Scan(&check); err != nil {
		return fmt.Errorf("check the copy: %w", err)
	}
	if check != "ok" {
		return fmt.Errorf("check the copy: %s", check)
	}
	return nil
}

// copyDatabase copies the main database of src into dest with the online
// backup API, all pages in one step.
func copyDatabase(ctx context.Context, dest, src *sql.DB) (err error) {
	dc, err := dest.Conn(ctx)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, dc.Close()) }()
	sc, err := src.Conn(ctx)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, sc.Close()) }()
	return dc.Raw(func(d any) error {
		return sc.Raw(func(s any) error {
			dconn, ok1 := d.(*sqlite3.SQLiteConn)
			sconn, ok2 := s.(*sqlite3.SQLiteConn)
			if !ok1 || !ok2 {
				return errors.New("not SQLite connections")
			}
			b, err := dconn.Backup("main", sconn, "main")
			if err != nil {
				return err
			}
			done, err := b.Step(-1)
			if err == nil && !done {
				err = errors.New("the backup stopped before the last page")
			}
			return errors.Join(err, b.Close())
		})
	})
}
