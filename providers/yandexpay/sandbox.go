package yandexpay

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"orderdesk/providers/internal/sandboxkit"
	"orderdesk/providers/internal/wire"
	"strconv"
	"strings"
	"sync"
	"time"

	"orderdesk/providers/internal/httpbody"
	"orderdesk/providers/internal/sandboxdb"
)

// tsLayout is how the sandbox stores times: fixed width, so that text order
// is time order (RFC 3339 with trimmed nanoseconds is not).
const tsLayout = "2006-01-02T15:04:05.000000000Z"

// Demo credentials the sandbox accepts by default. As in Yandex's own sandbox,
// the API key equals the merchant id.
const (
	DemoMerchantID = "0c6f5d3e-0000-4c1e-9a7b-5a4db0000001"
	DemoAPIKey     = DemoMerchantID
)

// defaultTTL is the payment link lifetime when the order does not say.
const defaultTTL = 30 * time.Minute

// SandboxConfig configures NewSandbox.
type SandboxConfig struct {
	// MerchantID is put in webhooks; DemoMerchantID when empty.
	MerchantID string
	// APIKey is the key the API accepts; MerchantID when empty.
	APIKey string
	// BaseURL is the public URL the sandbox is mounted at, e.g.
	// http://localhost:8080/sandbox/yandexpay; payment links are built on it.
	BaseURL string
	// CallbackURL, when set, makes the sandbox POST webhooks to
	// CallbackURL + "/v1/webhook" as Yandex Pay does. It can also be set on
	// the control page or with SetCallbackURL. Empty: no webhooks (the shop
	// polls).
	CallbackURL string
	// HTTPClient sends webhooks; default 10 s timeout.
	HTTPClient *http.Client
}

// SandboxOrder is the sandbox's state of one order.
type SandboxOrder struct {
	OrderID      string        `json:"orderId"`
	Currency     string        `json:"currency"`
	Items        []Item        `json:"items"`
	AmountMinor  int64         `json:"amount"`
	PaidMinor    int64         `json:"paid"`
	Status       PaymentStatus `json:"status"`
	RedirectURLs RedirectURLs  `json:"redirectUrls"`
	Operations   []Operation   `json:"operations"`
	ExpiresAt    time.Time     `json:"expiresAt"`
	// HiddenPolls is how many more GETs answer PENDING although the payment
	// has moved on (the "keep PENDING for N polls" switch).
	HiddenPolls int `json:"hiddenPolls"`
	// RolledBack says the shop closed the payment link (rollback).
	RolledBack bool      `json:"rolledBack,omitempty"`
	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

// SandboxWebhook is one webhook the sandbox sent or tried to send.
type SandboxWebhook struct {
	ID            int64
	OrderID       string
	Event         string
	PaymentStatus PaymentStatus
	Delivered     bool
	Attempts      int
	LastError     string
}

// Sandbox plays Yandex Pay: the merchant API under /api/merchant/v1/…, the
// JWKS at /api/jwks, a payment page at /pay/{orderId}, and a control page at
// /. It keeps its state in the yandexpay_* tables of the database it is given.
type Sandbox struct {
	// st holds the switches, in the yandexpay_settings table so that a CLI run
	// sees what the control page set.
	st sandboxkit.Stored

	db  *sql.DB
	hc  *http.Client
	mux *http.ServeMux

	key *ecdsa.PrivateKey
	kid string

	// mu serialises every read-modify-write of the tables, and guards cfg.
	// It is never held while an HTTP call is made, because a webhook
	// receiver may call back into the sandbox.
	mu  sync.Mutex
	cfg SandboxConfig
}

// NewSandbox creates the sandbox's tables if needed, loads (or, on first
// start, generates and stores) its ES256 signing key, and returns it.
func NewSandbox(db *sql.DB, cfg SandboxConfig) (*Sandbox, error) {
	if cfg.MerchantID == "" {
		cfg.MerchantID = DemoMerchantID
	}
	if cfg.APIKey == "" {
		cfg.APIKey = cfg.MerchantID
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	s := &Sandbox{db: db, cfg: cfg, hc: cfg.HTTPClient}
	s.st = sandboxkit.Stored{DB: db, Table: "yandexpay_settings", Lock: &s.mu}
	if s.hc == nil {
		s.hc = &http.Client{Timeout: 10 * time.Second}
	}
	for _, q := range []string{
		`CREATE TABLE IF NOT EXISTS yandexpay_orders (
			order_id TEXT PRIMARY KEY,
			data TEXT NOT NULL,
			created_at TEXT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS yandexpay_keys (
			kid TEXT PRIMARY KEY,
			private_key BLOB NOT NULL,
			created_at TEXT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS yandexpay_settings (
			key TEXT PRIMARY KEY,
			value TEXT NOT NULL)`,
		// Operations by the shop's externalOperationId, for
		// GET /v1/operations/{id}.
		`CREATE TABLE IF NOT EXISTS yandexpay_operations (
			external_operation_id TEXT PRIMARY KEY,
			order_id TEXT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS yandexpay_webhooks (
			id INTEGER PRIMARY KEY AUTOINCREMENT,
			order_id TEXT NOT NULL,
			event TEXT NOT NULL,
			payment_status TEXT NOT NULL,
			delivered INTEGER NOT NULL DEFAULT 0,
			attempts INTEGER NOT NULL DEFAULT 0,
			last_error TEXT NOT NULL DEFAULT '',
			created_at TEXT NOT NULL)`,
	} {
		if _, err := db.Exec(q); err != nil {
			return nil, fmt.Errorf("yandexpay sandbox: create tables: %w", err)
		}
	}
	if err := s.loadKey(); err != nil {
		return nil, err
	}
	if cfg.CallbackURL == "" {
		s.cfg.CallbackURL = s.st.Get("callback_url")
	}
	s.routes()
	return s, nil
}

// loadKey reads the signing key, generating it on first start so the JWKS
// (and so the shop's cached keys) survive restarts.
func (s *Sandbox) loadKey() error {
	var kid string
	var raw []byte
	err := s.db.QueryRow(`SELECT kid, private_key FROM yandexpay_keys ORDER BY created_at LIMIT 1`).Scan(&kid, &raw)
	if err == nil {
		key, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), raw)
		if err != nil {
			return fmt.Errorf("yandexpay sandbox: stored key: %w", err)
		}
		s.key, s.kid = key, kid
		return nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("yandexpay sandbox: load key: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("yandexpay sandbox: generate key: %w", err)
	}
	raw, err = key.Bytes()
	if err != nil {
		return fmt.Errorf("yandexpay sandbox: encode key: %w", err)
	}
	kid = "sandbox-" + randomHex(8)
	if _, err := s.db.Exec(`INSERT INTO yandexpay_keys (kid, private_key, created_at) VALUES (?, ?, ?)`,
		kid, raw, time.Now().UTC().Format(tsLayout)); err != nil {
		return fmt.Errorf("yandexpay sandbox: store key: %w", err)
	}
	s.key, s.kid = key, kid
	return nil
}

// SetBaseURL sets the public URL the sandbox is mounted at (tests learn it
// after starting the server).
func (s *Sandbox) SetBaseURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.BaseURL = strings.TrimRight(u, "/")
}

