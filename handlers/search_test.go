package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"orderdesk/model"
)

// deskNumbers are the order numbers a desk page lists, in its order.
func deskNumbers(doc *goquery.Document) []string {
	var out []string
	doc.Find(`[data-testid="order-number"]`).Each(func(_ int, s *goquery.Selection) { out = append(out, s.Text()) })
	return out
}

// apiNumbers are the order numbers of an API list answer, in its order.
func apiNumbers(body map[string]any) []string {
	var out []string
	list, _ := body["orders"].([]any)
	for _, o := range list {
		out = append(out, fmt.Sprint(o.(map[string]any)["order_number"]))
	}
	return out
}

// Staff find the orders of a supplier's order or parcel on the desk and in
// the API, whichever channel bought them: one supplier order can hold lines
// of several customer orders, and another shop's numbers find nothing even
// when they are the same text.
func TestOrderSearchBySupplierOrderAndWaybill(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	staff := e.client(t, "")
	staff.login("staff@demo.test", demoPassword)

	first := e.boughtOrder(t, e.demo, "cdek")
	// A later order whose first line the supplier put in first's order.
	second := e.boughtOrder(t, e.demo, "cdek")
	shared := first.Lines[0].PurchaseID
	if err := e.store.SetLineProcurement(ctx, e.demo, second.Lines[0].ID, model.ProcShipped, model.JobActor("purchase-status"), shared, "", "", ""); err != nil {
		t.Fatal(err)
	}
	// The Turkish shop: an order of its own, and a line whose supplier order
	// has the same id as demo's (another channel's numbering, say).
	tr := e.tenant(t, model.DemoTurkishSlug)
	other := e.boughtOrder(t, tr, "cdek")
	if err := e.store.SetLineProcurement(ctx, tr, other.Lines[1].ID, model.ProcShipped, model.JobActor("purchase-status"), shared, "", "", ""); err != nil {
		t.Fatal(err)
	}
	both := []string{second.Number, first.Number} // newest first

	t.Run("the desk lists the orders of a supplier's order and keeps the search in its links", func(t *testing.T) {
		res, doc := staff.get("/admin/orders?purchase_id=" + url.QueryEscape(shared))
		wantStatus(t, res, http.StatusOK)
		if got := deskNumbers(doc); strings.Join(got, ",") != strings.Join(both, ",") {
			t.Errorf("orders of supplier order %s: got %v, want %v", shared, got, both)
		}
		if v, _ := doc.Find(`#f-purchase`).Attr("value"); v != shared {
			t.Errorf("the field shows %q, want %q", v, shared)
		}
		for _, sel := range []string{`[data-testid="tab-confirmed"]`, `[data-testid="export-csv"]`} {
			href, _ := doc.Find(sel).Attr("href")
			u, err := url.Parse(href)
			if err != nil || u.Query().Get("purchase_id") != shared {
				t.Errorf("%s links to %q, without the search", sel, href)
			}
		}
		res, body := staff.do("GET", "/admin/orders/export.csv?purchase_id="+url.QueryEscape(shared), nil, nil)
		wantStatus(t, res, http.StatusOK)
		if rows := strings.Count(strings.TrimSpace(body), "\n"); rows != 2 || !strings.Contains(body, first.Number) || !strings.Contains(body, second.Number) {
			t.Errorf("the export of the search has %d rows:\n%s", rows, body)
		}
	})

	t.Run("the desk's filter form finds an order by its waybill through htmx", func(t *testing.T) {
		track := first.Lines[1].SupplierTrack
		res, body := staff.do("GET", "/admin/orders?status=&waybill="+url.QueryEscape("  "+track+" "), nil, http.Header{"Hx-Request": {"true"}})
		wantStatus(t, res, http.StatusOK)
		doc := parseHTML(t, body)
		if doc.Find(`[data-testid="orders-filter"]`).Length() != 0 {
			t.Error("htmx got the whole page, want the results")
		}
		if got := deskNumbers(doc); len(got) != 1 || got[0] != first.Number {
			t.Errorf("orders with waybill %s: got %v, want %s", track, got, first.Number)
		}
	})

	t.Run("the API pages through the orders of a supplier's order", func(t *testing.T) {
		res, body := staff.api("GET", "/api/orders/?limit=1&purchase_id="+url.QueryEscape(shared), nil)
		wantStatus(t, res, http.StatusOK)
		got := apiNumbers(body)
		next, _ := body["next"].(string)
		if next == "" {
			t.Fatalf("page 1 of 2 has no next: %v", body)
		}
		res, body = staff.api("GET", "/api/orders/?limit=1&purchase_id="+url.QueryEscape(shared)+"&after="+next, nil)
		wantStatus(t, res, http.StatusOK)
		got = append(got, apiNumbers(body)...)
		if strings.Join(got, ",") != strings.Join(both, ",") || body["next"] != nil {
			t.Errorf("pages: got %v (next %v), want %v", got, body["next"], both)
		}
		res, body = staff.api("GET", "/api/orders/?waybill="+url.QueryEscape(second.Lines[1].SupplierTrack), nil)
		wantStatus(t, res, http.StatusOK)
		if got := apiNumbers(body); len(got) != 1 || got[0] != second.Number {
			t.Errorf("by waybill: got %v, want %s", got, second.Number)
		}
	})

	t.Run("another shop's supplier order and waybill find nothing", func(t *testing.T) {
		for _, q := range []string{"purchase_id=" + url.QueryEscape(other.Lines[0].PurchaseID), "waybill=" + url.QueryEscape(other.Lines[0].SupplierTrack)} {
			res, doc := staff.get("/admin/orders?" + q)
			wantStatus(t, res, http.StatusOK)
			if got := deskNumbers(doc); len(got) != 0 || doc.Find(`[data-testid="orders-empty"]`).Length() != 1 {
				t.Errorf("desk ?%s lists %v", q, got)
			}
			res, body := staff.api("GET", "/api/orders/?"+q, nil)
			wantStatus(t, res, http.StatusOK)
			if got := apiNumbers(body); len(got) != 0 {
				t.Errorf("API ?%s lists %v", q, got)
			}
		}
		// The same text in both shops: each finds its own.
		owner := e.client(t, "demo-tr.localhost")
		owner.login("owner@demo.test", demoPassword)
		res, body := owner.api("GET", "/api/orders/?purchase_id="+url.QueryEscape(shared), nil)
		wantStatus(t, res, http.StatusOK)
		if got := apiNumbers(body); len(got) != 1 || got[0] != other.Number {
			t.Errorf("the Turkish shop's search for %s: got %v, want only %s", shared, got, other.Number)
		}
	})

	t.Run("a number longer than any supplier's is refused by its field", func(t *testing.T) {
		long := strings.Repeat("7", model.MaxScanCodeLen+1)
		res, doc := staff.get("/admin/orders?waybill=" + long)
		wantStatus(t, res, http.StatusOK)
		if doc.Find(`[data-testid="error-waybill"]`).Length() != 1 {
			t.Error("no error by the waybill field")
		}
		res, body := staff.api("GET", "/api/orders/?purchase_id="+long, nil)
		wantStatus(t, res, http.StatusUnprocessableEntity)
		if get(body, "errors", "purchase_id") == nil || body["success"] != false {
			t.Errorf("API: %v", body)
		}
	})

	t.Run("a customer cannot search by the shop's purchases", func(t *testing.T) {
		customer := e.client(t, "")
		customer.apiLogin(model.DemoCustomerEmail, demoPassword)
		res, body := customer.api("GET", "/api/orders/?purchase_id="+url.QueryEscape(shared), nil)
		wantStatus(t, res, http.StatusUnprocessableEntity)
		if get(body, "errors", "purchase_id") == nil {
			t.Errorf("customer's search: %v", body)
		}
	})
}

