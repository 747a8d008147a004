package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"orderdesk/model"
)

// shopOrderWithPayment puts a product in the client's cart and orders it
// through the HTML checkout with a payment method; it returns the order and
// the provider's payment page the checkout sent the shopper to.
func (e *env) shopOrderWithPayment(t *testing.T, c *client, provider string) (*model.Order, string) {
	t.Helper()
	ctx := context.Background()
	products, _ := e.store.FindProducts(ctx, e.demo.ID)
	c.shopAdd(products[0].ID, 1)
	form := shopAddressForm("payer@example.com", shopMethods(t, e)[0].ID)
	form.Set("payment_provider", provider)
	res, _ := c.postForm("/shop/checkout", form)
	wantStatus(t, res, http.StatusSeeOther)
	page := res.Header.Get("Location")
	if !strings.Contains(page, "/sandbox/") {
		t.Fatalf("the checkout sent the shopper to %q, want the provider's page", page)
	}
	list, err := e.store.FindOrders(ctx, e.demo.ID, model.OrderFilter{Email: "payer@example.com", Limit: 1})
	if err != nil || len(list.Orders) == 0 {
		t.Fatalf("the order: %v", err)
	}
	return e.order(t, list.Orders[0].ID), page
}

// orderCount is how many orders the demo shop has.
func (e *env) orderCount(t *testing.T) int {
	t.Helper()
	page, err := e.store.FindOrders(context.Background(), e.demo.ID, model.OrderFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return len(page.Orders)
}

func TestPayAgainAfterADeclinedCard(t *testing.T) {
	e := newEnv(t)
	owner := e.client(t, "")
	o, pageURL := e.shopOrderWithPayment(t, owner, "tinkoff")
	orders := e.orderCount(t)

	// Declined at the bank: the return page says so and offers both ways on.
	last, body := e.browse(t, owner, pageURL, "sandbox-decline")
	if !strings.Contains(last, "/pay/return/") {
		t.Fatalf("after the decline the shopper is at %s", last)
	}
	doc := parseHTML(t, body)
	if shopTID(doc, "pay-offer").Length() != 1 || shopTID(doc, "pay-retry").Length() != 1 || shopTID(doc, "pay-other").Length() != 1 {
		t.Fatalf("the return page of a declined payment offers no Try again and Pay another way:\n%s", shopText(doc, "payment-return"))
	}
	if got := shopText(doc, "pay-retry"); got != "Try again" {
		t.Errorf("retry button: %q", got)
	}
	if got := shopText(doc, "pay-other"); got != "Pay another way" {
		t.Errorf("other way: %q", got)
	}
	// The owner's tracking page offers it too.
	_, doc = owner.get("/track/" + o.Number)
	if shopTID(doc, "pay-retry").Length() != 1 {
		t.Error("the owner's tracking page offers no Try again")
	}

	t.Run("a stranger is offered nothing and cannot pay the order", func(t *testing.T) {
		stranger := e.client(t, "")
		_, doc := stranger.get("/track/" + o.Number)
		if shopTID(doc, "track-order-number").Length() != 1 || shopTID(doc, "pay-offer").Length() != 0 {
			t.Error("the public tracking page offers a stranger to pay, or shows no order")
		}
		_, doc = stranger.get(strings.TrimPrefix(last, e.base))
		if shopTID(doc, "payment-result").Length() != 1 || shopTID(doc, "pay-offer").Length() != 0 {
			t.Error("the return page offers a stranger to pay")
		}
		res, _ := stranger.get("/pay/again/" + o.Number)
		wantStatus(t, res, http.StatusNotFound)
		res, _ = stranger.postForm("/pay/again/"+o.Number, url.Values{"payment_provider": {"tinkoff"}})
		wantStatus(t, res, http.StatusNotFound)
		// Another signed-in customer neither.
		customer := e.client(t, "")
		res, _ = customer.postForm("/shop/login", url.Values{"email": {model.DemoCustomerEmail}, "password": {demoPassword}})
		wantStatus(t, res, http.StatusSeeOther)
		res, _ = customer.postForm("/pay/again/"+o.Number, url.Values{"payment_provider": {"tinkoff"}})
		wantStatus(t, res, http.StatusNotFound)
		if n := len(e.payments(t, o.ID)); n != 1 {
			t.Errorf("strangers' clicks made payments: %d, want the declined one alone", n)
		}
	})

	// Try again: a second payment of the same order, at the same bank; paid.
	last, _ = e.browse(t, owner, last, "pay-retry")
	if !strings.Contains(last, "/sandbox/tinkoff/") {
		t.Fatalf("Try again went to %s, want the bank's page", last)
	}
	last, body = e.browse(t, owner, last, "sandbox-pay")
	doc = parseHTML(t, body)
	if !strings.Contains(shopText(doc, "payment-result"), "was received") {
		t.Errorf("after paying again: %q", shopText(doc, "payment-result"))
	}
	if shopTID(doc, "pay-offer").Length() != 0 {
		t.Error("a paid order still offers to pay")
	}
	pays := e.payments(t, o.ID)
	if len(pays) != 2 || pays[0].Status != model.PaymentCompleted || pays[1].Status != model.PaymentFailed || pays[0].Provider != model.ProviderTinkoff {
		t.Errorf("payments of the order: %+v", pays)
	}
	if got := e.orderCount(t); got != orders {
		t.Errorf("paying again made orders: %d, was %d", got, orders)
	}
	if got := e.order(t, o.ID); got.PaymentStatus != model.PayPaid || got.Status != model.OrderConfirmed {
		t.Errorf("the order after paying again: %s / %s", got.Status, got.PaymentStatus)
	}

	// A paid order offers nothing, and its pay page says it is closed.
	_, doc = owner.get("/track/" + o.Number)
	if shopTID(doc, "pay-offer").Length() != 0 {
		t.Error("the tracking page of a paid order offers to pay")
	}
	res, doc := owner.get("/pay/again/" + o.Number)
	wantStatus(t, res, http.StatusConflict)
	if shopTID(doc, "pay-closed").Length() != 1 || shopTID(doc, "pay-submit").Length() != 0 {
		t.Error("the pay page of a paid order offers to pay")
	}
	res, _ = owner.postForm("/pay/again/"+o.Number, url.Values{"payment_provider": {"tinkoff"}})
	wantStatus(t, res, http.StatusConflict)
	if n := len(e.payments(t, o.ID)); n != 2 {
		t.Errorf("a paid order got another payment: %d", n)
	}
}

func TestPayAnotherWayAfterAnAbandonedPayment(t *testing.T) {
	e := newEnv(t)
	owner := e.client(t, "")
	o, pageURL := e.shopOrderWithPayment(t, owner, "tinkoff")
	last, _ := e.browse(t, owner, pageURL, "sandbox-abandon")
	if !strings.Contains(last, "/pay/return/") {
		t.Fatalf("after abandoning the shopper is at %s", last)
	}
	// Pay another way: the methods in the customer's words, the card first.
	res, doc := owner.get("/pay/again/" + o.Number)
	wantStatus(t, res, http.StatusOK)
	var names []string
	shopTID(doc, "payment-method-name").Each(func(_ int, s *goquery.Selection) { names = append(names, strings.TrimSpace(s.Text())) })
	want := []string{"Bank card", "Dolyami — 4 payments", "Yandex Pay", "PayPal"}
	if strings.Join(names, "|") != strings.Join(want, "|") {
		t.Errorf("payment methods: got %q, want %q", names, want)
	}
	// No method chosen: the page comes back saying so.
	res, doc = owner.postForm("/pay/again/"+o.Number, url.Values{})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if shopTID(doc, "error-payment_provider").Length() != 1 {
		t.Error("no error beside the payment methods")
	}
	// Dolyami instead: its page, for the same order.
	res, _ = owner.postForm("/pay/again/"+o.Number, url.Values{"payment_provider": {"dolyami"}})
	wantStatus(t, res, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); !strings.Contains(loc, "/sandbox/dolyami/") {
		t.Errorf("Pay another way with Dolyami went to %q", loc)
	}
	pays := e.payments(t, o.ID)
	if len(pays) < 2 || pays[0].Provider != model.ProviderDolyami || pays[0].OrderID != o.ID {
		t.Errorf("payments of the order: %+v", pays)
	}
}

func TestPayAgainTwoClicksMakeOnePayment(t *testing.T) {
	e := newEnv(t)
	owner := e.client(t, "")
	o, pageURL := e.shopOrderWithPayment(t, owner, "tinkoff")
	e.browse(t, owner, pageURL, "sandbox-decline")
	token := owner.csrf()

	const clicks = 4
	var wg sync.WaitGroup
	locations := make([]string, clicks)
	for i := range clicks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := url.Values{"payment_provider": {"tinkoff"}, "_csrf": {token}}
			res, _ := owner.do("POST", "/pay/again/"+o.Number, strings.NewReader(v.Encode()),
				http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
			if res.StatusCode == http.StatusSeeOther {
				locations[i] = res.Header.Get("Location")
			}
		}()
	}
	wg.Wait()
	for i, loc := range locations {
		if loc == "" || loc != locations[0] {
			t.Errorf("click %d went to %q, click 0 to %q: want the same payment page", i, loc, locations[0])
		}
	}
	pays := e.payments(t, o.ID)
	atBank := 0
	for _, p := range pays {
		if p.ProviderRef != "" && p.Status != model.PaymentFailed {
			atBank++
		}
	}
	if len(pays) != 2 || atBank != 1 {
		t.Errorf("after %d clicks at once: %d payments, %d of them opened at the bank; want the declined one and one new", clicks, len(pays), atBank)
	}
}
