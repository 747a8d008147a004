package otapi

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
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The self-computed vector of providers.md §9: it checks our code against
// the official PHP client's algorithm, not against a published example.
func TestSignMatchesTheSelfComputedVector(t *testing.T) {
	p := map[string]string{"instanceKey": "key", "language": "en", "sessionId": "s1", "timestamp": "20240101120000"}
	want := "9f8ead613fd12bd896e9aa55d2de3e7edb4fdf7b42323a0c29376f08563a3077"
	if got := Sign("GetSalesOrderDetailsForOperator", p, "sec"); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
	p["signature"] = "anything"
	if got := Sign("GetSalesOrderDetailsForOperator", p, "sec"); got != want {
		t.Error("the signature parameter must not sign itself")
	}
}

func TestSignSortsKeysByteWiseLikeKsort(t *testing.T) {
	p := map[string]string{"xmlAddData": "<x/>", "Zeta": "Z", "alpha": "a", "sessionId": "s"}
	sum := sha256.Sum256([]byte("AddOrder" + "Z" + "a" + "s" + "<x/>" + "sec"))
	if got := Sign("AddOrder", p, "sec"); got != hex.EncodeToString(sum[:]) {
		t.Errorf("Sign = %s: upper-case keys sort first, values are concatenated raw", got)
	}
}

func TestOrderAddDataIsTheDocumentedXML(t *testing.T) {
	d := OrderAddData{DeliveryModeID: "ext-1", Comment: "ORD-1001 & co", Items: []OrderItem{
		{ID: "abc-123", Quantity: 2},
		{ID: "def-456", ConfigurationID: "3215", Quantity: 1, PromotionID: "p9"},
	}}
	want := `<OrderAddData><DeliveryModeId>ext-1</DeliveryModeId><Comment>ORD-1001 &amp; co</Comment><Items>` +
		`<Item><Id>abc-123</Id><ConfigurationId>0</ConfigurationId><Quantity>2</Quantity></Item>` +
		`<Item><Id>def-456</Id><ConfigurationId>3215</ConfigurationId><Quantity>1</Quantity><PromotionId>p9</PromotionId></Item></Items></OrderAddData>`
	if got := d.XML(); got != want {
		t.Errorf("XML =\n%s\nwant\n%s", got, want)
	}
	ep := ExportParameters{OrderID: "ORD-0000000001", OrderLineIDs: []string{"101", "102"}}
	if got := ep.XML(); got != `<Parameters><OrderId>ORD-0000000001</OrderId><OrderLineIds><Id>101</Id><Id>102</Id></OrderLineIds></Parameters>` {
		t.Errorf("ExportParameters.XML = %s", got)
	}
	if got := (ExportParameters{OrderID: "O"}).XML(); got != `<Parameters><OrderId>O</OrderId></Parameters>` {
		t.Errorf("whole order = %s", got)
	}
}

func TestMoneyConvertsExactly(t *testing.T) {
	for in, want := range map[string]int64{"1500.50": 150050, "1500.5": 150050, "1500": 150000, "0.01": 1, "-2.00": -200} {
		if got, err := ParseMoney(in); err != nil || got != want {
			t.Errorf("ParseMoney(%q) = %d, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "1.001", "1.", "x", "1e5"} {
		if _, err := ParseMoney(bad); err == nil {
			t.Errorf("ParseMoney(%q) accepted it", bad)
		}
	}
	if FormatMoney(150050) != "1500.50" || FormatMoney(-5) != "-0.05" {
		t.Error("FormatMoney")
	}
}

// stub answers each method with a canned Result and records the queries.
func stub(t *testing.T, answers map[string]string) (*httptest.Server, func() []url.Values) {
	var mu sync.Mutex
	var seen []url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.Query())
		mu.Unlock()
		a, ok := answers[strings.TrimPrefix(r.URL.Path, "/service-json/")]
		if !ok {
			w.WriteHeader(502)
			io.WriteString(w, "<html>Bad gateway</html>")
			return
		}
		io.WriteString(w, a)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []url.Values {
		mu.Lock()
		defer mu.Unlock()
		return append([]url.Values(nil), seen...)
	}
}

func fixed() time.Time { return time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC) }