// SetCallbackURL sets (or, with "", clears) the merchant's callback URL;
// webhooks go to CallbackURL + "/v1/webhook". It is stored, so it survives
// restarts.
func (s *Sandbox) SetCallbackURL(u string) error {
	u = strings.TrimRight(u, "/")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.CallbackURL = u
	return s.st.Set("callback_url", u)
}

// KeyID returns the kid of the sandbox's signing key.
func (s *Sandbox) KeyID() string { return s.kid }

// PublicKey returns the sandbox's webhook verification key.
func (s *Sandbox) PublicKey() *ecdsa.PublicKey { return &s.key.PublicKey }

// Switches. Each one-shot switch is used up by the next payment or call.

// DeclineNext makes the next Pay on the payment page fail (FAILED).
func (s *Sandbox) DeclineNext() error { return s.st.Put("decline_next", "1") }

// FailNext makes the next merchant API call answer HTTP 500.
func (s *Sandbox) FailNext() error { return s.st.Arm(sandboxkit.FailNextKey) }

// FailMode says how FailNextCancel and FailNextRefund fail the next call.
type FailMode string

// The fail modes.
const (
	FailNone FailMode = ""
	// FailRefused answers HTTP 400 {reasonCode: OPERATION_REJECTED}: a
	// definite refusal, nothing is done. [U] the code is the sandbox's.
	FailRefused FailMode = "refused"
	// FailHTTP500 answers HTTP 500; nothing is done.
	FailHTTP500 FailMode = "500"
	// FailLostAnswer does the operation and then answers HTTP 500, as when
	// the connection drops after Yandex Pay acted.
	FailLostAnswer FailMode = "lost"
)

// FailNextCancel makes the next cancel or rollback fail the given way
// (FailNone clears it).
func (s *Sandbox) FailNextCancel(mode FailMode) error {
	return s.st.Put("fail_next_cancel", string(mode))
}

// FailNextRefund makes the next new refund (not the repeat of one already
// made) fail the given way (FailNone clears it).
func (s *Sandbox) FailNextRefund(mode FailMode) error {
	return s.st.Put("fail_next_refund", string(mode))
}

// takeMode reads a FailMode switch and clears it; the caller holds mu.
func (s *Sandbox) takeMode(k string) (FailMode, error) {
	m := FailMode(s.st.Get(k))
	if m != FailNone {
		if err := s.st.Set(k, ""); err != nil {
			return FailNone, err
		}
	}
	return m, nil
}

// switchError is the answer of a FailMode that does nothing, nil for
// FailNone and FailLostAnswer.
func switchError(m FailMode) error {
	switch m {
	case FailRefused:
		return badRequest("OPERATION_REJECTED", "sandbox: refusing this operation as asked")
	case FailHTTP500:
		return &apiError{status: http.StatusInternalServerError, code: "INTERNAL_SERVER_ERROR", reason: "sandbox: failing this call as asked"}
	}
	return nil
}

// errLostAnswer is answered (HTTP 500) after an operation FailLostAnswer
// let happen.
var errLostAnswer = errors.New("sandbox: the answer was lost as asked")

// SetLatency delays every merchant API answer by d (0 turns it off).
func (s *Sandbox) SetLatency(d time.Duration) error {
	return s.st.SetLatency(d)
}

// KeepPendingPolls makes every paid order answer PENDING to the next n GETs
// before showing its real status, so the shop's poller is exercised. It
// stays in force until set to 0.
func (s *Sandbox) KeepPendingPolls(n int) error {
	return s.st.Put("keep_pending", strconv.Itoa(max(n, 0)))
}

// SetTwoStage makes paid orders stop at AUTHORIZED (the shop must Capture or
// Cancel) instead of going straight to CAPTURED.
func (s *Sandbox) SetTwoStage(on bool) error {
	v := "0"
	if on {
		v = "1"
	}
	return s.st.Put("two_stage", v)
}

// Order returns the sandbox's state of an order.
func (s *Sandbox) Order(orderID string) (*SandboxOrder, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.load(orderID)
}

// Payment is Order under the name the other sandboxes use.
func (s *Sandbox) Payment(orderID string) (*SandboxOrder, error) { return s.Order(orderID) }

// Orders returns the most recent orders, newest first.
func (s *Sandbox) Orders(limit int) ([]SandboxOrder, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rows, err := s.db.Query(`SELECT data FROM yandexpay_orders ORDER BY created_at DESC LIMIT ?`, limit)
	return sandboxdb.Collect(rows, err, func(r sandboxdb.Scanner) (SandboxOrder, error) {
		var data string
		var o SandboxOrder
		if err := r.Scan(&data); err != nil {
			return o, err
		}
		err := json.Unmarshal([]byte(data), &o)
		return o, err
	})
}

