package handlers_test

import (
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"orderdesk/model"
)

func demoOrders(t *testing.T, e *env, f model.OrderFilter) []*model.Order {
	t.Helper()
	f.Limit = 500
	page, err := e.store.FindOrders(context.Background(), e.demo.ID, f)
	if err != nil {
		t.Fatal(err)
	}
	return page.Orders
}

func TestOrderDesk(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, "")
	c.login("staff@demo.test", demoPassword)

	t.Run("the list shows every order with tabs counting each status", func(t *testing.T) {
		res, doc := c.get("/admin/orders")
		wantStatus(t, res, http.StatusOK)
		all := demoOrders(t, e, model.OrderFilter{})
		if got := doc.Find(`[data-testid="order-row"]`).Length(); got != min(len(all), 50) {
			t.Errorf("rows: got %d, want %d", got, min(len(all), 50))
		}
		confirmed := demoOrders(t, e, model.OrderFilter{Status: model.OrderConfirmed})
		if got := strings.TrimSpace(doc.Find(`[data-testid="tab-confirmed"] .badge`).Text()); got != strconv.Itoa(len(confirmed)) {
			t.Errorf("confirmed tab count: got %s, want %d", got, len(confirmed))
		}
	})

	t.Run("a filter is a shareable link, and htmx gets only the results", func(t *testing.T) {
		res, body := c.do("GET", "/admin/orders?status=confirmed", nil, http.Header{"Hx-Request": {"true"}})
		wantStatus(t, res, http.StatusOK)
		if strings.Contains(body, "<html") || !strings.Contains(body, `id="orders-results"`) || strings.Contains(body, `data-testid="orders-filter"`) {
			t.Errorf("htmx answer is not the results fragment")
		}
		if !contains(res.Header.Values("Vary"), "HX-Request") {
			t.Error("no Vary: HX-Request")
		}
		doc := parseHTML(t, body)
		rows := doc.Find(`[data-testid="order-row"]`)
		if rows.Length() == 0 {
			t.Fatal("no confirmed orders listed")
		}
		rows.Each(func(_ int, s *goquery.Selection) {
			if st, _ := s.Attr("data-status"); st != "confirmed" {
				t.Errorf("row with status %s in the confirmed list", st)
			}
		})
		res, full := c.get("/admin/orders?status=confirmed")
		wantStatus(t, res, http.StatusOK)
		if v, _ := full.Find(`#f-status option[selected]`).Attr("value"); v != "confirmed" {
			t.Errorf("the full page does not show the filter as chosen: %q", v)
		}
	})

	t.Run("keyset pages neither repeat nor skip orders", func(t *testing.T) {
		seen := map[string]bool{}
		next := "/admin/orders?limit=7&sort=total_desc"
		var lastTotal int64 = 1 << 62
		pages := 0
		for next != "" && pages < 20 {
			res, doc := c.get(next)
			wantStatus(t, res, http.StatusOK)
			doc.Find(`[data-testid="order-number"]`).Each(func(_ int, s *goquery.Selection) {
				if seen[s.Text()] {
					t.Errorf("order %s on two pages", s.Text())
				}
				seen[s.Text()] = true
			})
			doc.Find(`[data-testid="order-row"] td:last-child`).Each(func(_ int, s *goquery.Selection) {
				amount, _ := model.ParseAmount(strings.Fields(s.Text())[0])
				if amount > lastTotal {
					t.Errorf("totals not descending: %d after %d", amount, lastTotal)
				}
				lastTotal = amount
			})
			next, _ = doc.Find(`[data-testid="next-page"]`).Attr("href")
			pages++
		}
		if want := len(demoOrders(t, e, model.OrderFilter{})); len(seen) != want {
			t.Errorf("pages covered %d orders, want %d", len(seen), want)
		}
	})

	t.Run("a bad filter is shown by its field", func(t *testing.T) {
		res, doc := c.get("/admin/orders?created_from=yesterday")
		wantStatus(t, res, http.StatusOK)
		if doc.Find(`[data-testid="error-created_from"]`).Length() != 1 {
			t.Error("no error by the date field")
		}
		res, body := c.api("GET", "/api/orders/?status=flying", nil)
		wantStatus(t, res, http.StatusUnprocessableEntity)
		if get(body, "errors", "status") == nil {
			t.Errorf("API filter error: %v", body)
		}
	})

	t.Run("the order page offers only the allowed next statuses and changes through htmx", func(t *testing.T) {
		o := demoOrders(t, e, model.OrderFilter{Status: model.OrderPending})[0]
		res, doc := c.get("/admin/orders/" + itoa(o.ID))
		wantStatus(t, res, http.StatusOK)
		var offered []string
		doc.Find(`[data-testid="status-select"] option`).Each(func(_ int, s *goquery.Selection) {
			v, _ := s.Attr("value")
			offered = append(offered, v)
		})
		if got, want := strings.Join(offered, ","), "confirmed,holded,cancelled"; got != want {
			t.Errorf("offered statuses: got %s, want %s", got, want)
		}
		form := url.Values{"status": {"confirmed"}, "note": {"checked by phone"}, "_csrf": {c.csrf()}}
		res, body := c.do("POST", "/admin/orders/"+itoa(o.ID)+"/status", strings.NewReader(form.Encode()),
			http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Hx-Request": {"true"}})
		wantStatus(t, res, http.StatusOK)
		part := parseHTML(t, body)
		if got := part.Find(`[data-testid="detail-status"]`).Text(); got != "Confirmed" {
			t.Errorf("status after change: %q", got)
		}
		if !strings.Contains(part.Find(`[data-testid="timeline"]`).Text(), "checked by phone") {
			t.Error("the timeline lacks the change's note")
		}
		// Shipped without a tracking number is refused inline, keeping what was typed.
		form = url.Values{"status": {"shipped"}, "tracking_carrier": {"aras"}, "_csrf": {c.csrf()}}
		res, body = c.do("POST", "/admin/orders/"+itoa(o.ID)+"/status", strings.NewReader(form.Encode()),
			http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Hx-Request": {"true"}})
		wantStatus(t, res, http.StatusOK)
		part = parseHTML(t, body)
		if part.Find(`[data-testid="error-tracking_number"]`).Length() != 1 {
			t.Errorf("no error by the tracking number: %s", body)
		}
		if v, _ := part.Find(`#tracking_carrier`).Attr("value"); v != "aras" {
			t.Errorf("carrier not kept: %q", v)
		}
		// Without htmx, a refused change is the page with 409.
		done := demoOrders(t, e, model.OrderFilter{Status: model.OrderCompleted})[0]
		res, doc = c.postForm("/admin/orders/"+itoa(done.ID)+"/status", url.Values{"status": {"pending"}})
		wantStatus(t, res, http.StatusConflict)
		if !strings.Contains(doc.Find(`[data-testid="status-error"]`).Text(), "cannot change") {
			t.Error("no inline refusal")
		}
	})

	t.Run("bulk change says which orders changed and which were refused", func(t *testing.T) {
		pending := demoOrders(t, e, model.OrderFilter{Status: model.OrderPending})[0]
		completed := demoOrders(t, e, model.OrderFilter{Status: model.OrderCompleted})[0]
		res, doc := c.postForm("/admin/orders/bulk", url.Values{"ids": {itoa(pending.ID), itoa(completed.ID)}, "to": {"holded"}})
		wantStatus(t, res, http.StatusOK)
		result := doc.Find(`[data-testid="bulk-result"]`).Text()
		if !strings.Contains(result, "1 of 2") || !strings.Contains(result, completed.Number+": An order whose order status is \"Completed\" cannot change") {
			t.Errorf("bulk result: %s", result)
		}
		if o, _ := e.store.FindOrderByID(context.Background(), e.demo.ID, pending.ID); o.Status != model.OrderHolded {
			t.Errorf("pending order now %s, want holded", o.Status)
		}
	})

	t.Run("the CSV export has the filtered orders", func(t *testing.T) {
		res, body := c.do("GET", "/admin/orders/export.csv?status=shipped", nil, nil)
		wantStatus(t, res, http.StatusOK)
		if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
			t.Errorf("content type %s", res.Header.Get("Content-Type"))
		}
		rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		shipped := demoOrders(t, e, model.OrderFilter{Status: model.OrderShipped})
		if len(rows) != len(shipped)+1 {
			t.Fatalf("csv rows: got %d, want %d + header", len(rows), len(shipped))
		}
		for _, r := range rows[1:] {
			if r[3] != "shipped" || r[13] == "" {
				t.Errorf("csv row %v", r)
			}
		}
	})

	t.Run("another tenant's staff get 404 for demo's orders", func(t *testing.T) {
		ctx := context.Background()
		shop2, _ := e.store.CreateTenant(ctx, model.NewTenant{Slug: "shop2", Name: "Shop Two"})
		e.store.CreateUser(ctx, shop2.ID, model.NewUser{Email: "staff@shop2.test", Role: model.RoleStaff, Password: "shop2-password"})
		s2 := e.client(t, "shop2.localhost")
		s2.login("staff@shop2.test", "shop2-password")
		o := demoOrders(t, e, model.OrderFilter{})[0]
		res, _ := s2.get("/admin/orders/" + itoa(o.ID))
		wantStatus(t, res, http.StatusNotFound)
		res, _ = s2.postForm("/admin/orders/"+itoa(o.ID)+"/status", url.Values{"status": {"cancelled"}})
		wantStatus(t, res, http.StatusNotFound)
		_, doc := s2.get("/admin/orders")
		if n := doc.Find(`[data-testid="order-row"]`).Length(); n != 0 {
			t.Errorf("shop2's desk lists %d of demo's orders", n)
		}
	})
}

