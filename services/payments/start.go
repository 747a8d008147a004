package payments

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"orderdesk/model"
	"orderdesk/providers/gateway"
)

// openPaymentGrace is how long a payment that its provider cannot close (a
// PayPal invoice) keeps its order from being paid another way: the customer
// may be paying it right now. After that it is closed here, and money that
// still comes for it is received late (reviewed, refunded when it is beyond
// the order's total), never lost.
const openPaymentGrace = time.Hour

// StartInput is a payment to start.
type StartInput struct {
	OrderID  int64
	Provider model.ProviderType
	// Customer is who pays, when the caller knows better than the order's
	// address (seed 001's customer_info).
	Customer gateway.Customer
	ClientIP string
}

// Start starts a payment of an order through the shop's integration of a
// provider. The order's other open payments are closed at their providers
// first (or the start is refused with a link to the open one, an
// *model.OpenPaymentError), so one order is never paid twice. The payment row is
// written before the provider is called. Kuveyt Türk takes the card on the
// shop's own page: its PaymentURL is that page.
func (s *Service) Start(ctx context.Context, t *model.Tenant, in StartInput) (*model.Payment, error) {
	integ, err := s.store.UsableIntegration(ctx, t.ID, in.Provider)
	if errors.Is(err, model.ErrNotFound) {
		return nil, &model.ConflictError{Msg: "The shop does not accept " + providerLabel(in.Provider) + " payments: it has no integration for it in test or live mode."}
	} else if err != nil {
		return nil, err
	}
	o, err := s.store.FindOrderByID(ctx, t.ID, in.OrderID)
	if err != nil {
		return nil, err
	}
	// The same rule as the checkout's list of methods: a rouble-only provider
	// never charges a lira order as roubles.
	if !gateway.Accepts(string(in.Provider), o.Currency) {
		return nil, &model.ConflictError{Msg: providerLabel(in.Provider) + " does not take payments in " + o.Currency + ", the currency of this order: choose another payment method."}
	}
	g, err := s.gatewayFor(ctx, integ)
	if err != nil {
		return nil, err
	}
	if err := s.store.CheckPayable(ctx, t, o.ID); err != nil {
		return nil, err
	}
	if err := s.closeOpenPayments(ctx, t, o.ID, "Another payment of the order was started"); err != nil {
		return nil, err
	}
	p, err := s.store.NewPayment(ctx, t, o.ID, integ)
	if err != nil {
		return nil, err
	}
	if in.Provider == model.ProviderKuveyt {
		p.ProviderRef, p.PaymentURL = p.Number, s.shopURL(t)+"/pay/kuveyt/"+p.Number
		return p, s.store.AttachProviderPayment(ctx, t.ID, p.ID, p.ProviderRef, p.PaymentURL)
	}
	customer := in.Customer
	if customer.Email == "" {
		customer = gateway.Customer{Email: o.Address.Email, Name: strings.TrimSpace(o.Address.FirstName + " " + o.Address.LastName), Phone: o.Address.Telephone}
	}
	items := make([]gateway.Item, 0, len(o.Lines))
	for _, l := range o.Lines {
		items = append(items, gateway.Item{Name: l.Title, Quantity: l.Quantity, UnitMinor: l.UnitPrice, SKU: l.SKU})
	}
	back := s.shopURL(t) + "/pay/return/" + p.Number
	created, err := g.Create(ctx, gateway.CreateRequest{
		Reference: p.Number, OrderNumber: o.Number, AmountMinor: p.Amount, Currency: p.Currency,
		Description: "Order " + o.Number, Customer: customer, Items: items,
		ReturnURL: back, FailURL: back + "?failed=1", NotifyURL: s.webhookURL(integ), ClientIP: in.ClientIP,
	})
	if err != nil {
		why := gateway.Explain(err)
		// The provider refused to open the payment: it is failed, and the
		// customer may start another.
		if _, aerr := s.store.ApplyPayment(ctx, t, p.ID, model.Observation{Stage: model.PaymentFailed, Reason: why, Actor: model.SystemActor},
			model.PaymentEvent{IntegrationID: integ.ID, Direction: "out", Kind: "create", Verified: true, Result: "failed: " + why}); aerr != nil {
			return nil, fmt.Errorf("record the refused create of %s: %w", p.Number, aerr)
		}
		return p, &model.ConflictError{Msg: "The payment could not be started: " + why}
	}
	if err := s.store.AttachProviderPayment(ctx, t.ID, p.ID, created.Ref, created.PaymentURL); err != nil {
		return nil, err
	}
	p.ProviderRef, p.PaymentURL = created.Ref, created.PaymentURL
	return p, s.record(ctx, p, "create", created.Raw, "payment page "+created.PaymentURL)
}

