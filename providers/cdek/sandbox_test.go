package cdek

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
	"sync/atomic"
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

// receiver is the app's webhook endpoint. CDEK signs nothing, so, as the app
// must, it treats a webhook as a hint and re-reads the order through the
// client before believing the status.
type receiver struct {
	srv    *httptest.Server
	client *Client

	mu       sync.Mutex
	got      []*Webhook
	reread   []string // the current status the app read back
	raw      []string
	failNext int
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	wh, err := ParseWebhook(body)
	if err != nil || r.URL.Query().Get("secret") != "s3cr3t" {
		http.Error(w, "bad webhook", http.StatusBadRequest)
		return
	}
	var cur string
	if o, err := rc.client.Order(r.Context(), wh.UUID); err == nil {
		st, _ := o.Current()
		cur = st.Code
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.failNext > 0 {
		rc.failNext--
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	rc.got = append(rc.got, wh)
	rc.reread = append(rc.reread, cur)
	rc.raw = append(rc.raw, string(body))
}

func (rc *receiver) codes() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []string
	for _, wh := range rc.got {
		out = append(out, wh.Attributes.Code)
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
	clock  *clock
	ctx    context.Context
	tokens atomic.Int32 // token requests seen by the sandbox
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

// newEnv mounts the sandbox under /sandbox/cdek/ as the app does, and
// subscribes a receiver to ORDER_STATUS webhooks through the real client.
func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, db: openDB(t), ctx: context.Background(), clock: &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}}
	sb, err := NewSandbox(e.db, SandboxConfig{Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.sb = sb
	mux := http.NewServeMux()
	mux.Handle("/sandbox/cdek/", http.StripPrefix("/sandbox/cdek", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/oauth/token" {
			e.tokens.Add(1)
		}
		sb.ServeHTTP(w, r)
	})))
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	sb.SetBaseURL(e.srv.URL + "/sandbox/cdek")
	e.client = New(Config{BaseURL: sb.APIURL(), ClientID: DemoClientID, ClientSecret: DemoClientSecret, Now: e.clock.Now})
	// The receiver shares the app's client (and so its cached token).
	e.rc = &receiver{client: e.client}
	e.rc.srv = httptest.NewServer(http.HandlerFunc(e.rc.serve))
	t.Cleanup(e.rc.srv.Close)
	if _, err := e.client.SubscribeWebhook(e.ctx, e.rc.srv.URL+"/cdek/webhook?secret=s3cr3t"); err != nil {
		t.Fatal(err)
	}
	return e
}

func demoOrder(number string) OrderRequest {
	return OrderRequest{
		Number:       number,
		TariffCode:   137,
		FromLocation: &Location{Code: 44, City: "Москва", Address: "ул. Покровка, 11"},
		ToLocation:   &Location{City: "Санкт-Петербург", Address: "Невский пр., 1, кв. 5"},
		Recipient:    Contact{Name: "Анна Петрова", Phones: []string{"+79030000002"}},
		Packages: []Package{{Number: "1", Weight: 1200, Length: 30, Width: 20, Height: 10,
			Items: []Item{{Name: "Кроссовки", WareKey: "SKU-1", Cost: 450050, Weight: 1200, Amount: 1}}}},
	}
}

func (e *env) register(number string) string {
	e.t.Helper()
	reg, err := e.client.CreateOrder(e.ctx, demoOrder(number))
	if err != nil {
		e.t.Fatalf("CreateOrder: %v", err)
	}
	return reg.UUID
}

