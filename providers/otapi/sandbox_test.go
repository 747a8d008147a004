package otapi

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

const returnURL = "https://shop.example/admin/integrations/otapi/return?tenant=1"

type env struct {
	t       *testing.T
	db      *sql.DB
	sb      *Sandbox
	srv     *httptest.Server
	client  *Client
	clock   *clock
	ctx     context.Context
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

// newEnv mounts the sandbox under /sandbox/otapi/ as the app does.
func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, db: openDB(t), ctx: context.Background(), clock: &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}}
	sb, err := NewSandbox(e.db, SandboxConfig{Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.sb = sb
	mux := http.NewServeMux()
	mux.Handle("/sandbox/otapi/", http.StripPrefix("/sandbox/otapi", sb))
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	sb.SetBaseURL(e.srv.URL + "/sandbox/otapi")
	e.client = New(Config{BaseURL: sb.APIURL(), InstanceKey: DemoInstanceKey, Secret: DemoSecret,
		OperatorLogin: DemoOperatorLogin, OperatorPassword: DemoOperatorPassword, Now: e.clock.Now})
	e.browser = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return e
}

func (e *env) operator() string {
	e.t.Helper()
	s, err := e.client.AuthenticateInstanceOperator(e.ctx)
	if err != nil {
		e.t.Fatalf("AuthenticateInstanceOperator: %v", err)
	}
	return s
}

// authorise goes through the provider page like the operator's browser and
// returns where the browser was sent back to.
func (e *env) authorise(op, action string) *url.URL {
	e.t.Helper()
	u, err := e.client.ProviderAuthURL(e.ctx, op, ProviderTaobao, returnURL)
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := e.browser.Get(u)
	if err != nil {
		e.t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, id := range []string{"sandbox-pay", "sandbox-decline", "sandbox-abandon"} {
		if !strings.Contains(string(page), `data-testid="`+id+`"`) {
			e.t.Fatalf("authorisation page has no %s button:\n%s", id, page)
		}
	}
	resp, err = e.browser.PostForm(u, url.Values{"action": {action}})
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("%s: status %d", action, resp.StatusCode)
	}
	back, _ := url.Parse(resp.Header.Get("Location"))
	if !strings.HasPrefix(back.String(), "https://shop.example/admin/integrations/otapi/return?") || back.Query().Get("tenant") != "1" {
		e.t.Fatalf("returned to %s", back)
	}
	return back
}

func (e *env) order(items ...OrderItem) *SalesOrder {
	e.t.Helper()
	buyer, err := e.client.Authenticate(e.ctx, DemoUserLogin, DemoUserPassword, true)
	if err != nil {
		e.t.Fatal(err)
	}
	o, err := e.client.AddOrder(e.ctx, buyer, OrderAddData{DeliveryModeID: DemoDeliveryModeID, Comment: "OrderDesk ORD-1001", Items: items})
	if err != nil {
		e.t.Fatalf("AddOrder: %v", err)
	}
	return o
}

func wantCode(t *testing.T, err error, code string) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("err = %v, want %s", err, code)
	}
	return e
}

func TestTestConnectionChecksKeySecretAndOperator(t *testing.T) {
	e := newEnv(t)
	msg, err := e.client.TestConnection(e.ctx)
	if err != nil || msg != "Connected: signed in as operator "+DemoOperatorLogin {
		t.Errorf("TestConnection = %q, %v", msg, err)
	}
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"wrong password", Config{InstanceKey: DemoInstanceKey, Secret: DemoSecret, OperatorLogin: DemoOperatorLogin, OperatorPassword: "x"}, "Invalid operator login"},
		{"wrong key", Config{InstanceKey: "other", Secret: DemoSecret, OperatorLogin: DemoOperatorLogin, OperatorPassword: DemoOperatorPassword}, "Instance key"},
		{"wrong secret", Config{InstanceKey: DemoInstanceKey, Secret: "other", OperatorLogin: DemoOperatorLogin, OperatorPassword: DemoOperatorPassword}, "Signature"},
		{"no secret", Config{InstanceKey: DemoInstanceKey, OperatorLogin: DemoOperatorLogin, OperatorPassword: DemoOperatorPassword}, "Signature"},
		{"clock off by two hours", Config{InstanceKey: DemoInstanceKey, Secret: DemoSecret, OperatorLogin: DemoOperatorLogin, OperatorPassword: DemoOperatorPassword,
			Now: func() time.Time { return e.clock.Now().Add(2 * time.Hour) }}, "Timestamp"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.BaseURL = e.sb.APIURL()
			if tt.cfg.Now == nil {
				tt.cfg.Now = e.clock.Now
			}
			_, err := New(tt.cfg).TestConnection(e.ctx)
			if ee := wantCode(t, err, CodeAccessDenied); !strings.Contains(ee.Description, tt.want) || !strings.Contains(Explain(ee), "refused access") {
				t.Errorf("error = %+v", ee)
			}
		})
	}
	e.sb.BanInstanceKey(true)
	_, err = e.client.TestConnection(e.ctx)
	wantCode(t, err, CodeInstanceKeyBan)
	e.sb.BanInstanceKey(false)
}

