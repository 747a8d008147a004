package handlers_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"orderdesk/model"
	"orderdesk/providers/taobao"
)

// todoCounts reads the dashboard's to-do list: count and link per item.
func todoCounts(t *testing.T, doc *goquery.Document) map[string]struct {
	n    int
	href string
} {
	t.Helper()
	out := map[string]struct {
		n    int
		href string
	}{}
	doc.Find(`[data-testid="todo"] li[data-testid^="todo-"]`).Each(func(_ int, s *goquery.Selection) {
		key := strings.TrimPrefix(s.AttrOr("data-testid", ""), "todo-")
		n, err := strconv.Atoi(s.AttrOr("data-count", ""))
		if err != nil {
			t.Errorf("%s: count %q", key, s.AttrOr("data-count", ""))
		}
		out[key] = struct {
			n    int
			href string
		}{n, s.Find(`a[data-testid="todo-link"]`).AttrOr("href", "")}
	})
	return out
}

// dashboardWork gives the demo shop something of every kind to do, through
// the store's functions where a person's or a job's action makes it, and
// plain rows where only a provider's answer would.
func dashboardWork(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := e.store.DB.W.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// Three more paid orders (to buy); two of them stop in procurement.
	var paid []*model.Order
	for range 3 {
		paid = append(paid, e.paidOrder(t, e.demo, "cdek"))
	}
	for _, o := range paid[:2] {
		if err := e.store.RecordProcurementError(ctx, e.demo, o.ID, nil, "Taobao does not know this product", model.SystemActor); err != nil {
			t.Fatal(err)
		}
	}
	// Two of the demo's unpaid orders were placed three hours ago (placed
	// so, as the expiry job would find them); the others are recent.
	exec(`UPDATE orders SET created_at = ? WHERE id IN (SELECT id FROM orders WHERE tenant_id = ? AND status = 'pending' AND payment_status = 'pending' ORDER BY id LIMIT 2)`,
		time.Now().UTC().Add(-3*time.Hour), e.demo.ID)
	exec(`UPDATE orders SET created_at = ? WHERE tenant_id = ? AND status = 'pending' AND payment_status = 'pending' AND created_at > ?`,
		time.Now().UTC().Add(-10*time.Minute), e.demo.ID, time.Now().UTC().Add(-time.Hour))
	// A payment review, as a suspicious notification leaves it.
	exec(`INSERT INTO payment_reviews (tenant_id, order_id, kind, reason, created_at) VALUES (?, ?, 'amount_mismatch', 'paid 1.00 of 5.00', ?)`,
		e.demo.ID, paid[2].ID, time.Now().UTC())
	// ...and one already dismissed, which waits for nobody.
	exec(`INSERT INTO payment_reviews (tenant_id, order_id, kind, reason, resolution, resolved_by, resolved_at, created_at)
		VALUES (?, ?, 'amount_mismatch', 'paid 1.00 of 5.00', 'dismissed', 'staff:1', ?3, ?3)`, e.demo.ID, paid[1].ID, time.Now().UTC())
	// A purchase Taobao refused to pay for lack of balance, and one paid.
	exec(`INSERT INTO taobao_accounts (tenant_id, integration_id, account, access_token_enc, refresh_token_enc, access_expires_at, refresh_expires_at, obtained_at, created_at, updated_at)
		SELECT ?, id, 'balance-test', 'x', 'x', ?2, ?2, ?2, ?2, ?2 FROM integrations WHERE tenant_id = ?1 AND provider_type = 'taobao' LIMIT 1`,
		e.demo.ID, time.Now().UTC().Add(30*time.Hour))
	exec(`INSERT INTO purchases (tenant_id, account_id, outer_id, purchase_id, stage, fx_rate_micro, error, created_at, updated_at)
		SELECT ?, id, 'OUT-1', 'PU-BAL-1', 'created', 12500000, ?, ?3, ?3 FROM taobao_accounts WHERE account = 'balance-test'`,
		e.demo.ID, taobao.CodeInsufficientBalance+": balance too low", time.Now().UTC())
	exec(`INSERT INTO purchases (tenant_id, account_id, outer_id, purchase_id, stage, fx_rate_micro, created_at, updated_at)
		SELECT ?, id, 'OUT-2', 'PU-PAID-2', 'paid', 12500000, ?2, ?2 FROM taobao_accounts WHERE account = 'balance-test'`,
		e.demo.ID, time.Now().UTC())
	// A job whose last run failed.
	exec(`INSERT INTO job_runs (tenant_id, name, started_at, finished_at, failed, error) VALUES (?, 'orders-to-taobao', ?2, ?2, 1, 'the account is gone')`,
		e.demo.ID, time.Now().UTC())
	// Two messages given up on.
	exec(`UPDATE outbox SET status = 'dead' WHERE id IN (SELECT id FROM outbox WHERE tenant_id = ? ORDER BY id LIMIT 2)`, e.demo.ID)
}