// A parameter the order list does not take is refused, naming it, instead
// of listing every order as if they all matched.
func TestOrderListRefusesUnknownParameters(t *testing.T) {
	e := newEnv(t)
	staff := e.client(t, "")
	staff.login("staff@demo.test", demoPassword)

	t.Run("the API answers 400 naming the parameter", func(t *testing.T) {
		res, body := staff.api("GET", "/api/orders/?status=confirmed&supplier_order=2994830011", nil)
		wantStatus(t, res, http.StatusUnprocessableEntity)
		if body["success"] != false || get(body, "errors", "supplier_order") == nil || !strings.Contains(fmt.Sprint(body["message"]), "supplier_order") {
			t.Errorf("answer: %v", body)
		}
		if body["orders"] != nil {
			t.Errorf("orders listed anyway: %v", body["orders"])
		}
	})

	t.Run("the desk says so, lists nothing, and offers the list without it", func(t *testing.T) {
		res, doc := staff.get("/admin/orders?status=confirmed&waybil=YT7418529630")
		wantStatus(t, res, http.StatusUnprocessableEntity)
		notice := doc.Find(`[data-testid="unknown-filter"]`)
		if !strings.Contains(notice.Text(), "waybil") {
			t.Errorf("notice: %q", notice.Text())
		}
		if got := deskNumbers(doc); len(got) != 0 {
			t.Errorf("orders listed anyway: %v", got)
		}
		href, _ := notice.Find("a").Attr("href")
		if href != "/admin/orders?status=confirmed" {
			t.Errorf("the way out: %q", href)
		}
		if tab, _ := doc.Find(`[data-testid="tab-all"]`).Attr("href"); strings.Contains(tab, "waybil") {
			t.Errorf("the tabs keep the unknown parameter: %q", tab)
		}
		res, body := staff.do("GET", "/admin/orders?waybil=YT7418529630", nil, http.Header{"Hx-Request": {"true"}})
		wantStatus(t, res, http.StatusOK) // htmx swaps only 2xx
		if !strings.Contains(parseHTML(t, body).Find(`[data-testid="unknown-filter"]`).Text(), "waybil") {
			t.Errorf("htmx answer: %s", body)
		}
	})

	t.Run("the CSV export is refused", func(t *testing.T) {
		res, body := staff.do("GET", "/admin/orders/export.csv?waybil=YT7418529630", nil, nil)
		wantStatus(t, res, http.StatusUnprocessableEntity)
		if !strings.Contains(body, "waybil") {
			t.Errorf("the refusal does not name the parameter: %s", body)
		}
	})

	t.Run("a bulk change's own fields are not filters, and the filters it posts along apply", func(t *testing.T) {
		pending := demoOrders(t, e, model.OrderFilter{Status: model.OrderPending})
		res, doc := staff.postForm("/admin/orders/bulk", url.Values{"ids": {itoa(pending[0].ID)}, "to": {"holded"}, "status": {"pending"}})
		wantStatus(t, res, http.StatusOK)
		if doc.Find(`[data-testid="unknown-filter"]`).Length() != 0 || !strings.Contains(doc.Find(`[data-testid="bulk-result"]`).Text(), "1 of 1") {
			t.Errorf("bulk answer: %s", doc.Find(`#orders-results`).Text())
		}
		// The pending orders that are left: the one just held is not among them.
		rows := doc.Find(`[data-testid="order-row"]`)
		if rows.Length() != len(pending)-1 {
			t.Errorf("the list after the change has %d orders, want the %d pending left", rows.Length(), len(pending)-1)
		}
		rows.Each(func(_ int, s *goquery.Selection) {
			if st, _ := s.Attr("data-status"); st != "pending" {
				t.Errorf("a %s order in the pending list after the change", st)
			}
		})
	})
}

