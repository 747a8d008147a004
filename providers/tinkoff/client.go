// Package tinkoff is the T-Bank (Tinkoff) Acquiring API v2 client and a sandbox
// that plays the bank's side.
//
// The flow (seed 004, "Оплата картой"): the shop calls Init and redirects the
// customer to PaymentURL; the bank redirects the customer back to SuccessURL or
// FailURL and, independently, POSTs a notification with a Token to
// NotificationURL. The notification is the truth for the payment (the
// customer's return is not); the app verifies it with ParseNotification,
// records the status through its one model function, answers NotificationOK,
// and only then does the follow-up work (order status, CDEK track, WhatsApp,
// e-mail) through its outbox. GetState is the fallback when no notification
// arrives.
//
// Wiring in the app: mount the sandbox with
//
//	mux.Handle("/sandbox/tinkoff/", http.StripPrefix("/sandbox/tinkoff", sb))
//
// and point the test endpoint at BaseURL+"/v2". The webhook handler reads the
// raw body, calls ParseNotification with the terminal password, compares
// TerminalKey and Amount with its own data, records the status (duplicates
// and stale statuses are normal: apply only forward transitions), commits,
// and only then answers 200 with NotificationOK. On ErrBadSignature it
// records the attempt and answers 400; the bank will retry, which is harmless.
package tinkoff

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"orderdesk/providers/internal/httpbody"
	"orderdesk/providers/internal/wire"
)

// Public endpoints of the bank. DEMO terminals ("...DEMO") work against the
// production host; the test contour is a separate host.
const (
	ProductionURL = "https://securepay.tinkoff.ru/v2"
	TestURL       = "https://rest-api-test.tinkoff.ru/v2"
)

// NotificationOK is the exact body the merchant must answer a notification
// with (HTTP 200); anything else makes the bank retry.
const NotificationOK = "OK"

// Config holds what New needs.
type Config struct {
	// BaseURL is the API root including "/v2", e.g. ProductionURL or
	// "http://localhost:8080/sandbox/tinkoff/v2".
	BaseURL     string
	TerminalKey string
	// Password is the terminal's secret ("SecretKey" in the bank's words); it
	// signs requests and verifies notifications and is never sent.
	Password string
	// HTTPClient is optional; the default has a 30 s timeout.
	HTTPClient *http.Client
}

// Client calls the Acquiring API v2 for one terminal. It is safe for
// concurrent use.
type Client struct {
	baseURL     string
	terminalKey string
	password    string
	http        *http.Client
}

// New returns a client for cfg.
func New(cfg Config) *Client {
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{
		baseURL:     strings.TrimRight(cfg.BaseURL, "/"),
		terminalKey: cfg.TerminalKey,
		password:    cfg.Password,
		http:        hc,
	}
}

// TerminalKey returns the terminal the client signs for, so the app can check
// that a notification is meant for it.
func (c *Client) TerminalKey() string { return c.terminalKey }

// InitRequest is what the shop sends to create a payment.
type InitRequest struct {
	Amount          int64  // kopecks
	OrderID         string // the shop's order number, at most 36 characters
	Description     string
	CustomerKey     string
	NotificationURL string
	SuccessURL      string
	FailURL         string
	// PayType is "O" (one-stage: AUTHORIZED then CONFIRMED on its own) or "T"
	// (two-stage: stays AUTHORIZED until Confirm); empty uses the terminal's
	// setting.
	PayType  string
	Language string // "ru" or "en"
	// RedirectDueDate is when the payment link expires (zero = bank default, 24 h).
	RedirectDueDate time.Time
	// DATA is passed back in notifications; it is a nested object and so is
	// not part of the Token.
	DATA map[string]string
	// Receipt is the 54-FZ receipt object, sent as is (not part of the Token).
	Receipt map[string]any
}

// InitResponse is the bank's answer to Init.
type InitResponse struct {
	TerminalKey string
	Status      string
	PaymentID   string // a string in Init answers, a number in notifications
	OrderID     string
	Amount      int64
	PaymentURL  string
}

// StateResponse is the bank's answer to GetState.
type StateResponse struct {
	TerminalKey string
	Status      string
	PaymentID   string
	OrderID     string
	Amount      int64 // [U] not every documentation version lists it
	Message     string
	Details     string
}

// CancelRequest is what Cancel sends.
type CancelRequest struct {
	PaymentID string
	// Amount is in kopecks; 0 means the whole remaining amount.
	Amount int64
	// ExternalRequestID is the shop's id of this cancel or refund (at most
	// 255 characters). The bank checks it before acting: when a cancel with
	// the same id was already made on the payment, it answers with that
	// operation instead of refunding again, so a retry after a lost answer
	// refunds once. Empty: no check. The parameter is spelled
	// ExternalRequestId in the bank's documentation (nikita-vanyasin/tinkoff
	// sends "ExtenalRequestId", a typo the bank would ignore).
	ExternalRequestID string
}

