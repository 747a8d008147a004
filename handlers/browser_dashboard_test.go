package handlers_test

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"

	"orderdesk/model"
)

// chartShown is true when the sales chart is drawn with a size on the page.
const chartShown = `(() => { const s = document.querySelector('[data-testid="chart-svg"]'); if (!s || !s.checkVisibility()) return false;
	const r = s.getBoundingClientRect(); return r.width > 100 && r.height > 30 && r.right <= window.innerWidth; })()`

// TestBrowserDashboard: the owner's dashboard renders its to-do list and the
// sales chart at 1366 px and at 390 px, and on the phone nothing scrolls
// sideways.
func TestBrowserDashboard(t *testing.T) {
	e := newEnv(t)
	e.paidOrder(t, e.demo, "cdek") // a sale today
	ctx := newBrowser(t)
	browserLogin(t, ctx, e.base, model.DemoOwnerEmail)
	for _, w := range []struct{ width, height int64 }{{1366, 900}, {390, 844}} {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(w.width, w.height),
			chromedp.Navigate(e.base+"/admin/"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="todo"]`))); err != nil {
			t.Fatal(err)
		}
		items, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="todo"] li').length`))
		if err != nil || items < 8 {
			t.Errorf("at %d px the to-do list has %d items (%v)", w.width, items, err)
		}
		if shown, err := chromedp.Run(ctx, chromedp.Evaluate[bool](chartShown)); err != nil || !shown {
			t.Errorf("at %d px the sales chart is not shown whole (%v)", w.width, err)
		}
		checkAxe(t, ctx, fmt.Sprintf("the dashboard at %d px", w.width))
		if fits, err := chromedp.Run(ctx, chromedp.Evaluate[bool](noSideScroll)); err != nil || !fits {
			sw, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
			t.Errorf("at %d px /admin/ scrolls sideways: %d px wide (%v)", w.width, sw, err)
		}
	}
}
