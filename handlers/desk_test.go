package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"orderdesk/model"
)

// placeOrdersAt places one demo order at each of the times, in that order (so
// that ids and times need not agree, as with an import or the demo history).
func (e *env) placeOrdersAt(t *testing.T, times ...time.Time) []*model.Order {
	t.Helper()
	ctx := context.Background()
	products, err := e.store.FindProducts(ctx, e.demo.ID)
	if err != nil {
		t.Fatal(err)
	}
	shipping, err := e.store.FindShippingMethods(ctx, e.demo.ID)
	if err != nil {
		t.Fatal(err)
	}
	var out []*model.Order
	for i, at := range times {
		s := *e.store
		s.Now = func() time.Time { return at }
		cart, err := s.EnsureCart(ctx, e.demo.ID, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.AddToCart(ctx, e.demo.ID, cart, products[i%len(products)].ID, 1); err != nil {
			t.Fatal(err)
		}
		o, err := s.PlaceOrder(ctx, e.demo, model.PlaceOrderInput{CartID: cart, ShippingMethodID: shipping[0].ID,
			Address: model.Address{FirstName: "Maria", LastName: "Ivanova", Email: fmt.Sprintf("maria%d@example.com", i), Telephone: "+79990001122",
				Street1: "1 Tverskaya", City: "Moscow", State: "Moscow", Zip: "125009", Country: "RU"}})
		if err != nil {
			t.Fatalf("order %d at %s: %v", i, at, err)
		}
		out = append(out, o)
	}
	return out
}

// deskPage is what one page of the desk lists: the orders' numbers and when
// each was placed, the range text and the links to the pages around it.
type deskPage struct {
	numbers    []string
	created    []time.Time
	rangeText  string
	prev, next string
}

func readDesk(t *testing.T, c *client, path string) deskPage {
	t.Helper()
	res, doc := c.get(path)
	wantStatus(t, res, http.StatusOK)
	var p deskPage
	doc.Find(`[data-testid="order-row"]`).Each(func(_ int, s *goquery.Selection) {
		p.numbers = append(p.numbers, s.Find(`[data-testid="order-number"]`).Text())
		v, _ := s.Find(`[data-testid="order-created"]`).Attr("data-created")
		at, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			t.Fatalf("row's time %q: %v", v, err)
		}
		p.created = append(p.created, at)
	})
	p.rangeText = strings.TrimSpace(doc.Find(`[data-testid="page-range"]`).Text())
	p.prev, _ = doc.Find(`[data-testid="prev-page"]`).Attr("href")
	p.next, _ = doc.Find(`[data-testid="next-page"]`).Attr("href")
	return p
}

func TestDeskListsNewestFirstAcrossDays(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, "")
	c.login("staff@demo.test", demoPassword)
	// Placed out of order: ids say 3, 1, 2 days ago; the list must not.
	now := time.Now().UTC()
	e.placeOrdersAt(t, now.Add(-72*time.Hour), now.Add(-24*time.Hour), now.Add(-48*time.Hour), now.Add(-time.Minute))
	all := demoOrders(t, e, model.OrderFilter{})
	seen := map[string]bool{}
	var last time.Time
	next := "/admin/orders?limit=10"
	for pages := 0; next != "" && pages < 50; pages++ {
		p := readDesk(t, c, next)
		for i, at := range p.created {
			if !last.IsZero() && at.After(last) {
				t.Errorf("%s placed %s listed after one placed %s", p.numbers[i], at, last)
			}
			if seen[p.numbers[i]] {
				t.Errorf("%s on two pages", p.numbers[i])
			}
			seen[p.numbers[i]], last = true, at
		}
		next = p.next
	}
	if len(seen) != len(all) {
		t.Errorf("the pages listed %d orders, want %d", len(seen), len(all))
	}
	first := readDesk(t, c, "/admin/orders")
	if want := now.Add(-time.Minute); !first.created[0].Equal(want.Truncate(time.Nanosecond)) && first.created[0].Before(want.Add(-time.Second)) {
		t.Errorf("the desk opens on an order placed %s, want the newest, %s", first.created[0], want)
	}
	oldest := readDesk(t, c, "/admin/orders?sort=oldest&limit=500")
	for i := 1; i < len(oldest.created); i++ {
		if oldest.created[i].Before(oldest.created[i-1]) {
			t.Fatalf("oldest first: %s after %s", oldest.created[i], oldest.created[i-1])
		}
	}
}

