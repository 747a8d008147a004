package handlers

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"orderdesk/model"
	"orderdesk/views"
)

// apiResponse is the envelope of every JSON answer.
type apiResponse struct {
	Success bool              `json:"success"`
	Message string            `json:"message"`
	Errors  map[string]string `json:"errors,omitempty"`
}

// statusOf maps an error to the HTTP status and the message people see. This is
// the one place where model errors meet HTTP.
func statusOf(err error) (int, string, map[string]string) {
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
			msg = "The request is too large: a form or an API request takes at most " + bodyLimit + "B, a file upload " + uploadBodyLimit + "B."
		}
		return he.Code, msg, nil
	case errors.As(err, &ve):
		return http.StatusBadRequest, "Please correct: " + ve.Error(), ve.Fields
	case errors.As(err, &te):
		return http.StatusTooManyRequests, te.Error(), nil
	case errors.Is(err, model.ErrNotFound):
		return http.StatusNotFound, "Not found.", nil
	case errors.Is(err, model.ErrForbidden):
		return http.StatusForbidden, "Your role does not allow this.", nil
	case errors.Is(err, model.ErrConflict):
		return http.StatusConflict, err.Error(), nil
	case errors.Is(err, model.ErrInvalidCredentials):
		return http.StatusUnauthorized, "The e-mail or password is not correct.", nil
	}
	return http.StatusInternalServerError, "Something went wrong on our side. The error has been logged.", nil
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
	status, msg, fields := statusOf(err)
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
	title := map[int]string{
		http.StatusForbidden: "Not allowed", http.StatusNotFound: "Not found",
		http.StatusTooManyRequests: "Slow down", http.StatusUnauthorized: "Sign in",
	}[status]
	if title == "" {
		title = http.StatusText(status)
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
	comp := views.ErrorPage(status, title, msg)
	if !isFragment(c) {
		comp = views.Layout(p, comp)
	}
	if rerr := a.renderComponent(c, status, comp); rerr != nil {
		a.log.Error("render error page", "err", rerr)
	}
}
