package otapi

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"orderdesk/providers/internal/sandboxkit"
	"strconv"
	"strings"
	"sync"
	"time"

	"orderdesk/providers/internal/httpbody"
	"orderdesk/providers/internal/sandboxdb"
)

// Demo account of the sandbox: what it accepts when SandboxConfig leaves a
// field empty.
const (
	DemoInstanceKey      = "otapi-sandbox-instance-key"
	DemoSecret           = "otapi-sandbox-secret"
	DemoOperatorLogin    = "operator"
	DemoOperatorPassword = "operator-password"
	DemoUserLogin        = "buyer"
	DemoUserPassword     = "buyer-password"
	// DemoCustomerID is the buyer's customer id (PostTransaction).
	DemoCustomerID = "1001"
	// DemoUserProfileID is the buyer's profile (AddOrder's UserProfileId;
	// GetUserProfileInfoList at OT).
	DemoUserProfileID = "2001"
	// DemoDeliveryModeID is the free external delivery seed 002 asks to
	// create in the OT admin.
	DemoDeliveryModeID = "external-free"
	// DemoProviderLogin and DemoProviderLogin2 are the Taobao logins
	// (buyer nicks) the operator can authorise on the sandbox's Taobao
	// page.
	DemoProviderLogin  = "orderdesk_tb_buyer"
	DemoProviderLogin2 = "orderdesk_tb_buyer2"
	// SandboxCurrency is the currency of the sandbox instance: its prices
	// are Taobao's, in fen.
	SandboxCurrency = "CNY"
)

// providerLogins are the Taobao accounts the sandbox's login page offers.
var providerLogins = []string{DemoProviderLogin, DemoProviderLogin2}

// ErrNotFound is returned by the sandbox helpers for unknown records.
var ErrNotFound = errors.New("otapi sandbox: not found")

// SandboxConfig configures NewSandbox.
type SandboxConfig struct {
	// InstanceKey and Secret are what the sandbox accepts (default
	// DemoInstanceKey / DemoSecret); signatures are always checked.
	InstanceKey string
	Secret      string
	// Operator and buyer credentials (default the Demo* constants).
	OperatorLogin    string
	OperatorPassword string
	UserLogin        string
	UserPassword     string
	// BaseURL is where the sandbox is mounted, e.g.
	// "http://localhost:8080/sandbox/otapi"; it builds the provider
	// authorisation URL.
	BaseURL string
	// SessionTTL is the life of operator and buyer sessions (default 24 h).
	SessionTTL time.Duration
	// ProviderSessionTTL is the life of a provider session (default 24 h:
	// seed 002 says a Taobao session lives about a day).
	ProviderSessionTTL time.Duration
	// Now is the sandbox clock (default time.Now).
	Now func() time.Time
}

// Sandbox plays OT Platform for seed 002's autobuy: the signed
// service-json API (sessions, provider authorisation, AddOrder and
// CancelSalesOrder, the simulated payment, order details and searches, and
// the export, sync, link and unlink background activities with their
// questions), a Taobao login page for the provider authorisation and a
// control page, with its state in SQLite tables named otapi_*. It is an
// http.Handler meant to be mounted with http.StripPrefix.
//
// Its Taobao is simulated too: a small catalogue (SandboxCatalogue) with
// items off sale, a configuration gone, a seller gone, a changed price, a
// short stock and a Tmall item; provider orders placed by exports or
// "bought by hand" (BuyByHand) for linking; each synchronisation moves
// every provider order one step along (paid, sent with a track number,
// received).
//
// An activity does its work in one transaction at its last step, so one
// cancelled before it finishes has changed nothing: a cancelled export
// leaves the order unexported (see sandbox_activities.go).
type Sandbox struct {
	sandboxkit.Board // SetBaseURL, BaseURL; the latency is in SandboxSwitches

	db  *sql.DB
	cfg SandboxConfig
	mux *http.ServeMux

	// writeMu serialises state changes (balances, orders, activities) so
	// that a check and its update are one step.
	writeMu sync.Mutex

	mu sync.Mutex // guards sw
	sw SandboxSwitches
}

