// Package dostavista is the client of the Dostavista (Borzo) business API 1.5
// for courier deliveries, and a sandbox that plays Dostavista's side.
//
// The flow (seed 004): the shop asks for a price with CalculateOrder, places
// the order with CreateOrder and follows it either by polling Order or by
// Dostavista's callbacks. Callbacks are POSTed to the URL set in the
// Dostavista cabinet (API settings) and signed with the cabinet's callback
// secret: the app verifies them with ParseCallback (or VerifyCallback) over
// the raw body, records the new status through its one model function and
// answers 2xx quickly. A callback carries the whole order, but the app should
// still treat it as a hint to apply only forward transitions: callbacks may
// arrive twice or out of order.
//
// Wiring in the app: mount the sandbox with
//
//	mux.Handle("/sandbox/dostavista/", http.StripPrefix("/sandbox/dostavista", sb))
//
// point the test endpoint at sb.APIURL() (BaseURL + "/api/business/1.5"),
// and set the sandbox's callback URL (SandboxConfig.CallbackURL,
// SetCallbackURL or its control page) to the app's callback route.
package dostavista

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"orderdesk/providers/internal/wire"
	"sort"
	"strconv"
	"strings"
	"time"

	"orderdesk/providers/internal/httpbody"
)

// Public endpoints of the business API.
const (
	ProductionURL = "https://robotapi.dostavista.ru/api/business/1.5"
	TestURL       = "https://robotapitest.dostavista.ru/api/business/1.5"
)

// AuthHeader is the header that carries the API token.
const AuthHeader = "X-DV-Auth-Token"

// ErrNotFound is returned by Order when Dostavista lists no order with that
// id (the API answers an empty list, not an error).
var ErrNotFound = errors.New("dostavista: order not found")

// Config holds what New needs.
type Config struct {
	// BaseURL is the API root including "/api/business/1.5", e.g. TestURL.
	BaseURL string
	// AuthToken is the API token from the cabinet (test and live differ).
	AuthToken string
	// HTTPClient is optional; the default has a 30 s timeout.
	HTTPClient *http.Client
}

// Client calls the business API with one token. It is safe for concurrent
// use.
type Client struct {
	baseURL string
	token   string
	http    *http.Client
}

// New returns a client for cfg.
func New(cfg Config) *Client {
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{baseURL: strings.TrimRight(cfg.BaseURL, "/"), token: cfg.AuthToken, http: hc}
}

// CalculateOrder asks for the price of a delivery without placing it. Fields
// that create-order would refuse (a missing phone) come back as
// Order.Warnings and Order.ParameterWarnings, not as an error.
func (c *Client) CalculateOrder(ctx context.Context, req OrderRequest) (*Order, error) {
	var out orderAnswer
	if err := c.do(ctx, http.MethodPost, "/calculate-order", nil, req.wire(), &out); err != nil {
		return nil, err
	}
	return out.result()
}

// CreateOrder places a courier order and returns it with its order_id and
// status "new".
func (c *Client) CreateOrder(ctx context.Context, req OrderRequest) (*Order, error) {
	var out orderAnswer
	if err := c.do(ctx, http.MethodPost, "/create-order", nil, req.wire(), &out); err != nil {
		return nil, err
	}
	return out.result()
}

// CancelOrder cancels an order. Dostavista refuses (order_cannot_be_canceled)
// once the courier has visited a point, and for finished orders.
func (c *Client) CancelOrder(ctx context.Context, orderID int64) (*Order, error) {
	var out orderAnswer
	if err := c.do(ctx, http.MethodPost, "/cancel-order", nil, map[string]int64{"order_id": orderID}, &out); err != nil {
		return nil, err
	}
	return out.result()
}

// Order returns one order by id (GET /orders?order_id=), or ErrNotFound.
func (c *Client) Order(ctx context.Context, orderID int64) (*Order, error) {
	list, err := c.Orders(ctx, OrdersFilter{OrderIDs: []int64{orderID}})
	if err != nil {
		return nil, err
	}
	for _, o := range list.Orders {
		if o.OrderID == orderID {
			return o, nil
		}
	}
	return nil, ErrNotFound
}

