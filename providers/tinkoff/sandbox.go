package tinkoff

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"orderdesk/providers/internal/wire"
	"strconv"
	"strings"
	"sync"
	"time"

	"orderdesk/providers/internal/httpbody"
	"orderdesk/providers/internal/sandboxdb"
	"orderdesk/providers/internal/sandboxkit"
)

// Demo credentials the sandbox accepts when SandboxConfig leaves them empty.
// DEMO terminals of the real bank end in "DEMO" too.
const (
	DemoTerminalKey = "1700000000000DEMO"
	DemoPassword    = "orderdesk-sandbox"
)

// Card data the sandbox reports in notifications (the bank's own test card).
const (
	sandboxCardID  = 475738102
	sandboxPan     = "430000******0777"
	sandboxExpDate = "1230"
)

// firstPaymentID makes sandbox payment ids as long as real ones (ten digits,
// above 2^32), so code that stores them in an int32 breaks in tests, not in
// production.
const firstPaymentID = 7000000000

// minAmount is the smallest amount Init accepts, in kopecks. [U] the bank's
// error 251 names the minimum without stating it; one rouble is assumed.
const minAmount = 100

// defaultDueDate is how long a payment link lives without RedirectDueDate
// (the bank's documented default is 24 hours).
const defaultDueDate = 24 * time.Hour

// ErrNotFound is returned by the sandbox helpers for an unknown payment.
var ErrNotFound = errors.New("tinkoff sandbox: payment not found")

// FailMode selects how the sandbox fails the next API call.
type FailMode int

// Fail modes for FailNext, FailNextCancel and FailNextRefund.
const (
	FailNone      FailMode = iota
	FailHTTP500            // answer HTTP 500 with an HTML body, like a broken gateway; nothing is done
	FailErrorCode          // answer HTTP 200 with Success=false, ErrorCode 9999 (temporary); nothing is done
	// FailRefused answers a definite refusal (ErrorCode 4, the status
	// cannot be changed): nothing is done. FailNextCancel and
	// FailNextRefund only.
	FailRefused
	// FailLostAnswer does the cancel or refund, notifies it, and then
	// answers HTTP 500, as when the connection drops after the bank acted.
	// FailNextCancel and FailNextRefund only.
	FailLostAnswer
)

// SandboxConfig configures NewSandbox.
type SandboxConfig struct {
	// TerminalKey and Password are the one terminal the sandbox accepts
	// (default DemoTerminalKey / DemoPassword).
	TerminalKey string
	Password    string
	// BaseURL is where the sandbox is mounted, e.g.
	// "http://localhost:8080/sandbox/tinkoff"; it builds PaymentURL. Tests set
	// it with SetBaseURL once the httptest server has started.
	BaseURL string
	// HTTPClient delivers notifications (default: 10 s timeout, as the bank
	// waits about 10 s per attempt).
	HTTPClient *http.Client
	// Now is the sandbox clock (default time.Now), for expiry tests.
	Now func() time.Time
}

// Sandbox plays the bank: the v2 API, the payment form and the
// notifications, with its state in SQLite tables named tinkoff_*. It is an
// http.Handler meant to be mounted with http.StripPrefix.
type Sandbox struct {
	// The switches: FailNextCancel is for a Cancel of a payment that is not
	// paid (NEW, FORM_SHOWED, or a hold: AUTHORIZED), FailNextRefund for a
	// Cancel of a paid one (CONFIRMED or PARTIAL_REFUNDED: a refund).
	sandboxkit.PaymentSwitches[FailMode]

	db     *sql.DB
	cfg    SandboxConfig
	mux    *http.ServeMux
	outbox *sandboxkit.Outbox

	// writeMu serialises state changes so that a status check and its update
	// cannot interleave with another request's (double clicks, a merchant
	// calling Cancel while the form is being paid). It is never held while a
	// notification is delivered: the merchant may call the API back from its
	// notification handler.
	writeMu sync.Mutex
}

