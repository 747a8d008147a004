package tinkoff

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// ErrBadSignature is returned by ParseNotification when the Token is missing
// or does not match: the app must answer with an error status (not "OK"),
// record the attempt and change nothing.
var ErrBadSignature = errors.New("tinkoff: notification token does not match")

// Notification is a verified payment notification.
type Notification struct {
	TerminalKey string
	OrderID     string
	Success     bool
	Status      string
	// PaymentID arrives as a JSON number; it is kept as its exact decimal text
	// so it compares equal to InitResponse.PaymentID.
	PaymentID string
	ErrorCode ErrorCode
	// Amount is the current amount of the payment in kopecks. The bank tells
	// merchants to compare it with the order total before treating the order
	// as paid; a mismatch is the app's suspected_fraud case. For refund
	// statuses the sandbox sends the amount left after the refund ([U]:
	// "current amount" in the bank's words); use the Cancel answer or
	// GetState for refund bookkeeping.
	Amount   int64
	CardID   string
	Pan      string
	ExpDate  string
	RebillID string
	Message  string
	Details  string
	// DATA holds the DATA object passed to Init, when the bank sends it back
	// (as an object or as a JSON-encoded string: both are seen in the wild).
	DATA  map[string]string
	Token string
	// Fields holds every root field as received, for logging and for fields
	// this struct does not name.
	Fields map[string]any
}

// ParseNotification verifies and decodes the body of a notification POSTed by
// the bank, using the terminal password. It returns ErrBadSignature when the
// Token does not match. It does not check TerminalKey (it is covered by the
// Token, but the app should still compare it with its own terminal), nor the
// amount: both need the app's data.
func ParseNotification(body []byte, password string) (*Notification, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var fields map[string]any
	if err := dec.Decode(&fields); err != nil {
		return nil, fmt.Errorf("tinkoff: bad notification: %w", err)
	}
	if fields == nil {
		return nil, errors.New("tinkoff: bad notification: not a JSON object")
	}
	if dec.More() {
		return nil, errors.New("tinkoff: bad notification: trailing data")
	}
	got, _ := fields["Token"].(string)
	want := Token(fields, password)
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return nil, ErrBadSignature
	}
	n := &Notification{Token: got, Fields: fields}
	n.TerminalKey = str(fields["TerminalKey"])
	n.OrderID = str(fields["OrderId"])
	n.Status = str(fields["Status"])
	n.PaymentID = str(fields["PaymentId"])
	n.ErrorCode = ErrorCode(str(fields["ErrorCode"]))
	n.CardID = str(fields["CardId"])
	n.Pan = str(fields["Pan"])
	n.ExpDate = str(fields["ExpDate"])
	n.RebillID = str(fields["RebillId"])
	n.Message = str(fields["Message"])
	n.Details = str(fields["Details"])
	switch v := fields["Success"].(type) {
	case bool:
		n.Success = v
	case string:
		n.Success = v == "true"
	}
	if a := str(fields["Amount"]); a != "" {
		amt, err := strconv.ParseInt(a, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("tinkoff: bad notification: Amount %q is not whole kopecks", a)
		}
		n.Amount = amt
	}
	n.DATA = parseDATA(fields["DATA"])
	return n, nil
}

// str renders a scalar field as text; other shapes give "".
func str(v any) string {
	s, _ := scalarString(v)
	return s
}

// parseDATA accepts DATA as an object or as a string holding a JSON object;
// anything else is ignored (DATA is informational, never trusted).
func parseDATA(v any) map[string]string {
	var obj map[string]any
	switch x := v.(type) {
	case map[string]any:
		obj = x
	case string:
		dec := json.NewDecoder(bytes.NewReader([]byte(x)))
		dec.UseNumber()
		if dec.Decode(&obj) != nil {
			return nil
		}
	default:
		return nil
	}
	if len(obj) == 0 {
		return nil
	}
	out := make(map[string]string, len(obj))
	for k, val := range obj {
		if s, ok := scalarString(val); ok {
			out[k] = s
		}
	}
	return out
}
