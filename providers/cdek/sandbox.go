package cdek

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"orderdesk/providers/internal/sandboxkit"
	"orderdesk/providers/internal/wire"
	"strconv"
	"strings"
	"sync"
	"time"

	"orderdesk/providers/internal/httpbody"
	"orderdesk/providers/internal/sandboxdb"
)

// Demo credentials the sandbox accepts when SandboxConfig leaves them empty.
const (
	DemoClientID     = "cdek-sandbox-account"
	DemoClientSecret = "cdek-sandbox-secure-password"
)

// firstTrack makes sandbox track numbers look like real ones (ten digits).
const firstTrack = 1106000000

// ErrNotFound is returned by the sandbox helpers for an unknown order.
var ErrNotFound = errors.New("cdek sandbox: order not found")

// statusNames are the Russian names CDEK gives its status codes.
var statusNames = map[string]string{
	StatusAccepted:                        "Принят",
	StatusCreated:                         "Создан",
	StatusInvalid:                         "Некорректный заказ",
	StatusRemoved:                         "Удален",
	StatusReceivedAtShipmentWarehouse:     "Принят на склад отправителя",
	StatusReadyForShipmentInSenderCity:    "Выдан на отправку в г. отправителе",
	StatusTakenByTransporterFromSender:    "Сдан перевозчику в г. отправителе",
	StatusSentToRecipientCity:             "Отправлен в г. получатель",
	StatusAcceptedInRecipientCity:         "Встречен в г. получателе",
	StatusAcceptedAtRecipientCityWarehous: "Принят на склад доставки",
	StatusAcceptedAtPickUpPoint:           "Принят на склад до востребования",
	StatusTakenByCourier:                  "Выдан на доставку",
	StatusPostomatReceived:                "Заложен в постамат",
	StatusDelivered:                       "Вручен",
	StatusNotDelivered:                    "Не вручен",
}

// courierPath and pickupPath are the sandbox's happy paths after CREATED,
// for door delivery and for a pick-up point.
var (
	courierPath = []string{StatusReceivedAtShipmentWarehouse, StatusReadyForShipmentInSenderCity,
		StatusTakenByTransporterFromSender, StatusSentToRecipientCity, StatusAcceptedInRecipientCity,
		StatusAcceptedAtRecipientCityWarehous, StatusTakenByCourier, StatusDelivered}
	pickupPath = []string{StatusReceivedAtShipmentWarehouse, StatusReadyForShipmentInSenderCity,
		StatusTakenByTransporterFromSender, StatusSentToRecipientCity, StatusAcceptedInRecipientCity,
		StatusAcceptedAtPickUpPoint, StatusDelivered}
)

// SandboxConfig configures NewSandbox.
type SandboxConfig struct {
	// ClientID and ClientSecret are the account the sandbox accepts
	// (default DemoClientID / DemoClientSecret).
	ClientID     string
	ClientSecret string
	// BaseURL is where the sandbox is mounted, e.g.
	// "http://localhost:8080/sandbox/cdek".
	BaseURL string
	// TokenTTL is the lifetime of issued tokens (default one hour).
	TokenTTL time.Duration
	// ReadsUntilRegistered is the number of order-info reads after which a
	// shipment is registered (track number assigned) or rejected; default 2,
	// so the first read shows it still WAITING, as CDEK often does.
	ReadsUntilRegistered int
	// RegisterAfter registers a shipment on the first read after this much
	// time, whatever the reads (default 10 s).
	RegisterAfter time.Duration
	// HTTPClient delivers webhooks (default: 10 s timeout).
	HTTPClient *http.Client
	// Now is the sandbox clock (default time.Now).
	Now func() time.Time
}

// Sandbox plays CDEK: the OAuth token endpoint, orders with asynchronous
// registration, status history, ORDER_STATUS webhooks and a control page,
// with its state in SQLite tables named cdek_*. It is an http.Handler meant
// to be mounted with http.StripPrefix.
type Sandbox struct {
	sandboxkit.Board // SetBaseURL, BaseURL, SetLatency, Latency

	db  *sql.DB
	cfg SandboxConfig
	mux *http.ServeMux

	// writeMu serialises state changes (a read that registers a shipment,
	// a status change). It is never held while a webhook is delivered: the
	// app re-reads the order from its webhook handler.
	writeMu sync.Mutex

	failNext   sandboxkit.Once[bool]
	rejectNext sandboxkit.Once[bool]
}

// SandboxOrder is the sandbox's record of a shipment.
type SandboxOrder struct {
	UUID          string
	Number        string
	CDEKNumber    string
	TariffCode    int
	RequestUUID   string
	State         string // of the CREATE request
	Errors        []Problem
	Reject        bool // will be rejected when registration completes
	Reads         int
	DeliveryPoint string
	FromCity      string
	ToCity        string
	Statuses      []Status // oldest first
	CreatedAt     time.Time
}

// Current returns the shipment's latest status (the sandbox keeps them in
// the order they happened, so ties in time do not matter).
func (o *SandboxOrder) Current() Status {
	if len(o.Statuses) == 0 {
		return Status{}
	}
	return o.Statuses[len(o.Statuses)-1]
}

// SandboxSwitches is the state of the failure switches.
type SandboxSwitches struct {
	FailNext               bool
	RejectNextRegistration bool
	Latency                time.Duration
}

// SandboxDelivery is one webhook the sandbox sent or tried to send.
type SandboxDelivery struct {
	ID        int64
	OrderUUID string
	URL       string
	Body      string
	Attempts  int
	Delivered bool
	LastError string
}

