package handlers

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"orderdesk/model"
	"orderdesk/views"
	"orderdesk/views/locales"
)

// AccountPage is the signed-in user's own page, with their language choice.
func (a *App) AccountPage(c echo.Context) error {
	u := currentUser(c)
	f := views.AccountForm{Language: u.Language, ShopLanguage: tenant(c).Language}
	return a.render(c, http.StatusOK, a.page(c, locales.T(requestLang(c), "common.account.title"), ""), views.Account(a.page(c, "", ""), f))
}

// AccountLanguage records the language the back office speaks to the
// signed-in user ("" for the shop's) and says so in that language.
func (a *App) AccountLanguage(c echo.Context) error {
	u := currentUser(c)
	lang := c.FormValue("language")
	err := a.store.SetUserLanguage(c.Request().Context(), tenant(c).ID, u.ID, lang)
	var ve *model.ValidationError
	if errors.As(err, &ve) {
		f := views.AccountForm{Language: lang, ShopLanguage: tenant(c).Language, Error: locales.T(requestLang(c), "common.account.bad_language")}
		p := a.page(c, locales.T(requestLang(c), "common.account.title"), "")
		return a.render(c, statusInvalid, p, views.Account(p, f))
	}
	if err != nil {
		return err
	}
	u.Language = lang
	a.flash(c, views.FlashOK, locales.T(locales.Normalize(u.LanguageIn(tenant(c))), "common.account.saved"))
	return a.redirect(c, "/admin/account")
}
