package views

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"orderdesk/model"
)

// Fragment ids of the order desk, shared by the templates, handlers and tests.
const (
	OrdersResultsID = "orders-results"
	OrderDetailID   = "order-detail"
)

// OrdersList is what the order desk shows.
type OrdersList struct {
	Query  url.Values // the filters as given, for links that keep them
	Filter model.OrderFilter
	Orders []*model.Order
	Counts map[model.OrderStatus]int
	Next   string
	Lang   string
	Loc    *time.Location
	Errors FormErrors
	// Unknown names the request's parameters the list does not take: no
	// orders are listed, and the page says why.
	Unknown  []string
	Bulk     []BulkResult // outcome of a bulk status change, if one was just made
	BulkNote string
	// ReadyCount is how many orders are ready to ship (the tab's badge).
	ReadyCount int
}

// BulkResult is the outcome of a bulk action for one order.
type BulkResult struct {
	Number string
	OK     bool
	Reason string // why not (or, when OK, what was done, for a bulk shipment)
}

// ReadyLink is the Ready to ship view.
func (l OrdersList) ReadyLink() string { return "/admin/orders?ready=1" }

// AllCount is the number of orders over every status.
func (l OrdersList) AllCount() int {
	n := 0
	for _, c := range l.Counts {
		n += c
	}
	return n
}

// Link is the desk's address with one parameter set (or removed when value is
// ""), keeping the other filters; the page cursor is dropped unless it is the
// parameter set.
func (l OrdersList) Link(key, value string) string {
	q := l.filters()
	delete(q, "after")
	if value == "" {
		q.Del(key)
	} else {
		q.Set(key, value)
	}
	if len(q) == 0 {
		return "/admin/orders"
	}
	return "/admin/orders?" + q.Encode()
}

// filters are a copy of the request's filters (and the page cursor): Query
// holds only the parameters the list takes.
func (l OrdersList) filters() url.Values {
	q := url.Values{}
	for k, v := range l.Query {
		q[k] = v
	}
	return q
}

// UnknownText says which parameters the list refused.
func (l OrdersList) UnknownText() string {
	return "“" + strings.Join(l.Unknown, "”, “") + "”"
}

// ExportLink is the CSV of the current filters.
func (l OrdersList) ExportLink() string {
	q := l.filters()
	delete(q, "after")
	return "/admin/orders/export.csv?" + q.Encode()
}

// OrderDetail is what the order page shows.
type OrderDetail struct {
	Order  *model.Order
	Events []model.OrderEvent
	Lang   string
	Loc    *time.Location
	Error  string     // a refused change, shown by the form
	Errors FormErrors // field errors of the status form
	Typed  map[string]string
	// Payments of the order and their refunds, with a refused payment
	// action's message.
	Payments     []*model.Payment
	Refunds      []*model.Refund
	PaymentError string
	// CanRefund: the user's role may refund.
	CanRefund bool
	// RefundConfirm asks the user to confirm a refund before it is made.
	RefundConfirm *RefundConfirm
	// Margin is the order's cost at the supplier against its revenue.
	Margin model.OrderMargin
	// Shipment is the order's live shipment (nil for none), ShippingCarrier
	// the carrier of its shipping method, ShipmentError a refused shipment
	// action's message.
	Shipment        *model.Shipment
	ShippingCarrier string
	ShipmentError   string
	// OT is the order's live OT Platform order (nil for none), OTActivities
	// its activities, OTError a refused OT action's message and OTResult what
	// an OT action did; CanBuy: the user works procurement.
	OT           *model.OTOrder
	OTActivities []*model.OTActivity
	OTError      string
	OTResult     []string
	CanBuy       bool
	// BuysThroughOT: lines of the order are OT's to buy.
	BuysThroughOT bool
}

// CarrierIntegrated reports whether the order's carrier registers
// shipments through an integration (CDEK, Dostavista).
func (d OrderDetail) CarrierIntegrated() bool {
	_, ok := model.CarrierProvider(d.ShippingCarrier)
	return ok
}

// CanCreateShipment reports whether the page offers "Create shipment" (or
// "Retry"): an integrated carrier, a paid order that may be shipped, and no
// live shipment but a refused or interrupted one.
func (d OrderDetail) CanCreateShipment() bool {
	if !d.CarrierIntegrated() || !d.Order.Status.CanTransitionTo(model.OrderShipped) || d.Order.Status == model.OrderHolded {
		return false
	}
	if d.Order.PaymentStatus != model.PayPaid && d.Order.PaymentStatus != model.PayPartiallyRefunded {
		return false
	}
	if d.Shipment == nil {
		return true
	}
	if d.Shipment.Status == model.ShipRegistering {
		// Offered once its claim ran out (the registration stopped).
		return d.Shipment.ClaimedUntil == nil || d.Shipment.ClaimedUntil.Before(time.Now())
	}
	return d.Shipment.Status == model.ShipFailed || d.Shipment.Restartable()
}

// RefundConfirm is a refund waiting for the user's confirmation: of one payment
// (PaymentID) or of all the order's money (PaymentID 0).
type RefundConfirm struct {
	PaymentID     int64
	PaymentNumber string
	Amount        int64 // what will be refunded
	Of            int64 // out of what was paid
	Currency      string
}

// refundable is what may still be refunded of a payment.
func refundable(p *model.Payment) int64 { return p.Amount - p.RefundedAmount }

// holdsMoney reports whether an order has money a refund could give back.
func holdsMoney(o *model.Order) bool {
	return o.PaymentStatus == model.PayPaid || o.PaymentStatus == model.PayPartiallyRefunded
}

func idStr(id int64) string { return strconv.FormatInt(id, 10) }

// eventText says what an event was, in words.
func eventText(e model.OrderEvent, lang string) string {
	switch e.Kind {
	case model.EventCreated:
		return "Order placed"
	case model.EventOrderStatus:
		return "Status: " + model.Label(lang, "order."+e.From) + " → " + model.Label(lang, "order."+e.To)
	case model.EventPaymentStatus:
		return "Payment: " + model.Label(lang, "payment."+e.From) + " → " + model.Label(lang, "payment."+e.To)
	case model.EventProcurementStatus:
		return "Procurement: " + model.Label(lang, "procurement."+e.From) + " → " + model.Label(lang, "procurement."+e.To)
	case model.EventNote:
		return "Note"
	case model.EventPayment:
		return "Payment: " + e.From + " → " + e.To
	case model.EventRefund:
		return "Refund"
	case model.EventMessage:
		return "Message: " + e.To
	case model.EventShipment:
		return "Shipment: " + model.ShipmentStatus(e.To).Label()
	case model.EventOT:
		return "OT Platform"
	}
	return e.Kind
}

// rateText shows a rate in millionths of a minor unit per fen as the price of
// one CNY: 12_500_000 → "12.50".
func rateText(micro int64) string { return model.FormatAmount((micro + 5_000) / 10_000) }
