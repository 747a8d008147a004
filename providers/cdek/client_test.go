package cdek

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"orderdesk/providers/internal/wire"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestMoneyConvertsExactly(t *testing.T) {
	for in, want := range map[string]int64{"1500.50": 150050, "1500.5": 150050, "1500": 150000, "0.01": 1, "-3.00": -300, "2.500": 250} {
		if got, err := ParseMoney(in); err != nil || got != want {
			t.Errorf("ParseMoney(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "1.005", "1e2", "abc", "1,5", "."} {
		if _, err := ParseMoney(bad); err == nil {
			t.Errorf("ParseMoney(%q) accepted it", bad)
		}
	}
	b, _ := json.Marshal(wireItem{Cost: 150050, Payment: wireValue{Value: 5}})
	if !strings.Contains(string(b), `"cost":1500.50`) || !strings.Contains(string(b), `"payment":{"value":0.05}`) {
		t.Errorf("wire item = %s", b)
	}
	var m wire.Money
	if err := json.Unmarshal([]byte(`"99.90"`), &m); err != nil || m != 9990 {
		t.Errorf("money from a string = %d, %v", m, err)
	}
}

// stub is a scripted CDEK: it issues tokens and answers /orders with a
// handler the test sets.
type stub struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	tokens int
	calls  int
	valid  map[string]bool
	orders func(w http.ResponseWriter, r *http.Request)
}

func newStub(t *testing.T) *stub {
	s := &stub{t: t, valid: map[string]bool{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if r.URL.Path == "/v2/oauth/token" {
			r.ParseForm()
			if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || r.PostForm.Get("grant_type") != "client_credentials" ||
				r.PostForm.Get("client_id") != "acc" || r.PostForm.Get("client_secret") != "pw" {
				w.WriteHeader(401)
				io.WriteString(w, `{"error":"invalid_client","error_description":"Bad credentials"}`)
				return
			}
			s.tokens++
			tok := fmt.Sprintf("tok%d", s.tokens)
			s.valid[tok] = true
			fmt.Fprintf(w, `{"access_token":%q,"token_type":"bearer","expires_in":3599,"scope":"order:all","jti":"j%d"}`, tok, s.tokens)
			return
		}
		s.calls++
		if !s.valid[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")] {
			w.WriteHeader(401)
			io.WriteString(w, `{"requests":[{"type":"AUTH","state":"INVALID","errors":[{"code":"v2_token_expired","message":"expired"}]}]}`)
			return
		}
		s.orders(w, r)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *stub) counts() (tokens, calls int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokens, s.calls
}

func (s *stub) client() *Client {
	return New(Config{BaseURL: s.srv.URL + "/v2/", ClientID: "acc", ClientSecret: "pw"})
}

func TestClientSendsTheDocumentedRequestShape(t *testing.T) {
	s := newStub(t)
	var body map[string]any
	var raw string
	s.orders = func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		raw = string(b)
		json.Unmarshal(b, &body)
		if r.Method != http.MethodPost || r.URL.Path != "/v2/orders" || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("request %s %s %s", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		}
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"entity":{"uuid":"72753031-3d8b-4e7f-9b3b-0a5e2a6f1c11"},"requests":[{"request_uuid":"r1","type":"CREATE","date_time":"2025-03-01T12:00:00+0000","state":"ACCEPTED"}]}`)
	}
	reg, err := s.client().CreateOrder(context.Background(), OrderRequest{
		Number:        "ORD-1001",
		TariffCode:    136,
		DeliveryPoint: "SPB12",
		FromLocation:  &Location{Code: 44, City: "Москва", Address: "ул. Покровка, 11"},
		Recipient:     Contact{Name: "Анна Петрова", Phones: []string{"+79030000002"}},
		Packages: []Package{{Number: "1", Weight: 1200, Length: 30, Width: 20, Height: 10,
			Items: []Item{{Name: "Кроссовки", WareKey: "SKU-1", Cost: 450050, Weight: 1200, Amount: 1}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if reg.UUID != "72753031-3d8b-4e7f-9b3b-0a5e2a6f1c11" || reg.Requests[0].State != StateAccepted || reg.Requests[0].DateTime.IsZero() {
		t.Errorf("registration = %+v", reg)
	}
	if body["number"] != "ORD-1001" || body["tariff_code"] != 136.0 || body["delivery_point"] != "SPB12" {
		t.Errorf("body = %v", body)
	}
	if _, has := body["to_location"]; has {
		t.Error("to_location sent together with delivery_point")
	}
	rec := body["recipient"].(map[string]any)
	if rec["phones"].([]any)[0].(map[string]any)["number"] != "+79030000002" {
		t.Errorf("recipient = %v", rec)
	}
	if !strings.Contains(raw, `"cost":4500.50`) || !strings.Contains(raw, `"payment":{"value":0.00}`) {
		t.Errorf("amounts must be exact decimals: %s", raw)
	}
}

func TestClientReadsOrderInfoTolerantly(t *testing.T) {
	s := newStub(t)
	s.orders = func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("im_number") {
		case "BAD":
			io.WriteString(w, `{"entity":{"uuid":"u2","number":"BAD","statuses":[{"code":"INVALID","name":"Некорректный заказ","date_time":"2025-03-01T12:01:00+0000"}]},
				"requests":[{"type":"CREATE","state":"INVALID","date_time":"2025-03-01T12:00:00+0000","errors":[{"code":"v2_recipient_location_not_recognized","message":"Не удалось определить город получателя"}]}]}`)
			return
		}
		// cdek_number as a number, statuses oldest first, mixed date shapes.
		io.WriteString(w, `{"entity":{"uuid":"u1","number":"ORD-1","cdek_number":1106207236,"tariff_code":"136",
			"statuses":[{"code":"ACCEPTED","name":"Принят","date_time":"2025-03-01T15:00:00+0300","city":"Москва"},
			{"code":"CREATED","name":"Создан","date_time":"2025-03-01T12:05:00.000+0000","city":"Москва"},
			{"code":"SOMETHING_NEW","name":"?","date_time":"not a date"}]},
			"requests":[{"request_uuid":"r","type":"CREATE","state":"SUCCESSFUL","date_time":"2025-03-01T12:00:00+0000"}],"related_entities":[]}`)
	}
	c := s.client()
	o, err := c.Order(context.Background(), "u1")
	if err != nil {
		t.Fatal(err)
	}
	if o.Track() != "1106207236" || o.TariffCode != 136 || o.Pending() || o.CreationError() != nil {
		t.Errorf("order = %+v", o)
	}
	if cur, ok := o.Current(); !ok || cur.Code != StatusCreated {
		t.Errorf("Current = %+v, want CREATED (latest by time, whatever the order)", cur)
	}
	bad, err := c.OrderByNumber(context.Background(), "BAD")
	if err != nil {
		t.Fatal(err)
	}
	ce := bad.CreationError()
	if ce == nil || ce.Code != CodeRecipientLocationUnknown || bad.Pending() || bad.Track() != "" {
		t.Fatalf("rejected order = %+v, CreationError = %v", bad, ce)
	}
	if !strings.Contains(Explain(ce), "recipient's city") {
		t.Errorf("Explain = %q", Explain(ce))
	}
}

func TestClientCachesTheTokenAndRenewsItOnce(t *testing.T) {
	s := newStub(t)
	s.orders = func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"entity":{"uuid":"u"},"requests":[]}`)
	}
	c := s.client()
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if _, err := c.Order(ctx, "u"); err != nil {
			t.Fatal(err)
		}
	}
	if tokens, calls := s.counts(); tokens != 1 || calls != 3 {
		t.Fatalf("tokens %d, calls %d; want 1 token for 3 calls", tokens, calls)
	}
	// CDEK expires the token early: the client gets a new one and repeats.
	s.mu.Lock()
	s.valid = map[string]bool{}
	s.mu.Unlock()
	if _, err := c.Order(ctx, "u"); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	if tokens, calls := s.counts(); tokens != 2 || calls != 5 {
		t.Errorf("tokens %d, calls %d; want a second token and one repeat", tokens, calls)
	}
	// A server that refuses every token: one repeat, then the error.
	s.mu.Lock()
	s.orders = func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(401)
		io.WriteString(w, `{"requests":[{"type":"AUTH","state":"INVALID","errors":[{"code":"v2_token_expired","message":"expired"}]}]}`)
	}
	s.mu.Unlock()
	_, before := s.counts()
	_, err := c.Order(ctx, "u")
	var e *Error
	if _, after := s.counts(); !errors.As(err, &e) || e.Code != CodeTokenExpired || after != before+2 {
		t.Errorf("err = %v after %d calls, want v2_token_expired after 2", err, after-before)
	}
	// A token close to its expiry is replaced before use.
	clock := time.Now()
	c2 := New(Config{BaseURL: s.srv.URL + "/v2", ClientID: "acc", ClientSecret: "pw", Now: func() time.Time { return clock }})
	c2.Authenticate(ctx)
	n, _ := s.counts()
	clock = clock.Add(3599*time.Second - tokenMargin)
	c2.bearer(ctx)
	if m, _ := s.counts(); m != n+1 {
		t.Error("a token at the end of its life was used instead of renewed")
	}
}

