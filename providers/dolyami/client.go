// Package dolyami is the Dolyami ("Долями", T-Bank's pay-in-four) partner API
// client and a sandbox that plays Dolyami's side.
//
// The flow has the same shape as a card payment (seed 004: "Аналогично оплате
// картой"), with one more step: the shop calls CreateOrder and redirects the
// buyer to Link; Dolyami approves the buyer and POSTs a notification to
// notification_url; the app re-reads the order with Info (the notification is
// not signed: never trust it), and when the order is approved (or
// wait_for_commit) it calls Commit with the final amount and items. Only a
// committed order is paid; committed, then completed, follow. After that the
// app does the same follow-up work as for a card payment (order status, CDEK
// track, WhatsApp, e-mail) through its outbox.
//
// Wiring in the app: mount the sandbox with
//
//	mux.Handle("/sandbox/dolyami/", http.StripPrefix("/sandbox/dolyami", sb))
//
// and point the test endpoint at BaseURL+"/v1". The webhook handler reads the
// raw body, takes only the order id from ParseNotification, calls Info, and
// records what Info says (committing when NeedsCommit); it answers 200 once
// that is recorded. Committing from inside the handler works (the sandbox
// holds no lock while it delivers), but a job or the outbox is the better
// place, so a slow Dolyami does not hold the webhook open. A job that polls
// Info for orders stuck in approved covers lost notifications.
package dolyami

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"orderdesk/providers/internal/wire"
	"strings"
	"time"

	"orderdesk/providers/internal/httpbody"
)

// ProductionURL is the partner API root.
const ProductionURL = "https://partner.dolyame.ru/v1"

// Config holds what New needs.
type Config struct {
	// BaseURL is the API root including "/v1" (default ProductionURL), e.g.
	// "http://localhost:8080/sandbox/dolyami/v1".
	BaseURL  string
	Login    string
	Password string
	// TLSConfig is optional: its settings (RootCAs, a client certificate…)
	// are used for HTTPS. Dolyami requires a client certificate (mTLS) in
	// production; the sandbox runs without TLS and the same client works.
	TLSConfig *tls.Config
	// CertPEM and KeyPEM are an optional client certificate in PEM form, added
	// to TLSConfig (or to a default one).
	CertPEM []byte
	KeyPEM  []byte
	// HTTPClient is optional; when set it is used as is and the TLS settings
	// above are ignored (configure its transport yourself).
	HTTPClient *http.Client
}

// Client calls the Dolyami partner API. It is safe for concurrent use.
type Client struct {
	baseURL  string
	login    string
	password string
	http     *http.Client
}

// New returns a client for cfg; it fails only on an unreadable client
// certificate.
func New(cfg Config) (*Client, error) {
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = ProductionURL
	}
	hc := cfg.HTTPClient
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		var tc *tls.Config
		if cfg.TLSConfig != nil {
			tc = cfg.TLSConfig.Clone()
		}
		if len(cfg.CertPEM) > 0 || len(cfg.KeyPEM) > 0 {
			cert, err := tls.X509KeyPair(cfg.CertPEM, cfg.KeyPEM)
			if err != nil {
				return nil, fmt.Errorf("dolyami: client certificate: %w", err)
			}
			if tc == nil {
				tc = &tls.Config{MinVersion: tls.VersionTLS12}
			}
			tc.Certificates = append(tc.Certificates, cert)
		}
		if tc != nil {
			tr.TLSClientConfig = tc
		}
		hc = &http.Client{Timeout: 30 * time.Second, Transport: tr}
	}
	return &Client{baseURL: base, login: cfg.Login, password: cfg.Password, http: hc}, nil
}

// CreateRequest is what the shop sends to create an order. Amounts are in
// kopecks.
type CreateRequest struct {
	Order           Order
	ClientInfo      ClientInfo
	NotificationURL string
	FailURL         string
	SuccessURL      string
}

// CommitRequest confirms an approved order with its final amount and items
// (they may be less than at creation, e.g. an item was out of stock).
type CommitRequest struct {
	Amount        int64
	PrepaidAmount int64
	Items         []Item
}

// RefundRequest returns money for a committed order; Items are the returned
// items.
type RefundRequest struct {
	Amount        int64
	PrepaidAmount int64
	Items         []Item
	// Key is the shop's idempotency key of this refund. It travels as the
	// call's X-Correlation-ID (CorrelationID(Key)): Dolyami answers a
	// repeated refund with the same X-Correlation-ID like the first one and
	// refunds once. [U]: Dolyami's documentation is not public; the header
	// is required on every call (VKolegov/dolyame-api-php sends a fresh
	// UUID each time) and is assumed to be its idempotency key. Empty: a
	// fresh UUID, no protection against a retry.
	Key string
}

// RefundResponse is Dolyami's answer to Refund.
type RefundResponse struct {
	Amount   int64
	RefundID string
}

