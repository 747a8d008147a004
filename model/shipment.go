package model

import (
	"strings"
	"time"
)

// ShipmentStatus is where an order's shipment with a carrier stands.
type ShipmentStatus string

// Shipment statuses. The database CHECK in migrations/0010_delivery.sql lists
// the same values.
const (
	// ShipRegistering: the intent is recorded and the carrier is being asked
	// (or was, by a process that stopped): a retry looks it up first.
	ShipRegistering ShipmentStatus = "registering"
	// ShipFailed: the carrier refused the registration; it can be retried.
	ShipFailed ShipmentStatus = "failed"
	// ShipCreated: the carrier has the shipment and gives no track or courier yet.
	ShipCreated ShipmentStatus = "created"
	// ShipInTransit: the carrier has the parcel (a track, a courier): the
	// order is shipped.
	ShipInTransit ShipmentStatus = "in_transit"
	// ShipDelivered: the customer has it.
	ShipDelivered ShipmentStatus = "delivered"
	// ShipProblem: the carrier reports it not delivered, lost or cancelled on
	// its side: a person must look.
	ShipProblem ShipmentStatus = "problem"
	// ShipCancelled: the shop gave it up; the order may get another shipment.
	ShipCancelled ShipmentStatus = "cancelled"
)

// shipmentRank orders the statuses a shipment goes through, so that a late
// or repeated message of a carrier never moves a shipment back.
var shipmentRank = map[ShipmentStatus]int{
	ShipRegistering: 0, ShipFailed: 0, ShipCreated: 1, ShipInTransit: 2, ShipProblem: 3, ShipDelivered: 4,
}

// Advances reports whether a carrier's news moves a shipment from s to next:
// forward only, and nothing moves a delivered or cancelled one.
func (s ShipmentStatus) Advances(next ShipmentStatus) bool {
	if s == ShipCancelled || s == ShipDelivered || next == "" || next == s {
		return false
	}
	if next == ShipFailed {
		// A refusal ends a registration, never a shipment the carrier took.
		return s == ShipRegistering || s == ShipCreated
	}
	r, ok := shipmentRank[next]
	return ok && r > shipmentRank[s]
}

// Label says the status in words.
func (s ShipmentStatus) Label() string {
	switch s {
	case ShipRegistering:
		return "Registering with the carrier"
	case ShipFailed:
		return "Refused by the carrier"
	case ShipCreated:
		return "Registered, waiting for the carrier"
	case ShipInTransit:
		return "With the carrier"
	case ShipDelivered:
		return "Delivered"
	case ShipProblem:
		return "Needs attention"
	case ShipCancelled:
		return "Cancelled"
	}
	return string(s)
}

// Retryable reports whether a person may register the shipment again.
func (s ShipmentStatus) Retryable() bool { return s == ShipFailed || s == ShipRegistering }

// Following reports whether the carrier still has news of a shipment in s:
// the fetch jobs ask about these.
func (s ShipmentStatus) Following() bool {
	return s == ShipRegistering || s == ShipCreated || s == ShipInTransit
}

// Carriers with an integration: their shipments are registered through the
// carrier's API and followed by a job. Any other carrier is manual: staff
// type its track.
const (
	CarrierCDEK       = "cdek"
	CarrierDostavista = "dostavista"
)

// CarrierProvider is the integration a carrier's shipments go through, false
// for a manual carrier.
func CarrierProvider(carrier string) (ProviderType, bool) {
	switch strings.ToLower(carrier) {
	case CarrierCDEK:
		return ProviderCDEK, true
	case CarrierDostavista:
		return ProviderDostavista, true
	}
	return "", false
}

// CarrierLabel is a carrier's name for people.
func CarrierLabel(carrier string) string {
	switch strings.ToLower(carrier) {
	case CarrierCDEK:
		return "CDEK"
	case CarrierDostavista:
		return "Dostavista courier"
	case "aras":
		return "Aras Kargo"
	case "":
		return "the carrier"
	}
	return carrier
}

// Shipment is an order's shipment with a carrier.
type Shipment struct {
	ID             int64
	TenantID       int64
	OrderID        int64
	OrderNumber    string
	Carrier        string
	IntegrationID  int64 // 0 for a manual carrier
	Reference      string
	CarrierOrderID string
	TrackNumber    string
	TrackingURL    string
	Status         ShipmentStatus
	CarrierStatus  string
	Cost           int64
	Currency       string
	CourierName    string
	CourierPhone   string
	LastError      string
	Attempts       int
	ClaimedUntil   *time.Time
	CreatedBy      string
	CreatedAt      time.Time
	UpdatedAt      time.Time

	Events []ShipmentEvent // filled by FindOrderShipment
}

// Manual reports whether staff type the shipment's track (no integration).
func (s *Shipment) Manual() bool { return s.IntegrationID == 0 }

// Restartable reports whether a new shipment may replace this one: the
// carrier gave it up (cancelled, removed) before it ever had the parcel.
func (s *Shipment) Restartable() bool {
	return s.Status == ShipProblem && s.TrackNumber == "" && !s.Manual()
}

