package model_test

import (
	"context"
	"strings"
	"testing"

	"orderdesk/model"
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

// The storefront's shelf is the shop's active products by title, as the
// catalogue reads them, with nothing of what the shop pays or where it buys
// (its plan: TestTheShelfIsReadInOrderWithoutASort).
func TestTheShelfListsTheActiveProductsByTitle(t *testing.T) {
	s := newShop(t, 3)
	ctx := context.Background()
	for _, p := range []model.Product{{SKU: "P3", Title: "Bowl", Price: 900, Stock: 2, CostFen: 1200, Description: "Glazed"},
		{SKU: "P4", Title: "Altar cloth", Price: 4000, Stock: 0, CostFen: 9000}, {SKU: "P5", Title: "Bowl", Price: 950, Stock: 1}} {
		if _, err := s.store.CreateProduct(ctx, s.tenant.ID, p); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.store.DB.W.Exec(`UPDATE products SET active = 0 WHERE tenant_id = ? AND sku = 'P5'`, s.tenant.ID); err != nil {
		t.Fatal(err)
	}
	all, err := s.store.FindProducts(ctx, s.tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	shelf, err := s.store.FindShelf(ctx, s.tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(shelf) != 3 || len(all) != len(shelf) {
		t.Fatalf("shelf of %d products, catalogue of %d active, want 3", len(shelf), len(all))
	}
	for i, p := range shelf {
		w := all[i]
		if p.ID != w.ID || p.TenantID != w.TenantID || p.Title != w.Title || p.Description != w.Description || p.Price != w.Price ||
			p.Stock != w.Stock || !p.Active {
			t.Errorf("shelf %d: %+v, catalogue %+v", i, *p, *w)
		}
		if p.CostFen != 0 || p.SKU != "" || p.ProviderItemID != "" {
			t.Errorf("the shelf read what the shop pays or buys: %+v", *p)
		}
	}
	if shelf[0].Title != "Altar cloth" || shelf[1].Title != "Bowl" || shelf[2].Title != "Tea set" {
		t.Errorf("shelf order %q %q %q, want by title", shelf[0].Title, shelf[1].Title, shelf[2].Title)
	}
}
