package handlers_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"orderdesk/model"
)

// wantNoSideScroll fails the test when the page is wider than the window (a
// horizontal scroll bar on a phone).
func wantNoSideScroll(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	over, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
		const w = document.documentElement.clientWidth;
		if (document.documentElement.scrollWidth <= w) return '';
		const wide = [...document.querySelectorAll('body *')].filter(el => el.getBoundingClientRect().right > w + 1);
		return document.documentElement.scrollWidth + 'px > ' + w + 'px: ' + wide.slice(-3).map(el => el.tagName + '.' + el.className + '[' + (el.dataset.testid||'') + ']').join(', ');
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if over != "" {
		t.Errorf("%s scrolls sideways: %s", page, over)
	}
}

// A guest at 1366 and at 390 px: cart, checkout, a card declined at the bank's
// sandbox, Try again on the return page, paid. At 390 the cart and the
// checkout fit the screen.
func TestBrowserPayAgain(t *testing.T) {
	for _, width := range []int64{1366, 390} {
		t.Run(fmt.Sprintf("%d px", width), func(t *testing.T) {
			e := newEnv(t)
			ctx := newBrowser(t)
			tee := shopProduct(t, e, "TS-WHITE-M")
			err := chromedp.Do(ctx,
				chromedp.EmulateViewport(width, 844),
				chromedp.Navigate(e.base+"/shop"),
				chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`[data-product-id="%d"] [data-testid="add-to-cart-submit"]`, tee.ID))),
				chromedp.Click(chromedp.CSS(fmt.Sprintf(`[data-product-id="%d"] [data-testid="add-to-cart-submit"]`, tee.ID))),
				chromedp.WaitVisible(chromedp.CSS(`[data-testid="cart-line"]`)),
			)
			if err != nil {
				t.Fatal(err)
			}
			wantNoSideScroll(t, ctx, "the cart")
			checkAxe(t, ctx, "the cart")
			err = chromedp.Do(ctx,
				chromedp.Click(chromedp.CSS(`[data-testid="to-checkout"]`)),
				chromedp.WaitVisible(chromedp.CSS(`[data-testid="checkout-form"]`)),
			)
			if err != nil {
				t.Fatal(err)
			}
			wantNoSideScroll(t, ctx, "the checkout")
			checkAxe(t, ctx, "the checkout")
			fields := map[string]string{"first_name": "Zeynep", "last_name": "Karaca", "email": "zeynep@example.com",
				"telephone": "+905559876543", "street1": "Bağdat Caddesi 42", "city": "Kadıköy", "state": "Istanbul", "zip": "34710"}
			var steps []chromedp.Action[chromedp.Void]
			for f, v := range fields {
				steps = append(steps, chromedp.SetValue(chromedp.CSS(`#co-`+f), v))
			}
			if err := chromedp.Do(ctx, steps...); err != nil {
				t.Fatal(err)
			}
			err = chromedp.Do(ctx,
				chromedp.Click(chromedp.CSS(`[data-testid="shipping-method"]`)),
				chromedp.Click(chromedp.CSS(`[data-testid="payment-tinkoff"]`)),
				chromedp.Click(chromedp.CSS(`[data-testid="place-order"]`)),
				chromedp.WaitVisible(chromedp.CSS(`[data-testid="sandbox-decline"]`)),
				chromedp.Click(chromedp.CSS(`[data-testid="sandbox-decline"]`)),
				chromedp.WaitVisible(chromedp.CSS(`[data-testid="pay-retry"]`)),
			)
			if err != nil {
				t.Fatal(err)
			}
			checkAxe(t, ctx, "the payment return offering to pay again")
			result, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="payment-result"]`)))
			if !strings.Contains(result, "did not go through") {
				t.Errorf("return page after the decline: %q", result)
			}
			err = chromedp.Do(ctx,
				chromedp.Click(chromedp.CSS(`[data-testid="pay-retry"]`)),
				chromedp.WaitVisible(chromedp.CSS(`[data-testid="sandbox-pay"]`)),
				chromedp.Click(chromedp.CSS(`[data-testid="sandbox-pay"]`)),
				chromedp.WaitVisible(chromedp.CSS(`[data-testid="payment-result"]`)),
			)
			if err != nil {
				t.Fatal(err)
			}
			result, _ = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="payment-result"]`)))
			if !strings.Contains(result, "was received") {
				t.Errorf("return page after paying again: %q", result)
			}
			page, err := e.store.FindOrders(context.Background(), e.demo.ID, model.OrderFilter{Email: "zeynep@example.com", Limit: 10})
			if err != nil || len(page.Orders) != 1 {
				t.Fatalf("orders of the guest: %v %v", page, err)
			}
			o := page.Orders[0]
			if o.PaymentStatus != model.PayPaid || len(e.payments(t, o.ID)) != 2 {
				t.Errorf("the order: %s with %d payments; want paid with the declined one and the new one", o.PaymentStatus, len(e.payments(t, o.ID)))
			}
		})
	}
}
