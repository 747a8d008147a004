package dostavista

import (
	"fmt"
	"orderdesk/providers/internal/wire"
	"strconv"
	"strings"
	"time"
)

// Order statuses (the `status` field of an order), from the API's
// OrderStatus enum (providers.md §5). An unknown status must never crash the
// app: IsFinal answers false for it, so the app keeps asking.
const (
	StatusNew         = "new"         // Created; waits for moderation or a courier search.
	StatusAvailable   = "available"   // Published to couriers; nobody took it yet.
	StatusActive      = "active"      // A courier took it and is on the way or carrying the parcel.
	StatusCompleted   = "completed"   // Every point was visited: delivered.
	StatusReactivated = "reactivated" // Given back to the courier search after a courier dropped it.
	StatusDraft       = "draft"       // Saved but not placed.
	StatusCanceled    = "canceled"    // Canceled by the shop or by Dostavista.
	StatusDelayed     = "delayed"     // Postponed (for example, a future time window).
)

// IsFinal reports whether an order status cannot change any more, so the app
// may stop polling the order.
func IsFinal(status string) bool {
	return status == StatusCompleted || status == StatusCanceled
}

// Callback event types (the `event_type` field of a callback).
const (
	EventOrderCreated    = "order_created"
	EventOrderChanged    = "order_changed"
	EventDeliveryCreated = "delivery_created"
	EventDeliveryChanged = "delivery_changed"
)

// Payment methods for OrderRequest.PaymentMethod.
const (
	PaymentCash     = "cash"
	PaymentBalance  = "balance"
	PaymentBankCard = "bank_card"
)

// Order types for OrderRequest.Type.
const (
	TypeStandard = "standard"
	TypeSameDay  = "same_day"
)

// Contact is a point's contact person.
type Contact struct {
	// Phone in international format; the API wants digits only
	// ("79030000001"). NormalizePhone turns "+7 (903) 000-00-01" into that.
	Phone string
	Name  string
}

// Point is one address of a delivery route: the first is where the courier
// picks the parcel up, the others where it is delivered.
type Point struct {
	Address       string
	ContactPerson Contact
	// ClientOrderID is the shop's order number shown to the courier (at most
	// 32 characters).
	ClientOrderID string
	// RequiredStart and RequiredFinish are the time window for the courier;
	// zero values leave them to Dostavista.
	RequiredStart  time.Time
	RequiredFinish time.Time
	// TakingAmount is the cash (kopecks) the courier collects at this point
	// (cash on delivery); 0 for none.
	TakingAmount int64
	// BuyoutAmount is the money (kopecks) the courier pays at this point.
	BuyoutAmount int64
	Note         string
	// ApartmentNumber, EntranceNumber and FloorNumber help the courier.
	ApartmentNumber string
	EntranceNumber  string
	FloorNumber     string
}

// OrderRequest is the body of calculate-order and create-order. Amounts are
// in kopecks; the client sends them as the API's "390.00" strings.
type OrderRequest struct {
	Type          string // TypeStandard (default) or TypeSameDay
	Matter        string // what is carried; required by create-order
	VehicleTypeID int    // 1..7 (6 = on foot); 0 leaves it to Dostavista
	TotalWeightKg int
	// InsuranceAmount is the declared value (kopecks); 0 for none.
	InsuranceAmount                    int64
	PaymentMethod                      string // PaymentCash, PaymentBalance or PaymentBankCard
	IsClientNotificationEnabled        bool
	IsContactPersonNotificationEnabled bool
	Points                             []Point
}

// Courier is the courier assigned to an order.
type Courier struct {
	CourierID  int64
	Surname    string
	Name       string
	Middlename string
	Phone      string
	Latitude   string
	Longitude  string
}

// OrderPoint is a point of an order as the API returns it.
type OrderPoint struct {
	PointID          int64
	DeliveryID       int64
	Address          string
	ClientOrderID    string
	ContactPerson    Contact
	TakingAmount     int64
	BuyoutAmount     int64
	RequiredStart    time.Time
	RequiredFinish   time.Time
	EstimatedArrival time.Time
	// CourierVisit is when the courier visited the point (zero until then).
	CourierVisit time.Time
	Note         string
	TrackingURL  string
}

// Order is an order (or, from calculate-order, a price estimate whose
// OrderID is 0) as the API returns it. Amounts are in kopecks.
type Order struct {
	OrderID            int64
	OrderName          string
	Type               string
	Status             string
	StatusDescription  string
	Matter             string
	VehicleTypeID      int
	TotalWeightKg      int
	PaymentMethod      string
	Created            time.Time
	Finished           time.Time
	PaymentAmount      int64 // what the shop pays for the delivery
	DeliveryFeeAmount  int64
	WeightFeeAmount    int64
	InsuranceAmount    int64
	InsuranceFeeAmount int64
	Points             []OrderPoint
	Courier            *Courier
	// Warnings and ParameterWarnings come with calculate-order: the estimate
	// is given although create-order would refuse these fields.
	Warnings          []string
	ParameterWarnings []FieldError
}

// ---------------------------------------------------------------- money

