package handlers_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"orderdesk/model"
	"orderdesk/providers/tinkoff"
)

// TestBrowserGoLiveRefused: an owner asks to take an integration live with a
// production password the bank refuses; the confirmation comes back in place
// with the test's words, and the integration stays in test mode.
func TestBrowserGoLiveRefused(t *testing.T) {
	// The live bank of this test is one of its own on loopback (the sandbox
	// is never a live endpoint), as the test's egress policy allows.
	banks := startLiveBanks(t)
	e := newEnvAllowing(t, banks.allowed())
	bg := context.Background()
	sandbox, live := e.srv.URL+"/sandbox/tinkoff/v2", banks.tinkoff+"/v2"
	p, name, key, secret, st := model.ProviderTinkoff, "T-Bank (going live)", tinkoff.DemoTerminalKey, tinkoff.DemoPassword, model.IntegrationTest
	in, err := e.store.CreateIntegration(bg, e.demo.ID, nil, model.IntegrationInput{Provider: &p, Name: &name, Status: &st,
		APIKey: &key, APISecret: &secret, TestEndpoint: &sandbox, APIEndpoint: &live})
	if err != nil {
		t.Fatal(err)
	}
	row := `#integration-` + itoa(in.ID)

	ctx := newBrowser(t)
	err = chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/admin/login"),
		chromedp.SendKeys(chromedp.CSS(`#email`), "owner@demo.test"),
		chromedp.SendKeys(chromedp.CSS(`#password`), demoPassword),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="dashboard"]`)),
		chromedp.Navigate(e.srv.URL+"/admin/integrations"),
		chromedp.WaitVisible(chromedp.CSS(row)),
		chromedp.Evaluate[chromedp.Void](`window.__same_page = true`),
	)
	if err != nil {
		t.Fatal(err)
	}
	waitProcessed(t, ctx, row+` [data-testid="integration-go-live"]`)
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(row+` [data-testid="integration-go-live"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="confirm-what-changes"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	waitProcessed(t, ctx, `[data-testid="integration-confirm"] form`)
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`#live-key-`+itoa(in.ID)), liveTinkoffKey),
		chromedp.SendKeys(chromedp.CSS(`#live-secret-`+itoa(in.ID)), "wrong-production-password"),
		chromedp.Click(chromedp.CSS(`[data-testid="confirm-live"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="live-refused"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	refusal, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="live-refused"]`)))
	if !strings.Contains(refusal, "Not live") || !strings.Contains(strings.ToLower(refusal), "terminal") {
		t.Errorf("the refusal says %q", refusal)
	}
	if same, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__same_page === true`)); !same {
		t.Error("the refusal reloaded the page instead of swapping the row")
	}
	got, _ := e.store.FindIntegrationByID(bg, e.demo.ID, in.ID)
	sec, _ := e.store.OpenIntegrationSecrets(bg, e.demo.ID, in.ID)
	if got.Status != model.IntegrationTest || sec.APISecret != tinkoff.DemoPassword {
		t.Errorf("after the refusal: %s, secret kept: %v", got.Status, sec.APISecret == tinkoff.DemoPassword)
	}
	// Back on the list, the row still says Test.
	err = chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/admin/integrations"),
		chromedp.WaitVisible(chromedp.CSS(row)),
	)
	if err != nil {
		t.Fatal(err)
	}
	status, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(row+` [data-testid="integration-status"]`)))
	if status == "Live" {
		t.Errorf("the row says %q after the refusal", status)
	}
}