// TestTheAutobuyFlowExportsAPaidOrder follows seed 002 end to end through
// the real client: provider authorisation, AddOrder, the simulated payment,
// the export activity.
func TestTheAutobuyFlowExportsAPaidOrder(t *testing.T) {
	e := newEnv(t)
	op := e.operator()
	back := e.authorise(op, "pay")
	provSession, err := ParseProviderReturn(back.Query())
	if err != nil {
		t.Fatal(err)
	}
	list, err := e.client.ProviderSessions(e.ctx, op, ProviderTaobao)
	if err != nil || len(list) != 1 || list[0].ID != provSession || list[0].Name != DemoProviderLogin {
		t.Fatalf("ProviderSessions = %+v, %v", list, err)
	}

	o := e.order(OrderItem{ID: "tb-556677", Quantity: 1}, OrderItem{ID: "gone-112233", Quantity: 1}, OrderItem{ID: "tb-889900", ConfigurationID: "3215", Quantity: 2})
	if !strings.HasPrefix(o.ID, "ORD-") || o.CustomerID != DemoCustomerID || o.TotalAmount != 3*sandboxItemPrice || len(o.Lines) != 2 {
		t.Fatalf("order = %+v (the gone item must be skipped)", o)
	}
	if o.Lines[1].ItemID != "tb-889900" || o.Lines[1].ConfigurationID != "3215" || o.Lines[1].Quantity != 2 {
		t.Errorf("lines = %+v", o.Lines)
	}

	if err := e.client.PostTransaction(e.ctx, op, o.CustomerID, o.TotalAmount, "OrderDesk payment", true, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if b, _ := e.sb.Balance(DemoCustomerID); b != o.TotalAmount {
		t.Fatalf("balance = %d", b)
	}
	pi, err := e.client.SalesPaymentReserve(e.ctx, op, o.ID, o.TotalAmount)
	if err != nil || pi.SalesAmount != o.TotalAmount || pi.SalesPaid != o.TotalAmount || pi.CustBalanceAvail != 0 {
		t.Fatalf("SalesPaymentReserve = %+v, %v", pi, err)
	}

	act, err := e.client.RunOrderExportingToProvider(e.ctx, op, ProviderTaobao, provSession, ExportParameters{OrderID: o.ID})
	if err != nil || act.Type != ActivityExporting || act.ID == "" {
		t.Fatalf("RunOrderExportingToProvider = %+v, %v", act, err)
	}
	a, err := e.client.BackgroundActivity(e.ctx, op, *act)
	if err != nil || a.IsFinished || a.ProgressPercent != 50 || a.Err() != nil {
		t.Fatalf("first read = %+v, %v; want running", a, err)
	}
	a, err = e.client.BackgroundActivity(e.ctx, op, *act)
	if err != nil || !a.IsFinished || a.Err() != nil || a.ProgressPercent != 100 {
		t.Fatalf("second read = %+v, %v; want finished", a, err)
	}
	last := a.Steps[len(a.Steps)-1]
	so, _ := e.sb.Order(o.ID)
	if so.ProviderOrderID == "" || len(so.ProviderOrderID) != 16 || !strings.Contains(last.Message, so.ProviderOrderID) {
		t.Errorf("exported as %q, last step %+v", so.ProviderOrderID, last)
	}
}

func TestAnUnpaidOrderIsNotExported(t *testing.T) {
	e := newEnv(t)
	op := e.operator()
	prov, _ := ParseProviderReturn(e.authorise(op, "pay").Query())
	o := e.order(OrderItem{ID: "tb-1", Quantity: 1})
	act, err := e.client.RunOrderExportingToProvider(e.ctx, op, ProviderTaobao, prov, ExportParameters{OrderID: o.ID})
	if err != nil {
		t.Fatal(err)
	}
	e.client.BackgroundActivity(e.ctx, op, *act)
	a, _ := e.client.BackgroundActivity(e.ctx, op, *act)
	err = a.Err()
	if ee := wantCode(t, err, CodeActivityFailed); !strings.Contains(ee.Description, "is not paid") || ee.SubCode != ReasonOrderNotPaid || !strings.Contains(Explain(ee), "exports only paid orders") {
		t.Errorf("error = %+v", ee)
	}
	// The failure switch: a paid order that the provider refuses.
	e.client.PostTransaction(e.ctx, op, DemoCustomerID, o.TotalAmount, "", true, time.Time{})
	e.client.SalesPaymentReserve(e.ctx, op, o.ID, o.TotalAmount)
	e.sb.FailNextExport()
	act, _ = e.client.RunOrderExportingToProvider(e.ctx, op, ProviderTaobao, prov, ExportParameters{OrderID: o.ID, OrderLineIDs: []string{o.Lines[0].ID}})
	e.client.BackgroundActivity(e.ctx, op, *act)
	a, _ = e.client.BackgroundActivity(e.ctx, op, *act)
	if ee := wantCode(t, a.Err(), CodeActivityFailed); !strings.Contains(ee.Description, "Limit of unpaid orders") {
		t.Errorf("error = %+v", ee)
	}
	_, err = e.client.RunOrderExportingToProvider(e.ctx, op, ProviderTaobao, prov, ExportParameters{OrderID: o.ID, OrderLineIDs: []string{"999"}})
	wantCode(t, err, CodeInvalidArgument)
	_, err = e.client.RunOrderExportingToProvider(e.ctx, op, ProviderTaobao, prov, ExportParameters{OrderID: "ORD-9999999999"})
	wantCode(t, err, CodeNotFound)
	_, err = e.client.BackgroundActivity(e.ctx, op, ActivityID{Type: "BasketChecking", ID: act.ID})
	wantCode(t, err, CodeNotFound)
}

func TestTheProviderAuthorisationCanBeRefusedOrCancelled(t *testing.T) {
	e := newEnv(t)
	op := e.operator()
	for _, action := range []string{"decline", "abandon"} {
		_, err := ParseProviderReturn(e.authorise(op, action).Query())
		wantCode(t, err, CodeProviderAuthorization)
	}
	if l, _ := e.client.ProviderSessions(e.ctx, op, ProviderTaobao); len(l) != 0 {
		t.Errorf("sessions after refusals: %+v", l)
	}
	// A link works once.
	u, _ := e.client.ProviderAuthURL(e.ctx, op, ProviderTaobao, returnURL)
	resp, _ := e.browser.PostForm(u, url.Values{"action": {"pay"}})
	resp.Body.Close()
	resp, _ = e.browser.PostForm(u, url.Values{"action": {"pay"}})
	resp.Body.Close()
	if resp.StatusCode != http.StatusGone {
		t.Errorf("second use: %d", resp.StatusCode)
	}
	resp, _ = e.browser.Get(e.sb.BaseURL() + "/provider-auth/nope")
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown link: %d", resp.StatusCode)
	}
	_, err := e.client.ProviderAuthURL(e.ctx, op, "Jd", returnURL)
	wantCode(t, err, CodeInvalidArgument)
	_, err = e.client.ProviderAuthURL(e.ctx, op, ProviderTaobao, "/relative")
	wantCode(t, err, CodeInvalidArgument)
}