// SandboxPayment is the sandbox's record of a payment.
type SandboxPayment struct {
	PaymentID       string
	TerminalKey     string
	OrderID         string
	Amount          int64 // current amount, after reversals and refunds
	OriginalAmount  int64 // amount at Init
	Description     string
	CustomerKey     string
	NotificationURL string
	SuccessURL      string
	FailURL         string
	PayType         string
	DATA            map[string]string
	Status          string
	ErrorCode       string
	RedirectDueDate time.Time
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// SandboxNotification is one notification the sandbox sent or tried to send.
type SandboxNotification struct {
	ID            int64
	PaymentID     string
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
CREATE TABLE IF NOT EXISTS tinkoff_payments (
	payment_id        INTEGER PRIMARY KEY,
	terminal_key      TEXT    NOT NULL,
	order_id          TEXT    NOT NULL,
	amount            INTEGER NOT NULL,
	original_amount   INTEGER NOT NULL,
	description       TEXT    NOT NULL DEFAULT '',
	customer_key      TEXT    NOT NULL DEFAULT '',
	notification_url  TEXT    NOT NULL DEFAULT '',
	success_url       TEXT    NOT NULL DEFAULT '',
	fail_url          TEXT    NOT NULL DEFAULT '',
	pay_type          TEXT    NOT NULL DEFAULT '',
	data_json         TEXT    NOT NULL DEFAULT '',
	status            TEXT    NOT NULL,
	error_code        TEXT    NOT NULL DEFAULT '0',
	redirect_due_date TEXT    NOT NULL,
	created_at        TEXT    NOT NULL,
	updated_at        TEXT    NOT NULL
);
CREATE TABLE IF NOT EXISTS tinkoff_notifications (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	payment_id      INTEGER NOT NULL,
	status          TEXT    NOT NULL,
	url             TEXT    NOT NULL,
	body            TEXT    NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	delivered       INTEGER NOT NULL DEFAULT 0,
	last_error      TEXT    NOT NULL DEFAULT '',
	created_at      TEXT    NOT NULL,
	last_attempt_at TEXT    NOT NULL DEFAULT ''
);
-- Cancel calls made with an ExternalRequestId, and what the bank answered:
-- the same id on the same payment gets the same answer and nothing is done
-- again.
CREATE TABLE IF NOT EXISTS tinkoff_cancel_requests (
	payment_id          INTEGER NOT NULL,
	external_request_id TEXT    NOT NULL,
	answer_json         TEXT    NOT NULL,
	created_at          TEXT    NOT NULL,
	PRIMARY KEY (payment_id, external_request_id)
);
-- ResendNotifications scans the undelivered ones in order.
CREATE INDEX IF NOT EXISTS tinkoff_notifications_pending ON tinkoff_notifications (delivered, id);
-- ResendNotification and the control page look up a payment's latest ones.
CREATE INDEX IF NOT EXISTS tinkoff_notifications_payment ON tinkoff_notifications (payment_id, id);
`

// NewSandbox creates the sandbox's tables in db (if missing) and returns it.
func NewSandbox(db *sql.DB, cfg SandboxConfig) (*Sandbox, error) {
	if cfg.TerminalKey == "" {
		cfg.TerminalKey = DemoTerminalKey
	}
	if cfg.Password == "" {
		cfg.Password = DemoPassword
	}
	sandboxkit.Defaults(&cfg.HTTPClient, &cfg.Now)
	if _, err := db.Exec(schema); err != nil {
		return nil, fmt.Errorf("tinkoff sandbox: create tables: %w", err)
	}
	s := &Sandbox{db: db, cfg: cfg}
	s.SetBaseURL(cfg.BaseURL)
	s.outbox = &sandboxkit.Outbox{DB: db, Table: "tinkoff_notifications", Key: "payment_id", Lock: &s.writeMu, Now: s.now}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v2/Init", s.api(s.apiInit))
	mux.HandleFunc("POST /v2/GetState", s.api(s.apiGetState))
	mux.HandleFunc("POST /v2/Cancel", s.api(s.apiCancel))
	mux.HandleFunc("POST /v2/Confirm", s.api(s.apiConfirm))
	mux.HandleFunc("GET /pay/{id}", s.payPage)
	mux.HandleFunc("POST /pay/{id}", s.payAction)
	mux.HandleFunc("GET /{$}", s.controlPage)
	mux.HandleFunc("POST /_control", sandboxkit.ControlHandler(s.control))
	s.mux = mux
	return s, nil
}

// ServeHTTP serves the API, the payment form and the control page.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// APIURL returns the BaseURL a client should use for this sandbox.
func (s *Sandbox) APIURL() string { return s.BaseURL() + "/v2" }

func (s *Sandbox) now() time.Time { return s.cfg.Now().UTC() }

// ---------------------------------------------------------------- the API

// apiError is a business error answered as Success=false, or, with
// HTTPStatus set, a broken gateway's HTML page.
type apiError struct {
	Code       ErrorCode
	Message    string
	Details    string
	HTTPStatus int
}

// errHTTP500 answers HTTP 500 with an HTML page.
var errHTTP500 = &apiError{HTTPStatus: http.StatusInternalServerError}

// writeHTTP500 is what a broken gateway answers.
func writeHTTP500(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	httpbody.Write(w, []byte("<html><body><h1>500 Internal Server Error</h1></body></html>"))
}

type apiHandler func(ctx context.Context, p map[string]any) (map[string]any, *apiError)

// api wraps a method with what every bank call goes through: the switches,
// JSON decoding, the terminal and the Token check.
func (s *Sandbox) api(h apiHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.Wait(r) {
			return
		}
		switch s.TakeFail() {
		case FailHTTP500:
			writeHTTP500(w)
			return
		case FailErrorCode:
			writeAPI(w, nil, &apiError{Code: CodeInternal, Message: "Внутренняя ошибка системы.", Details: "Sandbox: failure switch."})
			return
		}
		dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
		dec.UseNumber()
		var p map[string]any
		if err := dec.Decode(&p); err != nil || p == nil {
			writeAPI(w, nil, &apiError{Code: "1", Message: "Параметры не сопоставлены.", Details: "Тело запроса должно быть JSON-объектом."})
			return
		}
		tk := str(p["TerminalKey"])
		if tk != s.cfg.TerminalKey {
			writeAPI(w, nil, &apiError{Code: CodeTerminalNotFound, Message: "Неверный токен. Проверьте пару TerminalKey/SecretKey.", Details: "Указанный терминал не найден."})
			return
		}
		if str(p["Token"]) != Token(p, s.cfg.Password) {
			writeAPI(w, nil, &apiError{Code: CodeBadToken, Message: "Неверные параметры.", Details: "Неверный токен. Проверьте пару TerminalKey/SecretKey."})
			return
		}
		out, aerr := h(r.Context(), p)
		if aerr != nil && aerr.HTTPStatus != 0 {
			writeHTTP500(w)
			return
		}
		if out == nil {
			out = map[string]any{}
		}
		out["TerminalKey"] = tk
		writeAPI(w, out, aerr)
	}
}

func writeAPI(w http.ResponseWriter, out map[string]any, aerr *apiError) {
	if out == nil {
		out = map[string]any{}
	}
	if aerr != nil {
		out["Success"] = false
		out["ErrorCode"] = string(aerr.Code)
		out["Message"] = aerr.Message
		out["Details"] = aerr.Details
	} else {
		out["Success"] = true
		out["ErrorCode"] = string(CodeOK)
	}
	httpbody.WriteJSON(w, http.StatusOK, "application/json", out)
}

var (
	errInternal = &apiError{Code: CodeInternal, Message: "Внутренняя ошибка системы."}
	errNotFound = &apiError{Code: CodePaymentNotFound, Message: "Платеж не найден."}
	errNoID     = &apiError{Code: CodeEmptyPaymentID, Message: "Поле PaymentId не должно быть пустым."}
	errStatus   = &apiError{Code: CodeBadTransStatus, Message: "Неверный статус транзакции."}
)

// intParam reads an integer parameter; present is false when it is absent.
func intParam(p map[string]any, key string) (n int64, present bool, ok bool) {
	v, has := p[key]
	if !has || v == nil {
		return 0, false, true
	}
	n, err := strconv.ParseInt(str(v), 10, 64)
	return n, true, err == nil
}

func (s *Sandbox) apiInit(ctx context.Context, p map[string]any) (map[string]any, *apiError) {
	amount, has, ok := intParam(p, "Amount")
	if !has || str(p["OrderId"]) == "" {
		return nil, &apiError{Code: CodeMissingParams, Message: "Отсутствуют обязательные параметры.", Details: "Amount и OrderId обязательны."}
	}
	if !ok || amount < minAmount {
		return nil, &apiError{Code: CodeBadAmount, Message: "Неверная сумма.", Details: fmt.Sprintf("Сумма должна быть больше или равна %d копеек.", minAmount)}
	}
	orderID := str(p["OrderId"])
	if len([]rune(orderID)) > 36 {
		return nil, &apiError{Code: "212", Message: "Размер поля OrderId должен быть от 1 до 36."}
	}
	now := s.now()
	due := now.Add(defaultDueDate)
	if d := str(p["RedirectDueDate"]); d != "" {
		t, err := time.Parse(time.RFC3339, d)
		if err != nil {
			return nil, &apiError{Code: "12", Message: "Неверный параметр RedirectDueDate."}
		}
		due = t.UTC()
	}
	var dataJSON string
	if d, ok := p["DATA"].(map[string]any); ok && len(d) > 0 {
		b, err := json.Marshal(d)
		if err != nil {
			return nil, errInternal
		}
		dataJSON = string(b)
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	var id int64
	err := s.db.QueryRowContext(ctx, `
		INSERT INTO tinkoff_payments (payment_id, terminal_key, order_id, amount, original_amount,
			description, customer_key, notification_url, success_url, fail_url, pay_type, data_json,
			status, redirect_due_date, created_at, updated_at)
		SELECT COALESCE(MAX(payment_id), ?) + 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
		FROM tinkoff_payments
		RETURNING payment_id`,
		firstPaymentID, s.cfg.TerminalKey, orderID, amount, amount,
		str(p["Description"]), str(p["CustomerKey"]), str(p["NotificationURL"]),
		str(p["SuccessURL"]), str(p["FailURL"]), str(p["PayType"]), dataJSON,
		StatusNew, due.Format(time.RFC3339), now.Format(time.RFC3339Nano), now.Format(time.RFC3339Nano),
	).Scan(&id)
	if err != nil {
		return nil, errInternal
	}
	pid := strconv.FormatInt(id, 10)
	return map[string]any{
		"Status":     StatusNew,
		"PaymentId":  pid,
		"OrderId":    orderID,
		"Amount":     amount,
		"PaymentURL": s.BaseURL() + "/pay/" + pid,
	}, nil
}

func (s *Sandbox) apiGetState(ctx context.Context, p map[string]any) (map[string]any, *apiError) {
	pid := str(p["PaymentId"])
	if pid == "" {
		return nil, errNoID
	}
	pay, aerr := s.loadForAPI(ctx, pid)
	if aerr != nil {
		return nil, aerr
	}
	if s.expireIfDue(ctx, pay) {
		if pay, aerr = s.loadForAPI(ctx, pid); aerr != nil {
			return nil, aerr
		}
	}
	return map[string]any{
		"Status":    pay.Status,
		"PaymentId": pay.PaymentID,
		"OrderId":   pay.OrderID,
		"Amount":    pay.Amount,
		"Message":   "OK",
	}, nil
}

func (s *Sandbox) loadForAPI(ctx context.Context, pid string) (*SandboxPayment, *apiError) {
	pay, err := s.payment(ctx, pid)
	if errors.Is(err, ErrNotFound) || (err == nil && pay.TerminalKey != s.cfg.TerminalKey) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, errInternal
	}
	return pay, nil
}

// errRefusedBySwitch is the definite refusal FailRefused answers.
var errRefusedBySwitch = &apiError{Code: CodeCannotChange, Message: "Не получится изменить статус платежа.", Details: "Sandbox: failure switch."}

// apiCancel cancels (NEW, FORM_SHOWED), reverses (AUTHORIZED) or refunds
// (CONFIRMED) a payment, as the bank's Cancel does. With an
// ExternalRequestId it answers a repeated request with the first answer and
// does nothing again ([U]: the bank's documentation says it "returns the
// current state of the operation"; the first answer is that state here).
func (s *Sandbox) apiCancel(ctx context.Context, p map[string]any) (map[string]any, *apiError) {
	pid := str(p["PaymentId"])
	if pid == "" {
		return nil, errNoID
	}
	amount, has, ok := intParam(p, "Amount")
	if !ok || (has && amount <= 0) {
		return nil, &apiError{Code: CodeBadAmount, Message: "Неверная сумма."}
	}
	key := str(p["ExternalRequestId"])
	if len(key) > 255 {
		return nil, &apiError{Code: CodeMissingParams, Message: "Неверные параметры.", Details: "ExternalRequestId длиннее 255 символов."}
	}
	out, nid, mode, aerr := s.cancel(ctx, pid, amount, has, key)
	s.deliverQuiet(nid)
	if aerr != nil {
		return nil, aerr
	}
	if mode == FailLostAnswer {
		// Done and notified, but the shop never hears the answer.
		return nil, errHTTP500
	}
	return out, nil
}

// cancel is apiCancel's change, under writeMu. It returns the answer, the
// notification to deliver (0: none) and the failure switch it used.
func (s *Sandbox) cancel(ctx context.Context, pid string, amount int64, has bool, key string) (map[string]any, int64, FailMode, *apiError) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	pay, aerr := s.loadForAPI(ctx, pid)
	if aerr != nil {
		return nil, 0, FailNone, aerr
	}
	if key != "" {
		var stored string
		err := s.db.QueryRowContext(ctx, `SELECT answer_json FROM tinkoff_cancel_requests WHERE payment_id = ? AND external_request_id = ?`,
			pay.PaymentID, key).Scan(&stored)
		if err == nil {
			var out map[string]any
			if json.Unmarshal([]byte(stored), &out) != nil {
				return nil, 0, FailNone, errInternal
			}
			return out, 0, FailNone, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return nil, 0, FailNone, errInternal
		}
	}
	take := s.TakeCancel
	if pay.Status == StatusConfirmed || pay.Status == StatusPartialRefunded {
		take = s.TakeRefund // a refund
	}
	mode := take()
	switch mode {
	case FailHTTP500:
		return nil, 0, mode, errHTTP500
	case FailErrorCode:
		return nil, 0, mode, &apiError{Code: CodeInternal, Message: "Внутренняя ошибка системы.", Details: "Sandbox: failure switch."}
	case FailRefused:
		return nil, 0, mode, errRefusedBySwitch
	}
	before := pay.Amount
	x := pay.Amount
	if has {
		x = amount
	}
	if x > pay.Amount {
		return nil, 0, mode, &apiError{Code: CodeBadAmount, Message: "Неверная сумма.", Details: "Сумма отмены больше остатка платежа."}
	}
	after := pay.Amount - x
	var status string
	switch pay.Status {
	case StatusNew, StatusFormShowed:
		// Nothing was charged: the payment can only be cancelled whole.
		if after != 0 {
			return nil, 0, mode, &apiError{Code: CodeBadAmount, Message: "Неверная сумма.", Details: "Неоплаченный платеж отменяется только целиком."}
		}
		status = StatusCanceled
	case StatusAuthorized, StatusPartialReversed:
		status = StatusPartialReversed
		if after == 0 {
			status = StatusReversed
		}
	case StatusConfirmed, StatusPartialRefunded:
		status = StatusPartialRefunded
		if after == 0 {
			status = StatusRefunded
		}
	default:
		return nil, 0, mode, errStatus
	}
	out := map[string]any{
		"Status":         status,
		"PaymentId":      pay.PaymentID,
		"OrderId":        pay.OrderID,
		"OriginalAmount": before,
		"NewAmount":      after,
	}
	var remember func(ex execer) error
	if key != "" {
		out["ExternalRequestId"] = key
		remember = func(ex execer) error {
			b, err := json.Marshal(out)
			if err != nil {
				return err
			}
			_, err = ex.ExecContext(ctx, `INSERT INTO tinkoff_cancel_requests (payment_id, external_request_id, answer_json, created_at)
				VALUES (?, ?, ?, ?)`, pay.PaymentID, key, string(b), s.now().Format(time.RFC3339Nano))
			return err
		}
	}
	nid, err := s.setStatus(ctx, pay, status, after, string(CodeOK), remember)
	if err != nil {
		return nil, 0, mode, errInternal
	}
	return out, nid, mode, nil
}

func (s *Sandbox) apiConfirm(ctx context.Context, p map[string]any) (map[string]any, *apiError) {
	pid := str(p["PaymentId"])
	if pid == "" {
		return nil, errNoID
	}
	amount, has, ok := intParam(p, "Amount")
	if !ok || (has && amount <= 0) {
		return nil, &apiError{Code: CodeBadAmount, Message: "Неверная сумма."}
	}
	var nid int64
	pay, aerr := s.change(ctx, pid, func(pay *SandboxPayment) (string, int64, *apiError) {
		if pay.Status != StatusAuthorized && pay.Status != StatusPartialReversed {
			return "", 0, errStatus
		}
		x := pay.Amount
		if has {
			if amount > pay.Amount {
				return "", 0, &apiError{Code: CodeBadAmount, Message: "Неверная сумма.", Details: "Сумма подтверждения больше суммы блокировки."}
			}
			// Confirming less releases the rest of the hold.
			x = amount
		}
		return StatusConfirmed, x, nil
	}, &nid)
	if aerr != nil {
		return nil, aerr
	}
	s.deliverQuiet(nid)
	return map[string]any{
		"Status":    StatusConfirmed,
		"PaymentId": pid,
		"OrderId":   pay.OrderID,
	}, nil
}

// ---------------------------------------------------------------- state

// change runs decide on the current payment and, if it returns a new status,
// stores it with the new amount and queues the notification, in one
// transaction under writeMu. It returns the payment as stored; *nid receives
// the notification id (0: none).
func (s *Sandbox) change(ctx context.Context, pid string, decide func(*SandboxPayment) (string, int64, *apiError), nid *int64) (*SandboxPayment, *apiError) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	pay, aerr := s.loadForAPI(ctx, pid)
	if aerr != nil {
		return nil, aerr
	}
	status, amount, aerr := decide(pay)
	if aerr != nil {
		return nil, aerr
	}
	code := string(CodeOK)
	if status == StatusRejected {
		code = string(CodeInsufficientFunds)
	}
	id, err := s.setStatus(ctx, pay, status, amount, code, nil)
	if err != nil {
		return nil, errInternal
	}
	*nid = id
	return pay, nil
}

// setStatus stores a new status and queues its notification, and runs also
// (when not nil) in the same transaction; the caller holds writeMu. It
// returns the notification id, 0 when none is sent.
func (s *Sandbox) setStatus(ctx context.Context, pay *SandboxPayment, status string, amount int64, code string, also func(ex execer) error) (_ int64, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer sandboxdb.Rollback(tx, &err)
	now := s.now()
	if _, err := tx.ExecContext(ctx, `UPDATE tinkoff_payments SET status = ?, amount = ?, error_code = ?, updated_at = ? WHERE payment_id = ?`,
		status, amount, code, now.Format(time.RFC3339Nano), pay.PaymentID); err != nil {
		return 0, err
	}
	pay.Status, pay.Amount, pay.ErrorCode = status, amount, code
	if also != nil {
		if err := also(tx); err != nil {
			return 0, err
		}
	}
	var nid int64
	// The bank notifies every change that follows the customer's action or
	// the shop's call; NEW and FORM_SHOWED are not notified.
	if status != StatusNew && status != StatusFormShowed && pay.NotificationURL != "" {
		nid, err = s.queueNotification(ctx, tx, pay, status)
		if err != nil {
			return 0, err
		}
	}
	return nid, tx.Commit()
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// queueNotification stores the notification body for pay in status; the
// body is fixed at this moment so that a resend is byte-for-byte the same.
func (s *Sandbox) queueNotification(ctx context.Context, ex execer, pay *SandboxPayment, status string) (int64, error) {
	pid, _ := strconv.ParseInt(pay.PaymentID, 10, 64)
	success := true
	code := string(CodeOK)
	switch status {
	case StatusRejected, StatusAuthFail, StatusDeadlineExpired:
		success = false
		if status == StatusRejected {
			code = string(CodeInsufficientFunds)
		}
	}
	n := map[string]any{
		"TerminalKey": pay.TerminalKey,
		"OrderId":     pay.OrderID,
		"Success":     success,
		"Status":      status,
		"PaymentId":   pid, // a number here, unlike in API answers
		"ErrorCode":   code,
		"Amount":      pay.Amount,
	}
	if status != StatusDeadlineExpired && status != StatusCanceled {
		n["CardId"] = sandboxCardID
		n["Pan"] = sandboxPan
		n["ExpDate"] = sandboxExpDate
	}
	if len(pay.DATA) > 0 {
		// The bank sends DATA back as a string holding the JSON object, not
		// as an object: being a scalar, it then counts in the Token, and
		// clients built on that (the Go SDKs) read it only as a string.
		data, err := json.Marshal(pay.DATA)
		if err != nil {
			return 0, err
		}
		n["DATA"] = string(data)
	}
	n["Token"] = Token(n, s.cfg.Password)
	body, err := json.Marshal(n)
	if err != nil {
		return 0, err
	}
	res, err := ex.ExecContext(ctx, `INSERT INTO tinkoff_notifications (payment_id, status, url, body, created_at) VALUES (?, ?, ?, ?, ?)`,
		pid, status, pay.NotificationURL, string(body), s.now().Format(time.RFC3339Nano))
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// expireIfDue moves an unpaid payment whose link expired to
// DEADLINE_EXPIRED (and notifies it); it reports whether it did.
func (s *Sandbox) expireIfDue(ctx context.Context, pay *SandboxPayment) bool {
	if (pay.Status != StatusNew && pay.Status != StatusFormShowed) || !s.now().After(pay.RedirectDueDate) {
		return false
	}
	var nid int64
	_, aerr := s.change(ctx, pay.PaymentID, func(cur *SandboxPayment) (string, int64, *apiError) {
		if cur.Status != StatusNew && cur.Status != StatusFormShowed {
			return "", 0, errStatus
		}
		return StatusDeadlineExpired, cur.Amount, nil
	}, &nid)
	if aerr != nil {
		return false
	}
	s.deliverQuiet(nid)
	return true
}

// Payment returns the sandbox's record of a payment, or ErrNotFound.
func (s *Sandbox) Payment(paymentID string) (*SandboxPayment, error) {
	return s.payment(context.Background(), paymentID)
}

const paymentColumns = `payment_id, terminal_key, order_id, amount, original_amount, description, customer_key,
	notification_url, success_url, fail_url, pay_type, data_json, status, error_code, redirect_due_date, created_at, updated_at`

func scanPayment(row interface{ Scan(...any) error }) (*SandboxPayment, error) {
	var p SandboxPayment
	var id int64
	var dataJSON, due, created, updated string
	if err := row.Scan(&id, &p.TerminalKey, &p.OrderID, &p.Amount, &p.OriginalAmount, &p.Description, &p.CustomerKey,
		&p.NotificationURL, &p.SuccessURL, &p.FailURL, &p.PayType, &dataJSON, &p.Status, &p.ErrorCode, &due, &created, &updated); err != nil {
		return nil, err
	}
	p.PaymentID = strconv.FormatInt(id, 10)
	if dataJSON != "" {
		p.DATA = parseDATA(dataJSON)
	}
	p.RedirectDueDate, _ = time.Parse(time.RFC3339, due)
	p.CreatedAt, _ = time.Parse(time.RFC3339Nano, created)
	p.UpdatedAt, _ = time.Parse(time.RFC3339Nano, updated)
	return &p, nil
}

func (s *Sandbox) payment(ctx context.Context, pid string) (*SandboxPayment, error) {
	id, err := strconv.ParseInt(pid, 10, 64)
	if err != nil {
		return nil, ErrNotFound
	}
	p, err := scanPayment(s.db.QueryRowContext(ctx, `SELECT `+paymentColumns+` FROM tinkoff_payments WHERE payment_id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return p, err
}

// Payments returns the latest payments, newest first.
func (s *Sandbox) Payments(limit int) ([]SandboxPayment, error) {
	rows, err := s.db.Query(`SELECT `+paymentColumns+` FROM tinkoff_payments ORDER BY payment_id DESC LIMIT ?`, limit)
	return sandboxdb.Collect(rows, err, func(r sandboxdb.Scanner) (SandboxPayment, error) {
		p, err := scanPayment(r)
		if err != nil {
			return SandboxPayment{}, err
		}
		return *p, nil
	})
}

// Notifications returns the notifications of a payment, oldest first.
func (s *Sandbox) Notifications(paymentID string) ([]SandboxNotification, error) {
	id, err := strconv.ParseInt(paymentID, 10, 64)
	if err != nil {
		return nil, ErrNotFound
	}
	rows, err := s.db.Query(`SELECT id, payment_id, status, url, body, attempts, delivered, last_error, created_at, last_attempt_at
		FROM tinkoff_notifications WHERE payment_id = ? ORDER BY id`, id)
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
	var pid int64
	var created, last string
	if err := row.Scan(&n.ID, &pid, &n.Status, &n.URL, &n.Body, &n.Attempts, &n.Delivered, &n.LastError, &created, &last); err != nil {
		return nil, err
	}
	n.PaymentID = strconv.FormatInt(pid, 10)
	n.CreatedAt, _ = time.Parse(time.RFC3339Nano, created)
	n.LastAttemptAt, _ = time.Parse(time.RFC3339Nano, last)
	return &n, nil
}

// ---------------------------------------------------------------- delivery

// deliver POSTs notification nid to the merchant and records the attempt.
// The merchant must answer 200 with the body "OK" (surrounding whitespace
// tolerated); anything else counts as a failure to be retried.
func (s *Sandbox) deliver(ctx context.Context, nid int64) error {
	return s.outbox.Deliver(ctx, nid, func(ctx context.Context, u string, body []byte) error {
		return sandboxkit.Post(ctx, s.cfg.HTTPClient, u, sandboxkit.JSON(), body, acceptOK)
	})
}

// acceptOK is the bank's rule for the merchant's answer: 200 "OK".
func acceptOK(status int, answer []byte) error {
	if status != http.StatusOK || strings.TrimSpace(string(answer)) != NotificationOK {
		return fmt.Errorf("merchant answered HTTP %d %q, want 200 %q", status, wire.Snippet(answer), NotificationOK)
	}
	return nil
}

// deliverQuiet delivers a fresh notification during a request; a failure is
// recorded for ResendNotifications, as the bank would retry later.
func (s *Sandbox) deliverQuiet(nid int64) {
	if nid != 0 {
		_ = s.deliver(context.Background(), nid)
	}
}

// ResendNotifications retries every notification the merchant has not
// acknowledged yet, oldest first; it returns how many got through and the
// first failure.
func (s *Sandbox) ResendNotifications(ctx context.Context) (int, error) {
	return s.outbox.ResendPending(ctx, s.deliver)
}

// ResendNotification sends the payment's latest notification again, byte for
// byte (the duplicate a real bank sends when an answer got lost). It returns
// the delivery error, if any.
func (s *Sandbox) ResendNotification(ctx context.Context, paymentID string) error {
	id, err := strconv.ParseInt(paymentID, 10, 64)
	if err != nil {
		return ErrNotFound
	}
	nid, err := s.outbox.Latest(ctx, id)
	if errors.Is(err, sandboxkit.ErrNoNotification) {
		return fmt.Errorf("tinkoff sandbox: payment %s has no notifications: %w", paymentID, ErrNotFound)
	}
	if err != nil {
		return err
	}
	return s.deliver(ctx, nid)
}

// SendNotification sends a correctly signed notification claiming status for
// the payment, without changing the sandbox's state: for tests of stale or
// out-of-order notifications. It returns the delivery error, if any.
func (s *Sandbox) SendNotification(ctx context.Context, paymentID, status string) error {
	pay, err := s.payment(ctx, paymentID)
	if err != nil {
		return err
	}
	if pay.NotificationURL == "" {
		return fmt.Errorf("tinkoff sandbox: payment %s has no NotificationURL", paymentID)
	}
	s.writeMu.Lock()
	nid, err := s.queueNotification(ctx, s.db, pay, status)
	s.writeMu.Unlock()
	if err != nil {
		return err
	}
	return s.deliver(ctx, nid)
}

// ---------------------------------------------------------------- payment form

// payPage shows the bank's payment form; opening it moves NEW to FORM_SHOWED.
func (s *Sandbox) payPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	pid := r.PathValue("id")
	pay, err := s.payment(ctx, pid)
	if err != nil {
		s.renderPay(w, http.StatusNotFound, payView{Message: "Платеж не найден."})
		return
	}
	if s.expireIfDue(ctx, pay) {
		pay, _ = s.payment(ctx, pid)
	}
	if pay.Status == StatusNew {
		s.writeMu.Lock()
		// Guarded by status so a concurrent payment is never overwritten.
		_, err := s.db.ExecContext(ctx, `UPDATE tinkoff_payments SET status = ?, updated_at = ? WHERE payment_id = ? AND status = ?`,
			StatusFormShowed, s.now().Format(time.RFC3339Nano), pay.PaymentID, StatusNew)
		s.writeMu.Unlock()
		if err == nil {
			pay.Status = StatusFormShowed
		}
	}
	v := payView{Payment: pay, Open: pay.Status == StatusFormShowed}
	if !v.Open {
		v.Message = closedMessage(pay.Status)
	}
	s.renderPay(w, http.StatusOK, v)
}

