package handlers_test

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"

	"orderdesk/model"
)

// browserLogin signs the browser in to the demo shop through the real form.
func browserLogin(t *testing.T, ctx context.Context, base, email string) {
	t.Helper()
	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/admin/login"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)),
		chromedp.SendKeys(chromedp.CSS(`#email`), email),
		chromedp.SendKeys(chromedp.CSS(`#password`), demoPassword),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="dashboard"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
}

// navShown says whether the navigation's links can be seen (and clicked).
const navShown = `(() => { const a = document.querySelector('[data-testid="nav"] a'); return !!a && a.checkVisibility() && a.getBoundingClientRect().height > 0; })()`

// noSideScroll is true when the page is no wider than the window.
const noSideScroll = `document.documentElement.scrollWidth <= window.innerWidth`

func TestBrowserTheTopBarFoldsIntoAMenuOnAPhone(t *testing.T) {
	e := newEnv(t)
	ctx := newBrowser(t)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatal(err)
	}
	browserLogin(t, ctx, e.base, model.DemoOwnerEmail)

	shown, err := chromedp.Run(ctx, chromedp.Evaluate[bool](navShown))
	if err != nil || shown {
		t.Errorf("at 390 px the navigation shows before the menu is opened (%v)", err)
	}
	fits, err := chromedp.Run(ctx, chromedp.Evaluate[bool](noSideScroll))
	if err != nil || !fits {
		w, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
		t.Errorf("at 390 px /admin/ scrolls sideways: %d px wide (%v)", w, err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-testid="menu-toggle"]`))); err != nil {
		t.Fatal(err)
	}
	shown, err = chromedp.Run(ctx, chromedp.Evaluate[bool](navShown))
	if err != nil || !shown {
		t.Errorf("the menu opened but its navigation is not shown (%v)", err)
	}
	fits, err = chromedp.Run(ctx, chromedp.Evaluate[bool](noSideScroll))
	if err != nil || !fits {
		t.Errorf("the open menu makes the page scroll sideways (%v)", err)
	}
	// The menu's links work: Orders opens the order desk.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="nav"] a[data-section="orders"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="menu-toggle"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	url, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname`))
	if err != nil || url != "/admin/orders" {
		t.Errorf("Orders in the menu led to %q (%v)", url, err)
	}
	// Closing it again hides the links.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="menu-toggle"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="menu-toggle"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	if shown, err := chromedp.Run(ctx, chromedp.Evaluate[bool](navShown)); err != nil || shown {
		t.Errorf("the menu closed but its navigation still shows (%v)", err)
	}

	// On a laptop the navigation is simply there, and no menu button.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1366, 900)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(e.base+"/admin/"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="dashboard"]`))); err != nil {
		t.Fatal(err)
	}
	if shown, err := chromedp.Run(ctx, chromedp.Evaluate[bool](navShown)); err != nil || !shown {
		t.Errorf("at 1366 px the navigation is hidden (%v)", err)
	}
	if toggle, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('[data-testid="menu-toggle"]').checkVisibility()`)); err != nil || toggle {
		t.Errorf("at 1366 px the menu button shows (%v)", err)
	}
}
