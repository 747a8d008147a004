package tinkoff

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

// receiver is the merchant's notification endpoint: it verifies every
// notification with ParseNotification, as the app will.
type receiver struct {
	t        *testing.T
	password string
	srv      *httptest.Server

	mu       sync.Mutex
	got      []*Notification
	raw      []string
	bad      int // notifications refused for their signature
	failNext int // answer this many with something other than "OK"
	// onNotify runs inside the handler, like an app that calls GetState
	// before answering.
	onNotify func(*Notification)
}

func newReceiver(t *testing.T, password string) *receiver {
	rc := &receiver{t: t, password: password}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	n, err := ParseNotification(body, rc.password)
	if err == nil && rc.onNotify != nil {
		rc.onNotify(n)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err != nil {
		rc.bad++
		http.Error(w, "bad notification", http.StatusBadRequest)
		return
	}
	if rc.failNext > 0 {
		rc.failNext--
		io.WriteString(w, "ERROR")
		return
	}
	rc.got = append(rc.got, n)
	rc.raw = append(rc.raw, string(body))
	io.WriteString(w, NotificationOK)
}

func (rc *receiver) statuses() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []string
	for _, n := range rc.got {
		out = append(out, n.Status)
	}
	return out
}

func (rc *receiver) last() *Notification {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.got) == 0 {
		rc.t.Fatal("no notification received")
	}
	return rc.got[len(rc.got)-1]
}

type env struct {
	t       *testing.T
	db      *sql.DB
	sb      *Sandbox
	srv     *httptest.Server
	client  *Client
	rc      *receiver
	browser *http.Client
	clock   *clock
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
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

// newEnv mounts the sandbox under /sandbox/tinkoff/ as the app does.
func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, db: openDB(t), clock: &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}}
	sb, err := NewSandbox(e.db, SandboxConfig{Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.sb = sb
	mux := http.NewServeMux()
	mux.Handle("/sandbox/tinkoff/", http.StripPrefix("/sandbox/tinkoff", sb))
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	sb.SetBaseURL(e.srv.URL + "/sandbox/tinkoff")
	e.client = New(Config{BaseURL: sb.APIURL(), TerminalKey: DemoTerminalKey, Password: DemoPassword})
	e.rc = newReceiver(t, DemoPassword)
	e.browser = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return e
}

func (e *env) init(req InitRequest) *InitResponse {
	e.t.Helper()
	if req.OrderID == "" {
		req.OrderID = "ORD-DEMO-00000001-abcdef01"
	}
	if req.Amount == 0 {
		req.Amount = 150050
	}
	req.NotificationURL = e.rc.srv.URL + "/webhooks/tinkoff"
	req.SuccessURL = "https://shop.example/orders/1?paid=1"
	req.FailURL = "https://shop.example/orders/1/failed"
	res, err := e.client.Init(context.Background(), req)
	if err != nil {
		e.t.Fatalf("Init: %v", err)
	}
	return res
}

// press opens the payment form and presses a button, returning the answer.
func (e *env) press(paymentURL, action string) *http.Response {
	e.t.Helper()
	resp, err := e.browser.Get(paymentURL)
	if err != nil {
		e.t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("GET payment page: status %d", resp.StatusCode)
	}
	for _, id := range []string{"sandbox-pay", "sandbox-decline", "sandbox-abandon"} {
		if !strings.Contains(string(page), `data-testid="`+id+`"`) {
			e.t.Fatalf("payment page has no %s button", id)
		}
	}
	resp, err = e.browser.PostForm(paymentURL, url.Values{"action": {action}})
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func (e *env) state(pid string) string {
	e.t.Helper()
	st, err := e.client.GetState(context.Background(), pid)
	if err != nil {
		e.t.Fatalf("GetState: %v", err)
	}
	return st.Status
}

func wantRedirect(t *testing.T, resp *http.Response, prefix string, success bool) {
	t.Helper()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("status %d, want 303", resp.StatusCode)
	}
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, prefix) {
		t.Fatalf("Location %q, want prefix %q", loc, prefix)
	}
	u, _ := url.Parse(loc)
	if got := u.Query().Get("Success"); got != map[bool]string{true: "true", false: "false"}[success] {
		t.Errorf("Location %q: Success=%q", loc, got)
	}
}

