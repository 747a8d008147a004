package handlers

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"orderdesk/model"
	"orderdesk/views"
	"orderdesk/views/locales"
)

// LoginPage shows the staff sign-in form.
func (a *App) LoginPage(c echo.Context) error {
	if u, err := a.loadUser(c); err == nil && u != nil {
		return c.Redirect(http.StatusSeeOther, "/admin/")
	}
	return a.render(c, http.StatusOK, a.page(c, locales.T(requestLang(c), "common.login.title"), ""), views.Login(views.LoginForm{Next: c.QueryParam("next")}, a.page(c, "", "").CSRF))
}

// Login checks the form; on success it renews the session token (so that a token
// planted before sign-in is worthless) and goes to the page asked for.
func (a *App) Login(c echo.Context) error {
	ctx := c.Request().Context()
	form := views.LoginForm{Email: strings.TrimSpace(c.FormValue("email")), Next: c.FormValue("next")}
	u, err := a.store.Authenticate(ctx, tenant(c).ID, form.Email, c.FormValue("password"), clientIP(c))
	if err != nil {
		var te *model.ThrottledError
		switch {
		case errors.As(err, &te):
			c.Response().Header().Set("Retry-After", itoa(te.RetryAfterSeconds))
			form.Error = locales.T(requestLang(c), "common.login.throttled", map[string]any{"Wait": locales.Wait(requestLang(c), time.Duration(te.RetryAfterSeconds)*time.Second)})
			return a.render(c, http.StatusTooManyRequests, a.page(c, locales.T(requestLang(c), "common.login.title"), ""), views.Login(form, a.page(c, "", "").CSRF))
		case errors.Is(err, model.ErrInvalidCredentials):
			form.Error = locales.T(requestLang(c), "common.error.bad_credentials")
			return a.render(c, http.StatusUnauthorized, a.page(c, locales.T(requestLang(c), "common.login.title"), ""), views.Login(form, a.page(c, "", "").CSRF))
		}
		return err
	}
	if err := a.sessions.RenewToken(ctx); err != nil {
		return err
	}
	a.sessions.Put(ctx, sessTenantID, tenant(c).ID)
	a.sessions.Put(ctx, sessUserID, u.ID)
	a.sessions.Put(ctx, sessUserVersion, u.SessionVersion)
	return a.redirect(c, safeNext(form.Next))
}

// safeNext keeps the after-sign-in address on this site's back office, so the
// sign-in form cannot be used to send people elsewhere.
func safeNext(next string) string {
	if strings.HasPrefix(next, "/admin/") && !strings.HasPrefix(next, "//") && !strings.Contains(next, "\\") {
		return next
	}
	return "/admin/"
}

// Logout ends the staff session and renews the token.
func (a *App) Logout(c echo.Context) error {
	ctx := c.Request().Context()
	if err := a.sessions.RenewToken(ctx); err != nil {
		return err
	}
	a.sessions.Remove(ctx, sessUserID)
	a.sessions.Remove(ctx, sessUserVersion)
	a.sessions.Remove(ctx, sessTenantID)
	return a.redirect(c, "/admin/login")
}

// APICSRF gives API clients the CSRF token to send back in X-CSRF-Token (the
// matching cookie is set on the same answer).
func (a *App) APICSRF(c echo.Context) error {
	token, _ := c.Get("csrf").(string)
	return c.JSON(http.StatusOK, map[string]any{"success": true, "message": "", "csrf_token": token})
}