// closedMessage is what the form says of a payment that cannot be paid.
func closedMessage(status string) string {
	if status == StatusCanceled {
		return "Платеж отменен магазином: оплатить его нельзя."
	}
	return "Этот платеж уже обработан: " + status + "."
}

// payAction handles the Pay, Decline and Abandon buttons of the form.
//
// Pay: AUTHORIZED is notified, then CONFIRMED right after (one-stage, as the
// bank does); with PayType "T" the payment stays AUTHORIZED until Confirm.
// Decline: REJECTED with ErrorCode 1051 (insufficient funds).
// Abandon: the customer leaves the form; the sandbox treats it as the link's
// deadline passing now, so the payment becomes DEADLINE_EXPIRED (notified,
// Success=false) and the browser goes to FailURL. The real bank keeps the
// payment in FORM_SHOWED until RedirectDueDate and then expires it; doing it
// at once keeps tests deterministic and shows the app the same final state.
// CANCELED is reserved for the shop's own Cancel call.
func (s *Sandbox) payAction(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	pid := r.PathValue("id")
	pay, err := s.payment(ctx, pid)
	if err != nil {
		s.renderPay(w, http.StatusNotFound, payView{Message: "Платеж не найден."})
		return
	}
	if s.expireIfDue(ctx, pay) {
		s.redirectResult(w, r, pid)
		return
	}
	action := sandboxkit.Choice(r, s.TakeDecline)
	open := func(cur *SandboxPayment) *apiError {
		if cur.Status != StatusNew && cur.Status != StatusFormShowed {
			return errStatus
		}
		return nil
	}
	var nids []int64
	var aerr *apiError
	switch action {
	case sandboxkit.Pay:
		var nid int64
		_, aerr = s.change(ctx, pid, func(cur *SandboxPayment) (string, int64, *apiError) {
			if e := open(cur); e != nil {
				return "", 0, e
			}
			return StatusAuthorized, cur.Amount, nil
		}, &nid)
		if aerr == nil {
			// Deliver AUTHORIZED before CONFIRMED exists, so a merchant that
			// calls GetState from its handler sees the same order of events
			// as with the bank.
			s.deliverQuiet(nid)
			if pay.PayType != "T" {
				_, aerr = s.change(ctx, pid, func(cur *SandboxPayment) (string, int64, *apiError) {
					if cur.Status != StatusAuthorized {
						return "", 0, errStatus
					}
					return StatusConfirmed, cur.Amount, nil
				}, &nid)
				if aerr == nil {
					nids = append(nids, nid)
				}
			}
		}
	case sandboxkit.Decline:
		var nid int64
		_, aerr = s.change(ctx, pid, func(cur *SandboxPayment) (string, int64, *apiError) {
			if e := open(cur); e != nil {
				return "", 0, e
			}
			return StatusRejected, cur.Amount, nil
		}, &nid)
		nids = append(nids, nid)
	case sandboxkit.Abandon:
		var nid int64
		_, aerr = s.change(ctx, pid, func(cur *SandboxPayment) (string, int64, *apiError) {
			if e := open(cur); e != nil {
				return "", 0, e
			}
			return StatusDeadlineExpired, cur.Amount, nil
		}, &nid)
		nids = append(nids, nid)
	default:
		s.renderPay(w, http.StatusBadRequest, payView{Payment: pay, Open: true, Message: "Неизвестное действие."})
		return
	}
	if aerr != nil {
		cur, _ := s.payment(ctx, pid)
		s.renderPay(w, http.StatusConflict, payView{Payment: cur, Message: closedMessage(cur.Status)})
		return
	}
	for _, nid := range nids {
		s.deliverQuiet(nid)
	}
	s.redirectResult(w, r, pid)
}

