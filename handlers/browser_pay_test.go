package handlers_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"orderdesk/model"
	"orderdesk/providers/tinkoff"
)

// TestBrowserIntegrationAndPayment: an owner creates a T-Bank integration in test
// mode, tests it and takes it live; then a customer orders and pays in the bank's
// sandbox, and the order shows as confirmed and paid on the order desk.
func TestBrowserIntegrationAndPayment(t *testing.T) {
	// The live bank is one of the test's own on loopback: the sandbox can
	// never be a live endpoint.
	banks := startLiveBanks(t)
	e := newEnvAllowing(t, banks.allowed())
	ctx := newBrowser(t)
	sandbox, live := e.srv.URL+"/sandbox/tinkoff/v2", banks.tinkoff+"/v2"

	err := chromedp.Do(ctx,
		chromedp.Navigate(e.base+"/admin/login"),
		chromedp.SendKeys(chromedp.CSS(`#email`), "owner@demo.test"),
		chromedp.SendKeys(chromedp.CSS(`#password`), demoPassword),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="dashboard"]`)),
		chromedp.Navigate(e.base+"/admin/integrations/new"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="integration-form"]`)),
		chromedp.SetValue(chromedp.CSS(`#provider_type`), "tinkoff"),
		chromedp.SendKeys(chromedp.CSS(`#name`), "T-Bank (new terminal)"),
		chromedp.SendKeys(chromedp.CSS(`#api_key`), tinkoff.DemoTerminalKey),
		chromedp.SendKeys(chromedp.CSS(`#api_secret`), tinkoff.DemoPassword),
		chromedp.SendKeys(chromedp.CSS(`#test_endpoint`), sandbox),
		chromedp.SendKeys(chromedp.CSS(`#api_endpoint`), live),
		chromedp.Click(chromedp.CSS(`[data-testid="integration-save"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="integrations-table"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	list, _ := e.store.FindIntegrations(context.Background(), e.demo.ID)
	var created *model.Integration
	for _, i := range list {
		if i.Name == "T-Bank (new terminal)" {
			created = i
		}
	}
	if created == nil || created.Status != model.IntegrationTest || created.APIKeyLast4 != tinkoff.DemoTerminalKey[len(tinkoff.DemoTerminalKey)-4:] {
		t.Fatalf("created integration: %+v", created)
	}
	row := `#integration-` + itoa(created.ID)
	html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS(`[data-testid="integrations-table"]`)))
	if strings.Contains(html, tinkoff.DemoPassword) {
		t.Error("the integrations page shows the secret")
	}

	// Test connection: a real call to the sandbox, the answer in words, in place.
	err = chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](`window.__same_page = true`),
		chromedp.Click(chromedp.CSS(row+` [data-testid="integration-test"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the connection test result", `(document.querySelector('`+row+` [data-testid="integration-test-result"]')||{}).textContent.includes('✓')`)
	if same, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__same_page === true`)); !same {
		t.Error("testing the connection reloaded the page instead of swapping the row")
	}

	// Go live: a confirmation that names what changes, then the row says Live.
	// (htmx wires a swapped-in row after it settles; a click before that would be
	// a plain link.)
	waitProcessed(t, ctx, row+` [data-testid="integration-go-live"]`)
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(row+` [data-testid="integration-go-live"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="confirm-what-changes"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	if same, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__same_page === true`)); !same {
		t.Error("asking to go live reloaded the page instead of swapping the row")
	}
	what, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="confirm-what-changes"]`)))
	if !strings.Contains(what, "real money") {
		t.Errorf("the confirmation does not say what changes: %q", what)
	}
	waitProcessed(t, ctx, `[data-testid="integration-confirm"] form`)
	// The shop's own live terminal, typed in the confirmation.
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`#live-key-`+itoa(created.ID)), liveTinkoffKey),
		chromedp.SendKeys(chromedp.CSS(`#live-secret-`+itoa(created.ID)), liveTinkoffPass),
		chromedp.Click(chromedp.CSS(`[data-testid="confirm-live"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the row shows Live", `(document.querySelector('`+row+` [data-testid="integration-status"]')||{}).textContent === 'Live'`)
	if same, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__same_page === true`)); !same {
		t.Error("testing and going live reloaded the page instead of swapping the row")
	}
	changes, _ := e.store.FindIntegrationChanges(context.Background(), e.demo.ID, created.ID)
	if len(changes) == 0 || changes[0].To != model.IntegrationActive || changes[0].Actor != "staff:owner@demo.test" {
		t.Errorf("recorded changes: %+v", changes)
	}

	// A customer orders and pays with T-Bank in the sandbox.
	err = chromedp.Do(ctx,
		chromedp.Navigate(e.base+"/shop/login"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="shop-login-form"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="shop-login-form"] input[name="email"]`), model.DemoCustomerEmail),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="shop-login-form"] input[name="password"]`), demoPassword),
		chromedp.Click(chromedp.CSS(`[data-testid="shop-login-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="add-to-cart"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="add-to-cart-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="cart-line"]`)),
		chromedp.Navigate(e.base+"/shop/checkout"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="checkout-form"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="shipping-method"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="payment-tinkoff"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="place-order"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="sandbox-pay"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="sandbox-pay"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="payment-result"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	result, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="payment-result"]`)))
	if !strings.Contains(result, "was received") {
		t.Fatalf("return page: %q", result)
	}
	page, _ := e.store.FindOrders(context.Background(), e.demo.ID, model.OrderFilter{Email: model.DemoCustomerEmail, Limit: 1})
	paid := page.Orders[0]
	if paid.PaymentStatus != model.PayPaid {
		t.Fatalf("newest order of the customer: %s / %s", paid.Status, paid.PaymentStatus)
	}
	payments, _ := e.store.FindPayments(context.Background(), e.demo.ID, model.PaymentFilter{OrderID: paid.ID})
	if len(payments) != 1 || payments[0].IntegrationID != created.ID || payments[0].Mode != "live" {
		t.Errorf("the payment did not go through the live integration: %+v", payments)
	}

	// The desk shows it confirmed and paid.
	err = chromedp.Do(ctx,
		chromedp.Navigate(e.base+"/admin/orders?status=confirmed&payment_status=paid&order_number="+paid.Number),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="orders-table"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	rowText, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="order-row"]`)))
	if !strings.Contains(rowText, paid.Number) || !strings.Contains(rowText, "Confirmed") || !strings.Contains(rowText, "Paid") {
		t.Errorf("order desk row: %q", rowText)
	}
}

// waitProcessed waits until htmx has wired the element (after a swap settles).
func waitProcessed(t *testing.T, ctx context.Context, selector string) {
	t.Helper()
	waitFor(t, ctx, "htmx wires "+selector, `(() => { const el = document.querySelector('`+selector+`'); return !!el && el['htmx-internal-data'] !== undefined; })()`)
}