// CreateOrder creates the order; redirect the buyer to the answer's Link.
func (c *Client) CreateOrder(ctx context.Context, req CreateRequest) (*CreateResponse, error) {
	w := wireCreate{
		Order: wireOrder{
			ID:            req.Order.ID,
			Amount:        money(req.Order.Amount),
			PrepaidAmount: money(req.Order.PrepaidAmount),
			Items:         toWireItems(req.Order.Items),
		},
		NotificationURL: req.NotificationURL,
		FailURL:         req.FailURL,
		SuccessURL:      req.SuccessURL,
	}
	if ci := req.ClientInfo; ci != (ClientInfo{}) {
		w.ClientInfo = &wireClientInfo{FirstName: ci.FirstName, LastName: ci.LastName, MiddleName: ci.MiddleName,
			Phone: ci.Phone, Email: ci.Email, Birthdate: ci.Birthdate}
	}
	var out wireInfo
	if err := c.do(ctx, http.MethodPost, "orders/create", w, &out); err != nil {
		return nil, err
	}
	info := out.toInfo()
	if info.ID == "" {
		info.ID = req.Order.ID
	}
	return info, nil
}

// Info returns Dolyami's current view of the order: the only source the app
// should trust about its status and amounts.
func (c *Client) Info(ctx context.Context, id string) (*OrderInfo, error) {
	return c.orderCall(ctx, http.MethodGet, id, "info", nil)
}

// Commit confirms an approved order; without it the shop is not paid.
func (c *Client) Commit(ctx context.Context, id string, req CommitRequest) (*OrderInfo, error) {
	return c.orderCall(ctx, http.MethodPost, id, "commit", wireCommit{
		Amount:        money(req.Amount),
		PrepaidAmount: money(req.PrepaidAmount),
		Items:         toWireItems(req.Items),
	})
}

// Cancel cancels an order that is not committed yet.
func (c *Client) Cancel(ctx context.Context, id string) (*OrderInfo, error) {
	return c.orderCall(ctx, http.MethodPost, id, "cancel", nil)
}

// Refund returns req.Amount kopecks of a committed order to the buyer
// (partial refunds allowed).
func (c *Client) Refund(ctx context.Context, id string, req RefundRequest) (*RefundResponse, error) {
	if req.Key != "" {
		ctx = WithCorrelationID(ctx, CorrelationID(req.Key))
	}
	var out wireRefundAnswer
	err := c.do(ctx, http.MethodPost, "orders/"+url.PathEscape(id)+"/refund", wireRefund{
		Amount:                money(req.Amount),
		RefundedPrepaidAmount: money(req.PrepaidAmount),
		ReturnedItems:         toWireItems(req.Items),
	}, &out)
	if err != nil {
		return nil, err
	}
	return &RefundResponse{Amount: int64(out.Amount), RefundID: out.RefundID}, nil
}

func (c *Client) orderCall(ctx context.Context, method, id, action string, body any) (*OrderInfo, error) {
	var out wireInfo
	if err := c.do(ctx, method, "orders/"+url.PathEscape(id)+"/"+action, body, &out); err != nil {
		return nil, err
	}
	info := out.toInfo()
	if info.ID == "" {
		info.ID = id
	}
	return info, nil
}

type ctxKey struct{}

// WithCorrelationID makes the next calls made with ctx send id as
// X-Correlation-ID instead of a fresh one, so the app can log it and quote
// it to Dolyami's support.
func WithCorrelationID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// correlationNamespace is the namespace of CorrelationID's name-based UUIDs
// (a random one of this package's own).
var correlationNamespace = [16]byte{0x6f, 0x72, 0x64, 0x65, 0x72, 0x64, 0x65, 0x73, 0x6b, 0x2d, 0x64, 0x6f, 0x6c, 0x79, 0x61, 0x6d}

