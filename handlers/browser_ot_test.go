package handlers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"orderdesk/model"
)

// signInBrowser signs in through the sign-in page.
func signInBrowser(t *testing.T, e *env, ctx context.Context, email string) {
	t.Helper()
	err := chromedp.Do(ctx,
		chromedp.Navigate(e.base+"/admin/login"),
		chromedp.SendKeys(chromedp.CSS(`#email`), email),
		chromedp.SendKeys(chromedp.CSS(`#password`), demoPassword),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="dashboard"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
}

// TestBrowserOTQuestion: an export asks about a changed price; the operator
// answers it on the order's page with a click, the card follows the export
// to its end by itself, and the answer is recorded with who gave it.
func TestBrowserOTQuestion(t *testing.T) {
	e := newEnv(t)
	bg := context.Background()
	op := e.otShop(t)
	o := e.paidOrderOf(t, e.demo, item{"TEA-SET6", 1})
	e.runJob(t, op, "orders-to-ot")
	e.followUntil(t, op, e.demo, o.ID, model.ActAwaiting)

	ctx := newBrowser(t)
	signInBrowser(t, e, ctx, "operator@demo.test")
	warning, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="todo-ot_questions"]`)))
	if !strings.Contains(warning, "1") || !strings.Contains(warning, "OT activity waiting for an answer") {
		t.Errorf("dashboard: %q", warning)
	}
	err := chromedp.Do(ctx,
		chromedp.Navigate(e.base+"/admin/orders/"+itoa(o.ID)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="ot-question"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	q, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="ot-question-text"]`)))
	if !strings.Contains(q, "price") {
		t.Errorf("question on the page: %q", q)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="ot-answer"][data-action="BuyAtNewPrice"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="ot-answered-by"]`)),
		// The card fetches itself again while the export runs, until it ends.
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="ot-activity"][data-state="finished"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	by, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="ot-answered-by"]`)))
	if by != "operator@demo.test" {
		t.Errorf("answered by on the page: %q", by)
	}
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	if loc != e.base+"/admin/orders/"+itoa(o.ID) {
		t.Errorf("htmx should swap the card in place, but the page moved to %s", loc)
	}
	a := e.activity(t, e.demo, o.ID)
	if a.State != model.ActFinished || len(a.Answers) != 1 || a.Answers[0].AnsweredBy != "staff:operator@demo.test" || a.Answers[0].ActionName != "Buy at the new price" {
		t.Errorf("recorded: %s %+v", a.State, a.Answers)
	}
	got, _ := e.store.FindOrderByID(bg, e.demo.ID, o.ID)
	if got.Lines[0].PurchaseID == "" {
		t.Errorf("the line after the export: %+v", got.Lines[0])
	}
}

// TestBrowserOTRenewal: the dashboard warns that OT's Taobao session ended;
// the operator renews it through OT's page and sees the new end.
func TestBrowserOTRenewal(t *testing.T) {
	e := newEnv(t)
	op := e.client(t, "")
	op.login("operator@demo.test", demoPassword)
	e.authoriseOT(t, op, "authorize")
	// Yesterday's session: over, at OT and here.
	if err := e.sandboxes.OTAPI.ExpireProviderSessions(); err != nil {
		t.Fatal(err)
	}
	past := e.store.Now().Add(-time.Hour)
	if _, err := e.store.DB.W.Exec(`UPDATE ot_provider_sessions SET expires_at = ?, status = 'needs_authorization'`, past); err != nil {
		t.Fatal(err)
	}

	ctx := newBrowser(t)
	signInBrowser(t, e, ctx, "operator@demo.test")
	warning, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="warn-ot-session"]`)))
	if !strings.Contains(warning, "needs authorization") {
		t.Errorf("dashboard warning: %q", warning)
	}
	err := chromedp.Do(ctx,
		chromedp.Navigate(e.base+"/admin/procurement/ot/sessions"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="ot-session-row"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	state, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="ot-session-state"]`)))
	if state != "needs authorization" {
		t.Errorf("state before renewal: %q", state)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="ot-session-renew"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="sandbox-authorize"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="sandbox-authorize"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="flash"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	flash, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="flash"]`)))
	state, _ = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="ot-session-state"]`)))
	countdown, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="ot-session-countdown"]`)))
	if !strings.Contains(flash, "is authorised at OT until") || state != "active" || !strings.HasPrefix(countdown, "in 2") {
		t.Errorf("after renewal: flash %q, state %q, countdown %q", flash, state, countdown)
	}
	sessions, _ := e.store.FindOTProviderSessions(context.Background(), e.demo.ID)
	if len(sessions) != 1 || sessions[0].Status != model.AccountActive || !sessions[0].ExpiresAt.After(e.store.Now().Add(20*time.Hour)) {
		t.Errorf("stored: %+v", sessions)
	}
}
