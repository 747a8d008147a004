package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"orderdesk/model"
	"orderdesk/providers/cdek"
	"orderdesk/providers/dostavista"
	"orderdesk/views/locales"
)

// Issue 9, "Warehouse arrival" and "Shipments": through the real router, the
// real delivery flow and the carriers' sandboxes.

// deliveryCustomer is an order's recipient whose every part is easy to find
// in a page.
var deliveryCustomer = model.Address{FirstName: "Varvara", LastName: "Sokolova", Email: "varvara.sokolova@example.com",
	Telephone: "+79161234567", Street1: "Nevsky prospekt 28", Street2: "kv. 14", City: "Санкт-Петербург", State: "SPb",
	Zip: "191186", Country: "RU"}

// paidOrder places an order of two products in shop t with the shipping
// method of carrier and pays it, through the model functions the checkout
// and the payment flow use: an order the procurement jobs will buy.
func (e *env) paidOrder(t *testing.T, shop *model.Tenant, carrier string) *model.Order {
	t.Helper()
	ctx := context.Background()
	products, err := e.store.FindProducts(ctx, shop.ID)
	if err != nil {
		t.Fatal(err)
	}
	methods, err := e.store.FindShippingMethods(ctx, shop.ID)
	if err != nil {
		t.Fatal(err)
	}
	var method int64
	for _, m := range methods {
		if m.Carrier == carrier {
			method = m.ID
		}
	}
	if method == 0 {
		t.Fatalf("%s has no %s shipping method", shop.Slug, carrier)
	}
	cart, err := e.store.EnsureCart(ctx, shop.ID, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	added := 0
	for _, p := range products {
		if p.ProviderSKUID != "" && added < 2 {
			if err := e.store.AddToCart(ctx, shop.ID, cart, p.ID, 1); err != nil {
				t.Fatal(err)
			}
			added++
		}
	}
	o, err := e.store.PlaceOrder(ctx, shop, model.PlaceOrderInput{CartID: cart, Address: deliveryCustomer, ShippingMethodID: method})
	if err != nil {
		t.Fatal(err)
	}
	in, err := e.store.UsableIntegration(ctx, shop.ID, model.ProviderTinkoff)
	if shop.Currency != "RUB" {
		in, err = e.store.UsableIntegration(ctx, shop.ID, model.ProviderKuveyt)
	}
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.store.NewPayment(ctx, shop, o.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.ApplyPayment(ctx, shop, p.ID, model.Observation{Stage: model.PaymentCompleted, AmountMinor: p.Amount, Currency: p.Currency},
		model.PaymentEvent{}); err != nil {
		t.Fatal(err)
	}
	o, err = e.store.FindOrderByID(ctx, shop.ID, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// boughtOrder is a paidOrder bought at the supplier, whose parcels
// travel with the tracks SUP-{order}-{line}: what the payment flow and the
// procurement jobs leave behind, made through the same model functions.
// The lines at the indexes in cancelled are cancelled at the supplier instead.
func (e *env) boughtOrder(t *testing.T, shop *model.Tenant, carrier string, cancelled ...int) *model.Order {
	t.Helper()
	ctx := context.Background()
	o := e.paidOrder(t, shop, carrier)
	for i, l := range o.Lines {
		purchase, track := fmt.Sprintf("PUR-%d-%d", o.ID, l.ID), fmt.Sprintf("SUP-%d-%d", o.ID, l.ID)
		steps := []model.ProcurementStatus{model.ProcCreated, model.ProcPaid, model.ProcShipped}
		for _, c := range cancelled {
			if c == i {
				steps, track = []model.ProcurementStatus{model.ProcCreated, model.ProcCancelled}, ""
			}
		}
		for _, to := range steps {
			if err := e.store.SetLineProcurement(ctx, shop, l.ID, to, model.JobActor("purchase-status"), purchase, track, "", ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	o, err := e.store.FindOrderByID(ctx, shop.ID, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// scan types a number into the warehouse's scan field, as htmx sends it.
func scan(t *testing.T, c *client, code string) (*http.Response, *goquery.Document) {
	t.Helper()
	res, body := c.do("POST", "/admin/warehouse/scan", strings.NewReader(url.Values{"code": {code}, "_csrf": {c.csrf()}}.Encode()),
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Hx-Request": {"true"}})
	return res, parseHTML(t, body)
}

// readyToShip lists the order numbers on the desk's Ready to ship view.
func readyToShip(t *testing.T, c *client) []string {
	t.Helper()
	res, doc := c.get("/admin/orders?ready=1")
	wantStatus(t, res, http.StatusOK)
	var out []string
	doc.Find(`[data-testid="order-number"]`).Each(func(_ int, s *goquery.Selection) { out = append(out, s.Text()) })
	return out
}

func TestWarehouseScan(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	staff := e.client(t, "")
	staff.login("staff@demo.test", demoPassword)
	o := e.boughtOrder(t, e.demo, "cdek")
	if len(o.Lines) != 2 {
		t.Fatalf("order has %d lines, want 2", len(o.Lines))
	}
	first, second := o.Lines[0], o.Lines[1]

	t.Run("the page has the scan field focused for the scanner", func(t *testing.T) {
		res, doc := staff.get("/admin/warehouse")
		wantStatus(t, res, http.StatusOK)
		field := doc.Find(`[data-testid="scan-code"]`)
		if _, ok := field.Attr("autofocus"); !ok || field.AttrOr("name", "") != "code" {
			t.Errorf("scan field: name %q", field.AttrOr("name", ""))
		}
	})

	t.Run("a supplier's track marks its line arrived, and the order waits for the rest", func(t *testing.T) {
		res, doc := scan(t, staff, "  "+first.SupplierTrack+" ")
		wantStatus(t, res, http.StatusOK)
		if doc.Find("html").Length() != 0 && doc.Find("nav").Length() != 0 {
			t.Error("htmx got the whole page, want the scan part")
		}
		if doc.Find(`[data-testid="scan-ok"]`).Length() != 1 || doc.Find(`[data-testid="scan-line"]`).Length() != 1 {
			t.Errorf("result: %s", doc.Find(`[data-testid="scan-result"]`).Text())
		}
		if got := strings.TrimSpace(doc.Find(`[data-testid="scan-ready"]`).Text()); !strings.Contains(got, "not yet") {
			t.Errorf("ready: %q", got)
		}
		got := e.order(t, o.ID)
		if got.Lines[0].ArrivedAt == nil || got.Lines[0].ArrivedBy != "staff:staff@demo.test" || got.Lines[1].ArrivedAt != nil {
			t.Errorf("lines after the scan: %+v", got.Lines)
		}
		if got.ArrivedAt != nil || slices.Contains(readyToShip(t, staff), o.Number) {
			t.Error("an order with an item still on its way is ready to ship")
		}
	})

	t.Run("scanning it again says so and changes nothing", func(t *testing.T) {
		before := e.order(t, o.ID)
		events, _ := e.store.FindOrderEvents(ctx, e.demo.ID, o.ID)
		res, doc := scan(t, staff, first.SupplierTrack)
		wantStatus(t, res, http.StatusOK)
		if doc.Find(`[data-testid="scan-already"]`).Length() != 1 || doc.Find(`[data-testid="scan-ok"]`).Length() != 0 {
			t.Errorf("second scan: %s", doc.Find(`[data-testid="scan-result"]`).Text())
		}
		after := e.order(t, o.ID)
		again, _ := e.store.FindOrderEvents(ctx, e.demo.ID, o.ID)
		if !after.Lines[0].ArrivedAt.Equal(*before.Lines[0].ArrivedAt) || len(again) != len(events) {
			t.Errorf("the repeated scan changed the order: %v → %v, %d → %d events", before.Lines[0].ArrivedAt, after.Lines[0].ArrivedAt, len(events), len(again))
		}
	})

	t.Run("an unknown number says so", func(t *testing.T) {
		res, doc := scan(t, staff, "NO-SUCH-TRACK-1")
		wantStatus(t, res, http.StatusOK)
		if got := doc.Find(`[data-testid="scan-unknown"]`).Text(); !strings.Contains(got, "NO-SUCH-TRACK-1") {
			t.Errorf("unknown: %q", got)
		}
	})

	t.Run("an empty scan is refused by its field", func(t *testing.T) {
		res, doc := staff.postForm("/admin/warehouse/scan", url.Values{"code": {"   "}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		if doc.Find(`[data-testid="error-code"]`).Length() == 0 {
			t.Error("no error by the field")
		}
	})

	t.Run("a purchase id works too, without JavaScript, and the order is ready to ship", func(t *testing.T) {
		res, doc := staff.postForm("/admin/warehouse/scan", url.Values{"code": {second.PurchaseID}})
		wantStatus(t, res, http.StatusOK)
		if doc.Find("nav").Length() == 0 || doc.Find(`[data-testid="scan-ok"]`).Length() != 1 {
			t.Errorf("plain form: want the whole page with the result")
		}
		if got := strings.TrimSpace(doc.Find(`[data-testid="scan-ready"]`).Text()); got != "Yes" {
			t.Errorf("ready: %q", got)
		}
		if !slices.Contains(readyToShip(t, staff), o.Number) {
			t.Error("the order is not on the Ready to ship view")
		}
		_, desk := staff.get("/admin/orders")
		if got := desk.Find(`[data-testid="tab-ready"] .badge`).Text(); got != "1" {
			t.Errorf("Ready to ship tab: %q", got)
		}
		if _, dash := staff.get("/admin/"); !strings.Contains(dash.Find(`[data-testid="todo-ship"]`).Text(), "1 order ready to ship") {
			t.Errorf("dashboard: %q", dash.Find(`[data-testid="todo-ship"]`).Text())
		}
		// On the view itself, the status tabs count the ready orders only.
		_, desk = staff.get("/admin/orders?ready=1")
		if got := desk.Find(`[data-testid="tab-all"] .badge`).Text(); got != "1" {
			t.Errorf("All tab of the Ready to ship view: %q", got)
		}
	})

	t.Run("a cancelled line does not keep its order waiting", func(t *testing.T) {
		// The supplier closed one line's purchase: it never comes.
		b := e.boughtOrder(t, e.demo, "dostavista", 1)
		scan(t, staff, b.Lines[0].SupplierTrack)
		if !slices.Contains(readyToShip(t, staff), b.Number) {
			t.Error("an order whose other line was cancelled is not ready to ship")
		}
	})

	t.Run("another shop's track is unknown here and stays as it was", func(t *testing.T) {
		tr := e.tenant(t, model.DemoTurkishSlug)
		other := e.boughtOrder(t, tr, "cdek")
		res, doc := scan(t, staff, other.Lines[0].SupplierTrack)
		wantStatus(t, res, http.StatusOK)
		if doc.Find(`[data-testid="scan-unknown"]`).Length() != 1 {
			t.Error("another shop's parcel was found")
		}
		got, err := e.store.FindOrderByID(ctx, tr.ID, other.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Lines[0].ArrivedAt != nil {
			t.Error("another shop's line was marked arrived")
		}
	})
}

// arrive scans every line of an order in.
func (e *env) arrive(t *testing.T, staff *client, o *model.Order) {
	t.Helper()
	for _, l := range o.Lines {
		if res, _ := scan(t, staff, l.SupplierTrack); res.StatusCode != http.StatusOK {
			t.Fatalf("scan %s: %d", l.SupplierTrack, res.StatusCode)
		}
	}
}

// shipment is the order's live shipment.
func (e *env) shipment(t *testing.T, shop *model.Tenant, orderID int64) *model.Shipment {
	t.Helper()
	sh, err := e.store.FindOrderShipment(context.Background(), shop.ID, orderID)
	if err != nil {
		t.Fatalf("shipment of order %d: %v", orderID, err)
	}
	return sh
}

// outbox lists an order's queued messages of a kind with their payloads.
func (e *env) outbox(t *testing.T, orderID int64, kind string) []map[string]string {
	t.Helper()
	items, err := e.store.FindOutbox(context.Background(), e.demo.ID, orderID)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, it := range items {
		if it.Kind == kind {
			p := map[string]string{}
			if err := json.Unmarshal([]byte(it.Payload), &p); err != nil {
				t.Fatal(err)
			}
			out = append(out, p)
		}
	}
	return out
}

// cdekOrders lists the CDEK sandbox's shipments registered under a number.
func (e *env) cdekOrders(t *testing.T, number string) []*cdek.SandboxOrder {
	t.Helper()
	all, err := e.sandboxes.CDEK.Orders(1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []*cdek.SandboxOrder
	for _, o := range all {
		if o.Number == number {
			out = append(out, o)
		}
	}
	return out
}

// pageShipment reads the order page's shipment block.
func pageShipment(t *testing.T, c *client, orderID int64) *goquery.Selection {
	t.Helper()
	res, doc := c.get("/admin/orders/" + strconv.FormatInt(orderID, 10))
	wantStatus(t, res, http.StatusOK)
	return doc.Find(`[data-testid="shipment"]`)
}

func TestCDEKShipments(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	owner := e.owner(t)
	integ, err := e.store.UsableIntegration(ctx, e.demo.ID, model.ProviderCDEK)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("two clicks at once register one shipment", func(t *testing.T) {
		o := e.boughtOrder(t, e.demo, "cdek")
		e.arrive(t, owner, o)
		// CDEK answers slowly, so that the second click comes while the
		// first is at CDEK.
		e.sandboxes.CDEK.SetLatency(300 * time.Millisecond)
		defer e.sandboxes.CDEK.SetLatency(0)
		token := owner.csrf()
		click := func() (int, string) {
			res, body := owner.do("POST", fmt.Sprintf("/admin/orders/%d/shipment", o.ID), strings.NewReader(url.Values{"_csrf": {token}}.Encode()),
				http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Hx-Request": {"true"}})
			return res.StatusCode, body
		}
		var wg sync.WaitGroup
		var firstCode int
		wg.Add(1)
		go func() {
			defer wg.Done()
			firstCode, _ = click()
		}()
		// The second click comes while the first is at CDEK.
		for i := 0; i < 200; i++ {
			if sh, err := e.store.FindOrderShipment(ctx, e.demo.ID, o.ID); err == nil && sh.Status == model.ShipRegistering {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		secondCode, second := click()
		wg.Wait()
		if firstCode != http.StatusOK || secondCode != http.StatusOK {
			t.Fatalf("clicks answered %d and %d", firstCode, secondCode)
		}
		if got := parseHTML(t, second).Find(`[data-testid="shipment-action-error"]`).Text(); !strings.Contains(got, "is being registered right now") {
			t.Errorf("second click: %q", got)
		}
		if n := len(e.cdekOrders(t, o.Number)); n != 1 {
			t.Errorf("CDEK has %d shipments of %s, want 1", n, o.Number)
		}
		sh := e.shipment(t, e.demo, o.ID)
		if sh.Status != model.ShipCreated || sh.CarrierOrderID == "" || sh.Reference != o.Number {
			t.Errorf("shipment: %+v", sh)
		}
		hooks, err := e.sandboxes.CDEK.Webhooks()
		if err != nil || len(hooks) != 1 || hooks[0].URL != fmt.Sprintf("%s/webhooks/cdek/%d", strings.TrimSuffix(e.srv.URL, "/"), integ.ID) {
			t.Errorf("CDEK's webhook subscriptions: %+v %v", hooks, err)
		}
	})

	t.Run("a retry after a crash finds the shipment at CDEK by the order number", func(t *testing.T) {
		o := e.boughtOrder(t, e.demo, "cdek")
		// A process recorded the intent, had CDEK register the shipment and
		// stopped before it recorded the answer; its claim ran out.
		claim, err := e.store.BeginShipment(ctx, e.demo, o.ID, integ, model.StaffActor(&model.User{Email: "owner@demo.test"}), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		client := cdek.New(cdek.Config{BaseURL: e.sandboxes.CDEK.APIURL(), ClientID: cdek.DemoClientID, ClientSecret: cdek.DemoClientSecret})
		reg, err := client.CreateOrder(ctx, cdek.OrderRequest{Number: claim.Shipment.Reference, TariffCode: 137,
			FromLocation: &cdek.Location{City: "Москва", Address: "Складская улица, 1"}, ToLocation: &cdek.Location{City: "Санкт-Петербург", Address: "Nevsky 28"},
			Recipient: cdek.Contact{Name: "V S", Phones: []string{"+79161234567"}}, Packages: []cdek.Package{{Number: "1", Weight: 500}}})
		if err != nil {
			t.Fatal(err)
		}
		if pageShipment(t, owner, o.ID).Find(`[data-testid="shipment-retry"]`).Length() != 1 {
			t.Error("no Retry once the claim ran out")
		}
		res, _ := owner.postForm(fmt.Sprintf("/admin/orders/%d/shipment", o.ID), nil)
		wantStatus(t, res, http.StatusSeeOther)
		if n := len(e.cdekOrders(t, o.Number)); n != 1 {
			t.Errorf("CDEK has %d shipments of %s after the retry, want 1", n, o.Number)
		}
		if sh := e.shipment(t, e.demo, o.ID); sh.CarrierOrderID != reg.UUID || sh.Status != model.ShipCreated {
			t.Errorf("shipment after the retry: %+v, want CDEK's %s", sh, reg.UUID)
		}
	})

	t.Run("fetch-cdek finishes a registration a crash interrupted, or says it never reached CDEK", func(t *testing.T) {
		reached, lost := e.boughtOrder(t, e.demo, "cdek"), e.boughtOrder(t, e.demo, "cdek")
		actor := model.JobActor("crashed")
		claim, err := e.store.BeginShipment(ctx, e.demo, reached.ID, integ, actor, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.BeginShipment(ctx, e.demo, lost.ID, integ, actor, time.Now()); err != nil {
			t.Fatal(err)
		}
		client := cdek.New(cdek.Config{BaseURL: e.sandboxes.CDEK.APIURL(), ClientID: cdek.DemoClientID, ClientSecret: cdek.DemoClientSecret})
		reg, err := client.CreateOrder(ctx, cdek.OrderRequest{Number: claim.Shipment.Reference, TariffCode: 137,
			FromLocation: &cdek.Location{City: "Москва", Address: "Складская улица, 1"}, ToLocation: &cdek.Location{City: "Санкт-Петербург", Address: "Nevsky 28"},
			Recipient: cdek.Contact{Name: "V S", Phones: []string{"+79161234567"}}, Packages: []cdek.Package{{Number: "1", Weight: 500}}})
		if err != nil {
			t.Fatal(err)
		}
		e.runJob(t, owner, "fetch-cdek")
		if sh := e.shipment(t, e.demo, reached.ID); sh.CarrierOrderID != reg.UUID || sh.Status == model.ShipRegistering || sh.Status == model.ShipFailed {
			t.Errorf("the registration that reached CDEK: %s %q, want CDEK's %s", sh.Status, sh.CarrierOrderID, reg.UUID)
		}
		if sh := e.shipment(t, e.demo, lost.ID); sh.Status != model.ShipFailed || !strings.Contains(sh.LastError, "interrupted before CDEK took it") {
			t.Errorf("the registration that never reached CDEK: %s %q", sh.Status, sh.LastError)
		}
		if n := len(e.cdekOrders(t, reached.Number)) + len(e.cdekOrders(t, lost.Number)); n != 1 {
			t.Errorf("CDEK has %d shipments of the two orders, want 1", n)
		}
	})

	o := e.boughtOrder(t, e.demo, "cdek")
	e.arrive(t, owner, o)
	res, _ := owner.postForm(fmt.Sprintf("/admin/orders/%d/shipment", o.ID), nil)
	wantStatus(t, res, http.StatusSeeOther)
	sh := e.shipment(t, e.demo, o.ID)

	t.Run("fetch-cdek gets the track: the order is shipped and the customer told once", func(t *testing.T) {
		if sh.TrackNumber != "" || e.order(t, o.ID).Status == model.OrderShipped {
			t.Fatal("shipped before CDEK gave a track")
		}
		for i := 0; i < 3; i++ {
			e.runJob(t, owner, "fetch-cdek")
		}
		at := e.cdekOrders(t, o.Number)[0]
		got := e.order(t, o.ID)
		if at.CDEKNumber == "" || got.Status != model.OrderShipped || got.TrackingNumber != at.CDEKNumber || got.TrackingCarrier != "cdek" {
			t.Fatalf("order after fetch-cdek: %s track %q (%s), CDEK's %q", got.Status, got.TrackingNumber, got.TrackingCarrier, at.CDEKNumber)
		}
		msgs := e.outbox(t, o.ID, "msg_shipped")
		if len(msgs) != 1 || msgs[0]["track"] != at.CDEKNumber || msgs[0]["carrier"] != "cdek" ||
			msgs[0]["tracking_url"] != model.TrackingLink("https://www.cdek.ru/ru/tracking?order_id={number}", at.CDEKNumber) {
			t.Errorf("msg_shipped: %+v", msgs)
		}
		block := pageShipment(t, owner, o.ID)
		if got := block.Find(`[data-testid="shipment-track"]`).Text(); got != at.CDEKNumber {
			t.Errorf("order page track: %q", got)
		}
		if block.Find(`[data-testid="shipment-event"]`).Length() < 2 {
			t.Errorf("status history: %q", block.Find(`[data-testid="shipment-history"]`).Text())
		}
	})

	t.Run("a webhook is only a hint: the shipment is re-read from CDEK", func(t *testing.T) {
		sh = e.shipment(t, e.demo, o.ID)
		forged := fmt.Sprintf(`{"type":"ORDER_STATUS","date_time":"2030-01-01T10:00:00+0000","uuid":%q,"attributes":{"code":"DELIVERED","number":%q,"cdek_number":%q}}`,
			sh.CarrierOrderID, o.Number, sh.TrackNumber)
		res, err := http.Post(fmt.Sprintf("%s/webhooks/cdek/%d", e.srv.URL, integ.ID), "application/json", strings.NewReader(forged))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		wantStatus(t, res, http.StatusOK)
		if got := e.order(t, o.ID); got.Status != model.OrderShipped || len(e.outbox(t, o.ID, "msg_delivered")) != 0 {
			t.Errorf("a forged DELIVERED made the order %s", got.Status)
		}
	})

	t.Run("a lost webhook is caught by fetch-cdek", func(t *testing.T) {
		code, err := e.sandboxes.CDEK.AdvanceStatusLost(ctx, sh.CarrierOrderID)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.shipment(t, e.demo, o.ID); got.CarrierStatus == code {
			t.Fatalf("the shop heard of %s without a webhook", code)
		}
		e.runJob(t, owner, "fetch-cdek")
		if got := e.shipment(t, e.demo, o.ID); got.CarrierStatus != code {
			t.Errorf("after fetch-cdek: %s, want %s", got.CarrierStatus, code)
		}
	})

	t.Run("CDEK's DELIVERED, by webhook, makes the order delivered and tells the customer", func(t *testing.T) {
		for i := 0; i < 10 && e.order(t, o.ID).Status != model.OrderDelivered; i++ {
			if _, err := e.sandboxes.CDEK.AdvanceStatus(ctx, sh.CarrierOrderID); err != nil {
				t.Fatal(err)
			}
		}
		got := e.order(t, o.ID)
		if got.Status != model.OrderDelivered || got.DeliveredAt == nil {
			t.Fatalf("order: %s", got.Status)
		}
		if n := len(e.outbox(t, o.ID, "msg_delivered")); n != 1 {
			t.Errorf("%d msg_delivered", n)
		}
		if s := e.shipment(t, e.demo, o.ID); s.Status != model.ShipDelivered || s.CarrierStatus != cdek.StatusDelivered {
			t.Errorf("shipment: %s %s", s.Status, s.CarrierStatus)
		}
		// A redelivered webhook changes nothing.
		if err := e.sandboxes.CDEK.ResendWebhook(ctx, sh.CarrierOrderID); err != nil {
			t.Fatal(err)
		}
		if n := len(e.outbox(t, o.ID, "msg_delivered")); n != 1 {
			t.Errorf("%d msg_delivered after a redelivery", n)
		}
	})

	t.Run("CDEK's refusal is said in words, and Retry registers it again", func(t *testing.T) {
		r := e.boughtOrder(t, e.demo, "cdek")
		e.sandboxes.CDEK.RejectNextRegistration()
		res, _ := owner.postForm(fmt.Sprintf("/admin/orders/%d/shipment", r.ID), nil)
		wantStatus(t, res, http.StatusSeeOther)
		e.runJob(t, owner, "fetch-cdek")
		e.runJob(t, owner, "fetch-cdek")
		block := pageShipment(t, owner, r.ID)
		want := "CDEK could not recognise the recipient's city or address. Check the delivery address."
		if got := block.Find(`[data-testid="shipment-error"]`).Text(); got != want {
			t.Errorf("refusal on the order page: %q, want %q", got, want)
		}
		if block.Find(`[data-testid="shipment-retry"]`).Length() != 1 {
			t.Fatal("no Retry")
		}
		if _, dash := owner.get("/admin/"); !strings.HasPrefix(dash.Find(`[data-testid="warn-shipments"]`).Text(), "2 shipments were refused") { // and the interrupted one
			t.Errorf("dashboard: %q", dash.Find(`[data-testid="warn-shipments"]`).Text())
		}
		res, _ = owner.postForm(fmt.Sprintf("/admin/orders/%d/shipment", r.ID), nil)
		wantStatus(t, res, http.StatusSeeOther)
		sh := e.shipment(t, e.demo, r.ID)
		if sh.Status != model.ShipCreated || sh.LastError != "" || sh.Attempts != 2 {
			t.Errorf("after Retry: %+v", sh)
		}
		if n := len(e.cdekOrders(t, r.Number)); n != 2 {
			t.Errorf("CDEK has %d registrations of %s, want the refused one and the new one", n, r.Number)
		}
	})

	t.Run("a refusal before CDEK is asked is said by the shop's settings", func(t *testing.T) {
		r := e.boughtOrder(t, e.demo, "cdek")
		settings := model.DemoDeliverySettings
		settings.SenderAddress = ""
		if err := e.store.SaveDeliverySettings(ctx, e.demo.ID, settings); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := e.store.SaveDeliverySettings(ctx, e.demo.ID, model.DemoDeliverySettings); err != nil {
				t.Fatal(err)
			}
		}()
		res, body := owner.do("POST", fmt.Sprintf("/admin/orders/%d/shipment", r.ID), strings.NewReader(url.Values{"_csrf": {owner.csrf()}}.Encode()),
			http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Hx-Request": {"true"}})
		wantStatus(t, res, http.StatusOK)
		doc := parseHTML(t, body)
		if got := doc.Find(`[data-testid="shipment-action-error"]`).Text(); !strings.Contains(got, "sender address") {
			t.Errorf("refusal: %q", got)
		}
		if n := len(e.cdekOrders(t, r.Number)); n != 0 {
			t.Errorf("CDEK was asked anyway: %d", n)
		}
	})
}

// signedCallback posts a Dostavista callback signed with secret.
func (e *env) signedCallback(t *testing.T, integrationID int64, body, secret string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("POST", fmt.Sprintf("%s/webhooks/dostavista/%d", e.srv.URL, integrationID), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(dostavista.SignatureHeader, dostavista.Sign(secret, []byte(body)))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res
}

func TestDostavistaShipments(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	owner := e.owner(t)
	integ, err := e.store.UsableIntegration(ctx, e.demo.ID, model.ProviderDostavista)
	if err != nil {
		t.Fatal(err)
	}
	o := e.boughtOrder(t, e.demo, "dostavista")
	e.arrive(t, owner, o)
	res, _ := owner.postForm(fmt.Sprintf("/admin/orders/%d/shipment", o.ID), nil)
	wantStatus(t, res, http.StatusSeeOther)
	sh := e.shipment(t, e.demo, o.ID)
	id, _ := strconv.ParseInt(sh.CarrierOrderID, 10, 64)

	t.Run("the courier order is placed with the order's addresses and its cost", func(t *testing.T) {
		at, err := e.sandboxes.Dostavista.Order(id)
		if err != nil {
			t.Fatal(err)
		}
		if len(at.Points) != 2 || !strings.Contains(at.Points[0].Address, "Складская улица, 1") || !strings.Contains(at.Points[1].Address, "Nevsky prospekt 28") ||
			at.Points[1].ClientOrderID != o.Number || at.Points[1].ContactPerson.Phone != "79161234567" || at.Points[1].RequiredFinish.IsZero() {
			t.Errorf("courier order: %+v", at.Points)
		}
		if sh.Status != model.ShipCreated || sh.Cost != at.PaymentAmount || sh.Cost == 0 {
			t.Errorf("shipment: %+v", sh)
		}
		if got := pageShipment(t, owner, o.ID).Find(`[data-testid="shipment-cost"]`).Text(); got != locales.Money("en", at.PaymentAmount, "RUB") {
			t.Errorf("cost on the page: %q", got)
		}
		if e.order(t, o.ID).Status == model.OrderShipped || len(e.outbox(t, o.ID, "msg_courier_assigned")) != 0 {
			t.Error("shipped, or told, before a courier has the parcel")
		}
	})

	t.Run("a forged callback is refused and recorded", func(t *testing.T) {
		forged := fmt.Sprintf(`{"event_type":"order_changed","event_datetime":"2030-01-01T10:00:00+03:00","order":{"order_id":%d,"status":"completed","points":[]}}`, id)
		res := e.signedCallback(t, integ.ID, forged, "not-the-secret")
		wantStatus(t, res, http.StatusForbidden)
		if got := e.order(t, o.ID); got.Status == model.OrderDelivered || got.Status == model.OrderShipped {
			t.Errorf("a forged callback made the order %s", got.Status)
		}
		var refused int
		if err := e.store.DB.R.QueryRow(`SELECT count(*) FROM carrier_messages WHERE integration_id = ? AND verified = 0 AND result LIKE 'refused:%'`, integ.ID).Scan(&refused); err != nil {
			t.Fatal(err)
		}
		if refused != 1 {
			t.Errorf("%d refused callbacks recorded, want 1", refused)
		}
	})

	t.Run("a courier assigned ships the order and tells the customer who comes", func(t *testing.T) {
		for _, want := range []string{dostavista.StatusAvailable, dostavista.StatusActive} {
			if got, err := e.sandboxes.Dostavista.AdvanceOrder(ctx, id); err != nil || got != want {
				t.Fatalf("advance: %s %v", got, err)
			}
		}
		at, _ := e.sandboxes.Dostavista.Order(id)
		got := e.order(t, o.ID)
		if got.Status != model.OrderShipped || got.TrackingNumber != sh.CarrierOrderID || got.TrackingURL != at.Points[1].TrackingURL {
			t.Errorf("order: %s %q %q", got.Status, got.TrackingNumber, got.TrackingURL)
		}
		msgs := e.outbox(t, o.ID, "msg_courier_assigned")
		if len(msgs) != 1 || msgs[0]["courier_name"] != "Пётр Иванов" || msgs[0]["courier_phone"] != "+79990000001" ||
			msgs[0]["tracking_url"] != at.Points[1].TrackingURL {
			t.Errorf("msg_courier_assigned: %+v", msgs)
		}
		if n := len(e.outbox(t, o.ID, "msg_shipped")); n != 0 {
			t.Errorf("%d msg_shipped besides the courier's message", n)
		}
	})

	t.Run("a callback delivered twice, or late, changes nothing", func(t *testing.T) {
		before := e.shipment(t, e.demo, o.ID)
		count := func() (messages, events int) {
			t.Helper()
			if err := e.store.DB.R.QueryRow(`SELECT (SELECT count(*) FROM carrier_messages WHERE shipment_id = ?),
				(SELECT count(*) FROM shipment_events WHERE shipment_id = ?)`, before.ID, before.ID).Scan(&messages, &events); err != nil {
				t.Fatal(err)
			}
			return messages, events
		}
		messages, events := count()
		if events != 3 { // new, available, active
			t.Errorf("%d history entries, want 3", events)
		}
		if err := e.sandboxes.Dostavista.ResendCallback(ctx, id); err != nil {
			t.Fatal(err)
		}
		// The "available" callback again, as sent then: genuine, but old.
		sent, err := e.sandboxes.Dostavista.Callbacks(id)
		if err != nil || len(sent) < 3 || !strings.Contains(sent[1].Body, `"available"`) {
			t.Fatalf("callbacks: %v %v", sent, err)
		}
		req, _ := http.NewRequest("POST", sent[1].URL, strings.NewReader(sent[1].Body))
		req.Header.Set(dostavista.SignatureHeader, sent[1].Signature)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		wantStatus(t, res, http.StatusOK)
		after := e.shipment(t, e.demo, o.ID)
		if m, ev := count(); m != messages || ev != events || after.Status != model.ShipInTransit || after.CarrierStatus != dostavista.StatusActive {
			t.Errorf("after the redeliveries: %d → %d messages, %d → %d entries, %s (%s)", messages, m, events, ev, after.Status, after.CarrierStatus)
		}
		if got := e.order(t, o.ID); got.Status != model.OrderShipped {
			t.Errorf("order: %s", got.Status)
		}
	})

	t.Run("finished makes the order delivered and tells the customer", func(t *testing.T) {
		if _, err := e.sandboxes.Dostavista.AdvanceOrder(ctx, id); err != nil {
			t.Fatal(err)
		}
		if got := e.order(t, o.ID); got.Status != model.OrderDelivered {
			t.Errorf("order: %s", got.Status)
		}
		if n := len(e.outbox(t, o.ID, "msg_delivered")); n != 1 {
			t.Errorf("%d msg_delivered", n)
		}
	})

	t.Run("the tracking page tells both legs and nothing personal", func(t *testing.T) {
		got := e.order(t, o.ID)
		c := e.client(t, "")
		res, body := c.do("GET", "/track/"+o.Number, nil, nil)
		wantStatus(t, res, http.StatusOK)
		doc := parseHTML(t, body)
		for _, step := range []string{"ordered", "paid", "bought", "on_the_way", "arrived", "handed_over", "delivered"} {
			li := doc.Find(`[data-testid="track-step-` + step + `"]`)
			if !li.HasClass("done") || li.Find(`[data-testid="track-step-date"]`).Text() == "" {
				t.Errorf("step %s: %q", step, li.Text())
			}
		}
		if got := doc.Find(`[data-testid="track-step-on_the_way"] [data-testid="track-step-detail"]`).Text(); !strings.Contains(got, o.Lines[0].SupplierTrack) {
			t.Errorf("supplier's leg: %q", got)
		}
		link := doc.Find(`[data-testid="track-step-handed_over"] [data-testid="track-step-link"]`)
		if link.Text() != got.TrackingNumber || link.AttrOr("href", "") != got.TrackingURL {
			t.Errorf("carrier's leg: %q → %q", link.Text(), link.AttrOr("href", ""))
		}
		res, api := c.api("GET", "/api/orders/track/"+o.Number+"/", nil)
		wantStatus(t, res, http.StatusOK)
		story, _ := get(api, "order", "story").([]any)
		if len(story) != 7 || get(story[6].(map[string]any), "done") != true || get(story[5].(map[string]any), "track") != got.TrackingNumber {
			t.Errorf("API story: %v", story)
		}
		raw, _ := json.Marshal(api)
		for _, private := range []string{deliveryCustomer.FirstName, deliveryCustomer.LastName, deliveryCustomer.Email, "9161234567",
			"Nevsky", deliveryCustomer.Street2, "191186", "Пётр", "Иванов", "9990000001", "Складская"} {
			if strings.Contains(body, private) || strings.Contains(string(raw), private) {
				t.Errorf("the tracking page or API shows %q", private)
			}
		}
	})

	t.Run("a courier order Dostavista cancels before pick-up needs a person, who places another", func(t *testing.T) {
		r := e.boughtOrder(t, e.demo, "dostavista")
		res, _ := owner.postForm(fmt.Sprintf("/admin/orders/%d/shipment", r.ID), nil)
		wantStatus(t, res, http.StatusSeeOther)
		first := e.shipment(t, e.demo, r.ID)
		rid, _ := strconv.ParseInt(first.CarrierOrderID, 10, 64)
		if err := e.sandboxes.Dostavista.FailOrder(ctx, rid); err != nil {
			t.Fatal(err)
		}
		got := e.order(t, r.ID)
		if s := e.shipment(t, e.demo, r.ID); s.Status != model.ShipProblem || !strings.Contains(got.NeedsAttention, "Dostavista courier reports a problem") {
			t.Fatalf("after Dostavista cancelled: %s, %q", s.Status, got.NeedsAttention)
		}
		if got.Status == model.OrderShipped {
			t.Error("a courier order cancelled before pick-up shipped the order")
		}
		if pageShipment(t, owner, r.ID).Find(`[data-testid="shipment-retry"]`).Length() != 1 {
			t.Fatal("no Retry")
		}
		res, _ = owner.postForm(fmt.Sprintf("/admin/orders/%d/shipment", r.ID), nil)
		wantStatus(t, res, http.StatusSeeOther)
		if s := e.shipment(t, e.demo, r.ID); s.Status != model.ShipCreated || s.CarrierOrderID == first.CarrierOrderID {
			t.Errorf("after Retry: %s %s (first %s)", s.Status, s.CarrierOrderID, first.CarrierOrderID)
		}
		if got := e.order(t, r.ID); got.NeedsAttention != "" {
			t.Errorf("the problem is still in front of a person: %q", got.NeedsAttention)
		}
		// News of the given-up order (genuine, signed) is not the new one's.
		if err := e.sandboxes.Dostavista.SendCallback(ctx, rid, dostavista.StatusCompleted); err != nil {
			t.Fatal(err)
		}
		if s := e.shipment(t, e.demo, r.ID); s.Status != model.ShipCreated || e.order(t, r.ID).Status != model.OrderConfirmed {
			t.Errorf("the old courier order's callback made the new shipment %s", s.Status)
		}
	})

	t.Run("a lost callback is caught by fetch-dostavista", func(t *testing.T) {
		r := e.boughtOrder(t, e.demo, "dostavista")
		res, _ := owner.postForm(fmt.Sprintf("/admin/orders/%d/shipment", r.ID), nil)
		wantStatus(t, res, http.StatusSeeOther)
		rid, _ := strconv.ParseInt(e.shipment(t, e.demo, r.ID).CarrierOrderID, 10, 64)
		for i := 0; i < 2; i++ {
			if _, err := e.sandboxes.Dostavista.AdvanceOrderLost(ctx, rid); err != nil {
				t.Fatal(err)
			}
		}
		if got := e.order(t, r.ID); got.Status == model.OrderShipped {
			t.Fatal("shipped without a callback")
		}
		e.runJob(t, owner, "fetch-dostavista")
		if got := e.order(t, r.ID); got.Status != model.OrderShipped || len(e.outbox(t, r.ID, "msg_courier_assigned")) != 1 {
			t.Errorf("after fetch-dostavista: %s", got.Status)
		}
	})
}

func TestReadyToShipBulkShipments(t *testing.T) {
	e := newEnv(t)
	owner := e.owner(t)
	byCDEK := e.boughtOrder(t, e.demo, "cdek")
	byAras := e.boughtOrder(t, e.demo, "aras")
	e.arrive(t, owner, byCDEK)
	e.arrive(t, owner, byAras)
	ready := readyToShip(t, owner)
	if !slices.Contains(ready, byCDEK.Number) || !slices.Contains(ready, byAras.Number) {
		t.Fatalf("ready to ship: %v", ready)
	}
	res, doc := owner.postForm("/admin/orders/shipments", url.Values{"ids": {strconv.FormatInt(byCDEK.ID, 10), strconv.FormatInt(byAras.ID, 10)}, "ready": {"1"}})
	wantStatus(t, res, http.StatusOK)
	result := doc.Find(`[data-testid="bulk-result"]`).Text()
	if !strings.Contains(result, "1 of 2 selected orders got a shipment") || !strings.Contains(result, byCDEK.Number+": CDEK shipment: Registered") ||
		!strings.Contains(result, byAras.Number+": Order "+byAras.Number+" goes by Aras Kargo, a carrier without an integration") {
		t.Errorf("bulk result: %s", result)
	}
	if n := len(e.cdekOrders(t, byCDEK.Number)); n != 1 {
		t.Errorf("CDEK has %d shipments", n)
	}

	t.Run("a manual carrier's track typed by staff ships the order and tells the customer", func(t *testing.T) {
		res, _ := owner.postForm(fmt.Sprintf("/admin/orders/%d/status", byAras.ID), url.Values{"status": {"shipped"}, "tracking_number": {"ARAS555"}})
		wantStatus(t, res, http.StatusSeeOther)
		sh := e.shipment(t, e.demo, byAras.ID)
		if sh.Carrier != "aras" || sh.TrackNumber != "ARAS555" || sh.Status != model.ShipInTransit || !sh.Manual() {
			t.Errorf("manual shipment: %+v", sh)
		}
		msgs := e.outbox(t, byAras.ID, "msg_shipped")
		if len(msgs) != 1 || msgs[0]["track"] != "ARAS555" || !strings.Contains(msgs[0]["tracking_url"], "araskargo") {
			t.Errorf("msg_shipped: %+v", msgs)
		}
		if slices.Contains(readyToShip(t, owner), byAras.Number) {
			t.Error("a shipped order is still ready to ship")
		}
	})

	t.Run("a CDEK order waiting for its track is not shipped by hand", func(t *testing.T) {
		res, doc := owner.postForm(fmt.Sprintf("/admin/orders/%d/status", byCDEK.ID), url.Values{"status": {"shipped"}, "tracking_number": {"X1"}})
		wantStatus(t, res, http.StatusConflict)
		if got := doc.Find(`[data-testid="status-error"]`).Text(); !strings.Contains(got, "becomes shipped with the carrier's track") {
			t.Errorf("refusal: %q", got)
		}
	})
}

func TestShipmentsOfAnotherShopAreUntouchable(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	owner := e.owner(t)
	o := e.boughtOrder(t, e.demo, "cdek")
	res, _ := owner.postForm(fmt.Sprintf("/admin/orders/%d/shipment", o.ID), nil)
	wantStatus(t, res, http.StatusSeeOther)
	sh := e.shipment(t, e.demo, o.ID)
	d := e.boughtOrder(t, e.demo, "dostavista")
	res, _ = owner.postForm(fmt.Sprintf("/admin/orders/%d/shipment", d.ID), nil)
	wantStatus(t, res, http.StatusSeeOther)
	dsh := e.shipment(t, e.demo, d.ID)

	tr := e.tenant(t, model.DemoTurkishSlug)
	other := e.client(t, "demo-tr.localhost")
	other.login("owner@demo.test", demoPassword)
	for _, path := range []string{"/admin/orders/%d/shipment", "/admin/orders/%d/shipment/refresh"} {
		res, _ := other.postForm(fmt.Sprintf(path, o.ID), nil)
		wantStatus(t, res, http.StatusNotFound)
	}
	res, doc := other.postForm("/admin/orders/shipments", url.Values{"ids": {strconv.FormatInt(o.ID, 10)}, "ready": {"1"}})
	wantStatus(t, res, http.StatusOK)
	if strings.Contains(doc.Text(), o.Number) {
		t.Error("the bulk answer names another shop's order")
	}
	// The Turkish shop's own CDEK and Dostavista addresses, naming demo's shipments.
	trCDEK, err := e.store.UsableIntegration(ctx, tr.ID, model.ProviderCDEK)
	if err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`{"type":"ORDER_STATUS","uuid":%q,"attributes":{"code":"CREATED","number":%q}}`, sh.CarrierOrderID, o.Number)
	hres, err := http.Post(fmt.Sprintf("%s/webhooks/cdek/%d", e.srv.URL, trCDEK.ID), "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	hres.Body.Close()
	wantStatus(t, hres, http.StatusOK)
	trDV, err := e.store.UsableIntegration(ctx, tr.ID, model.ProviderDostavista)
	if err != nil {
		t.Fatal(err)
	}
	cb := fmt.Sprintf(`{"event_type":"order_changed","order":{"order_id":%s,"status":"completed","points":[{"address":"x","client_order_id":%q}],
		"courier":{"name":"Eve","surname":"X","phone":"70000000000"}}}`, dsh.CarrierOrderID, d.Number)
	wantStatus(t, e.signedCallback(t, trDV.ID, cb, dostavista.DemoCallbackSecret), http.StatusOK)
	if got := e.shipment(t, e.demo, o.ID); got.UpdatedAt != sh.UpdatedAt || got.Status != sh.Status {
		t.Errorf("another shop's webhook changed the shipment: %+v", got)
	}
	if got := e.shipment(t, e.demo, d.ID); got.Status != dsh.Status || got.CourierName != "" {
		t.Errorf("another shop's callback changed the shipment: %+v", got)
	}
	if got := e.order(t, d.ID); got.Status != model.OrderConfirmed {
		t.Errorf("another shop's callback made the order %s", got.Status)
	}
}

func TestDeliverySettingsPage(t *testing.T) {
	e := newEnv(t)
	owner := e.owner(t)
	form := url.Values{"sender_name": {"Warehouse"}, "sender_phone": {"+79990001122"}, "sender_country": {"Russia"}, "sender_city": {"Москва"},
		"sender_postal_code": {"101000"}, "sender_address": {"Складская 2"}, "cdek_shipment_point": {""}, "cdek_tariff_code": {"abc"},
		"package_weight_g": {"700"}, "package_length_cm": {"30"}, "package_width_cm": {"20"}, "package_height_cm": {"10"},
		"dostavista_vehicle_type": {"9"}, "dostavista_window_hours": {"4"}}
	res, doc := owner.postForm("/admin/settings/delivery", form)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	for field, want := range map[string]string{"cdek_tariff_code": "give a whole number"} {
		if got := doc.Find(`[data-testid="error-` + field + `"]`).Text(); !strings.Contains(got, want) {
			t.Errorf("%s: %q", field, got)
		}
	}
	if got := doc.Find("#cdek_tariff_code").AttrOr("value", ""); got != "abc" {
		t.Errorf("typed value not kept: %q", got)
	}
	form.Set("cdek_tariff_code", "136")
	res, doc = owner.postForm("/admin/settings/delivery", form)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	for field, want := range map[string]string{"sender_country": "2-letter country code", "dostavista_vehicle_type": "from 1 to 7"} {
		if got := doc.Find(`[data-testid="error-` + field + `"]`).Text(); !strings.Contains(got, want) {
			t.Errorf("%s: %q", field, got)
		}
	}
	form.Set("sender_country", "ru")
	form.Set("dostavista_vehicle_type", "7")
	res, _ = owner.postForm("/admin/settings/delivery", form)
	wantStatus(t, res, http.StatusSeeOther)
	d, err := e.store.FindDeliverySettings(context.Background(), e.demo.ID)
	if err != nil || d.CDEKTariffCode != 136 || d.SenderCountry != "RU" || d.PackageWeightG != 700 || d.DostavistaVehicleType != 7 {
		t.Errorf("saved: %+v %v", d, err)
	}
	staff := e.client(t, "")
	staff.login("staff@demo.test", demoPassword)
	res, _ = staff.get("/admin/settings/delivery")
	wantStatus(t, res, http.StatusForbidden)
}

// The demo's journey through the router and every sandbox: a customer pays
// an order with CDEK delivery, the jobs buy it on Taobao, the supplier ships
// it with a track, staff scan the parcel in and press Create shipment, and
// the rest is the jobs' and CDEK's: the track, shipped, delivered.
func TestDemoOrderGoesFromPaidToDeliveredByCDEK(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	op := e.client(t, "")
	op.login("operator@demo.test", demoPassword)
	e.connectAccount(t, op, "authorize")

	shopper := e.client(t, "")
	methods, _ := e.store.FindShippingMethods(ctx, e.demo.ID)
	var byCDEK any
	for _, m := range methods {
		if m.Carrier == "cdek" {
			byCDEK = m.ID
		}
	}
	product := shopProduct(t, e, "STAND-BAMBOO")
	res, _ := shopper.api("POST", "/api/cart/add/", map[string]any{"product_id": product.ID, "quantity": 1})
	wantStatus(t, res, http.StatusOK)
	body := address("buyer@example.com", byCDEK)
	body["customer_phone"] = "+79161234567"
	res, placed := shopper.api("POST", "/api/orders/", body)
	wantStatus(t, res, http.StatusCreated)
	o, err := e.store.FindOrderByNumber(ctx, e.demo.ID, get(placed, "order", "order_number").(string))
	if err != nil {
		t.Fatal(err)
	}
	pageURL, _ := e.startPayment(t, shopper, o, "tinkoff")
	e.browse(t, shopper, pageURL, "sandbox-pay")
	if got := e.order(t, o.ID); got.PaymentStatus != model.PayPaid {
		t.Fatalf("payment: %s", got.PaymentStatus)
	}

	// The supplier's leg: bought, paid, shipped by the supplier with a track.
	e.runJob(t, op, "orders-to-taobao")
	e.runJob(t, op, "pay-purchases")
	purchase := e.order(t, o.ID).Lines[0].PurchaseID
	id, err := strconv.ParseInt(purchase, 10, 64)
	if err != nil {
		t.Fatalf("purchase id %q: %v", purchase, err)
	}
	if err := e.sandboxes.Taobao.Ship(id); err != nil {
		t.Fatal(err)
	}
	e.runJob(t, op, "purchase-status")
	line := e.order(t, o.ID).Lines[0]
	if line.SupplierTrack == "" || line.ProcurementStatus != model.ProcShipped {
		t.Fatalf("the supplier's leg: %s, track %q", line.ProcurementStatus, line.SupplierTrack)
	}

	// Staff: the warehouse scan and Create shipment; nothing else is typed.
	staff := e.client(t, "")
	staff.login("staff@demo.test", demoPassword)
	if res, doc := scan(t, staff, line.SupplierTrack); res.StatusCode != http.StatusOK || doc.Find(`[data-testid="scan-ok"]`).Length() != 1 {
		t.Fatalf("scan: %d %s", res.StatusCode, doc.Text())
	}
	if block := pageShipment(t, staff, o.ID); block.Find(`[data-testid="shipment-create"]`).Length() != 1 {
		t.Fatalf("no Create shipment on the order page: %s", block.Text())
	}
	res, _ = staff.postForm(fmt.Sprintf("/admin/orders/%d/shipment", o.ID), nil)
	wantStatus(t, res, http.StatusSeeOther)
	for i := 0; i < 2; i++ {
		e.runJob(t, op, "fetch-cdek")
	}
	sh := e.shipment(t, e.demo, o.ID)
	if got := e.order(t, o.ID); got.Status != model.OrderShipped || sh.TrackNumber == "" {
		t.Fatalf("after fetch-cdek: %s, track %q", got.Status, sh.TrackNumber)
	}
	for i := 0; i < 10 && e.order(t, o.ID).Status != model.OrderDelivered; i++ {
		if _, err := e.sandboxes.CDEK.AdvanceStatus(ctx, sh.CarrierOrderID); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.order(t, o.ID); got.Status != model.OrderDelivered {
		t.Fatalf("order: %s", got.Status)
	}
	kinds := map[string]int{}
	items, _ := e.store.FindOutbox(ctx, e.demo.ID, o.ID)
	for _, it := range items {
		kinds[it.Kind]++
	}
	if kinds["msg_shipped"] != 1 || kinds["msg_delivered"] != 1 {
		t.Errorf("outbox: %v", kinds)
	}
	res, doc := e.client(t, "").get("/track/" + o.Number)
	wantStatus(t, res, http.StatusOK)
	for _, step := range []string{"ordered", "paid", "bought", "on_the_way", "arrived", "handed_over", "delivered"} {
		if !doc.Find(`[data-testid="track-step-` + step + `"]`).HasClass("done") {
			t.Errorf("tracking page: step %s not done", step)
		}
	}
	if got := doc.Find(`[data-testid="track-step-on_the_way"]`).Text(); !strings.Contains(got, line.SupplierTrack) {
		t.Errorf("supplier's leg on the tracking page: %q", got)
	}
	if got := doc.Find(`[data-testid="track-step-handed_over"]`).Text(); !strings.Contains(got, "Handed to CDEK") || !strings.Contains(got, sh.TrackNumber) {
		t.Errorf("carrier's leg on the tracking page: %q", got)
	}
}
