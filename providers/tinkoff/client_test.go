package tinkoff

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// realNotification is the notification from nikita-vanyasin/tinkoff
// notification_test.go ("with_rebill"), a real DEMO-terminal notification
// signed with the password below.
const realNotification = `{
				"TerminalKey": "1726675329428DEMO",
				"OrderId": "9863471b-8d42-4617-9073-11339159aba9",
				"Success": true,
				"Status": "AUTHORIZED",
				"PaymentId": 5974256058,
				"ErrorCode": "0",
				"Amount": 19900,
				"CardId": 475738102,
				"Pan": "430000******0777",
				"ExpDate": "1230",
				"RebillId": 1741204285536,
				"Token": "16cfc8cd6e8f8fc1d404e3f9984c8058ecdf6eab622a9cc73c2e3824e47124ac"
			}`

const realNotificationPassword = "xxxxxxxxxxxxxxxx"

func TestTokenMatchesTheBanksPublishedInitExample(t *testing.T) {
	// developer.tbank.ru/eacq/intro/developer/token (providers.md §2).
	params := map[string]any{
		"TerminalKey": "MerchantTerminalKey",
		"Amount":      19200,
		"OrderId":     "21090",
		"Description": "Подарочная карта на 1000 рублей",
		// Nested objects never take part in the token.
		"DATA":    map[string]string{"Phone": "+71234567890", "Email": "a@test.com"},
		"Receipt": map[string]any{"Items": []any{map[string]any{"Name": "x"}}},
	}
	got := Token(params, "usaf8fw8fsw21g")
	want := "0024a00af7c350a3a67ca168ce06502aa72772456662e38696d48b56ee9c97d9"
	if got != want {
		t.Fatalf("Token = %s, want %s", got, want)
	}
}

func TestTokenMatchesARealNotification(t *testing.T) {
	var fields map[string]any
	dec := json.NewDecoder(strings.NewReader(realNotification))
	dec.UseNumber()
	if err := dec.Decode(&fields); err != nil {
		t.Fatal(err)
	}
	got := Token(fields, realNotificationPassword)
	want := "16cfc8cd6e8f8fc1d404e3f9984c8058ecdf6eab622a9cc73c2e3824e47124ac"
	if got != want {
		t.Fatalf("Token = %s, want %s", got, want)
	}
}

func TestTokenFormatsValuesLikeTheBank(t *testing.T) {
	sum := func(s string) string {
		h := sha256.Sum256([]byte(s))
		return hex.EncodeToString(h[:])
	}
	tests := []struct {
		name   string
		params map[string]any
		want   string // the concatenation before hashing
	}{
		{"booleans are true and false", map[string]any{"A": true, "B": false}, "truefalsepw"},
		{"numbers are plain decimals, even large floats", map[string]any{"A": float64(5974256058), "B": int64(-3), "C": json.Number("1741204285536")}, "5974256058-31741204285536pw"},
		{"nested objects, arrays and nulls are left out", map[string]any{"A": "a", "DATA": map[string]any{"x": "y"}, "Items": []any{1}, "N": nil}, "apw"},
		{"the Token field itself is left out", map[string]any{"A": "a", "Token": "zzz"}, "apw"},
		{"keys sort bytewise, Password among them", map[string]any{"Amount": 1, "OrderId": "o", "Q": "q"}, "1opwq"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, want := Token(tt.params, "pw"), sum(tt.want); got != want {
				t.Errorf("Token = %s, want sha256(%q) = %s", got, tt.want, want)
			}
		})
	}
}

