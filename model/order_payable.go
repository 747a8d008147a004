package model

// PaymentDue reports whether the order waits for the customer's money: it may
// be paid now by the same rule as a new payment (CheckPayable), read from the
// order as loaded. Pages use it to offer a pay button only where one works.
func (o *Order) PaymentDue() bool {
	return o.Status == OrderPending && payable(o.Status, o.PaymentStatus) == ""
}