func TestAShipmentGetsItsTrackNumberAfterRegistration(t *testing.T) {
	e := newEnv(t)
	reg, err := e.client.CreateOrder(e.ctx, demoOrder("ORD-1001"))
	if err != nil {
		t.Fatal(err)
	}
	if reg.UUID == "" || len(reg.Requests) != 1 || reg.Requests[0].State != StateAccepted || reg.Requests[0].Type != RequestCreate {
		t.Fatalf("registration = %+v", reg)
	}
	first, err := e.client.Order(e.ctx, reg.UUID)
	if err != nil {
		t.Fatal(err)
	}
	if !first.Pending() || first.Track() != "" || first.Requests[0].State != StateWaiting || first.Number != "ORD-1001" {
		t.Fatalf("first read = %+v, want WAITING without a track", first)
	}
	second, err := e.client.Order(e.ctx, reg.UUID)
	if err != nil {
		t.Fatal(err)
	}
	cur, _ := second.Current()
	if second.Pending() || second.Track() == "" || second.Requests[0].State != StateSuccessful || cur.Code != StatusCreated || second.TariffCode != 137 {
		t.Fatalf("second read = %+v", second)
	}
	if got := strings.Join(e.rc.codes(), ","); got != StatusCreated {
		t.Errorf("webhooks = %s, want CREATED", got)
	}
	e.rc.mu.Lock()
	if wh := e.rc.got[0]; wh.UUID != reg.UUID || wh.Attributes.CDEKNumber != second.Track() || wh.Attributes.Number != "ORD-1001" || e.rc.reread[0] != StatusCreated {
		t.Errorf("webhook = %+v, re-read %q", wh, e.rc.reread[0])
	}
	e.rc.mu.Unlock()
	byNumber, err := e.client.OrderByNumber(e.ctx, "ORD-1001")
	if err != nil || byNumber.UUID != reg.UUID {
		t.Errorf("OrderByNumber = %+v, %v", byNumber, err)
	}
	byTrack, err := e.client.OrderByTrack(e.ctx, second.Track())
	if err != nil || byTrack.UUID != reg.UUID {
		t.Errorf("OrderByTrack = %+v, %v", byTrack, err)
	}
	if other := e.register("ORD-1002"); other == reg.UUID {
		t.Error("uuids repeat")
	}
}

func TestRegistrationAlsoCompletesWithTime(t *testing.T) {
	e := newEnv(t)
	id := e.register("ORD-T")
	e.clock.Add(11 * time.Second)
	o, err := e.client.Order(e.ctx, id)
	if err != nil || o.Track() == "" {
		t.Errorf("first read after 11 s = %+v, %v; want a track", o, err)
	}
}

