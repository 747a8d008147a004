// Package cdek is the client of the CDEK API v2 (shipments, track numbers,
// statuses) and a sandbox that plays CDEK's side.
//
// The flow (seed 004: "получается трек номер заказа, если был СДЭК"): the
// shop registers a shipment with CreateOrder, which CDEK only ACCEPTS; the
// track number (cdek_number) appears later, when CDEK has processed the
// request. So the app stores the uuid, and a job (or the outbox) reads
// Order(uuid) until OrderInfo.Track is set (then it sends the WhatsApp
// message) or OrderInfo.CreationError says CDEK rejected the shipment.
// Before registering a shipment again after a timeout, look it up with
// OrderByNumber: CDEK does not guarantee that a repeated POST is refused.
//
// The client gets an OAuth token (client credentials) on first use and keeps
// it until shortly before it expires; when CDEK answers 401 anyway, it gets a
// new token and repeats the call once.
//
// Webhooks: CDEK signs nothing. ParseWebhook only decodes the body; the app
// must treat a webhook as a hint and re-read the order with Order(uuid)
// before changing anything, and should subscribe (SubscribeWebhook) with a
// URL that contains a long random secret, checking it on arrival.
//
// Wiring in the app: mount the sandbox with
//
//	mux.Handle("/sandbox/cdek/", http.StripPrefix("/sandbox/cdek", sb))
//
// and point the test endpoint at sb.APIURL() (BaseURL + "/v2").
package cdek

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
	"strings"
	"sync"
	"time"

	"orderdesk/providers/internal/httpbody"
)

// Public endpoints of the API (the test host is CDEK's "edu" contour).
const (
	ProductionURL = "https://api.cdek.ru/v2"
	TestURL       = "https://api.edu.cdek.ru/v2"
)

// tokenMargin is how long before its expiry a cached token is replaced, so
// that a token never expires between our check and CDEK's.
const tokenMargin = 60 * time.Second

// Config holds what New needs.
type Config struct {
	// BaseURL is the API root including "/v2", e.g. TestURL.
	BaseURL string
	// ClientID and ClientSecret are the integration's account and secure
	// password from the CDEK cabinet.
	ClientID     string
	ClientSecret string
	// HTTPClient is optional; the default has a 30 s timeout.
	HTTPClient *http.Client
	// Now is the clock for token expiry (default time.Now).
	Now func() time.Time
}

// Client calls the CDEK API v2 for one account. It is safe for concurrent
// use; the token is shared by all calls.
type Client struct {
	baseURL string
	id      string
	secret  string
	http    *http.Client
	now     func() time.Time

	mu      sync.Mutex // guards the cached token
	token   string
	expires time.Time
}

// New returns a client for cfg.
func New(cfg Config) *Client {
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Client{baseURL: strings.TrimRight(cfg.BaseURL, "/"), id: cfg.ClientID, secret: cfg.ClientSecret, http: hc, now: now}
}

// Token is an OAuth access token.
type Token struct {
	AccessToken string
	TokenType   string
	ExpiresIn   int // seconds, as CDEK said
	Scope       string
	JTI         string
	Expires     time.Time // when the client stops using it
}

// Authenticate gets a new token (POST /oauth/token, client credentials in a
// form body) and caches it for the following calls.
func (c *Client) Authenticate(ctx context.Context) (*Token, error) {
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {c.id}, "client_secret": {c.secret}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.baseURL+"/oauth/token", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("cdek: oauth/token: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	raw, status, err := c.send(req, "oauth/token")
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, decodeError(status, raw)
	}
	var w struct {
		AccessToken string   `json:"access_token"`
		TokenType   string   `json:"token_type"`
		ExpiresIn   wire.Int `json:"expires_in"`
		Scope       string   `json:"scope"`
		JTI         string   `json:"jti"`
	}
	if err := json.Unmarshal(raw, &w); err != nil || w.AccessToken == "" {
		return nil, fmt.Errorf("cdek: oauth/token: answer without a token: %s", wire.Snippet(raw))
	}
	ttl := time.Duration(w.ExpiresIn) * time.Second
	if ttl <= 0 {
		// [U] CDEK documents about an hour; without expires_in assume less.
		ttl = 30 * time.Minute
	}
	t := &Token{AccessToken: w.AccessToken, TokenType: w.TokenType, ExpiresIn: int(w.ExpiresIn), Scope: w.Scope, JTI: w.JTI,
		Expires: c.now().Add(ttl - tokenMargin)}
	c.mu.Lock()
	c.token, c.expires = t.AccessToken, t.Expires
	c.mu.Unlock()
	return t, nil
}

