package main

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"orderdesk/jobs"
	"orderdesk/model"
	"orderdesk/providers/taobao"
)

// TestCrashBetweenAnswerAndCommit kills a real process after Taobao answered a
// purchase create and before OrderDesk recorded it, then runs the CLI again: the
// second run must find the purchase by our outer id, not buy a second time.
func TestCrashBetweenAnswerAndCommit(t *testing.T) {
	model.PasswordCost = bcrypt.MinCost
	ctx := context.Background()
	data := t.TempDir()

	// The outside world (the Taobao sandbox) outlives our process.
	sdb, err := sql.Open("sqlite3", "file:"+filepath.Join(t.TempDir(), "sandbox.db")+"?_journal_mode=WAL&_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	sb, err := taobao.NewSandbox(sdb, taobao.SandboxConfig{AppKey: taobao.DemoAppKey, AppSecret: taobao.DemoAppSecret})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sb)
	defer srv.Close()
	sb.SetBaseURL(srv.URL)

	store, _, err := openStore(ctx, config{Data: data})
	if err != nil {
		t.Fatal(err)
	}
	store.SeedDemo(ctx, "demo-password")
	demo, _ := store.FindTenantBySlug(ctx, "demo")
	tb, key, secret, ep := model.ProviderTaobao, taobao.DemoAppKey, taobao.DemoAppSecret, srv.URL+"/rest"
	name := "Taobao"
	in, err := store.CreateIntegration(ctx, demo.ID, nil, model.IntegrationInput{Provider: &tb, Name: &name, APIKey: &key, APISecret: &secret, TestEndpoint: &ep})
	if err != nil {
		t.Fatal(err)
	}
	authorizeSandbox(t, store, demo, in.ID, srv.URL)
	orderID := paidDemoOrder(t, store, demo, "TEA-SET6")
	store.DB.Close()

	child := exec.Command(os.Args[0], "-test.run=^TestCrashChild$")
	child.Env = append(os.Environ(), "ORDERDESK_CRASH_CHILD=1", "ORDERDESK_DATA="+data)
	out, err := child.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 137 {
		t.Fatalf("the child did not die where it should: %v\n%s", err, out)
	}
	if n, _ := sb.PurchaseCount(); n != 1 {
		t.Fatalf("purchases at Taobao after the crash: %d, want 1", n)
	}

	// The sandbox plays Taobao on a loopback address of its own, as a provider
	// on the instance's own network would be: the operator allows it.
	text, err := runCLI(t, "sync", "orders-to-taobao", "--data", data, "--allow-private-endpoints")
	if err != nil {
		t.Fatalf("rerun: %v\n%s", err, text)
	}
	if !strings.Contains(text, "found at Taobao after an interrupted run") {
		t.Errorf("rerun output:\n%s", text)
	}
	if n, _ := sb.PurchaseCount(); n != 1 {
		t.Errorf("purchases at Taobao after the rerun: %d, want 1 (no duplicate)", n)
	}
	store, _, _ = openStore(ctx, config{Data: data})
	defer store.DB.Close()
	o, _ := store.FindOrderByID(ctx, demo.ID, orderID)
	if o.ProcurementStatus != model.ProcCreated || o.Lines[0].PurchaseID == "" {
		t.Errorf("order after the rerun: %s %+v", o.ProcurementStatus, o.Lines)
	}

	// And the CLI pays it, a line per purchase; with no usable account it fails.
	text, err = runCLI(t, "sync", "pay", "--data", data, "--allow-private-endpoints")
	if err != nil || !strings.Contains(text, "✓ Payment successful") {
		t.Errorf("sync pay: %v\n%s", err, text)
	}
	sb.ExpireTokens(taobao.DemoAccount1)
	paidDemoOrder(t, store, demo, "BAG-TOTE")
	text, err = runCLI(t, "sync", "orders-to-taobao", "--data", data, "--allow-private-endpoints")
	if err == nil || !strings.Contains(err.Error(), "no usable Taobao account") {
		t.Errorf("sync without a session: %v\n%s", err, text)
	}
}

// TestCrashChild is the process TestCrashBetweenAnswerAndCommit kills; it does
// nothing unless started by it.
func TestCrashChild(t *testing.T) {
	if os.Getenv("ORDERDESK_CRASH_CHILD") != "1" {
		return
	}
	store, _, err := openStore(context.Background(), config{Data: os.Getenv("ORDERDESK_DATA")})
	if err != nil {
		t.Fatal(err)
	}
	demo, err := store.FindTenantBySlug(context.Background(), model.DemoTenantSlug)
	if err != nil {
		t.Fatal(err)
	}
	proc := &jobs.Procurement{Store: store, AfterCreate: func(*model.PurchaseClaim) { os.Exit(137) }}
	proc.PushOrders(context.Background(), demo, &jobs.Run{}, 0)
	t.Fatal("the child survived the create")
}

func authorizeSandbox(t *testing.T, store *model.Store, tn *model.Tenant, integrationID int64, base string) {
	t.Helper()
	c := taobao.New(taobao.Config{BaseURL: base + "/rest", AppKey: taobao.DemoAppKey, AppSecret: taobao.DemoAppSecret})
	page, _ := url.Parse(c.AuthorizeURL("http://shop.test/oauth/taobao/callback", "s"))
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noRedirect.PostForm(page.ResolveReference(&url.URL{Path: "authorize"}).String(), url.Values{
		"client_id": {page.Query().Get("client_id")}, "redirect_uri": {page.Query().Get("redirect_uri")},
		"state": {"s"}, "account": {taobao.DemoAccount1}, "decision": {"authorize"}})
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	back, _ := url.Parse(res.Header.Get("Location"))
	tok, err := c.CreateToken(context.Background(), back.Query().Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.SaveTaobaoAccount(context.Background(), tn.ID, integrationID, model.AccountTokens{Account: tok.Account, AccountID: tok.AccountID,
		AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, AccessExpiresAt: tok.AccessExpiresAt, RefreshExpiresAt: tok.RefreshExpiresAt}); err != nil {
		t.Fatal(err)
	}
}

// paidDemoOrder orders one product of the demo catalogue and records it paid.
func paidDemoOrder(t *testing.T, store *model.Store, tn *model.Tenant, sku string) int64 {
	t.Helper()
	ctx := context.Background()
	products, _ := store.FindProducts(ctx, tn.ID)
	ships, _ := store.FindShippingMethods(ctx, tn.ID)
	cart, _ := store.EnsureCart(ctx, tn.ID, "", 0)
	for _, p := range products {
		if p.SKU == sku {
			store.AddToCart(ctx, tn.ID, cart, p.ID, 1)
		}
	}
	o, err := store.PlaceOrder(ctx, tn, model.PlaceOrderInput{CartID: cart, ShippingMethodID: ships[0].ID, Address: model.Address{
		FirstName: "A", LastName: "B", Email: "b@example.com", Telephone: "1", Street1: "S", Country: "RU", City: "C", State: "S", Zip: "1"}})
	if err != nil {
		t.Fatal(err)
	}
	pt, name, k, s, ep := model.ProviderTinkoff, "Card", "k", "s", "http://127.0.0.1:1/v2"
	pay, err := store.UsableIntegration(ctx, tn.ID, pt)
	if err != nil {
		if pay, err = store.CreateIntegration(ctx, tn.ID, nil, model.IntegrationInput{Provider: &pt, Name: &name, APIKey: &k, APISecret: &s, TestEndpoint: &ep}); err != nil {
			t.Fatal(err)
		}
	}
	p, err := store.NewPayment(ctx, tn, o.ID, pay)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.ApplyPayment(ctx, tn, p.ID, model.Observation{Stage: model.PaymentCompleted}, model.PaymentEvent{}); err != nil {
		t.Fatal(err)
	}
	return o.ID
}
