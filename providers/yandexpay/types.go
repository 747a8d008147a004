// Package yandexpay is the client for the Yandex Pay merchant backend API
// (https://pay.yandex.ru/docs/ru/custom/backend/yandex-pay-api/) and a sandbox
// that plays Yandex Pay's side of it.
//
// The flow the shop uses (seed 004): CreateOrder returns a payment URL the
// customer is redirected to; the shop then polls GetOrder (every 3 s, and again
// when the customer comes back) until the payment status is final. Yandex Pay
// can also POST an ES256-signed JWT to <callback URL>/v1/webhook; ParseWebhook
// verifies it with the provider's JWKS.
package yandexpay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"orderdesk/providers/internal/wire"
	"strings"
	"time"
)

// PaymentStatus is Yandex Pay's paymentStatus of an order.
type PaymentStatus string

// The payment statuses documented for GET /v1/orders/{id}. Unknown values are
// kept as they come (Stage maps them to "").
const (
	StatusPending           PaymentStatus = "PENDING"
	StatusAuthorized        PaymentStatus = "AUTHORIZED"
	StatusCaptured          PaymentStatus = "CAPTURED"
	StatusVoided            PaymentStatus = "VOIDED"
	StatusRefunded          PaymentStatus = "REFUNDED"
	StatusConfirmed         PaymentStatus = "CONFIRMED"
	StatusPartiallyRefunded PaymentStatus = "PARTIALLY_REFUNDED"
	StatusFailed            PaymentStatus = "FAILED"
)

// Stage maps a Yandex Pay payment status to OrderDesk's payment stage:
// "pending", "processing", "completed", "failed", "canceled", "refunded" or
// "partially_refunded"; "" for a status this package does not know.
//
// AUTHORIZED means the money is held but not yet taken: it is "processing"
// for a shop using two-stage payments (it must still capture). A shop with
// auto-capture never sees AUTHORIZED for long: its payments go straight to
// CAPTURED. CAPTURED and CONFIRMED both mean the money is taken ("completed").
// VOIDED is a cancelled hold ("canceled").
func Stage(status PaymentStatus) string {
	switch PaymentStatus(strings.ToUpper(strings.TrimSpace(string(status)))) {
	case StatusPending:
		return "pending"
	case StatusAuthorized:
		return "processing"
	case StatusCaptured, StatusConfirmed:
		return "completed"
	case StatusFailed:
		return "failed"
	case StatusVoided:
		return "canceled"
	case StatusRefunded:
		return "refunded"
	case StatusPartiallyRefunded:
		return "partially_refunded"
	}
	return ""
}

// IsFinal reports whether a poller can stop asking about an order in this
// status: the customer's payment attempt is over (paid, failed or voided).
// Refund statuses are final too. PENDING and AUTHORIZED are not.
func IsFinal(status PaymentStatus) bool {
	switch Stage(status) {
	case "completed", "failed", "canceled", "refunded", "partially_refunded":
		return true
	}
	return false
}

// Item is one cart line of an order.
type Item struct {
	// ProductID is the shop's id of the product (productId).
	ProductID string
	// Title is shown to the customer on the payment form.
	Title string
	// Quantity is the number of units; 0 is sent as 1.
	Quantity int
	// TotalMinor is the line total in minor units (kopecks).
	TotalMinor int64
}

// RedirectURLs are where Yandex Pay sends the customer's browser back.
type RedirectURLs struct {
	OnSuccess string
	OnError   string
	// OnAbort is used when the customer closes the form; optional.
	OnAbort string
}

// CreateOrderRequest is the input of CreateOrder.
type CreateOrderRequest struct {
	// OrderID is the shop's order id; Yandex Pay keys the order on it.
	OrderID string
	// Currency is the ISO 4217 code, "RUB" when empty.
	Currency string
	Items    []Item
	// TotalMinor is the cart total in minor units; it must equal the sum of
	// the items' totals (Yandex Pay checks it).
	TotalMinor   int64
	RedirectURLs RedirectURLs
	// TTL is how long the payment link lives; 0 leaves Yandex Pay's default.
	TTL time.Duration
	// PaymentMethods restricts the form, e.g. []string{"CARD", "SPLIT"};
	// empty leaves Yandex Pay's default.
	PaymentMethods []string
	// Purpose is an optional free text shown in the merchant console.
	Purpose string
}

// CreateOrderResponse is what CreateOrder returns.
type CreateOrderResponse struct {
	// PaymentURL is where the customer's browser must go to pay.
	PaymentURL string
}

// Operation is one money operation on an order (authorize, capture, refund…).
type Operation struct {
	OperationID string
	// OperationType is AUTHORIZE, CAPTURE, REFUND, VOID, RECURRING…
	OperationType string
	// Status is PENDING, SUCCESS or FAIL.
	Status              string
	AmountMinor         int64
	ExternalOperationID string
	Reason              string
	// OrderID is the order the operation belongs to, when the answer says.
	OrderID string
}

