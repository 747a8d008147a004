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
)

// routes lists every route of the application, in one place.
func (a *App) routes() *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = a.errorHandler
	e.Use(a.measure) // first: it times everything and sees the status sent
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
	e.Use(a.securityHeaders)
	// On every request, those of paths no route knows (/{secret}) too.
	e.Use(a.maintenance)

	// Probes and static files need neither a tenant nor a session.
	e.GET("/healthz", a.Healthz)
	e.GET("/readyz", a.Readyz)
	e.GET("/static/*", echo.WrapHandler(static.Handler()))
	if a.cfg.Sandboxes != nil {
		a.cfg.Sandboxes.mount(e)
	}
	// Providers' notifications: no tenant host, no session, no CSRF token; the
	// integration in the URL names the tenant and the signature proves the sender.
	hooks := e.Group("/webhooks", a.countWebhook)
	hooks.POST("/taobao/:integration", a.TaobaoWebhook)
	hooks.POST("/cdek/:integration", a.CDEKWebhook)
	hooks.POST("/dostavista/:integration", a.DostavistaCallback)
	hooks.POST("/:provider/:integration", a.PaymentWebhook)
	hooks.POST("/:provider/:integration/v1/webhook", a.PaymentWebhook) // Yandex Pay appends /v1/webhook
	// The bank's 3-D Secure answer comes back through the browser as a cross-site
	// POST: the tenant's host, but neither its session nor a CSRF token.
	bank := e.Group("", a.resolveTenant, limitBody())
	bank.POST("/pay/kuveyt/:number/ok", a.KuveytReturn)
	bank.POST("/pay/kuveyt/:number/fail", a.KuveytReturn)

	// Everything else belongs to the tenant of the host. Staff scripts may call the
	// API with a personal token instead of a session (authenticate).
	t := e.Group("", a.admission.middleware, a.resolveTenant, limitBody(), a.authenticate, csrfFromBody, a.csrf())
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
	t.POST("/api/payments/create/", a.APIPaymentCreate)
	t.POST("/api/payments/verify/", a.APIPaymentVerify)
	t.GET("/api/payments/", a.APIPayments, a.requireStaff)
	t.POST("/api/payments/:id/refund/", a.APIPaymentRefund, a.requireStaff, a.requireRole(model.Role.CanManageUsers))
	t.GET("/pay/return/:number", a.PaymentReturn)
	t.GET("/pay/again/:number", a.PayAgainPage)
	t.POST("/pay/again/:number", a.PayAgainSubmit)
	t.GET("/pay/kuveyt/:number", a.KuveytCardPage)
	t.POST("/pay/kuveyt/:number", a.KuveytCardSubmit)
	apiManage := t.Group("/api/integrations", a.requireStaff, a.requireRole(model.Role.CanManageUsers))
	apiManage.GET("/", a.APIIntegrations)
	apiManage.POST("/", a.APIIntegrationCreate)
	apiManage.PATCH("/:id/", a.APIIntegrationUpdate)
	apiManage.POST("/:id/test/", a.APIIntegrationTest)

	// Public tracking: rate-limited per client address, since order numbers are
	// the only key. The pages change nothing: no session and no CSRF token,
	// but for the thank-you after checkout (public.go).
	// Route middleware, not a group's: a group of prefix "" would take over
	// the tenant group's answer to unknown paths.
	// Its views take turns like every page's (admission.go), once the limiter
	// let them through: a flood of refused requests takes no turns.
	track := []echo.MiddlewareFunc{a.resolveTenant, limitBody(), a.trackLimiter(), a.admission.middleware, a.sessionWhen(placedNotice)}
	e.GET("/api/orders/track/:number/", a.APITrack, track...)
	e.GET("/track", a.TrackForm, track...)
	e.GET("/track/:number", a.TrackPage, a.resolveTenant, limitBody(), a.trackLimiter(), a.admission.middleware, a.sessionWhen(a.shopperPage))

	// The small HTML storefront.
	t.GET("/shop", a.ShopIndex)
	t.POST("/shop/cart/add", a.ShopCartAdd)
	t.GET("/shop/cart", a.ShopCart)
	t.POST("/shop/cart/update", a.ShopCartUpdate)
	t.POST("/shop/cart/coupon", a.ShopCartCoupon)
	t.POST("/shop/cart/bonus", a.ShopCartBonus)
	t.GET("/shop/checkout", a.ShopCheckout)
	t.POST("/shop/checkout", a.ShopCheckoutSubmit)
	t.GET("/shop/orders", a.ShopOrders)
	t.GET("/shop/orders/:id", a.ShopOrder)
	t.GET("/shop/login", a.ShopLoginPage)
	t.POST("/shop/login", a.ShopLogin)
	t.GET("/shop/register", a.ShopRegisterPage)
	t.POST("/shop/register", a.ShopRegister)
	t.POST("/shop/logout", a.ShopLogout)

	t.GET("/admin", func(c echo.Context) error { return c.Redirect(http.StatusMovedPermanently, "/admin/") })
	t.GET("/admin/login", a.LoginPage)
	t.POST("/admin/login", a.Login)
	t.POST("/admin/logout", a.Logout)

	// The metrics for a signed-in owner; Prometheus scrapes them on their own
	// address (ORDERDESK_METRICS_ADDR, App.MetricsHandler).
	t.GET("/metrics", a.Metrics, a.requireStaff, a.requireRole(isOwner))

	admin := t.Group("/admin", a.requireStaff)
	admin.GET("/", a.Dashboard)
	admin.GET("/account", a.AccountPage)
	admin.POST("/account/language", a.AccountLanguage)
	admin.GET("/orders", a.OrdersIndex)
	admin.GET("/orders/export.csv", a.OrdersExport)
	admin.POST("/orders/bulk", a.OrdersBulk)
	admin.POST("/orders/shipments", a.OrdersShipments)
	admin.GET("/orders/:id", a.OrderShow)
	admin.POST("/orders/:id/shipment", a.OrderShipmentCreate)
	admin.POST("/orders/:id/shipment/refresh", a.OrderShipmentRefresh)
	admin.POST("/orders/:id/status", a.OrderTransition)
	admin.POST("/orders/:id/notes", a.OrderNote)
	admin.POST("/orders/:id/refund", a.OrderRefund, a.requireAction(model.ActionRefund))
	admin.GET("/settings/delivery", a.DeliverySettingsPage, a.requireRole(model.Role.CanManageUsers))
	admin.POST("/settings/delivery", a.DeliverySettingsSave, a.requireRole(model.Role.CanManageUsers))
	admin.GET("/settings/procurement", a.ProcurementSettingsPage, a.requireRole(model.Role.CanManageUsers))
	admin.POST("/settings/procurement", a.ProcurementSettingsSave, a.requireRole(model.Role.CanManageUsers))
	admin.POST("/settings/procurement/products", a.ProductChannelSave, a.requireRole(model.Role.CanManageUsers))
	admin.POST("/settings/procurement/statuses", a.OTStatusMapSave, a.requireRole(model.Role.CanManageUsers))
	admin.GET("/settings/orders", a.OrderSettingsPage, a.requireRole(model.Role.CanManageUsers))
	admin.POST("/settings/orders", a.OrderSettingsSave, a.requireRole(model.Role.CanManageUsers))
	admin.GET("/payments", a.PaymentsIndex)
	admin.GET("/payments/:id", a.PaymentShow)
	admin.POST("/payments/:id/refund", a.PaymentRefund, a.requireAction(model.ActionRefund))
	admin.POST("/payments/reviews/:id", a.PaymentReviewResolve, a.requireAction(model.ActionManageShop))
	admin.POST("/payments/reconcile", a.PaymentsReconcile, a.requireRole(model.Role.CanManageUsers))
	admin.GET("/messages", a.MessagesIndex)
	admin.POST("/messages/:id/retry", a.MessageRetry)
	admin.GET("/integrations", a.IntegrationsIndex)
	manage := admin.Group("/integrations", a.requireRole(model.Role.CanManageUsers))
	manage.GET("/new", a.IntegrationNew)
	manage.POST("", a.IntegrationCreate)
	manage.GET("/:id/edit", a.IntegrationEditPage)
	manage.POST("/:id", a.IntegrationUpdate)
	manage.POST("/:id/test", a.IntegrationTest)
	manage.GET("/:id/live", a.IntegrationLiveConfirm)
	manage.POST("/:id/status", a.IntegrationSetStatus)
	admin.GET("/procurement", a.ProcurementIndex)
	buy := admin.Group("/procurement", a.requireRole(model.Role.CanBuy))
	buy.POST("/orders/:id/:step", a.ProcurementStep)
	buy.GET("/accounts", a.AccountsIndex)
	buy.POST("/accounts/connect", a.AccountConnect)
	t.GET("/oauth/taobao/callback", a.TaobaoCallback, a.requireStaff, a.requireRole(model.Role.CanBuy))
	admin.POST("/orders/:id/ot/:action", a.OrderOT, a.requireRole(model.Role.CanBuy))
	admin.GET("/procurement/ot/activities", a.OTActivitiesIndex)
	admin.GET("/procurement/ot/activities/:id", a.OTActivityShow)
	buy.POST("/ot/activities/:id/answer", a.OTActivityAnswer)
	buy.POST("/ot/activities/:id/cancel", a.OTActivityCancel)
	buy.GET("/ot/sessions", a.OTSessionsIndex)
	buy.POST("/ot/sessions/authorise", a.OTAuthorise)
	// OT sends the operator back here on the shop's own address, where their
	// session is (procurement.ReturnPath).
	t.GET("/oauth/otapi/return", a.OTReturn, a.requireStaff, a.requireRole(model.Role.CanBuy))
	admin.GET("/warehouse", a.WarehouseIndex)
	admin.POST("/warehouse/scan", a.WarehouseScan)
	admin.GET("/jobs", a.JobsIndex)
	admin.POST("/jobs/:name/run", a.JobRun, a.requireAction(model.ActionRunJobs))
	admin.GET("/jobs/runs/:id", a.JobRunShow)
	admin.POST("/jobs/:name/pause", a.JobPause, a.requireAction(model.ActionRunJobs))
	admin.GET("/settings", a.SettingsIndex)
	admin.GET("/settings/maintenance", a.ShopMaintenancePage, a.requireRole(model.Role.CanCloseShop))
	admin.POST("/settings/maintenance", a.ShopMaintenanceSave, a.requireRole(model.Role.CanCloseShop))

	admin.GET("/settings/api-tokens", a.APITokensIndex)
	admin.POST("/settings/api-tokens", a.APITokenCreate)
	admin.POST("/settings/api-tokens/:id/revoke", a.APITokenRevoke)

	users := admin.Group("/settings/users", a.requireRole(model.Role.CanManageUsers))
	users.GET("", a.UsersIndex)
	users.POST("", a.UserCreate)
	users.POST("/:id", a.UserUpdate)

	return e
}