func TestSessionsExpire(t *testing.T) {
	e := newEnv(t)
	op := e.operator()
	prov, _ := ParseProviderReturn(e.authorise(op, "pay").Query())
	o := e.order(OrderItem{ID: "tb-1", Quantity: 1})
	e.sb.ExpireProviderSessions()
	_, err := e.client.RunOrderExportingToProvider(e.ctx, op, ProviderTaobao, prov, ExportParameters{OrderID: o.ID})
	if ee := wantCode(t, err, CodeProviderSessionExpired); !strings.Contains(Explain(ee), "authorise the account again") {
		t.Errorf("Explain = %q", Explain(ee))
	}
	if l, _ := e.client.ProviderSessions(e.ctx, op, ProviderTaobao); len(l) != 0 {
		t.Errorf("expired provider sessions are still listed: %+v", l)
	}
	e.sb.ExpireSessions()
	_, err = e.client.ProviderSessions(e.ctx, op, ProviderTaobao)
	if ee := wantCode(t, err, CodeSessionExpired); !strings.Contains(Explain(ee), "Sign in again") {
		t.Errorf("Explain = %q", Explain(ee))
	}
	op = e.operator()
	e.clock.Add(25 * time.Hour)
	_, err = e.client.ProviderSessions(e.ctx, op, ProviderTaobao)
	wantCode(t, err, CodeSessionExpired)
	_, err = e.client.ProviderSessions(e.ctx, "made-up", ProviderTaobao)
	wantCode(t, err, CodeSessionExpired)
}

