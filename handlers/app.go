// Package handlers holds the HTTP side of OrderDesk: the routes (routes.go lists
// them all), the middleware, and one file per resource. Handlers are thin: they
// parse the request, call the model, and render a view or JSON.
package handlers

import (
	"context"
	"database/sql"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/alexedwards/scs/sqlite3store"
	"github.com/alexedwards/scs/v2"
	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"orderdesk/model"
	"orderdesk/providers/egress"
	"orderdesk/services/delivery"
	"orderdesk/services/integrations"
	"orderdesk/services/payments"
	"orderdesk/services/procurement"
)

// Config is what the HTTP layer needs to know about its deployment.
type Config struct {
	// BaseURL is the public address of the bare host, e.g. http://localhost:8080.
	// Tenants live on its subdomains.
	BaseURL string
	// DefaultTenant is the slug served on the bare host.
	DefaultTenant string
	// Logger receives the request and error logs.
	Logger *slog.Logger
	// TrackRate is how many public tracking requests per second one client
	// address may make (default 1, with bursts of TrackBurst, default 20).
	TrackRate  float64
	TrackBurst int
	// Sandboxes, when set, are served under /sandbox/.
	Sandboxes *Sandboxes
	// CallbackBaseURL is where providers reach this server's webhooks; default
	// BaseURL.
	CallbackBaseURL string
	// Payments is the payment flow (services/payments); when nil, New makes
	// one from BaseURL and CallbackBaseURL.
	Payments *payments.Service
	// Delivery is the delivery flow (services/delivery); when nil, New makes
	// one from CallbackBaseURL.
	Delivery *delivery.Service
	// Procurement runs the Taobao steps for one order (jobs.Procurement).
	Procurement Procurement
	// OT is the OT Platform flow (services/procurement); when nil, New makes
	// one from BaseURL.
	OT *procurement.Service
	// Jobs lists the background jobs with their intervals.
	Jobs func() []JobInfo
	// RunJob runs the named job for one shop now and waits up to wait for it
	// to end (the scheduler's RunNow): it returns the run, finished or still
	// going, or a model.ErrConflict saying why it could not start (paused,
	// running already).
	RunJob func(ctx context.Context, t *model.Tenant, name string, wait time.Duration) (*model.JobRun, error)
	// Egress says which addresses provider calls may reach (public ones, the
	// instance's sandboxes, private ones only when the instance allows it).
	// Every provider client the app builds uses its client.
	Egress egress.Policy
}

// Procurement is what the pages need of the procurement work, for one shop.
type Procurement interface {
	PushOrder(ctx context.Context, t *model.Tenant, orderID int64) ([]string, error)
	PayOrder(ctx context.Context, t *model.Tenant, orderID int64) ([]string, error)
	SyncOrder(ctx context.Context, t *model.Tenant, orderID int64) ([]string, error)
	SyncPurchase(ctx context.Context, t *model.Tenant, purchaseID string) ([]string, error)
}

// JobInfo is a background job as /admin/jobs shows it.
type JobInfo struct {
	Name     string
	Interval time.Duration
}

// App holds the dependencies of every handler.
type App struct {
	store    *model.Store
	keys     *model.Keyring
	sessions *scs.SessionManager
	// shopCookies holds the anonymous shopping state (cart id, promo, bonus).
	shopCookies *sessions.CookieStore
	cfg         Config
	baseHost    string // the bare host without port, lower-case
	secure      bool   // served over HTTPS: cookies get Secure
	log         *slog.Logger
	echo        *echo.Echo
	pay         *payments.Service
	delivery    *delivery.Service
	ot          *procurement.Service
	// integrations creates, tests and takes live integrations.
	integrations *integrations.Service
	// providerClient is the egress policy's HTTP client, for every provider
	// call the handlers make (payments, Taobao); one, for its connections.
	providerClient *http.Client
	// admission has page views take turns to compute (admission.go).
	admission admission
	// maint is the copy in memory of what is down for maintenance.
	maint *maintenanceState
	// metrics are the app's own Prometheus collectors (metrics.go).
	metrics *metrics
}

// providerTimeout bounds one call to a provider, as the provider clients'
// own defaults do (20–30 s).
const providerTimeout = 30 * time.Second