// redirectResult sends the browser to SuccessURL or FailURL with the query
// parameters the bank appends ([U]: Success, ErrorCode, OrderId, PaymentId,
// Amount are the ones seen in public integrations), or shows a result page
// when the shop gave no URL.
func (s *Sandbox) redirectResult(w http.ResponseWriter, r *http.Request, pid string) {
	pay, err := s.payment(r.Context(), pid)
	if err != nil {
		s.renderPay(w, http.StatusNotFound, payView{Message: "Платеж не найден."})
		return
	}
	ok := pay.Status == StatusConfirmed || pay.Status == StatusAuthorized
	target := pay.FailURL
	if ok {
		target = pay.SuccessURL
	}
	u, err := url.Parse(target)
	if target == "" || err != nil {
		msg := "Оплата не прошла."
		if ok {
			msg = "Оплата прошла успешно."
		}
		s.renderPay(w, http.StatusOK, payView{Payment: pay, Message: msg})
		return
	}
	q := u.Query()
	q.Set("Success", strconv.FormatBool(ok))
	q.Set("ErrorCode", pay.ErrorCode)
	q.Set("OrderId", pay.OrderID)
	q.Set("PaymentId", pay.PaymentID)
	q.Set("Amount", strconv.FormatInt(pay.Amount, 10))
	u.RawQuery = q.Encode()
	sandboxkit.SeeOther(w, u.String())
}