// SandboxSwitches is the state of the sandbox's switches.
type SandboxSwitches struct {
	// FailNext makes the next API call fail with InternalError.
	FailNext bool
	// FailNextExport is the reason (a Reason constant) the next export
	// fails with when it places the order; "" for none.
	FailNextExport string
	// AskNextExport is a question the next export asks about its first
	// line, before its own checks; "" for none.
	AskNextExport string
	// UnpaidOrdersLimit and InvalidBuyoutAddress make every export fail
	// with that error while they are on.
	UnpaidOrdersLimit    bool
	InvalidBuyoutAddress bool
	// InstanceBanned makes every call fail with InstanceKeyBan.
	InstanceBanned bool
	// Latency delays every API answer.
	Latency time.Duration
}

// The tables: otapi_orders and otapi_activities of the first sandbox (which
// only exported whole orders) are left unused in older data folders; the
// orders and activities live in otapi_sales_* and
// otapi_background_activities.
const schema = `
CREATE TABLE IF NOT EXISTS otapi_sessions (
	session_id TEXT PRIMARY KEY,
	kind       TEXT NOT NULL, -- operator or user
	login      TEXT NOT NULL,
	expires_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS otapi_customers (
	cust_id TEXT PRIMARY KEY,
	login   TEXT    NOT NULL UNIQUE,
	name    TEXT    NOT NULL,
	balance INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS otapi_transactions (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	cust_id    TEXT    NOT NULL,
	amount     INTEGER NOT NULL, -- signed: positive tops the account up
	comment    TEXT    NOT NULL DEFAULT '',
	created_at TEXT    NOT NULL
);
CREATE TABLE IF NOT EXISTS otapi_provider_auth (
	token         TEXT PRIMARY KEY,
	provider_type TEXT    NOT NULL,
	return_url    TEXT    NOT NULL,
	used          INTEGER NOT NULL DEFAULT 0,
	created_at    TEXT    NOT NULL
);
CREATE TABLE IF NOT EXISTS otapi_provider_sessions (
	id            TEXT PRIMARY KEY,
	provider_type TEXT NOT NULL,
	name          TEXT NOT NULL,
	expires_at    TEXT NOT NULL,
	created_at    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS otapi_sales_orders (
	seq              INTEGER PRIMARY KEY,
	id               TEXT    NOT NULL UNIQUE,
	cust_id          TEXT    NOT NULL,
	comment          TEXT    NOT NULL DEFAULT '',
	delivery_mode_id TEXT    NOT NULL,
	user_profile_id  TEXT    NOT NULL DEFAULT '',
	total            INTEGER NOT NULL,
	paid             INTEGER NOT NULL DEFAULT 0,
	cancelled        INTEGER NOT NULL DEFAULT 0,
	created_at       TEXT    NOT NULL
);
-- SearchOrders by comment: the app's crash recovery asks it for every order.
CREATE INDEX IF NOT EXISTS otapi_sales_orders_comment ON otapi_sales_orders (comment);
CREATE TABLE IF NOT EXISTS otapi_sales_lines (
	id                TEXT PRIMARY KEY,
	order_id          TEXT    NOT NULL,
	pos               INTEGER NOT NULL,
	item_id           TEXT    NOT NULL,
	config_id         TEXT    NOT NULL,
	promotion_id      TEXT    NOT NULL DEFAULT '',
	quantity          INTEGER NOT NULL,
	price             INTEGER NOT NULL, -- per unit, fen
	status_id         TEXT    NOT NULL,
	vend_purch_id     TEXT    NOT NULL DEFAULT '',
	vend_waybill      TEXT    NOT NULL DEFAULT '',
	vend_account      TEXT    NOT NULL DEFAULT '',
	vend_status       TEXT    NOT NULL DEFAULT '',
	vend_item_id      TEXT    NOT NULL DEFAULT '',
	vend_config_id    TEXT    NOT NULL DEFAULT '',
	vend_promotion_id TEXT    NOT NULL DEFAULT ''
);
-- An order's lines, and SearchOrderLines by provider order and by waybill.
CREATE INDEX IF NOT EXISTS otapi_sales_lines_order ON otapi_sales_lines (order_id, pos);
CREATE INDEX IF NOT EXISTS otapi_sales_lines_vend ON otapi_sales_lines (vend_purch_id);
CREATE INDEX IF NOT EXISTS otapi_sales_lines_waybill ON otapi_sales_lines (vend_waybill);
CREATE TABLE IF NOT EXISTS otapi_provider_orders (
	seq        INTEGER PRIMARY KEY,
	id         TEXT    NOT NULL UNIQUE,
	account    TEXT    NOT NULL,
	seller     TEXT    NOT NULL,
	status     TEXT    NOT NULL, -- Taobao's trade status
	waybill    TEXT    NOT NULL DEFAULT '',
	items      TEXT    NOT NULL, -- JSON list of providerItem
	by_hand    INTEGER NOT NULL DEFAULT 0,
	created_at TEXT    NOT NULL
);
CREATE TABLE IF NOT EXISTS otapi_background_activities (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	type       TEXT    NOT NULL,
	order_id   TEXT    NOT NULL DEFAULT '',
	finished   INTEGER NOT NULL DEFAULT 0,
	state      TEXT    NOT NULL, -- JSON of activity
	created_at TEXT    NOT NULL
);
`

