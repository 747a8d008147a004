package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"orderdesk/model"
)

// flexID reads an id sent as a JSON number or a string ("12" or 12): seed 001's
// clients send string ids.
type flexID int64

func (f *flexID) UnmarshalJSON(b []byte) error {
	b = bytes.Trim(b, `"`)
	if len(b) == 0 || string(b) == "null" {
		*f = 0
		return nil
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return &model.ValidationError{Fields: map[string]string{"id": "ids are whole numbers"}}
	}
	*f = flexID(n)
	return nil
}

// bindJSON decodes a JSON body; a malformed one is a 400 with a message. The
// body's size is capped by the router (limitBody): a larger one is its 413.
func bindJSON(c echo.Context, v any) error {
	dec := json.NewDecoder(c.Request().Body)
	if err := dec.Decode(v); err != nil {
		var ve *model.ValidationError
		var he *echo.HTTPError
		if errors.As(err, &ve) {
			return ve
		}
		if errors.As(err, &he) {
			return he
		}
		return echo.NewHTTPError(http.StatusBadRequest, "The request body is not valid JSON: "+err.Error())
	}
	return nil
}

// ok answers the API envelope with success and extra fields.
func ok(c echo.Context, status int, message string, fields map[string]any) error {
	body := map[string]any{"success": true, "message": message}
	for k, v := range fields {
		body[k] = v
	}
	return c.JSON(status, body)
}

// orderJSON is an order as seed 001's API shows it.
func orderJSON(o *model.Order, lang string, detail bool) map[string]any {
	m := map[string]any{
		"id":                         o.ID,
		"order_number":               o.Number,
		"increment_id":               o.IncrementID,
		"status":                     o.Status,
		"status_display":             o.Status.Label(lang),
		"payment_status":             o.PaymentStatus,
		"payment_status_display":     o.PaymentStatus.Label(lang),
		"procurement_status":         o.ProcurementStatus,
		"procurement_status_display": o.ProcurementStatus.Label(lang),
		"total":                      model.FormatAmount(o.Total),
		"currency":                   o.Currency,
		"created_at":                 o.CreatedAt.UTC().Format(time.RFC3339),
		"item_count":                 o.ItemCount,
		"tracking_number":            nullString(o.TrackingNumber),
		"tracking_url":               nullString(o.TrackingURL),
		"shipped_at":                 nullTime(o.ShippedAt),
		"delivered_at":               nullTime(o.DeliveredAt),
	}
	if detail {
		m["items"] = linesJSON(o, lang, false)
		m["subtotal"] = model.FormatAmount(o.Subtotal)
		m["discount"] = model.FormatAmount(o.Discount)
		m["bonus_used"] = model.FormatAmount(o.BonusUsed)
		m["shipping"] = model.FormatAmount(o.Shipping)
		m["coupon_code"] = nullString(o.CouponCode)
		m["shipping_method"] = o.ShippingName
		m["customer_email"] = o.Address.Email
		m["customer_first_name"] = o.Address.FirstName
		m["customer_last_name"] = o.Address.LastName
		m["customer_phone"] = o.Address.Telephone
		m["shipping_address"] = map[string]string{
			"address_line1": o.Address.Street1, "address_line2": o.Address.Street2, "city": o.Address.City,
			"state": o.Address.State, "postal_code": o.Address.Zip, "country": o.Address.Country,
		}
	}
	return m
}

// staffOrderJSON is an order as the shop's staff see it in the API: seed 001's
// answer, and each line (items, in the list too) with its procurement.
func staffOrderJSON(o *model.Order, lang string, detail bool) map[string]any {
	m := orderJSON(o, lang, detail)
	m["items"] = linesJSON(o, lang, true)
	return m
}

// linesJSON are an order's lines as seed 001 shows them; with procurement
// (staff only), each line's id and procurement too.
func linesJSON(o *model.Order, lang string, procurement bool) []map[string]any {
	lines := make([]map[string]any, 0, len(o.Lines))
	for _, l := range o.Lines {
		line := map[string]any{
			"product_id": l.ProductID, "sku": l.SKU, "title": l.Title, "quantity": l.Quantity,
			"unit_price": model.FormatAmount(l.UnitPrice), "line_total": model.FormatAmount(l.LineTotal),
		}
		if procurement {
			line["id"] = l.ID
			line["procurement"] = lineProcurementJSON(l, lang)
		}
		lines = append(lines, line)
	}
	return lines
}

