package handlers_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's Chromium, which .ci/run installs.
const chromiumPath = "/usr/bin/chromium"

// newBrowser starts headless Chromium for one test. The flags keep Chromium from
// calling home: the closed network refuses those calls and Chromium retries them.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath
	if p := os.Getenv("CHROMIUM"); p != "" {
		path = p
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	// Start the browser on a context without a deadline (a deadline on the first
	// Run would stop the browser itself), then bound each test's steps.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium at %s: %v", path, err)
	}
	tctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancel)
	return tctx
}

func TestBrowserSignIn(t *testing.T) {
	e := newEnv(t)
	ctx := newBrowser(t)

	err := chromedp.Do(ctx,
		chromedp.Navigate(e.base+"/admin/"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)),
		chromedp.SendKeys(chromedp.CSS(`#email`), "owner@demo.test"),
		chromedp.SendKeys(chromedp.CSS(`#password`), demoPassword),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="dashboard"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	heading, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="dashboard"]`)))
	if err != nil || heading != "Demo Shop" {
		t.Fatalf("dashboard heading: %q, %v", heading, err)
	}
	who, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="signed-in-as"]`)))
	if err != nil || who != "Demo Owner · Owner" {
		t.Errorf("signed in as: %q, %v", who, err)
	}

	// htmx changes a user's role in place, sending the CSRF token from hx-headers.
	staff := findUser(t, e, "staff@demo.test")
	row := `#user-` + itoa(staff.ID)
	err = chromedp.Do(ctx,
		chromedp.Navigate(e.base+"/admin/settings/users"),
		chromedp.WaitVisible(chromedp.CSS(row)),
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
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	if loc != e.base+"/admin/settings/users" {
		t.Errorf("htmx should swap the row in place, but the page moved to %s", loc)
	}
}
