// Package otapi is the client of OT API (OT Platform, otapi.net) for the
// autobuy ("Автовыкуп") flow of seed 002, and a sandbox that plays OT
// Platform's side.
//
// The flow: the operator opens a session with AuthenticateInstanceOperator;
// once a day a person authorises the shop's Taobao account (ProviderAuthURL
// → the browser goes to Taobao and comes back to the app's return URL, read
// with ParseProviderReturn), after which ProviderSessions lists it. An order
// is added on behalf of the buyer (Authenticate, then AddOrder; unavailable
// items are silently skipped, so compare SalesOrder.Lines with what was
// sent), "paid" from the buyer's account (PostTransaction to top it up,
// SalesPaymentReserve to pay: OT does not export unpaid orders), and
// exported with RunOrderExportingToProvider, which starts a background
// activity; BackgroundActivity is polled until it is finished
// (Activity.Err says whether the export failed and why).
//
// Every call is a signed GET (see Sign); errors come back in the JSON
// envelope as ErrorCode ≠ "Ok" and are returned as *Error.
//
// Wiring in the app: mount the sandbox with
//
//	mux.Handle("/sandbox/otapi/", http.StripPrefix("/sandbox/otapi", sb))
//
// point the test endpoint at sb.APIURL() (BaseURL + "/service-json"), and
// serve a route for the provider-authorisation return URL that calls
// ParseProviderReturn.
package otapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"orderdesk/providers/internal/httpbody"
)

// ProductionURL is the API root; methods are ProductionURL + "/" + name.
const ProductionURL = "https://otapi.net/service-json"

// ProviderTaobao is the provider type of Taobao (OTCommerce's OtProvider
// constants also list Alibaba1688, Jd, EBay, Alibaba, Aliexpress,
// Wildberries).
const ProviderTaobao = "Taobao"

// ActivityExporting is the type of the background activity started by
// RunOrderExportingToProvider (OT admin code's
// TYPE_PROVIDER_ORDERS_INTEGRATION_EXPORTING).
const ActivityExporting = "ProviderOrdersIntegrationExporting"

// timestampLayout is OT's UTC yyyyMMddHHmmss.
const timestampLayout = "20060102150405"

// Config holds what New needs.
type Config struct {
	// BaseURL is the API root including "/service-json", e.g. ProductionURL.
	BaseURL string
	// InstanceKey is the OT API key.
	InstanceKey string
	// Secret signs every request; empty when the instance has no secret
	// (then no signature is sent).
	Secret string
	// Language is the 2-letter language of answers (default "en").
	Language string
	// OperatorLogin and OperatorPassword are the admin credentials that
	// came with the key (AuthenticateInstanceOperator, TestConnection).
	OperatorLogin    string
	OperatorPassword string
	// HTTPClient is optional; the default has a 30 s timeout.
	HTTPClient *http.Client
	// Now is the clock for timestamps (default time.Now).
	Now func() time.Time
}

// Client calls OT API for one instance key. It is safe for concurrent use;
// it keeps no session: every method takes the session it acts with.
type Client struct {
	cfg  Config
	base string
	http *http.Client
}

