package payments

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"orderdesk/model"
	"orderdesk/providers/gateway"
)

// Kuveyt Türk takes the card on the shop's own page; the card goes to the
// bank's 3-D Secure gate, and the bank sends the browser back with its answer,
// which we provision (the call that takes the money).

// KuveytPayment returns an open or closed Kuveyt payment of the shop by number,
// with whether its integration is in test mode.
func (s *Service) KuveytPayment(ctx context.Context, t *model.Tenant, number string) (*model.Payment, bool, error) {
	p, err := s.store.FindPaymentByNumber(ctx, t.ID, number)
	if err != nil {
		return nil, false, err
	}
	if p.Provider != model.ProviderKuveyt {
		return nil, false, model.ErrNotFound
	}
	integ, err := s.store.FindIntegrationByID(ctx, t.ID, p.IntegrationID)
	if err != nil {
		return nil, false, err
	}
	if _, err := s.gatewayFor(ctx, integ); err != nil {
		return nil, false, err
	}
	return p, integ.Status == model.IntegrationTest, nil
}

// KuveytCard sends the card of an open Kuveyt payment to the bank's 3-D
// Secure gate and returns the bank's page for the browser. The card is never
// stored. A refusal comes back as a *model.ConflictError in words.
func (s *Service) KuveytCard(ctx context.Context, t *model.Tenant, p *model.Payment, card gateway.Card, clientIP string) ([]byte, error) {
	if !p.Open() {
		return nil, &model.ConflictError{Msg: "This payment is " + string(p.Status) + "; it cannot be paid any more."}
	}
	integ, err := s.store.FindIntegrationByID(ctx, t.ID, p.IntegrationID)
	if err != nil {
		return nil, err
	}
	g, err := s.gatewayFor(ctx, integ)
	if err != nil {
		return nil, err
	}
	o, err := s.store.FindOrderByID(ctx, t.ID, p.OrderID)
	if err != nil {
		return nil, err
	}
	back := s.shopURL(t) + "/pay/kuveyt/" + p.Number
	created, err := g.Create(ctx, gateway.CreateRequest{
		Reference: p.Number, OrderNumber: o.Number, AmountMinor: p.Amount, Currency: p.Currency, Description: "Order " + o.Number,
		Customer:  gateway.Customer{Email: o.Address.Email, Name: o.Address.FirstName + " " + o.Address.LastName, Phone: o.Address.Telephone},
		ReturnURL: back + "/ok", FailURL: back + "/fail", ClientIP: clientIP, Card: &card,
	})
	if err != nil {
		why := gateway.Explain(err)
		if rerr := s.record(ctx, p, "create", "", "refused: "+why); rerr != nil {
			return nil, rerr
		}
		return nil, &model.ConflictError{Msg: why}
	}
	return created.HTML, s.record(ctx, p, "create", created.Raw, "3-D Secure page sent to the customer")
}

