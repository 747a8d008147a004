package cdek

import (
	"encoding/json"
	"fmt"
	"orderdesk/providers/internal/wire"
	"strings"
	"time"
)

// Request states (the `state` of an entry of `requests`): CDEK registers a
// shipment asynchronously, so POST /orders answers ACCEPTED and the order
// info later says SUCCESSFUL (a track number appears) or INVALID (rejected,
// with errors).
const (
	StateAccepted   = "ACCEPTED"
	StateWaiting    = "WAITING"
	StateSuccessful = "SUCCESSFUL"
	StateInvalid    = "INVALID"
)

// Request types (the `type` of an entry of `requests`).
const (
	RequestCreate = "CREATE"
	RequestUpdate = "UPDATE"
	RequestDelete = "DELETE"
	RequestAuth   = "AUTH"
	RequestGet    = "GET"
)

// Order status codes (providers.md §4, the main ones; about fifteen more
// transit, customs and return codes exist). Unknown codes must never crash
// the app: keep them as text and show Status.Name.
const (
	StatusAccepted                        = "ACCEPTED"
	StatusCreated                         = "CREATED"
	StatusInvalid                         = "INVALID"
	StatusRemoved                         = "REMOVED"
	StatusReceivedAtShipmentWarehouse     = "RECEIVED_AT_SHIPMENT_WAREHOUSE"
	StatusReadyForShipmentInSenderCity    = "READY_FOR_SHIPMENT_IN_SENDER_CITY"
	StatusTakenByTransporterFromSender    = "TAKEN_BY_TRANSPORTER_FROM_SENDER_CITY"
	StatusSentToRecipientCity             = "SENT_TO_RECIPIENT_CITY"
	StatusAcceptedInRecipientCity         = "ACCEPTED_IN_RECIPIENT_CITY"
	StatusAcceptedAtRecipientCityWarehous = "ACCEPTED_AT_RECIPIENT_CITY_WAREHOUSE"
	StatusAcceptedAtPickUpPoint           = "ACCEPTED_AT_PICK_UP_POINT"
	StatusTakenByCourier                  = "TAKEN_BY_COURIER"
	StatusPostomatReceived                = "POSTOMAT_RECEIVED"
	StatusDelivered                       = "DELIVERED"
	StatusNotDelivered                    = "NOT_DELIVERED"
)

// IsFinal reports whether a status code ends the shipment's life, so the app
// may stop following it.
func IsFinal(code string) bool {
	switch code {
	case StatusDelivered, StatusNotDelivered, StatusInvalid, StatusRemoved:
		return true
	}
	return false
}

// Location is a sender or recipient address. Code is CDEK's city code; give
// either Code or PostalCode/City so CDEK can recognise the city.
type Location struct {
	Code        int
	PostalCode  string
	CountryCode string // ISO 3166-1 alpha-2, e.g. "RU"
	City        string
	Address     string
}

// Contact is a sender or recipient.
type Contact struct {
	Name    string
	Company string
	Email   string
	// Phones in international format ("+79031234567").
	Phones []string
}

// Item is one line of a package. Money is in kopecks.
type Item struct {
	Name    string
	WareKey string // the shop's SKU
	// Payment is what CDEK collects from the recipient per unit (cash on
	// delivery); 0 when the order is prepaid.
	Payment int64
	// Cost is the declared value per unit (for insurance).
	Cost   int64
	Weight int // grams per unit
	Amount int // quantity
}

// Package is one parcel of a shipment. Weight is in grams, sizes in cm.
type Package struct {
	Number  string
	Weight  int
	Length  int
	Width   int
	Height  int
	Comment string
	Items   []Item
}

// OrderRequest registers a shipment (POST /orders). Send either
// FromLocation or ShipmentPoint, and either ToLocation or DeliveryPoint.
type OrderRequest struct {
	// Number is the shop's order number (CDEK's im_number); it finds the
	// shipment again with OrderByNumber.
	Number        string
	TariffCode    int
	Comment       string
	ShipmentPoint string // code of the CDEK office the shop drops the parcel at
	DeliveryPoint string // code of the pick-up point the recipient collects from
	FromLocation  *Location
	ToLocation    *Location
	Sender        *Contact
	Recipient     Contact
	Packages      []Package
	// DeliveryRecipientCost is the delivery charge CDEK collects from the
	// recipient (kopecks); 0 when the shop pays.
	DeliveryRecipientCost int64
}

// Problem is one entry of a request's `errors` or `warnings`.
type Problem struct {
	Code    string
	Message string
}

// Request is an entry of the `requests` list: one operation on the order and
// how it went.
type Request struct {
	RequestUUID string
	Type        string
	State       string
	DateTime    time.Time
	Errors      []Problem
	Warnings    []Problem
}

// Registration is the answer to CreateOrder: the order's uuid and the
// request's state (ACCEPTED; the outcome comes later through Order).
type Registration struct {
	UUID     string
	Requests []Request
}

