package paypal

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"orderdesk/providers/internal/sandboxkit"
	"strings"
	"sync"
	"time"

	"orderdesk/providers/internal/httpbody"
	"orderdesk/providers/internal/sandboxdb"
)

// tsLayout is how the sandbox stores times: fixed width, so that text order
// is time order (RFC 3339 with trimmed nanoseconds is not).
const tsLayout = "2006-01-02T15:04:05.000000000Z"

// Demo account of the sandbox: the receiver e-mail (business) and the
// classic API credentials it accepts by default.
const (
	DemoBusiness     = "merchant@orderdesk.test"
	DemoAPIUsername  = "merchant_api1.orderdesk.test"
	DemoAPIPassword  = "SANDBOX-PWD-1234"
	DemoAPISignature = "SandboxSignature.OrderDesk-demo-0000000000000000000000"
	demoPayerEmail   = "buyer@orderdesk.test"
)

// SandboxConfig configures NewSandbox.
type SandboxConfig struct {
	// Business is the merchant's PayPal e-mail; checkouts for another
	// business are refused. DemoBusiness when empty.
	Business string
	// APIUsername, APIPassword, APISignature are the NVP credentials the
	// sandbox accepts; the Demo* constants when empty.
	APIUsername  string
	APIPassword  string
	APISignature string
	// BaseURL is the public URL the sandbox is mounted at, e.g.
	// http://localhost:8080/sandbox/paypal.
	BaseURL string
	// HTTPClient sends IPNs; default 10 s timeout.
	HTTPClient *http.Client
}

// SandboxTxn is a transaction the sandbox keeps: a payment or a refund.
type SandboxTxn struct {
	TxnID       string `json:"txnId"`
	ParentTxnID string `json:"parentTxnId,omitempty"`
	// Kind is "payment" or "refund".
	Kind string `json:"kind"`
	// Status is PayPal's payment_status: Completed, Pending, Refunded,
	// Partially_Refunded, Failed.
	Status        string    `json:"status"`
	PendingReason string    `json:"pendingReason,omitempty"`
	GrossMinor    int64     `json:"gross"`
	FeeMinor      int64     `json:"fee"`
	RefundedMinor int64     `json:"refunded"`
	Currency      string    `json:"currency"`
	Business      string    `json:"business"`
	Invoice       string    `json:"invoice"`
	Custom        string    `json:"custom"`
	ItemName      string    `json:"itemName"`
	NotifyURL     string    `json:"notifyUrl"`
	PayerEmail    string    `json:"payerEmail"`
	PayerID       string    `json:"payerId"`
	CheckoutID    string    `json:"checkoutId"`
	CreatedAt     time.Time `json:"createdAt"`
	UpdatedAt     time.Time `json:"updatedAt"`
}

// checkout is a buyer's visit started by cmd=_xclick.
type checkout struct {
	ID          string    `json:"id"`
	Business    string    `json:"business"`
	ItemName    string    `json:"itemName"`
	AmountMinor int64     `json:"amount"`
	Currency    string    `json:"currency"`
	Invoice     string    `json:"invoice"`
	Custom      string    `json:"custom"`
	ReturnURL   string    `json:"return"`
	CancelURL   string    `json:"cancelReturn"`
	NotifyURL   string    `json:"notifyUrl"`
	State       string    `json:"state"` // open, paid, declined, abandoned
	TxnID       string    `json:"txnId,omitempty"`
	CreatedAt   time.Time `json:"createdAt"`
}

// SandboxIPN is one IPN the sandbox sent or tried to send.
type SandboxIPN struct {
	ID        int64
	TxnID     string
	NotifyURL string
	Body      string
	Delivered bool
	Attempts  int
	LastError string
}

// Sandbox plays PayPal: /cgi-bin/webscr (checkout and IPN validation),
// /checkout/{id} (the buyer's page), /nvp (RefundTransaction),
// /_settlements.csv (activity download) and a control page at /.
type Sandbox struct {
	// st holds the switches, in the paypal_settings table so that a CLI run
	// sees what the control page set.
	st sandboxkit.Stored

	db  *sql.DB
	hc  *http.Client
	mux *http.ServeMux

	// mu serialises every read-modify-write of the tables and guards cfg.
	// It is never held during an HTTP call: the shop's IPN listener calls
	// back into the sandbox to validate the IPN it is receiving.
	mu  sync.Mutex
	cfg SandboxConfig
}

// NewSandbox creates the paypal_* tables if needed and returns the sandbox.
func NewSandbox(db *sql.DB, cfg SandboxConfig) (*Sandbox, error) {
	cfg.Business = cmp(cfg.Business, DemoBusiness)
	cfg.APIUsername = cmp(cfg.APIUsername, DemoAPIUsername)
	cfg.APIPassword = cmp(cfg.APIPassword, DemoAPIPassword)
	cfg.APISignature = cmp(cfg.APISignature, DemoAPISignature)
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	s := &Sandbox{db: db, cfg: cfg, hc: cfg.HTTPClient}
	s.st = sandboxkit.Stored{DB: db, Table: "paypal_settings", Lock: &s.mu}
	if s.hc == nil {
		s.hc = &http.Client{Timeout: 10 * time.Second}
	}
	for _, q := range []string{
		`CREATE TABLE IF NOT EXISTS paypal_checkouts (
			id TEXT PRIMARY KEY,
			data TEXT NOT NULL,
			created_at TEXT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS paypal_txns (
			txn_id TEXT PRIMARY KEY,
			data TEXT NOT NULL,
			created_at TEXT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS paypal_ipns (
			id INTEGER PRIMARY KEY AUTOINCREMENT,
			txn_id TEXT NOT NULL,
			notify_url TEXT NOT NULL,
			body TEXT NOT NULL,
			delivered INTEGER NOT NULL DEFAULT 0,
			attempts INTEGER NOT NULL DEFAULT 0,
			last_error TEXT NOT NULL DEFAULT '',
			created_at TEXT NOT NULL)`,
		// notify-validate looks messages up by their exact body.
		`CREATE INDEX IF NOT EXISTS paypal_ipns_body ON paypal_ipns (body)`,
		// RefundTransaction answers by MSGSUBID: the same MSGSUBID gets
		// the same answer and nothing is refunded again.
		`CREATE TABLE IF NOT EXISTS paypal_refund_requests (
			msgsubid TEXT PRIMARY KEY,
			answer TEXT NOT NULL,
			created_at TEXT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS paypal_settings (
			key TEXT PRIMARY KEY,
			value TEXT NOT NULL)`,
	} {
		if _, err := db.Exec(q); err != nil {
			return nil, fmt.Errorf("paypal sandbox: create tables: %w", err)
		}
	}
	s.routes()
	return s, nil
}

