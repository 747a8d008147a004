package jobs_test

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"orderdesk/jobs"
	"orderdesk/model"
	"orderdesk/providers/taobao"
)

// buyWorld is a demo shop with a Taobao integration pointing at a sandbox on its
// own httptest server, and an account authorized through the sandbox's page.
type buyWorld struct {
	store *model.Store
	t     *model.Tenant
	sb    *taobao.Sandbox
	srv   *httptest.Server
	proc  *jobs.Procurement
	pay   *model.Integration
	acct  *model.TaobaoAccount
}

func newBuyWorld(t *testing.T) *buyWorld {
	t.Helper()
	model.PasswordCost = bcrypt.MinCost
	ctx := context.Background()
	w := &buyWorld{store: newStore(t)}
	if _, err := w.store.SeedDemo(ctx, "demo-password"); err != nil {
		t.Fatal(err)
	}
	w.t, _ = w.store.FindTenantBySlug(ctx, "demo")
	sdb, err := sql.Open("sqlite3", "file:"+filepath.Join(t.TempDir(), "sandbox.db")+"?_journal_mode=WAL&_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sdb.Close() })
	if w.sb, err = taobao.NewSandbox(sdb, taobao.SandboxConfig{AppKey: taobao.DemoAppKey, AppSecret: taobao.DemoAppSecret}); err != nil {
		t.Fatal(err)
	}
	w.srv = httptest.NewServer(w.sb)
	t.Cleanup(w.srv.Close)
	w.sb.SetBaseURL(w.srv.URL)
	tb, key, secret, ep := model.ProviderTaobao, taobao.DemoAppKey, taobao.DemoAppSecret, w.srv.URL+"/rest"
	in, err := w.store.CreateIntegration(ctx, w.t.ID, nil, model.IntegrationInput{Provider: &tb, Name: ptr("Taobao"), APIKey: &key, APISecret: &secret, TestEndpoint: &ep})
	if err != nil {
		t.Fatal(err)
	}
	tp, tk, tsec := model.ProviderTinkoff, "terminal", "password"
	if w.pay, err = w.store.CreateIntegration(ctx, w.t.ID, nil, model.IntegrationInput{Provider: &tp, Name: ptr("Card"), APIKey: &tk, APISecret: &tsec, TestEndpoint: &ep}); err != nil {
		t.Fatal(err)
	}
	w.acct = w.authorize(t, in.ID, taobao.DemoAccount1)
	w.proc = &jobs.Procurement{Store: w.store}
	return w
}

func ptr[T any](v T) *T { return &v }

// authorize goes through the sandbox's authorization page as an operator does.
func (w *buyWorld) authorize(t *testing.T, integrationID int64, account string) *model.TaobaoAccount {
	t.Helper()
	c := taobao.New(taobao.Config{BaseURL: w.srv.URL + "/rest", AppKey: taobao.DemoAppKey, AppSecret: taobao.DemoAppSecret, Now: w.store.Now})
	page, _ := url.Parse(c.AuthorizeURL("http://shop.test/oauth/taobao/callback", "s1"))
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noRedirect.PostForm(page.ResolveReference(&url.URL{Path: "authorize"}).String(), url.Values{
		"client_id": {page.Query().Get("client_id")}, "redirect_uri": {page.Query().Get("redirect_uri")},
		"state": {"s1"}, "account": {account}, "decision": {"authorize"}})
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
	a, err := w.store.SaveTaobaoAccount(context.Background(), w.t.ID, integrationID, model.AccountTokens{Account: tok.Account, AccountID: tok.AccountID,
		AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, AccessExpiresAt: tok.AccessExpiresAt, RefreshExpiresAt: tok.RefreshExpiresAt})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// paidOrder places an order of the products at these catalogue positions and
// marks it paid through a completed payment.
func (w *buyWorld) paidOrder(t *testing.T, skus ...string) *model.Order {
	t.Helper()
	ctx := context.Background()
	products, _ := w.store.FindProducts(ctx, w.t.ID)
	ships, _ := w.store.FindShippingMethods(ctx, w.t.ID)
	cart, _ := w.store.EnsureCart(ctx, w.t.ID, "", 0)
	for _, sku := range skus {
		for _, p := range products {
			if p.SKU == sku {
				if err := w.store.AddToCart(ctx, w.t.ID, cart, p.ID, 1); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	o, err := w.store.PlaceOrder(ctx, w.t, model.PlaceOrderInput{CartID: cart, ShippingMethodID: ships[0].ID, Address: model.Address{
		FirstName: "A", LastName: "B", Email: "b@example.com", Telephone: "1", Street1: "S", Country: "RU", City: "C", State: "S", Zip: "1"}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := w.store.NewPayment(ctx, w.t, o.ID, w.pay)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.store.ApplyPayment(ctx, w.t, p.ID, model.Observation{Stage: model.PaymentCompleted}, model.PaymentEvent{}); err != nil {
		t.Fatal(err)
	}
	return w.order(t, o.ID)
}

func (w *buyWorld) order(t *testing.T, id int64) *model.Order {
	o, err := w.store.FindOrderByID(context.Background(), w.t.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestPushPaySync(t *testing.T) {
	w := newBuyWorld(t)
	ctx := context.Background()
	o := w.paidOrder(t, "TS-WHITE-M", "LAMP-LED")
	run := &jobs.Run{}
	if err := w.proc.PushOrders(ctx, w.t, run, 0); err != nil {
		t.Fatal(err)
	}
	got := w.order(t, o.ID)
	if got.ProcurementStatus != model.ProcCreated || got.Lines[0].PurchaseID == "" {
		t.Fatalf("after push: %s %+v\n%s", got.ProcurementStatus, got.Lines, strings.Join(run.Messages, "\n"))
	}
	if !strings.Contains(run.Messages[0], "processed successfully") || !strings.Contains(run.Messages[0], "Purchase ID: "+got.Lines[0].PurchaseID) {
		t.Errorf("push line: %v", run.Messages)
	}
	m, _ := w.store.FindOrderMargin(ctx, w.t.ID, o.ID)
	if m.CostFen != 3900+6500 || m.CostMinor != model.CNYToMinor(3900+6500, 12_500_000) || m.Margin != got.Total-m.CostMinor {
		t.Errorf("cost and margin: %+v (total %d)", m, got.Total)
	}
	// The order's page sums the margin from the lines it read: the same.
	if v, err := w.store.FindOrderView(ctx, w.t.ID, o.ID); err != nil || v.Margin != m {
		t.Errorf("the order page's margin %+v (%v), the database's %+v", v.Margin, err, m)
	}
	// A second run pushes nothing new.
	if err := w.proc.PushOrders(ctx, w.t, &jobs.Run{}, 0); err != nil {
		t.Fatal(err)
	}

	run = &jobs.Run{}
	if err := w.proc.PayPurchases(ctx, w.t, run, 0); err != nil {
		t.Fatal(err)
	}
	if got := w.order(t, o.ID); got.ProcurementStatus != model.ProcPaid {
		t.Fatalf("after pay: %s\n%v", got.ProcurementStatus, run.Messages)
	}
	// Two suppliers, two purchases: the order is as far as its least advanced.
	if got.Lines[0].PurchaseID == got.Lines[1].PurchaseID {
		t.Errorf("one purchase for two suppliers")
	}
	ids := map[string]int64{}
	for _, l := range got.Lines {
		id, _ := strconv.ParseInt(l.PurchaseID, 10, 64)
		ids[l.PurchaseID] = id
	}
	pid := got.Lines[0].PurchaseID
	w.sb.Ship(ids[pid])
	w.proc.SyncStatuses(ctx, w.t, &jobs.Run{}, "", 0)
	if got := w.order(t, o.ID); got.ProcurementStatus != model.ProcPaid || got.Lines[0].ProcurementStatus != model.ProcShipped {
		t.Errorf("one of two shipped: order %s, line %s", got.ProcurementStatus, got.Lines[0].ProcurementStatus)
	}
	for p, id := range ids {
		if p != pid {
			w.sb.Ship(id)
		}
	}
	run = &jobs.Run{}
	if err := w.proc.SyncStatuses(ctx, w.t, run, "", 0); err != nil {
		t.Fatal(err)
	}
	got = w.order(t, o.ID)
	if got.ProcurementStatus != model.ProcShipped || got.Lines[0].SupplierTrack == "" {
		t.Fatalf("after ship + sync: %s %+v\n%v", got.ProcurementStatus, got.Lines, run.Messages)
	}
	for p, id := range ids {
		w.sb.Complete(id)
		w.proc.SyncStatuses(ctx, w.t, &jobs.Run{}, p, 0)
	}
	if got := w.order(t, o.ID); got.ProcurementStatus != model.ProcCompleted {
		t.Errorf("after complete: %s", got.ProcurementStatus)
	}
	if n, _ := w.sb.PurchaseCount(); n != 2 {
		t.Errorf("sandbox purchases: %d, want 2", n)
	}
}

func TestMissingSKUStopsTheOrder(t *testing.T) {
	w := newBuyWorld(t)
	o := w.paidOrder(t, "TS-WHITE-M", "SCARF-SILK")
	run := &jobs.Run{}
	w.proc.PushOrders(context.Background(), w.t, run, 0)
	got := w.order(t, o.ID)
	if got.ProcurementStatus != model.ProcPending || !strings.Contains(got.ProcurementError, "Product missing SKU: Silk scarf") {
		t.Fatalf("order: %s %q", got.ProcurementStatus, got.ProcurementError)
	}
	if n, _ := w.sb.PurchaseCount(); n != 0 {
		t.Errorf("something was sent for the order: %d purchases", n)
	}
	if run.Failed != 1 || !strings.Contains(run.Messages[0], "nothing was sent") {
		t.Errorf("run: %+v", run)
	}
}

func TestInsufficientBalanceKeepsTheStatus(t *testing.T) {
	w := newBuyWorld(t)
	ctx := context.Background()
	o := w.paidOrder(t, "TEA-SET6")
	w.proc.PushOrders(ctx, w.t, &jobs.Run{}, 0)
	w.sb.SetBalance(taobao.DemoAccount1, 100)
	run := &jobs.Run{}
	w.proc.PayPurchases(ctx, w.t, run, 0)
	got := w.order(t, o.ID)
	if got.ProcurementStatus != model.ProcCreated || !strings.Contains(got.ProcurementError, "INSUFFICIENT_BALANCE_FOR_PAYMENT") ||
		!strings.Contains(strings.ToLower(got.ProcurementError), "balance") {
		t.Fatalf("order: %s %q", got.ProcurementStatus, got.ProcurementError)
	}
	if run.Failed != 1 || !strings.Contains(run.Messages[0], "Payment failed: INSUFFICIENT_BALANCE_FOR_PAYMENT") {
		t.Errorf("run: %v", run.Messages)
	}
	c, _ := w.store.CountProcurement(ctx, w.t.ID, taobao.CodeInsufficientBalance)
	if c.WaitingForBalance != 1 {
		t.Errorf("waiting for balance: %d", c.WaitingForBalance)
	}
	// Topped up: the next run pays it.
	w.sb.SetBalance(taobao.DemoAccount1, taobao.DemoBalanceFen)
	w.proc.PayPurchases(ctx, w.t, &jobs.Run{}, 0)
	if got := w.order(t, o.ID); got.ProcurementStatus != model.ProcPaid || got.ProcurementError != "" {
		t.Errorf("after top-up: %s %q", got.ProcurementStatus, got.ProcurementError)
	}
}

func TestExpiredTokens(t *testing.T) {
	w := newBuyWorld(t)
	ctx := context.Background()

	// The access token expired: refreshed and the call retried.
	w.sb.ExpireAccessToken(taobao.DemoAccount1)
	o := w.paidOrder(t, "BAG-TOTE")
	run := &jobs.Run{}
	if err := w.proc.PushOrders(ctx, w.t, run, 0); err != nil {
		t.Fatal(err)
	}
	if got := w.order(t, o.ID); got.ProcurementStatus != model.ProcCreated {
		t.Fatalf("with an expired access token: %s\n%v", got.ProcurementStatus, run.Messages)
	}

	// Both expired: the account needs authorization and the job skips it.
	w.sb.ExpireTokens(taobao.DemoAccount1)
	o2 := w.paidOrder(t, "BAG-TOTE")
	run = &jobs.Run{}
	err := w.proc.PushOrders(ctx, w.t, run, 0)
	if !errors.Is(err, jobs.ErrNoAccount) {
		t.Fatalf("push with dead tokens: %v\n%v", err, run.Messages)
	}
	if got := w.order(t, o2.ID); got.ProcurementStatus != model.ProcPending {
		t.Errorf("order pushed without a session: %s", got.ProcurementStatus)
	}
	a, _ := w.store.FindTaobaoAccount(ctx, w.t.ID, w.acct.ID)
	if a.Status != model.AccountNeedsAuthorization {
		t.Errorf("account status %s", a.Status)
	}
	run = &jobs.Run{}
	if err := w.proc.PushOrders(ctx, w.t, run, 0); !errors.Is(err, jobs.ErrNoAccount) || !strings.Contains(strings.Join(run.Messages, " "), "needs authorization") {
		t.Errorf("second run: %v %v", err, run.Messages)
	}
}

func TestAnotherShopCannotTouchTheAccountOrTheOrders(t *testing.T) {
	w := newBuyWorld(t)
	ctx := context.Background()
	tr, err := w.store.FindTenantBySlug(ctx, model.DemoTurkishSlug)
	if err != nil {
		t.Fatal(err)
	}
	// The account's methods take the shop: with another shop's id they change nothing.
	if err := w.store.MarkAccountNeedsAuthorization(ctx, tr.ID, w.acct.ID, "forged"); err != nil {
		t.Fatal(err)
	}
	if err := w.store.UpdateAccessToken(ctx, tr.ID, w.acct.ID, model.AccountTokens{AccessToken: "forged", RefreshToken: "forged"}); err != nil {
		t.Fatal(err)
	}
	a, _ := w.store.FindTaobaoAccount(ctx, w.t.ID, w.acct.ID)
	if a.Status != model.AccountActive || a.LastError != "" {
		t.Errorf("another shop marked demo's account: %s %q", a.Status, a.LastError)
	}
	if tok, _ := w.store.OpenAccountTokens(ctx, a); tok.AccessToken == "forged" {
		t.Error("another shop replaced demo's tokens")
	}
	forged := *a
	forged.TenantID = tr.ID
	if _, err := w.store.OpenAccountTokens(ctx, &forged); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("demo's tokens opened as demo-tr's: %v", err)
	}
	// demo-tr's push of a demo order is refused; demo-tr's sweep buys nothing of demo's.
	o := w.paidOrder(t, "BAG-TOTE")
	if err := w.proc.PushOrders(ctx, tr, &jobs.Run{}, o.ID); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("demo-tr pushed demo's order: %v", err)
	}
	if err := w.proc.PushOrders(ctx, tr, &jobs.Run{}, 0); err != nil {
		t.Errorf("demo-tr's sweep: %v", err)
	}
	if got := w.order(t, o.ID); got.ProcurementStatus != model.ProcPending {
		t.Errorf("demo's order after demo-tr's runs: %s", got.ProcurementStatus)
	}
}
