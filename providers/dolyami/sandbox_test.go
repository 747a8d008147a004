package dolyami

import (
	"bytes"
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

// receiver is the shop's notification endpoint: it reads every notification
// with ParseNotification, as the app will.
type receiver struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	got      []*Notification
	raw      []string
	lastURL  *url.URL // of the last notification taken
	failNext int      // answer this many with HTTP 500
	// onNotify runs inside the handler, like an app that re-reads the order
	// and commits it before answering.
	onNotify func(*Notification)
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{t: t}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "" {
		rc.t.Error("the notification carried credentials")
	}
	body, _ := io.ReadAll(r.Body)
	n, err := ParseNotification(body)
	if err != nil {
		http.Error(w, "bad notification", http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	if rc.failNext > 0 {
		rc.failNext--
		rc.mu.Unlock()
		http.Error(w, "busy", http.StatusInternalServerError)
		return
	}
	rc.got = append(rc.got, n)
	rc.raw = append(rc.raw, string(body))
	rc.lastURL = r.URL
	hook := rc.onNotify
	rc.mu.Unlock()
	if hook != nil {
		hook(n)
	}
	w.WriteHeader(http.StatusOK)
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

type env struct {
	t       *testing.T
	db      *sql.DB
	sb      *Sandbox
	srv     *httptest.Server
	client  *Client
	rc      *receiver
	browser *http.Client
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

// newEnv mounts the sandbox under /sandbox/dolyami/ as the app does.
func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, db: openDB(t)}
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	sb, err := NewSandbox(e.db, SandboxConfig{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	e.sb = sb
	mux := http.NewServeMux()
	mux.Handle("/sandbox/dolyami/", http.StripPrefix("/sandbox/dolyami", sb))
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	sb.SetBaseURL(e.srv.URL + "/sandbox/dolyami")
	e.client = e.newClient(DemoPassword)
	e.rc = newReceiver(t)
	e.browser = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return e
}

func (e *env) newClient(password string) *Client {
	c, err := New(Config{BaseURL: e.sb.APIURL(), Login: DemoLogin, Password: password})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// create makes an order of 1 500,50 ₽: two kettles and a cup.
func (e *env) create(id string) *CreateResponse {
	e.t.Helper()
	res, err := e.client.CreateOrder(context.Background(), CreateRequest{
		Order: Order{ID: id, Amount: 150050, Items: []Item{
			{Name: "Чайник", Quantity: 2, Price: 50025, SKU: "T-1"},
			{Name: "Чашка", Quantity: 1, Price: 50000, SKU: "C-1"},
		}},
		ClientInfo:      ClientInfo{FirstName: "Анна", Phone: "+79990000000", Email: "anna@example.test"},
		NotificationURL: e.rc.srv.URL + "/webhooks/dolyami",
		SuccessURL:      "https://shop.example/orders/1?paid=1",
		FailURL:         "https://shop.example/orders/1/failed",
	})
	if err != nil {
		e.t.Fatalf("CreateOrder: %v", err)
	}
	return res
}

func (e *env) press(link, action string) *http.Response {
	e.t.Helper()
	resp, err := e.browser.Get(link)
	if err != nil {
		e.t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("GET %s: status %d", link, resp.StatusCode)
	}
	for _, id := range []string{"sandbox-pay", "sandbox-decline", "sandbox-abandon"} {
		if !strings.Contains(string(page), `data-testid="`+id+`"`) {
			e.t.Fatalf("the form has no %s button", id)
		}
	}
	resp, err = e.browser.PostForm(link, url.Values{"action": {action}})
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func (e *env) info(id string) *OrderInfo {
	e.t.Helper()
	info, err := e.client.Info(context.Background(), id)
	if err != nil {
		e.t.Fatalf("Info: %v", err)
	}
	return info
}

func (e *env) commit(id string) (*OrderInfo, error) {
	return e.client.Commit(context.Background(), id, CommitRequest{Amount: 150050, Items: []Item{
		{Name: "Чайник", Quantity: 2, Price: 50025, SKU: "T-1"},
		{Name: "Чашка", Quantity: 1, Price: 50000, SKU: "C-1"},
	}})
}

func wantRedirect(t *testing.T, resp *http.Response, want string) {
	t.Helper()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
		t.Fatalf("answer %d to %q, want 303 to %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}
}

func wantError(t *testing.T, err error, status int, code string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.HTTPStatus != status || e.Code != code {
		t.Fatalf("err = %v, want HTTP %d %s", err, status, code)
	}
}

func equal(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }

func TestBuyerIsApprovedAndTheShopCommits(t *testing.T) {
	e := newEnv(t)
	res := e.create("ORD-DEMO-00000001-abcdef01")
	if res.Status != StatusNew || res.Amount != 150050 || !strings.HasPrefix(res.Link, e.srv.URL+"/sandbox/dolyami/pay/") {
		t.Fatalf("CreateOrder = %+v", res)
	}
	wantRedirect(t, e.press(res.Link, "pay"), "https://shop.example/orders/1?paid=1")
	// A shop that does not commit on "approved" hears "wait_for_commit" once
	// Dolyami has taken the first part, as real integrations expect.
	if got := e.rc.statuses(); !equal(got, []string{StatusApproved, StatusWaitForCommit}) {
		t.Fatalf("notifications %v, want approved, wait_for_commit", got)
	}

	// The app does not trust the notification: it re-reads the order.
	info := e.info(res.ID)
	if info.Status != StatusWaitForCommit || Stage(info.Status) != StageProcessing || !NeedsCommit(info.Status) {
		t.Fatalf("Info = %+v", info)
	}
	var sum int64
	for _, p := range info.PaymentSchedule {
		sum += p.Amount
	}
	if len(info.PaymentSchedule) != 4 || sum != 150050 || info.PaymentSchedule[0].Status != "paid" ||
		info.ResidualAmount != 150050-info.PaymentSchedule[0].Amount {
		t.Errorf("schedule %+v, residual %d", info.PaymentSchedule, info.ResidualAmount)
	}

	c, err := e.commit(res.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != StatusCommitted || c.Stage() != StageCompleted {
		t.Errorf("Commit = %+v", c)
	}
	if got := e.rc.statuses(); !equal(got, []string{StatusApproved, StatusWaitForCommit, StatusCommitted, StatusCompleted}) {
		t.Errorf("notifications %v", got)
	}
	if info := e.info(res.ID); info.Status != StatusCompleted || info.Stage() != StageCompleted {
		t.Errorf("Info after commit = %+v", info)
	}
	if _, err := e.commit(res.ID); err == nil {
		t.Error("a second commit succeeded")
	} else {
		wantError(t, err, http.StatusConflict, codeWrongStatus)
	}
}

func TestTheAppCanCommitFromItsNotificationHandler(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	var commitErr error
	e.rc.onNotify = func(n *Notification) {
		info, err := e.client.Info(context.Background(), n.ID)
		if err == nil && NeedsCommit(info.Status) {
			_, err = e.commit(n.ID)
		}
		mu.Lock()
		if err != nil {
			commitErr = err
		}
		mu.Unlock()
	}
	res := e.create("ORD-2")
	e.press(res.Link, "pay")
	mu.Lock()
	defer mu.Unlock()
	if commitErr != nil {
		t.Fatal(commitErr)
	}
	// Committed on "approved": no wait_for_commit follows.
	if got := e.rc.statuses(); !equal(got, []string{StatusApproved, StatusCommitted, StatusCompleted}) {
		t.Errorf("notifications %v", got)
	}
}

func TestDolyamiRejectsTheBuyer(t *testing.T) {
	e := newEnv(t)
	res := e.create("ORD-3")
	wantRedirect(t, e.press(res.Link, "decline"), "https://shop.example/orders/1/failed")
	if info := e.info(res.ID); info.Status != StatusRejected || info.Stage() != StageFailed {
		t.Errorf("Info = %+v", info)
	}
	if got := e.rc.statuses(); !equal(got, []string{StatusRejected}) {
		t.Errorf("notifications %v", got)
	}

	e.sb.DeclineNext()
	next := e.create("ORD-4")
	wantRedirect(t, e.press(next.Link, "pay"), "https://shop.example/orders/1/failed")
	if st := e.info(next.ID).Status; st != StatusRejected {
		t.Errorf("with DeclineNext, Pay gave %s", st)
	}
	last := e.create("ORD-5")
	wantRedirect(t, e.press(last.Link, "pay"), "https://shop.example/orders/1?paid=1")
}

func TestTheBuyerAbandonsTheForm(t *testing.T) {
	e := newEnv(t)
	res := e.create("ORD-6")
	wantRedirect(t, e.press(res.Link, "abandon"), "https://shop.example/orders/1/failed")
	if info := e.info(res.ID); info.Status != StatusCanceled || info.Stage() != StageCanceled {
		t.Errorf("Info = %+v", info)
	}
	resp, err := e.browser.PostForm(res.Link, url.Values{"action": {"pay"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("pay after abandon: status %d, want 409", resp.StatusCode)
	}
}

func TestTheSandboxChecksAuthAndCorrelationID(t *testing.T) {
	e := newEnv(t)
	_, err := e.newClient("wrong").Info(context.Background(), "ORD-1")
	wantError(t, err, http.StatusUnauthorized, codeUnauthorized)
	if !strings.Contains(Explain(err), "login or password") {
		t.Errorf("Explain = %q", Explain(err))
	}

	for _, cid := range []string{"", "not-a-uuid"} {
		req, _ := http.NewRequest(http.MethodGet, e.sb.APIURL()+"/orders/ORD-1/info", nil)
		req.SetBasicAuth(DemoLogin, DemoPassword)
		if cid != "" {
			req.Header.Set("X-Correlation-ID", cid)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), codeNoCorrelation) {
			t.Errorf("X-Correlation-ID %q: status %d %s, want 400 %s", cid, resp.StatusCode, body, codeNoCorrelation)
		}
	}
}

func TestTheSandboxValidatesOrders(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create("ORD-7")
	_, err := e.client.CreateOrder(ctx, CreateRequest{Order: Order{ID: "ORD-7", Amount: 100, Items: []Item{{Name: "x", Quantity: 1, Price: 100}}}})
	wantError(t, err, http.StatusConflict, codeOrderExists)

	_, err = e.client.CreateOrder(ctx, CreateRequest{Order: Order{ID: "ORD-8", Amount: 1000, Items: []Item{{Name: "x", Quantity: 1, Price: 999}}}})
	wantError(t, err, http.StatusBadRequest, codeAmountMismatch)

	_, err = e.client.Info(ctx, "nope")
	wantError(t, err, http.StatusNotFound, codeOrderNotFound)

	// Sub-kopeck amounts are refused, as no real money has them.
	req, _ := http.NewRequest(http.MethodPost, e.sb.APIURL()+"/orders/create",
		bytes.NewReader([]byte(`{"order":{"id":"ORD-9","amount":1.005,"items":[{"name":"x","quantity":1,"price":1.005}]}}`)))
	req.SetBasicAuth(DemoLogin, DemoPassword)
	req.Header.Set("X-Correlation-ID", newUUID())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("1.005 roubles: status %d, want 400", resp.StatusCode)
	}
}

func TestOrderIDsAreEscapedInPaths(t *testing.T) {
	e := newEnv(t)
	id := "ORD/10 #A?b"
	res := e.create(id)
	e.press(res.Link, "pay")
	if info := e.info(id); !NeedsCommit(info.Status) {
		t.Errorf("Info(%q) = %+v", id, info)
	}
}

func TestCommitRules(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	res := e.create("ORD-11")
	_, err := e.commit(res.ID)
	wantError(t, err, http.StatusConflict, codeWrongStatus)

	e.press(res.Link, "pay")
	_, err = e.client.Commit(ctx, res.ID, CommitRequest{Amount: 200000})
	wantError(t, err, http.StatusBadRequest, codeAmountMismatch)

	// One kettle was out of stock: commit less than was approved.
	c, err := e.client.Commit(ctx, res.ID, CommitRequest{Amount: 100025, Items: []Item{
		{Name: "Чайник", Quantity: 1, Price: 50025}, {Name: "Чашка", Quantity: 1, Price: 50000},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Amount != 100025 || c.Status != StatusCommitted {
		t.Errorf("Commit = %+v", c)
	}
}

func TestCancelIsOnlyBeforeCommit(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.create("ORD-12")
	c, err := e.client.Cancel(ctx, a.ID)
	if err != nil || c.Status != StatusCanceled {
		t.Fatalf("Cancel = %+v, %v", c, err)
	}
	b := e.create("ORD-13")
	e.press(b.Link, "pay")
	if c, err := e.client.Cancel(ctx, b.ID); err != nil || c.Status != StatusCanceled {
		t.Fatalf("Cancel of an approved order = %+v, %v", c, err)
	}
	d := e.create("ORD-14")
	e.press(d.Link, "pay")
	if _, err := e.commit(d.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.Cancel(ctx, d.ID)
	wantError(t, err, http.StatusConflict, codeWrongStatus)
}

func TestRefundsArePartialThenFull(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	res := e.create("ORD-15")
	_, err := e.client.Refund(ctx, res.ID, RefundRequest{Amount: 100})
	wantError(t, err, http.StatusConflict, codeWrongStatus)

	e.press(res.Link, "pay")
	if _, err := e.commit(res.ID); err != nil {
		t.Fatal(err)
	}
	r, err := e.client.Refund(ctx, res.ID, RefundRequest{Amount: 50000, Items: []Item{{Name: "Чашка", Quantity: 1, Price: 50000}}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Amount != 50000 || r.RefundID == "" {
		t.Errorf("Refund = %+v", r)
	}
	info := e.info(res.ID)
	if info.Stage() != StagePartiallyRefunded || info.RefundInfo.TotalRefundedAmount != 50000 ||
		len(info.RefundInfo.Items) != 1 || info.RefundInfo.Items[0].Status != RefundProcessed ||
		info.RefundInfo.Items[0].ReturnedItems[0].Name != "Чашка" {
		t.Errorf("Info after a partial refund = %+v %+v", info, info.RefundInfo)
	}
	_, err = e.client.Refund(ctx, res.ID, RefundRequest{Amount: 100051})
	wantError(t, err, http.StatusBadRequest, codeAmountMismatch)
	if _, err := e.client.Refund(ctx, res.ID, RefundRequest{Amount: 100050}); err != nil {
		t.Fatal(err)
	}
	if st := e.info(res.ID).Stage(); st != StageRefunded {
		t.Errorf("after the full refund: %s", st)
	}
}

func TestResendNotificationSendsAnExactDuplicate(t *testing.T) {
	e := newEnv(t)
	res := e.create("ORD-16")
	e.press(res.Link, "pay")
	if err := e.sb.ResendNotification(context.Background(), res.ID); err != nil {
		t.Fatal(err)
	}
	e.rc.mu.Lock()
	defer e.rc.mu.Unlock()
	// approved, wait_for_commit, and the latter again.
	if len(e.rc.raw) != 3 || e.rc.raw[1] != e.rc.raw[2] {
		t.Fatalf("got %v; want the same notification twice", e.rc.raw)
	}
}

func TestFailedNotificationsAreRetried(t *testing.T) {
	e := newEnv(t)
	e.rc.failNext = 1
	res := e.create("ORD-17")
	e.press(res.Link, "pay")
	ns, err := e.sb.Notifications(res.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(ns) != 2 || ns[0].Status != StatusApproved || ns[0].Delivered || ns[0].Attempts != 1 || !strings.Contains(ns[0].LastError, "500") {
		t.Fatalf("recorded %+v", ns)
	}
	if n, err := e.sb.ResendNotifications(context.Background()); err != nil || n != 1 {
		t.Fatalf("ResendNotifications = %d, %v", n, err)
	}
	if got := e.rc.statuses(); !equal(got, []string{StatusWaitForCommit, StatusApproved}) {
		t.Errorf("after retry %v", got)
	}
}

func TestSendNotificationDeliversAStaleStatus(t *testing.T) {
	e := newEnv(t)
	res := e.create("ORD-18")
	e.press(res.Link, "pay")
	if _, err := e.commit(res.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.sb.SendNotification(context.Background(), res.ID, StatusApproved); err != nil {
		t.Fatal(err)
	}
	got := e.rc.statuses()
	if got[len(got)-1] != StatusApproved {
		t.Errorf("notifications %v, want a stale approved last", got)
	}
	if st := e.info(res.ID).Status; st != StatusCompleted {
		t.Errorf("Info = %s; SendNotification must not change state", st)
	}
}

func TestFailureSwitches(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.sb.FailNext(FailHTTP500)
	_, err := e.client.Info(ctx, "x")
	var de *Error
	if !errors.As(err, &de) || de.HTTPStatus != 500 || !de.Temporary() || de.Code != codeInternal {
		t.Fatalf("err = %v, want a temporary HTTP 500", err)
	}
	_, err = e.client.Info(ctx, "x")
	wantError(t, err, http.StatusNotFound, codeOrderNotFound)

	e.sb.SetLatency(300 * time.Millisecond)
	short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	_, err = e.client.Info(short, "x")
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(Explain(err), "in time") {
		t.Errorf("slow answer: %v / %q", err, Explain(err))
	}
	e.sb.SetLatency(0)
}

func TestControlPageShowsAndSetsSwitches(t *testing.T) {
	e := newEnv(t)
	e.create("ORD-19")
	resp, err := e.browser.Get(e.sb.BaseURL() + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), `data-testid="sandbox-order-row"`) {
		t.Fatalf("control page: status %d, no order row", resp.StatusCode)
	}
	for _, v := range []url.Values{
		{"action": {"decline_next"}, "on": {"1"}},
		{"action": {"fail_next"}, "mode": {"500"}},
		{"action": {"latency"}, "ms": {"7"}},
		{"action": {"fail_next_cancel"}, "mode": {"refused"}},
		{"action": {"fail_next_refund"}, "mode": {"lost"}},
	} {
		resp, err := e.browser.PostForm(e.sb.BaseURL()+"/_control", v)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "./" {
			t.Fatalf("POST %v: %d %q", v, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	if sw := e.sb.Switches(); !sw.DeclineNext || sw.FailNext != FailHTTP500 || sw.Latency != 7*time.Millisecond ||
		sw.FailNextCancel != FailRefused || sw.FailNextRefund != FailLostAnswer {
		t.Errorf("switches = %+v", sw)
	}
}

func TestSandboxStateSurvivesARestart(t *testing.T) {
	e := newEnv(t)
	res := e.create("ORD-20")
	e.press(res.Link, "pay")
	again, err := NewSandbox(e.db, SandboxConfig{})
	if err != nil {
		t.Fatal(err)
	}
	o, err := again.Order(res.ID)
	if err != nil || o.Status != StatusWaitForCommit || o.Amount != 150050 || len(o.Items) != 2 || o.ClientInfo.FirstName != "Анна" {
		t.Fatalf("Order after restart = %+v, %v", o, err)
	}
	if _, err := again.Order("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown order: %v", err)
	}
}