func TestDeskPagesSayWhereTheyAre(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, "")
	c.login("staff@demo.test", demoPassword)
	times := make([]time.Time, 120)
	for i := range times {
		times[i] = time.Now().UTC().Add(-time.Duration(i) * time.Hour)
	}
	e.placeOrdersAt(t, times...)
	total := len(demoOrders(t, e, model.OrderFilter{}))
	if total < 150 {
		t.Fatalf("only %d orders", total)
	}
	p1 := readDesk(t, c, "/admin/orders")
	if want := fmt.Sprintf("1–50 of %d", total); p1.rangeText != want {
		t.Errorf("first page: got %q, want %q", p1.rangeText, want)
	}
	if p1.prev != "" || p1.next == "" {
		t.Errorf("first page: previous %q, next %q", p1.prev, p1.next)
	}
	p2 := readDesk(t, c, p1.next)
	if want := fmt.Sprintf("51–100 of %d", total); p2.rangeText != want {
		t.Errorf("second page: got %q, want %q", p2.rangeText, want)
	}
	if p2.prev != "/admin/orders" {
		t.Errorf("second page's Previous: got %q, want the first page", p2.prev)
	}
	p3 := readDesk(t, c, p2.next)
	if want := fmt.Sprintf("101–150 of %d", total); p3.rangeText != want {
		t.Errorf("third page: got %q, want %q", p3.rangeText, want)
	}
	back := readDesk(t, c, p3.prev)
	if back.rangeText != p2.rangeText || strings.Join(back.numbers, ",") != strings.Join(p2.numbers, ",") {
		t.Errorf("Previous from the third page: %q %v, want the second page %v", back.rangeText, back.numbers[:3], p2.numbers[:3])
	}
	if back := readDesk(t, c, p2.prev); strings.Join(back.numbers, ",") != strings.Join(p1.numbers, ",") {
		t.Error("Previous from the second page is not the first page")
	}
	// A status's list counts that status's orders.
	confirmed := len(demoOrders(t, e, model.OrderFilter{Status: model.OrderConfirmed}))
	if p := readDesk(t, c, "/admin/orders?status=confirmed"); p.rangeText != fmt.Sprintf("1–%d of %d", confirmed, confirmed) {
		t.Errorf("confirmed: %q, want 1–%d of %d", p.rangeText, confirmed, confirmed)
	}
}

func TestDeskTabsShowWhichIsOpen(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, "")
	c.login("staff@demo.test", demoPassword)
	for _, tc := range []struct{ path, open string }{
		{"/admin/orders", "tab-all"},
		{"/admin/orders?status=confirmed", "tab-confirmed"},
		{"/admin/orders?ready=1", "tab-ready"},
	} {
		t.Run(tc.open+" is marked open on "+tc.path, func(t *testing.T) {
			res, doc := c.get(tc.path)
			wantStatus(t, res, http.StatusOK)
			var current []string
			doc.Find(`[data-testid="status-tabs"] a[aria-current="page"]`).Each(func(_ int, s *goquery.Selection) {
				id, _ := s.Attr("data-testid")
				current = append(current, id)
			})
			if strings.Join(current, ",") != tc.open {
				t.Errorf("tabs marked open: %v, want %s", current, tc.open)
			}
		})
	}
	t.Run("each tab's count is inside its link", func(t *testing.T) {
		_, doc := c.get("/admin/orders")
		for _, s := range model.OrderStatuses {
			want := len(demoOrders(t, e, model.OrderFilter{Status: s}))
			got := strings.TrimSpace(doc.Find(`[data-testid="tab-` + string(s) + `"] .count`).Text())
			if got != fmt.Sprint(want) {
				t.Errorf("%s tab: count %q, want %d", s, got, want)
			}
		}
		if got := strings.TrimSpace(doc.Find(`[data-testid="tab-all"] .count`).Text()); got != fmt.Sprint(len(demoOrders(t, e, model.OrderFilter{}))) {
			t.Errorf("All tab: count %q", got)
		}
	})
}

