package yandexpay

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
)

// receiver is the shop's webhook endpoint in tests: it verifies each webhook
// with the package's own ParseWebhook against the sandbox's JWKS.
type receiver struct {
	mu     sync.Mutex
	events []*WebhookEvent
	errs   []error
	fail   int // answer HTTP 500 to this many webhooks first
	srv    *httptest.Server
	keys   *JWKSCache
}

func (rc *receiver) handle(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/webhook" || r.Header.Get("Content-Type") != "application/octet-stream" {
		http.Error(w, "wrong path or type", http.StatusBadRequest)
		return
	}
	body, _ := io.ReadAll(r.Body)
	ev, err := ParseWebhook(r.Context(), body, rc.keys, DemoMerchantID)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err != nil {
		rc.errs = append(rc.errs, err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if rc.fail > 0 {
		rc.fail--
		http.Error(w, "down", http.StatusInternalServerError)
		return
	}
	rc.events = append(rc.events, ev)
	_, _ = io.WriteString(w, WebhookOK)
}

func (rc *receiver) got() []*WebhookEvent {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]*WebhookEvent(nil), rc.events...)
}

type env struct {
	sb     *Sandbox
	srv    *httptest.Server
	client *Client
	rc     *receiver
	db     *sql.DB
}

func openDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", filepath.Join(t.TempDir(), "sandbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// newEnv starts a sandbox on its own server; with webhooks, a receiver too.
func newEnv(t *testing.T, webhooks bool) *env {
	t.Helper()
	db := openDB(t)
	sb, err := NewSandbox(db, SandboxConfig{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	sb.SetBaseURL(srv.URL)
	e := &env{sb: sb, srv: srv, db: db,
		client: New(Config{BaseURL: srv.URL + "/api/merchant", APIKey: DemoAPIKey, MerchantID: DemoMerchantID})}
	if webhooks {
		e.rc = &receiver{keys: NewJWKSCache(e.client.JWKSURL(), nil)}
		e.rc.srv = httptest.NewServer(http.HandlerFunc(e.rc.handle))
		t.Cleanup(e.rc.srv.Close)
		if err := sb.SetCallbackURL(e.rc.srv.URL); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func (e *env) create(t *testing.T, orderID string, total int64) string {
	t.Helper()
	resp, err := e.client.CreateOrder(context.Background(), CreateOrderRequest{
		OrderID: orderID, Currency: "RUB",
		Items: []Item{
			{ProductID: "p1", Title: "Tea", Quantity: 2, TotalMinor: total - 1000},
			{ProductID: "p2", Title: "Cup", Quantity: 1, TotalMinor: 1000},
		},
		TotalMinor:   total,
		RedirectURLs: RedirectURLs{OnSuccess: "https://shop.test/ok", OnError: "https://shop.test/err", OnAbort: "https://shop.test/abort"},
		TTL:          10 * time.Minute,
	})
	if err != nil {
		t.Fatalf("CreateOrder: %v", err)
	}
	return resp.PaymentURL
}

var noFollow = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// click posts the payment page's form as a browser would and returns where
// the sandbox redirects.
func click(t *testing.T, payURL, action string) string {
	t.Helper()
	page, err := http.Get(payURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if page.StatusCode != http.StatusOK {
		t.Fatalf("payment page: status %d", page.StatusCode)
	}
	for _, id := range []string{"sandbox-pay", "sandbox-decline", "sandbox-abandon"} {
		if !strings.Contains(string(body), `data-testid="`+id+`"`) {
			t.Fatalf("payment page lacks %s", id)
		}
	}
	resp, err := noFollow.PostForm(payURL, url.Values{"action": {action}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("%s: status %d, want 303", action, resp.StatusCode)
	}
	return resp.Header.Get("Location")
}

func TestPayFlowWebhookAndPolling(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	payURL := e.create(t, "ORD-DEMO-00000001-aa", 25000)
	if !strings.HasPrefix(payURL, e.srv.URL+"/pay/") {
		t.Fatalf("paymentUrl = %q", payURL)
	}
	info, err := e.client.GetOrder(ctx, "ORD-DEMO-00000001-aa")
	if err != nil || info.PaymentStatus != StatusPending || info.OrderAmountMinor != 25000 {
		t.Fatalf("before paying: %+v, %v", info, err)
	}
	if got := click(t, payURL, "pay"); got != "https://shop.test/ok" {
		t.Fatalf("redirect = %q, want onSuccess", got)
	}
	evs := e.rc.got()
	if len(evs) != 1 || evs[0].Order.OrderID != "ORD-DEMO-00000001-aa" || evs[0].Order.PaymentStatus != StatusCaptured || evs[0].Event != "ORDER_STATUS_UPDATED" {
		t.Fatalf("webhooks = %+v (errors %v)", evs, e.rc.errs)
	}
	// Polling right after Pay already sees the final status.
	info, err = e.client.GetOrder(ctx, "ORD-DEMO-00000001-aa")
	if err != nil {
		t.Fatal(err)
	}
	if info.PaymentStatus != StatusCaptured || info.Stage() != "completed" || len(info.Operations) == 0 {
		t.Fatalf("after paying: %+v", info)
	}
	// Paying twice is refused.
	resp, err := noFollow.PostForm(payURL, url.Values{"action": {"pay"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("second pay: status %d, want 409", resp.StatusCode)
	}
}

func TestPollingSeesPendingForNPolls(t *testing.T) {
	e := newEnv(t, false) // the seed's shop has no webhook: it polls
	ctx := context.Background()
	if err := e.sb.KeepPendingPolls(2); err != nil {
		t.Fatal(err)
	}
	payURL := e.create(t, "poll-1", 5000)
	click(t, payURL, "pay")
	var seen []PaymentStatus
	for range 4 {
		info, err := e.client.GetOrder(ctx, "poll-1")
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, info.PaymentStatus)
		if IsFinal(info.PaymentStatus) {
			break
		}
	}
	want := []PaymentStatus{StatusPending, StatusPending, StatusCaptured}
	if strings.Join(statusStrings(seen), ",") != strings.Join(statusStrings(want), ",") {
		t.Fatalf("polls saw %v, want %v", seen, want)
	}
	if w, _ := e.sb.Webhooks("poll-1"); len(w) != 0 {
		t.Fatalf("webhooks queued without a callback URL: %+v", w)
	}
}

func statusStrings(s []PaymentStatus) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = string(v)
	}
	return out
}

func TestDeclineAndDeclineNext(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	t.Run("the decline button fails the payment and goes to onError", func(t *testing.T) {
		payURL := e.create(t, "dec-1", 3000)
		if got := click(t, payURL, "decline"); got != "https://shop.test/err" {
			t.Fatalf("redirect = %q", got)
		}
		info, _ := e.client.GetOrder(ctx, "dec-1")
		if info.PaymentStatus != StatusFailed || info.Stage() != "failed" {
			t.Fatalf("status = %s", info.PaymentStatus)
		}
	})
	t.Run("the decline-next switch fails the next Pay", func(t *testing.T) {
		if err := e.sb.DeclineNext(); err != nil {
			t.Fatal(err)
		}
		payURL := e.create(t, "dec-2", 3000)
		if got := click(t, payURL, "pay"); got != "https://shop.test/err" {
			t.Fatalf("redirect = %q", got)
		}
		info, _ := e.client.GetOrder(ctx, "dec-2")
		if info.PaymentStatus != StatusFailed {
			t.Fatalf("status = %s", info.PaymentStatus)
		}
		// The switch is used up.
		click(t, e.create(t, "dec-3", 3000), "pay")
		if info, _ := e.client.GetOrder(ctx, "dec-3"); info.PaymentStatus != StatusCaptured {
			t.Fatalf("after the switch: %s", info.PaymentStatus)
		}
	})
	evs := e.rc.got()
	if len(evs) != 3 || evs[0].Order.PaymentStatus != StatusFailed || evs[1].Order.PaymentStatus != StatusFailed {
		t.Fatalf("webhooks = %+v", evs)
	}
}

func TestAbandonKeepsPendingAndGoesToOnAbort(t *testing.T) {
	e := newEnv(t, true)
	payURL := e.create(t, "ab-1", 3000)
	if got := click(t, payURL, "abandon"); got != "https://shop.test/abort" {
		t.Fatalf("redirect = %q", got)
	}
	info, err := e.client.GetOrder(context.Background(), "ab-1")
	if err != nil || info.PaymentStatus != StatusPending {
		t.Fatalf("%+v %v", info, err)
	}
	if len(e.rc.got()) != 0 {
		t.Fatal("abandon sent a webhook")
	}
}

func TestWrongAPIKeyIsRefusedWith401(t *testing.T) {
	e := newEnv(t, false)
	bad := New(Config{BaseURL: e.srv.URL + "/api/merchant", APIKey: "wrong"})
	_, err := bad.GetOrder(context.Background(), "x")
	var ye *Error
	if !errors.As(err, &ye) || ye.HTTPStatus != 401 || ye.ReasonCode != "UNAUTHORIZED" {
		t.Fatalf("err = %#v", err)
	}
	if !strings.Contains(Explain(err), "API key") {
		t.Fatalf("Explain = %q", Explain(err))
	}
}

func TestValidationErrors(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	_, err := e.client.CreateOrder(ctx, CreateOrderRequest{
		OrderID: "bad-1", Items: []Item{{ProductID: "p", Title: "T", Quantity: 1, TotalMinor: 100}}, TotalMinor: 200,
		RedirectURLs: RedirectURLs{OnSuccess: "https://s/ok", OnError: "https://s/err"},
	})
	var ye *Error
	if !errors.As(err, &ye) || ye.HTTPStatus != 400 || ye.ReasonCode != "ORDER_AMOUNT_MISMATCH" {
		t.Fatalf("mismatched total: %v", err)
	}
	_, err = e.client.GetOrder(ctx, "nope")
	if !errors.As(err, &ye) || ye.HTTPStatus != 404 || ye.ReasonCode != "ORDER_NOT_FOUND" {
		t.Fatalf("unknown order: %v", err)
	}
}

func TestRefundPartialThenFull(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	click(t, e.create(t, "ref-1", 10000), "pay")
	op, err := e.client.Refund(ctx, "ref-1", 2550, "refund-1")
	if err != nil {
		t.Fatal(err)
	}
	if op.OperationType != "REFUND" || op.AmountMinor != 2550 || op.ExternalOperationID != "refund-1" {
		t.Fatalf("operation = %+v", op)
	}
	info, _ := e.client.GetOrder(ctx, "ref-1")
	if info.PaymentStatus != StatusPartiallyRefunded || info.OrderAmountMinor != 7450 || info.Stage() != "partially_refunded" {
		t.Fatalf("after partial: %+v", info)
	}
	// The same id again is the same refund: answered, not made twice.
	again, err := e.client.Refund(ctx, "ref-1", 100, "refund-1")
	if err != nil || again.OperationID != op.OperationID || again.AmountMinor != 2550 {
		t.Fatalf("repeated refund = %+v, %v; want the first operation", again, err)
	}
	var ye *Error
	_, err = e.client.Refund(ctx, "ref-1", 7451, "refund-2")
	if !errors.As(err, &ye) || ye.ReasonCode != "INVALID_REFUND_AMOUNT" {
		t.Fatalf("too large refund: %v", err)
	}
	if _, err := e.client.Refund(ctx, "ref-1", 7450, "refund-3"); err != nil {
		t.Fatal(err)
	}
	info, _ = e.client.GetOrder(ctx, "ref-1")
	if info.PaymentStatus != StatusRefunded || info.OrderAmountMinor != 0 {
		t.Fatalf("after full: %+v", info)
	}
	evs := e.rc.got()
	if len(evs) != 3 || evs[1].Order.PaymentStatus != StatusPartiallyRefunded || evs[2].Order.PaymentStatus != StatusRefunded {
		t.Fatalf("webhooks = %+v", evs)
	}
	// An unpaid order cannot be refunded.
	e.create(t, "ref-2", 1500)
	if _, err := e.client.Refund(ctx, "ref-2", 100, ""); !errors.As(err, &ye) || ye.ReasonCode != "INVALID_PAYMENT_STATUS" {
		t.Fatalf("refund of unpaid: %v", err)
	}
}

func TestTwoStageCancelAndCapture(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	if err := e.sb.SetTwoStage(true); err != nil {
		t.Fatal(err)
	}
	click(t, e.create(t, "two-1", 4000), "pay")
	info, _ := e.client.GetOrder(ctx, "two-1")
	if info.PaymentStatus != StatusAuthorized || info.Stage() != "processing" {
		t.Fatalf("after pay: %s", info.PaymentStatus)
	}
	op, err := e.client.Cancel(ctx, "two-1", "out of stock")
	if err != nil || op.OperationType != "VOID" {
		t.Fatalf("Cancel = %+v, %v", op, err)
	}
	info, _ = e.client.GetOrder(ctx, "two-1")
	if info.PaymentStatus != StatusVoided || info.Stage() != "canceled" {
		t.Fatalf("after cancel: %s", info.PaymentStatus)
	}
	click(t, e.create(t, "two-2", 4000), "pay")
	if _, err := e.client.Capture(ctx, "two-2"); err != nil {
		t.Fatal(err)
	}
	info, _ = e.client.GetOrder(ctx, "two-2")
	if info.PaymentStatus != StatusCaptured {
		t.Fatalf("after capture: %s", info.PaymentStatus)
	}
	var ye *Error
	if _, err := e.client.Cancel(ctx, "two-2", "too late"); !errors.As(err, &ye) || ye.ReasonCode != "INVALID_PAYMENT_STATUS" {
		t.Fatalf("cancel of captured: %v", err)
	}
}

func TestDuplicateAndOutOfOrderWebhooks(t *testing.T) {
	e := newEnv(t, true)
	click(t, e.create(t, "dup-1", 2000), "pay")
	if err := e.sb.ResendNotification("dup-1"); err != nil {
		t.Fatal(err)
	}
	if err := e.sb.SendNotification("dup-1", StatusPending); err != nil {
		t.Fatal(err)
	}
	evs := e.rc.got()
	if len(evs) != 3 {
		t.Fatalf("got %d webhooks", len(evs))
	}
	if evs[0].Order != evs[1].Order {
		t.Fatalf("the duplicate differs: %+v vs %+v", evs[0].Order, evs[1].Order)
	}
	if evs[2].Order.PaymentStatus != StatusPending {
		t.Fatalf("out-of-order webhook = %+v", evs[2])
	}
	// The order itself did not move back.
	if info, _ := e.client.GetOrder(context.Background(), "dup-1"); info.PaymentStatus != StatusCaptured {
		t.Fatalf("order status = %s", info.PaymentStatus)
	}
}

func TestFailedWebhookIsRetried(t *testing.T) {
	e := newEnv(t, true)
	e.rc.fail = 1
	click(t, e.create(t, "retry-1", 2000), "pay")
	hooks, _ := e.sb.Webhooks("retry-1")
	if len(hooks) != 1 || hooks[0].Delivered || hooks[0].Attempts != 1 || hooks[0].LastError == "" {
		t.Fatalf("webhooks = %+v", hooks)
	}
	n, err := e.sb.ResendNotifications()
	if err != nil || n != 1 {
		t.Fatalf("ResendNotifications = %d, %v", n, err)
	}
	if evs := e.rc.got(); len(evs) != 1 || evs[0].Order.PaymentStatus != StatusCaptured {
		t.Fatalf("webhooks = %+v", evs)
	}
}

func TestForeignSignatureIsRefusedByTheShop(t *testing.T) {
	e := newEnv(t, true)
	other := testKey(t)
	forged, err := signES256(other, e.sb.KeyID(), docPayload(DemoMerchantID), time.Now(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(e.rc.srv.URL+"/v1/webhook", "application/octet-stream", strings.NewReader(forged))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d, want 400", resp.StatusCode)
	}
	if len(e.rc.errs) != 1 || !errors.Is(e.rc.errs[0], ErrBadSignature) {
		t.Fatalf("errors = %v", e.rc.errs)
	}
}

func TestFailNextAndLatency(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	if err := e.sb.FailNext(); err != nil {
		t.Fatal(err)
	}
	_, err := e.client.GetOrder(ctx, "x")
	var ye *Error
	if !errors.As(err, &ye) || ye.HTTPStatus != 500 {
		t.Fatalf("fail next: %v", err)
	}
	if _, err := e.client.GetOrder(ctx, "x"); !errors.As(err, &ye) || ye.HTTPStatus != 404 {
		t.Fatalf("after the switch: %v", err)
	}
	if err := e.sb.SetLatency(300 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	if _, err := e.client.GetOrder(short, "x"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("latency: %v", err)
	}
	if err := e.sb.SetLatency(0); err != nil {
		t.Fatal(err)
	}
}

func TestStateAndKeySurviveRestart(t *testing.T) {
	db := openDB(t)
	sb1, err := NewSandbox(db, SandboxConfig{BaseURL: "http://x"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sb1)
	c := New(Config{BaseURL: srv.URL + "/api/merchant", APIKey: DemoAPIKey})
	if _, err := c.CreateOrder(context.Background(), CreateOrderRequest{OrderID: "keep-1",
		Items: []Item{{Title: "T", TotalMinor: 500}}, RedirectURLs: RedirectURLs{OnSuccess: "a", OnError: "b"}}); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	sb2, err := NewSandbox(db, SandboxConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if sb1.KeyID() != sb2.KeyID() || !sb1.PublicKey().Equal(sb2.PublicKey()) {
		t.Fatal("the signing key changed across restarts")
	}
	if o, err := sb2.Order("keep-1"); err != nil || o.AmountMinor != 500 {
		t.Fatalf("order after restart: %+v, %v", o, err)
	}
}

func TestControlPage(t *testing.T) {
	e := newEnv(t, false)
	e.create(t, "ctl-1", 2000)
	resp, err := http.Get(e.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "ctl-1") || !strings.Contains(string(body), `data-testid="sandbox-decline-next"`) {
		t.Fatalf("control page: %d\n%s", resp.StatusCode, body)
	}
	resp, err = noFollow.PostForm(e.srv.URL+"/_control", url.Values{"action": {"decline_next"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "./") {
		t.Fatalf("control POST: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	click(t, e.create(t, "ctl-2", 2000), "pay")
	if o, _ := e.sb.Order("ctl-2"); o.Status != StatusFailed {
		t.Fatalf("decline-next from the control page: %s", o.Status)
	}
	resp, err = noFollow.PostForm(e.srv.URL+"/_control", url.Values{"action": {"latency"}, "value": {"5"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = http.Get(e.srv.URL + "/api/jwks")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), e.sb.KeyID()) || !strings.Contains(string(body), `"crv":"P-256"`) {
		t.Fatalf("jwks = %s", body)
	}
}

func TestMountedUnderAPrefix(t *testing.T) {
	db := openDB(t)
	sb, err := NewSandbox(db, SandboxConfig{})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	// As the app mounts it: the prefix without its trailing slash is stripped.
	mux.Handle("/sandbox/yandexpay/", http.StripPrefix("/sandbox/yandexpay", sb))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	sb.SetBaseURL(srv.URL + "/sandbox/yandexpay")
	c := New(Config{BaseURL: srv.URL + "/sandbox/yandexpay/api/merchant", APIKey: DemoAPIKey})
	resp, err := c.CreateOrder(context.Background(), CreateOrderRequest{OrderID: "m-1",
		Items: []Item{{Title: "T", TotalMinor: 500}}, RedirectURLs: RedirectURLs{OnSuccess: "https://s/ok", OnError: "https://s/err"}})
	if err != nil || resp.PaymentURL != srv.URL+"/sandbox/yandexpay/pay/m-1" {
		t.Fatalf("CreateOrder = %+v, %v", resp, err)
	}
	if got := click(t, resp.PaymentURL, "pay"); got != "https://s/ok" {
		t.Fatalf("redirect = %q", got)
	}
	for _, path := range []string{"/sandbox/yandexpay/", "/sandbox/yandexpay/api/jwks"} {
		r, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != 200 {
			t.Fatalf("GET %s: %d", path, r.StatusCode)
		}
	}
	if _, err := NewJWKSCache(c.JWKSURL(), nil).Key(context.Background(), sb.KeyID()); err != nil {
		t.Fatalf("JWKS through the mount: %v", err)
	}
}