// sign returns body with a valid Token for password.
func sign(t testing.TB, fields map[string]any, password string) []byte {
	t.Helper()
	fields["Token"] = Token(fields, password)
	b, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseNotificationAcceptsTheRealNotification(t *testing.T) {
	n, err := ParseNotification([]byte(realNotification), realNotificationPassword)
	if err != nil {
		t.Fatalf("ParseNotification: %v", err)
	}
	checks := []struct{ name, got, want string }{
		{"TerminalKey", n.TerminalKey, "1726675329428DEMO"},
		{"OrderID", n.OrderID, "9863471b-8d42-4617-9073-11339159aba9"},
		{"Status", n.Status, StatusAuthorized},
		{"PaymentID", n.PaymentID, "5974256058"},
		{"ErrorCode", string(n.ErrorCode), "0"},
		{"CardID", n.CardID, "475738102"},
		{"Pan", n.Pan, "430000******0777"},
		{"ExpDate", n.ExpDate, "1230"},
		{"RebillID", n.RebillID, "1741204285536"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if !n.Success || n.Amount != 19900 {
		t.Errorf("Success, Amount = %v, %d; want true, 19900", n.Success, n.Amount)
	}
}

func TestParseNotificationRefusesForgeries(t *testing.T) {
	tampered := strings.Replace(realNotification, `"Amount": 19900`, `"Amount": 100`, 1)
	unsigned := strings.Replace(realNotification, `"Token"`, `"Tokn"`, 1)
	tests := []struct {
		name     string
		body     string
		password string
	}{
		{"a changed amount", tampered, realNotificationPassword},
		{"the wrong password", realNotification, "yyyyyyyyyyyyyyyy"},
		{"no Token at all", unsigned, realNotificationPassword},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseNotification([]byte(tt.body), tt.password)
			if !errors.Is(err, ErrBadSignature) {
				t.Fatalf("err = %v, want ErrBadSignature", err)
			}
		})
	}
}

func TestParseNotificationRejectsMalformedBodies(t *testing.T) {
	for _, body := range []string{"", "OK", "[1,2]", "null", `{"a":1} {"b":2}`} {
		_, err := ParseNotification([]byte(body), "pw")
		if err == nil {
			t.Errorf("ParseNotification(%q) succeeded, want an error", body)
		}
	}
}

func TestParseNotificationIsTolerantOfShapes(t *testing.T) {
	t.Run("PaymentId as a string and DATA as an object", func(t *testing.T) {
		body := sign(t, map[string]any{
			"TerminalKey": "T", "OrderId": "o-1", "Success": true, "Status": "CONFIRMED",
			"PaymentId": "123", "ErrorCode": "0", "Amount": 500,
			"DATA": map[string]any{"source": "shop", "n": 1},
		}, "pw")
		n, err := ParseNotification(body, "pw")
		if err != nil {
			t.Fatal(err)
		}
		if n.PaymentID != "123" || n.DATA["source"] != "shop" || n.DATA["n"] != "1" {
			t.Errorf("got PaymentID %q DATA %v", n.PaymentID, n.DATA)
		}
	})
	t.Run("DATA as a JSON string counts in the token", func(t *testing.T) {
		fields := map[string]any{"TerminalKey": "T", "Status": "CONFIRMED", "PaymentId": 1, "DATA": `{"k":"v"}`}
		body := sign(t, fields, "pw")
		n, err := ParseNotification(body, "pw")
		if err != nil {
			t.Fatal(err)
		}
		if n.DATA["k"] != "v" {
			t.Errorf("DATA = %v", n.DATA)
		}
		forged := strings.Replace(string(body), `{\"k\":\"v\"}`, `{\"k\":\"w\"}`, 1)
		if _, err := ParseNotification([]byte(forged), "pw"); !errors.Is(err, ErrBadSignature) {
			t.Errorf("changed DATA string: err = %v, want ErrBadSignature", err)
		}
	})
	t.Run("a fractional Amount is an error, not a crash", func(t *testing.T) {
		body := sign(t, map[string]any{"Status": "CONFIRMED", "Amount": json.Number("10.5")}, "pw")
		if _, err := ParseNotification(body, "pw"); err == nil || errors.Is(err, ErrBadSignature) {
			t.Errorf("err = %v, want a decoding error", err)
		}
	})
}

func TestClientSignsRequestsAndReadsLooseTypes(t *testing.T) {
	var got map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v2/Init" || r.Method != http.MethodPost {
			t.Errorf("request %s %s, want POST /v2/Init", r.Method, r.URL.Path)
		}
		dec := json.NewDecoder(r.Body)
		dec.UseNumber()
		dec.Decode(&got)
		// PaymentId as a number and Amount as a string: both seen in the wild.
		io.WriteString(w, `{"Success":true,"ErrorCode":"0","TerminalKey":"T","Status":"NEW","PaymentId":12345678901,"OrderId":"o-1","Amount":"1050","PaymentURL":"https://pay.example/x"}`)
	}))
	defer srv.Close()
	c := New(Config{BaseURL: srv.URL + "/v2/", TerminalKey: "T", Password: "pw"})
	res, err := c.Init(context.Background(), InitRequest{Amount: 1050, OrderID: "o-1", Description: "d", DATA: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.PaymentID != "12345678901" || res.Amount != 1050 || res.PaymentURL != "https://pay.example/x" {
		t.Errorf("got %+v", res)
	}
	if got["TerminalKey"] != "T" || got["Amount"] != json.Number("1050") {
		t.Errorf("request = %v", got)
	}
	if tok := got["Token"]; tok != Token(got, "pw") {
		t.Errorf("request Token %v does not verify", tok)
	}
	if _, ok := got["DATA"].(map[string]any); !ok {
		t.Errorf("DATA sent as %T, want an object", got["DATA"])
	}
}

func TestClientReturnsTheBanksErrors(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     string
		wantCode ErrorCode
		wantText string
		explain  string
	}{
		{"a wrong token", 200, `{"Success":false,"ErrorCode":"204","Message":"Неверные параметры.","Details":"Неверный токен. Проверьте пару TerminalKey/SecretKey."}`,
			CodeBadToken, "tinkoff: error 204: Неверные параметры. (Неверный токен.", "password"},
		{"a numeric error code", 200, `{"Success":false,"ErrorCode":1051,"Message":"Недостаточно средств на карте"}`,
			CodeInsufficientFunds, "tinkoff: error 1051", "insufficient funds"},
		{"an unknown card decline", 200, `{"Success":false,"ErrorCode":"1099","Message":"Способ оплаты отключен"}`,
			"1099", "tinkoff: error 1099", "declined"},
		{"a gateway failure", 502, `<html>Bad Gateway</html>`, "", "tinkoff: HTTP 502", "server is having trouble"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			_, err := New(Config{BaseURL: srv.URL, TerminalKey: "T", Password: "pw"}).GetState(context.Background(), "1")
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v (%T), want *Error", err, err)
			}
			if e.Code != tt.wantCode {
				t.Errorf("Code = %q, want %q", e.Code, tt.wantCode)
			}
			if !strings.HasPrefix(e.Error(), tt.wantText) {
				t.Errorf("Error() = %q, want prefix %q", e.Error(), tt.wantText)
			}
			if !strings.Contains(Explain(err), tt.explain) {
				t.Errorf("Explain = %q, want it to mention %q", Explain(err), tt.explain)
			}
		})
	}
}

