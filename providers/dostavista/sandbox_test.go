package dostavista

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
	"sync"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
)

// receiver is the app's callback endpoint: it verifies every callback with
// ParseCallback, as the app will.
type receiver struct {
	secret string
	srv    *httptest.Server

	mu       sync.Mutex
	got      []*Callback
	raw      []string
	bad      int
	failNext int
}

func newReceiver(t *testing.T, secret string) *receiver {
	rc := &receiver{secret: secret}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		cb, err := ParseCallback(body, rc.secret, r.Header.Get(SignatureHeader))
		if err != nil {
			rc.bad++
			http.Error(w, "bad callback", http.StatusBadRequest)
			return
		}
		if rc.failNext > 0 {
			rc.failNext--
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		rc.got = append(rc.got, cb)
		rc.raw = append(rc.raw, string(body))
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) statuses() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []string
	for _, cb := range rc.got {
		out = append(out, cb.EventType+":"+cb.Order.Status)
	}
	return out
}

type env struct {
	t      *testing.T
	db     *sql.DB
	sb     *Sandbox
	srv    *httptest.Server
	client *Client
	rc     *receiver
	ctx    context.Context
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

// newEnv mounts the sandbox under /sandbox/dostavista/ as the app does and
// points its callbacks at a verifying receiver.
func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, db: openDB(t), ctx: context.Background()}
	e.rc = newReceiver(t, DemoCallbackSecret)
	sb, err := NewSandbox(e.db, SandboxConfig{CallbackURL: e.rc.srv.URL + "/dostavista/callback"})
	if err != nil {
		t.Fatal(err)
	}
	e.sb = sb
	mux := http.NewServeMux()
	mux.Handle("/sandbox/dostavista/", http.StripPrefix("/sandbox/dostavista", sb))
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	sb.SetBaseURL(e.srv.URL + "/sandbox/dostavista")
	e.client = New(Config{BaseURL: sb.APIURL(), AuthToken: DemoAuthToken})
	return e
}

func demoRequest() OrderRequest {
	return OrderRequest{
		Matter:        "Заказ ORD-1001: кроссовки",
		TotalWeightKg: 2,
		PaymentMethod: PaymentBalance,
		Points: []Point{
			{Address: "Москва, ул. Покровка, 11", ContactPerson: Contact{Phone: "+7 903 000-00-01", Name: "Склад"}},
			{Address: "Москва, ул. Солянка, 4", ContactPerson: Contact{Phone: "79030000002", Name: "Анна"}, ClientOrderID: "ORD-1001", TakingAmount: 250000},
		},
	}
}

func (e *env) create() *Order {
	e.t.Helper()
	o, err := e.client.CreateOrder(e.ctx, demoRequest())
	if err != nil {
		e.t.Fatalf("CreateOrder: %v", err)
	}
	return o
}

func wantCodes(t *testing.T, err error, code string) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || !e.Has(code) {
		t.Fatalf("err = %v, want code %s", err, code)
	}
	return e
}