func TestClientReturnsCDEKErrors(t *testing.T) {
	s := newStub(t)
	s.orders = func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v2/orders/missing":
			w.WriteHeader(400)
			io.WriteString(w, `{"requests":[{"type":"GET","date_time":"2025-03-01T12:00:00+0000","state":"INVALID","errors":[{"code":"v2_entity_not_found","additional_code":"0x7B","message":"Entity is not found by uuid missing"}]}],"related_entities":[]}`)
		case "/v2/orders/flat":
			w.WriteHeader(400)
			io.WriteString(w, `{"errors":[{"code":"v2_internal_error","message":"boom"}]}`)
		case "/v2/orders/html":
			w.WriteHeader(502)
			io.WriteString(w, `<html>502 Bad Gateway</html>`)
		}
	}
	c := s.client()
	get := func(id string) *Error {
		t.Helper()
		_, err := c.Order(context.Background(), id)
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("%s: err = %v, want *Error", id, err)
		}
		if !strings.HasPrefix(e.Error(), "cdek: ") {
			t.Errorf("Error() = %q", e.Error())
		}
		return e
	}
	if e := get("missing"); e.Code != CodeEntityNotFound || e.HTTPStatus != 400 || e.Temporary() || !strings.Contains(Explain(e), "no shipment") {
		t.Errorf("not found = %+v", e)
	}
	if e := get("flat"); e.Code != CodeInternalError || !e.Temporary() {
		t.Errorf("flat errors = %+v", e)
	}
	if e := get("html"); e.Code != "" || e.HTTPStatus != 502 || !e.Temporary() || !strings.Contains(e.Message, "Bad Gateway") {
		t.Errorf("html = %+v", e)
	}
	bad := New(Config{BaseURL: s.srv.URL + "/v2", ClientID: "acc", ClientSecret: "wrong"})
	_, err := bad.TestConnection(context.Background())
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeInvalidClient || e.Message != "Bad credentials" || !strings.Contains(Explain(err), "account and secure password") {
		t.Errorf("bad credentials: %v / %q", err, Explain(err))
	}
}

