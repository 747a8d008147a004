package model_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"orderdesk/model"
)

// keptCounts compares every count the triggers keep for the shop with a fresh
// count of its condition, and the quarter-hour totals with a fresh sum of the
// shop's orders, refunds and line costs.
func keptCounts(t *testing.T, s *model.Store, tenantID int64, when string) {
	t.Helper()
	ctx := context.Background()
	for bucket, cond := range model.DashboardBuckets {
		var kept, fresh int
		if err := s.DB.R.QueryRowContext(ctx, `SELECT coalesce(sum(n), 0) FROM dashboard_counts WHERE tenant_id = ? AND bucket = ?`,
			tenantID, bucket).Scan(&kept); err != nil {
			t.Fatal(err)
		}
		if err := s.DB.R.QueryRowContext(ctx, `SELECT count(*) FROM orders o WHERE o.tenant_id = ? AND `+cond, tenantID).Scan(&fresh); err != nil {
			t.Fatal(err)
		}
		if kept != fresh {
			t.Errorf("%s: %s kept %d, counted %d", when, bucket, kept, fresh)
		}
	}
	var mismatches int
	if err := s.DB.R.QueryRowContext(ctx, `WITH fresh AS (
			SELECT q, sum(paid) AS paid_orders, sum(sales) AS sales, sum(refunds) AS refunds, sum(cost) AS cost FROM (
				SELECT CAST(strftime('%s', o.created_at) AS INTEGER) / 900 AS q,
					o.payment_status IN ('paid', 'partially_refunded', 'refunded') AS paid,
					CASE WHEN o.payment_status IN ('paid', 'partially_refunded', 'refunded') THEN o.total ELSE 0 END AS sales,
					(SELECT coalesce(sum(r.amount), 0) FROM refunds r WHERE r.order_id = o.id AND r.status = 'done') AS refunds,
					(SELECT coalesce(sum(l.cost_minor), 0) FROM order_lines l WHERE l.order_id = o.id) AS cost
				FROM orders o WHERE o.tenant_id = ?1) GROUP BY q),
		kept AS (SELECT quarter AS q, paid_orders, sales, refunds, cost FROM order_quarter_totals WHERE tenant_id = ?1)
		SELECT count(*) FROM (
			SELECT q, paid_orders, sales, refunds, cost FROM fresh WHERE paid_orders <> 0 OR sales <> 0 OR refunds <> 0 OR cost <> 0
			EXCEPT SELECT * FROM kept
			UNION ALL
			SELECT * FROM kept WHERE paid_orders <> 0 OR sales <> 0 OR refunds <> 0 OR cost <> 0
			EXCEPT SELECT q, paid_orders, sales, refunds, cost FROM fresh)`, tenantID).Scan(&mismatches); err != nil {
		t.Fatal(err)
	}
	if mismatches != 0 {
		t.Errorf("%s: %d quarter-hour totals differ from a fresh sum", when, mismatches)
	}
	// The week the dashboard shows, kept under the shop's version, is the
	// week a store that keeps nothing reads.
	fresh := model.NewStore(s.DB, nil)
	fresh.Now = s.Now
	for _, loc := range []*time.Location{time.UTC, time.FixedZone("Asia/Kolkata", 5*3600+1800)} {
		kept, err := s.FindDailyTotals(ctx, tenantID, loc, 8)
		if err != nil {
			t.Fatal(err)
		}
		want, err := fresh.FindDailyTotals(ctx, tenantID, loc, 8)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(kept, want) {
			t.Errorf("%s: the kept week in %s\n%+v\nreads fresh\n%+v", when, loc, kept, want)
		}
	}
}