// The API's order answer gives staff each line's procurement, as the jobs
// recorded it buying from the Taobao sandbox; a customer sees none of it.
func TestAPIOrderLinesCarryProcurement(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	op := e.client(t, "")
	op.login("operator@demo.test", demoPassword)
	e.connectAccount(t, op, "authorize")
	staff := e.client(t, "")
	staff.login("staff@demo.test", demoPassword)

	o := e.paidOrder(t, e.demo, "cdek")
	e.runJob(t, op, "orders-to-taobao")
	e.runJob(t, op, "pay-purchases")
	bought := e.order(t, o.ID)
	var purchase int64
	if _, err := fmt.Sscan(bought.Lines[0].PurchaseID, &purchase); err != nil {
		t.Fatalf("purchase id %q: %v", bought.Lines[0].PurchaseID, err)
	}
	if err := e.sandboxes.Taobao.Ship(purchase); err != nil {
		t.Fatal(err)
	}
	e.runJob(t, op, "purchase-status")
	shipped := e.order(t, o.ID)
	line := shipped.Lines[0]
	if line.SupplierTrack == "" || line.ProcurementStatus != model.ProcShipped {
		t.Fatalf("the supplier's leg: %s, track %q", line.ProcurementStatus, line.SupplierTrack)
	}
	if res, _ := scan(t, staff, line.SupplierTrack); res.StatusCode != http.StatusOK {
		t.Fatalf("scan: %d", res.StatusCode)
	}
	if err := e.store.RecordProcurementError(ctx, e.demo, o.ID, []int64{shipped.Lines[1].ID}, "The seller has no more of this size.", model.JobActor("purchase-status")); err != nil {
		t.Fatal(err)
	}
	products, err := e.store.FindProducts(ctx, e.demo.ID)
	if err != nil {
		t.Fatal(err)
	}
	unitFen := map[int64]int64{}
	for _, p := range products {
		unitFen[p.ID] = p.CostFen
	}

	check := func(t *testing.T, item map[string]any) {
		t.Helper()
		p, _ := item["procurement"].(map[string]any)
		if p == nil {
			t.Fatalf("no procurement on the line: %v", item)
		}
		fen := unitFen[line.ProductID] * int64(line.Quantity)
		want := map[string]any{
			"procurement_status": "shipped", "procurement_status_display": model.ProcShipped.Label(e.demo.Language),
			"purchase_id": line.PurchaseID, "supplier_track": line.SupplierTrack, "supplier_status_raw": line.SupplierStatusRaw,
			"procurement_error": nil, "cost": model.FormatAmount(fen), "cost_currency": "CNY",
			"cost_converted": model.FormatAmount(model.CNYToMinor(fen, e.demo.CNYRateMicro)),
		}
		for k, v := range want {
			if p[k] != v {
				t.Errorf("%s: got %v, want %v", k, p[k], v)
			}
		}
		if fen == 0 || line.SupplierStatusRaw == "" {
			t.Errorf("the purchase recorded no cost (%d) or supplier status (%q)", fen, line.SupplierStatusRaw)
		}
		if p["arrived_at"] == nil {
			t.Error("arrived_at is null after the scan")
		}
	}

	t.Run("an order's lines", func(t *testing.T) {
		res, body := staff.api("GET", "/api/orders/"+itoa(o.ID)+"/", nil)
		wantStatus(t, res, http.StatusOK)
		items, _ := get(body, "order", "items").([]any)
		if len(items) != 2 {
			t.Fatalf("items: %v", get(body, "order", "items"))
		}
		check(t, items[0].(map[string]any))
		if got := get(items[1].(map[string]any), "procurement", "procurement_error"); got != "The seller has no more of this size." {
			t.Errorf("the second line's error: %v", got)
		}
		if got := get(items[1].(map[string]any), "procurement", "arrived_at"); got != nil {
			t.Errorf("the second line arrived at %v, before any scan", got)
		}
	})

	t.Run("the list's orders carry their lines too", func(t *testing.T) {
		res, body := staff.api("GET", "/api/orders/?purchase_id="+url.QueryEscape(line.PurchaseID), nil)
		wantStatus(t, res, http.StatusOK)
		list, _ := body["orders"].([]any)
		if len(list) != 1 {
			t.Fatalf("orders: %v", body["orders"])
		}
		items, _ := list[0].(map[string]any)["items"].([]any)
		if len(items) != 2 {
			t.Fatalf("items: %v", list[0])
		}
		check(t, items[0].(map[string]any))
	})

	t.Run("a customer sees their order without the shop's purchase", func(t *testing.T) {
		mine := demoOrders(t, e, model.OrderFilter{Email: model.DemoCustomerEmail})[0]
		full := e.order(t, mine.ID)
		if err := e.store.SetLineProcurement(ctx, e.demo, full.Lines[0].ID, model.ProcCreated, model.JobActor("orders-to-taobao"), "2994830011", "", "WAIT_SELLER_SEND_GOODS", ""); err != nil {
			t.Fatal(err)
		}
		customer := e.client(t, "")
		customer.apiLogin(model.DemoCustomerEmail, demoPassword)
		res, body := customer.api("GET", "/api/orders/"+itoa(mine.ID)+"/", nil)
		wantStatus(t, res, http.StatusOK)
		if raw := fmt.Sprint(body); strings.Contains(raw, "2994830011") || strings.Contains(raw, "procurement_error") || strings.Contains(raw, "WAIT_SELLER") {
			t.Errorf("the customer sees the shop's purchase: %v", body)
		}
		res, body = staff.api("GET", "/api/orders/"+itoa(mine.ID)+"/", nil)
		wantStatus(t, res, http.StatusOK)
		if got := get(get(body, "order", "items").([]any)[0].(map[string]any), "procurement", "purchase_id"); got != "2994830011" {
			t.Errorf("staff see purchase %v", got)
		}
	})
}