func wantCode(t *testing.T, err error, code ErrorCode) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want *Error with code %s", err, code)
	}
	if e.Code != code {
		t.Fatalf("code = %s (%v), want %s", e.Code, err, code)
	}
	return e
}

func equal(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }

func TestCustomerPaysAndTheShopIsNotifiedTwice(t *testing.T) {
	e := newEnv(t)
	res := e.init(InitRequest{Description: "Заказ 1", DATA: map[string]string{"order": "1"}})
	if res.Status != StatusNew || !strings.HasPrefix(res.PaymentURL, e.srv.URL+"/sandbox/tinkoff/pay/") {
		t.Fatalf("Init = %+v", res)
	}
	if len(res.PaymentID) < 10 {
		t.Errorf("PaymentID %q is shorter than the bank's", res.PaymentID)
	}

	resp := e.press(res.PaymentURL, "pay")
	wantRedirect(t, resp, "https://shop.example/orders/1?", true)

	if got := e.rc.statuses(); !equal(got, []string{StatusAuthorized, StatusConfirmed}) {
		t.Fatalf("notifications %v, want AUTHORIZED then CONFIRMED", got)
	}
	n := e.rc.last()
	if n.PaymentID != res.PaymentID || n.Amount != 150050 || !n.Success || n.OrderID != "ORD-DEMO-00000001-abcdef01" {
		t.Errorf("notification = %+v", n)
	}
	if n.TerminalKey != DemoTerminalKey || n.DATA["order"] != "1" {
		t.Errorf("notification TerminalKey %q DATA %v", n.TerminalKey, n.DATA)
	}
	if st := e.state(res.PaymentID); st != StatusConfirmed || Stage(st) != StageCompleted {
		t.Errorf("GetState = %s (stage %s), want CONFIRMED (completed)", st, Stage(st))
	}
}

func TestTheShopMayCallGetStateFromItsNotificationHandler(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	var seen []string
	e.rc.onNotify = func(n *Notification) {
		st, err := e.client.GetState(context.Background(), n.PaymentID)
		if err != nil {
			t.Errorf("GetState from the handler: %v", err)
			return
		}
		mu.Lock()
		seen = append(seen, n.Status+"/"+st.Status)
		mu.Unlock()
	}
	res := e.init(InitRequest{})
	e.press(res.PaymentURL, "pay")
	mu.Lock()
	defer mu.Unlock()
	// The bank's order: while AUTHORIZED is delivered, GetState says AUTHORIZED.
	if want := []string{"AUTHORIZED/AUTHORIZED", "CONFIRMED/CONFIRMED"}; !equal(seen, want) {
		t.Errorf("notification/state pairs %v, want %v", seen, want)
	}
}

func TestTheBankDeclinesTheCard(t *testing.T) {
	e := newEnv(t)
	res := e.init(InitRequest{})
	resp := e.press(res.PaymentURL, "decline")
	wantRedirect(t, resp, "https://shop.example/orders/1/failed?", false)
	n := e.rc.last()
	if n.Status != StatusRejected || n.Success || n.ErrorCode != CodeInsufficientFunds {
		t.Errorf("notification = %+v", n)
	}
	if st := e.state(res.PaymentID); Stage(st) != StageFailed {
		t.Errorf("GetState = %s, want a failed stage", st)
	}
}

func TestDeclineNextTurnsTheNextPayIntoADecline(t *testing.T) {
	e := newEnv(t)
	e.sb.DeclineNext()
	first := e.init(InitRequest{OrderID: "o-1"})
	wantRedirect(t, e.press(first.PaymentURL, "pay"), "https://shop.example/orders/1/failed", false)
	if st := e.state(first.PaymentID); st != StatusRejected {
		t.Errorf("first payment %s, want REJECTED", st)
	}
	second := e.init(InitRequest{OrderID: "o-2"})
	wantRedirect(t, e.press(second.PaymentURL, "pay"), "https://shop.example/orders/1?", true)
	if st := e.state(second.PaymentID); st != StatusConfirmed {
		t.Errorf("second payment %s, want CONFIRMED (the switch is one-shot)", st)
	}
}