// rowsOf is how many rows the list at href shows.
func rowsOf(t *testing.T, c *client, href string) int {
	t.Helper()
	res, doc := c.get(href)
	wantStatus(t, res, http.StatusOK)
	switch {
	case strings.HasPrefix(href, "/admin/orders"):
		return doc.Find(`[data-testid="order-row"]`).Length()
	case strings.HasPrefix(href, "/admin/payments"):
		return doc.Find(`[data-testid="review-row"]`).Length()
	case strings.HasPrefix(href, "/admin/procurement/ot/activities"):
		return doc.Find(`[data-testid="ot-activity"]`).Length()
	case strings.HasPrefix(href, "/admin/procurement"):
		return doc.Find(`[data-testid="purchase-row"]`).Length()
	case strings.HasPrefix(href, "/admin/jobs"):
		return doc.Find(`[data-testid="job"]`).Length()
	case strings.HasPrefix(href, "/admin/messages"):
		return doc.Find(`[data-testid="message-row"]`).Length()
	}
	t.Fatalf("no list known at %s", href)
	return 0
}

// TestDashboardTodoCountsLinkToTheirLists: every count of the to-do list
// links to a list showing exactly that many rows; each role sees the items it
// can act on; nothing waiting reads as done.
func TestDashboardTodoCountsLinkToTheirLists(t *testing.T) {
	e := newEnv(t)
	dashboardWork(t, e)
	owner := e.client(t, "")
	owner.login("owner@demo.test", demoPassword)
	res, doc := owner.get("/admin/")
	wantStatus(t, res, http.StatusOK)
	items := todoCounts(t, doc)

	want := map[string]int{"confirm": 2, "unpaid": 2, "reviews": 1, "buy": -1, "needs_person": 2, "balance": 1, "jobs": 1, "messages": 2}
	for key, n := range want {
		got, ok := items[key]
		switch {
		case !ok:
			t.Errorf("the owner's list has no %s item", key)
		case n >= 0 && got.n != n:
			t.Errorf("%s: %d, want %d", key, got.n, n)
		}
	}
	if items["buy"].n < 1 {
		t.Errorf("buy: %d, want the paid orders not bought", items["buy"].n)
	}
	for key, it := range items {
		if it.n == 0 {
			if it.href != "" {
				t.Errorf("%s: nothing waits, yet it links to %s", key, it.href)
			}
			continue
		}
		t.Run(key+" links to a list of exactly its count", func(t *testing.T) {
			if got := rowsOf(t, owner, it.href); got != it.n {
				t.Errorf("%s: the dashboard says %d, %s lists %d", key, it.n, it.href, got)
			}
		})
	}

	t.Run("nothing waiting reads as done, not as a zero", func(t *testing.T) {
		if _, err := e.store.DB.W.Exec(`UPDATE outbox SET status = 'sent' WHERE tenant_id = ? AND status = 'dead'`, e.demo.ID); err != nil {
			t.Fatal(err)
		}
		_, doc := owner.get("/admin/")
		item := doc.Find(`[data-testid="todo-messages"]`)
		if got := strings.TrimSpace(item.Text()); !strings.Contains(got, "Every message was delivered") || item.Find("a").Length() != 0 {
			t.Errorf("messages, all delivered: %q", got)
		}
	})

	t.Run("each role sees what it can act on", func(t *testing.T) {
		for _, tc := range []struct {
			email      string
			see, never []string
			sales      bool
		}{
			{"owner@demo.test", []string{"confirm", "unpaid", "reviews", "buy", "needs_person", "balance", "ship", "jobs", "messages"}, nil, true},
			{"staff@demo.test", []string{"confirm", "unpaid", "ship", "messages"}, []string{"reviews", "buy", "needs_person", "balance", "jobs"}, false},
			{"operator@demo.test", []string{"buy", "needs_person", "balance", "jobs"}, []string{"confirm", "unpaid", "reviews", "ship", "messages"}, false},
		} {
			c := e.client(t, "")
			c.login(tc.email, demoPassword)
			res, doc := c.get("/admin/")
			wantStatus(t, res, http.StatusOK)
			items := todoCounts(t, doc)
			for _, k := range tc.see {
				if _, ok := items[k]; !ok {
					t.Errorf("%s does not see %s", tc.email, k)
				}
			}
			for _, k := range tc.never {
				if _, ok := items[k]; ok {
					t.Errorf("%s sees %s, which they cannot act on", tc.email, k)
				}
			}
			if got := doc.Find(`[data-testid="sales-chart"]`).Length() == 1; got != tc.sales {
				t.Errorf("%s sees the sales: %v, want %v", tc.email, got, tc.sales)
			}
		}
	})
}

