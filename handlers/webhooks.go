package handlers

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"orderdesk/model"
	"orderdesk/providers/gateway"
)

// PaymentWebhook receives a payment provider's notification at
// /webhooks/{provider}/{integration_id}. It is verified (signature, token, or a
// call back to the provider), stored raw, idempotent (a duplicate changes nothing
// and still gets the provider's expected answer) and order-safe (a late
// "pending" never undoes "paid": model.ApplyPayment's table sees to it).
func (a *App) PaymentWebhook(c echo.Context) error {
	ctx := c.Request().Context()
	provider := model.ProviderType(c.Param("provider"))
	id, err := strconv.ParseInt(c.Param("integration"), 10, 64)
	if err != nil || !provider.IsPayment() {
		return echo.NewHTTPError(http.StatusNotFound, "No such webhook.")
	}
	in, err := a.store.FindIntegrationForWebhook(ctx, provider, id)
	if errors.Is(err, model.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, "No such webhook.")
	} else if err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, 1<<20))
	if err != nil {
		return echo.NewHTTPError(http.StatusRequestEntityTooLarge, "The notification is too large.")
	}
	t, err := a.store.FindTenantByID(ctx, in.TenantID)
	if err != nil {
		return err
	}
	g, err := a.gatewayFor(ctx, in)
	if err != nil {
		return err
	}
	n, err := g.Notification(ctx, body, c.Request().Header)
	if err != nil && gateway.ReplyStatus(err) == http.StatusServiceUnavailable {
		// The provider could not be asked back (Dolyami's Info, PayPal's
		// verification): not a forgery; the provider will deliver it again.
		a.log.Warn("webhook deferred", "provider", provider, "integration", in.ID, "err", err)
		return echo.NewHTTPError(http.StatusServiceUnavailable, "Try again later.")
	}
	if err != nil {
		// Refused and recorded; nothing changes. A forged or garbled notification
		// goes to the review queue so that a person sees it.
		sum := sha256.Sum256(body)
		reason := gateway.Explain(err)
		dup, _ := a.store.RecordPaymentEvent(ctx, model.PaymentEvent{TenantID: in.TenantID, IntegrationID: in.ID, Direction: "in",
			Kind: "webhook", Body: string(body), Verified: false, Result: "refused: " + reason, DedupKey: "bad:" + hex.EncodeToString(sum[:])})
		if !dup {
			a.store.AddPaymentReview(ctx, in.TenantID, 0, 0, "bad_notification", "A "+string(provider)+" notification was refused: "+reason)
		}
		a.log.Warn("webhook refused", "provider", provider, "integration", in.ID, "err", err)
		if errors.Is(err, gateway.ErrBadSignature) {
			return echo.NewHTTPError(http.StatusForbidden, "Bad signature.")
		}
		return echo.NewHTTPError(http.StatusBadRequest, "The notification could not be read.")
	}
	reply := func() error {
		if n.ReplyType == "" {
			return c.Blob(http.StatusOK, "text/plain; charset=utf-8", n.Reply)
		}
		return c.Blob(http.StatusOK, n.ReplyType, n.Reply)
	}
	p, err := a.store.FindPaymentForNotification(ctx, in, n.Ref, n.Reference)
	if errors.Is(err, model.ErrNotFound) {
		dup, _ := a.store.RecordPaymentEvent(ctx, model.PaymentEvent{TenantID: in.TenantID, IntegrationID: in.ID, Direction: "in",
			Kind: "webhook", Body: n.Raw, Verified: true, Result: "unknown payment", DedupKey: string(provider) + ":" + n.EventID})
		if !dup {
			a.store.AddPaymentReview(ctx, in.TenantID, 0, 0, "unknown_payment", "A verified "+string(provider)+" notification names a payment we do not know ("+n.Ref+" "+n.Reference+").")
		}
		return reply()
	} else if err != nil {
		return err
	}
	if n.Ref != "" && n.Ref != p.ProviderRef {
		// PayPal names the payment by its invoice until the IPN brings the
		// transaction id; later calls (refunds) need the transaction id.
		if err := a.store.AttachProviderPayment(ctx, in.TenantID, p.ID, n.Ref, p.PaymentURL); err != nil {
			return err
		}
		p.ProviderRef = n.Ref
	}
	obs := model.Observation{Stage: stageStatus(n.Stage), AmountMinor: n.AmountMinor, Currency: n.Currency, Reason: n.Reason,
		Actor: model.Actor("provider:" + string(provider))}
	if n.RefundMinor > 0 {
		// A refund notification carries this refund's amount; the payment keeps
		// the total refunded (a duplicate never gets here).
		obs.RefundedMinor = p.RefundedAmount + n.RefundMinor
	}
	if !n.ReceiverOK {
		// Money sent to someone else is not this shop's payment (PayPal's
		// receiver_email check): held for a person like any mismatch.
		obs.Stage = model.PaymentSuspectedFraud
	}
	// The event row is the idempotency key: a notification seen before is
	// acknowledged and changes nothing.
	applied, dup, err := a.store.ApplyNotification(ctx, t, model.PaymentEvent{TenantID: in.TenantID, PaymentID: p.ID, IntegrationID: in.ID,
		Direction: "in", Kind: "webhook", Body: n.Raw, Verified: true, Result: n.ProviderStatus, DedupKey: string(provider) + ":" + n.EventID}, obs)
	if err != nil {
		return err
	}
	if dup {
		return reply()
	}
	if !n.ReceiverOK && applied.Changed {
		a.store.AddPaymentReview(ctx, in.TenantID, p.ID, p.OrderID, "wrong_receiver", "The payment was sent to another receiver than this shop.")
	}
	if applied.RefundNeeded {
		if err := a.refundLate(ctx, t, p, g); err != nil {
			return err
		}
	}
	return reply()
}
