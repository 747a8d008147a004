package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"slices"

	"github.com/labstack/echo/v4"

	"orderdesk/model"
	"orderdesk/services/payments"
	"orderdesk/views"
	"orderdesk/views/locales"
)

// Paying again: after a declined or abandoned payment, the return page, the
// customer's order page and the tracking page offer "Try again" (the same
// method) and "Pay another way" (a choice of methods) to whoever owns the
// order, for the same order. The pages only offer; paying is
// POST /pay/again/{number}, which the payments service turns into a new
// payment of that order (services/payments PayAgain).

// ownsOrder reports whether the request comes from the order's owner: the
// signed-in customer who placed it, or the session that placed it as a guest.
// Knowing the order number (the public tracking key) is not owning it, and
// staff pay nobody's order.
func (a *App) ownsOrder(c echo.Context, o *model.Order) (bool, error) {
	cu, err := a.currentCustomer(c)
	if err != nil {
		return false, err
	}
	if cu != nil && o.CustomerID == cu.ID {
		return true, nil
	}
	return a.placedHere(c, o.ID), nil
}

// payOffer is what a page offers the order's owner to pay it, or nil: nothing
// for strangers, nor for an order that is paid, cancelled, expired or whose
// payment is still open at its provider.
func (a *App) payOffer(c echo.Context, o *model.Order, csrf string) (*views.PayOffer, error) {
	if !o.PaymentDue() {
		return nil, nil
	}
	own, err := a.ownsOrder(c, o)
	if err != nil || !own {
		return nil, err
	}
	return a.payOfferFor(c, o, csrf)
}

// payOfferFor is the offer of an order whose owner is known.
func (a *App) payOfferFor(c echo.Context, o *model.Order, csrf string) (*views.PayOffer, error) {
	last, err := a.store.FindPayments(c.Request().Context(), tenant(c).ID, model.PaymentFilter{OrderID: o.ID, Limit: 1})
	if err != nil {
		return nil, err
	}
	offer := &views.PayOffer{OrderNumber: o.Number, CSRF: csrf}
	if len(last) > 0 {
		if last[0].Open() {
			// Being paid right now, or waiting at the provider: a second
			// payment would be refused anyway.
			return nil, nil
		}
		opts, err := a.shopPaymentOptions(c)
		if err != nil {
			return nil, err
		}
		// "Try again" only with a method the shop still takes.
		if slices.ContainsFunc(opts, func(p views.PaymentOption) bool { return p.Provider == string(last[0].Provider) }) {
			offer.RetryProvider = string(last[0].Provider)
		}
	}
	return offer, nil
}

// paymentRank puts the payment methods in the order customers look for them:
// the card first, then instalments, wallets and PayPal.
var paymentRank = map[model.ProviderType]int{
	model.ProviderTinkoff: 0, model.ProviderKuveyt: 0, model.ProviderDolyami: 1, model.ProviderYandexPay: 2, model.ProviderPayPal: 3,
}

// shopPaymentOptions are the methods the shop takes now (paymentOptions) in
// the order a customer reads them: the card first.
func (a *App) shopPaymentOptions(c echo.Context) ([]views.PaymentOption, error) {
	opts, err := a.paymentOptions(c)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(opts, func(x, y views.PaymentOption) int {
		return paymentRank[model.ProviderType(x.Provider)] - paymentRank[model.ProviderType(y.Provider)]
	})
	return opts, nil
}

