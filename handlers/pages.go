package handlers

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"orderdesk/model"
	"orderdesk/providers/taobao"
	"orderdesk/views"
)

// Dashboard is the back office's home page.
func (a *App) Dashboard(c echo.Context) error {
	ctx := c.Request().Context()
	t := tenant(c)
	d := views.DashboardData{Now: a.store.Now()}
	accounts, err := a.store.FindTaobaoAccounts(ctx, t.ID)
	if err != nil {
		return err
	}
	for _, acct := range accounts {
		// A session ending within a few hours, or over: the morning renewal.
		if acct.Status != model.AccountActive || acct.RefreshExpiresAt.Sub(d.Now) < 4*time.Hour {
			d.Expiring = append(d.Expiring, acct)
		}
	}
	otSessions, err := a.store.FindOTProviderSessions(ctx, t.ID)
	if err != nil {
		return err
	}
	for _, s := range otSessions {
		if s.Status != model.AccountActive || s.ExpiresAt.Sub(d.Now) < 4*time.Hour {
			d.OTExpiring = append(d.OTExpiring, s)
		}
	}
	if d.OT, err = a.store.CountOT(ctx, t.ID); err != nil {
		return err
	}
	if d.Procurement, err = a.store.CountProcurement(ctx, t.ID, taobao.CodeInsufficientBalance); err != nil {
		return err
	}
	reviews, err := a.store.FindPaymentReviews(ctx, t.ID, true, 100)
	if err != nil {
		return err
	}
	d.OpenReviews = len(reviews)
	if d.ReadyToShip, err = a.store.CountReadyToShip(ctx, t.ID); err != nil {
		return err
	}
	if d.ShipmentProblems, err = a.store.CountShipmentProblems(ctx, t.ID); err != nil {
		return err
	}
	p := a.page(c, "Dashboard", views.SectionDashboard)
	return a.render(c, http.StatusOK, p, views.Dashboard(p, d))
}

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
