package kuveyt

import (
	"bytes"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"html/template"
	"io"
	"math/big"
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

// tsLayout is how the sandbox stores times: fixed width, so that text order
// is time order (RFC 3339 with trimmed nanoseconds is not).
const tsLayout = "2006-01-02T15:04:05.000000000Z"

// The widely published Kuveyt Türk test credentials; the sandbox accepts
// them by default.
const (
	DemoMerchantID = "496"
	DemoCustomerID = "400235"
	DemoUserName   = "apiuser1"
	DemoPassword   = "Api123"
)

// Payment states in the sandbox.
const (
	StateAwaiting3DS   = "awaiting_3ds"  // PayGate accepted, shopper at the ACS page
	StateAuthenticated = "authenticated" // 3D Secure passed, waiting for Provision
	StateAuthFailed    = "auth_failed"   // 3D Secure declined
	StateAbandoned     = "abandoned"     // shopper cancelled at the ACS page
	StateProvisioned   = "provisioned"   // paid
	StateDeclined      = "declined"      // Provision refused (e.g. 51)
)

// SandboxConfig configures NewSandbox.
type SandboxConfig struct {
	// Credentials the gate accepts; the Demo* constants when empty.
	MerchantID string
	CustomerID string
	UserName   string
	Password   string
	// BaseURL is the public URL the sandbox is mounted at, e.g.
	// http://localhost:8080/sandbox/kuveyt; the 3D page links are built on
	// it (the bank's HTML is shown by the shop, so links must be absolute).
	BaseURL string
}

// SandboxPayment is the sandbox's state of one 3D payment attempt.
type SandboxPayment struct {
	ID               string    `json:"id"`
	MerchantOrderID  string    `json:"merchantOrderId"`
	OrderID          string    `json:"orderId"`
	AmountMinor      int64     `json:"amount"`
	CurrencyCode     string    `json:"currency"`
	InstallmentCount string    `json:"installments"`
	OkURL            string    `json:"okUrl"`
	FailURL          string    `json:"failUrl"`
	CardMasked       string    `json:"card"`
	CardHolder       string    `json:"holder"`
	MD               string    `json:"md"`
	State            string    `json:"state"`
	ResponseCode     string    `json:"responseCode"`
	ResponseMessage  string    `json:"responseMessage"`
	ProvisionNumber  string    `json:"provisionNumber,omitempty"`
	RRN              string    `json:"rrn,omitempty"`
	Stan             string    `json:"stan,omitempty"`
	CreatedAt        time.Time `json:"createdAt"`
	UpdatedAt        time.Time `json:"updatedAt"`
}

// Sandbox plays Kuveyt Türk's virtual POS: /Home/ThreeDModelPayGate,
// /Home/ThreeDModelProvisionGate, an ACS (3D Secure) page at /acs/{id} and a
// control page at /. Kuveyt sends no server-to-server notification: its
// "notification" is the shopper's browser posting AuthenticationResponse to
// OkUrl/FailUrl, which the ACS page does.
type Sandbox struct {
	// st holds the switches, in the kuveyt_settings table so that a CLI run
	// sees what the control page set.
	st sandboxkit.Stored

	db  *sql.DB
	mux *http.ServeMux
	// mu serialises table access and guards cfg.
	mu  sync.Mutex
	cfg SandboxConfig
}

// NewSandbox creates the kuveyt_* tables if needed and returns the sandbox.
func NewSandbox(db *sql.DB, cfg SandboxConfig) (*Sandbox, error) {
	cfg.MerchantID = cmp(cfg.MerchantID, DemoMerchantID)
	cfg.CustomerID = cmp(cfg.CustomerID, DemoCustomerID)
	cfg.UserName = cmp(cfg.UserName, DemoUserName)
	cfg.Password = cmp(cfg.Password, DemoPassword)
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	for _, q := range []string{
		`CREATE TABLE IF NOT EXISTS kuveyt_payments (
			id TEXT PRIMARY KEY,
			md TEXT NOT NULL,
			merchant_order_id TEXT NOT NULL,
			data TEXT NOT NULL,
			created_at TEXT NOT NULL)`,
		// Provision finds the 3D session by MD; the shop's lookups go by
		// its order id.
		`CREATE INDEX IF NOT EXISTS kuveyt_payments_md ON kuveyt_payments (md)`,
		`CREATE INDEX IF NOT EXISTS kuveyt_payments_order ON kuveyt_payments (merchant_order_id)`,
		`CREATE TABLE IF NOT EXISTS kuveyt_settings (
			key TEXT PRIMARY KEY,
			value TEXT NOT NULL)`,
	} {
		if _, err := db.Exec(q); err != nil {
			return nil, fmt.Errorf("kuveyt sandbox: create tables: %w", err)
		}
	}
	s := &Sandbox{db: db, cfg: cfg}
	s.st = sandboxkit.Stored{DB: db, Table: "kuveyt_settings", Lock: &s.mu}
	s.routes()
	return s, nil
}

// SetBaseURL sets the public URL the sandbox is mounted at.
func (s *Sandbox) SetBaseURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.BaseURL = strings.TrimRight(u, "/")
}