// closeOpenPayments closes every open payment of an order at its provider, so
// that the customer can no longer pay it there. It fails, changing nothing
// more, when one cannot be closed (yet): its provider did not answer, or it
// is being paid (then the money is applied and the order is paid).
func (s *Service) closeOpenPayments(ctx context.Context, t *model.Tenant, orderID int64, why string) error {
	open, err := s.store.FindPayments(ctx, t.ID, model.PaymentFilter{OrderID: orderID, Open: true})
	if err != nil {
		return err
	}
	for _, p := range open {
		if err := s.closePayment(ctx, t, p, why, s.store.Now()); err != nil {
			return err
		}
	}
	return nil
}

// ErrPaidAtProvider means a payment we meant to close was paid (or is being
// paid) at its provider: the money was applied, and the order is not ours to
// cancel or to pay again.
var ErrPaidAtProvider = &model.ConflictError{Msg: "This order was paid meanwhile: its payment was received, so it is not paid again nor cancelled."}

// closePayment closes one open payment at its provider and here. It returns
// nil once it is closed; ErrPaidAtProvider when the provider reports money;
// an *model.OpenPaymentError while it cannot be closed yet; another error when
// the provider could not be asked (then nothing changed).
func (s *Service) closePayment(ctx context.Context, t *model.Tenant, p *model.Payment, why string, now time.Time) error {
	integ, err := s.store.FindIntegrationByID(ctx, t.ID, p.IntegrationID)
	if err != nil {
		return fmt.Errorf("close %s: %w", p.Number, err)
	}
	closeHere := func(result string) error {
		_, err := s.store.ApplyPayment(ctx, t, p.ID, model.Observation{Stage: model.PaymentCanceled, Reason: why, Actor: model.SystemActor},
			model.PaymentEvent{IntegrationID: integ.ID, Direction: "out", Kind: "cancel", Verified: true, Result: result})
		return err
	}
	switch {
	case p.ProviderRef == "":
		// The provider never heard of it (its create call did not finish).
		return closeHere("closed: the provider never opened it")
	case p.Provider == model.ProviderKuveyt:
		// Money is taken only when we provision a 3-D Secure answer, and a
		// closed payment is never provisioned: closing it here closes it,
		// unless a provision's outcome was never recorded.
		unknown, err := s.provisionUnanswered(ctx, t, p)
		if err != nil {
			return err
		}
		if unknown {
			if err := s.store.AddPaymentReviewOnce(ctx, t.ID, p.ID, p.OrderID, "provision_unknown", "The bank was asked to take the money of Kuveyt Türk payment "+
				p.Number+", and its answer was never recorded: check the bank's panel, then accept or dismiss."); err != nil {
				return err
			}
			return &model.OpenPaymentError{Payment: p}
		}
		return closeHere("closed: Kuveyt Türk takes money only when the shop provisions it")
	}
	g, err := s.gatewayFor(ctx, integ)
	if err != nil {
		return fmt.Errorf("close %s: %w", p.Number, err)
	}
	st, err := g.Cancel(ctx, p.ProviderRef)
	switch {
	case errors.Is(err, gateway.ErrCancelUnsupported):
		if now.Sub(p.CreatedAt) < openPaymentGrace {
			return &model.OpenPaymentError{Payment: p}
		}
		return closeHere("closed here: " + providerLabel(p.Provider) + " cannot close a payment; money that still comes for it is received late")
	case err != nil:
		why := gateway.Explain(err)
		if rerr := s.record(ctx, p, "cancel", "", "failed: "+why); rerr != nil {
			return rerr
		}
		return &model.ConflictError{Msg: "The open " + providerLabel(p.Provider) + " payment " + p.Number + " could not be closed: " + why}
	}
	obs := model.Observation{Stage: model.PaymentStatus(st.Stage), AmountMinor: st.AmountMinor, Currency: st.Currency, Reason: st.Reason,
		Actor: providerActor(p.Provider)}
	ev := model.PaymentEvent{IntegrationID: integ.ID, Direction: "out", Kind: "cancel", Body: st.Raw, Verified: true, Result: st.ProviderStatus}
	switch obs.Stage {
	case model.PaymentCanceled, model.PaymentFailed:
		obs.Stage, obs.Reason = model.PaymentCanceled, why
		_, err := s.store.ApplyPayment(ctx, t, p.ID, obs, ev)
		return err
	case model.PaymentCompleted, model.PaymentProcessing, model.PaymentSuspectedFraud:
		applied, err := s.store.ApplyPayment(ctx, t, p.ID, obs, ev)
		if err != nil {
			return err
		}
		s.makeRefunds(ctx, t, applied.Refunds)
		return ErrPaidAtProvider
	}
	if _, err := s.store.RecordPaymentEvent(ctx, model.PaymentEvent{TenantID: t.ID, PaymentID: p.ID, IntegrationID: integ.ID, Direction: "out",
		Kind: "cancel", Body: st.Raw, Verified: true, Result: "not closed: " + st.ProviderStatus}); err != nil {
		return err
	}
	return &model.ConflictError{Msg: "The open " + providerLabel(p.Provider) + " payment " + p.Number + " could not be closed: the provider says " + st.ProviderStatus + "."}
}