// New builds the application and its router.
func New(store *model.Store, cfg Config) (*App, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.DefaultTenant == "" {
		cfg.DefaultTenant = model.DemoTenantSlug
	}
	if cfg.CallbackBaseURL == "" {
		cfg.CallbackBaseURL = cfg.BaseURL
	}
	if cfg.TrackRate <= 0 {
		cfg.TrackRate = 1
	}
	if cfg.TrackBurst <= 0 {
		cfg.TrackBurst = 20
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = "http://localhost:8080"
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	a := &App{
		store:    store,
		keys:     store.Keys,
		cfg:      cfg,
		baseHost: strings.ToLower(u.Hostname()),
		secure:   u.Scheme == "https",
		log:      cfg.Logger,
		maint:    &maintenanceState{store: store, log: cfg.Logger},
	}
	// The e-mail sandbox speaks SMTP on a port of its own, not under
	// /sandbox/: its address is named so that it is never a live endpoint.
	var sandboxes []string
	if cfg.Sandboxes != nil {
		sandboxes = append(sandboxes, "smtp://"+cfg.Sandboxes.SMTPAddr())
	}
	a.integrations = integrations.New(store, cfg.Egress, sandboxes...)
	a.providerClient = cfg.Egress.Client(providerTimeout)
	a.pay = cfg.Payments
	if a.pay == nil {
		a.pay = payments.New(payments.Config{Store: store, Log: cfg.Logger, CallbackBaseURL: cfg.CallbackBaseURL, HTTPClient: a.providerClient,
			ShopURL: func(t *model.Tenant) string { return model.ShopURL(cfg.BaseURL, t, cfg.DefaultTenant) }})
	}
	a.delivery = cfg.Delivery
	if a.delivery == nil {
		a.delivery = delivery.New(delivery.Config{Store: store, Log: cfg.Logger, CallbackBaseURL: cfg.CallbackBaseURL, HTTPClient: a.providerClient})
	}
	a.ot = cfg.OT
	if a.ot == nil {
		a.ot = procurement.New(procurement.Config{Store: store, Log: cfg.Logger, HTTPClient: a.providerClient,
			ShopURL: func(t *model.Tenant) string { return model.ShopURL(cfg.BaseURL, t, cfg.DefaultTenant) }})
	}
	a.metrics = newMetrics(store, cfg.Logger)
	a.sessions = a.newSessionManager()
	a.shopCookies = newCookieStore(store.Keys, a.secure)
	a.admission = newAdmission(admittedAtOnce())
	a.echo = a.routes()
	return a, nil
}

// Handler is the application as an http.Handler.
func (a *App) Handler() http.Handler { return a.echo }

// newSessionManager sets up the server-side sign-in sessions. Sessions are read from
// the read pool and written through the one writer, like every other query.
func (a *App) newSessionManager() *scs.SessionManager {
	sm := scs.New()
	sm.Codec = sessionCodec
	sm.Store = &splitStore{
		read:  sqlite3store.NewWithCleanupInterval(a.store.DB.R, 0),
		write: sqlite3store.NewWithCleanupInterval(a.store.DB.W, 30*time.Minute),
		db:    a.store.DB.R,
		kept:  newKeptSessions(),
	}
	sm.Lifetime = 12 * time.Hour   // absolute: sign in again every working day
	sm.IdleTimeout = 2 * time.Hour // idle: a forgotten browser does not stay signed in
	sm.Cookie.Name = "orderdesk_session"
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Secure = a.secure
	sm.Cookie.Path = "/"
	sm.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		a.log.Error("session", "err", err, "path", r.URL.Path)
		http.Error(w, "The server could not load your session.", http.StatusInternalServerError)
	}
	return sm
}

// splitStore reads sessions through the read pool and writes them through the
// writer. It stores each session under the SHA-256 of its token, so that a copy
// of the database (a backup, a stolen file) holds no usable session cookie. A
// request that changes nothing in its session writes it at most once a minute
// (session_touch.go).
type splitStore struct {
	read, write *sqlite3store.SQLite3Store
	db          *sql.DB // the read pool, for FindCtx
	kept        *keptSessions
}

// Find reads the session of a cookie's token.
func (s *splitStore) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}

// Delete removes the session of a token (sign-out, renewal).
func (s *splitStore) Delete(token string) error {
	hashed := model.HashToken(token)
	err := s.write.Delete(hashed)
	s.kept.wrote(hashed, keptSession{}, true) // forgotten even if the delete failed
	return err
}

// Commit saves the session of a token until expiry.
func (s *splitStore) Commit(token string, b []byte, expiry time.Time) error {
	return s.commit(model.HashToken(token), b, expiry)
}

// commit saves the session of a hashed token and keeps it.
func (s *splitStore) commit(hashed string, b []byte, expiry time.Time) error {
	if err := s.write.Commit(hashed, b, expiry); err != nil {
		s.kept.wrote(hashed, keptSession{}, true) // what is stored is not known
		return err
	}
	s.kept.wrote(hashed, keptSession{data: b, expiry: expiry, at: s.kept.now()}, false)
	return nil
}