// NewSandbox creates the sandbox's tables in db (if missing), adds the demo
// buyer the first time, and returns it.
func NewSandbox(db *sql.DB, cfg SandboxConfig) (*Sandbox, error) {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&cfg.InstanceKey, DemoInstanceKey)
	def(&cfg.Secret, DemoSecret)
	def(&cfg.OperatorLogin, DemoOperatorLogin)
	def(&cfg.OperatorPassword, DemoOperatorPassword)
	def(&cfg.UserLogin, DemoUserLogin)
	def(&cfg.UserPassword, DemoUserPassword)
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 24 * time.Hour
	}
	if cfg.ProviderSessionTTL <= 0 {
		cfg.ProviderSessionTTL = 24 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if _, err := db.Exec(schema); err != nil {
		return nil, fmt.Errorf("otapi sandbox: create tables: %w", err)
	}
	if _, err := db.Exec(`INSERT OR IGNORE INTO otapi_customers (cust_id, login, name) VALUES (?, ?, 'Demo Buyer')`, DemoCustomerID, cfg.UserLogin); err != nil {
		return nil, fmt.Errorf("otapi sandbox: demo buyer: %w", err)
	}
	s := &Sandbox{db: db, cfg: cfg}
	s.SetBaseURL(cfg.BaseURL)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /service-json/{method}", s.api)
	mux.HandleFunc("GET /provider-auth/{token}", s.authPage)
	mux.HandleFunc("POST /provider-auth/{token}", s.authAction)
	mux.HandleFunc("GET /{$}", s.controlPage)
	mux.HandleFunc("POST /_control", s.controlAction)
	s.mux = mux
	return s, nil
}

// ServeHTTP serves the API, the provider authorisation page and the control
// page.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// APIURL returns the BaseURL a client should use for this sandbox.
func (s *Sandbox) APIURL() string { return s.BaseURL() + "/service-json" }

// Switches returns the current state of the switches.
func (s *Sandbox) Switches() SandboxSwitches {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sw
}

// setSwitch changes the switches under the lock.
func (s *Sandbox) setSwitch(f func(*SandboxSwitches)) {
	s.mu.Lock()
	f(&s.sw)
	s.mu.Unlock()
}

// FailNext makes the next API call fail with InternalError.
func (s *Sandbox) FailNext() { s.setSwitch(func(sw *SandboxSwitches) { sw.FailNext = true }) }

// FailNextExport makes the next export fail with the provider's limit of
// unpaid orders.
func (s *Sandbox) FailNextExport() { s.FailNextExportWith(ReasonUnpaidOrdersLimit) }

// FailNextExportWith makes the next export started fail with reason (a
// Reason constant, or any word for another provider error) when it places
// the order; the order stays unexported.
func (s *Sandbox) FailNextExportWith(reason string) {
	s.setSwitch(func(sw *SandboxSwitches) { sw.FailNextExport = reason })
}

// AskNextExport makes the next export started ask question about its first
// line, with the actions of a changed price ("Buy at the new price", "Skip
// this item", "Cancel the export").
func (s *Sandbox) AskNextExport(question string) {
	s.setSwitch(func(sw *SandboxSwitches) { sw.AskNextExport = question })
}

// SetUnpaidOrdersLimit makes every export fail with the provider's limit
// of unpaid orders while on.
func (s *Sandbox) SetUnpaidOrdersLimit(on bool) {
	s.setSwitch(func(sw *SandboxSwitches) { sw.UnpaidOrdersLimit = on })
}