// TestDashboardSalesChart: the chart has one bar per day of the last seven,
// each carrying that day's sales net of refunds and its purchase cost as a
// fresh sum of the shop's orders finds them, in the shop's time zone; the
// figures are also written out for those who do not see the chart.
func TestDashboardSalesChart(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	o := e.paidOrder(t, e.demo, "cdek")
	if _, err := e.store.DB.W.Exec(`UPDATE order_lines SET cost_minor = 12345 WHERE id = (SELECT min(id) FROM order_lines WHERE order_id = ?)`, o.ID); err != nil {
		t.Fatal(err)
	}
	// 10.00 of it refunded, through the store's refund path.
	pays, err := e.store.FindPayments(ctx, e.demo.ID, model.PaymentFilter{OrderID: o.ID})
	if err != nil || len(pays) != 1 {
		t.Fatalf("payments: %v %v", pays, err)
	}
	rf, err := e.store.ReserveRefund(ctx, e.demo, pays[0].ID, 1000, model.SystemActor)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.FinishRefund(ctx, e.demo, rf.ID, "RF-PROVIDER-1"); err != nil {
		t.Fatal(err)
	}
	owner := e.client(t, "")
	owner.login("owner@demo.test", demoPassword)
	res, doc := owner.get("/admin/")
	wantStatus(t, res, http.StatusOK)

	// A fresh sum per day of the shop's paid orders, their done refunds and
	// their lines' cost.
	loc := e.demo.Location()
	type sums struct{ sales, cost int64 }
	want := map[string]sums{}
	rows, err := e.store.DB.R.QueryContext(ctx, `SELECT o.created_at, o.total,
		(SELECT coalesce(sum(amount), 0) FROM refunds r WHERE r.order_id = o.id AND r.status = 'done'),
		(SELECT coalesce(sum(cost_minor), 0) FROM order_lines l WHERE l.order_id = o.id), o.payment_status
		FROM orders o WHERE o.tenant_id = ?`, e.demo.ID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var at time.Time
		var total, refunds, cost int64
		var pay string
		if err := rows.Scan(&at, &total, &refunds, &cost, &pay); err != nil {
			t.Fatal(err)
		}
		s := want[at.In(loc).Format("2006-01-02")]
		if pay == "paid" || pay == "partially_refunded" || pay == "refunded" {
			s.sales += total
		}
		s.sales -= refunds
		s.cost += cost
		want[at.In(loc).Format("2006-01-02")] = s
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}

	svg := doc.Find(`[data-testid="chart-svg"]`)
	if svg.AttrOr("role", "") != "img" || svg.Find("title#chart-title").Length() != 1 {
		t.Errorf("the chart is not an accessible image: role %q", svg.AttrOr("role", ""))
	}
	days := svg.Find(`[data-testid="chart-day"]`)
	if days.Length() != 7 || svg.Find(`[data-testid="chart-bar"]`).Length() != 7 {
		t.Fatalf("want one bar per day of 7, got %d days", days.Length())
	}
	today := time.Now().In(loc).Format("2006-01-02")
	var tallest, tallestSales int64
	days.Each(func(i int, g *goquery.Selection) {
		day := g.AttrOr("data-day", "")
		w := want[day]
		if got := g.AttrOr("data-sales", ""); got != strconv.FormatInt(w.sales, 10) {
			t.Errorf("%s: sales %s, want %d", day, got, w.sales)
		}
		if got := g.AttrOr("data-cost", ""); got != strconv.FormatInt(w.cost, 10) {
			t.Errorf("%s: cost %s, want %d", day, got, w.cost)
		}
		h, _ := strconv.ParseInt(g.Find(`[data-testid="chart-bar"]`).AttrOr("height", ""), 10, 64)
		if h > tallest {
			tallest, tallestSales = h, w.sales
		}
		if i == 6 && day != today {
			t.Errorf("the last bar is %s, want today %s", day, today)
		}
	})
	if tallest == 0 || want[today].sales == 0 {
		t.Fatalf("no sales drawn: tallest bar %d, today's sales %d", tallest, want[today].sales)
	}
	days.Each(func(_ int, g *goquery.Selection) {
		h, _ := strconv.ParseInt(g.Find(`[data-testid="chart-bar"]`).AttrOr("height", ""), 10, 64)
		if s := want[g.AttrOr("data-day", "")].sales; s > tallestSales {
			t.Errorf("%s: %d sold is drawn lower (%d) than the tallest bar", g.AttrOr("data-day", ""), s, h)
		}
	})
	if got := doc.Find(`[data-testid="chart-table"] [data-testid="chart-row"]`).Length(); got != 7 {
		t.Errorf("the figures' table has %d rows, want 7", got)
	}
	todayCost := doc.Find(`[data-testid="sales-today"] [data-testid="figure-cost"]`).Text()
	if !strings.Contains(strings.ReplaceAll(todayCost, "\u00a0", " "), "123,45") && !strings.Contains(todayCost, "123.45") {
		t.Errorf("today's cost: %q, want the line's 123.45", todayCost)
	}
}

