package model

import (
	"context"
	"errors"
	"slices"
)

// OrderRecord is everything an order's page shows of it: the order with its
// lines, OT order and margin (OrderView), its story, payments, refunds,
// shipment, OT activities, whether it buys through OT and its shipping
// method's carrier.
type OrderRecord struct {
	View          *OrderView
	Events        []OrderEvent
	Payments      []*Payment
	Refunds       []*Refund
	Shipment      *Shipment // nil: none
	OTActivities  []*OTActivity
	BuysThroughOT bool
	// ShippingCarrier is the carrier of the order's shipping method ("" for
	// none or a manual one).
	ShippingCarrier string
}

// orderRecordsKept is how many orders' records are kept: the orders staff
// have open, and those they come back to.
const orderRecordsKept = 1024

// orderActivitiesShown is how many of an order's OT activities its page shows.
const orderActivitiesShown = 20

// FindOrderRecord reads everything an order's page shows of the tenant's
// order id: nine reads, a third of the page's time, kept under the shop's
// version (kept.go), which every change to anything read here moves on
// (TestKeptReadsReadOnlyTablesThatMoveTheShopsVersion holds it to that). An
// unknown order is ErrNotFound.
func (s *Store) FindOrderRecord(ctx context.Context, tenantID, id int64) (*OrderRecord, error) {
	r, err := keptRead(ctx, s, s.orderRecords, tenantID, id, func() (*OrderRecord, error) { return s.readOrderRecord(ctx, tenantID, id) })
	if err != nil {
		return nil, err
	}
	return r.clone(), nil
}

func (s *Store) readOrderRecord(ctx context.Context, tenantID, id int64) (_ *OrderRecord, err error) {
	defer wrapErr(&err, "find order record (tenantID=%d id=%d)", tenantID, id)
	r := &OrderRecord{}
	if r.View, err = s.FindOrderView(ctx, tenantID, id); err != nil {
		return nil, err
	}
	if r.Events, err = s.FindOrderEvents(ctx, tenantID, id); err != nil {
		return nil, err
	}
	if r.Payments, err = s.FindPayments(ctx, tenantID, PaymentFilter{OrderID: id}); err != nil {
		return nil, err
	}
	if r.Refunds, err = s.FindRefunds(ctx, tenantID, id); err != nil {
		return nil, err
	}
	if r.Shipment, err = s.FindOrderShipment(ctx, tenantID, id); errors.Is(err, ErrNotFound) {
		r.Shipment = nil
	} else if err != nil {
		return nil, err
	}
	if r.OTActivities, err = s.FindOTActivities(ctx, tenantID, OTActivityFilter{OrderID: id, Limit: orderActivitiesShown}); err != nil {
		return nil, err
	}
	if r.BuysThroughOT, err = s.OrderBuysThroughOT(ctx, tenantID, id); err != nil {
		return nil, err
	}
	if m := r.View.Order.ShippingMethodID; m != 0 {
		method, err := s.FindShippingMethodByID(ctx, tenantID, m)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		if method != nil {
			r.ShippingCarrier = method.Carrier
		}
	}
	return r, nil
}

// clone is a copy of a kept record for one request, which may change its
// copy: the kept one is shared by every request of the order's page.
func (r *OrderRecord) clone() *OrderRecord {
	c := *r
	view := *r.View
	o := *view.Order
	o.Lines = slices.Clone(o.Lines)
	view.Order = &o
	if view.OT != nil {
		ot := *view.OT
		ot.Lines = slices.Clone(ot.Lines)
		view.OT = &ot
	}
	c.View = &view
	c.Events = slices.Clone(r.Events)
	c.Payments = clonePointers(r.Payments)
	c.Refunds = clonePointers(r.Refunds)
	c.OTActivities = clonePointers(r.OTActivities)
	if r.Shipment != nil {
		sh := *r.Shipment
		c.Shipment = &sh
	}
	return &c
}
