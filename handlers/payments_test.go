package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"orderdesk/jobs"
	"orderdesk/model"
	"orderdesk/providers/tinkoff"
)

// browse is a customer's browser on provider pages: it opens pageURL, then for
// each button test id submits the form holding that button on the current page,
// following redirects, and returns the last page and its address.
func (e *env) browse(t *testing.T, c *client, pageURL string, buttons ...string) (string, string) {
	t.Helper()
	res, body := fetch(t, c, "GET", pageURL, nil)
	cur := res.Request.URL.String()
	for _, testid := range buttons {
		doc := parseHTML(t, body)
		btn := doc.Find(`[data-testid="` + testid + `"]`).First()
		if btn.Length() == 0 {
			t.Fatalf("no %s button on %s:\n%s", testid, cur, body)
		}
		form := btn.Closest("form")
		target, _ := url.Parse(cur)
		if action, _ := form.Attr("action"); action != "" {
			target, _ = target.Parse(action)
		}
		v := url.Values{}
		form.Find("input").Each(func(_ int, s *goquery.Selection) {
			name, _ := s.Attr("name")
			val, _ := s.Attr("value")
			if typ, _ := s.Attr("type"); name != "" && typ != "submit" && ((typ != "checkbox" && typ != "radio") || s.Is("[checked]")) {
				v.Set(name, val)
			}
		})
		if name, ok := btn.Attr("name"); ok {
			val, _ := btn.Attr("value")
			v.Set(name, val)
		}
		res, body = fetch(t, c, "POST", target.String(), v)
		cur = res.Request.URL.String()
	}
	return cur, body
}

