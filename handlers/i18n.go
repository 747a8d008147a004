package handlers

import (
	"strings"

	"github.com/labstack/echo/v4"

	"orderdesk/model"
	"orderdesk/views"
	"orderdesk/views/locales"
)

// ctxLang is the context key of a language a handler settled for the
// request (the account page, right after the user changed theirs).
const ctxLang = "lang"

// requestLang is the language a request is answered in: the signed-in user's
// choice in the back office (else the shop's), the shop's everywhere else
// (the storefront, checkout, payment return, tracking and the API), so that
// a customer always reads the shop's language whoever else is signed in.
func requestLang(c echo.Context) string {
	if l, ok := c.Get(ctxLang).(string); ok {
		return l
	}
	t, ok := c.Get(ctxTenant).(*model.Tenant)
	if !ok {
		return locales.Default
	}
	if strings.HasPrefix(c.Request().URL.Path, "/admin") && !isAPI(c) {
		return locales.Normalize(currentUser(c).LanguageIn(t))
	}
	return locales.Normalize(t.Language)
}

// shopLang is the shop's language: the API's messages and everything a
// customer reads.
func shopLang(c echo.Context) string {
	if t, ok := c.Get(ctxTenant).(*model.Tenant); ok {
		return locales.Normalize(t.Language)
	}
	return locales.Default
}

// apiMsg is the message id in the shop's language, for the API's answers.
func apiMsg(c echo.Context, id string, data ...map[string]any) string {
	return locales.T(shopLang(c), id, data...)
}

// locale is how the request's pages speak: its language and the shop's time
// zone.
func locale(c echo.Context) views.Locale {
	l := views.Locale{Lang: requestLang(c)}
	if t, ok := c.Get(ctxTenant).(*model.Tenant); ok {
		l.Loc = t.Location()
	}
	return l
}
