package taobao

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestSignMatchesTheProvidersVector(t *testing.T) {
	// providers.md §1: the official IOP Python SDK gives the same value.
	params := map[string]string{
		"app_key":      "123456",
		"sign_method":  "sha256",
		"timestamp":    "1700000000000",
		"access_token": "tok",
		"code":         "abc",
	}
	got := Sign("secret", "/auth/token/create", params)
	want := "E4EB1753CEF265C49799866ECED92753CE30A82AFC69ABC6AA7F2A3127751D82"
	if got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestSignIgnoresSignAndEmptyValues(t *testing.T) {
	base := map[string]string{"app_key": "123456", "sign_method": "sha256", "timestamp": "1700000000000", "access_token": "tok", "code": "abc"}
	with := map[string]string{"sign": "XYZ", "empty": ""}
	for k, v := range base {
		with[k] = v
	}
	if got, want := Sign("secret", "/auth/token/create", with), Sign("secret", "/auth/token/create", base); got != want {
		t.Fatalf("sign with extra sign/empty params = %s, want %s", got, want)
	}
}

func TestAuthorizeURLCarriesTheOAuthParameters(t *testing.T) {
	c := New(Config{AppKey: "500123", AppSecret: "s"})
	u, err := url.Parse(c.AuthorizeURL("https://shop.example/admin/procurement/callback", "st-1"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := u.Scheme+"://"+u.Host+u.Path, "https://api.taobao.global/oauth/authorize"; got != want {
		t.Errorf("authorize endpoint = %s, want %s", got, want)
	}
	q := u.Query()
	for k, want := range map[string]string{"response_type": "code", "force_auth": "true", "client_id": "500123", "redirect_uri": "https://shop.example/admin/procurement/callback", "state": "st-1"} {
		if got := q.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}

func TestClientSendsSystemParamsInQueryAndBusinessParamsInForm(t *testing.T) {
	var seen *http.Request
	var form url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r
		b, _ := io.ReadAll(r.Body)
		form, _ = url.ParseQuery(string(b))
		io.WriteString(w, `{"code":"0","success":true,"data":{"results_total":0,"purchase_orders":[]},"request_id":"r1"}`)
	}))
	defer srv.Close()
	now := time.UnixMilli(1700000000000)
	c := New(Config{BaseURL: srv.URL + "/rest", AppKey: "123456", AppSecret: "secret", Now: func() time.Time { return now }})
	if _, err := c.QueryPurchaseOrders(context.Background(), "tok", PurchaseQuery{OuterPurchaseID: "OD-1", PurchaseIDs: []int64{200081134310}}); err != nil {
		t.Fatal(err)
	}
	if seen.Method != http.MethodPost || seen.URL.Path != "/rest"+PathQuery {
		t.Fatalf("request = %s %s", seen.Method, seen.URL.Path)
	}
	if ct := seen.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		t.Errorf("content type = %q", ct)
	}
	q := seen.URL.Query()
	for k, want := range map[string]string{"app_key": "123456", "sign_method": "sha256", "timestamp": "1700000000000", "access_token": "tok", "partner_id": DefaultPartnerID} {
		if got := q.Get(k); got != want {
			t.Errorf("query %s = %q, want %q", k, got, want)
		}
	}
	if q.Get("outer_purchase_id") != "" {
		t.Error("business param leaked into the query")
	}
	if got, want := form.Get("purchase_ids"), "[200081134310]"; got != want {
		t.Errorf("form purchase_ids = %q, want %q", got, want)
	}
	all := map[string]string{}
	for k := range q {
		all[k] = q.Get(k)
	}
	for k := range form {
		all[k] = form.Get(k)
	}
	if got, want := q.Get("sign"), Sign("secret", PathQuery, all); got != want {
		t.Errorf("sign = %s, want %s (over query+form)", got, want)
	}
}

