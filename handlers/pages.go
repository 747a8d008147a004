package handlers

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"orderdesk/views"
)

// Dashboard is the back office's home page.
func (a *App) Dashboard(c echo.Context) error {
	p := a.page(c, "Dashboard", views.SectionDashboard)
	return a.render(c, http.StatusOK, p, views.Dashboard(p))
}

// SettingsIndex lists the settings pages.
func (a *App) SettingsIndex(c echo.Context) error {
	p := a.page(c, "Settings", views.SectionSettings)
	return a.render(c, http.StatusOK, p, views.Settings(p))
}

// comingSoon answers a section that is not built yet with a page that says so.
func (a *App) comingSoon(section views.Section, title, what string) echo.HandlerFunc {
	return func(c echo.Context) error {
		return a.render(c, http.StatusOK, a.page(c, title, section), views.ComingSoon(title, what))
	}
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
