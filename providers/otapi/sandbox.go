package otapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
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
	// DemoDeliveryModeID is the free external delivery seed 002 asks to
	// create in the OT admin.
	DemoDeliveryModeID = "external-free"
	// DemoProviderLogin is the Taobao nick of the sandbox's provider session.
	DemoProviderLogin = "orderdesk_tb_buyer"
)

// sandboxItemPrice is what every item costs in the sandbox, per unit, in
// minor units. [U] OT prices come from the provider; a fixed price keeps
// tests deterministic.
const sandboxItemPrice = 50000

// UnavailableItemPrefix marks items the sandbox treats as no longer on sale:
// AddOrder skips them, as OT skips items it cannot order.
const UnavailableItemPrefix = "gone-"

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
	// ActivityReads is the number of GetBackgroundActivityInfo reads after
	// which an export finishes (default 2: the first read shows it running).
	ActivityReads int
	// Now is the sandbox clock (default time.Now).
	Now func() time.Time
}

// Sandbox plays OT Platform for the autobuy flow: the signed service-json
// API (sessions, provider authorisation, AddOrder, the simulated payment,
// export activities), the provider authorisation page and a control page,
// with its state in SQLite tables named otapi_*. It is an http.Handler
// meant to be mounted with http.StripPrefix.
type Sandbox struct {
	db  *sql.DB
	cfg SandboxConfig
	mux *http.ServeMux

	// writeMu serialises state changes (balances, payments, activities) so
	// that a check and its update are one step.
	writeMu sync.Mutex

	mu         sync.Mutex // guards the fields below
	baseURL    string
	failNext   bool
	failExport bool
	banned     bool
	latency    time.Duration
}

// SandboxSwitches is the state of the failure switches.
type SandboxSwitches struct {
	FailNext       bool
	FailNextExport bool
	InstanceBanned bool
	Latency        time.Duration
}

// SandboxOrder is the sandbox's record of an order.
type SandboxOrder struct {
	ID              string
	CustomerID      string
	Comment         string
	Total           int64
	Paid            int64
	ProviderOrderID string
	Lines           []OrderLine
	CreatedAt       time.Time
}

