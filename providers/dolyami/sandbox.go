package dolyami

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"orderdesk/providers/internal/sandboxkit"
	"orderdesk/providers/internal/wire"
	"regexp"
	"strings"
	"sync"
	"time"

	"orderdesk/providers/internal/httpbody"
	"orderdesk/providers/internal/sandboxdb"
)

// Demo credentials the sandbox accepts when SandboxConfig leaves them empty.
const (
	DemoLogin    = "orderdesk-demo"
	DemoPassword = "orderdesk-sandbox"
)

// installments is how many parts Dolyami splits the price into, two weeks
// apart ("pay in four").
const installments = 4

// ErrNotFound is returned by the sandbox helpers for an unknown order.
var ErrNotFound = errors.New("dolyami sandbox: order not found")

// FailMode selects how the sandbox fails the next API call.
type FailMode int

// Fail modes for FailNext, FailNextCancel and FailNextRefund.
const (
	FailNone    FailMode = iota
	FailHTTP500          // answer HTTP 500 with {code: internal_error}; nothing is done
	// FailRefused answers HTTP 422 {code: operation_rejected}: a definite
	// refusal, nothing is done. FailNextCancel and FailNextRefund only.
	FailRefused
	// FailLostAnswer does the cancel or refund and then answers HTTP 500,
	// as when the connection drops after Dolyami acted. FailNextCancel and
	// FailNextRefund only.
	FailLostAnswer
)

// SandboxConfig configures NewSandbox.
type SandboxConfig struct {
	// Login and Password are the Basic credentials the sandbox accepts
	// (default DemoLogin / DemoPassword).
	Login    string
	Password string
	// BaseURL is where the sandbox is mounted, e.g.
	// "http://localhost:8080/sandbox/dolyami"; it builds the order links.
	BaseURL string
	// HTTPClient delivers notifications (default: 10 s timeout).
	HTTPClient *http.Client
	// Now is the sandbox clock (default time.Now).
	Now func() time.Time
}

// Sandbox plays Dolyami: the partner API, the buyer's form and the
// notifications, with its state in SQLite tables named dolyami_*. It is an
// http.Handler meant to be mounted with http.StripPrefix. It serves plain
// HTTP; mTLS is not simulated.
type Sandbox struct {
	// The switches: FailNextCancel is for orders/{id}/cancel, FailNextRefund
	// for a new refund (not the repeat of one already made); DeclineNext
	// makes Dolyami reject the next buyer who presses Pay.
	sandboxkit.PaymentSwitches[FailMode]

	db     *sql.DB
	cfg    SandboxConfig
	mux    *http.ServeMux
	outbox *sandboxkit.Outbox

	// writeMu serialises state changes (check then update); it is never held
	// while a notification is delivered, because the shop may call the API
	// back from its notification handler.
	writeMu sync.Mutex
}

