package handlers

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"orderdesk/views"
)

// SettingsIndex lists the settings pages.
func (a *App) SettingsIndex(c echo.Context) error {
	p := a.page(c, "Settings", views.SectionSettings)
	return a.render(c, http.StatusOK, p, views.Settings(p))
}

// Healthz answers while the process lives.
func (a *App) Healthz(c echo.Context) error {
	return c.String(http.StatusOK, "ok")
}

// Readyz answers 200 only when the database answers.
func (a *App) Readyz(c echo.Context) error {
	if err := a.store.DB.Ping(c.Request().Context()); err != nil {
		a.log.Error("readyz", "err", err)
		return c.String(http.StatusServiceUnavailable, "database unavailable")
	}
	return c.String(http.StatusOK, "ok")
}

func itoa(n int) string { return strconv.Itoa(n) }