// CorrelationID turns an idempotency key of any shape ("RF-DEMO-…") into
// the UUID Dolyami wants in X-Correlation-ID: a name-based UUID (version 5,
// RFC 9562), so the same key always gives the same id.
func CorrelationID(key string) string {
	h := sha1.New()
	h.Write(correlationNamespace[:])
	h.Write([]byte(key))
	var b [16]byte
	copy(b[:], h.Sum(nil))
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand panics instead)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("dolyami: encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+"/"+path, rd)
	if err != nil {
		return fmt.Errorf("dolyami: %w", err)
	}
	cid, _ := ctx.Value(ctxKey{}).(string)
	if cid == "" {
		cid = newUUID()
	}
	req.SetBasicAuth(c.login, c.password)
	req.Header.Set("X-Correlation-ID", cid)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("dolyami: %s %s: %w", method, path, err)
	}
	raw, err := httpbody.ReadAndClose(resp, 1<<20)
	if err != nil {
		return fmt.Errorf("dolyami: %s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return parseError(resp.StatusCode, raw, cid)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("dolyami: %s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// Error is an error answer of Dolyami (any non-2xx status).
type Error struct {
	HTTPStatus int
	// Code, Type and Description are read from a {code, type, description}
	// body, Message from {message}; the error body format is not documented
	// publicly, so both shapes are accepted ([U]).
	Code        string
	Type        string
	Description string
	Message     string
	// CorrelationID is the X-Correlation-ID of the failed call, for support.
	CorrelationID string
}

func parseError(status int, raw []byte, cid string) *Error {
	e := &Error{HTTPStatus: status, CorrelationID: cid}
	var body struct {
		Code        wire.String     `json:"code"`
		Type        string          `json:"type"`
		Description string          `json:"description"`
		Message     string          `json:"message"`
		Details     json.RawMessage `json:"details"`
	}
	if json.Unmarshal(raw, &body) == nil {
		e.Code, e.Type, e.Description, e.Message = string(body.Code), body.Type, body.Description, body.Message
	} else {
		e.Message = strings.TrimSpace(string(raw))
		if len(e.Message) > 200 {
			e.Message = e.Message[:200] + "…"
		}
	}
	return e
}

// Error returns Dolyami's words prefixed with the provider's name.
func (e *Error) Error() string {
	s := fmt.Sprintf("dolyami: HTTP %d", e.HTTPStatus)
	if e.Code != "" {
		s += " " + e.Code
	}
	for _, part := range []string{e.Description, e.Message} {
		if part != "" {
			s += ": " + part
		}
	}
	return s
}

// Temporary reports whether the same call may succeed if tried again later.
func (e *Error) Temporary() bool {
	return e.HTTPStatus >= 500 || e.HTTPStatus == http.StatusTooManyRequests
}

// Refused reports whether Dolyami definitely refused the call: a 4xx
// answer, so nothing was done. A 5xx, a timeout (408) or no answer at all
// leave the outcome unknown.
func (e *Error) Refused() bool {
	return e.HTTPStatus >= 400 && e.HTTPStatus < 500 && e.HTTPStatus != http.StatusRequestTimeout
}

// Explain is the method form of the package-level Explain.
func (e *Error) Explain() string { return Explain(e) }

// Explain returns a short, plain-English sentence for a shop assistant about
// what went wrong, for any error this package returns.
func Explain(err error) string {
	if err == nil {
		return ""
	}
	if errors.Is(err, ErrBadNotification) {
		return "A Dolyami notification could not be read and was ignored."
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "Dolyami did not answer in time. Try again in a few minutes; check the order in Dolyami before retrying."
	}
	var e *Error
	if !errors.As(err, &e) {
		return "Could not reach Dolyami (network or certificate problem). Try again in a few minutes."
	}
	switch e.Code {
	case codeOrderNotFound:
		return "Dolyami has no such order. Check the order number."
	case codeOrderExists:
		return "Dolyami already has an order with this number."
	case codeWrongStatus:
		return "The Dolyami order is not in a state that allows this (for example already committed, cancelled or rejected)."
	case codeAmountMismatch:
		return "Dolyami refused the amounts: the items do not add up to the order total, or the refund is larger than what was paid."
	case codeRejected:
		return "Dolyami declined the operation. Nothing was changed; try again later or contact Dolyami."
	case codeKeyReused:
		return "Dolyami refused the refund: its key was already used for a refund of another order."
	}
	switch {
	case e.HTTPStatus == http.StatusUnauthorized:
		return "Dolyami refused the login or password. Check the integration settings."
	case e.HTTPStatus == http.StatusForbidden:
		return "Dolyami refused access: check the client certificate and that the account is enabled."
	case e.HTTPStatus == http.StatusNotFound:
		return "Dolyami has no such order. Check the order number."
	case e.HTTPStatus == http.StatusConflict:
		return "The Dolyami order is not in a state that allows this."
	case e.HTTPStatus == http.StatusTooManyRequests:
		return "Too many requests to Dolyami. Wait a minute and try again."
	case e.HTTPStatus >= 500:
		return "Dolyami's server is having trouble. Try again in a few minutes."
	case e.HTTPStatus >= 400:
		return "Dolyami refused the request as invalid (check amounts, items and customer details)."
	}
	return "Dolyami returned an unexpected answer."
}

// Error codes the sandbox answers with in {code, type, description}. [U]:
// Dolyami's own codes are not public; these names are the sandbox's choice and
// Explain falls back to the HTTP status for anything else.
const (
	codeUnauthorized   = "unauthorized"
	codeBadRequest     = "bad_request"
	codeNoCorrelation  = "correlation_id_required"
	codeOrderNotFound  = "order_not_found"
	codeOrderExists    = "order_already_exists"
	codeWrongStatus    = "wrong_order_status"
	codeAmountMismatch = "amount_mismatch"
	codeRejected       = "operation_rejected"
	codeKeyReused      = "correlation_id_reused"
	codeInternal       = "internal_error"
)
