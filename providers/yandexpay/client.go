package yandexpay

import (
	"bytes"
	"context"
	"crypto/rand"
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

// Base URLs of the merchant API. The client appends "/v1/orders…" to them.
const (
	ProductionBaseURL = "https://pay.yandex.ru/api/merchant"
	SandboxBaseURL    = "https://sandbox.pay.yandex.ru/api/merchant"
)

// Config holds what New needs.
type Config struct {
	// BaseURL is the merchant API root, e.g. SandboxBaseURL or the built-in
	// sandbox's "<mount>/api/merchant".
	BaseURL string
	// APIKey is sent as "Authorization: Api-Key <key>". In Yandex's sandbox
	// environment it equals the merchant id.
	APIKey string
	// MerchantID is checked in webhooks (ParseWebhook) and used for the
	// sandbox-style API key when APIKey is empty.
	MerchantID string
	// HTTPClient is optional; the default has a 20 s timeout.
	HTTPClient *http.Client
}

// Client calls the Yandex Pay merchant API. It is safe for concurrent use.
type Client struct {
	baseURL    string
	apiKey     string
	merchantID string
	hc         *http.Client
}

// New returns a client for cfg.
func New(cfg Config) *Client {
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 20 * time.Second}
	}
	key := cfg.APIKey
	if key == "" {
		key = cfg.MerchantID
	}
	return &Client{
		baseURL:    strings.TrimRight(cfg.BaseURL, "/"),
		apiKey:     key,
		merchantID: cfg.MerchantID,
		hc:         hc,
	}
}

// MerchantID returns the merchant id the client was configured with.
func (c *Client) MerchantID() string { return c.merchantID }

// JWKSURL returns where the webhook signing keys of this client's Yandex Pay
// environment live: "/api/jwks" next to "/api/merchant" (so
// https://sandbox.pay.yandex.ru/api/jwks for the sandbox, and
// <mount>/api/jwks for the built-in sandbox).
func (c *Client) JWKSURL() string { return JWKSURL(c.baseURL) }

// JWKSURL derives the JWKS address from a merchant API base URL.
func JWKSURL(baseURL string) string {
	base := strings.TrimRight(baseURL, "/")
	if i := strings.LastIndex(base, "/api/merchant"); i >= 0 {
		return base[:i] + "/api/jwks"
	}
	if u, err := url.Parse(base); err == nil && u.Host != "" {
		return u.Scheme + "://" + u.Host + "/api/jwks"
	}
	return base + "/api/jwks"
}

// Error is a refusal by Yandex Pay: the "fail" envelope, or an HTTP error
// without one.
type Error struct {
	HTTPStatus int
	ReasonCode string
	Reason     string
}

// Error implements error.
func (e *Error) Error() string {
	msg := "yandexpay: "
	if e.ReasonCode != "" {
		msg += e.ReasonCode
	} else {
		msg += fmt.Sprintf("HTTP %d", e.HTTPStatus)
	}
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	return msg
}

// CodeDuplicateOperation is Yandex Pay's reasonCode for a second call with
// an externalOperationId it already has.
const CodeDuplicateOperation = "DUPLICATE_EXTERNAL_OPERATION_ID"

// Refused reports whether Yandex Pay definitely refused the call: a 4xx
// "fail" answer, so nothing was done. A 5xx, a timeout (408) or no answer
// leave the outcome unknown, and so does CodeDuplicateOperation: the
// operation with that id exists.
func (e *Error) Refused() bool {
	if strings.EqualFold(e.ReasonCode, CodeDuplicateOperation) {
		return false
	}
	return e.HTTPStatus >= 400 && e.HTTPStatus < 500 && e.HTTPStatus != http.StatusRequestTimeout
}

