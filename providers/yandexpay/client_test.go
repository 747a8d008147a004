package yandexpay

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"orderdesk/providers/internal/wire"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestFormatMinor(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{0, "0.00"}, {5, "0.05"}, {12345, "123.45"}, {100, "1.00"}, {-5, "-0.05"}, {-12345, "-123.45"},
	}
	for _, tt := range tests {
		if got := FormatMinor(tt.in); got != tt.want {
			t.Errorf("FormatMinor(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseMinor(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"123.45", 12345, false}, {"123.4", 12340, false}, {"123", 12300, false}, {"0.05", 5, false},
		{"-1.50", -150, false}, {"1.500", 150, false}, {".5", 50, false}, {" 7.00 ", 700, false},
		{"1.005", 0, true}, {"", 0, true}, {"abc", 0, true}, {"1,00", 0, true}, {"-", 0, true}, {".", 0, true},
		{"1e3", 0, true}, {"99999999999999999999", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseMinor(tt.in)
		if (err != nil) != tt.wantErr || (!tt.wantErr && got != tt.want) {
			t.Errorf("ParseMinor(%q) = %d, %v; want %d, err=%v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestAmountAcceptsStringAndNumber(t *testing.T) {
	var v struct {
		A wire.MoneyString `json:"a"`
		B wire.MoneyString `json:"b"`
	}
	if err := json.Unmarshal([]byte(`{"a":"12.30","b":12.3}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.A != 1230 || v.B != 1230 {
		t.Fatalf("got %d and %d, want 1230 twice", v.A, v.B)
	}
}

func TestStage(t *testing.T) {
	tests := map[PaymentStatus]string{
		StatusPending: "pending", StatusAuthorized: "processing", StatusCaptured: "completed",
		StatusConfirmed: "completed", StatusVoided: "canceled", StatusRefunded: "refunded",
		StatusPartiallyRefunded: "partially_refunded", StatusFailed: "failed", "captured": "completed",
		"SOMETHING_NEW": "",
	}
	for in, want := range tests {
		if got := Stage(in); got != want {
			t.Errorf("Stage(%q) = %q, want %q", in, got, want)
		}
	}
	if IsFinal(StatusPending) || IsFinal(StatusAuthorized) || !IsFinal(StatusCaptured) || !IsFinal(StatusFailed) {
		t.Error("IsFinal is wrong for PENDING/AUTHORIZED/CAPTURED/FAILED")
	}
}

func TestJWKSURL(t *testing.T) {
	tests := map[string]string{
		SandboxBaseURL:          "https://sandbox.pay.yandex.ru/api/jwks",
		ProductionBaseURL + "/": "https://pay.yandex.ru/api/jwks",
		"http://localhost:8080/sandbox/yandexpay/api/merchant": "http://localhost:8080/sandbox/yandexpay/api/jwks",
		"https://example.test/other":                           "https://example.test/api/jwks",
	}
	for in, want := range tests {
		if got := JWKSURL(in); got != want {
			t.Errorf("JWKSURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// RFC 7515 Appendix A.3: the published ES256 JWS and its key. ECDSA signatures
// are randomised, so a fixed vector can only pin verification.
const (
	rfcToken = "eyJhbGciOiJFUzI1NiJ9." +
		"eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ." +
		"DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"
	rfcX = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"
	rfcY = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
)

func TestVerifyES256KnownAnswerRFC7515(t *testing.T) {
	pub, err := JWK{Kty: "EC", Crv: "P-256", X: rfcX, Y: rfcY}.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	h, payload, sig, signed, err := splitES256(rfcToken)
	if err != nil {
		t.Fatal(err)
	}
	if h.Alg != "ES256" || !strings.Contains(string(payload), `"iss":"joe"`) {
		t.Fatalf("header %+v payload %s", h, payload)
	}
	if !verifyES256(pub, signed, sig) {
		t.Fatal("the RFC 7515 A.3 signature does not verify")
	}
	sig[10] ^= 1
	if verifyES256(pub, signed, sig) {
		t.Fatal("a changed signature verifies")
	}
	// Round trip of the JWK encoding.
	jwk, err := NewJWK("k", pub)
	if err != nil || jwk.X != rfcX || jwk.Y != rfcY {
		t.Fatalf("NewJWK = %+v, %v", jwk, err)
	}
}

func TestParseWebhookRFCTokenIsExpired(t *testing.T) {
	pub, _ := JWK{Kty: "EC", Crv: "P-256", X: rfcX, Y: rfcY}.PublicKey()
	// The RFC token has no kid; an empty kid finds the key.
	_, err := ParseWebhook(context.Background(), []byte(rfcToken), StaticKeys{"": pub}, "")
	if !errors.Is(err, ErrExpired) {
		t.Fatalf("err = %v, want ErrExpired (exp 1300819380 is in 2011)", err)
	}
	ev, err := parseWebhookAt(context.Background(), []byte(rfcToken), StaticKeys{"": pub}, "", time.Unix(1300819000, 0))
	if err != nil || ev == nil {
		t.Fatalf("before exp: %v", err)
	}
}

func testKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func docPayload(merchant string) map[string]any {
	// The decoded example from Yandex's webhook documentation.
	return map[string]any{
		"merchantId": merchant,
		"event":      "ORDER_STATUS_UPDATED",
		"eventTime":  "2023-11-26T08:11:09.359370+00:00",
		"order":      map[string]any{"orderId": "700aa3f04df64b3b8712d6b51f752e8b", "paymentStatus": "CAPTURED"},
	}
}

func TestParseWebhook(t *testing.T) {
	key, other := testKey(t), testKey(t)
	keys := StaticKeys{"k1": &key.PublicKey}
	now := time.Now()
	good, err := signES256(key, "k1", docPayload("m-1"), now, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("a valid token gives the event", func(t *testing.T) {
		ev, err := ParseWebhook(context.Background(), []byte(good+"\n"), keys, "m-1")
		if err != nil {
			t.Fatal(err)
		}
		if ev.Event != "ORDER_STATUS_UPDATED" || ev.Order.OrderID != "700aa3f04df64b3b8712d6b51f752e8b" ||
			ev.Order.PaymentStatus != StatusCaptured || ev.MerchantID != "m-1" {
			t.Fatalf("event = %+v", ev)
		}
		if want := time.Date(2023, 11, 26, 8, 11, 9, 359370000, time.UTC); !ev.EventTime.Equal(want) {
			t.Fatalf("EventTime = %v, want %v", ev.EventTime, want)
		}
	})
	forged, _ := signES256(other, "k1", docPayload("m-1"), now, 5*time.Minute)
	expired, _ := signES256(key, "k1", docPayload("m-1"), now.Add(-time.Hour), 5*time.Minute)
	unknownKid, _ := signES256(key, "k2", docPayload("m-1"), now, 5*time.Minute)
	parts := strings.Split(good, ".")
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"merchantId":"m-1","order":{"orderId":"x","paymentStatus":"CAPTURED"}}`)) + "." + parts[2]
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","kid":"k1"}`)) + "." + parts[1] + "."
	hs := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","kid":"k1"}`)) + "." + parts[1] + "." + parts[2]
	noExpHeader := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"ES256","kid":"k1"}`))
	noExp := signRaw(t, key, noExpHeader, parts[1])
	tests := []struct {
		name  string
		token string
		merch string
		want  error
	}{
		{"a token signed by another key is refused", forged, "m-1", ErrBadSignature},
		{"a changed payload is refused", tampered, "m-1", ErrBadSignature},
		{"alg none is refused", none, "m-1", ErrBadSignature},
		{"alg HS256 is refused", hs, "m-1", ErrBadSignature},
		{"an unknown kid is refused", unknownKid, "m-1", ErrBadSignature},
		{"an expired token is refused", expired, "m-1", ErrExpired},
		{"a token without exp is refused", noExp, "m-1", ErrExpired},
		{"a token for another merchant is refused", good, "m-2", ErrMerchantMismatch},
		{"garbage is refused", "not a jwt", "m-1", ErrBadSignature},
		{"an empty body is refused", "", "m-1", ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseWebhook(context.Background(), []byte(tt.token), keys, tt.merch)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if Explain(err) == "" {
				t.Fatal("Explain gives nothing")
			}
		})
	}
}

func signRaw(t *testing.T, key *ecdsa.PrivateKey, h, p string) string {
	t.Helper()
	signed := h + "." + p
	sum := sha256.Sum256([]byte(signed))
	r, s, err := ecdsa.Sign(rand.Reader, key, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestJWKSCacheFetchesAndRateLimits(t *testing.T) {
	key := testKey(t)
	jwk, _ := NewJWK("k1", &key.PublicKey)
	var fetches atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		_ = json.NewEncoder(w).Encode(JWKS{Keys: []JWK{jwk, {Kty: "RSA", Kid: "rsa"}}})
	}))
	defer srv.Close()
	c := NewJWKSCache(srv.URL, srv.Client())
	for range 3 {
		got, err := c.Key(context.Background(), "k1")
		if err != nil || !got.Equal(&key.PublicKey) {
			t.Fatalf("Key = %v, %v", got, err)
		}
	}
	for range 3 {
		if _, err := c.Key(context.Background(), "forged"); !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("err = %v, want ErrUnknownKey", err)
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Fatalf("fetched %d times, want 1 (cached, and unknown kids rate-limited)", n)
	}
}

func TestErrorAndExplain(t *testing.T) {
	e := &Error{HTTPStatus: 401, ReasonCode: "UNAUTHORIZED", Reason: "bad key"}
	if !strings.HasPrefix(e.Error(), "yandexpay: ") {
		t.Errorf("Error() = %q, want the provider prefix", e.Error())
	}
	if got := Explain(e); !strings.Contains(got, "API key") {
		t.Errorf("Explain(401) = %q", got)
	}
	if got := Explain(&Error{HTTPStatus: 400, ReasonCode: "ORDER_NOT_FOUND"}); !strings.Contains(got, "does not know") {
		t.Errorf("Explain(ORDER_NOT_FOUND) = %q", got)
	}
	if got := Explain(&Error{HTTPStatus: 502}); !strings.Contains(got, "internal problem") {
		t.Errorf("Explain(502) = %q", got)
	}
	if Explain(nil) != "" {
		t.Error("Explain(nil) is not empty")
	}
}

func TestNewRequestIDIsUUIDv4(t *testing.T) {
	id := newRequestID()
	if len(id) != 36 || id[14] != '4' || strings.Count(id, "-") != 4 {
		t.Fatalf("id = %q", id)
	}
	if id == newRequestID() {
		t.Fatal("two ids are equal")
	}
}

func FuzzParseWebhook(f *testing.F) {
	key := testKey(f)
	keys := StaticKeys{"k1": &key.PublicKey}
	good, err := signES256(key, "k1", docPayload("m-1"), time.Now(), time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(good))
	f.Add([]byte(rfcToken))
	f.Add([]byte(""))
	f.Add([]byte("a.b.c"))
	f.Add([]byte("eyJhbGciOiJFUzI1NiJ9.e30." + strings.Repeat("A", 86)))
	f.Add([]byte(good[:len(good)-3]))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := ParseWebhook(context.Background(), body, keys, "m-1")
		if err == nil && (ev == nil || ev.MerchantID != "m-1") {
			t.Fatalf("accepted %q as %+v", body, ev)
		}
		// Whatever is accepted must carry exactly the payload we signed.
		if err == nil && (ev.Order.OrderID != "700aa3f04df64b3b8712d6b51f752e8b" || ev.Order.PaymentStatus != StatusCaptured) {
			t.Fatalf("accepted a payload we did not sign: %q", body)
		}
	})
}
