package handlers_test

import (
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// A barcode scanner types the number into the focused field and presses
// Enter: the result comes in place, and the field is empty and focused for
// the next parcel.
func TestBrowserWarehouseScan(t *testing.T) {
	e := newEnv(t)
	o := e.boughtOrder(t, e.demo, "cdek")
	ctx := newBrowser(t)
	err := chromedp.Do(ctx,
		chromedp.Navigate(e.base+"/admin/login"),
		chromedp.SendKeys(chromedp.CSS(`#email`), "staff@demo.test"),
		chromedp.SendKeys(chromedp.CSS(`#password`), demoPassword),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="dashboard"]`)),
		chromedp.Navigate(e.base+"/admin/warehouse"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="scan-form"]`)),
		chromedp.Evaluate[chromedp.Void](`window.__same_page = true`),
	)
	if err != nil {
		t.Fatal(err)
	}
	if focused, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.activeElement && document.activeElement.id === 'scan-code'`)); !focused {
		t.Fatal("the scan field is not focused when the page opens")
	}
	for i, l := range o.Lines {
		// Typed into whatever has the focus, as a scanner does.
		if err := chromedp.Do(ctx, chromedp.KeyEvent(l.SupplierTrack+kb.Enter)); err != nil {
			t.Fatal(err)
		}
		want := "not yet"
		if i == len(o.Lines)-1 {
			want = "Yes"
		}
		waitFor(t, ctx, "the scan's result", `(() => {
			const ok = document.querySelector('[data-testid="scan-ok"]');
			const ready = document.querySelector('[data-testid="scan-ready"]');
			return ok && ok.textContent.includes('`+l.SupplierTrack+`') && ready.textContent.includes('`+want+`');
		})()`)
		if fresh, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.activeElement.id === 'scan-code' && document.activeElement.value === ''`)); !fresh {
			t.Errorf("after scan %d the field is not empty and focused for the next parcel", i+1)
		}
	}
	if same, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__same_page === true`)); !same {
		t.Error("the scans reloaded the page instead of swapping the result in")
	}
	if got := e.order(t, o.ID); got.ArrivedAt == nil {
		t.Error("the order is not ready to ship after its parcels were scanned")
	}
}