// Webhooks returns the webhooks of an order, oldest first.
func (s *Sandbox) Webhooks(orderID string) ([]SandboxWebhook, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rows, err := s.db.Query(`SELECT id, order_id, event, payment_status, delivered, attempts, last_error
		FROM yandexpay_webhooks WHERE order_id = ? ORDER BY id`, orderID)
	return sandboxdb.Collect(rows, err, func(r sandboxdb.Scanner) (SandboxWebhook, error) {
		var w SandboxWebhook
		if err := r.Scan(&w.ID, &w.OrderID, &w.Event, &w.PaymentStatus, &w.Delivered, &w.Attempts, &w.LastError); err != nil {
			return SandboxWebhook{}, err
		}
		return w, nil
	})
}

// errNotFound is returned by load for an unknown order.
var errNotFound = errors.New("yandexpay sandbox: order not found")

// load reads an order and applies expiry; the caller holds mu.
func (s *Sandbox) load(orderID string) (*SandboxOrder, error) {
	var data string
	err := s.db.QueryRow(`SELECT data FROM yandexpay_orders WHERE order_id = ?`, orderID).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, err
	}
	var o SandboxOrder
	if err := json.Unmarshal([]byte(data), &o); err != nil {
		return nil, err
	}
	if o.Status == StatusPending && !o.ExpiresAt.IsZero() && time.Now().After(o.ExpiresAt) {
		// An unpaid link that ran out is a failed payment, as in Yandex Pay.
		o.Status = StatusFailed
		if err := s.save(&o); err != nil {
			return nil, err
		}
	}
	return &o, nil
}

// save writes an order; the caller holds mu.
func (s *Sandbox) save(o *SandboxOrder) error {
	o.UpdatedAt = time.Now().UTC()
	b, err := json.Marshal(o)
	if err != nil {
		return err
	}
	_, err = s.db.Exec(`INSERT INTO yandexpay_orders (order_id, data, created_at) VALUES (?, ?, ?)
		ON CONFLICT(order_id) DO UPDATE SET data = excluded.data`,
		o.OrderID, string(b), o.CreatedAt.UTC().Format(tsLayout))
	return err
}

// queueWebhook records a webhook to send, if a callback URL is configured;
// the caller holds mu. It returns the row id, or 0 when none is queued.
func (s *Sandbox) queueWebhook(orderID string, status PaymentStatus) int64 {
	if s.cfg.CallbackURL == "" {
		return 0
	}
	res, err := s.db.Exec(`INSERT INTO yandexpay_webhooks (order_id, event, payment_status, created_at)
		VALUES (?, 'ORDER_STATUS_UPDATED', ?, ?)`, orderID, string(status), time.Now().UTC().Format(tsLayout))
	if err != nil {
		return 0
	}
	id, _ := res.LastInsertId()
	return id
}

// deliver sends webhook id (with a fresh JWT, as Yandex does on retries) and
// records the outcome. mu must NOT be held.
func (s *Sandbox) deliver(ctx context.Context, id int64) error {
	s.mu.Lock()
	var w SandboxWebhook
	err := s.db.QueryRow(`SELECT id, order_id, event, payment_status FROM yandexpay_webhooks WHERE id = ?`, id).
		Scan(&w.ID, &w.OrderID, &w.Event, &w.PaymentStatus)
	callback := s.cfg.CallbackURL
	merchant := s.cfg.MerchantID
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if callback == "" {
		return errors.New("yandexpay sandbox: no callback URL configured")
	}
	now := time.Now()
	token, err := s.signJWT(map[string]any{
		"merchantId": merchant,
		"event":      w.Event,
		"eventTime":  now.UTC().Format("2006-01-02T15:04:05.000000-07:00"),
		"order":      map[string]any{"orderId": w.OrderID, "paymentStatus": w.PaymentStatus},
	}, now, 5*time.Minute)
	if err != nil {
		return err
	}
	sendErr := func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, callback+"/v1/webhook", strings.NewReader(token))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/octet-stream")
		resp, err := s.hc.Do(req)
		if err != nil {
			return err
		}
		if _, err := httpbody.ReadAndClose(resp, 64<<10); err != nil {
			return fmt.Errorf("read the merchant's answer: %w", err)
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("merchant answered HTTP %d", resp.StatusCode)
		}
		return nil
	}()
	s.mu.Lock()
	defer s.mu.Unlock()
	if sendErr != nil {
		_, err := s.db.Exec(`UPDATE yandexpay_webhooks SET attempts = attempts + 1, last_error = ? WHERE id = ?`, sendErr.Error(), id)
		return errors.Join(sendErr, err)
	}
	_, err = s.db.Exec(`UPDATE yandexpay_webhooks SET attempts = attempts + 1, delivered = 1, last_error = '' WHERE id = ?`, id)
	return err
}

// signJWT builds the compact ES256 JWT Yandex Pay sends: iat and exp in the
// protected header, as Yandex documents.
func (s *Sandbox) signJWT(payload any, now time.Time, ttl time.Duration) (string, error) {
	return signES256(s.key, s.kid, payload, now, ttl)
}

