package dostavista

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The self-computed vector of providers.md §5: it checks our HMAC against the
// stated algorithm (key = callback secret, message = raw body), not against
// a published example.
func TestSignMatchesTheSelfComputedVector(t *testing.T) {
	body := []byte(`{"event_type":"order_changed","order":{"order_id":1}}`)
	got := Sign("cbsecret", body)
	want := "77ed4ebc3057e84c550445c0de9e093a714bdc9355df195884677c44504c5285"
	if got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
	if err := VerifyCallback("cbsecret", body, want); err != nil {
		t.Errorf("VerifyCallback(vector) = %v", err)
	}
	if err := VerifyCallback("cbsecret", body, " "+strings.ToUpper(want)+"\n"); err != nil {
		t.Errorf("upper-case hex with spaces should verify: %v", err)
	}
}

func TestVerifyCallbackRefusesForgeries(t *testing.T) {
	body := []byte(`{"event_type":"order_changed","order":{"order_id":1}}`)
	good := Sign("cbsecret", body)
	tests := []struct {
		name, secret, sig string
		body              []byte
		want              error
	}{
		{"no signature", "cbsecret", "", body, ErrBadSignature},
		{"signed with another secret", "cbsecret", Sign("other", body), body, ErrBadSignature},
		{"body changed after signing", "cbsecret", good, []byte(`{"event_type":"order_changed","order":{"order_id":2}}`), ErrBadSignature},
		{"truncated signature", "cbsecret", good[:40], body, ErrBadSignature},
		{"empty secret is refused even with a matching HMAC", "", Sign("", body), body, ErrNoSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := VerifyCallback(tt.secret, tt.body, tt.sig); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if cb, err := ParseCallback(tt.body, tt.secret, tt.sig); cb != nil || !errors.Is(err, tt.want) {
				t.Errorf("ParseCallback = %v, %v", cb, err)
			}
		})
	}
}

func TestParseCallbackReadsOrderAndDeliveryEvents(t *testing.T) {
	body := []byte(`{"event_datetime":"2025-09-12T15:20:00+03:00","event_type":"order_changed","order":{
		"order_id":1250032,"order_name":"50032","type":"standard","vehicle_type_id":7,"created_datetime":"2025-09-12T15:17:29+03:00",
		"finish_datetime":null,"status":"active","status_description":"active","matter":"Цветы","total_weight_kg":0,
		"points":[{"point_id":202685,"address":"Москва, ул. Покровка, 11","contact_person":{"name":null,"phone":"79030000001"},
		"client_order_id":"A-17","taking_amount":"1500.50","buyout_amount":"0.00","courier_visit_datetime":"2025-09-12T15:40:00+03:00"}],
		"payment_amount":"390.00","delivery_fee_amount":"390.00","payment_method":"balance",
		"courier":{"courier_id":7,"surname":"Иванов","name":"Пётр","middlename":null,"phone":"79990000001","latitude":"55.75","longitude":"37.61"}}}`)
	cb, err := ParseCallback(body, "s", Sign("s", body))
	if err != nil {
		t.Fatal(err)
	}
	o := cb.Order
	if cb.EventType != EventOrderChanged || o == nil || o.OrderID != 1250032 || o.Status != StatusActive || o.PaymentAmount != 39000 {
		t.Fatalf("callback = %+v, order = %+v", cb, o)
	}
	if p := o.Points[0]; p.PointID != 202685 || p.TakingAmount != 150050 || p.ClientOrderID != "A-17" || p.CourierVisit.IsZero() {
		t.Errorf("point = %+v", p)
	}
	if o.Courier == nil || o.Courier.Phone != "79990000001" {
		t.Errorf("courier = %+v", o.Courier)
	}
	if want := time.Date(2025, 9, 12, 12, 20, 0, 0, time.UTC); !cb.EventTime.Equal(want) {
		t.Errorf("EventTime = %v, want %v", cb.EventTime, want)
	}

	dbody := []byte(`{"event_datetime":"2025-09-12T15:20:00+03:00","event_type":"delivery_changed","delivery":{"delivery_id":"55","order_id":1250032,"client_order_id":"A-17","status":"courier_assigned","status_datetime":"2025-09-12T15:20:00+03:00"}}`)
	cb, err = ParseCallback(dbody, "s", Sign("s", dbody))
	if err != nil || cb.Delivery == nil || cb.Delivery.DeliveryID != 55 || cb.Delivery.Status != "courier_assigned" {
		t.Fatalf("delivery callback = %+v, %v", cb, err)
	}

	for _, bad := range []string{`{"order":{}}`, `{"event_type":"order_changed"}`, `[]`, `{"event_type":"x","order":{}} {}`} {
		if _, err := ParseCallback([]byte(bad), "s", Sign("s", []byte(bad))); err == nil {
			t.Errorf("ParseCallback(%s) accepted it", bad)
		}
	}
}