// SetInvalidBuyoutAddress makes every export fail with an invalid buyout
// (warehouse) address while on.
func (s *Sandbox) SetInvalidBuyoutAddress(on bool) {
	s.setSwitch(func(sw *SandboxSwitches) { sw.InvalidBuyoutAddress = on })
}

// BanInstanceKey makes every call fail with InstanceKeyBan until it is
// called with false.
func (s *Sandbox) BanInstanceKey(on bool) {
	s.setSwitch(func(sw *SandboxSwitches) { sw.InstanceBanned = on })
}

// SetLatency delays every API answer by d (0 turns it off).
func (s *Sandbox) SetLatency(d time.Duration) {
	s.setSwitch(func(sw *SandboxSwitches) { sw.Latency = d })
}

// ClearSwitches turns every switch off.
func (s *Sandbox) ClearSwitches() { s.setSwitch(func(sw *SandboxSwitches) { *sw = SandboxSwitches{} }) }

// takeExportSwitches reads and clears the one-shot export switches, for
// the export being started.
func (s *Sandbox) takeExportSwitches() (failWith, ask string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	failWith, ask = s.sw.FailNextExport, s.sw.AskNextExport
	s.sw.FailNextExport, s.sw.AskNextExport = "", ""
	return failWith, ask
}

// takeFailNext reads and clears FailNext.
func (s *Sandbox) takeFailNext() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.sw.FailNext
	s.sw.FailNext = false
	return v
}