type payView struct {
	Payment *SandboxPayment
	Open    bool
	Message string
}

func (s *Sandbox) renderPay(w http.ResponseWriter, code int, v payView) {
	sandboxkit.Render(w, code, payTmpl, v)
}

var payTmpl = sandboxkit.Page("pay", `<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><title>T-Bank sandbox: оплата</title>
<style>body{font-family:sans-serif;max-width:30em;margin:2em auto}button{margin-right:.5em;padding:.5em 1em}</style></head>
<body data-testid="sandbox-tinkoff-pay-page">
<h1>T-Bank (sandbox)</h1>
{{with .Payment}}
<p data-testid="sandbox-amount">К оплате: <strong>{{rubles .Amount}}</strong></p>
<p>Заказ <span data-testid="sandbox-order-id">{{.OrderID}}</span>{{if .Description}}: {{.Description}}{{end}}</p>
<p>Платеж <span data-testid="sandbox-payment-id">{{.PaymentID}}</span>, статус <span data-testid="sandbox-status">{{.Status}}</span></p>
{{end}}
{{if .Message}}<p data-testid="sandbox-message">{{.Message}}</p>{{end}}
{{if .Open}}
<form method="post" data-testid="sandbox-pay-form">
<p>Карта 4300 0000 0000 0777, 12/30 (тестовая)</p>
{{template "pay-buttons" (buttons "Оплатить" "Отказ банка" "Вернуться в магазин")}}
</form>
{{end}}
</body></html>`, nil)

