package delivery

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"time"

	"orderdesk/model"
	"orderdesk/providers/cdek"
	"orderdesk/providers/dostavista"
)

// Reply is the answer a carrier's webhook or callback gets.
type Reply struct {
	Status int
	Body   string
}

func reply(status int, body string) *Reply { return &Reply{Status: status, Body: body} }

// rereadTimeout bounds the re-read of a CDEK shipment from its webhook
// handler: CDEK waits for the answer, and the fetch job asks again anyway.
const rereadTimeout = 10 * time.Second

func bodyKey(prefix string, body []byte) string {
	sum := sha256.Sum256(body)
	return prefix + hex.EncodeToString(sum[:])
}

// HandleCDEKWebhook receives a CDEK webhook for one of its integrations.
// CDEK signs nothing, so the body is only a hint of which shipment changed:
// the shipment is looked up among the integration's own and re-read from
// CDEK, and only what CDEK answers is applied. Every webhook is kept once
// (a redelivery changes nothing) and answered 200 unless the address or the
// body is wrong: a failed re-read is left to the fetch job.
func (s *Service) HandleCDEKWebhook(ctx context.Context, integrationID int64, body []byte) (*Reply, error) {
	in, err := s.store.FindIntegrationForWebhook(ctx, model.ProviderCDEK, integrationID)
	if errors.Is(err, model.ErrNotFound) {
		return reply(http.StatusNotFound, "No such webhook."), nil
	} else if err != nil {
		return nil, err
	}
	t, err := s.store.FindTenantByID(ctx, in.TenantID)
	if err != nil {
		return nil, err
	}
	msg := model.CarrierMessage{IntegrationID: in.ID, Kind: "webhook", Body: string(body), DedupKey: bodyKey("cdek:", body)}
	wh, err := cdek.ParseWebhook(body)
	if err != nil {
		msg.Result, msg.DedupKey = "unreadable: "+err.Error(), bodyKey("bad:", body)
		if _, rerr := s.store.RecordCarrierMessage(ctx, t.ID, msg); rerr != nil {
			return nil, rerr
		}
		return reply(http.StatusBadRequest, "The webhook could not be read."), nil
	}
	var sh *model.Shipment
	if wh.Type == cdek.WebhookOrderStatus {
		sh, err = s.store.FindShipmentForCarrier(ctx, in, wh.UUID, wh.Attributes.Number)
		if err != nil && !errors.Is(err, model.ErrNotFound) {
			return nil, err
		}
	}
	if sh == nil {
		msg.Result = "ignored: no shipment of this integration (" + wh.Type + " " + wh.UUID + ")"
		if _, err := s.store.RecordCarrierMessage(ctx, t.ID, msg); err != nil {
			return nil, err
		}
		return reply(http.StatusOK, ""), nil
	}
	api, err := s.carrierFor(ctx, in)
	if err != nil {
		s.log.Warn("cdek webhook for a misconfigured integration", "integration", in.ID, "err", err)
		msg.Result = "not re-read: " + err.Error()
		if _, err := s.store.RecordCarrierMessage(ctx, t.ID, msg); err != nil {
			return nil, err
		}
		return reply(http.StatusOK, ""), nil
	}
	rctx, cancel := context.WithTimeout(ctx, rereadTimeout)
	defer cancel()
	var st model.ShipmentState
	if sh.CarrierOrderID != "" {
		st, err = api.state(rctx, sh)
	} else {
		// The webhook came before the registration's answer: the shipment is
		// what CDEK gives back under our reference, whatever the body says.
		var found bool
		if st, found, err = api.lookup(rctx, sh); err == nil && !found {
			st = model.ShipmentState{}
		}
	}
	if err != nil {
		s.log.Warn("cdek webhook re-read", "integration", in.ID, "shipment", sh.ID, "err", err)
		msg.Result, msg.DedupKey = "not re-read: "+api.explain(err), bodyKey("unread:", body)
		if _, err := s.store.RecordCarrierMessage(ctx, t.ID, msg); err != nil {
			return nil, err
		}
		return reply(http.StatusOK, ""), nil
	}
	msg.Result, msg.Verified = "re-read from CDEK: "+st.CarrierStatus, true
	if _, err := s.store.ApplyShipmentState(ctx, t, sh.ID, st, providerActor(sh.Carrier), &msg); err != nil {
		return nil, err
	}
	return reply(http.StatusOK, ""), nil
}