const schema = `
CREATE TABLE IF NOT EXISTS cdek_tokens (
	token      TEXT PRIMARY KEY,
	expires_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cdek_orders (
	uuid           TEXT PRIMARY KEY,
	number         TEXT    NOT NULL DEFAULT '',
	cdek_number    TEXT    NOT NULL DEFAULT '',
	tariff_code    INTEGER NOT NULL,
	request_uuid   TEXT    NOT NULL,
	state          TEXT    NOT NULL,
	errors         TEXT    NOT NULL DEFAULT '',
	reject         INTEGER NOT NULL DEFAULT 0,
	reads          INTEGER NOT NULL DEFAULT 0,
	delivery_point TEXT    NOT NULL DEFAULT '',
	from_city      TEXT    NOT NULL DEFAULT '',
	to_city        TEXT    NOT NULL DEFAULT '',
	body           TEXT    NOT NULL,
	created_at     TEXT    NOT NULL,
	updated_at     TEXT    NOT NULL
);
-- GET /orders?im_number= and ?cdek_number= look orders up by these.
CREATE INDEX IF NOT EXISTS cdek_orders_number ON cdek_orders (number);
CREATE INDEX IF NOT EXISTS cdek_orders_track ON cdek_orders (cdek_number);
CREATE TABLE IF NOT EXISTS cdek_statuses (
	id        INTEGER PRIMARY KEY AUTOINCREMENT,
	uuid      TEXT NOT NULL,
	code      TEXT NOT NULL,
	name      TEXT NOT NULL,
	city      TEXT NOT NULL DEFAULT '',
	date_time TEXT NOT NULL
);
-- An order's history is read in insertion order.
CREATE INDEX IF NOT EXISTS cdek_statuses_order ON cdek_statuses (uuid, id);
CREATE TABLE IF NOT EXISTS cdek_webhooks (
	uuid       TEXT PRIMARY KEY,
	type       TEXT NOT NULL UNIQUE,
	url        TEXT NOT NULL,
	created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cdek_webhook_deliveries (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	order_uuid      TEXT    NOT NULL,
	url             TEXT    NOT NULL,
	body            TEXT    NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	delivered       INTEGER NOT NULL DEFAULT 0,
	last_error      TEXT    NOT NULL DEFAULT '',
	created_at      TEXT    NOT NULL,
	last_attempt_at TEXT    NOT NULL DEFAULT ''
);
-- ResendWebhooks scans the undelivered ones in order.
CREATE INDEX IF NOT EXISTS cdek_webhook_deliveries_pending ON cdek_webhook_deliveries (delivered, id);
CREATE INDEX IF NOT EXISTS cdek_webhook_deliveries_order ON cdek_webhook_deliveries (order_uuid, id);
`

// NewSandbox creates the sandbox's tables in db (if missing) and returns it.
func NewSandbox(db *sql.DB, cfg SandboxConfig) (*Sandbox, error) {
	if cfg.ClientID == "" {
		cfg.ClientID = DemoClientID
	}
	if cfg.ClientSecret == "" {
		cfg.ClientSecret = DemoClientSecret
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = time.Hour
	}
	if cfg.ReadsUntilRegistered <= 0 {
		cfg.ReadsUntilRegistered = 2
	}
	if cfg.RegisterAfter <= 0 {
		cfg.RegisterAfter = 10 * time.Second
	}
	sandboxkit.Defaults(&cfg.HTTPClient, &cfg.Now)
	if _, err := db.Exec(schema); err != nil {
		return nil, fmt.Errorf("cdek sandbox: create tables: %w", err)
	}
	s := &Sandbox{db: db, cfg: cfg}
	s.SetBaseURL(cfg.BaseURL)
	mux := http.NewServeMux()
	mux.HandleFunc("/v2/oauth/token", s.gate(s.oauthToken))
	mux.HandleFunc("POST /v2/orders", s.gate(s.authed(s.apiCreate)))
	mux.HandleFunc("GET /v2/orders", s.gate(s.authed(s.apiFind)))
	mux.HandleFunc("GET /v2/orders/{uuid}", s.gate(s.authed(s.apiOrder)))
	mux.HandleFunc("POST /v2/webhooks", s.gate(s.authed(s.apiSubscribe)))
	mux.HandleFunc("GET /v2/webhooks", s.gate(s.authed(s.apiWebhooks)))
	mux.HandleFunc("DELETE /v2/webhooks/{uuid}", s.gate(s.authed(s.apiUnsubscribe)))
	mux.HandleFunc("GET /{$}", s.controlPage)
	mux.HandleFunc("POST /_control", sandboxkit.ControlHandler(s.control))
	s.mux = mux
	return s, nil
}

// ServeHTTP serves the API and the control page.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// APIURL returns the BaseURL a client should use for this sandbox.
func (s *Sandbox) APIURL() string { return s.BaseURL() + "/v2" }

// FailNext makes the next API call fail with HTTP 500 and v2_internal_error.
func (s *Sandbox) FailNext() { s.failNext.Arm(true) }

// RejectNextRegistration makes the next registered shipment end INVALID
// (recipient's city not recognised) instead of getting a track number.
func (s *Sandbox) RejectNextRegistration() { s.rejectNext.Arm(true) }

// ExpireTokens invalidates every issued token, as when they run out: the
// next call with a cached token gets 401 v2_token_expired.
func (s *Sandbox) ExpireTokens() error {
	_, err := s.db.Exec(`UPDATE cdek_tokens SET expires_at = ?`, s.now().Add(-time.Second).Format(time.RFC3339Nano))
	return err
}

// Switches returns the current state of the failure switches.
func (s *Sandbox) Switches() SandboxSwitches {
	return SandboxSwitches{FailNext: s.failNext.Armed(), RejectNextRegistration: s.rejectNext.Armed(), Latency: s.Latency()}
}

func (s *Sandbox) now() time.Time { return s.cfg.Now().UTC().Truncate(time.Millisecond) }

func (s *Sandbox) stamp() cdekTime { return cdekTime{s.now()} }

// ---------------------------------------------------------------- the API

func writeJSON(w http.ResponseWriter, status int, v any) {
	httpbody.WriteJSON(w, status, "application/json", v)
}

// writeInvalid answers the order shape of an error: one INVALID request.
func (s *Sandbox) writeInvalid(w http.ResponseWriter, status int, typ string, probs ...wireProblem) {
	writeJSON(w, status, wireAnswer{Requests: []wireRequest{{Type: typ, State: StateInvalid, DateTime: s.stamp(), Errors: probs}}})
}

