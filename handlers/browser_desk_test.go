package handlers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"orderdesk/model"
)

// waitFor polls a JavaScript condition until it is true or the deadline passes:
// htmx swaps happen after the click returns.
func waitFor(t *testing.T, ctx context.Context, what, js string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: never happened (last error %v)", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestBrowserOrderDesk(t *testing.T) {
	e := newEnv(t)
	ctx := newBrowser(t)
	err := chromedp.Do(ctx,
		chromedp.Navigate(e.base+"/admin/login"),
		chromedp.SendKeys(chromedp.CSS(`#email`), "staff@demo.test"),
		chromedp.SendKeys(chromedp.CSS(`#password`), demoPassword),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="dashboard"]`)),
		chromedp.Navigate(e.base+"/admin/orders"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="orders-table"]`)),
		// Mark the page: a full reload would lose the mark, an htmx swap keeps it.
		chromedp.Evaluate[chromedp.Void](`window.__same_page = true`),
	)
	if err != nil {
		t.Fatal(err)
	}

	// Filtering by status swaps the table in place and puts the filter in the URL.
	err = chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`#f-status`), "confirmed"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#f-status').dispatchEvent(new Event('change', {bubbles: true}))`),
	)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the list shows only confirmed orders", `(() => {
		const rows = [...document.querySelectorAll('[data-testid="order-row"]')];
		return rows.length > 0 && rows.every(r => r.dataset.status === 'confirmed') && location.search.includes('status=confirmed');
	})()`)
	if same, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__same_page === true`)); !same {
		t.Error("the filter reloaded the whole page instead of swapping the table")
	}
	confirmed := demoOrders(t, e, model.OrderFilter{Status: model.OrderConfirmed})
	n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="order-row"]').length`))
	if n != len(confirmed) {
		t.Errorf("rows after filtering: %d, want %d", n, len(confirmed))
	}

	// Open the first order and move it to processing through the htmx form.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="order-row"] [data-testid="order-number"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="status-form"]`)),
		chromedp.Evaluate[chromedp.Void](`window.__same_page = true`),
		chromedp.SetValue(chromedp.CSS(`[data-testid="status-select"]`), "processing"),
		chromedp.Click(chromedp.CSS(`[data-testid="status-submit"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the page shows the order as processing", `document.querySelector('[data-testid="detail-status"]').textContent === 'Processing'`)
	if same, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__same_page === true`)); !same {
		t.Error("the status change reloaded the page instead of swapping the order in place")
	}
	title, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="order-title"]`)))
	number := strings.Fields(title)[1]
	page, _ := e.store.FindOrders(context.Background(), e.demo.ID, model.OrderFilter{Number: number})
	if len(page.Orders) != 1 || page.Orders[0].Status != model.OrderProcessing {
		t.Errorf("order %s in the database: %+v", number, page.Orders)
	}
	timeline, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="timeline"]`)))
	if !strings.Contains(timeline, "Status changed from Confirmed to Processing") || !strings.Contains(timeline, "by staff@demo.test") {
		t.Errorf("timeline: %s", timeline)
	}
}
