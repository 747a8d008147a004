package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"orderdesk/model"
)

// connectAccount goes through the OAuth redirect as an operator: our page, the
// sandbox's authorization page (decision), and back to our callback.
func (e *env) connectAccount(t *testing.T, c *client, decision string) (*http.Response, string) {
	t.Helper()
	in, err := e.store.UsableIntegration(context.Background(), e.demo.ID, model.ProviderTaobao)
	if err != nil {
		t.Fatal(err)
	}
	res, _ := c.postForm("/admin/procurement/accounts/connect?integration="+itoa(in.ID), nil)
	wantStatus(t, res, http.StatusSeeOther)
	authURL := res.Header.Get("Location")
	if !strings.Contains(authURL, "/sandbox/taobao/oauth/authorize") || !strings.Contains(authURL, "state=") {
		t.Fatalf("not sent to the provider's authorization page: %s", authURL)
	}
	last, body := e.browse(t, c, authURL, "sandbox-"+decision)
	return &http.Response{Request: &http.Request{URL: mustURL(last)}}, body
}

func mustURL(s string) *url.URL { u, _ := url.Parse(s); return u }

func TestTaobaoAuthorization(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	op := e.client(t, "")
	op.login("operator@demo.test", demoPassword)

	t.Run("connect: the provider's page, back with a code, tokens stored sealed", func(t *testing.T) {
		res, body := e.connectAccount(t, op, "authorize")
		if !strings.Contains(res.Request.URL.Path, "/admin/procurement/accounts") || !strings.Contains(body, "is connected until") {
			t.Fatalf("after authorizing: %s\n%s", res.Request.URL, body)
		}
		accounts, _ := e.store.FindTaobaoAccounts(ctx, e.demo.ID)
		if len(accounts) != 1 || accounts[0].Status != model.AccountActive || !accounts[0].RefreshExpiresAt.After(e.store.Now()) {
			t.Fatalf("accounts: %+v", accounts)
		}
		tok, _ := e.store.OpenAccountTokens(ctx, accounts[0])
		var raw int
		e.store.DB.R.QueryRow(`SELECT count(*) FROM taobao_accounts WHERE access_token_enc LIKE '%' || ? || '%'`, tok.AccessToken).Scan(&raw)
		if raw != 0 {
			t.Error("the access token is stored in clear")
		}
		_, doc := op.get("/admin/procurement/accounts")
		if doc.Find(`[data-testid="account-row"]`).Length() != 1 || !strings.Contains(doc.Find(`[data-testid="account-countdown"]`).Text(), "in ") {
			t.Errorf("accounts page: %s", doc.Find(`[data-testid="accounts"]`).Text())
		}
	})

	t.Run("a refusal on the provider's page is shown in words and stores nothing", func(t *testing.T) {
		before, _ := e.store.FindTaobaoAccounts(ctx, e.demo.ID)
		_, body := e.connectAccount(t, op, "refuse")
		if !strings.Contains(body, "refused") || !strings.Contains(body, "Nothing was stored") {
			t.Errorf("refusal page: %s", body)
		}
		after, _ := e.store.FindTaobaoAccounts(ctx, e.demo.ID)
		if len(after) != len(before) || !after[0].UpdatedAt.Equal(before[0].UpdatedAt) {
			t.Error("a refused authorization changed the accounts")
		}
	})

	t.Run("a forged or replayed state is refused", func(t *testing.T) {
		res, _ := op.get("/oauth/taobao/callback?code=whatever&state=forged-state")
		wantStatus(t, res, http.StatusSeeOther)
		if res.Header.Get("Location") != "/admin/procurement/accounts" {
			t.Errorf("forged state went to %s", res.Header.Get("Location"))
		}
		_, doc := op.get(res.Header.Get("Location"))
		if f := doc.Find(`[data-testid="flash"][data-kind="error"][role="alert"]`); !strings.Contains(f.Text(), "invalid, used or expired") {
			t.Errorf("forged state message: %q", f.Text())
		}
		// A state is good once, and only for the operator who started it.
		in, _ := e.store.UsableIntegration(ctx, e.demo.ID, model.ProviderTaobao)
		other := findUser(t, e, "owner@demo.test")
		state, _ := e.store.CreateOAuthState(ctx, e.demo.ID, in.ID, other.ID)
		res, _ = op.get("/oauth/taobao/callback?code=x&state=" + state)
		if _, doc := op.get(res.Header.Get("Location")); !strings.Contains(doc.Find(`[data-testid="flash"][data-kind="error"]`).Text(), "Nothing was stored") {
			t.Error("another operator's state was accepted")
		}
	})

	t.Run("staff cannot manage accounts", func(t *testing.T) {
		s := e.client(t, "")
		s.login("staff@demo.test", demoPassword)
		res, _ := s.get("/admin/procurement/accounts")
		wantStatus(t, res, http.StatusForbidden)
	})
}