func TestExplainSpeaksPlainEnglish(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&Error{Code: CodeInvalidClient}, "account and secure password"},
		{&Error{Code: CodeTokenExpired, HTTPStatus: 401}, "account and secure password"},
		{&Error{Code: CodeEntityNotFoundImNumber}, "no shipment"},
		{&Error{Code: CodeEntityForbidden}, "another CDEK account"},
		{&Error{Code: CodeSenderLocationUnknown}, "sender's city"},
		{&Error{Code: CodeFieldIsEmpty, Message: "Field 'tariff_code' is empty"}, "required field is missing or has a wrong format): Field 'tariff_code' is empty"},
		{&Error{Code: CodeSimilarRequestStillInWork}, "still processing"},
		{&Error{Code: CodeDeliveryPointNotFound}, "pick-up point is closed"},
		{&Error{Code: CodeTariffNotFound}, "tariff is not available"},
		{&Error{Problems: []Problem{{Code: CodeFieldIsEmpty}, {Code: CodeCityNotFound}}, Code: CodeFieldIsEmpty}, "does not deliver to this city"},
		{&Error{Code: CodeImNumberUsed}, "not registered twice"},
		{&Error{HTTPStatus: 503}, "server is having trouble"},
		{&Error{Code: "v2_brand_new"}, "v2_brand_new"},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), "did not answer in time"},
		{errors.New("dial tcp: refused"), "network problem"},
	}
	for _, tt := range tests {
		if got := Explain(tt.err); !strings.Contains(got, tt.want) {
			t.Errorf("Explain(%v) = %q, want it to contain %q", tt.err, got, tt.want)
		}
	}
	if Explain(nil) != "" {
		t.Error("Explain(nil) is not empty")
	}
}

