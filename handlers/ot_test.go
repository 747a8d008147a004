package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

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
		if by := card.Find(`[data-testid="ot-answered-by"]`).Text(); by != "operator@demo.test" {
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
		// The API finds the order by the waybill and its lines carry OT's fields.
		res, list := owner.api("GET", "/api/orders/?waybill="+url.QueryEscape(track), nil)
		wantStatus(t, res, http.StatusOK)
		if orders, _ := list["orders"].([]any); len(orders) != 1 {
			t.Fatalf("orders by waybill %s: %v", track, list["orders"])
		}
		res, detail := owner.api("GET", "/api/orders/"+itoa(o.ID)+"/", nil)
		wantStatus(t, res, http.StatusOK)
		found := false
		for _, raw := range get(detail, "order", "items").([]any) {
			ot, _ := get(raw.(map[string]any), "procurement", "ot").(map[string]any)
			if ot != nil && ot["vend_purch_waybill"] == track && ot["vend_purch_account_id"] == otapi.DemoProviderLogin {
				found = true
			}
		}
		if !found {
			t.Errorf("no line of the API's answer carries OT's fields: %v", get(detail, "order", "items"))
		}
	})
}

// TestOTSettings: the procurement settings are checked field by field with
// seed 002's rules, and what was typed comes back by the error; the keys
// stay with the integration; owners and admins only.
func TestOTSettings(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	owner := e.owner(t)
	res, doc := owner.get("/admin/settings/procurement")
	wantStatus(t, res, http.StatusOK)
	if !strings.Contains(doc.Find(`[data-testid="ot-integration"]`).Text(), "OT Platform autobuy") {
		t.Errorf("the keys' integration is not named: %s", doc.Find(`[data-testid="procurement-settings-form"]`).Text())
	}
	for _, tc := range []struct {
		name, field, value, want string
	}{
		{"a one-character recipient", "ot_recipient_name", "王", "2 to 14 characters"},
		{"a recipient of 15 characters", "ot_recipient_name", "王王王王王王王王王王王王王王王", "2 to 14 characters"},
		{"a mobile of 10 digits", "ot_recipient_mobile", "1380013800", "11 digits"},
		{"a mobile with letters", "ot_recipient_mobile", "1380013800a", "11 digits"},
		{"a region code that is not a number", "ot_region_code", "Beijing", "as a number"},
		{"a zip of 5 digits", "ot_zip", "02140", "6 digits"},
		{"an address not in Chinese", "ot_address", "923 Main street", "in Chinese"},
		{"a delivery mode with a space", "ot_delivery_mode_id", "external free", "without spaces"},
		{"the OT channel without a buyer", "ot_buyer_login", "", "the OT channel needs it"},
		{"an unknown channel", "channel", "aliexpress", "choose Taobao or OT"},
	} {
		t.Run(tc.name+" is refused by its field, the rest kept", func(t *testing.T) {
			form := formOf(t, doc, "procurement-settings-form", url.Values{"channel": {"ot"}, tc.field: {tc.value}})
			res, page := owner.postForm("/admin/settings/procurement", form)
			wantStatus(t, res, http.StatusUnprocessableEntity)
			if msg := page.Find(`[data-testid="error-` + tc.field + `"]`).Text(); !strings.Contains(msg, tc.want) {
				t.Errorf("error by %s: %q, want %q", tc.field, msg, tc.want)
			}
			if v, _ := page.Find(`#ot_zip`).Attr("value"); v != "021400" && tc.field != "ot_zip" {
				t.Errorf("the zip typed was lost: %q", v)
			}
			if v, _ := page.Find(`#` + tc.field).Attr("value"); tc.field != "channel" && v != tc.value {
				t.Errorf("what was typed in %s came back as %q", tc.field, v)
			}
		})
	}
	if ps, _ := e.store.FindProcurementSettings(ctx, e.demo.ID); ps.Channel != model.ChannelTaobao || ps.OTWarehouse.Zip != "021400" {
		t.Errorf("a refused form changed the settings: %+v", ps)
	}

	t.Run("a good form is saved, the buyer's password sealed and kept when left empty", func(t *testing.T) {
		form := formOf(t, doc, "procurement-settings-form", url.Values{"channel": {"ot"}, "ot_recipient_mobile": {"139 1234 5678"}, "ot_recipient_name": {"李四"}})
		res, _ := owner.postForm("/admin/settings/procurement", form)
		wantStatus(t, res, http.StatusSeeOther)
		ps, _ := e.store.FindProcurementSettings(ctx, e.demo.ID)
		if ps.Channel != model.ChannelOT || ps.OTWarehouse.Mobile != "13912345678" || ps.OTWarehouse.RecipientName != "李四" || ps.OTBuyerPasswordLast4 == "" {
			t.Errorf("saved: %+v", ps)
		}
		if pw, err := e.store.OpenOTBuyerPassword(ctx, e.demo.ID); err != nil || pw != otapi.DemoUserPassword {
			t.Errorf("the buyer's password after a save without it: %q %v", pw, err)
		}
		var clear int
		e.store.DB.R.QueryRow(`SELECT count(*) FROM procurement_settings WHERE ot_buyer_password_enc LIKE ?`, "%"+otapi.DemoUserPassword+"%").Scan(&clear)
		if clear != 0 {
			t.Error("the buyer's password is stored in clear")
		}
	})

	t.Run("a product bought through OT while the shop buys on Taobao; an unknown SKU is refused by the field", func(t *testing.T) {
		res, _ := owner.postForm("/admin/settings/procurement/products", url.Values{"sku": {"STAND-BAMBOO"}, "product_channel": {"ot"}})
		wantStatus(t, res, http.StatusSeeOther)
		_, page := owner.get("/admin/settings/procurement")
		if page.Find(`[data-testid="product-channel-row"][data-sku="STAND-BAMBOO"]`).Length() != 1 {
			t.Errorf("overrides: %s", page.Find(`[data-testid="product-channels"]`).Text())
		}
		res, page = owner.postForm("/admin/settings/procurement/products", url.Values{"sku": {"NO-SUCH"}, "product_channel": {"ot"}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		if !strings.Contains(page.Find(`[data-testid="error-sku"]`).Text(), "NO-SUCH") {
			t.Errorf("unknown SKU: %s", page.Find(`[data-testid="product-channel-form"]`).Text())
		}
	})

	t.Run("OT's line statuses: the defaults, a row changed and one added, a bad row refused", func(t *testing.T) {
		_, page := owner.get("/admin/settings/procurement")
		if n := page.Find(`[data-testid="ot-status-row"]`).Length(); n != len(model.DefaultOTStatusMap)+1 {
			t.Fatalf("rows: %d", n)
		}
		form := url.Values{}
		for _, m := range model.DefaultOTStatusMap {
			to := string(m.Status)
			if m.StatusID == "6" {
				to = string(model.ProcShipped) // this shop's warehouse in China is not the end
			}
			form.Add("status_id", m.StatusID)
			form.Add("status_name", m.StatusName)
			form.Add("status_to", to)
		}
		form.Add("status_id", "8")
		form.Add("status_name", "Returned")
		form.Add("status_to", "cancelled")
		res, _ := owner.postForm("/admin/settings/procurement/statuses", form)
		wantStatus(t, res, http.StatusSeeOther)
		m, _ := e.store.FindOTStatusMap(ctx, e.demo.ID)
		if len(m) != 8 || m[5].StatusID != "6" || m[5].Status != model.ProcShipped || m[7].StatusName != "Returned" {
			t.Errorf("saved map: %+v", m)
		}
		bad := url.Values{"status_id": {"1", "1"}, "status_name": {"a", "b"}, "status_to": {"pending", "bought"}}
		res, page = owner.postForm("/admin/settings/procurement/statuses", bad)
		wantStatus(t, res, http.StatusUnprocessableEntity)
		if !strings.Contains(page.Find(`[data-testid="error-id_1"]`).Text(), "twice") || page.Find(`[data-testid="error-status_1"]`).Length() != 1 {
			t.Errorf("bad rows: %s", page.Find(`[data-testid="ot-status-form"]`).Text())
		}
	})

	t.Run("staff and operators cannot change them", func(t *testing.T) {
		for _, who := range []string{"staff@demo.test", "operator@demo.test"} {
			c := e.client(t, "")
			c.login(who, demoPassword)
			res, _ := c.get("/admin/settings/procurement")
			wantStatus(t, res, http.StatusForbidden)
			res, _ = c.postForm("/admin/settings/procurement", url.Values{"channel": {"taobao"}})
			wantStatus(t, res, http.StatusForbidden)
		}
	})
}

// TestOTChannelRouting: a line is bought through one channel only: a shop
// on Taobao never calls OT, a shop on OT never buys on Taobao, and a
// product bought through OT goes there while the rest of its order goes to
// Taobao.
func TestOTChannelRouting(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	owner := e.owner(t)
	op := e.client(t, "")
	op.login("operator@demo.test", demoPassword)
	e.connectAccount(t, op, "authorize")
	e.authoriseOT(t, op, "authorize")
	ot, tb := e.sandboxes.OTAPI, e.sandboxes.Taobao
	count := func() (int, int) {
		orders, err := ot.Orders(100)
		if err != nil {
			t.Fatal(err)
		}
		n, err := tb.PurchaseCount()
		if err != nil {
			t.Fatal(err)
		}
		return len(orders), n
	}

	t.Run("a shop on Taobao: OT is never called", func(t *testing.T) {
		o := e.paidOrderOf(t, e.demo, item{"TS-WHITE-M", 1})
		e.runJob(t, op, "orders-to-ot")
		e.runJob(t, op, "orders-to-taobao")
		atOT, atTaobao := count()
		if atOT != 0 || atTaobao != 1 {
			t.Errorf("orders at OT %d (want 0), purchases at Taobao %d (want 1)", atOT, atTaobao)
		}
		if _, err := e.store.FindLiveOTOrder(ctx, e.demo.ID, o.ID); err == nil {
			t.Error("the order has an OT order")
		}
	})

	t.Run("a shop on OT: Taobao is never called", func(t *testing.T) {
		e.setChannel(t, owner, model.ChannelOT)
		_, before := count()
		o := e.paidOrderOf(t, e.demo, item{"BAG-TOTE", 1})
		e.runJob(t, op, "orders-to-taobao")
		e.runJob(t, op, "orders-to-ot")
		atOT, atTaobao := count()
		if atOT != 1 || atTaobao != before {
			t.Errorf("orders at OT %d (want 1), purchases at Taobao %d (want %d)", atOT, atTaobao, before)
		}
		if x, err := e.store.FindLiveOTOrder(ctx, e.demo.ID, o.ID); err != nil || x.State != model.OTPaid {
			t.Errorf("the OT order: %+v %v", x, err)
		}
		// The procurement desk's "push now" of the Taobao channel has nothing to buy.
		res, body := op.do("POST", "/admin/procurement/orders/"+itoa(o.ID)+"/push", strings.NewReader(url.Values{"_csrf": {op.csrf()}}.Encode()),
			http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Hx-Request": {"true"}})
		wantStatus(t, res, http.StatusOK)
		if _, n := count(); n != before || !strings.Contains(body, "through OT") && !strings.Contains(body, "no line left") && !strings.Contains(body, "already") {
			t.Errorf("push now on an OT order: %d purchases; %s", n, body)
		}
	})

	t.Run("per product: the stand goes to OT, the shirt of the same order to Taobao", func(t *testing.T) {
		e.setChannel(t, owner, model.ChannelTaobao)
		res, _ := owner.postForm("/admin/settings/procurement/products", url.Values{"sku": {"STAND-BAMBOO"}, "product_channel": {"ot"}})
		wantStatus(t, res, http.StatusSeeOther)
		atOT0, atTaobao0 := count()
		o := e.paidOrderOf(t, e.demo, item{"TS-WHITE-M", 2}, item{"STAND-BAMBOO", 1})
		e.runJob(t, op, "orders-to-taobao")
		e.runJob(t, op, "orders-to-ot")
		atOT, atTaobao := count()
		if atOT != atOT0+1 || atTaobao != atTaobao0+1 {
			t.Fatalf("orders at OT +%d, purchases at Taobao +%d; want +1 each", atOT-atOT0, atTaobao-atTaobao0)
		}
		orders, _ := ot.Orders(1)
		if len(orders[0].Lines) != 1 || orders[0].Lines[0].ItemID != "701245560312" {
			t.Errorf("OT got %+v, want the stand alone", orders[0].Lines)
		}
		got, _ := e.store.FindOrderByID(ctx, e.demo.ID, o.ID)
		x, _ := e.store.FindLiveOTOrder(ctx, e.demo.ID, o.ID)
		for _, l := range got.Lines {
			inOT := len(x.Lines) == 1 && x.Lines[0].OrderLineID == l.ID
			if (l.SKU == "STAND-BAMBOO") != inOT {
				t.Errorf("line %s: in the OT order %v", l.SKU, inOT)
			}
			if l.SKU == "TS-WHITE-M" && (l.PurchaseID == "" || l.ProcurementStatus != model.ProcCreated) {
				t.Errorf("the shirt was not bought on Taobao: %+v", l)
			}
		}
	})
}

// TestOTSessionRenewal: a refusal on OT's page is said in words and stores
// nothing; a forged or another operator's state is refused; an ended
// session needs authorization, and the sessions page and the dashboard say
// what waits on it.
func TestOTSessionRenewal(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	op := e.client(t, "")
	op.login("operator@demo.test", demoPassword)

	t.Run("refused on OT's page: said in words, nothing stored", func(t *testing.T) {
		last, body := e.authoriseOT(t, op, "refuse")
		doc := parseHTML(t, body)
		if !strings.HasSuffix(mustURL(last).Path, "/admin/procurement/ot/sessions") ||
			!strings.Contains(doc.Find(`[data-testid="flash"][data-kind="error"]`).Text(), "refused the authorisation") {
			t.Errorf("after a refusal: %s\n%s", last, doc.Find("main").Text())
		}
		if list, _ := e.store.FindOTProviderSessions(ctx, e.demo.ID); len(list) != 0 {
			t.Errorf("a refusal stored %d sessions", len(list))
		}
	})

	t.Run("a forged state, or another operator's, stores nothing", func(t *testing.T) {
		res, _ := op.get("/oauth/otapi/return?state=forged&sessionId=tbs-x")
		wantStatus(t, res, http.StatusSeeOther)
		_, doc := op.get(res.Header.Get("Location"))
		if !strings.Contains(doc.Find(`[data-testid="flash"][data-kind="error"]`).Text(), "invalid, used or expired") {
			t.Errorf("forged state: %s", doc.Find("main").Text())
		}
		in, _ := e.store.UsableIntegration(ctx, e.demo.ID, model.ProviderOTAPI)
		state, _ := e.store.CreateOAuthState(ctx, e.demo.ID, in.ID, findUser(t, e, "owner@demo.test").ID)
		res, _ = op.get("/oauth/otapi/return?state=" + state + "&sessionId=tbs-x")
		_, doc = op.get(res.Header.Get("Location"))
		if !strings.Contains(doc.Find(`[data-testid="flash"][data-kind="error"]`).Text(), "Nothing was stored") {
			t.Errorf("another operator's state: %s", doc.Find("main").Text())
		}
		if list, _ := e.store.FindOTProviderSessions(ctx, e.demo.ID); len(list) != 0 {
			t.Errorf("stored %d sessions", len(list))
		}
	})

	t.Run("an ended session needs authorization; what waits on it is said; renewing brings it back", func(t *testing.T) {
		e.authoriseOT(t, op, "authorize")
		if err := e.sandboxes.OTAPI.ExpireProviderSessions(); err != nil {
			t.Fatal(err)
		}
		owner := e.owner(t)
		e.setChannel(t, owner, model.ChannelOT)
		e.paidOrderOf(t, e.demo, item{"BAG-TOTE", 1})
		e.runJob(t, op, "orders-to-ot") // added and paid; its export waits for a session
		_, doc := op.get("/admin/procurement/ot/sessions")
		row := doc.Find(`[data-testid="ot-session-row"]`)
		if row.Find(`[data-testid="ot-session-state"]`).Text() != "needs authorization" || !strings.Contains(row.Text(), "sending paid orders to OT Platform (1 paid orders") {
			t.Errorf("sessions page: %s", doc.Find(`[data-testid="ot-sessions"]`).Text())
		}
		_, dash := owner.get("/admin/")
		if w := dash.Find(`[data-testid="warn-ot-session"]`).Text(); !strings.Contains(w, otapi.DemoProviderLogin) || !strings.Contains(w, "needs authorization") {
			t.Errorf("dashboard: %q", w)
		}
		e.authoriseOT(t, op, "authorize")
		_, doc = op.get("/admin/procurement/ot/sessions")
		if s := doc.Find(`[data-testid="ot-session-state"]`).Text(); s != "active" {
			t.Errorf("after renewing: %q", s)
		}
		e.runJob(t, op, "orders-to-ot")
		if c, _ := e.store.CountOT(ctx, e.demo.ID); c.WaitingForSession != 0 {
			t.Errorf("still waiting after the renewal: %+v", c)
		}
	})

	t.Run("staff cannot renew sessions", func(t *testing.T) {
		s := e.client(t, "")
		s.login("staff@demo.test", demoPassword)
		res, _ := s.get("/admin/procurement/ot/sessions")
		wantStatus(t, res, http.StatusForbidden)
		res, _ = s.postForm("/admin/procurement/ot/sessions/authorise", nil)
		wantStatus(t, res, http.StatusForbidden)
	})
}

// otShop is the demo shop on OT with a Taobao login authorised at OT, and an
// operator signed in.
func (e *env) otShop(t *testing.T) *client {
	t.Helper()
	e.setChannel(t, e.owner(t), model.ChannelOT)
	op := e.client(t, "")
	op.login("operator@demo.test", demoPassword)
	e.authoriseOT(t, op, "authorize")
	return op
}

// TestOTSkippedItems: AddOrder leaves out an item it cannot order; the
// order says so on its line with seed 002's likely reasons and waits for a
// person, who cancels the OT order and retries (a new OT order with its own
// comment), or goes on without the item.
func TestOTSkippedItems(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sb := e.sandboxes.OTAPI
	op := e.otShop(t)
	// The scarf's product has no supplier SKU: ConfigurationId 0, which the
	// item at Taobao does not have.
	o := e.paidOrderOf(t, e.demo, item{"TS-WHITE-M", 1}, item{"SCARF-SILK", 1})
	e.runJob(t, op, "orders-to-ot")

	t.Run("the skipped item is shown with the likely reasons; nothing is paid", func(t *testing.T) {
		x, err := e.store.FindLiveOTOrder(ctx, e.demo.ID, o.ID)
		if err != nil || x.State != model.OTStateAdded || !strings.Contains(x.LastError, "OT skipped 1 of 2 items") {
			t.Fatalf("OT order: %+v %v", x, err)
		}
		orders, _ := sb.Orders(1)
		if orders[0].Paid != 0 {
			t.Errorf("paid %d at OT with an item skipped", orders[0].Paid)
		}
		_, doc := op.get("/admin/orders/" + itoa(o.ID))
		lines := doc.Find(`[data-testid="order-lines"]`).Text()
		for _, reason := range []string{"off sale", "configuration", "seller is no longer", "typo"} {
			if !strings.Contains(lines, reason) {
				t.Errorf("the skipped line does not say %q: %s", reason, lines)
			}
		}
		if doc.Find(`[data-testid="ot-line-skipped"]`).Length() != 1 || doc.Find(`[data-testid="ot-accept-skipped"]`).Length() != 1 ||
			doc.Find(`[data-testid="ot-cancel-order"]`).Length() != 1 {
			t.Errorf("the OT card: %s", doc.Find(`[data-testid="order-ot"]`).Text())
		}
		// The job leaves it for the person.
		e.runJob(t, op, "orders-to-ot")
		if orders, _ := sb.Orders(5); len(orders) != 1 || orders[0].Paid != 0 {
			t.Errorf("the job went on without a person: %d orders", len(orders))
		}
	})

	t.Run("cancel at OT and retry: the OT order is cancelled, a second is added with its own comment", func(t *testing.T) {
		res, card := op.htmxPost("/admin/orders/"+itoa(o.ID)+"/ot/cancel", nil)
		wantStatus(t, res, http.StatusOK)
		if !strings.Contains(card.Find(`[data-testid="ot-result"]`).Text(), "cancelled at OT") {
			t.Errorf("cancel: %s", card.Text())
		}
		orders, _ := sb.Orders(1)
		if !orders[0].Cancelled {
			t.Error("the first OT order is not cancelled at OT")
		}
		got, _ := e.store.FindOrderByID(ctx, e.demo.ID, o.ID)
		for _, l := range got.Lines {
			if l.ProcurementError != "" {
				t.Errorf("line %s keeps %q after the cancel", l.SKU, l.ProcurementError)
			}
		}
		res, card = op.htmxPost("/admin/orders/"+itoa(o.ID)+"/ot/push", nil)
		wantStatus(t, res, http.StatusOK)
		orders, _ = sb.Orders(5)
		if len(orders) != 2 || orders[0].Comment != o.Number+" #2" {
			t.Fatalf("after the retry: %d orders, newest %+v", len(orders), orders[0])
		}
		if !strings.Contains(card.Find(`[data-testid="ot-result"]`).Text(), orders[0].ID) {
			t.Errorf("the retry's result does not name the OT order: %s", card.Text())
		}
	})

	t.Run("going on without the skipped item pays the order and exports the rest", func(t *testing.T) {
		res, card := op.htmxPost("/admin/orders/"+itoa(o.ID)+"/ot/accept-skipped", nil)
		wantStatus(t, res, http.StatusOK)
		x, _ := e.store.FindLiveOTOrder(ctx, e.demo.ID, o.ID)
		if x.State != model.OTPaid || x.LastError != "" {
			t.Fatalf("after accepting: %+v\n%s", x, card.Text())
		}
		a := e.activity(t, e.demo, o.ID)
		var shirt string
		for _, l := range x.Lines {
			if l.SKU == "TS-WHITE-M" {
				shirt = l.OTLineID
			}
		}
		if a.Kind != model.OTExport || a.Parameters != "OT lines "+shirt {
			t.Errorf("export: %s %q, want the shirt's line %s", a.Kind, a.Parameters, shirt)
		}
	})
}

// TestOTRefusalsInWords: what OT or Taobao refuse is said on the order in
// words, and a retry after the cause is gone goes on.
func TestOTRefusalsInWords(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sb := e.sandboxes.OTAPI
	op := e.otShop(t)
	for _, tc := range []struct {
		name string
		on   func(bool)
		want string
	}{
		{"the limit of unpaid orders at Taobao", sb.SetUnpaidOrdersLimit, "limit of unpaid orders"},
		{"an invalid buyout address", sb.SetInvalidBuyoutAddress, "buyout (warehouse) address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := e.paidOrderOf(t, e.demo, item{"BAG-TOTE", 1})
			tc.on(true)
			defer tc.on(false)
			e.runJob(t, op, "orders-to-ot")
			e.followUntil(t, op, e.demo, o.ID, model.ActFailed)
			_, doc := op.get("/admin/orders/" + itoa(o.ID))
			if msg := doc.Find(`[data-testid="ot-last-error"]`).Text(); !strings.Contains(msg, tc.want) {
				t.Errorf("the order says %q, want %q", msg, tc.want)
			}
			if l := doc.Find(`[data-testid="order-lines"]`).Text(); !strings.Contains(l, tc.want) {
				t.Errorf("the line does not say it: %s", l)
			}
			if doc.Find(`[data-testid="ot-retry"]`).Length() != 1 {
				t.Error("no Retry")
			}
			tc.on(false)
			res, _ := op.htmxPost("/admin/orders/"+itoa(o.ID)+"/ot/push", nil)
			wantStatus(t, res, http.StatusOK)
			e.followUntil(t, op, e.demo, o.ID, model.ActFinished)
			got, _ := e.store.FindOrderByID(ctx, e.demo.ID, o.ID)
			if got.Lines[0].PurchaseID == "" || got.ProcurementError != "" {
				t.Errorf("after the retry: %+v", got.Lines[0])
			}
		})
	}

	t.Run("sessions OT ended are opened again, unseen by people", func(t *testing.T) {
		o := e.paidOrderOf(t, e.demo, item{"BAG-TOTE", 1})
		e.runJob(t, op, "orders-to-ot") // the operator's session is kept for the next runs
		if err := sb.ExpireSessions(); err != nil {
			t.Fatal(err)
		}
		e.followUntil(t, op, e.demo, o.ID, model.ActFinished)
		if got, _ := e.store.FindOrderByID(ctx, e.demo.ID, o.ID); got.Lines[0].PurchaseID == "" {
			t.Errorf("after the sessions ended: %+v", got.Lines[0])
		}
	})

	t.Run("an order put on hold after it went to OT is not paid there nor exported", func(t *testing.T) {
		// Added to OT, stopped by a skipped item; then held for review.
		o := e.paidOrderOf(t, e.demo, item{"BAG-TOTE", 1}, item{"SCARF-SILK", 1})
		e.runJob(t, op, "orders-to-ot")
		x, _ := e.store.FindLiveOTOrder(ctx, e.demo.ID, o.ID)
		if _, err := e.store.TransitionOrder(ctx, e.demo, o.ID, model.OrderHolded, model.SystemActor, model.TransitionInput{}); err != nil {
			t.Fatal(err)
		}
		if err := e.store.AcceptOTSkipped(ctx, e.demo, x.ID, model.SystemActor); err != nil {
			t.Fatal(err)
		}
		e.runJob(t, op, "orders-to-ot")
		res, card := op.htmxPost("/admin/orders/"+itoa(o.ID)+"/ot/push", nil)
		wantStatus(t, res, http.StatusOK)
		if !strings.Contains(card.Find(`[data-testid="ot-result"]`).Text(), "is holded") {
			t.Errorf("push of an order on hold: %s", card.Text())
		}
		if so, _ := sb.Order(x.SalesID); so.Paid != 0 {
			t.Errorf("an order on hold was paid at OT: %d", so.Paid)
		}
	})

	t.Run("a blocked instance key", func(t *testing.T) {
		o := e.paidOrderOf(t, e.demo, item{"BAG-TOTE", 1})
		sb.BanInstanceKey(true)
		e.runJob(t, op, "orders-to-ot")
		sb.BanInstanceKey(false)
		_, doc := op.get("/admin/orders/" + itoa(o.ID))
		if msg := doc.Find(`[data-testid="ot-last-error"]`).Text(); !strings.Contains(msg, "instance key is blocked") {
			t.Errorf("the order says %q", msg)
		}
		// Nothing reached OT: the retry adds it once.
		res, _ := op.htmxPost("/admin/orders/"+itoa(o.ID)+"/ot/push", nil)
		wantStatus(t, res, http.StatusOK)
		x, _ := e.store.FindLiveOTOrder(ctx, e.demo.ID, o.ID)
		if x.State != model.OTPaid {
			t.Errorf("after the retry: %+v", x)
		}
	})
}

// TestOTCancelActivity: an export waiting for an answer is cancelled from
// the page: OT undoes it, and nothing of it is left on the order's lines;
// the job does not start it again by itself.
func TestOTCancelActivity(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sb := e.sandboxes.OTAPI
	op := e.otShop(t)
	o := e.paidOrderOf(t, e.demo, item{"TS-WHITE-M", 1}, item{"BAG-TOTE", 2})
	sb.AskNextExport("The seller asks to confirm the colour: white?")
	e.runJob(t, op, "orders-to-ot")
	a := e.followUntil(t, op, e.demo, o.ID, model.ActAwaiting)
	if a.Question() != "The seller asks to confirm the colour: white?" {
		t.Fatalf("question: %q", a.Question())
	}
	res, card := op.htmxPost("/admin/procurement/ot/activities/"+itoa(a.ID)+"/cancel", nil)
	wantStatus(t, res, http.StatusOK)
	if s, _ := card.Find(`[data-testid="ot-activity"]`).Attr("data-state"); s != string(model.ActCancelled) {
		t.Errorf("card after the cancel: %s %s", s, card.Text())
	}
	po, _ := sb.ProviderOrders(10)
	if len(po) != 0 {
		t.Errorf("Taobao orders after the cancel: %d", len(po))
	}
	got, _ := e.store.FindOrderByID(ctx, e.demo.ID, o.ID)
	for _, l := range got.Lines {
		if l.PurchaseID != "" || l.ProcurementStatus != model.ProcPending || l.ProcurementError != "" || l.SupplierTrack != "" {
			t.Errorf("line %s after the cancel: %+v", l.SKU, l)
		}
	}
	x, _ := e.store.FindLiveOTOrder(ctx, e.demo.ID, o.ID)
	for _, l := range x.Lines {
		if l.VendPurchID != "" {
			t.Errorf("OT line %s keeps %s", l.OTLineID, l.VendPurchID)
		}
	}
	e.runJob(t, op, "orders-to-ot")
	if n := len(mustActivities(t, e, o.ID)); n != 1 {
		t.Errorf("the job started %d activities after a cancel, want none", n-1)
	}
	// The operator starts the export again from the order page.
	res, card = op.htmxPost("/admin/orders/"+itoa(o.ID)+"/ot/activity", url.Values{"kind": {"export"}})
	wantStatus(t, res, http.StatusOK)
	if !strings.Contains(card.Find(`[data-testid="ot-result"]`).Text(), "Export to Taobao started") {
		t.Errorf("start: %s", card.Text())
	}
	e.followUntil(t, op, e.demo, o.ID, model.ActFinished)
	if po, _ := sb.ProviderOrders(10); len(po) != 2 {
		t.Errorf("Taobao orders after the export: %d, want one per seller (2)", len(po))
	}
}

func mustActivities(t *testing.T, e *env, orderID int64) []*model.OTActivity {
	t.Helper()
	list, err := e.store.FindOTActivities(context.Background(), e.demo.ID, model.OTActivityFilter{OrderID: orderID})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// TestOTLinkTmall: a Tmall item is bought by hand on Taobao and linked to
// its line from the order page; the line gets its Taobao order and loses its
// "buy by hand" message; unlinking takes it back off.
func TestOTLinkTmall(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sb := e.sandboxes.OTAPI
	op := e.otShop(t)
	o := e.paidOrderOf(t, e.demo, item{"EARBUDS-TM", 1})
	e.runJob(t, op, "orders-to-ot")
	x, _ := e.store.FindLiveOTOrder(ctx, e.demo.ID, o.ID)
	if x.State != model.OTPaid || !strings.Contains(x.LastError, "every item left is a Tmall item") {
		t.Fatalf("an order of Tmall items only: %+v", x)
	}
	byHand, err := sb.BuyByHand(otapi.DemoProviderLogin, otapi.ProviderItem{ItemID: "612093384455", ConfigurationID: "4421097735501", Quantity: 1})
	if err != nil {
		t.Fatal(err)
	}
	res, card := op.htmxPost("/admin/orders/"+itoa(o.ID)+"/ot/activity", url.Values{"kind": {"link"}, "provider_orders": {byHand}})
	wantStatus(t, res, http.StatusOK)
	if card.Find(`[data-testid="ot-error"]`).Length() != 0 {
		t.Fatalf("link: %s", card.Text())
	}
	e.followUntil(t, op, e.demo, o.ID, model.ActFinished)
	got, _ := e.store.FindOrderByID(ctx, e.demo.ID, o.ID)
	if got.Lines[0].PurchaseID != byHand || got.Lines[0].ProcurementError != "" || got.Lines[0].ProcurementStatus != model.ProcCreated {
		t.Errorf("the Tmall line after the link: %+v", got.Lines[0])
	}
	if x, _ := e.store.FindLiveOTOrder(ctx, e.demo.ID, o.ID); x.LastError != "" || got.ProcurementError != "" {
		t.Errorf("the order still waits for a person after the link: %q %q", x.LastError, got.ProcurementError)
	}

	t.Run("a link without Taobao orders is refused by the field", func(t *testing.T) {
		res, card := op.htmxPost("/admin/orders/"+itoa(o.ID)+"/ot/activity", url.Values{"kind": {"link"}, "provider_orders": {" "}})
		wantStatus(t, res, http.StatusOK)
		if !strings.Contains(card.Find(`[data-testid="ot-error"]`).Text(), "Taobao order ids") {
			t.Errorf("empty link: %s", card.Text())
		}
	})

	t.Run("unlink", func(t *testing.T) {
		res, _ := op.htmxPost("/admin/orders/"+itoa(o.ID)+"/ot/activity", url.Values{"kind": {"unlink"}, "lines": {itoa(o.Lines[0].ID)}})
		wantStatus(t, res, http.StatusOK)
		e.followUntil(t, op, e.demo, o.ID, model.ActFinished)
		x, _ := e.store.FindLiveOTOrder(ctx, e.demo.ID, o.ID)
		if x.Lines[0].VendPurchID != "" {
			t.Errorf("OT line after the unlink: %+v", x.Lines[0])
		}
		got, _ := e.store.FindOrderByID(ctx, e.demo.ID, o.ID)
		if got.Lines[0].PurchaseID != "" || got.Lines[0].ProcurementStatus != model.ProcPending {
			t.Errorf("our line after the unlink: %+v", got.Lines[0])
		}
	})
}

// TestOTPaymentResumed: a run stopped between the top-up of the buyer's
// account and the payment leaves the OT order "paying"; the next run asks
// OT what is paid and pays from the balance already there, so the account
// is topped up once for the order.
func TestOTPaymentResumed(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sb := e.sandboxes.OTAPI
	op := e.otShop(t)
	// Stopped after AddOrder by a skipped item, which a person accepts.
	o := e.paidOrderOf(t, e.demo, item{"TS-WHITE-M", 1}, item{"SCARF-SILK", 1})
	e.runJob(t, op, "orders-to-ot")
	x, _ := e.store.FindLiveOTOrder(ctx, e.demo.ID, o.ID)
	if err := e.store.AcceptOTSkipped(ctx, e.demo, x.ID, model.SystemActor); err != nil {
		t.Fatal(err)
	}
	// The run that died: intent recorded, the account topped up, nothing more.
	if err := e.store.RecordOTPaying(ctx, e.demo.ID, x.ID); err != nil {
		t.Fatal(err)
	}
	c := otapi.New(otapi.Config{BaseURL: sb.APIURL(), InstanceKey: otapi.DemoInstanceKey, Secret: otapi.DemoSecret,
		OperatorLogin: otapi.DemoOperatorLogin, OperatorPassword: otapi.DemoOperatorPassword, HTTPClient: e.policy.Client(0)})
	session, err := c.AuthenticateInstanceOperator(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.PostTransaction(ctx, session, x.CustomerID, x.Amount, "the run that died", true, time.Time{}); err != nil {
		t.Fatal(err)
	}
	e.runJob(t, op, "orders-to-ot")
	so, _ := sb.Order(x.SalesID)
	if so.Paid != so.Total {
		t.Errorf("paid at OT %d of %d", so.Paid, so.Total)
	}
	if b, _ := sb.Balance(x.CustomerID); b != 0 {
		t.Errorf("the buyer's balance: %d, want 0 (topped up twice?)", b)
	}
	if got, _ := e.store.FindLiveOTOrder(ctx, e.demo.ID, o.ID); got.State != model.OTPaid || got.ToppedUp != 0 {
		t.Errorf("our OT order: %s, topped up %d by this run (want 0)", got.State, got.ToppedUp)
	}
}

// TestOTActivitiesPage: the activities page lists those under way with
// their question, then those that ended; staff see them without the
// buttons, and the card of another shop's activity is not found.
func TestOTActivitiesPage(t *testing.T) {
	e := newEnv(t)
	op := e.otShop(t)
	first := e.paidOrderOf(t, e.demo, item{"BAG-TOTE", 1})
	asking := e.paidOrderOf(t, e.demo, item{"TEA-SET6", 1})
	e.runJob(t, op, "orders-to-ot")
	e.followUntil(t, op, e.demo, first.ID, model.ActFinished)
	a := e.followUntil(t, op, e.demo, asking.ID, model.ActAwaiting)

	res, doc := op.get("/admin/procurement/ot/activities")
	wantStatus(t, res, http.StatusOK)
	running := doc.Find(`[data-testid="ot-running"] [data-testid="ot-activity"]`)
	if running.Length() != 1 || running.Find(`[data-testid="ot-answer"]`).Length() != 3 {
		t.Errorf("under way: %s", doc.Find(`[data-testid="ot-running"]`).Text())
	}
	if n := doc.Find(`[data-testid="ot-finished"] [data-testid="ot-activity"][data-state="finished"]`).Length(); n != 1 {
		t.Errorf("ended: %d", n)
	}
	// The card alone for htmx, the page without it.
	res, body := op.do("GET", "/admin/procurement/ot/activities/"+itoa(a.ID), nil, http.Header{"Hx-Request": {"true"}})
	wantStatus(t, res, http.StatusOK)
	if frag := parseHTML(t, body); frag.Find(`[data-testid="ot-activity"]`).Length() != 1 || frag.Find("nav").Length() != 0 {
		t.Errorf("fragment: %s", body)
	}
	res, page := op.get("/admin/procurement/ot/activities/" + itoa(a.ID))
	wantStatus(t, res, http.StatusOK)
	if page.Find("nav").Length() == 0 || page.Find(`[data-testid="ot-question"]`).Length() != 1 {
		t.Errorf("page: %s", page.Text())
	}

	staff := e.client(t, "")
	staff.login("staff@demo.test", demoPassword)
	_, doc = staff.get("/admin/procurement/ot/activities")
	if doc.Find(`[data-testid="ot-question"]`).Length() != 1 || doc.Find(`[data-testid="ot-answer"]`).Length() != 0 || doc.Find(`[data-testid="ot-cancel"]`).Length() != 0 {
		t.Errorf("staff's view: %s", doc.Find(`[data-testid="ot-running"]`).Text())
	}
	res, _ = staff.postForm("/admin/procurement/ot/activities/"+itoa(a.ID)+"/answer", url.Values{"action": {"SkipItem"}})
	wantStatus(t, res, http.StatusForbidden)

	tr := e.client(t, "demo-tr.localhost")
	tr.login("owner@demo.test", demoPassword)
	res, _ = tr.get("/admin/procurement/ot/activities/" + itoa(a.ID))
	wantStatus(t, res, http.StatusNotFound)
}