// gate applies the latency and fail-next switches to every API call.
func (s *Sandbox) gate(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.Wait(r) {
			return
		}
		if s.failNext.Take() {
			s.writeInvalid(w, http.StatusInternalServerError, RequestGet, wireProblem{Code: CodeInternalError, Message: "Internal error (sandbox failure switch)"})
			return
		}
		h(w, r)
	}
}

// authed checks the bearer token like the API: 401 with an AUTH request in
// the order shape.
func (s *Sandbox) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || tok == "" {
			s.writeInvalid(w, http.StatusUnauthorized, RequestAuth, wireProblem{Code: CodeUnauthorized, Message: "Full authentication is required to access this resource"})
			return
		}
		var exp string
		err := s.db.QueryRowContext(r.Context(), `SELECT expires_at FROM cdek_tokens WHERE token = ?`, tok).Scan(&exp)
		if err != nil {
			s.writeInvalid(w, http.StatusUnauthorized, RequestAuth, wireProblem{Code: CodeUnauthorized, Message: "Invalid access token"})
			return
		}
		if t, _ := time.Parse(time.RFC3339Nano, exp); !s.now().Before(t) {
			s.writeInvalid(w, http.StatusUnauthorized, RequestAuth, wireProblem{Code: CodeTokenExpired, Message: "Access token expired"})
			return
		}
		h(w, r)
	}
}

// oauthToken issues a token for client credentials sent in the query or in a
// form body (both are used by integrations).
func (s *Sandbox) oauthToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "method_not_allowed", "error_description": "Use POST"})
		return
	}
	if gt := r.FormValue("grant_type"); gt != "client_credentials" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": CodeUnsupportedGrantType, "error_description": "Unsupported grant type: " + gt})
		return
	}
	if r.FormValue("client_id") != s.cfg.ClientID || r.FormValue("client_secret") != s.cfg.ClientSecret {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": CodeInvalidClient, "error_description": "Bad client credentials"})
		return
	}
	var b [24]byte
	rand.Read(b[:])
	tok := hex.EncodeToString(b[:])
	exp := s.now().Add(s.cfg.TokenTTL)
	// Old tokens are useless after expiry; keep the table small.
	_, err := s.db.ExecContext(r.Context(), `DELETE FROM cdek_tokens WHERE expires_at < ?`, s.now().Add(-24*time.Hour).Format(time.RFC3339Nano))
	if err == nil {
		_, err = s.db.ExecContext(r.Context(), `INSERT INTO cdek_tokens (token, expires_at) VALUES (?, ?)`, tok, exp.Format(time.RFC3339Nano))
	}
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error", "error_description": "token store failed"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok,
		"token_type":   "bearer",
		"expires_in":   int(s.cfg.TokenTTL / time.Second),
		"scope":        "order:all payment:all",
		"jti":          wire.NewUUID(),
	})
}

// validateOrder checks a registration like CDEK does synchronously (missing
// or contradictory fields); the city check happens later, asynchronously.
func validateOrder(p map[string]any) []wireProblem {
	var probs []wireProblem
	empty := func(field string) {
		probs = append(probs, wireProblem{Code: CodeFieldIsEmpty, Message: "Field '" + field + "' is empty"})
	}
	if _, err := strconv.Atoi(fmt.Sprint(p["tariff_code"])); p["tariff_code"] == nil {
		empty("tariff_code")
	} else if err != nil {
		probs = append(probs, wireProblem{Code: CodeInvalidValueType, Message: "Field 'tariff_code' must be an integer"})
	}
	rec, _ := p["recipient"].(map[string]any)
	if name, _ := rec["name"].(string); strings.TrimSpace(name) == "" {
		empty("recipient.name")
	}
	phones, _ := rec["phones"].([]any)
	if len(phones) == 0 {
		empty("recipient.phones")
	}
	fromLoc, hasFrom := p["from_location"].(map[string]any)
	toLoc, hasTo := p["to_location"].(map[string]any)
	sp, _ := p["shipment_point"].(string)
	dp, _ := p["delivery_point"].(string)
	switch {
	case hasFrom && sp != "":
		probs = append(probs, wireProblem{Code: CodeShipmentAddressMulti, Message: "Both shipment_point and from_location are set"})
	case !hasFrom && sp == "":
		empty("from_location")
	case hasFrom && !locates(fromLoc):
		probs = append(probs, wireProblem{Code: CodeSenderLocationUnknown, Message: "Sender location is not recognized"})
	}
	switch {
	case hasTo && dp != "":
		probs = append(probs, wireProblem{Code: CodeDeliveryAddressMulti, Message: "Both delivery_point and to_location are set"})
	case !hasTo && dp == "":
		empty("to_location")
	case hasTo && !locates(toLoc):
		probs = append(probs, wireProblem{Code: CodeRecipientLocationUnknown, Message: "Recipient location is not recognized"})
	}
	pkgs, _ := p["packages"].([]any)
	if len(pkgs) == 0 {
		empty("packages")
	}
	items := 0
	for i, raw := range pkgs {
		pkg, _ := raw.(map[string]any)
		if n, _ := pkg["number"].(string); n == "" {
			empty(fmt.Sprintf("packages[%d].number", i))
		}
		if wgt, err := strconv.Atoi(fmt.Sprint(pkg["weight"])); err != nil || wgt <= 0 {
			probs = append(probs, wireProblem{Code: CodeInvalidFormat, Message: fmt.Sprintf("Field 'packages[%d].weight' must be a positive number of grams", i)})
		}
		its, _ := pkg["items"].([]any)
		items += len(its)
		for j, rawIt := range its {
			it, _ := rawIt.(map[string]any)
			pay, _ := it["payment"].(map[string]any)
			for field, v := range map[string]any{"cost": it["cost"], "payment.value": pay["value"]} {
				if v == nil {
					continue
				}
				if _, err := ParseMoney(fmt.Sprint(v)); err != nil {
					probs = append(probs, wireProblem{Code: CodeInvalidValueType, Message: fmt.Sprintf("Field 'packages[%d].items[%d].%s' must be an amount", i, j, field)})
				}
			}
		}
	}
	if items > 126 {
		probs = append(probs, wireProblem{Code: CodeTooManyItems, Message: "More than 126 items"})
	}
	return probs
}

