package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"orderdesk/model"
	"orderdesk/providers/paypal"
	"orderdesk/providers/tinkoff"
	"orderdesk/views/locales"
)

// Issue 8, "Money": money is never lost or taken twice. Every test goes
// through the real router, the real payment flow and the providers' sandboxes.

// owner is a browser of the demo shop's owner, signed in.
func (e *env) owner(t *testing.T) *client {
	t.Helper()
	c := e.client(t, "")
	c.login("owner@demo.test", demoPassword)
	return c
}

// ageOrder makes an order and its payments three hours old, past the expiry
// the tests give the shop (150 minutes; the demo's own pending orders are
// younger).
func (e *env) ageOrder(t *testing.T, orderID int64) {
	t.Helper()
	old := time.Now().UTC().Add(-3 * time.Hour)
	for _, q := range []string{
		`UPDATE tenants SET unpaid_expiry_minutes = 150 WHERE id = ` + fmt.Sprint(e.demo.ID),
		`UPDATE orders SET created_at = ? WHERE id = ` + fmt.Sprint(orderID),
		`UPDATE payments SET created_at = ? WHERE order_id = ` + fmt.Sprint(orderID),
	} {
		var err error
		if strings.Contains(q, "?") {
			_, err = e.store.DB.W.Exec(q, old)
		} else {
			_, err = e.store.DB.W.Exec(q)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	e.store.TenantsChanged()
}

// runJob presses a job's "Run now" on the jobs page.
func (e *env) runJob(t *testing.T, staff *client, name string) {
	t.Helper()
	res, _ := staff.postForm("/admin/jobs/"+name+"/run", nil)
	if res.StatusCode != http.StatusSeeOther && res.StatusCode != http.StatusOK {
		t.Fatalf("run %s: %d", name, res.StatusCode)
	}
}

// payAndLeave pays on the provider's page and closes the tab: the customer
// never comes back to the shop's return page.
func (e *env) payAndLeave(t *testing.T, c *client, pageURL string) {
	t.Helper()
	_, body := fetch(t, c, "GET", pageURL, nil)
	form := parseHTML(t, body).Find(`[data-testid="sandbox-pay"]`).Closest("form")
	action, _ := form.Attr("action")
	target, _ := url.Parse(pageURL)
	target, _ = target.Parse(action)
	v := url.Values{}
	form.Find("input").Each(func(_ int, s *goquery.Selection) {
		if name, _ := s.Attr("name"); name != "" {
			val, _ := s.Attr("value")
			v.Set(name, val)
		}
	})
	if name, ok := form.Find(`[data-testid="sandbox-pay"]`).Attr("name"); ok {
		val, _ := form.Find(`[data-testid="sandbox-pay"]`).Attr("value")
		v.Set(name, val)
	}
	res, err := c.http.PostForm(target.String(), v)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
}

// tenant returns a shop by its slug.
func (e *env) tenant(t *testing.T, slug string) *model.Tenant {
	t.Helper()
	shop, err := e.store.FindTenantBySlug(context.Background(), slug)
	if err != nil {
		t.Fatal(err)
	}
	return shop
}

// placeOrderIn orders a product of a shop through its storefront API, from
// the client's session (the client's host is the shop's).
func (e *env) placeOrderIn(t *testing.T, c *client, shop *model.Tenant) *model.Order {
	t.Helper()
	ctx := context.Background()
	products, _ := e.store.FindProducts(ctx, shop.ID)
	shipping, _ := e.store.FindShippingMethods(ctx, shop.ID)
	res, _ := c.api("POST", "/api/cart/add/", map[string]any{"product_id": products[0].ID, "quantity": 1})
	wantStatus(t, res, http.StatusOK)
	res, body := c.api("POST", "/api/orders/", address("payer@example.com", shipping[0].ID))
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("order in %s: %d %v", shop.Slug, res.StatusCode, body)
	}
	o, err := e.store.FindOrderByNumber(ctx, shop.ID, get(body, "order", "order_number").(string))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func (e *env) reviews(t *testing.T, kind string) []*model.PaymentReview {
	t.Helper()
	all, err := e.store.FindPaymentReviews(context.Background(), e.demo.ID, false, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []*model.PaymentReview
	for _, r := range all {
		if r.Kind == kind {
			out = append(out, r)
		}
	}
	return out
}

func (e *env) payment(t *testing.T, id int64) *model.Payment {
	t.Helper()
	p, err := e.store.FindPaymentByID(context.Background(), e.demo.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// closeHere closes a payment in our books only, as the expiry job did before
// it asked the provider (or a crash between the provider's answer and ours):
// the provider's page stays open.
func (e *env) closeHere(t *testing.T, p *model.Payment) {
	t.Helper()
	if _, err := e.store.ApplyPayment(context.Background(), e.demo, p.ID, model.Observation{Stage: model.PaymentCanceled, Reason: "closed here only"}, model.PaymentEvent{}); err != nil {
		t.Fatal(err)
	}
}

func TestExpiryClosesPaymentsAtTheProvider(t *testing.T) {
	e := newEnv(t)
	staff := e.owner(t)

	t.Run("an expired order's payment is closed at the bank, so nobody can pay it there any more", func(t *testing.T) {
		c := e.client(t, "")
		o := e.placeOrder(t, c)
		pageURL, tx := e.startPayment(t, c, o, "tinkoff")
		e.ageOrder(t, o.ID)
		e.runJob(t, staff, "expire-unpaid")
		if got := e.order(t, o.ID); got.Status != model.OrderCancelled {
			t.Fatalf("expired order: %s", got.Status)
		}
		if st, _ := e.sandboxes.Tinkoff.Payment(tx); st.Status != tinkoff.StatusCanceled {
			t.Fatalf("the bank still has the payment %s", st.Status)
		}
		res, page := fetch(t, c, "GET", pageURL, nil)
		if res.StatusCode != http.StatusOK || strings.Contains(page, `data-testid="sandbox-pay"`) {
			t.Errorf("the bank's page still offers to pay:\n%s", page)
		}
	})

	t.Run("money at the bank keeps the order, even when its notification was lost on the way", func(t *testing.T) {
		c := e.client(t, "")
		o := e.placeOrder(t, c)
		pageURL, _ := e.startPayment(t, c, o, "tinkoff")
		e.loseNotifications.Store(true)
		e.payAndLeave(t, c, pageURL)
		e.loseNotifications.Store(false)
		if got := e.order(t, o.ID); got.PaymentStatus != model.PayPending {
			t.Fatalf("the notification was not lost: %s", got.PaymentStatus)
		}
		e.ageOrder(t, o.ID)
		e.runJob(t, staff, "expire-unpaid")
		got := e.order(t, o.ID)
		if got.Status != model.OrderConfirmed || got.PaymentStatus != model.PayPaid {
			t.Errorf("an order paid at the bank was expired: %s / %s", got.Status, got.PaymentStatus)
		}
	})

	t.Run("a bank that cannot be asked keeps the order for the next run", func(t *testing.T) {
		c := e.client(t, "")
		o := e.placeOrder(t, c)
		e.startPayment(t, c, o, "tinkoff")
		e.ageOrder(t, o.ID)
		e.sandboxes.Tinkoff.FailNextCancel(tinkoff.FailHTTP500)
		e.runJob(t, staff, "expire-unpaid")
		if got := e.order(t, o.ID); got.Status != model.OrderPending {
			t.Fatalf("expired without the bank's word: %s", got.Status)
		}
		e.runJob(t, staff, "expire-unpaid")
		if got := e.order(t, o.ID); got.Status != model.OrderCancelled {
			t.Errorf("the next run did not expire it: %s", got.Status)
		}
	})
}

func TestLateMoney(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	staff := e.owner(t)

	// A PayPal invoice cannot be closed at PayPal: after an hour the order
	// expires anyway, and its page stays open.
	expirePayPal := func(t *testing.T) (*client, *model.Order, string) {
		t.Helper()
		c := e.client(t, "")
		o := e.placeOrder(t, c)
		pageURL, _ := e.startPayment(t, c, o, "paypal")
		e.ageOrder(t, o.ID)
		e.runJob(t, staff, "expire-unpaid")
		if got := e.order(t, o.ID); got.Status != model.OrderCancelled {
			t.Fatalf("not expired: %s", got.Status)
		}
		return c, o, pageURL
	}

	t.Run("money for a closed payment reinstates the order while its stock is there, with a review", func(t *testing.T) {
		c, o, pageURL := expirePayPal(t)
		before := len(e.reviews(t, "late_payment"))
		e.browse(t, c, pageURL, "sandbox-pay")
		got := e.order(t, o.ID)
		if got.Status != model.OrderConfirmed || got.PaymentStatus != model.PayPaid {
			t.Fatalf("late money: %s / %s", got.Status, got.PaymentStatus)
		}
		if rs := e.reviews(t, "late_payment"); len(rs) != before+1 || !strings.Contains(rs[0].Reason, "reinstated") {
			t.Errorf("review: %+v", rs)
		}
	})

	t.Run("money for a closed payment whose stock is gone is refunded automatically, with a review", func(t *testing.T) {
		c, o, pageURL := expirePayPal(t)
		if _, err := e.store.DB.W.Exec(`UPDATE products SET stock = 0 WHERE tenant_id = ?`, e.demo.ID); err != nil {
			t.Fatal(err)
		}
		defer e.store.DB.W.Exec(`UPDATE products SET stock = 100 WHERE tenant_id = ?`, e.demo.ID)
		e.browse(t, c, pageURL, "sandbox-pay")
		p := e.payments(t, o.ID)[0]
		if p.Status != model.PaymentRefunded || p.RefundedAmount != p.Amount {
			t.Fatalf("late money without stock: %s, refunded %d of %d", p.Status, p.RefundedAmount, p.Amount)
		}
		txn, err := e.sandboxes.PayPal.PaymentByInvoice(p.Number)
		if err != nil || txn.RefundedMinor != p.Amount {
			t.Errorf("PayPal refunded %+v (%v)", txn, err)
		}
		if got := e.order(t, o.ID); got.Status != model.OrderCancelled || got.NeedsAttention == "" {
			t.Errorf("order: %s, attention %q", got.Status, got.NeedsAttention)
		}
		if rs := e.reviews(t, "late_payment"); len(rs) == 0 || !strings.Contains(rs[0].Reason, "refunded automatically") {
			t.Errorf("review: %+v", rs)
		}
	})

	t.Run("a T-Bank CONFIRMED for a payment closed here only is taken as late money, never ignored", func(t *testing.T) {
		c := e.client(t, "")
		o := e.placeOrder(t, c)
		pageURL, _ := e.startPayment(t, c, o, "tinkoff")
		p := e.payments(t, o.ID)[0]
		e.closeHere(t, p)
		if _, err := e.store.ExpireOrder(ctx, e.demo, o.ID, model.JobActor("expire-unpaid")); err != nil {
			t.Fatal(err)
		}
		e.browse(t, c, pageURL, "sandbox-pay")
		if got := e.payment(t, p.ID); got.Status != model.PaymentCompleted {
			t.Fatalf("late CONFIRMED: %s", got.Status)
		}
		if got := e.order(t, o.ID); got.Status != model.OrderConfirmed || got.PaymentStatus != model.PayPaid {
			t.Errorf("order after late money: %s / %s", got.Status, got.PaymentStatus)
		}
	})
}

func TestOneOrderIsPaidOnce(t *testing.T) {
	e := newEnv(t)

	t.Run("starting another payment closes the open one at its bank", func(t *testing.T) {
		c := e.client(t, "")
		o := e.placeOrder(t, c)
		tPage, tx := e.startPayment(t, c, o, "tinkoff")
		dPage, _ := e.startPayment(t, c, o, "dolyami")
		if st, _ := e.sandboxes.Tinkoff.Payment(tx); st.Status != tinkoff.StatusCanceled {
			t.Fatalf("the first payment is still %s at T-Bank", st.Status)
		}
		if _, page := fetch(t, c, "GET", tPage, nil); strings.Contains(page, `data-testid="sandbox-pay"`) {
			t.Errorf("T-Bank's page still offers to pay")
		}
		e.browse(t, c, dPage, "sandbox-pay")
		if got := e.order(t, o.ID); got.PaymentStatus != model.PayPaid || e.completions(t, o.ID) != 1 {
			t.Errorf("after paying in parts: %s, %d completions", got.PaymentStatus, e.completions(t, o.ID))
		}
	})

	t.Run("an open PayPal payment, which PayPal cannot close, is linked to instead of paid twice", func(t *testing.T) {
		c := e.client(t, "")
		o := e.placeOrder(t, c)
		pageURL, _ := e.startPayment(t, c, o, "paypal")
		res, body := c.api("POST", "/api/payments/create/", map[string]any{"order_id": o.ID, "provider": "tinkoff"})
		wantStatus(t, res, http.StatusConflict)
		if msg, _ := body["message"].(string); !strings.Contains(msg, "still open") || !strings.Contains(msg, pageURL) {
			t.Errorf("refusal: %q", msg)
		}
	})

	t.Run("money beyond the order's total is reviewed and refunded automatically", func(t *testing.T) {
		c := e.client(t, "")
		o := e.placeOrder(t, c)
		tPage, tx := e.startPayment(t, c, o, "tinkoff")
		// A crash left the T-Bank payment closed in our books only.
		e.closeHere(t, e.payments(t, o.ID)[0])
		dPage, _ := e.startPayment(t, c, o, "dolyami")
		e.browse(t, c, dPage, "sandbox-pay")
		e.browse(t, c, tPage, "sandbox-pay")
		var tb *model.Payment
		for _, p := range e.payments(t, o.ID) {
			if p.Provider == model.ProviderTinkoff {
				tb = p
			}
		}
		if tb.Status != model.PaymentRefunded {
			t.Fatalf("the second payment is %s", tb.Status)
		}
		if st, _ := e.sandboxes.Tinkoff.Payment(tx); st.Amount != 0 {
			t.Errorf("T-Bank still holds %d of the second payment (%s)", st.Amount, st.Status)
		}
		if rs := e.reviews(t, "overpaid"); len(rs) != 1 || !strings.Contains(rs[0].Reason, "refunded automatically") {
			t.Errorf("overpaid reviews: %+v", rs)
		}
		if got := e.order(t, o.ID); got.PaymentStatus != model.PayPaid {
			t.Errorf("the order's own payment: %s", got.PaymentStatus)
		}
	})

	t.Run("when the shop keeps overpayments for a person, the review asks and nothing moves", func(t *testing.T) {
		if _, err := e.store.DB.W.Exec(`UPDATE tenants SET refund_overpayments = 0 WHERE id = ?`, e.demo.ID); err != nil {
			t.Fatal(err)
		}
		e.store.TenantsChanged()
		defer func() {
			e.store.DB.W.Exec(`UPDATE tenants SET refund_overpayments = 1 WHERE id = ?`, e.demo.ID)
			e.store.TenantsChanged()
		}()
		c := e.client(t, "")
		o := e.placeOrder(t, c)
		tPage, _ := e.startPayment(t, c, o, "tinkoff")
		e.closeHere(t, e.payments(t, o.ID)[0])
		dPage, _ := e.startPayment(t, c, o, "dolyami")
		e.browse(t, c, dPage, "sandbox-pay")
		e.browse(t, c, tPage, "sandbox-pay")
		for _, p := range e.payments(t, o.ID) {
			if p.Status != model.PaymentCompleted {
				t.Errorf("%s %s is %s", p.Provider, p.Number, p.Status)
			}
		}
		if rs := e.reviews(t, "overpaid"); len(rs) != 2 || !strings.Contains(rs[0].Reason, "refund it from here") {
			t.Errorf("overpaid reviews: %+v", rs)
		}
	})
}

// refundConfirmed posts a confirmed refund as the order page's form does.
func refundConfirmed(staff *client, token string, paymentID int64, amount string) *http.Response {
	v := url.Values{"_csrf": {token}, "amount": {amount}, "confirm": {"1"}}
	res, _ := staff.do("POST", fmt.Sprintf("/admin/payments/%d/refund", paymentID), strings.NewReader(v.Encode()),
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
	return res
}

func TestRefundsAreReservedBeforeTheBankIsAsked(t *testing.T) {
	e := newEnv(t)
	staff := e.owner(t)
	token := staff.csrf()
	paid := func(t *testing.T) (*model.Order, *model.Payment, string) {
		t.Helper()
		c := e.client(t, "")
		o := e.placeOrder(t, c)
		pageURL, tx := e.startPayment(t, c, o, "tinkoff")
		e.browse(t, c, pageURL, "sandbox-pay")
		return o, e.payments(t, o.ID)[0], tx
	}

	t.Run("five refunds at once never refund more than was paid, and the bank refunds what we record", func(t *testing.T) {
		_, p, tx := paid(t)
		third := p.Amount / 3
		var wg sync.WaitGroup
		codes := make(chan int, 5)
		for range 5 {
			wg.Go(func() { codes <- refundConfirmed(staff, token, p.ID, model.FormatAmount(third)).StatusCode })
		}
		wg.Wait()
		close(codes)
		made := 0
		for code := range codes {
			if code == http.StatusSeeOther {
				made++
			}
		}
		// Each refund asked of the bank is a row: the two that did not fit
		// were refused here, before the bank was asked.
		refunds, _ := e.store.FindRefunds(context.Background(), e.demo.ID, p.OrderID)
		if len(refunds) != 3 {
			t.Errorf("the bank was asked %d times, want 3: %+v", len(refunds), refunds)
		}
		got := e.payment(t, p.ID)
		bank, _ := e.sandboxes.Tinkoff.Payment(tx)
		if made != 3 || got.RefundedAmount != 3*third || bank.OriginalAmount-bank.Amount != 3*third {
			t.Errorf("%d refunds made; we recorded %d, the bank refunded %d; want 3 × %d", made, got.RefundedAmount, bank.OriginalAmount-bank.Amount, third)
		}
	})

	t.Run("a refund whose answer was lost is asked again with the same key and made once", func(t *testing.T) {
		_, p, tx := paid(t)
		// The bank makes the refund, and both its answer and its notification
		// are lost.
		e.sandboxes.Tinkoff.FailNextRefund(tinkoff.FailLostAnswer)
		e.loseNotifications.Store(true)
		res := refundConfirmed(staff, token, p.ID, "")
		e.loseNotifications.Store(false)
		if res.StatusCode != http.StatusConflict {
			t.Fatalf("lost answer: %d", res.StatusCode)
		}
		refunds, _ := e.store.FindRefunds(context.Background(), e.demo.ID, p.OrderID)
		if len(refunds) != 1 || refunds[0].Status != model.RefundPending {
			t.Fatalf("refunds after a lost answer: %+v", refunds)
		}
		// The reservation holds: no second refund can be asked meanwhile.
		if res := refundConfirmed(staff, token, p.ID, ""); res.StatusCode == http.StatusSeeOther {
			t.Fatal("a second refund went through while the first was unknown")
		}
		if _, err := e.store.DB.W.Exec(`UPDATE refunds SET updated_at = ? WHERE id = ?`, time.Now().UTC().Add(-time.Hour), refunds[0].ID); err != nil {
			t.Fatal(err)
		}
		e.runJob(t, staff, "refunds")
		if got := e.payment(t, p.ID); got.Status != model.PaymentRefunded || got.RefundedAmount != p.Amount {
			t.Errorf("after the refunds job: %s, refunded %d", got.Status, got.RefundedAmount)
		}
		if bank, _ := e.sandboxes.Tinkoff.Payment(tx); bank.Amount != 0 || bank.OriginalAmount != p.Amount {
			t.Errorf("the bank holds %d of %d", bank.Amount, bank.OriginalAmount)
		}
	})

	t.Run("a refused refund releases its reservation", func(t *testing.T) {
		_, p, _ := paid(t)
		e.sandboxes.Tinkoff.FailNextRefund(tinkoff.FailRefused)
		if res := refundConfirmed(staff, token, p.ID, ""); res.StatusCode != http.StatusConflict {
			t.Fatalf("refused refund: %d", res.StatusCode)
		}
		if res := refundConfirmed(staff, token, p.ID, ""); res.StatusCode != http.StatusSeeOther {
			t.Errorf("the refund after a refusal: %d", res.StatusCode)
		}
		if got := e.payment(t, p.ID); got.Status != model.PaymentRefunded {
			t.Errorf("payment: %s", got.Status)
		}
	})

	t.Run("a PayPal refund notification delivered twice counts once", func(t *testing.T) {
		c := e.client(t, "")
		o := e.placeOrder(t, c)
		pageURL, _ := e.startPayment(t, c, o, "paypal")
		e.browse(t, c, pageURL, "sandbox-pay")
		p := e.payments(t, o.ID)[0]
		// PayPal makes the refund and notifies it, but its answer to us is lost:
		// only the notification says what happened.
		if err := e.sandboxes.PayPal.FailNextRefund(paypal.FailLostAnswer); err != nil {
			t.Fatal(err)
		}
		refundConfirmed(staff, token, p.ID, "10.00")
		if got := e.payment(t, p.ID); got.RefundedAmount != 1000 {
			t.Fatalf("after PayPal's notification: refunded %d", got.RefundedAmount)
		}
		txns, _ := e.sandboxes.PayPal.Transactions(50)
		var refundTxn string
		for _, x := range txns {
			if x.ParentTxnID != "" {
				refundTxn = x.TxnID
			}
		}
		if err := e.sandboxes.PayPal.ResendIPN(refundTxn); err != nil {
			t.Fatal(err)
		}
		fired.duplicates++
		if got := e.payment(t, p.ID); got.RefundedAmount != 1000 {
			t.Errorf("a repeated refund notification counted again: refunded %d", got.RefundedAmount)
		}
	})
}

func TestKuveytDeclineCannotBeForged(t *testing.T) {
	e := newEnv(t)
	tr := e.tenant(t, "demo-tr")
	c := e.client(t, "demo-tr.localhost")
	o := e.placeOrderIn(t, c, tr)
	res, body := c.api("POST", "/api/payments/create/", map[string]any{"order_id": o.ID, "provider": "kuveyt"})
	wantStatus(t, res, http.StatusCreated)
	pageURL := body["payment_url"].(string)
	number := get(body, "payment", "payment_number").(string)
	if !strings.HasPrefix(pageURL, strings.Replace(e.base, "localhost", "demo-tr.localhost", 1)+"/pay/kuveyt/") {
		t.Fatalf("card page %s is not on the shop's own address", pageURL)
	}

	// Anybody can post a "declined" answer to the fail address: it is only
	// recorded, and the payment stays open.
	attacker := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	forged := `<VPosTransactionResponseContract><ResponseCode>51</ResponseCode><ResponseMessage>Yetersiz bakiye</ResponseMessage><MerchantOrderId>` +
		number + `</MerchantOrderId></VPosTransactionResponseContract>`
	req, _ := http.NewRequest("POST", e.srv.URL+"/pay/kuveyt/"+number+"/fail", strings.NewReader(url.Values{"AuthenticationResponse": {forged}}.Encode()))
	req.Host = "demo-tr.localhost"
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	fres, err := attacker.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	fres.Body.Close()
	p, _ := e.store.FindPaymentByNumber(context.Background(), tr.ID, number)
	if p.Status != model.PaymentPending {
		t.Fatalf("a forged decline made the payment %s", p.Status)
	}
	// The customer's genuine 3-D Secure approval that follows is taken.
	last, _ := e.browse(t, c, pageURL, "kuveyt-pay", "sandbox-continue", "sandbox-pay", "sandbox-continue")
	p, _ = e.store.FindPaymentByNumber(context.Background(), tr.ID, number)
	if p.Status != model.PaymentCompleted || !strings.Contains(last, "/pay/return/") {
		t.Errorf("after the genuine approval: %s at %s", p.Status, last)
	}
}

func TestRefundedOnlyThroughRefunds(t *testing.T) {
	e := newEnv(t)
	staff := e.owner(t)
	c := e.client(t, "")

	t.Run("the API refuses refunded as a status", func(t *testing.T) {
		o := e.placeOrder(t, c)
		res, body := staff.api("PATCH", fmt.Sprintf("/api/orders/%d/", o.ID), map[string]any{"status": "refunded"})
		wantStatus(t, res, http.StatusConflict)
		if msg, _ := body["message"].(string); !strings.Contains(msg, "only through refunds") {
			t.Errorf("message: %q", msg)
		}
	})

	t.Run("an unpaid order offers no refund and cannot be refunded", func(t *testing.T) {
		o := e.placeOrder(t, c)
		_, doc := staff.get(fmt.Sprintf("/admin/orders/%d", o.ID))
		if doc.Find(`[data-testid="status-refunded"]`).Length() != 0 {
			t.Error("an unpaid order offers Refunded")
		}
		res, _ := staff.postForm(fmt.Sprintf("/admin/orders/%d/status", o.ID), url.Values{"status": {"refunded"}})
		wantStatus(t, res, http.StatusConflict)
		if got := e.order(t, o.ID); got.Status != model.OrderPending {
			t.Errorf("unpaid order became %s", got.Status)
		}
	})

	t.Run("refunded on a paid order asks to refund all its money, and only then refunds it", func(t *testing.T) {
		o := e.placeOrder(t, c)
		pageURL, tx := e.startPayment(t, c, o, "tinkoff")
		e.browse(t, c, pageURL, "sandbox-pay")
		// Cancelling would keep the money: refused.
		res, doc := staff.postForm(fmt.Sprintf("/admin/orders/%d/status", o.ID), url.Values{"status": {"cancelled"}})
		wantStatus(t, res, http.StatusConflict)
		if !strings.Contains(doc.Find(`[data-testid="status-error"]`).Text(), "refund its payments") {
			t.Errorf("cancel of a paid order: %q", doc.Find(`[data-testid="status-error"]`).Text())
		}
		_, doc = staff.get(fmt.Sprintf("/admin/orders/%d", o.ID))
		if doc.Find(`[data-testid="status-refunded"]`).Length() != 1 {
			t.Fatal("a paid order does not offer Refunded")
		}
		res, doc = staff.postForm(fmt.Sprintf("/admin/orders/%d/status", o.ID), url.Values{"status": {"refunded"}})
		wantStatus(t, res, http.StatusOK)
		if got := doc.Find(`[data-testid="refund-confirm"]`).Text(); !strings.Contains(got, "Refund all") || !strings.Contains(got, locales.Money("en", o.Total, o.Currency)) {
			t.Fatalf("confirmation: %q", got)
		}
		if got := e.order(t, o.ID); got.Status == model.OrderRefunded {
			t.Fatal("refunded before the confirmation")
		}
		res, _ = staff.postForm(fmt.Sprintf("/admin/orders/%d/refund", o.ID), url.Values{"confirm": {"1"}})
		wantStatus(t, res, http.StatusSeeOther)
		got := e.order(t, o.ID)
		if got.Status != model.OrderRefunded || got.PaymentStatus != model.PayRefunded {
			t.Errorf("after the confirmed refund: %s / %s", got.Status, got.PaymentStatus)
		}
		if bank, _ := e.sandboxes.Tinkoff.Payment(tx); bank.Amount != 0 {
			t.Errorf("the bank still holds %d", bank.Amount)
		}
	})
}

func TestReinstatedOrderTakesItsDiscountsAgain(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	staff := e.owner(t)
	var customerID int64
	if err := e.store.DB.R.QueryRow(`SELECT id FROM customers WHERE tenant_id = ? AND email = 'customer@demo.test'`, e.demo.ID).Scan(&customerID); err != nil {
		t.Fatal(err)
	}
	c := e.client(t, "")
	c.apiLogin("customer@demo.test", demoPassword)
	products, _ := e.store.FindProducts(ctx, e.demo.ID)
	shipping, _ := e.store.FindShippingMethods(ctx, e.demo.ID)
	res, _ := c.api("POST", "/api/cart/add/", map[string]any{"product_id": products[0].ID, "quantity": 1})
	wantStatus(t, res, http.StatusOK)
	res, body := c.api("POST", "/api/cart/coupon/", map[string]any{"coupon_code": "DEMO10"})
	wantStatus(t, res, http.StatusOK)
	if body["isActive"] != true && get(body, "cart", "isActive") != true {
		t.Fatalf("DEMO10 not applied: %v", body)
	}
	before, _ := e.store.BonusBalance(ctx, e.demo.ID, customerID)
	order := address("customer@demo.test", shipping[0].ID)
	order["use_bonus"] = true
	res, body = c.api("POST", "/api/orders/", order)
	wantStatus(t, res, http.StatusCreated)
	o, _ := e.store.FindOrderByNumber(ctx, e.demo.ID, get(body, "order", "order_number").(string))
	if o.Discount == 0 || o.BonusUsed == 0 {
		t.Fatalf("order without its discounts: %+v", o)
	}
	pageURL, _ := e.startPayment(t, c, o, "paypal")
	e.ageOrder(t, o.ID)
	e.runJob(t, staff, "expire-unpaid")
	if bal, _ := e.store.BonusBalance(ctx, e.demo.ID, customerID); bal != before {
		t.Fatalf("the cancel did not give the bonus back: %d, want %d", bal, before)
	}
	e.browse(t, c, pageURL, "sandbox-pay")
	if got := e.order(t, o.ID); got.Status != model.OrderConfirmed {
		t.Fatalf("not reinstated: %s", got.Status)
	}
	if bal, _ := e.store.BonusBalance(ctx, e.demo.ID, customerID); bal != before-o.BonusUsed {
		t.Errorf("the reinstated order did not take its bonus again: balance %d, want %d", bal, before-o.BonusUsed)
	}
	var uses int
	if err := e.store.DB.R.QueryRow(`SELECT count(*) FROM coupon_redemptions WHERE order_id = ?`, o.ID).Scan(&uses); err != nil || uses != 1 {
		t.Errorf("the reinstated order's coupon use: %d (%v)", uses, err)
	}
}

func TestWebhookKeysBelongToTheIntegration(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// Another shop sets up its own T-Bank terminal, whose notifications it can
	// sign, and posts one with the demo shop's PaymentId.
	shop2, err := e.store.CreateTenant(ctx, model.NewTenant{Slug: "shop2", Name: "Shop Two", Currency: "RUB", Language: "en", Timezone: "UTC"})
	if err != nil {
		t.Fatal(err)
	}
	prov, name, key, secret, ep := model.ProviderTinkoff, "My terminal", "ATTACKERDEMO", "attacker-password", e.srv.URL+"/sandbox/tinkoff/v2"
	in2, err := e.store.CreateIntegration(ctx, shop2.ID, nil, model.IntegrationInput{Provider: &prov, Name: &name, APIKey: &key, APISecret: &secret, TestEndpoint: &ep})
	if err != nil {
		t.Fatal(err)
	}
	c := e.client(t, "")
	o := e.placeOrder(t, c)
	pageURL, tx := e.startPayment(t, c, o, "tinkoff")
	for _, status := range []string{"AUTHORIZED", "CONFIRMED"} {
		n := map[string]any{"TerminalKey": key, "OrderId": "X-1", "Success": true, "Status": status, "PaymentId": json.Number(tx), "ErrorCode": "0", "Amount": o.Total}
		n["Token"] = tinkoff.Token(n, secret)
		b, _ := json.Marshal(n)
		res, err := http.Post(fmt.Sprintf("%s/webhooks/tinkoff/%d", e.srv.URL, in2.ID), "application/json", strings.NewReader(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		reply, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || string(reply) != "OK" {
			t.Fatalf("shop2's own notification: %d %q", res.StatusCode, reply)
		}
	}
	if got := e.order(t, o.ID); got.PaymentStatus != model.PayPending {
		t.Fatalf("another shop's notification changed the order: %s", got.PaymentStatus)
	}
	shop2Reviews, _ := e.store.FindPaymentReviews(ctx, shop2.ID, true, 10)
	if len(shop2Reviews) == 0 || shop2Reviews[0].Kind != "unknown_payment" {
		t.Errorf("shop2's unknown notification was not kept for review: %+v", shop2Reviews)
	}
	// The genuine notifications of the demo shop's bank still count (the
	// customer pays and closes the tab: they are the only news).
	e.payAndLeave(t, c, pageURL)
	if got := e.order(t, o.ID); got.PaymentStatus != model.PayPaid {
		t.Errorf("the genuine notification was taken for a duplicate: %s", got.PaymentStatus)
	}
}

func TestPaymentsAsSeed001CallsThem(t *testing.T) {
	e := newEnv(t)

	t.Run("the session that placed the order pays it by its id", func(t *testing.T) {
		c := e.client(t, "")
		o := e.placeOrder(t, c)
		res, body := c.api("POST", "/api/payments/create/", map[string]any{"order_id": fmt.Sprint(o.ID), "provider": "tinkoff",
			"customer_info": map[string]any{"email": "customer@example.com", "name": "Ahmet Yılmaz", "phone": "+905551234567"}})
		wantStatus(t, res, http.StatusCreated)
		if body["payment_url"] == "" || body["transaction_id"] == "" {
			t.Errorf("answer: %v", body)
		}
	})

	t.Run("another session gets a 404 that says what would do", func(t *testing.T) {
		o := e.placeOrder(t, e.client(t, ""))
		res, body := e.client(t, "").api("POST", "/api/payments/create/", map[string]any{"order_id": o.ID, "provider": "tinkoff"})
		wantStatus(t, res, http.StatusNotFound)
		if msg, _ := body["message"].(string); !strings.Contains(msg, "order_number") || !strings.Contains(msg, "sign in") {
			t.Errorf("refusal: %q", msg)
		}
	})

	t.Run("verify answers only whoever may see the order; others get the unknown id's 404", func(t *testing.T) {
		c := e.client(t, "")
		o := e.placeOrder(t, c)
		_, tx := e.startPayment(t, c, o, "tinkoff")
		stranger := e.client(t, "")
		res, body := stranger.api("POST", "/api/payments/verify/", map[string]any{"transaction_id": tx, "provider": "tinkoff"})
		_, unknown := stranger.api("POST", "/api/payments/verify/", map[string]any{"transaction_id": tx + "7", "provider": "tinkoff"})
		wantStatus(t, res, http.StatusNotFound)
		if fmt.Sprint(body) != fmt.Sprint(unknown) || strings.Contains(fmt.Sprint(body), o.Number) {
			t.Errorf("a stranger learns something: %v (unknown id: %v)", body, unknown)
		}
		res, body = c.api("POST", "/api/payments/verify/", map[string]any{"transaction_id": tx, "provider": "tinkoff"})
		wantStatus(t, res, http.StatusOK)
		if get(body, "payment", "order_number") != o.Number {
			t.Errorf("the owner's verify: %v", body)
		}
		res, _ = e.owner(t).api("POST", "/api/payments/verify/", map[string]any{"transaction_id": tx, "provider": "tinkoff"})
		wantStatus(t, res, http.StatusOK)
	})

	t.Run("a provider that does not take the order's currency is refused at once", func(t *testing.T) {
		c := e.client(t, "")
		o := e.placeOrder(t, c)
		res, body := c.api("POST", "/api/payments/create/", map[string]any{"order_id": o.ID, "provider": "kuveyt"})
		wantStatus(t, res, http.StatusConflict)
		if msg, _ := body["message"].(string); !strings.Contains(msg, "RUB") {
			t.Errorf("refusal: %q", msg)
		}
		if len(e.payments(t, o.ID)) != 0 {
			t.Error("a payment was created")
		}
	})
}

func TestKuveytProvisionWithoutAnAnswerIsNotCancelledBlind(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tr := e.tenant(t, "demo-tr")
	c := e.client(t, "demo-tr.localhost")
	o := e.placeOrderIn(t, c, tr)
	res, body := c.api("POST", "/api/payments/create/", map[string]any{"order_id": o.ID, "provider": "kuveyt"})
	wantStatus(t, res, http.StatusCreated)
	p, _ := e.store.FindPaymentByNumber(ctx, tr.ID, get(body, "payment", "payment_number").(string))
	// The process died after asking the bank to provision: only the intent
	// was recorded.
	if _, err := e.store.RecordPaymentEvent(ctx, model.PaymentEvent{TenantID: tr.ID, PaymentID: p.ID, IntegrationID: p.IntegrationID,
		Direction: "out", Kind: "provision", Verified: true, Result: "3-D Secure answer received: asking the bank to take the money"}); err != nil {
		t.Fatal(err)
	}
	old := time.Now().UTC().Add(-3 * time.Hour)
	for _, q := range []string{`UPDATE tenants SET unpaid_expiry_minutes = 150 WHERE id = ?`, `UPDATE orders SET created_at = ? WHERE id = ?`} {
		args := []any{tr.ID}
		if strings.Contains(q, "created_at") {
			args = []any{old, o.ID}
		}
		if _, err := e.store.DB.W.Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}
	e.store.TenantsChanged()
	staff := e.client(t, "demo-tr.localhost")
	staff.login("owner@demo.test", demoPassword)
	e.runJob(t, staff, "expire-unpaid")
	e.runJob(t, staff, "expire-unpaid")
	got, _ := e.store.FindOrderByID(ctx, tr.ID, o.ID)
	if got.Status != model.OrderPending {
		t.Fatalf("an order whose money may be at the bank was expired: %s", got.Status)
	}
	reviews, _ := e.store.FindPaymentReviews(ctx, tr.ID, true, 10)
	n := 0
	for _, r := range reviews {
		if r.Kind == "provision_unknown" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d reviews ask about the unanswered provision, want 1: %+v", n, reviews)
	}
}