// Request body limits. Forms and JSON bodies are small; the settlement CSV is
// the one file people upload.
const (
	bodyLimit       = "64K"
	uploadBodyLimit = "8M"
	// uploadPath is the one route that takes the larger body.
	uploadPath = "/admin/payments/reconcile"
)

// limitBody caps a request's body before anything reads it (the CSRF check
// reads the form): bodyLimit everywhere, uploadBodyLimit on uploadPath. A
// larger body is a 413, whether it says its length or not.
func limitBody() echo.MiddlewareFunc {
	isUpload := func(c echo.Context) bool { return c.Path() == uploadPath }
	small := middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{Limit: bodyLimit, Skipper: isUpload})
	large := middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{Limit: uploadBodyLimit,
		Skipper: func(c echo.Context) bool { return !isUpload(c) }})
	return func(next echo.HandlerFunc) echo.HandlerFunc { return small(large(next)) }
}

// csrf protects every state-changing request. Forms send the token in `_csrf`
// (in the body only: csrfFromBody); htmx and API clients in the X-CSRF-Token
// header. A request with an API token needs none: a browser never adds an
// Authorization header on its own, so another site cannot forge one.
func (a *App) csrf() echo.MiddlewareFunc {
	return middleware.CSRFWithConfig(middleware.CSRFConfig{
		Skipper:        isBearer,
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