func signES256(key *ecdsa.PrivateKey, kid string, payload any, now time.Time, ttl time.Duration) (string, error) {
	h, err := json.Marshal(map[string]any{
		"alg": "ES256", "kid": kid, "typ": "JWT",
		"iat": now.Unix(), "exp": now.Add(ttl).Unix(),
	})
	if err != nil {
		return "", err
	}
	p, err := json.Marshal(payload)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	signed := enc.EncodeToString(h) + "." + enc.EncodeToString(p)
	sum := sha256.Sum256([]byte(signed))
	r, sv, err := ecdsa.Sign(rand.Reader, key, sum[:])
	if err != nil {
		return "", err
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	sv.FillBytes(sig[32:])
	return signed + "." + enc.EncodeToString(sig), nil
}

// ResendNotification sends a webhook with the order's current status again:
// a duplicate, for tests of idempotent webhook handling.
func (s *Sandbox) ResendNotification(orderID string) error {
	s.mu.Lock()
	o, err := s.load(orderID)
	var id int64
	if err == nil {
		id = s.queueWebhook(orderID, o.Status)
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if id == 0 {
		return errors.New("yandexpay sandbox: no callback URL configured")
	}
	return s.deliver(context.Background(), id)
}

// SendNotification sends a webhook claiming status for the order without
// changing the order: for out-of-order and stale-webhook tests.
func (s *Sandbox) SendNotification(orderID string, status PaymentStatus) error {
	s.mu.Lock()
	_, err := s.load(orderID)
	var id int64
	if err == nil {
		id = s.queueWebhook(orderID, status)
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if id == 0 {
		return errors.New("yandexpay sandbox: no callback URL configured")
	}
	return s.deliver(context.Background(), id)
}

// ResendNotifications retries every webhook not yet delivered and returns
// how many got through and the first
// failure (each is also recorded on its row).
func (s *Sandbox) ResendNotifications() (int, error) {
	return (&sandboxkit.Outbox{DB: s.db, Table: "yandexpay_webhooks"}).ResendPending(context.Background(), s.deliver)
}

// ServeHTTP implements http.Handler.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Sandbox) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", s.handleControlPage)
	m.HandleFunc("POST /_control", s.handleControl)
	m.HandleFunc("GET /api/jwks", s.handleJWKS)
	m.HandleFunc("POST /api/merchant/v1/orders", s.api(s.handleCreate))
	m.HandleFunc("GET /api/merchant/v1/orders/{id}", s.api(s.handleGet))
	m.HandleFunc("POST /api/merchant/v1/orders/{id}/refund", s.api(s.handleRefund))
	m.HandleFunc("POST /api/merchant/v1/orders/{id}/cancel", s.api(s.handleCancel))
	m.HandleFunc("POST /api/merchant/v1/orders/{id}/capture", s.api(s.handleCapture))
	m.HandleFunc("POST /api/merchant/v1/orders/{id}/rollback", s.api(s.handleRollback))
	m.HandleFunc("GET /api/merchant/v1/operations/{id}", s.api(s.handleGetOperation))
	m.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeFail(w, http.StatusNotFound, "NOT_FOUND", "no such endpoint")
	})
	m.HandleFunc("GET /pay/{id}", s.handlePayPage)
	m.HandleFunc("POST /pay/{id}", s.handlePayAction)
	s.mux = m
}

// apiError is a fail envelope to answer with.
type apiError struct {
	status int
	code   string
	reason string
}

func (e *apiError) Error() string { return e.code + ": " + e.reason }

func writeFail(w http.ResponseWriter, status int, code, reason string) {
	httpbody.WriteJSON(w, status, "application/json", map[string]any{"status": "fail", "code": status, "reasonCode": code, "reason": reason})
}

func writeData(w http.ResponseWriter, data any) {
	httpbody.WriteJSON(w, http.StatusOK, "application/json", map[string]any{"status": "success", "code": 200, "data": data})
}