// CancelResponse is the bank's answer to Cancel.
type CancelResponse struct {
	TerminalKey    string
	Status         string
	PaymentID      string
	OrderID        string
	OriginalAmount int64 // kopecks before this cancel
	NewAmount      int64 // kopecks left after it
	// ExternalRequestID echoes the request's id ([U]: the bank's answer
	// schema lists it; empty when the bank leaves it out).
	ExternalRequestID string
}

// ConfirmResponse is the bank's answer to Confirm.
type ConfirmResponse struct {
	TerminalKey string
	Status      string
	PaymentID   string
	OrderID     string
}

// Init creates a payment and returns the URL of the bank's payment form.
func (c *Client) Init(ctx context.Context, req InitRequest) (*InitResponse, error) {
	p := map[string]any{
		"Amount":  req.Amount,
		"OrderId": req.OrderID,
	}
	setString(p, "Description", req.Description)
	setString(p, "CustomerKey", req.CustomerKey)
	setString(p, "NotificationURL", req.NotificationURL)
	setString(p, "SuccessURL", req.SuccessURL)
	setString(p, "FailURL", req.FailURL)
	setString(p, "PayType", req.PayType)
	setString(p, "Language", req.Language)
	if !req.RedirectDueDate.IsZero() {
		p["RedirectDueDate"] = req.RedirectDueDate.Format(time.RFC3339)
	}
	if len(req.DATA) > 0 {
		p["DATA"] = req.DATA
	}
	if len(req.Receipt) > 0 {
		p["Receipt"] = req.Receipt
	}
	var r wireResponse
	if err := c.call(ctx, "Init", p, &r); err != nil {
		return nil, err
	}
	return &InitResponse{
		TerminalKey: r.TerminalKey,
		Status:      r.Status,
		PaymentID:   string(r.PaymentID),
		OrderID:     string(r.OrderID),
		Amount:      int64(r.Amount),
		PaymentURL:  r.PaymentURL,
	}, nil
}

// GetState returns the current status of a payment.
func (c *Client) GetState(ctx context.Context, paymentID string) (*StateResponse, error) {
	var r wireResponse
	if err := c.call(ctx, "GetState", map[string]any{"PaymentId": paymentID}, &r); err != nil {
		return nil, err
	}
	return &StateResponse{
		TerminalKey: r.TerminalKey,
		Status:      r.Status,
		PaymentID:   string(r.PaymentID),
		OrderID:     string(r.OrderID),
		Amount:      int64(r.Amount),
		Message:     r.Message,
		Details:     r.Details,
	}, nil
}

// Cancel cancels, reverses or refunds a payment, depending on its status:
// NEW → CANCELED, AUTHORIZED → REVERSED/PARTIAL_REVERSED, CONFIRMED →
// REFUNDED/PARTIAL_REFUNDED. Because the same call refunds a paid payment,
// a caller that only means to close an unpaid one must ask GetState first.
func (c *Client) Cancel(ctx context.Context, req CancelRequest) (*CancelResponse, error) {
	p := map[string]any{"PaymentId": req.PaymentID}
	if req.Amount > 0 {
		p["Amount"] = req.Amount
	}
	// A root-level scalar, so it is part of the Token.
	setString(p, "ExternalRequestId", req.ExternalRequestID)
	var r wireResponse
	if err := c.call(ctx, "Cancel", p, &r); err != nil {
		return nil, err
	}
	return &CancelResponse{
		TerminalKey:       r.TerminalKey,
		Status:            r.Status,
		PaymentID:         string(r.PaymentID),
		OrderID:           string(r.OrderID),
		OriginalAmount:    int64(r.OriginalAmount),
		NewAmount:         int64(r.NewAmount),
		ExternalRequestID: r.ExternalRequestID,
	}, nil
}

// Confirm captures a held (AUTHORIZED) payment of a two-stage terminal.
// amount is in kopecks; 0 captures the whole hold.
func (c *Client) Confirm(ctx context.Context, paymentID string, amount int64) (*ConfirmResponse, error) {
	p := map[string]any{"PaymentId": paymentID}
	if amount > 0 {
		p["Amount"] = amount
	}
	var r wireResponse
	if err := c.call(ctx, "Confirm", p, &r); err != nil {
		return nil, err
	}
	return &ConfirmResponse{
		TerminalKey: r.TerminalKey,
		Status:      r.Status,
		PaymentID:   string(r.PaymentID),
		OrderID:     string(r.OrderID),
	}, nil
}

func setString(p map[string]any, key, v string) {
	if v != "" {
		p[key] = v
	}
}

// wireResponse is the union of the answer fields of the methods we call. The
// bank is inconsistent about types (PaymentId is a string in answers and a
// number in notifications), so the loose types accept both.
type wireResponse struct {
	Success        bool        `json:"Success"`
	ErrorCode      wire.String `json:"ErrorCode"`
	Message        string      `json:"Message"`
	Details        string      `json:"Details"`
	TerminalKey    string      `json:"TerminalKey"`
	Status         string      `json:"Status"`
	PaymentID      wire.String `json:"PaymentId"`
	OrderID        wire.String `json:"OrderId"`
	Amount         wire.Int    `json:"Amount"`
	PaymentURL     string      `json:"PaymentURL"`
	OriginalAmount wire.Int    `json:"OriginalAmount"`
	NewAmount      wire.Int    `json:"NewAmount"`
	// ExternalRequestID is echoed by Cancel.
	ExternalRequestID string `json:"ExternalRequestId"`
}