// SandboxOrder is the sandbox's record of an order.
type SandboxOrder struct {
	ID              string
	Amount          int64
	PrepaidAmount   int64
	ResidualAmount  int64
	Items           []Item
	ClientInfo      ClientInfo
	NotificationURL string
	FailURL         string
	SuccessURL      string
	Status          string
	Schedule        []PaymentScheduleItem
	Refunds         []Refund
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// RefundedAmount is the sum of the order's refunds, in kopecks.
func (o *SandboxOrder) RefundedAmount() int64 {
	var n int64
	for _, r := range o.Refunds {
		n += r.RefundedAmount
	}
	return n
}

// SandboxNotification is one notification the sandbox sent or tried to send.
type SandboxNotification struct {
	ID            int64
	OrderID       string
	Status        string
	URL           string
	Body          string
	Attempts      int
	Delivered     bool
	LastError     string
	CreatedAt     time.Time
	LastAttemptAt time.Time
}

// SandboxSwitches is the state of the failure switches.
type SandboxSwitches = sandboxkit.PaymentState[FailMode]

const schema = `
CREATE TABLE IF NOT EXISTS dolyami_orders (
	id               TEXT    PRIMARY KEY,
	amount           INTEGER NOT NULL,
	prepaid_amount   INTEGER NOT NULL DEFAULT 0,
	residual_amount  INTEGER NOT NULL,
	items_json       TEXT    NOT NULL,
	client_info_json TEXT    NOT NULL DEFAULT '{}',
	notification_url TEXT    NOT NULL DEFAULT '',
	fail_url         TEXT    NOT NULL DEFAULT '',
	success_url      TEXT    NOT NULL DEFAULT '',
	status           TEXT    NOT NULL,
	schedule_json    TEXT    NOT NULL,
	created_at       TEXT    NOT NULL,
	updated_at       TEXT    NOT NULL
);
CREATE TABLE IF NOT EXISTS dolyami_refunds (
	refund_id      TEXT    PRIMARY KEY,
	order_id       TEXT    NOT NULL,
	amount         INTEGER NOT NULL,
	prepaid_amount INTEGER NOT NULL DEFAULT 0,
	items_json     TEXT    NOT NULL DEFAULT '[]',
	status         TEXT    NOT NULL,
	created_at     TEXT    NOT NULL
);
-- Info lists an order's refunds.
CREATE INDEX IF NOT EXISTS dolyami_refunds_order ON dolyami_refunds (order_id, created_at);
-- Refund calls by their X-Correlation-ID and what was answered: the same id
-- gets the same answer, and the money is returned once.
CREATE TABLE IF NOT EXISTS dolyami_refund_requests (
	correlation_id TEXT PRIMARY KEY,
	order_id       TEXT NOT NULL,
	answer_json    TEXT NOT NULL,
	created_at     TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS dolyami_notifications (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	order_id        TEXT    NOT NULL,
	status          TEXT    NOT NULL,
	url             TEXT    NOT NULL,
	body            TEXT    NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	delivered       INTEGER NOT NULL DEFAULT 0,
	last_error      TEXT    NOT NULL DEFAULT '',
	created_at      TEXT    NOT NULL,
	last_attempt_at TEXT    NOT NULL DEFAULT ''
);
-- ResendNotifications scans the undelivered ones in order.
CREATE INDEX IF NOT EXISTS dolyami_notifications_pending ON dolyami_notifications (delivered, id);
-- ResendNotification and the control page look up an order's latest ones.
CREATE INDEX IF NOT EXISTS dolyami_notifications_order ON dolyami_notifications (order_id, id);
`

// NewSandbox creates the sandbox's tables in db (if missing) and returns it.
func NewSandbox(db *sql.DB, cfg SandboxConfig) (*Sandbox, error) {
	if cfg.Login == "" {
		cfg.Login = DemoLogin
	}
	if cfg.Password == "" {
		cfg.Password = DemoPassword
	}
	sandboxkit.Defaults(&cfg.HTTPClient, &cfg.Now)
	if _, err := db.Exec(schema); err != nil {
		return nil, fmt.Errorf("dolyami sandbox: create tables: %w", err)
	}
	s := &Sandbox{db: db, cfg: cfg}
	s.SetBaseURL(cfg.BaseURL)
	s.outbox = &sandboxkit.Outbox{DB: db, Table: "dolyami_notifications", Key: "order_id", Lock: &s.writeMu, Now: s.now}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/orders/create", s.api(s.apiCreate))
	// The PHP client reads info with GET, the Go one with POST: accept both.
	mux.HandleFunc("GET /v1/orders/{id}/info", s.api(s.apiInfo))
	mux.HandleFunc("POST /v1/orders/{id}/info", s.api(s.apiInfo))
	mux.HandleFunc("POST /v1/orders/{id}/commit", s.api(s.apiCommit))
	mux.HandleFunc("POST /v1/orders/{id}/cancel", s.api(s.apiCancel))
	mux.HandleFunc("POST /v1/orders/{id}/refund", s.api(s.apiRefund))
	mux.HandleFunc("GET /pay/{id}", s.payPage)
	mux.HandleFunc("POST /pay/{id}", s.payAction)
	mux.HandleFunc("GET /{$}", s.controlPage)
	mux.HandleFunc("POST /_control", sandboxkit.ControlHandler(s.control))
	s.mux = mux
	return s, nil
}

// ServeHTTP serves the API, the buyer's form and the control page.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// APIURL returns the BaseURL a client should use for this sandbox.
func (s *Sandbox) APIURL() string { return s.BaseURL() + "/v1" }

// errRejected is the definite refusal FailRefused answers. [U] the code is
// the sandbox's.
var errRejected = &apiError{http.StatusUnprocessableEntity, codeRejected, "Dolyami declined the operation (sandbox: failure switch)."}

func (s *Sandbox) now() time.Time { return s.cfg.Now().UTC() }

// ---------------------------------------------------------------- the API

// apiError is an error answer: HTTP status plus the {code, type, description}
// body.
type apiError struct {
	Status      int
	Code        string
	Description string
}

func (e *apiError) write(w http.ResponseWriter) {
	writeJSON(w, e.Status, map[string]any{"code": e.Code, "type": "error", "description": e.Description})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	httpbody.WriteJSON(w, status, "application/json", v)
}

var (
	errInternal = &apiError{http.StatusInternalServerError, codeInternal, "Internal error."}
	errNotFound = &apiError{http.StatusNotFound, codeOrderNotFound, "Order not found."}
	errStatus   = &apiError{http.StatusConflict, codeWrongStatus, "The order status does not allow this operation."}
)

func badRequest(desc string) *apiError {
	return &apiError{http.StatusBadRequest, codeBadRequest, desc}
}

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

type apiHandler func(r *http.Request) (any, *apiError)

// basicAuth reads the Basic credentials with or without the base64 padding:
// public clients send them unpadded (base64.RawStdEncoding), and
// http.Request.BasicAuth reads only the padded form.
func basicAuth(r *http.Request) (login, password string, ok bool) {
	enc, found := strings.CutPrefix(r.Header.Get("Authorization"), "Basic ")
	if !found {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		raw, err = base64.RawStdEncoding.DecodeString(enc)
	}
	if err != nil {
		return "", "", false
	}
	return strings.Cut(string(raw), ":")
}

// api wraps a method with what every call goes through: the switches, Basic
// authentication and the X-Correlation-ID header.
func (s *Sandbox) api(h apiHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.Wait(r) {
			return
		}
		if cid := r.Header.Get("X-Correlation-ID"); cid != "" {
			w.Header().Set("X-Correlation-ID", cid)
		}
		if s.TakeFail() == FailHTTP500 {
			errInternal.write(w)
			return
		}
		login, password, ok := basicAuth(r)
		if !ok || subtle.ConstantTimeCompare([]byte(login), []byte(s.cfg.Login)) != 1 ||
			subtle.ConstantTimeCompare([]byte(password), []byte(s.cfg.Password)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="dolyame"`)
			(&apiError{http.StatusUnauthorized, codeUnauthorized, "Authentication required."}).write(w)
			return
		}
		if !uuidRE.MatchString(r.Header.Get("X-Correlation-ID")) {
			(&apiError{http.StatusBadRequest, codeNoCorrelation, "X-Correlation-ID header must be a UUID."}).write(w)
			return
		}
		out, aerr := h(r)
		if aerr != nil {
			aerr.write(w)
			return
		}
		writeJSON(w, http.StatusOK, out)
	}
}

func decodeBody(r *http.Request, v any) *apiError {
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(v); err != nil {
		return badRequest("Malformed JSON body: " + err.Error())
	}
	return nil
}

func sumItems(items []wireItem) (int64, *apiError) {
	var sum int64
	for _, it := range items {
		if it.Quantity <= 0 || it.Price < 0 || strings.TrimSpace(it.Name) == "" {
			return 0, badRequest("Every item needs a name, a positive quantity and a price.")
		}
		sum += int64(it.Price) * int64(it.Quantity)
	}
	return sum, nil
}

// schedule splits base into the installments, two weeks apart from start;
// the first is marked paid when the buyer has been approved. The remainder
// of the division goes to the first part so the parts add up exactly.
func schedule(base int64, start time.Time, firstPaid bool) []PaymentScheduleItem {
	part := base / installments
	out := make([]PaymentScheduleItem, installments)
	for i := range out {
		out[i] = PaymentScheduleItem{Amount: part, Date: start.AddDate(0, 0, 14*i).Format("2006-01-02"), Status: "scheduled"}
	}
	out[0].Amount = base - part*(installments-1)
	if firstPaid {
		out[0].Status = "paid"
	}
	return out
}

func residual(sched []PaymentScheduleItem) int64 {
	var n int64
	for _, p := range sched {
		if p.Status != "paid" {
			n += p.Amount
		}
	}
	return n
}

func (s *Sandbox) apiCreate(r *http.Request) (any, *apiError) {
	var req wireCreate
	if aerr := decodeBody(r, &req); aerr != nil {
		return nil, aerr
	}
	o := req.Order
	if strings.TrimSpace(o.ID) == "" || len(o.ID) > 64 {
		return nil, badRequest("order.id is required (at most 64 characters).")
	}
	if o.Amount <= 0 || len(o.Items) == 0 {
		return nil, badRequest("order.amount and order.items are required.")
	}
	sum, aerr := sumItems(o.Items)
	if aerr != nil {
		return nil, aerr
	}
	// [U] the items are assumed to add up to order.amount, prepaid part
	// included.
	if sum != int64(o.Amount) || o.PrepaidAmount < 0 || o.PrepaidAmount >= o.Amount {
		return nil, &apiError{http.StatusBadRequest, codeAmountMismatch, "Items must add up to order.amount; prepaid_amount must be less than it."}
	}
	ci := ClientInfo{}
	if req.ClientInfo != nil {
		c := req.ClientInfo
		ci = ClientInfo{FirstName: c.FirstName, LastName: c.LastName, MiddleName: c.MiddleName, Phone: c.Phone, Email: c.Email, Birthdate: c.Birthdate}
	}
	now := s.now()
	sched := schedule(int64(o.Amount-o.PrepaidAmount), now, false)
	itemsJSON, err1 := json.Marshal(fromWireItems(o.Items))
	ciJSON, err2 := json.Marshal(ci)
	schedJSON, err3 := json.Marshal(sched)
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, errInternal
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	res, err := s.db.ExecContext(r.Context(), `INSERT INTO dolyami_orders (id, amount, prepaid_amount, residual_amount,
		items_json, client_info_json, notification_url, fail_url, success_url, status, schedule_json, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		o.ID, int64(o.Amount), int64(o.PrepaidAmount), residual(sched), string(itemsJSON), string(ciJSON),
		req.NotificationURL, req.FailURL, req.SuccessURL, StatusNew, string(schedJSON),
		now.Format(time.RFC3339Nano), now.Format(time.RFC3339Nano))
	if err != nil {
		return nil, errInternal
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return nil, &apiError{http.StatusConflict, codeOrderExists, "An order with this id already exists."}
	}
	ord, err := s.order(r.Context(), o.ID)
	if err != nil {
		return nil, errInternal
	}
	return s.infoOf(ord), nil
}

// infoOf renders an order as the API shows it.
func (s *Sandbox) infoOf(o *SandboxOrder) wireInfo {
	w := wireInfo{
		ID:             wire.String(o.ID),
		Status:         o.Status,
		Amount:         money(o.Amount),
		ResidualAmount: money(o.ResidualAmount),
		Link:           s.BaseURL() + "/pay/" + url.PathEscape(o.ID),
	}
	for _, p := range o.Schedule {
		w.PaymentSchedule = append(w.PaymentSchedule, wireSchedule{Amount: money(p.Amount), Date: p.Date, Status: p.Status})
	}
	if len(o.Refunds) > 0 {
		ri := &wireRefundInfo{Items: []wireRefundItem{}}
		for _, r := range o.Refunds {
			ri.TotalRefundedAmount += money(r.RefundedAmount)
			ri.TotalRefundedPrepaidAmount += money(r.RefundedPrepaidAmount)
			ri.Items = append(ri.Items, wireRefundItem{
				RefundID: r.RefundID, RefundedAmount: money(r.RefundedAmount), RefundedPrepaidAmount: money(r.RefundedPrepaidAmount),
				ReturnedItems: toWireItems(r.ReturnedItems), Status: r.Status,
			})
		}
		w.RefundInfo = ri
	}
	return w
}

func (s *Sandbox) load(ctx context.Context, id string) (*SandboxOrder, *apiError) {
	o, err := s.order(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, errInternal
	}
	return o, nil
}

func (s *Sandbox) apiInfo(r *http.Request) (any, *apiError) {
	o, aerr := s.load(r.Context(), r.PathValue("id"))
	if aerr != nil {
		return nil, aerr
	}
	return s.infoOf(o), nil
}

func (s *Sandbox) apiCommit(r *http.Request) (any, *apiError) {
	var req wireCommit
	if aerr := decodeBody(r, &req); aerr != nil {
		return nil, aerr
	}
	id := r.PathValue("id")
	var nid int64
	var answer wireInfo
	aerr := s.change(r.Context(), id, func(o *SandboxOrder) (string, *apiError) {
		if !NeedsCommit(o.Status) {
			return "", errStatus
		}
		if req.Amount <= 0 || int64(req.Amount) > o.Amount || req.PrepaidAmount < 0 || req.PrepaidAmount >= req.Amount {
			return "", &apiError{http.StatusBadRequest, codeAmountMismatch, "Commit amount must be positive and at most the order amount."}
		}
		if len(req.Items) > 0 {
			sum, aerr := sumItems(req.Items)
			if aerr != nil {
				return "", aerr
			}
			if sum != int64(req.Amount) {
				return "", &apiError{http.StatusBadRequest, codeAmountMismatch, "Items must add up to amount."}
			}
			o.Items = fromWireItems(req.Items)
		}
		// A smaller final amount shrinks the installments; the first part
		// stays paid.
		o.Amount, o.PrepaidAmount = int64(req.Amount), int64(req.PrepaidAmount)
		o.Schedule = schedule(o.Amount-o.PrepaidAmount, o.CreatedAt, true)
		o.ResidualAmount = residual(o.Schedule)
		return StatusCommitted, nil
	}, &nid)
	if aerr != nil {
		return nil, aerr
	}
	o, _ := s.order(r.Context(), id)
	answer = s.infoOf(o)
	s.deliverQuiet(nid)
	// Dolyami completes a committed order on its side; the sandbox does it at
	// once and notifies it right after committed, like the bank's
	// AUTHORIZED/CONFIRMED pair.
	if s.change(r.Context(), id, func(o *SandboxOrder) (string, *apiError) {
		if o.Status != StatusCommitted {
			return "", errStatus
		}
		return StatusCompleted, nil
	}, &nid) == nil {
		s.deliverQuiet(nid)
	}
	return answer, nil
}

// apiCancel cancels an order that is not committed: new (the buyer has not
// paid) or approved (Dolyami gives the buyer's first part back). A
// committed or completed order is paid and is refused with
// wrong_order_status: money goes back by refund only.
func (s *Sandbox) apiCancel(r *http.Request) (any, *apiError) {
	id := r.PathValue("id")
	var nid int64
	var mode FailMode
	aerr := s.change(r.Context(), id, func(o *SandboxOrder) (string, *apiError) {
		if o.Status != StatusNew && !NeedsCommit(o.Status) {
			return "", errStatus
		}
		switch mode = s.TakeCancel(); mode {
		case FailHTTP500:
			return "", errInternal
		case FailRefused:
			return "", errRejected
		}
		return StatusCanceled, nil
	}, &nid)
	if aerr != nil {
		return nil, aerr
	}
	o, _ := s.order(r.Context(), id)
	s.deliverQuiet(nid)
	if mode == FailLostAnswer {
		return nil, errInternal
	}
	return s.infoOf(o), nil
}

// apiRefund records a refund; it is "processed" at once (the real one may
// stay "pending" for a while) and, as far as is known, not notified. [U] A
// refund repeated with the same X-Correlation-ID is answered like the first
// one and returns nothing again (see RefundRequest.Key); the repeat is
// recognised before anything else is checked, so it is answered even once
// nothing is left to refund.
func (s *Sandbox) apiRefund(r *http.Request) (any, *apiError) {
	var req wireRefund
	if aerr := decodeBody(r, &req); aerr != nil {
		return nil, aerr
	}
	id := r.PathValue("id")
	cid := r.Header.Get("X-Correlation-ID")
	ans, mode, aerr := s.refund(r.Context(), id, cid, req)
	if aerr != nil {
		return nil, aerr
	}
	if mode == FailLostAnswer {
		return nil, errInternal
	}
	return ans, nil
}

// refund is apiRefund's change, under writeMu.
func (s *Sandbox) refund(ctx context.Context, id, cid string, req wireRefund) (any, FailMode, *apiError) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	var storedOrder, stored string
	err := s.db.QueryRowContext(ctx, `SELECT order_id, answer_json FROM dolyami_refund_requests WHERE correlation_id = ?`, cid).
		Scan(&storedOrder, &stored)
	switch {
	case err == nil && storedOrder != id:
		return nil, FailNone, &apiError{http.StatusConflict, codeKeyReused, "This X-Correlation-ID was used for a refund of another order."}
	case err == nil:
		var ans wireRefundAnswer
		if json.Unmarshal([]byte(stored), &ans) != nil {
			return nil, FailNone, errInternal
		}
		return ans, FailNone, nil
	case !errors.Is(err, sql.ErrNoRows):
		return nil, FailNone, errInternal
	}
	o, aerr := s.load(ctx, id)
	if aerr != nil {
		return nil, FailNone, aerr
	}
	if o.Status != StatusCommitted && o.Status != StatusCompleted {
		return nil, FailNone, errStatus
	}
	mode := s.TakeRefund()
	switch mode {
	case FailHTTP500:
		return nil, mode, errInternal
	case FailRefused:
		return nil, mode, errRejected
	}
	if req.Amount <= 0 || int64(req.Amount) > o.Amount-o.RefundedAmount() || req.RefundedPrepaidAmount < 0 {
		return nil, mode, &apiError{http.StatusBadRequest, codeAmountMismatch, "Refund amount must be positive and at most what is left of the order."}
	}
	ans := wireRefundAnswer{Amount: req.Amount, RefundID: newUUID()}
	itemsJSON, err := json.Marshal(fromWireItems(req.ReturnedItems))
	if err != nil {
		return nil, mode, errInternal
	}
	ansJSON, err := json.Marshal(ans)
	if err != nil {
		return nil, mode, errInternal
	}
	now := s.now().Format(time.RFC3339Nano)
	err = sandboxdb.InTx(ctx, s.db, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO dolyami_refunds (refund_id, order_id, amount, prepaid_amount, items_json, status, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, ans.RefundID, id, int64(req.Amount), int64(req.RefundedPrepaidAmount), string(itemsJSON),
			RefundProcessed, now); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO dolyami_refund_requests (correlation_id, order_id, answer_json, created_at)
		VALUES (?, ?, ?, ?)`, cid, id, string(ansJSON), now)
		return err
	})
	if err != nil {
		return nil, mode, errInternal
	}
	return ans, mode, nil
}

// ---------------------------------------------------------------- state

// change runs decide on the current order (which it may modify) and stores
// the new status with the order and its notification, in one transaction
// under writeMu. *nid receives the notification id (0: none).
func (s *Sandbox) change(ctx context.Context, id string, decide func(*SandboxOrder) (string, *apiError), nid *int64) *apiError {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	o, aerr := s.load(ctx, id)
	if aerr != nil {
		return aerr
	}
	status, aerr := decide(o)
	if aerr != nil {
		return aerr
	}
	o.Status = status
	itemsJSON, err := json.Marshal(o.Items)
	if err != nil {
		return errInternal
	}
	schedJSON, err := json.Marshal(o.Schedule)
	if err != nil {
		return errInternal
	}
	*nid = 0
	err = sandboxdb.InTx(ctx, s.db, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE dolyami_orders SET status = ?, amount = ?, prepaid_amount = ?, residual_amount = ?,
		items_json = ?, schedule_json = ?, updated_at = ? WHERE id = ?`,
			o.Status, o.Amount, o.PrepaidAmount, o.ResidualAmount, string(itemsJSON), string(schedJSON),
			s.now().Format(time.RFC3339Nano), o.ID); err != nil {
			return err
		}
		if o.NotificationURL == "" {
			return nil
		}
		var err error
		*nid, err = s.queueNotification(ctx, tx, o, status)
		return err
	})
	if err != nil {
		*nid = 0
		return errInternal
	}
	return nil
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// notificationBody is what the sandbox POSTs. [U] providers.md does not know
// Dolyami's notification fields; these are the order fields of the API
// answers plus client_info, with no signature and no authentication.
type notificationBody struct {
	ID              string          `json:"id"`
	Status          string          `json:"status"`
	Amount          money           `json:"amount"`
	ResidualAmount  money           `json:"residual_amount"`
	ClientInfo      *wireClientInfo `json:"client_info,omitempty"`
	PaymentSchedule []wireSchedule  `json:"payment_schedule"`
}

