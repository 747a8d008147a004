package model

import "time"

// RefundStatus is where a refund stands: reserved and being asked of the
// provider (pending), made (done), or refused (failed, which releases the
// reservation).
type RefundStatus string

// Refund statuses.
const (
	RefundPending RefundStatus = "pending"
	RefundDone    RefundStatus = "done"
	RefundFailed  RefundStatus = "failed"
)

// Why a refund was made.
const (
	RefundByStaff    = "staff"    // a person asked for it
	RefundLate       = "late"     // money came after the order was cancelled and its stock was gone
	RefundOverpaid   = "overpaid" // money beyond the order's total
	RefundByProvider = "provider" // made at the provider; we learned of it
)

// Refund is money given back from one payment. It is reserved (a pending row)
// before the provider is asked, so that the refunds of a payment can never add
// up to more than was paid; its Number is the idempotency key the provider
// gets, so asking again after a crash or a timeout refunds once.
type Refund struct {
	ID            int64
	TenantID      int64
	PaymentID     int64
	PaymentNumber string
	OrderID       int64
	Number        string // RF-{TENANT}-{date}-{hex}
	Amount        int64
	Currency      string
	Status        RefundStatus
	Reason        string
	Actor         Actor
	ProviderRef   string
	Error         string // why the provider refused, or why the outcome is unknown
	Attempts      int
	CreatedAt     time.Time
	UpdatedAt     time.Time
}