func TestPaymentsFollowTheBuyersBalance(t *testing.T) {
	e := newEnv(t)
	op := e.operator()
	o := e.order(OrderItem{ID: "tb-1", Quantity: 2})
	_, err := e.client.SalesPaymentReserve(e.ctx, op, o.ID, o.TotalAmount)
	if ee := wantCode(t, err, CodeNotEnoughMoney); !strings.Contains(Explain(ee), "Top it up") {
		t.Errorf("Explain = %q", Explain(ee))
	}
	e.client.PostTransaction(e.ctx, op, DemoCustomerID, 2*o.TotalAmount, "", true, time.Time{})
	_, err = e.client.SalesPaymentReserve(e.ctx, op, o.ID, o.TotalAmount+1)
	wantCode(t, err, CodeInvalidArgument)
	half := o.TotalAmount / 2
	pi, err := e.client.SalesPaymentReserve(e.ctx, op, o.ID, half)
	if err != nil || pi.SalesPaid != half || pi.CustBalanceAvail != 2*o.TotalAmount-half {
		t.Errorf("partial payment = %+v, %v", pi, err)
	}
	err = e.client.PostTransaction(e.ctx, op, DemoCustomerID, 10*o.TotalAmount, "", false, time.Time{})
	wantCode(t, err, CodeNotEnoughMoney)
	err = e.client.PostTransaction(e.ctx, op, "no-such", 100, "", true, time.Time{})
	wantCode(t, err, CodeNotFound)
	err = e.client.PostTransaction(e.ctx, op, DemoCustomerID, 0, "", true, time.Time{})
	wantCode(t, err, CodeInvalidArgument)
	_, err = e.client.SalesPaymentReserve(e.ctx, op, "ORD-404", 100)
	wantCode(t, err, CodeNotFound)
}

func TestAddOrderValidatesLikeOT(t *testing.T) {
	e := newEnv(t)
	buyer, _ := e.client.Authenticate(e.ctx, DemoUserLogin, DemoUserPassword, false)
	_, err := e.client.AddOrder(e.ctx, buyer, OrderAddData{DeliveryModeID: "courier", Items: []OrderItem{{ID: "x", Quantity: 1}}})
	if ee := wantCode(t, err, CodeInvalidArgument); !strings.Contains(ee.Description, "Delivery mode") {
		t.Errorf("error = %+v", ee)
	}
	_, err = e.client.AddOrder(e.ctx, buyer, OrderAddData{DeliveryModeID: DemoDeliveryModeID, Items: []OrderItem{{ID: "gone-1", Quantity: 1}}})
	wantCode(t, err, CodeInvalidArgument)
	_, err = e.client.AddOrder(e.ctx, buyer, OrderAddData{DeliveryModeID: DemoDeliveryModeID, Items: []OrderItem{{ID: "x", Quantity: 0}}})
	wantCode(t, err, CodeInvalidArgument)
	// Orders are the buyer's: an operator session is refused.
	_, err = e.client.AddOrder(e.ctx, e.operator(), OrderAddData{DeliveryModeID: DemoDeliveryModeID, Items: []OrderItem{{ID: "x", Quantity: 1}}})
	wantCode(t, err, CodeAccessDenied)
	_, err = e.client.Authenticate(e.ctx, DemoUserLogin, "wrong", false)
	wantCode(t, err, CodeAccessDenied)
	if _, err := e.client.Call(e.ctx, "NoSuchMethod", nil); err == nil {
		t.Error("an unknown method answered Ok")
	}
}