func TestCalculateGivesAPriceWithoutPlacingAnOrder(t *testing.T) {
	e := newEnv(t)
	req := demoRequest()
	req.Points[1].ContactPerson.Phone = ""
	req.InsuranceAmount = 1000000
	req.TotalWeightKg = 20
	o, err := e.client.CalculateOrder(e.ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	// 390.00 + 5 kg × 20.00 + 0.5 % of 10 000.00
	if o.OrderID != 0 || o.PaymentAmount != 39000+10000+5000 || o.WeightFeeAmount != 10000 || o.InsuranceFeeAmount != 5000 {
		t.Errorf("estimate = %+v", o)
	}
	if len(o.ParameterWarnings) != 1 || o.ParameterWarnings[0].Field != "points[1].contact_person.phone" {
		t.Errorf("a missing phone should be a warning for calculate-order: %+v", o.ParameterWarnings)
	}
	if list, _ := e.sb.Orders(10); len(list) != 0 {
		t.Errorf("calculate-order placed %d orders", len(list))
	}
}

func TestAnOrderIsFollowedToDeliveryByCallbacks(t *testing.T) {
	e := newEnv(t)
	o := e.create()
	if o.OrderID <= firstOrderID || o.Status != StatusNew || o.PaymentAmount != 39000 {
		t.Fatalf("created = %+v", o)
	}
	if p := o.Points[1]; p.ClientOrderID != "ORD-1001" || p.TakingAmount != 250000 || p.PointID == 0 || o.Points[0].ContactPerson.Phone != "79030000001" {
		t.Errorf("points = %+v", o.Points)
	}
	for _, want := range []string{StatusAvailable, StatusActive, StatusCompleted} {
		got, err := e.sb.AdvanceOrder(e.ctx, o.OrderID)
		if err != nil || got != want {
			t.Fatalf("AdvanceOrder = %q, %v; want %q", got, err, want)
		}
	}
	want := "order_created:new,order_changed:available,order_changed:active,order_changed:completed"
	if got := strings.Join(e.rc.statuses(), ","); got != want {
		t.Errorf("callbacks = %s, want %s", got, want)
	}
	got, err := e.client.Order(e.ctx, o.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != StatusCompleted || got.Courier == nil || got.Finished.IsZero() || got.Points[1].CourierVisit.IsZero() {
		t.Errorf("order after delivery = %+v", got)
	}
	if _, err := e.sb.AdvanceOrder(e.ctx, o.OrderID); err == nil {
		t.Error("a completed order advanced further")
	}
	if _, err := e.client.Order(e.ctx, 1); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown order: err = %v, want ErrNotFound", err)
	}
}

func TestAnOrderCanBeCanceledOnlyBeforePickup(t *testing.T) {
	e := newEnv(t)
	o := e.create()
	c, err := e.client.CancelOrder(e.ctx, o.OrderID)
	if err != nil || c.Status != StatusCanceled {
		t.Fatalf("CancelOrder = %+v, %v", c, err)
	}
	if st := e.rc.statuses(); st[len(st)-1] != "order_changed:canceled" {
		t.Errorf("callbacks = %v", st)
	}
	_, err = e.client.CancelOrder(e.ctx, o.OrderID)
	wantCodes(t, err, CodeOrderCannotBeCanceled)

	o2 := e.create()
	e.sb.AdvanceOrder(e.ctx, o2.OrderID)
	e.sb.AdvanceOrder(e.ctx, o2.OrderID) // active: the courier has the parcel
	_, err = e.client.CancelOrder(e.ctx, o2.OrderID)
	if ee := wantCodes(t, err, CodeOrderCannotBeCanceled); !strings.Contains(Explain(ee), "can no longer be canceled") {
		t.Errorf("Explain = %q", Explain(ee))
	}
	_, err = e.client.CancelOrder(e.ctx, 42)
	wantCodes(t, err, CodeInvalidParameters)
}

func TestTheSandboxValidatesLikeTheAPI(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name   string
		change func(*OrderRequest)
		field  string
		code   string
	}{
		{"no matter", func(r *OrderRequest) { r.Matter = "" }, "matter", "required"},
		{"one point", func(r *OrderRequest) { r.Points = r.Points[:1] }, "points", "min_size"},
		{"bad phone", func(r *OrderRequest) { r.Points[1].ContactPerson.Phone = "12-34" }, "points[1].contact_person.phone", "invalid_phone"},
		{"missing phone", func(r *OrderRequest) { r.Points[0].ContactPerson.Phone = "" }, "points[0].contact_person.phone", "required"},
		{"unknown address", func(r *OrderRequest) { r.Points[1].Address = "???" }, "points[1].address", "address_not_found"},
		{"window in the past", func(r *OrderRequest) {
			r.Points[1].RequiredStart = time.Now().Add(-3 * time.Hour)
			r.Points[1].RequiredFinish = time.Now().Add(-2 * time.Hour)
		}, "points[1].required_finish_datetime", "cannot_be_past"},
		{"vehicle", func(r *OrderRequest) { r.VehicleTypeID = 9 }, "vehicle_type_id", "invalid_vehicle_type"},
		{"payment method", func(r *OrderRequest) { r.PaymentMethod = "barter" }, "payment_method", "invalid_enum_value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := demoRequest()
			tt.change(&req)
			_, err := e.client.CreateOrder(e.ctx, req)
			ee := wantCodes(t, err, CodeInvalidParameters)
			if len(ee.ParameterErrors) != 1 || ee.ParameterErrors[0].Field != tt.field || ee.ParameterErrors[0].Codes[0] != tt.code || ee.HTTPStatus != 400 {
				t.Errorf("parameter errors = %+v (HTTP %d), want %s: %s", ee.ParameterErrors, ee.HTTPStatus, tt.field, tt.code)
			}
		})
	}
	req := demoRequest()
	req.Points[1].ContactPerson.Phone = "12-34"
	_, err := e.client.CreateOrder(e.ctx, req)
	if got := Explain(err); !strings.Contains(got, "phone number of point 2") {
		t.Errorf("Explain = %q", got)
	}
}

