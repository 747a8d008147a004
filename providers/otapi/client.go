// Package otapi is the client of OT API (OT Platform, otapi.net) for the
// autobuy ("Автовыкуп") flow of seed 002, and a sandbox that plays OT
// Platform's side (and a small Taobao behind it).
//
// The flow: the operator opens a session with AuthenticateInstanceOperator;
// once a day a person authorises each of the shop's Taobao logins
// (ProviderAuthURL → the browser goes to Taobao and comes back to the app's
// return URL, read with ParseProviderReturn), after which ProviderSessions
// lists it with its expiry. An order is added on behalf of the buyer
// (Authenticate, then AddOrder with the shop's order number as Comment;
// unavailable items are silently skipped: SkippedItems compares, and
// CancelSalesOrder undoes an order whose skips matter). After a crash
// between AddOrder and recording its answer, FindSalesOrdersByComment
// finds the order made. The order is "paid" from the buyer's account
// (PostTransaction to top it up, SalesPaymentReserve to pay: OT does not
// export unpaid orders).
//
// Autobuy's four interactive operations are background activities:
// RunOrderExportingToProvider, RunOrdersSynchronizingWithProvider,
// RunOrderLinkingWithProvider and RunOrderUnlinkingFromProvider each
// return an ActivityID to follow with BackgroundActivity until it is
// finished; while it awaits the operator (Activity.Question), AnswerActivity
// picks one of the offered actions, and CancelActivity stops it. Activity.Err
// says whether it failed and why. SalesOrderDetails gives each line's
// purchase at the provider (VendPurch* fields), and SearchOrderLines finds
// lines by provider order or by the seller's track number.
//
// Every call is a signed GET (see Sign); errors come back in the JSON
// envelope as ErrorCode ≠ "Ok" and are returned as *Error; Explain words
// them for shop staff. What the public record does not fix is marked [U]
// where it is read, and the sandbox answers exactly that, so that a
// correction is one place.
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
	"fmt"
	"net/http"
	"net/url"
	"orderdesk/providers/internal/wire"
	"regexp"
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
		return nil, &Error{Method: method, HTTPStatus: resp.StatusCode, Description: wire.Snippet(raw)}
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
	// ExpiresAt is when the session ends (a Taobao session lives about a
	// day: seed 002); zero when OT does not say [U].
	ExpiresAt time.Time
}

// Expired reports whether the session has ended at now; a session without
// a known end is taken as alive until a call says otherwise.
func (s ProviderSession) Expired(now time.Time) bool {
	return !s.ExpiresAt.IsZero() && !now.Before(s.ExpiresAt)
}

// ProviderSessions lists the provider sessions OT remembers
// (GetProviderOrdersIntegrationSessionInfoList), expired ones included when
// OT lists them; their ids are the providerSessionId of exports and syncs.
// [U] the item's field names are not public: the login is read from Name,
// Login or AccountName, the end from ExpirationTime, ExpireTime,
// ExpiresAt, ExpirationDate or ValidTill (see parseTime for the formats).
func (c *Client) ProviderSessions(ctx context.Context, operatorSession, providerType string) ([]ProviderSession, error) {
	const method = "GetProviderOrdersIntegrationSessionInfoList"
	res, err := c.Call(ctx, method, map[string]string{
		"sessionId": operatorSession, "providerType": providerType,
	})
	if err != nil {
		return nil, err
	}
	var out []ProviderSession
	for _, item := range list(res) {
		var f map[string]json.RawMessage
		if json.Unmarshal(item, &f) != nil {
			continue
		}
		ps := ProviderSession{ID: value(pick(f, "Id", "SessionId")), Name: scalar(pick(f, "Name", "Login", "AccountName"))}
		if raw := pick(f, "ExpirationTime", "ExpireTime", "ExpiresAt", "ExpirationDate", "ValidTill"); raw != nil {
			t, err := parseTime(scalar(raw))
			if err != nil {
				return nil, &Error{Method: method, Code: CodeInternalError, Description: "session " + ps.ID + ": " + err.Error()}
			}
			ps.ExpiresAt = t
		}
		if ps.ID != "" {
			out = append(out, ps)
		}
	}
	return out, nil
}

// pick returns the first of names present in f (nil when none is).
func pick(f map[string]json.RawMessage, names ...string) json.RawMessage {
	for _, n := range names {
		if v, ok := f[n]; ok && string(bytes.TrimSpace(v)) != "null" {
			return v
		}
	}
	return nil
}

// dotNetDate is the .NET JSON date, /Date(1700000000000)/ or
// /Date(1700000000000+0300)/ (milliseconds since 1970, UTC; the offset only
// says where it was written).
var dotNetDate = regexp.MustCompile(`^/Date\((-?\d+)([+-]\d{4})?\)/$`)

// parseTime reads the time formats a .NET service such as OT writes: RFC
// 3339, an ISO date without a zone (taken as UTC, as OT's timestamps are),
// "2006-01-02 15:04:05", or the .NET JSON date. "" is the zero time.
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if m := dotNetDate.FindStringSubmatch(s); m != nil {
		ms, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("%q is not a date", s)
		}
		return time.UnixMilli(ms).UTC(), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date", s)
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

// TestConnection opens an operator session (the cheapest call that proves
// the key, the secret and the operator's credentials) and says so.
func (c *Client) TestConnection(ctx context.Context) (string, error) {
	if _, err := c.AuthenticateInstanceOperator(ctx); err != nil {
		return "", err
	}
	return "Connected: signed in as operator " + c.cfg.OperatorLogin, nil
}
