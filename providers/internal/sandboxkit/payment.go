package sandboxkit

import (
	"net/http"
	"time"
)

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

// PaymentState is the state of a payment sandbox's switches.
type PaymentState[M comparable] struct {
	DeclineNext    bool
	FailNext       M
	FailNextCancel M
	FailNextRefund M
	Latency        time.Duration
}

// Switches returns the switches without using them up, for the control
// page and tests.
func (p *PaymentSwitches[M]) Switches() PaymentState[M] {
	return PaymentState[M]{DeclineNext: p.declineNext.Armed(), FailNext: p.failNext.Armed(),
		FailNextCancel: p.failNextCancel.Armed(), FailNextRefund: p.failNextRefund.Armed(), Latency: p.Latency()}
}

// Control applies a control-page form that sets one of the payment
// switches: decline_next (with on=0 it turns it off), fail_next,
// fail_next_cancel and fail_next_refund (their mode field read by mode),
// latency. It reports false for any other action, the sandbox's own, and
// returns a BadForm for a bad latency.
func (p *PaymentSwitches[M]) Control(r *http.Request, mode func(string) M) (bool, error) {
	switch r.FormValue("action") {
	case "decline_next":
		p.SetDeclineNext(r.FormValue("on") != "0")
	case "fail_next":
		p.FailNext(mode(r.FormValue("mode")))
	case "fail_next_cancel":
		p.FailNextCancel(mode(r.FormValue("mode")))
	case "fail_next_refund":
		p.FailNextRefund(mode(r.FormValue("mode")))
	case "latency":
		return true, SetLatency(r.FormValue("ms"), p.SetLatency)
	default:
		return false, nil
	}
	return true, nil
}

// TakeDecline reports whether this Pay is to be declined, and clears it.
func (p *PaymentSwitches[M]) TakeDecline() bool { return p.declineNext.Take() }

// TakeFail returns the failure armed for this API call, and clears it.
func (p *PaymentSwitches[M]) TakeFail() M { return p.failNext.Take() }

// TakeCancel returns the failure armed for this cancel, and clears it.
func (p *PaymentSwitches[M]) TakeCancel() M { return p.failNextCancel.Take() }

// TakeRefund returns the failure armed for this refund, and clears it.
func (p *PaymentSwitches[M]) TakeRefund() M { return p.failNextRefund.Take() }