// api wraps a merchant API handler with the switches (latency, fail next)
// and the Api-Key check.
func (s *Sandbox) api(h func(r *http.Request) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		key := s.cfg.APIKey
		s.mu.Unlock()
		fail, gone := s.st.Gate(r.Context())
		if gone {
			return
		}
		if fail {
			writeFail(w, http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", "sandbox: failing this call as asked")
			return
		}
		if r.Header.Get("Authorization") != "Api-Key "+key {
			writeFail(w, http.StatusUnauthorized, "UNAUTHORIZED", "invalid or missing Api-Key")
			return
		}
		data, err := h(r)
		if err != nil {
			var ae *apiError
			if errors.As(err, &ae) {
				writeFail(w, ae.status, ae.code, ae.reason)
				return
			}
			writeFail(w, http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", err.Error())
			return
		}
		writeData(w, data)
	}
}

func badRequest(code, reason string) error {
	return &apiError{status: http.StatusBadRequest, code: code, reason: reason}
}

func (s *Sandbox) handleCreate(r *http.Request) (any, error) {
	var in wireCreateOrder
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in); err != nil {
		return nil, badRequest("BAD_REQUEST", "body is not valid JSON: "+err.Error())
	}
	if in.OrderID == "" {
		return nil, badRequest("BAD_REQUEST", "orderId is required")
	}
	if in.CurrencyCode != "RUB" {
		return nil, badRequest("BAD_REQUEST", "currencyCode must be RUB")
	}
	if len(in.Cart.Items) == 0 {
		return nil, badRequest("BAD_REQUEST", "cart.items must not be empty")
	}
	if in.RedirectURLs.OnSuccess == "" || in.RedirectURLs.OnError == "" {
		return nil, badRequest("BAD_REQUEST", "redirectUrls.onSuccess and onError are required")
	}
	var sum int64
	items := make([]Item, 0, len(in.Cart.Items))
	for _, it := range in.Cart.Items {
		q, err := strconv.ParseFloat(string(it.Quantity.Count), 64)
		if err != nil || q <= 0 {
			return nil, badRequest("BAD_REQUEST", "cart.items[].quantity.count must be a positive number")
		}
		if it.Total < 0 {
			return nil, badRequest("BAD_REQUEST", "cart.items[].total must not be negative")
		}
		sum += int64(it.Total)
		items = append(items, Item{ProductID: it.ProductID, Title: it.Title, Quantity: int(q), TotalMinor: int64(it.Total)})
	}
	// [U] the exact reason code Yandex uses for a cart that does not add up.
	if sum != int64(in.Cart.Total.Amount) {
		return nil, badRequest("ORDER_AMOUNT_MISMATCH", fmt.Sprintf("cart.total.amount %s is not the sum of the items %s",
			FormatMinor(int64(in.Cart.Total.Amount)), FormatMinor(sum)))
	}
	if sum <= 0 {
		return nil, badRequest("BAD_REQUEST", "cart.total.amount must be positive")
	}
	ttl := defaultTTL
	if in.TTL > 0 {
		ttl = time.Duration(in.TTL) * time.Second
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	link := s.cfg.BaseURL + "/pay/" + urlPathEscape(in.OrderID)
	if old, err := s.load(in.OrderID); err == nil {
		// Creating the same unpaid order again returns the same link [U].
		if old.Status == StatusPending && old.AmountMinor == sum {
			return map[string]any{"paymentUrl": link}, nil
		}
		return nil, &apiError{status: http.StatusConflict, code: "ORDER_ALREADY_EXISTS", reason: "an order with this orderId already exists"}
	} else if !errors.Is(err, errNotFound) {
		return nil, err
	}
	now := time.Now().UTC()
	o := &SandboxOrder{
		OrderID: in.OrderID, Currency: in.CurrencyCode, Items: items,
		AmountMinor: sum, Status: StatusPending,
		RedirectURLs: RedirectURLs{OnSuccess: in.RedirectURLs.OnSuccess, OnError: in.RedirectURLs.OnError, OnAbort: in.RedirectURLs.OnAbort},
		ExpiresAt:    now.Add(ttl), CreatedAt: now,
	}
	if err := s.save(o); err != nil {
		return nil, err
	}
	return map[string]any{"paymentUrl": link}, nil
}

func urlPathEscape(s string) string {
	// Order ids are the shop's; escape anything that is not path-safe.
	var b strings.Builder
	for _, c := range []byte(s) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_.~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func wireOps(o *SandboxOrder) []wireOperation {
	ops := make([]wireOperation, 0, len(o.Operations))
	for _, op := range o.Operations {
		ops = append(ops, wireOperation{OperationID: op.OperationID, OperationType: op.OperationType, Status: op.Status,
			Amount: wire.MoneyString(op.AmountMinor), OrderID: o.OrderID, ExternalOperationID: op.ExternalOperationID, Reason: op.Reason})
	}
	return ops
}

func (s *Sandbox) handleGet(r *http.Request) (any, error) {
	id := r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.load(id)
	if errors.Is(err, errNotFound) {
		return nil, &apiError{status: http.StatusNotFound, code: "ORDER_NOT_FOUND", reason: "order not found"}
	}
	if err != nil {
		return nil, err
	}
	status, ops := o.Status, wireOps(o)
	if o.HiddenPolls > 0 && o.Status != StatusPending {
		o.HiddenPolls--
		if err := s.save(o); err != nil {
			return nil, err
		}
		status, ops = StatusPending, []wireOperation{}
	}
	return map[string]any{
		"order": wireOrder{
			OrderID: o.OrderID, PaymentStatus: status, OrderAmount: wire.MoneyString(o.AmountMinor),
			CurrencyCode: o.Currency, PaymentURL: s.cfg.BaseURL + "/pay/" + urlPathEscape(o.OrderID),
			Created: o.CreatedAt.Format(time.RFC3339), Updated: o.UpdatedAt.Format(time.RFC3339),
		},
		"operations": ops,
	}, nil
}

// mutate runs f on an order under the lock, saves it, queues the webhook and
// delivers it after unlocking. f returns the operation to answer with.
func (s *Sandbox) mutate(ctx context.Context, orderID string, f func(o *SandboxOrder) (*Operation, error)) (*Operation, error) {
	s.mu.Lock()
	o, err := s.load(orderID)
	if errors.Is(err, errNotFound) {
		s.mu.Unlock()
		return nil, &apiError{status: http.StatusNotFound, code: "ORDER_NOT_FOUND", reason: "order not found"}
	}
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	op, err := f(o)
	if err == nil {
		err = s.save(o)
	}
	var hook int64
	if err == nil {
		hook = s.queueWebhook(o.OrderID, o.Status)
	}
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if hook != 0 {
		// A failed delivery is recorded for ResendNotifications; the API
		// call itself has succeeded, as with the real provider.
		_ = s.deliver(ctx, hook)
	}
	return op, nil
}

func newOperation(typ string, amountMinor int64, ext string) Operation {
	return Operation{OperationID: randomHex(16), OperationType: typ, Status: "SUCCESS", AmountMinor: amountMinor, ExternalOperationID: ext}
}

func opAnswer(o *SandboxOrder, op *Operation) any {
	return map[string]any{"operation": wireOperation{OperationID: op.OperationID, OperationType: op.OperationType,
		Status: op.Status, Amount: wire.MoneyString(op.AmountMinor), OrderID: o.OrderID, ExternalOperationID: op.ExternalOperationID,
		Created: time.Now().UTC().Format(time.RFC3339)}}
}

// handleRefund refunds part or all of a paid order. A refund with an
// externalOperationId Yandex Pay already has is refused with
// DUPLICATE_EXTERNAL_OPERATION_ID before anything else is checked (the
// sandbox's operations are never left in progress, so it never answers the
// same operation again itself): the shop reads it with
// GET /v1/operations/{id}.
func (s *Sandbox) handleRefund(r *http.Request) (any, error) {
	var in wireRefund
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in); err != nil {
		return nil, badRequest("BAD_REQUEST", "body is not valid JSON: "+err.Error())
	}
	var answer any
	var mode FailMode
	_, err := s.mutate(r.Context(), r.PathValue("id"), func(o *SandboxOrder) (*Operation, error) {
		if in.ExternalOperationID != "" {
			var one int
			err := s.db.QueryRow(`SELECT 1 FROM yandexpay_operations WHERE external_operation_id = ?`, in.ExternalOperationID).Scan(&one)
			if err == nil {
				return nil, badRequest(CodeDuplicateOperation, "an operation with this externalOperationId exists")
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return nil, err
			}
		}
		switch o.Status {
		case StatusCaptured, StatusConfirmed, StatusPartiallyRefunded:
		default:
			return nil, badRequest("INVALID_PAYMENT_STATUS", "refund is possible only for CAPTURED or PARTIALLY_REFUNDED payments, this one is "+string(o.Status))
		}
		var err error
		if mode, err = s.takeMode("fail_next_refund"); err != nil {
			return nil, err
		}
		if err := switchError(mode); err != nil {
			return nil, err
		}
		ref := int64(in.RefundAmount)
		if ref <= 0 || ref > o.AmountMinor {
			return nil, badRequest("INVALID_REFUND_AMOUNT", fmt.Sprintf("refundAmount must be between 0.01 and %s", FormatMinor(o.AmountMinor)))
		}
		if int64(in.OrderAmount) != o.AmountMinor-ref {
			return nil, badRequest("ORDER_AMOUNT_MISMATCH", fmt.Sprintf("orderAmount must be the amount left after the refund, %s", FormatMinor(o.AmountMinor-ref)))
		}
		o.AmountMinor -= ref
		if o.AmountMinor == 0 {
			o.Status = StatusRefunded
		} else {
			o.Status = StatusPartiallyRefunded
		}
		op := newOperation("REFUND", ref, in.ExternalOperationID)
		if err := s.rememberOperation(o, op); err != nil {
			return nil, err
		}
		o.Operations = append(o.Operations, op)
		answer = opAnswer(o, &op)
		return &op, nil
	})
	if err != nil {
		return nil, err
	}
	if mode == FailLostAnswer {
		return nil, errLostAnswer
	}
	return answer, nil
}

// rememberOperation records an operation's externalOperationId for
// GET /v1/operations/{id}; the caller holds mu.
func (s *Sandbox) rememberOperation(o *SandboxOrder, op Operation) error {
	if op.ExternalOperationID == "" {
		return nil
	}
	_, err := s.db.Exec(`INSERT INTO yandexpay_operations (external_operation_id, order_id) VALUES (?, ?)`,
		op.ExternalOperationID, o.OrderID)
	return err
}

func (s *Sandbox) handleGetOperation(r *http.Request) (any, error) {
	id := r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	var orderID string
	err := s.db.QueryRow(`SELECT order_id FROM yandexpay_operations WHERE external_operation_id = ?`, id).Scan(&orderID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &apiError{status: http.StatusNotFound, code: "OPERATION_NOT_FOUND", reason: "operation not found"}
	}
	if err != nil {
		return nil, err
	}
	o, err := s.load(orderID)
	if err != nil {
		return nil, err
	}
	for i := range o.Operations {
		if op := &o.Operations[i]; op.ExternalOperationID == id {
			return opAnswer(o, op), nil
		}
	}
	return nil, &apiError{status: http.StatusNotFound, code: "OPERATION_NOT_FOUND", reason: "operation not found"}
}

func (s *Sandbox) handleCancel(r *http.Request) (any, error) {
	var in wireCancel
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in); err != nil {
		return nil, badRequest("BAD_REQUEST", "body is not valid JSON: "+err.Error())
	}
	if strings.TrimSpace(in.Reason) == "" {
		return nil, badRequest("BAD_REQUEST", "reason is required")
	}
	var answer any
	var mode FailMode
	_, err := s.mutate(r.Context(), r.PathValue("id"), func(o *SandboxOrder) (*Operation, error) {
		if o.Status != StatusAuthorized {
			return nil, badRequest("INVALID_PAYMENT_STATUS", "cancel is possible only for AUTHORIZED payments, this one is "+string(o.Status))
		}
		var err error
		if mode, err = s.takeMode("fail_next_cancel"); err != nil {
			return nil, err
		}
		if err := switchError(mode); err != nil {
			return nil, err
		}
		o.Status = StatusVoided
		op := newOperation("VOID", o.AmountMinor, in.ExternalOperationID)
		op.Reason = in.Reason
		o.Operations = append(o.Operations, op)
		answer = opAnswer(o, &op)
		return &op, nil
	})
	if err != nil {
		return nil, err
	}
	if mode == FailLostAnswer {
		return nil, errLostAnswer
	}
	return answer, nil
}

