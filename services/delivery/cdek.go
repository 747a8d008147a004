package delivery

import (
	"context"
	"errors"
	"sort"
	"strings"

	"orderdesk/model"
	"orderdesk/providers/cdek"
)

// cdekCarrier registers and follows shipments with CDEK (API v2). CDEK
// registers asynchronously: the answer to a registration is a uuid; the
// track number (cdek_number) comes with a later read, when CDEK's CREATE
// request is SUCCESSFUL, or the read says why CDEK refused it.
type cdekCarrier struct {
	svc *Service
	in  *model.Integration
	c   *cdek.Client
}

// prepare subscribes the integration's webhook address at CDEK once, so
// that CDEK's status changes come to /webhooks/cdek/{integration_id}.
func (a *cdekCarrier) prepare(ctx context.Context) error {
	u := a.svc.webhookURL(a.in)
	done, err := a.svc.store.CarrierSubscribed(ctx, a.in, u)
	if err != nil || done {
		return err
	}
	id, err := a.c.SubscribeWebhook(ctx, u)
	if err != nil {
		return err
	}
	return a.svc.store.RecordCarrierSubscription(ctx, a.in, u, id)
}

func (a *cdekCarrier) register(ctx context.Context, c *model.ShipmentClaim) (model.ShipmentState, error) {
	req, err := cdekRequest(c)
	if err != nil {
		return model.ShipmentState{}, err
	}
	reg, err := a.c.CreateOrder(ctx, req)
	if err != nil {
		return model.ShipmentState{}, err
	}
	return model.ShipmentState{CarrierOrderID: reg.UUID, Status: model.ShipCreated, CarrierStatus: cdek.StatusAccepted}, nil
}

func (a *cdekCarrier) lookup(ctx context.Context, sh *model.Shipment) (model.ShipmentState, bool, error) {
	info, err := a.c.OrderByNumber(ctx, sh.Reference)
	var e *cdek.Error
	if errors.As(err, &e) && (e.Has(cdek.CodeEntityNotFoundImNumber) || e.Has(cdek.CodeEntityNotFound) || e.Has(cdek.CodeOrderNotFound)) {
		return model.ShipmentState{}, false, nil
	}
	if err != nil {
		return model.ShipmentState{}, false, err
	}
	if cur, _ := info.Current(); info.UUID == "" || info.CreationError() != nil || cur.Code == cdek.StatusRemoved {
		// A registration CDEK refused, or a shipment it removed, is no
		// shipment: registering again is what the retry is for.
		return model.ShipmentState{}, false, nil
	}
	return cdekState(info), true, nil
}

func (a *cdekCarrier) state(ctx context.Context, sh *model.Shipment) (model.ShipmentState, error) {
	info, err := a.c.Order(ctx, sh.CarrierOrderID)
	if err != nil {
		return model.ShipmentState{}, err
	}
	return cdekState(info), nil
}

func (a *cdekCarrier) explain(err error) string {
	var r *refusal
	if errors.As(err, &r) {
		return r.msg
	}
	return cdek.Explain(err)
}

// cdekStatus maps CDEK's status of a shipment to ours: without a track it
// is registered, with one it is on its way (the shop hands the parcel in
// with it), then delivered; not delivered or removed needs a person.
func cdekStatus(code, track string) model.ShipmentStatus {
	switch code {
	case cdek.StatusDelivered:
		return model.ShipDelivered
	case cdek.StatusNotDelivered, cdek.StatusRemoved:
		return model.ShipProblem
	}
	if track == "" {
		return model.ShipCreated
	}
	return model.ShipInTransit
}

// cdekState is what CDEK's order info says of a shipment.
func cdekState(info *cdek.OrderInfo) model.ShipmentState {
	st := model.ShipmentState{CarrierOrderID: info.UUID}
	if e := info.CreationError(); e != nil {
		st.Error = cdek.Explain(e)
		return st
	}
	st.TrackNumber = info.Track()
	cur, ok := info.Current()
	if ok {
		st.CarrierStatus = cur.Code
	}
	st.Status = cdekStatus(st.CarrierStatus, st.TrackNumber)
	history := append([]cdek.Status(nil), info.Statuses...)
	// CDEK lists the newest first [U]; the history is kept oldest first.
	sort.SliceStable(history, func(i, j int) bool { return history[i].DateTime.Before(history[j].DateTime) })
	for _, h := range history {
		desc := h.Name
		if h.City != "" {
			desc += ", " + h.City
		}
		st.History = append(st.History, model.ShipmentEvent{Status: cdekStatus(h.Code, st.TrackNumber), CarrierStatus: h.Code,
			Description: desc, HappenedAt: h.DateTime})
	}
	return st
}

// cdekRequest is a claimed order as CDEK registers it: the shop's defaults
// (tariff, the sender's office or address), the recipient's address, and
// one package of the order's lines with their weights and the largest size.
func cdekRequest(c *model.ShipmentClaim) (cdek.OrderRequest, error) {
	d, o := c.Settings, c.Order
	if c.Settings.CDEKShipmentPoint == "" && (strings.TrimSpace(d.SenderCity) == "" || strings.TrimSpace(d.SenderAddress) == "") {
		return cdek.OrderRequest{}, &refusal{"The shop's sender address (city and street) is missing: set it in Settings → Delivery, or a CDEK office to hand parcels in at."}
	}
	if strings.TrimSpace(o.Address.Telephone) == "" {
		return cdek.OrderRequest{}, &refusal{"The order has no customer phone number, which CDEK needs for the recipient."}
	}
	req := cdek.OrderRequest{
		Number:     c.Shipment.Reference,
		TariffCode: d.CDEKTariffCode,
		Comment:    "Order " + o.Number,
		ToLocation: &cdek.Location{PostalCode: o.Address.Zip, CountryCode: o.Address.Country, City: o.Address.City,
			Address: strings.TrimSpace(o.Address.Street1 + " " + o.Address.Street2)},
		Recipient: cdek.Contact{Name: strings.TrimSpace(o.Address.FirstName + " " + o.Address.LastName), Email: o.Address.Email,
			Phones: []string{o.Address.Telephone}},
	}
	if d.CDEKShipmentPoint != "" {
		req.ShipmentPoint = d.CDEKShipmentPoint
	} else {
		req.FromLocation = &cdek.Location{PostalCode: d.SenderPostalCode, CountryCode: d.SenderCountry, City: d.SenderCity, Address: d.SenderAddress}
	}
	if d.SenderName != "" || d.SenderPhone != "" {
		sender := cdek.Contact{Company: d.SenderName, Name: d.SenderName}
		if d.SenderPhone != "" {
			sender.Phones = []string{d.SenderPhone}
		}
		req.Sender = &sender
	}
	pkg := cdek.Package{Number: c.Shipment.Reference + "-1"}
	for _, l := range c.Parcel {
		pkg.Weight += l.WeightG * l.Quantity
		pkg.Length, pkg.Width, pkg.Height = max(pkg.Length, l.LengthCm), max(pkg.Width, l.WidthCm), max(pkg.Height, l.HeightCm)
		// Prepaid: CDEK collects nothing from the recipient.
		pkg.Items = append(pkg.Items, cdek.Item{Name: l.Title, WareKey: l.SKU, Cost: l.UnitPrice, Weight: l.WeightG, Amount: l.Quantity})
	}
	req.Packages = []cdek.Package{pkg}
	return req, nil
}