// fetch sends one request as the client's browser and follows redirects.
func fetch(t *testing.T, c *client, method, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	for i := 0; i < 10; i++ {
		var req *http.Request
		if form != nil {
			req, _ = http.NewRequest(method, u, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			req, _ = http.NewRequest(method, u, nil)
		}
		res, err := c.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode < 300 || res.StatusCode >= 400 {
			return res, string(body)
		}
		next, _ := res.Request.URL.Parse(res.Header.Get("Location"))
		u, method, form = next.String(), "GET", nil
	}
	t.Fatal("too many redirects")
	return nil, ""
}

// placeOrder puts a product in a guest's cart and orders it; returns the order.
func (e *env) placeOrder(t *testing.T, c *client) *model.Order {
	t.Helper()
	ctx := context.Background()
	products, _ := e.store.FindProducts(ctx, e.demo.ID)
	shipping, _ := e.store.FindShippingMethods(ctx, e.demo.ID)
	res, _ := c.api("POST", "/api/cart/add/", map[string]any{"product_id": products[0].ID, "quantity": 1})
	wantStatus(t, res, http.StatusOK)
	res, body := c.api("POST", "/api/orders/", address("payer@example.com", shipping[0].ID))
	wantStatus(t, res, http.StatusCreated)
	o, err := e.store.FindOrderByNumber(ctx, e.demo.ID, get(body, "order", "order_number").(string))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func (e *env) order(t *testing.T, id int64) *model.Order {
	t.Helper()
	o, err := e.store.FindOrderByID(context.Background(), e.demo.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func (e *env) payments(t *testing.T, orderID int64) []*model.Payment {
	t.Helper()
	list, err := e.store.FindPayments(context.Background(), e.demo.ID, model.PaymentFilter{OrderID: orderID})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// startPayment asks the API for a payment of the order and returns its page.
func (e *env) startPayment(t *testing.T, c *client, o *model.Order, provider string) (string, string) {
	t.Helper()
	res, body := c.api("POST", "/api/payments/create/", map[string]any{"order_id": o.ID, "order_number": o.Number, "provider": provider,
		"customer_info": map[string]any{"email": "payer@example.com", "name": "Pay Er", "phone": "+79990001122"}})
	wantStatus(t, res, http.StatusCreated)
	url, _ := body["payment_url"].(string)
	tx, _ := body["transaction_id"].(string)
	if url == "" || tx == "" {
		t.Fatalf("payment create: %v", body)
	}
	return url, tx
}

// counters of what the tests fire, for the closing note.
var fired struct{ duplicates, outOfOrder, doubleApplied int }

// paidEvents counts the payment events that changed a payment to completed.
func (e *env) completions(t *testing.T, orderID int64) int {
	t.Helper()
	events, _ := e.store.FindOrderEvents(context.Background(), e.demo.ID, orderID)
	n := 0
	for _, ev := range events {
		if ev.Kind == model.EventPayment && ev.To == string(model.PaymentCompleted) {
			n++
		}
	}
	return n
}

func TestTinkoffPayments(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	t.Run("a paid card payment confirms the order, once, whatever the bank repeats", func(t *testing.T) {
		c := e.client(t, "")
		o := e.placeOrder(t, c)
		pageURL, tx := e.startPayment(t, c, o, "tinkoff")
		if !strings.HasPrefix(pageURL, e.srv.URL+"/sandbox/tinkoff/") {
			t.Fatalf("payment page %s", pageURL)
		}
		last, page := e.browse(t, c, pageURL, "sandbox-pay")
		if !strings.Contains(last, "/pay/return/") || !strings.Contains(page, "your payment of") {
			t.Errorf("the customer came back to %s:\n%s", last, page)
		}
		got := e.order(t, o.ID)
		if got.Status != model.OrderConfirmed || got.PaymentStatus != model.PayPaid {
			t.Fatalf("after paying: %s / %s", got.Status, got.PaymentStatus)
		}
		// The bank sends the last notification again: nothing changes, and the
		// bank still gets its OK.
		if err := e.sandboxes.Tinkoff.ResendNotification(ctx, tx); err != nil {
			t.Fatal(err)
		}
		fired.duplicates++
		// A stale AUTHORIZED after CONFIRMED: out of order.
		if err := e.sandboxes.Tinkoff.SendNotification(ctx, tx, "AUTHORIZED"); err != nil {
			t.Fatal(err)
		}
		fired.outOfOrder++
		if n := e.completions(t, o.ID); n != 1 {
			fired.doubleApplied += n - 1
			t.Errorf("payment completed %d times", n)
		}
		if got := e.order(t, o.ID); got.PaymentStatus != model.PayPaid {
			t.Errorf("late notification undid the payment: %s", got.PaymentStatus)
		}
		outbox, _ := e.store.FindOutbox(ctx, e.demo.ID, o.ID)
		if len(outbox) != 2 || outbox[1].Kind != model.MsgPaid {
			t.Errorf("outbox after payment: %+v", outbox)
		}
		// verify asks the bank, never trusts the caller.
		res, body := c.api("POST", "/api/payments/verify/", map[string]any{"transaction_id": tx, "provider": "tinkoff"})
		wantStatus(t, res, http.StatusOK)
		if get(body, "payment", "status") != "completed" {
			t.Errorf("verify: %v", body)
		}
		// Paying a paid order again is refused.
		res, body = c.api("POST", "/api/payments/create/", map[string]any{"order_id": o.ID, "order_number": o.Number, "provider": "tinkoff"})
		wantStatus(t, res, http.StatusConflict)
		if !strings.Contains(body["message"].(string), "already paid") {
			t.Errorf("second payment: %v", body)
		}
	})

	t.Run("a declined card leaves the order waiting and says so", func(t *testing.T) {
		c := e.client(t, "")
		o := e.placeOrder(t, c)
		pageURL, _ := e.startPayment(t, c, o, "tinkoff")
		e.browse(t, c, pageURL, "sandbox-decline")
		p := e.payments(t, o.ID)[0]
		if p.Status != model.PaymentFailed {
			t.Errorf("declined payment: %s", p.Status)
		}
		if got := e.order(t, o.ID); got.Status != model.OrderPending || got.PaymentStatus != model.PayPending {
			t.Errorf("order after decline: %s / %s", got.Status, got.PaymentStatus)
		}
		// The customer can try again.
		e.startPayment(t, c, o, "tinkoff")
	})

	t.Run("an abandoned payment does not pay the order", func(t *testing.T) {
		c := e.client(t, "")
		o := e.placeOrder(t, c)
		pageURL, _ := e.startPayment(t, c, o, "tinkoff")
		e.browse(t, c, pageURL, "sandbox-abandon")
		if got := e.order(t, o.ID); got.PaymentStatus == model.PayPaid {
			t.Errorf("abandoned payment paid the order")
		}
	})

	t.Run("a notification with a bad token is refused, recorded and changes nothing", func(t *testing.T) {
		c := e.client(t, "")
		o := e.placeOrder(t, c)
		_, tx := e.startPayment(t, c, o, "tinkoff")
		in, _ := e.store.UsableIntegration(ctx, e.demo.ID, model.ProviderTinkoff)
		forged := fmt.Sprintf(`{"TerminalKey":"1700000000000DEMO","OrderId":"x","Success":true,"Status":"CONFIRMED","PaymentId":%s,"ErrorCode":"0","Amount":%d,"Token":"0000000000000000000000000000000000000000000000000000000000000000"}`, tx, o.Total)
		res, err := http.Post(fmt.Sprintf("%s/webhooks/tinkoff/%d", e.srv.URL, in.ID), "application/json", strings.NewReader(forged))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("forged notification answered %d", res.StatusCode)
		}
		if got := e.order(t, o.ID); got.PaymentStatus != model.PayPending {
			t.Errorf("forged notification changed the order: %s", got.PaymentStatus)
		}
		reviews, _ := e.store.FindPaymentReviews(ctx, e.demo.ID, true, 50)
		found := false
		for _, r := range reviews {
			found = found || r.Kind == "bad_notification"
		}
		if !found {
			t.Error("the refused notification is not in the review queue")
		}
	})

	t.Run("a wrong amount makes the payment suspected fraud and holds the order", func(t *testing.T) {
		c := e.client(t, "")
		o := e.placeOrder(t, c)
		_, tx := e.startPayment(t, c, o, "tinkoff")
		// A correctly signed notification says less was paid than the order's total.
		in, _ := e.store.UsableIntegration(ctx, e.demo.ID, model.ProviderTinkoff)
		p := e.payments(t, o.ID)[0]
		params := map[string]any{"TerminalKey": tinkoff.DemoTerminalKey, "OrderId": p.Number, "Success": true, "Status": "CONFIRMED",
			"PaymentId": json.Number(tx), "ErrorCode": "0", "Amount": o.Total - 100}
		params["Token"] = tinkoff.Token(params, tinkoff.DemoPassword)
		b, _ := json.Marshal(params)
		res, err := http.Post(fmt.Sprintf("%s/webhooks/tinkoff/%d", e.srv.URL, in.ID), "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		reply, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || string(reply) != "OK" {
			t.Errorf("signed notification answered %d %q", res.StatusCode, reply)
		}
		got := e.order(t, o.ID)
		if got.PaymentStatus != model.PaySuspectedFraud || got.Status != model.OrderHolded {
			t.Errorf("mismatch: %s / %s", got.Status, got.PaymentStatus)
		}
	})
}

func TestDolyamiPayments(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.client(t, "")
	o := e.placeOrder(t, c)
	pageURL, tx := e.startPayment(t, c, o, "dolyami")
	e.browse(t, c, pageURL, "sandbox-pay")
	// Dolyami's notification is not trusted: the gateway re-reads the order and
	// commits it, so the payment completes.
	got := e.order(t, o.ID)
	if got.PaymentStatus != model.PayPaid || got.Status != model.OrderConfirmed {
		t.Fatalf("after paying in parts: %s / %s", got.Status, got.PaymentStatus)
	}
	if err := e.sandboxes.Dolyami.ResendNotification(ctx, tx); err != nil {
		t.Fatal(err)
	}
	fired.duplicates++
	if n := e.completions(t, o.ID); n != 1 {
		fired.doubleApplied += n - 1
		t.Errorf("completed %d times", n)
	}

	// Declined in parts.
	o2 := e.placeOrder(t, c)
	pageURL, _ = e.startPayment(t, c, o2, "dolyami")
	e.browse(t, c, pageURL, "sandbox-decline")
	if p := e.payments(t, o2.ID)[0]; p.Status != model.PaymentFailed {
		t.Errorf("declined: %s", p.Status)
	}

	// A refund in part, then the rest, through the provider from the order page.
	staff := e.client(t, "")
	staff.login("owner@demo.test", demoPassword)
	pay := e.payments(t, o.ID)[0]
	refund := fmt.Sprintf("/admin/payments/%d/refund", pay.ID)
	// The first post only asks to confirm what will be refunded.
	res, doc := staff.postForm(refund, url.Values{"amount": {"100.00"}})
	wantStatus(t, res, http.StatusOK)
	if got := doc.Find(`[data-testid="refund-confirm-text"]`).Text(); !strings.Contains(got, "Refund ") || !strings.Contains(got, "100.00") {
		t.Errorf("confirmation: %q", got)
	}
	if got := e.order(t, o.ID); got.PaymentStatus != model.PayPaid {
		t.Fatalf("a refund was made before it was confirmed: %s", got.PaymentStatus)
	}
	res, _ = staff.postForm(refund, url.Values{"amount": {"100.00"}, "confirm": {"1"}})
	wantStatus(t, res, http.StatusSeeOther)
	if got := e.order(t, o.ID); got.PaymentStatus != model.PayPartiallyRefunded {
		t.Errorf("after a partial refund: %s", got.PaymentStatus)
	}
	res, doc = staff.postForm(refund, url.Values{"amount": {"999999.00"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if !strings.Contains(doc.Find(`[data-testid="error-amount"]`).Text(), "up to") {
		t.Errorf("too large a refund: %q", doc.Find(`[data-testid="error-amount"]`).Text())
	}
	// A confirmation forged with too large an amount is refused by the reservation.
	res, doc = staff.postForm(refund, url.Values{"amount": {"999999.00"}, "confirm": {"1"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if !strings.Contains(doc.Find(`[data-testid="refund-error"]`).Text(), "up to") {
		t.Errorf("too large a confirmed refund: %q", doc.Find(`[data-testid="refund-error"]`).Text())
	}
	res, _ = staff.postForm(refund, url.Values{"amount": {""}, "confirm": {"1"}})
	wantStatus(t, res, http.StatusSeeOther)
	got = e.order(t, o.ID)
	if got.PaymentStatus != model.PayRefunded || got.Status != model.OrderRefunded {
		t.Errorf("after the full refund: %s / %s", got.Status, got.PaymentStatus)
	}
}

func TestYandexPayPolled(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, "")
	o := e.placeOrder(t, c)
	// The bank keeps the payment PENDING for two polls after the customer pays.
	e.sandboxes.YandexPay.KeepPendingPolls(2)
	pageURL, _ := e.startPayment(t, c, o, "yandexpay")
	last, page := e.browse(t, c, pageURL, "sandbox-pay")
	if !strings.Contains(last, "/pay/return/") {
		t.Fatalf("came back to %s", last)
	}
	// The return page asked once (still pending); the poller asks until final.
	if !strings.Contains(page, "not received the payment yet") {
		t.Errorf("return page while pending:\n%s", page)
	}
	job := jobs.PollPayments(e.pay, time.Second, time.Hour)
	sched := jobs.New(e.store, slog.New(slog.NewTextHandler(io.Discard, nil)), job)
	for i := 0; i < 3 && e.order(t, o.ID).PaymentStatus != model.PayPaid; i++ {
		if _, err := sched.RunOnce(context.Background(), job, e.demo); err != nil {
			t.Fatal(err)
		}
	}
	got := e.order(t, o.ID)
	if got.PaymentStatus != model.PayPaid || got.Status != model.OrderConfirmed {
		t.Fatalf("after polling: %s / %s", got.Status, got.PaymentStatus)
	}
	// The customer reloads the return page: it shows the real state.
	_, page = fetch(t, c, "GET", last, nil)
	if !strings.Contains(page, "your payment of") {
		t.Errorf("return page after payment:\n%s", page)
	}
}

func TestPayPalIPN(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	t.Run("a card payment goes through processing before paid", func(t *testing.T) {
		c := e.client(t, "")
		o := e.placeOrder(t, c)
		pageURL, _ := e.startPayment(t, c, o, "paypal")
		e.browse(t, c, pageURL, "sandbox-pay-card")
		if got := e.order(t, o.ID); got.PaymentStatus != model.PayProcessing {
			t.Fatalf("after a card payment: %s, want processing", got.PaymentStatus)
		}
		txn, err := e.sandboxes.PayPal.PaymentByInvoice(e.payments(t, o.ID)[0].Number)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.sandboxes.PayPal.Settle(txn.TxnID); err != nil {
			t.Fatal(err)
		}
		got := e.order(t, o.ID)
		if got.PaymentStatus != model.PayPaid || got.Status != model.OrderConfirmed {
			t.Fatalf("after settlement: %s / %s", got.Status, got.PaymentStatus)
		}
		if err := e.sandboxes.PayPal.ResendIPN(txn.TxnID); err != nil {
			t.Fatal(err)
		}
		fired.duplicates++
		if err := e.sandboxes.PayPal.SendIPN(txn.TxnID, "Pending"); err != nil {
			t.Fatal(err)
		}
		fired.outOfOrder++
		if n := e.completions(t, o.ID); n != 1 {
			fired.doubleApplied += n - 1
			t.Errorf("completed %d times", n)
		}
		if got := e.order(t, o.ID); got.PaymentStatus != model.PayPaid {
			t.Errorf("a late Pending undid the payment: %s", got.PaymentStatus)
		}
	})

	t.Run("an amount that differs from the order is suspected fraud, in the review queue", func(t *testing.T) {
		c := e.client(t, "")
		o := e.placeOrder(t, c)
		pageURL, _ := e.startPayment(t, c, o, "paypal")
		e.sandboxes.PayPal.WrongAmountNext()
		e.browse(t, c, pageURL, "sandbox-pay")
		got := e.order(t, o.ID)
		if got.PaymentStatus != model.PaySuspectedFraud || got.Status != model.OrderHolded || got.NeedsAttention == "" {
			t.Fatalf("mismatch: %s / %s / %q", got.Status, got.PaymentStatus, got.NeedsAttention)
		}
		staff := e.client(t, "")
		staff.login("owner@demo.test", demoPassword)
		res, doc := staff.get("/admin/payments")
		wantStatus(t, res, http.StatusOK)
		row := doc.Find(`[data-testid="review-row"][data-kind="amount_mismatch"]`)
		if row.Length() != 1 {
			t.Fatalf("review queue: %s", doc.Find(`[data-testid="review-queue"]`).Text())
		}
		reviews, _ := e.store.FindPaymentReviews(ctx, e.demo.ID, true, 50)
		var id int64
		for _, r := range reviews {
			if r.Kind == "amount_mismatch" {
				id = r.ID
			}
		}
		res, _ = staff.postForm(fmt.Sprintf("/admin/payments/reviews/%d", id), url.Values{"resolution": {"dismissed"}})
		wantStatus(t, res, http.StatusSeeOther)
		_, doc = staff.get("/admin/payments")
		if got := doc.Find(`[data-testid="review-resolution"]`).First().Text(); !strings.Contains(got, "dismissed by owner@demo.test") || strings.Contains(got, "staff:") {
			t.Errorf("resolution recorded as %q", got)
		}
	})

	t.Run("a forged IPN is refused by PayPal's verification and changes nothing", func(t *testing.T) {
		c := e.client(t, "")
		o := e.placeOrder(t, c)
		e.startPayment(t, c, o, "paypal")
		p := e.payments(t, o.ID)[0]
		in, _ := e.store.UsableIntegration(ctx, e.demo.ID, model.ProviderPayPal)
		forged := url.Values{"txn_id": {"FORGED123"}, "payment_status": {"Completed"}, "invoice": {p.Number},
			"mc_gross": {model.FormatAmount(p.Amount)}, "mc_currency": {p.Currency}, "receiver_email": {"merchant@orderdesk.test"}}
		res, err := http.PostForm(fmt.Sprintf("%s/webhooks/paypal/%d", e.srv.URL, in.ID), forged)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			t.Errorf("forged IPN accepted")
		}
		if got := e.order(t, o.ID); got.PaymentStatus != model.PayPending {
			t.Errorf("forged IPN changed the order: %s", got.PaymentStatus)
		}
	})

	t.Run("the settlement CSV lists what does not match", func(t *testing.T) {
		staff := e.client(t, "")
		staff.login("owner@demo.test", demoPassword)
		res, csvBody := fetch(t, staff, "GET", e.srv.URL+"/sandbox/paypal/_settlements.csv", nil)
		wantStatus(t, res, http.StatusOK)
		body := &bytes.Buffer{}
		w := multipart.NewWriter(body)
		w.WriteField("_csrf", staff.csrf())
		fw, _ := w.CreateFormFile("csv", "settlements.csv")
		fw.Write([]byte(csvBody))
		w.Close()
		res, html := staff.do("POST", "/admin/payments/reconcile", body, http.Header{"Content-Type": {w.FormDataContentType()}})
		wantStatus(t, res, http.StatusOK)
		doc := parseHTML(t, html)
		result := doc.Find(`[data-testid="reconcile-result"]`).Text()
		if !strings.Contains(result, "matched") {
			t.Fatalf("no reconciliation result: %s", html)
		}
		// The suspected payment paid a different amount: it must be listed.
		if !strings.Contains(result, "amount differs") {
			t.Errorf("the wrong-amount payment is not listed: %s", result)
		}
	})
}

func TestKuveytThreeDSecure(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// Kuveyt takes lira; the demo shop is in roubles, so this test's shop is
	// Turkish, as seed 001's is.
	e.store.DB.W.Exec(`UPDATE tenants SET currency = 'TRY', language = 'tr' WHERE id = ?`, e.demo.ID)
	e.store.TenantsChanged()
	e.store.DB.W.Exec(`UPDATE orders SET currency = 'TRY' WHERE tenant_id = ?`, e.demo.ID)
	c := e.client(t, "")
	o := e.placeOrder(t, c)
	pageURL, tx := e.startPayment(t, c, o, "kuveyt")
	if !strings.Contains(pageURL, "/pay/kuveyt/") || tx == "" {
		t.Fatalf("kuveyt payment page %s", pageURL)
	}
	last, page := e.browse(t, c, pageURL, "kuveyt-pay", "sandbox-continue", "sandbox-pay", "sandbox-continue")
	if !strings.Contains(last, "/pay/return/") {
		t.Fatalf("ended at %s:\n%s", last, page)
	}
	got := e.order(t, o.ID)
	if got.PaymentStatus != model.PayPaid || got.Status != model.OrderConfirmed {
		t.Fatalf("after 3-D Secure: %s / %s", got.Status, got.PaymentStatus)
	}
	if !strings.Contains(page, "Onaylandı") || !strings.Contains(page, "Ödendi") {
		t.Errorf("the return page does not speak the shop's Turkish: %s", page)
	}
	// The same bank answer posted again (a replay) charges nothing more.
	answer, err := e.sandboxes.Kuveyt.AuthenticationResponse(tx)
	if err != nil {
		t.Fatal(err)
	}
	fetch(t, c, "POST", e.base+"/pay/kuveyt/"+tx+"/ok", url.Values{"AuthenticationResponse": {answer}})
	fired.duplicates++
	if n := e.completions(t, o.ID); n != 1 {
		fired.doubleApplied += n - 1
		t.Errorf("completed %d times", n)
	}
	_ = ctx

	// A declined card.
	o2 := e.placeOrder(t, c)
	pageURL, _ = e.startPayment(t, c, o2, "kuveyt")
	last, page = e.browse(t, c, pageURL, "kuveyt-pay", "sandbox-continue", "sandbox-decline", "sandbox-continue")
	// The decline on the bank's page is not confirmed by the bank: the payment
	// stays open, and the card page says what the bank's page said.
	if p := e.payments(t, o2.ID)[0]; p.Status != model.PaymentPending {
		t.Errorf("declined 3-D Secure: %s", p.Status)
	}
	if !strings.Contains(last, "/pay/kuveyt/") || !strings.Contains(page, "did not approve the card") {
		t.Errorf("after a decline the customer is at %s:\n%s", last, page)
	}
}