// Status is one entry of the order's status history.
type Status struct {
	Code     string
	Name     string
	City     string
	DateTime time.Time
}

// OrderInfo is what GET /orders/{uuid} (or ?im_number=) says about a
// shipment.
type OrderInfo struct {
	UUID string
	// Number is the shop's order number (im_number).
	Number string
	// CDEKNumber is the track number. It is empty until CDEK has registered
	// the shipment (the CREATE request is SUCCESSFUL).
	CDEKNumber string
	TariffCode int
	// Statuses is the status history as CDEK lists it. [U] CDEK appears to
	// list the newest first; use Current, which does not rely on the order.
	Statuses []Status
	Requests []Request
}

// Track returns the track number, "" while CDEK is still registering the
// shipment.
func (o *OrderInfo) Track() string { return o.CDEKNumber }

// Current returns the latest status (by date_time; on a tie the one listed
// first), false when there is none.
func (o *OrderInfo) Current() (Status, bool) {
	var best Status
	found := false
	for _, s := range o.Statuses {
		if !found || s.DateTime.After(best.DateTime) {
			best, found = s, true
		}
	}
	return best, found
}

// CreationError returns the reasons CDEK rejected the shipment (its CREATE
// request is INVALID) as an *Error for Explain, or nil while it is accepted,
// waiting or registered.
func (o *OrderInfo) CreationError() *Error {
	for _, r := range o.Requests {
		if r.Type == RequestCreate && r.State == StateInvalid {
			e := &Error{Problems: r.Errors}
			if len(r.Errors) > 0 {
				e.Code, e.Message = r.Errors[0].Code, r.Errors[0].Message
			} else {
				e.Code = StateInvalid
			}
			return e
		}
	}
	return nil
}

// Pending reports whether CDEK is still registering the shipment: no track
// number and no rejection yet. Jobs poll Order while it is true.
func (o *OrderInfo) Pending() bool {
	return o.CDEKNumber == "" && o.CreationError() == nil
}

// ---------------------------------------------------------------- money

// FormatMoney renders kopecks as CDEK's decimal amount ("1500.50").
func FormatMoney(kopecks int64) string { return wire.FormatMinor(kopecks) }

// ParseMoney reads a CDEK amount ("1500.5", "1500.50", "1500") into kopecks,
// exactly; fractions of a kopeck are refused unless they are zeros.
func ParseMoney(s string) (int64, error) {
	v, err := wire.ParseMinor(s)
	if err != nil {
		return 0, fmt.Errorf("cdek: %w", err)
	}
	return v, nil
}

// ---------------------------------------------------------------- time

// timeLayouts are the shapes CDEK writes datetimes in: "+0000" offsets
// without a colon, sometimes with milliseconds, and RFC 3339.
var timeLayouts = []string{
	"2006-01-02T15:04:05-0700",
	"2006-01-02T15:04:05.000-0700",
	time.RFC3339Nano,
	"2006-01-02T15:04:05",
}

// cdekTime is a datetime read tolerantly; unreadable text is the zero time
// (these fields are informational and must not fail a whole answer).
type cdekTime struct{ time.Time }

func (t cdekTime) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(t.UTC().Format(timeLayouts[0]))
}

func (t *cdekTime) UnmarshalJSON(b []byte) error {
	var s wire.String
	if err := s.UnmarshalJSON(b); err != nil {
		return nil
	}
	t.Time = parseTime(string(s))
	return nil
}

func parseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	for _, l := range timeLayouts {
		if v, err := time.Parse(l, s); err == nil {
			return v
		}
	}
	return time.Time{}
}

// ---------------------------------------------------------------- wire shapes

type wirePhone struct {
	Number string `json:"number"`
}

type wireContact struct {
	Name    string      `json:"name,omitempty"`
	Company string      `json:"company,omitempty"`
	Email   string      `json:"email,omitempty"`
	Phones  []wirePhone `json:"phones,omitempty"`
}

type wireLocation struct {
	Code        int    `json:"code,omitempty"`
	PostalCode  string `json:"postal_code,omitempty"`
	CountryCode string `json:"country_code,omitempty"`
	City        string `json:"city,omitempty"`
	Address     string `json:"address,omitempty"`
}

type wireValue struct {
	Value wire.Money `json:"value"`
}

type wireItem struct {
	Name    string     `json:"name"`
	WareKey string     `json:"ware_key"`
	Payment wireValue  `json:"payment"`
	Cost    wire.Money `json:"cost"`
	Weight  int        `json:"weight"`
	Amount  int        `json:"amount"`
}

type wirePackage struct {
	Number  string     `json:"number"`
	Weight  int        `json:"weight"`
	Length  int        `json:"length,omitempty"`
	Width   int        `json:"width,omitempty"`
	Height  int        `json:"height,omitempty"`
	Comment string     `json:"comment,omitempty"`
	Items   []wireItem `json:"items,omitempty"`
}

