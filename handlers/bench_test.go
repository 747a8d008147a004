package handlers_test

import (
	"context"
	"net/http"
	"testing"
)

// BenchmarkOrdersPage measures the order desk page, signed in, through the real
// router, on a tenant with 100,000 orders: the confirmed tab, full page and the
// htmx fragment a filter change fetches.
func BenchmarkOrdersPage(b *testing.B) {
	e := newEnv(b)
	if err := e.store.SeedBulkOrders(context.Background(), e.demo, 100_000); err != nil {
		b.Fatal(err)
	}
	c := e.client(b, "")
	c.login("staff@demo.test", demoPassword)
	for _, tc := range []struct {
		name   string
		header http.Header
	}{{"full page", nil}, {"htmx fragment", http.Header{"Hx-Request": {"true"}}}} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				res, _ := c.do("GET", "/admin/orders?status=confirmed", nil, tc.header)
				if res.StatusCode != http.StatusOK {
					b.Fatalf("status %d", res.StatusCode)
				}
			}
		})
	}
	b.Run("healthz for scale", func(b *testing.B) {
		for b.Loop() {
			c.do("GET", "/healthz", nil, nil)
		}
	})
}
