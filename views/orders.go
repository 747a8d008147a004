package views

import (
	"context"
	"net/url"
	"slices"
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
	// Offset is how many orders of the list come before this page, Total
	// how many the list has, Limit the page's size; Prev is the previous
	// page's cursor ("" for the first page) when HasPrev.
	Offset, Total, Limit int
	Prev                 string
	HasPrev              bool
	// Confirm asks to confirm a destructive bulk change before it is made.
	Confirm *BulkConfirm
}

// BulkConfirm is a bulk change waiting for the user's confirmation: the
// orders selected and the status they would get.
type BulkConfirm struct {
	IDs []int64
	To  model.OrderStatus
}

// Has reports whether the order is one of those selected.
func (c *BulkConfirm) Has(id int64) bool { return slices.Contains(c.IDs, id) }

// RangeText says which orders the page shows: "51–100 of 1,234".
func (l OrdersList) RangeText(ctx context.Context) string {
	return tr(ctx, "desk.range", map[string]any{"From": number(ctx, l.Offset+1),
		"To": number(ctx, l.Offset+len(l.Orders)), "Total": number(ctx, max(l.Total, l.Offset+len(l.Orders)))})
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
	// RefundFor is the payment whose refund form was sent with an error:
	// RefundTyped is what was typed there, RefundError what is wrong with it
	// (shown by the amount).
	RefundFor   int64
	RefundTyped string
	RefundError string
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

// Paid is what the order's payments brought in (before refunds).
func (d OrderDetail) Paid() int64 {
	var n int64
	for _, p := range d.Payments {
		switch p.Status {
		case model.PaymentCompleted, model.PaymentPartiallyRefunded, model.PaymentRefunded:
			n += p.Amount
		}
	}
	return n
}

// Refunded is what was given back of the order's payments.
func (d OrderDetail) Refunded() int64 {
	var n int64
	for _, p := range d.Payments {
		n += p.RefundedAmount
	}
	return n
}

// MarginAfterRefunds is the margin less the money given back: the goods were
// bought all the same.
func (d OrderDetail) MarginAfterRefunds() int64 { return d.Margin.Margin - d.Refunded() }

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

// TimelineEntry is one entry of the order page's timeline: one event said in
// words, or a payment's change with the order's payment status it moved.
type TimelineEntry struct {
	At     time.Time
	Text   string // what happened, in words
	Detail string // what the event adds (a note, a reason), "" for nothing
	Actor  string // who, in words
	// Messages: the entry links to the order's messages.
	Messages bool
	kind     string // the event's kind
	refund   string // the refund's number, for a refund's entry
}

// refundNumber is the number of the refund a refund event's note names
// ("Refund RF-… of …"), "" for none.
func refundNumber(note string) string {
	f := strings.Fields(note)
	if len(f) > 1 && f[0] == "Refund" {
		return f[1]
	}
	return ""
}

// timeline says the order's events in words, one entry each: the order
// placed by its customer (not "Order placed — Order placed"), a status
// change from one status to another. A payment's change that moved the
// order's payment status is one entry saying both; a change to the status
// it already had ("partially_refunded → partially_refunded", a second
// partial refund) adds nothing the refund's entry does not say, and is left
// out.
func timeline(ctx context.Context, o *model.Order, events []model.OrderEvent) []TimelineEntry {
	var out []TimelineEntry
	for _, e := range events {
		var n TimelineEntry
		n.At, n.Actor, n.Detail, n.kind = e.CreatedAt, actorText(ctx, e.Actor), strings.TrimSpace(e.Note), e.Kind
		switch e.Kind {
		case model.EventCreated:
			who := strings.TrimSpace(o.Address.FirstName + " " + o.Address.LastName)
			if who == "" {
				who = o.Address.Email
			}
			n.Text = tr(ctx, "desk.event.placed", map[string]any{"Who": who})
			// The note begins with the words the entry now says.
			n.Detail = strings.TrimLeft(strings.TrimPrefix(n.Detail, "Order placed"), ". ")
			if strings.HasPrefix(e.Actor, "customer:") {
				n.Actor = ""
			}
		case model.EventOrderStatus:
			n.Text = tr(ctx, "desk.event.status", map[string]any{"From": model.OrderStatus(e.From).Label(lang(ctx)), "To": model.OrderStatus(e.To).Label(lang(ctx))})
		case model.EventPaymentStatus:
			if e.From == e.To {
				continue
			}
			to := model.OrderPaymentStatus(e.To).Label(lang(ctx))
			if k := len(out) - 1; k >= 0 && out[k].At.Equal(e.CreatedAt) && (out[k].kind == model.EventPayment || out[k].kind == model.EventRefund) {
				// The order's payment status moved with the payment just said.
				out[k].Text += " " + tr(ctx, "desk.event.order_payment_now", map[string]any{"To": to})
				continue
			}
			n.Text = tr(ctx, "desk.event.payment_status", map[string]any{"From": model.OrderPaymentStatus(e.From).Label(lang(ctx)), "To": to})
		case model.EventPayment:
			if e.From == e.To {
				continue
			}
			number, rest, _ := strings.Cut(e.Note, ": ")
			n.Text = tr(ctx, "desk.event.payment", map[string]any{"Number": number, "To": model.PaymentStatus(e.To).Label(lang(ctx))})
			// The note is "PAY-…: from → to (why)": the why is the detail.
			n.Detail = strings.TrimSpace(strings.TrimPrefix(rest, e.From+" → "+e.To))
			if !strings.Contains(e.Note, " → ") {
				n.Detail = e.Note
			}
		case model.EventRefund:
			n.Text, n.Detail = n.Detail, ""
			if n.Text == "" {
				n.Text = tr(ctx, "desk.event.refund")
			}
			// A refund reserved and then made is one refund: the entry that
			// said it was asked for now says it was made.
			if k := len(out) - 1; k >= 0 && out[k].kind == model.EventRefund && out[k].refund != "" && out[k].refund == refundNumber(e.Note) {
				out[k].Text, out[k].At = n.Text, n.At
				continue
			}
			n.refund = refundNumber(e.Note)
		case model.EventProcurementStatus:
			n.Text = tr(ctx, "desk.event.procurement", map[string]any{"To": model.ProcurementStatus(e.To).Label(lang(ctx))})
		case model.EventNote:
			n.Text = tr(ctx, "desk.event.note")
		case model.EventMessage:
			n.Text, n.Messages = tr(ctx, "desk.event.message", map[string]any{"What": e.To}), true
		case model.EventShipment:
			n.Text = tr(ctx, "desk.event.shipment", map[string]any{"To": model.ShipmentStatus(e.To).Label()})
		case model.EventOT:
			n.Text = "OT Platform"
		default:
			n.Text = e.Kind
		}
		out = append(out, n)
	}
	return out
}

// actorText says who made a change: a staff member by e-mail, the customer,
// a job by name, OrderDesk itself.
func actorText(ctx context.Context, a string) string {
	kind, who, _ := strings.Cut(a, ":")
	switch kind {
	case "staff":
		return tr(ctx, "desk.actor.staff", map[string]any{"Who": who})
	case "customer":
		return tr(ctx, "desk.actor.customer", map[string]any{"Who": who})
	case "job":
		return tr(ctx, "desk.actor.job", map[string]any{"Who": who})
	case "system":
		return tr(ctx, "desk.actor.system")
	case "provider":
		return tr(ctx, "desk.actor.provider", map[string]any{"Who": who})
	}
	return a
}

// rateText shows a rate in millionths of a minor unit per fen as the price of
// one CNY: 12_500_000 → "12.50".
func rateText(micro int64) string { return model.FormatAmount((micro + 5_000) / 10_000) }

// Can reports whether the signed-in user's role may take the action
// (model.Role.Can, the rule the routes check too): pages show an action's
// button only then.
func (p Page) Can(act model.Action) bool { return p.User != nil && p.User.Role.Can(act) }