// Explain says in plain English what went wrong, for a shop assistant.
// It knows this package's errors and falls back to a generic sentence.
func Explain(err error) string {
	if err == nil {
		return ""
	}
	switch {
	case errors.Is(err, ErrBadSignature):
		return "A message claiming to come from Yandex Pay had a wrong signature and was ignored."
	case errors.Is(err, ErrExpired):
		return "A Yandex Pay notification arrived too late (expired) and was ignored; the order status is checked by polling instead."
	case errors.Is(err, ErrMerchantMismatch):
		return "A Yandex Pay notification was meant for another merchant account and was ignored."
	case errors.Is(err, context.DeadlineExceeded):
		return "Yandex Pay did not answer in time. Try again in a minute."
	}
	var e *Error
	if !errors.As(err, &e) {
		return "Yandex Pay could not be reached. Try again in a minute."
	}
	switch strings.ToUpper(e.ReasonCode) {
	case "ORDER_NOT_FOUND":
		return "Yandex Pay does not know this order."
	case "ORDER_AMOUNT_MISMATCH", "CART_TOTAL_MISMATCH", "AMOUNT_MISMATCH":
		return "The amounts sent to Yandex Pay do not add up; check the order total."
	case "DUPLICATE_ORDER_ID", "ORDER_ALREADY_EXISTS":
		return "Yandex Pay already has an order with this number."
	case "DUPLICATE_EXTERNAL_OPERATION_ID":
		return "This refund or cancellation was already sent to Yandex Pay."
	case "INVALID_PAYMENT_STATUS", "ORDER_PAYMENT_STATUS_INVALID":
		return "Yandex Pay cannot do this in the payment's current state (for example, refunding an unpaid order)."
	case "REFUND_AMOUNT_EXCEEDS", "INVALID_REFUND_AMOUNT":
		return "The refund is larger than what is left to refund."
	case "OPERATION_REJECTED":
		return "Yandex Pay declined the operation; nothing was changed. Try again later or contact Yandex Pay."
	case "ORDER_EXPIRED", "ORDER_HAS_BEEN_EXPIRED":
		return "The payment link has expired; create a new payment."
	}
	switch {
	case e.HTTPStatus == http.StatusUnauthorized || e.HTTPStatus == http.StatusForbidden:
		return "Yandex Pay refused the API key. Check the integration's key and merchant id."
	case e.HTTPStatus == http.StatusNotFound:
		return "Yandex Pay does not know this order."
	case e.HTTPStatus == http.StatusTooManyRequests:
		return "Yandex Pay asked us to slow down. Try again in a minute."
	case e.HTTPStatus >= 500:
		return "Yandex Pay had an internal problem. Try again in a minute."
	}
	return "Yandex Pay refused the request: " + e.Error()
}

// newRequestID returns a random UUID v4 for X-Request-Id. Yandex uses it for
// idempotency of writes, so each logical call gets a fresh one.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// do sends one API call and decodes the success envelope's data into out.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("yandexpay: encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+path, body)
	if err != nil {
		return fmt.Errorf("yandexpay: %w", err)
	}
	req.Header.Set("Authorization", "Api-Key "+c.apiKey)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Request-Id", newRequestID())
	req.Header.Set("X-Request-Attempt", "0")
	if dl, ok := ctx.Deadline(); ok {
		if ms := time.Until(dl).Milliseconds(); ms > 0 {
			req.Header.Set("X-Request-Timeout", fmt.Sprint(ms))
		}
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("yandexpay: %s %s: %w", method, path, err)
	}
	raw, err := httpbody.ReadAndClose(resp, 4<<20)
	if err != nil {
		return fmt.Errorf("yandexpay: read answer: %w", err)
	}
	var env envelope
	jsonErr := json.Unmarshal(raw, &env)
	if resp.StatusCode/100 != 2 || (jsonErr == nil && strings.EqualFold(env.Status, "fail")) {
		e := &Error{HTTPStatus: resp.StatusCode}
		if jsonErr == nil {
			e.ReasonCode, e.Reason = env.ReasonCode, env.Reason
		}
		return e
	}
	if jsonErr != nil {
		return fmt.Errorf("yandexpay: answer is not JSON: %w", jsonErr)
	}
	if out == nil {
		return nil
	}
	if len(env.Data) == 0 {
		return errors.New("yandexpay: answer has no data")
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		return fmt.Errorf("yandexpay: decode answer: %w", err)
	}
	return nil
}

