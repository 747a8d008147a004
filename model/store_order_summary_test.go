package model_test

import (
	"context"
	"path/filepath"
	"testing"

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