// queueNotification stores the notification body for o in status; it is
// fixed now so that a resend is byte-for-byte the same.
func (s *Sandbox) queueNotification(ctx context.Context, ex execer, o *SandboxOrder, status string) (int64, error) {
	nb := notificationBody{ID: o.ID, Status: status, Amount: money(o.Amount), ResidualAmount: money(o.ResidualAmount)}
	if ci := o.ClientInfo; ci != (ClientInfo{}) {
		nb.ClientInfo = &wireClientInfo{FirstName: ci.FirstName, LastName: ci.LastName, MiddleName: ci.MiddleName,
			Phone: ci.Phone, Email: ci.Email, Birthdate: ci.Birthdate}
	}
	for _, p := range o.Schedule {
		nb.PaymentSchedule = append(nb.PaymentSchedule, wireSchedule{Amount: money(p.Amount), Date: p.Date, Status: p.Status})
	}
	body, err := json.Marshal(nb)
	if err != nil {
		return 0, err
	}
	res, err := ex.ExecContext(ctx, `INSERT INTO dolyami_notifications (order_id, status, url, body, created_at) VALUES (?, ?, ?, ?, ?)`,
		o.ID, status, o.NotificationURL, string(body), s.now().Format(time.RFC3339Nano))
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// Order returns the sandbox's record of an order, or ErrNotFound.
func (s *Sandbox) Order(id string) (*SandboxOrder, error) { return s.order(context.Background(), id) }

const orderColumns = `id, amount, prepaid_amount, residual_amount, items_json, client_info_json, notification_url,
	fail_url, success_url, status, schedule_json, created_at, updated_at`

func scanOrder(row interface{ Scan(...any) error }) (*SandboxOrder, error) {
	var o SandboxOrder
	var items, ci, sched, created, updated string
	if err := row.Scan(&o.ID, &o.Amount, &o.PrepaidAmount, &o.ResidualAmount, &items, &ci, &o.NotificationURL,
		&o.FailURL, &o.SuccessURL, &o.Status, &sched, &created, &updated); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name, raw string
		into      any
	}{{"items", items, &o.Items}, {"client info", ci, &o.ClientInfo}, {"schedule", sched, &o.Schedule}} {
		if err := json.Unmarshal([]byte(f.raw), f.into); err != nil {
			return nil, fmt.Errorf("order %s: %s: %w", o.ID, f.name, err)
		}
	}
	o.CreatedAt, _ = time.Parse(time.RFC3339Nano, created)
	o.UpdatedAt, _ = time.Parse(time.RFC3339Nano, updated)
	return &o, nil
}