func TestTokenCallsOmitTheAccessToken(t *testing.T) {
	var q url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q = r.URL.Query()
		io.WriteString(w, `{"access_token":"a1","refresh_token":"r1","expires_in":86400,"refresh_expires_in":"172800","account_id":100000001,"account":"demo-buyer-1","code":"0","request_id":"x"}`)
	}))
	defer srv.Close()
	now := time.Date(2025, 1, 2, 8, 0, 0, 0, time.UTC)
	c := New(Config{BaseURL: srv.URL, AppKey: "k", AppSecret: "s", Now: func() time.Time { return now }})
	tok, err := c.CreateToken(context.Background(), "abc")
	if err != nil {
		t.Fatal(err)
	}
	if q.Has("access_token") {
		t.Error("token call sent access_token")
	}
	if tok.AccountID != "100000001" || tok.RefreshExpiresIn != 172800 {
		t.Errorf("token = %+v (numbers and strings must both decode)", tok)
	}
	if got, want := tok.AccessExpiresAt, now.Add(24*time.Hour); !got.Equal(want) {
		t.Errorf("AccessExpiresAt = %v, want %v", got, want)
	}
	if got, want := tok.RefreshExpiresAt, now.Add(48*time.Hour); !got.Equal(want) {
		t.Errorf("RefreshExpiresAt = %v, want %v", got, want)
	}
}

// cannedServer answers every call with body and status.
func cannedServer(t *testing.T, status int, body string) *Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return New(Config{BaseURL: srv.URL, AppKey: "k", AppSecret: "s"})
}

