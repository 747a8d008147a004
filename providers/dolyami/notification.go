package dolyami

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// ErrBadNotification is returned by ParseNotification for a body it cannot
// use (not a JSON object, no order id, an amount that is not money).
var ErrBadNotification = errors.New("dolyami: bad notification")

// Notification is what a Dolyami notification says about an order.
//
// It is NOT authenticated: providers.md could not establish a signature, and
// Dolyami's documented practice is for the backend to call info/commit after
// it. The app must use only ID from it, re-read the order with Client.Info,
// and act on that answer (commit when approved or wait_for_commit); the
// other fields are for logging. Answer any 2xx once the body is recorded.
type Notification struct {
	ID              string
	Status          string
	Amount          int64 // kopecks
	ResidualAmount  int64 // kopecks
	ClientInfo      *ClientInfo
	PaymentSchedule []PaymentScheduleItem
	// Fields holds the body's root fields as received.
	Fields map[string]any
}

// ParseNotification reads a notification body. It is tolerant of the shape
// ([U] in providers.md): the order id may be "id" or "order_id", a string or
// a number, or sit in a nested "order" object; amounts may be numbers or
// strings of roubles; unknown fields are kept in Fields; missing ones are
// zero.
func ParseNotification(body []byte) (*Notification, error) { return ParseNotificationFor(body, "") }

// ParseNotificationFor is ParseNotification for a notification that came
// to the notification_url of order orderID (the shop put the id in the URL's
// query): a body without an order id is about orderID.
func ParseNotificationFor(body []byte, orderID string) (*Notification, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var fields map[string]any
	if err := dec.Decode(&fields); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadNotification, err)
	}
	if fields == nil {
		return nil, fmt.Errorf("%w: not a JSON object", ErrBadNotification)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data", ErrBadNotification)
	}
	// Fields of a nested "order" object fill in what the root lacks.
	src := fields
	if inner, ok := fields["order"].(map[string]any); ok {
		src = make(map[string]any, len(inner)+len(fields))
		for k, v := range inner {
			src[k] = v
		}
		for k, v := range fields {
			if k != "order" {
				src[k] = v
			}
		}
	}
	n := &Notification{Fields: fields}
	n.ID = scalar(src["id"])
	if n.ID == "" {
		n.ID = scalar(src["order_id"])
	}
	if n.ID == "" {
		n.ID = strings.TrimSpace(orderID)
	}
	if n.ID == "" {
		return nil, fmt.Errorf("%w: no order id", ErrBadNotification)
	}
	n.Status = strings.ToLower(strings.TrimSpace(scalar(src["status"])))
	var err error
	if n.Amount, err = amountField(src, "amount"); err != nil {
		return nil, err
	}
	if n.ResidualAmount, err = amountField(src, "residual_amount"); err != nil {
		return nil, err
	}
	if ci, ok := src["client_info"].(map[string]any); ok {
		n.ClientInfo = &ClientInfo{
			FirstName:  scalar(ci["first_name"]),
			LastName:   scalar(ci["last_name"]),
			MiddleName: scalar(ci["middle_name"]),
			Phone:      scalar(ci["phone"]),
			Email:      scalar(ci["email"]),
			Birthdate:  scalar(ci["birthdate"]),
		}
	}
	if list, ok := src["payment_schedule"].([]any); ok {
		for _, el := range list {
			p, ok := el.(map[string]any)
			if !ok {
				continue
			}
			amt, err := amountField(p, "amount")
			if err != nil {
				return nil, err
			}
			n.PaymentSchedule = append(n.PaymentSchedule, PaymentScheduleItem{
				Amount: amt, Date: scalar(p["date"]), Status: scalar(p["status"]),
			})
		}
	}
	return n, nil
}

// scalar renders a string or number as text; other shapes give "".
func scalar(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		if x {
			return "true"
		}
		return "false"
	}
	return ""
}

func amountField(m map[string]any, key string) (int64, error) {
	s := scalar(m[key])
	if s == "" {
		return 0, nil
	}
	k, err := parseRubles(s)
	if err != nil {
		return 0, fmt.Errorf("%w: %s %q is not an amount of money", ErrBadNotification, key, s)
	}
	return k, nil
}
