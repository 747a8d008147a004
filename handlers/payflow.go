package handlers

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"orderdesk/model"
	"orderdesk/providers/gateway"
	"orderdesk/services/integrations"
)

// The payment flow: the steps between the provider clients (providers/gateway)
// and the one model function that records what a payment did
// (model.ApplyPayment). Pages, the API, webhooks and the background jobs all go
// through these methods.

// gateways caches one gateway per integration version: a gateway keeps state
// worth keeping (Yandex Pay's signing keys).
type gateways struct {
	mu sync.Mutex
	m  map[string]gateway.Gateway
}

// gatewayFor returns the gateway of an integration at its current endpoint.
func (a *App) gatewayFor(ctx context.Context, in *model.Integration) (gateway.Gateway, error) {
	key := fmt.Sprintf("%d/%s/%d", in.ID, in.Status, in.UpdatedAt.UnixNano())
	a.gw.mu.Lock()
	g, ok := a.gw.m[key]
	a.gw.mu.Unlock()
	if ok {
		return g, nil
	}
	sec, err := a.store.OpenIntegrationSecrets(ctx, in.TenantID, in.ID)
	if err != nil {
		return nil, err
	}
	g, err = gateway.New(gateway.Config{Provider: string(in.Provider), Endpoint: in.Endpoint(), APIKey: sec.APIKey,
		APISecret: sec.APISecret, Settings: in.Config, HTTPClient: a.providerClient})
	if err != nil {
		return nil, integrations.Misconfigured(in) // a 409 in words, never a 500
	}
	a.gw.mu.Lock()
	if a.gw.m == nil {
		a.gw.m = map[string]gateway.Gateway{}
	}
	a.gw.m[key] = g
	a.gw.mu.Unlock()
	return g, nil
}

// stageStatus maps the gateway's stage words to payment statuses (the same words).
func stageStatus(stage string) model.PaymentStatus { return model.PaymentStatus(stage) }

// webhookURL is where the provider of an integration sends its notifications.
func (a *App) webhookURL(in *model.Integration) string {
	return strings.TrimSuffix(a.cfg.CallbackBaseURL, "/") + "/webhooks/" + string(in.Provider) + "/" + strconv.FormatInt(in.ID, 10)
}

// StartPayment creates a payment of an order through the tenant's integration
// of a provider and asks the provider for the payment page. returnBase is the
// shop's own address as the customer's browser knows it (the tenant's host).
func (a *App) StartPayment(ctx context.Context, t *model.Tenant, orderID int64, provider model.ProviderType, returnBase string, customer gateway.Customer, card *gateway.Card, clientIP string) (*model.Payment, *gateway.Created, error) {
	in, err := a.store.UsableIntegration(ctx, t.ID, provider)
	if errors.Is(err, model.ErrNotFound) {
		return nil, nil, &model.ConflictError{Msg: "The shop does not accept " + string(provider) + " payments: it has no integration for it in test or live mode."}
	} else if err != nil {
		return nil, nil, err
	}
	if err := a.integrations.Ready(ctx, in); err != nil {
		return nil, nil, err // misconfigured: a 409 in words, and no payment row
	}
	p, err := a.store.NewPayment(ctx, t, orderID, in)
	if err != nil {
		return nil, nil, err
	}
	o, err := a.store.FindOrderByID(ctx, t.ID, orderID)
	if err != nil {
		return nil, nil, err
	}
	g, err := a.gatewayFor(ctx, in)
	if err != nil {
		return nil, nil, err
	}
	if customer.Email == "" {
		customer = gateway.Customer{Email: o.Address.Email, Name: strings.TrimSpace(o.Address.FirstName + " " + o.Address.LastName), Phone: o.Address.Telephone}
	}
	items := make([]gateway.Item, 0, len(o.Lines))
	for _, l := range o.Lines {
		items = append(items, gateway.Item{Name: l.Title, Quantity: l.Quantity, UnitMinor: l.UnitPrice, SKU: l.SKU})
	}
	back := strings.TrimSuffix(returnBase, "/") + "/pay/return/" + p.Number
	created, err := g.Create(ctx, gateway.CreateRequest{
		Reference: p.Number, OrderNumber: o.Number, AmountMinor: p.Amount, Currency: p.Currency,
		Description: "Order " + o.Number, Customer: customer, Items: items,
		ReturnURL: back, FailURL: back + "?failed=1", NotifyURL: a.webhookURL(in), Card: card, ClientIP: clientIP,
	})
	if err != nil {
		a.store.RecordPaymentEvent(ctx, model.PaymentEvent{TenantID: t.ID, PaymentID: p.ID, IntegrationID: in.ID, Direction: "out",
			Kind: "create", Verified: true, Result: "failed: " + gateway.Explain(err)})
		a.store.ApplyPayment(ctx, t, p.ID, model.Observation{Stage: model.PaymentFailed, Reason: gateway.Explain(err), Actor: model.SystemActor})
		return p, nil, &model.ConflictError{Msg: "The payment could not be started: " + gateway.Explain(err)}
	}
	if err := a.store.AttachProviderPayment(ctx, t.ID, p.ID, created.Ref, created.PaymentURL); err != nil {
		return nil, nil, err
	}
	a.store.RecordPaymentEvent(ctx, model.PaymentEvent{TenantID: t.ID, PaymentID: p.ID, IntegrationID: in.ID, Direction: "out",
		Kind: "create", Body: created.Raw, Verified: true, Result: "payment page " + created.PaymentURL})
	p.ProviderRef, p.PaymentURL = created.Ref, created.PaymentURL
	return p, created, nil
}

