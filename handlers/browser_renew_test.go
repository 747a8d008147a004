package handlers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"orderdesk/model"
)

// TestBrowserRenewAccount: an operator renews a Taobao account whose session has
// ended, through the provider's authorization page, and sees the new expiry.
func TestBrowserRenewAccount(t *testing.T) {
	e := newEnv(t)
	op := e.client(t, "")
	op.login("operator@demo.test", demoPassword)
	e.connectAccount(t, op, "authorize")
	// Yesterday's session: over.
	past := e.store.Now().Add(-time.Hour)
	e.store.DB.W.Exec(`UPDATE taobao_accounts SET access_expires_at = ?, refresh_expires_at = ?, status = 'needs_authorization'`, past, past)

	ctx := newBrowser(t)
	err := chromedp.Do(ctx,
		chromedp.Navigate(e.base+"/admin/login"),
		chromedp.SendKeys(chromedp.CSS(`#email`), "operator@demo.test"),
		chromedp.SendKeys(chromedp.CSS(`#password`), demoPassword),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="dashboard"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	warning, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="warn-account"]`)))
	// An ended session needs authorization: no count-down, no "ago".
	if !strings.Contains(warning, "needs authorization") || strings.Contains(warning, " ago") {
		t.Errorf("dashboard warning: %q", warning)
	}
	err = chromedp.Do(ctx,
		chromedp.Navigate(e.base+"/admin/procurement/accounts"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="account-row"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	state, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="account-state"]`)))
	before, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="account-expires"]`)))
	if state != "needs authorization" {
		t.Errorf("state before renewal: %q", state)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="account-renew"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="sandbox-authorize"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="sandbox-authorize"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="flash"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="account-expires"]`)))
	state, _ = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="account-state"]`)))
	countdown, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="account-countdown"]`)))
	if after == before || state != "active" || !strings.HasPrefix(countdown, "in ") {
		t.Errorf("after renewal: expires %q (was %q), state %q, countdown %q", after, before, state, countdown)
	}
	accounts, _ := e.store.FindTaobaoAccounts(context.Background(), e.demo.ID)
	if len(accounts) != 1 || accounts[0].Status != model.AccountActive || !accounts[0].RefreshExpiresAt.After(e.store.Now().Add(20*time.Hour)) {
		t.Errorf("stored account: %+v", accounts)
	}
}