func TestSwitchesFailAndSlowTheAPI(t *testing.T) {
	e := newEnv(t)
	e.sb.FailNext()
	_, err := e.client.TestConnection(e.ctx)
	if ee := wantCode(t, err, CodeInternalError); !ee.Temporary() {
		t.Error("InternalError should be temporary")
	}
	if _, err := e.client.TestConnection(e.ctx); err != nil {
		t.Errorf("the call after the failure: %v", err)
	}
	e.sb.SetLatency(300 * time.Millisecond)
	short, cancel := context.WithTimeout(e.ctx, 30*time.Millisecond)
	defer cancel()
	_, err = e.client.TestConnection(short)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(Explain(err), "in time") {
		t.Errorf("slow: %v / %q", err, Explain(err))
	}
	e.sb.SetLatency(0)
}

func TestControlPageShowsStateAndSetsSwitches(t *testing.T) {
	e := newEnv(t)
	op := e.operator()
	e.authorise(op, "pay")
	o := e.order(OrderItem{ID: "tb-1", Quantity: 1})
	resp, err := e.browser.Get(e.sb.BaseURL() + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), o.ID) || !strings.Contains(string(page), DemoProviderLogin) || !strings.Contains(string(page), "500.00") {
		t.Fatalf("control page: %d\n%s", resp.StatusCode, page)
	}
	post := func(v url.Values, want int) {
		t.Helper()
		resp, err := e.browser.PostForm(e.sb.BaseURL()+"/_control", v)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want || (want == http.StatusSeeOther && resp.Header.Get("Location") != "./") {
			t.Fatalf("POST %v: %d", v, resp.StatusCode)
		}
	}
	post(url.Values{"action": {"fail_next"}}, http.StatusSeeOther)
	post(url.Values{"action": {"fail_export"}}, http.StatusSeeOther)
	post(url.Values{"action": {"ban"}, "on": {"1"}}, http.StatusSeeOther)
	post(url.Values{"action": {"latency"}, "ms": {"4"}}, http.StatusSeeOther)
	if sw := e.sb.Switches(); !sw.FailNext || !sw.FailNextExport || !sw.InstanceBanned || sw.Latency != 4*time.Millisecond {
		t.Errorf("switches = %+v", sw)
	}
	post(url.Values{"action": {"clear"}}, http.StatusSeeOther)
	post(url.Values{"action": {"latency"}, "ms": {"0"}}, http.StatusSeeOther)
	post(url.Values{"action": {"expire_sessions"}}, http.StatusSeeOther)
	post(url.Values{"action": {"nope"}}, http.StatusBadRequest)
	if sw := e.sb.Switches(); sw.FailNext || sw.InstanceBanned {
		t.Errorf("switches after clear = %+v", sw)
	}
	_, err = e.client.ProviderSessions(e.ctx, op, ProviderTaobao)
	wantCode(t, err, CodeSessionExpired)
}

func TestSandboxStateSurvivesARestart(t *testing.T) {
	e := newEnv(t)
	op := e.operator()
	e.authorise(op, "pay")
	o := e.order(OrderItem{ID: "tb-1", Quantity: 1})
	again, err := NewSandbox(e.db, SandboxConfig{Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	got, err := again.Order(o.ID)
	if err != nil || got.Total != sandboxItemPrice || len(got.Lines) != 1 {
		t.Fatalf("order after restart = %+v, %v", got, err)
	}
	if l, _ := again.ProviderSessions(); len(l) != 1 {
		t.Errorf("provider sessions lost: %v", l)
	}
	// The operator session survives too: the same client keeps working.
	mux := http.NewServeMux()
	mux.Handle("/sandbox/otapi/", http.StripPrefix("/sandbox/otapi", again))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := New(Config{BaseURL: srv.URL + "/sandbox/otapi/service-json", InstanceKey: DemoInstanceKey, Secret: DemoSecret, Now: e.clock.Now})
	if l, err := c.ProviderSessions(e.ctx, op, ProviderTaobao); err != nil || len(l) != 1 {
		t.Errorf("after restart: %v, %v", l, err)
	}
	next := e.order(OrderItem{ID: "tb-2", Quantity: 1})
	if next.ID <= o.ID {
		t.Errorf("order ids: %s after %s", next.ID, o.ID)
	}
}