// ---------------------------------------------------------------- control page

type controlView struct {
	BaseURL  string
	Switches SandboxSwitches
	Payments []sandboxkit.Tallied[SandboxPayment]
	Error    string
}

// controlPage lists the payments and the failure switches.
func (s *Sandbox) controlPage(w http.ResponseWriter, r *http.Request) {
	v := controlView{BaseURL: s.BaseURL(), Switches: s.Switches()}
	records, err := s.Payments(100)
	if err == nil {
		v.Payments, err = sandboxkit.TallyAll(r.Context(), s.outbox, records, func(x SandboxPayment) any { return x.PaymentID })
	}
	if err != nil {
		v.Error = err.Error()
	}
	sandboxkit.Render(w, http.StatusOK, controlTmpl, v)
}

func (s *Sandbox) control(r *http.Request) error {
	if ok, err := s.PaymentSwitches.Control(r, failMode); ok {
		return err
	}
	if sandboxkit.NotifyAction(r, s, "payment_id") {
		return nil
	}
	return sandboxkit.ErrUnknownAction
}

// failMode reads a mode of the control page's selects.
func failMode(v string) FailMode {
	switch v {
	case "500":
		return FailHTTP500
	case "9999":
		return FailErrorCode
	case "refused":
		return FailRefused
	case "lost":
		return FailLostAnswer
	}
	return FailNone
}

