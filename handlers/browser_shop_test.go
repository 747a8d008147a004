package handlers_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"orderdesk/model"
	"orderdesk/views"
	"orderdesk/views/locales"
)

// shopWaitText polls the text of sel until ok accepts it or 10 seconds pass: the
// way to wait for an htmx swap without guessing how long it takes. In the middle
// of a swap the text can read empty, so predicates should refuse "".
func shopWaitText(t *testing.T, ctx context.Context, sel string, ok func(string) bool) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		s, err := chromedp.Run(cctx, chromedp.Text(chromedp.CSS(sel)))
		cancel()
		if err == nil && ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: text stayed %q (%v)", sel, s, err)
		}
		time.Sleep(25 * time.Millisecond) // the poll interval, not a guess at the swap's duration
	}
}

// shopStillSamePage checks that htmx swapped in place: the address did not change
// and the marker set on the window before the change survived (a page load would
// have dropped it).
func shopStillSamePage(t *testing.T, ctx context.Context, wantURL string) {
	t.Helper()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil || loc != wantURL {
		t.Errorf("the page moved to %q (%v), want it to stay on %s", loc, err, wantURL)
	}
	same, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__samePage === true`))
	if err != nil || !same {
		t.Errorf("the page was reloaded (%v): htmx should swap the totals in place", err)
	}
}

func TestBrowserShopPromoAndBonus(t *testing.T) {
	e := newEnv(t)
	ctx := newBrowser(t)
	tee := shopProduct(t, e, "TS-WHITE-M")
	lamp := shopProduct(t, e, "LAMP-LED")
	cu, err := e.store.AuthenticateCustomer(context.Background(), e.demo.ID, model.DemoCustomerEmail, demoPassword, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	balance, _ := e.store.BonusBalance(context.Background(), e.demo.ID, cu.ID)
	// The browser keeps the no-break spaces that keep an amount on one line.
	money := func(minor int64) string { return locales.Money(e.demo.Language, minor, e.demo.Currency) }
	total := `#` + views.ShopCartTotalsID + ` [data-testid="cart-total"]`

	// 1. The demo customer signs in on the storefront.
	err = chromedp.Do(ctx,
		chromedp.Navigate(e.base+"/shop/login"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="shop-login-form"]`)),
		chromedp.SendKeys(chromedp.CSS(`#login-email`), model.DemoCustomerEmail),
		chromedp.SendKeys(chromedp.CSS(`#login-password`), demoPassword),
		chromedp.Click(chromedp.CSS(`[data-testid="shop-login-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="customer-email"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}

	// 2. Two products go into the cart from the products page.
	for _, p := range []*model.Product{tee, lamp} {
		button := fmt.Sprintf(`[data-testid="product"][data-product-id="%d"] [data-testid="add-to-cart-submit"]`, p.ID)
		err := chromedp.Do(ctx,
			chromedp.Navigate(e.base+"/shop"),
			chromedp.WaitVisible(chromedp.CSS(button)),
			chromedp.Click(chromedp.CSS(button)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="cart-lines"]`)),
		)
		if err != nil {
			t.Fatalf("add %s: %v", p.SKU, err)
		}
	}
	subtotal := tee.Price + lamp.Price
	if got := shopWaitText(t, ctx, `[data-testid="cart-count"]`, func(s string) bool { return s == "2" }); got != "2" {
		t.Fatalf("cart count %q", got)
	}

	// 3. On the cart page, DEMO10 changes the discount and total in place.
	err = chromedp.Do(ctx,
		chromedp.Navigate(e.base+"/shop/cart"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="coupon-form"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	before := shopWaitText(t, ctx, total, func(s string) bool { return s != "" })
	if before != money(subtotal) {
		t.Fatalf("total before the promo code: %q, want %s", before, money(subtotal))
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__samePage = true`)); err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`#coupon_code`), "DEMO10"),
		chromedp.Click(chromedp.CSS(`[data-testid="coupon-apply"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	discount := subtotal / 10
	afterCoupon := shopWaitText(t, ctx, total, func(s string) bool { return s != "" && s != before })
	if afterCoupon != money(subtotal-discount) {
		t.Errorf("total with DEMO10: %q, want %s", afterCoupon, money(subtotal-discount))
	}
	if got := shopWaitText(t, ctx, `[data-testid="cart-discount"]`, func(s string) bool { return s != "" }); got != "-"+money(discount) {
		t.Errorf("discount: %q, want -%s", got, money(discount))
	}
	shopWaitText(t, ctx, `[data-testid="coupon-message"]`, func(s string) bool { return s == "Promo code DEMO10 applied: 10% off." })
	shopStillSamePage(t, ctx, e.base+"/shop/cart")

	// 4. Ticking "use my bonus" adds the bonus line and lowers the total again.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-testid="use-bonus"]`))); err != nil {
		t.Fatal(err)
	}
	bonus := min(balance, (subtotal-discount)*int64(e.demo.BonusMaxSharePercent)/100)
	afterBonus := shopWaitText(t, ctx, total, func(s string) bool { return s != "" && s != afterCoupon })
	if afterBonus != money(subtotal-discount-bonus) {
		t.Errorf("total with bonus: %q, want %s", afterBonus, money(subtotal-discount-bonus))
	}
	if got := shopWaitText(t, ctx, `[data-testid="bonus-used"]`, func(s string) bool { return s != "" }); got != "-"+money(bonus) {
		t.Errorf("bonus used: %q, want -%s", got, money(bonus))
	}
	shopStillSamePage(t, ctx, e.base+"/shop/cart")

	// 5. The choices were saved in the session: a reload shows the same totals.
	err = chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`[data-testid="coupon-form"]`)))
	if err != nil {
		t.Fatal(err)
	}
	if got := shopWaitText(t, ctx, total, func(s string) bool { return s != "" }); got != afterBonus {
		t.Errorf("total after a reload: %q, want %q", got, afterBonus)
	}
}