// RefreshPayment asks the provider for the payment's real state and applies it.
// Providers without a status query keep what their notifications said.
func (a *App) RefreshPayment(ctx context.Context, t *model.Tenant, p *model.Payment) (*model.Payment, error) {
	in, err := a.store.FindIntegrationByID(ctx, t.ID, p.IntegrationID)
	if err != nil {
		return nil, err
	}
	g, err := a.gatewayFor(ctx, in)
	if err != nil {
		return nil, err
	}
	if p.ProviderRef == "" {
		return p, nil
	}
	st, err := g.State(ctx, p.ProviderRef)
	if errors.Is(err, gateway.ErrNoStatusQuery) {
		return p, nil
	}
	if err != nil {
		a.store.RecordPaymentEvent(ctx, model.PaymentEvent{TenantID: t.ID, PaymentID: p.ID, IntegrationID: in.ID, Direction: "out",
			Kind: "state", Verified: true, Result: "failed: " + gateway.Explain(err)})
		return nil, &model.ConflictError{Msg: "The provider could not be asked: " + gateway.Explain(err)}
	}
	applied, err := a.store.ApplyPayment(ctx, t, p.ID, model.Observation{Stage: stageStatus(st.Stage), AmountMinor: st.AmountMinor,
		Currency: st.Currency, RefundedMinor: st.RefundedMinor, Reason: st.Reason, Actor: model.Actor("provider:" + string(p.Provider))})
	if err != nil {
		return nil, err
	}
	result := describeApplied(applied)
	a.store.RecordPaymentEvent(ctx, model.PaymentEvent{TenantID: t.ID, PaymentID: p.ID, IntegrationID: in.ID, Direction: "out",
		Kind: "state", Body: st.Raw, Verified: true, Result: st.ProviderStatus + ": " + result})
	if applied.RefundNeeded {
		if err := a.refundLate(ctx, t, p, g); err != nil {
			return nil, err
		}
	}
	return a.store.FindPaymentByID(ctx, t.ID, p.ID)
}

func describeApplied(ap model.Applied) string {
	if ap.Ignored != "" {
		return "no change: " + ap.Ignored
	}
	s := string(ap.From) + " → " + string(ap.To)
	if ap.RefundNeeded {
		s += "; money arrived after cancellation, refunding"
	}
	return s
}

// refundLate returns money that arrived for an order that could not be
// reinstated; the order stays flagged for a person.
func (a *App) refundLate(ctx context.Context, t *model.Tenant, p *model.Payment, g gateway.Gateway) error {
	st, err := g.Refund(ctx, p.ProviderRef, 0, p.Currency)
	if err != nil {
		a.store.RecordPaymentEvent(ctx, model.PaymentEvent{TenantID: t.ID, PaymentID: p.ID, IntegrationID: p.IntegrationID, Direction: "out",
			Kind: "refund", Verified: true, Result: "automatic refund failed: " + gateway.Explain(err)})
		return nil // the review queue already asks a person to act
	}
	a.store.RecordPaymentEvent(ctx, model.PaymentEvent{TenantID: t.ID, PaymentID: p.ID, IntegrationID: p.IntegrationID, Direction: "out",
		Kind: "refund", Body: st.Raw, Verified: true, Result: "automatic refund of money after cancellation"})
	_, err = a.store.ApplyPayment(ctx, t, p.ID, model.Observation{Stage: model.PaymentRefunded, RefundedMinor: p.Amount, Actor: model.SystemActor})
	return err
}

// RefundPayment returns money through the provider: amount 0 is the remainder.
func (a *App) RefundPayment(ctx context.Context, t *model.Tenant, p *model.Payment, amount int64, actor model.Actor) error {
	left := p.Amount - p.RefundedAmount
	if amount == 0 {
		amount = left
	}
	if amount <= 0 || amount > left {
		return &model.ValidationError{Fields: map[string]string{"amount": "give an amount up to " + model.FormatMoney(left, p.Currency)}}
	}
	if p.Status != model.PaymentCompleted && p.Status != model.PaymentPartiallyRefunded {
		return &model.ConflictError{Msg: "Only a completed payment can be refunded."}
	}
	in, err := a.store.FindIntegrationByID(ctx, t.ID, p.IntegrationID)
	if err != nil {
		return err
	}
	g, err := a.gatewayFor(ctx, in)
	if err != nil {
		return err
	}
	st, err := g.Refund(ctx, p.ProviderRef, amount, p.Currency)
	if errors.Is(err, gateway.ErrRefundUnsupported) {
		return &model.ConflictError{Msg: string(p.Provider) + " has no refund API: refund in the provider's cabinet, then record it here."}
	}
	if err != nil {
		a.store.RecordPaymentEvent(ctx, model.PaymentEvent{TenantID: t.ID, PaymentID: p.ID, IntegrationID: in.ID, Direction: "out",
			Kind: "refund", Verified: true, Result: "failed: " + gateway.Explain(err)})
		return &model.ConflictError{Msg: "The refund failed: " + gateway.Explain(err)}
	}
	refunded := p.RefundedAmount + amount
	stage := model.PaymentPartiallyRefunded
	if refunded >= p.Amount {
		stage = model.PaymentRefunded
	}
	a.store.RecordPaymentEvent(ctx, model.PaymentEvent{TenantID: t.ID, PaymentID: p.ID, IntegrationID: in.ID, Direction: "out",
		Kind: "refund", Body: st.Raw, Verified: true, Result: "refunded " + model.FormatMoney(amount, p.Currency)})
	_, err = a.store.ApplyPayment(ctx, t, p.ID, model.Observation{Stage: stage, RefundedMinor: refunded, Actor: actor})
	return err
}

// pollInterval is how often open Yandex Pay payments are asked about (seed 004),
// and pollTimeout how long before the poller gives up on one.
const (
	pollInterval = 3 * time.Second
	pollTimeout  = 30 * time.Minute
)