// bearer returns the cached token, getting a new one when there is none or
// it is about to expire.
func (c *Client) bearer(ctx context.Context) (string, error) {
	c.mu.Lock()
	tok, exp := c.token, c.expires
	c.mu.Unlock()
	if tok != "" && c.now().Before(exp) {
		return tok, nil
	}
	t, err := c.Authenticate(ctx)
	if err != nil {
		return "", err
	}
	return t.AccessToken, nil
}

// forget drops the cached token if it is still tok (another call may have
// replaced it already).
func (c *Client) forget(tok string) {
	c.mu.Lock()
	if c.token == tok {
		c.token = ""
	}
	c.mu.Unlock()
}

// CreateOrder registers a shipment. CDEK answers at once with the order's
// uuid and an ACCEPTED request; read the outcome with Order.
func (c *Client) CreateOrder(ctx context.Context, req OrderRequest) (*Registration, error) {
	var a wireAnswer
	if err := c.call(ctx, http.MethodPost, "/orders", nil, req.wire(), &a); err != nil {
		return nil, err
	}
	if a.Entity == nil || a.Entity.UUID == "" {
		return nil, &Error{HTTPStatus: http.StatusAccepted, Code: StateInvalid, Message: "answer without entity.uuid", Problems: problemsOf(a.Requests)}
	}
	return &Registration{UUID: a.Entity.UUID, Requests: requests(a.Requests)}, nil
}

// Order returns what CDEK knows about a shipment (GET /orders/{uuid}).
func (c *Client) Order(ctx context.Context, uuid string) (*OrderInfo, error) {
	var a wireAnswer
	if err := c.call(ctx, http.MethodGet, "/orders/"+url.PathEscape(uuid), nil, nil, &a); err != nil {
		return nil, err
	}
	return a.info(), nil
}

// OrderByNumber finds a shipment by the shop's order number
// (GET /orders?im_number=).
func (c *Client) OrderByNumber(ctx context.Context, number string) (*OrderInfo, error) {
	var a wireAnswer
	if err := c.call(ctx, http.MethodGet, "/orders", url.Values{"im_number": {number}}, nil, &a); err != nil {
		return nil, err
	}
	return a.info(), nil
}

// OrderByTrack finds a shipment by its track number
// (GET /orders?cdek_number=).
func (c *Client) OrderByTrack(ctx context.Context, cdekNumber string) (*OrderInfo, error) {
	var a wireAnswer
	if err := c.call(ctx, http.MethodGet, "/orders", url.Values{"cdek_number": {cdekNumber}}, nil, &a); err != nil {
		return nil, err
	}
	return a.info(), nil
}

// SubscribeWebhook asks CDEK to POST ORDER_STATUS events to u and returns
// the subscription's uuid. Put a long random secret in u (CDEK signs
// nothing) and check it when a webhook arrives.
func (c *Client) SubscribeWebhook(ctx context.Context, u string) (string, error) {
	var a wireAnswer
	body := map[string]string{"type": WebhookOrderStatus, "url": u}
	if err := c.call(ctx, http.MethodPost, "/webhooks", nil, body, &a); err != nil {
		return "", err
	}
	if a.Entity == nil {
		return "", &Error{Code: StateInvalid, Message: "answer without entity.uuid", Problems: problemsOf(a.Requests)}
	}
	return a.Entity.UUID, nil
}

// TestConnection gets a token, the cheapest authenticated call, and says
// how long it is valid.
func (c *Client) TestConnection(ctx context.Context) (string, error) {
	t, err := c.Authenticate(ctx)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("Connected: token valid for %d s", t.ExpiresIn), nil
}

// call sends an authenticated request and decodes a successful answer into
// out. A 401 means the request was not processed, so after getting a new
// token it is safe to send it once more, even a POST.
func (c *Client) call(ctx context.Context, method, path string, q url.Values, body, out any) error {
	var payload []byte
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("cdek: %s: encode request: %w", path, err)
		}
		payload = b
	}
	u := c.baseURL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	for attempt := 0; ; attempt++ {
		tok, err := c.bearer(ctx)
		if err != nil {
			return err
		}
		var rd io.Reader
		if payload != nil {
			rd = bytes.NewReader(payload)
		}
		req, err := http.NewRequestWithContext(ctx, method, u, rd)
		if err != nil {
			return fmt.Errorf("cdek: %s: %w", path, err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Accept", "application/json")
		if payload != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		raw, status, err := c.send(req, path)
		if err != nil {
			return err
		}
		if status == http.StatusUnauthorized && attempt == 0 {
			c.forget(tok)
			continue
		}
		if status < 200 || status > 299 {
			return decodeError(status, raw)
		}
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("cdek: %s: decode answer: %w", path, err)
		}
		return nil
	}
}

