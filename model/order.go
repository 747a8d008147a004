package model

import (
	"net/url"
	"strings"
	"time"
)

// Product is an item of the tenant's catalogue.
type Product struct {
	ID             int64
	TenantID       int64
	SKU            string
	Title          string
	Description    string
	Price          int64 // minor units of the tenant's currency
	Stock          int
	Source         string // taobao, tmall or local
	ProviderItemID string // the supplier's item id; "" when unknown
	ProviderSKUID  string // the supplier's SKU id; "" means it cannot be bought automatically
	CostFen        int64  // supplier price in CNY fen
	Active         bool
	// WeightG and the sizes are the product's parcel for the carriers; 0
	// takes the shop's default package (DeliverySettings). CreateProduct
	// writes them; the carriers' registrations read them (not the lists).
	WeightG                     int
	LengthCm, WidthCm, HeightCm int
}

// ShippingMethod is a way the tenant delivers.
type ShippingMethod struct {
	ID          int64
	TenantID    int64
	Name        string
	Carrier     string
	Price       int64
	TrackingURL string // with {number} where the tracking number goes
	Active      bool
}

// TrackingLink is the carrier's page for a tracking number, or "".
func TrackingLink(template, number string) string {
	if template == "" || number == "" {
		return ""
	}
	return strings.ReplaceAll(template, "{number}", url.QueryEscape(number))
}

// Address is where an order goes and who receives it. Field names follow
// fecshop's required-address list.
type Address struct {
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Email     string `json:"email"`
	Telephone string `json:"telephone"`
	Street1   string `json:"street1"`
	Street2   string `json:"street2"`
	City      string `json:"city"`
	State     string `json:"state"`
	Zip       string `json:"zip"`
	Country   string `json:"country"`
}

// field returns the value of a field by its fecshop name.
func (a Address) field(name string) string {
	switch name {
	case "first_name":
		return a.FirstName
	case "last_name":
		return a.LastName
	case "email":
		return a.Email
	case "telephone":
		return a.Telephone
	case "street1":
		return a.Street1
	case "street2":
		return a.Street2
	case "city":
		return a.City
	case "state":
		return a.State
	case "zip":
		return a.Zip
	case "country":
		return a.Country
	}
	return ""
}

// Order is a customer's order with its three statuses.
type Order struct {
	ID                int64
	TenantID          int64
	Number            string
	IncrementID       int64
	CustomerID        int64 // 0 for a guest
	CartID            string
	Address           Address
	ShippingMethodID  int64
	ShippingName      string
	Status            OrderStatus
	PaymentStatus     OrderPaymentStatus
	ProcurementStatus ProcurementStatus
	ProcurementError  string
	Currency          string
	Subtotal          int64
	Discount          int64
	BonusUsed         int64
	Shipping          int64
	Total             int64
	ItemCount         int
	CouponCode        string
	StockReserved     bool
	TrackingNumber    string
	TrackingCarrier   string
	TrackingURL       string // the carrier's page for the number, when known
	NeedsAttention    string // why a person must look at this order ("" when all is well)
	// ArrivedAt is when every line (cancelled ones aside) had arrived at the
	// shop's warehouse: the order is ready to ship.
	ArrivedAt   *time.Time
	ShippedAt   *time.Time
	DeliveredAt *time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time

	Lines []OrderLine // filled by FindOrderByID (and LoadOrderLines for a page)

	// CouponNotApplied is set by PlaceOrder alone: why the promo code given at
	// checkout was not applied, as a sentence for the shopper ("" when it was,
	// or when none was given). The order's timeline keeps it too.
	CouponNotApplied string
}

// OrderLine is one product of an order, with its own procurement status.
type OrderLine struct {
	ID                int64
	ProductID         int64
	SKU               string
	Title             string
	Quantity          int
	UnitPrice         int64
	LineTotal         int64
	ProviderItemID    string
	ProviderSKUID     string
	ProcurementStatus ProcurementStatus
	ProcurementError  string
	PurchaseID        string
	SupplierTrack     string
	SupplierStatusRaw string
	// CostFen is what the supplier charged for the line (in fen, 0 until it
	// is bought), CostMinor the same in the order's currency at the rate
	// frozen when it was bought.
	CostFen   int64
	CostMinor int64
	// ArrivedAt is when the line's parcel was scanned at the shop's
	// warehouse, and ArrivedBy who scanned it.
	ArrivedAt *time.Time
	ArrivedBy string
	// OT is OT Platform's record of the line when a live OT order holds it
	// (filled by FindOrderByID; nil otherwise).
	OT *OTLine
}

// OrderEvent is one entry of an order's timeline.
type OrderEvent struct {
	ID        int64
	Kind      string // order_status, payment_status, procurement_status, note, created
	Actor     string
	From, To  string
	Note      string
	CreatedAt time.Time
}

// Event kinds.
const (
	EventCreated           = "created"
	EventOrderStatus       = "order_status"
	EventPaymentStatus     = "payment_status"
	EventProcurementStatus = "procurement_status"
	EventNote              = "note"
	EventPayment           = "payment" // a payment record's own change
	EventRefund            = "refund"  // a refund reserved, made or refused
)

// Actor names who made a change, as the timeline shows it.
type Actor string

// StaffActor is a staff member.
func StaffActor(u *User) Actor { return Actor("staff:" + u.Email) }

// CustomerActor is a customer (or a guest by e-mail).
func CustomerActor(email string) Actor { return Actor("customer:" + email) }

// JobActor is a background job or its CLI twin.
func JobActor(name string) Actor { return Actor("job:" + name) }

// SystemActor is OrderDesk itself (a rule that followed from another change).
const SystemActor Actor = "system"