func TestTheSandboxRefusesBadCredentialsAndCallsLikeTheAPI(t *testing.T) {
	e := newEnv(t)
	bad := New(Config{BaseURL: e.sb.APIURL(), AuthToken: "wrong"})
	_, err := bad.CreateOrder(e.ctx, demoRequest())
	wantCodes(t, err, CodeInvalidAuthToken)
	none := New(Config{BaseURL: e.sb.APIURL()})
	_, err = none.TestConnection(e.ctx)
	wantCodes(t, err, CodeRequiredAuthToken)

	do := func(method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, e.sb.APIURL()+path, strings.NewReader(body))
		req.Header.Set(AuthHeader, DemoAuthToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := do(http.MethodGet, "/create-order", ""); code != 400 || !strings.Contains(body, CodeRequiredMethodPost) {
		t.Errorf("GET create-order: %d %s", code, body)
	}
	if code, body := do(http.MethodPost, "/create-order", "{not json"); code != 400 || !strings.Contains(body, CodeInvalidPostJSON) {
		t.Errorf("bad JSON: %d %s", code, body)
	}
	if code, body := do(http.MethodPost, "/teleport", "{}"); code != 404 || !strings.Contains(body, CodeInvalidAPIMethod) {
		t.Errorf("unknown method: %d %s", code, body)
	}
	if code, body := do(http.MethodGet, "/orders?count=500", ""); code != 400 || !strings.Contains(body, `"count":["max_value"]`) {
		t.Errorf("count too large: %d %s", code, body)
	}
	if st := e.rc.statuses(); len(st) != 0 {
		t.Errorf("refused calls sent callbacks: %v", st)
	}
}

func TestTestConnectionSaysWhatCameBack(t *testing.T) {
	e := newEnv(t)
	msg, err := e.client.TestConnection(e.ctx)
	if err != nil || msg != "Connected: API token accepted, 0 orders on the account" {
		t.Errorf("TestConnection = %q, %v", msg, err)
	}
	e.create()
	msg, _ = e.client.TestConnection(e.ctx)
	if msg != "Connected: API token accepted, 1 order on the account" {
		t.Errorf("TestConnection = %q", msg)
	}
}

func TestSwitchesFailTheNextCall(t *testing.T) {
	e := newEnv(t)
	e.sb.InsufficientBalanceNext()
	_, err := e.client.CreateOrder(e.ctx, demoRequest())
	if ee := wantCodes(t, err, CodeInsufficientBalance); !strings.Contains(Explain(ee), "Top up") {
		t.Errorf("Explain = %q", Explain(ee))
	}
	e.create() // the switch is spent

	e.sb.FailNext()
	_, err = e.client.Orders(e.ctx, OrdersFilter{})
	if ee := wantCodes(t, err, CodeUnexpectedError); !ee.Temporary() || ee.HTTPStatus != 500 {
		t.Errorf("fail next = %+v", ee)
	}
	if _, err := e.client.Orders(e.ctx, OrdersFilter{}); err != nil {
		t.Errorf("the call after the failure: %v", err)
	}

	e.sb.SetLatency(300 * time.Millisecond)
	short, cancel := context.WithTimeout(e.ctx, 30*time.Millisecond)
	defer cancel()
	_, err = e.client.TestConnection(short)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(Explain(err), "in time") {
		t.Errorf("slow answer: err = %v, Explain = %q", err, Explain(err))
	}
	e.sb.SetLatency(0)
}

func TestDuplicateAndStaleCallbacks(t *testing.T) {
	e := newEnv(t)
	o := e.create()
	e.sb.AdvanceOrder(e.ctx, o.OrderID)
	if err := e.sb.ResendCallback(e.ctx, o.OrderID); err != nil {
		t.Fatal(err)
	}
	e.rc.mu.Lock()
	n := len(e.rc.raw)
	dup := n >= 2 && e.rc.raw[n-1] == e.rc.raw[n-2]
	e.rc.mu.Unlock()
	if !dup {
		t.Error("ResendCallback did not send the same bytes again")
	}
	if err := e.sb.SendCallback(e.ctx, o.OrderID, StatusNew); err != nil {
		t.Fatal(err)
	}
	st := e.rc.statuses()
	if st[len(st)-1] != "order_changed:new" {
		t.Errorf("stale callback = %v", st)
	}
	if got, _ := e.sb.Order(o.OrderID); got.Status != StatusAvailable {
		t.Errorf("SendCallback changed the state to %s", got.Status)
	}
}

func TestUnacknowledgedCallbacksAreRetried(t *testing.T) {
	e := newEnv(t)
	e.rc.mu.Lock()
	e.rc.failNext = 1
	e.rc.mu.Unlock()
	o := e.create()
	cbs, _ := e.sb.Callbacks(o.OrderID)
	if len(cbs) != 1 || cbs[0].Delivered || cbs[0].Attempts != 1 || !strings.Contains(cbs[0].LastError, "503") {
		t.Fatalf("callbacks = %+v", cbs)
	}
	if n, err := e.sb.ResendCallbacks(e.ctx); n != 1 || err != nil {
		t.Fatalf("ResendCallbacks = %d, %v", n, err)
	}
	cbs, _ = e.sb.Callbacks(o.OrderID)
	if !cbs[0].Delivered || cbs[0].Attempts != 2 {
		t.Errorf("after retry: %+v", cbs[0])
	}

	// A callback signed with another secret is refused by the app.
	e.rc.mu.Lock()
	e.rc.secret = "another secret"
	e.rc.mu.Unlock()
	e.sb.AdvanceOrder(e.ctx, o.OrderID)
	e.rc.mu.Lock()
	defer e.rc.mu.Unlock()
	if e.rc.bad != 1 {
		t.Errorf("receiver refused %d callbacks, want 1", e.rc.bad)
	}
}

func TestControlPageShowsOrdersAndSetsSwitches(t *testing.T) {
	e := newEnv(t)
	o := e.create()
	browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := browser.Get(e.sb.BaseURL() + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), `data-testid="sandbox-order-row"`) || !strings.Contains(string(page), "ORD-1001") {
		t.Fatalf("control page: status %d\n%s", resp.StatusCode, page)
	}
	post := func(v url.Values) {
		t.Helper()
		resp, err := browser.PostForm(e.sb.BaseURL()+"/_control", v)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "./" {
			t.Fatalf("POST %v: status %d", v, resp.StatusCode)
		}
	}
	post(url.Values{"action": {"fail_next"}})
	post(url.Values{"action": {"insufficient_balance"}})
	post(url.Values{"action": {"latency"}, "ms": {"5"}})
	if sw := e.sb.Switches(); !sw.FailNext || !sw.InsufficientBalanceNext || sw.Latency != 5*time.Millisecond {
		t.Errorf("switches = %+v", sw)
	}
	post(url.Values{"action": {"clear"}})
	post(url.Values{"action": {"latency"}, "ms": {"0"}})
	post(url.Values{"action": {"advance"}, "order_id": {itoa(o.OrderID)}})
	post(url.Values{"action": {"set_status"}, "order_id": {itoa(o.OrderID)}, "status": {StatusDelayed}})
	if got, _ := e.sb.Order(o.OrderID); got.Status != StatusDelayed {
		t.Errorf("status after the control page = %s", got.Status)
	}
	post(url.Values{"action": {"callback_url"}, "url": {"http://127.0.0.1:1/nowhere"}})
	if e.sb.CallbackURL() != "http://127.0.0.1:1/nowhere" {
		t.Errorf("CallbackURL = %q", e.sb.CallbackURL())
	}
	resp, _ = browser.PostForm(e.sb.BaseURL()+"/_control", url.Values{"action": {"latency"}, "ms": {"-1"}})
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("negative latency: status %d", resp.StatusCode)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestSandboxStateSurvivesARestart(t *testing.T) {
	e := newEnv(t)
	o := e.create()
	again, err := NewSandbox(e.db, SandboxConfig{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := again.Order(o.OrderID)
	if err != nil || got.Status != StatusNew || got.PaymentAmount != 39000 {
		t.Fatalf("Order after restart = %+v, %v", got, err)
	}
	if again.CallbackURL() != e.sb.CallbackURL() {
		t.Errorf("callback URL lost: %q", again.CallbackURL())
	}
	next := e.create()
	if next.OrderID != o.OrderID+1 {
		t.Errorf("order ids: %d after %d", next.OrderID, o.OrderID)
	}
}
