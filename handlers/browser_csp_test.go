package handlers_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserContentSecurityPolicy: with the policy on, a signed-in page loads
// htmx from /static/, htmx actions work, and Chromium reports no violation.
func TestBrowserContentSecurityPolicy(t *testing.T) {
	e := newEnv(t)
	ctx := newBrowser(t)

	// Chromium reports a refused inline script or style on the console (its log).
	var mu sync.Mutex
	var violations []string
	listen, stop := context.WithCancel(ctx)
	defer stop()
	messages := chromedp.Console(listen)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if strings.Contains(m.Text, "Content Security Policy") {
				mu.Lock()
				violations = append(violations, m.Text)
				mu.Unlock()
			}
		}
	}()
	seen := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), violations...)
	}

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
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof htmx === 'object' && htmx.config.includeIndicatorStyles === false && htmx.config.allowEval === false`))
	if err != nil || !loaded {
		t.Fatalf("htmx is not loaded with the page's htmx-config: %v", err)
	}

	// An htmx action: a user's role changes in place (the CSRF token from hx-headers).
	staff := findUser(t, e, "staff@demo.test")
	row := `#user-` + itoa(staff.ID)
	err = chromedp.Do(ctx,
		chromedp.Navigate(e.base+"/admin/settings/users"),
		chromedp.WaitVisible(chromedp.CSS(row)),
		chromedp.Evaluate[chromedp.Void](`window.__same_page = true`),
		chromedp.SetValue(chromedp.CSS(row+` select`), "operator"),
		chromedp.Click(chromedp.CSS(row+` button`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for findUser(t, e, "staff@demo.test").Role != "operator" {
		if time.Now().After(deadline) {
			t.Fatal("the role change through htmx never reached the database")
		}
		time.Sleep(50 * time.Millisecond)
	}
	waitFor(t, ctx, "the row is swapped in place", `window.__same_page === true && document.querySelector('`+row+` select').value === 'operator'`)

	// The procurement filter, an inline onchange before, is htmx now.
	err = chromedp.Do(ctx,
		chromedp.Navigate(e.base+"/admin/procurement"),
		chromedp.WaitVisible(chromedp.CSS(`#stage`)),
		chromedp.Evaluate[chromedp.Void](`window.__same_page = true`),
		chromedp.SetValue(chromedp.CSS(`#stage`), "created"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#stage').dispatchEvent(new Event('change', {bubbles: true}))`),
	)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the procurement list follows its filter in place", `window.__same_page === true && location.search.includes('status=created') && document.querySelector('#stage').value === 'created'`)

	time.Sleep(300 * time.Millisecond) // the console's last messages
	if v := seen(); len(v) > 0 {
		t.Errorf("Chromium reported Content-Security-Policy violations:\n%s", strings.Join(v, "\n"))
	}

	// The listener does hear violations: an inline style, refused.
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`document.body.insertAdjacentHTML('beforeend', '<p style="color: red">x</p>')`)); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(5 * time.Second)
	for len(seen()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("an inline style raised no violation that the test could hear: the check above proves nothing")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