// locates reports whether a location names a city in some way.
func locates(l map[string]any) bool {
	if c, ok := l["code"]; ok && c != nil && fmt.Sprint(c) != "0" {
		return true
	}
	for _, k := range []string{"city", "postal_code", "address"} {
		if v, _ := l[k].(string); strings.TrimSpace(v) != "" {
			return true
		}
	}
	return false
}

func cityOf(l map[string]any, fallback string) string {
	if c, _ := l["city"].(string); c != "" {
		return c
	}
	return fallback
}

func (s *Sandbox) apiCreate(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var p map[string]any
	if err != nil || dec.Decode(&p) != nil || p == nil {
		s.writeInvalid(w, http.StatusBadRequest, RequestCreate, wireProblem{Code: CodeBadRequest, Message: "Request body is not a JSON object"})
		return
	}
	if probs := validateOrder(p); len(probs) > 0 {
		s.writeInvalid(w, http.StatusBadRequest, RequestCreate, probs...)
		return
	}
	tariff, _ := strconv.Atoi(fmt.Sprint(p["tariff_code"]))
	number, _ := p["number"].(string)
	dp, _ := p["delivery_point"].(string)
	fromLoc, _ := p["from_location"].(map[string]any)
	toLoc, _ := p["to_location"].(map[string]any)
	o := &SandboxOrder{
		UUID: wire.NewUUID(), Number: number, TariffCode: tariff, RequestUUID: wire.NewUUID(), State: StateAccepted,
		Reject: s.rejectNext.Take(), DeliveryPoint: dp,
		FromCity: cityOf(fromLoc, "Москва"), ToCity: cityOf(toLoc, "Санкт-Петербург"), CreatedAt: s.now(),
	}
	s.writeMu.Lock()
	err = s.insert(r.Context(), o, raw)
	s.writeMu.Unlock()
	if err != nil {
		s.writeInvalid(w, http.StatusInternalServerError, RequestCreate, wireProblem{Code: CodeInternalError, Message: err.Error()})
		return
	}
	// [U] CDEK answers 202 Accepted: registration goes on asynchronously.
	writeJSON(w, http.StatusAccepted, wireAnswer{
		Entity:   &wireEntity{UUID: o.UUID},
		Requests: []wireRequest{{RequestUUID: o.RequestUUID, Type: RequestCreate, State: StateAccepted, DateTime: cdekTime{o.CreatedAt}}},
	})
}