// SetBaseURL sets the public URL the sandbox is mounted at.
func (s *Sandbox) SetBaseURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.BaseURL = strings.TrimRight(u, "/")
}

// ClientConfig returns a client Config pointing at this sandbox with its
// API credentials.
func (s *Sandbox) ClientConfig() Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Config{BaseURL: s.cfg.BaseURL, APIUsername: s.cfg.APIUsername, APIPassword: s.cfg.APIPassword, APISignature: s.cfg.APISignature}
}

// Switches.

// DeclineNext makes the buyer's next payment fail.
func (s *Sandbox) DeclineNext() error { return s.st.Put("decline_next", "1") }

// FailNext makes the next API call (IPN validation or NVP) answer HTTP 500.
func (s *Sandbox) FailNext() error { return s.st.Arm(sandboxkit.FailNextKey) }

// WrongAmountNext makes the next payment arrive with another amount than
// the checkout asked (as when a buyer edits the form): its IPN's mc_gross
// differs from the order, for the suspected-fraud test.
func (s *Sandbox) WrongAmountNext() error { return s.st.Put("wrong_amount_next", "1") }

// WrongCurrencyNext makes the next payment arrive in another currency.
func (s *Sandbox) WrongCurrencyNext() error { return s.st.Put("wrong_currency_next", "1") }

// FailMode says how FailNextRefund fails the next refund.
type FailMode string

// The fail modes.
const (
	FailNone FailMode = ""
	// FailRefused answers ACK=Failure, 10009 Transaction refused: a
	// definite refusal, nothing is refunded.
	FailRefused FailMode = "refused"
	// FailHTTP500 answers HTTP 500; nothing is refunded.
	FailHTTP500 FailMode = "500"
	// FailLostAnswer refunds (and sends the IPN) and then answers HTTP
	// 500, as when the connection drops after PayPal acted.
	FailLostAnswer FailMode = "lost"
)

// FailNextRefund makes the next new refund (not the repeat of a MSGSUBID
// already answered) fail the given way (FailNone clears it).
func (s *Sandbox) FailNextRefund(mode FailMode) error {
	return s.st.Put("fail_next_refund", string(mode))
}

// SetLatency delays every API answer by d (0 turns it off).
func (s *Sandbox) SetLatency(d time.Duration) error {
	return s.st.SetLatency(d)
}

// Storage.

var errNotFound = errors.New("paypal sandbox: not found")

func (s *Sandbox) loadJSON(table, keyCol, key string, dst any) error {
	var data string
	err := s.db.QueryRow(`SELECT data FROM `+table+` WHERE `+keyCol+` = ?`, key).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	return json.Unmarshal([]byte(data), dst)
}

func (s *Sandbox) saveJSON(table, keyCol, key string, created time.Time, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = s.db.Exec(`INSERT INTO `+table+` (`+keyCol+`, data, created_at) VALUES (?, ?, ?)
		ON CONFLICT(`+keyCol+`) DO UPDATE SET data = excluded.data`, key, string(b), created.UTC().Format(tsLayout))
	return err
}

