package handlers

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"orderdesk/model"
	"orderdesk/views"
)

// APITokensIndex lists the signed-in user's API tokens with the form for a new one.
func (a *App) APITokensIndex(c echo.Context) error {
	return a.renderAPITokens(c, http.StatusOK, views.APITokensView{})
}

func (a *App) renderAPITokens(c echo.Context, status int, v views.APITokensView) error {
	tokens, err := a.store.FindAPITokens(c.Request().Context(), tenant(c).ID, currentUser(c).ID)
	if err != nil {
		return err
	}
	v.Tokens, v.ShopURL = tokens, a.shopURL(tenant(c))
	p := a.page(c, pageT(c, "admin.tokens.title"), views.SectionSettings)
	return a.render(c, status, p, views.APITokens(p, v))
}

// APITokenCreate makes a named token and shows it this once. The answer is the
// page itself, not a redirect, so that the token never sits in a URL or in the
// session.
func (a *App) APITokenCreate(c echo.Context) error {
	form := views.APITokenForm{Name: c.FormValue("name")}
	token, t, err := a.store.CreateAPIToken(c.Request().Context(), tenant(c).ID, currentUser(c), form.Name)
	var ve *model.ValidationError
	if errors.As(err, &ve) {
		form.Errors = ve.Fields
		return a.renderAPITokens(c, statusInvalid, views.APITokensView{Form: form})
	}
	if err != nil {
		return err
	}
	// The page holds a secret: no cache may keep it.
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return a.renderAPITokens(c, http.StatusCreated, views.APITokensView{Created: token, CreatedName: t.Name})
}

// APITokenRevoke ends one of the user's own tokens.
func (a *App) APITokenRevoke(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return model.ErrNotFound
	}
	if err := a.store.RevokeAPIToken(c.Request().Context(), tenant(c).ID, currentUser(c).ID, id); err != nil {
		return err
	}
	return a.redirect(c, "/admin/settings/api-tokens")
}