// SandboxActivity is the sandbox's record of an export activity.
type SandboxActivity struct {
	ID              string
	OrderID         string
	Reads           int
	Finished        bool
	FailMessage     string
	ProviderOrderID string
}

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
CREATE TABLE IF NOT EXISTS otapi_orders (
	seq               INTEGER PRIMARY KEY,
	id                TEXT    NOT NULL UNIQUE,
	cust_id           TEXT    NOT NULL,
	comment           TEXT    NOT NULL DEFAULT '',
	total             INTEGER NOT NULL,
	paid              INTEGER NOT NULL DEFAULT 0,
	lines             TEXT    NOT NULL,
	provider_order_id TEXT    NOT NULL DEFAULT '',
	created_at        TEXT    NOT NULL
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
CREATE TABLE IF NOT EXISTS otapi_activities (
	id                  INTEGER PRIMARY KEY AUTOINCREMENT,
	type                TEXT    NOT NULL,
	order_id            TEXT    NOT NULL,
	provider_session_id TEXT    NOT NULL,
	reads               INTEGER NOT NULL DEFAULT 0,
	finished            INTEGER NOT NULL DEFAULT 0,
	planned_failure     TEXT    NOT NULL DEFAULT '',
	fail_message        TEXT    NOT NULL DEFAULT '',
	provider_order_id   TEXT    NOT NULL DEFAULT '',
	created_at          TEXT    NOT NULL
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
	if cfg.ActivityReads <= 0 {
		cfg.ActivityReads = 2
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
	s := &Sandbox{db: db, cfg: cfg, baseURL: strings.TrimRight(cfg.BaseURL, "/")}
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

// SetBaseURL sets the public URL the sandbox is mounted at.
func (s *Sandbox) SetBaseURL(u string) {
	s.mu.Lock()
	s.baseURL = strings.TrimRight(u, "/")
	s.mu.Unlock()
}

// BaseURL returns the public URL the sandbox is mounted at.
func (s *Sandbox) BaseURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.baseURL
}

// APIURL returns the BaseURL a client should use for this sandbox.
func (s *Sandbox) APIURL() string { return s.BaseURL() + "/service-json" }

// FailNext makes the next API call fail with InternalError.
func (s *Sandbox) FailNext() { s.set(&s.failNext, true) }

// FailNextExport makes the next export activity finish with an error (the
// provider's limit of unpaid orders).
func (s *Sandbox) FailNextExport() { s.set(&s.failExport, true) }

// BanInstanceKey makes every call fail with InstanceKeyBan until it is
// called with false.
func (s *Sandbox) BanInstanceKey(on bool) { s.set(&s.banned, on) }

// SetLatency delays every API answer by d (0 turns it off).
func (s *Sandbox) SetLatency(d time.Duration) {
	s.mu.Lock()
	s.latency = d
	s.mu.Unlock()
}

// ExpireSessions ends every operator and buyer session: the next call with
// one gets SessionExpired.
func (s *Sandbox) ExpireSessions() error {
	_, err := s.db.Exec(`UPDATE otapi_sessions SET expires_at = ?`, s.now().Add(-time.Second).Format(time.RFC3339Nano))
	return err
}

// ExpireProviderSessions ends every provider session, as Taobao does after
// about a day.
func (s *Sandbox) ExpireProviderSessions() error {
	_, err := s.db.Exec(`UPDATE otapi_provider_sessions SET expires_at = ?`, s.now().Add(-time.Second).Format(time.RFC3339Nano))
	return err
}

// Switches returns the current state of the failure switches.
func (s *Sandbox) Switches() SandboxSwitches {
	s.mu.Lock()
	defer s.mu.Unlock()
	return SandboxSwitches{FailNext: s.failNext, FailNextExport: s.failExport, InstanceBanned: s.banned, Latency: s.latency}
}

func (s *Sandbox) set(p *bool, v bool) {
	s.mu.Lock()
	*p = v
	s.mu.Unlock()
}

func (s *Sandbox) take(p *bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := *p
	*p = false
	return v
}

func (s *Sandbox) now() time.Time { return s.cfg.Now().UTC() }

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// ---------------------------------------------------------------- the API

type apiError struct {
	code, description string
}

func fail(code, format string, args ...any) *apiError {
	return &apiError{code: code, description: fmt.Sprintf(format, args...)}
}

var errInternal = &apiError{code: CodeInternalError, description: "Internal error"}

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
		"AddOrder":                    s.mAddOrder,
		"PostTransaction":             s.mPostTransaction,
		"SalesPaymentReserve":         s.mPaymentReserve,
		"RunOrderExportingToProvider": s.mRunExport,
		"GetBackgroundActivityInfo":   s.mActivityInfo,
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
	if sw.Latency > 0 {
		t := time.NewTimer(sw.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if s.take(&s.failNext) {
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

// session checks a session id for kind ("operator" or "user").
func (s *Sandbox) session(ctx context.Context, id, kind string) (string, *apiError) {
	var k, login, exp string
	err := s.db.QueryRowContext(ctx, `SELECT kind, login, expires_at FROM otapi_sessions WHERE session_id = ?`, id).Scan(&k, &login, &exp)
	if errors.Is(err, sql.ErrNoRows) || id == "" {
		return "", fail(CodeSessionExpired, "Session is not found or has expired")
	}
	if err != nil {
		return "", errInternal
	}
	if t, _ := time.Parse(time.RFC3339Nano, exp); !s.now().Before(t) {
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
		id, kind, login, s.now().Add(s.cfg.SessionTTL).Format(time.RFC3339Nano)); err != nil {
		return nil, errInternal
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

func (s *Sandbox) checkProvider(p params) *apiError {
	if p.str("providerType") != ProviderTaobao {
		return fail(CodeInvalidArgument, "Provider type %q is not connected (the sandbox knows %s)", p.str("providerType"), ProviderTaobao)
	}
	return nil
}

func (s *Sandbox) mProviderAuthInfo(ctx context.Context, p params) (any, *apiError) {
	if _, e := s.session(ctx, p.str("sessionId"), "operator"); e != nil {
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
		tok, p.str("providerType"), ret, s.now().Format(time.RFC3339Nano)); err != nil {
		return nil, errInternal
	}
	// [U] the answer's field name is not public; see Client.ProviderAuthURL.
	return map[string]string{"AuthenticationUrl": s.BaseURL() + "/provider-auth/" + tok}, nil
}

func (s *Sandbox) mProviderSessions(ctx context.Context, p params) (any, *apiError) {
	if _, e := s.session(ctx, p.str("sessionId"), "operator"); e != nil {
		return nil, e
	}
	if e := s.checkProvider(p); e != nil {
		return nil, e
	}
	list, err := s.ProviderSessions()
	if err != nil {
		return nil, errInternal
	}
	content := []map[string]any{}
	for _, ps := range list {
		content = append(content, map[string]any{"Id": ps.ID, "Name": ps.Name})
	}
	return map[string]any{"Content": content, "TotalCount": len(content)}, nil
}

// amountParam reads a positive decimal amount.
func amountParam(p params, k string) (int64, *apiError) {
	v, err := ParseMoney(p.str(k))
	if err != nil || v <= 0 {
		return 0, fail(CodeInvalidArgument, "%s must be a positive amount", k)
	}
	return v, nil
}

func (s *Sandbox) mAddOrder(ctx context.Context, p params) (any, *apiError) {
	login, e := s.session(ctx, p.str("sessionId"), "user")
	if e != nil {
		return nil, e
	}
	var d xmlOrderAddData
	if err := xml.Unmarshal([]byte(p.str("xmlAddData")), &d); err != nil {
		return nil, fail(CodeInvalidArgument, "xmlAddData is not a valid OrderAddData document")
	}
	if d.DeliveryModeID != DemoDeliveryModeID {
		return nil, fail(CodeInvalidArgument, "Delivery mode %q is not found", d.DeliveryModeID)
	}
	var custID, custName string
	if err := s.db.QueryRowContext(ctx, `SELECT cust_id, name FROM otapi_customers WHERE login = ?`, login).Scan(&custID, &custName); err != nil {
		return nil, errInternal
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	var seq int64
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) + 1 FROM otapi_orders`).Scan(&seq); err != nil {
		return nil, errInternal
	}
	var lines []OrderLine
	var total int64
	for i, it := range d.Items {
		if it.Quantity < 1 || strings.TrimSpace(it.ID) == "" {
			return nil, fail(CodeInvalidArgument, "Item %d: Id and a positive Quantity are required", i+1)
		}
		if strings.HasPrefix(it.ID, UnavailableItemPrefix) {
			// OT checks every item and skips what cannot be ordered.
			continue
		}
		cfg := it.ConfigurationID
		if cfg == "" {
			cfg = "0"
		}
		lines = append(lines, OrderLine{ID: strconv.FormatInt(seq*100+int64(i)+1, 10), ItemID: it.ID, ConfigurationID: cfg, Quantity: it.Quantity})
		total += int64(it.Quantity) * sandboxItemPrice
	}
	if len(lines) == 0 {
		return nil, fail(CodeInvalidArgument, "None of the items can be ordered")
	}
	id := fmt.Sprintf("ORD-%010d", seq)
	b, err := json.Marshal(lines)
	if err != nil {
		return nil, errInternal
	}
	now := s.now()
	if _, err := s.db.ExecContext(ctx, `INSERT INTO otapi_orders (seq, id, cust_id, comment, total, lines, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		seq, id, custID, d.Comment, total, string(b), now.Format(time.RFC3339Nano)); err != nil {
		return nil, errInternal
	}
	return s.orderResult(&SandboxOrder{ID: id, CustomerID: custID, Comment: d.Comment, Total: total, Lines: lines, CreatedAt: now}, custName), nil
}

// rawMoney writes an amount as an exact JSON number.
type rawMoney int64

func (m rawMoney) MarshalJSON() ([]byte, error) { return []byte(FormatMoney(int64(m))), nil }

// orderResult renders an order the way GetSalesOrderDetailsForOperator
// does (SalesOrderInfo and SalesLinesList).
func (s *Sandbox) orderResult(o *SandboxOrder, custName string) map[string]any {
	lines := []map[string]any{}
	for _, l := range o.Lines {
		lines = append(lines, map[string]any{"Id": l.ID, "ItemTaobaoId": l.ItemID, "ConfigId": l.ConfigurationID,
			"Quantity": l.Quantity, "Price": rawMoney(sandboxItemPrice)})
	}
	return map[string]any{
		"SalesOrderInfo": map[string]any{"Id": o.ID, "CustId": o.CustomerID, "CustName": custName,
			"CreatedDateTime": o.CreatedAt.Format("2006-01-02T15:04:05"), "TotalAmount": rawMoney(o.Total), "Comment": o.Comment},
		"SalesLinesList": lines,
	}
}

func (s *Sandbox) mPostTransaction(ctx context.Context, p params) (any, *apiError) {
	if _, e := s.session(ctx, p.str("sessionId"), "operator"); e != nil {
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
		return nil, errInternal
	}
	if balance+amount < 0 {
		return nil, fail(CodeNotEnoughMoney, "Not enough money on the account")
	}
	err = sandboxdb.InTx(ctx, s.db, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE otapi_customers SET balance = balance + ? WHERE cust_id = ?`, amount, p.str("customerId")); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO otapi_transactions (cust_id, amount, comment, created_at) VALUES (?, ?, ?, ?)`,
			p.str("customerId"), amount, p.str("comment"), s.now().Format(time.RFC3339Nano))
		return err
	})
	if err != nil {
		return nil, errInternal
	}
	return noResult{}, nil
}

func (s *Sandbox) mPaymentReserve(ctx context.Context, p params) (any, *apiError) {
	if _, e := s.session(ctx, p.str("sessionId"), "operator"); e != nil {
		return nil, e
	}
	amount, e := amountParam(p, "amount")
	if e != nil {
		return nil, e
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	o, err := s.order(ctx, p.str("salesId"))
	if errors.Is(err, ErrNotFound) {
		return nil, fail(CodeNotFound, "Order %q is not found", p.str("salesId"))
	}
	if err != nil {
		return nil, errInternal
	}
	if amount > o.Total-o.Paid {
		return nil, fail(CodeInvalidArgument, "Amount %s is more than the unpaid %s", FormatMoney(amount), FormatMoney(o.Total-o.Paid))
	}
	var balance int64
	if err := s.db.QueryRowContext(ctx, `SELECT balance FROM otapi_customers WHERE cust_id = ?`, o.CustomerID).Scan(&balance); err != nil {
		return nil, errInternal
	}
	if balance < amount {
		return nil, fail(CodeNotEnoughMoney, "The customer's balance %s is less than %s", FormatMoney(balance), FormatMoney(amount))
	}
	err = sandboxdb.InTx(ctx, s.db, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE otapi_customers SET balance = balance - ? WHERE cust_id = ?`, amount, o.CustomerID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE otapi_orders SET paid = paid + ? WHERE id = ?`, amount, o.ID)
		return err
	})
	if err != nil {
		return nil, errInternal
	}
	return map[string]any{"SalesAmount": rawMoney(o.Total), "SalesPaid": rawMoney(o.Paid + amount), "CustBalanceAvail": rawMoney(balance - amount)}, nil
}

func (s *Sandbox) providerSession(ctx context.Context, id string) *apiError {
	var exp string
	err := s.db.QueryRowContext(ctx, `SELECT expires_at FROM otapi_provider_sessions WHERE id = ?`, id).Scan(&exp)
	if errors.Is(err, sql.ErrNoRows) {
		return fail(CodeNotFound, "Provider session %q is not found", id)
	}
	if err != nil {
		return errInternal
	}
	if t, _ := time.Parse(time.RFC3339Nano, exp); !s.now().Before(t) {
		return fail(CodeSessionExpired, "Provider session has expired; authorise the provider account again")
	}
	return nil
}

func (s *Sandbox) mRunExport(ctx context.Context, p params) (any, *apiError) {
	if _, e := s.session(ctx, p.str("sessionId"), "operator"); e != nil {
		return nil, e
	}
	if e := s.checkProvider(p); e != nil {
		return nil, e
	}
	if e := s.providerSession(ctx, p.str("providerSessionId")); e != nil {
		return nil, e
	}
	var x struct {
		OrderID string   `xml:"OrderId"`
		LineIDs []string `xml:"OrderLineIds>Id"`
	}
	if err := xml.Unmarshal([]byte(p.str("xmlParameters")), &x); err != nil || x.OrderID == "" {
		return nil, fail(CodeInvalidArgument, "xmlParameters must be <Parameters><OrderId>…</OrderId></Parameters>")
	}
	o, err := s.order(ctx, x.OrderID)
	if errors.Is(err, ErrNotFound) {
		return nil, fail(CodeNotFound, "Order %q is not found", x.OrderID)
	}
	if err != nil {
		return nil, errInternal
	}
	for _, id := range x.LineIDs {
		found := false
		for _, l := range o.Lines {
			found = found || l.ID == id
		}
		if !found {
			return nil, fail(CodeInvalidArgument, "Order line %q is not in order %s", id, o.ID)
		}
	}
	planned := ""
	if s.take(&s.failExport) {
		planned = "Limit of unpaid orders at the provider is exceeded: pay some orders on Taobao first"
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	res, err := s.db.ExecContext(ctx, `INSERT INTO otapi_activities (type, order_id, provider_session_id, planned_failure, created_at) VALUES (?, ?, ?, ?, ?)`,
		ActivityExporting, o.ID, p.str("providerSessionId"), planned, s.now().Format(time.RFC3339Nano))
	if err != nil {
		return nil, errInternal
	}
	id, _ := res.LastInsertId()
	return map[string]any{"Type": ActivityExporting, "Id": map[string]string{"Value": strconv.FormatInt(id, 10)}}, nil
}

func (s *Sandbox) mActivityInfo(ctx context.Context, p params) (any, *apiError) {
	if _, e := s.session(ctx, p.str("sessionId"), "operator"); e != nil {
		return nil, e
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	var a SandboxActivity
	var typ, planned, created string
	err := s.db.QueryRowContext(ctx, `SELECT id, type, order_id, reads, finished, planned_failure, fail_message, provider_order_id, created_at
		FROM otapi_activities WHERE id = ?`, p.str("activityId")).
		Scan(&a.ID, &typ, &a.OrderID, &a.Reads, &a.Finished, &planned, &a.FailMessage, &a.ProviderOrderID, &created)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && typ != p.str("activityType")) {
		return nil, fail(CodeNotFound, "Activity %s of type %q is not found", p.str("activityId"), p.str("activityType"))
	}
	if err != nil {
		return nil, errInternal
	}
	a.Reads++
	if !a.Finished && a.Reads >= s.cfg.ActivityReads {
		a.Finished = true
		o, err := s.order(ctx, a.OrderID)
		switch {
		case err != nil:
			return nil, errInternal
		case o.Paid < o.Total:
			// OT exports only paid orders (seed 002).
			a.FailMessage = fmt.Sprintf("Order %s is not paid (%s of %s)", o.ID, FormatMoney(o.Paid), FormatMoney(o.Total))
		case planned != "":
			a.FailMessage = planned
		default:
			// A 16-digit number, like Taobao's order ids.
			n, _ := strconv.ParseInt(a.ID, 10, 64)
			a.ProviderOrderID = fmt.Sprintf("33%014d", n)
			if _, err := s.db.ExecContext(ctx, `UPDATE otapi_orders SET provider_order_id = ? WHERE id = ?`, a.ProviderOrderID, o.ID); err != nil {
				return nil, errInternal
			}
		}
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE otapi_activities SET reads = ?, finished = ?, fail_message = ?, provider_order_id = ? WHERE id = ?`,
		a.Reads, a.Finished, a.FailMessage, a.ProviderOrderID, a.ID); err != nil {
		return nil, errInternal
	}
	start, _ := time.Parse(time.RFC3339Nano, created)
	step := func(typ, msg string) map[string]any {
		return map[string]any{"Type": typ, "Message": msg, "TimeFromStart": "00:00:01", "Actions": []any{}}
	}
	steps := []map[string]any{step("Info", "Checking items, configurations and prices of order "+a.OrderID)}
	progress := 50
	if a.Finished {
		progress = 100
		if a.FailMessage != "" {
			steps = append(steps, step("Error", a.FailMessage))
		} else {
			steps = append(steps, step("Info", "Order exported: Taobao order "+a.ProviderOrderID))
		}
	}
	return map[string]any{
		"Id": map[string]string{"Value": a.ID}, "Type": typ, "Description": "Export of order " + a.OrderID + " to " + ProviderTaobao,
		"IsFinished": a.Finished, "IsCancelled": false, "IsAwaitingAction": false, "ProgressPercent": progress,
		"WorkTime": "00:00:02", "StartTime": start.Format("2006-01-02T15:04:05"), "Actions": []any{}, "Steps": steps,
	}, nil
}

// ---------------------------------------------------------------- state helpers

func (s *Sandbox) order(ctx context.Context, id string) (*SandboxOrder, error) {
	var o SandboxOrder
	var lines, created string
	err := s.db.QueryRowContext(ctx, `SELECT id, cust_id, comment, total, paid, lines, provider_order_id, created_at FROM otapi_orders WHERE id = ?`, id).
		Scan(&o.ID, &o.CustomerID, &o.Comment, &o.Total, &o.Paid, &lines, &o.ProviderOrderID, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if o.CreatedAt, err = time.Parse(time.RFC3339Nano, created); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(lines), &o.Lines); err != nil {
		return nil, fmt.Errorf("otapi sandbox: order %s: lines: %w", o.ID, err)
	}
	return &o, nil
}

// Order returns the sandbox's record of an order.
func (s *Sandbox) Order(id string) (*SandboxOrder, error) { return s.order(context.Background(), id) }

// Orders returns the latest orders, newest first.
func (s *Sandbox) Orders(limit int) ([]*SandboxOrder, error) {
	rows, err := s.db.Query(`SELECT id FROM otapi_orders ORDER BY seq DESC LIMIT ?`, limit)
	ids, err := sandboxdb.Collect(rows, err, sandboxdb.Column[string])
	if err != nil {
		return nil, err
	}
	var out []*SandboxOrder
	for _, id := range ids {
		o, err := s.Order(id)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
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

// ProviderSessions returns the provider sessions that have not expired.
func (s *Sandbox) ProviderSessions() ([]ProviderSession, error) {
	rows, err := s.db.Query(`SELECT id, name FROM otapi_provider_sessions WHERE expires_at > ? ORDER BY created_at`, s.now().Format(time.RFC3339Nano))
	return sandboxdb.Collect(rows, err, func(r sandboxdb.Scanner) (ProviderSession, error) {
		var ps ProviderSession
		if err := r.Scan(&ps.ID, &ps.Name); err != nil {
			return ProviderSession{}, err
		}
		return ps, nil
	})
}

// Activities returns the export activities, newest first.
func (s *Sandbox) Activities(limit int) ([]SandboxActivity, error) {
	rows, err := s.db.Query(`SELECT id, order_id, reads, finished, fail_message, provider_order_id FROM otapi_activities ORDER BY id DESC LIMIT ?`, limit)
	return sandboxdb.Collect(rows, err, func(r sandboxdb.Scanner) (SandboxActivity, error) {
		var a SandboxActivity
		if err := r.Scan(&a.ID, &a.OrderID, &a.Reads, &a.Finished, &a.FailMessage, &a.ProviderOrderID); err != nil {
			return SandboxActivity{}, err
		}
		return a, nil
	})
}

// ---------------------------------------------------------------- provider authorisation page

type authView struct {
	Token    string
	Provider string
	Open     bool
	Message  string
}

// authPage plays the provider's login-and-consent page the operator opens
// from ProviderAuthURL.
func (s *Sandbox) authPage(w http.ResponseWriter, r *http.Request) {
	var prov string
	var used bool
	err := s.db.QueryRowContext(r.Context(), `SELECT provider_type, used FROM otapi_provider_auth WHERE token = ?`, r.PathValue("token")).Scan(&prov, &used)
	switch {
	case err != nil:
		render(w, http.StatusNotFound, authTmpl, authView{Message: "This authorisation link is not valid."})
	case used:
		render(w, http.StatusGone, authTmpl, authView{Provider: prov, Message: "This authorisation link was already used."})
	default:
		render(w, http.StatusOK, authTmpl, authView{Token: r.PathValue("token"), Provider: prov, Open: true})
	}
}

// authAction handles the page's buttons and sends the browser back to the
// return URL: with the new provider session (Authorise), or with an error
// (Refuse, Cancel). [U] the parameter names sessionId and error are the
// sandbox's; see ParseProviderReturn.
func (s *Sandbox) authAction(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	tok := r.PathValue("token")
	s.writeMu.Lock()
	var prov, ret string
	var used bool
	err := s.db.QueryRowContext(ctx, `SELECT provider_type, return_url, used FROM otapi_provider_auth WHERE token = ?`, tok).Scan(&prov, &ret, &used)
	if err == nil && !used {
		_, err = s.db.ExecContext(ctx, `UPDATE otapi_provider_auth SET used = 1 WHERE token = ?`, tok)
	}
	q := url.Values{}
	action := r.FormValue("action")
	if err == nil && !used {
		switch action {
		case "pay":
			id := "tbs-" + randomHex(8)
			now := s.now()
			_, err = s.db.ExecContext(ctx, `INSERT INTO otapi_provider_sessions (id, provider_type, name, expires_at, created_at) VALUES (?, ?, ?, ?, ?)`,
				id, prov, DemoProviderLogin, now.Add(s.cfg.ProviderSessionTTL).Format(time.RFC3339Nano), now.Format(time.RFC3339Nano))
			q.Set("sessionId", id)
		case "decline":
			q.Set("error", prov+" refused the authorisation")
		case "abandon":
			q.Set("error", "The authorisation was cancelled")
		default:
			err = errUnknownAction
		}
	}
	s.writeMu.Unlock()
	switch {
	case errors.Is(err, errUnknownAction):
		render(w, http.StatusBadRequest, authTmpl, authView{Token: tok, Provider: prov, Open: true, Message: "Unknown action."})
		return
	case err != nil:
		render(w, http.StatusNotFound, authTmpl, authView{Message: "This authorisation link is not valid."})
		return
	case used:
		render(w, http.StatusGone, authTmpl, authView{Provider: prov, Message: "This authorisation link was already used."})
		return
	}
	u, _ := url.Parse(ret)
	uq := u.Query()
	for k, v := range q {
		uq[k] = v
	}
	u.RawQuery = uq.Encode()
	w.Header().Set("Location", u.String())
	w.WriteHeader(http.StatusSeeOther)
}

var errUnknownAction = errors.New("unknown action")

func render(w http.ResponseWriter, code int, t *template.Template, v any) {
	// Render into a buffer first so a template error never leaves half a page
	// behind a 200.
	var buf bytes.Buffer
	if err := t.Execute(&buf, v); err != nil {
		http.Error(w, "template error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	httpbody.Write(w, buf.Bytes())
}

var authTmpl = template.Must(template.New("auth").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Provider}} authorisation (OT API sandbox)</title>
<style>body{font-family:sans-serif;max-width:32em;margin:2em auto}button{margin-right:.5em;padding:.5em 1em}</style></head>
<body data-testid="sandbox-otapi-auth-page">
<h1>{{if .Provider}}{{.Provider}}{{else}}Provider{{end}} (OT API sandbox)</h1>
{{if .Message}}<p data-testid="sandbox-message">{{.Message}}</p>{{end}}
{{if .Open}}
<p>OT Platform asks for access to the buyer account <strong>` + DemoProviderLogin + `</strong> to place and follow orders.</p>
<form method="post" data-testid="sandbox-auth-form">
<button type="submit" name="action" value="pay" data-testid="sandbox-pay">Sign in and allow</button>
<button type="submit" name="action" value="decline" data-testid="sandbox-decline">Refuse</button>
<button type="submit" name="action" value="abandon" data-testid="sandbox-abandon">Cancel</button>
</form>
{{end}}
</body></html>`))

// ---------------------------------------------------------------- control page

type controlView struct {
	APIURL    string
	Key       string
	Switches  SandboxSwitches
	Balance   string
	Sessions  []ProviderSession
	Orders    []*SandboxOrder
	Acts      []SandboxActivity
	Error     string
	Customer  string
	Delivery  string
	BuyerUser string
}

func (s *Sandbox) controlPage(w http.ResponseWriter, r *http.Request) {
	v := controlView{APIURL: s.APIURL(), Key: s.cfg.InstanceKey, Switches: s.Switches(), Customer: DemoCustomerID,
		Delivery: DemoDeliveryModeID, BuyerUser: s.cfg.UserLogin}
	b, err := s.Balance(DemoCustomerID)
	v.Balance = FormatMoney(b)
	if err == nil {
		v.Sessions, err = s.ProviderSessions()
	}
	if err == nil {
		v.Orders, err = s.Orders(100)
	}
	if err == nil {
		v.Acts, err = s.Activities(100)
	}
	if err != nil {
		v.Error = err.Error()
	}
	render(w, http.StatusOK, controlTmpl, v)
}

func (s *Sandbox) controlAction(w http.ResponseWriter, r *http.Request) {
	switch r.FormValue("action") {
	case "fail_next":
		s.FailNext()
	case "fail_export":
		s.FailNextExport()
	case "ban":
		s.BanInstanceKey(r.FormValue("on") == "1")
	case "expire_sessions":
		_ = s.ExpireSessions()
	case "expire_provider_sessions":
		_ = s.ExpireProviderSessions()
	case "clear":
		s.mu.Lock()
		s.failNext, s.failExport, s.banned = false, false, false
		s.mu.Unlock()
	case "latency":
		ms, err := strconv.Atoi(r.FormValue("ms"))
		if err != nil || ms < 0 {
			http.Error(w, "latency must be a whole number of milliseconds", http.StatusBadRequest)
			return
		}
		s.SetLatency(time.Duration(ms) * time.Millisecond)
	default:
		http.Error(w, "unknown action", http.StatusBadRequest)
		return
	}
	// A relative Location: the sandbox does not know the prefix it is mounted
	// under.
	w.Header().Set("Location", "./")
	w.WriteHeader(http.StatusSeeOther)
}

var controlTmpl = template.Must(template.New("control").Funcs(template.FuncMap{"money": FormatMoney}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>OT API sandbox</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em}form{display:inline}</style></head>
<body data-testid="sandbox-otapi-control">
<h1>OT API sandbox (autobuy)</h1>
<p>API: <code>{{.APIURL}}/&lt;Method&gt;</code>, instanceKey <code>{{.Key}}</code>, signed requests. Buyer <code>{{.BuyerUser}}</code> (customer {{.Customer}}), delivery mode <code>{{.Delivery}}</code>.
Items whose id starts with <code>gone-</code> are "no longer on sale".</p>
{{if .Error}}<p>{{.Error}}</p>{{end}}
<h2>Switches</h2>
<p><form method="post" action="_control"><input type="hidden" name="action" value="fail_next"><button data-testid="sandbox-fail-next">Fail next API call{{if .Switches.FailNext}} (armed){{end}}</button></form>
<form method="post" action="_control"><input type="hidden" name="action" value="fail_export"><button data-testid="sandbox-fail-export">Fail next export{{if .Switches.FailNextExport}} (armed){{end}}</button></form>
<form method="post" action="_control"><input type="hidden" name="action" value="ban"><input type="hidden" name="on" value="{{if .Switches.InstanceBanned}}0{{else}}1{{end}}">
<button data-testid="sandbox-ban">{{if .Switches.InstanceBanned}}Unban the instance key{{else}}Ban the instance key{{end}}</button></form>
<form method="post" action="_control"><input type="hidden" name="action" value="expire_sessions"><button data-testid="sandbox-expire-sessions">Expire sessions</button></form>
<form method="post" action="_control"><input type="hidden" name="action" value="expire_provider_sessions"><button data-testid="sandbox-expire-provider-sessions">Expire Taobao sessions</button></form>
<form method="post" action="_control"><input type="hidden" name="action" value="clear"><button>Clear switches</button></form></p>
<p><form method="post" action="_control"><input type="hidden" name="action" value="latency">
<input name="ms" type="number" min="0" value="{{.Switches.Latency.Milliseconds}}"> ms <button data-testid="sandbox-latency">Set latency</button></form></p>
<h2>Buyer account</h2>
<p>Balance of customer {{.Customer}}: <span data-testid="sandbox-balance">{{.Balance}}</span></p>
<h2>Taobao sessions</h2>
<ul>{{range .Sessions}}<li><code>{{.ID}}</code> ({{.Name}})</li>{{else}}<li>none: authorise from the app</li>{{end}}</ul>
<h2>Orders</h2>
<table data-testid="sandbox-orders"><tr><th>Id</th><th>Comment</th><th>Lines</th><th>Total</th><th>Paid</th><th>Taobao order</th></tr>
{{range .Orders}}<tr data-testid="sandbox-order-row"><td>{{.ID}}</td><td>{{.Comment}}</td><td>{{len .Lines}}</td><td>{{money .Total}}</td><td>{{money .Paid}}</td><td>{{.ProviderOrderID}}</td></tr>{{end}}
</table>
<h2>Export activities</h2>
<table data-testid="sandbox-activities"><tr><th>Id</th><th>Order</th><th>Reads</th><th>State</th></tr>
{{range .Acts}}<tr><td>{{.ID}}</td><td>{{.OrderID}}</td><td>{{.Reads}}</td><td>{{if not .Finished}}running{{else if .FailMessage}}failed: {{.FailMessage}}{{else}}exported as {{.ProviderOrderID}}{{end}}</td></tr>{{end}}
</table>
</body></html>`))
