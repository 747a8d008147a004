package handlers

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"orderdesk/model"
	"orderdesk/providers/gateway"
	"orderdesk/views"
)

// Kuveyt Türk takes the card on the shop's own page; the card goes to the bank's
// 3-D Secure gate, and the bank sends the browser back with its answer.

func (a *App) kuveytPayment(c echo.Context) (*model.Payment, *model.Integration, error) {
	ctx := c.Request().Context()
	p, err := a.store.FindPaymentByNumber(ctx, tenant(c).ID, c.Param("number"))
	if err != nil {
		return nil, nil, err
	}
	if p.Provider != model.ProviderKuveyt {
		return nil, nil, model.ErrNotFound
	}
	in, err := a.store.FindIntegrationByID(ctx, tenant(c).ID, p.IntegrationID)
	return p, in, err
}

// KuveytCardPage shows the card form of a pending Kuveyt payment.
func (a *App) KuveytCardPage(c echo.Context) error {
	p, in, err := a.kuveytPayment(c)
	if err != nil {
		return err
	}
	if !p.Open() {
		return c.Redirect(http.StatusSeeOther, "/pay/return/"+p.Number)
	}
	pg := a.page(c, "Pay", "")
	return a.render(c, http.StatusOK, pg, views.KuveytCardForm(pg, p, in.Status == model.IntegrationTest, ""))
}

// KuveytCardSubmit sends the card to the bank's 3-D Secure gate and hands the
// bank's page to the browser. The card is never stored.
func (a *App) KuveytCardSubmit(c echo.Context) error {
	ctx := c.Request().Context()
	p, in, err := a.kuveytPayment(c)
	if err != nil {
		return err
	}
	pg := a.page(c, "Pay", "")
	fail := func(msg string) error {
		return a.render(c, http.StatusUnprocessableEntity, pg, views.KuveytCardForm(pg, p, in.Status == model.IntegrationTest, msg))
	}
	if !p.Open() {
		return c.Redirect(http.StatusSeeOther, "/pay/return/"+p.Number)
	}
	mm, yy, ok := strings.Cut(strings.TrimSpace(c.FormValue("exp")), "/")
	month, err1 := strconv.Atoi(strings.TrimSpace(mm))
	year, err2 := strconv.Atoi(strings.TrimSpace(yy))
	if !ok || err1 != nil || err2 != nil || month < 1 || month > 12 {
		return fail("Give the card's expiry as MM/YY.")
	}
	g, err := a.gatewayFor(ctx, in)
	if err != nil {
		return err
	}
	o, err := a.store.FindOrderByID(ctx, tenant(c).ID, p.OrderID)
	if err != nil {
		return err
	}
	back := shopBase(c) + "/pay/kuveyt/" + p.Number
	created, err := g.Create(ctx, gateway.CreateRequest{
		Reference: p.Number, OrderNumber: o.Number, AmountMinor: p.Amount, Currency: p.Currency, Description: "Order " + o.Number,
		Customer:  gateway.Customer{Email: o.Address.Email, Name: o.Address.FirstName + " " + o.Address.LastName, Phone: o.Address.Telephone},
		ReturnURL: back + "/ok", FailURL: back + "/fail", ClientIP: clientIP(c),
		Card: &gateway.Card{Number: strings.ReplaceAll(c.FormValue("card_number"), " ", ""), Holder: c.FormValue("card_holder"),
			ExpMonth: month, ExpYear: year, CVV: c.FormValue("cvv")},
	})
	if err != nil {
		a.store.RecordPaymentEvent(ctx, model.PaymentEvent{TenantID: p.TenantID, PaymentID: p.ID, IntegrationID: in.ID, Direction: "out",
			Kind: "create", Verified: true, Result: "refused: " + gateway.Explain(err)})
		return fail(gateway.Explain(err))
	}
	a.store.RecordPaymentEvent(ctx, model.PaymentEvent{TenantID: p.TenantID, PaymentID: p.ID, IntegrationID: in.ID, Direction: "out",
		Kind: "create", Body: created.Raw, Verified: true, Result: "3-D Secure page sent to the customer"})
	allowProviderPage(c)
	return c.HTMLBlob(http.StatusOK, created.HTML)
}

// KuveytReturn receives the bank's 3-D Secure answer (a cross-site POST: no
// session, no CSRF token; the answer itself is checked with the bank by the
// provision call) and completes the payment.
func (a *App) KuveytReturn(c echo.Context) error {
	ctx := c.Request().Context()
	p, in, err := a.kuveytPayment(c)
	if err != nil {
		return err
	}
	t := tenant(c)
	g, err := a.gatewayFor(ctx, in)
	if err != nil {
		return err
	}
	raw := c.FormValue("AuthenticationResponse")
	st, err := gateway.CompleteKuveyt(ctx, g, raw, p.Number, p.Amount)
	if err != nil {
		verified := !errors.Is(err, gateway.ErrBadSignature)
		a.store.RecordPaymentEvent(ctx, model.PaymentEvent{TenantID: t.ID, PaymentID: p.ID, IntegrationID: in.ID, Direction: "in",
			Kind: "3ds-return", Body: raw, Verified: verified, Result: "refused: " + gateway.Explain(err)})
		if !verified {
			a.store.AddPaymentReview(ctx, t.ID, p.ID, p.OrderID, "bad_notification", "A Kuveyt 3-D Secure answer was refused: "+gateway.Explain(err))
		}
		return c.Redirect(http.StatusSeeOther, "/pay/return/"+p.Number)
	}
	applied, dup, err := a.store.ApplyNotification(ctx, t, model.PaymentEvent{TenantID: t.ID, PaymentID: p.ID, IntegrationID: in.ID,
		Direction: "in", Kind: "3ds-return", Body: st.Raw, Verified: true, Result: st.ProviderStatus, DedupKey: "kuveyt:" + p.Number + ":" + st.Stage},
		model.Observation{Stage: stageStatus(st.Stage), AmountMinor: st.AmountMinor, Currency: st.Currency, Reason: st.Reason,
			Actor: model.Actor("provider:kuveyt")})
	if err != nil {
		return err
	}
	if !dup && applied.RefundNeeded {
		a.refundLate(ctx, t, p, g)
	}
	return c.Redirect(http.StatusSeeOther, "/pay/return/"+p.Number)
}
