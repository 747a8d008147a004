package handlers

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"orderdesk/providers/gateway"
	"orderdesk/views"
)

// Kuveyt Türk takes the card on the shop's own page; the card goes to the bank's
// 3-D Secure gate, and the bank sends the browser back with its answer. The
// flow lives in services/payments.

// KuveytCardPage shows the card form of a pending Kuveyt payment.
func (a *App) KuveytCardPage(c echo.Context) error {
	p, test, err := a.pay.KuveytPayment(c.Request().Context(), tenant(c), c.Param("number"))
	if err != nil {
		return err
	}
	if !p.Open() {
		return c.Redirect(http.StatusSeeOther, "/pay/return/"+p.Number)
	}
	msg, err := a.pay.KuveytNotice(c.Request().Context(), tenant(c), p)
	if err != nil {
		return err
	}
	pg := a.page(c, "Pay", "")
	return a.render(c, http.StatusOK, pg, views.KuveytCardForm(pg, p, test, msg))
}

// KuveytCardSubmit sends the card to the bank's 3-D Secure gate and hands the
// bank's page to the browser. The card is never stored.
func (a *App) KuveytCardSubmit(c echo.Context) error {
	ctx := c.Request().Context()
	p, test, err := a.pay.KuveytPayment(ctx, tenant(c), c.Param("number"))
	if err != nil {
		return err
	}
	pg := a.page(c, "Pay", "")
	fail := func(msg string) error {
		return a.render(c, statusInvalid, pg, views.KuveytCardForm(pg, p, test, msg))
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
	html, err := a.pay.KuveytCard(ctx, tenant(c), p, gateway.Card{Number: strings.ReplaceAll(c.FormValue("card_number"), " ", ""),
		Holder: c.FormValue("card_holder"), ExpMonth: month, ExpYear: year, CVV: c.FormValue("cvv")}, clientIP(c))
	if err != nil {
		status, msg, _ := statusOf(err)
		if status >= 500 {
			return err
		}
		return fail(msg)
	}
	allowProviderPage(c)
	return c.HTMLBlob(http.StatusOK, html)
}

// KuveytReturn receives the bank's 3-D Secure answer (a cross-site POST: no
// session, no CSRF token; only the bank's confirmation of it counts) and sends
// the customer on: to the result page, or back to the card form, which says
// what the bank's page said, when the payment is still open.
func (a *App) KuveytReturn(c echo.Context) error {
	ctx := c.Request().Context()
	p, _, err := a.pay.KuveytPayment(ctx, tenant(c), c.Param("number"))
	if err != nil {
		return err
	}
	if err := a.pay.KuveytReturn(ctx, tenant(c), p, c.FormValue("AuthenticationResponse")); err != nil {
		return err
	}
	fresh, err := a.store.FindPaymentByID(ctx, tenant(c).ID, p.ID)
	if err != nil {
		return err
	}
	if fresh.Open() {
		return c.Redirect(http.StatusSeeOther, "/pay/kuveyt/"+p.Number)
	}
	return c.Redirect(http.StatusSeeOther, "/pay/return/"+p.Number)
}
