package handlers_test

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserMainPagesAreAccessible opens the pages people use most, at a
// laptop's and a phone's width, as the customer and as the shop's owner, and
// has axe-core check each: no serious or critical WCAG 2.1 AA violation, and
// no page wider than the screen.
func TestBrowserMainPagesAreAccessible(t *testing.T) {
	e := newEnv(t)
	order := e.paidOrder(t, e.demo, "cdek")
	trBase := e.hostBase("demo-tr.localhost")

	for _, w := range widths {
		t.Run(w.name, func(t *testing.T) {
			ctx := newBrowser(t)
			if _, err := chromedp.Run(ctx, chromedp.EmulateViewport(w.width, w.height)); err != nil {
				t.Fatal(err)
			}
			visit := func(name, url string, ready string) {
				t.Helper()
				if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(ready))); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				checkAxe(t, ctx, name)
				fitsTheScreen(t, ctx, name)
			}

			// The customer's side: the shop, a cart with something in it, the
			// checkout, and the public tracking page; the Turkish shop too.
			visit("shop", e.base+"/shop", `[data-testid="add-to-cart"]`)
			// The form posts and the cart comes back with the product in it.
			if err := chromedp.Do(ctx,
				chromedp.Click(chromedp.CSS(`[data-testid="add-to-cart-submit"]`)),
				chromedp.WaitVisible(chromedp.CSS(`[data-testid="to-checkout"]`)),
			); err != nil {
				t.Fatal(err)
			}
			visit("cart", e.base+"/shop/cart", `[data-testid="to-checkout"]`)
			visit("checkout", e.base+"/shop/checkout", `[data-testid="checkout-form"]`)
			visit("tracking", e.base+"/track/"+order.Number, `main`)
			visit("Turkish shop", trBase+"/shop", `[data-testid="add-to-cart"]`)

			// The back office.
			visit("sign-in", e.base+"/admin/login", `[data-testid="login-form"]`)
			signInBrowser(t, e, ctx, "owner@demo.test")
			visit("dashboard", e.base+"/admin/", `[data-testid="dashboard"]`)
			visit("order desk", e.base+"/admin/orders", `main`)
			visit("order page", e.base+"/admin/orders/"+itoa(order.ID), `main`)
		})
	}
}
