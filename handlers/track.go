package handlers

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"orderdesk/model"
	"orderdesk/views"
)

// Public tracking: anybody with an order number sees where the order is, and
// nothing personal. The routes are rate-limited per client address (routes.go),
// since the number is the only key.

// TrackForm asks for an order number: GET /track. With ?number=… it sends the
// browser on to that order's page.
func (a *App) TrackForm(c echo.Context) error {
	if number := model.OrderNumber(c.QueryParam("number")); number != "" {
		return a.redirect(c, "/track/"+url.PathEscape(number))
	}
	return a.renderTrackForm(c, http.StatusOK, views.TrackLookup{})
}

func (a *App) renderTrackForm(c echo.Context, status int, f views.TrackLookup) error {
	p, h, err := a.publicFrame(c, shopMsg(c, "shop.track.title"), "track")
	if err != nil {
		return err
	}
	return a.render(c, status, p, views.TrackForm(h, f))
}

// TrackPage shows an order's progress by its number: GET /track/{number}
// [?placed=1 right after checkout]. An unknown number and another shop's order
// get the same 404, since the look-up is by tenant.
func (a *App) TrackPage(c echo.Context) error {
	number := c.Param("number")
	if n, err := url.PathUnescape(number); err == nil {
		number = n
	}
	number = model.OrderNumber(number)
	o, story, err := a.store.TrackOrder(c.Request().Context(), tenant(c).ID, number)
	if errors.Is(err, model.ErrNotFound) {
		return a.renderTrackForm(c, http.StatusNotFound, views.TrackLookup{
			Number: number,
			Error:  shopMsg(c, "shop.msg.no_order_number", map[string]any{"Number": number}),
		})
	}
	if err != nil {
		return err
	}
	p, h, err := a.publicFrame(c, shopMsg(c, "shop.order.title", map[string]any{"Number": o.Number}), "track")
	if err != nil {
		return err
	}
	v := views.TrackView{Tenant: tenant(c), Order: o, Placed: c.QueryParam("placed") == "1", Story: story}
	// The owner (and nobody else) is offered to pay an unpaid order again:
	// only a request that carries a session can be the owner's.
	if sessionLoaded(c) {
		if v.Offer, err = a.payOffer(c, o, p.CSRF); err != nil {
			return err
		}
	}
	if v.Placed && sessionLoaded(c) {
		// Only this shopper's session holds the notice of the order they placed.
		v.Notice = a.sessions.PopString(c.Request().Context(), orderNoticeKey(o.Number))
	}
	return a.render(c, http.StatusOK, p, views.TrackOrder(h, v))
}
