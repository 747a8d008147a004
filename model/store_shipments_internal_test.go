package model

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// The Ready to ship view and its tab read the partial index orders_ready_idx,
// not the shop's whole order table. SQLite takes a partial index only for a
// query that states the index's condition; with INDEXED BY, a change of one
// of the two fails the query instead of reading the table.
func TestReadyToShipReadsItsIndex(t *testing.T) {
	ctx := context.Background()
	db, err := Open(filepath.Join(t.TempDir(), "orderdesk.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	where, args := OrderFilter{Ready: true}.where(1, false)
	for name, query := range map[string]string{
		"the list":           `SELECT ` + orderColumns + readyFrom + `WHERE ` + where + ` ORDER BY o.id DESC LIMIT 51`,
		"the list by totals": `SELECT ` + orderColumns + readyFrom + `WHERE ` + where + ` ORDER BY o.total DESC, o.id DESC LIMIT 51`,
		"the tab":            readyCount,
	} {
		rows, err := db.R.QueryContext(ctx, `EXPLAIN QUERY PLAN `+query, args...)
		plan, err := collect(rows, err, func(r rowScanner) (string, error) {
			var id, parent, notused int
			var detail string
			err := r.Scan(&id, &parent, &notused, &detail)
			return detail, err
		})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(plan[0], "orders_ready_idx") {
			t.Errorf("%s: plan %q, want orders_ready_idx", name, plan)
		}
	}
}
