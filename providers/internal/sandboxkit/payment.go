package sandboxkit

// PaymentSwitches are the in-memory switches of a payment provider's
// sandbox: the Board, "decline the next payment" (taken on the payment
// page's Pay) and a failure mode M armed for the next API call, the next
// cancel and the next refund. Embed it in a Sandbox, so that DeclineNext,
// FailNext, FailNextCancel and FailNextRefund are the sandbox's own; what
// counts as a cancel or a refund is the provider's to say where it takes
// them. The zero value is ready, every switch off.
type PaymentSwitches[M comparable] struct {
	Board

	declineNext    Once[bool]
	failNext       Once[M]
	failNextCancel Once[M]
	failNextRefund Once[M]
}

// DeclineNext makes the next Pay on the payment page a decline.
func (p *PaymentSwitches[M]) DeclineNext() { p.declineNext.Arm(true) }

// SetDeclineNext turns "decline the next payment" on or off (the control
// page's toggle).
func (p *PaymentSwitches[M]) SetDeclineNext(on bool) { p.declineNext.Arm(on) }

// FailNext makes the next API call fail the given way (the zero mode
// clears it).
func (p *PaymentSwitches[M]) FailNext(mode M) { p.failNext.Arm(mode) }

// FailNextCancel makes the next cancel fail the given way (the zero mode
// clears it).
func (p *PaymentSwitches[M]) FailNextCancel(mode M) { p.failNextCancel.Arm(mode) }

// FailNextRefund makes the next refund fail the given way (the zero mode
// clears it).
func (p *PaymentSwitches[M]) FailNextRefund(mode M) { p.failNextRefund.Arm(mode) }

// Armed returns the switches without using them up, for the control page.
func (p *PaymentSwitches[M]) Armed() (decline bool, fail, cancel, refund M) {
	return p.declineNext.Armed(), p.failNext.Armed(), p.failNextCancel.Armed(), p.failNextRefund.Armed()
}

// TakeDecline reports whether this Pay is to be declined, and clears it.
func (p *PaymentSwitches[M]) TakeDecline() bool { return p.declineNext.Take() }

// TakeFail returns the failure armed for this API call, and clears it.
func (p *PaymentSwitches[M]) TakeFail() M { return p.failNext.Take() }

// TakeCancel returns the failure armed for this cancel, and clears it.
func (p *PaymentSwitches[M]) TakeCancel() M { return p.failNextCancel.Take() }

// TakeRefund returns the failure armed for this refund, and clears it.
func (p *PaymentSwitches[M]) TakeRefund() M { return p.failNextRefund.Take() }