// handleRollback closes the payment link, as Yandex Pay's /rollback does
// for an order in any status: a PENDING order becomes FAILED and can no
// longer be paid; a held one (AUTHORIZED) is released (VOIDED); a paid one
// is refunded in full. [U] The documentation says the status becomes FAILED
// in every case; for a paid order the sandbox says REFUNDED, with the
// refund as an operation without externalOperationId (the documentation
// says the registers show it as a refund). An order already closed is left
// as it is. The answer's data is empty.
func (s *Sandbox) handleRollback(r *http.Request) (any, error) {
	var mode FailMode
	_, err := s.mutate(r.Context(), r.PathValue("id"), func(o *SandboxOrder) (*Operation, error) {
		var err error
		if mode, err = s.takeMode("fail_next_cancel"); err != nil {
			return nil, err
		}
		if err := switchError(mode); err != nil {
			return nil, err
		}
		// The shop's own call shows the order as it is.
		o.HiddenPolls = 0
		switch o.Status {
		case StatusPending:
			o.Status, o.RolledBack = StatusFailed, true
		case StatusAuthorized:
			o.Status, o.RolledBack = StatusVoided, true
			o.Operations = append(o.Operations, newOperation("VOID", o.AmountMinor, ""))
		case StatusCaptured, StatusConfirmed, StatusPartiallyRefunded:
			o.Operations = append(o.Operations, newOperation("REFUND", o.AmountMinor, ""))
			o.Status, o.AmountMinor, o.RolledBack = StatusRefunded, 0, true
		}
		return nil, nil
	})
	if err != nil {
		return nil, err
	}
	if mode == FailLostAnswer {
		return nil, errLostAnswer
	}
	return map[string]any{}, nil
}

func (s *Sandbox) handleCapture(r *http.Request) (any, error) {
	var in wireCapture
	_ = json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in)
	var answer any
	_, err := s.mutate(r.Context(), r.PathValue("id"), func(o *SandboxOrder) (*Operation, error) {
		if o.Status != StatusAuthorized {
			return nil, badRequest("INVALID_PAYMENT_STATUS", "capture is possible only for AUTHORIZED payments, this one is "+string(o.Status))
		}
		o.Status = StatusCaptured
		o.PaidMinor = o.AmountMinor
		op := newOperation("CAPTURE", o.AmountMinor, in.ExternalOperationID)
		o.Operations = append(o.Operations, op)
		answer = opAnswer(o, &op)
		return &op, nil
	})
	if err != nil {
		return nil, err
	}
	return answer, nil
}

func (s *Sandbox) handleJWKS(w http.ResponseWriter, r *http.Request) {
	jwk, err := NewJWK(s.kid, &s.key.PublicKey)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	httpbody.WriteJSON(w, http.StatusOK, "application/json", JWKS{Keys: []JWK{jwk}})
}