// KuveytReturn takes the bank's 3-D Secure answer that the customer's browser
// posts back (cross-site, without a session: anybody can post one). An answer
// is only believed once the bank confirms it: an approval is provisioned with
// the bank and applied, even after an earlier failure; an answer that cannot be
// checked with the bank (a decline, which is not provisioned; a forged or
// reused one) is recorded as an event and changes nothing, so a forged
// "declined" can never block the customer's genuine approval that follows.
// What the customer should read next is KuveytNotice's.
func (s *Service) KuveytReturn(ctx context.Context, t *model.Tenant, p *model.Payment, authResponse string) error {
	if p.Status == model.PaymentCanceled {
		// Closed (expired, or another payment started): never provisioned, so
		// no money is taken by this answer.
		return s.store.RecordRefusedNotification(ctx, model.PaymentEvent{TenantID: t.ID, PaymentID: p.ID, IntegrationID: p.IntegrationID, Direction: "in",
			Kind: "3ds-return", Body: authResponse, Result: "not provisioned: the payment was closed"}, p.OrderID,
			"A Kuveyt Türk 3-D Secure answer came for payment "+p.Number+" after it was closed; it was not provisioned, so nothing was charged.")
	}
	if p.Status == model.PaymentCompleted || p.Status == model.PaymentPartiallyRefunded || p.Status == model.PaymentRefunded {
		return nil
	}
	integ, err := s.store.FindIntegrationByID(ctx, t.ID, p.IntegrationID)
	if err != nil {
		return err
	}
	g, err := s.gatewayFor(ctx, integ)
	if err != nil {
		return err
	}
	// The intent first: should the process die between the bank's provision
	// and our commit, this event tells the expiry that the bank may hold the
	// money, and a person checks the bank's panel instead of a blind cancel.
	if err := s.record(ctx, p, kindProvision, "", "3-D Secure answer received: asking the bank to take the money"); err != nil {
		return err
	}
	st, err := gateway.CompleteKuveyt(ctx, g, authResponse, p.Number, p.Amount)
	var unverified *gateway.UnverifiedError
	switch {
	case errors.As(err, &unverified):
		// The bank's page says no, but nothing the bank confirms says so: the
		// payment stays open for the customer (and for a genuine approval).
		return s.recordUnbelieved(ctx, p, authResponse, declinedPrefix+unverified.Reason)
	case errors.Is(err, gateway.ErrBadSignature):
		why := gateway.Explain(err)
		return s.store.RecordRefusedNotification(ctx, model.PaymentEvent{TenantID: t.ID, PaymentID: p.ID, IntegrationID: integ.ID, Direction: "in",
			Kind: "3ds-return", Body: authResponse, Result: "refused: " + why}, p.OrderID, "A Kuveyt Türk 3-D Secure answer was refused: "+why)
	case err != nil:
		// The outcome is unknown (the bank did not answer the provision): the
		// payment stays as it is and a person checks the bank's panel.
		why := gateway.Explain(err)
		if rerr := s.store.RecordRefusedNotification(ctx, model.PaymentEvent{TenantID: t.ID, PaymentID: p.ID, IntegrationID: integ.ID, Direction: "in",
			Kind: "3ds-return", Body: authResponse, Verified: true, Result: "provision outcome unknown: " + why}, p.OrderID,
			"The bank did not answer the provision of Kuveyt Türk payment "+p.Number+": check the bank's panel before charging again. ("+why+")"); rerr != nil {
			return rerr
		}
		return nil
	}
	applied, err := s.store.ApplyPayment(ctx, t, p.ID, model.Observation{Stage: model.PaymentStatus(st.Stage), AmountMinor: st.AmountMinor,
		Currency: st.Currency, Reason: st.Reason, Actor: providerActor(model.ProviderKuveyt)},
		model.PaymentEvent{IntegrationID: integ.ID, Direction: "in", Kind: "3ds-return", Body: st.Raw, Verified: true, Result: st.ProviderStatus})
	if err != nil {
		return fmt.Errorf("apply the provision of %s: %w", p.Number, err)
	}
	s.makeRefunds(ctx, t, applied.Refunds)
	return nil
}

// kindProvision is the event written before a provision call; any later event
// of the payment says how it ended.
const kindProvision = "provision"

// provisionUnanswered reports whether a Kuveyt payment's last event is a
// provision that never got its outcome recorded (the process died meanwhile).
func (s *Service) provisionUnanswered(ctx context.Context, t *model.Tenant, p *model.Payment) (bool, error) {
	events, err := s.store.FindPaymentEvents(ctx, t.ID, p.ID)
	if err != nil || len(events) == 0 {
		return false, err
	}
	return events[len(events)-1].Kind == kindProvision, nil
}

// declinedPrefix starts the event result of a decline the bank's page showed
// but did not confirm; KuveytNotice shows its reason to the customer.
const declinedPrefix = "declined on the bank's page (not confirmed by the bank, nothing changed): "

// KuveytNotice is what the card page tells a customer who comes back to it:
// the bank's page's reason when their last 3-D Secure attempt was declined.
func (s *Service) KuveytNotice(ctx context.Context, t *model.Tenant, p *model.Payment) (string, error) {
	events, err := s.store.FindPaymentEvents(ctx, t.ID, p.ID)
	if err != nil {
		return "", err
	}
	for i := len(events) - 1; i >= 0; i-- {
		e := events[i]
		if e.Kind == "create" {
			return "", nil
		}
		if reason, ok := strings.CutPrefix(e.Result, declinedPrefix); ok && e.Kind == "3ds-return" {
			return "The bank did not approve the card: " + reason + " You can try again.", nil
		}
	}
	return "", nil
}

// recordUnbelieved keeps an answer we could not check as an event of the
// payment, without a review: declines are common and change nothing.
func (s *Service) recordUnbelieved(ctx context.Context, p *model.Payment, body, result string) error {
	_, err := s.store.RecordPaymentEvent(ctx, model.PaymentEvent{TenantID: p.TenantID, PaymentID: p.ID, IntegrationID: p.IntegrationID,
		Direction: "in", Kind: "3ds-return", Body: body, Result: result})
	return err
}
