package taobao

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
)

// fakeClock is the shared clock of sandbox and client in tests, so token
// lifetimes can be crossed without sleeping.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	sb     *Sandbox
	srv    *httptest.Server
	client *Client
	clock  *fakeClock
	db     *sql.DB
	path   string
	calls  atomic.Int64 // gateway calls seen
}

const mount = "/sandbox/taobao"

func openDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// newEnv starts a sandbox mounted under /sandbox/taobao (prefix stripped, as
// the app does) and a real client pointed at it.
func newEnv(t *testing.T, cfg SandboxConfig) *env {
	t.Helper()
	e := &env{clock: &fakeClock{t: time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)}}
	e.path = filepath.Join(t.TempDir(), "sandbox.db")
	e.db = openDB(t, e.path)
	cfg.Now = e.clock.Now
	sb, err := NewSandbox(e.db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.sb = sb
	mux := http.NewServeMux()
	mux.Handle(mount+"/", http.StripPrefix(mount, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/rest/") {
			e.calls.Add(1)
		}
		sb.ServeHTTP(w, r)
	})))
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	sb.SetBaseURL(e.srv.URL + mount)
	cc := sb.ClientConfig()
	cc.Now = e.clock.Now
	e.client = New(cc)
	return e
}

// noRedirect is an HTTP client that shows redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// authorize drives the authorization page like a browser would: GET the page,
// then POST its form with the chosen decision. It returns the redirect URL.
func (e *env) authorize(t *testing.T, account, decision string) *url.URL {
	t.Helper()
	pageURL := e.client.AuthorizeURL("https://shop.example/admin/procurement/accounts/callback", "state-42")
	resp, err := http.Get(pageURL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("authorize page status = %d: %s", resp.StatusCode, page)
	}
	for _, want := range []string{`data-testid="sandbox-authorize"`, `data-testid="sandbox-refuse"`, `action="authorize"`, DemoAccount1, DemoAccount2, DemoAppName} {
		if !bytes.Contains(page, []byte(want)) {
			t.Fatalf("authorize page lacks %s", want)
		}
	}
	base, _ := url.Parse(pageURL)
	action := base.ResolveReference(&url.URL{Path: "authorize"})
	form := url.Values{
		"client_id":    {base.Query().Get("client_id")},
		"redirect_uri": {base.Query().Get("redirect_uri")},
		"state":        {base.Query().Get("state")},
		"account":      {account},
		"decision":     {decision},
	}
	resp, err = noRedirect.PostForm(action.String(), form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("decision status = %d, want 302", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got := loc.Query().Get("state"); got != "state-42" {
		t.Errorf("state = %q, want state-42", got)
	}
	return loc
}

// login authorizes account and exchanges the code for tokens.
func (e *env) login(t *testing.T, account string) *Token {
	t.Helper()
	loc := e.authorize(t, account, "authorize")
	tok, err := e.client.CreateToken(context.Background(), loc.Query().Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func demoRequest(outer string, items ...DemoItem) PurchaseOrderRequest {
	req := PurchaseOrderRequest{
		OuterPurchaseID: outer,
		Receiver:        Address{Name: "Warehouse Guangzhou", MobilePhone: "15626113000", Country: "CN", State: "广东", City: "广州市", District: "白云区", Address: "夏花二路961号", Zip: "510000"},
		Warehouse:       &Address{Name: "Warehouse Guangzhou", MobilePhone: "15626113000", Country: "CN", State: "广东", City: "广州市", Address: "夏花二路961号"},
		OrderRemark:     "order " + outer,
	}
	for _, it := range items {
		req.Lines = append(req.Lines, OrderLine{ItemID: it.ItemID, SKUID: it.SKUID, Quantity: 2, PriceFen: it.PriceFen, Title: it.Title})
	}
	return req
}

// pushReceiver is the app's side of pushes: it verifies each one with the
// package's own functions and records it.
type pushReceiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	msgs   []*PushMessage
	failN  int // answer 500 to the next failN deliveries
	badSig int
}

func newPushReceiver(t *testing.T) *pushReceiver {
	p := &pushReceiver{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.failN > 0 {
			p.failN--
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		if err := VerifyPush(DemoAppKey, DemoAppSecret, body, r.Header.Get("Authorization")); err != nil {
			p.badSig++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		m, err := ParsePush(body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		p.msgs = append(p.msgs, m)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *pushReceiver) statuses(id int64) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, m := range p.msgs {
		if m.PurchaseID == id {
			out = append(out, m.Status)
		}
	}
	return out
}

func mustQuery(t *testing.T, e *env, tok string, q PurchaseQuery) *PurchaseQueryResult {
	t.Helper()
	res, err := e.client.QueryPurchaseOrders(context.Background(), tok, q)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestOAuthFlowThroughTheAuthorizationPage(t *testing.T) {
	e := newEnv(t, SandboxConfig{})
	tok := e.login(t, DemoAccount2)
	if tok.Account != DemoAccount2 || tok.AccessToken == "" || tok.RefreshToken == "" || tok.AccountID == "" {
		t.Fatalf("token = %+v", tok)
	}
	if tok.ExpiresIn != 86400 || tok.RefreshExpiresIn != 172800 {
		t.Errorf("lifetimes = %d/%d s, want 86400/172800", tok.ExpiresIn, tok.RefreshExpiresIn)
	}
	if got, want := tok.AccessExpiresAt, e.clock.Now().Add(24*time.Hour); !got.Equal(want) {
		t.Errorf("AccessExpiresAt = %v, want %v", got, want)
	}
	res := mustQuery(t, e, tok.AccessToken, PurchaseQuery{})
	if res.Total != 0 {
		t.Errorf("new account has %d purchases", res.Total)
	}
}

func TestRefusedAuthorizationRedirectsWithAccessDenied(t *testing.T) {
	e := newEnv(t, SandboxConfig{})
	loc := e.authorize(t, DemoAccount1, "refuse")
	q := loc.Query()
	if q.Get("error") != "access_denied" || q.Get("error_description") == "" || q.Has("code") {
		t.Fatalf("redirect query = %v", q)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != "https://shop.example/admin/procurement/accounts/callback" {
		t.Errorf("redirect target = %s", got)
	}
}

func TestAuthorizationPageRejectsAnUnknownApplication(t *testing.T) {
	e := newEnv(t, SandboxConfig{})
	other := New(Config{BaseURL: e.srv.URL + mount + "/rest", AppKey: "999", AppSecret: "x"})
	resp, err := http.Get(other.AuthorizeURL("https://shop.example/cb", "s"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !bytes.Contains(body, []byte("Unknown application")) || !bytes.Contains(body, []byte(`data-testid="sandbox-error"`)) {
		t.Fatalf("status %d, body %s", resp.StatusCode, body)
	}
}

func TestAuthorizationCodesAreSingleUseAndExpire(t *testing.T) {
	e := newEnv(t, SandboxConfig{})
	ctx := context.Background()
	code := e.authorize(t, DemoAccount1, "authorize").Query().Get("code")
	if _, err := e.client.CreateToken(ctx, code); err != nil {
		t.Fatal(err)
	}
	_, err := e.client.CreateToken(ctx, code)
	if codeOf(err) != CodeInvalidCode || !NeedsReauthorization(err) || !strings.Contains(err.Error(), "already been used") {
		t.Fatalf("second use: err = %v, want InvalidCode (used)", err)
	}
	code = e.authorize(t, DemoAccount1, "authorize").Query().Get("code")
	e.clock.Advance(11 * time.Minute)
	_, err = e.client.CreateToken(ctx, code)
	if codeOf(err) != CodeInvalidCode || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired code: err = %v, want InvalidCode (expired)", err)
	}
	_, err = e.client.CreateToken(ctx, "made-up")
	if codeOf(err) != CodeInvalidCode {
		t.Fatalf("unknown code: err = %v", err)
	}
}

func TestExpiredAccessTokenIsRefusedAndRefreshRestoresAccess(t *testing.T) {
	e := newEnv(t, SandboxConfig{})
	ctx := context.Background()
	tok := e.login(t, DemoAccount1)
	e.clock.Advance(25 * time.Hour)
	_, err := e.client.CreatePurchaseOrder(ctx, tok.AccessToken, demoRequest("OD-1", DemoItems[0]))
	if !IsTokenExpired(err) {
		t.Fatalf("err = %v, want IllegalAccessToken", err)
	}
	if got, want := Explain(err), "The Taobao session has expired: renew the account on the Procurement → Accounts page."; got != want {
		t.Errorf("Explain = %q", got)
	}
	fresh, err := e.client.RefreshToken(ctx, tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if fresh.AccessToken == tok.AccessToken {
		t.Error("refresh returned the old access token")
	}
	// The refresh token lives 48 h from authorization; 25 h have passed, so the
	// new access token may live only the remaining 23 h.
	if got, want := fresh.ExpiresIn, int64(23*3600); got != want {
		t.Errorf("ExpiresIn = %d, want %d (capped by the refresh token)", got, want)
	}
	if _, err := e.client.CreatePurchaseOrder(ctx, fresh.AccessToken, demoRequest("OD-1", DemoItems[0])); err != nil {
		t.Fatalf("create with refreshed token: %v", err)
	}
}

func TestExpireAccessTokenSwitch(t *testing.T) {
	e := newEnv(t, SandboxConfig{})
	ctx := context.Background()
	tok1 := e.login(t, DemoAccount1)
	tok2 := e.login(t, DemoAccount2)
	if err := e.sb.ExpireAccessToken(DemoAccount1); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.QueryPurchaseOrders(ctx, tok1.AccessToken, PurchaseQuery{}); !IsTokenExpired(err) {
		t.Fatalf("account 1: err = %v, want IllegalAccessToken", err)
	}
	if _, err := e.client.QueryPurchaseOrders(ctx, tok2.AccessToken, PurchaseQuery{}); err != nil {
		t.Fatalf("account 2 must be untouched: %v", err)
	}
	if _, err := e.client.RefreshToken(ctx, tok1.RefreshToken); err != nil {
		t.Fatalf("refresh after access expiry: %v", err)
	}
}

func TestBothTokensExpiredNeedsANewAuthorization(t *testing.T) {
	t.Run("by the switch", func(t *testing.T) {
		e := newEnv(t, SandboxConfig{})
		tok := e.login(t, DemoAccount1)
		if err := e.sb.ExpireTokens(DemoAccount1); err != nil {
			t.Fatal(err)
		}
		_, err := e.client.RefreshToken(context.Background(), tok.RefreshToken)
		if codeOf(err) != CodeIllegalRefreshToken || !NeedsReauthorization(err) || IsTokenExpired(err) {
			t.Fatalf("err = %v, want IllegalRefreshToken", err)
		}
		if !strings.Contains(Explain(err), "authorize the account again") {
			t.Errorf("Explain = %q", Explain(err))
		}
		// A new authorization brings the account back.
		tok = e.login(t, DemoAccount1)
		if _, err := e.client.QueryPurchaseOrders(context.Background(), tok.AccessToken, PurchaseQuery{}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("by time", func(t *testing.T) {
		e := newEnv(t, SandboxConfig{})
		tok := e.login(t, DemoAccount1)
		e.clock.Advance(49 * time.Hour)
		if _, err := e.client.RefreshToken(context.Background(), tok.RefreshToken); !NeedsReauthorization(err) {
			t.Fatalf("err = %v, want IllegalRefreshToken", err)
		}
	})
}

func TestPurchaseLifecycleWithPushes(t *testing.T) {
	rcv := newPushReceiver(t)
	e := newEnv(t, SandboxConfig{PushURL: rcv.srv.URL})
	ctx := context.Background()
	tok := e.login(t, DemoAccount1)
	before, _ := e.sb.Balance(DemoAccount1)

	// Items from two shops become two purchases.
	res, err := e.client.CreatePurchaseOrder(ctx, tok.AccessToken, demoRequest("OD-100", DemoItems[0], DemoItems[1], DemoItems[3]))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Orders) != 2 || res.OuterPurchaseID != "OD-100" {
		t.Fatalf("create = %+v, want 2 purchases (one per supplier)", res)
	}
	first := res.Orders[0]
	if got, want := first.EstimateAmountFen, 2*(DemoItems[0].PriceFen+DemoItems[1].PriceFen); got != want {
		t.Errorf("estimate = %d, want %d", got, want)
	}
	if len(first.Lines) != 2 || first.Lines[0].SKUID != DemoItems[0].SKUID || first.Lines[0].SubPurchaseOrderID == 0 {
		t.Errorf("lines = %+v", first.Lines)
	}
	ids := res.PurchaseIDs()
	q := mustQuery(t, e, tok.AccessToken, PurchaseQuery{PurchaseIDs: ids})
	if q.Total != 2 || q.Orders[0].Status != StatusWaitBuyerPay || q.Orders[0].Stage() != StageCreated {
		t.Fatalf("after create: %+v", q.Orders)
	}

	pay, err := e.client.PayPurchaseOrders(ctx, tok.AccessToken, ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(pay.WillPay) != 2 || len(pay.Failures) != 0 {
		t.Fatalf("pay = %+v", pay)
	}
	after, _ := e.sb.Balance(DemoAccount1)
	total := res.Orders[0].EstimateAmountFen + res.Orders[1].EstimateAmountFen
	if before-after != total {
		t.Errorf("balance went down by %d, want %d", before-after, total)
	}
	q = mustQuery(t, e, tok.AccessToken, PurchaseQuery{PurchaseIDs: ids})
	if q.Orders[0].Stage() != StagePaid || q.Orders[0].PayAmountFen != first.EstimateAmountFen || q.Orders[0].PayTime.IsZero() {
		t.Fatalf("after pay: %+v", q.Orders[0])
	}

	if err := e.sb.Ship(first.PurchaseID); err != nil {
		t.Fatal(err)
	}
	q = mustQuery(t, e, tok.AccessToken, PurchaseQuery{PurchaseIDs: []int64{first.PurchaseID}})
	o := q.Orders[0]
	if o.Stage() != StageShipped || len(o.Logistics()) != 1 || o.Logistics()[0].Number == "" || o.Logistics()[0].CompanyName == "" {
		t.Fatalf("after ship: %+v", o)
	}
	if err := e.sb.Complete(first.PurchaseID); err != nil {
		t.Fatal(err)
	}
	q = mustQuery(t, e, tok.AccessToken, PurchaseQuery{PurchaseIDs: []int64{first.PurchaseID}})
	if q.Orders[0].Status != StatusTradeFinished || q.Orders[0].Stage() != StageCompleted {
		t.Fatalf("after complete: %+v", q.Orders[0])
	}

	got := rcv.statuses(first.PurchaseID)
	want := []string{StatusWaitSellerSendGoods, StatusWaitBuyerConfirmGoods, StatusTradeFinished}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("pushes = %v, want %v", got, want)
	}
	if rcv.badSig != 0 {
		t.Errorf("%d pushes failed verification", rcv.badSig)
	}
	rcv.mu.Lock()
	m := rcv.msgs[0]
	rcv.mu.Unlock()
	if m.MessageType != MessageOrderStatus || m.OuterPurchaseID != "OD-100" || m.SellerID != tok.AccountID {
		t.Errorf("push = %+v", m)
	}
}

func TestInsufficientBalanceLeavesThePurchaseUnpaid(t *testing.T) {
	e := newEnv(t, SandboxConfig{})
	ctx := context.Background()
	tok := e.login(t, DemoAccount1)
	res, err := e.client.CreatePurchaseOrder(ctx, tok.AccessToken, demoRequest("OD-7", DemoItems[6]))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.sb.SetBalance(DemoAccount1, 100); err != nil {
		t.Fatal(err)
	}
	pay, err := e.client.PayPurchaseOrders(ctx, tok.AccessToken, res.PurchaseIDs())
	if err != nil {
		t.Fatal(err)
	}
	if len(pay.WillPay) != 0 || len(pay.Failures) != 1 || pay.FailedID[0] != res.Orders[0].PurchaseID {
		t.Fatalf("pay = %+v", pay)
	}
	f := pay.Failures[0]
	if f.Code != CodeInsufficientBalance || !IsInsufficientBalance(f.Err()) {
		t.Errorf("failure = %+v", f)
	}
	if got, want := Explain(f.Err()), "The Taobao account balance is too low to pay this purchase: top it up."; got != want {
		t.Errorf("Explain = %q", got)
	}
	q := mustQuery(t, e, tok.AccessToken, PurchaseQuery{PurchaseIDs: res.PurchaseIDs()})
	if q.Orders[0].Status != StatusWaitBuyerPay {
		t.Errorf("status = %s, want it to stay %s", q.Orders[0].Status, StatusWaitBuyerPay)
	}
	if b, _ := e.sb.Balance(DemoAccount1); b != 100 {
		t.Errorf("balance = %d, want untouched 100", b)
	}
	// After a top-up the same purchase pays.
	_ = e.sb.SetBalance(DemoAccount1, DemoBalanceFen)
	pay, err = e.client.PayPurchaseOrders(ctx, tok.AccessToken, res.PurchaseIDs())
	if err != nil || len(pay.WillPay) != 1 {
		t.Fatalf("pay after top-up = %+v, %v", pay, err)
	}
	// Paying again is refused with a status error, not a second debit.
	pay, _ = e.client.PayPurchaseOrders(ctx, tok.AccessToken, res.PurchaseIDs())
	if len(pay.Failures) != 1 || pay.Failures[0].Code != CodeNotPayable {
		t.Errorf("second pay = %+v", pay)
	}
}

func TestUnknownItemsAndSKUsAreRejected(t *testing.T) {
	e := newEnv(t, SandboxConfig{})
	ctx := context.Background()
	tok := e.login(t, DemoAccount1)
	good := DemoItems[2]
	tests := []struct {
		name string
		line DemoItem
		code string
	}{
		{"unknown item", DemoItem{ItemID: "111", SKUID: "222", PriceFen: 100}, CodeItemNotFound},
		{"SKU of another item", DemoItem{ItemID: good.ItemID, SKUID: DemoItems[3].SKUID, PriceFen: 100}, CodeSKUNotFound},
		{"missing SKU", DemoItem{ItemID: good.ItemID, PriceFen: 100}, CodeSKURequired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.client.CreatePurchaseOrder(ctx, tok.AccessToken, demoRequest("OD-"+tt.code, tt.line))
			if codeOf(err) != tt.code || !IsUnknownSKU(err) {
				t.Fatalf("err = %v, want %s", err, tt.code)
			}
			if !strings.Contains(Explain(err), "SKU") {
				t.Errorf("Explain = %q", Explain(err))
			}
		})
	}
	e.sb.SetUnknownSKUNext(1)
	if _, err := e.client.CreatePurchaseOrder(ctx, tok.AccessToken, demoRequest("OD-switch", good)); codeOf(err) != CodeSKUNotFound {
		t.Fatalf("switch: err = %v", err)
	}
	if n, _ := e.sb.PurchaseCount(); n != 0 {
		t.Fatalf("%d purchases created by failed creates", n)
	}
	// The switch is used up: the same create now succeeds.
	if _, err := e.client.CreatePurchaseOrder(ctx, tok.AccessToken, demoRequest("OD-switch", good)); err != nil {
		t.Fatal(err)
	}
}

func TestCreateIsIdempotentByOuterPurchaseID(t *testing.T) {
	e := newEnv(t, SandboxConfig{})
	ctx := context.Background()
	tok := e.login(t, DemoAccount1)
	req := demoRequest("OD-42", DemoItems[0], DemoItems[4])

	var wg sync.WaitGroup
	results := make([]*PurchaseOrderResult, 4)
	errs := make([]error, 4)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = e.client.CreatePurchaseOrder(ctx, tok.AccessToken, req)
		}()
	}
	wg.Wait()
	for i := range results {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if got, want := results[i].PurchaseIDs(), results[0].PurchaseIDs(); len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
			t.Fatalf("create %d ids = %v, want %v", i, got, want)
		}
	}
	if n, _ := e.sb.PurchaseCount(); n != 2 {
		t.Fatalf("PurchaseCount = %d, want 2 (no duplicates)", n)
	}
	// After a crash the app finds the purchases by its own key.
	q := mustQuery(t, e, tok.AccessToken, PurchaseQuery{OuterPurchaseID: "OD-42"})
	if q.Total != 2 || q.Orders[0].OuterPurchaseID != "OD-42" || q.Orders[0].PurchaseID != results[0].Orders[0].PurchaseID {
		t.Fatalf("query by outer id = %+v", q)
	}
	if q := mustQuery(t, e, tok.AccessToken, PurchaseQuery{OuterPurchaseID: "OD-none"}); q.Total != 0 {
		t.Errorf("unknown outer id found %d purchases", q.Total)
	}
	// Another account's purchases are invisible.
	tok2 := e.login(t, DemoAccount2)
	if q := mustQuery(t, e, tok2.AccessToken, PurchaseQuery{OuterPurchaseID: "OD-42"}); q.Total != 0 {
		t.Errorf("account 2 sees %d purchases of account 1", q.Total)
	}
}

func TestBatchPaySplitsLongLists(t *testing.T) {
	e := newEnv(t, SandboxConfig{})
	ctx := context.Background()
	tok := e.login(t, DemoAccount1)
	var ids []int64
	for i := range 12 {
		res, err := e.client.CreatePurchaseOrder(ctx, tok.AccessToken, demoRequest("OD-B"+strconv.Itoa(i), DemoItems[4]))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.PurchaseIDs()...)
	}
	callsBefore := e.calls.Load()
	pay, err := e.client.PayPurchaseOrders(ctx, tok.AccessToken, ids)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.calls.Load() - callsBefore; got != 2 {
		t.Errorf("pay made %d calls, want 2 (10 + 2)", got)
	}
	if len(pay.WillPay) != 12 || len(pay.Failures) != 0 {
		t.Fatalf("pay = %+v", pay)
	}
	q := mustQuery(t, e, tok.AccessToken, PurchaseQuery{Status: StatusWaitSellerSendGoods, PageSize: 50})
	if q.Total != 12 {
		t.Errorf("paid purchases = %d, want 12", q.Total)
	}
}

func TestSandboxRefusesBadlySignedRequests(t *testing.T) {
	e := newEnv(t, SandboxConfig{})
	ctx := context.Background()
	tok := e.login(t, DemoAccount1)

	wrong := New(Config{BaseURL: e.srv.URL + mount + "/rest", AppKey: DemoAppKey, AppSecret: "not-the-secret", Now: e.clock.Now})
	_, err := wrong.QueryPurchaseOrders(ctx, tok.AccessToken, PurchaseQuery{})
	var te *Error
	if !errors.As(err, &te) || te.Code != CodeIncompleteSignature || te.Type != "ISV" {
		t.Fatalf("wrong secret: err = %v, want IncompleteSignature", err)
	}
	if !strings.Contains(Explain(err), "App Key and App Secret") {
		t.Errorf("Explain = %q", Explain(err))
	}

	otherApp := New(Config{BaseURL: e.srv.URL + mount + "/rest", AppKey: "1", AppSecret: DemoAppSecret, Now: e.clock.Now})
	if _, err := otherApp.QueryPurchaseOrders(ctx, tok.AccessToken, PurchaseQuery{}); codeOf(err) != CodeInvalidAppKey {
		t.Fatalf("wrong app key: err = %v", err)
	}

	// A tampered business parameter breaks the signature.
	params := map[string]string{"app_key": DemoAppKey, "sign_method": "sha256", "timestamp": "1740816000000", "access_token": tok.AccessToken, "outer_purchase_id": "A"}
	sign := Sign(DemoAppSecret, PathQuery, params)
	params["outer_purchase_id"] = "B"
	if got := rawCall(t, e, PathQuery, params, sign, "form"); got["code"] != CodeIncompleteSignature {
		t.Errorf("tampered: answer = %v", got)
	}

	// A timestamp in seconds instead of milliseconds.
	params["outer_purchase_id"] = "A"
	params["timestamp"] = "1740816000"
	if got := rawCall(t, e, PathQuery, params, Sign(DemoAppSecret, PathQuery, params), "form"); got["code"] != CodeInvalidTimestamp {
		t.Errorf("timestamp in seconds: answer = %v", got)
	}

	// Missing system parameters.
	delete(params, "timestamp")
	if got := rawCall(t, e, PathQuery, params, Sign(DemoAppSecret, PathQuery, params), "form"); got["code"] != CodeMissingParameter {
		t.Errorf("no timestamp: answer = %v", got)
	}
	if got := rawCall(t, e, "/no/such/api", params, "", "form"); got["code"] != CodeInvalidAPIPath {
		t.Errorf("unknown path: answer = %v", got)
	}
}

// rawCall sends params (+sign) to api the way other clients do: "form" puts
// everything in a urlencoded body, "json" in a JSON body, "multipart" in a
// multipart body. It returns the decoded answer.
func rawCall(t *testing.T, e *env, api string, params map[string]string, sign, how string) map[string]any {
	t.Helper()
	var body io.Reader
	var ct string
	switch how {
	case "json":
		m := map[string]any{"sign": sign}
		for k, v := range params {
			m[k] = v
		}
		b, _ := json.Marshal(m)
		body, ct = bytes.NewReader(b), "application/json;charset=utf-8"
	case "multipart":
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for k, v := range params {
			mw.WriteField(k, v)
		}
		mw.WriteField("sign", sign)
		mw.Close()
		body, ct = &buf, mw.FormDataContentType()
	default:
		f := url.Values{"sign": {sign}}
		for k, v := range params {
			f.Set(k, v)
		}
		body, ct = strings.NewReader(f.Encode()), "application/x-www-form-urlencoded"
	}
	resp, err := http.Post(e.srv.URL+mount+"/rest"+api, ct, body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d", resp.StatusCode)
	}
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSandboxAcceptsJSONAndMultipartBodies(t *testing.T) {
	e := newEnv(t, SandboxConfig{})
	tok := e.login(t, DemoAccount1)
	params := map[string]string{"app_key": DemoAppKey, "sign_method": "sha256", "timestamp": "1740816000000", "access_token": tok.AccessToken, "purchase_ids": "[]", "page_size": "5"}
	sign := Sign(DemoAppSecret, PathQuery, params)
	for _, how := range []string{"json", "multipart", "form"} {
		t.Run(how, func(t *testing.T) {
			got := rawCall(t, e, PathQuery, params, sign, how)
			if got["code"] != "0" || got["success"] != true {
				t.Fatalf("answer = %v", got)
			}
		})
	}
	// Some clients sign empty values too; the sandbox accepts that variant.
	params["order_remark"] = ""
	if got := rawCall(t, e, PathQuery, params, signParams(DemoAppSecret, PathQuery, params, true), "json"); got["code"] != "0" {
		t.Fatalf("empty value signed: answer = %v", got)
	}
}

func TestServerErrorsAndLatencySwitches(t *testing.T) {
	e := newEnv(t, SandboxConfig{})
	ctx := context.Background()
	tok := e.login(t, DemoAccount1)
	e.sb.FailNext(2)
	for range 2 {
		_, err := e.client.QueryPurchaseOrders(ctx, tok.AccessToken, PurchaseQuery{})
		var te *Error
		if !errors.As(err, &te) || te.HTTPStatus != 500 || te.Type != "ISP" || !IsTemporary(err) {
			t.Fatalf("err = %v, want ISP HTTP 500", err)
		}
	}
	if _, err := e.client.QueryPurchaseOrders(ctx, tok.AccessToken, PurchaseQuery{}); err != nil {
		t.Fatalf("third call: %v", err)
	}
	e.sb.SetLatency(40 * time.Millisecond)
	start := time.Now()
	if _, err := e.client.QueryPurchaseOrders(ctx, tok.AccessToken, PurchaseQuery{}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 40*time.Millisecond {
		t.Errorf("answer took %v, want at least 40ms", d)
	}
	short, cancel := context.WithTimeout(ctx, 5*time.Millisecond)
	defer cancel()
	_, err := e.client.QueryPurchaseOrders(short, tok.AccessToken, PurchaseQuery{})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(Explain(err), "in time") {
		t.Errorf("slow answer with short deadline: err = %v, explain %q", err, Explain(err))
	}
}

func TestCancelPurchase(t *testing.T) {
	e := newEnv(t, SandboxConfig{})
	ctx := context.Background()
	tok := e.login(t, DemoAccount1)
	create := func(outer string) int64 {
		res, err := e.client.CreatePurchaseOrder(ctx, tok.AccessToken, demoRequest(outer, DemoItems[5]))
		if err != nil {
			t.Fatal(err)
		}
		return res.Orders[0].PurchaseID
	}
	unpaid := create("OD-C1")
	if err := e.client.CancelPurchaseOrder(ctx, tok.AccessToken, unpaid, "buyer changed mind"); err != nil {
		t.Fatal(err)
	}
	if q := mustQuery(t, e, tok.AccessToken, PurchaseQuery{PurchaseIDs: []int64{unpaid}}); q.Orders[0].Stage() != StageCancelled {
		t.Errorf("unpaid after cancel = %s", q.Orders[0].Status)
	}

	paid := create("OD-C2")
	before, _ := e.sb.Balance(DemoAccount1)
	if _, err := e.client.PayPurchaseOrders(ctx, tok.AccessToken, []int64{paid}); err != nil {
		t.Fatal(err)
	}
	if err := e.client.CancelPurchaseOrder(ctx, tok.AccessToken, paid, ""); err != nil {
		t.Fatal(err)
	}
	if after, _ := e.sb.Balance(DemoAccount1); after != before {
		t.Errorf("balance after cancel of a paid purchase = %d, want refunded %d", after, before)
	}

	shipped := create("OD-C3")
	e.client.PayPurchaseOrders(ctx, tok.AccessToken, []int64{shipped})
	_ = e.sb.Ship(shipped)
	err := e.client.CancelPurchaseOrder(ctx, tok.AccessToken, shipped, "late")
	if codeOf(err) != CodeNotCancellable {
		t.Fatalf("cancel shipped: err = %v", err)
	}
	if err := e.client.CancelPurchaseOrder(ctx, tok.AccessToken, 1, "x"); codeOf(err) != CodePurchaseNotFound {
		t.Fatalf("cancel unknown: err = %v", err)
	}
}

func TestPushDeliveryFailuresAreRecordedAndRetried(t *testing.T) {
	rcv := newPushReceiver(t)
	e := newEnv(t, SandboxConfig{PushURL: rcv.srv.URL})
	ctx := context.Background()
	tok := e.login(t, DemoAccount1)
	res, err := e.client.CreatePurchaseOrder(ctx, tok.AccessToken, demoRequest("OD-P", DemoItems[0]))
	if err != nil {
		t.Fatal(err)
	}
	id := res.Orders[0].PurchaseID
	rcv.mu.Lock()
	rcv.failN = 1
	rcv.mu.Unlock()
	if _, err := e.client.PayPurchaseOrders(ctx, tok.AccessToken, []int64{id}); err != nil {
		t.Fatal(err)
	}
	if got := rcv.statuses(id); len(got) != 0 {
		t.Fatalf("received %v although the receiver failed", got)
	}
	pushes, _ := e.sb.Notifications()
	if len(pushes) != 1 || pushes[0].Delivered || pushes[0].LastError == "" || pushes[0].Attempts != 1 {
		t.Fatalf("recorded pushes = %+v", pushes)
	}
	if n, err := e.sb.ResendNotifications(); err != nil || n != 1 {
		t.Fatalf("ResendNotifications = %d, %v", n, err)
	}
	if got := rcv.statuses(id); len(got) != 1 || got[0] != StatusWaitSellerSendGoods {
		t.Fatalf("after retry: %v", got)
	}

	// Duplicate and out-of-order pushes for the app's idempotency tests.
	if err := e.sb.ResendNotification(id); err != nil {
		t.Fatal(err)
	}
	if err := e.sb.SendNotification(id, StatusWaitBuyerPay); err != nil {
		t.Fatal(err)
	}
	got := rcv.statuses(id)
	want := []string{StatusWaitSellerSendGoods, StatusWaitSellerSendGoods, StatusWaitBuyerPay}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("pushes = %v, want %v", got, want)
	}
	if p, _ := e.sb.Purchase(id); p.Status != StatusWaitSellerSendGoods {
		t.Errorf("SendNotification changed the purchase to %s", p.Status)
	}
}

func TestAutoAdvanceMovesPaidPurchasesAlong(t *testing.T) {
	rcv := newPushReceiver(t)
	e := newEnv(t, SandboxConfig{PushURL: rcv.srv.URL, AutoShipAfter: time.Minute, AutoCompleteAfter: 2 * time.Minute})
	ctx := context.Background()
	tok := e.login(t, DemoAccount1)
	res, err := e.client.CreatePurchaseOrder(ctx, tok.AccessToken, demoRequest("OD-A", DemoItems[1]))
	if err != nil {
		t.Fatal(err)
	}
	ids := res.PurchaseIDs()
	e.client.PayPurchaseOrders(ctx, tok.AccessToken, ids)
	if q := mustQuery(t, e, tok.AccessToken, PurchaseQuery{PurchaseIDs: ids}); q.Orders[0].Stage() != StagePaid {
		t.Fatalf("right after pay: %s", q.Orders[0].Status)
	}
	e.clock.Advance(61 * time.Second)
	if q := mustQuery(t, e, tok.AccessToken, PurchaseQuery{PurchaseIDs: ids}); q.Orders[0].Stage() != StageShipped {
		t.Fatalf("a minute after pay: %s", q.Orders[0].Status)
	}
	e.clock.Advance(2 * time.Minute)
	if err := e.sb.Advance(); err != nil {
		t.Fatal(err)
	}
	if p, _ := e.sb.Purchase(ids[0]); p.Status != StatusTradeFinished {
		t.Fatalf("after auto-complete: %s", p.Status)
	}
	if got := rcv.statuses(ids[0]); len(got) != 3 {
		t.Errorf("pushes = %v, want paid, shipped, finished", got)
	}
}

func TestControlPageAndSwitches(t *testing.T) {
	e := newEnv(t, SandboxConfig{})
	ctx := context.Background()
	tok := e.login(t, DemoAccount1)
	res, err := e.client.CreatePurchaseOrder(ctx, tok.AccessToken, demoRequest("OD-UI", DemoItems[0]))
	if err != nil {
		t.Fatal(err)
	}
	id := res.Orders[0].PurchaseID
	e.client.PayPurchaseOrders(ctx, tok.AccessToken, []int64{id})

	resp, err := http.Get(e.srv.URL + mount + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("control page status = %d", resp.StatusCode)
	}
	for _, want := range []string{`data-testid="sandbox-purchase-` + strconv.FormatInt(id, 10) + `"`, `data-testid="sandbox-ship-` + strconv.FormatInt(id, 10) + `"`, `data-testid="sandbox-fail-next"`, `data-testid="sandbox-latency"`, `data-testid="sandbox-unknown-sku-next"`, `data-testid="sandbox-expire-access-demo-buyer-1"`, `data-testid="sandbox-set-balance-demo-buyer-2"`} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("control page lacks %s", want)
		}
	}
	post := func(form url.Values) {
		t.Helper()
		resp, err := noRedirect.PostForm(e.srv.URL+mount+"/_control", form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("%v: status = %d, want 303", form, resp.StatusCode)
		}
		if loc := resp.Header.Get("Location"); loc != "./" {
			t.Errorf("Location = %q", loc)
		}
	}
	post(url.Values{"action": {"set_balance"}, "account": {DemoAccount2}, "yuan": {"12.34"}})
	if b, _ := e.sb.Balance(DemoAccount2); b != 1234 {
		t.Errorf("balance = %d, want 1234", b)
	}
	post(url.Values{"action": {"ship"}, "purchase_id": {strconv.FormatInt(id, 10)}})
	if p, _ := e.sb.Purchase(id); p.Status != StatusWaitBuyerConfirmGoods {
		t.Errorf("after ship button: %s", p.Status)
	}
	post(url.Values{"action": {"expire_access"}, "account": {DemoAccount1}})
	if _, err := e.client.QueryPurchaseOrders(ctx, tok.AccessToken, PurchaseQuery{}); !IsTokenExpired(err) {
		t.Errorf("after expire button: %v", err)
	}
	post(url.Values{"action": {"fail_next"}, "n": {"1"}})
	if _, err := e.client.RefreshToken(ctx, tok.RefreshToken); !IsTemporary(err) {
		t.Errorf("after fail_next button: %v", err)
	}
	post(url.Values{"action": {"unknown_sku_next"}})
	tok, _ = e.client.RefreshToken(ctx, tok.RefreshToken)
	if _, err := e.client.CreatePurchaseOrder(ctx, tok.AccessToken, demoRequest("OD-UI2", DemoItems[0])); !IsUnknownSKU(err) {
		t.Errorf("after unknown SKU button: %v", err)
	}
	resp, _ = noRedirect.PostForm(e.srv.URL+mount+"/_control", url.Values{"action": {"nonsense"}})
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown action status = %d", resp.StatusCode)
	}
	resp.Body.Close()
	// A latency that is not whole milliseconds is refused, naming the
	// field, and the switch keeps what it had.
	post(url.Values{"action": {"latency"}, "ms": {"5"}})
	resp, _ = noRedirect.PostForm(e.srv.URL+mount+"/_control", url.Values{"action": {"latency"}, "ms": {"-20"}})
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(msg), "latency") || e.sb.Latency() != 5*time.Millisecond {
		t.Errorf("a negative latency: status %d %q, latency now %v", resp.StatusCode, msg, e.sb.Latency())
	}
}

func TestSandboxStateSurvivesARestart(t *testing.T) {
	e := newEnv(t, SandboxConfig{})
	ctx := context.Background()
	tok := e.login(t, DemoAccount1)
	res, err := e.client.CreatePurchaseOrder(ctx, tok.AccessToken, demoRequest("OD-R", DemoItems[0]))
	if err != nil {
		t.Fatal(err)
	}
	_ = e.sb.SetBalance(DemoAccount1, 777)

	again, err := NewSandbox(openDB(t, e.path), SandboxConfig{Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.StripPrefix(mount, again))
	defer srv.Close()
	c := New(Config{BaseURL: srv.URL + mount + "/rest", AppKey: DemoAppKey, AppSecret: DemoAppSecret, Now: e.clock.Now})
	q, err := c.QueryPurchaseOrders(ctx, tok.AccessToken, PurchaseQuery{OuterPurchaseID: "OD-R"})
	if err != nil {
		t.Fatal(err)
	}
	if q.Total != 1 || q.Orders[0].PurchaseID != res.Orders[0].PurchaseID {
		t.Errorf("after restart: %+v", q)
	}
	if b, _ := again.Balance(DemoAccount1); b != 777 {
		t.Errorf("balance after restart = %d, want 777 (not reset to the default)", b)
	}
}
