package sandboxdb

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
)

// openDB opens a sandbox database as the sandboxes get it: one file, and here
// one connection, so that rows left open would block the next statement.
func openDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(t.TempDir(), "sandbox.db")+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	if _, err := db.Exec(`CREATE TABLE t (v TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestCollect(t *testing.T) {
	ctx := context.Background()

	t.Run("a list reads every row", func(t *testing.T) {
		db := openDB(t)
		rows, err := db.QueryContext(ctx, `SELECT 1 UNION ALL SELECT 2`)
		got, err := Collect(rows, err, Column[int64])
		if err != nil || len(got) != 2 || got[1] != 2 {
			t.Fatalf("got %v, %v; want [1 2]", got, err)
		}
	})

	t.Run("a query that fails half way is an error, not a shorter list", func(t *testing.T) {
		db := openDB(t)
		rows, err := db.QueryContext(ctx, `SELECT json(v) FROM (SELECT '1' AS v UNION ALL SELECT 'not json')`)
		got, err := Collect(rows, err, Column[string])
		if err == nil || got != nil {
			t.Fatalf("got %v, %v; want no list and the query's error", got, err)
		}
	})

	t.Run("a failed scan frees the connection", func(t *testing.T) {
		db := openDB(t)
		bad := errors.New("bad row")
		rows, err := db.QueryContext(ctx, `SELECT 1 UNION ALL SELECT 2`)
		if _, err := Collect(rows, err, func(Scanner) (int, error) { return 0, bad }); !errors.Is(err, bad) {
			t.Fatalf("got %v, want the scan's error", err)
		}
		wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if _, err := db.ExecContext(wctx, `INSERT INTO t (v) VALUES ('x')`); err != nil {
			t.Fatalf("the only connection is still taken after the failed list: %v", err)
		}
	})
}

func TestInTx(t *testing.T) {
	ctx := context.Background()
	count := func(t *testing.T, db *sql.DB) int {
		t.Helper()
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM t`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	t.Run("nil commits", func(t *testing.T) {
		db := openDB(t)
		err := InTx(ctx, db, func(tx *sql.Tx) error {
			_, err := tx.Exec(`INSERT INTO t (v) VALUES ('kept')`)
			return err
		})
		if err != nil || count(t, db) != 1 {
			t.Fatalf("got %v and %d rows, want the row kept", err, count(t, db))
		}
	})

	t.Run("an error rolls back and comes back as it is", func(t *testing.T) {
		db := openDB(t)
		bad := errors.New("refused")
		err := InTx(ctx, db, func(tx *sql.Tx) error {
			if _, err := tx.Exec(`INSERT INTO t (v) VALUES ('dropped')`); err != nil {
				return err
			}
			return bad
		})
		if err != bad || count(t, db) != 0 {
			t.Fatalf("got %v and %d rows, want exactly the error and no row", err, count(t, db))
		}
	})
}