func TestClientToleratesTheAnswerShapesSeenInTheWild(t *testing.T) {
	ctx := context.Background()
	t.Run("pay with string success, string ids and old-style failure entries", func(t *testing.T) {
		c := cannedServer(t, 200, `{"code":"0","success":"true","data":{"will_pay_purchase_order_ids":["1"],"pay_failure_purchase_order_ids":["2","3"],"pay_failed_results":[{"purchase_order_id":2,"reason":"no money"},{"gspOrderId":"3","errorCode":"INSUFFICIENT_BALANCE_FOR_PAYMENT","errorMessage":"low"}]}}`)
		res, err := c.PayPurchaseOrders(ctx, "tok", []int64{1, 2, 3})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.WillPay) != 1 || res.WillPay[0] != 1 {
			t.Errorf("WillPay = %v", res.WillPay)
		}
		if len(res.Failures) != 2 || res.Failures[0].PurchaseID != 2 || res.Failures[0].Message != "no money" || !IsInsufficientBalance(res.Failures[1].Err()) {
			t.Errorf("Failures = %+v", res.Failures)
		}
	})
	t.Run("query with string ids and the deprecated flat logistic fields", func(t *testing.T) {
		c := cannedServer(t, 200, `{"code":"0","success":true,"data":{"results_total":"1","purchase_orders":[{"purchase_id":"200081134310","status":"WAIT_BUYER_CONFIRM_GOODS","purchase_amount":3900,"pay_time":1700000000000,"unknown_field":{"x":1},"sub_purchase_orders":[{"sub_purchase_order_id":20008113431001,"status":"WAIT_BUYER_CONFIRM_GOODS","logistic_company_name":"ZTO Express","logistic_number":"7731","hongbao_deduction_amount":"0"}]}]}}`)
		res, err := c.QueryPurchaseOrders(ctx, "tok", PurchaseQuery{PurchaseIDs: []int64{200081134310}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Total != 1 || len(res.Orders) != 1 {
			t.Fatalf("result = %+v", res)
		}
		o := res.Orders[0]
		if o.PurchaseID != 200081134310 || o.Stage() != StageShipped || o.PayTime.UnixMilli() != 1700000000000 {
			t.Errorf("order = %+v", o)
		}
		if l := o.Logistics(); len(l) != 1 || l[0].Number != "7731" || l[0].CompanyName != "ZTO Express" {
			t.Errorf("logistics = %+v", l)
		}
	})
	t.Run("business error at the top level", func(t *testing.T) {
		c := cannedServer(t, 200, `{"code":"0","success":false,"error_code":"SKU_NOT_FOUND","error_msg":"gone","request_id":"rq"}`)
		_, err := c.CreatePurchaseOrder(ctx, "tok", PurchaseOrderRequest{OuterPurchaseID: "x", Lines: []OrderLine{{ItemID: "1", SKUID: "2", Quantity: 1, PriceFen: 100}}})
		var e *Error
		if !errors.As(err, &e) || e.Code != "SKU_NOT_FOUND" || e.RequestID != "rq" || !IsUnknownSKU(err) {
			t.Fatalf("err = %v", err)
		}
		if !strings.HasPrefix(err.Error(), "taobao: ") {
			t.Errorf("Error() = %q, want the provider prefix", err.Error())
		}
	})
	t.Run("business error inside data of the create answer", func(t *testing.T) {
		c := cannedServer(t, 200, `{"code":"0","success":true,"data":{"success":false,"error_code":"ITEM_NOT_EXIST","error_message":"item 1 offline"}}`)
		_, err := c.CreatePurchaseOrder(ctx, "tok", PurchaseOrderRequest{OuterPurchaseID: "x", Lines: []OrderLine{{ItemID: "1", SKUID: "2", Quantity: 1, PriceFen: 100}}})
		if !IsUnknownSKU(err) {
			t.Fatalf("err = %v, want an unknown item error", err)
		}
	})
	t.Run("gateway error", func(t *testing.T) {
		c := cannedServer(t, 200, `{"type":"ISV","code":"IllegalAccessToken","message":"The specified access token is invalid or expired","request_id":"0b1"}`)
		err := c.CancelPurchaseOrder(ctx, "tok", 1, "")
		if !IsTokenExpired(err) {
			t.Fatalf("err = %v, want IllegalAccessToken", err)
		}
	})
	t.Run("HTTP 200 that is not JSON is an unexpected answer", func(t *testing.T) {
		c := cannedServer(t, 200, `<html>login</html>`)
		err := c.CancelPurchaseOrder(ctx, "tok", 1, "x")
		if codeOf(err) != CodeUnexpectedAnswer || IsTemporary(err) || !strings.Contains(Explain(err), "does not understand") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("HTTP 500 without JSON is temporary", func(t *testing.T) {
		c := cannedServer(t, 500, `<html>bad gateway</html>`)
		err := c.CancelPurchaseOrder(ctx, "tok", 1, "x")
		if !IsTemporary(err) || IsTokenExpired(err) {
			t.Fatalf("err = %v, want temporary", err)
		}
	})
}

func TestExplainSpeaksToShopStaff(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"expired session", &Error{Code: CodeIllegalAccessToken}, "The Taobao session has expired: renew the account on the Procurement → Accounts page."},
		{"low balance", PayFailure{Code: CodeInsufficientBalance}.Err(), "The Taobao account balance is too low to pay this purchase: top it up."},
		{"unknown sku", &Error{Code: CodeSKUNotFound}, "Taobao does not know this product or its variant (SKU): check the Taobao item and SKU ids on the product."},
		{"refresh expired", &Error{Code: CodeIllegalRefreshToken}, "The Taobao authorization has expired or is no longer valid: authorize the account again on the Procurement → Accounts page."},
		{"bad credentials", &Error{Code: CodeIncompleteSignature}, "Taobao refused the app's credentials: check the App Key and App Secret in Integrations."},
		{"backend down", &Error{Type: "ISP", Code: CodeServiceUnavailable}, "Taobao is not answering properly right now: try again in a few minutes."},
		{"bad push", ErrBadSignature, "A message claiming to come from Taobao had a wrong signature and was ignored."},
		{"other", &Error{Code: "WHATEVER", Message: "odd"}, "Taobao refused the request (WHATEVER): odd."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Explain(tt.err); got != tt.want {
				t.Errorf("Explain = %q, want %q", got, tt.want)
			}
		})
	}
	if Explain(nil) != "" {
		t.Error("Explain(nil) is not empty")
	}
}

func TestStageMapsProviderStatuses(t *testing.T) {
	tests := map[string]string{
		"BULIDING":                 StageCreated,
		"WAIT_BUYER_PAY":           StageCreated,
		"WAIT_BUYER_P":             StageCreated,
		"wait_seller_send_goods":   StagePaid,
		"WAIT_BUYER_CONFIRM_GOODS": StageShipped,
		"TRADE_FINISHED":           StageCompleted,
		"TRADE_CLOSED":             StageCancelled,
		"SOMETHING_NEW":            "",
		"":                         "",
	}
	for status, want := range tests {
		if got := Stage(status); got != want {
			t.Errorf("Stage(%q) = %q, want %q", status, got, want)
		}
	}
}