// lineProcurementJSON is the shop's purchase of one line, whichever channel
// bought it: its status, the supplier's order (purchase_id) and parcel
// (supplier_track), the supplier's own word for its status, the error a
// person must see, the cost and when the parcel arrived at the warehouse.
// A channel's own fields of a line (OT's line status and vendor ids) belong
// in this object too, beside these.
func lineProcurementJSON(l model.OrderLine, lang string) map[string]any {
	p := map[string]any{
		"procurement_status":         l.ProcurementStatus,
		"procurement_status_display": l.ProcurementStatus.Label(lang),
		"purchase_id":                nullString(l.PurchaseID),
		"supplier_track":             nullString(l.SupplierTrack),
		"supplier_status_raw":        nullString(l.SupplierStatusRaw),
		"procurement_error":          nullString(l.ProcurementError),
		"arrived_at":                 nullTime(l.ArrivedAt),
		// The supplier's price, in CNY, and in the order's currency at the
		// rate frozen when the line was bought: null until it is bought.
		"cost": nil, "cost_currency": nil, "cost_converted": nil,
	}
	if l.CostFen != 0 {
		p["cost"], p["cost_currency"], p["cost_converted"] = model.FormatAmount(l.CostFen), "CNY", model.FormatAmount(l.CostMinor)
	}
	if ot := l.OT; ot != nil {
		// Seed 002's fields of a line bought through OT Platform.
		p["ot"] = map[string]any{
			"line_id": nullString(ot.OTLineID), "skipped": ot.Skipped, "tmall": ot.Tmall,
			"status_id": nullString(ot.StatusID), "status_name": nullString(ot.StatusName),
			"item_id": ot.ItemID, "configuration_id": ot.ConfigurationID, "promotion_id": nullString(ot.PromotionID),
			"vend_purch_id": nullString(ot.VendPurchID), "vend_purch_waybill": nullString(ot.VendPurchWaybill),
			"vend_purch_account_id": nullString(ot.VendPurchAccountID), "vend_purch_status": nullString(ot.VendPurchStatus),
			"vend_purch_item_id": nullString(ot.VendPurchItemID), "vend_purch_configuration_id": nullString(ot.VendPurchConfigurationID),
			"vend_purch_promotion_id": nullString(ot.VendPurchPromotionID),
		}
	}
	return p
}

// trackingJSON is what anybody with the order number may see: nothing personal.
func trackingJSON(o *model.Order, lang string) map[string]any {
	return map[string]any{
		"order_number":           o.Number,
		"status":                 o.Status,
		"status_display":         o.Status.Label(lang),
		"payment_status":         o.PaymentStatus,
		"payment_status_display": o.PaymentStatus.Label(lang),
		"tracking_number":        nullString(o.TrackingNumber),
		"tracking_url":           nullString(o.TrackingURL),
		"shipped_at":             nullTime(o.ShippedAt),
		"delivered_at":           nullTime(o.DeliveredAt),
		"created_at":             o.CreatedAt.UTC().Format(time.RFC3339),
		"total":                  model.FormatAmount(o.Total),
		"currency":               o.Currency,
	}
}

// storyJSON is the journey of an order over both legs, as the public
// tracking page tells it: each step's key, words and date (null until it
// happened), the track numbers and the carrier's link; nothing personal.
func storyJSON(steps []model.TrackStep) []map[string]any {
	out := make([]map[string]any, 0, len(steps))
	for _, s := range steps {
		out = append(out, map[string]any{
			"step": s.Key, "label": s.Label(), "done": s.Done(), "at": nullTime(s.At),
			"track": nullString(s.Detail), "tracking_url": nullString(s.URL),
		})
	}
	return out
}

func cartJSON(v *model.CartView, st *shopState) map[string]any {
	items := make([]map[string]any, 0, len(v.Lines))
	for _, l := range v.Lines {
		items = append(items, map[string]any{
			"product_id": l.Product.ID, "title": l.Product.Title, "quantity": l.Quantity,
			"unit_price": model.FormatAmount(l.Product.Price), "line_total": model.FormatAmount(l.LineTotal),
		})
	}
	return map[string]any{
		"id":            v.ID,
		"items":         items,
		"item_count":    v.ItemCount(),
		"subtotal":      model.FormatAmount(v.Totals.Subtotal),
		"discount":      model.FormatAmount(v.Totals.Discount),
		"bonus":         model.FormatAmount(v.Totals.Bonus),
		"bonus_balance": model.FormatAmount(v.BonusBalance),
		"total":         model.FormatAmount(v.Totals.Total),
		"currency":      v.Currency,
		// Seed 004's session state, as the storefront keeps it.
		"promocode": st.PromoCode,
		"isActive":  st.IsActive,
		"message":   st.Message,
		"useBonus":  st.UseBonus,
	}
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}
