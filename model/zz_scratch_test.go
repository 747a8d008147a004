package model

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"
)

func TestZZScratch(t *testing.T) {
	path := os.Getenv("SCRATCH_DB")
	if path == "" {
		t.Skip()
	}
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := NewStore(db, nil)
	ctx := context.Background()
	var id int64
	if err := db.R.QueryRow(`SELECT id FROM orders WHERE tenant_id=1 AND status='shipped' AND id >= (SELECT (min(id)+max(id))/2 FROM orders WHERE tenant_id=1) ORDER BY id LIMIT 1`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	tm := func(name string, fn func() error) {
		n := 300
		st := time.Now()
		for i := 0; i < n; i++ {
			if err := fn(); err != nil && err != ErrNotFound {
				t.Fatal(name, err)
			}
		}
		fmt.Printf("%-30s %v\n", name, time.Since(st)/time.Duration(n))
	}
	tm("FindOrderView", func() error { _, err := s.FindOrderView(ctx, 1, id); return err })
	tm("FindOrderEvents", func() error { _, err := s.FindOrderEvents(ctx, 1, id); return err })
	tm("FindPayments", func() error { _, err := s.FindPayments(ctx, 1, PaymentFilter{OrderID: id}); return err })
	tm("FindRefunds", func() error { _, err := s.FindRefunds(ctx, 1, id); return err })
	tm("FindOrderShipment", func() error { _, err := s.FindOrderShipment(ctx, 1, id); return err })
	tm("FindOTActivities", func() error { _, err := s.FindOTActivities(ctx, 1, OTActivityFilter{OrderID: id, Limit: 20}); return err })
	tm("OrderBuysThroughOT", func() error { _, err := s.OrderBuysThroughOT(ctx, 1, id); return err })
	tm("FindOrders confirmed", func() error { _, err := s.FindOrders(ctx, 1, OrderFilter{Status: "confirmed"}); return err })
	tm("FindOrders all", func() error { _, err := s.FindOrders(ctx, 1, OrderFilter{}); return err })
	tm("CountOrdersByStatus", func() error { _, err := s.CountOrdersByStatus(ctx, 1, OrderFilter{}); return err })
	tm("CountReadyToShip", func() error { _, err := s.CountReadyToShip(ctx, 1); return err })
	tm("select1", func() error { return db.Ping(ctx) })
	var num string
	db.R.QueryRow("SELECT number FROM orders WHERE id=?", id).Scan(&num)
	tm("FindOrderByNumber", func() error { _, err := s.FindOrderByNumber(ctx, 1, num); return err })
	tm("raw order by id 1col", func() error { var x int64; return db.R.QueryRow("SELECT o.id FROM orders o WHERE o.tenant_id=? AND o.id=?", 1, id).Scan(&x) })
	tm("raw order by number 1col", func() error { var x int64; return db.R.QueryRow("SELECT o.id FROM orders o WHERE o.number=? AND o.tenant_id=?", num, 1).Scan(&x) })
	tm("raw order by id email", func() error { var x string; return db.R.QueryRow("SELECT o.customer_email FROM orders o WHERE o.tenant_id=? AND o.id=?", 1, id).Scan(&x) })
	tm("raw order by id created", func() error { var x time.Time; return db.R.QueryRow("SELECT o.created_at FROM orders o WHERE o.tenant_id=? AND o.id=?", 1, id).Scan(&x) })
	tm("refunds raw", func() error { r, err := db.R.QueryContext(ctx, "SELECT r.id FROM refunds r WHERE r.tenant_id=? AND r.order_id=?", 1, id); _, err = collect(r, err, func(r rowScanner) (int64, error) { var x int64; return x, r.Scan(&x) }); return err })
	tm("refunds join", func() error { r, err := db.R.QueryContext(ctx, "SELECT r.id FROM refunds r JOIN payments p ON p.id = r.payment_id WHERE r.tenant_id=? AND r.order_id=?", 1, id); _, err = collect(r, err, func(r rowScanner) (int64, error) { var x int64; return x, r.Scan(&x) }); return err })
	tm("refunds full", func() error { r, err := db.R.QueryContext(ctx, "SELECT "+refundColumns+refundFrom+"WHERE r.tenant_id=? AND r.order_id=? ORDER BY r.id", 1, id); _, err = collect(r, err, func(r rowScanner) (int64, error) { var x int64; return x, r.Scan(&x) }); return err })
	tm("order cols no from-join", func() error { r, err := db.R.QueryContext(ctx, "SELECT "+orderColumns+" FROM orders o LEFT JOIN shipping_methods sm ON sm.id = o.shipping_method_id WHERE o.number=? AND o.tenant_id=?", num, 1); _, err = collect(r, err, func(r rowScanner) (int64, error) { return 0, nil }); return err })
	tm("order 1col join+sub", func() error { r, err := db.R.QueryContext(ctx, "SELECT o.id, coalesce(sm.tracking_url, ''), coalesce((SELECT sh.tracking_url FROM shipments sh WHERE sh.order_id = o.id AND sh.status <> 'cancelled'), '') FROM orders o LEFT JOIN shipping_methods sm ON sm.id = o.shipping_method_id WHERE o.number=? AND o.tenant_id=?", num, 1); _, err = collect(r, err, func(r rowScanner) (int64, error) { return 0, nil }); return err })
	tm("order join only", func() error { r, err := db.R.QueryContext(ctx, "SELECT o.id, coalesce(sm.tracking_url, '') FROM orders o LEFT JOIN shipping_methods sm ON sm.id = o.shipping_method_id WHERE o.number=? AND o.tenant_id=?", num, 1); _, err = collect(r, err, func(r rowScanner) (int64, error) { return 0, nil }); return err })
	tm("order sub only", func() error { r, err := db.R.QueryContext(ctx, "SELECT o.id, coalesce((SELECT sh.tracking_url FROM shipments sh WHERE sh.order_id = o.id AND sh.status <> 'cancelled'), '') FROM orders o WHERE o.number=? AND o.tenant_id=?", num, 1); _, err = collect(r, err, func(r rowScanner) (int64, error) { return 0, nil }); return err })
	tm("explain sub", func() error { r, err := db.R.QueryContext(ctx, "EXPLAIN QUERY PLAN SELECT o.id, coalesce((SELECT sh.tracking_url FROM shipments sh WHERE sh.order_id = o.id AND sh.status <> 'cancelled'), '') FROM orders o WHERE o.number=? AND o.tenant_id=?", num, 1); x, err := collect(r, err, func(r rowScanner) (string, error) { var a,b,c int; var d string; err := r.Scan(&a,&b,&c,&d); return d, err }); fmt.Println(x); return err })
	tm("order sm as sub", func() error { r, err := db.R.QueryContext(ctx, "SELECT o.id, coalesce((SELECT sm.tracking_url FROM shipping_methods sm WHERE sm.id = o.shipping_method_id), '') FROM orders o WHERE o.number=? AND o.tenant_id=?", num, 1); _, err = collect(r, err, func(r rowScanner) (int64, error) { return 0, nil }); return err })
	tm("order join inner", func() error { r, err := db.R.QueryContext(ctx, "SELECT o.id, sm.tracking_url FROM orders o JOIN shipping_methods sm ON sm.id = o.shipping_method_id WHERE o.number=? AND o.tenant_id=?", num, 1); _, err = collect(r, err, func(r rowScanner) (int64, error) { return 0, nil }); return err })
	tm("order star", func() error { r, err := db.R.QueryContext(ctx, "SELECT * FROM orders o WHERE o.number=? AND o.tenant_id=?", num, 1); _, err = collect(r, err, func(r rowScanner) (int64, error) { return 0, nil }); return err })
	tm("findOrderLines", func() error { _, err := s.findOrderLines(ctx, 1, id); return err })

}