func TestPushSignatureMatchesTheVector(t *testing.T) {
	// providers.md §1, self-computed from the documented algorithm.
	body := []byte(`{"message_type":3,"data":{}}`)
	want := "8e6ced58c02c27a3888c821af4859237db9e11f9b37da026ea36fd48bac9afb2"
	if got := PushSignature("123456", "secret", body); got != want {
		t.Fatalf("PushSignature = %s, want %s", got, want)
	}
	if err := VerifyPush("123456", "secret", body, want); err != nil {
		t.Errorf("VerifyPush(good) = %v", err)
	}
	if err := VerifyPush("123456", "secret", body, strings.ToUpper(want)); err != nil {
		t.Errorf("VerifyPush(upper-case hex) = %v", err)
	}
	for _, bad := range []string{"", "zz", want[:62] + "00", PushSignature("123456", "other", body)} {
		if err := VerifyPush("123456", "secret", body, bad); !errors.Is(err, ErrBadSignature) {
			t.Errorf("VerifyPush(%q) = %v, want ErrBadSignature", bad, err)
		}
	}
	if err := VerifyPush("123456", "secret", append(body, ' '), want); !errors.Is(err, ErrBadSignature) {
		t.Errorf("VerifyPush(changed body) = %v, want ErrBadSignature", err)
	}
}

func TestParsePushAcceptsSeveralShapes(t *testing.T) {
	tests := []struct {
		name, body string
		wantType   int
		wantID     int64
		wantStatus string
	}{
		{"documented shape", `{"message_type":3,"seller_id":"1","timestamp":1700000000000,"data":{"purchase_id":200081134310,"status":"WAIT_SELLER_SEND_GOODS"}}`, 3, 200081134310, "WAIT_SELLER_SEND_GOODS"},
		{"string type and string id", `{"message_type":"3","data":{"purchase_id":"200081134311","order_status":"TRADE_CLOSED"}}`, 3, 200081134311, "TRADE_CLOSED"},
		{"data as a JSON string", `{"message_type":3,"data":"{\"purchaseOrderId\":7,\"status\":\"TRADE_FINISHED\"}"}`, 3, 7, "TRADE_FINISHED"},
		{"fields at the top level", `{"message_type":8,"purchase_id":9,"status":"WAIT_BUYER_PAY"}`, 8, 9, "WAIT_BUYER_PAY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParsePush([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if m.MessageType != tt.wantType || m.PurchaseID != tt.wantID || m.Status != tt.wantStatus {
				t.Errorf("got %+v", m)
			}
		})
	}
	for _, bad := range []string{``, `[]`, `null`, `{"data":{}}`, `{"message_type":"x"}`} {
		if _, err := ParsePush([]byte(bad)); !errors.Is(err, ErrBadPush) {
			t.Errorf("ParsePush(%q) = %v, want ErrBadPush", bad, err)
		}
	}
}

func FuzzParsePush(f *testing.F) {
	f.Add([]byte(`{"message_type":3,"data":{}}`), "8e6ced58c02c27a3888c821af4859237db9e11f9b37da026ea36fd48bac9afb2")
	f.Add([]byte(`{"message_type":3,"seller_id":"100000001","site":"taobao_global","timestamp":1700000000000,"data":{"purchase_id":200081134301,"outer_purchase_id":"OD-1","status":"WAIT_SELLER_SEND_GOODS"}}`), "")
	f.Add([]byte(`{"message_type":"9","data":"{\"purchase_id\":\"1\"}"}`), "00")
	f.Add([]byte(`{"message_type":1e400}`), "zz")
	f.Add([]byte(`{"message_type":3,"data":{"purchase_id":99999999999999999999}}`), "")
	f.Add([]byte(`not json`), "")
	f.Fuzz(func(t *testing.T, body []byte, auth string) {
		m, err := ParsePush(body)
		if err == nil && m == nil {
			t.Fatal("nil message without error")
		}
		if err != nil && !errors.Is(err, ErrBadPush) {
			t.Fatalf("unexpected error type: %v", err)
		}
		good := PushSignature("123456", "secret", body)
		if err := VerifyPush("123456", "secret", body, good); err != nil {
			t.Fatalf("own signature refused: %v", err)
		}
		if err := VerifyPush("123456", "secret", body, auth); err == nil && !strings.EqualFold(strings.TrimSpace(auth), good) {
			t.Fatalf("foreign signature %q accepted", auth)
		}
	})
}
