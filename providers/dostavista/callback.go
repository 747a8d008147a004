package dostavista

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"orderdesk/providers/internal/wire"
	"strings"
	"time"
)

// SignatureHeader is the header of a callback that carries its signature.
const SignatureHeader = "X-DV-Signature"

// ErrBadSignature is returned when a callback's X-DV-Signature is missing or
// does not match: the app must answer with an error status, record the
// attempt and change nothing.
var ErrBadSignature = errors.New("dostavista: callback signature does not match")

// ErrNoSecret is returned when a callback is checked with an empty secret:
// anybody can compute an HMAC with an empty key, so such a check proves
// nothing and is refused.
var ErrNoSecret = errors.New("dostavista: callback secret is not configured")

// Sign returns the X-DV-Signature of a callback body: lowercase hex
// HMAC-SHA256 keyed with the callback secret token from the cabinet, over the
// raw body bytes.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// VerifyCallback checks signature (the X-DV-Signature header) against the
// raw body. Upper-case hex and surrounding spaces are tolerated; anything
// else is ErrBadSignature.
func VerifyCallback(secret string, body []byte, signature string) error {
	if secret == "" {
		return ErrNoSecret
	}
	got := strings.ToLower(strings.TrimSpace(signature))
	want := Sign(secret, body)
	if got == "" || !hmac.Equal([]byte(got), []byte(want)) {
		return ErrBadSignature
	}
	return nil
}

// Delivery is the `delivery` object of delivery_* callbacks (deliveries are
// the API's per-address drafts; the shop's own flow uses orders).
type Delivery struct {
	DeliveryID    int64
	OrderID       int64
	ClientOrderID string
	Status        string
	StatusTime    time.Time
}

// Callback is a verified callback.
type Callback struct {
	EventType string
	EventTime time.Time
	// Order is set for order_* events, Delivery for delivery_* events.
	Order    *Order
	Delivery *Delivery
}

// ParseCallback verifies a callback's signature (see VerifyCallback) and
// decodes its body. It returns ErrBadSignature before looking at the body,
// so an unsigned body is never parsed.
func ParseCallback(body []byte, secret, signature string) (*Callback, error) {
	if err := VerifyCallback(secret, body, signature); err != nil {
		return nil, err
	}
	var w struct {
		EventDatetime *string    `json:"event_datetime"`
		EventType     string     `json:"event_type"`
		Order         *wireOrder `json:"order"`
		Delivery      *struct {
			DeliveryID     wire.Int    `json:"delivery_id"`
			OrderID        wire.Int    `json:"order_id"`
			ClientOrderID  wire.String `json:"client_order_id"`
			Status         string      `json:"status"`
			StatusDatetime *string     `json:"status_datetime"`
		} `json:"delivery"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&w); err != nil {
		return nil, fmt.Errorf("dostavista: bad callback: %w", err)
	}
	if dec.More() {
		return nil, errors.New("dostavista: bad callback: trailing data")
	}
	if w.EventType == "" {
		return nil, errors.New("dostavista: bad callback: no event_type")
	}
	cb := &Callback{EventType: w.EventType, EventTime: parseTime(w.EventDatetime)}
	if w.Order != nil {
		cb.Order = w.Order.order()
	}
	if d := w.Delivery; d != nil {
		cb.Delivery = &Delivery{
			DeliveryID:    int64(d.DeliveryID),
			OrderID:       int64(d.OrderID),
			ClientOrderID: string(d.ClientOrderID),
			Status:        d.Status,
			StatusTime:    parseTime(d.StatusDatetime),
		}
	}
	if cb.Order == nil && cb.Delivery == nil {
		return nil, errors.New("dostavista: bad callback: neither order nor delivery")
	}
	return cb, nil
}