func TestTheCustomerAbandonsTheForm(t *testing.T) {
	e := newEnv(t)
	res := e.init(InitRequest{})
	wantRedirect(t, e.press(res.PaymentURL, "abandon"), "https://shop.example/orders/1/failed", false)
	if st := e.state(res.PaymentID); st != StatusDeadlineExpired || Stage(st) != StageCanceled {
		t.Errorf("GetState = %s, want DEADLINE_EXPIRED (canceled)", st)
	}
	if n := e.rc.last(); n.Status != StatusDeadlineExpired || n.Success {
		t.Errorf("notification = %+v", n)
	}
	// A second press on a stale tab must not pay the expired payment.
	resp, err := e.browser.PostForm(res.PaymentURL, url.Values{"action": {"pay"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("pay after abandon: status %d, want 409", resp.StatusCode)
	}
}

func TestTheLinkExpiresAtRedirectDueDate(t *testing.T) {
	e := newEnv(t)
	res := e.init(InitRequest{RedirectDueDate: e.clock.Now().Add(time.Hour)})
	if st := e.state(res.PaymentID); st != StatusNew {
		t.Fatalf("GetState = %s, want NEW", st)
	}
	e.clock.Add(2 * time.Hour)
	if st := e.state(res.PaymentID); st != StatusDeadlineExpired {
		t.Errorf("GetState after the due date = %s, want DEADLINE_EXPIRED", st)
	}
}

func TestTheSandboxRefusesBadCredentialsLikeTheBank(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, err := New(Config{BaseURL: e.sb.APIURL(), TerminalKey: DemoTerminalKey, Password: "wrong"}).
		Init(ctx, InitRequest{Amount: 1000, OrderID: "o"})
	if wantCode(t, err, CodeBadToken); !strings.Contains(Explain(err), "password") {
		t.Errorf("Explain = %q", Explain(err))
	}
	_, err = New(Config{BaseURL: e.sb.APIURL(), TerminalKey: "OtherDEMO", Password: DemoPassword}).
		GetState(ctx, "7000000001")
	wantCode(t, err, CodeTerminalNotFound)
}

func TestTheSandboxValidatesRequests(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, err := e.client.Init(ctx, InitRequest{Amount: 50, OrderID: "o"})
	wantCode(t, err, CodeBadAmount)
	_, err = e.client.Init(ctx, InitRequest{Amount: 1000})
	wantCode(t, err, CodeMissingParams)
	_, err = e.client.GetState(ctx, "")
	wantCode(t, err, CodeEmptyPaymentID)
	_, err = e.client.GetState(ctx, "123")
	if wantCode(t, err, CodePaymentNotFound); !strings.Contains(Explain(err), "no such payment") {
		t.Errorf("Explain = %q", Explain(err))
	}
}

func TestRefundsArePartialThenFull(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	res := e.init(InitRequest{Amount: 1000})
	e.press(res.PaymentURL, "pay")

	c, err := e.client.Cancel(ctx, CancelRequest{PaymentID: res.PaymentID, Amount: 300})
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != StatusPartialRefunded || c.OriginalAmount != 1000 || c.NewAmount != 700 {
		t.Errorf("partial Cancel = %+v", c)
	}
	_, err = e.client.Cancel(ctx, CancelRequest{PaymentID: res.PaymentID, Amount: 800})
	wantCode(t, err, CodeBadAmount)

	c, err = e.client.Cancel(ctx, CancelRequest{PaymentID: res.PaymentID})
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != StatusRefunded || c.OriginalAmount != 700 || c.NewAmount != 0 {
		t.Errorf("full Cancel = %+v", c)
	}
	if st := e.state(res.PaymentID); Stage(st) != StageRefunded {
		t.Errorf("GetState = %s, want refunded", st)
	}
	_, err = e.client.Cancel(ctx, CancelRequest{PaymentID: res.PaymentID})
	wantCode(t, err, CodeBadTransStatus)

	want := []string{StatusAuthorized, StatusConfirmed, StatusPartialRefunded, StatusRefunded}
	if got := e.rc.statuses(); !equal(got, want) {
		t.Errorf("notifications %v, want %v", got, want)
	}
}

func TestTwoStagePaymentsWaitForConfirm(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	t.Run("confirm what is left after a partial reversal", func(t *testing.T) {
		res := e.init(InitRequest{Amount: 1000, PayType: "T", OrderID: "two-1"})
		e.press(res.PaymentURL, "pay")
		if st := e.state(res.PaymentID); st != StatusAuthorized || Stage(st) != StageProcessing {
			t.Fatalf("GetState = %s, want AUTHORIZED (processing)", st)
		}
		c, err := e.client.Cancel(ctx, CancelRequest{PaymentID: res.PaymentID, Amount: 200})
		if err != nil {
			t.Fatal(err)
		}
		if c.Status != StatusPartialReversed || c.NewAmount != 800 {
			t.Errorf("Cancel = %+v", c)
		}
		cf, err := e.client.Confirm(ctx, res.PaymentID, 0)
		if err != nil {
			t.Fatal(err)
		}
		if cf.Status != StatusConfirmed {
			t.Errorf("Confirm = %+v", cf)
		}
		if n := e.rc.last(); n.Status != StatusConfirmed || n.Amount != 800 {
			t.Errorf("last notification %s %d, want CONFIRMED 800", n.Status, n.Amount)
		}
		_, err = e.client.Confirm(ctx, res.PaymentID, 0)
		wantCode(t, err, CodeBadTransStatus)
	})
	t.Run("a full cancel before confirmation reverses the hold", func(t *testing.T) {
		res := e.init(InitRequest{Amount: 1000, PayType: "T", OrderID: "two-2"})
		e.press(res.PaymentURL, "pay")
		c, err := e.client.Cancel(ctx, CancelRequest{PaymentID: res.PaymentID})
		if err != nil {
			t.Fatal(err)
		}
		if c.Status != StatusReversed || Stage(c.Status) != StageCanceled {
			t.Errorf("Cancel = %+v", c)
		}
	})
}

func TestCancellingAnUnpaidPaymentClosesTheForm(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	res := e.init(InitRequest{Amount: 1000})
	_, err := e.client.Cancel(ctx, CancelRequest{PaymentID: res.PaymentID, Amount: 400})
	wantCode(t, err, CodeBadAmount)
	c, err := e.client.Cancel(ctx, CancelRequest{PaymentID: res.PaymentID})
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != StatusCanceled || c.NewAmount != 0 {
		t.Errorf("Cancel = %+v", c)
	}
	resp, err := e.browser.PostForm(res.PaymentURL, url.Values{"action": {"pay"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("pay after cancel: status %d, want 409", resp.StatusCode)
	}
}

func TestResendNotificationSendsAnExactDuplicate(t *testing.T) {
	e := newEnv(t)
	res := e.init(InitRequest{})
	e.press(res.PaymentURL, "pay")
	if err := e.sb.ResendNotification(context.Background(), res.PaymentID); err != nil {
		t.Fatal(err)
	}
	e.rc.mu.Lock()
	defer e.rc.mu.Unlock()
	if len(e.rc.raw) != 3 || e.rc.raw[1] != e.rc.raw[2] {
		t.Fatalf("got %d notifications; the last two should be identical", len(e.rc.raw))
	}
}

func TestUnacknowledgedNotificationsAreRetried(t *testing.T) {
	e := newEnv(t)
	e.rc.failNext = 2
	res := e.init(InitRequest{})
	wantRedirect(t, e.press(res.PaymentURL, "pay"), "https://shop.example/orders/1?", true)
	if got := e.rc.statuses(); len(got) != 0 {
		t.Fatalf("accepted %v, want none yet", got)
	}
	ns, err := e.sb.Notifications(res.PaymentID)
	if err != nil {
		t.Fatal(err)
	}
	if len(ns) != 2 || ns[0].Delivered || ns[0].Attempts != 1 || !strings.Contains(ns[0].LastError, "ERROR") {
		t.Fatalf("recorded %+v", ns)
	}
	n, err := e.sb.ResendNotifications(context.Background())
	if err != nil || n != 2 {
		t.Fatalf("ResendNotifications = %d, %v; want 2", n, err)
	}
	if got := e.rc.statuses(); !equal(got, []string{StatusAuthorized, StatusConfirmed}) {
		t.Errorf("after retry %v", got)
	}
	if n, _ := e.sb.ResendNotifications(context.Background()); n != 0 {
		t.Errorf("second ResendNotifications delivered %d, want 0", n)
	}
}

func TestSendNotificationDeliversAStaleStatus(t *testing.T) {
	e := newEnv(t)
	res := e.init(InitRequest{})
	e.press(res.PaymentURL, "pay")
	if err := e.sb.SendNotification(context.Background(), res.PaymentID, StatusAuthorized); err != nil {
		t.Fatal(err)
	}
	if n := e.rc.last(); n.Status != StatusAuthorized {
		t.Errorf("last notification %s, want the stale AUTHORIZED", n.Status)
	}
	if st := e.state(res.PaymentID); st != StatusConfirmed {
		t.Errorf("GetState = %s; SendNotification must not change state", st)
	}
}

func TestFailureSwitches(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	e.sb.FailNext(FailHTTP500)
	_, err := e.client.Init(ctx, InitRequest{Amount: 1000, OrderID: "o"})
	var te *Error
	if !errors.As(err, &te) || te.HTTPStatus != 500 || !te.Temporary() {
		t.Fatalf("err = %v, want a temporary HTTP 500 *Error", err)
	}
	if _, err := e.client.Init(ctx, InitRequest{Amount: 1000, OrderID: "o"}); err != nil {
		t.Fatalf("the call after the failure: %v", err)
	}

	e.sb.FailNext(FailErrorCode)
	_, err = e.client.GetState(ctx, "7000000001")
	if e := wantCode(t, err, CodeInternal); !e.Temporary() {
		t.Error("ErrorCode 9999 should be temporary")
	}

	e.sb.SetLatency(300 * time.Millisecond)
	short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	_, err = e.client.GetState(short, "7000000001")
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(Explain(err), "in time") {
		t.Errorf("slow answer: err = %v, Explain = %q", err, Explain(err))
	}
	e.sb.SetLatency(0)
}

func TestControlPageShowsAndSetsSwitches(t *testing.T) {
	e := newEnv(t)
	e.init(InitRequest{})
	resp, err := e.browser.Get(e.sb.BaseURL() + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), `data-testid="sandbox-payment-row"`) {
		t.Fatalf("control page: status %d, no payment row", resp.StatusCode)
	}
	post := func(v url.Values) {
		t.Helper()
		resp, err := e.browser.PostForm(e.sb.BaseURL()+"/_control", v)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "./" {
			t.Fatalf("POST %v: status %d Location %q", v, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	post(url.Values{"action": {"decline_next"}, "on": {"1"}})
	post(url.Values{"action": {"fail_next"}, "mode": {"9999"}})
	post(url.Values{"action": {"latency"}, "ms": {"5"}})
	post(url.Values{"action": {"fail_next_cancel"}, "mode": {"refused"}})
	post(url.Values{"action": {"fail_next_refund"}, "mode": {"lost"}})
	sw := e.sb.Switches()
	if !sw.DeclineNext || sw.FailNext != FailErrorCode || sw.Latency != 5*time.Millisecond ||
		sw.FailNextCancel != FailRefused || sw.FailNextRefund != FailLostAnswer {
		t.Errorf("switches = %+v", sw)
	}
	// The notification buttons: one sent by hand is tallied on the payment's row.
	pays, err := e.sb.Payments(1)
	if err != nil || len(pays) != 1 {
		t.Fatalf("payments: %v %v", pays, err)
	}
	post(url.Values{"action": {"send"}, "payment_id": {pays[0].PaymentID}, "status": {"AUTHORIZED"}})
	resp, err = e.browser.Get(e.sb.BaseURL() + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "<td>1 / 0</td>") && !strings.Contains(string(page), "<td>0 / 1</td>") {
		t.Errorf("the row does not tally the notification sent by hand:\n%s", page)
	}
	resp, err = e.browser.PostForm(e.sb.BaseURL()+"/_control", url.Values{"action": {"latency"}, "ms": {"-1"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("negative latency: status %d, want 400", resp.StatusCode)
	}
}

func TestSandboxStateSurvivesARestart(t *testing.T) {
	e := newEnv(t)
	res := e.init(InitRequest{})
	e.press(res.PaymentURL, "pay")
	again, err := NewSandbox(e.db, SandboxConfig{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := again.Payment(res.PaymentID)
	if err != nil || p.Status != StatusConfirmed || p.Amount != 150050 {
		t.Fatalf("Payment after restart = %+v, %v", p, err)
	}
	if _, err := again.Payment("1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown payment: err = %v, want ErrNotFound", err)
	}
	next := e.init(InitRequest{OrderID: "after-restart"})
	if next.PaymentID <= res.PaymentID {
		t.Errorf("PaymentID %s after %s: ids must keep growing", next.PaymentID, res.PaymentID)
	}
}