func TestParseWebhookReadsOrderStatus(t *testing.T) {
	// The payload shape of CDEK's ORDER_STATUS webhook (type, uuid and
	// attributes.code confirmed; the rest as integrations decode it).
	body := []byte(`{"type":"ORDER_STATUS","date_time":"2021-09-18T22:31:02+0300","uuid":"72753031-3d8b-4e7f-9b3b-0a5e2a6f1c11",
		"attributes":{"is_return":false,"cdek_number":"1106207236","number":"ORD-1001","code":"DELIVERED","status_code":"4",
		"status_date_time":"2021-09-18T22:31:02+0300","city_name":"Санкт-Петербург","city_code":137}}`)
	wh, err := ParseWebhook(body)
	if err != nil {
		t.Fatal(err)
	}
	a := wh.Attributes
	if wh.Type != WebhookOrderStatus || wh.UUID == "" || a.Code != StatusDelivered || a.CDEKNumber != "1106207236" || a.Number != "ORD-1001" || a.CityCode != "137" {
		t.Errorf("webhook = %+v", wh)
	}
	if want := time.Date(2021, 9, 18, 19, 31, 2, 0, time.UTC); !a.StatusDateTime.Equal(want) {
		t.Errorf("StatusDateTime = %v", a.StatusDateTime)
	}
	old, err := ParseWebhook([]byte(`{"type":"ORDER_STATUS","uuid":"u","attributes":{"status_code":"CREATED","is_return":"true"}}`))
	if err != nil || old.Attributes.Code != StatusCreated || !old.Attributes.IsReturn {
		t.Errorf("deprecated status_code: %+v, %v", old, err)
	}
	other, err := ParseWebhook([]byte(`{"type":"PRINT_FORM","attributes":{"url":"x"}}`))
	if err != nil || other.Type != "PRINT_FORM" {
		t.Errorf("other types must pass through: %+v, %v", other, err)
	}
	for _, bad := range []string{``, `[]`, `{}`, `{"type":"ORDER_STATUS"}`, `{"type":"ORDER_STATUS","uuid":"u"} x`} {
		if _, err := ParseWebhook([]byte(bad)); err == nil {
			t.Errorf("ParseWebhook(%q) accepted it", bad)
		}
	}
}

func FuzzParseWebhook(f *testing.F) {
	f.Add([]byte(`{"type":"ORDER_STATUS","date_time":"2021-09-18T22:31:02+0300","uuid":"u","attributes":{"code":"CREATED","cdek_number":1106207236}}`))
	f.Add([]byte(`{"type":"ORDER_STATUS","uuid":"u","attributes":{"status_code":4,"is_return":1,"status_date_time":null}}`))
	f.Add([]byte(`{"type":"PRINT_FORM"}`))
	f.Add([]byte(`{"type":"ORDER_STATUS","uuid":"u","attributes":{"is_return":"maybe"}}`))
	f.Add([]byte(`{"type":1}`))
	f.Add([]byte{0xff})
	f.Fuzz(func(t *testing.T, body []byte) {
		wh, err := ParseWebhook(body)
		if err != nil {
			if wh != nil {
				t.Fatal("non-nil webhook with an error")
			}
			return
		}
		if wh.Type == "" || (wh.Type == WebhookOrderStatus && wh.UUID == "") {
			t.Fatalf("accepted %q as %+v", body, wh)
		}
	})
}