// New returns a client for cfg.
func New(cfg Config) *Client {
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Language == "" {
		cfg.Language = "en"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Client{cfg: cfg, base: strings.TrimRight(cfg.BaseURL, "/"), http: hc}
}

// Sign computes OT's request signature as the official PHP client does:
// sort the parameters by name (byte order, like PHP's ksort on these
// names), concatenate their values, put the method name before and the
// secret after, SHA-256, lowercase hex. The signature parameter itself is
// left out.
func Sign(method string, params map[string]string, secret string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(method)
	for _, k := range keys {
		b.WriteString(params[k])
	}
	b.WriteString(secret)
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

// Call sends method with params (plus instanceKey, language, timestamp and
// signature) and returns the envelope's Result as raw JSON. The typed
// methods use it; it is exported for the methods this package does not
// wrap.
func (c *Client) Call(ctx context.Context, method string, params map[string]string) (json.RawMessage, error) {
	p := make(map[string]string, len(params)+4)
	for k, v := range params {
		p[k] = v
	}
	p["instanceKey"] = c.cfg.InstanceKey
	p["language"] = c.cfg.Language
	p["timestamp"] = c.cfg.Now().UTC().Format(timestampLayout)
	if c.cfg.Secret != "" {
		p["signature"] = Sign(method, p, c.cfg.Secret)
	}
	q := url.Values{}
	for k, v := range p {
		q.Set(k, v)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/"+method+"?"+q.Encode(), nil)
	if err != nil {
		return nil, fmt.Errorf("otapi: %s: %w", method, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("otapi: %s: %w", method, err)
	}
	raw, err := httpbody.ReadAndClose(resp, 8<<20)
	if err != nil {
		return nil, fmt.Errorf("otapi: %s: read answer: %w", method, err)
	}
	var env struct {
		ErrorCode        string          `json:"ErrorCode"`
		ErrorDescription string          `json:"ErrorDescription"`
		SubErrorCode     json.RawMessage `json:"SubErrorCode"`
		RequestID        json.RawMessage `json:"RequestId"`
		Result           json.RawMessage `json:"Result"`
	}
	if jerr := json.Unmarshal(raw, &env); jerr != nil || env.ErrorCode == "" {
		return nil, &Error{Method: method, HTTPStatus: resp.StatusCode, Description: snippet(raw)}
	}
	if !strings.EqualFold(env.ErrorCode, CodeOk) {
		return nil, &Error{Method: method, HTTPStatus: resp.StatusCode, Code: env.ErrorCode, Description: env.ErrorDescription,
			SubCode: scalar(env.SubErrorCode), RequestID: scalar(env.RequestID)}
	}
	return env.Result, nil
}

// AuthenticateInstanceOperator opens an operator (admin) session with the
// configured operator credentials and returns its id.
func (c *Client) AuthenticateInstanceOperator(ctx context.Context) (string, error) {
	res, err := c.Call(ctx, "AuthenticateInstanceOperator", map[string]string{
		"userLogin": c.cfg.OperatorLogin, "userPassword": c.cfg.OperatorPassword,
	})
	if err != nil {
		return "", err
	}
	return sessionID("AuthenticateInstanceOperator", res)
}

// Authenticate opens a buyer (user) session, needed to add orders on the
// buyer's behalf.
func (c *Client) Authenticate(ctx context.Context, login, password string, rememberMe bool) (string, error) {
	res, err := c.Call(ctx, "Authenticate", map[string]string{
		"userLogin": login, "userPassword": password, "rememberMe": strconv.FormatBool(rememberMe),
	})
	if err != nil {
		return "", err
	}
	return sessionID("Authenticate", res)
}

// sessionID reads a session id from a Result that may be {"SessionId":"x"},
// {"SessionId":{"Value":"x"}}, {"Value":"x"} or "x" ([U]: OT's JSON for
// OtapiSessionIdAnswer is not documented publicly).
func sessionID(method string, res json.RawMessage) (string, error) {
	var r map[string]json.RawMessage
	if json.Unmarshal(res, &r) == nil {
		if id := value(r["SessionId"]); id != "" {
			return id, nil
		}
		if id := value(res); id != "" {
			return id, nil
		}
	} else if id := scalar(res); id != "" {
		return id, nil
	}
	return "", &Error{Method: method, Code: CodeInternalError, Description: "answer without a session id"}
}

// value reads "x", 12, {"Value":"x"} or {"Id":"x"} as text.
func value(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	if raw[0] == '{' {
		var o map[string]json.RawMessage
		if json.Unmarshal(raw, &o) != nil {
			return ""
		}
		for _, k := range []string{"Value", "value", "Id", "id"} {
			if v, ok := o[k]; ok {
				return value(v)
			}
		}
		return ""
	}
	return scalar(raw)
}

// scalar renders a JSON string or number as text ("" otherwise).
func scalar(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "" // not a JSON string after all: no text, as said above
		}
		return s
	}
	if raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9') || string(raw) == "true" || string(raw) == "false" {
		return string(raw)
	}
	return ""
}

// ProviderAuthURL asks for the address where a person authorises the
// shop's provider account (GetProviderOrdersIntegrationSessionAuthenticationInfo).
// The browser comes back to returnURL with the new provider session or an
// error: read it with ParseProviderReturn.
func (c *Client) ProviderAuthURL(ctx context.Context, operatorSession, providerType, returnURL string) (string, error) {
	const method = "GetProviderOrdersIntegrationSessionAuthenticationInfo"
	res, err := c.Call(ctx, method, map[string]string{
		"sessionId": operatorSession, "providerType": providerType, "returnUrl": returnURL,
	})
	if err != nil {
		return "", err
	}
	// [U] the field name of the URL is not public; accept the likely ones
	// or a bare string.
	var r map[string]json.RawMessage
	if json.Unmarshal(res, &r) == nil {
		for _, k := range []string{"AuthenticationUrl", "AuthenticationURL", "Url", "URL", "AuthUrl", "LoginUrl", "RedirectUrl"} {
			if u := scalar(r[k]); u != "" {
				return u, nil
			}
		}
	}
	if u := scalar(res); u != "" {
		return u, nil
	}
	return "", &Error{Method: method, Code: CodeInternalError, Description: "answer without an authentication URL"}
}

// ParseProviderReturn reads the query of the request that brings the
// browser back to the return URL after the provider authorisation: the new
// provider session id, or an *Error (Code CodeProviderAuthorization).
// [U] the parameter names are not documented; sessionId,
// providerSessionId and SessionId are accepted for the session, error,
// errorMessage and ErrorDescription for the error.
func ParseProviderReturn(q url.Values) (string, error) {
	for _, k := range []string{"error", "errorMessage", "ErrorDescription", "errorDescription"} {
		if msg := q.Get(k); msg != "" {
			return "", &Error{Method: "ProviderAuthorization", Code: CodeProviderAuthorization, Description: msg}
		}
	}
	for _, k := range []string{"sessionId", "providerSessionId", "SessionId"} {
		if id := q.Get(k); id != "" {
			return id, nil
		}
	}
	return "", &Error{Method: "ProviderAuthorization", Code: CodeProviderAuthorization, Description: "no session in the return address"}
}

// ProviderSession is an authorised provider account.
type ProviderSession struct {
	ID   string
	Name string // the provider login (Taobao nick)
}

// ProviderSessions lists the provider sessions OT remembers
// (GetProviderOrdersIntegrationSessionInfoList); their ids are the
// providerSessionId of exports.
func (c *Client) ProviderSessions(ctx context.Context, operatorSession, providerType string) ([]ProviderSession, error) {
	res, err := c.Call(ctx, "GetProviderOrdersIntegrationSessionInfoList", map[string]string{
		"sessionId": operatorSession, "providerType": providerType,
	})
	if err != nil {
		return nil, err
	}
	var out []ProviderSession
	for _, item := range list(res) {
		var s struct {
			ID   json.RawMessage `json:"Id"`
			Name string          `json:"Name"`
		}
		if json.Unmarshal(item, &s) == nil {
			out = append(out, ProviderSession{ID: value(s.ID), Name: s.Name})
		}
	}
	return out, nil
}

// list reads OT's list shapes: a bare array, {"Content":[…]} (a DataList)
// or {"Content":{"Item":[…]}} / {"Item":[…]} (lists serialised from XML).
func list(raw json.RawMessage) []json.RawMessage {
	raw = bytes.TrimSpace(raw)
	var arr []json.RawMessage
	if json.Unmarshal(raw, &arr) == nil {
		return arr
	}
	var o map[string]json.RawMessage
	if json.Unmarshal(raw, &o) != nil {
		return nil
	}
	for _, k := range []string{"Content", "Item", "Items"} {
		if v, ok := o[k]; ok {
			return list(v)
		}
	}
	return nil
}

// OrderItem is one line of OrderAddData.
type OrderItem struct {
	ID string // the provider's item id
	// ConfigurationID is the item's configuration (colour, size…); "0" for
	// an item without options (the default).
	ConfigurationID string
	Quantity        int
	Weight          string
	Comment         string
	PromotionID     string
	PriceType       string
}

// OrderAddData is AddOrder's xmlAddData.
type OrderAddData struct {
	// DeliveryModeID is the delivery created in the OT admin for the shop
	// (an external, free one: seed 002).
	DeliveryModeID string
	// Comment is free text; put the shop's order number here to find the
	// order again.
	Comment       string
	UserProfileID string
	Items         []OrderItem
}

type xmlItem struct {
	ID              string `xml:"Id"`
	ConfigurationID string `xml:"ConfigurationId"`
	Quantity        int    `xml:"Quantity"`
	Weight          string `xml:"Weight,omitempty"`
	Comment         string `xml:"Comment,omitempty"`
	PromotionID     string `xml:"PromotionId,omitempty"`
	PriceType       string `xml:"PriceType,omitempty"`
}

type xmlOrderAddData struct {
	XMLName        xml.Name  `xml:"OrderAddData"`
	DeliveryModeID string    `xml:"DeliveryModeId"`
	Comment        string    `xml:"Comment,omitempty"`
	UserProfileID  string    `xml:"UserProfileId,omitempty"`
	Items          []xmlItem `xml:"Items>Item"`
}

// XML renders d as the <OrderAddData> document AddOrder takes.
func (d OrderAddData) XML() string {
	x := xmlOrderAddData{DeliveryModeID: d.DeliveryModeID, Comment: d.Comment, UserProfileID: d.UserProfileID}
	for _, it := range d.Items {
		cfg := it.ConfigurationID
		if cfg == "" {
			cfg = "0"
		}
		x.Items = append(x.Items, xmlItem{ID: it.ID, ConfigurationID: cfg, Quantity: it.Quantity, Weight: it.Weight,
			Comment: it.Comment, PromotionID: it.PromotionID, PriceType: it.PriceType})
	}
	b, _ := xml.Marshal(x)
	return string(b)
}

// OrderLine is a line of an OT order.
type OrderLine struct {
	ID              string
	ItemID          string
	ConfigurationID string
	Quantity        int
}

// SalesOrder is an order in OT Platform's order system.
type SalesOrder struct {
	ID           string // e.g. "ORD-0000000020"
	CustomerID   string
	CustomerName string
	// TotalAmount is in minor units of the instance's currency.
	TotalAmount int64
	Lines       []OrderLine
	// Raw is the Result as received, for fields not named here.
	Raw json.RawMessage
}

// AddOrder adds an order on the buyer's behalf (buyer session, see
// Authenticate). Items OT cannot order are skipped without an error: compare
// the returned Lines with the items sent.
func (c *Client) AddOrder(ctx context.Context, userSession string, d OrderAddData) (*SalesOrder, error) {
	res, err := c.Call(ctx, "AddOrder", map[string]string{"sessionId": userSession, "xmlAddData": d.XML()})
	if err != nil {
		return nil, err
	}
	return parseSalesOrder(res)
}

// parseSalesOrder reads AddOrder's Result. [U] its shape is not public; the
// sandbox answers like GetSalesOrderDetailsForOperator ({SalesOrderInfo,
// SalesLinesList}); a flat order ({Id, CustId, …}) or one nested in Order /
// OrderInfo is accepted too.
func parseSalesOrder(res json.RawMessage) (*SalesOrder, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(res, &top); err != nil {
		return nil, fmt.Errorf("otapi: AddOrder: decode answer: %w", err)
	}
	info := res
	for _, k := range []string{"SalesOrderInfo", "OrderInfo", "Order"} {
		if v, ok := top[k]; ok {
			info = v
			break
		}
	}
	var o struct {
		ID          json.RawMessage `json:"Id"`
		CustID      json.RawMessage `json:"CustId"`
		CustName    string          `json:"CustName"`
		TotalAmount json.RawMessage `json:"TotalAmount"`
		SalesAmount json.RawMessage `json:"SalesAmount"`
	}
	if err := json.Unmarshal(info, &o); err != nil {
		return nil, fmt.Errorf("otapi: AddOrder: decode order: %w", err)
	}
	so := &SalesOrder{ID: value(o.ID), CustomerID: value(o.CustID), CustomerName: o.CustName, Raw: res}
	if so.ID == "" {
		return nil, &Error{Method: "AddOrder", Code: CodeInternalError, Description: "answer without an order id"}
	}
	amount := o.TotalAmount
	if len(amount) == 0 {
		amount = o.SalesAmount
	}
	if a := value(amount); a != "" {
		v, err := ParseMoney(a)
		if err != nil {
			return nil, fmt.Errorf("otapi: AddOrder: %w", err)
		}
		so.TotalAmount = v
	}
	lines := top["SalesLinesList"]
	if lines == nil {
		lines = top["Lines"]
	}
	for _, item := range list(lines) {
		var l struct {
			ID           json.RawMessage `json:"Id"`
			ItemTaobaoID json.RawMessage `json:"ItemTaobaoId"`
			ItemID       json.RawMessage `json:"ItemId"`
			ConfigID     json.RawMessage `json:"ConfigId"`
			Quantity     json.RawMessage `json:"Quantity"`
		}
		if json.Unmarshal(item, &l) != nil {
			continue
		}
		ol := OrderLine{ID: value(l.ID), ItemID: value(l.ItemTaobaoID), ConfigurationID: value(l.ConfigID)}
		if ol.ItemID == "" {
			ol.ItemID = value(l.ItemID)
		}
		ol.Quantity, _ = strconv.Atoi(value(l.Quantity))
		so.Lines = append(so.Lines, ol)
	}
	return so, nil
}

// PostTransaction moves money on a buyer's account at OT Platform. Seed 002
// tops the account up with isDebit=true before paying an order from it (no
// real money moves). amount is in minor units.
func (c *Client) PostTransaction(ctx context.Context, operatorSession, customerID string, amount int64, comment string, isDebit bool, at time.Time) error {
	p := map[string]string{
		"sessionId": operatorSession, "customerId": customerID, "amount": FormatMoney(amount),
		"comment": comment, "isDebit": strconv.FormatBool(isDebit), "transactionDate": "",
	}
	if !at.IsZero() {
		// [U] the date format is not documented; ISO 8601 is what .NET
		// services read.
		p["transactionDate"] = at.UTC().Format("2006-01-02T15:04:05")
	}
	_, err := c.Call(ctx, "PostTransaction", p)
	return err
}

// PaymentInfo is the payment state of an order (SalesPaymentInfo).
type PaymentInfo struct {
	SalesAmount      int64 // the order's total
	SalesPaid        int64 // paid so far
	CustBalanceAvail int64 // left on the buyer's account
}

// SalesPaymentReserve pays amount (minor units) of an order from the buyer's
// account.
func (c *Client) SalesPaymentReserve(ctx context.Context, operatorSession, salesID string, amount int64) (*PaymentInfo, error) {
	res, err := c.Call(ctx, "SalesPaymentReserve", map[string]string{
		"sessionId": operatorSession, "salesId": salesID, "amount": FormatMoney(amount),
	})
	if err != nil {
		return nil, err
	}
	var w struct {
		SalesAmount      json.RawMessage `json:"SalesAmount"`
		SalesPaid        json.RawMessage `json:"SalesPaid"`
		CustBalanceAvail json.RawMessage `json:"CustBalanceAvail"`
	}
	if err := json.Unmarshal(res, &w); err != nil {
		return nil, fmt.Errorf("otapi: SalesPaymentReserve: decode answer: %w", err)
	}
	pi := &PaymentInfo{}
	for dst, raw := range map[*int64]json.RawMessage{&pi.SalesAmount: w.SalesAmount, &pi.SalesPaid: w.SalesPaid, &pi.CustBalanceAvail: w.CustBalanceAvail} {
		if s := value(raw); s != "" {
			v, err := ParseMoney(s)
			if err != nil {
				return nil, fmt.Errorf("otapi: SalesPaymentReserve: %w", err)
			}
			*dst = v
		}
	}
	return pi, nil
}

// ExportParameters selects what RunOrderExportingToProvider exports: the
// whole order, or only some of its lines.
type ExportParameters struct {
	OrderID      string
	OrderLineIDs []string
}

// XML renders p as the <Parameters> document the method takes.
func (p ExportParameters) XML() string {
	type ids struct {
		ID []string `xml:"Id"`
	}
	x := struct {
		XMLName xml.Name `xml:"Parameters"`
		OrderID string   `xml:"OrderId"`
		// A pointer, so that exporting the whole order sends no
		// <OrderLineIds> at all rather than an empty one.
		LineIDs *ids `xml:"OrderLineIds,omitempty"`
	}{OrderID: p.OrderID}
	if len(p.OrderLineIDs) > 0 {
		x.LineIDs = &ids{ID: p.OrderLineIDs}
	}
	b, _ := xml.Marshal(x)
	return string(b)
}

// ActivityID identifies a background activity (BackgroundActivityIdentificationInfo).
type ActivityID struct {
	Type string
	ID   string
}

// RunOrderExportingToProvider starts exporting an order to the provider with
// the given provider session and returns the background activity to follow
// with BackgroundActivity.
func (c *Client) RunOrderExportingToProvider(ctx context.Context, operatorSession, providerType, providerSession string, p ExportParameters) (*ActivityID, error) {
	const method = "RunOrderExportingToProvider"
	res, err := c.Call(ctx, method, map[string]string{
		"sessionId": operatorSession, "providerType": providerType, "providerSessionId": providerSession, "xmlParameters": p.XML(),
	})
	if err != nil {
		return nil, err
	}
	var w struct {
		Type string          `json:"Type"`
		ID   json.RawMessage `json:"Id"`
	}
	if err := json.Unmarshal(res, &w); err != nil || value(w.ID) == "" {
		return nil, &Error{Method: method, Code: CodeInternalError, Description: "answer without an activity id"}
	}
	if w.Type == "" {
		w.Type = ActivityExporting
	}
	return &ActivityID{Type: w.Type, ID: value(w.ID)}, nil
}

// Action is a choice an activity waiting for the operator offers.
type Action struct {
	ID          string
	DisplayName string
}

// Step is one entry of an activity's log.
type Step struct {
	// Type is the kind of step; "Error" marks a failure ([U]: the set of
	// step types is not public; the sandbox uses Info and Error).
	Type          string
	Message       string
	TimeFromStart string
	Actions       []Action
}

// Activity is the state of a background activity
// (BackgroundActivityFullInfo).
type Activity struct {
	ID               string
	Type             string
	Description      string
	IsFinished       bool
	IsCancelled      bool
	IsAwaitingAction bool
	ProgressPercent  int
	Actions          []Action
	Steps            []Step
}

// Err returns nil while the activity runs or when it finished well, and an
// *Error (Code CodeActivityFailed, the failing step's message) when it
// finished with an error step or was cancelled.
func (a *Activity) Err() error {
	if !a.IsFinished && !a.IsCancelled {
		return nil
	}
	for _, s := range a.Steps {
		if strings.EqualFold(s.Type, "Error") {
			return &Error{Method: a.Type, Code: CodeActivityFailed, Description: s.Message}
		}
	}
	if a.IsCancelled {
		return &Error{Method: a.Type, Code: CodeActivityFailed, Description: "the activity was cancelled"}
	}
	return nil
}

// BackgroundActivity reads the state of an activity. [U] the method name
// GetBackgroundActivityInfo(language, sessionId, activityType, activityId)
// comes from OT's own admin code (ActivitiesUtil::getActivityInfoAction);
// the query parameter names activityType and activityId follow its
// argument names.
func (c *Client) BackgroundActivity(ctx context.Context, operatorSession string, id ActivityID) (*Activity, error) {
	res, err := c.Call(ctx, "GetBackgroundActivityInfo", map[string]string{
		"sessionId": operatorSession, "activityType": id.Type, "activityId": id.ID,
	})
	if err != nil {
		return nil, err
	}
	var w struct {
		ID               json.RawMessage `json:"Id"`
		Type             string          `json:"Type"`
		Description      string          `json:"Description"`
		IsFinished       json.RawMessage `json:"IsFinished"`
		IsCancelled      json.RawMessage `json:"IsCancelled"`
		IsAwaitingAction json.RawMessage `json:"IsAwaitingAction"`
		ProgressPercent  json.RawMessage `json:"ProgressPercent"`
		Actions          json.RawMessage `json:"Actions"`
		Steps            json.RawMessage `json:"Steps"`
	}
	if err := json.Unmarshal(res, &w); err != nil {
		return nil, fmt.Errorf("otapi: GetBackgroundActivityInfo: decode answer: %w", err)
	}
	a := &Activity{ID: value(w.ID), Type: w.Type, Description: w.Description,
		IsFinished: truthy(w.IsFinished), IsCancelled: truthy(w.IsCancelled), IsAwaitingAction: truthy(w.IsAwaitingAction)}
	if a.ID == "" {
		a.ID = id.ID
	}
	if a.Type == "" {
		a.Type = id.Type
	}
	p, _ := strconv.ParseFloat(value(w.ProgressPercent), 64)
	a.ProgressPercent = int(p)
	a.Actions = actions(w.Actions)
	for _, item := range list(w.Steps) {
		var s struct {
			Type          string          `json:"Type"`
			Message       string          `json:"Message"`
			TimeFromStart json.RawMessage `json:"TimeFromStart"`
			Actions       json.RawMessage `json:"Actions"`
		}
		if json.Unmarshal(item, &s) == nil {
			a.Steps = append(a.Steps, Step{Type: s.Type, Message: s.Message, TimeFromStart: scalar(s.TimeFromStart), Actions: actions(s.Actions)})
		}
	}
	return a, nil
}

func actions(raw json.RawMessage) []Action {
	var out []Action
	for _, item := range list(raw) {
		var a struct {
			ID          json.RawMessage `json:"Id"`
			DisplayName string          `json:"DisplayName"`
		}
		if json.Unmarshal(item, &a) == nil {
			out = append(out, Action{ID: value(a.ID), DisplayName: a.DisplayName})
		}
	}
	return out
}

// truthy reads true, "true", 1 and "1" as true.
func truthy(raw json.RawMessage) bool {
	switch strings.Trim(strings.ToLower(string(bytes.TrimSpace(raw))), `"`) {
	case "true", "1":
		return true
	}
	return false
}

// TestConnection opens an operator session (the cheapest call that proves
// the key, the secret and the operator's credentials) and says so.
func (c *Client) TestConnection(ctx context.Context) (string, error) {
	if _, err := c.AuthenticateInstanceOperator(ctx); err != nil {
		return "", err
	}
	return "Connected: signed in as operator " + c.cfg.OperatorLogin, nil
}

// ---------------------------------------------------------------- money

// FormatMoney renders minor units as OT's decimal amount ("1500.50").
func FormatMoney(minor int64) string {
	neg := minor < 0
	u := uint64(minor)
	if neg {
		u = -u
	}
	s := fmt.Sprintf("%d.%02d", u/100, u%100)
	if neg {
		s = "-" + s
	}
	return s
}

// ParseMoney reads a decimal amount ("1500.5", "1500.50", "1500") into
// minor units, exactly; fractions of a minor unit are refused unless zeros.
func ParseMoney(s string) (int64, error) {
	s = strings.TrimSpace(s)
	orig := s
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	if !digits(whole) || (frac != "" && !digits(frac)) || len(whole) > 15 || strings.HasSuffix(s, ".") {
		return 0, fmt.Errorf("otapi: %q is not an amount", orig)
	}
	for len(frac) > 2 && frac[len(frac)-1] == '0' {
		frac = frac[:len(frac)-1]
	}
	if len(frac) > 2 {
		return 0, fmt.Errorf("otapi: %q has fractions of a minor unit", orig)
	}
	for len(frac) < 2 {
		frac += "0"
	}
	w, _ := strconv.ParseInt(whole, 10, 64)
	f, _ := strconv.ParseInt(frac, 10, 64)
	v := w*100 + f
	if neg {
		v = -v
	}
	return v, nil
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ---------------------------------------------------------------- errors

// Error codes of the envelope's ErrorCode. Ok, SessionExpired, AccessDenied,
// InstanceKeyBan, InternalError and BatchError are seen in OT code comments;
// NotFound, InvalidArgument and NotEnoughMoney are this package's choice
// for the sandbox [U]; ActivityFailed and ProviderAuthorization are not OT
// codes but mark a failed activity and a failed provider authorisation.
const (
	CodeOk                    = "Ok"
	CodeSessionExpired        = "SessionExpired"
	CodeAccessDenied          = "AccessDenied"
	CodeInstanceKeyBan        = "InstanceKeyBan"
	CodeInternalError         = "InternalError"
	CodeBatchError            = "BatchError"
	CodeNotFound              = "NotFound"        // [U]
	CodeInvalidArgument       = "InvalidArgument" // [U]
	CodeNotEnoughMoney        = "NotEnoughMoney"  // [U]
	CodeActivityFailed        = "ActivityFailed"
	CodeProviderAuthorization = "ProviderAuthorization"
)

// Error is an OT API error (Code set), an HTTP failure without the envelope
// (Code empty), a failed background activity or a failed provider
// authorisation.
type Error struct {
	Method      string
	HTTPStatus  int
	Code        string
	Description string
	SubCode     string
	RequestID   string
}

// Error returns OT's words prefixed with the provider's name.
func (e *Error) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("otapi: %s: HTTP %d: %s", e.Method, e.HTTPStatus, e.Description)
	}
	s := "otapi: " + e.Method + ": " + e.Code
	if e.Description != "" {
		s += ": " + e.Description
	}
	return s
}

