package model_test

import (
	"context"
	"path/filepath"
	"testing"

	"orderdesk/model"
)

// BenchmarkFindOrders measures the order desk's query on a tenant with 100,000
// orders: the first page of one status, and a page deep in the list.
func BenchmarkFindOrders(b *testing.B) {
	db, err := model.Open(filepath.Join(b.TempDir(), "orderdesk.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	db.Migrate(ctx)
	store := model.NewStore(db, testKeys())
	if _, err := store.SeedDemo(ctx, "bench-password"); err != nil {
		b.Fatal(err)
	}
	t, _ := store.FindTenantBySlug(ctx, "demo")
	if err := store.SeedBulkOrders(ctx, t, 100_000); err != nil {
		b.Fatal(err)
	}
	b.Run("status=confirmed first page", func(b *testing.B) {
		for b.Loop() {
			if _, err := store.FindOrders(ctx, t.ID, model.OrderFilter{Status: model.OrderConfirmed}); err != nil {
				b.Fatal(err)
			}
		}
	})
	first, _ := store.FindOrders(ctx, t.ID, model.OrderFilter{Status: model.OrderConfirmed, Limit: 500})
	deep := first
	for i := 0; i < 20 && deep.Next != ""; i++ {
		deep, _ = store.FindOrders(ctx, t.ID, model.OrderFilter{Status: model.OrderConfirmed, Limit: 500, After: deep.Next})
	}
	b.Run("status=confirmed page after 10,000 rows", func(b *testing.B) {
		for b.Loop() {
			if _, err := store.FindOrders(ctx, t.ID, model.OrderFilter{Status: model.OrderConfirmed, After: deep.Next}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("customer e-mail prefix", func(b *testing.B) {
		for b.Loop() {
			if _, err := store.FindOrders(ctx, t.ID, model.OrderFilter{Email: "buyer42"}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("counts per status", func(b *testing.B) {
		for b.Loop() {
			if _, err := store.CountOrdersByStatus(ctx, t.ID, model.OrderFilter{Status: model.OrderConfirmed}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
