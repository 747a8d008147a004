package handlers

import (
	"context"
	"crypto/hmac"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"orderdesk/model"
	"orderdesk/views"
	"orderdesk/views/locales"
)

// maintenanceTTL is how long the app answers from its copy of the
// maintenance state before it reads the database again: an `orderdesk down`
// from the shell takes effect within it, and no request waits for a query.
const maintenanceTTL = 2 * time.Second

// Maintenance bypass: visiting /{secret} while the installation is down sets
// this cookie. It holds an HMAC of the secret's stored hash under the instance
// key, never the secret, and stops working when the operator takes the site
// down with another secret.
const (
	bypassCookie   = "orderdesk_maintenance"
	bypassLifetime = 12 * time.Hour
)

// maintenanceState is the app's copy of what is down, read again once it is
// maintenanceTTL old by one request while the others go on with the copy.
type maintenanceState struct {
	store *model.Store
	log   *slog.Logger
	mu    sync.Mutex // one read of the database at a time
	cur   atomic.Pointer[maintenanceSnapshot]
}

type maintenanceSnapshot struct {
	state *model.Maintenance
	at    time.Time
}

func (s *maintenanceSnapshot) fresh() bool { return s != nil && time.Since(s.at) < maintenanceTTL }

// get returns what is down, from the copy while it is fresh.
func (m *maintenanceState) get(ctx context.Context) *model.Maintenance {
	snap := m.cur.Load()
	if snap.fresh() {
		return snap.state
	}
	if snap != nil && !m.mu.TryLock() {
		return snap.state // another request is reading it again
	}
	if snap == nil {
		m.mu.Lock() // nothing to answer with yet: wait for the first read
	}
	defer m.mu.Unlock()
	if snap := m.cur.Load(); snap.fresh() {
		return snap.state
	}
	// The request's own end must not fail the read every request relies on.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	state, err := m.store.FindMaintenance(ctx)
	if err != nil {
		// Answer as before (up, at the first read) and try again after the
		// TTL: a database that cannot be read fails the pages by itself, and
		// /readyz reports it.
		m.log.Error("maintenance: read the state", "err", err)
		state = &model.Maintenance{}
		if snap != nil {
			state = snap.state
		}
	}
	m.cur.Store(&maintenanceSnapshot{state: state, at: time.Now()})
	return state
}

// forget drops the copy, after this process changed the state (an owner's
// toggle), so that the next request reads it again.
func (m *maintenanceState) forget() { m.cur.Store(nil) }

// kuveytReturnRe is the bank's 3-D Secure return, /pay/kuveyt/{number}/ok|fail.
var kuveytReturnRe = regexp.MustCompile(`^/pay/kuveyt/[^/]+/(ok|fail)$`)

// maintenanceExempt reports whether a request goes on during maintenance:
// the probes (a load balancer must not take the server out for it), static
// files (the maintenance page's stylesheet), the sandboxes, providers'
// webhooks and OAuth callbacks (the outside world does not know we are down,
// and what it tells us must not be lost), and the bank's 3-D Secure return (a
// customer's payment in flight).
func maintenanceExempt(path string) bool {
	switch {
	case path == "/healthz", path == "/readyz", path == "/sandbox":
		return true
	case strings.HasPrefix(path, "/static/"), strings.HasPrefix(path, "/sandbox/"),
		strings.HasPrefix(path, "/webhooks/"), strings.HasPrefix(path, "/oauth/"):
		return true
	}
	return kuveytReturnRe.MatchString(path)
}

// maintenance answers 503 while the installation is down (but to a browser
// with the bypass cookie), or while the request's shop is closed by its owner
// (but in /admin, where its staff keep working). It reads the state from
// memory (maintenanceState), so a shop that is up pays no query for it.
func (a *App) maintenance(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if maintenanceExempt(r.URL.Path) {
			return next(c)
		}
		m := a.maint.get(r.Context())
		if !m.Down() {
			return next(c)
		}
		slug, ok := a.tenantSlug(r.Host)
		if !ok {
			return next(c) // no shop of ours: its 404 says so
		}
		if d := m.Instance; d != nil {
			if d.SecretHash != "" {
				if a.isBypassVisit(r, d) {
					return a.grantBypass(c, d)
				}
				if a.hasBypass(r, d) {
					return next(c)
				}
			}
			return a.downPage(c, d.RetrySeconds, views.Down{Lang: m.Languages[slug], Message: d.Message})
		}
		if d, ok := m.Shops[slug]; ok && !isAdminPath(r.URL.Path) {
			return a.downPage(c, model.DefaultMaintenanceRetry, views.Down{Lang: d.Language, Message: d.Message, StaffLink: true})
		}
		return next(c)
	}
}

// isAdminPath reports whether path is in the back office.
func isAdminPath(path string) bool { return path == "/admin" || strings.HasPrefix(path, "/admin/") }

