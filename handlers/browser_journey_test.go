package handlers_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"orderdesk/model"
)

// Issue 9's journey, walked in the browser: a paid demo order is bought at
// Taobao and shipped by the supplier; staff scan its parcel at the warehouse
// and press "Create shipment"; the carrier takes it to the customer. Nobody
// types anything else: the jobs run at their intervals (here, when the test
// says), the carrier's sandbox moves the parcel and calls back. The customer
// was told by e-mail and WhatsApp (the sandboxes show the messages) and the
// public tracking page tells both legs.
func TestBrowserJourneyFromPaidToDelivered(t *testing.T) {
	for _, carrier := range []string{"cdek", "dostavista"} {
		t.Run(carrier, func(t *testing.T) { journey(t, carrier) })
	}
}

func journey(t *testing.T, carrier string) {
	e := newEnv(t)
	ctx := context.Background()
	op := e.client(t, "")
	op.login("operator@demo.test", demoPassword)
	e.connectAccount(t, op, "authorize")

	// The customer orders with this carrier and pays by card.
	shopper := e.client(t, "")
	methods, _ := e.store.FindShippingMethods(ctx, e.demo.ID)
	var method any
	for _, m := range methods {
		if m.Carrier == carrier {
			method = m.ID
		}
	}
	res, _ := shopper.api("POST", "/api/cart/add/", map[string]any{"product_id": shopProduct(t, e, "STAND-BAMBOO").ID, "quantity": 1})
	wantStatus(t, res, http.StatusOK)
	body := address("journey@example.com", method)
	body["customer_phone"] = "+79161234567"
	res, placed := shopper.api("POST", "/api/orders/", body)
	wantStatus(t, res, http.StatusCreated)
	o, err := e.store.FindOrderByNumber(ctx, e.demo.ID, get(placed, "order", "order_number").(string))
	if err != nil {
		t.Fatal(err)
	}
	pageURL, _ := e.startPayment(t, shopper, o, "tinkoff")
	e.browse(t, shopper, pageURL, "sandbox-pay")

	// The supplier's leg, by the jobs: bought, paid, shipped with a track.
	e.runJob(t, op, "orders-to-taobao")
	e.runJob(t, op, "pay-purchases")
	purchase, err := strconv.ParseInt(e.order(t, o.ID).Lines[0].PurchaseID, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.sandboxes.Taobao.Ship(purchase); err != nil {
		t.Fatal(err)
	}
	e.runJob(t, op, "purchase-status")
	track := e.order(t, o.ID).Lines[0].SupplierTrack
	if track == "" {
		t.Fatal("the supplier shipped without a track")
	}

	// Staff, in the browser: the scan, then Create shipment.
	b := newBrowser(t)
	err = chromedp.Do(b,
		chromedp.Navigate(e.base+"/admin/login"),
		chromedp.SendKeys(chromedp.CSS(`#email`), "staff@demo.test"),
		chromedp.SendKeys(chromedp.CSS(`#password`), demoPassword),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="dashboard"]`)),
		chromedp.Navigate(e.base+"/admin/warehouse"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="scan-form"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	waitProcessed(t, b, `[data-testid="scan-form"]`)
	if err := chromedp.Do(b, chromedp.KeyEvent(track+kb.Enter)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, b, "the parcel arrived and the order is ready", `(() => {
		const r = document.querySelector('[data-testid="scan-ready"]');
		return !!r && r.textContent.includes('Yes');
	})()`)
	err = chromedp.Do(b,
		chromedp.Navigate(e.base+"/admin/orders/"+itoa(o.ID)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="shipment-create"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	waitProcessed(t, b, `[data-testid="shipment-form"]`)
	if err := chromedp.Do(b, chromedp.Click(chromedp.CSS(`[data-testid="shipment-create"]`))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, b, "the shipment is registered", `!!document.querySelector('[data-testid="shipment-carrier-order"]')`)

	// The carrier's leg: its job and its sandbox move the parcel along.
	sh := e.shipment(t, e.demo, o.ID)
	switch carrier {
	case "cdek":
		// CDEK registers asynchronously: the job's first round finds the
		// registration done, the second reads the track.
		e.runJob(t, op, "fetch-cdek")
		e.runJob(t, op, "fetch-cdek")
		for i := 0; i < 12 && e.order(t, o.ID).Status != model.OrderDelivered; i++ {
			if _, err := e.sandboxes.CDEK.AdvanceStatus(ctx, sh.CarrierOrderID); err != nil {
				t.Fatal(err)
			}
		}
	case "dostavista":
		id, err := strconv.ParseInt(sh.CarrierOrderID, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 12 && e.order(t, o.ID).Status != model.OrderDelivered; i++ {
			if _, err := e.sandboxes.Dostavista.AdvanceOrder(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := e.order(t, o.ID); got.Status != model.OrderDelivered {
		t.Fatalf("the order is %s at the end of the carrier's leg", got.Status)
	}
	e.runJob(t, op, "send-messages")

	// What staff and the customer see.
	if err := chromedp.Do(b, chromedp.Navigate(e.base+"/admin/orders/"+itoa(o.ID))); err != nil {
		t.Fatal(err)
	}
	status, _ := chromedp.Run(b, chromedp.Text(chromedp.CSS(`[data-testid="shipment-status"]`)))
	if !strings.Contains(status, "Delivered") {
		t.Errorf("the order page's shipment says %q", status)
	}
	if err := chromedp.Do(b, chromedp.Navigate(e.srv.URL+"/sandbox/smtp/")); err != nil {
		t.Fatal(err)
	}
	mail, err := chromedp.Run(b, chromedp.Text(chromedp.CSS(`[data-testid="sandbox-smtp-outbox"]`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(mail, "journey@example.com") || !strings.Contains(mail, o.Number+" is paid") {
		t.Errorf("the e-mail sandbox does not show the payment's receipt:\n%s", mail)
	}
	if err := chromedp.Do(b, chromedp.Navigate(e.srv.URL+"/sandbox/wazzup/")); err != nil {
		t.Fatal(err)
	}
	wa, err := chromedp.Run(b, chromedp.Text(chromedp.CSS(`[data-testid="sandbox-messages"]`)))
	if err != nil {
		t.Fatal(err)
	}
	told := map[string]string{"placed": o.Number, "delivered": "delivered"}
	if carrier == "cdek" {
		told["shipped"] = sh.TrackNumber
		if got := e.shipment(t, e.demo, o.ID); got.TrackNumber != "" {
			told["shipped"] = got.TrackNumber
		}
	} else {
		told["courier"] = "Пётр Иванов"
	}
	for what, want := range told {
		if want == "" || !strings.Contains(wa, want) {
			t.Errorf("the WhatsApp sandbox does not show the %s message (%q):\n%s", what, want, wa)
		}
	}
	if !strings.Contains(wa, "+79161234567") {
		t.Errorf("the WhatsApp messages did not go to the customer's phone:\n%s", wa)
	}
	err = chromedp.Do(b, chromedp.Navigate(e.base+"/track/"+o.Number), chromedp.WaitVisible(chromedp.CSS(`[data-testid="track-step-delivered"]`)))
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []string{"ordered", "paid", "bought", "on_the_way", "arrived", "handed_over", "delivered"} {
		done, _ := chromedp.Run(b, chromedp.Evaluate[bool](`document.querySelector('[data-testid="track-step-`+step+`"]').classList.contains('done')`))
		if !done {
			t.Errorf("the tracking page's step %s is not done", step)
		}
	}
	page, _ := chromedp.Run(b, chromedp.Text(chromedp.CSS(`body`)))
	if !strings.Contains(page, track) {
		t.Errorf("the tracking page does not show the supplier's track %s", track)
	}
	for _, personal := range []string{"journey@example.com", "79161234567", "Ahmet", "Пётр"} {
		if strings.Contains(page, personal) {
			t.Errorf("the tracking page shows %q", personal)
		}
	}
}
