package cdek

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"orderdesk/providers/internal/wire"
	"time"
)

// WebhookOrderStatus is the webhook type for order status changes.
const WebhookOrderStatus = "ORDER_STATUS"

// Webhook is a decoded webhook. CDEK does not sign webhooks, so nothing in
// it is proven: the app must re-read the order with Client.Order(UUID)
// before acting on it.
type Webhook struct {
	Type     string
	DateTime time.Time
	// UUID is the order's uuid (for ORDER_STATUS).
	UUID       string
	Attributes WebhookAttributes
}

// WebhookAttributes are the attributes of an ORDER_STATUS webhook.
type WebhookAttributes struct {
	IsReturn bool
	// CDEKNumber is the track number; Number the shop's order number.
	CDEKNumber string
	Number     string
	// Code is the new status code. Older payloads carry it as status_code
	// (now deprecated and sometimes numeric); Code falls back to it.
	Code             string
	StatusReasonCode string
	StatusDateTime   time.Time
	CityName         string
	CityCode         string
}

// ParseWebhook decodes a webhook body. It refuses bodies that are not a JSON
// object with a type; unknown types are returned as they are (the app
// ignores what it did not subscribe to). It verifies nothing: see Webhook.
func ParseWebhook(body []byte) (*Webhook, error) {
	var w struct {
		Type       string   `json:"type"`
		DateTime   cdekTime `json:"date_time"`
		UUID       string   `json:"uuid"`
		Attributes *struct {
			IsReturn         flexBool    `json:"is_return"`
			CDEKNumber       wire.String `json:"cdek_number"`
			Number           wire.String `json:"number"`
			Code             wire.String `json:"code"`
			StatusCode       wire.String `json:"status_code"`
			StatusReasonCode wire.String `json:"status_reason_code"`
			StatusDateTime   cdekTime    `json:"status_date_time"`
			CityName         string      `json:"city_name"`
			CityCode         wire.String `json:"city_code"`
		} `json:"attributes"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&w); err != nil {
		return nil, fmt.Errorf("cdek: bad webhook: %w", err)
	}
	if dec.More() {
		return nil, errors.New("cdek: bad webhook: trailing data")
	}
	if w.Type == "" {
		return nil, errors.New("cdek: bad webhook: no type")
	}
	wh := &Webhook{Type: w.Type, DateTime: w.DateTime.Time, UUID: w.UUID}
	if a := w.Attributes; a != nil {
		wh.Attributes = WebhookAttributes{
			IsReturn:         bool(a.IsReturn),
			CDEKNumber:       string(a.CDEKNumber),
			Number:           string(a.Number),
			Code:             string(a.Code),
			StatusReasonCode: string(a.StatusReasonCode),
			StatusDateTime:   a.StatusDateTime.Time,
			CityName:         a.CityName,
			CityCode:         string(a.CityCode),
		}
		if wh.Attributes.Code == "" {
			wh.Attributes.Code = string(a.StatusCode)
		}
	}
	if wh.Type == WebhookOrderStatus && wh.UUID == "" {
		return nil, errors.New("cdek: bad webhook: ORDER_STATUS without uuid")
	}
	return wh, nil
}

// flexBool accepts true/false, "true"/"false", 1/0 and null.
type flexBool bool

func (f *flexBool) UnmarshalJSON(b []byte) error {
	switch string(bytes.Trim(bytes.TrimSpace(b), `"`)) {
	case "true", "1":
		*f = true
	case "false", "0", "null", "":
		*f = false
	default:
		return fmt.Errorf("cdek: want a boolean, got %.20s", b)
	}
	return nil
}