func TestARejectedRegistrationSaysWhy(t *testing.T) {
	e := newEnv(t)
	e.sb.RejectNextRegistration()
	id := e.register("ORD-BAD")
	if err := e.sb.CompleteRegistration(e.ctx, id); err != nil {
		t.Fatal(err)
	}
	o, err := e.client.Order(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	ce := o.CreationError()
	cur, _ := o.Current()
	if ce == nil || ce.Code != CodeRecipientLocationUnknown || o.Track() != "" || o.Pending() || cur.Code != StatusInvalid {
		t.Fatalf("rejected order = %+v, CreationError %v", o, ce)
	}
	if !strings.Contains(Explain(ce), "recipient's city") {
		t.Errorf("Explain = %q", Explain(ce))
	}
	if got := strings.Join(e.rc.codes(), ","); got != StatusInvalid {
		t.Errorf("webhooks = %s", got)
	}
	// The switch is spent: the next one is registered.
	next := e.register("ORD-OK")
	e.sb.CompleteRegistration(e.ctx, next)
	if o, _ := e.client.Order(e.ctx, next); o.Track() == "" {
		t.Error("the next registration was rejected too")
	}
}

func TestStatusesAdvanceToDeliveredWithWebhooks(t *testing.T) {
	e := newEnv(t)
	id := e.register("ORD-1")
	if _, err := e.sb.AdvanceStatus(e.ctx, id); err == nil {
		t.Error("a pending shipment advanced")
	}
	e.sb.CompleteRegistration(e.ctx, id)
	var last string
	for i := 0; i < 20; i++ {
		code, err := e.sb.AdvanceStatus(e.ctx, id)
		if err != nil {
			break
		}
		last = code
	}
	if last != StatusDelivered || !IsFinal(last) {
		t.Fatalf("last status = %s", last)
	}
	codes := e.rc.codes()
	if len(codes) != 1+len(courierPath) || codes[len(codes)-1] != StatusDelivered {
		t.Errorf("webhooks = %v", codes)
	}
	o, _ := e.client.Order(e.ctx, id)
	if cur, _ := o.Current(); cur.Code != StatusDelivered || cur.City != "Санкт-Петербург" || len(o.Statuses) != 2+len(courierPath) {
		t.Errorf("current = %+v of %d", cur, len(o.Statuses))
	}
	if err := e.sb.SetStatus(e.ctx, id, StatusNotDelivered); err != nil {
		t.Fatal(err)
	}
}

func TestTheSandboxValidatesRegistrations(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name   string
		change func(*OrderRequest)
		code   string
	}{
		{"no tariff", func(r *OrderRequest) { r.TariffCode = 0 }, CodeFieldIsEmpty},
		{"no recipient phone", func(r *OrderRequest) { r.Recipient.Phones = nil }, CodeFieldIsEmpty},
		{"no packages", func(r *OrderRequest) { r.Packages = nil }, CodeFieldIsEmpty},
		{"office and address", func(r *OrderRequest) { r.DeliveryPoint = "SPB12" }, CodeDeliveryAddressMulti},
		{"nowhere", func(r *OrderRequest) { r.ToLocation = &Location{CountryCode: "RU"} }, CodeRecipientLocationUnknown},
		{"no sender", func(r *OrderRequest) { r.FromLocation = nil }, CodeFieldIsEmpty},
		{"weightless", func(r *OrderRequest) { r.Packages[0].Weight = 0 }, CodeInvalidFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := demoOrder("ORD-V")
			tt.change(&req)
			if req.TariffCode == 0 {
				// tariff_code is always sent; strip it with a raw request.
				resp := e.raw(t, http.MethodPost, "/orders", `{"recipient":{"name":"A","phones":[{"number":"+7"}]},"from_location":{"code":44},"to_location":{"code":137},"packages":[{"number":"1","weight":1}]}`)
				if resp.StatusCode != 400 || !strings.Contains(resp.body, `"code":"v2_field_is_empty"`) || !strings.Contains(resp.body, "tariff_code") {
					t.Errorf("no tariff: %d %s", resp.StatusCode, resp.body)
				}
				return
			}
			_, err := e.client.CreateOrder(e.ctx, req)
			var ce *Error
			if !errors.As(err, &ce) || !ce.Has(tt.code) || ce.HTTPStatus != 400 {
				t.Errorf("err = %v, want %s", err, tt.code)
			}
		})
	}
	if list, _ := e.sb.Orders(10); len(list) != 0 {
		t.Errorf("refused registrations were stored: %d", len(list))
	}
}

type rawResp struct {
	StatusCode int
	body       string
}

