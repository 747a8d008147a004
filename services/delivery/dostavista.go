package delivery

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"orderdesk/model"
	"orderdesk/providers/dostavista"
)

// dostavistaCarrier places and follows courier orders with Dostavista
// (business API 1.5). Its news come as signed callbacks to the address set in
// the Dostavista cabinet (/webhooks/dostavista/{integration_id}), and by
// polling.
type dostavistaCarrier struct {
	c   *dostavista.Client
	now func() time.Time
}

// prepare has nothing to do: Dostavista's callback address is set in its
// cabinet, not through the API.
func (a *dostavistaCarrier) prepare(context.Context) error { return nil }

func (a *dostavistaCarrier) register(ctx context.Context, c *model.ShipmentClaim) (model.ShipmentState, error) {
	req, err := dostavistaRequest(c, a.now())
	if err != nil {
		return model.ShipmentState{}, err
	}
	o, err := a.c.CreateOrder(ctx, req)
	if err != nil {
		return model.ShipmentState{}, err
	}
	return dostavistaState(o, c.Shipment.Reference, time.Time{}), nil
}

// lookupPages is how many pages of the account's latest orders a look-up
// reads: a registration is looked up minutes after it was made.
const lookupPages = 4

func (a *dostavistaCarrier) lookup(ctx context.Context, sh *model.Shipment) (model.ShipmentState, bool, error) {
	o, err := a.c.FindByClientOrderID(ctx, sh.Reference, lookupPages)
	if errors.Is(err, dostavista.ErrNotFound) {
		return model.ShipmentState{}, false, nil
	}
	if err != nil {
		return model.ShipmentState{}, false, err
	}
	return dostavistaState(o, sh.Reference, time.Time{}), true, nil
}

func (a *dostavistaCarrier) state(ctx context.Context, sh *model.Shipment) (model.ShipmentState, error) {
	id, err := strconv.ParseInt(sh.CarrierOrderID, 10, 64)
	if err != nil {
		return model.ShipmentState{}, &refusal{"The Dostavista order id " + sh.CarrierOrderID + " is not a number."}
	}
	o, err := a.c.Order(ctx, id)
	if err != nil {
		return model.ShipmentState{}, err
	}
	return dostavistaState(o, sh.Reference, time.Time{}), nil
}

func (a *dostavistaCarrier) explain(err error) string {
	var r *refusal
	if errors.As(err, &r) {
		return r.msg
	}
	return dostavista.Explain(err)
}

// dostavistaStatus maps a courier order's status to ours: a courier who took
// it has the parcel (the order is shipped), completed is delivered, and an
// order Dostavista cancelled needs a person.
func dostavistaStatus(status string) model.ShipmentStatus {
	switch status {
	case dostavista.StatusActive:
		return model.ShipInTransit
	case dostavista.StatusCompleted:
		return model.ShipDelivered
	case dostavista.StatusCanceled:
		return model.ShipProblem
	}
	return model.ShipCreated
}

// dostavistaState is what a courier order says of a shipment; at is when it
// was said (a callback's event time), zero for now. The order's track is
// Dostavista's order id once a courier has the parcel, with the delivery
// point's own tracking page; the courier's name and phone come with them.
func dostavistaState(o *dostavista.Order, reference string, at time.Time) model.ShipmentState {
	st := model.ShipmentState{
		CarrierOrderID: strconv.FormatInt(o.OrderID, 10),
		Status:         dostavistaStatus(o.Status),
		CarrierStatus:  o.Status,
		Cost:           o.PaymentAmount,
		Currency:       "RUB",
	}
	// The delivery point is the one with our reference, else the last one.
	for i, p := range o.Points {
		if p.ClientOrderID == reference || (i == len(o.Points)-1 && st.TrackingURL == "") {
			st.TrackingURL = p.TrackingURL
		}
	}
	if st.Status == model.ShipInTransit || st.Status == model.ShipDelivered {
		st.TrackNumber = st.CarrierOrderID
	}
	if c := o.Courier; c != nil && (st.Status == model.ShipInTransit || st.Status == model.ShipDelivered) {
		st.CourierName = strings.TrimSpace(c.Name + " " + c.Surname)
		if c.Phone != "" {
			st.CourierPhone = "+" + strings.TrimPrefix(c.Phone, "+")
		}
	}
	desc := o.StatusDescription
	if desc == "" || desc == o.Status {
		desc = dostavistaWords[o.Status]
	}
	st.History = []model.ShipmentEvent{{Status: st.Status, CarrierStatus: o.Status, Description: desc, HappenedAt: at}}
	return st
}