// CreateOrder creates the order at Yandex Pay (POST /v1/orders) and returns
// the payment link for the customer.
func (c *Client) CreateOrder(ctx context.Context, r CreateOrderRequest) (*CreateOrderResponse, error) {
	if r.OrderID == "" {
		return nil, errors.New("yandexpay: order id is required")
	}
	if len(r.Items) == 0 {
		return nil, errors.New("yandexpay: an order needs at least one item")
	}
	w := wireCreateOrder{
		OrderID:      r.OrderID,
		CurrencyCode: r.Currency,
		RedirectURLs: wireRedirectURLs{
			OnSuccess: r.RedirectURLs.OnSuccess,
			OnError:   r.RedirectURLs.OnError,
			OnAbort:   r.RedirectURLs.OnAbort,
		},
		AvailablePaymentMethods: r.PaymentMethods,
		TTL:                     int64(r.TTL / time.Second),
		Purpose:                 r.Purpose,
	}
	if w.CurrencyCode == "" {
		w.CurrencyCode = "RUB"
	}
	var sum int64
	for _, it := range r.Items {
		q := it.Quantity
		if q <= 0 {
			q = 1
		}
		wi := wireItem{ProductID: it.ProductID, Title: it.Title, Total: wire.MoneyString(it.TotalMinor)}
		wi.Quantity.Count = quantity(fmt.Sprint(q))
		w.Cart.Items = append(w.Cart.Items, wi)
		sum += it.TotalMinor
	}
	total := r.TotalMinor
	if total == 0 {
		total = sum
	}
	w.Cart.Total.Amount = wire.MoneyString(total)
	var data struct {
		PaymentURL string `json:"paymentUrl"`
	}
	if err := c.do(ctx, http.MethodPost, "/v1/orders", w, &data); err != nil {
		return nil, err
	}
	if data.PaymentURL == "" {
		return nil, errors.New("yandexpay: answer has no paymentUrl")
	}
	return &CreateOrderResponse{PaymentURL: data.PaymentURL}, nil
}

// GetOrder reads an order's payment status and operations
// (GET /v1/orders/{id}). This is what the shop polls.
func (c *Client) GetOrder(ctx context.Context, orderID string) (*OrderInfo, error) {
	var data struct {
		Order      wireOrder       `json:"order"`
		Operations []wireOperation `json:"operations"`
	}
	if err := c.do(ctx, http.MethodGet, "/v1/orders/"+url.PathEscape(orderID), nil, &data); err != nil {
		return nil, err
	}
	info := &OrderInfo{
		OrderID:          data.Order.OrderID,
		PaymentStatus:    data.Order.PaymentStatus,
		OrderAmountMinor: int64(data.Order.OrderAmount),
		Currency:         data.Order.CurrencyCode,
		PaymentURL:       data.Order.PaymentURL,
	}
	if info.OrderID == "" {
		info.OrderID = orderID
	}
	for _, op := range data.Operations {
		info.Operations = append(info.Operations, op.toOperation())
	}
	return info, nil
}

// Refund returns amountMinor of a captured order to the customer
// (POST /v1/orders/{id}/refund). Yandex Pay wants the order amount left after
// the refund as well, so Refund first reads the order (RefundOrder does not).
// externalOperationID (optional) makes the call idempotent: see RefundOrder.
// The operation may come back PENDING: the final word is the order's status
// (REFUNDED or PARTIALLY_REFUNDED).
func (c *Client) Refund(ctx context.Context, orderID string, amountMinor int64, externalOperationID string) (*Operation, error) {
	if amountMinor <= 0 {
		return nil, errors.New("yandexpay: refund amount must be positive")
	}
	info, err := c.GetOrder(ctx, orderID)
	if err != nil {
		return nil, err
	}
	return c.RefundOrder(ctx, orderID, amountMinor, info.OrderAmountMinor-amountMinor, externalOperationID)
}