func TestStageMapsEveryStatus(t *testing.T) {
	tests := map[string]string{
		StatusNew: StagePending, StatusFormShowed: StagePending,
		StatusPreauthorizing: StageProcessing, StatusAuthorizing: StageProcessing,
		Status3DSChecking: StageProcessing, Status3DSChecked: StageProcessing,
		StatusAuthorized: StageProcessing, StatusConfirming: StageProcessing,
		StatusReversing: StageProcessing, StatusPartialReversed: StageProcessing,
		StatusConfirmed: StageCompleted, StatusRefunding: StageCompleted, StatusAsyncRefunding: StageCompleted,
		StatusRejected: StageFailed, StatusAuthFail: StageFailed,
		StatusCanceled: StageCanceled, StatusDeadlineExpired: StageCanceled, StatusReversed: StageCanceled,
		StatusPartialRefunded: StagePartiallyRefunded, StatusRefunded: StageRefunded,
		"SOMETHING_NEW": StageProcessing, "": StageProcessing,
	}
	for status, want := range tests {
		if got := Stage(status); got != want {
			t.Errorf("Stage(%q) = %q, want %q", status, got, want)
		}
	}
}

func TestExplainSpeaksPlainEnglish(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&Error{Code: CodeBadToken}, "password does not match"},
		{&Error{Code: CodeTerminalNotFound}, "does not know this terminal"},
		{&Error{Code: CodeBadAmount}, "amount"},
		{&Error{Code: CodePaymentNotFound}, "no such payment"},
		{&Error{Code: CodeBankDeclined}, "declined the card"},
		{&Error{Code: CodeInternal}, "internal error"},
		{ErrBadSignature, "signature check"},
		{fmt.Errorf("post: %w", context.DeadlineExceeded), "did not answer in time"},
		{errors.New("dial tcp: connection refused"), "network problem"},
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

func FuzzParseNotification(f *testing.F) {
	f.Add([]byte(realNotification), realNotificationPassword)
	f.Add([]byte(`{"TerminalKey":"T","Status":"CONFIRMED","PaymentId":1,"Amount":100,"Token":"x"}`), "pw")
	f.Add([]byte(`{"DATA":"{\"a\":1}","Amount":"12","Success":"true","Token":""}`), "")
	f.Add([]byte(`{"Amount":1e400,"PaymentId":-0,"Token":null}`), "pw")
	f.Add([]byte(`[]`), "pw")
	f.Add([]byte{0xff, '{'}, "pw")
	f.Fuzz(func(t *testing.T, body []byte, password string) {
		n, err := ParseNotification(body, password)
		if err != nil {
			if n != nil {
				t.Fatal("non-nil notification with an error")
			}
			return
		}
		// Whatever got through must really carry a valid token.
		if n.Token != Token(n.Fields, password) {
			t.Fatalf("accepted token %q does not verify", n.Token)
		}
	})
}