// ClientConfig returns a client Config pointing at this sandbox with the
// credentials it accepts.
func (s *Sandbox) ClientConfig() Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Config{BaseURL: s.cfg.BaseURL, MerchantID: s.cfg.MerchantID, CustomerID: s.cfg.CustomerID,
		UserName: s.cfg.UserName, Password: s.cfg.Password}
}

// Switches.

// DeclineNext makes the next Provision answer "51" (insufficient funds).
func (s *Sandbox) DeclineNext() error { return s.st.Put("decline_next", "1") }

// FailNext makes the next gate call (PayGate or Provision) answer HTTP 500.
func (s *Sandbox) FailNext() error { return s.st.Arm(sandboxkit.FailNextKey) }

// SetLatency delays every gate answer by d (0 turns it off).
func (s *Sandbox) SetLatency(d time.Duration) error {
	return s.st.SetLatency(d)
}

// Storage.

var errNotFound = errors.New("kuveyt sandbox: payment not found")

func (s *Sandbox) loadBy(col, val string) (*SandboxPayment, error) {
	var data string
	err := s.db.QueryRow(`SELECT data FROM kuveyt_payments WHERE `+col+` = ? ORDER BY created_at DESC, rowid DESC LIMIT 1`, val).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, err
	}
	var p SandboxPayment
	if err := json.Unmarshal([]byte(data), &p); err != nil {
		return nil, err
	}
	return &p, nil
}

func (s *Sandbox) save(p *SandboxPayment) error {
	p.UpdatedAt = time.Now().UTC()
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	_, err = s.db.Exec(`INSERT INTO kuveyt_payments (id, md, merchant_order_id, data, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT(id) DO UPDATE SET data = excluded.data`,
		p.ID, p.MD, p.MerchantOrderID, string(b), p.CreatedAt.UTC().Format(tsLayout))
	return err
}

// Payment returns the latest attempt for a merchant order id.
func (s *Sandbox) Payment(merchantOrderID string) (*SandboxPayment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loadBy("merchant_order_id", merchantOrderID)
}

// Payments returns the most recent attempts, newest first.
func (s *Sandbox) Payments(limit int) ([]SandboxPayment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rows, err := s.db.Query(`SELECT data FROM kuveyt_payments ORDER BY created_at DESC, rowid DESC LIMIT ?`, limit)
	return sandboxdb.Collect(rows, err, func(r sandboxdb.Scanner) (SandboxPayment, error) {
		var data string
		var p SandboxPayment
		if err := r.Scan(&data); err != nil {
			return p, err
		}
		err := json.Unmarshal([]byte(data), &p)
		return p, err
	})
}