func TestClientSignsEveryCall(t *testing.T) {
	srv, seen := stub(t, map[string]string{"AddOrder": `{"ErrorCode":"Ok","Result":{"Id":"ORD-0000000020","CustId":7,"TotalAmount":1500.5}}`})
	c := New(Config{BaseURL: srv.URL + "/service-json/", InstanceKey: "key", Secret: "sec", Now: fixed})
	o, err := c.AddOrder(context.Background(), "user-session", OrderAddData{DeliveryModeID: "d", Items: []OrderItem{{ID: "1", Quantity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if o.ID != "ORD-0000000020" || o.CustomerID != "7" || o.TotalAmount != 150050 {
		t.Errorf("order = %+v", o)
	}
	q := seen()[0]
	if q.Get("instanceKey") != "key" || q.Get("language") != "en" || q.Get("timestamp") != "20240101120000" || q.Get("sessionId") != "user-session" ||
		!strings.HasPrefix(q.Get("xmlAddData"), "<OrderAddData>") {
		t.Errorf("query = %v", q)
	}
	flat := map[string]string{}
	for k, v := range q {
		flat[k] = v[0]
	}
	if q.Get("signature") != Sign("AddOrder", flat, "sec") {
		t.Error("the signature does not cover the parameters sent")
	}
	unsigned := New(Config{BaseURL: srv.URL + "/service-json", InstanceKey: "key", Now: fixed})
	unsigned.AddOrder(context.Background(), "s", OrderAddData{})
	if _, has := seen()[1]["signature"]; has {
		t.Error("a signature was sent without a secret")
	}
}

func TestClientReadsTolerantShapes(t *testing.T) {
	ctx := context.Background()
	for _, res := range []string{`{"SessionId":"abc"}`, `{"SessionId":{"Value":"abc"}}`, `{"Value":"abc"}`, `"abc"`} {
		srv, _ := stub(t, map[string]string{"AuthenticateInstanceOperator": `{"ErrorCode":"Ok","Result":` + res + `}`})
		id, err := New(Config{BaseURL: srv.URL + "/service-json"}).AuthenticateInstanceOperator(ctx)
		if err != nil || id != "abc" {
			t.Errorf("session from %s = %q, %v", res, id, err)
		}
	}
	srv, _ := stub(t, map[string]string{"AuthenticateInstanceOperator": `{"ErrorCode":"Ok","Result":{}}`})
	if _, err := New(Config{BaseURL: srv.URL + "/service-json"}).AuthenticateInstanceOperator(ctx); err == nil {
		t.Error("an answer without a session was accepted")
	}
	for _, res := range []string{`{"AuthenticationUrl":"https://tb/x"}`, `{"Url":"https://tb/x"}`, `"https://tb/x"`} {
		srv, _ := stub(t, map[string]string{"GetProviderOrdersIntegrationSessionAuthenticationInfo": `{"ErrorCode":"Ok","Result":` + res + `}`})
		u, err := New(Config{BaseURL: srv.URL + "/service-json"}).ProviderAuthURL(ctx, "s", ProviderTaobao, "https://shop/ret")
		if err != nil || u != "https://tb/x" {
			t.Errorf("auth URL from %s = %q, %v", res, u, err)
		}
	}
	for _, res := range []string{`[{"Id":"p1","Name":"nick"}]`, `{"Content":[{"Id":"p1","Name":"nick"}],"TotalCount":1}`, `{"Content":{"Item":[{"Id":{"Value":"p1"},"Name":"nick"}]}}`} {
		srv, _ := stub(t, map[string]string{"GetProviderOrdersIntegrationSessionInfoList": `{"ErrorCode":"Ok","Result":` + res + `}`})
		l, err := New(Config{BaseURL: srv.URL + "/service-json"}).ProviderSessions(ctx, "s", ProviderTaobao)
		if err != nil || len(l) != 1 || l[0].ID != "p1" || l[0].Name != "nick" {
			t.Errorf("sessions from %s = %+v, %v", res, l, err)
		}
	}
	srv, _ = stub(t, map[string]string{
		"AddOrder": `{"ErrorCode":"Ok","Result":{"OrderInfo":{"Id":"ORD-2","CustId":"1","SalesAmount":"99.90"},"Lines":{"Item":[{"Id":5,"ItemId":"i","ConfigId":"0","Quantity":"3"}]}}}`,
		"GetBackgroundActivityInfo": `{"ErrorCode":"Ok","Result":{"Id":{"Value":"9"},"Type":"ProviderOrdersIntegrationExporting","IsFinished":"true","ProgressPercent":100.0,
			"Steps":{"Item":[{"Type":"Info","Message":"ok"},{"Type":"error","Message":"Limit exceeded","TimeFromStart":1.5}]},"Actions":[{"Id":"Skip","DisplayName":"Skip"}]}}`,
		"RunOrderExportingToProvider": `{"ErrorCode":"Ok","Result":{"Type":"ProviderOrdersIntegrationExporting","Id":"9"}}`,
	})
	c := New(Config{BaseURL: srv.URL + "/service-json"})
	o, err := c.AddOrder(ctx, "s", OrderAddData{})
	if err != nil || o.ID != "ORD-2" || o.TotalAmount != 9990 || len(o.Lines) != 1 || o.Lines[0].Quantity != 3 || o.Lines[0].ItemID != "i" {
		t.Errorf("nested order = %+v, %v", o, err)
	}
	aid, err := c.RunOrderExportingToProvider(ctx, "s", ProviderTaobao, "p", ExportParameters{OrderID: "ORD-2"})
	if err != nil || aid.ID != "9" || aid.Type != ActivityExporting {
		t.Fatalf("activity id = %+v, %v", aid, err)
	}
	a, err := c.BackgroundActivity(ctx, "s", *aid)
	if err != nil || !a.IsFinished || a.ProgressPercent != 100 || len(a.Steps) != 2 || a.Steps[1].TimeFromStart != "1.5" || len(a.Actions) != 1 {
		t.Fatalf("activity = %+v, %v", a, err)
	}
	if err := a.Err(); err == nil || !strings.Contains(Explain(err), "failed: Limit exceeded") {
		t.Errorf("Err = %v / %q", err, Explain(err))
	}
	if (&Activity{IsFinished: false, Steps: []Step{{Type: "Error"}}}).Err() != nil {
		t.Error("a running activity has no outcome yet")
	}
	if (&Activity{IsCancelled: true}).Err() == nil {
		t.Error("a cancelled activity is a failure")
	}
}

func TestClientReturnsEnvelopeErrors(t *testing.T) {
	srv, _ := stub(t, map[string]string{
		"AuthenticateInstanceOperator": `{"ErrorCode":"AccessDenied","ErrorDescription":"Invalid operator login or password","SubErrorCode":{"Value":"x"},"RequestId":"r1"}`,
		"Authenticate":                 `{"ErrorCode":"SessionExpired","ErrorDescription":"Session has expired"}`,
		"AddOrder":                     `{"ErrorCode":"InternalError","ErrorDescription":"boom"}`,
	})
	c := New(Config{BaseURL: srv.URL + "/service-json"})
	ctx := context.Background()
	_, err := c.TestConnection(ctx)
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeAccessDenied || e.RequestID != "r1" || e.Method != "AuthenticateInstanceOperator" ||
		!strings.HasPrefix(e.Error(), "otapi: AuthenticateInstanceOperator: AccessDenied") {
		t.Fatalf("err = %#v", err)
	}
	if _, err := c.Authenticate(ctx, "u", "p", true); !errors.As(err, &e) || e.Code != CodeSessionExpired {
		t.Errorf("Authenticate: %v", err)
	}
	if _, err := c.AddOrder(ctx, "s", OrderAddData{}); !errors.As(err, &e) || !e.Temporary() {
		t.Errorf("AddOrder: %v", err)
	}
	_, err = c.ProviderSessions(ctx, "s", ProviderTaobao)
	if !errors.As(err, &e) || e.Code != "" || e.HTTPStatus != 502 || !e.Temporary() || !strings.Contains(e.Description, "Bad gateway") {
		t.Errorf("gateway: %#v", err)
	}
}

func TestParseProviderReturn(t *testing.T) {
	for _, q := range []string{"sessionId=tbs-1", "providerSessionId=tbs-1&x=1", "SessionId=tbs-1"} {
		v, _ := url.ParseQuery(q)
		if id, err := ParseProviderReturn(v); err != nil || id != "tbs-1" {
			t.Errorf("ParseProviderReturn(%s) = %q, %v", q, id, err)
		}
	}
	v, _ := url.ParseQuery("error=Taobao+refused&sessionId=ignored")
	_, err := ParseProviderReturn(v)
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeProviderAuthorization || !strings.Contains(Explain(err), "was not authorised: Taobao refused") {
		t.Errorf("error return: %v / %q", err, Explain(err))
	}
	if _, err := ParseProviderReturn(url.Values{}); err == nil {
		t.Error("an empty return was accepted")
	}
}

func TestExplainSpeaksPlainEnglish(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&Error{Code: CodeAccessDenied}, "refused access"},
		{&Error{Code: CodeSessionExpired}, "session has expired"},
		{&Error{Code: CodeInstanceKeyBan}, "blocked"},
		{&Error{Code: CodeInternalError}, "internal error"},
		{&Error{Code: CodeNotEnoughMoney}, "Top it up"},
		{&Error{Code: CodeInvalidArgument, Description: "Delivery mode \"x\" is not found"}, "rejected the request data: Delivery mode"},
		{&Error{HTTPStatus: 502}, "server is having trouble"},
		{&Error{Code: "Brand new"}, "Brand new"},
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

// FuzzParseProviderReturn fuzzes the one callback of this provider: the
// browser's return from the provider authorisation, whose query is
// untrusted.
func FuzzParseProviderReturn(f *testing.F) {
	for _, s := range []string{"sessionId=tbs-1", "error=x", "providerSessionId=&sessionId=a", "%zz", "sessionId=a&sessionId=b", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		id, err := ParseProviderReturn(q)
		if (err == nil) == (id == "") {
			t.Fatalf("ParseProviderReturn(%q) = %q, %v", raw, id, err)
		}
		if err == nil && q.Get("error") != "" {
			t.Fatalf("an error return was taken as a session: %q", raw)
		}
	})
}

// FuzzParseSalesOrder fuzzes the tolerant reader of AddOrder answers.
func FuzzParseSalesOrder(f *testing.F) {
	f.Add([]byte(`{"SalesOrderInfo":{"Id":"ORD-1","CustId":"1","TotalAmount":1500.5},"SalesLinesList":[{"Id":"101","ItemTaobaoId":"x","Quantity":1}]}`))
	f.Add([]byte(`{"Id":{"Value":"O"},"TotalAmount":"1.001"}`))
	f.Add([]byte(`{"Order":{"Id":7},"Lines":{"Content":{"Item":[{}]}}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := parseSalesOrder("AddOrder", json.RawMessage(b))
		if err == nil && (o == nil || o.ID == "") {
			t.Fatalf("accepted an order without id: %q", b)
		}
	})
}

func TestTheNewParameterDocumentsAreTheDocumentedXML(t *testing.T) {
	tests := []struct{ got, want string }{
		{LineSearch{VendorPurchaseIDs: []string{"3301"}}.XML(),
			`<OrderLineSearchParameters><VendorPurchaseIdList><Id>3301</Id></VendorPurchaseIdList></OrderLineSearchParameters>`},
		{LineSearch{Waybills: []string{"YT1", "YT2"}}.XML(),
			`<OrderLineSearchParameters><VendorPurchaseWaybillIdList><Id>YT1</Id><Id>YT2</Id></VendorPurchaseWaybillIdList></OrderLineSearchParameters>`},
		{syncXML([]string{"ORD-1", "ORD-2"}), `<Parameters><OrderIds><Id>ORD-1</Id><Id>ORD-2</Id></OrderIds></Parameters>`},
		{syncXML(nil), `<Parameters></Parameters>`},
		{LinkParameters{OrderID: "ORD-1", ProviderOrderIDs: []string{"3301"}}.XML(),
			`<Parameters><OrderId>ORD-1</OrderId><ProviderOrderIds><Id>3301</Id></ProviderOrderIds></Parameters>`},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got  %s\nwant %s", tt.got, tt.want)
		}
	}
}

func TestClientReadsTolerantSessionExpiries(t *testing.T) {
	ctx := context.Background()
	want := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, field := range []string{`"ExpirationTime":"2025-03-01T12:00:00"`, `"ExpireTime":"2025-03-01T15:00:00+03:00"`, `"ExpiresAt":"2025-03-01 12:00:00"`,
		`"ValidTill":"/Date(1740830400000)/"`, `"ExpirationDate":"/Date(1740830400000+0300)/"`} {
		srv, _ := stub(t, map[string]string{"GetProviderOrdersIntegrationSessionInfoList": `{"ErrorCode":"Ok","Result":{"Content":[{"Id":"p1","Login":"nick",` + field + `}]}}`})
		l, err := New(Config{BaseURL: srv.URL + "/service-json"}).ProviderSessions(ctx, "s", ProviderTaobao)
		if err != nil || len(l) != 1 || l[0].Name != "nick" || !l[0].ExpiresAt.Equal(want) || l[0].Expired(want.Add(-time.Second)) || !l[0].Expired(want) {
			t.Errorf("%s: %+v, %v", field, l, err)
		}
	}
	srv, _ := stub(t, map[string]string{"GetProviderOrdersIntegrationSessionInfoList": `{"ErrorCode":"Ok","Result":[{"Id":"p1","Name":"nick"},{"Name":"no id"}]}`})
	l, err := New(Config{BaseURL: srv.URL + "/service-json"}).ProviderSessions(ctx, "s", ProviderTaobao)
	if err != nil || len(l) != 1 || !l[0].ExpiresAt.IsZero() || l[0].Expired(time.Now()) {
		t.Errorf("without an expiry: %+v, %v; a session OT gives no end for is alive", l, err)
	}
	srv, _ = stub(t, map[string]string{"GetProviderOrdersIntegrationSessionInfoList": `{"ErrorCode":"Ok","Result":[{"Id":"p1","ExpirationTime":"tomorrow"}]}`})
	if _, err := New(Config{BaseURL: srv.URL + "/service-json"}).ProviderSessions(ctx, "s", ProviderTaobao); err == nil {
		t.Error("an unreadable expiry was taken as no expiry")
	}
}

func TestClientReadsTolerantOrdersAndLines(t *testing.T) {
	ctx := context.Background()
	srv, seen := stub(t, map[string]string{
		"GetSalesOrderDetailsForOperator": `{"ErrorCode":"Ok","Result":{"Id":"ORD-3","CustomerId":"7","Comment":"ORD-1-x","StatusId":2,"StatusName":"Paid",
			"SalesAmount":"10.50","SalesPaid":10.5,"IsCancelled":"false","Currency":"CNY",
			"Lines":{"Item":[{"Id":301,"ItemId":"i","ConfigurationId":"c","Qty":"2.0","StatusId":"4","VendPurchId":3301,"VendPurchWaybill":"YT1","OrderId":"ORD-3"}]}}}`,
		"CancelSalesOrder":              `{"ErrorCode":"Ok"}`,
		"DoActionForBackgroundActivity": `{"ErrorCode":"Ok"}`,
		"CancelBackgroundActivity":      `{"ErrorCode":"Ok"}`,
	})
	c := New(Config{BaseURL: srv.URL + "/service-json"})
	o, err := c.SalesOrderDetails(ctx, "op", "ORD-3")
	if err != nil {
		t.Fatal(err)
	}
	l := o.Lines[0]
	if o.ID != "ORD-3" || o.CustomerID != "7" || o.Comment != "ORD-1-x" || o.StatusID != "2" || o.TotalAmount != 1050 || o.PaidAmount != 1050 || o.Cancelled ||
		o.Currency != "CNY" || l.ID != "301" || l.ItemID != "i" || l.ConfigurationID != "c" || l.Quantity != 2 || l.VendPurchID != "3301" || l.SalesID != "ORD-3" {
		t.Errorf("order = %+v", o)
	}
	if q := seen()[0]; q.Get("salesId") != "ORD-3" || q.Get("filter") != "" || !q.Has("filter") || q.Get("queryType") != "0" {
		t.Errorf("details query = %v", q)
	}
	if err := c.CancelSalesOrder(ctx, "buyer", "ORD-3"); err != nil {
		t.Fatal(err)
	}
	id := ActivityID{Type: ActivityExporting, ID: "9"}
	if err := c.AnswerActivity(ctx, "op", id, "SkipItem"); err != nil {
		t.Fatal(err)
	}
	if err := c.CancelActivity(ctx, "op", id); err != nil {
		t.Fatal(err)
	}
	q := seen()
	if q[1].Get("sessionId") != "buyer" || q[1].Get("salesId") != "ORD-3" || q[2].Get("actionId") != "SkipItem" || q[2].Get("activityType") != ActivityExporting ||
		q[2].Get("activityId") != "9" || q[3].Get("activityId") != "9" {
		t.Errorf("queries = %v", q[1:])
	}
	for _, bad := range []string{`{"Id":"O","Lines":[{"Id":1,"Quantity":1.5}]}`, `{"Id":"O","TotalAmount":"1.001"}`, `{"Comment":"no id"}`} {
		if _, err := parseSalesOrder("GetSalesOrderDetailsForOperator", json.RawMessage(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

// TestSearchesReadEveryFrame: the searches page through OT's frames, with
// or without a TotalCount, and the comment search keeps only the exact
// comment whatever OT matched.
func TestSearchesReadEveryFrame(t *testing.T) {
	ctx := context.Background()
	var positions []string
	total := 230
	withTotal := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		positions = append(positions, q.Get("framePosition"))
		pos, _ := strconv.Atoi(q.Get("framePosition"))
		size, _ := strconv.Atoi(q.Get("frameSize"))
		var items []string
		for i := pos; i < pos+size && i < total; i++ {
			switch {
			case strings.HasSuffix(r.URL.Path, "/SearchOrders"):
				comment := "ORD-1"
				if i%2 == 1 {
					comment = "ORD-10" // OT matched part of the comment
				}
				items = append(items, fmt.Sprintf(`{"SalesOrderInfo":{"Id":"O%d","Comment":%q}}`, i, comment))
			default:
				items = append(items, fmt.Sprintf(`{"Id":"%d","VendPurchWaybill":"YT1","SalesId":"O%d"}`, i, i/3))
			}
		}
		res := `{"Content":[` + strings.Join(items, ",") + `]`
		if withTotal {
			res += `,"TotalCount":` + strconv.Itoa(total)
		}
		fmt.Fprint(w, `{"ErrorCode":"Ok","Result":`+res+`}}`)
	}))
	defer srv.Close()
	c := New(Config{BaseURL: srv.URL + "/service-json"})
	lines, err := c.SearchOrderLines(ctx, "op", LineSearch{Waybills: []string{"YT1"}})
	if err != nil || len(lines) != 230 || lines[229].ID != "229" || lines[229].SalesID != "O76" || strings.Join(positions, ",") != "0,100,200" {
		t.Fatalf("lines = %d, %v; frames at %v", len(lines), err, positions)
	}
	positions, withTotal, total = nil, false, 200
	lines, err = c.SearchOrderLines(ctx, "op", LineSearch{Waybills: []string{"YT1"}})
	if err != nil || len(lines) != 200 || strings.Join(positions, ",") != "0,100,200" {
		t.Fatalf("without TotalCount: %d, %v; frames at %v", len(lines), err, positions)
	}
	positions, withTotal, total = nil, true, 7
	found, err := c.FindSalesOrdersByComment(ctx, "op", "ORD-1")
	if err != nil || len(found) != 4 || found[1].ID != "O2" || found[1].Comment != "ORD-1" {
		t.Fatalf("by comment = %+v, %v", found, err)
	}
}

func TestActivityFailuresAreReadFromCodesOrWords(t *testing.T) {
	tests := []struct {
		step Step
		want string
	}{
		{Step{Type: "Error", Code: "UnpaidOrdersLimit", Message: "x"}, ReasonUnpaidOrdersLimit},
		{Step{Type: "Error", Message: "Лимит неоплаченных заказов в системе Провайдера"}, ReasonUnpaidOrdersLimit},
		{Step{Type: "error", Message: "Неверные настройки адреса для выкупа"}, ReasonInvalidBuyoutAddress},
		{Step{Type: "Error", Message: "Invalid buyout address settings"}, ReasonInvalidBuyoutAddress},
		{Step{Type: "Error", Message: "Заказ не оплачен"}, ReasonOrderNotPaid},
		{Step{Type: "Error", Message: "Bad connection to the provider"}, ""},
	}
	for _, tt := range tests {
		a := &Activity{Type: ActivityExporting, IsFinished: true, Steps: []Step{{Type: "Info"}, tt.step}}
		var e *Error
		if !errors.As(a.Err(), &e) || e.Code != CodeActivityFailed || e.SubCode != tt.want || e.Description != tt.step.Message {
			t.Errorf("%+v: Err = %v", tt.step, a.Err())
		}
	}
	if got := Explain(&Error{Method: ActivitySynchronizing, Code: CodeActivityFailed, Description: "Bad connection."}); got != "The synchronisation with the provider failed: Bad connection." {
		t.Errorf("Explain = %q", got)
	}
	a := &Activity{IsAwaitingAction: true, Description: "Export", Actions: []Action{{ID: "A"}}}
	if q, acts := a.Question(); q != "Export" || len(acts) != 1 {
		t.Errorf("a question without a step: %q %v", q, acts)
	}
	if q, _ := (&Activity{Steps: []Step{{Message: "old", Actions: []Action{{ID: "A"}}}}}).Question(); q != "" {
		t.Error("an activity that does not wait asks nothing")
	}
}

func TestAnExpiredProviderSessionIsToldFromAnExpiredOperatorSession(t *testing.T) {
	srv, _ := stub(t, map[string]string{
		"RunOrderExportingToProvider":        `{"ErrorCode":"SessionExpired","ErrorDescription":"Provider session is expired"}`,
		"RunOrdersSynchronizingWithProvider": `{"ErrorCode":"SessionExpired","ErrorDescription":"Session is expired"}`,
		"RunOrderLinkingWithProvider":        `{"ErrorCode":"ProviderSessionExpired","ErrorDescription":"x"}`,
		"RunOrderUnlinkingFromProvider":      `{"ErrorCode":"NotFound","ErrorDescription":"Provider session 'p' is not found"}`,
	})
	c := New(Config{BaseURL: srv.URL + "/service-json"})
	ctx := context.Background()
	_, err := c.RunOrderExportingToProvider(ctx, "op", ProviderTaobao, "p", ExportParameters{OrderID: "O"})
	if ee := wantCode(t, err, CodeProviderSessionExpired); ee.SubCode != CodeSessionExpired {
		t.Errorf("export: %+v", ee)
	}
	_, err = c.RunOrdersSynchronizingWithProvider(ctx, "op", ProviderTaobao, "p", nil)
	wantCode(t, err, CodeSessionExpired)
	_, err = c.RunOrderLinkingWithProvider(ctx, "op", ProviderTaobao, "p", LinkParameters{OrderID: "O", ProviderOrderIDs: []string{"1"}})
	wantCode(t, err, CodeProviderSessionExpired)
	_, err = c.RunOrderUnlinkingFromProvider(ctx, "op", ProviderTaobao, "p", ExportParameters{OrderID: "O"})
	wantCode(t, err, CodeProviderSessionExpired)
}

func TestSkippedItemsComparesItemConfigurationAndQuantity(t *testing.T) {
	a := OrderItem{ID: "1", Quantity: 2}
	b := OrderItem{ID: "1", ConfigurationID: "7", Quantity: 1}
	sent := OrderAddData{Items: []OrderItem{a, a, b}}
	got := &SalesOrder{Lines: []OrderLine{{ItemID: "1", ConfigurationID: "0", Quantity: 2}, {ItemID: "1", ConfigurationID: "7", Quantity: 1}}}
	if s := SkippedItems(sent, got); len(s) != 1 || s[0] != a {
		t.Errorf("one of two equal items made: skipped = %+v", s)
	}
	got.Lines[1].Quantity = 0
	if s := SkippedItems(OrderAddData{Items: []OrderItem{b}}, got); len(s) != 1 {
		t.Errorf("a line with less than was sent: skipped = %+v", s)
	}
}