// HandleDostavistaCallback receives a Dostavista callback for one of its
// integrations. Its X-DV-Signature is checked with the integration's
// callback secret before the body is read: a refused callback is recorded
// and changes nothing. A verified one names the shipment among the
// integration's own (by Dostavista's order id, or our client_order_id when
// it comes before the create-order answer) and is applied once, forward
// only.
func (s *Service) HandleDostavistaCallback(ctx context.Context, integrationID int64, body []byte, signature string) (*Reply, error) {
	in, err := s.store.FindIntegrationForWebhook(ctx, model.ProviderDostavista, integrationID)
	if errors.Is(err, model.ErrNotFound) {
		return reply(http.StatusNotFound, "No such callback address."), nil
	} else if err != nil {
		return nil, err
	}
	t, err := s.store.FindTenantByID(ctx, in.TenantID)
	if err != nil {
		return nil, err
	}
	sec, err := s.store.OpenIntegrationSecrets(ctx, t.ID, in.ID)
	if err != nil {
		return nil, err
	}
	msg := model.CarrierMessage{IntegrationID: in.ID, Kind: "callback", Body: string(body), DedupKey: bodyKey("dostavista:", body)}
	cb, err := dostavista.ParseCallback(body, sec.APISecret, signature)
	if err != nil {
		msg.Result, msg.DedupKey = "refused: "+dostavista.Explain(err), bodyKey("bad:", body)
		if _, rerr := s.store.RecordCarrierMessage(ctx, t.ID, msg); rerr != nil {
			return nil, rerr
		}
		s.log.Warn("dostavista callback refused", "integration", in.ID, "err", err)
		switch {
		case errors.Is(err, dostavista.ErrBadSignature):
			return reply(http.StatusForbidden, "Bad signature."), nil
		case errors.Is(err, dostavista.ErrNoSecret):
			// Our setting is missing, not the sender's fault: Dostavista
			// delivers it again once the secret is set.
			return reply(http.StatusServiceUnavailable, "Try again later."), nil
		}
		return reply(http.StatusBadRequest, "The callback could not be read."), nil
	}
	msg.Verified = true
	if cb.Order == nil {
		msg.Result = "ignored: " + cb.EventType
		if _, err := s.store.RecordCarrierMessage(ctx, t.ID, msg); err != nil {
			return nil, err
		}
		return reply(http.StatusOK, ""), nil
	}
	var ref string
	for _, p := range cb.Order.Points {
		if p.ClientOrderID != "" {
			ref = p.ClientOrderID
		}
	}
	sh, err := s.store.FindShipmentForCarrier(ctx, in, strconv.FormatInt(cb.Order.OrderID, 10), ref)
	if errors.Is(err, model.ErrNotFound) {
		msg.Result = "ignored: no shipment of this integration (order " + strconv.FormatInt(cb.Order.OrderID, 10) + ")"
		if _, err := s.store.RecordCarrierMessage(ctx, t.ID, msg); err != nil {
			return nil, err
		}
		return reply(http.StatusOK, ""), nil
	} else if err != nil {
		return nil, err
	}
	st := dostavistaState(cb.Order, sh.Reference, cb.EventTime)
	msg.Result = cb.EventType + ": " + cb.Order.Status
	if _, err := s.store.ApplyShipmentState(ctx, t, sh.ID, st, providerActor(sh.Carrier), &msg); err != nil {
		return nil, err
	}
	return reply(http.StatusOK, ""), nil
}