// AuthenticationResponse returns the form value the ACS page posted (or
// would post) for an attempt, URL-encoded as the bank sends it: for tests
// of a shopper re-posting the same answer (a duplicate callback).
func (s *Sandbox) AuthenticationResponse(merchantOrderID string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.loadBy("merchant_order_id", merchantOrderID)
	if err != nil {
		return "", err
	}
	return s.authResponseValue(p)
}

func randomDigits(n int) string {
	var b strings.Builder
	for range n {
		d, _ := rand.Int(rand.Reader, big.NewInt(10))
		b.WriteByte(byte('0' + d.Int64()))
	}
	return b.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// nextOrderID hands out the bank's order ids; the caller holds mu.
func (s *Sandbox) nextOrderID() string {
	n, _ := strconv.ParseInt(s.st.Get("next_order_id"), 10, 64)
	if n == 0 {
		n = 100001
	}
	_ = s.st.Set("next_order_id", strconv.FormatInt(n+1, 10))
	return strconv.FormatInt(n, 10)
}

// HTTP.

// ServeHTTP implements http.Handler.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Sandbox) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", s.handleControlPage)
	m.HandleFunc("POST /_control", s.handleControl)
	m.HandleFunc("POST /Home/ThreeDModelPayGate", s.handlePayGate)
	m.HandleFunc("POST /Home/ThreeDModelProvisionGate", s.handleProvision)
	m.HandleFunc("GET /acs/{id}", s.handleACS)
	m.HandleFunc("POST /acs/{id}", s.handleACS)
	s.mux = m
}

// gateSwitches applies latency and fail-next; false: already answered.
func (s *Sandbox) gateSwitches(w http.ResponseWriter, r *http.Request) bool {
	fail, gone := s.st.Gate(r.Context())
	if gone {
		return false
	}
	if fail {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		httpbody.Write(w, []byte("<html><body><h1>Server Error in '/' Application.</h1></body></html>"))
		return false
	}
	return true
}

// writeXML answers a VPosTransactionResponseContract.
func writeXML(w http.ResponseWriter, resp *wireResponse) {
	resp.XMLName = xml.Name{Local: "VPosTransactionResponseContract"}
	b, err := xml.Marshal(resp)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	httpbody.Write(w, append([]byte(xml.Header), b...))
}

func refusal(code, message string) *wireResponse {
	return &wireResponse{ResponseCode: code, ResponseMessage: message, OrderID: "0", BusinessKey: "0",
		IsEnrolled: "false", IsVirtual: "false", TransactionTime: time.Now().UTC().Format("2006-01-02T15:04:05")}
}

// checkCredentials answers the bank's refusal for a request whose user or
// hash is wrong; nil when fine.
func checkCredentials(cfg SandboxConfig, m *vposMessage, wantHash string) *wireResponse {
	if m.MerchantID != cfg.MerchantID || m.CustomerID != cfg.CustomerID || m.UserName != cfg.UserName {
		return refusal("ApiUserNotDefined", "Api kullanıcısı bulunamadı.")
	}
	if m.HashData != wantHash {
		return refusal("HashDataError", "Şifrelenen veriler (Hashdata) uyuşmamaktadır.")
	}
	return nil
}

func readMessage(r *http.Request) (*vposMessage, error) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	var m vposMessage
	d := xml.NewDecoder(bytes.NewReader(raw))
	d.CharsetReader = charsetReader
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	return &m, nil
}

