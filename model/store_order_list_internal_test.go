package model

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// A search by supplier's order or waybill looks up the shop's few lines of
// it through their indexes, and their orders by id: it never reads the
// shop's orders (all of them, or those of a status or an e-mail) to test
// each one, whatever else is filtered, in the list as in the tabs' counts.
func TestLineSearchLooksUpItsLines(t *testing.T) {
	ctx := context.Background()
	db, err := Open(filepath.Join(t.TempDir(), "orderdesk.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	plan := func(t *testing.T, query string, args []any) []string {
		t.Helper()
		rows, err := db.R.QueryContext(ctx, `EXPLAIN QUERY PLAN `+query, args...)
		steps, err := collect(rows, err, func(r rowScanner) (string, error) {
			var id, parent, notused int
			var detail string
			err := r.Scan(&id, &parent, &notused, &detail)
			return detail, err
		})
		if err != nil {
			t.Fatal(err)
		}
		return steps
	}
	for _, tc := range []struct {
		name  string
		f     OrderFilter
		index string
	}{
		{"a supplier's order", OrderFilter{PurchaseID: "2994830011"}, "order_lines_tenant_purchase_idx (tenant_id=? AND purchase_id=?)"},
		{"a waybill", OrderFilter{Waybill: "YT7418529630"}, "order_lines_track_idx (tenant_id=? AND supplier_track=?)"},
		{"a supplier's order among confirmed orders", OrderFilter{PurchaseID: "2994830011", Status: OrderConfirmed}, "order_lines_tenant_purchase_idx"},
		{"a waybill among an e-mail's orders by total", OrderFilter{Waybill: "YT7418529630", Email: "a", Sort: "total_desc"}, "order_lines_track_idx"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			where, args := tc.f.where(1, false)
			for name, query := range map[string]string{
				"list":  `SELECT ` + orderColumns + orderFrom + `WHERE ` + where + ` ORDER BY o.id DESC LIMIT 51`,
				"count": `SELECT o.status, count(*) FROM orders o WHERE ` + where + ` GROUP BY o.status`,
			} {
				steps := plan(t, query, args)
				if steps[0] != "SEARCH o USING INTEGER PRIMARY KEY (rowid=?)" {
					t.Errorf("%s: orders read by %q, want by id: %q", name, steps[0], steps)
				}
				if !strings.Contains(strings.Join(steps, "\n"), "SEARCH l USING INDEX "+tc.index) {
					t.Errorf("%s: lines read by %q, want %s", name, steps, tc.index)
				}
			}
		})
	}
	t.Run("the Ready to ship view searched by waybill still reads its index", func(t *testing.T) {
		f := OrderFilter{Ready: true, Waybill: "YT7418529630"}
		where, args := f.where(1, false)
		steps := plan(t, `SELECT `+orderColumns+readyFrom+`WHERE `+where+` ORDER BY o.id DESC LIMIT 51`, args)
		if !strings.Contains(steps[0], "orders_ready_idx") {
			t.Errorf("plan %q, want orders_ready_idx", steps)
		}
	})
}

// A status tab newest first (the desk's default) reads its page from the
// (tenant_id, status, created_at, id) index in order: no sort, and no orders
// of other statuses read and skipped; so does the page after a cursor.
func TestAStatusTabReadsItsPageInOrder(t *testing.T) {
	ctx := context.Background()
	db, err := Open(filepath.Join(t.TempDir(), "orderdesk.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	f := OrderFilter{Status: OrderConfirmed}
	where, args := f.where(1, false)
	srt := sortOf(f)
	for name, q := range map[string]string{
		"first page": `SELECT ` + orderColumns + orderFrom + `WHERE ` + where + ` ORDER BY ` + srt.orderBy(false) + ` LIMIT 51`,
		"next page":  `SELECT ` + orderColumns + orderFrom + `WHERE ` + where + srt.compare(false) + ` ORDER BY ` + srt.orderBy(false) + ` LIMIT 51`,
	} {
		qargs := args
		if name == "next page" {
			qargs = append(append([]any{}, args...), srt.keyArg(0), int64(1))
		}
		rows, err := db.R.QueryContext(ctx, `EXPLAIN QUERY PLAN `+q, qargs...)
		steps, err := collect(rows, err, func(r rowScanner) (string, error) {
			var id, parent, notused int
			var detail string
			err := r.Scan(&id, &parent, &notused, &detail)
			return detail, err
		})
		if err != nil {
			t.Fatal(err)
		}
		plan := strings.Join(steps, "\n")
		if !strings.HasPrefix(steps[0], "SEARCH o USING INDEX orders_status_created_idx (tenant_id=? AND status=?") || strings.Contains(plan, "TEMP B-TREE") {
			t.Errorf("%s: plan %q, want the page read in order from orders_status_created_idx", name, steps)
		}
	}
}
