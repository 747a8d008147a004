package model

import "slices"

// The three lifecycles of an order, each a typed enum with one transition table.
// The database CHECKs in migrations/0002_orders.sql list the same values.

// OrderStatus is what the shop does with the order.
type OrderStatus string

// Order statuses (seed 001's words, fecshop's holded).
const (
	OrderPending    OrderStatus = "pending"
	OrderConfirmed  OrderStatus = "confirmed"
	OrderProcessing OrderStatus = "processing"
	OrderHolded     OrderStatus = "holded" // on hold for review (fecshop's word)
	OrderShipped    OrderStatus = "shipped"
	OrderDelivered  OrderStatus = "delivered"
	OrderCompleted  OrderStatus = "completed"
	OrderCancelled  OrderStatus = "cancelled"
	OrderRefunded   OrderStatus = "refunded"
)

// OrderStatuses lists the order statuses in lifecycle order.
var OrderStatuses = []OrderStatus{OrderPending, OrderConfirmed, OrderProcessing, OrderHolded, OrderShipped,
	OrderDelivered, OrderCompleted, OrderCancelled, OrderRefunded}

// orderTransitions is the one table of allowed order status changes.
var orderTransitions = map[OrderStatus][]OrderStatus{
	OrderPending:    {OrderConfirmed, OrderHolded, OrderCancelled},
	OrderConfirmed:  {OrderProcessing, OrderHolded, OrderShipped, OrderCancelled, OrderRefunded},
	OrderProcessing: {OrderShipped, OrderHolded, OrderCancelled, OrderRefunded},
	OrderHolded:     {OrderConfirmed, OrderProcessing, OrderCancelled, OrderRefunded},
	OrderShipped:    {OrderDelivered, OrderRefunded},
	OrderDelivered:  {OrderCompleted, OrderRefunded},
	OrderCompleted:  {OrderRefunded},
	OrderCancelled:  {},
	OrderRefunded:   {},
}

// Valid reports whether s is an order status.
func (s OrderStatus) Valid() bool { _, ok := orderTransitions[s]; return ok }

// CanTransitionTo reports whether the table allows s → to.
func (s OrderStatus) CanTransitionTo(to OrderStatus) bool {
	return slices.Contains(orderTransitions[s], to)
}

// Next lists the statuses s may change to.
func (s OrderStatus) Next() []OrderStatus { return orderTransitions[s] }

// ManualNext lists the statuses a person may choose for an order in status s:
// those the table allows but refunded, which an order reaches only when all its
// money went back through refunds.
func (s OrderStatus) ManualNext() []OrderStatus {
	var out []OrderStatus
	for _, to := range orderTransitions[s] {
		if to != OrderRefunded {
			out = append(out, to)
		}
	}
	return out
}

// Final reports whether nothing can follow s.
func (s OrderStatus) Final() bool { return len(orderTransitions[s]) == 0 }

// PaymentStatus is the state of one payment record (the payments work adds them).
type PaymentStatus string

// Payment record statuses; "completed" is seed 001's word for paid.
const (
	PaymentPending           PaymentStatus = "pending"
	PaymentProcessing        PaymentStatus = "processing"
	PaymentCompleted         PaymentStatus = "completed"
	PaymentSuspectedFraud    PaymentStatus = "suspected_fraud"
	PaymentFailed            PaymentStatus = "failed"
	PaymentCanceled          PaymentStatus = "canceled"
	PaymentRefunded          PaymentStatus = "refunded"
	PaymentPartiallyRefunded PaymentStatus = "partially_refunded"
)

// PaymentStatuses lists the payment record statuses.
var PaymentStatuses = []PaymentStatus{PaymentPending, PaymentProcessing, PaymentCompleted, PaymentSuspectedFraud,
	PaymentFailed, PaymentCanceled, PaymentRefunded, PaymentPartiallyRefunded}

// paymentTransitions is the one table of a payment record's changes. A completed
// payment never goes back to pending or processing, whatever order the
// provider's notifications arrive in. A failed or cancelled payment can still
// become completed: the provider only reports money that was taken, and money
// that arrives after we closed a payment is received late, never ignored.
var paymentTransitions = map[PaymentStatus][]PaymentStatus{
	PaymentPending:           {PaymentProcessing, PaymentCompleted, PaymentSuspectedFraud, PaymentFailed, PaymentCanceled},
	PaymentProcessing:        {PaymentCompleted, PaymentSuspectedFraud, PaymentFailed, PaymentCanceled},
	PaymentSuspectedFraud:    {PaymentCompleted, PaymentRefunded, PaymentCanceled},
	PaymentCompleted:         {PaymentPartiallyRefunded, PaymentRefunded},
	PaymentPartiallyRefunded: {PaymentPartiallyRefunded, PaymentRefunded},
	PaymentFailed:            {PaymentCompleted, PaymentSuspectedFraud},
	PaymentCanceled:          {PaymentCompleted, PaymentSuspectedFraud},
	PaymentRefunded:          {},
}