func TestProcurementDeskAndJobs(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	op := e.client(t, "")
	op.login("operator@demo.test", demoPassword)
	e.connectAccount(t, op, "authorize")

	// A paid order: the T-Bank flow of the payments tests.
	shopper := e.client(t, "")
	o := e.placeOrder(t, shopper)
	pageURL, _ := e.startPayment(t, shopper, o, "tinkoff")
	e.browse(t, shopper, pageURL, "sandbox-pay")

	res, doc := op.get("/admin/procurement")
	wantStatus(t, res, http.StatusOK)
	if doc.Find(`#proc-`+itoa(o.ID)).Length() != 1 {
		t.Fatalf("the paid order is not on the desk: %s", doc.Find(`[data-testid="procurement-orders"]`).Text())
	}
	form := url.Values{"_csrf": {op.csrf()}}
	res, body := op.do("POST", "/admin/procurement/orders/"+itoa(o.ID)+"/push", strings.NewReader(form.Encode()),
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Hx-Request": {"true"}})
	wantStatus(t, res, http.StatusOK)
	if !strings.Contains(body, "processed successfully") || strings.Contains(body, "<html") {
		t.Fatalf("push now: %s", body)
	}
	if got := e.order(t, o.ID); got.ProcurementStatus != model.ProcCreated {
		t.Fatalf("after push now: %s", got.ProcurementStatus)
	}
	// The order page shows cost, revenue and margin.
	_, doc = op.get("/admin/orders/" + itoa(o.ID))
	if !strings.Contains(doc.Find(`[data-testid="margin"]`).Text(), "Margin") {
		t.Errorf("no margin on the order page: %q", doc.Find(`[data-testid="margin"]`).Text())
	}

	// The jobs page: run the pay job now, see its run.
	res, _ = op.postForm("/admin/jobs/pay-purchases/run", nil)
	wantStatus(t, res, http.StatusSeeOther)
	_, doc = op.get("/admin/jobs")
	job := doc.Find(`[data-job="pay-purchases"]`)
	if !strings.Contains(job.Find(`[data-testid="job-run-row"]`).First().Text(), "Payment successful") {
		t.Errorf("pay job run: %s", job.Text())
	}
	if got := e.order(t, o.ID); got.ProcurementStatus != model.ProcPaid {
		t.Errorf("after the pay job: %s", got.ProcurementStatus)
	}
	res, _ = op.postForm("/admin/jobs/pay-purchases/pause", url.Values{"paused": {"1"}})
	wantStatus(t, res, http.StatusSeeOther)
	if paused, _ := e.store.JobPaused(ctx, e.demo.ID, "pay-purchases"); !paused {
		t.Error("pause did not pause")
	}

	// A push from Taobao (signed) makes OrderDesk fetch the purchase's status.
	p, _ := e.store.FindPurchases(ctx, e.demo.ID, model.PurchaseFilter{OrderID: o.ID})
	if len(p) == 0 {
		t.Fatal("no purchase")
	}
	in, _ := e.store.UsableIntegration(ctx, e.demo.ID, model.ProviderTaobao)
	e.sandboxes.Taobao.SetPushURL(e.srv.URL + "/webhooks/taobao/" + itoa(in.ID))
	var pid int64
	for _, ch := range p[0].PurchaseID {
		pid = pid*10 + int64(ch-'0')
	}
	if err := e.sandboxes.Taobao.Ship(pid); err != nil {
		t.Fatal(err)
	}
	if got := e.order(t, o.ID); got.ProcurementStatus != model.ProcShipped || got.Lines[0].SupplierTrack == "" {
		t.Errorf("after the push: %s %q", got.ProcurementStatus, got.Lines[0].SupplierTrack)
	}
	// A push with a bad signature is refused.
	res2, err := http.Post(e.srv.URL+"/webhooks/taobao/"+itoa(in.ID), "application/json", strings.NewReader(`{"message_type":3,"data":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	res2.Body.Close()
	if res2.StatusCode != http.StatusForbidden {
		t.Errorf("unsigned push answered %d", res2.StatusCode)
	}

	// The dashboard warns about a session that ends soon, and what waits on it.
	e.store.DB.W.Exec(`UPDATE taobao_accounts SET refresh_expires_at = ?`, e.store.Now().Add(2*3600e9))
	_, doc = op.get("/admin/")
	if w := doc.Find(`[data-testid="warn-account"]`).Text(); !strings.Contains(w, "demo-buyer") {
		t.Errorf("dashboard warning: %q", w)
	}
}
