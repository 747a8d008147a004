package model

import "time"

// Payment is one attempt to pay an order through a provider.
type Payment struct {
	ID             int64
	TenantID       int64
	OrderID        int64
	OrderNumber    string
	Number         string // PAY-{TENANT}-{date}-{hex}
	Provider       ProviderType
	IntegrationID  int64
	Mode           string // test or live
	Status         PaymentStatus
	Amount         int64
	Currency       string
	RefundedAmount int64
	ProviderRef    string // the provider's id of the payment (transaction id)
	PaymentURL     string
	FailureReason  string
	PaidAt         *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Open reports whether the payment may still become paid.
func (p *Payment) Open() bool { return p.Status == PaymentPending || p.Status == PaymentProcessing }

// PaymentEvent is something a provider sent us, or a call we made, kept raw.
type PaymentEvent struct {
	ID            int64
	TenantID      int64
	PaymentID     int64
	IntegrationID int64
	Direction     string // in (webhook, return) or out (our call)
	Kind          string // e.g. webhook, create, state, refund, return
	Body          string
	Verified      bool
	Result        string // what we made of it
	DedupKey      string // the same notification twice has the same key
	CreatedAt     time.Time
}

// Observation is what a provider says about a payment, to be applied.
type Observation struct {
	Stage         PaymentStatus
	AmountMinor   int64  // what the provider says was paid; 0 when it does not say
	Currency      string // "" when it does not say
	RefundedMinor int64  // the total refunded so far, for refunds
	Reason        string // why it failed, in words
	Actor         Actor
}

// Applied says what applying an observation did.
type Applied struct {
	Changed bool
	From    PaymentStatus
	To      PaymentStatus
	// Ignored explains an observation that changed nothing (duplicate, late,
	// out of order).
	Ignored string
	// Late: the money came for a payment we had closed (cancelled or failed).
	Late bool
	// Reinstated: the late money brought back the cancelled order.
	Reinstated bool
	// Overpaid is how much this payment brought beyond the order's total.
	Overpaid int64
	// Refunds are the refunds reserved by this change (late money for an order
	// whose stock is gone, money beyond the total): the caller has the provider
	// make them now; the refunds job retries what does not finish.
	Refunds []*Refund
}

// PaymentReview is an item of the review queue: money that needs a person.
type PaymentReview struct {
	ID            int64
	TenantID      int64
	PaymentID     int64
	PaymentNumber string
	OrderID       int64
	OrderNumber   string
	Kind          string // amount_mismatch, currency_mismatch, bad_notification, unknown_payment, wrong_receiver, late_payment, overpaid
	Reason        string
	Resolution    string // "", accepted, refunded, dismissed
	ResolvedBy    string
	ResolvedAt    *time.Time
	CreatedAt     time.Time
}