// Pages.

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>body{font-family:sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}
button{margin:.25rem}form.inline{display:inline}</style></head><body>
<h1>{{.Title}}</h1>
{{if .Message}}<p data-testid="sandbox-message">{{.Message}}</p>{{end}}
{{with .Order}}
<p>Order <b data-testid="sandbox-order-id">{{.OrderID}}</b>: <b data-testid="sandbox-amount">{{.Amount}} {{.Currency}}</b>, status <span data-testid="sandbox-status">{{.Status}}</span></p>
<table><tr><th>Item</th><th>Qty</th><th>Total</th></tr>
{{range .Items}}<tr><td>{{.Title}}</td><td>{{.Quantity}}</td><td>{{.Total}}</td></tr>{{end}}</table>
{{if .Payable}}
<form method="post" action="">
<button type="submit" name="action" value="pay" data-testid="sandbox-pay">Pay</button>
<button type="submit" name="action" value="decline" data-testid="sandbox-decline">Decline</button>
<button type="submit" name="action" value="abandon" data-testid="sandbox-abandon">Abandon</button>
</form>{{end}}
{{end}}
{{if .Control}}
<h2>Switches</h2>
<p>Decline next: {{.DeclineNext}} · Fail next API call: {{.FailNext}} · Latency: {{.Latency}} ms · Keep PENDING for {{.KeepPending}} polls · Two-stage: {{.TwoStage}} · Fail next cancel: {{.FailNextCancel}} · Fail next refund: {{.FailNextRefund}}</p>
<form method="post" action="_control" class="inline"><button name="action" value="decline_next" data-testid="sandbox-decline-next">Decline the next payment</button></form>
<form method="post" action="_control" class="inline"><button name="action" value="fail_next" data-testid="sandbox-fail-next">Fail the next API call</button></form>
<form method="post" action="_control"><input type="hidden" name="action" value="fail_next_cancel">
<select name="value"><option value="">no failure</option><option value="refused">refused (OPERATION_REJECTED)</option><option value="500">HTTP 500, nothing done</option><option value="lost">done, answer lost (HTTP 500)</option></select>
<button data-testid="sandbox-fail-next-cancel">Fail the next cancel or rollback</button></form>
<form method="post" action="_control"><input type="hidden" name="action" value="fail_next_refund">
<select name="value"><option value="">no failure</option><option value="refused">refused (OPERATION_REJECTED)</option><option value="500">HTTP 500, nothing done</option><option value="lost">refunded, answer lost (HTTP 500)</option></select>
<button data-testid="sandbox-fail-next-refund">Fail the next refund</button></form>
<form method="post" action="_control"><input type="hidden" name="action" value="latency">
<label>Latency, ms <input name="value" value="{{.Latency}}" size="6"></label> <button data-testid="sandbox-latency">Set</button></form>
<form method="post" action="_control"><input type="hidden" name="action" value="keep_pending">
<label>Keep PENDING for N polls <input name="value" value="{{.KeepPending}}" size="4"></label> <button data-testid="sandbox-keep-pending">Set</button></form>
<form method="post" action="_control"><input type="hidden" name="action" value="two_stage">
<label><input type="checkbox" name="value" value="1" {{if .TwoStage}}checked{{end}}> Two-stage payments (stop at AUTHORIZED)</label> <button>Set</button></form>
<form method="post" action="_control"><input type="hidden" name="action" value="callback_url">
<label>Callback URL <input name="value" value="{{.CallbackURL}}" size="40"></label> <button data-testid="sandbox-callback-url">Set</button></form>
<form method="post" action="_control" class="inline"><button name="action" value="resend_all">Retry undelivered webhooks</button></form>
<p>Signing key <code>{{.KeyID}}</code>, JWKS at <a href="api/jwks">api/jwks</a>. Merchant id <code>{{.MerchantID}}</code>.</p>
<h2>Orders</h2>
<table data-testid="sandbox-orders"><tr><th>Order</th><th>Amount</th><th>Status</th><th></th></tr>
{{range .Orders}}<tr><td><a href="pay/{{.OrderID}}">{{.OrderID}}</a></td><td>{{.Amount}} {{.Currency}}</td><td>{{.Status}}</td>
<td><form method="post" action="_control" class="inline"><input type="hidden" name="order_id" value="{{.OrderID}}"><button name="action" value="resend">Resend webhook</button></form></td></tr>
{{else}}<tr><td colspan="4">No orders yet.</td></tr>{{end}}</table>
{{end}}
</body></html>`))

type pageItem struct {
	Title    string
	Quantity int
	Total    string
}

type pageOrder struct {
	OrderID, Amount, Currency string
	Status                    PaymentStatus
	Items                     []pageItem
	Payable                   bool
}

type pageData struct {
	Title, Message string
	Order          *pageOrder
	Control        bool
	DeclineNext    bool
	FailNext       bool
	FailNextCancel FailMode
	FailNextRefund FailMode
	TwoStage       bool
	Latency        int64
	KeepPending    int
	CallbackURL    string
	KeyID          string
	MerchantID     string
	Orders         []pageOrder
}

func toPageOrder(o *SandboxOrder) *pageOrder {
	p := &pageOrder{OrderID: o.OrderID, Amount: FormatMinor(o.AmountMinor), Currency: o.Currency, Status: o.Status,
		Payable: o.Status == StatusPending}
	for _, it := range o.Items {
		p.Items = append(p.Items, pageItem{Title: it.Title, Quantity: it.Quantity, Total: FormatMinor(it.TotalMinor)})
	}
	return p
}

func render(w http.ResponseWriter, status int, d pageData) {
	sandboxkit.Render(w, status, pageTmpl, d)
}

func (s *Sandbox) handlePayPage(w http.ResponseWriter, r *http.Request) {
	o, err := s.Order(r.PathValue("id"))
	if err != nil {
		render(w, http.StatusNotFound, pageData{Title: "Yandex Pay (sandbox)", Message: "This payment link is unknown."})
		return
	}
	msg := ""
	if o.Status != StatusPending {
		msg = closedMessage(o)
	}
	render(w, http.StatusOK, pageData{Title: "Yandex Pay (sandbox)", Message: msg, Order: toPageOrder(o)})
}

// closedMessage is what the payment page says of an order that cannot be
// paid.
func closedMessage(o *SandboxOrder) string {
	if o.RolledBack {
		return "The shop cancelled this payment: it can no longer be paid."
	}
	return "This order is no longer waiting for payment."
}

func (s *Sandbox) handlePayAction(w http.ResponseWriter, r *http.Request) {
	action := r.FormValue("action")
	var redirect string
	s.mu.Lock()
	o, err := s.load(r.PathValue("id"))
	if err != nil {
		s.mu.Unlock()
		render(w, http.StatusNotFound, pageData{Title: "Yandex Pay (sandbox)", Message: "This payment link is unknown."})
		return
	}
	if o.Status != StatusPending {
		s.mu.Unlock()
		render(w, http.StatusConflict, pageData{Title: "Yandex Pay (sandbox)", Message: closedMessage(o), Order: toPageOrder(o)})
		return
	}
	changed := true
	switch action {
	case "pay":
		if s.st.TakeFlag("decline_next") {
			o.Status = StatusFailed
			op := newOperation("AUTHORIZE", o.AmountMinor, "")
			op.Status, op.Reason = "FAIL", "INSUFFICIENT_FUNDS"
			o.Operations = append(o.Operations, op)
			redirect = o.RedirectURLs.OnError
			break
		}
		o.Operations = append(o.Operations, newOperation("AUTHORIZE", o.AmountMinor, ""))
		if s.st.Get("two_stage") == "1" {
			o.Status = StatusAuthorized
		} else {
			o.Status = StatusCaptured
			o.PaidMinor = o.AmountMinor
			o.Operations = append(o.Operations, newOperation("CAPTURE", o.AmountMinor, ""))
		}
		o.HiddenPolls, _ = strconv.Atoi(s.st.Get("keep_pending"))
		redirect = o.RedirectURLs.OnSuccess
	case "decline":
		o.Status = StatusFailed
		op := newOperation("AUTHORIZE", o.AmountMinor, "")
		op.Status, op.Reason = "FAIL", "DECLINED_BY_ISSUER"
		o.Operations = append(o.Operations, op)
		redirect = o.RedirectURLs.OnError
	case "abandon":
		// The customer closed the form: the order stays PENDING until its
		// link expires, as in Yandex Pay.
		changed = false
		redirect = o.RedirectURLs.OnAbort
		if redirect == "" {
			redirect = o.RedirectURLs.OnError
		}
	default:
		s.mu.Unlock()
		render(w, http.StatusBadRequest, pageData{Title: "Yandex Pay (sandbox)", Message: "Unknown action.", Order: toPageOrder(o)})
		return
	}
	var hook int64
	if changed {
		err = s.save(o)
		if err == nil {
			hook = s.queueWebhook(o.OrderID, o.Status)
		}
	}
	s.mu.Unlock()
	if err != nil {
		render(w, http.StatusInternalServerError, pageData{Title: "Yandex Pay (sandbox)", Message: "The sandbox could not save the payment."})
		return
	}
	if hook != 0 {
		// Synchronously, so tests see the webhook before the redirect.
		_ = s.deliver(r.Context(), hook)
	}
	w.Header().Set("Location", redirect)
	w.WriteHeader(http.StatusSeeOther)
}

func (s *Sandbox) handleControlPage(w http.ResponseWriter, r *http.Request) {
	orders, err := s.Orders(50)
	if err != nil {
		http.Error(w, "sandbox: "+err.Error(), http.StatusInternalServerError)
		return
	}
	s.mu.Lock()
	d := pageData{Title: "Yandex Pay sandbox", Control: true,
		DeclineNext: s.st.Get("decline_next") == "1", FailNext: s.st.On(sandboxkit.FailNextKey),
		TwoStage: s.st.Get("two_stage") == "1", CallbackURL: s.cfg.CallbackURL, KeyID: s.kid, MerchantID: s.cfg.MerchantID,
		FailNextCancel: FailMode(s.st.Get("fail_next_cancel")), FailNextRefund: FailMode(s.st.Get("fail_next_refund"))}
	d.Latency = s.st.Latency().Milliseconds()
	d.KeepPending, _ = strconv.Atoi(s.st.Get("keep_pending"))
	s.mu.Unlock()
	for i := range orders {
		d.Orders = append(d.Orders, *toPageOrder(&orders[i]))
	}
	d.Message = r.URL.Query().Get("msg")
	render(w, http.StatusOK, d)
}

func (s *Sandbox) handleControl(w http.ResponseWriter, r *http.Request) {
	v := strings.TrimSpace(r.FormValue("value"))
	var err error
	msg := "Done."
	switch r.FormValue("action") {
	case "decline_next":
		err = s.DeclineNext()
	case "fail_next":
		err = s.FailNext()
	case "fail_next_cancel":
		err = s.FailNextCancel(failMode(v))
	case "fail_next_refund":
		err = s.FailNextRefund(failMode(v))
	case "latency":
		var d time.Duration
		if d, err = sandboxkit.ParseLatency(v); err == nil {
			err = s.SetLatency(d)
		}
	case "keep_pending":
		n, _ := strconv.Atoi(v)
		err = s.KeepPendingPolls(n)
	case "two_stage":
		err = s.SetTwoStage(v == "1")
	case "callback_url":
		err = s.SetCallbackURL(v)
	case "resend":
		err = s.ResendNotification(r.FormValue("order_id"))
	case "resend_all":
		var n int
		n, err = s.ResendNotifications()
		msg = fmt.Sprintf("%d webhook(s) delivered.", n)
	default:
		http.Error(w, "unknown action", http.StatusBadRequest)
		return
	}
	if err != nil {
		msg = "Error: " + err.Error()
	}
	// A relative Location: the sandbox is mounted under a stripped prefix,
	// so only the browser knows the full path.
	sandboxkit.BackToControl(w, msg)
}

// failMode reads a mode of the control page's selects; anything unknown
// clears the switch.
func failMode(v string) FailMode {
	switch m := FailMode(v); m {
	case FailRefused, FailHTTP500, FailLostAnswer:
		return m
	}
	return FailNone
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