// FormatMoney renders kopecks as the API's money string: "390.00",
// "-0.50". It is exact (no floats).
func FormatMoney(kopecks int64) string { return wire.FormatMinor(kopecks) }

// ParseMoney reads an API money value ("390.00", "390", "390.5", "-1.00")
// into kopecks, exactly. More than two decimals are refused unless they are
// zeros, because a fraction of a kopeck cannot be stored.
func ParseMoney(s string) (int64, error) {
	v, err := wire.ParseMinor(s)
	if err != nil {
		return 0, fmt.Errorf("dostavista: %w", err)
	}
	return v, nil
}

// NormalizePhone turns a phone number as people write it ("+7 (903)
// 000-00-01", "8 903 000 00 01") into the digits-only international form the
// API wants ("79030000001"). A Russian trunk-prefix number (11 digits
// starting with 8) becomes 7…; an international "00" prefix is dropped. It
// returns an error when fewer than 10 or more than 15 digits remain.
func NormalizePhone(s string) (string, error) {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	d := b.String()
	d = strings.TrimPrefix(d, "00")
	if len(d) == 11 && d[0] == '8' {
		d = "7" + d[1:]
	}
	if len(d) < 10 || len(d) > 15 {
		return "", fmt.Errorf("dostavista: %q is not a phone number", s)
	}
	return d, nil
}

// ---------------------------------------------------------------- wire shapes

type wireContact struct {
	Phone string  `json:"phone"`
	Name  *string `json:"name"`
}

type wirePoint struct {
	PointID                  optInt            `json:"point_id,omitempty"`
	DeliveryID               optInt            `json:"delivery_id,omitempty"`
	Address                  string            `json:"address"`
	ContactPerson            wireContact       `json:"contact_person"`
	ClientOrderID            *string           `json:"client_order_id,omitempty"`
	RequiredStartDatetime    *string           `json:"required_start_datetime,omitempty"`
	RequiredFinishDatetime   *string           `json:"required_finish_datetime,omitempty"`
	EstimatedArrivalDatetime *string           `json:"estimated_arrival_datetime,omitempty"`
	CourierVisitDatetime     *string           `json:"courier_visit_datetime,omitempty"`
	TakingAmount             *wire.MoneyString `json:"taking_amount,omitempty"`
	BuyoutAmount             *wire.MoneyString `json:"buyout_amount,omitempty"`
	Note                     *string           `json:"note,omitempty"`
	ApartmentNumber          *string           `json:"apartment_number,omitempty"`
	EntranceNumber           *string           `json:"entrance_number,omitempty"`
	FloorNumber              *string           `json:"floor_number,omitempty"`
	TrackingURL              *string           `json:"tracking_url,omitempty"`
}

type wireRequest struct {
	Type                               string            `json:"type,omitempty"`
	Matter                             string            `json:"matter,omitempty"`
	VehicleTypeID                      int               `json:"vehicle_type_id,omitempty"`
	TotalWeightKg                      int               `json:"total_weight_kg,omitempty"`
	InsuranceAmount                    *wire.MoneyString `json:"insurance_amount,omitempty"`
	PaymentMethod                      string            `json:"payment_method,omitempty"`
	IsClientNotificationEnabled        bool              `json:"is_client_notification_enabled"`
	IsContactPersonNotificationEnabled bool              `json:"is_contact_person_notification_enabled"`
	Points                             []wirePoint       `json:"points"`
}

type wireCourier struct {
	CourierID  wire.Int    `json:"courier_id"`
	Surname    string      `json:"surname"`
	Name       string      `json:"name"`
	Middlename *string     `json:"middlename"`
	Phone      string      `json:"phone"`
	Latitude   wire.String `json:"latitude"`
	Longitude  wire.String `json:"longitude"`
}

// wireOrder is an order as the API writes it. The sandbox writes it too, so
// the field names are checked against the documentation's examples in the
// client tests, not only against the sandbox.
type wireOrder struct {
	OrderID                     optInt           `json:"order_id"`
	OrderName                   *string          `json:"order_name"`
	Type                        string           `json:"type"`
	VehicleTypeID               int              `json:"vehicle_type_id"`
	CreatedDatetime             string           `json:"created_datetime"`
	FinishDatetime              *string          `json:"finish_datetime"`
	Status                      *string          `json:"status"`
	StatusDescription           *string          `json:"status_description"`
	Matter                      *string          `json:"matter"`
	TotalWeightKg               int              `json:"total_weight_kg"`
	IsClientNotificationEnabled bool             `json:"is_client_notification_enabled"`
	IsContactNotificationEnab   bool             `json:"is_contact_person_notification_enabled"`
	Points                      []wirePoint      `json:"points"`
	PaymentAmount               wire.MoneyString `json:"payment_amount"`
	DeliveryFeeAmount           wire.MoneyString `json:"delivery_fee_amount"`
	WeightFeeAmount             wire.MoneyString `json:"weight_fee_amount"`
	InsuranceAmount             wire.MoneyString `json:"insurance_amount"`
	InsuranceFeeAmount          wire.MoneyString `json:"insurance_fee_amount"`
	PaymentMethod               string           `json:"payment_method"`
	Courier                     *wireCourier     `json:"courier"`
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func moneyPtr(v int64) *wire.MoneyString {
	if v == 0 {
		return nil
	}
	m := wire.MoneyString(v)
	return &m
}

func timePtr(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.Format(time.RFC3339)
	return &s
}

// parseTime reads the API's ISO 8601 datetimes ("2025-09-12T15:17:29+03:00");
// anything unreadable is the zero time (informational fields never fail a
// whole answer).
func parseTime(p *string) time.Time {
	if p == nil || *p == "" {
		return time.Time{}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05-0700", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, *p); err == nil {
			return t
		}
	}
	return time.Time{}
}