// dostavistaWords say Dostavista's order statuses for the shipment's history.
var dostavistaWords = map[string]string{
	dostavista.StatusNew:         "Order placed",
	dostavista.StatusAvailable:   "Looking for a courier",
	dostavista.StatusActive:      "A courier has the parcel",
	dostavista.StatusCompleted:   "Delivered",
	dostavista.StatusReactivated: "Looking for another courier",
	dostavista.StatusDraft:       "Draft",
	dostavista.StatusCanceled:    "Cancelled by Dostavista",
	dostavista.StatusDelayed:     "Postponed",
}

// dostavistaRequest is a claimed order as a courier order: picked up at the
// shop's sender address within the next two hours, delivered to the
// customer within the shop's window after that, paid from the shop's
// Dostavista balance.
func dostavistaRequest(c *model.ShipmentClaim, now time.Time) (dostavista.OrderRequest, error) {
	d, o := c.Settings, c.Order
	if strings.TrimSpace(d.SenderAddress) == "" || strings.TrimSpace(d.SenderPhone) == "" {
		return dostavista.OrderRequest{}, &refusal{"The shop's sender address and phone are missing: set them in Settings → Delivery, the courier picks the parcel up there."}
	}
	senderPhone, err := dostavista.NormalizePhone(d.SenderPhone)
	if err != nil {
		return dostavista.OrderRequest{}, &refusal{"The shop's sender phone " + d.SenderPhone + " is not a phone number Dostavista takes: correct it in Settings → Delivery."}
	}
	customerPhone, err := dostavista.NormalizePhone(o.Address.Telephone)
	if err != nil {
		return dostavista.OrderRequest{}, &refusal{"The customer's phone number (" + o.Address.Telephone + ") is not one a courier can call: correct it with the customer first."}
	}
	var titles []string
	weight := 0
	for _, l := range c.Parcel {
		titles = append(titles, l.Title+" ×"+strconv.Itoa(l.Quantity))
		weight += l.WeightG * l.Quantity
	}
	matter := "Order " + o.Number + ": " + strings.Join(titles, ", ")
	if r := []rune(matter); len(r) > 1000 {
		matter = string(r[:1000])
	}
	// The courier comes within the next two hours (from the next half hour);
	// the customer gets the parcel within the shop's window after pick-up.
	start := now.Add(30 * time.Minute).Truncate(30 * time.Minute).Add(30 * time.Minute)
	pickupEnd := start.Add(2 * time.Hour)
	window := time.Duration(max(d.DostavistaWindowHours, 1)) * time.Hour
	pickupAddress := strings.TrimSpace(strings.Join(nonEmpty(d.SenderCity, d.SenderAddress), ", "))
	dropAddress := strings.Join(nonEmpty(o.Address.City, strings.TrimSpace(o.Address.Street1+" "+o.Address.Street2)), ", ")
	return dostavista.OrderRequest{
		Type:          dostavista.TypeStandard,
		Matter:        matter,
		VehicleTypeID: d.DostavistaVehicleType,
		TotalWeightKg: (weight + 999) / 1000,
		PaymentMethod: dostavista.PaymentBalance,
		Points: []dostavista.Point{
			{Address: pickupAddress, ContactPerson: dostavista.Contact{Phone: senderPhone, Name: d.SenderName},
				RequiredStart: start, RequiredFinish: pickupEnd, Note: "Order " + o.Number},
			{Address: dropAddress, ContactPerson: dostavista.Contact{Phone: customerPhone,
				Name: strings.TrimSpace(o.Address.FirstName + " " + o.Address.LastName)},
				ClientOrderID: c.Shipment.Reference, RequiredStart: start, RequiredFinish: pickupEnd.Add(window)},
		},
	}, nil
}

func nonEmpty(parts ...string) []string {
	var out []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