func (s *Sandbox) loadTxn(id string) (*SandboxTxn, error) {
	var t SandboxTxn
	if err := s.loadJSON("paypal_txns", "txn_id", id, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

func (s *Sandbox) saveTxn(t *SandboxTxn) error {
	t.UpdatedAt = time.Now().UTC()
	return s.saveJSON("paypal_txns", "txn_id", t.TxnID, t.CreatedAt, t)
}

// Payment returns a transaction (payment or refund) by its txn_id.
func (s *Sandbox) Payment(txnID string) (*SandboxTxn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loadTxn(txnID)
}

// PaymentByInvoice returns the latest transaction for an invoice (the shop's
// order number).
func (s *Sandbox) PaymentByInvoice(invoice string) (*SandboxTxn, error) {
	txns, err := s.Transactions(0)
	if err != nil {
		return nil, err
	}
	for _, t := range txns {
		if t.Invoice == invoice && t.Kind == "payment" {
			return &t, nil
		}
	}
	return nil, errNotFound
}

// Transactions returns transactions, newest first (limit <= 0: all).
func (s *Sandbox) Transactions(limit int) ([]SandboxTxn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.db.Query(`SELECT data FROM paypal_txns ORDER BY created_at DESC, rowid DESC LIMIT ?`, limit)
	return sandboxdb.Collect(rows, err, func(r sandboxdb.Scanner) (SandboxTxn, error) {
		var data string
		var t SandboxTxn
		if err := r.Scan(&data); err != nil {
			return t, err
		}
		err := json.Unmarshal([]byte(data), &t)
		return t, err
	})
}

// IPNs returns the IPNs sent for a transaction, oldest first.
func (s *Sandbox) IPNs(txnID string) ([]SandboxIPN, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rows, err := s.db.Query(`SELECT id, txn_id, notify_url, body, delivered, attempts, last_error
		FROM paypal_ipns WHERE txn_id = ? ORDER BY id`, txnID)
	return sandboxdb.Collect(rows, err, func(r sandboxdb.Scanner) (SandboxIPN, error) {
		var n SandboxIPN
		if err := r.Scan(&n.ID, &n.TxnID, &n.NotifyURL, &n.Body, &n.Delivered, &n.Attempts, &n.LastError); err != nil {
			return SandboxIPN{}, err
		}
		return n, nil
	})
}

// IPN building and delivery.

const idChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func randomID(n int) string {
	b := make([]byte, n)
	for i := range b {
		k, _ := rand.Int(rand.Reader, big.NewInt(int64(len(idChars))))
		b[i] = idChars[k.Int64()]
	}
	return string(b)
}

// ipnBody renders an IPN for t with the given payment_status, with PayPal's
// field names in PayPal's usual order (form-encoded, UTF-8).
func ipnBody(t *SandboxTxn, status string, now time.Time) string {
	type kv struct{ k, v string }
	pst := time.FixedZone("PST", -8*3600)
	fields := []kv{
		{"mc_gross", FormatAmount(t.GrossMinor, t.Currency)},
		{"invoice", t.Invoice},
		{"protection_eligibility", "Eligible"},
		{"payer_id", t.PayerID},
		{"payment_date", now.In(pst).Format("15:04:05 Jan 02, 2006") + " PST"},
		{"payment_status", status},
		{"charset", "UTF-8"},
		{"first_name", "Sandbox"},
		{"mc_fee", FormatAmount(t.FeeMinor, t.Currency)},
		{"notify_version", "3.9"},
		{"custom", t.Custom},
		{"payer_status", "verified"},
		{"business", t.Business},
		{"quantity", "1"},
		{"verify_sign", randomID(56)},
		{"payer_email", t.PayerEmail},
		{"txn_id", t.TxnID},
		{"payment_type", "instant"},
		{"last_name", "Buyer"},
		{"receiver_email", t.Business},
		{"receiver_id", "SANDBOXMERCH1"},
	}
	if t.Kind == "payment" {
		fields = append(fields, kv{"txn_type", "web_accept"}, kv{"item_name", t.ItemName})
	} else {
		fields = append(fields, kv{"parent_txn_id", t.ParentTxnID}, kv{"reason_code", "refund"})
	}
	fields = append(fields,
		kv{"mc_currency", t.Currency},
		kv{"item_number", ""},
		kv{"residence_country", "US"},
		kv{"test_ipn", "1"},
		kv{"transaction_subject", t.ItemName},
	)
	if status == "Pending" && t.PendingReason != "" {
		fields = append(fields, kv{"pending_reason", t.PendingReason})
	}
	fields = append(fields, kv{"ipn_track_id", strings.ToLower(randomID(13))})
	var b strings.Builder
	for i, f := range fields {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(f.k))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(f.v))
	}
	return b.String()
}

// queueIPN records an IPN to send; the caller holds mu. 0: none (no
// notify_url).
func (s *Sandbox) queueIPN(txnID, notifyURL, body string) int64 {
	if notifyURL == "" {
		return 0
	}
	res, err := s.db.Exec(`INSERT INTO paypal_ipns (txn_id, notify_url, body, created_at) VALUES (?, ?, ?, ?)`,
		txnID, notifyURL, body, time.Now().UTC().Format(tsLayout))
	if err != nil {
		return 0
	}
	id, _ := res.LastInsertId()
	return id
}

// deliver POSTs IPN id to its notify_url and records the outcome; mu must
// not be held. PayPal counts only HTTP 200 as delivered.
func (s *Sandbox) deliver(ctx context.Context, id int64) error {
	s.mu.Lock()
	var notifyURL, body string
	err := s.db.QueryRow(`SELECT notify_url, body FROM paypal_ipns WHERE id = ?`, id).Scan(&notifyURL, &body)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	sendErr := func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, notifyURL, strings.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("User-Agent", "PayPal IPN ( https://www.paypal.com/ipn )")
		resp, err := s.hc.Do(req)
		if err != nil {
			return err
		}
		if _, err := httpbody.ReadAndClose(resp, 64<<10); err != nil {
			return fmt.Errorf("read the listener's answer: %w", err)
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("listener answered HTTP %d", resp.StatusCode)
		}
		return nil
	}()
	s.mu.Lock()
	defer s.mu.Unlock()
	if sendErr != nil {
		_, err := s.db.Exec(`UPDATE paypal_ipns SET attempts = attempts + 1, last_error = ? WHERE id = ?`, sendErr.Error(), id)
		return errors.Join(sendErr, err)
	}
	_, err = s.db.Exec(`UPDATE paypal_ipns SET attempts = attempts + 1, delivered = 1, last_error = '' WHERE id = ?`, id)
	return err
}

// ResendIPN sends the last IPN of a transaction again, byte for byte: a
// duplicate, which PayPal does when a listener is slow to answer.
func (s *Sandbox) ResendIPN(txnID string) error {
	s.mu.Lock()
	var notifyURL, body string
	err := s.db.QueryRow(`SELECT notify_url, body FROM paypal_ipns WHERE txn_id = ? ORDER BY id DESC LIMIT 1`, txnID).
		Scan(&notifyURL, &body)
	var id int64
	if err == nil {
		id = s.queueIPN(txnID, notifyURL, body)
	}
	s.mu.Unlock()
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("paypal sandbox: no IPN was sent for %s", txnID)
	}
	if err != nil {
		return err
	}
	return s.deliver(context.Background(), id)
}

// ResendNotification is ResendIPN under the name the other sandboxes use.
func (s *Sandbox) ResendNotification(txnID string) error { return s.ResendIPN(txnID) }