func (r OrderRequest) wire() wireRequest {
	w := wireRequest{
		Type:                               r.Type,
		Matter:                             r.Matter,
		VehicleTypeID:                      r.VehicleTypeID,
		TotalWeightKg:                      r.TotalWeightKg,
		InsuranceAmount:                    moneyPtr(r.InsuranceAmount),
		PaymentMethod:                      r.PaymentMethod,
		IsClientNotificationEnabled:        r.IsClientNotificationEnabled,
		IsContactPersonNotificationEnabled: r.IsContactPersonNotificationEnabled,
		Points:                             []wirePoint{},
	}
	for _, p := range r.Points {
		w.Points = append(w.Points, wirePoint{
			Address:                p.Address,
			ContactPerson:          wireContact{Phone: p.ContactPerson.Phone, Name: strPtr(p.ContactPerson.Name)},
			ClientOrderID:          strPtr(p.ClientOrderID),
			RequiredStartDatetime:  timePtr(p.RequiredStart),
			RequiredFinishDatetime: timePtr(p.RequiredFinish),
			TakingAmount:           moneyPtr(p.TakingAmount),
			BuyoutAmount:           moneyPtr(p.BuyoutAmount),
			Note:                   strPtr(p.Note),
			ApartmentNumber:        strPtr(p.ApartmentNumber),
			EntranceNumber:         strPtr(p.EntranceNumber),
			FloorNumber:            strPtr(p.FloorNumber),
		})
	}
	return w
}

func (w *wireOrder) order() *Order {
	o := &Order{
		Type:               w.Type,
		Status:             deref(w.Status),
		StatusDescription:  deref(w.StatusDescription),
		Matter:             deref(w.Matter),
		OrderName:          deref(w.OrderName),
		VehicleTypeID:      w.VehicleTypeID,
		TotalWeightKg:      w.TotalWeightKg,
		PaymentMethod:      w.PaymentMethod,
		Created:            parseTime(&w.CreatedDatetime),
		Finished:           parseTime(w.FinishDatetime),
		PaymentAmount:      int64(w.PaymentAmount),
		DeliveryFeeAmount:  int64(w.DeliveryFeeAmount),
		WeightFeeAmount:    int64(w.WeightFeeAmount),
		InsuranceAmount:    int64(w.InsuranceAmount),
		InsuranceFeeAmount: int64(w.InsuranceFeeAmount),
	}
	o.OrderID = int64(w.OrderID)
	for _, p := range w.Points {
		op := OrderPoint{
			Address:          p.Address,
			ClientOrderID:    deref(p.ClientOrderID),
			ContactPerson:    Contact{Phone: p.ContactPerson.Phone, Name: deref(p.ContactPerson.Name)},
			RequiredStart:    parseTime(p.RequiredStartDatetime),
			RequiredFinish:   parseTime(p.RequiredFinishDatetime),
			EstimatedArrival: parseTime(p.EstimatedArrivalDatetime),
			CourierVisit:     parseTime(p.CourierVisitDatetime),
			Note:             deref(p.Note),
			TrackingURL:      deref(p.TrackingURL),
		}
		op.PointID = int64(p.PointID)
		op.DeliveryID = int64(p.DeliveryID)
		if p.TakingAmount != nil {
			op.TakingAmount = int64(*p.TakingAmount)
		}
		if p.BuyoutAmount != nil {
			op.BuyoutAmount = int64(*p.BuyoutAmount)
		}
		o.Points = append(o.Points, op)
	}
	if c := w.Courier; c != nil {
		o.Courier = &Courier{
			CourierID:  int64(c.CourierID),
			Surname:    c.Surname,
			Name:       c.Name,
			Middlename: deref(c.Middlename),
			Phone:      c.Phone,
			Latitude:   string(c.Latitude),
			Longitude:  string(c.Longitude),
		}
	}
	return o
}

// optInt is an id that is null until the server assigns it (order_id in a
// calculate-order answer): 0 is written as null; reading is as loose as
// wire.Int.
type optInt int64

func (o optInt) MarshalJSON() ([]byte, error) {
	if o == 0 {
		return []byte("null"), nil
	}
	return strconv.AppendInt(nil, int64(o), 10), nil
}

func (o *optInt) UnmarshalJSON(b []byte) error {
	var f wire.Int
	if err := f.UnmarshalJSON(b); err != nil {
		return err
	}
	*o = optInt(f)
	return nil
}
