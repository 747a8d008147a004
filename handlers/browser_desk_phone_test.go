package handlers_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"orderdesk/model"
	"orderdesk/views/locales"
)

// deskFitsWindow fails the test when the page is wider than the window.
func deskFitsWindow(t *testing.T, ctx context.Context, where string) {
	t.Helper()
	wide, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
	if wide {
		w, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
		// Name the widest elements, for whoever fixes it.
		culprits, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll('body *')].filter(el => el.getBoundingClientRect().right > window.innerWidth + 1).slice(-5).map(el => el.tagName + (el.id ? '#' + el.id : '') + '.' + el.className + '[' + (el.dataset.testid || '') + ']').join(' ')`))
		t.Errorf("%s: the page is %d px wide, wider than the window: %s", where, w, culprits)
	}
}

// An owner works the desk and refunds part of an order, on a laptop and on a
// phone: select-all, a bulk cancel that asks first, the list as rows at
// 390 px, and a refund confirmed in words whose figures the totals then show.
func TestBrowserDeskAndRefundAtTwoWidths(t *testing.T) {
	e := newEnv(t)
	ctx := newBrowser(t)
	err := chromedp.Do(ctx,
		chromedp.Navigate(e.base+"/admin/login"),
		chromedp.SendKeys(chromedp.CSS(`#email`), "owner@demo.test"),
		chromedp.SendKeys(chromedp.CSS(`#password`), demoPassword),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="dashboard"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, width := range []int64{1366, 390} {
		t.Run(fmt.Sprintf("%d px", width), func(t *testing.T) {
			err := chromedp.Do(ctx,
				chromedp.EmulateViewport(width, 900),
				chromedp.Navigate(e.base+"/admin/orders?status=pending"),
				chromedp.WaitVisible(chromedp.CSS(`[data-testid="orders-table"]`)),
			)
			if err != nil {
				t.Fatal(err)
			}
			waitProcessed(t, ctx, `[data-testid="bulk-form"]`)
			deskFitsWindow(t, ctx, "the desk")
			checkAxe(t, ctx, "the order desk")
			if width == 390 {
				// Each order a row to read: number, customer, status and total
				// on screen; the rest left to the order's page.
				shown, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
					const row = document.querySelector('[data-testid="order-row"]');
					const seen = sel => { const r = row.querySelector(sel).getBoundingClientRect(); return r.width > 0 && r.left >= 0 && r.right <= window.innerWidth; };
					return ['.desk-number', '.desk-customer', '.desk-status', '.desk-total'].filter(seen).length + '/' + (seen('[data-testid="order-created"]') ? 'created shown' : 'created hidden');
				})()`))
				if shown != "4/created hidden" {
					t.Errorf("a row at 390 px shows %s, want number, customer, status and total", shown)
				}
			}
			// Select all, then none, then the first order only.
			all, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
				const box = document.querySelector('[data-testid="select-all"]');
				const ids = () => [...document.querySelectorAll('input[name="ids"]')];
				box.click();
				const on = ids().every(c => c.checked);
				box.click();
				const off = ids().every(c => !c.checked);
				ids()[0].click();
				return on + '/' + off + '/' + ids().length;
			})()`))
			if !strings.HasPrefix(all, "true/true/") {
				t.Fatalf("select-all (checked all / cleared all / boxes): %s", all)
			}
			id, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('input[name="ids"]:checked').value`))
			var orderID int64
			fmt.Sscan(id, &orderID)
			err = chromedp.Do(ctx,
				chromedp.SetValue(chromedp.CSS(`#bulk-to`), "cancelled"),
				chromedp.Click(chromedp.CSS(`[data-testid="bulk-submit"]`)),
				chromedp.WaitVisible(chromedp.CSS(`[data-testid="bulk-confirm"]`)),
			)
			if err != nil {
				t.Fatal(err)
			}
			if got := e.order(t, orderID).Status; got != model.OrderPending {
				t.Fatalf("the order is %s before the confirmation", got)
			}
			err = chromedp.Do(ctx,
				chromedp.Click(chromedp.CSS(`[data-testid="bulk-confirm-submit"]`)),
				chromedp.WaitVisible(chromedp.CSS(`[data-testid="bulk-result"]`)),
			)
			if err != nil {
				t.Fatal(err)
			}
			note, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[role="status"] [data-testid="bulk-result"]`)))
			if !strings.Contains(note, "1 of 1 selected order changed to Cancelled.") {
				t.Errorf("notice: %q", note)
			}
			if got := e.order(t, orderID).Status; got != model.OrderCancelled {
				t.Errorf("the order is %s after the confirmation", got)
			}

			// A partial refund on the order page.
			o, pay := e.paidByCard(t)
			err = chromedp.Do(ctx,
				chromedp.Navigate(fmt.Sprintf("%s/admin/orders/%d", e.base, o.ID)),
				chromedp.WaitVisible(chromedp.CSS(`[data-testid="refund-form"]`)),
			)
			if err != nil {
				t.Fatal(err)
			}
			waitProcessed(t, ctx, `[data-testid="refund-form"]`)
			deskFitsWindow(t, ctx, "the order page")
			checkAxe(t, ctx, "the order page with its refund form")
			err = chromedp.Do(ctx,
				chromedp.SendKeys(chromedp.CSS(`[data-testid="refund-amount"]`), "100.00"),
				chromedp.Click(chromedp.CSS(`[data-testid="refund-submit"]`)),
				chromedp.WaitVisible(chromedp.CSS(`[data-testid="refund-confirm"]`)),
			)
			if err != nil {
				t.Fatal(err)
			}
			checkAxe(t, ctx, "the refund's confirmation")
			ask, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="refund-confirm-text"]`)))
			if want := "Refund " + locales.Money("en", 10000, pay.Currency) + " of " + locales.Money("en", pay.Amount, pay.Currency) + "?"; strings.TrimSpace(ask) != want {
				t.Errorf("confirmation: %q, want %q", ask, want)
			}
			err = chromedp.Do(ctx,
				chromedp.Click(chromedp.CSS(`[data-testid="refund-confirm-submit"]`)),
				chromedp.WaitVisible(chromedp.CSS(`[data-testid="detail-refunded"]`)),
			)
			if err != nil {
				t.Fatal(err)
			}
			refunded, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="detail-refunded"]`)))
			net, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="detail-net-paid"]`)))
			if refunded != "−"+locales.Money("en", 10000, pay.Currency) || net != locales.Money("en", pay.Amount-10000, pay.Currency) {
				t.Errorf("totals after the refund: refunded %q, net paid %q", refunded, net)
			}
			deskFitsWindow(t, ctx, "the order page after the refund")
		})
	}
}