func TestMoneyConvertsExactly(t *testing.T) {
	good := []struct {
		in   string
		want int64
	}{
		{"390.00", 39000}, {"390", 39000}, {"390.5", 39050}, {"0.01", 1}, {"-1.00", -100},
		{"1500.50", 150050}, {"12345678.90", 1234567890}, {"0.100", 10}, {" 7.00 ", 700},
	}
	for _, tt := range good {
		got, err := ParseMoney(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseMoney(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "abc", "1.001", "1,00", "1.", ".5", "--1", "1e3", "99999999999999999.00"} {
		if v, err := ParseMoney(bad); err == nil {
			t.Errorf("ParseMoney(%q) = %d, want an error", bad, v)
		}
	}
	for _, v := range []int64{0, 1, 99, 100, 39000, 150050, -5, -12345} {
		s := FormatMoney(v)
		back, err := ParseMoney(s)
		if err != nil || back != v {
			t.Errorf("FormatMoney(%d) = %q, parses back to %d, %v", v, s, back, err)
		}
	}
	if got := FormatMoney(39000); got != "390.00" {
		t.Errorf("FormatMoney(39000) = %q", got)
	}
	if got := FormatMoney(-5); got != "-0.05" {
		t.Errorf("FormatMoney(-5) = %q", got)
	}
}

func TestNormalizePhone(t *testing.T) {
	tests := []struct{ in, want string }{
		{"+7 (903) 000-00-01", "79030000001"},
		{"8 903 000 00 01", "79030000001"},
		{"79030000001", "79030000001"},
		{"0090 555 123 45 67", "905551234567"},
		{"+90 555 123-45-67", "905551234567"},
	}
	for _, tt := range tests {
		if got, err := NormalizePhone(tt.in); err != nil || got != tt.want {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "12345", "call me", "+1 234 567 890 123 456"} {
		if got, err := NormalizePhone(bad); err == nil {
			t.Errorf("NormalizePhone(%q) = %q, want an error", bad, got)
		}
	}
}

// The calculate-order answer of the API documentation (trimmed to the fields
// we read), served by a stub: it checks the client against the documented
// shape, not only against our own sandbox.
const documentedCalculateAnswer = `{"is_successful":true,"order":{"type":"standard","order_id":null,"order_name":null,"vehicle_type_id":6,
"created_datetime":"2025-09-12T15:17:29+03:00","finish_datetime":null,"status":null,"status_description":null,"matter":"Документы",
"total_weight_kg":0,"points":[{"point_id":null,"delivery_id":null,"client_order_id":null,"address":"Москва, ул. Покровка, 11",
"latitude":"55.7592577","longitude":"37.6436554","required_start_datetime":"2025-09-12T15:47:29+03:00",
"required_finish_datetime":"2025-09-12T16:17:29+03:00","contact_person":{"name":null,"phone":"79030000001"},
"taking_amount":"0.00","buyout_amount":"0.00","note":null,"packages":[],"tracking_url":null},
{"point_id":null,"address":"Москва, ул. Солянка, 4","contact_person":{"name":null,"phone":"79030000002"},"taking_amount":"0.00"}],
"payment_amount":"390.00","delivery_fee_amount":"390.00","weight_fee_amount":"0.00","insurance_amount":"0.00",
"insurance_fee_amount":"0.00","promo_code_discount_amount":"80.00","payment_method":"cash","courier":null,"courier_vehicle":null},
"warnings":["invalid_parameters"],"parameter_warnings":{"points":[{"contact_person":{"phone":["required"]}},{"contact_person":{"phone":["required"]}}]}}`

func TestClientSendsAndReadsTheDocumentedShapes(t *testing.T) {
	var gotBody map[string]any
	var gotToken, gotPath, gotMethod string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotToken, gotPath, gotMethod = r.Header.Get("X-DV-Auth-Token"), r.URL.Path, r.Method
		json.NewDecoder(r.Body).Decode(&gotBody)
		io.WriteString(w, documentedCalculateAnswer)
	}))
	defer srv.Close()
	c := New(Config{BaseURL: srv.URL + "/api/business/1.5/", AuthToken: "tok"})
	o, err := c.CalculateOrder(context.Background(), OrderRequest{
		Matter:          "Документы",
		InsuranceAmount: 500000,
		Points: []Point{
			{Address: "Москва, ул. Покровка, 11", TakingAmount: 150050},
			{Address: "Москва, ул. Солянка, 4", ContactPerson: Contact{Phone: "79030000002", Name: "Анна"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if gotToken != "tok" || gotPath != "/api/business/1.5/calculate-order" || gotMethod != http.MethodPost {
		t.Errorf("request: token %q path %q method %s", gotToken, gotPath, gotMethod)
	}
	if gotBody["insurance_amount"] != "5000.00" || gotBody["matter"] != "Документы" {
		t.Errorf("body = %v", gotBody)
	}
	pts := gotBody["points"].([]any)
	p0, p1 := pts[0].(map[string]any), pts[1].(map[string]any)
	if p0["taking_amount"] != "1500.50" || p1["contact_person"].(map[string]any)["name"] != "Анна" {
		t.Errorf("points = %v", pts)
	}
	if _, has := p1["taking_amount"]; has {
		t.Error("a zero amount must be left out, not sent as 0.00")
	}

	if o.OrderID != 0 || o.PaymentAmount != 39000 || o.VehicleTypeID != 6 || len(o.Points) != 2 {
		t.Fatalf("order = %+v", o)
	}
	if o.Points[0].RequiredStart.IsZero() || o.Points[0].ContactPerson.Phone != "79030000001" {
		t.Errorf("point 0 = %+v", o.Points[0])
	}
	if len(o.Warnings) != 1 || len(o.ParameterWarnings) != 2 || o.ParameterWarnings[1].Field != "points[1].contact_person.phone" {
		t.Errorf("warnings = %v %+v", o.Warnings, o.ParameterWarnings)
	}
}

func TestClientReturnsTheAPIsErrors(t *testing.T) {
	answers := map[string]struct {
		status int
		body   string
	}{
		"/params":  {400, `{"is_successful":false,"errors":["invalid_parameters"],"parameter_errors":{"matter":["required"],"points":[null,{"contact_person":{"phone":["invalid_phone"]},"address":["address_not_found"]}]}}`},
		"/auth":    {400, `{"is_successful":false,"errors":["invalid_auth_token"],"parameter_errors":null}`},
		"/gateway": {502, `<html><body>Bad gateway</body></html>`},
		"/limit":   {429, `{"is_successful":false,"errors":["requests_limit_exceeded"]}`},
		"/liar":    {200, `{"is_successful":false,"errors":["unexpected_error"]}`},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := answers[strings.TrimSuffix(r.URL.Path, "/create-order")]
		w.WriteHeader(a.status)
		io.WriteString(w, a.body)
	}))
	defer srv.Close()
	create := func(prefix string) *Error {
		t.Helper()
		_, err := New(Config{BaseURL: srv.URL + prefix, AuthToken: "x"}).CreateOrder(context.Background(), OrderRequest{})
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("%s: err = %v, want *Error", prefix, err)
		}
		if !strings.HasPrefix(e.Error(), "dostavista: ") {
			t.Errorf("Error() = %q, want the provider's name first", e.Error())
		}
		return e
	}
	e := create("/params")
	want := []FieldError{
		{Field: "matter", Codes: []string{"required"}},
		{Field: "points[1].address", Codes: []string{"address_not_found"}},
		{Field: "points[1].contact_person.phone", Codes: []string{"invalid_phone"}},
	}
	if e.Code() != CodeInvalidParameters || fmt.Sprint(e.ParameterErrors) != fmt.Sprint(want) || e.Temporary() {
		t.Errorf("params error = %+v", e)
	}
	if e := create("/auth"); !e.Has(CodeInvalidAuthToken) || !strings.Contains(Explain(e), "API token") {
		t.Errorf("auth error = %+v, Explain %q", e, Explain(e))
	}
	if e := create("/gateway"); e.HTTPStatus != 502 || e.Code() != "" || !e.Temporary() || !strings.Contains(e.Message, "Bad gateway") {
		t.Errorf("gateway error = %+v", e)
	}
	if e := create("/limit"); !e.Temporary() {
		t.Errorf("requests_limit_exceeded should be temporary: %+v", e)
	}
	if e := create("/liar"); !e.Has(CodeUnexpectedError) {
		t.Errorf("is_successful=false with HTTP 200 must still be an error: %+v", e)
	}
}

func TestExplainSpeaksPlainEnglish(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&Error{Codes: []string{CodeInvalidAuthToken}}, "refused the API token"},
		{&Error{Codes: []string{CodeRequiredAuthToken}}, "refused the API token"},
		{&Error{Codes: []string{CodeInsufficientBalance}}, "not enough money on the Dostavista account"},
		{&Error{Codes: []string{CodeOrderCannotBeCanceled}}, "can no longer be canceled"},
		{&Error{Codes: []string{CodeInvalidParameters}, ParameterErrors: []FieldError{{Field: "points[1].contact_person.phone", Codes: []string{"invalid_phone"}}}},
			"the phone number of point 2 is not a valid phone number"},
		{&Error{Codes: []string{CodeInvalidParameters}, ParameterErrors: []FieldError{{Field: "matter", Codes: []string{"required"}}}},
			"the description of the goods is missing"},
		{&Error{Codes: []string{CodeInvalidParameters}, ParameterErrors: []FieldError{{Field: "points[0].address", Codes: []string{"address_not_found"}}}},
			"the address of point 1 was not found on the map"},
		{&Error{HTTPStatus: 502}, "server is having trouble"},
		{&Error{Codes: []string{"something_new"}}, "something_new"},
		{ErrBadSignature, "signature check"},
		{ErrNoSecret, "callback secret is not set"},
		{fmt.Errorf("get: %w", ErrNotFound), "no courier order"},
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

func FuzzParseCallback(f *testing.F) {
	f.Add([]byte(`{"event_type":"order_changed","order":{"order_id":1}}`), "cbsecret", true)
	f.Add([]byte(`{"event_datetime":"2025-09-12T15:20:00+03:00","event_type":"order_created","order":{"order_id":"12","status":"new","payment_amount":"390.00","points":[{"taking_amount":1.5}]}}`), "s", true)
	f.Add([]byte(`{"event_type":"delivery_changed","delivery":{"delivery_id":null,"order_id":1e3}}`), "s", true)
	f.Add([]byte(`{"event_type":"order_changed","order":{"payment_amount":"1.001"}}`), "s", true)
	f.Add([]byte(`{"event_type":"order_changed","order":{"order_id":1}}`), "cbsecret", false)
	f.Add([]byte{0xff, '{'}, "s", true)
	f.Fuzz(func(t *testing.T, body []byte, secret string, signed bool) {
		sig := "deadbeef"
		if signed {
			sig = Sign(secret, body)
		}
		cb, err := ParseCallback(body, secret, sig)
		if err != nil {
			if cb != nil {
				t.Fatal("non-nil callback with an error")
			}
			return
		}
		// Whatever got through must be really signed and carry an event.
		if VerifyCallback(secret, body, sig) != nil || cb.EventType == "" || (cb.Order == nil && cb.Delivery == nil) {
			t.Fatalf("accepted %q", body)
		}
	})
}
