package handlers

import (
	"github.com/labstack/echo/v4"

	"orderdesk/views"
)

// Session keys of the one-time notice.
const (
	sessFlashKind = "flash_kind"
	sessFlashMsg  = "flash_message"
)

// ctxSessionLoaded marks a request whose server-side session is loaded.
const ctxSessionLoaded = "session_loaded"

// loadSession loads the server-side session (scs) around the request and marks
// it, so that the page renderer knows whether there is a notice to take (scs
// panics when asked about a session it did not load: webhooks, the bank's
// return and the error pages of requests that stopped earlier have none).
func (a *App) loadSession(next echo.HandlerFunc) echo.HandlerFunc {
	load := echo.WrapMiddleware(a.sessions.LoadAndSave)(func(c echo.Context) error {
		c.Set(ctxSessionLoaded, true)
		return next(c)
	})
	return func(c echo.Context) error {
		c.SetRequest(c.Request().WithContext(withSessionRead(c.Request().Context())))
		return load(c)
	}
}

// flash leaves a notice for the next full page this browser loads: what an
// action did, told after its redirect. Notices live in the server-side session,
// never in the URL, so that nobody can make the back office show their text as
// an official notice by sending a link.
func (a *App) flash(c echo.Context, kind views.FlashKind, msg string) {
	ctx := c.Request().Context()
	a.sessions.Put(ctx, sessFlashKind, string(kind))
	a.sessions.Put(ctx, sessFlashMsg, msg)
}

// popFlash takes the waiting notice out of the session, so that it shows once.
func (a *App) popFlash(c echo.Context) views.Flash {
	if loaded, _ := c.Get(ctxSessionLoaded).(bool); !loaded {
		return views.Flash{}
	}
	ctx := c.Request().Context()
	if !a.sessions.Exists(ctx, sessFlashMsg) {
		return views.Flash{}
	}
	return views.Flash{Kind: views.FlashKind(a.sessions.PopString(ctx, sessFlashKind)), Message: a.sessions.PopString(ctx, sessFlashMsg)}
}