// call signs params, POSTs them to method and decodes the answer into out.
func (c *Client) call(ctx context.Context, method string, params map[string]any, out *wireResponse) error {
	params["TerminalKey"] = c.terminalKey
	params["Token"] = Token(params, c.password)
	body, err := json.Marshal(params)
	if err != nil {
		return fmt.Errorf("tinkoff: %s: encode request: %w", method, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.baseURL+"/"+method, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("tinkoff: %s: %w", method, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("tinkoff: %s: %w", method, err)
	}
	raw, err := httpbody.ReadAndClose(resp, 1<<20)
	if err != nil {
		return fmt.Errorf("tinkoff: %s: read answer: %w", method, err)
	}
	if resp.StatusCode != http.StatusOK {
		// The bank answers business errors with 200 and Success=false; any
		// other status is its infrastructure failing. Keep the body short: it
		// may be an HTML error page.
		return &Error{HTTPStatus: resp.StatusCode, Message: wire.Snippet(raw)}
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("tinkoff: %s: decode answer: %w", method, err)
	}
	code := ErrorCode(out.ErrorCode)
	if code == "" && !out.Success {
		code = CodeInternal
	}
	if !out.Success || (code != CodeOK && code != "") {
		return &Error{Code: code, Message: out.Message, Details: out.Details, HTTPStatus: resp.StatusCode}
	}
	return nil
}

// Error is an error reported by the bank (Success=false) or an HTTP failure
// of its servers (HTTPStatus not 200, Code empty).
type Error struct {
	Code       ErrorCode
	Message    string
	Details    string
	HTTPStatus int
}

// Error returns the bank's words prefixed with the provider's name.
func (e *Error) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("tinkoff: HTTP %d: %s", e.HTTPStatus, e.Message)
	}
	s := "tinkoff: error " + string(e.Code)
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Details != "" && e.Details != e.Message {
		s += " (" + e.Details + ")"
	}
	return s
}

// Temporary reports whether the same call may succeed if tried again later.
func (e *Error) Temporary() bool {
	if e.Code == "" {
		return e.HTTPStatus >= 500 || e.HTTPStatus == http.StatusTooManyRequests
	}
	switch e.Code {
	case CodeInternal, "3", "55", "99", "120", "123", "125", "401", "402", "9001":
		return true
	}
	return false
}

// Refused reports whether the bank definitely refused the call: it answered
// with a business error code, so nothing was done. A temporary code (9999
// internal error…), an HTTP failure or no answer at all leave the outcome
// unknown: the bank may have acted.
func (e *Error) Refused() bool { return e.Code != "" && !e.Temporary() }

// Explain returns a short, plain-English sentence for a shop assistant about
// what went wrong, for any error this package returns.
func Explain(err error) string {
	if err == nil {
		return ""
	}
	if errors.Is(err, ErrBadSignature) {
		return "A payment notification failed the signature check and was ignored: check the terminal password, or someone sent a fake notification."
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "The bank did not answer in time. Try again in a few minutes; check the payment status before charging again."
	}
	var e *Error
	if !errors.As(err, &e) {
		return "Could not reach the bank (network problem). Try again in a few minutes."
	}
	if e.Code == "" {
		return "The bank's server is having trouble. Try again in a few minutes."
	}
	switch e.Code {
	case CodeBadToken:
		return "The bank refused the request: the terminal password does not match the terminal key. Check the integration settings."
	case CodeTerminalNotFound:
		return "The bank does not know this terminal key. Check the integration settings (test and live terminals differ)."
	case CodeTerminalBlocked:
		return "The bank has blocked this terminal. Contact T-Bank support."
	case CodeBadAmount:
		return "The bank refused the amount (too small, or more than can be refunded)."
	case CodePaymentNotFound, CodeEmptyPaymentID:
		return "The bank has no such payment. Check the payment ID."
	case CodeBadTransStatus, CodeCannotChange:
		return "The payment is not in a state that allows this (for example it is already refunded or not paid yet)."
	case CodeMissingParams:
		return "The request to the bank was missing required fields."
	case CodeInsufficientFunds:
		return "The customer's card has insufficient funds."
	case CodeBankDeclined:
		return "The bank declined the card."
	case CodeCardExpired:
		return "The customer's card has expired."
	case CodeBadCVV:
		return "The customer entered a wrong card security code."
	case CodeInternal:
		return "The bank had an internal error. Try again in a few minutes."
	}
	if n, err := strconv.Atoi(string(e.Code)); err == nil && n >= 1000 && n < 2000 {
		return "The customer's bank declined the card."
	}
	if e.Temporary() {
		return "The bank is temporarily unavailable. Try again in a few minutes."
	}
	return "The bank refused the request (code " + string(e.Code) + ")."
}

// Explain is the method form of the package-level Explain.
func (e *Error) Explain() string { return Explain(e) }