func TestOrderSettingsPage(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, "")
	c.login("owner@demo.test", demoPassword)
	res, doc := c.get("/admin/settings/orders")
	wantStatus(t, res, http.StatusOK)
	if v, _ := doc.Find("#cny_rate").Attr("value"); v != "12.50" {
		t.Errorf("rate shown as %q", v)
	}
	form := url.Values{"unpaid_expiry_minutes": {"90"}, "unpaid_expiry_batch": {"10"}, "bonus_earn_percent": {"3"},
		"bonus_max_share_percent": {"20"}, "order_increment_start": {"1200000000"}, "cny_rate": {"13.10"},
		"required": {"first_name", "email", "telephone", "city"}}
	res, _ = c.postForm("/admin/settings/orders", form)
	wantStatus(t, res, http.StatusSeeOther)
	got, _ := e.store.FindTenantBySlug(context.Background(), "demo")
	if got.UnpaidExpiryMinutes != 90 || got.UnpaidExpiryBatch != 10 || got.CNYRateMicro != 13_100_000 || len(got.RequiredAddressFields) != 4 {
		t.Errorf("saved settings: %+v", got.OrderSettings)
	}
	// The next order gets a number from the new start.
	shopper := e.client(t, "")
	o := e.placeOrder(t, shopper)
	if o.IncrementID != 1200000000 {
		t.Errorf("increment id %d, want 1200000000", o.IncrementID)
	}
	// Bad values come back by their fields.
	form.Set("unpaid_expiry_minutes", "0")
	form.Set("cny_rate", "abc")
	res, doc = c.postForm("/admin/settings/orders", form)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if doc.Find(`[data-testid="error-unpaid_expiry_minutes"]`).Length() != 1 || doc.Find(`[data-testid="error-cny_rate"]`).Length() != 1 {
		t.Error("errors not shown by the fields")
	}
}