// writeTx runs fn in a transaction that takes SQLite's write lock with its
// first statement. The sandbox database is shared with the other
// sandboxes, and a transaction that reads and then writes fails at once
// (SQLITE_BUSY, which the busy timeout does not wait out) when another
// connection wrote in between; a write first makes it wait its turn
// instead. An UPDATE that matches no row is enough to take the lock.
func (s *Sandbox) writeTx(ctx context.Context, fn func(*sql.Tx) error) error {
	return sandboxdb.InTx(ctx, s.db, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE otapi_customers SET balance = balance WHERE 0`); err != nil {
			return err
		}
		return fn(tx)
	})
}

// ExpireSessions ends every operator and buyer session: the next call with
// one gets SessionExpired.
func (s *Sandbox) ExpireSessions() error {
	_, err := s.db.Exec(`UPDATE otapi_sessions SET expires_at = ?`, stamp(s.now().Add(-time.Second)))
	return err
}

// ExpireProviderSessions ends every provider session, as Taobao does after
// about a day; they stay listed with their (past) expiry.
func (s *Sandbox) ExpireProviderSessions() error {
	_, err := s.db.Exec(`UPDATE otapi_provider_sessions SET expires_at = ?`, stamp(s.now().Add(-time.Second)))
	return err
}

func (s *Sandbox) now() time.Time { return s.cfg.Now().UTC() }

// stamp is how the sandbox stores times: RFC 3339 in UTC, which sorts as
// text.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// unstamp reads a stored time; the sandbox wrote it, so a bad one is a
// broken database.
func unstamp(s string) (time.Time, error) { return time.Parse(time.RFC3339Nano, s) }

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		// crypto/rand does not fail on the systems Go supports.
		panic("otapi sandbox: random: " + err.Error())
	}
	return hex.EncodeToString(b)
}

// ---------------------------------------------------------------- the API

type apiError struct {
	code, description string
}

func fail(code, format string, args ...any) *apiError {
	return &apiError{code: code, description: fmt.Sprintf(format, args...)}
}

// internal is the answer to a failure of the sandbox's own database.
func internal(err error) *apiError {
	return &apiError{code: CodeInternalError, description: "Internal error: " + err.Error()}
}

// noResult marks a method that answers without a Result (void).
type noResult struct{}

type params struct {
	url.Values
}

func (p params) str(k string) string { return p.Get(k) }

type method func(ctx context.Context, p params) (any, *apiError)

func (s *Sandbox) methods() map[string]method {
	return map[string]method{
		"AuthenticateInstanceOperator": s.mAuthOperator,
		"Authenticate":                 s.mAuthUser,
		"GetProviderOrdersIntegrationSessionAuthenticationInfo": s.mProviderAuthInfo,
		"GetProviderOrdersIntegrationSessionInfoList":           s.mProviderSessions,
		"AddOrder":                           s.mAddOrder,
		"CancelSalesOrder":                   s.mCancelOrder,
		"GetSalesOrderDetailsForOperator":    s.mOrderDetails,
		"SearchOrders":                       s.mSearchOrders,
		"SearchOrderLines":                   s.mSearchLines,
		"PostTransaction":                    s.mPostTransaction,
		"SalesPaymentReserve":                s.mPaymentReserve,
		"RunOrderExportingToProvider":        s.mRunExport,
		"RunOrdersSynchronizingWithProvider": s.mRunSync,
		"RunOrderLinkingWithProvider":        s.mRunLink,
		"RunOrderUnlinkingFromProvider":      s.mRunUnlink,
		"GetBackgroundActivityInfo":          s.mActivityInfo,
		"DoActionForBackgroundActivity":      s.mActivityAction,
		"CancelBackgroundActivity":           s.mActivityCancel,
	}
}

func (s *Sandbox) writeEnvelope(w http.ResponseWriter, result any, aerr *apiError) {
	body := map[string]any{"RequestId": randomHex(8), "RequestTime": 0.01}
	if aerr != nil {
		body["ErrorCode"] = aerr.code
		body["ErrorDescription"] = aerr.description
	} else {
		body["ErrorCode"] = CodeOk
		if _, void := result.(noResult); !void {
			body["Result"] = result
		}
	}
	// [U] OT answers errors in the envelope with HTTP 200.
	httpbody.WriteJSON(w, http.StatusOK, "application/json; charset=utf-8", body)
}

// api checks what every call carries (instance key, signature, timestamp,
// language) and dispatches the method.
func (s *Sandbox) api(w http.ResponseWriter, r *http.Request) {
	sw := s.Switches()
	if !sandboxkit.Wait(r.Context(), sw.Latency) {
		return
	}
	if s.takeFailNext() {
		s.writeEnvelope(w, nil, fail(CodeInternalError, "Internal error (sandbox failure switch)"))
		return
	}
	name := r.PathValue("method")
	q := r.URL.Query()
	if q.Get("instanceKey") != s.cfg.InstanceKey {
		s.writeEnvelope(w, nil, fail(CodeAccessDenied, "Instance key is not valid"))
		return
	}
	if sw.InstanceBanned {
		s.writeEnvelope(w, nil, fail(CodeInstanceKeyBan, "Instance key is banned"))
		return
	}
	flat := map[string]string{}
	for k, v := range q {
		flat[k] = v[0]
	}
	want := Sign(name, flat, s.cfg.Secret)
	if subtle.ConstantTimeCompare([]byte(strings.ToLower(q.Get("signature"))), []byte(want)) != 1 {
		s.writeEnvelope(w, nil, fail(CodeAccessDenied, "Signature is not valid"))
		return
	}
	ts, err := time.Parse(timestampLayout, q.Get("timestamp"))
	if d := s.now().Sub(ts); err != nil || d > time.Hour || d < -time.Hour {
		// [U] OT's tolerance for clock skew is not documented.
		s.writeEnvelope(w, nil, fail(CodeAccessDenied, "Timestamp is missing or out of range"))
		return
	}
	if len(q.Get("language")) != 2 {
		s.writeEnvelope(w, nil, fail(CodeInvalidArgument, "Language must be a 2-letter code"))
		return
	}
	m, ok := s.methods()[name]
	if !ok {
		s.writeEnvelope(w, nil, fail(CodeNotFound, "Method %s is not found", name))
		return
	}
	res, aerr := m(r.Context(), params{q})
	s.writeEnvelope(w, res, aerr)
}

// session checks a session id for kind ("operator" or "user") and returns
// its login.
func (s *Sandbox) session(ctx context.Context, id, kind string) (string, *apiError) {
	var k, login, exp string
	err := s.db.QueryRowContext(ctx, `SELECT kind, login, expires_at FROM otapi_sessions WHERE session_id = ?`, id).Scan(&k, &login, &exp)
	if errors.Is(err, sql.ErrNoRows) || id == "" {
		return "", fail(CodeSessionExpired, "Session is not found or has expired")
	}
	if err != nil {
		return "", internal(err)
	}
	t, err := unstamp(exp)
	if err != nil {
		return "", internal(err)
	}
	if !s.now().Before(t) {
		return "", fail(CodeSessionExpired, "Session has expired")
	}
	if k != kind {
		return "", fail(CodeAccessDenied, "This method needs a %s session", kind)
	}
	return login, nil
}

func (s *Sandbox) openSession(ctx context.Context, kind, login string) (any, *apiError) {
	id := randomHex(16)
	if _, err := s.db.ExecContext(ctx, `INSERT INTO otapi_sessions (session_id, kind, login, expires_at) VALUES (?, ?, ?, ?)`,
		id, kind, login, stamp(s.now().Add(s.cfg.SessionTTL))); err != nil {
		return nil, internal(err)
	}
	return map[string]string{"SessionId": id}, nil
}

func (s *Sandbox) mAuthOperator(ctx context.Context, p params) (any, *apiError) {
	if p.str("userLogin") != s.cfg.OperatorLogin || p.str("userPassword") != s.cfg.OperatorPassword {
		return nil, fail(CodeAccessDenied, "Invalid operator login or password")
	}
	return s.openSession(ctx, "operator", p.str("userLogin"))
}

func (s *Sandbox) mAuthUser(ctx context.Context, p params) (any, *apiError) {
	if p.str("userLogin") != s.cfg.UserLogin || p.str("userPassword") != s.cfg.UserPassword {
		return nil, fail(CodeAccessDenied, "Invalid login or password")
	}
	return s.openSession(ctx, "user", p.str("userLogin"))
}

// operator checks that p carries a live operator session.
func (s *Sandbox) operator(ctx context.Context, p params) *apiError {
	_, e := s.session(ctx, p.str("sessionId"), "operator")
	return e
}

func (s *Sandbox) checkProvider(p params) *apiError {
	if p.str("providerType") != ProviderTaobao {
		return fail(CodeInvalidArgument, "Provider type %q is not connected (the sandbox knows %s)", p.str("providerType"), ProviderTaobao)
	}
	return nil
}

func (s *Sandbox) mProviderAuthInfo(ctx context.Context, p params) (any, *apiError) {
	if e := s.operator(ctx, p); e != nil {
		return nil, e
	}
	if e := s.checkProvider(p); e != nil {
		return nil, e
	}
	ret := p.str("returnUrl")
	if u, err := url.Parse(ret); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fail(CodeInvalidArgument, "returnUrl must be an absolute http(s) URL")
	}
	tok := randomHex(16)
	if _, err := s.db.ExecContext(ctx, `INSERT INTO otapi_provider_auth (token, provider_type, return_url, created_at) VALUES (?, ?, ?, ?)`,
		tok, p.str("providerType"), ret, stamp(s.now())); err != nil {
		return nil, internal(err)
	}
	// [U] the answer's field name is not public; see Client.ProviderAuthURL.
	return map[string]string{"AuthenticationUrl": s.BaseURL() + "/provider-auth/" + tok}, nil
}

func (s *Sandbox) mProviderSessions(ctx context.Context, p params) (any, *apiError) {
	if e := s.operator(ctx, p); e != nil {
		return nil, e
	}
	if e := s.checkProvider(p); e != nil {
		return nil, e
	}
	list, err := s.ProviderSessions()
	if err != nil {
		return nil, internal(err)
	}
	content := []map[string]any{}
	for _, ps := range list {
		// [U] field names: see Client.ProviderSessions.
		content = append(content, map[string]any{"Id": ps.ID, "Name": ps.Name, "ProviderType": ProviderTaobao,
			"ExpirationTime": ps.ExpiresAt.Format("2006-01-02T15:04:05Z")})
	}
	return map[string]any{"Content": content, "TotalCount": len(content)}, nil
}

// providerLogin checks a provider session at the time of use and returns
// its Taobao login. [U] the codes OT answers are not public: the sandbox
// says ProviderSessionExpired for a session that is missing or has ended
// (see providerSessionError).
func (s *Sandbox) providerLogin(ctx context.Context, id string) (string, *apiError) {
	var name, exp string
	err := s.db.QueryRowContext(ctx, `SELECT name, expires_at FROM otapi_provider_sessions WHERE id = ?`, id).Scan(&name, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fail(CodeProviderSessionExpired, "Provider session %q is not found; authorise the provider account", id)
	}
	if err != nil {
		return "", internal(err)
	}
	t, err := unstamp(exp)
	if err != nil {
		return "", internal(err)
	}
	if !s.now().Before(t) {
		return "", fail(CodeProviderSessionExpired, "Provider session has expired; authorise the provider account again")
	}
	return name, nil
}

// newProviderSession records a session for login, replacing the login's
// earlier ones (a renewal), and returns its id.
func (s *Sandbox) newProviderSession(ctx context.Context, tx *sql.Tx, prov, login string) (string, error) {
	if _, err := tx.ExecContext(ctx, `DELETE FROM otapi_provider_sessions WHERE name = ? AND provider_type = ?`, login, prov); err != nil {
		return "", err
	}
	id := "tbs-" + randomHex(8)
	now := s.now()
	_, err := tx.ExecContext(ctx, `INSERT INTO otapi_provider_sessions (id, provider_type, name, expires_at, created_at) VALUES (?, ?, ?, ?, ?)`,
		id, prov, login, stamp(now.Add(s.cfg.ProviderSessionTTL)), stamp(now))
	return id, err
}

// amountParam reads a positive decimal amount.
func amountParam(p params, k string) (int64, *apiError) {
	v, err := ParseMoney(p.str(k))
	if err != nil || v <= 0 {
		return 0, fail(CodeInvalidArgument, "%s must be a positive amount", k)
	}
	return v, nil
}

// frame reads framePosition and frameSize.
func frame(p params) (pos, size int, e *apiError) {
	pos, err := strconv.Atoi(p.str("framePosition"))
	if err != nil || pos < 0 {
		return 0, 0, fail(CodeInvalidArgument, "framePosition must be a whole number from 0")
	}
	size, err = strconv.Atoi(p.str("frameSize"))
	if err != nil || size < 1 || size > 1000 {
		return 0, 0, fail(CodeInvalidArgument, "frameSize must be from 1 to 1000")
	}
	return pos, size, nil
}

func (s *Sandbox) mPostTransaction(ctx context.Context, p params) (any, *apiError) {
	if e := s.operator(ctx, p); e != nil {
		return nil, e
	}
	amount, e := amountParam(p, "amount")
	if e != nil {
		return nil, e
	}
	debit, err := strconv.ParseBool(p.str("isDebit"))
	if err != nil {
		return nil, fail(CodeInvalidArgument, "isDebit must be true or false")
	}
	if !debit {
		amount = -amount
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	var balance int64
	err = s.db.QueryRowContext(ctx, `SELECT balance FROM otapi_customers WHERE cust_id = ?`, p.str("customerId")).Scan(&balance)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fail(CodeNotFound, "Customer %q is not found", p.str("customerId"))
	}
	if err != nil {
		return nil, internal(err)
	}
	if balance+amount < 0 {
		return nil, fail(CodeNotEnoughMoney, "Not enough money on the account")
	}
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		return s.transact(ctx, tx, p.str("customerId"), amount, p.str("comment"))
	})
	if err != nil {
		return nil, internal(err)
	}
	return noResult{}, nil
}

// transact moves amount (signed) on a customer's account and records it.
func (s *Sandbox) transact(ctx context.Context, tx *sql.Tx, custID string, amount int64, comment string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE otapi_customers SET balance = balance + ? WHERE cust_id = ?`, amount, custID); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO otapi_transactions (cust_id, amount, comment, created_at) VALUES (?, ?, ?, ?)`,
		custID, amount, comment, stamp(s.now()))
	return err
}

// Balance returns a buyer's account balance in minor units.
func (s *Sandbox) Balance(customerID string) (int64, error) {
	var b int64
	err := s.db.QueryRow(`SELECT balance FROM otapi_customers WHERE cust_id = ?`, customerID).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNotFound
	}
	return b, err
}

// ProviderSessions returns the provider sessions, expired ones included,
// in the order they were made.
func (s *Sandbox) ProviderSessions() ([]ProviderSession, error) {
	rows, err := s.db.Query(`SELECT id, name, expires_at FROM otapi_provider_sessions ORDER BY created_at, id`)
	return sandboxdb.Collect(rows, err, func(r sandboxdb.Scanner) (ProviderSession, error) {
		var ps ProviderSession
		var exp string
		if err := r.Scan(&ps.ID, &ps.Name, &exp); err != nil {
			return ProviderSession{}, err
		}
		t, err := unstamp(exp)
		ps.ExpiresAt = t
		return ps, err
	})
}