func (s *Sandbox) order(ctx context.Context, id string) (*SandboxOrder, error) {
	o, err := scanOrder(s.db.QueryRowContext(ctx, `SELECT `+orderColumns+` FROM dolyami_orders WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT refund_id, amount, prepaid_amount, items_json, status
		FROM dolyami_refunds WHERE order_id = ? ORDER BY created_at, refund_id`, id)
	o.Refunds, err = sandboxdb.Collect(rows, err, func(row sandboxdb.Scanner) (Refund, error) {
		var r Refund
		var items string
		if err := row.Scan(&r.RefundID, &r.RefundedAmount, &r.RefundedPrepaidAmount, &items, &r.Status); err != nil {
			return Refund{}, err
		}
		if err := json.Unmarshal([]byte(items), &r.ReturnedItems); err != nil {
			return Refund{}, fmt.Errorf("refund %s: items: %w", r.RefundID, err)
		}
		return r, nil
	})
	if err != nil {
		return nil, err
	}
	return o, nil
}

// Orders returns the latest orders, newest first.
func (s *Sandbox) Orders(limit int) ([]SandboxOrder, error) {
	rows, err := s.db.Query(`SELECT `+orderColumns+` FROM dolyami_orders ORDER BY created_at DESC, id LIMIT ?`, limit)
	return sandboxdb.Collect(rows, err, func(r sandboxdb.Scanner) (SandboxOrder, error) {
		o, err := scanOrder(r)
		if err != nil {
			return SandboxOrder{}, err
		}
		return *o, nil
	})
}

// Notifications returns the notifications of an order, oldest first.
func (s *Sandbox) Notifications(orderID string) ([]SandboxNotification, error) {
	rows, err := s.db.Query(`SELECT id, order_id, status, url, body, attempts, delivered, last_error, created_at, last_attempt_at
		FROM dolyami_notifications WHERE order_id = ? ORDER BY id`, orderID)
	return sandboxdb.Collect(rows, err, func(r sandboxdb.Scanner) (SandboxNotification, error) {
		n, err := scanNotification(r)
		if err != nil {
			return SandboxNotification{}, err
		}
		return *n, nil
	})
}

func scanNotification(row interface{ Scan(...any) error }) (*SandboxNotification, error) {
	var n SandboxNotification
	var created, last string
	if err := row.Scan(&n.ID, &n.OrderID, &n.Status, &n.URL, &n.Body, &n.Attempts, &n.Delivered, &n.LastError, &created, &last); err != nil {
		return nil, err
	}
	n.CreatedAt, _ = time.Parse(time.RFC3339Nano, created)
	n.LastAttemptAt, _ = time.Parse(time.RFC3339Nano, last)
	return &n, nil
}

// ---------------------------------------------------------------- delivery

// deliver POSTs notification nid and records the attempt; any 2xx answer
// counts as received ([U]: Dolyami's expected answer is not documented).
func (s *Sandbox) deliver(ctx context.Context, nid int64) error {
	return s.outbox.Deliver(ctx, nid, func(ctx context.Context, u string, body []byte) error {
		return sandboxkit.Post(ctx, s.cfg.HTTPClient, u, sandboxkit.JSON(), body, sandboxkit.Accept2xx)
	})
}

// deliverQuiet delivers a fresh notification during a request; a failure is
// recorded for ResendNotifications.
func (s *Sandbox) deliverQuiet(nid int64) {
	if nid != 0 {
		_ = s.deliver(context.Background(), nid)
	}
}

// ResendNotifications retries every notification the shop has not
// acknowledged yet, oldest first; it returns how many got through and the
// first failure.
func (s *Sandbox) ResendNotifications(ctx context.Context) (int, error) {
	return s.outbox.ResendPending(ctx, s.deliver)
}

// ResendNotification sends the order's latest notification again, byte for
// byte, for duplicate-notification tests. It returns the delivery error.
func (s *Sandbox) ResendNotification(ctx context.Context, orderID string) error {
	nid, err := s.outbox.Latest(ctx, orderID)
	if errors.Is(err, sandboxkit.ErrNoNotification) {
		return fmt.Errorf("dolyami sandbox: order %s has no notifications: %w", orderID, ErrNotFound)
	}
	if err != nil {
		return err
	}
	return s.deliver(ctx, nid)
}

// SendNotification sends a notification claiming status for the order
// without changing the sandbox's state, for stale and out-of-order tests. It
// returns the delivery error.
func (s *Sandbox) SendNotification(ctx context.Context, orderID, status string) error {
	o, err := s.order(ctx, orderID)
	if err != nil {
		return err
	}
	if o.NotificationURL == "" {
		return fmt.Errorf("dolyami sandbox: order %s has no notification_url", orderID)
	}
	s.writeMu.Lock()
	nid, err := s.queueNotification(ctx, s.db, o, status)
	s.writeMu.Unlock()
	if err != nil {
		return err
	}
	return s.deliver(ctx, nid)
}

// ---------------------------------------------------------------- buyer's form

func (s *Sandbox) payPage(w http.ResponseWriter, r *http.Request) {
	o, err := s.order(r.Context(), r.PathValue("id"))
	if err != nil {
		sandboxkit.Render(w, http.StatusNotFound, payTmpl, payView{Message: "Заказ не найден."})
		return
	}
	v := payView{Order: o, Open: o.Status == StatusNew}
	if !v.Open {
		v.Message = closedMessage(o.Status)
	}
	sandboxkit.Render(w, http.StatusOK, payTmpl, v)
}

// payAction handles the buyer's buttons. Pay: Dolyami approves the buyer and
// takes the first part (approved, notified); the order then waits for the
// shop's Commit. Decline: rejected. Abandon: the buyer gives up, and the
// order is canceled at once ([U]: the real service lets an unfinished
// application lapse; the end state is the same). Each is notified before the
// browser is sent to success_url or fail_url.
func (s *Sandbox) payAction(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.PathValue("id")
	o, err := s.order(ctx, id)
	if err != nil {
		sandboxkit.Render(w, http.StatusNotFound, payTmpl, payView{Message: "Заказ не найден."})
		return
	}
	var to string
	switch sandboxkit.Choice(r, s.TakeDecline) {
	case sandboxkit.Pay:
		to = StatusApproved
	case sandboxkit.Decline:
		to = StatusRejected
	case sandboxkit.Abandon:
		to = StatusCanceled
	default:
		sandboxkit.Render(w, http.StatusBadRequest, payTmpl, payView{Order: o, Open: o.Status == StatusNew, Message: "Неизвестное действие."})
		return
	}
	var nid int64
	aerr := s.change(ctx, id, func(cur *SandboxOrder) (string, *apiError) {
		if cur.Status != StatusNew {
			return "", errStatus
		}
		if to == StatusApproved {
			cur.Schedule = schedule(cur.Amount-cur.PrepaidAmount, s.now(), true)
			cur.ResidualAmount = residual(cur.Schedule)
		}
		return to, nil
	}, &nid)
	if aerr != nil {
		cur, _ := s.order(ctx, id)
		sandboxkit.Render(w, http.StatusConflict, payTmpl, payView{Order: cur, Message: closedMessage(cur.Status)})
		return
	}
	s.deliverQuiet(nid)
	if to == StatusApproved {
		s.awaitCommit(ctx, id)
	}
	target := o.FailURL
	if to == StatusApproved {
		target = o.SuccessURL
	}
	if target == "" {
		msg := "Заявка не одобрена."
		if to == StatusApproved {
			msg = "Заявка одобрена: первый платеж списан."
		}
		cur, _ := s.order(ctx, id)
		sandboxkit.Render(w, http.StatusOK, payTmpl, payView{Order: cur, Message: msg})
		return
	}
	sandboxkit.SeeOther(w, target)
}

// awaitCommit moves an order the shop has not committed on hearing
// "approved" to wait_for_commit, notified, as Dolyami does once it has
// taken the buyer's first part: integrations commit on either status.
func (s *Sandbox) awaitCommit(ctx context.Context, id string) {
	var nid int64
	aerr := s.change(ctx, id, func(cur *SandboxOrder) (string, *apiError) {
		if cur.Status != StatusApproved {
			return "", errStatus // committed (or cancelled) meanwhile
		}
		return StatusWaitForCommit, nil
	}, &nid)
	if aerr == nil {
		s.deliverQuiet(nid)
	}
}

// closedMessage is what the form says of an order that cannot be paid.
func closedMessage(status string) string {
	if status == StatusCanceled {
		return "Заказ отменен: оплатить его нельзя."
	}
	return "Этот заказ уже обработан: " + status + "."
}

type payView struct {
	Order   *SandboxOrder
	Open    bool
	Message string
}

var payTmpl = sandboxkit.Page("pay", `<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><title>Долями (sandbox)</title>
<style>body{font-family:sans-serif;max-width:30em;margin:2em auto}button{margin-right:.5em;padding:.5em 1em}</style></head>
<body data-testid="sandbox-dolyami-pay-page">
<h1>Долями (sandbox)</h1>
{{with .Order}}
<p>Заказ <span data-testid="sandbox-order-id">{{.ID}}</span> на <strong data-testid="sandbox-amount">{{rubles .Amount}}</strong>, статус <span data-testid="sandbox-status">{{.Status}}</span></p>
<table data-testid="sandbox-schedule">
{{range .Schedule}}<tr><td>{{.Date}}</td><td>{{rubles .Amount}}</td><td>{{.Status}}</td></tr>{{end}}
</table>
{{end}}
{{if .Message}}<p data-testid="sandbox-message">{{.Message}}</p>{{end}}
{{if .Open}}
<form method="post" data-testid="sandbox-pay-form">
{{template "pay-buttons" (buttons "Оплатить первую часть" "Отказ" "Вернуться в магазин")}}
</form>
{{end}}
</body></html>`, nil)

// ---------------------------------------------------------------- control page

type controlView struct {
	BaseURL  string
	Switches SandboxSwitches
	Orders   []sandboxkit.Tallied[SandboxOrder]
	Error    string
}

func (s *Sandbox) controlPage(w http.ResponseWriter, r *http.Request) {
	v := controlView{BaseURL: s.BaseURL(), Switches: s.Switches()}
	records, err := s.Orders(100)
	if err == nil {
		v.Orders, err = sandboxkit.TallyAll(r.Context(), s.outbox, records, func(x SandboxOrder) any { return x.ID })
	}
	if err != nil {
		v.Error = err.Error()
	}
	sandboxkit.Render(w, http.StatusOK, controlTmpl, v)
}

// control applies one switch or helper from the control page. A delivery
// that fails is recorded on its notification, which the page shows as
// pending: the tester sees it there.
func (s *Sandbox) control(r *http.Request) error {
	if ok, err := s.PaymentSwitches.Control(r, failMode); ok {
		return err
	}
	if sandboxkit.NotifyAction(r, s, "order_id") {
		return nil
	}
	return sandboxkit.ErrUnknownAction
}

// failMode reads a mode of the control page's selects.
func failMode(v string) FailMode {
	switch v {
	case "500":
		return FailHTTP500
	case "refused":
		return FailRefused
	case "lost":
		return FailLostAnswer
	}
	return FailNone
}

var controlTmpl = sandboxkit.Page("control", `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Dolyami sandbox</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em}form{display:inline}</style></head>
<body data-testid="sandbox-dolyami-control">
<h1>Dolyami sandbox</h1>
<p>API: <code>{{.BaseURL}}/v1</code> (Basic auth, X-Correlation-ID required)</p>
{{if .Error}}<p>{{.Error}}</p>{{end}}
<h2>Switches</h2>
<p>
<form method="post" action="_control"><input type="hidden" name="action" value="decline_next">
{{if .Switches.DeclineNext}}<input type="hidden" name="on" value="0"><button data-testid="sandbox-decline-next">Decline next buyer: ON (turn off)</button>
{{else}}<input type="hidden" name="on" value="1"><button data-testid="sandbox-decline-next">Decline next buyer</button>{{end}}
</form>
</p>
<p>
<form method="post" action="_control"><input type="hidden" name="action" value="fail_next">
<select name="mode"><option value="">no failure</option><option value="500" {{if eq .Switches.FailNext 1}}selected{{end}}>HTTP 500</option></select>
<button data-testid="sandbox-fail-next">Fail next API call</button></form>
</p>
<p>
<form method="post" action="_control"><input type="hidden" name="action" value="fail_next_cancel">
<select name="mode"><option value="">no failure</option><option value="refused" {{if eq .Switches.FailNextCancel 2}}selected{{end}}>refused (422)</option><option value="500" {{if eq .Switches.FailNextCancel 1}}selected{{end}}>HTTP 500, nothing done</option><option value="lost" {{if eq .Switches.FailNextCancel 3}}selected{{end}}>done, answer lost (HTTP 500)</option></select>
<button data-testid="sandbox-fail-next-cancel">Fail next cancel</button></form>
</p>
<p>
<form method="post" action="_control"><input type="hidden" name="action" value="fail_next_refund">
<select name="mode"><option value="">no failure</option><option value="refused" {{if eq .Switches.FailNextRefund 2}}selected{{end}}>refused (422)</option><option value="500" {{if eq .Switches.FailNextRefund 1}}selected{{end}}>HTTP 500, nothing done</option><option value="lost" {{if eq .Switches.FailNextRefund 3}}selected{{end}}>refunded, answer lost (HTTP 500)</option></select>
<button data-testid="sandbox-fail-next-refund">Fail next refund</button></form>
</p>
<p>{{template "latency-form" .Switches.Latency}}</p>
<p>{{template "resend-pending" "Retry undelivered notifications"}}</p>
<h2>Orders</h2>
<table data-testid="sandbox-orders">
<tr><th>Order</th><th>Amount</th><th>Residual</th><th>Status</th><th>Refunded</th><th>Notifications sent / pending</th><th></th></tr>
{{range .Orders}}
<tr data-testid="sandbox-order-row">
<td><a href="pay/{{.Record.ID}}">{{.Record.ID}}</a></td><td>{{rubles .Record.Amount}}</td><td>{{rubles .Record.ResidualAmount}}</td><td>{{.Record.Status}}</td><td>{{rubles .Record.RefundedAmount}}</td><td>{{.Sent}} / {{.Pending}}</td>
<td>
<form method="post" action="_control"><input type="hidden" name="action" value="resend"><input type="hidden" name="order_id" value="{{.Record.ID}}"><button>Resend last</button></form>
<form method="post" action="_control"><input type="hidden" name="action" value="send"><input type="hidden" name="order_id" value="{{.Record.ID}}">
<select name="status"><option>approved</option><option>wait_for_commit</option><option>committed</option><option>completed</option><option>rejected</option><option>canceled</option></select><button>Send</button></form>
</td></tr>
{{end}}
</table>
</body></html>`, nil)