func TestDeskBulkCancelAsksFirst(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, "")
	c.login("staff@demo.test", demoPassword)
	pending := demoOrders(t, e, model.OrderFilter{Status: model.OrderPending})[:2]
	ids := []string{itoa(pending[0].ID), itoa(pending[1].ID)}
	htmx := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Hx-Request": {"true"}}

	t.Run("without the confirmation nothing is cancelled and the desk asks", func(t *testing.T) {
		res, doc := c.postForm("/admin/orders/bulk", url.Values{"ids": ids, "to": {"cancelled"}})
		wantStatus(t, res, http.StatusOK)
		ask := doc.Find(`[role="status"] [data-testid="bulk-confirm"]`)
		if !strings.Contains(ask.Text(), "Cancel 2 orders?") || ask.Find(`[data-testid="bulk-confirm-submit"][name="confirm"][value="yes"]`).Length() != 1 {
			t.Errorf("confirmation: %q", ask.Text())
		}
		if n := doc.Find(`input[name="ids"][checked]`).Length(); n != 2 {
			t.Errorf("%d orders still selected, want 2", n)
		}
		if v, _ := doc.Find(`#bulk-to option[selected]`).Attr("value"); v != "cancelled" {
			t.Errorf("the bulk choice is %q, want cancelled kept", v)
		}
		// htmx's answer asks the same, and so does a script that skips the page.
		res, body := c.do("POST", "/admin/orders/bulk", strings.NewReader(url.Values{"ids": ids, "to": {"cancelled"}, "confirm": {"1"}, "_csrf": {c.csrf()}}.Encode()), htmx)
		wantStatus(t, res, http.StatusOK)
		if !strings.Contains(body, `data-testid="bulk-confirm"`) {
			t.Error("htmx: no confirmation")
		}
		for _, o := range pending {
			if got := e.order(t, o.ID).Status; got != model.OrderPending {
				t.Errorf("%s is %s before the confirmation", o.Number, got)
			}
		}
	})

	t.Run("confirmed, the orders are cancelled and the notice says so by the bulk bar", func(t *testing.T) {
		res, body := c.do("POST", "/admin/orders/bulk", strings.NewReader(url.Values{"ids": ids, "to": {"cancelled"}, "confirm": {"yes"}, "_csrf": {c.csrf()}}.Encode()), htmx)
		wantStatus(t, res, http.StatusOK)
		doc := parseHTML(t, body)
		if got := doc.Find(`[role="status"] [data-testid="bulk-result"] strong`).Text(); got != "2 of 2 selected orders changed to Cancelled." {
			t.Errorf("notice: %q", got)
		}
		if doc.Find(`[data-testid="bulk-confirm"]`).Length() != 0 {
			t.Error("still asking")
		}
		for _, o := range pending {
			if got := e.order(t, o.ID).Status; got != model.OrderCancelled {
				t.Errorf("%s is %s, want cancelled", o.Number, got)
			}
		}
	})

	t.Run("a change that can be undone needs no confirmation", func(t *testing.T) {
		o := demoOrders(t, e, model.OrderFilter{Status: model.OrderPending})[0]
		res, doc := c.postForm("/admin/orders/bulk", url.Values{"ids": {itoa(o.ID)}, "to": {"holded"}})
		wantStatus(t, res, http.StatusOK)
		if doc.Find(`[data-testid="bulk-confirm"]`).Length() != 0 || e.order(t, o.ID).Status != model.OrderHolded {
			t.Errorf("hold: %s", e.order(t, o.ID).Status)
		}
	})

	t.Run("the bulk form shows work in progress and has a select-all box", func(t *testing.T) {
		_, doc := c.get("/admin/orders")
		f := doc.Find(`[data-testid="bulk-form"]`)
		if v, _ := f.Attr("hx-disabled-elt"); v == "" {
			t.Error("no hx-disabled-elt")
		}
		ind, _ := f.Attr("hx-indicator")
		if ind == "" || doc.Find(ind).Length() != 1 {
			t.Errorf("hx-indicator %q finds nothing", ind)
		}
		if f.Find(`[data-testid="select-all"]`).Length() != 1 {
			t.Error("no select-all box")
		}
	})
}
