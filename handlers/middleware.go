package handlers

import (
	"errors"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"orderdesk/model"
)

// Context keys set by the middleware.
const (
	ctxTenant    = "tenant"
	ctxUser      = "user"
	ctxTokenUser = "token_user" // the user of the request's API token
)

// Session keys.
const (
	sessTenantID    = "tenant_id"
	sessUserID      = "staff_user_id"
	sessUserVersion = "staff_session_version" // the user's SessionVersion at sign-in
)

// requestLog logs one line per request with log/slog.
func (a *App) requestLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		status := c.Response().Status
		if status >= 500 {
			a.log.Error("request", "method", c.Request().Method, "path", c.Request().URL.Path, "status", status, "dur", time.Since(start), "err", err)
		} else {
			a.log.Debug("request", "method", c.Request().Method, "path", c.Request().URL.Path, "status", status, "dur", time.Since(start))
		}
		return nil
	}
}

// tenantSlug finds the tenant's slug in the request's host: `shop2.localhost:8080`
// is shop2 when the base host is localhost. The bare host and an IP address are
// the default tenant. Any other host is no shop of ours (ok false): answering it
// would let a forged Host header pass for this site.
func (a *App) tenantSlug(host string) (slug string, ok bool) {
	h := strings.ToLower(host)
	if hh, _, err := net.SplitHostPort(h); err == nil {
		h = hh
	}
	h = strings.TrimSuffix(h, ".")
	if net.ParseIP(strings.Trim(h, "[]")) != nil || h == a.baseHost {
		return a.cfg.DefaultTenant, true
	}
	if sub, ok := strings.CutSuffix(h, "."+a.baseHost); ok && sub != "" {
		if i := strings.LastIndexByte(sub, '.'); i >= 0 {
			sub = sub[i+1:] // www.shop2.localhost is shop2
		}
		return sub, true
	}
	return "", false
}

// resolveTenant finds the tenant once per request; an unknown one, or a host that
// is not ours, is a 404 page.
func (a *App) resolveTenant(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		slug, ok := a.tenantSlug(c.Request().Host)
		if !ok {
			return echo.NewHTTPError(http.StatusNotFound, "There is no shop at this address.")
		}
		t, err := a.store.FindTenantBySlug(c.Request().Context(), slug)
		if errors.Is(err, model.ErrNotFound) {
			return echo.NewHTTPError(http.StatusNotFound, "There is no shop at this address.")
		}
		if err != nil {
			return err
		}
		c.Set(ctxTenant, t)
		return next(c)
	}
}

// shopURL is the address of the shop t as the world reaches it: the scheme, host
// and port of the configured base URL, with the shop's slug as subdomain (the
// bare base URL for the default shop). Every URL given to a provider or put in a
// message is built on it, never on the request's Host header.
func (a *App) shopURL(t *model.Tenant) string {
	return model.ShopURL(a.cfg.BaseURL, t, a.cfg.DefaultTenant)
}

// tenant is the request's tenant; only valid behind resolveTenant.
func tenant(c echo.Context) *model.Tenant { return c.Get(ctxTenant).(*model.Tenant) }

// currentUser is the signed-in staff user, or nil.
func currentUser(c echo.Context) *model.User {
	u, _ := c.Get(ctxUser).(*model.User)
	return u
}

// loadUser reads the signed-in staff user: the API token's user for a bearer
// request, else the session's. A session of another tenant, of a deactivated or
// deleted user, or from before the user's last deactivation counts as signed out.
func (a *App) loadUser(c echo.Context) (*model.User, error) {
	if u, ok := c.Get(ctxTokenUser).(*model.User); ok {
		return u, nil
	}
	ctx := c.Request().Context()
	id := a.sessions.GetInt64(ctx, sessUserID)
	if id == 0 || a.sessions.GetInt64(ctx, sessTenantID) != tenant(c).ID {
		return nil, nil
	}
	u, err := a.store.FindUserByID(ctx, tenant(c).ID, id)
	if errors.Is(err, model.ErrNotFound) || (err == nil && (!u.Active || u.SessionVersion != a.sessions.GetInt64(ctx, sessUserVersion))) {
		return nil, nil
	}
	return u, err
}