// ShipmentEvent is one entry of a shipment's status history.
type ShipmentEvent struct {
	Status        ShipmentStatus
	CarrierStatus string
	Description   string
	HappenedAt    time.Time
}

// ShipmentState is what a carrier says of a shipment: the answer to a
// registration, a poll, a webhook's re-read or a signed callback. Empty
// fields keep what is recorded.
type ShipmentState struct {
	CarrierOrderID string
	Status         ShipmentStatus
	CarrierStatus  string
	TrackNumber    string
	TrackingURL    string
	Cost           int64
	Currency       string
	CourierName    string
	CourierPhone   string
	// Error is the carrier's refusal in words: the registration failed.
	Error string
	// History is the carrier's status history (oldest first), or its
	// current status alone.
	History []ShipmentEvent
}

// CarrierMessage is a webhook or callback of a carrier, kept as received.
type CarrierMessage struct {
	IntegrationID int64
	Kind          string
	Body          string
	Verified      bool
	Result        string
	// DedupKey identifies the message within the integration: the same
	// message twice is recorded and applied once.
	DedupKey string
}

// DeliverySettings are what a shop's carrier registrations need besides the
// order: where parcels leave from and how they are packed.
type DeliverySettings struct {
	SenderName       string
	SenderPhone      string
	SenderCountry    string
	SenderCity       string
	SenderPostalCode string
	SenderAddress    string
	// CDEKShipmentPoint is a CDEK office the shop hands its parcels in at;
	// "" gives CDEK the sender's address.
	CDEKShipmentPoint string
	CDEKTariffCode    int
	// The package of a product without its own weight and size.
	PackageWeightG  int
	PackageLengthCm int
	PackageWidthCm  int
	PackageHeightCm int
	// DostavistaVehicleType is Dostavista's vehicle_type_id (6: on foot).
	DostavistaVehicleType int
	// DostavistaWindowHours is how long the courier's delivery window is.
	DostavistaWindowHours int
}

// DefaultDeliverySettings are a new shop's settings (the database defaults).
var DefaultDeliverySettings = DeliverySettings{CDEKTariffCode: 137, PackageWeightG: 1000, PackageLengthCm: 30, PackageWidthCm: 20,
	PackageHeightCm: 10, DostavistaVehicleType: 6, DostavistaWindowHours: 4}

// ParcelLine is an order line as a carrier packs it.
type ParcelLine struct {
	SKU       string
	Title     string
	Quantity  int
	UnitPrice int64 // minor units of the order's currency
	// WeightG and the sizes are the product's, or the shop's default package.
	WeightG                     int
	LengthCm, WidthCm, HeightCm int
}

// ShipmentClaim is an order claimed for a registration with a carrier: the
// shipment row (written before the carrier is called), and what the carrier
// needs to know.
type ShipmentClaim struct {
	Shipment *Shipment
	Order    *Order
	Settings DeliverySettings
	Parcel   []ParcelLine
	// Resumed: an earlier registration of this shipment may have reached the
	// carrier (a failed answer, a crash): look it up by the reference first.
	Resumed bool
}

// ArrivedLine is an order line a warehouse scan matched.
type ArrivedLine struct {
	OrderID     int64
	OrderNumber string
	LineID      int64
	SKU         string
	Title       string
	Quantity    int
	// Already: the line had arrived at an earlier scan; nothing changed.
	Already   bool
	ArrivedAt time.Time
	// OrderReady: every line of the order has arrived.
	OrderReady bool
}

// ArrivalScan is the outcome of one warehouse scan. No lines: the number is
// unknown in this shop.
type ArrivalScan struct {
	Code  string
	Lines []ArrivedLine
}

// Newly counts the lines this scan marked arrived.
func (a *ArrivalScan) Newly() int {
	n := 0
	for _, l := range a.Lines {
		if !l.Already {
			n++
		}
	}
	return n
}

// TrackStep is one step of an order's journey as the public tracking page
// tells it: both legs, from the supplier to our warehouse and from there to
// the customer. Nothing personal is in it.
type TrackStep struct {
	Key string // ordered, paid, bought, on_the_way, arrived, handed_over, delivered
	At  *time.Time
	// Detail is a track number (the supplier's, the carrier's) and Carrier
	// its carrier; URL the carrier's page for it.
	Detail  string
	Carrier string
	URL     string
}

// Done reports whether the step happened.
func (s TrackStep) Done() bool { return s.At != nil }

// Label says the step in words.
func (s TrackStep) Label() string {
	switch s.Key {
	case "ordered":
		return "Ordered"
	case "paid":
		return "Paid"
	case "bought":
		return "Bought from the supplier"
	case "on_the_way":
		return "On its way to our warehouse"
	case "arrived":
		return "Arrived at our warehouse"
	case "handed_over":
		if s.Carrier != "" {
			return "Handed to " + s.Carrier
		}
		return "Handed to the carrier"
	case "delivered":
		return "Delivered"
	}
	return s.Key
}