// FindByClientOrderID looks for the latest order (canceled ones aside) with a
// point that carries the shop's client_order_id, among the account's latest
// orders: GET /orders has no filter for it [U: none is documented], so it
// reads up to pages pages of 50, newest first. It is how a shop finds an
// order whose create-order answer it lost before placing it again. It
// returns ErrNotFound when there is none.
func (c *Client) FindByClientOrderID(ctx context.Context, clientOrderID string, pages int) (*Order, error) {
	for page := 0; page < pages; page++ {
		list, err := c.Orders(ctx, OrdersFilter{Count: 50, Offset: page * 50})
		if err != nil {
			return nil, err
		}
		for _, o := range list.Orders {
			if o.Status == StatusCanceled {
				continue
			}
			for _, p := range o.Points {
				if p.ClientOrderID == clientOrderID {
					return o, nil
				}
			}
		}
		if len(list.Orders) < 50 {
			break
		}
	}
	return nil, ErrNotFound
}

// OrdersFilter selects orders for Orders; zero fields do not filter.
type OrdersFilter struct {
	OrderIDs []int64
	Status   string
	Count    int // page size, at most 50 (API default 10)
	Offset   int
}

// OrderList is a page of orders.
type OrderList struct {
	Orders []*Order
	// Total is the API's orders_count.
	Total int
}

// Orders lists orders (GET /orders).
func (c *Client) Orders(ctx context.Context, f OrdersFilter) (*OrderList, error) {
	q := url.Values{}
	for _, id := range f.OrderIDs {
		q.Add("order_id", strconv.FormatInt(id, 10))
	}
	if f.Status != "" {
		q.Set("status", f.Status)
	}
	if f.Count > 0 {
		q.Set("count", strconv.Itoa(f.Count))
	}
	if f.Offset > 0 {
		q.Set("offset", strconv.Itoa(f.Offset))
	}
	var out struct {
		Orders      []wireOrder `json:"orders"`
		OrdersCount wire.Int    `json:"orders_count"`
	}
	if err := c.do(ctx, http.MethodGet, "/orders", q, nil, &out); err != nil {
		return nil, err
	}
	l := &OrderList{Total: int(out.OrdersCount)}
	for i := range out.Orders {
		l.Orders = append(l.Orders, out.Orders[i].order())
	}
	return l, nil
}

// TestConnection makes the cheapest authenticated call (GET /orders?count=1)
// and says what came back.
func (c *Client) TestConnection(ctx context.Context) (string, error) {
	l, err := c.Orders(ctx, OrdersFilter{Count: 1})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("Connected: API token accepted, %d %s on the account", l.Total, plural(l.Total, "order", "orders")), nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

type orderAnswer struct {
	Order             *wireOrder      `json:"order"`
	Warnings          []string        `json:"warnings"`
	ParameterWarnings json.RawMessage `json:"parameter_warnings"`
}

func (a *orderAnswer) result() (*Order, error) {
	if a.Order == nil {
		return nil, errors.New("dostavista: answer has no order")
	}
	o := a.Order.order()
	o.Warnings = a.Warnings
	o.ParameterWarnings = flattenParamErrors(a.ParameterWarnings)
	return o, nil
}

// do sends one request and decodes a successful answer into out.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, body, out any) error {
	u := c.baseURL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("dostavista: %s: encode request: %w", path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("dostavista: %s: %w", path, err)
	}
	req.Header.Set(AuthHeader, c.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("dostavista: %s: %w", path, err)
	}
	raw, err := httpbody.ReadAndClose(resp, 4<<20)
	if err != nil {
		return fmt.Errorf("dostavista: %s: read answer: %w", path, err)
	}
	var env struct {
		IsSuccessful    *bool           `json:"is_successful"`
		Errors          []string        `json:"errors"`
		ParameterErrors json.RawMessage `json:"parameter_errors"`
	}
	if jerr := json.Unmarshal(raw, &env); jerr != nil || env.IsSuccessful == nil {
		// Not the API's envelope: a proxy or the web server failed. Keep the
		// body short, it may be an HTML page.
		return &Error{HTTPStatus: resp.StatusCode, Message: wire.Snippet(raw)}
	}
	if !*env.IsSuccessful || resp.StatusCode != http.StatusOK {
		return &Error{HTTPStatus: resp.StatusCode, Codes: env.Errors, ParameterErrors: flattenParamErrors(env.ParameterErrors)}
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("dostavista: %s: decode answer: %w", path, err)
	}
	return nil
}

