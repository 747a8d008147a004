package payments

import (
	"context"
	"errors"
	"fmt"
	"time"

	"orderdesk/model"
	"orderdesk/providers/gateway"
)

// pendingRefundAge is how long a refund may stay pending before the refunds
// job asks the provider again (with the same key): longer than any call.
const pendingRefundAge = time.Minute

// Refund refunds amount (0: all that is left) of a payment on a person's
// request. The refund is reserved in the database first, so that refunds can
// never add up to more than was paid whatever the clicks and tabs; then the
// provider is asked once, with the reservation's number as its idempotency key.
func (s *Service) Refund(ctx context.Context, t *model.Tenant, paymentID, amount int64, actor model.Actor) (*model.Refund, error) {
	r, err := s.store.ReserveRefund(ctx, t, paymentID, amount, actor)
	if err != nil {
		return nil, err
	}
	return r, s.makeRefund(ctx, t, r)
}

// RefundOrder refunds all that is left of every payment of an order: the
// order's money goes back, and the order becomes refunded.
func (s *Service) RefundOrder(ctx context.Context, t *model.Tenant, orderID int64, actor model.Actor) ([]*model.Refund, error) {
	list, err := s.store.FindPayments(ctx, t.ID, model.PaymentFilter{OrderID: orderID})
	if err != nil {
		return nil, err
	}
	var out []*model.Refund
	for _, p := range list {
		if p.Status != model.PaymentCompleted && p.Status != model.PaymentPartiallyRefunded {
			continue
		}
		r, err := s.Refund(ctx, t, p.ID, 0, actor)
		if r != nil {
			out = append(out, r)
		}
		if err != nil {
			return out, err
		}
	}
	if len(out) == 0 {
		return nil, &model.ConflictError{Msg: "This order has no completed payment to refund."}
	}
	return out, nil
}

// makeRefunds has the provider make refunds reserved by a change (late money,
// money beyond the order's total). A failure is recorded on the refund and in
// the log; the refunds job asks again for those whose outcome is unknown, and
// the review the change wrote asks a person about the rest.
func (s *Service) makeRefunds(ctx context.Context, t *model.Tenant, refunds []*model.Refund) {
	for _, r := range refunds {
		if err := s.makeRefund(ctx, t, r); err != nil {
			s.log.Warn("automatic refund not made", "tenant", t.Slug, "refund", r.Number, "err", err)
		}
	}
}

// makeRefund asks the provider to make a reserved refund and records the
// answer: done, failed (the provider refused: the reservation is released), or
// still pending when the outcome is unknown (asked again with the same key).
func (s *Service) makeRefund(ctx context.Context, t *model.Tenant, r *model.Refund) error {
	p, err := s.store.FindPaymentByID(ctx, t.ID, r.PaymentID)
	if err != nil {
		return err
	}
	integ, err := s.store.FindIntegrationByID(ctx, t.ID, p.IntegrationID)
	if err != nil {
		return fmt.Errorf("refund %s: %w", r.Number, err)
	}
	g, err := s.gatewayFor(ctx, integ)
	if err != nil {
		// Nothing was asked: the settings must be corrected first.
		if ferr := s.store.FailRefund(ctx, t, r.ID, err.Error()); ferr != nil {
			return ferr
		}
		return err
	}
	st, err := g.Refund(ctx, gateway.RefundRequest{Ref: p.ProviderRef, AmountMinor: r.Amount, Currency: r.Currency, Key: r.Number})
	switch {
	case errors.Is(err, gateway.ErrRefundUnsupported):
		why := gateway.Explain(err)
		if ferr := s.store.FailRefund(ctx, t, r.ID, why); ferr != nil {
			return ferr
		}
		return &model.ConflictError{Msg: why}
	case err != nil && gateway.Refused(err):
		why := gateway.Explain(err)
		if rerr := s.record(ctx, p, "refund", "", "refund "+r.Number+" refused: "+why); rerr != nil {
			return rerr
		}
		if ferr := s.store.FailRefund(ctx, t, r.ID, why); ferr != nil {
			return ferr
		}
		return &model.ConflictError{Msg: "The refund failed: " + why}
	case err != nil:
		why := gateway.Explain(err)
		if rerr := s.record(ctx, p, "refund", "", "refund "+r.Number+": no answer ("+why+"); it will be asked again with the same key"); rerr != nil {
			return rerr
		}
		if uerr := s.store.RefundOutcomeUnknown(ctx, t, r.ID, why); uerr != nil {
			return uerr
		}
		return &model.ConflictError{Msg: "The provider did not answer, so it is not known yet whether " + model.FormatMoney(r.Amount, r.Currency) +
			" was refunded. The refund stays reserved and is asked again shortly with the same key, which never refunds twice."}
	}
	if err := s.record(ctx, p, "refund", st.Raw, "refunded "+model.FormatMoney(r.Amount, r.Currency)+" ("+r.Number+")"); err != nil {
		return err
	}
	_, err = s.store.FinishRefund(ctx, t, r.ID, st.RefundRef)
	return err
}

// ResumeRefunds asks the providers again about the shop's refunds whose call
// did not finish (a crash, a timeout), with their own keys: each is made once.
func (s *Service) ResumeRefunds(ctx context.Context, t *model.Tenant) (done, failed int, err error) {
	list, err := s.store.FindPendingRefunds(ctx, t.ID, s.store.Now().Add(-pendingRefundAge), 200)
	if err != nil {
		return 0, 0, err
	}
	for _, r := range list {
		if err := s.makeRefund(ctx, t, r); err != nil {
			failed++
			s.log.Warn("pending refund", "tenant", t.Slug, "refund", r.Number, "err", err)
			continue
		}
		done++
	}
	return done, failed, nil
}

// RefundReviewed gives back what is left of a payment in the review queue:
// money held as suspected fraud is taken as received first (a person decided
// so), then refunded like any refund.
func (s *Service) RefundReviewed(ctx context.Context, t *model.Tenant, paymentID int64, actor model.Actor) (*model.Refund, error) {
	p, err := s.store.FindPaymentByID(ctx, t.ID, paymentID)
	if err != nil {
		return nil, err
	}
	if p.Status == model.PaymentSuspectedFraud {
		applied, err := s.store.ApplyPayment(ctx, t, p.ID, model.Observation{Stage: model.PaymentCompleted, Actor: actor},
			model.PaymentEvent{IntegrationID: p.IntegrationID, Direction: "in", Kind: "review", Verified: true, Result: "taken as received, to be refunded"})
		if err != nil {
			return nil, err
		}
		s.makeRefunds(ctx, t, applied.Refunds)
	}
	return s.Refund(ctx, t, p.ID, 0, actor)
}
