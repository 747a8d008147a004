package taobao

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Push message types (message_type) known from the provider's SDK constants.
const (
	MessageOrderStatus = 3 // purchase order status change
	MessagePriceChange = 8 // purchase order price change
	MessageRefund      = 9 // refund / reverse order or message sync
)

// ErrBadSignature is returned by VerifyPush when the Authorization header does
// not match the body: the message must be ignored (answer 401).
var ErrBadSignature = errors.New("taobao: push message signature mismatch")

// ErrBadPush is wrapped by ParsePush for bodies that are not a push message.
var ErrBadPush = errors.New("taobao: malformed push message")

// PushSignature is the Authorization header value for a push body: lowercase
// hex HMAC-SHA256 keyed with the app secret over app_key + raw body.
func PushSignature(appKey, appSecret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write([]byte(appKey))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// VerifyPush checks the Authorization header of a push message against the raw
// body. It needs no client, so the webhook handler can run on its own. Hex case
// and surrounding spaces are ignored; anything else is ErrBadSignature.
func VerifyPush(appKey, appSecret string, body []byte, authorization string) error {
	got, err := hex.DecodeString(strings.TrimSpace(authorization))
	if err != nil || len(got) != sha256.Size {
		return ErrBadSignature
	}
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write([]byte(appKey))
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return ErrBadSignature
	}
	return nil
}

// PushMessage is a decoded push. Only message_type is confirmed; the other
// names are assumptions (see ParsePush), so Raw and Data keep everything.
type PushMessage struct {
	MessageType int
	SellerID    string
	Site        string
	// Timestamp is as sent (we assume epoch milliseconds).
	Timestamp int64
	// Data is the "data" object (decoded from a string if it came as one).
	Data json.RawMessage
	// For MessageOrderStatus: the purchase and its new raw status.
	PurchaseID         int64
	SubPurchaseOrderID int64
	OuterPurchaseID    string
	Status             string
	Raw                json.RawMessage
}

// Stage is Stage(m.Status).
func (m *PushMessage) Stage() string { return Stage(m.Status) }

// ParsePush decodes a push body without verifying it (call VerifyPush first).
//
// Assumed shape [uncertain beyond message_type]:
//
//	{"message_type":3,"seller_id":"…","site":"…","timestamp":1700000000000,
//	 "data":{"purchase_id":200081134310,"outer_purchase_id":"…","status":"WAIT_SELLER_SEND_GOODS"}}
//
// To be tolerant, message_type may be a number or a string; data may be an
// object or a string holding JSON; the purchase id is read from purchase_id,
// purchaseId, purchase_order_id, purchaseOrderId, order_id or orderId (number
// or string), the status from status, order_status, orderStatus,
// purchase_status or purchase_order_status; each is looked up in data first
// and then at the top level.
func ParsePush(body []byte) (*PushMessage, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil || top == nil {
		return nil, fmt.Errorf("%w: not a JSON object", ErrBadPush)
	}
	m := &PushMessage{Raw: append(json.RawMessage(nil), body...)}
	mt, ok := lookupInt(top, "message_type", "messageType", "msg_type")
	if !ok {
		return nil, fmt.Errorf("%w: no message_type", ErrBadPush)
	}
	if int64(int(mt)) != mt {
		return nil, fmt.Errorf("%w: message_type out of range", ErrBadPush)
	}
	m.MessageType = int(mt)
	m.SellerID = lookupString(top, "seller_id", "sellerId")
	m.Site = lookupString(top, "site")
	m.Timestamp, _ = lookupInt(top, "timestamp")

	var data map[string]json.RawMessage
	if raw, ok := top["data"]; ok {
		raw = bytes.TrimSpace(raw)
		if len(raw) > 0 && raw[0] == '"' {
			var s string
			if json.Unmarshal(raw, &s) == nil {
				raw = json.RawMessage(strings.TrimSpace(s))
			}
		}
		if len(raw) > 0 && raw[0] == '{' && json.Unmarshal(raw, &data) == nil {
			m.Data = append(json.RawMessage(nil), raw...)
		}
	}
	for _, src := range []map[string]json.RawMessage{data, top} {
		if src == nil {
			continue
		}
		if m.PurchaseID == 0 {
			m.PurchaseID, _ = lookupInt(src, "purchase_id", "purchaseId", "purchase_order_id", "purchaseOrderId", "order_id", "orderId")
		}
		if m.SubPurchaseOrderID == 0 {
			m.SubPurchaseOrderID, _ = lookupInt(src, "sub_purchase_order_id", "subPurchaseOrderId")
		}
		if m.OuterPurchaseID == "" {
			m.OuterPurchaseID = lookupString(src, "outer_purchase_id", "outerPurchaseId")
		}
		if m.Status == "" {
			m.Status = lookupString(src, "status", "order_status", "orderStatus", "purchase_status", "purchase_order_status")
		}
	}
	return m, nil
}

func lookupInt(m map[string]json.RawMessage, keys ...string) (int64, bool) {
	for _, k := range keys {
		raw, ok := m[k]
		if !ok {
			continue
		}
		var v flexInt64
		if err := json.Unmarshal(raw, &v); err == nil && string(bytes.TrimSpace(raw)) != "null" {
			return int64(v), true
		}
	}
	return 0, false
}

func lookupString(m map[string]json.RawMessage, keys ...string) string {
	for _, k := range keys {
		raw, ok := m[k]
		if !ok {
			continue
		}
		var v flexString
		if err := json.Unmarshal(raw, &v); err == nil && v != "" {
			return string(v)
		}
	}
	return ""
}