// ownOrderByNumber finds the order of the number in the URL when the request
// owns it; anything else (unknown, another shop's, somebody else's) is the
// same 404.
func (a *App) ownOrderByNumber(c echo.Context) (*model.Order, error) {
	number := c.Param("number")
	if n, err := url.PathUnescape(number); err == nil {
		number = n
	}
	o, err := a.store.FindOrderByNumber(c.Request().Context(), tenant(c).ID, number)
	if errors.Is(err, model.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if own, err := a.ownsOrder(c, o); err != nil || !own {
		return nil, err
	}
	return o, nil
}

// PayAgainPage lets the owner of an unpaid order choose how to pay it:
// GET /pay/again/{number} ("Pay another way").
func (a *App) PayAgainPage(c echo.Context) error {
	return a.renderPayAgain(c, http.StatusOK, views.PayChoice{})
}

func (a *App) renderPayAgain(c echo.Context, status int, v views.PayChoice) error {
	customer, err := a.currentCustomer(c)
	if err != nil {
		return err
	}
	o, err := a.ownOrderByNumber(c)
	if err != nil {
		return err
	}
	if o == nil {
		return a.shopNotFound(c, customer, shopMsg(c, "shop.pay.not_yours"))
	}
	p, h, err := a.shopFrame(c, shopMsg(c, "shop.pay.title", map[string]any{"Number": o.Number}), "orders", customer, nil)
	if err != nil {
		return err
	}
	v.Order, v.CSRF = o, p.CSRF
	if !o.PaymentDue() {
		// Paid meanwhile, cancelled or expired: nothing to choose.
		v.Methods, v.Closed = nil, true
		if status == http.StatusOK {
			status = http.StatusConflict
		}
	} else if v.Methods, err = a.shopPaymentOptions(c); err != nil {
		return err
	}
	return a.render(c, status, p, views.PayAgain(h, v))
}

// PayAgainSubmit pays the owner's unpaid order again: POST /pay/again/{number}
// {payment_provider}. It sends the customer to the provider's page of the new payment
// (or of the one a simultaneous click just opened); a payment the provider
// refuses shows its reason on the return page, where the offer stands.
func (a *App) PayAgainSubmit(c echo.Context) error {
	ctx := c.Request().Context()
	o, err := a.ownOrderByNumber(c)
	if err != nil {
		return err
	}
	if o == nil {
		customer, err := a.currentCustomer(c)
		if err != nil {
			return err
		}
		return a.shopNotFound(c, customer, shopMsg(c, "shop.pay.not_yours"))
	}
	provider := c.FormValue("payment_provider")
	opts, err := a.shopPaymentOptions(c)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(opts, func(p views.PaymentOption) bool { return p.Provider == provider }) {
		return a.renderPayAgain(c, statusInvalid, views.PayChoice{
			Errors: views.FormErrors{"payment_provider": shopMsg(c, "shop.pay.choose_method")},
		})
	}
	p, err := a.pay.PayAgain(ctx, tenant(c), payments.StartInput{OrderID: o.ID, Provider: model.ProviderType(provider), ClientIP: clientIP(c)})
	switch {
	case err == nil:
		return a.redirect(c, p.PaymentURL)
	case p != nil:
		// The provider refused to open it: the return page says why.
		a.log.Warn("pay again: payment did not start", "order", o.Number, "err", err)
		return a.redirect(c, "/pay/return/"+p.Number)
	case errors.Is(err, model.ErrConflict):
		return a.renderPayAgain(c, http.StatusConflict, views.PayChoice{Alert: err.Error(), Provider: provider})
	}
	return err
}

// shopMsg is the message id in the shop's language, for what a handler puts
// on a storefront page.
func shopMsg(c echo.Context, id string, data ...map[string]any) string {
	return locales.T(shopLang(c), id, data...)
}

// renderPaymentReturn is the page the customer comes back to from the
// provider: the payment's outcome, and to the order's owner the offer to pay
// again when it did not go through.
func (a *App) renderPaymentReturn(c echo.Context, pay *model.Payment, o *model.Order) error {
	customer, err := a.currentCustomer(c)
	if err != nil {
		return err
	}
	p, h, err := a.shopFrame(c, shopMsg(c, "shop.return.title"), "", customer, nil)
	if err != nil {
		return err
	}
	v := views.PaymentReturnView{Tenant: tenant(c), Payment: pay, Order: o}
	if v.Offer, err = a.payOffer(c, o, p.CSRF); err != nil {
		return err
	}
	return a.render(c, http.StatusOK, p, views.PaymentReturn(h, v))
}

// shopCountry is the shop's country (ISO 3166), the checkout's first and
// preset choice: the country of the shop's time zone, else of its currency.
// (The tenant has no country of its own yet; these two say it for every shop
// we serve.)
func shopCountry(t *model.Tenant) string {
	if c, ok := zoneCountry[t.Timezone]; ok {
		return c
	}
	return currencyCountry[t.Currency]
}

var zoneCountry = map[string]string{
	"Europe/Istanbul": "TR", "Asia/Istanbul": "TR", "Europe/Moscow": "RU", "Europe/Kaliningrad": "RU", "Europe/Samara": "RU",
	"Asia/Yekaterinburg": "RU", "Asia/Novosibirsk": "RU", "Asia/Krasnoyarsk": "RU", "Asia/Irkutsk": "RU", "Asia/Vladivostok": "RU",
	"Asia/Almaty": "KZ", "Europe/Minsk": "BY", "Asia/Tashkent": "UZ", "Asia/Bishkek": "KG", "Asia/Yerevan": "AM", "Asia/Baku": "AZ",
	"Asia/Tbilisi": "GE", "Europe/Berlin": "DE", "Europe/London": "GB",
}

var currencyCountry = map[string]string{
	"TRY": "TR", "RUB": "RU", "KZT": "KZ", "BYN": "BY", "UZS": "UZ", "KGS": "KG", "AMD": "AM", "AZN": "AZ", "GEL": "GE",
	"GBP": "GB", "USD": "US", "CNY": "CN",
}
