package model

import (
	"context"
	"database/sql"
	"testing"

	"github.com/mattn/go-sqlite3"
)

// Every connection of both pools keeps the plans of its prepared statements
// (QPSG on): without it, the driver's clearing of bindings made SQLite parse
// and plan most statements again on every run, and the statement cache saved
// nothing.
func TestEveryConnectionKeepsItsPlans(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	for name, pool := range map[string]*sql.DB{"writer": db.W, "reader": db.R} {
		// Hold several connections at once, so that the pool opens more than one.
		var conns []*sql.Conn
		for range 3 {
			if name == "writer" && len(conns) == 1 {
				break // the writer is one connection
			}
			c, err := pool.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
		}
		for i, c := range conns {
			err := c.Raw(func(dc any) error {
				if on := setQPSG(dc.(*sqlite3.SQLiteConn), -1); on != 1 {
					t.Errorf("%s connection %d: QPSG is %d, want 1", name, i, on)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range conns {
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// A statement whose plan could depend on a bound value is not prepared again
// when it runs again with other values: SQLite counts the re-preparations of
// a statement, and the driver's statement cache keeps one per connection.
func TestAStatementIsPlannedOnce(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	if _, err := db.W.ExecContext(ctx, `CREATE TABLE ev (id INTEGER PRIMARY KEY, o INTEGER, kind TEXT, at TEXT);
		CREATE INDEX ev_o ON ev (o, id);
		INSERT INTO ev (o, kind, at) VALUES (1, 'paid', 'a'), (1, 'sent', 'b'), (2, 'paid', 'c')`); err != nil {
		t.Fatal(err)
	}
	c, err := db.R.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	}()
	// `kind = ?` is outside the index used: SQLite would re-plan on new values.
	const q = `SELECT min(at) FROM ev WHERE o = ? AND kind = ?`
	for i, want := range []string{"a", "b", "c", "a"} {
		o, kind := []int{1, 1, 2, 1}[i], []string{"paid", "sent", "paid", "paid"}[i]
		var got string
		if err := c.QueryRowContext(ctx, q, o, kind).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("run %d: %q, want %q", i, got, want)
		}
	}
	err = c.Raw(func(dc any) error {
		if n := stmtReprepares(dc.(*sqlite3.SQLiteConn), q); n != 0 {
			t.Errorf("the statement was prepared again %d times in 4 runs, want 0", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