func (s *Sandbox) insert(ctx context.Context, o *SandboxOrder, body []byte) (err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer sandboxdb.Rollback(tx, &err)
	ts := o.CreatedAt.Format(time.RFC3339Nano)
	if _, err := tx.ExecContext(ctx, `INSERT INTO cdek_orders (uuid, number, tariff_code, request_uuid, state, reject, delivery_point, from_city, to_city, body, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		o.UUID, o.Number, o.TariffCode, o.RequestUUID, o.State, o.Reject, o.DeliveryPoint, o.FromCity, o.ToCity, string(body), ts, ts); err != nil {
		return err
	}
	if _, err := s.addStatus(ctx, tx, o, StatusAccepted, o.FromCity); err != nil {
		return err
	}
	return tx.Commit()
}

func (s *Sandbox) apiOrder(w http.ResponseWriter, r *http.Request) {
	uuid := r.PathValue("uuid")
	s.serveRead(w, r, `uuid = ?`, uuid, wireProblem{Code: CodeEntityNotFound, Message: "Entity is not found by uuid " + uuid})
}

func (s *Sandbox) apiFind(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch {
	case q.Get("im_number") != "":
		n := q.Get("im_number")
		s.serveRead(w, r, `number = ?`, n, wireProblem{Code: CodeEntityNotFoundImNumber, Message: "Entity is not found by im_number " + n})
	case q.Get("cdek_number") != "":
		n := q.Get("cdek_number")
		s.serveRead(w, r, `cdek_number = ?`, n, wireProblem{Code: CodeEntityNotFound, Message: "Entity is not found by cdek_number " + n})
	default:
		s.writeInvalid(w, http.StatusBadRequest, RequestGet, wireProblem{Code: CodeParametersEmpty, Message: "Either cdek_number or im_number is required"})
	}
}

// serveRead answers an order-info read. Reads drive the asynchronous
// registration: see SandboxConfig.ReadsUntilRegistered. CDEK answers an
// unknown order with HTTP 400, not 404.
func (s *Sandbox) serveRead(w http.ResponseWriter, r *http.Request, where, arg string, notFound wireProblem) {
	ctx := r.Context()
	s.writeMu.Lock()
	o, err := s.find(ctx, where, arg)
	var hooks []int64
	if err == nil {
		o.Reads++
		_, err = s.db.ExecContext(ctx, `UPDATE cdek_orders SET reads = ? WHERE uuid = ?`, o.Reads, o.UUID)
		pending := o.State == StateAccepted || o.State == StateWaiting
		if err == nil && pending {
			if o.Reads >= s.cfg.ReadsUntilRegistered || s.now().Sub(o.CreatedAt) >= s.cfg.RegisterAfter {
				hooks, err = s.complete(ctx, o)
			} else if o.State == StateAccepted {
				o.State = StateWaiting
				_, err = s.db.ExecContext(ctx, `UPDATE cdek_orders SET state = ? WHERE uuid = ?`, o.State, o.UUID)
			}
		}
		if err == nil {
			o, err = s.find(ctx, `uuid = ?`, o.UUID)
		}
	}
	s.writeMu.Unlock()
	if errors.Is(err, ErrNotFound) {
		s.writeInvalid(w, http.StatusBadRequest, RequestGet, notFound)
		return
	}
	if err != nil {
		s.writeInvalid(w, http.StatusInternalServerError, RequestGet, wireProblem{Code: CodeInternalError, Message: err.Error()})
		return
	}
	for _, id := range hooks {
		_ = s.deliver(context.Background(), id)
	}
	writeJSON(w, http.StatusOK, s.answer(o))
}

// answer renders an order as GET /orders/{uuid} does: the registered order
// (as sent) plus uuid, track number and status history, and its requests.
func (s *Sandbox) answer(o *SandboxOrder) map[string]any {
	var body string
	_ = s.db.QueryRow(`SELECT body FROM cdek_orders WHERE uuid = ?`, o.UUID).Scan(&body)
	entity := map[string]any{}
	// UseNumber: the amounts are echoed with their exact decimal text.
	dec := json.NewDecoder(strings.NewReader(body))
	dec.UseNumber()
	_ = dec.Decode(&entity)
	entity["uuid"] = o.UUID
	entity["is_return"] = false
	if o.CDEKNumber != "" {
		entity["cdek_number"] = o.CDEKNumber
	}
	// Newest first, as CDEK appears to list them.
	st := []wireStatus{}
	for i := len(o.Statuses) - 1; i >= 0; i-- {
		x := o.Statuses[i]
		st = append(st, wireStatus{Code: x.Code, Name: x.Name, City: x.City, DateTime: cdekTime{x.DateTime}})
	}
	entity["statuses"] = st
	req := wireRequest{RequestUUID: o.RequestUUID, Type: RequestCreate, State: o.State, DateTime: cdekTime{o.CreatedAt}}
	for _, p := range o.Errors {
		req.Errors = append(req.Errors, wireProblem(p))
	}
	return map[string]any{"entity": entity, "requests": []wireRequest{req}, "related_entities": []any{}}
}

// complete ends a pending registration: a track number and CREATED, or
// INVALID with errors when the order was marked for rejection. The caller
// holds writeMu; it returns the webhooks to deliver once it is released.
func (s *Sandbox) complete(ctx context.Context, o *SandboxOrder) (_ []int64, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer sandboxdb.Rollback(tx, &err)
	now := s.now().Format(time.RFC3339Nano)
	var status string
	if o.Reject {
		o.State = StateInvalid
		o.Errors = []Problem{{Code: CodeRecipientLocationUnknown, Message: "Не удалось определить город получателя"}}
		b, err := json.Marshal(o.Errors)
		if err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE cdek_orders SET state = ?, errors = ?, updated_at = ? WHERE uuid = ?`, o.State, string(b), now, o.UUID); err != nil {
			return nil, err
		}
		status = StatusInvalid
	} else {
		var max sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT MAX(CAST(cdek_number AS INTEGER)) FROM cdek_orders WHERE cdek_number != ''`).Scan(&max); err != nil {
			return nil, err
		}
		next := int64(firstTrack) + 1
		if max.Valid && max.Int64 >= next {
			next = max.Int64 + 1
		}
		o.State, o.CDEKNumber = StateSuccessful, strconv.FormatInt(next, 10)
		if _, err := tx.ExecContext(ctx, `UPDATE cdek_orders SET state = ?, cdek_number = ?, updated_at = ? WHERE uuid = ?`, o.State, o.CDEKNumber, now, o.UUID); err != nil {
			return nil, err
		}
		status = StatusCreated
	}
	hooks, err := s.addStatus(ctx, tx, o, status, o.FromCity)
	if err != nil {
		return nil, err
	}
	return hooks, tx.Commit()
}

// addStatus appends a status to the history and queues its ORDER_STATUS
// webhook for every subscription.
func (s *Sandbox) addStatus(ctx context.Context, tx *sql.Tx, o *SandboxOrder, code, city string) ([]int64, error) {
	at := s.now()
	name, ok := statusNames[code]
	if !ok {
		name = code
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO cdek_statuses (uuid, code, name, city, date_time) VALUES (?, ?, ?, ?, ?)`,
		o.UUID, code, name, city, at.Format(time.RFC3339Nano)); err != nil {
		return nil, err
	}
	o.Statuses = append(o.Statuses, Status{Code: code, Name: name, City: city, DateTime: at})
	if code == StatusAccepted {
		// CDEK's webhooks start with the registration's outcome.
		return nil, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT url FROM cdek_webhooks WHERE type = ?`, WebhookOrderStatus)
	urls, err := sandboxdb.Collect(rows, err, sandboxdb.Column[string])
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, u := range urls {
		body, err := json.Marshal(map[string]any{
			"type":      WebhookOrderStatus,
			"date_time": cdekTime{at},
			"uuid":      o.UUID,
			"attributes": map[string]any{
				"is_return":        false,
				"cdek_number":      o.CDEKNumber,
				"number":           o.Number,
				"code":             code,
				"status_date_time": cdekTime{at},
				"city_name":        city,
			},
		})
		if err != nil {
			return nil, err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO cdek_webhook_deliveries (order_uuid, url, body, created_at) VALUES (?, ?, ?, ?)`,
			o.UUID, u, string(body), at.Format(time.RFC3339Nano))
		if err != nil {
			return nil, err
		}
		id, err := res.LastInsertId()
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func (s *Sandbox) find(ctx context.Context, where, arg string) (*SandboxOrder, error) {
	var o SandboxOrder
	var errs, created string
	err := s.db.QueryRowContext(ctx, `SELECT uuid, number, cdek_number, tariff_code, request_uuid, state, errors, reject, reads,
		delivery_point, from_city, to_city, created_at FROM cdek_orders WHERE `+where+` ORDER BY created_at DESC LIMIT 1`, arg).
		Scan(&o.UUID, &o.Number, &o.CDEKNumber, &o.TariffCode, &o.RequestUUID, &o.State, &errs, &o.Reject, &o.Reads,
			&o.DeliveryPoint, &o.FromCity, &o.ToCity, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if o.CreatedAt, err = time.Parse(time.RFC3339Nano, created); err != nil {
		return nil, err
	}
	if errs != "" {
		if err := json.Unmarshal([]byte(errs), &o.Errors); err != nil {
			return nil, fmt.Errorf("cdek sandbox: order %s: errors: %w", o.UUID, err)
		}
	}
	rows, err := s.db.QueryContext(ctx, `SELECT code, name, city, date_time FROM cdek_statuses WHERE uuid = ? ORDER BY id`, o.UUID)
	o.Statuses, err = sandboxdb.Collect(rows, err, func(r sandboxdb.Scanner) (Status, error) {
		var st Status
		var at string
		if err := r.Scan(&st.Code, &st.Name, &st.City, &at); err != nil {
			return Status{}, err
		}
		st.DateTime, err = time.Parse(time.RFC3339Nano, at)
		return st, err
	})
	if err != nil {
		return nil, err
	}
	return &o, nil
}

// ---------------------------------------------------------------- webhooks API

func (s *Sandbox) apiSubscribe(w http.ResponseWriter, r *http.Request) {
	var p struct {
		Type string `json:"type"`
		URL  string `json:"url"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&p); err != nil {
		s.writeInvalid(w, http.StatusBadRequest, RequestCreate, wireProblem{Code: CodeBadRequest, Message: "Request body is not a JSON object"})
		return
	}
	switch {
	case p.Type == "":
		s.writeInvalid(w, http.StatusBadRequest, RequestCreate, wireProblem{Code: CodeFieldIsEmpty, Message: "Field 'type' is empty"})
		return
	case p.URL == "":
		s.writeInvalid(w, http.StatusBadRequest, RequestCreate, wireProblem{Code: CodeFieldIsEmpty, Message: "Field 'url' is empty"})
		return
	}
	if u, err := url.Parse(p.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		s.writeInvalid(w, http.StatusBadRequest, RequestCreate, wireProblem{Code: CodeInvalidFormat, Message: "Field 'url' is not a URL"})
		return
	}
	// [U] one subscription per type: subscribing again replaces the URL.
	id := wire.NewUUID()
	s.writeMu.Lock()
	err := s.db.QueryRowContext(r.Context(), `INSERT INTO cdek_webhooks (uuid, type, url, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (type) DO UPDATE SET url = excluded.url RETURNING uuid`, id, p.Type, p.URL, s.now().Format(time.RFC3339Nano)).Scan(&id)
	s.writeMu.Unlock()
	if err != nil {
		s.writeInvalid(w, http.StatusInternalServerError, RequestCreate, wireProblem{Code: CodeInternalError, Message: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, wireAnswer{Entity: &wireEntity{UUID: id},
		Requests: []wireRequest{{RequestUUID: wire.NewUUID(), Type: RequestCreate, State: StateSuccessful, DateTime: s.stamp()}}})
}

func (s *Sandbox) apiWebhooks(w http.ResponseWriter, r *http.Request) {
	list, err := s.Webhooks()
	if err != nil {
		s.writeInvalid(w, http.StatusInternalServerError, RequestGet, wireProblem{Code: CodeInternalError, Message: err.Error()})
		return
	}
	out := []map[string]string{}
	for _, h := range list {
		out = append(out, map[string]string{"uuid": h.UUID, "type": h.Type, "url": h.URL})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Sandbox) apiUnsubscribe(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("uuid")
	s.writeMu.Lock()
	res, err := s.db.ExecContext(r.Context(), `DELETE FROM cdek_webhooks WHERE uuid = ?`, id)
	s.writeMu.Unlock()
	if n, _ := res.RowsAffected(); err != nil || n == 0 {
		s.writeInvalid(w, http.StatusBadRequest, RequestDelete, wireProblem{Code: CodeEntityNotFound, Message: "Entity is not found by uuid " + id})
		return
	}
	writeJSON(w, http.StatusOK, wireAnswer{Entity: &wireEntity{UUID: id},
		Requests: []wireRequest{{RequestUUID: wire.NewUUID(), Type: RequestDelete, State: StateSuccessful, DateTime: s.stamp()}}})
}

// SandboxWebhook is a webhook subscription.
type SandboxWebhook struct {
	UUID, Type, URL string
}

// Webhooks lists the webhook subscriptions.
func (s *Sandbox) Webhooks() ([]SandboxWebhook, error) {
	rows, err := s.db.Query(`SELECT uuid, type, url FROM cdek_webhooks ORDER BY created_at`)
	return sandboxdb.Collect(rows, err, func(r sandboxdb.Scanner) (SandboxWebhook, error) {
		var h SandboxWebhook
		if err := r.Scan(&h.UUID, &h.Type, &h.URL); err != nil {
			return SandboxWebhook{}, err
		}
		return h, nil
	})
}

// ---------------------------------------------------------------- helpers for tests and the control page

// Order returns the sandbox's record of a shipment.
func (s *Sandbox) Order(uuid string) (*SandboxOrder, error) {
	return s.find(context.Background(), `uuid = ?`, uuid)
}

// Orders returns the latest shipments, newest first.
func (s *Sandbox) Orders(limit int) ([]*SandboxOrder, error) {
	rows, err := s.db.Query(`SELECT uuid FROM cdek_orders ORDER BY created_at DESC, uuid LIMIT ?`, limit)
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

// CompleteRegistration finishes a pending registration now, without waiting
// for reads (track number, or INVALID if it was marked for rejection).
func (s *Sandbox) CompleteRegistration(ctx context.Context, uuid string) error {
	s.writeMu.Lock()
	o, err := s.find(ctx, `uuid = ?`, uuid)
	var hooks []int64
	if err == nil {
		if o.State != StateAccepted && o.State != StateWaiting {
			err = fmt.Errorf("cdek sandbox: order %s is already %s", uuid, o.State)
		} else {
			hooks, err = s.complete(ctx, o)
		}
	}
	s.writeMu.Unlock()
	if err != nil {
		return err
	}
	return s.deliverAll(ctx, hooks)
}

// AdvanceStatus moves a registered shipment one step along the sandbox's
// path (to a pick-up point when it has a delivery_point, else by courier) to
// DELIVERED, sends the ORDER_STATUS webhooks and returns the new code.
func (s *Sandbox) AdvanceStatus(ctx context.Context, uuid string) (string, error) {
	next, err := s.NextStatus(uuid)
	if err != nil {
		return "", err
	}
	return next, s.setStatus(ctx, uuid, next, true)
}

// NextStatus is the code AdvanceStatus would move a registered shipment to.
func (s *Sandbox) NextStatus(uuid string) (string, error) {
	o, err := s.Order(uuid)
	if err != nil {
		return "", err
	}
	if o.State != StateSuccessful {
		return "", fmt.Errorf("cdek sandbox: order %s is not registered (%s)", uuid, o.State)
	}
	path := courierPath
	if o.DeliveryPoint != "" {
		path = pickupPath
	}
	cur := o.Current()
	next := path[0]
	for i, c := range path {
		if c == cur.Code {
			if i+1 == len(path) {
				return "", fmt.Errorf("cdek sandbox: order %s is already %s", uuid, cur.Code)
			}
			next = path[i+1]
		}
	}
	return next, nil
}

// AdvanceStatusLost moves a shipment one step like AdvanceStatus, but its
// webhooks are lost on the way: they stay undelivered (with the reason), as
// when the shop's server was unreachable, until "Retry undelivered webhooks".
// The shop learns the status only by asking (its fetch job).
func (s *Sandbox) AdvanceStatusLost(ctx context.Context, uuid string) (string, error) {
	next, err := s.NextStatus(uuid)
	if err != nil {
		return "", err
	}
	return next, s.setStatus(ctx, uuid, next, false)
}

// FailDelivery ends a registered shipment NOT_DELIVERED (the recipient was
// not found, the parcel came back) and sends the webhooks.
func (s *Sandbox) FailDelivery(ctx context.Context, uuid string) error {
	return s.setStatus(ctx, uuid, StatusNotDelivered, true)
}

// SetStatus appends any status code to a registered shipment and sends the
// ORDER_STATUS webhooks.
func (s *Sandbox) SetStatus(ctx context.Context, uuid, code string) error {
	return s.setStatus(ctx, uuid, code, true)
}

// setStatus appends a status; deliver false loses its webhooks on the way.
func (s *Sandbox) setStatus(ctx context.Context, uuid, code string, deliver bool) error {
	s.writeMu.Lock()
	o, err := s.find(ctx, `uuid = ?`, uuid)
	var hooks []int64
	if err == nil && o.State != StateSuccessful {
		err = fmt.Errorf("cdek sandbox: order %s is not registered (%s)", uuid, o.State)
	}
	if err == nil {
		city := o.FromCity
		if code == StatusAcceptedInRecipientCity || code == StatusAcceptedAtRecipientCityWarehous || code == StatusAcceptedAtPickUpPoint ||
			code == StatusTakenByCourier || code == StatusDelivered || code == StatusNotDelivered || code == StatusPostomatReceived {
			city = o.ToCity
		}
		err = sandboxdb.InTx(ctx, s.db, func(tx *sql.Tx) error {
			var err error
			hooks, err = s.addStatus(ctx, tx, o, code, city)
			return err
		})
	}
	s.writeMu.Unlock()
	if err != nil {
		return err
	}
	if !deliver {
		return s.lose(ctx, hooks)
	}
	return s.deliverAll(ctx, hooks)
}

// lose records webhooks as lost on the way: never delivered, with the reason.
func (s *Sandbox) lose(ctx context.Context, ids []int64) error {
	for _, id := range ids {
		if _, err := s.db.ExecContext(ctx, `UPDATE cdek_webhook_deliveries SET attempts = attempts + 1, last_error = ?, last_attempt_at = ? WHERE id = ?`,
			"lost on the way (sandbox switch)", s.now().Format(time.RFC3339Nano), id); err != nil {
			return err
		}
	}
	return nil
}

func (s *Sandbox) deliverAll(ctx context.Context, ids []int64) error {
	var first error
	for _, id := range ids {
		if err := s.deliver(ctx, id); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// deliver POSTs one stored webhook and records the attempt. CDEK expects
// HTTP 200.
func (s *Sandbox) deliver(ctx context.Context, id int64) error {
	var u, body string
	if err := s.db.QueryRowContext(ctx, `SELECT url, body FROM cdek_webhook_deliveries WHERE id = ?`, id).Scan(&u, &body); err != nil {
		return err
	}
	derr := func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := s.cfg.HTTPClient.Do(req)
		if err != nil {
			return err
		}
		b, err := httpbody.ReadAndClose(resp, 1024)
		if err != nil {
			return fmt.Errorf("read the app's answer: %w", err)
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("app answered HTTP %d %q", resp.StatusCode, wire.Snippet(b))
		}
		return nil
	}()
	msg := ""
	if derr != nil {
		msg = derr.Error()
	}
	_, err := s.db.ExecContext(ctx, `UPDATE cdek_webhook_deliveries SET attempts = attempts + 1, delivered = ?, last_error = ?, last_attempt_at = ? WHERE id = ?`,
		derr == nil, msg, s.now().Format(time.RFC3339Nano), id)
	if derr != nil {
		return derr
	}
	return err
}

// ResendWebhooks retries every webhook the app has not acknowledged, oldest
// first, and returns how many got through and the first
// failure (each is also recorded on its row).
func (s *Sandbox) ResendWebhooks(ctx context.Context) (int, error) {
	return (&sandboxkit.Outbox{DB: s.db, Table: "cdek_webhook_deliveries"}).ResendPending(ctx, s.deliver)
}

// ResendWebhook sends a shipment's latest webhook again, byte for byte.
func (s *Sandbox) ResendWebhook(ctx context.Context, uuid string) error {
	id, err := (&sandboxkit.Outbox{DB: s.db, Table: "cdek_webhook_deliveries", Key: "order_uuid"}).Latest(ctx, uuid)
	if errors.Is(err, sandboxkit.ErrNoNotification) {
		return fmt.Errorf("cdek sandbox: order %s has no webhooks: %w", uuid, ErrNotFound)
	}
	if err != nil {
		return err
	}
	return s.deliver(ctx, id)
}

// Deliveries returns the webhooks sent for a shipment, oldest first.
func (s *Sandbox) Deliveries(uuid string) ([]SandboxDelivery, error) {
	rows, err := s.db.Query(`SELECT id, order_uuid, url, body, attempts, delivered, last_error FROM cdek_webhook_deliveries WHERE order_uuid = ? ORDER BY id`, uuid)
	return sandboxdb.Collect(rows, err, func(r sandboxdb.Scanner) (SandboxDelivery, error) {
		var d SandboxDelivery
		if err := r.Scan(&d.ID, &d.OrderUUID, &d.URL, &d.Body, &d.Attempts, &d.Delivered, &d.LastError); err != nil {
			return SandboxDelivery{}, err
		}
		return d, nil
	})
}

// ---------------------------------------------------------------- control page

type controlView struct {
	APIURL   string
	Switches SandboxSwitches
	Orders   []controlRow
	Webhooks []SandboxWebhook
	Codes    []string
	Error    string
}

type controlRow struct {
	*SandboxOrder
	Latest  Status
	Pending bool
	Final   bool
}

func (s *Sandbox) controlPage(w http.ResponseWriter, r *http.Request) {
	v := controlView{APIURL: s.APIURL(), Switches: s.Switches(),
		Codes: append([]string{StatusCreated}, append(courierPath, StatusAcceptedAtPickUpPoint, StatusNotDelivered, StatusRemoved)...)}
	orders, err := s.Orders(100)
	if err != nil {
		v.Error = err.Error()
	}
	for _, o := range orders {
		cur := o.Current()
		v.Orders = append(v.Orders, controlRow{SandboxOrder: o, Latest: cur,
			Pending: o.State == StateAccepted || o.State == StateWaiting, Final: IsFinal(cur.Code)})
	}
	v.Webhooks, _ = s.Webhooks()
	sandboxkit.Render(w, http.StatusOK, controlTmpl, v)
}

// control applies one switch or helper from the control page; what a helper
// fails to send is recorded on its row, which the page shows.
func (s *Sandbox) control(r *http.Request) error {
	ctx := r.Context()
	id := r.FormValue("uuid")
	switch r.FormValue("action") {
	case "fail_next":
		s.FailNext()
	case "reject_next":
		s.RejectNextRegistration()
	case "clear":
		s.failNext.Arm(false)
		s.rejectNext.Arm(false)
	case "expire_tokens":
		_ = s.ExpireTokens()
	case "latency":
		return sandboxkit.SetLatency(r.FormValue("ms"), s.SetLatency)
	case "complete":
		_ = s.CompleteRegistration(ctx, id)
	case "advance":
		_, _ = s.AdvanceStatus(ctx, id)
	case "advance_lost":
		_, _ = s.AdvanceStatusLost(ctx, id)
	case "fail_delivery":
		_ = s.FailDelivery(ctx, id)
	case "set_status":
		_ = s.SetStatus(ctx, id, r.FormValue("code"))
	case "resend":
		_ = s.ResendWebhook(ctx, id)
	case "resend_pending":
		_, _ = s.ResendWebhooks(ctx)
	default:
		return sandboxkit.ErrUnknownAction
	}
	return nil
}

var controlTmpl = sandboxkit.Page("control", `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>CDEK sandbox</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em}form{display:inline}</style></head>
<body data-testid="sandbox-cdek-control">
<h1>CDEK sandbox (API v2)</h1>
<p>API: <code>{{.APIURL}}</code>. A shipment gets its track number after a couple of order-info reads, or at once with "Register now".</p>
{{if .Error}}<p>{{.Error}}</p>{{end}}
<h2>Switches</h2>
<p><form method="post" action="_control"><input type="hidden" name="action" value="reject_next">
<button data-testid="sandbox-reject-next">Reject next registration{{if .Switches.RejectNextRegistration}} (armed){{end}}</button></form>
<form method="post" action="_control"><input type="hidden" name="action" value="fail_next">
<button data-testid="sandbox-fail-next">Fail next API call{{if .Switches.FailNext}} (armed){{end}}</button></form>
<form method="post" action="_control"><input type="hidden" name="action" value="expire_tokens">
<button data-testid="sandbox-expire-tokens">Expire all tokens</button></form>
<form method="post" action="_control"><input type="hidden" name="action" value="clear"><button>Clear switches</button></form></p>
<p>{{template "latency-form" .Switches.Latency}}</p>
<p>{{template "resend-pending" "Retry undelivered webhooks"}}</p>
<h2>Webhook subscriptions</h2>
<ul>{{range .Webhooks}}<li>{{.Type}} → <code>{{.URL}}</code></li>{{else}}<li>none</li>{{end}}</ul>
<h2>Shipments</h2>
<table data-testid="sandbox-orders">
<tr><th>Number</th><th>uuid</th><th>Track (cdek_number)</th><th>Request</th><th>Status</th><th>Reads</th><th></th></tr>
{{range .Orders}}
<tr data-testid="sandbox-order-row">
<td>{{.Number}}</td><td><code>{{.UUID}}</code></td><td data-testid="sandbox-track">{{.CDEKNumber}}</td>
<td>{{.State}}{{range .Errors}} ({{.Code}}){{end}}</td><td data-testid="sandbox-order-status">{{.Latest.Code}} {{.Latest.Name}}</td><td>{{.Reads}}</td>
<td>
{{if .Pending}}<form method="post" action="_control"><input type="hidden" name="action" value="complete"><input type="hidden" name="uuid" value="{{.UUID}}"><button data-testid="sandbox-complete">Register now</button></form>
{{else if eq .State "SUCCESSFUL"}}{{if not .Final}}<form method="post" action="_control"><input type="hidden" name="action" value="advance"><input type="hidden" name="uuid" value="{{.UUID}}"><button data-testid="sandbox-advance">Next status</button></form>
<form method="post" action="_control"><input type="hidden" name="action" value="fail_delivery"><input type="hidden" name="uuid" value="{{.UUID}}"><button data-testid="sandbox-fail-delivery">Fail (not delivered)</button></form>
<form method="post" action="_control"><input type="hidden" name="action" value="advance_lost"><input type="hidden" name="uuid" value="{{.UUID}}"><button data-testid="sandbox-advance-lost">Next status, webhook lost</button></form>{{end}}
<form method="post" action="_control"><input type="hidden" name="action" value="set_status"><input type="hidden" name="uuid" value="{{.UUID}}">
<select name="code">{{range $.Codes}}<option>{{.}}</option>{{end}}</select><button>Set</button></form>{{end}}
<form method="post" action="_control"><input type="hidden" name="action" value="resend"><input type="hidden" name="uuid" value="{{.UUID}}"><button>Resend last webhook</button></form>
</td></tr>
{{end}}
</table>
</body></html>`, nil)