// Error codes of the API's `errors` list (providers.md §5; the full enum is
// in the API specification).
const (
	CodeUnexpectedError       = "unexpected_error"
	CodeRequestsLimitExceeded = "requests_limit_exceeded"
	CodeRequiredAuthToken     = "required_auth_token"
	CodeInvalidAuthToken      = "invalid_auth_token"
	CodeRequiredMethodGet     = "required_method_get"
	CodeRequiredMethodPost    = "required_method_post"
	CodeInvalidPostJSON       = "invalid_post_json"
	CodeInvalidParameters     = "invalid_parameters"
	CodeInvalidAPIMethod      = "invalid_api_method"
	CodeServiceUnavailable    = "service_unavailable"
	CodeOrderCannotBeEdited   = "order_cannot_be_edited"
	CodeOrderCannotBeCanceled = "order_cannot_be_canceled"
	CodeInsufficientBalance   = "insufficient_balance"
	CodeOrderIsDuplicate      = "order_is_duplicate"
	CodeUnapprovedContract    = "unapproved_contract"
	CodeRouteNotFound         = "route_not_found"
	CodeCardPaymentFailed     = "card_payment_failed"
)

// FieldError is one entry of parameter_errors (or parameter_warnings),
// flattened: Field is the path in the request ("points[1].contact_person.phone"),
// Codes the API's codes for it ("invalid_phone").
type FieldError struct {
	Field string
	Codes []string
}

// Error is an error answer of the API (is_successful=false) or an HTTP
// failure without the API's envelope (Codes empty, Message set).
type Error struct {
	HTTPStatus      int
	Codes           []string
	ParameterErrors []FieldError
	Message         string
}

// Code returns the first error code, "" for an HTTP failure.
func (e *Error) Code() string {
	if len(e.Codes) == 0 {
		return ""
	}
	return e.Codes[0]
}

// Has reports whether the API returned code.
func (e *Error) Has(code string) bool {
	for _, c := range e.Codes {
		if c == code {
			return true
		}
	}
	return false
}

// Error returns the codes prefixed with the provider's name.
func (e *Error) Error() string {
	if len(e.Codes) == 0 {
		return fmt.Sprintf("dostavista: HTTP %d: %s", e.HTTPStatus, e.Message)
	}
	s := "dostavista: " + strings.Join(e.Codes, ", ")
	if len(e.ParameterErrors) > 0 {
		var parts []string
		for _, f := range e.ParameterErrors {
			parts = append(parts, f.Field+": "+strings.Join(f.Codes, ","))
		}
		s += " (" + strings.Join(parts, "; ") + ")"
	}
	return s
}

// Temporary reports whether the same call may succeed later unchanged.
func (e *Error) Temporary() bool {
	if len(e.Codes) == 0 {
		return e.HTTPStatus >= 500 || e.HTTPStatus == http.StatusTooManyRequests
	}
	return e.Has(CodeUnexpectedError) || e.Has(CodeRequestsLimitExceeded) || e.Has(CodeServiceUnavailable)
}

// Explain is the method form of the package-level Explain.
func (e *Error) Explain() string { return Explain(e) }

// Explain returns a short, plain-English sentence for a shop assistant about
// what went wrong, for any error this package returns.
func Explain(err error) string {
	if err == nil {
		return ""
	}
	if errors.Is(err, ErrBadSignature) {
		return "A Dostavista status update failed the signature check and was ignored: check the callback secret, or someone sent a fake update."
	}
	if errors.Is(err, ErrNoSecret) {
		return "The Dostavista callback secret is not set in the integration settings, so status updates cannot be checked."
	}
	if errors.Is(err, ErrNotFound) {
		return "Dostavista has no courier order with this number."
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "Dostavista did not answer in time. Try again in a few minutes; check the order list before placing the order again."
	}
	var e *Error
	if !errors.As(err, &e) {
		return "Could not reach Dostavista (network problem). Try again in a few minutes."
	}
	switch {
	case len(e.Codes) == 0:
		return "Dostavista's server is having trouble. Try again in a few minutes."
	case e.Has(CodeRequiredAuthToken), e.Has(CodeInvalidAuthToken):
		return "Dostavista refused the API token. Check the integration settings (test and live tokens differ)."
	case e.Has(CodeInsufficientBalance):
		return "There is not enough money on the Dostavista account to pay for this delivery. Top up the balance or choose cash payment."
	case e.Has(CodeOrderCannotBeCanceled):
		return "This courier order can no longer be canceled: the courier has already picked it up, or it is finished."
	case e.Has(CodeOrderCannotBeEdited):
		return "This courier order can no longer be changed."
	case e.Has(CodeOrderIsDuplicate):
		return "Dostavista already has the same order; it was not placed twice."
	case e.Has(CodeRequestsLimitExceeded):
		return "Too many requests to Dostavista. Wait a minute and try again."
	case e.Has(CodeUnapprovedContract):
		return "The Dostavista contract is not approved yet, so orders cannot be placed. Contact Dostavista."
	case e.Has(CodeCardPaymentFailed):
		return "Dostavista could not charge the bank card linked to the account."
	case e.Has(CodeRouteNotFound):
		return "Dostavista could not build a route between these addresses."
	case e.Has(CodeInvalidParameters):
		if len(e.ParameterErrors) > 0 {
			return "Dostavista rejected the delivery details: " + describeField(e.ParameterErrors[0]) + "."
		}
		return "Dostavista rejected the delivery details."
	case e.Has(CodeUnexpectedError), e.Has(CodeServiceUnavailable):
		return "Dostavista is temporarily unavailable. Try again in a few minutes."
	}
	return "Dostavista refused the request (" + strings.Join(e.Codes, ", ") + ")."
}