// Valid reports whether s is a payment status.
func (s PaymentStatus) Valid() bool { _, ok := paymentTransitions[s]; return ok }

// CanTransitionTo reports whether the table allows s → to.
func (s PaymentStatus) CanTransitionTo(to PaymentStatus) bool {
	return slices.Contains(paymentTransitions[s], to)
}

// OrderPaymentStatus is the order's payment status, computed from its payments.
type OrderPaymentStatus string

// Order payment statuses.
const (
	PayPending           OrderPaymentStatus = "pending"
	PayProcessing        OrderPaymentStatus = "processing"
	PayPaid              OrderPaymentStatus = "paid"
	PaySuspectedFraud    OrderPaymentStatus = "suspected_fraud"
	PayPartiallyRefunded OrderPaymentStatus = "partially_refunded"
	PayRefunded          OrderPaymentStatus = "refunded"
	PayCanceled          OrderPaymentStatus = "canceled"
)

// OrderPaymentStatuses lists the order payment statuses.
var OrderPaymentStatuses = []OrderPaymentStatus{PayPending, PayProcessing, PayPaid, PaySuspectedFraud,
	PayPartiallyRefunded, PayRefunded, PayCanceled}

// Valid reports whether s is an order payment status.
func (s OrderPaymentStatus) Valid() bool { return slices.Contains(OrderPaymentStatuses, s) }

// DerivePaymentStatus computes an order's payment status from the statuses of its
// payment records. It is the only way an order's payment status is decided: it is
// never set by hand. An order with no payment that was cancelled is "canceled".
func DerivePaymentStatus(payments []PaymentStatus, orderCancelled bool) OrderPaymentStatus {
	has := func(s PaymentStatus) bool { return slices.Contains(payments, s) }
	switch {
	case has(PaymentSuspectedFraud):
		return PaySuspectedFraud
	case has(PaymentPartiallyRefunded):
		return PayPartiallyRefunded
	case has(PaymentCompleted):
		return PayPaid
	case has(PaymentRefunded):
		return PayRefunded
	case has(PaymentProcessing):
		return PayProcessing
	case orderCancelled:
		return PayCanceled
	}
	// No payment yet, one pending, or every attempt failed or was abandoned: the
	// order still waits for its money.
	return PayPending
}

// ProcurementStatus is what the shop's purchase from the supplier does, per line.
type ProcurementStatus string

// Procurement statuses (seed 000).
const (
	ProcPending   ProcurementStatus = "pending"
	ProcCreated   ProcurementStatus = "created"
	ProcPaid      ProcurementStatus = "paid"
	ProcShipped   ProcurementStatus = "shipped"
	ProcCompleted ProcurementStatus = "completed"
	ProcCancelled ProcurementStatus = "cancelled"
)

// ProcurementStatuses lists the procurement statuses in lifecycle order.
var ProcurementStatuses = []ProcurementStatus{ProcPending, ProcCreated, ProcPaid, ProcShipped, ProcCompleted, ProcCancelled}

// procurementTransitions is the one table of procurement changes (seed 000's flow).
var procurementTransitions = map[ProcurementStatus][]ProcurementStatus{
	ProcPending:   {ProcCreated, ProcCancelled},
	ProcCreated:   {ProcPaid, ProcCancelled},
	ProcPaid:      {ProcShipped, ProcCancelled},
	ProcShipped:   {ProcCompleted},
	ProcCompleted: {},
	ProcCancelled: {},
}

// Valid reports whether s is a procurement status.
func (s ProcurementStatus) Valid() bool { _, ok := procurementTransitions[s]; return ok }

// CanTransitionTo reports whether the table allows s → to.
func (s ProcurementStatus) CanTransitionTo(to ProcurementStatus) bool {
	return slices.Contains(procurementTransitions[s], to)
}

// rank orders procurement statuses by progress, for the roll-up.
func (s ProcurementStatus) rank() int {
	for i, v := range ProcurementStatuses[:5] {
		if v == s {
			return i
		}
	}
	return len(ProcurementStatuses)
}

// RollUpProcurement gives the order's procurement status from its lines: the least
// advanced line, not counting cancelled lines unless every line is cancelled.
func RollUpProcurement(lines []ProcurementStatus) ProcurementStatus {
	out := ProcCancelled
	for _, s := range lines {
		if s != ProcCancelled && (out == ProcCancelled || s.rank() < out.rank()) {
			out = s
		}
	}
	if len(lines) == 0 {
		return ProcPending
	}
	return out
}
