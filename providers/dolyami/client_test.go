package dolyami

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math"
	"math/big"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestKopecksBecomeRoublesExactly(t *testing.T) {
	tests := []struct {
		kopecks int64
		want    string
	}{
		{0, "0.00"}, {1, "0.01"}, {29, "0.29"}, {100, "1.00"}, {150050, "1500.50"},
		{-5, "-0.05"}, {math.MaxInt64, "92233720368547758.07"}, {math.MinInt64, "-92233720368547758.08"},
	}
	for _, tt := range tests {
		if got := formatRubles(tt.kopecks); got != tt.want {
			t.Errorf("formatRubles(%d) = %q, want %q", tt.kopecks, got, tt.want)
		}
	}
}

func TestRoublesBecomeKopecksExactly(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"1500.50", 150050}, {"1500.5", 150050}, {"1500", 150000}, {"0.29", 29}, {"0.010", 1},
		{"1e3", 100000}, {"1.5E+3", 150000}, {"15e-1", 150}, {"1500,50", 150050}, {"-2", -200},
		{" 7.00 ", 700}, {".5", 50}, {"92233720368547758.07", math.MaxInt64},
	}
	for _, tt := range tests {
		got, err := parseRubles(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("parseRubles(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", ".", "-", "abc", "0.001", "1.2.3", "1e", "1e999", "0x10", "1/2", "92233720368547758.08", "1_000", "NaN"} {
		if got, err := parseRubles(bad); err == nil {
			t.Errorf("parseRubles(%q) = %d, want an error", bad, got)
		}
	}
	// The trap a float would fall into: 0.29 × 100 = 28.999… in binary.
	var m money
	if err := json.Unmarshal([]byte(`0.29`), &m); err != nil || m != 29 {
		t.Errorf("0.29 roubles = %d kopecks, %v", m, err)
	}
}

func TestMoneyRoundTripsThroughJSON(t *testing.T) {
	for k := int64(-1000); k <= 200000; k += 7 {
		b, err := json.Marshal(money(k))
		if err != nil {
			t.Fatal(err)
		}
		var back money
		if err := json.Unmarshal(b, &back); err != nil || int64(back) != k {
			t.Fatalf("%d → %s → %d, %v", k, b, back, err)
		}
	}
	var m money
	if err := json.Unmarshal([]byte(`"1500.50"`), &m); err != nil || m != 150050 {
		t.Errorf("a string amount: %d, %v", m, err)
	}
	if err := json.Unmarshal([]byte(`null`), &m); err != nil || m != 0 {
		t.Errorf("null: %d, %v", m, err)
	}
}

func FuzzMoneyRoundTrip(f *testing.F) {
	f.Add(int64(0))
	f.Add(int64(150050))
	f.Add(int64(math.MinInt64))
	f.Fuzz(func(t *testing.T, k int64) {
		got, err := parseRubles(formatRubles(k))
		if err != nil || got != k {
			t.Fatalf("%d → %q → %d, %v", k, formatRubles(k), got, err)
		}
	})
}

var uuid4RE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestClientSpeaksTheWireFormat(t *testing.T) {
	var raw string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/orders/create" {
			t.Errorf("request %s %s", r.Method, r.URL.Path)
		}
		if u, p, ok := r.BasicAuth(); !ok || u != "login" || p != "secret" {
			t.Errorf("Basic auth = %q %q %v", u, p, ok)
		}
		if cid := r.Header.Get("X-Correlation-ID"); !uuid4RE.MatchString(cid) {
			t.Errorf("X-Correlation-ID %q is not a UUID v4", cid)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
		b, _ := io.ReadAll(r.Body)
		raw = string(b)
		// Amounts as strings and numbers: both are tolerated.
		io.WriteString(w, `{"status":"new","amount":"1500.50","residual_amount":1500.5,"link":"https://dolyame.example/l/1",
			"payment_schedule":[{"amount":375.14,"date":"2025-03-01","status":"scheduled"}],"surprise":{"x":1}}`)
	}))
	defer srv.Close()
	c, err := New(Config{BaseURL: srv.URL + "/v1/", Login: "login", Password: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.CreateOrder(context.Background(), CreateRequest{
		Order: Order{ID: "ORD-1", Amount: 150050, Items: []Item{
			{Name: "Чайник", Quantity: 2, Price: 50025, SKU: "T-1"},
			{Name: "Чашка", Quantity: 1, Price: 50000},
		}},
		ClientInfo:      ClientInfo{Phone: "+79990000000"},
		NotificationURL: "https://shop.example/hooks/dolyami",
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"amount":1500.50`, `"prepaid_amount":0.00`, `"price":500.25`, `"quantity":2`, `"sku":"T-1"`,
		`"client_info":{"phone":"+79990000000"}`, `"notification_url":"https://shop.example/hooks/dolyami"`} {
		if !strings.Contains(raw, want) {
			t.Errorf("request body %s lacks %s", raw, want)
		}
	}
	if res.ID != "ORD-1" || res.Status != StatusNew || res.Amount != 150050 || res.ResidualAmount != 150050 ||
		len(res.PaymentSchedule) != 1 || res.PaymentSchedule[0].Amount != 37514 {
		t.Errorf("answer = %+v", res)
	}
}

func TestClientReadsBothErrorShapes(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     string
		wantCode string
		wantText string
		explain  string
	}{
		{"code, type and description", 409, `{"code":"wrong_order_status","type":"error","description":"Order is committed"}`,
			codeWrongStatus, "dolyami: HTTP 409 wrong_order_status: Order is committed", "not in a state"},
		{"message only", 400, `{"message":"amount is required"}`, "", "dolyami: HTTP 400: amount is required", "invalid"},
		{"a numeric code", 401, `{"code":401,"message":"Unauthorized"}`, "401", "dolyami: HTTP 401 401: Unauthorized", "login or password"},
		{"an HTML page", 502, `<html>bad gateway</html>`, "", "dolyami: HTTP 502: <html>bad gateway</html>", "server is having trouble"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			c, _ := New(Config{BaseURL: srv.URL, Login: "l", Password: "p"})
			_, err := c.Info(WithCorrelationID(context.Background(), "cid-1"), "ORD-1")
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if e.Code != tt.wantCode || e.Error() != tt.wantText || e.CorrelationID != "cid-1" {
				t.Errorf("got code %q, %q, cid %q", e.Code, e.Error(), e.CorrelationID)
			}
			if !strings.Contains(Explain(err), tt.explain) {
				t.Errorf("Explain = %q, want it to mention %q", Explain(err), tt.explain)
			}
		})
	}
}

// selfSigned returns a certificate and key in PEM form.
func selfSigned(t *testing.T, cn string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}

func TestClientPresentsItsCertificateForMutualTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TLS.PeerCertificates) == 0 || r.TLS.PeerCertificates[0].Subject.CommonName != "orderdesk-shop" {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		io.WriteString(w, `{"status":"approved","amount":10.00,"residual_amount":7.50}`)
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	srv.StartTLS()
	defer srv.Close()
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	certPEM, keyPEM := selfSigned(t, "orderdesk-shop")

	c, err := New(Config{BaseURL: srv.URL, Login: "l", Password: "p", TLSConfig: &tls.Config{RootCAs: roots}, CertPEM: certPEM, KeyPEM: keyPEM})
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(context.Background(), "ORD-1")
	if err != nil {
		t.Fatalf("Info over mTLS: %v", err)
	}
	if info.Status != StatusApproved || info.ResidualAmount != 750 {
		t.Errorf("Info = %+v", info)
	}

	noCert, _ := New(Config{BaseURL: srv.URL, Login: "l", Password: "p", TLSConfig: &tls.Config{RootCAs: roots}})
	if _, err := noCert.Info(context.Background(), "ORD-1"); err == nil {
		t.Error("a client without a certificate got through")
	} else if !strings.Contains(Explain(err), "certificate") {
		t.Errorf("Explain = %q", Explain(err))
	}

	if _, err := New(Config{CertPEM: []byte("not a cert"), KeyPEM: keyPEM}); err == nil {
		t.Error("New accepted a broken certificate")
	}
}

func TestParseNotificationIsTolerantOfTheShape(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		id        string
		status    string
		amount    int64
		residual  int64
		schedule  int
		phone     string
		wantError bool
	}{
		{name: "the sandbox's shape",
			body: `{"id":"ORD-1","status":"approved","amount":1500.50,"residual_amount":1125.37,"client_info":{"phone":"+7999"},
				"payment_schedule":[{"amount":375.13,"date":"2025-03-01","status":"paid"},{"amount":375.13,"date":"2025-03-15","status":"scheduled"}]}`,
			id: "ORD-1", status: StatusApproved, amount: 150050, residual: 112537, schedule: 2, phone: "+7999"},
		{name: "order_id as a number, amounts as strings, upper-case status",
			body: `{"order_id":12345,"status":"COMMITTED","amount":"1500,50","residual_amount":"0"}`,
			id:   "12345", status: StatusCommitted, amount: 150050},
		{name: "fields nested in an order object",
			body: `{"order":{"id":"ORD-2","amount":10},"status":"completed","extra":[1,2]}`,
			id:   "ORD-2", status: StatusCompleted, amount: 1000},
		{name: "junk in payment_schedule is skipped",
			body: `{"id":"ORD-3","payment_schedule":[1,"x",{"amount":1}],"client_info":"nope"}`,
			id:   "ORD-3", schedule: 1},
		{name: "no id", body: `{"status":"approved"}`, wantError: true},
		{name: "an amount that is not money", body: `{"id":"x","amount":"ten"}`, wantError: true},
		{name: "sub-kopeck precision", body: `{"id":"x","amount":1.005}`, wantError: true},
		{name: "not an object", body: `["id"]`, wantError: true},
		{name: "trailing data", body: `{"id":"x"} {}`, wantError: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := ParseNotification([]byte(tt.body))
			if tt.wantError {
				if !errors.Is(err, ErrBadNotification) {
					t.Fatalf("err = %v, want ErrBadNotification", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n.ID != tt.id || n.Status != tt.status || n.Amount != tt.amount || n.ResidualAmount != tt.residual || len(n.PaymentSchedule) != tt.schedule {
				t.Errorf("got %+v", n)
			}
			if tt.phone != "" && (n.ClientInfo == nil || n.ClientInfo.Phone != tt.phone) {
				t.Errorf("ClientInfo = %+v", n.ClientInfo)
			}
		})
	}
}

func FuzzParseNotification(f *testing.F) {
	f.Add([]byte(`{"id":"ORD-1","status":"approved","amount":1500.50,"residual_amount":1125.37,"client_info":{"phone":"+7999"},"payment_schedule":[{"amount":375.13,"date":"2025-03-01","status":"paid"}]}`))
	f.Add([]byte(`{"order_id":12345,"status":"COMMITTED","amount":"1500,50"}`))
	f.Add([]byte(`{"order":{"id":"x","amount":1e99}}`))
	f.Add([]byte(`{"id":"x","amount":1e-99,"payment_schedule":{}}`))
	f.Add([]byte(`null`))
	f.Add([]byte{'{', 0xff})
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := ParseNotification(body)
		if err != nil {
			if n != nil || !errors.Is(err, ErrBadNotification) {
				t.Fatalf("n = %v, err = %v", n, err)
			}
			return
		}
		if n.ID == "" {
			t.Fatal("accepted a notification without an order id")
		}
	})
}

func TestStageWaitsForTheCommit(t *testing.T) {
	tests := map[string]string{
		StatusNew: StagePending, StatusApproved: StageProcessing, StatusWaitForCommit: StageProcessing,
		StatusCommitted: StageCompleted, StatusCompleted: StageCompleted, StatusRejected: StageFailed,
		StatusCanceled: StageCanceled, "something_new": StageProcessing,
	}
	for status, want := range tests {
		if got := Stage(status); got != want {
			t.Errorf("Stage(%q) = %q, want %q", status, got, want)
		}
	}
	if !NeedsCommit(StatusApproved) || !NeedsCommit(StatusWaitForCommit) || NeedsCommit(StatusCommitted) {
		t.Error("NeedsCommit is wrong")
	}
	refunded := func(total int64) *OrderInfo {
		return &OrderInfo{Status: StatusCompleted, Amount: 1000, RefundInfo: &RefundInfo{TotalRefundedAmount: total}}
	}
	if got := refunded(300).Stage(); got != StagePartiallyRefunded {
		t.Errorf("partly refunded order: %s", got)
	}
	if got := refunded(1000).Stage(); got != StageRefunded {
		t.Errorf("fully refunded order: %s", got)
	}
	if got := (&OrderInfo{Status: StatusApproved}).Stage(); got != StageProcessing {
		t.Errorf("approved order: %s", got)
	}
}

func TestExplainSpeaksPlainEnglish(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&Error{HTTPStatus: 404, Code: codeOrderNotFound}, "no such order"},
		{&Error{HTTPStatus: 409, Code: codeOrderExists}, "already has an order"},
		{&Error{HTTPStatus: 400, Code: codeAmountMismatch}, "do not add up"},
		{&Error{HTTPStatus: 403}, "certificate"},
		{&Error{HTTPStatus: 429}, "Too many requests"},
		{&Error{HTTPStatus: 503}, "try again"},
		{ErrBadNotification, "could not be read"},
		{context.DeadlineExceeded, "did not answer in time"},
		{errors.New("dial tcp: refused"), "Could not reach Dolyami"},
	}
	for _, tt := range tests {
		if got := Explain(tt.err); !strings.Contains(strings.ToLower(got), strings.ToLower(tt.want)) {
			t.Errorf("Explain(%v) = %q, want it to contain %q", tt.err, got, tt.want)
		}
	}
}
