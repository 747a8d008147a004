package handlers

import (
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"orderdesk/model"
	"orderdesk/views"
	"orderdesk/views/locales"
)

// apiResponse is the envelope of every JSON answer.
type apiResponse struct {
	Success bool              `json:"success"`
	Message string            `json:"message"`
	Errors  map[string]string `json:"errors,omitempty"`
}

// statusInvalid is the status of a request whose input is refused: a form
// shown again with the message by each field, an API answer naming the
// fields. Every such answer uses it, so a refused input has one status
// wherever it is met. A request that cannot be read at all (broken JSON, a
// form that does not parse) stays 400.
const statusInvalid = http.StatusUnprocessableEntity

// statusOf maps an error to the HTTP status and the message people see, in
// English (the back office's words that are not translated yet).
func statusOf(err error) (int, string, map[string]string) { return statusIn(err, locales.Default) }

// statusIn maps an error to the HTTP status and the message people see, in
// lang. This is the one place where model errors meet HTTP.
func statusIn(err error, lang string) (int, string, map[string]string) {
	var he *echo.HTTPError
	var ve *model.ValidationError
	var te *model.ThrottledError
	switch {
	case errors.As(err, &he):
		msg, ok := he.Message.(string)
		if !ok || he.Code >= 500 {
			msg = http.StatusText(he.Code)
		}
		if he.Code == http.StatusRequestEntityTooLarge {
			msg = locales.T(lang, "common.error.too_large", map[string]any{"Body": bodyLimit, "Upload": uploadBodyLimit})
		}
		return he.Code, msg, nil
	case errors.As(err, &ve):
		return statusInvalid, locales.T(lang, "common.error.please_correct", map[string]any{"What": ve.Error()}), ve.Fields
	case errors.As(err, &te):
		return http.StatusTooManyRequests, locales.T(lang, "common.error.throttled", map[string]any{"Wait": locales.Wait(lang, time.Duration(te.RetryAfterSeconds)*time.Second)}), nil
	case errors.Is(err, model.ErrNotFound):
		return http.StatusNotFound, locales.T(lang, "common.error.not_found"), nil
	case errors.Is(err, model.ErrForbidden):
		return http.StatusForbidden, locales.T(lang, "common.error.forbidden"), nil
	case errors.Is(err, model.ErrConflict):
		return http.StatusConflict, err.Error(), nil
	case errors.Is(err, model.ErrInvalidCredentials):
		return http.StatusUnauthorized, locales.T(lang, "common.error.bad_credentials"), nil
	}
	return http.StatusInternalServerError, locales.T(lang, "common.error.server"), nil
}

// errorHandler is Echo's central error handler: JSON for the API, an HTML page for
// everything else, and never a stack trace.
func (a *App) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		// The answer is on its way (a CSV export that failed half way, a client
		// that went away): too late to answer the error, so it is logged.
		a.log.Warn("error after the answer started", "method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
		return
	}
	lang := requestLang(c)
	if isAPI(c) {
		lang = shopLang(c)
	}
	status, msg, fields := statusIn(err, lang)
	if status >= 500 {
		a.log.Error("server error", "method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
	}
	if isAPI(c) {
		var werr error
		if c.Request().Method == http.MethodHead {
			werr = c.NoContent(status)
		} else {
			werr = c.JSON(status, apiResponse{Success: false, Message: msg, Errors: fields})
		}
		if werr != nil {
			a.log.Warn("write error answer", "method", c.Request().Method, "path", c.Request().URL.Path, "status", status, "err", werr)
		}
		return
	}
	title := http.StatusText(status)
	if id := "common.error.title_" + itoa(status); locales.Has(id) {
		title = locales.T(lang, id)
	}
	p := views.Page{Title: title}
	if t, ok := c.Get(ctxTenant).(*model.Tenant); ok {
		p.Tenant = t
		p.User = currentUser(c)
		p.CSRF, _ = c.Get("csrf").(string)
	}
	// htmx does not swap error responses by default; the page still gets a status
	// it can act on, and plain browsers get a whole page.
	c.Response().Header().Add("Vary", "HX-Request")
	comp := views.ErrorPageFor(status, title, msg, p.User != nil)
	if !isFragment(c) {
		comp = views.Layout(p, comp)
	}
	if rerr := a.renderComponent(c, status, comp); rerr != nil {
		a.log.Error("render error page", "err", rerr)
	}
}