// Temporary reports whether the same call may succeed later unchanged.
func (e *Error) Temporary() bool {
	if e.Code == "" {
		return e.HTTPStatus >= 500 || e.HTTPStatus == http.StatusTooManyRequests
	}
	return e.Code == CodeInternalError
}

// Explain is the method form of the package-level Explain.
func (e *Error) Explain() string { return Explain(e) }

// Explain returns a short, plain-English sentence for a shop assistant about
// what went wrong, for any error this package returns.
func Explain(err error) string {
	if err == nil {
		return ""
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "OT API did not answer in time. Try again in a few minutes."
	}
	var e *Error
	if !errors.As(err, &e) {
		return "Could not reach OT API (network problem). Try again in a few minutes."
	}
	switch e.Code {
	case "":
		return "The OT API server is having trouble. Try again in a few minutes."
	case CodeAccessDenied:
		return "OT API refused access: check the instance key, the secret and the operator's login and password in the integration settings."
	case CodeSessionExpired:
		return "The OT API session has expired. Sign in again and repeat the action."
	case CodeInstanceKeyBan:
		return "The OT API instance key is blocked. Contact OT Commerce support."
	case CodeInternalError:
		return "OT API had an internal error. Try again in a few minutes."
	case CodeBatchError:
		return "Part of the request failed at OT API; check the order."
	case CodeNotFound:
		return "OT API has no such order, session or activity."
	case CodeNotEnoughMoney:
		return "The buyer's account at OT Platform has too little money to pay this order. Top it up first."
	case CodeInvalidArgument:
		s := "OT API rejected the request data"
		if e.Description != "" {
			s += ": " + e.Description
		}
		return s + "."
	case CodeActivityFailed:
		return "The export to the provider failed: " + e.Description + "."
	case CodeProviderAuthorization:
		return "The provider account (Taobao) was not authorised: " + e.Description + ". Open the authorisation again."
	}
	return "OT API refused the request (" + e.Code + ")."
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