func (c *Client) send(req *http.Request, what string) ([]byte, int, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("cdek: %s: %w", what, err)
	}
	raw, err := httpbody.ReadAndClose(resp, 4<<20)
	if err != nil {
		return nil, 0, fmt.Errorf("cdek: %s: read answer: %w", what, err)
	}
	return raw, resp.StatusCode, nil
}

func problemsOf(rs []wireRequest) []Problem {
	var out []Problem
	for _, r := range rs {
		out = append(out, problems(r.Errors)...)
	}
	return out
}

// decodeError reads an error answer in any of the shapes CDEK uses: the
// order shape (requests[].errors[]), a top-level errors[] list, or the OAuth
// shape {error, error_description}; anything else keeps a snippet of the
// body.
func decodeError(status int, raw []byte) *Error {
	var w struct {
		Requests         []wireRequest `json:"requests"`
		Errors           []wireProblem `json:"errors"`
		OAuthError       string        `json:"error"`
		OAuthDescription string        `json:"error_description"`
		Message          string        `json:"message"`
	}
	e := &Error{HTTPStatus: status}
	if json.Unmarshal(raw, &w) != nil {
		e.Message = wire.Snippet(raw)
		return e
	}
	e.Problems = append(problemsOf(w.Requests), problems(w.Errors)...)
	switch {
	case len(e.Problems) > 0:
		e.Code, e.Message = e.Problems[0].Code, e.Problems[0].Message
	case w.OAuthError != "":
		e.Code, e.Message = w.OAuthError, w.OAuthDescription
	default:
		e.Message = w.Message
		if e.Message == "" {
			e.Message = wire.Snippet(raw)
		}
	}
	return e
}

// Error codes the client and the sandbox use. The v2_* codes are CDEK's
// (as listed by its SDKs and integrations); invalid_client and
// unsupported_grant_type are the OAuth 2 codes of the token endpoint [U: the
// exact OAuth error body was not found in public code].
const (
	CodeTokenExpired              = "v2_token_expired"
	CodeUnauthorized              = "v2_unauthorized" // [U] no token or an unknown one
	CodeInvalidClient             = "invalid_client"
	CodeUnsupportedGrantType      = "unsupported_grant_type"
	CodeInternalError             = "v2_internal_error"
	CodeSimilarRequestStillInWork = "v2_similar_request_still_processed"
	CodeBadRequest                = "v2_bad_request"
	CodeInvalidFormat             = "v2_invalid_format"
	CodeFieldIsEmpty              = "v2_field_is_empty"
	CodeParametersEmpty           = "v2_parameters_empty"
	CodeInvalidValueType          = "v2_invalid_value_type"
	CodeEntityNotFound            = "v2_entity_not_found"
	CodeEntityNotFoundImNumber    = "v2_entity_not_found_im_number"
	CodeEntityForbidden           = "v2_entity_forbidden"
	CodeEntityInvalid             = "v2_entity_invalid"
	CodeOrderNotFound             = "v2_order_not_found"
	CodeOrderForbidden            = "v2_order_forbidden"
	CodeSenderLocationUnknown     = "v2_sender_location_not_recognized"
	CodeRecipientLocationUnknown  = "v2_recipient_location_not_recognized"
	CodeShipmentAddressMulti      = "v2_shipment_address_multivalued"
	CodeDeliveryAddressMulti      = "v2_delivery_address_multivalued"
	CodeTooManyItems              = "v2_number_items_is_more_126"
	// [U] The codes below are those integrations map from CDEK's ErrorDto
	// (its OpenAPI description was not found in public): a pick-up point
	// that is closed or gone, a tariff CDEK does not offer for the route,
	// an order number already registered.
	CodeDeliveryPointNotFound = "v2_office_by_delivery_point_not_found"
	CodeTariffNotFound        = "v2_tariff_not_found"
	CodeTariffCodeEmpty       = "v2_tariff_code_is_empty"
	CodeCityNotFound          = "v2_city_not_found"
	CodeSimilarOrderExists    = "v2_similar_order_exists"
	CodeImNumberUsed          = "v2_im_number_already_used"
)