type wireOrderRequest struct {
	Number                string        `json:"number,omitempty"`
	TariffCode            int           `json:"tariff_code"`
	Comment               string        `json:"comment,omitempty"`
	ShipmentPoint         string        `json:"shipment_point,omitempty"`
	DeliveryPoint         string        `json:"delivery_point,omitempty"`
	FromLocation          *wireLocation `json:"from_location,omitempty"`
	ToLocation            *wireLocation `json:"to_location,omitempty"`
	Sender                *wireContact  `json:"sender,omitempty"`
	Recipient             wireContact   `json:"recipient"`
	Packages              []wirePackage `json:"packages"`
	DeliveryRecipientCost *wireValue    `json:"delivery_recipient_cost,omitempty"`
}

func wireOfContact(c Contact) wireContact {
	w := wireContact{Name: c.Name, Company: c.Company, Email: c.Email}
	for _, p := range c.Phones {
		w.Phones = append(w.Phones, wirePhone{Number: p})
	}
	return w
}

func wireOfLocation(l *Location) *wireLocation {
	if l == nil {
		return nil
	}
	return &wireLocation{Code: l.Code, PostalCode: l.PostalCode, CountryCode: l.CountryCode, City: l.City, Address: l.Address}
}

func (r OrderRequest) wire() wireOrderRequest {
	w := wireOrderRequest{
		Number:        r.Number,
		TariffCode:    r.TariffCode,
		Comment:       r.Comment,
		ShipmentPoint: r.ShipmentPoint,
		DeliveryPoint: r.DeliveryPoint,
		FromLocation:  wireOfLocation(r.FromLocation),
		ToLocation:    wireOfLocation(r.ToLocation),
		Recipient:     wireOfContact(r.Recipient),
		Packages:      []wirePackage{},
	}
	if r.Sender != nil {
		s := wireOfContact(*r.Sender)
		w.Sender = &s
	}
	if r.DeliveryRecipientCost != 0 {
		w.DeliveryRecipientCost = &wireValue{Value: wire.Money(r.DeliveryRecipientCost)}
	}
	for _, p := range r.Packages {
		wp := wirePackage{Number: p.Number, Weight: p.Weight, Length: p.Length, Width: p.Width, Height: p.Height, Comment: p.Comment}
		for _, it := range p.Items {
			wp.Items = append(wp.Items, wireItem{
				Name: it.Name, WareKey: it.WareKey, Payment: wireValue{Value: wire.Money(it.Payment)},
				Cost: wire.Money(it.Cost), Weight: it.Weight, Amount: it.Amount,
			})
		}
		w.Packages = append(w.Packages, wp)
	}
	return w
}

type wireProblem struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type wireRequest struct {
	RequestUUID string        `json:"request_uuid,omitempty"`
	Type        string        `json:"type"`
	State       string        `json:"state"`
	DateTime    cdekTime      `json:"date_time"`
	Errors      []wireProblem `json:"errors,omitempty"`
	Warnings    []wireProblem `json:"warnings,omitempty"`
}

type wireStatus struct {
	Code     string   `json:"code"`
	Name     string   `json:"name"`
	DateTime cdekTime `json:"date_time"`
	City     string   `json:"city,omitempty"`
}

type wireEntity struct {
	UUID       string       `json:"uuid"`
	Number     wire.String  `json:"number,omitempty"`
	CDEKNumber wire.String  `json:"cdek_number,omitempty"`
	TariffCode wire.Int     `json:"tariff_code,omitempty"`
	Statuses   []wireStatus `json:"statuses,omitempty"`
}

// wireAnswer is the shape of every order answer: the entity and the
// requests made on it.
type wireAnswer struct {
	Entity   *wireEntity   `json:"entity,omitempty"`
	Requests []wireRequest `json:"requests"`
}

func problems(ws []wireProblem) []Problem {
	var out []Problem
	for _, w := range ws {
		out = append(out, Problem(w))
	}
	return out
}

func requests(ws []wireRequest) []Request {
	var out []Request
	for _, w := range ws {
		out = append(out, Request{
			RequestUUID: w.RequestUUID, Type: w.Type, State: w.State, DateTime: w.DateTime.Time,
			Errors: problems(w.Errors), Warnings: problems(w.Warnings),
		})
	}
	return out
}

func (a *wireAnswer) info() *OrderInfo {
	o := &OrderInfo{Requests: requests(a.Requests)}
	if e := a.Entity; e != nil {
		o.UUID = e.UUID
		o.Number = string(e.Number)
		o.CDEKNumber = string(e.CDEKNumber)
		o.TariffCode = int(e.TariffCode)
		for _, s := range e.Statuses {
			o.Statuses = append(o.Statuses, Status{Code: s.Code, Name: s.Name, City: s.City, DateTime: s.DateTime.Time})
		}
	}
	return o
}
