package model

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

func openTestDB(t *testing.T) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "rows.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return db
}

func TestCollect(t *testing.T) {
	ctx := context.Background()
	scanInt := func(r rowScanner) (int, error) {
		var n int
		err := r.Scan(&n)
		return n, err
	}

	t.Run("a list reads every row", func(t *testing.T) {
		db := openTestDB(t)
		rows, err := db.R.QueryContext(ctx, `SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3`)
		got, err := collect(rows, err, scanInt)
		if err != nil || len(got) != 3 || got[2] != 3 {
			t.Fatalf("got %v, %v; want [1 2 3]", got, err)
		}
	})

	t.Run("a query that fails half way is an error, not a shorter list", func(t *testing.T) {
		db := openTestDB(t)
		// json() fails on the second row only, after the first was read.
		rows, err := db.R.QueryContext(ctx, `SELECT json(v) FROM (SELECT '1' AS v UNION ALL SELECT 'not json')`)
		got, err := collect(rows, err, func(r rowScanner) (string, error) {
			var s string
			err := r.Scan(&s)
			return s, err
		})
		if err == nil || got != nil {
			t.Fatalf("got %v, %v; want no list and the query's error", got, err)
		}
	})

	t.Run("a failed scan frees the one writer connection", func(t *testing.T) {
		db := openTestDB(t)
		bad := errors.New("bad row")
		rows, err := db.W.QueryContext(ctx, `SELECT 1 UNION ALL SELECT 2`)
		_, err = collect(rows, err, func(rowScanner) (int, error) { return 0, bad })
		if !errors.Is(err, bad) {
			t.Fatalf("got %v, want the scan's error", err)
		}
		// Rows left open would hold the writer's only connection: the next
		// write would wait for it until the deadline.
		wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if _, err := db.W.ExecContext(wctx, `CREATE TABLE t (x)`); err != nil {
			t.Fatalf("the writer is still busy after the failed list: %v", err)
		}
	})

	t.Run("the query's own error comes back as it is", func(t *testing.T) {
		db := openTestDB(t)
		rows, err := db.R.QueryContext(ctx, `SELECT x FROM no_such_table`)
		if _, err := collect(rows, err, scanInt); err == nil {
			t.Fatal("got no error for a missing table")
		}
	})
}

func TestInTx(t *testing.T) {
	t.Run("a write cancelled half way reports the cancellation, not a failed rollback", func(t *testing.T) {
		db := openTestDB(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			cancel()
			// database/sql rolls the transaction back by itself once its
			// context ends; wait for that, so InTx finds it done.
			for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
				if _, err := tx.Exec(`SELECT 1`); errors.Is(err, sql.ErrTxDone) {
					return ctx.Err()
				}
			}
			return errors.New("the transaction did not end with its context")
		})
		if !errors.Is(err, context.Canceled) || errors.Is(err, sql.ErrTxDone) {
			t.Fatalf("got %v, want only the cancellation", err)
		}
	})

	t.Run("an error rolls the write back", func(t *testing.T) {
		db := openTestDB(t)
		ctx := context.Background()
		if _, err := db.W.ExecContext(ctx, `CREATE TABLE t (x)`); err != nil {
			t.Fatal(err)
		}
		bad := errors.New("refused")
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO t VALUES (1)`); err != nil {
				return err
			}
			return bad
		})
		var n int
		if qerr := db.R.QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&n); qerr != nil {
			t.Fatal(qerr)
		}
		if err != bad || n != 0 {
			t.Fatalf("got %v and %d rows, want exactly the error and no row", err, n)
		}
	})
}