// raw sends a request with a fresh token, bypassing the client's encoding.
func (e *env) raw(t *testing.T, method, path, body string) rawResp {
	t.Helper()
	tok, err := e.client.Authenticate(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(method, e.sb.APIURL()+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return rawResp{resp.StatusCode, string(b)}
}

func TestUnknownOrdersAreA400LikeCDEK(t *testing.T) {
	e := newEnv(t)
	_, err := e.client.Order(e.ctx, "00000000-0000-4000-8000-000000000000")
	var ce *Error
	if !errors.As(err, &ce) || ce.Code != CodeEntityNotFound || ce.HTTPStatus != 400 {
		t.Errorf("unknown uuid: %v", err)
	}
	_, err = e.client.OrderByNumber(e.ctx, "NOPE")
	if !errors.As(err, &ce) || ce.Code != CodeEntityNotFoundImNumber {
		t.Errorf("unknown number: %v", err)
	}
	if r := e.raw(t, http.MethodGet, "/orders", ""); r.StatusCode != 400 || !strings.Contains(r.body, CodeParametersEmpty) {
		t.Errorf("no filter: %d %s", r.StatusCode, r.body)
	}
}

func TestTokensAreCheckedCachedAndRenewed(t *testing.T) {
	e := newEnv(t)
	msg, err := e.client.TestConnection(e.ctx)
	if err != nil || msg != "Connected: token valid for 3600 s" {
		t.Errorf("TestConnection = %q, %v", msg, err)
	}
	bad := New(Config{BaseURL: e.sb.APIURL(), ClientID: DemoClientID, ClientSecret: "nope"})
	_, err = bad.TestConnection(e.ctx)
	var ce *Error
	if !errors.As(err, &ce) || ce.Code != CodeInvalidClient || ce.HTTPStatus != 401 {
		t.Errorf("bad secret: %v", err)
	}
	// Query-string credentials work too (some integrations send them so).
	resp, err := http.Post(e.sb.APIURL()+"/oauth/token?grant_type=client_credentials&client_id="+DemoClientID+"&client_secret="+DemoClientSecret, "", nil)
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("query credentials: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()

	id := e.register("ORD-TOK")
	before := e.tokens.Load()
	e.client.Order(e.ctx, id)
	e.client.Order(e.ctx, id)
	if n := e.tokens.Load() - before; n != 0 {
		t.Errorf("cached token not reused: %d new tokens", n)
	}
	e.sb.ExpireTokens()
	if _, err := e.client.Order(e.ctx, id); err != nil {
		t.Fatalf("after ExpireTokens: %v", err)
	}
	if n := e.tokens.Load() - before; n != 1 {
		t.Errorf("after expiry: %d new tokens, want 1", n)
	}
	// A token past its lifetime is refused with v2_token_expired.
	tok, _ := e.client.Authenticate(e.ctx)
	e.clock.Add(2 * time.Hour)
	req, _ := http.NewRequest(http.MethodGet, e.sb.APIURL()+"/orders/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	r, _ := http.DefaultClient.Do(req)
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != 401 || !strings.Contains(string(b), CodeTokenExpired) {
		t.Errorf("old token: %d %s", r.StatusCode, b)
	}
	noAuth, _ := http.Get(e.sb.APIURL() + "/orders/" + id)
	if noAuth.StatusCode != 401 {
		t.Errorf("no token: %d", noAuth.StatusCode)
	}
	noAuth.Body.Close()
}

func TestSwitchesFailAndSlowTheAPI(t *testing.T) {
	e := newEnv(t)
	id := e.register("ORD-F")
	e.sb.FailNext()
	_, err := e.client.Order(e.ctx, id)
	var ce *Error
	if !errors.As(err, &ce) || ce.Code != CodeInternalError || !ce.Temporary() || ce.HTTPStatus != 500 {
		t.Errorf("fail next: %v", err)
	}
	if _, err := e.client.Order(e.ctx, id); err != nil {
		t.Errorf("the call after the failure: %v", err)
	}
	e.sb.SetLatency(300 * time.Millisecond)
	short, cancel := context.WithTimeout(e.ctx, 30*time.Millisecond)
	defer cancel()
	_, err = e.client.Order(short, id)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(Explain(err), "in time") {
		t.Errorf("slow: %v / %q", err, Explain(err))
	}
	e.sb.SetLatency(0)
}

func TestWebhooksAreRetriedAndCanBeDuplicated(t *testing.T) {
	e := newEnv(t)
	// Subscribing again replaces the URL of the same type.
	if _, err := e.client.SubscribeWebhook(e.ctx, e.rc.srv.URL+"/cdek/webhook?secret=s3cr3t&v=2"); err != nil {
		t.Fatal(err)
	}
	if hooks, _ := e.sb.Webhooks(); len(hooks) != 1 || !strings.HasSuffix(hooks[0].URL, "v=2") {
		t.Errorf("webhooks = %+v", hooks)
	}
	if _, err := e.client.SubscribeWebhook(e.ctx, "not a url"); err == nil {
		t.Error("a bad URL was accepted")
	}
	e.rc.mu.Lock()
	e.rc.failNext = 1
	e.rc.mu.Unlock()
	id := e.register("ORD-W")
	e.sb.CompleteRegistration(e.ctx, id)
	ds, _ := e.sb.Deliveries(id)
	if len(ds) != 1 || ds[0].Delivered || !strings.Contains(ds[0].LastError, "503") {
		t.Fatalf("deliveries = %+v", ds)
	}
	if n, err := e.sb.ResendWebhooks(e.ctx); n != 1 || err != nil {
		t.Fatalf("ResendWebhooks = %d, %v", n, err)
	}
	if err := e.sb.ResendWebhook(e.ctx, id); err != nil {
		t.Fatal(err)
	}
	e.rc.mu.Lock()
	defer e.rc.mu.Unlock()
	if len(e.rc.raw) != 2 || e.rc.raw[0] != e.rc.raw[1] {
		t.Errorf("duplicate webhook not byte-identical: %q", e.rc.raw)
	}
}

func TestControlPageShowsShipmentsAndSetsSwitches(t *testing.T) {
	e := newEnv(t)
	id := e.register("ORD-C")
	browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	page := func() string {
		resp, err := browser.Get(e.sb.BaseURL() + "/")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("control page: %d", resp.StatusCode)
		}
		return string(b)
	}
	if p := page(); !strings.Contains(p, `data-testid="sandbox-order-row"`) || !strings.Contains(p, "ORD-C") || !strings.Contains(p, `data-testid="sandbox-complete"`) {
		t.Fatalf("page:\n%s", p)
	}
	post := func(v url.Values) {
		t.Helper()
		resp, err := browser.PostForm(e.sb.BaseURL()+"/_control", v)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "./" {
			t.Fatalf("POST %v: %d", v, resp.StatusCode)
		}
	}
	post(url.Values{"action": {"complete"}, "uuid": {id}})
	post(url.Values{"action": {"advance"}, "uuid": {id}})
	o, _ := e.sb.Order(id)
	if o.CDEKNumber == "" || o.Current().Code != StatusReceivedAtShipmentWarehouse {
		t.Errorf("after the control page: %+v", o)
	}
	post(url.Values{"action": {"reject_next"}})
	post(url.Values{"action": {"fail_next"}})
	post(url.Values{"action": {"latency"}, "ms": {"7"}})
	if sw := e.sb.Switches(); !sw.RejectNextRegistration || !sw.FailNext || sw.Latency != 7*time.Millisecond {
		t.Errorf("switches = %+v", sw)
	}
	post(url.Values{"action": {"clear"}})
	post(url.Values{"action": {"latency"}, "ms": {"0"}})
	if sw := e.sb.Switches(); sw.RejectNextRegistration || sw.FailNext {
		t.Errorf("switches after clear = %+v", sw)
	}
	if p := page(); !strings.Contains(p, o.CDEKNumber) {
		t.Error("the track number is not shown")
	}
}

func TestSandboxStateSurvivesARestart(t *testing.T) {
	e := newEnv(t)
	id := e.register("ORD-R")
	e.sb.CompleteRegistration(e.ctx, id)
	again, err := NewSandbox(e.db, SandboxConfig{Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	o, err := again.Order(id)
	if err != nil || o.CDEKNumber == "" || o.State != StateSuccessful || len(o.Statuses) != 2 {
		t.Fatalf("after restart: %+v, %v", o, err)
	}
	if hooks, _ := again.Webhooks(); len(hooks) != 1 {
		t.Errorf("webhooks lost: %v", hooks)
	}
	if _, err := again.Order("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown: %v", err)
	}
	next := e.register("ORD-R2")
	e.sb.CompleteRegistration(e.ctx, next)
	n, _ := again.Order(next)
	if n.CDEKNumber <= o.CDEKNumber {
		t.Errorf("track numbers must grow: %s after %s", n.CDEKNumber, o.CDEKNumber)
	}
}