// SendIPN sends a new (genuine, verifiable) IPN for a transaction claiming
// status, without changing the transaction: for out-of-order tests (e.g. a
// late Pending after Completed).
func (s *Sandbox) SendIPN(txnID, status string) error {
	s.mu.Lock()
	t, err := s.loadTxn(txnID)
	var id int64
	if err == nil {
		id = s.queueIPN(t.TxnID, t.NotifyURL, ipnBody(t, status, time.Now()))
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if id == 0 {
		return errors.New("paypal sandbox: the transaction has no notify_url")
	}
	return s.deliver(context.Background(), id)
}

// Settle completes a Pending card payment (the issuer has paid PayPal) and
// sends the Completed IPN.
func (s *Sandbox) Settle(txnID string) error {
	s.mu.Lock()
	t, err := s.loadTxn(txnID)
	if err == nil && (t.Kind != "payment" || t.Status != "Pending") {
		err = fmt.Errorf("paypal sandbox: %s is %s, not a pending payment", txnID, t.Status)
	}
	var id int64
	if err == nil {
		t.Status, t.PendingReason = "Completed", ""
		if err = s.saveTxn(t); err == nil {
			id = s.queueIPN(t.TxnID, t.NotifyURL, ipnBody(t, "Completed", time.Now()))
		}
	}
	s.mu.Unlock()
	if err != nil || id == 0 {
		return err
	}
	return s.deliver(context.Background(), id)
}

// ResendNotifications retries every IPN not yet delivered and returns how
// many got through.
func (s *Sandbox) ResendNotifications() (int, error) {
	return (&sandboxkit.Outbox{DB: s.db, Table: "paypal_ipns"}).ResendPending(context.Background(), s.deliver)
}

// HTTP.

// ServeHTTP implements http.Handler.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Sandbox) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", s.handleControlPage)
	m.HandleFunc("POST /_control", s.handleControl)
	m.HandleFunc("/cgi-bin/webscr", s.handleWebscr)
	m.HandleFunc("GET /checkout/{id}", s.handleCheckoutPage)
	m.HandleFunc("POST /checkout/{id}", s.handleCheckoutAction)
	m.HandleFunc("POST /nvp", s.handleNVP)
	m.HandleFunc("GET /_settlements.csv", s.handleSettlements)
	s.mux = m
}

// apiSwitches applies latency and fail-next to an API call; false means the
// call has been answered already.
func (s *Sandbox) apiSwitches(w http.ResponseWriter, r *http.Request) bool {
	fail, gone := s.st.Gate(r.Context())
	if gone {
		return false
	}
	if fail {
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return false
	}
	return true
}

func (s *Sandbox) handleWebscr(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	if r.Method == http.MethodPost && bytes.HasPrefix(raw, []byte(notifyValidatePrefix)) {
		s.handleNotifyValidate(w, r, raw[len(notifyValidatePrefix):])
		return
	}
	form := r.URL.Query()
	if r.Method == http.MethodPost {
		if body, err := url.ParseQuery(string(raw)); err == nil {
			for k, v := range body {
				form[k] = v
			}
		}
	}
	switch form.Get("cmd") {
	case "_notify-validate":
		// The prefix must come first, as PayPal requires: anything else is
		// not the original message.
		if s.apiSwitches(w, r) {
			writeText(w, "INVALID")
		}
	case "_xclick":
		s.startCheckout(w, r, form)
	default:
		render(w, http.StatusBadRequest, pageData{Title: "PayPal (sandbox)", Message: "This link is not a valid PayPal payment link (unsupported cmd)."})
	}
}

func writeText(w http.ResponseWriter, s string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	httpbody.Write(w, []byte(s))
}

// handleNotifyValidate answers VERIFIED only for a message the sandbox really
// sent, byte for byte.
func (s *Sandbox) handleNotifyValidate(w http.ResponseWriter, r *http.Request, msg []byte) {
	if !s.apiSwitches(w, r) {
		return
	}
	s.mu.Lock()
	var one int
	err := s.db.QueryRow(`SELECT 1 FROM paypal_ipns WHERE body = ? LIMIT 1`, string(msg)).Scan(&one)
	s.mu.Unlock()
	if err != nil {
		writeText(w, "INVALID")
		return
	}
	writeText(w, "VERIFIED")
}

func (s *Sandbox) link(r *http.Request, path string) string {
	s.mu.Lock()
	base := s.cfg.BaseURL
	s.mu.Unlock()
	if base == "" {
		base = "http://" + r.Host
	}
	return base + path
}