// OrderInfo is the state of an order as GET /v1/orders/{id} reports it.
type OrderInfo struct {
	OrderID          string
	PaymentStatus    PaymentStatus
	OrderAmountMinor int64
	Currency         string
	PaymentURL       string
	Operations       []Operation
}

// Stage is Stage(o.PaymentStatus), for convenience.
func (o *OrderInfo) Stage() string { return Stage(o.PaymentStatus) }

// FormatMinor renders minor units as Yandex Pay's decimal string, exactly:
// 12345 → "123.45", -5 → "-0.05". All currencies Yandex Pay accepts (RUB)
// have two decimals.
func FormatMinor(minor int64) string { return wire.FormatMinor(minor) }

// ParseMinor parses a decimal amount ("123.45", "123.4", "123", "-1.50") into
// minor units without floating point. More than two decimals are accepted only
// when the extra digits are zeros, because anything else cannot be kopecks.
func ParseMinor(s string) (int64, error) {
	v, err := wire.ParseDecimal(s, 2)
	if err != nil {
		return 0, fmt.Errorf("yandexpay: %w", err)
	}
	return v, nil
}

// quantity is cart.items[].quantity.count: documented as a decimal string,
// accepted as a number too [U].
type quantity string

func (q *quantity) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*q = quantity(s)
		return nil
	}
	*q = quantity(string(b))
	return nil
}

// Wire shapes of the merchant API.

type wireItem struct {
	ProductID string `json:"productId"`
	Title     string `json:"title"`
	Quantity  struct {
		Count quantity `json:"count"`
	} `json:"quantity"`
	Total wire.MoneyString `json:"total"`
}

type wireCart struct {
	Items []wireItem `json:"items"`
	Total struct {
		Amount wire.MoneyString `json:"amount"`
	} `json:"total"`
}

type wireRedirectURLs struct {
	OnSuccess string `json:"onSuccess"`
	OnError   string `json:"onError"`
	OnAbort   string `json:"onAbort,omitempty"`
}

type wireCreateOrder struct {
	OrderID                 string           `json:"orderId"`
	CurrencyCode            string           `json:"currencyCode"`
	Cart                    wireCart         `json:"cart"`
	RedirectURLs            wireRedirectURLs `json:"redirectUrls"`
	AvailablePaymentMethods []string         `json:"availablePaymentMethods,omitempty"`
	TTL                     int64            `json:"ttl,omitempty"`
	Purpose                 string           `json:"purpose,omitempty"`
}

type wireOrder struct {
	OrderID       string           `json:"orderId"`
	PaymentStatus PaymentStatus    `json:"paymentStatus"`
	OrderAmount   wire.MoneyString `json:"orderAmount"`
	CurrencyCode  string           `json:"currencyCode,omitempty"`
	PaymentURL    string           `json:"paymentUrl,omitempty"`
	Cart          *wireCart        `json:"cart,omitempty"`
	Created       string           `json:"created,omitempty"`
	Updated       string           `json:"updated,omitempty"`
}

type wireOperation struct {
	OperationID         string           `json:"operationId"`
	OperationType       string           `json:"operationType"`
	Status              string           `json:"status"`
	Amount              wire.MoneyString `json:"amount"`
	OrderID             string           `json:"orderId,omitempty"`
	ExternalOperationID string           `json:"externalOperationId,omitempty"`
	Reason              string           `json:"reason,omitempty"`
	Created             string           `json:"created,omitempty"`
}

func (w wireOperation) toOperation() Operation {
	return Operation{
		OperationID:         w.OperationID,
		OperationType:       w.OperationType,
		Status:              w.Status,
		AmountMinor:         int64(w.Amount),
		ExternalOperationID: w.ExternalOperationID,
		Reason:              w.Reason,
		OrderID:             w.OrderID,
	}
}

type wireRefund struct {
	RefundAmount        wire.MoneyString `json:"refundAmount"`
	OrderAmount         wire.MoneyString `json:"orderAmount"`
	ExternalOperationID string           `json:"externalOperationId,omitempty"`
}

type wireCancel struct {
	Reason              string `json:"reason"`
	ExternalOperationID string `json:"externalOperationId,omitempty"`
}

type wireCapture struct {
	ExternalOperationID string            `json:"externalOperationId,omitempty"`
	OrderAmount         *wire.MoneyString `json:"orderAmount,omitempty"`
}

// envelope is every answer of the merchant API: success with data, or fail
// with reasonCode and reason.
type envelope struct {
	Status     string          `json:"status"`
	Code       int             `json:"code,omitempty"`
	Data       json.RawMessage `json:"data,omitempty"`
	ReasonCode string          `json:"reasonCode,omitempty"`
	Reason     string          `json:"reason,omitempty"`
}