// isBypassVisit reports whether the request is a visit to /{secret}.
func (a *App) isBypassVisit(r *http.Request, d *model.InstanceDown) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	secret, ok := strings.CutPrefix(r.URL.Path, "/")
	if !ok || secret == "" || strings.Contains(secret, "/") {
		return false
	}
	hash, err := a.store.MaintenanceSecretHash(secret)
	if err != nil {
		a.log.Error("maintenance: hash a bypass secret", "err", err)
		return false
	}
	return hmac.Equal([]byte(hash), []byte(d.SecretHash))
}

// bypassToken is the bypass cookie's value for the maintenance d.
func (a *App) bypassToken(d *model.InstanceDown) string {
	return a.keys.MAC("maintenance-bypass", d.SecretHash)
}

// hasBypass reports whether the browser holds the bypass cookie of d.
func (a *App) hasBypass(r *http.Request, d *model.InstanceDown) bool {
	ck, err := r.Cookie(bypassCookie)
	return err == nil && hmac.Equal([]byte(ck.Value), []byte(a.bypassToken(d)))
}

// grantBypass sets the bypass cookie and sends the browser to the home page.
func (a *App) grantBypass(c echo.Context, d *model.InstanceDown) error {
	c.SetCookie(&http.Cookie{Name: bypassCookie, Value: a.bypassToken(d), Path: "/", MaxAge: int(bypassLifetime / time.Second),
		HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode})
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.Redirect(http.StatusSeeOther, "/")
}

// downPage answers 503 with Retry-After: the JSON envelope under /api/, the
// maintenance page elsewhere. htmx is told to reload the page, so that a
// click in a page loaded before shows the maintenance page rather than
// nothing.
func (a *App) downPage(c echo.Context, retrySeconds int, d views.Down) error {
	h := c.Response().Header()
	h.Set("Retry-After", strconv.Itoa(retrySeconds))
	h.Set(echo.HeaderCacheControl, "no-store")
	if isAPI(c) {
		msg := locales.T(d.Lang, "common.maintenance.api")
		if d.Message != "" {
			msg += " " + d.Message
		}
		return c.JSON(http.StatusServiceUnavailable, apiResponse{Success: false, Message: msg})
	}
	if c.Request().Header.Get("HX-Request") == "true" {
		h.Set("HX-Refresh", "true")
	}
	return a.renderComponent(c, http.StatusServiceUnavailable, views.DownPage(d))
}

// ShopMaintenancePage shows the owner whether the shop is closed to customers,
// and whether the whole installation is down.
func (a *App) ShopMaintenancePage(c echo.Context) error {
	f, err := a.shopMaintenanceForm(c)
	if err != nil {
		return err
	}
	if f.Down != nil {
		f.Message = f.Down.Message
	}
	p := a.page(c, "Maintenance", views.SectionSettings)
	return a.render(c, http.StatusOK, p, views.ShopMaintenance(p, f))
}

// ShopMaintenanceSave closes the shop to its customers (action=down, with a
// note) or opens it again (action=up). Opening it does not end the
// installation's maintenance: that is its operator's (orderdesk up).
func (a *App) ShopMaintenanceSave(c echo.Context) error {
	ctx := c.Request().Context()
	t, u := tenant(c), currentUser(c)
	var err error
	var done string
	switch c.FormValue("action") {
	case "down":
		err, done = a.store.SetShopDown(ctx, t.ID, u.ID, c.FormValue("message")),
			"The shop is closed to customers: they see the maintenance page until you open it again."
	case "up":
		err, done = a.store.SetShopUp(ctx, t.ID), "The shop is open to customers again."
	default:
		return echo.NewHTTPError(statusInvalid, "Choose to close the shop (action=down) or to open it (action=up).")
	}
	var ve *model.ValidationError
	if errors.As(err, &ve) {
		f, ferr := a.shopMaintenanceForm(c)
		if ferr != nil {
			return ferr
		}
		f.Message, f.Errors = c.FormValue("message"), ve.Fields
		p := a.page(c, "Maintenance", views.SectionSettings)
		return a.render(c, statusInvalid, p, views.ShopMaintenance(p, f))
	}
	if err != nil {
		return err
	}
	a.maint.forget()
	a.log.Info("shop maintenance", "tenant", t.Slug, "action", c.FormValue("action"), "user", u.Email)
	a.flash(c, views.FlashOK, done)
	return a.redirect(c, "/admin/settings/maintenance")
}

// shopMaintenanceForm reads the shop's and the installation's maintenance.
func (a *App) shopMaintenanceForm(c echo.Context) (views.ShopMaintenanceForm, error) {
	ctx := c.Request().Context()
	var f views.ShopMaintenanceForm
	down, err := a.store.FindShopDown(ctx, tenant(c).ID)
	switch {
	case err == nil:
		f.Down = down
	case !errors.Is(err, model.ErrNotFound):
		return f, err
	}
	inst, err := a.store.FindInstanceDown(ctx)
	switch {
	case err == nil:
		f.Instance = inst
	case !errors.Is(err, model.ErrNotFound):
		return f, err
	}
	return f, nil
}
