package handlers

import (
	"github.com/labstack/echo/v4"

	"orderdesk/views"
)

// Public read-only pages (the tracking pages) change nothing and show nothing
// of the shopper, so they skip the machinery of the pages that do: no session
// is read or written and no CSRF token is issued (their one form is a GET).
// The exception is the page that needs the shopper (need): it gets the whole
// chain, as every other page of the shop.

// sessionWhen runs the session and CSRF middleware around the requests that
// need them, and lets the others straight through.
func (a *App) sessionWhen(need func(echo.Context) bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		full := a.authenticate(csrfFromBody(a.csrf()(next)))
		return func(c echo.Context) error {
			if need(c) {
				return full(c)
			}
			return next(c)
		}
	}
}

// placedNotice is the tracking page right after checkout: its thank-you
// notice waits in the shopper's session.
func placedNotice(c echo.Context) bool { return c.QueryParam("placed") == "1" }

// shopperPage is a tracking request that may be the shopper's own: right
// after checkout, or from a browser that carries our session (a customer
// signed in, or the visitor who placed the order), whose page shows their
// cart and offers them to pay an unpaid order again. A request without the
// session's cookie (a stranger, a courier's link, a load test) is public.
func (a *App) shopperPage(c echo.Context) bool {
	if placedNotice(c) {
		return true
	}
	_, err := c.Cookie(a.sessions.Cookie.Name)
	return err == nil
}

// sessionLoaded reports whether the request's session is loaded (scs panics
// when asked about one it did not load).
func sessionLoaded(c echo.Context) bool {
	loaded, _ := c.Get(ctxSessionLoaded).(bool)
	return loaded
}

// publicFrame is the storefront's frame for a public page: the whole frame
// (who is signed in, the cart's count) when the request loaded its session,
// else the shop's name and links alone, with no look at a cart.
func (a *App) publicFrame(c echo.Context, title, current string) (views.Page, views.ShopHeader, error) {
	if sessionLoaded(c) {
		customer, err := a.currentCustomer(c)
		if err != nil {
			return views.Page{}, views.ShopHeader{}, err
		}
		return a.shopFrame(c, title, current, customer, nil)
	}
	p := a.page(c, title, "")
	p.User = nil // the storefront never shows the staff bar
	return p, views.ShopHeader{Shop: tenant(c).Name, Current: current}, nil
}