// RefundOrder is the refund call alone: refundMinor back to the customer,
// leaving orderAmountAfterMinor as the order's amount (Yandex Pay refuses
// the refund when that is not what is left: so a refund computed from a
// stale read cannot go through). Yandex Pay answers a repeated call with
// the same externalOperationID with the same operation while it is in
// progress, and with DUPLICATE_EXTERNAL_OPERATION_ID once it has started;
// RefundOrder then reads that operation (GetOperation) and returns it, so a
// retry answers like the first call and refunds once. When that read fails
// the error stays the duplicate one (Refused is false: the refund exists).
func (c *Client) RefundOrder(ctx context.Context, orderID string, refundMinor, orderAmountAfterMinor int64, externalOperationID string) (*Operation, error) {
	if refundMinor <= 0 {
		return nil, errors.New("yandexpay: refund amount must be positive")
	}
	body := wireRefund{
		RefundAmount:        wire.MoneyString(refundMinor),
		OrderAmount:         wire.MoneyString(orderAmountAfterMinor),
		ExternalOperationID: externalOperationID,
	}
	var data struct {
		Operation wireOperation `json:"operation"`
	}
	err := c.do(ctx, http.MethodPost, "/v1/orders/"+url.PathEscape(orderID)+"/refund", body, &data)
	var ye *Error
	if externalOperationID != "" && errors.As(err, &ye) && strings.EqualFold(ye.ReasonCode, CodeDuplicateOperation) {
		op, lerr := c.GetOperation(ctx, externalOperationID)
		switch {
		case lerr != nil:
			ye.Reason += "; reading the operation failed: " + lerr.Error()
			return nil, ye
		case op.OperationType != "REFUND" || (op.OrderID != "" && op.OrderID != orderID):
			ye.Reason += fmt.Sprintf("; the id belongs to a %s of order %q", op.OperationType, op.OrderID)
			return nil, ye
		}
		return op, nil
	}
	if err != nil {
		return nil, err
	}
	op := data.Operation.toOperation()
	return &op, nil
}

// GetOperation reads an operation by the shop's externalOperationId
// (GET /v1/operations/{external_operation_id}).
func (c *Client) GetOperation(ctx context.Context, externalOperationID string) (*Operation, error) {
	var data struct {
		Operation wireOperation `json:"operation"`
	}
	if err := c.do(ctx, http.MethodGet, "/v1/operations/"+url.PathEscape(externalOperationID), nil, &data); err != nil {
		return nil, err
	}
	op := data.Operation.toOperation()
	return &op, nil
}

// Rollback closes an order's payment link so that it can no longer be paid
// (POST /v1/orders/{id}/rollback); the order becomes FAILED. It is Yandex
// Pay's call for an unpaid (PENDING) order: Cancel only releases an
// AUTHORIZED hold. Careful: on an order that is already paid Yandex Pay
// refunds it in full, so read the order (GetOrder) first and roll back only
// a PENDING one.
func (c *Client) Rollback(ctx context.Context, orderID string) error {
	return c.do(ctx, http.MethodPost, "/v1/orders/"+url.PathEscape(orderID)+"/rollback", struct{}{}, nil)
}

// Cancel releases the hold of an AUTHORIZED (two-stage) payment
// (POST /v1/orders/{id}/cancel); the order becomes VOIDED. reason is required
// by Yandex Pay and shown in its console.
func (c *Client) Cancel(ctx context.Context, orderID, reason string) (*Operation, error) {
	if reason == "" {
		reason = "cancelled by the shop"
	}
	var data struct {
		Operation wireOperation `json:"operation"`
	}
	if err := c.do(ctx, http.MethodPost, "/v1/orders/"+url.PathEscape(orderID)+"/cancel", wireCancel{Reason: reason}, &data); err != nil {
		return nil, err
	}
	op := data.Operation.toOperation()
	return &op, nil
}

// Capture takes the money of an AUTHORIZED (two-stage) payment in full
// (POST /v1/orders/{id}/capture); the order becomes CAPTURED.
func (c *Client) Capture(ctx context.Context, orderID string) (*Operation, error) {
	var data struct {
		Operation wireOperation `json:"operation"`
	}
	if err := c.do(ctx, http.MethodPost, "/v1/orders/"+url.PathEscape(orderID)+"/capture", wireCapture{}, &data); err != nil {
		return nil, err
	}
	op := data.Operation.toOperation()
	return &op, nil
}
