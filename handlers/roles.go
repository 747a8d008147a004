package handlers

import (
	"github.com/labstack/echo/v4"

	"orderdesk/model"
	"orderdesk/views/locales"
)

// can reports whether the signed-in user's role may take the action
// (model.Role.Can): the pages ask it before they show the action's button.
func can(c echo.Context, act model.Action) bool {
	u := currentUser(c)
	return u != nil && u.Role.Can(act)
}

// requireAction refuses the route to users whose role may not take the
// action, by the same rule the pages use to hide its button.
func (a *App) requireAction(act model.Action) echo.MiddlewareFunc {
	return a.requireRole(func(r model.Role) bool { return r.Can(act) })
}

// deskTr is the message id in the language of the request's pages (the order
// desk's words in a handler: a bulk change's notice, a page title).
func deskTr(c echo.Context, id string, data ...map[string]any) string {
	return locales.T(requestLang(c), id, data...)
}

// deskTrn is the counted message id in the language of the request's pages.
func deskTrn(c echo.Context, id string, n int, data ...map[string]any) string {
	return locales.N(requestLang(c), id, int64(n), data...)
}