var controlTmpl = sandboxkit.Page("control", `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>T-Bank sandbox</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em}form{display:inline}</style></head>
<body data-testid="sandbox-tinkoff-control">
<h1>T-Bank (Tinkoff) sandbox</h1>
<p>API: <code>{{.BaseURL}}/v2</code></p>
{{if .Error}}<p>{{.Error}}</p>{{end}}
<h2>Switches</h2>
<p>
<form method="post" action="_control"><input type="hidden" name="action" value="decline_next">
{{if .Switches.DeclineNext}}<input type="hidden" name="on" value="0"><button data-testid="sandbox-decline-next">Decline next payment: ON (turn off)</button>
{{else}}<input type="hidden" name="on" value="1"><button data-testid="sandbox-decline-next">Decline next payment</button>{{end}}
</form>
</p>
<p>
<form method="post" action="_control"><input type="hidden" name="action" value="fail_next">
<select name="mode"><option value="">no failure</option><option value="500" {{if eq .Switches.FailNext 1}}selected{{end}}>HTTP 500</option><option value="9999" {{if eq .Switches.FailNext 2}}selected{{end}}>ErrorCode 9999</option></select>
<button data-testid="sandbox-fail-next">Fail next API call</button></form>
</p>
<p>
<form method="post" action="_control"><input type="hidden" name="action" value="fail_next_cancel">
<select name="mode"><option value="">no failure</option><option value="refused" {{if eq .Switches.FailNextCancel 3}}selected{{end}}>refused (ErrorCode 4)</option><option value="500" {{if eq .Switches.FailNextCancel 1}}selected{{end}}>HTTP 500, nothing done</option><option value="lost" {{if eq .Switches.FailNextCancel 4}}selected{{end}}>done, answer lost (HTTP 500)</option></select>
<button data-testid="sandbox-fail-next-cancel">Fail next cancel of an unpaid payment</button></form>
</p>
<p>
<form method="post" action="_control"><input type="hidden" name="action" value="fail_next_refund">
<select name="mode"><option value="">no failure</option><option value="refused" {{if eq .Switches.FailNextRefund 3}}selected{{end}}>refused (ErrorCode 4)</option><option value="500" {{if eq .Switches.FailNextRefund 1}}selected{{end}}>HTTP 500, nothing done</option><option value="lost" {{if eq .Switches.FailNextRefund 4}}selected{{end}}>refunded, answer lost (HTTP 500)</option></select>
<button data-testid="sandbox-fail-next-refund">Fail next refund</button></form>
</p>
<p>{{template "latency-form" .Switches.Latency}}</p>
<p>{{template "resend-pending" "Retry undelivered notifications"}}</p>
<h2>Payments</h2>
<table data-testid="sandbox-payments">
<tr><th>PaymentId</th><th>OrderId</th><th>Amount</th><th>Status</th><th>Notifications sent / pending</th><th></th></tr>
{{range .Payments}}
<tr data-testid="sandbox-payment-row">
<td><a href="pay/{{.Record.PaymentID}}">{{.Record.PaymentID}}</a></td><td>{{.Record.OrderID}}</td><td>{{rubles .Record.Amount}}</td><td>{{.Record.Status}}</td><td>{{.Sent}} / {{.Pending}}</td>
<td>
<form method="post" action="_control"><input type="hidden" name="action" value="resend"><input type="hidden" name="payment_id" value="{{.Record.PaymentID}}"><button>Resend last</button></form>
<form method="post" action="_control"><input type="hidden" name="action" value="send"><input type="hidden" name="payment_id" value="{{.Record.PaymentID}}">
<select name="status"><option>AUTHORIZED</option><option>CONFIRMED</option><option>REJECTED</option><option>REFUNDED</option></select><button>Send</button></form>
</td></tr>
{{end}}
</table>
</body></html>`, nil)