// TestDashboardSessionWarningsAgree: a Taobao session that needs
// authorization says so and shows no count-down, on the dashboard and on the
// accounts page; the help text's session length is the one Taobao gave; the
// error shown on the accounts page does not send the operator to it.
func TestDashboardSessionWarningsAgree(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	op := e.client(t, "")
	op.login("operator@demo.test", demoPassword)
	e.connectAccount(t, op, "authorize")
	accounts, err := e.store.FindTaobaoAccounts(ctx, e.demo.ID)
	if err != nil || len(accounts) != 1 {
		t.Fatalf("accounts: %v %v", accounts, err)
	}
	acct := accounts[0]
	length := acct.RefreshExpiresAt.Sub(acct.ObtainedAt).Round(time.Hour)

	t.Run("the help text says how long Taobao's session lasts", func(t *testing.T) {
		_, doc := op.get("/admin/procurement/accounts")
		help := doc.Find(`[data-testid="session-length-help"]`).Text()
		wantLen := strconv.Itoa(int(length/(24*time.Hour))) + " days"
		if length < 48*time.Hour {
			wantLen = strconv.Itoa(int(length/time.Hour)) + " h"
		}
		if !strings.Contains(help, "lasts "+wantLen) {
			t.Errorf("help: %q, want the session's %s", help, wantLen)
		}
		if strings.Contains(help, "about a day") && length != 24*time.Hour {
			t.Errorf("help says about a day, the session lasts %s", length)
		}
	})

	// Taobao refused the session long before its end.
	reason := taobao.Explain(&taobao.Error{Code: "IllegalRefreshToken", Message: "invalid refresh token"})
	if err := e.store.MarkAccountNeedsAuthorization(ctx, e.demo.ID, acct.ID, reason); err != nil {
		t.Fatal(err)
	}
	t.Run("the dashboard says needs authorization, with no count-down", func(t *testing.T) {
		_, doc := op.get("/admin/")
		w := doc.Find(`[data-testid="warn-account"]`)
		if w.Length() != 1 || !strings.Contains(w.Text(), "needs authorization") {
			t.Fatalf("dashboard warning: %q", w.Text())
		}
		if w.Find(`[data-testid="session-countdown"]`).Length() != 0 || strings.Contains(w.Text(), " in ") {
			t.Errorf("a session needing authorization is counted down: %q", w.Text())
		}
		if w.Find(`a[href="/admin/procurement/accounts"]`).Length() != 1 {
			t.Errorf("the warning does not link to the accounts page: %q", w.Text())
		}
	})
	t.Run("the accounts page agrees and does not send the operator to itself", func(t *testing.T) {
		_, doc := op.get("/admin/procurement/accounts")
		row := doc.Find(`[data-testid="account-row"]`)
		if got := row.Find(`[data-testid="account-state"]`).Text(); got != "needs authorization" {
			t.Errorf("state: %q", got)
		}
		if row.Find(`[data-testid="account-countdown"]`).Length() != 0 {
			t.Errorf("the page counts down a session that needs authorization: %q", row.Text())
		}
		if !strings.Contains(reason, "Procurement → Accounts") {
			t.Fatalf("the provider's words changed: %q", reason)
		}
		if strings.Contains(doc.Find("main").Text(), "Procurement → Accounts") {
			t.Errorf("the accounts page tells the operator to go to the accounts page: %q", row.Text())
		}
	})
}
