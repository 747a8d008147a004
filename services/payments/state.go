package payments

import (
	"context"
	"errors"
	"time"

	"orderdesk/model"
	"orderdesk/providers/gateway"
)

// Refresh asks the provider for a payment's real state and applies it (the
// return page, verify, the poller). Providers without a status query keep what
// their notifications said.
func (s *Service) Refresh(ctx context.Context, t *model.Tenant, p *model.Payment) (*model.Payment, error) {
	if p.ProviderRef == "" {
		return p, nil
	}
	integ, err := s.store.FindIntegrationByID(ctx, t.ID, p.IntegrationID)
	if err != nil {
		return nil, err
	}
	g, err := s.gatewayFor(ctx, integ)
	if err != nil {
		return nil, err
	}
	st, err := g.State(ctx, p.ProviderRef)
	if errors.Is(err, gateway.ErrNoStatusQuery) {
		return p, nil
	}
	if err != nil {
		why := gateway.Explain(err)
		if rerr := s.record(ctx, p, "state", "", "failed: "+why); rerr != nil {
			return nil, rerr
		}
		return nil, &model.ConflictError{Msg: "The provider could not be asked: " + why}
	}
	applied, err := s.store.ApplyPayment(ctx, t, p.ID, model.Observation{Stage: model.PaymentStatus(st.StageFor(p.Amount)), AmountMinor: st.AmountMinor,
		Currency: st.Currency, RefundedMinor: st.RefundedMinor, Reason: st.Reason, Actor: providerActor(p.Provider)},
		model.PaymentEvent{IntegrationID: integ.ID, Direction: "out", Kind: "state", Body: st.Raw, Verified: true, Result: st.ProviderStatus})
	if err != nil {
		return nil, err
	}
	s.makeRefunds(ctx, t, applied.Refunds)
	return s.store.FindPaymentByID(ctx, t.ID, p.ID)
}

// FindForVerify finds the payment that seed 001's verify call names by its
// transaction id (or our payment number), among the payments of the shop's
// integration of that provider. The caller decides who may see it.
func (s *Service) FindForVerify(ctx context.Context, t *model.Tenant, provider model.ProviderType, transactionID string) (*model.Payment, error) {
	if transactionID == "" || !provider.IsPayment() {
		return nil, model.ErrNotFound
	}
	list, err := s.store.FindIntegrations(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	for _, in := range list {
		if in.Provider != provider {
			continue
		}
		p, err := s.store.FindPaymentForNotification(ctx, in, transactionID, transactionID)
		if err == nil {
			return p, nil
		} else if !errors.Is(err, model.ErrNotFound) {
			return nil, err
		}
	}
	return nil, model.ErrNotFound
}

// Reporter is what a background run reports into (jobs.Run).
type Reporter interface {
	Logf(format string, args ...any)
}

// ExpireUnpaid cancels the shop's pending orders whose payment did not come
// within the shop's expiry minutes, at most its batch size, releasing their
// stock (fecshop's pending-order script). An order's open payments are closed
// at their providers first, so that nobody can pay an order that is gone; a
// provider that reports money keeps the order (the money is applied), and one
// that cannot be asked keeps it for the next run. It returns how many orders it
// cancelled and how many it had to keep because of an error.
func (s *Service) ExpireUnpaid(ctx context.Context, t *model.Tenant, actor model.Actor, run Reporter) (cancelled, failed int, err error) {
	list, err := s.store.FindExpiredUnpaid(ctx, t)
	if err != nil {
		return 0, 0, err
	}
	now := s.store.Now()
orders:
	for _, c := range list {
		for _, p := range c.OpenPayments {
			err := s.closePayment(ctx, t, p, "Order expired unpaid", now)
			var open *model.OpenPaymentError
			switch {
			case errors.Is(err, ErrPaidAtProvider):
				run.Logf("kept %s: %s reports it paid", c.Number, providerLabel(p.Provider))
				continue orders
			case errors.As(err, &open):
				run.Logf("kept %s: its %s payment is still open", c.Number, providerLabel(p.Provider))
				continue orders
			case err != nil:
				// Money may be on its way: never cancel blind.
				failed++
				run.Logf("kept %s: could not close its %s payment %s: %v", c.Number, providerLabel(p.Provider), p.Number, err)
				continue orders
			}
		}
		ok, err := s.store.ExpireOrder(ctx, t, c.OrderID, actor)
		switch {
		case err != nil:
			failed++
			run.Logf("%s: %v", c.Number, err)
		case ok:
			cancelled++
			run.Logf("cancelled %s (not paid within %d minutes)", c.Number, t.UnpaidExpiryMinutes)
		default:
			run.Logf("kept %s: paid or changed meanwhile", c.Number)
		}
	}
	return cancelled, failed, nil
}

// PollOpen asks the providers whose shops poll (Yandex Pay, seed 004: every 3
// seconds) about the shop's open payments younger than timeout.
func (s *Service) PollOpen(ctx context.Context, t *model.Tenant, timeout time.Duration, run Reporter) (processed, failed int, err error) {
	open, err := s.store.FindPayments(ctx, t.ID, model.PaymentFilter{Provider: model.ProviderYandexPay, Open: true,
		CreatedAfter: s.store.Now().Add(-timeout), Limit: 200})
	if err != nil {
		return 0, 0, err
	}
	for _, p := range open {
		fresh, err := s.Refresh(ctx, t, p)
		if err != nil {
			failed++
			run.Logf("%s: %v", p.Number, err)
			continue
		}
		processed++
		if fresh.Status != p.Status {
			run.Logf("%s: %s → %s", p.Number, p.Status, fresh.Status)
		}
	}
	return processed, failed, nil
}