func (s *Sandbox) startCheckout(w http.ResponseWriter, r *http.Request, f url.Values) {
	fail := func(msg string) {
		render(w, http.StatusBadRequest, pageData{Title: "PayPal (sandbox)", Message: msg})
	}
	s.mu.Lock()
	business := s.cfg.Business
	s.mu.Unlock()
	if !strings.EqualFold(strings.TrimSpace(f.Get("business")), business) {
		fail("The merchant (business) of this payment is unknown to PayPal.")
		return
	}
	cur := strings.ToUpper(cmp(f.Get("currency_code"), "USD"))
	if len(cur) != 3 {
		fail("The currency of this payment is not supported.")
		return
	}
	amt, err := ParseAmount(f.Get("amount"), cur)
	if err != nil || amt <= 0 {
		fail("The amount of this payment is not valid.")
		return
	}
	now := time.Now().UTC()
	c := &checkout{
		ID: randomID(20), Business: business, ItemName: f.Get("item_name"), AmountMinor: amt, Currency: cur,
		Invoice: f.Get("invoice"), Custom: f.Get("custom"), ReturnURL: f.Get("return"),
		CancelURL: f.Get("cancel_return"), NotifyURL: f.Get("notify_url"), State: "open", CreatedAt: now,
	}
	s.mu.Lock()
	err = s.saveJSON("paypal_checkouts", "id", c.ID, now, c)
	s.mu.Unlock()
	if err != nil {
		http.Error(w, "sandbox: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Location", s.link(r, "/checkout/"+c.ID))
	w.WriteHeader(http.StatusSeeOther)
}

func (s *Sandbox) handleCheckoutPage(w http.ResponseWriter, r *http.Request) {
	var c checkout
	s.mu.Lock()
	err := s.loadJSON("paypal_checkouts", "id", r.PathValue("id"), &c)
	s.mu.Unlock()
	if err != nil {
		render(w, http.StatusNotFound, pageData{Title: "PayPal (sandbox)", Message: "This payment session is unknown or has expired."})
		return
	}
	d := pageData{Title: "PayPal (sandbox)", Checkout: toPageCheckout(&c)}
	if c.State != "open" {
		d.Message = "This payment is already " + c.State + "."
	}
	render(w, http.StatusOK, d)
}

func (s *Sandbox) handleCheckoutAction(w http.ResponseWriter, r *http.Request) {
	action := r.FormValue("action")
	now := time.Now().UTC()
	s.mu.Lock()
	var c checkout
	if err := s.loadJSON("paypal_checkouts", "id", r.PathValue("id"), &c); err != nil {
		s.mu.Unlock()
		render(w, http.StatusNotFound, pageData{Title: "PayPal (sandbox)", Message: "This payment session is unknown or has expired."})
		return
	}
	if c.State != "open" {
		s.mu.Unlock()
		render(w, http.StatusConflict, pageData{Title: "PayPal (sandbox)", Message: "This payment is already " + c.State + ".", Checkout: toPageCheckout(&c)})
		return
	}
	if (action == "pay" || action == "pay_card") && s.st.TakeFlag("decline_next") {
		action = "decline"
	}
	var ipn int64
	redirect := c.CancelURL
	var err error
	switch action {
	case "pay", "pay_card", "decline":
		t := &SandboxTxn{
			TxnID: randomID(17), Kind: "payment", GrossMinor: c.AmountMinor, Currency: c.Currency,
			Business: c.Business, Invoice: c.Invoice, Custom: c.Custom, ItemName: c.ItemName, NotifyURL: c.NotifyURL,
			PayerEmail: demoPayerEmail, PayerID: randomID(13), CheckoutID: c.ID, CreatedAt: now,
		}
		if s.st.TakeFlag("wrong_amount_next") {
			// The buyer paid another amount than the shop asked.
			t.GrossMinor = max(t.GrossMinor/2, 1)
		}
		if s.st.TakeFlag("wrong_currency_next") {
			t.Currency = "EUR"
			if c.Currency == "EUR" {
				t.Currency = "USD"
			}
		}
		t.FeeMinor = fee(t.GrossMinor, t.Currency)
		switch action {
		case "pay":
			t.Status = "Completed"
			c.State, redirect = "paid", c.ReturnURL
		case "pay_card":
			// A card payment is Pending until the issuer pays PayPal
			// (seed 003): Settle sends the Completed IPN later.
			t.Status, t.PendingReason = "Pending", "paymentreview"
			c.State, redirect = "paid", c.ReturnURL
		case "decline":
			t.Status, t.FeeMinor = "Failed", 0
			c.State = "declined"
		}
		c.TxnID = t.TxnID
		if err = s.saveTxn(t); err == nil {
			ipn = s.queueIPN(t.TxnID, t.NotifyURL, ipnBody(t, t.Status, now))
		}
	case "abandon":
		// The buyer cancelled on PayPal: no transaction, no IPN.
		c.State = "abandoned"
	default:
		s.mu.Unlock()
		render(w, http.StatusBadRequest, pageData{Title: "PayPal (sandbox)", Message: "Unknown action.", Checkout: toPageCheckout(&c)})
		return
	}
	if err == nil {
		err = s.saveJSON("paypal_checkouts", "id", c.ID, c.CreatedAt, &c)
	}
	s.mu.Unlock()
	if err != nil {
		http.Error(w, "sandbox: "+err.Error(), http.StatusInternalServerError)
		return
	}
	if ipn != 0 {
		// Before the redirect, so tests are deterministic; a failure is
		// recorded for ResendNotifications.
		_ = s.deliver(r.Context(), ipn)
	}
	if redirect == "" {
		render(w, http.StatusOK, pageData{Title: "PayPal (sandbox)", Message: "Done: the payment is " + c.State + "."})
		return
	}
	w.Header().Set("Location", redirect)
	w.WriteHeader(http.StatusSeeOther)
}

// fee is a PayPal-like fee: 2.9 % plus a fixed part, rounded down.
func fee(gross int64, currency string) int64 {
	fixed := int64(30)
	if decimals(currency) == 0 {
		fixed = 40
	}
	if gross <= 0 {
		return 0
	}
	return gross*29/1000 + fixed
}

// handleNVP implements RefundTransaction of the classic NVP API. Every NVP
// answer is HTTP 200 with ACK=Success or ACK=Failure and L_ERRORCODE0…
func (s *Sandbox) handleNVP(w http.ResponseWriter, r *http.Request) {
	if !s.apiSwitches(w, r) {
		return
	}
	if err := r.ParseForm(); err != nil {
		writeNVP(w, nvpFailure("10004", "Transaction refused because of an invalid argument. See additional error messages for details.", "The request is not form-encoded."))
		return
	}
	f := r.PostForm
	s.mu.Lock()
	cfg := s.cfg
	s.mu.Unlock()
	if f.Get("USER") != cfg.APIUsername || f.Get("PWD") != cfg.APIPassword || f.Get("SIGNATURE") != cfg.APISignature {
		writeNVP(w, nvpFailure("10002", "Security error", "Security header is not valid"))
		return
	}
	if f.Get("METHOD") != "RefundTransaction" {
		writeNVP(w, nvpFailure("81002", "Unspecified Method", "Method Specified is not Supported"))
		return
	}
	ans, ipn, mode := s.refund(f)
	if mode == FailHTTP500 {
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	if ipn != 0 {
		// Before answering, so that a lost answer still has its IPN.
		_ = s.deliver(r.Context(), ipn)
	}
	if mode == FailLostAnswer {
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	writeNVP(w, ans)
}

// refund runs a RefundTransaction: it returns the answer, the IPN to send
// (0: none) and the failure switch it used. A MSGSUBID seen before gets the
// first answer again ([U]: PayPal documents MSGSUBID as the way "to request
// the latest results for a previous request without generating a new
// request"; only successful refunds are remembered here).
func (s *Sandbox) refund(f url.Values) (url.Values, int64, FailMode) {
	invalid := "Transaction refused because of an invalid argument. See additional error messages for details."
	s.mu.Lock()
	defer s.mu.Unlock()
	sub := f.Get("MSGSUBID")
	if len(sub) > 38 {
		return nvpFailure("10004", invalid, "MSGSUBID is longer than 38 characters"), 0, FailNone
	}
	if sub != "" {
		var stored string
		err := s.db.QueryRow(`SELECT answer FROM paypal_refund_requests WHERE msgsubid = ?`, sub).Scan(&stored)
		if err == nil {
			ans, perr := url.ParseQuery(stored)
			if perr != nil {
				return nvpFailure("10001", "Internal Error", perr.Error()), 0, FailNone
			}
			return ans, 0, FailNone
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return nvpFailure("10001", "Internal Error", err.Error()), 0, FailNone
		}
	}
	ans, ipn, mode := s.newRefund(f, invalid)
	if sub != "" && ans.Get("ACK") == "Success" {
		ans.Set("MSGSUBID", sub)
		if _, err := s.db.Exec(`INSERT INTO paypal_refund_requests (msgsubid, answer, created_at) VALUES (?, ?, ?)`,
			sub, ans.Encode(), time.Now().UTC().Format(tsLayout)); err != nil {
			return nvpFailure("10001", "Internal Error", err.Error()), ipn, mode
		}
	}
	return ans, ipn, mode
}

// newRefund is a refund not seen before; the caller holds mu.
func (s *Sandbox) newRefund(f url.Values, invalid string) (url.Values, int64, FailMode) {
	t, err := s.loadTxn(f.Get("TRANSACTIONID"))
	if err != nil || t.Kind != "payment" {
		return nvpFailure("10004", invalid, "The transaction id is not valid"), 0, FailNone
	}
	if t.Status != "Completed" && t.Status != "Partially_Refunded" {
		return nvpFailure("10009", "Transaction refused", "You can not refund this type of transaction"), 0, FailNone
	}
	mode := FailMode(s.st.Get("fail_next_refund"))
	if mode != FailNone {
		if err := s.st.Set("fail_next_refund", ""); err != nil {
			return nvpFailure("10001", "Internal Error", err.Error()), 0, FailNone
		}
	}
	switch mode {
	case FailRefused:
		return nvpFailure("10009", "Transaction refused", "The refund was refused (sandbox: failure switch)"), 0, mode
	case FailHTTP500:
		return nil, 0, mode
	}
	left := t.GrossMinor - t.RefundedMinor
	amt := left
	switch f.Get("REFUNDTYPE") {
	case "", "Full":
		if t.RefundedMinor > 0 {
			return nvpFailure("10009", "Transaction refused", "Can not do a full refund after a partial refund"), 0, FailNone
		}
	case "Partial":
		if cur := f.Get("CURRENCYCODE"); cur == "" || !strings.EqualFold(cur, t.Currency) {
			return nvpFailure("10009", "Transaction refused", "The currency code of the refund must be the currency of the transaction"), 0, FailNone
		}
		a, err := ParseAmount(f.Get("AMT"), t.Currency)
		if err != nil || a <= 0 {
			return nvpFailure("10004", invalid, "The partial refund amount is not valid"), 0, FailNone
		}
		if a > left {
			return nvpFailure("10009", "Transaction refused", "The partial refund amount must be less than or equal to the remaining amount"), 0, FailNone
		}
		amt = a
	default:
		return nvpFailure("10004", invalid, "The refund type is not valid"), 0, FailNone
	}
	now := time.Now().UTC()
	feeBack := t.FeeMinor * amt / t.GrossMinor
	rt := &SandboxTxn{
		TxnID: randomID(17), ParentTxnID: t.TxnID, Kind: "refund", Status: "Refunded",
		GrossMinor: -amt, FeeMinor: -feeBack, Currency: t.Currency, Business: t.Business, Invoice: t.Invoice,
		Custom: t.Custom, ItemName: t.ItemName, NotifyURL: t.NotifyURL, PayerEmail: t.PayerEmail, PayerID: t.PayerID,
		CreatedAt: now,
	}
	t.RefundedMinor += amt
	if t.RefundedMinor == t.GrossMinor {
		t.Status = "Refunded"
	} else {
		t.Status = "Partially_Refunded"
	}
	if err := s.saveTxn(t); err != nil {
		return nvpFailure("10001", "Internal Error", err.Error()), 0, mode
	}
	if err := s.saveTxn(rt); err != nil {
		return nvpFailure("10001", "Internal Error", err.Error()), 0, mode
	}
	ipn := s.queueIPN(rt.TxnID, rt.NotifyURL, ipnBody(rt, "Refunded", now))
	ans := nvpCommon("Success")
	ans.Set("REFUNDTRANSACTIONID", rt.TxnID)
	ans.Set("FEEREFUNDAMT", FormatAmount(feeBack, t.Currency))
	ans.Set("GROSSREFUNDAMT", FormatAmount(amt, t.Currency))
	ans.Set("NETREFUNDAMT", FormatAmount(amt-feeBack, t.Currency))
	ans.Set("CURRENCYCODE", t.Currency)
	ans.Set("TOTALREFUNDEDAMOUNT", FormatAmount(t.RefundedMinor, t.Currency))
	ans.Set("REFUNDSTATUS", "Instant")
	ans.Set("PENDINGREASON", "None")
	return ans, ipn, mode
}

func nvpCommon(ack string) url.Values {
	v := url.Values{}
	v.Set("TIMESTAMP", time.Now().UTC().Format("2006-01-02T15:04:05Z"))
	v.Set("CORRELATIONID", strings.ToLower(randomID(13)))
	v.Set("ACK", ack)
	v.Set("VERSION", nvpVersion)
	v.Set("BUILD", "000000")
	return v
}

func nvpFailure(code, short, long string) url.Values {
	v := nvpCommon("Failure")
	v.Set("L_ERRORCODE0", code)
	v.Set("L_SHORTMESSAGE0", short)
	v.Set("L_LONGMESSAGE0", long)
	v.Set("L_SEVERITYCODE0", "Error")
	return v
}

func writeNVP(w http.ResponseWriter, v url.Values) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	httpbody.Write(w, []byte(v.Encode()))
}

// settlementHeader is the column row of PayPal's activity download (the
// columns this sandbox fills; PayPal has more, which parsers must skip).
var settlementHeader = []string{
	"Date", "Time", "TimeZone", "Name", "Type", "Status", "Currency", "Gross", "Fee", "Net",
	"From Email Address", "To Email Address", "Transaction ID", "Item Title", "Invoice Number",
	"Custom Number", "Reference Txn ID", "Balance Impact",
}

// formatGrouped writes an amount with thousands separators, as the activity
// download does ("1,234.56").
func formatGrouped(minor int64, currency string) string {
	s := FormatAmount(minor, currency)
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	ip, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	for i, c := range ip {
		if i > 0 && (len(ip)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if hasFrac {
		return sign + b.String() + "." + frac
	}
	return sign + b.String()
}

// handleSettlements exports settled transactions (completed payments and
// refunds) as PayPal's activity download CSV: UTF-8 with BOM, every field
// quoted (written by hand: encoding/csv quotes only when needed), MM/DD/YYYY
// dates in PST.
func (s *Sandbox) handleSettlements(w http.ResponseWriter, r *http.Request) {
	txns, err := s.Transactions(0)
	if err != nil {
		http.Error(w, "sandbox: "+err.Error(), http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	buf.WriteString("\ufeff")
	quoted := func(rec []string) {
		for i, f := range rec {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.WriteString(`"` + strings.ReplaceAll(f, `"`, `""`) + `"`)
		}
		buf.WriteString("\r\n")
	}
	quoted(settlementHeader)
	pst := time.FixedZone("PST", -8*3600)
	// Oldest first, as PayPal lists them.
	for i := len(txns) - 1; i >= 0; i-- {
		t := txns[i]
		typ := "Website Payment"
		switch {
		case t.Kind == "refund":
			typ = "Payment Refund"
		case t.Status == "Completed" || t.Status == "Refunded" || t.Status == "Partially_Refunded":
		default:
			continue // pending and failed payments are not settled
		}
		when := t.CreatedAt.In(pst)
		quoted([]string{
			when.Format("01/02/2006"), when.Format("15:04:05"), "PST", "Sandbox Buyer", typ, "Completed",
			t.Currency, formatGrouped(t.GrossMinor, t.Currency), formatGrouped(-t.FeeMinor, t.Currency),
			formatGrouped(t.GrossMinor-t.FeeMinor, t.Currency), t.PayerEmail, t.Business, t.TxnID, t.ItemName,
			t.Invoice, t.Custom, t.ParentTxnID, map[bool]string{true: "Credit", false: "Debit"}[t.GrossMinor >= 0],
		})
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="Download.CSV"`)
	httpbody.Write(w, buf.Bytes())
}

// Pages.

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>body{font-family:sans-serif;max-width:50rem;margin:2rem auto;padding:0 1rem}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}
button{margin:.25rem}form.inline{display:inline}</style></head><body>
<h1>{{.Title}}</h1>
{{if .Message}}<p data-testid="sandbox-message">{{.Message}}</p>{{end}}
{{with .Checkout}}
<p>Pay <b data-testid="sandbox-amount">{{.Amount}} {{.Currency}}</b> to <b>{{.Business}}</b> for <i>{{.ItemName}}</i>{{if .Invoice}} (invoice {{.Invoice}}){{end}}.</p>
{{if .Open}}
<form method="post" action="">
<button type="submit" name="action" value="pay" data-testid="sandbox-pay">Pay with PayPal balance</button>
<button type="submit" name="action" value="pay_card" data-testid="sandbox-pay-card">Pay by card (pending, then completed)</button>
<button type="submit" name="action" value="decline" data-testid="sandbox-decline">Decline</button>
<button type="submit" name="action" value="abandon" data-testid="sandbox-abandon">Cancel and return to the shop</button>
</form>{{end}}
{{end}}
{{if .Control}}
<h2>Switches</h2>
<p>Decline next: {{.DeclineNext}} · Wrong amount next: {{.WrongAmount}} · Wrong currency next: {{.WrongCurrency}} · Fail next API call: {{.FailNext}} · Latency: {{.Latency}} ms</p>
<form method="post" action="_control" class="inline"><button name="action" value="decline_next" data-testid="sandbox-decline-next">Decline the next payment</button></form>
<form method="post" action="_control" class="inline"><button name="action" value="wrong_amount_next" data-testid="sandbox-wrong-amount-next">Next payment with a wrong amount</button></form>
<form method="post" action="_control" class="inline"><button name="action" value="wrong_currency_next" data-testid="sandbox-wrong-currency-next">Next payment in a wrong currency</button></form>
<form method="post" action="_control" class="inline"><button name="action" value="fail_next" data-testid="sandbox-fail-next">Fail the next API call</button></form>
<form method="post" action="_control"><input type="hidden" name="action" value="fail_next_refund">
<select name="value"><option value="">no failure</option><option value="refused">refused (10009)</option><option value="500">HTTP 500, nothing done</option><option value="lost">refunded, answer lost (HTTP 500)</option></select>
<button data-testid="sandbox-fail-next-refund">Fail the next refund</button> (now: {{.FailNextRefund}})</form>
<form method="post" action="_control"><input type="hidden" name="action" value="latency">
<label>Latency, ms <input name="value" value="{{.Latency}}" size="6"></label> <button data-testid="sandbox-latency">Set</button></form>
<form method="post" action="_control" class="inline"><button name="action" value="resend_all">Retry undelivered IPNs</button></form>
<p>Merchant <code>{{.Business}}</code>. <a href="_settlements.csv">Activity download (CSV)</a></p>
<h2>Transactions</h2>
<table data-testid="sandbox-payments"><tr><th>Txn</th><th>Invoice</th><th>Gross</th><th>Status</th><th></th></tr>
{{range .Txns}}<tr><td>{{.TxnID}}{{if .ParentTxnID}} (refund of {{.ParentTxnID}}){{end}}</td><td>{{.Invoice}}</td><td>{{.Gross}} {{.Currency}}</td><td>{{.Status}}</td>
<td><form method="post" action="_control" class="inline"><input type="hidden" name="txn_id" value="{{.TxnID}}">
<button name="action" value="resend">Resend IPN</button>{{if .Pending}}<button name="action" value="settle">Settle (Completed)</button>{{end}}</form></td></tr>
{{else}}<tr><td colspan="5">No transactions yet.</td></tr>{{end}}</table>
{{end}}
</body></html>`))

type pageCheckout struct {
	Amount, Currency, Business, ItemName, Invoice string
	Open                                          bool
}

type pageTxn struct {
	TxnID, ParentTxnID, Invoice, Gross, Currency, Status string
	Pending                                              bool
}

type pageData struct {
	Title, Message string
	Checkout       *pageCheckout
	Control        bool
	DeclineNext    bool
	WrongAmount    bool
	WrongCurrency  bool
	FailNext       bool
	FailNextRefund FailMode
	Latency        int64
	Business       string
	Txns           []pageTxn
}

func toPageCheckout(c *checkout) *pageCheckout {
	return &pageCheckout{Amount: FormatAmount(c.AmountMinor, c.Currency), Currency: c.Currency, Business: c.Business,
		ItemName: c.ItemName, Invoice: c.Invoice, Open: c.State == "open"}
}

func render(w http.ResponseWriter, status int, d pageData) {
	sandboxkit.Render(w, status, pageTmpl, d)
}

func (s *Sandbox) handleControlPage(w http.ResponseWriter, r *http.Request) {
	txns, err := s.Transactions(50)
	if err != nil {
		http.Error(w, "sandbox: "+err.Error(), http.StatusInternalServerError)
		return
	}
	s.mu.Lock()
	d := pageData{Title: "PayPal sandbox", Control: true, Message: r.URL.Query().Get("msg"),
		DeclineNext: s.st.Get("decline_next") == "1", WrongAmount: s.st.Get("wrong_amount_next") == "1",
		WrongCurrency: s.st.Get("wrong_currency_next") == "1", FailNext: s.st.On(sandboxkit.FailNextKey),
		FailNextRefund: FailMode(s.st.Get("fail_next_refund")), Business: s.cfg.Business}
	d.Latency = s.st.Latency().Milliseconds()
	s.mu.Unlock()
	for _, t := range txns {
		d.Txns = append(d.Txns, pageTxn{TxnID: t.TxnID, ParentTxnID: t.ParentTxnID, Invoice: t.Invoice,
			Gross: FormatAmount(t.GrossMinor, t.Currency), Currency: t.Currency, Status: t.Status,
			Pending: t.Status == "Pending"})
	}
	render(w, http.StatusOK, d)
}

func (s *Sandbox) handleControl(w http.ResponseWriter, r *http.Request) {
	var err error
	msg := "Done."
	switch r.FormValue("action") {
	case "decline_next":
		err = s.DeclineNext()
	case "wrong_amount_next":
		err = s.WrongAmountNext()
	case "wrong_currency_next":
		err = s.WrongCurrencyNext()
	case "fail_next":
		err = s.FailNext()
	case "fail_next_refund":
		mode := FailMode(r.FormValue("value"))
		switch mode {
		case FailRefused, FailHTTP500, FailLostAnswer:
		default:
			mode = FailNone
		}
		err = s.FailNextRefund(mode)
	case "latency":
		var d time.Duration
		if d, err = sandboxkit.ParseLatency(r.FormValue("value")); err == nil {
			err = s.SetLatency(d)
		}
	case "resend":
		err = s.ResendIPN(r.FormValue("txn_id"))
	case "settle":
		err = s.Settle(r.FormValue("txn_id"))
	case "resend_all":
		var n int
		n, err = s.ResendNotifications()
		msg = fmt.Sprintf("%d IPN(s) delivered.", n)
	default:
		http.Error(w, "unknown action", http.StatusBadRequest)
		return
	}
	if err != nil {
		msg = "Error: " + err.Error()
	}
	// Relative: the sandbox is mounted under a stripped prefix.
	sandboxkit.BackToControl(w, msg)
}
