package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"orderdesk/model"
	"orderdesk/providers/otapi"
)

// item is a product of the demo catalogue and how many of it an order takes.
type item struct {
	sku string
	qty int
}

// paidOrderOf places an order of these products in the shop through the
// model, as the storefront does, and records its payment as a provider's
// confirmation would: the order is paid and waits to be bought.
func (e *env) paidOrderOf(t *testing.T, shop *model.Tenant, items ...item) *model.Order {
	t.Helper()
	ctx := context.Background()
	products, err := e.store.FindProducts(ctx, shop.ID)
	if err != nil {
		t.Fatal(err)
	}
	ships, _ := e.store.FindShippingMethods(ctx, shop.ID)
	cart, err := e.store.EnsureCart(ctx, shop.ID, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		found := false
		for _, p := range products {
			if p.SKU == it.sku {
				found = true
				if err := e.store.AddToCart(ctx, shop.ID, cart, p.ID, it.qty); err != nil {
					t.Fatal(err)
				}
			}
		}
		if !found {
			t.Fatalf("no product %s in %s", it.sku, shop.Slug)
		}
	}
	o, err := e.store.PlaceOrder(ctx, shop, model.PlaceOrderInput{CartID: cart, ShippingMethodID: ships[0].ID, Address: model.Address{
		FirstName: "Ivan", LastName: "Petrov", Email: "ivan@example.com", Telephone: "+79990001122", Street1: "Tverskaya 1", Country: "RU",
		City: "Moscow", State: "Moscow", Zip: "101000"}})
	if err != nil {
		t.Fatal(err)
	}
	pay, err := e.store.UsableIntegration(ctx, shop.ID, model.ProviderTinkoff)
	if err != nil {
		if pay, err = e.store.UsableIntegration(ctx, shop.ID, model.ProviderKuveyt); err != nil {
			t.Fatal(err)
		}
	}
	p, err := e.store.NewPayment(ctx, shop, o.ID, pay)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.ApplyPayment(ctx, shop, p.ID, model.Observation{Stage: model.PaymentCompleted}, model.PaymentEvent{}); err != nil {
		t.Fatal(err)
	}
	o, err = e.store.FindOrderByID(ctx, shop.ID, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// formOf reads a form of a page as a browser would send it: its inputs and
// selected options, with changes applied.
func formOf(t *testing.T, doc *goquery.Document, testid string, changes url.Values) url.Values {
	t.Helper()
	form := doc.Find(`[data-testid="` + testid + `"]`)
	if form.Length() == 0 {
		t.Fatalf("no form %s", testid)
	}
	v := url.Values{}
	form.Find("input").Each(func(_ int, s *goquery.Selection) {
		name, _ := s.Attr("name")
		val, _ := s.Attr("value")
		if typ, _ := s.Attr("type"); name != "" && typ != "submit" && ((typ != "checkbox" && typ != "radio") || s.Is("[checked]")) {
			v.Add(name, val)
		}
	})
	form.Find("select").Each(func(_ int, s *goquery.Selection) {
		name, _ := s.Attr("name")
		opt := s.Find("option[selected]").First()
		if opt.Length() == 0 {
			opt = s.Find("option").First()
		}
		val, _ := opt.Attr("value")
		v.Add(name, val)
	})
	for k, vs := range changes {
		v[k] = vs
	}
	return v
}

// setChannel switches a shop's channel through the settings page as its
// owner.
func (e *env) setChannel(t *testing.T, owner *client, ch model.ProcurementChannel) {
	t.Helper()
	_, doc := owner.get("/admin/settings/procurement")
	res, _ := owner.postForm("/admin/settings/procurement", formOf(t, doc, "procurement-settings-form", url.Values{"channel": {string(ch)}}))
	wantStatus(t, res, http.StatusSeeOther)
}

// authoriseOT goes through the daily renewal as an operator: our button,
// the provider's page at OT (decision), and back to the shop's return page.
// It returns where the browser ended and the page it shows.
func (e *env) authoriseOT(t *testing.T, op *client, decision string) (string, string) {
	t.Helper()
	res, _ := op.postForm("/admin/procurement/ot/sessions/authorise", nil)
	wantStatus(t, res, http.StatusSeeOther)
	authURL := res.Header.Get("Location")
	if !strings.Contains(authURL, "/sandbox/otapi/provider-auth/") {
		t.Fatalf("not sent to OT's authentication page: %s", authURL)
	}
	return e.browse(t, op, authURL, "sandbox-"+decision)
}

// activity returns the order's newest OT activity.
func (e *env) activity(t *testing.T, shop *model.Tenant, orderID int64) *model.OTActivity {
	t.Helper()
	list, err := e.store.FindOTActivities(context.Background(), shop.ID, model.OTActivityFilter{OrderID: orderID, Limit: 1})
	if err != nil || len(list) == 0 {
		t.Fatalf("no OT activity for order %d: %v", orderID, err)
	}
	a, err := e.store.FindOTActivity(context.Background(), shop.ID, list[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// followUntil runs the ot-activities job for the shop until the order's
// newest activity is in state (at most 8 runs).
func (e *env) followUntil(t *testing.T, op *client, shop *model.Tenant, orderID int64, state model.OTActivityState) *model.OTActivity {
	t.Helper()
	for i := 0; i < 8; i++ {
		if a := e.activity(t, shop, orderID); a.State == state {
			return a
		}
		e.runJob(t, op, "ot-activities")
	}
	a := e.activity(t, shop, orderID)
	t.Fatalf("activity %s of order %d is %s, want %s; steps %+v", a.Kind, orderID, a.State, state, a.Steps)
	return nil
}

// htmxPost posts a form as htmx does and returns the fragment.
func (c *client) htmxPost(path string, v url.Values) (*http.Response, *goquery.Document) {
	c.t.Helper()
	if v == nil {
		v = url.Values{}
	}
	v.Set("_csrf", c.csrf())
	res, body := c.do("POST", path, strings.NewReader(v.Encode()), http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Hx-Request": {"true"}})
	return res, parseHTML(c.t, body)
}

// TestOTAutobuy is seed 002 through the router and the OT sandbox: the shop
// switches to OT, an operator authorises a Taobao login, a paid order is
// added to OT with its comment, paid by the simulated payment and exported;
// the export asks about a changed price and an operator answers on the
// order's page; the lines get their Taobao order, the Tmall line is left
// for buying by hand and linking, and the sync brings the waybill, which the
// warehouse scan finds.
func TestOTAutobuy(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sb := e.sandboxes.OTAPI
	owner := e.owner(t)
	op := e.client(t, "")
	op.login("operator@demo.test", demoPassword)
	e.setChannel(t, owner, model.ChannelOT)

	t.Run("the daily renewal: OT's page and back, the session listed with its end", func(t *testing.T) {
		last, body := e.authoriseOT(t, op, "authorize")
		if !strings.HasSuffix(mustURL(last).Path, "/admin/procurement/ot/sessions") || !strings.Contains(body, "is authorised at OT until") {
			t.Fatalf("after authorising: %s\n%s", last, body)
		}
		doc := parseHTML(t, body)
		row := doc.Find(`[data-testid="ot-session-row"][data-login="` + otapi.DemoProviderLogin + `"]`)
		if row.Length() != 1 || !strings.HasPrefix(row.Find(`[data-testid="ot-session-countdown"]`).Text(), "in ") ||
			row.Find(`[data-testid="ot-session-state"]`).Text() != "active" {
			t.Errorf("sessions page: %s", doc.Find(`[data-testid="ot-sessions"]`).Text())
		}
	})

	o := e.paidOrderOf(t, e.demo, item{"TS-WHITE-M", 1}, item{"TEA-SET6", 1}, item{"EARBUDS-TM", 1})

	t.Run("pushed: added to OT with our number, paid by the simulated payment, the export started", func(t *testing.T) {
		e.runJob(t, op, "orders-to-ot")
		orders, err := sb.Orders(10)
		if err != nil || len(orders) != 1 {
			t.Fatalf("orders at OT: %d %v", len(orders), err)
		}
		so := orders[0]
		if so.Comment != o.Number+" #1" || so.DeliveryModeID != otapi.DemoDeliveryModeID || so.UserProfileID != otapi.DemoUserProfileID || len(so.Lines) != 3 {
			t.Errorf("the order at OT: %+v", so)
		}
		if so.Paid != so.Total || so.Total == 0 {
			t.Errorf("paid at OT %d of %d", so.Paid, so.Total)
		}
		x, err := e.store.FindLiveOTOrder(ctx, e.demo.ID, o.ID)
		if err != nil || x.State != model.OTPaid || x.SalesID != so.ID || x.ToppedUp != so.Total {
			t.Fatalf("our OT order: %+v %v", x, err)
		}
		a := e.activity(t, e.demo, o.ID)
		if a.Kind != model.OTExport || !a.State.Open() || a.ActivityID == "" {
			t.Errorf("export: %+v", a)
		}
		// Tmall items are never exported: the export names the other two.
		if !strings.Contains(a.Parameters, "OT lines") {
			t.Errorf("export parameters: %q", a.Parameters)
		}
		_, doc := op.get("/admin/orders/" + itoa(o.ID))
		if doc.Find(`[data-testid="ot-sales-id"]`).Text() != so.ID {
			t.Errorf("order page's OT card: %s", doc.Find(`[data-testid="order-ot"]`).Text())
		}
		tmall := doc.Find(`[data-testid="ot-line-tmall"]`)
		if tmall.Length() != 1 || !strings.Contains(doc.Find(`[data-testid="order-lines"]`).Text(), "Buy it by hand on Taobao") {
			t.Errorf("the Tmall line is not flagged for buying by hand: %s", doc.Find(`[data-testid="order-lines"]`).Text())
		}
	})

	t.Run("the export asks about the tea set's new price; the operator's answer is recorded with who gave it", func(t *testing.T) {
		a := e.followUntil(t, op, e.demo, o.ID, model.ActAwaiting)
		_, doc := op.get("/admin/orders/" + itoa(o.ID))
		q := doc.Find(`[data-testid="ot-question-text"]`).Text()
		if !strings.Contains(q, "701245560311") || !strings.Contains(q, "price") {
			t.Fatalf("the question on the order page: %q", q)
		}
		btn := doc.Find(`[data-testid="ot-answer"][data-action="BuyAtNewPrice"]`)
		if btn.Length() != 1 || btn.Text() != "Buy at the new price" {
			t.Fatalf("answers offered: %s", doc.Find(`[data-testid="ot-question"]`).Text())
		}
		res, card := op.htmxPost("/admin/procurement/ot/activities/"+itoa(a.ID)+"/answer", url.Values{"action": {"BuyAtNewPrice"}})
		wantStatus(t, res, http.StatusOK)
		if by := card.Find(`[data-testid="ot-answered-by"]`).Text(); by != "staff:operator@demo.test" {
			t.Errorf("the card names who answered: %q\n%s", by, card.Text())
		}
		got := e.activity(t, e.demo, o.ID)
		if len(got.Answers) != 1 || got.Answers[0].ActionID != "BuyAtNewPrice" || got.Answers[0].AnsweredBy != "staff:operator@demo.test" ||
			!strings.Contains(got.Answers[0].Question, "price") {
			t.Errorf("answers recorded: %+v", got.Answers)
		}
		// An answer the activity does not offer is refused in words.
		res, card = op.htmxPost("/admin/procurement/ot/activities/"+itoa(a.ID)+"/answer", url.Values{"action": {"DropTable"}})
		wantStatus(t, res, http.StatusOK)
		if card.Find(`[data-testid="ot-activity-refused"]`).Length() != 1 {
			t.Errorf("a second answer was not refused: %s", card.Text())
		}
	})

	t.Run("exported: the lines carry their Taobao order; the Tmall line waits for a person", func(t *testing.T) {
		e.followUntil(t, op, e.demo, o.ID, model.ActFinished)
		got, _ := e.store.FindOrderByID(ctx, e.demo.ID, o.ID)
		for _, l := range got.Lines {
			switch l.SKU {
			case "EARBUDS-TM":
				if l.PurchaseID != "" || l.ProcurementError != model.TmallMessage {
					t.Errorf("Tmall line: %+v", l)
				}
			default:
				if l.PurchaseID == "" || l.ProcurementStatus != model.ProcCreated {
					t.Errorf("line %s after the export: %+v", l.SKU, l)
				}
			}
		}
		_, doc := op.get("/admin/orders/" + itoa(o.ID))
		if n := doc.Find(`[data-testid="ot-vend-purch-id"]`).Length(); n != 2 {
			t.Errorf("Taobao orders shown on the lines: %d", n)
		}
	})

	t.Run("the sync brings the waybill; the warehouse scan finds the parcel by it", func(t *testing.T) {
		e.runJob(t, op, "ot-sync")
		e.runJob(t, op, "ot-sync")
		got, _ := e.store.FindOrderByID(ctx, e.demo.ID, o.ID)
		var track string
		for _, l := range got.Lines {
			if l.SKU == "TS-WHITE-M" {
				track = l.SupplierTrack
				if track == "" || l.ProcurementStatus != model.ProcShipped || l.SupplierStatusRaw != otapi.TradeWaitBuyerConfirm {
					t.Errorf("line after two syncs: %+v", l)
				}
			}
		}
		x, _ := e.store.FindLiveOTOrder(ctx, e.demo.ID, o.ID)
		for _, l := range x.Lines {
			if l.SKU == "TS-WHITE-M" && (l.VendPurchWaybill != track || l.VendPurchAccountID != otapi.DemoProviderLogin || l.StatusID != otapi.LineStatusSent) {
				t.Errorf("OT's fields of the line: %+v", l)
			}
		}
		staff := e.client(t, "")
		staff.login("staff@demo.test", demoPassword)
		res, doc := staff.postForm("/admin/warehouse/scan", url.Values{"code": {track}})
		if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusSeeOther {
			t.Fatalf("scan: %d", res.StatusCode)
		}
		if res.StatusCode == http.StatusSeeOther {
			_, doc = staff.get(res.Header.Get("Location"))
		}
		if !strings.Contains(doc.Text(), o.Number) {
			t.Errorf("the scan of %s did not find the order: %s", track, doc.Find("main").Text())
		}
	})
}
