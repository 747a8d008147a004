package payments

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"

	"orderdesk/model"
	"orderdesk/providers/gateway"
)

// Reply is the answer a provider's notification gets.
type Reply struct {
	Status      int
	ContentType string
	Body        []byte
}

func textReply(status int, msg string) *Reply {
	return &Reply{Status: status, ContentType: "text/plain; charset=utf-8", Body: []byte(msg)}
}

// HandleNotification receives a provider's notification for one of its
// integrations. The gateway verifies it (signature, token, or a call back to
// the provider); one model function records and applies it in one transaction,
// matched only to the integration's own payments and deduplicated within the
// integration; the provider gets the answer it expects. A notification that
// cannot be verified is recorded for review and changes nothing.
func (s *Service) HandleNotification(ctx context.Context, provider model.ProviderType, integrationID int64, body []byte, header http.Header) (*Reply, error) {
	in, err := s.store.FindIntegrationForWebhook(ctx, provider, integrationID)
	if errors.Is(err, model.ErrNotFound) || (err == nil && !provider.IsPayment()) {
		return textReply(http.StatusNotFound, "No such webhook."), nil
	} else if err != nil {
		return nil, err
	}
	t, err := s.store.FindTenantByID(ctx, in.TenantID)
	if err != nil {
		return nil, err
	}
	g, err := s.gatewayFor(ctx, in)
	if err != nil {
		// The shop's settings are wrong: the provider retries, and a person
		// sees the integration's error.
		s.log.Error("webhook for a misconfigured integration", "provider", provider, "integration", in.ID, "err", err)
		return textReply(http.StatusServiceUnavailable, "Try again later."), nil
	}
	n, err := g.Notification(ctx, body, header)
	if err != nil && gateway.ReplyStatus(err) == http.StatusServiceUnavailable {
		// The provider could not be asked back (Dolyami's Info, PayPal's
		// verification): not a forgery; the provider delivers it again.
		s.log.Warn("webhook deferred", "provider", provider, "integration", in.ID, "err", err)
		return textReply(http.StatusServiceUnavailable, "Try again later."), nil
	}
	if err != nil {
		sum := sha256.Sum256(body)
		why := gateway.Explain(err)
		if rerr := s.store.RecordRefusedNotification(ctx, model.PaymentEvent{TenantID: in.TenantID, IntegrationID: in.ID, Direction: "in",
			Kind: "webhook", Body: string(body), Result: "refused: " + why, DedupKey: "bad:" + hex.EncodeToString(sum[:])}, 0,
			"A "+providerLabel(provider)+" notification was refused: "+why); rerr != nil {
			return nil, rerr
		}
		s.log.Warn("webhook refused", "provider", provider, "integration", in.ID, "err", err)
		if errors.Is(err, gateway.ErrBadSignature) {
			return textReply(http.StatusForbidden, "Bad signature."), nil
		}
		return textReply(http.StatusBadRequest, "The notification could not be read."), nil
	}
	res, err := s.store.ApplyNotification(ctx, t, model.Notice{
		Integration: in, Ref: n.Ref, Reference: n.Reference,
		Event: model.PaymentEvent{Kind: "webhook", Body: n.Raw, Verified: true, Result: n.ProviderStatus, DedupKey: string(provider) + ":" + n.EventID},
		Obs: model.Observation{Stage: model.PaymentStatus(n.Stage), AmountMinor: n.AmountMinor, Currency: n.Currency, Reason: n.Reason,
			Actor: providerActor(provider)},
		RefundRef: n.RefundRef, RefundMinor: n.RefundMinor, WrongReceiver: !n.ReceiverOK,
	})
	if err != nil {
		return nil, err
	}
	s.makeRefunds(ctx, t, res.Applied.Refunds)
	ct := n.ReplyType
	if ct == "" {
		ct = "text/plain; charset=utf-8"
	}
	return &Reply{Status: http.StatusOK, ContentType: ct, Body: n.Reply}, nil
}