// authenticate loads who is calling. A request with `Authorization: Bearer …`
// is an API client with a personal token: it gets the token's user (refused with
// 401 when the token is not valid on this shop) and an empty session that is
// never saved, so it sets no cookie; CSRF does not apply to it (see csrf). Every
// other request gets its cookie session.
func (a *App) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	withSession := a.loadSession(next)
	return func(c echo.Context) error {
		token, ok := bearerToken(c.Request().Header.Get(echo.HeaderAuthorization))
		if !ok {
			return withSession(c)
		}
		refuse := func(msg string) error {
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer error="invalid_token"`)
			return echo.NewHTTPError(http.StatusUnauthorized, msg)
		}
		if !isAPI(c) {
			return refuse("API tokens work only on the JSON API under /api/.")
		}
		u, err := a.store.UserByAPIToken(c.Request().Context(), tenant(c).ID, token)
		if errors.Is(err, model.ErrNotFound) {
			return refuse("The API token is not valid for this shop: it is mistyped, revoked, belongs to another shop, or its user was deactivated.")
		}
		if err != nil {
			return err
		}
		ctx, err := a.sessions.Load(c.Request().Context(), "")
		if err != nil {
			return err
		}
		c.SetRequest(c.Request().WithContext(ctx))
		c.Set(ctxSessionLoaded, true)
		c.Set(ctxTokenUser, u)
		return next(c)
	}
}

// bearerToken reads the token of an `Authorization: Bearer <token>` header. Other
// schemes (say, Basic from a proxy in front of the site) are not ours to judge.
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(token), true
}

// isBearer reports whether the request was authenticated by an API token.
func isBearer(c echo.Context) bool {
	_, ok := c.Get(ctxTokenUser).(*model.User)
	return ok
}

// requireStaff lets signed-in staff through and sends everybody else to sign in.
func (a *App) requireStaff(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		u, err := a.loadUser(c)
		if err != nil {
			return err
		}
		if u == nil {
			if isAPI(c) {
				return echo.NewHTTPError(http.StatusUnauthorized, "Sign in first.")
			}
			return a.redirect(c, "/admin/login?next="+url.QueryEscape(c.Request().URL.RequestURI()))
		}
		c.Set(ctxUser, u)
		return next(c)
	}
}

// requireRole refuses (403) staff whose role fails allowed.
func (a *App) requireRole(allowed func(model.Role) bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if u := currentUser(c); u == nil || !allowed(u.Role) {
				return echo.NewHTTPError(http.StatusForbidden, "Your role does not allow this. Ask an owner or admin of the shop.")
			}
			return next(c)
		}
	}
}

// clientIP is the address the throttle counts. Behind a proxy, Echo's IPExtractor
// would be configured; we serve directly, so the peer address is the truth.
func clientIP(c echo.Context) string {
	host, _, err := net.SplitHostPort(c.Request().RemoteAddr)
	if err != nil {
		return c.Request().RemoteAddr
	}
	return host
}

// csrfFromBody makes the CSRF check read a form's token only from the request
// body. Echo's `form:` lookup reads Request().Form, which also holds the URL's
// query, so `?_csrf=` would pass, and a token in a URL leaks through logs,
// history and Referer. The header (X-CSRF-Token) is unaffected.
func csrfFromBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
			return next(c) // the CSRF check does not read tokens of safe methods
		}
		var err error
		if mt, _, _ := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType)); mt == echo.MIMEMultipartForm {
			err = r.ParseMultipartForm(32 << 20) // what Echo's c.FormValue would parse anyway
		} else {
			err = r.ParseForm()
		}
		if err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, "The form could not be read: "+err.Error())
		}
		// PostForm holds the body's values only, urlencoded and multipart alike.
		if v := r.PostForm["_csrf"]; len(v) > 0 {
			r.Form["_csrf"] = v
		} else {
			delete(r.Form, "_csrf")
		}
		return next(c)
	}
}