// Error is an error answer of CDEK (Code set) or an HTTP failure without a
// readable body (Code empty), or a rejected registration (see
// OrderInfo.CreationError).
type Error struct {
	HTTPStatus int
	Code       string
	Message    string
	Problems   []Problem
}

// Error returns CDEK's words prefixed with the provider's name.
func (e *Error) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("cdek: HTTP %d: %s", e.HTTPStatus, e.Message)
	}
	s := "cdek: " + e.Code
	if e.Message != "" {
		s += ": " + e.Message
	}
	if len(e.Problems) > 1 {
		s += fmt.Sprintf(" (and %d more)", len(e.Problems)-1)
	}
	return s
}

// Has reports whether CDEK returned code among the errors.
func (e *Error) Has(code string) bool {
	if e.Code == code {
		return true
	}
	for _, p := range e.Problems {
		if p.Code == code {
			return true
		}
	}
	return false
}

// Temporary reports whether the same call may succeed later unchanged.
func (e *Error) Temporary() bool {
	if e.Has(CodeInternalError) || e.Has(CodeSimilarRequestStillInWork) {
		return true
	}
	return e.Code == "" && (e.HTTPStatus >= 500 || e.HTTPStatus == http.StatusTooManyRequests)
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
		return "CDEK did not answer in time. Try again in a few minutes; look the shipment up by order number before registering it again."
	}
	var e *Error
	if !errors.As(err, &e) {
		return "Could not reach CDEK (network problem). Try again in a few minutes."
	}
	switch {
	case e.Has(CodeInvalidClient), e.Has(CodeUnauthorized), e.Has(CodeTokenExpired), e.HTTPStatus == http.StatusUnauthorized:
		return "CDEK refused the account and secure password. Check the integration settings (test and live accounts differ)."
	case e.Has(CodeEntityNotFound), e.Has(CodeEntityNotFoundImNumber), e.Has(CodeOrderNotFound):
		return "CDEK has no shipment with this number."
	case e.Has(CodeEntityForbidden), e.Has(CodeOrderForbidden):
		return "This shipment belongs to another CDEK account."
	case e.Has(CodeRecipientLocationUnknown):
		return "CDEK could not recognise the recipient's city or address. Check the delivery address."
	case e.Has(CodeSenderLocationUnknown):
		return "CDEK could not recognise the sender's city or address. Check the shop's shipping address in the settings."
	case e.Has(CodeDeliveryPointNotFound):
		return "The CDEK pick-up point is closed or no longer exists. Ask the customer for another point, or deliver to the address."
	case e.Has(CodeTariffNotFound), e.Has(CodeTariffCodeEmpty):
		return "The CDEK tariff is not available for this route or parcel. Choose another tariff in the delivery settings."
	case e.Has(CodeCityNotFound):
		return "CDEK does not deliver to this city. Check the city of the delivery address."
	case e.Has(CodeSimilarOrderExists), e.Has(CodeImNumberUsed):
		return "CDEK already has a shipment with this order number; it was not registered twice."
	case e.Has(CodeShipmentAddressMulti), e.Has(CodeDeliveryAddressMulti):
		return "Both a CDEK office and an address were given; choose one."
	case e.Has(CodeTooManyItems):
		return "CDEK accepts at most 126 item lines per shipment."
	case e.Has(CodeSimilarRequestStillInWork):
		return "CDEK is still processing a previous request for this shipment. Try again in a minute."
	case e.Has(CodeInternalError):
		return "CDEK had an internal error. Try again in a few minutes."
	case e.Has(CodeFieldIsEmpty), e.Has(CodeParametersEmpty), e.Has(CodeInvalidFormat), e.Has(CodeInvalidValueType), e.Has(CodeBadRequest), e.Has(CodeEntityInvalid):
		s := "CDEK rejected the shipment details (a required field is missing or has a wrong format)"
		if e.Message != "" {
			s += ": " + e.Message
		}
		return s + "."
	case e.Code == StateInvalid:
		return "CDEK rejected the shipment."
	case e.Code == "":
		return "CDEK's server is having trouble. Try again in a few minutes."
	}
	if e.Temporary() {
		return "CDEK is temporarily unavailable. Try again in a few minutes."
	}
	s := "CDEK refused the request (" + e.Code
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s + ")."
}
