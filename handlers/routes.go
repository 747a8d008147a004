package handlers

import (
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"golang.org/x/time/rate"

	"orderdesk/model"
	"orderdesk/static"
	"orderdesk/views"
)

// routes lists every route of the application, in one place.
func (a *App) routes() *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = a.errorHandler
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisableErrorHandler: false, DisablePrintStack: true,
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			a.log.Error("panic", "err", err, "path", c.Request().URL.Path, "stack", string(stack))
			return err
		}}))
	e.Use(a.requestLog)
	e.Use(middleware.SecureWithConfig(middleware.SecureConfig{
		XSSProtection: "0", ContentTypeNosniff: "nosniff", XFrameOptions: "DENY",
		ReferrerPolicy: "same-origin",
	}))

	// Probes and static files need neither a tenant nor a session.
	e.GET("/healthz", a.Healthz)
	e.GET("/readyz", a.Readyz)
	e.GET("/static/*", echo.WrapHandler(static.Handler()))

	// Everything else belongs to the tenant of the host.
	t := e.Group("", a.resolveTenant, echo.WrapMiddleware(a.sessions.LoadAndSave), a.csrf())
	t.GET("/", func(c echo.Context) error { return c.Redirect(http.StatusSeeOther, "/admin/") })
	t.GET("/api/auth/csrf/", a.APICSRF)

	// The storefront API of seed 001.
	t.GET("/api/public/products/", a.APIProducts)
	t.GET("/api/public/shipping-methods/", a.APIShippingMethods)
	t.POST("/api/auth/register/", a.APIRegister)
	t.POST("/api/auth/login/", a.APILogin)
	t.POST("/api/auth/logout/", a.APILogout)
	t.POST("/api/cart/add/", a.APICartAdd)
	t.POST("/api/cart/coupon/", a.APICartCoupon)
	t.GET("/api/cart/", a.APICart)
	t.POST("/api/orders/", a.APIOrderCreate)
	t.GET("/api/orders/", a.APIOrders)
	t.GET("/api/orders/:id/", a.APIOrder)
	t.PATCH("/api/orders/:id/", a.APIOrderUpdate, a.requireStaff)

	// Public tracking: rate-limited per client address, since order numbers are
	// the only key.
	track := t.Group("", a.trackLimiter())
	track.GET("/api/orders/track/:number/", a.APITrack)

	t.GET("/admin", func(c echo.Context) error { return c.Redirect(http.StatusMovedPermanently, "/admin/") })
	t.GET("/admin/login", a.LoginPage)
	t.POST("/admin/login", a.Login)
	t.POST("/admin/logout", a.Logout)

	admin := t.Group("/admin", a.requireStaff)
	admin.GET("/", a.Dashboard)
	admin.GET("/orders", a.comingSoon(views.SectionOrders, "Orders", "The order desk (lists, filters, status changes, tracking) comes with the orders work."))
	admin.GET("/payments", a.comingSoon(views.SectionPayments, "Payments", "Payments, their review queue and refunds come with the payments work."))
	admin.GET("/integrations", a.comingSoon(views.SectionIntegrations, "Integrations", "Payment, delivery and messaging integrations in test and live mode come with the payments work."))
	admin.GET("/procurement", a.comingSoon(views.SectionProcurement, "Procurement", "Purchases from Taobao and the daily renewal of account sessions come with the procurement work."))
	admin.GET("/jobs", a.comingSoon(views.SectionJobs, "Jobs", "Background jobs and their runs come with the procurement work."))
	admin.GET("/settings", a.SettingsIndex)

	users := admin.Group("/settings/users", a.requireRole(model.Role.CanManageUsers))
	users.GET("", a.UsersIndex)
	users.POST("", a.UserCreate)
	users.POST("/:id", a.UserUpdate)

	return e
}

// csrf protects every state-changing request. Forms send the token in `_csrf`;
// htmx and API clients in the X-CSRF-Token header.
func (a *App) csrf() echo.MiddlewareFunc {
	return middleware.CSRFWithConfig(middleware.CSRFConfig{
		TokenLookup:    "header:X-CSRF-Token,form:_csrf",
		CookieName:     "orderdesk_csrf",
		CookiePath:     "/",
		CookieHTTPOnly: true,
		CookieSecure:   a.secure,
		CookieSameSite: http.SameSiteLaxMode,
		ContextKey:     "csrf",
		ErrorHandler: func(err error, c echo.Context) error {
			return echo.NewHTTPError(http.StatusForbidden, "The form has expired or did not come from this site. Reload the page and try again.")
		},
	})
}

// trackLimiter limits public tracking requests per client address.
func (a *App) trackLimiter() echo.MiddlewareFunc {
	return middleware.RateLimiterWithConfig(middleware.RateLimiterConfig{
		Store: middleware.NewRateLimiterMemoryStoreWithConfig(middleware.RateLimiterMemoryStoreConfig{
			Rate: rate.Limit(a.cfg.TrackRate), Burst: a.cfg.TrackBurst, ExpiresIn: 3 * time.Minute,
		}),
		IdentifierExtractor: func(c echo.Context) (string, error) { return clientIP(c), nil },
		DenyHandler: func(c echo.Context, _ string, _ error) error {
			return echo.NewHTTPError(http.StatusTooManyRequests, "Too many tracking requests from your address. Wait a minute and try again.")
		},
	})
}

// isAPI reports whether the request is for the JSON API.
func isAPI(c echo.Context) bool {
	return strings.HasPrefix(c.Request().URL.Path, "/api/")
}
