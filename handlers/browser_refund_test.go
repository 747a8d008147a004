package handlers_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"orderdesk/model"
	"orderdesk/views/locales"
)

// An owner refunds part of a payment from the order page: the page asks to
// confirm the amount first, in place, and nothing moves until it is confirmed;
// choosing "Refunded" as the status asks to refund all the order's money.
func TestBrowserRefundAsksFirst(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, "")
	o := e.placeOrder(t, c)
	pageURL, tx := e.startPayment(t, c, o, "tinkoff")
	e.browse(t, c, pageURL, "sandbox-pay")
	p := e.payments(t, o.ID)[0]
	ctx := newBrowser(t)
	orderPage := fmt.Sprintf("%s/admin/orders/%d", e.base, o.ID)

	err := chromedp.Do(ctx,
		chromedp.Navigate(e.base+"/admin/login"),
		chromedp.SendKeys(chromedp.CSS(`#email`), "owner@demo.test"),
		chromedp.SendKeys(chromedp.CSS(`#password`), demoPassword),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="dashboard"]`)),
		chromedp.Navigate(orderPage),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="refund-form"]`)),
		chromedp.Evaluate[chromedp.Void](`window.__same_page = true`),
	)
	if err != nil {
		t.Fatal(err)
	}
	waitProcessed(t, ctx, `[data-testid="refund-form"]`)
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`[data-testid="refund-amount"]`), "100.00"),
		chromedp.Click(chromedp.CSS(`[data-testid="refund-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="refund-confirm"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	ask, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="refund-confirm"]`)))
	if !strings.Contains(ask, "Refund "+locales.Money("en", 10000, p.Currency)+" of "+locales.Money("en", p.Amount, p.Currency)+"?") {
		t.Errorf("the confirmation says %q", ask)
	}
	if same, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__same_page === true`)); !same {
		t.Error("asking to confirm reloaded the page instead of swapping the payments block")
	}
	if got := e.payment(t, p.ID); got.RefundedAmount != 0 {
		t.Fatalf("money moved before the confirmation: refunded %d", got.RefundedAmount)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="refund-confirm-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="order-refunds"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	row, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="order-refund"]`)))
	if !strings.Contains(row, locales.Money("en", 10000, p.Currency)) || !strings.Contains(row, "Refunded") {
		t.Errorf("the refunds list says %q", row)
	}
	if got := e.payment(t, p.ID); got.RefundedAmount != 10000 || got.Status != model.PaymentPartiallyRefunded {
		t.Errorf("after the confirmed refund: %s, refunded %d", got.Status, got.RefundedAmount)
	}
	if bank, _ := e.sandboxes.Tinkoff.Payment(tx); bank.Amount != p.Amount-10000 {
		t.Errorf("the bank holds %d, want %d", bank.Amount, p.Amount-10000)
	}

	// "Refunded" as the new status opens the refund of all that is left; the
	// owner keeps the money this time.
	waitProcessed(t, ctx, `[data-testid="status-form"]`)
	err = chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`[data-testid="status-select"]`), "refunded"),
		chromedp.Click(chromedp.CSS(`[data-testid="status-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="refund-confirm"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	ask, _ = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="refund-confirm"]`)))
	if !strings.Contains(ask, "Refund all the order's money, "+locales.Money("en", p.Amount-10000, p.Currency)) {
		t.Errorf("the confirmation of a full refund says %q", ask)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="refund-cancel"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="refund-form"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.order(t, o.ID); got.Status == model.OrderRefunded || got.PaymentStatus != model.PayPartiallyRefunded {
		t.Errorf("keeping the money changed the order: %s / %s", got.Status, got.PaymentStatus)
	}
}
