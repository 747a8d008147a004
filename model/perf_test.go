package model_test

import (
	"strings"
	"testing"
)

// An order's page and its tracking page read the order's rows by the order:
// SQLite must not take an index that holds every row of the shop (migration
// 0016). The plans are SQLite's own answer, on a migrated database.
func TestAnOrdersRowsAreReadByTheOrdersIndex(t *testing.T) {
	s := newShop(t, 1)
	for query, index := range map[string]string{
		`SELECT id FROM order_lines WHERE tenant_id = 1 AND order_id = 1 ORDER BY id`:                                                                  "order_lines_tenant_order_idx",
		`SELECT id FROM payments p WHERE p.tenant_id = 1 AND p.order_id = 1 ORDER BY p.id DESC LIMIT 50`:                                               "payments_tenant_order_idx",
		`SELECT id FROM refunds r WHERE r.tenant_id = 1 AND r.order_id = 1 ORDER BY r.id`:                                                              "refunds_tenant_order_idx",
		`SELECT count(*) FROM order_lines l WHERE l.tenant_id = 1 AND l.order_id = 1 AND l.procurement_status = 'pending'`:                             "order_lines_tenant_order_idx",
		`SELECT supplier_track FROM order_lines INDEXED BY order_lines_tenant_order_idx WHERE tenant_id = 1 AND order_id = 1 AND supplier_track <> ''`: "order_lines_tenant_order_idx",
	} {
		rows, err := s.store.DB.R.Query(`EXPLAIN QUERY PLAN ` + query)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(plan, "; "); !strings.Contains(got, index+" (tenant_id=? AND order_id=?)") {
			t.Errorf("%s\nplan %q, want a search of %s by the shop and the order", query, got, index)
		}
	}
}