func mask(number string) string {
	if len(number) < 10 {
		return strings.Repeat("*", len(number))
	}
	return number[:6] + strings.Repeat("*", len(number)-10) + number[len(number)-4:]
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

func (s *Sandbox) handlePayGate(w http.ResponseWriter, r *http.Request) {
	if !s.gateSwitches(w, r) {
		return
	}
	m, err := readMessage(r)
	if err != nil {
		// [U] the bank's code for unreadable XML.
		writeXML(w, refusal("InvalidXmlFormat", "Gönderilen XML okunamadı."))
		return
	}
	s.mu.Lock()
	cfg := s.cfg
	s.mu.Unlock()
	if m.APIVersion != "TDV2.0.0" && m.APIVersion != "1.0.0" {
		writeXML(w, refusal("InvalidApiVersion", "APIVersion geçersiz."))
		return
	}
	want := PayGateHash(cfg.MerchantID, m.MerchantOrderID, m.Amount, m.OkURL, m.FailURL, cfg.UserName, HashPassword(cfg.Password))
	if ref := checkCredentials(cfg, m, want); ref != nil {
		writeXML(w, ref)
		return
	}
	amt, err := strconv.ParseInt(m.Amount, 10, 64)
	switch {
	case err != nil || amt <= 0:
		writeXML(w, refusal("InvalidAmount", "Tutar geçersiz."))
		return
	case m.MerchantOrderID == "" || m.OkURL == "" || m.FailURL == "":
		writeXML(w, refusal("MissingParameter", "MerchantOrderId, OkUrl ve FailUrl zorunludur."))
		return
	case m.TransactionSecurity != "3":
		writeXML(w, refusal("InvalidTransactionSecurity", "3D model için TransactionSecurity 3 olmalıdır."))
		return
	}
	number := digitsOnly(m.CardNumber)
	if len(number) < 12 || len(number) > 19 || strings.Contains(number, "x") || m.CardExpireDateMonth == "" || m.CardExpireDateYear == "" {
		writeXML(w, refusal("14", "Kart numarası geçersiz."))
		return
	}
	now := time.Now().UTC()
	p := &SandboxPayment{
		ID: randomHex(12), MerchantOrderID: m.MerchantOrderID, AmountMinor: amt,
		CurrencyCode: cmp(m.CurrencyCode, CurrencyTRY), InstallmentCount: cmp(m.InstallmentCount, "0"),
		OkURL: m.OkURL, FailURL: m.FailURL, CardMasked: mask(number), CardHolder: m.CardHolderName,
		MD: base64.StdEncoding.EncodeToString([]byte(randomHex(24))), State: StateAwaiting3DS, CreatedAt: now,
	}
	s.mu.Lock()
	p.OrderID = s.nextOrderID()
	err = s.save(p)
	s.mu.Unlock()
	if err != nil {
		http.Error(w, "sandbox: "+err.Error(), http.StatusInternalServerError)
		return
	}
	// The bank's answer: a page that auto-posts the browser to the ACS.
	renderForm(w, formPage{Title: "3D Secure", Action: s.link(r, "/acs/"+p.ID),
		Fields: []formField{{Name: "MD", Value: p.MD}}, Button: "Continue to 3D Secure"})
}

// ACS page.

func (s *Sandbox) handleACS(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	action := ""
	if r.Method == http.MethodPost {
		action = r.FormValue("action")
	}
	s.mu.Lock()
	p, err := s.loadBy("id", id)
	if err != nil {
		s.mu.Unlock()
		renderPage(w, http.StatusNotFound, pageData{Title: "3D Secure (sandbox)", Message: "This 3D Secure session is unknown."})
		return
	}
	if action == "" {
		s.mu.Unlock()
		d := pageData{Title: "3D Secure (sandbox)", Payment: toPagePayment(p)}
		if p.State != StateAwaiting3DS {
			d.Message = "This 3D Secure session is already closed (" + p.State + ")."
		}
		renderPage(w, http.StatusOK, d)
		return
	}
	if p.State != StateAwaiting3DS {
		s.mu.Unlock()
		renderPage(w, http.StatusConflict, pageData{Title: "3D Secure (sandbox)", Message: "This 3D Secure session is already closed (" + p.State + ").", Payment: toPagePayment(p)})
		return
	}
	target := p.FailURL
	switch action {
	case "pay":
		p.State, p.ResponseCode, p.ResponseMessage = StateAuthenticated, "00", "Kart doğrulandı."
		target = p.OkURL
	case "decline":
		p.State, p.ResponseCode, p.ResponseMessage = StateAuthFailed, "CommonThreedControlsReturnedFail", "İşlem gerçekleştirilemedi."
	case "abandon":
		// Real ACS pages have a "cancel" link: the bank then posts a
		// failed authentication to FailUrl.
		p.State, p.ResponseCode, p.ResponseMessage = StateAbandoned, "CommonThreedControlsReturnedFail", "Kart sahibi 3D doğrulamayı iptal etti."
	default:
		s.mu.Unlock()
		renderPage(w, http.StatusBadRequest, pageData{Title: "3D Secure (sandbox)", Message: "Unknown action.", Payment: toPagePayment(p)})
		return
	}
	err = s.save(p)
	var value string
	if err == nil {
		value, err = s.authResponseValue(p)
	}
	s.mu.Unlock()
	if err != nil {
		http.Error(w, "sandbox: "+err.Error(), http.StatusInternalServerError)
		return
	}
	renderForm(w, formPage{Title: "3D Secure", Action: target,
		Fields: []formField{{Name: "AuthenticationResponse", Value: value}}, Button: "Return to the shop"})
}

// authResponseValue builds the AuthenticationResponse XML and URL-encodes it
// as the bank does. The caller holds mu.
func (s *Sandbox) authResponseValue(p *SandboxPayment) (string, error) {
	if p.ResponseCode == "" {
		return "", errors.New("kuveyt sandbox: 3D Secure has not finished for this payment")
	}
	resp := &wireResponse{
		VPosMessage: wireVPosMessage{
			OrderID: p.OrderID, MerchantOrderID: p.MerchantOrderID, Amount: amountDigits(p.AmountMinor),
			// The bank answers the currency without the leading zero ("949").
			CurrencyCode: strings.TrimLeft(p.CurrencyCode, "0"), InstallmentCount: p.InstallmentCount,
			TransactionSecurity: "3", CardNumber: p.CardMasked, MerchantID: s.cfg.MerchantID,
		},
		IsEnrolled: "true", IsVirtual: "false", ResponseCode: p.ResponseCode, ResponseMessage: p.ResponseMessage,
		OrderID: p.OrderID, TransactionTime: p.UpdatedAt.Format("2006-01-02T15:04:05"), MerchantOrderID: p.MerchantOrderID,
		// [U] The answer's hash formula is not documented to us; this one
		// (order, code, bank order id, hashed password) is the sandbox's
		// own, and the client does not rely on it.
		HashData:    sha1b64(p.MerchantOrderID + p.ResponseCode + p.OrderID + HashPassword(s.cfg.Password)),
		ReferenceID: strings.ToLower(randomHex(16)), BusinessKey: "0",
	}
	if p.ResponseCode == "00" {
		resp.MD = p.MD
	}
	resp.XMLName = xml.Name{Local: "VPosTransactionResponseContract"}
	b, err := xml.Marshal(resp)
	if err != nil {
		return "", err
	}
	return url.QueryEscape(xml.Header[:len(xml.Header)-1] + string(b)), nil
}

func (s *Sandbox) handleProvision(w http.ResponseWriter, r *http.Request) {
	if !s.gateSwitches(w, r) {
		return
	}
	m, err := readMessage(r)
	if err != nil {
		writeXML(w, refusal("InvalidXmlFormat", "Gönderilen XML okunamadı."))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cfg := s.cfg
	want := ProvisionHash(cfg.MerchantID, m.MerchantOrderID, m.Amount, cfg.UserName, HashPassword(cfg.Password))
	if ref := checkCredentials(cfg, m, want); ref != nil {
		writeXML(w, ref)
		return
	}
	md := m.md()
	if md == "" {
		writeXML(w, refusal("EmptyMDException", "MD değeri boş olamaz."))
		return
	}
	p, err := s.loadBy("md", md)
	// [U] An unknown or already used MD, or one for another order or
	// amount: the bank finds no 3D session to provision.
	if err != nil || p.State != StateAuthenticated || p.MerchantOrderID != m.MerchantOrderID || amountDigits(p.AmountMinor) != m.Amount {
		writeXML(w, refusal("MetaDataNotFound", "Ödeme detayı bulunamadı."))
		return
	}
	resp := &wireResponse{
		VPosMessage: wireVPosMessage{OrderID: p.OrderID, MerchantOrderID: p.MerchantOrderID, Amount: amountDigits(p.AmountMinor),
			CurrencyCode: strings.TrimLeft(p.CurrencyCode, "0"), InstallmentCount: p.InstallmentCount,
			TransactionSecurity: "3", CardNumber: p.CardMasked, MerchantID: cfg.MerchantID},
		IsEnrolled: "true", IsVirtual: "false", OrderID: p.OrderID, MerchantOrderID: p.MerchantOrderID,
		TransactionTime: time.Now().UTC().Format("2006-01-02T15:04:05"), BusinessKey: "0",
	}
	if s.st.TakeFlag("decline_next") {
		p.State, p.ResponseCode, p.ResponseMessage = StateDeclined, "51", "Yetersiz bakiye."
	} else {
		p.State, p.ResponseCode, p.ResponseMessage = StateProvisioned, "00", "OTORİZASYON VERİLDİ"
		p.ProvisionNumber, p.RRN, p.Stan = randomDigits(6), randomDigits(12), randomDigits(6)
		resp.ProvisionNumber, resp.RRN, resp.Stan = p.ProvisionNumber, p.RRN, p.Stan
	}
	resp.ResponseCode, resp.ResponseMessage = p.ResponseCode, p.ResponseMessage
	if err := s.save(p); err != nil {
		http.Error(w, "sandbox: "+err.Error(), http.StatusInternalServerError)
		return
	}
	writeXML(w, resp)
}

// Pages.

type formField struct{ Name, Value string }

type formPage struct {
	Title, Action, Button string
	Fields                []formField
}

// formTmpl is an auto-submitting form, with a visible button for browsers
// without JavaScript (and for tests).
var formTmpl = template.Must(template.New("form").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body onload="document.forms[0].submit()">
<form name="downloadForm" action="{{.Action}}" method="POST">
{{range .Fields}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<noscript><p>Please press the button to continue.</p></noscript>
<button type="submit" data-testid="sandbox-continue">{{.Button}}</button>
</form></body></html>`))

func renderForm(w http.ResponseWriter, f formPage) {
	var buf bytes.Buffer
	if err := formTmpl.Execute(&buf, f); err != nil {
		http.Error(w, "sandbox page failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	httpbody.Write(w, buf.Bytes())
}

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>body{font-family:sans-serif;max-width:50rem;margin:2rem auto;padding:0 1rem}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}
button{margin:.25rem}form.inline{display:inline}</style></head><body>
<h1>{{.Title}}</h1>
{{if .Message}}<p data-testid="sandbox-message">{{.Message}}</p>{{end}}
{{with .Payment}}
<p>Kuveyt Türk test merchant asks <b data-testid="sandbox-amount">{{.Amount}}</b> for order <b>{{.MerchantOrderID}}</b>, card <code>{{.Card}}</code>.</p>
{{if .Open}}<p>Enter the code sent by SMS (any code works in the sandbox).</p>
<form method="post" action="">
<input name="code" value="123456" size="8">
<button type="submit" name="action" value="pay" data-testid="sandbox-pay">Confirm (pay)</button>
<button type="submit" name="action" value="decline" data-testid="sandbox-decline">Decline</button>
<button type="submit" name="action" value="abandon" data-testid="sandbox-abandon">Cancel</button>
</form>{{end}}
{{end}}
{{if .Control}}
<h2>Switches</h2>
<p>Decline next provision (51): {{.DeclineNext}} · Fail next gate call: {{.FailNext}} · Latency: {{.Latency}} ms</p>
<form method="post" action="_control" class="inline"><button name="action" value="decline_next" data-testid="sandbox-decline-next">Decline the next payment</button></form>
<form method="post" action="_control" class="inline"><button name="action" value="fail_next" data-testid="sandbox-fail-next">Fail the next gate call</button></form>
<form method="post" action="_control"><input type="hidden" name="action" value="latency">
<label>Latency, ms <input name="value" value="{{.Latency}}" size="6"></label> <button data-testid="sandbox-latency">Set</button></form>
<p>Credentials: merchant <code>{{.MerchantID}}</code>, customer <code>{{.CustomerID}}</code>, user <code>{{.UserName}}</code>.</p>
<h2>Payments</h2>
<table data-testid="sandbox-payments"><tr><th>Order</th><th>Bank order</th><th>Amount</th><th>Card</th><th>State</th><th>Code</th></tr>
{{range .Payments}}<tr><td>{{.MerchantOrderID}}</td><td>{{.OrderID}}</td><td>{{.Amount}}</td><td>{{.Card}}</td><td>{{.State}}</td><td>{{.Code}}</td></tr>
{{else}}<tr><td colspan="6">No payments yet.</td></tr>{{end}}</table>
{{end}}
</body></html>`))

type pagePayment struct {
	MerchantOrderID, OrderID, Amount, Card, State, Code string
	Open                                                bool
}

type pageData struct {
	Title, Message                   string
	Payment                          *pagePayment
	Control                          bool
	DeclineNext, FailNext            bool
	Latency                          int64
	MerchantID, CustomerID, UserName string
	Payments                         []pagePayment
}

func formatTL(minor int64) string { return fmt.Sprintf("%d.%02d TL", minor/100, minor%100) }

func toPagePayment(p *SandboxPayment) *pagePayment {
	return &pagePayment{MerchantOrderID: p.MerchantOrderID, OrderID: p.OrderID, Amount: formatTL(p.AmountMinor),
		Card: p.CardMasked, State: p.State, Code: p.ResponseCode, Open: p.State == StateAwaiting3DS}
}

func renderPage(w http.ResponseWriter, status int, d pageData) {
	sandboxkit.Render(w, status, pageTmpl, d)
}

func (s *Sandbox) handleControlPage(w http.ResponseWriter, r *http.Request) {
	ps, err := s.Payments(50)
	if err != nil {
		http.Error(w, "sandbox: "+err.Error(), http.StatusInternalServerError)
		return
	}
	s.mu.Lock()
	d := pageData{Title: "Kuveyt Türk sandbox", Control: true, Message: r.URL.Query().Get("msg"),
		DeclineNext: s.st.Get("decline_next") == "1", FailNext: s.st.On(sandboxkit.FailNextKey),
		MerchantID: s.cfg.MerchantID, CustomerID: s.cfg.CustomerID, UserName: s.cfg.UserName}
	d.Latency = s.st.Latency().Milliseconds()
	s.mu.Unlock()
	for i := range ps {
		d.Payments = append(d.Payments, *toPagePayment(&ps[i]))
	}
	renderPage(w, http.StatusOK, d)
}

func (s *Sandbox) handleControl(w http.ResponseWriter, r *http.Request) {
	var err error
	switch r.FormValue("action") {
	case "decline_next":
		err = s.DeclineNext()
	case "fail_next":
		err = s.FailNext()
	case "latency":
		var d time.Duration
		if d, err = sandboxkit.ParseLatency(r.FormValue("value")); err == nil {
			err = s.SetLatency(d)
		}
	default:
		http.Error(w, "unknown action", http.StatusBadRequest)
		return
	}
	msg := "Done."
	if err != nil {
		msg = "Error: " + err.Error()
	}
	// Relative: the sandbox is mounted under a stripped prefix.
	sandboxkit.BackToControl(w, msg)
}