// describeField turns "points[1].contact_person.phone: invalid_phone" into
// "the phone number of point 2 is not a valid phone number".
func describeField(f FieldError) string {
	parts := strings.Split(f.Field, ".")
	var point string
	var leaf string
	for _, p := range parts {
		name, idx, ok := strings.Cut(p, "[")
		if ok && name == "points" {
			n, _ := strconv.Atoi(strings.TrimSuffix(idx, "]"))
			point = fmt.Sprintf("point %d", n+1)
		}
		leaf = name
	}
	what, ok := fieldWords[leaf]
	if !ok {
		what = strings.ReplaceAll(leaf, "_", " ")
	}
	subject := "the " + what
	if point != "" {
		subject += " of " + point
	}
	code := ""
	if len(f.Codes) > 0 {
		code = f.Codes[0]
	}
	verdict, ok := codeWords[code]
	if !ok {
		verdict = "is not accepted (" + code + ")"
	}
	return subject + " " + verdict
}

var fieldWords = map[string]string{
	"phone":                    "phone number",
	"address":                  "address",
	"matter":                   "description of the goods",
	"points":                   "list of addresses",
	"required_start_datetime":  "start of the time window",
	"required_finish_datetime": "end of the time window",
	"total_weight_kg":          "weight",
	"vehicle_type_id":          "vehicle type",
	"taking_amount":            "cash to collect",
	"buyout_amount":            "buyout amount",
	"insurance_amount":         "declared value",
	"payment_method":           "payment method",
	"client_order_id":          "order number",
	"type":                     "order type",
	"order_id":                 "order number",
}

var codeWords = map[string]string{
	"required":             "is missing",
	"invalid_phone":        "is not a valid phone number",
	"address_not_found":    "was not found on the map",
	"invalid_date_format":  "is not a valid date and time",
	"cannot_be_past":       "is in the past",
	"start_after_end":      "starts after it ends",
	"min_size":             "needs at least two addresses",
	"max_length":           "is too long",
	"min_value":            "is too small",
	"max_value":            "is too large",
	"invalid_enum_value":   "has a value Dostavista does not know",
	"invalid_integer":      "must be a whole number",
	"invalid_float":        "must be an amount like 390.00",
	"invalid_string":       "must be text",
	"invalid_vehicle_type": "is not a known vehicle type",
	"different_regions":    "is in a different region",
}

// flattenParamErrors turns the API's parameter_errors (which mirror the
// request: objects by field name, lists by index, lists of code strings at
// the leaves, null where a list element is fine) into FieldErrors, in a
// stable order. Unexpected shapes are skipped, never fatal.
func flattenParamErrors(raw json.RawMessage) []FieldError {
	if len(raw) == 0 {
		return nil
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return nil
	}
	var out []FieldError
	walkParamErrors("", v, &out, 0)
	return out
}

func walkParamErrors(path string, v any, out *[]FieldError, depth int) {
	if depth > 16 {
		return
	}
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := k
			if path != "" {
				p = path + "." + k
			}
			walkParamErrors(p, x[k], out, depth+1)
		}
	case []any:
		var codes []string
		allStrings := len(x) > 0
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				allStrings = false
				break
			}
			codes = append(codes, s)
		}
		if allStrings {
			*out = append(*out, FieldError{Field: path, Codes: codes})
			return
		}
		for i, e := range x {
			if e == nil {
				continue
			}
			if s, ok := e.(string); ok {
				*out = append(*out, FieldError{Field: path, Codes: []string{s}})
				continue
			}
			walkParamErrors(fmt.Sprintf("%s[%d]", path, i), e, out, depth+1)
		}
	case string:
		*out = append(*out, FieldError{Field: path, Codes: []string{x}})
	}
}
