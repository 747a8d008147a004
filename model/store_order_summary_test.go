package model_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"orderdesk/model"
)

// The desk's summary of an order says what the whole order says of the
// fields a list shows, page after page, in the same order.
func TestOrderSummaryAgreesWithTheOrder(t *testing.T) {
	ctx := context.Background()
	db, err := model.Open(filepath.Join(t.TempDir(), "orderdesk.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	store := model.NewStore(db, testKeys())
	if _, err := store.SeedDemo(ctx, "summary-password"); err != nil {
		t.Fatal(err)
	}
	shop, err := store.FindTenantBySlug(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	if err := store.SeedBulkOrders(ctx, shop, 120); err != nil {
		t.Fatal(err)
	}
	for _, f := range []model.OrderFilter{{}, {Status: model.OrderConfirmed}, {Sort: "total_desc"}} {
		full, summary := f, f
		summary.Summary = true
		pages := 0
		for {
			a, err := store.FindOrders(ctx, shop.ID, full)
			if err != nil {
				t.Fatal(err)
			}
			b, err := store.FindOrders(ctx, shop.ID, summary)
			if err != nil {
				t.Fatal(err)
			}
			if len(a.Orders) != len(b.Orders) || a.Next != b.Next {
				t.Fatalf("%+v: %d orders and next %q in full, %d and %q in summary", f, len(a.Orders), a.Next, len(b.Orders), b.Next)
			}
			for i, o := range a.Orders {
				s := b.Orders[i]
				if s.ID != o.ID || s.Number != o.Number || s.IncrementID != o.IncrementID || s.Address.Email != o.Address.Email ||
					s.Address.FirstName != o.Address.FirstName || s.Address.LastName != o.Address.LastName || s.Status != o.Status ||
					s.PaymentStatus != o.PaymentStatus || s.ProcurementStatus != o.ProcurementStatus || s.ProcurementError != o.ProcurementError ||
					s.Total != o.Total || s.Currency != o.Currency || s.ItemCount != o.ItemCount || !s.CreatedAt.Equal(o.CreatedAt) {
					t.Fatalf("%+v: summary %+v differs from the order %+v", f, *s, *o)
				}
			}
			pages++
			if a.Next == "" {
				break
			}
			full.After, summary.After = a.Next, b.Next
		}
		if pages < 2 && f.Status == "" {
			t.Errorf("%+v: %d page(s), want several", f, pages)
		}
	}
}

// The tracking pages' order says what the whole order says of everything
// they show, and holds nothing personal: no name, e-mail, phone or address.
func TestTrackedOrderAgreesWithTheOrderAndHoldsNothingPersonal(t *testing.T) {
	ctx := context.Background()
	db, err := model.Open(filepath.Join(t.TempDir(), "orderdesk.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	store := model.NewStore(db, testKeys())
	if _, err := store.SeedDemo(ctx, "track-password"); err != nil {
		t.Fatal(err)
	}
	shop, err := store.FindTenantBySlug(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	if err := store.SeedBulkOrders(ctx, shop, 200); err != nil {
		t.Fatal(err)
	}
	page, err := store.FindOrders(ctx, shop.ID, model.OrderFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	shipped := 0
	for _, o := range page.Orders {
		tr, _, err := store.TrackOrder(ctx, shop.ID, o.Number)
		if err != nil {
			t.Fatalf("%s: %v", o.Number, err)
		}
		if tr.ID != o.ID || tr.TenantID != o.TenantID || tr.Number != o.Number || tr.CustomerID != o.CustomerID ||
			tr.ShippingName != o.ShippingName || tr.Status != o.Status || tr.PaymentStatus != o.PaymentStatus ||
			tr.Currency != o.Currency || tr.Total != o.Total || tr.ItemCount != o.ItemCount ||
			tr.TrackingNumber != o.TrackingNumber || tr.TrackingCarrier != o.TrackingCarrier || tr.TrackingURL != o.TrackingURL ||
			!sameTime(tr.ShippedAt, o.ShippedAt) || !sameTime(tr.DeliveredAt, o.DeliveredAt) || !sameTime(tr.ArrivedAt, o.ArrivedAt) ||
			!tr.CreatedAt.Equal(o.CreatedAt) || tr.PaymentDue() != o.PaymentDue() {
			t.Fatalf("tracked %+v differs from the order %+v", *tr, *o)
		}
		if tr.Address != (model.Address{}) {
			t.Fatalf("%s: the tracking pages' order holds the customer's %+v", o.Number, tr.Address)
		}
		if o.ShippedAt != nil && o.TrackingURL != "" {
			shipped++
		}
	}
	if shipped == 0 {
		t.Error("no order with a carrier's link was compared: seed one")
	}
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

// The story's "on its way" names each parcel of the supplier once, in the
// order the order's lines first name it.
func TestTrackedStoryNamesEachSupplierParcelOnce(t *testing.T) {
	ctx := context.Background()
	db, err := model.Open(filepath.Join(t.TempDir(), "orderdesk.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	store := model.NewStore(db, testKeys())
	if _, err := store.SeedDemo(ctx, "track-password"); err != nil {
		t.Fatal(err)
	}
	shop, err := store.FindTenantBySlug(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	if err := store.SeedBulkOrders(ctx, shop, 20); err != nil {
		t.Fatal(err)
	}
	var orderID int64
	var number string
	if err := db.R.QueryRowContext(ctx, `SELECT o.id, o.number FROM orders o WHERE o.tenant_id = ?
		AND (SELECT count(*) FROM order_lines l WHERE l.order_id = o.id) >= 2 LIMIT 1`, shop.ID).Scan(&orderID, &number); err != nil {
		t.Fatalf("an order of two lines: %v", err)
	}
	// Three lines, two parcels: the second parcel first named by the second line.
	if _, err := db.W.ExecContext(ctx, `INSERT INTO order_lines (tenant_id, order_id, product_id, sku, title, quantity, unit_price, line_total)
		SELECT tenant_id, order_id, product_id, sku, title, quantity, unit_price, line_total FROM order_lines WHERE order_id = ? ORDER BY id LIMIT 1`,
		orderID); err != nil {
		t.Fatal(err)
	}
	ids, err := db.R.QueryContext(ctx, `SELECT id FROM order_lines WHERE order_id = ? ORDER BY id`, orderID)
	if err != nil {
		t.Fatal(err)
	}
	var lines []int64
	for ids.Next() {
		var id int64
		if err := ids.Scan(&id); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, id)
	}
	if err := ids.Close(); err != nil {
		t.Fatal(err)
	}
	for i, track := range []string{"YT222", "YT111", "YT222"} {
		if _, err := db.W.ExecContext(ctx, `UPDATE order_lines SET supplier_track = ? WHERE id = ?`, track, lines[i]); err != nil {
			t.Fatal(err)
		}
	}
	_, story, err := store.TrackOrder(ctx, shop.ID, number)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range story {
		if s.Key == "on_the_way" {
			if s.Detail != "YT222, YT111" {
				t.Errorf("on its way: %q, want %q", s.Detail, "YT222, YT111")
			}
			return
		}
	}
	t.Error("no step on_the_way in the story")
}