// TestDashboardCountsAreKeptThroughEveryChange: whatever happens to a shop's
// orders (placed, paid, held, cancelled, bought, failed in procurement,
// refunded, shipped, deleted), the counts and daily totals the dashboard reads
// equal a fresh count, and another shop's orders never count.
func TestDashboardCountsAreKeptThroughEveryChange(t *testing.T) {
	s := newShop(t, 1000)
	ctx := context.Background()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := s.store.DB.W.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// Another shop with bulk orders (inserted paid, pending, cancelled…).
	other, err := s.store.CreateTenant(ctx, model.NewTenant{Slug: "other", Name: "Other"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.store.CreateProduct(ctx, other.ID, model.Product{SKU: "O1", Title: "Cup", Price: 900, Stock: 10}); err != nil {
		t.Fatal(err)
	}
	if err := s.store.SeedBulkOrders(ctx, other, 240); err != nil {
		t.Fatal(err)
	}
	keptCounts(t, s.store, other.ID, "bulk orders")

	exec(`INSERT INTO integrations (tenant_id, provider_type, name, status, created_at, updated_at) VALUES (?, 'kuveyt', 'K', 'test_mode', ?, ?)`,
		s.tenant.ID, s.clock, s.clock)
	var orders []*model.Order
	for i := range 12 {
		s.clock = s.clock.Add(7 * time.Hour) // over several days and quarter hours
		o, err := s.order(t, 1+i%2, nil, model.CartPricing{})
		if err != nil {
			t.Fatal(err)
		}
		orders = append(orders, o)
	}
	keptCounts(t, s.store, s.tenant.ID, "placed")

	pay := func(o *model.Order) {
		t.Helper()
		// What a completed payment does to the order (services/payments).
		exec(`UPDATE orders SET payment_status = 'paid', status = 'confirmed' WHERE id = ?`, o.ID)
		exec(`INSERT INTO payments (tenant_id, order_id, number, provider, integration_id, mode, status, amount, currency, created_at, updated_at)
			VALUES (?, ?, ?, 'kuveyt', (SELECT id FROM integrations WHERE tenant_id = ?), 'test', 'completed', ?, ?, ?, ?)`,
			s.tenant.ID, o.ID, "P-"+o.Number, s.tenant.ID, o.Total, o.Currency, s.clock, s.clock)
	}
	for _, o := range orders[:9] {
		pay(o)
	}
	keptCounts(t, s.store, s.tenant.ID, "paid")

	steps := []struct {
		name string
		do   func()
	}{
		{"held", func() {
			if _, err := s.store.TransitionOrder(ctx, s.tenant, orders[0].ID, model.OrderHolded, model.SystemActor, model.TransitionInput{}); err != nil {
				t.Fatal(err)
			}
		}},
		{"cancelled unpaid", func() {
			if _, err := s.store.TransitionOrder(ctx, s.tenant, orders[10].ID, model.OrderCancelled, model.SystemActor, model.TransitionInput{}); err != nil {
				t.Fatal(err)
			}
		}},
		{"procurement error", func() {
			if err := s.store.RecordProcurementError(ctx, s.tenant, orders[1].ID, nil, "insufficient balance", model.SystemActor); err != nil {
				t.Fatal(err)
			}
			if err := s.store.RecordProcurementError(ctx, s.tenant, orders[2].ID, nil, "missing SKU", model.SystemActor); err != nil {
				t.Fatal(err)
			}
		}},
		{"procurement error cleared", func() {
			if err := s.store.ClearProcurementErrors(ctx, s.tenant, orders[2].ID, model.SystemActor); err != nil {
				t.Fatal(err)
			}
		}},
		{"bought", func() {
			for _, o := range orders[3:6] {
				exec(`UPDATE order_lines SET procurement_status = 'created', purchase_id = ?, cost_minor = 1700 WHERE order_id = ?`, "PU-"+o.Number, o.ID)
				exec(`UPDATE orders SET procurement_status = 'created' WHERE id = ?`, o.ID)
			}
		}},
		{"cost corrected", func() {
			exec(`UPDATE order_lines SET cost_minor = 1500 WHERE order_id = ?`, orders[3].ID)
		}},
		{"processing and shipped", func() {
			if _, err := s.store.TransitionOrder(ctx, s.tenant, orders[4].ID, model.OrderProcessing, model.SystemActor, model.TransitionInput{}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.store.TransitionOrder(ctx, s.tenant, orders[5].ID, model.OrderShipped, model.SystemActor,
				model.TransitionInput{TrackingNumber: "TR1", TrackingCarrier: "Post"}); err != nil {
				t.Fatal(err)
			}
		}},
		{"refunded in part, then a refund failed", func() {
			for i, st := range []string{"done", "pending"} {
				exec(`INSERT INTO refunds (tenant_id, payment_id, order_id, number, amount, currency, status, reason, actor, created_at, updated_at)
					SELECT tenant_id, id, order_id, ?, 300, currency, ?, 'staff', 'test', ?, ? FROM payments WHERE order_id = ?`,
					fmt.Sprintf("RF-%d", i), st, s.clock, s.clock, orders[6].ID)
			}
			exec(`UPDATE orders SET payment_status = 'partially_refunded' WHERE id = ?`, orders[6].ID)
			exec(`UPDATE refunds SET status = 'failed' WHERE number = 'RF-1'`)
		}},
		{"refunded whole and cancelled", func() {
			exec(`INSERT INTO refunds (tenant_id, payment_id, order_id, number, amount, currency, status, reason, actor, created_at, updated_at)
				SELECT tenant_id, id, order_id, 'RF-W', amount, currency, 'pending', 'staff', 'test', ?, ? FROM payments WHERE order_id = ?`,
				s.clock, s.clock, orders[7].ID)
			exec(`UPDATE refunds SET status = 'done' WHERE number = 'RF-W'`)
			// What the refund service does once all the money is back.
			exec(`UPDATE orders SET payment_status = 'refunded', status = 'refunded' WHERE id = ?`, orders[7].ID)
		}},
		{"an unpaid order and a refunded one deleted", func() {
			for _, o := range []*model.Order{orders[11], orders[6]} {
				for _, q := range []string{`DELETE FROM order_events WHERE order_id = ?`, `DELETE FROM outbox WHERE order_id = ?`, `DELETE FROM refunds WHERE order_id = ?`,
					`DELETE FROM payments WHERE order_id = ?`, `DELETE FROM order_lines WHERE order_id = ?`, `DELETE FROM orders WHERE id = ?`} {
					exec(q, o.ID)
				}
			}
		}},
	}
	for _, st := range steps {
		st.do()
		keptCounts(t, s.store, s.tenant.ID, st.name)
	}
	keptCounts(t, s.store, other.ID, "after the other shop's changes")

	c, err := s.store.CountDashboard(ctx, s.tenant.ID, "INSUFFICIENT")
	if err != nil {
		t.Fatal(err)
	}
	// Paid: 0 held, 1 error (still to buy), 2 cleared, 3–5 bought, 6 deleted,
	// 7 refunded, 8 paid; unpaid: 9 (older than two hours), 10 cancelled, 11 deleted.
	want := model.DashboardCounts{ToConfirm: 1, ToBuy: 3, NeedsPerson: 1, UnpaidLong: 1}
	if c != want {
		t.Errorf("dashboard counts: got %+v, want %+v", c, want)
	}
}

// TestDailyTotalsFollowTheShopsDay: an order placed at 23:50 and one at 00:10
// in the shop's time zone fall on two days, whatever the UTC date; each day
// has its sales net of refunds and its cost; days without orders are zero.
func TestDailyTotalsFollowTheShopsDay(t *testing.T) {
	s := newShop(t, 100)
	ctx := context.Background()
	istanbul, err := time.LoadLocation("Europe/Istanbul")
	if err != nil {
		t.Fatal(err)
	}
	// 23:50 and 00:10 in Istanbul are 20:50 and 21:10 UTC: one UTC day.
	for _, at := range []time.Time{time.Date(2026, 11, 3, 23, 50, 0, 0, istanbul), time.Date(2026, 11, 4, 0, 10, 0, 0, istanbul)} {
		s.clock = at.UTC()
		o, err := s.order(t, 1, nil, model.CartPricing{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.store.DB.W.ExecContext(ctx, `UPDATE orders SET payment_status = 'paid', status = 'confirmed' WHERE id = ?`, o.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.store.DB.W.ExecContext(ctx, `UPDATE order_lines SET cost_minor = 1000 WHERE order_id = ?`, o.ID); err != nil {
			t.Fatal(err)
		}
	}
	s.clock = time.Date(2026, 11, 5, 12, 0, 0, 0, istanbul)
	days, err := s.store.FindDailyTotals(ctx, s.tenant.ID, istanbul, 8)
	if err != nil {
		t.Fatal(err)
	}
	if len(days) != 8 {
		t.Fatalf("got %d days, want 8", len(days))
	}
	got := map[string]model.DayTotals{}
	for _, d := range days {
		got[d.Day.Format("01-02")] = d
	}
	if d := days[7].Day.Format("2006-01-02 15:04 MST"); d != "2026-11-05 00:00 +03" {
		t.Errorf("the last day is %s, want today in Istanbul", d)
	}
	for _, day := range []string{"11-03", "11-04"} {
		if d := got[day]; d.PaidOrders != 1 || d.Sales != 3000 || d.Cost != 1000 || d.Margin() != 2000 {
			t.Errorf("%s: got %+v, want one order of 3000 costing 1000", day, d)
		}
	}
	if d := got["11-05"]; d.PaidOrders != 0 || d.Sales != 0 {
		t.Errorf("today: got %+v, want nothing", d)
	}
}

// The dashboard's failing jobs read the newest run of each job of the shop:
// a later run that went well clears an earlier failure, another shop's runs
// are not the shop's, and a job that never ran has no run.
func TestFindLatestJobRuns(t *testing.T) {
	s := newShop(t, 100)
	ctx := context.Background()
	other, err := s.store.CreateTenant(ctx, model.NewTenant{Slug: "other", Name: "Other"})
	if err != nil {
		t.Fatal(err)
	}
	run := func(tenantID int64, name, failure string) {
		t.Helper()
		r, err := s.store.StartJobRun(ctx, tenantID, name)
		if err != nil {
			t.Fatal(err)
		}
		r.Error = failure
		if err := s.store.FinishJobRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	run(s.tenant.ID, "buy", "the account is gone")
	run(s.tenant.ID, "buy", "")
	run(s.tenant.ID, "send", "")
	run(s.tenant.ID, "send", "SMTP refused")
	run(other.ID, "buy", "the other shop's failure")
	run(other.ID, "poll", "the other shop's failure")
	got, err := s.store.FindLatestJobRuns(ctx, s.tenant.ID, []string{"buy", "send", "poll", "never"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["buy"] == nil || got["buy"].Error != "" || got["send"] == nil || got["send"].Error != "SMTP refused" {
		t.Errorf("latest runs: %+v, want buy (went well) and send (SMTP refused) only", got)
	}
	for name, r := range got {
		if r.TenantID != s.tenant.ID || r.Name != name {
			t.Errorf("%s: run %+v", name, r)
		}
	}
}
