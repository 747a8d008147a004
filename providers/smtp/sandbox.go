package smtp

import (
	"bytes"
	"context"
	"crypto/subtle"
	"crypto/tls"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/mail"
	"orderdesk/providers/internal/sandboxkit"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"orderdesk/providers/internal/httpbody"
	"orderdesk/providers/internal/sandboxdb"
)

// Demo credentials the sandbox accepts when SandboxConfig leaves them empty.
const (
	DemoUsername = "shop@orderdesk.test"
	DemoPassword = "orderdesk-smtp-sandbox"
)

// DefaultHostname is the name the sandbox greets with.
const DefaultHostname = "sandbox.orderdesk.test"

// ErrClosed is returned by Serve and ListenAndServe after Close.
var ErrClosed = errors.New("smtp sandbox: closed")

// ErrNotFound is returned by Mail for an unknown id.
var ErrNotFound = errors.New("smtp sandbox: mail not found")

// Limits of the protocol: at most this many recipients per mail; a client
// idle this long is dropped.
const (
	maxRcpts    = 100
	idleTimeout = 5 * time.Minute
)

// SandboxConfig configures NewSandbox.
type SandboxConfig struct {
	// Username and Password are the credentials the server accepts (default
	// DemoUsername / DemoPassword).
	Username string
	Password string
	// AuthMechanisms are the AUTH mechanisms offered (default PLAIN and
	// LOGIN); []string{"LOGIN"} plays Office 365, which has no PLAIN.
	AuthMechanisms []string
	// AllowAnonymous accepts mail without AUTH (by default MAIL FROM before
	// AUTH gets 530, like a submission server).
	AllowAnonymous bool
	// Hostname is the name in the greeting (default DefaultHostname).
	Hostname string
	// BaseURL is where the outbox page is mounted, e.g.
	// "http://localhost:8080/sandbox/smtp".
	BaseURL string
	// TLSConfig, when set, makes the server offer STARTTLS, and is the
	// certificate ServeTLS speaks implicit TLS with.
	TLSConfig *tls.Config
	// MaxMessageBytes is the largest message accepted (default 10 MiB).
	MaxMessageBytes int64
	// Now is the sandbox clock (default time.Now).
	Now func() time.Time
}

// Sandbox is an SMTP server on github.com/emersion/go-smtp (EHLO, STARTTLS,
// AUTH PLAIN and LOGIN, MAIL, RCPT, DATA…) that stores every mail it accepts
// in the table smtp_mails, and an http.Handler serving the "outbox" page that
// lists them, with the failure switches. It is safe for concurrent use.
type Sandbox struct {
	sandboxkit.Board // SetBaseURL, BaseURL, SetLatency, Latency

	rejectNext sandboxkit.Once[bool]
	failNext   sandboxkit.Once[bool]

	db  *sql.DB
	cfg SandboxConfig
	mux *http.ServeMux
	srv *gosmtp.Server

	mu        sync.Mutex // guards the fields below
	listeners map[net.Listener]struct{}
	closed    bool
	signIns   int

	sessions sync.WaitGroup // one per SMTP session, until it logs out
}

// SandboxMail is a mail the sandbox received.
type SandboxMail struct {
	ID       int64
	From     string   // envelope sender
	To       []string // envelope recipients
	Subject  string   // decoded
	Text     string   // the text/plain part, decoded
	HTML     string   // the text/html part, decoded
	Raw      string   // the message as received
	AuthUser string
	TLS      bool
	Remote   string
	Received time.Time
}

// MessageID is the mail's Message-ID without angle brackets, "" when it has
// none.
func (m SandboxMail) MessageID() string {
	msg, err := mail.ReadMessage(strings.NewReader(m.Raw))
	if err != nil {
		return ""
	}
	return strings.Trim(msg.Header.Get("Message-ID"), "<> ")
}

// SandboxSwitches is the state of the failure switches.
type SandboxSwitches struct {
	RejectNextMail bool
	FailNextMail   bool
	Latency        time.Duration
}

const schema = `
CREATE TABLE IF NOT EXISTS smtp_mails (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	mail_from   TEXT    NOT NULL,
	rcpt_to     TEXT    NOT NULL, -- JSON list
	subject     TEXT    NOT NULL DEFAULT '',
	text_body   TEXT    NOT NULL DEFAULT '',
	html_body   TEXT    NOT NULL DEFAULT '',
	raw         TEXT    NOT NULL,
	auth_user   TEXT    NOT NULL DEFAULT '',
	tls         INTEGER NOT NULL DEFAULT 0,
	remote_addr TEXT    NOT NULL DEFAULT '',
	received_at TEXT    NOT NULL
);
`

// NewSandbox creates the sandbox's table in db (if missing) and returns it;
// call Serve, ServeTLS or ListenAndServe to accept SMTP connections.
func NewSandbox(db *sql.DB, cfg SandboxConfig) (*Sandbox, error) {
	if cfg.Username == "" && cfg.Password == "" {
		cfg.Username, cfg.Password = DemoUsername, DemoPassword
	}
	if len(cfg.AuthMechanisms) == 0 {
		cfg.AuthMechanisms = []string{sasl.Plain, sasl.Login}
	}
	if cfg.Hostname == "" {
		cfg.Hostname = DefaultHostname
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = 10 << 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if _, err := db.Exec(schema); err != nil {
		return nil, fmt.Errorf("smtp sandbox: create tables: %w", err)
	}
	s := &Sandbox{db: db, cfg: cfg, listeners: map[net.Listener]struct{}{}}
	srv := gosmtp.NewServer(backend{s})
	srv.Domain = cfg.Hostname
	srv.TLSConfig = cfg.TLSConfig
	srv.MaxMessageBytes = cfg.MaxMessageBytes
	srv.MaxRecipients = maxRcpts
	srv.ReadTimeout, srv.WriteTimeout = idleTimeout, idleTimeout
	// A sandbox on loopback: the client decides whether a password may go
	// unencrypted (ours does only to localhost), as a test needs both ways.
	srv.AllowInsecureAuth = true
	srv.ErrorLog = discardLog{}
	s.srv = srv
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.outboxPage)
	mux.HandleFunc("GET /mail/{id}", s.rawMail)
	mux.HandleFunc("POST /_control", sandboxkit.ControlHandler(s.control))
	s.mux = mux
	s.SetBaseURL(cfg.BaseURL)
	return s, nil
}

// discardLog drops go-smtp's log of connections that broke off: a client
// that hangs up is no news for a sandbox.
type discardLog struct{}

func (discardLog) Printf(string, ...any) {}
func (discardLog) Println(...any)        {}

// ServeHTTP serves the outbox page.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// RejectNextMail makes the server refuse the next recipient with 550.
func (s *Sandbox) RejectNextMail() { s.rejectNext.Arm(true) }

// FailNextMail makes the server answer the next MAIL FROM with 451 (a
// temporary failure).
func (s *Sandbox) FailNextMail() { s.failNext.Arm(true) }

// SetLatency (of the embedded Board) delays every step of a mail (MAIL,
// RCPT, DATA) by d (0 turns it off).

// SignIns is how many times a client signed in (a test's proof that a
// password was, or was not, sent).
func (s *Sandbox) SignIns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.signIns
}

// Switches returns the current state of the failure switches.
func (s *Sandbox) Switches() SandboxSwitches {
	return SandboxSwitches{RejectNextMail: s.rejectNext.Armed(), FailNextMail: s.failNext.Armed(), Latency: s.Latency()}
}

// ListenAndServe listens on addr ("127.0.0.1:2525") and serves SMTP until
// Close.
func (s *Sandbox) ListenAndServe(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(l)
}

// ServeTLS serves SMTP with implicit TLS (SMTPS, as on port 465) on l, with
// SandboxConfig.TLSConfig, until Close.
func (s *Sandbox) ServeTLS(l net.Listener) error {
	if s.cfg.TLSConfig == nil {
		return errors.Join(errors.New("smtp sandbox: ServeTLS needs SandboxConfig.TLSConfig"), l.Close())
	}
	return s.Serve(tls.NewListener(l, s.cfg.TLSConfig))
}

// Serve accepts SMTP connections on l until Close; it then returns
// ErrClosed.
func (s *Sandbox) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errors.Join(ErrClosed, l.Close())
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
	}()
	err := s.srv.Serve(l)
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return ErrClosed
	}
	return err
}

// Addr returns the address of a listener the sandbox serves on (nil when
// none), so a caller of ListenAndServe(":0") can learn its port.
func (s *Sandbox) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	for l := range s.listeners {
		return l.Addr()
	}
	return nil
}

// Close stops the listeners, drops open connections and waits for their
// sessions to end. It reports a listener that failed to close (its port may
// still be taken).
func (s *Sandbox) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	err := s.srv.Close()
	s.sessions.Wait()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("smtp sandbox: close: %w", err)
	}
	return nil
}

// ---------------------------------------------------------------- the protocol

// backend makes a session per SMTP connection (go-smtp's Backend).
type backend struct{ s *Sandbox }

// NewSession starts the session of a client that said EHLO.
func (b backend) NewSession(c *gosmtp.Conn) (gosmtp.Session, error) {
	b.s.sessions.Add(1)
	return &mailSession{s: b.s, conn: c}, nil
}

// mailSession is one client's conversation: who signed in, and the mail being
// given.
type mailSession struct {
	s        *Sandbox
	conn     *gosmtp.Conn
	authUser string
	from     string
	rcpts    []string
}

func smtpErr(code int, enhanced gosmtp.EnhancedCode, msg string) error {
	return &gosmtp.SMTPError{Code: code, EnhancedCode: enhanced, Message: msg}
}

// wait plays the latency switch.
func (ss *mailSession) wait() {
	sandboxkit.Wait(context.Background(), ss.s.Latency())
}

// AuthMechanisms are the mechanisms offered: none without credentials.
func (ss *mailSession) AuthMechanisms() []string {
	if ss.s.cfg.Username == "" {
		return nil
	}
	return ss.s.cfg.AuthMechanisms
}

// Auth checks a client's credentials with the mechanism it chose.
func (ss *mailSession) Auth(mech string) (sasl.Server, error) {
	if !containsFold(ss.AuthMechanisms(), mech) {
		return nil, smtpErr(504, gosmtp.EnhancedCode{5, 5, 4}, "Unrecognized authentication type")
	}
	check := func(identity, user, pass string) error {
		cfg := ss.s.cfg
		ok := subtle.ConstantTimeCompare([]byte(user), []byte(cfg.Username)) == 1
		ok = subtle.ConstantTimeCompare([]byte(pass), []byte(cfg.Password)) == 1 && ok
		if !ok || (identity != "" && identity != user) {
			return smtpErr(535, gosmtp.EnhancedCode{5, 7, 8}, "Authentication credentials invalid")
		}
		ss.authUser = user
		ss.s.mu.Lock()
		ss.s.signIns++
		ss.s.mu.Unlock()
		return nil
	}
	if strings.EqualFold(mech, sasl.Login) {
		return &loginServer{check: check}, nil
	}
	return sasl.NewPlainServer(check), nil
}

// loginServer is the server side of AUTH LOGIN (go-sasl has PLAIN only): it
// asks for the user name, then the password, each base64 on its own line.
type loginServer struct {
	check func(identity, user, pass string) error
	user  string
	step  int
}

// Next takes the client's answer and gives the next challenge.
func (l *loginServer) Next(response []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step++
		if response == nil {
			return []byte("Username:"), false, nil
		}
		// An initial response is the user name (AUTH LOGIN dXNlcg==).
		l.user = string(response)
		l.step++
		return []byte("Password:"), false, nil
	case 1:
		l.user = string(response)
		l.step++
		return []byte("Password:"), false, nil
	default:
		return nil, true, l.check("", l.user, string(response))
	}
}

// Mail starts a mail: only after signing in (unless AllowAnonymous), and
// the failure switch answers 451.
func (ss *mailSession) Mail(from string, opts *gosmtp.MailOptions) error {
	ss.wait()
	cfg := ss.s.cfg
	if cfg.Username != "" && !cfg.AllowAnonymous && ss.authUser == "" {
		return smtpErr(530, gosmtp.EnhancedCode{5, 7, 0}, "Authentication required")
	}
	if ss.s.failNext.Take() {
		return smtpErr(451, gosmtp.EnhancedCode{4, 3, 0}, "Temporary failure, try again later (sandbox switch)")
	}
	ss.from, ss.rcpts = from, nil
	return nil
}

// Rcpt adds a recipient; the reject switch refuses it with 550.
func (ss *mailSession) Rcpt(to string, opts *gosmtp.RcptOptions) error {
	ss.wait()
	if ss.s.rejectNext.Take() {
		return smtpErr(550, gosmtp.EnhancedCode{5, 1, 1}, "<"+to+">: Recipient address rejected: mailbox unavailable (sandbox switch)")
	}
	ss.rcpts = append(ss.rcpts, to)
	return nil
}

// Data stores the mail.
func (ss *mailSession) Data(r io.Reader) error {
	ss.wait()
	body, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if err := ss.s.store(ss, body); err != nil {
		return smtpErr(451, gosmtp.EnhancedCode{4, 3, 0}, "Cannot store the message: "+oneLine(err.Error()))
	}
	return nil
}

// Reset forgets the mail being given.
func (ss *mailSession) Reset() { ss.from, ss.rcpts = "", nil }

// Logout ends the session.
func (ss *mailSession) Logout() error {
	ss.s.sessions.Done()
	return nil
}

// ---------------------------------------------------------------- storage

func (s *Sandbox) store(ss *mailSession, body []byte) error {
	subject, text, html := parseMail(body)
	to, err := json.Marshal(ss.rcpts)
	if err != nil {
		return err
	}
	_, tlsOn := ss.conn.TLSConnectionState()
	_, err = s.db.Exec(`INSERT INTO smtp_mails (mail_from, rcpt_to, subject, text_body, html_body, raw, auth_user, tls, remote_addr, received_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		ss.from, string(to), subject, text, html, string(body), ss.authUser, tlsOn, ss.conn.Conn().RemoteAddr().String(),
		s.cfg.Now().UTC().Format(time.RFC3339Nano))
	return err
}

// parseMail decodes what the outbox shows: the subject (encoded words
// decoded) and the text and HTML parts (transfer encodings undone). A
// message that is not valid MIME is shown as text, never refused.
func parseMail(raw []byte) (subject, text, html string) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return "", string(raw), ""
	}
	subject = msg.Header.Get("Subject")
	if dec, err := new(mime.WordDecoder).DecodeHeader(subject); err == nil {
		subject = dec
	}
	text, html = walkPart(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, 0)
	return subject, strings.ReplaceAll(text, "\r\n", "\n"), strings.ReplaceAll(html, "\r\n", "\n")
}

func walkPart(ctype, cte string, body io.Reader, depth int) (text, html string) {
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil || ctype == "" {
		mt = "text/plain"
	}
	if strings.HasPrefix(mt, "multipart/") {
		if depth > 4 || params["boundary"] == "" {
			return "", ""
		}
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				return text, html
			}
			// NextPart undoes quoted-printable itself and hides the header.
			t, h := walkPart(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, depth+1)
			if text == "" {
				text = t
			}
			if html == "" {
				html = h
			}
		}
	}
	var r io.Reader = body
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, body)
	}
	b, _ := io.ReadAll(io.LimitReader(r, 10<<20))
	switch mt {
	case "text/html":
		return "", string(b)
	case "text/plain":
		return string(b), ""
	}
	return "", ""
}

// Mails returns the latest mails, newest first.
func (s *Sandbox) Mails(limit int) ([]SandboxMail, error) {
	rows, err := s.db.Query(`SELECT id, mail_from, rcpt_to, subject, text_body, html_body, raw, auth_user, tls, remote_addr, received_at
		FROM smtp_mails ORDER BY id DESC LIMIT ?`, limit)
	return sandboxdb.Collect(rows, err, func(r sandboxdb.Scanner) (SandboxMail, error) {
		m, err := scanMail(r)
		if err != nil {
			return SandboxMail{}, err
		}
		return *m, nil
	})
}

// Mail returns one mail by id.
func (s *Sandbox) Mail(id int64) (*SandboxMail, error) {
	row := s.db.QueryRow(`SELECT id, mail_from, rcpt_to, subject, text_body, html_body, raw, auth_user, tls, remote_addr, received_at
		FROM smtp_mails WHERE id = ?`, id)
	m, err := scanMail(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return m, err
}

func scanMail(sc interface{ Scan(...any) error }) (*SandboxMail, error) {
	var m SandboxMail
	var to, at string
	if err := sc.Scan(&m.ID, &m.From, &to, &m.Subject, &m.Text, &m.HTML, &m.Raw, &m.AuthUser, &m.TLS, &m.Remote, &at); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(to), &m.To); err != nil {
		return nil, fmt.Errorf("smtp sandbox: mail %d: recipients: %w", m.ID, err)
	}
	var err error
	if m.Received, err = time.Parse(time.RFC3339Nano, at); err != nil {
		return nil, err
	}
	return &m, nil
}

// ---------------------------------------------------------------- the outbox page

type outboxView struct {
	Addr     string
	User     string
	Password string
	Switches SandboxSwitches
	Mails    []SandboxMail
	Error    string
}

func (s *Sandbox) outboxPage(w http.ResponseWriter, r *http.Request) {
	v := outboxView{User: s.cfg.Username, Password: s.cfg.Password, Switches: s.Switches()}
	if a := s.Addr(); a != nil {
		v.Addr = a.String()
	}
	var err error
	if v.Mails, err = s.Mails(200); err != nil {
		v.Error = err.Error()
	}
	sandboxkit.Render(w, http.StatusOK, outboxTmpl, v)
}

func (s *Sandbox) rawMail(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	m, err := s.Mail(id)
	if err != nil {
		http.Error(w, "no such mail", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	httpbody.Write(w, []byte(m.Raw))
}

// control applies one switch or helper from the control page; what a helper
// fails to send is recorded on its row, which the page shows.
func (s *Sandbox) control(r *http.Request) error {
	switch r.FormValue("action") {
	case "reject_next":
		s.RejectNextMail()
	case "fail_next":
		s.FailNextMail()
	case "clear":
		s.rejectNext.Arm(false)
		s.failNext.Arm(false)
	case "latency":
		return sandboxkit.SetLatency(r.FormValue("ms"), s.SetLatency)
	case "delete_all":
		_, err := s.db.ExecContext(r.Context(), `DELETE FROM smtp_mails`)
		return err
	default:
		return sandboxkit.ErrUnknownAction
	}
	return nil
}

var outboxTmpl = sandboxkit.Page("outbox", `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>SMTP sandbox: outbox</title>
<style>body{font-family:sans-serif;margin:2em}.mail{border:1px solid #ccc;padding:.5em 1em;margin:1em 0}.body{white-space:pre-wrap;background:#f7f7f7;padding:.5em}form{display:inline}</style></head>
<body data-testid="sandbox-smtp-outbox">
<h1>SMTP sandbox: outbox</h1>
<p>SMTP server: <code>{{if .Addr}}{{.Addr}}{{else}}not listening{{end}}</code>, AUTH PLAIN or LOGIN <code>{{.User}}</code> / <code>{{.Password}}</code>.</p>
{{if .Error}}<p>{{.Error}}</p>{{end}}
<h2>Switches</h2>
<p><form method="post" action="_control"><input type="hidden" name="action" value="reject_next">
<button data-testid="sandbox-reject-next">Reject next mail with 550{{if .Switches.RejectNextMail}} (armed){{end}}</button></form>
<form method="post" action="_control"><input type="hidden" name="action" value="fail_next">
<button data-testid="sandbox-fail-next">Fail next mail with 451{{if .Switches.FailNextMail}} (armed){{end}}</button></form>
<form method="post" action="_control"><input type="hidden" name="action" value="clear"><button>Clear switches</button></form>
<form method="post" action="_control"><input type="hidden" name="action" value="delete_all"><button data-testid="sandbox-delete-all">Empty the outbox</button></form></p>
<p><form method="post" action="_control"><input type="hidden" name="action" value="latency">
<input name="ms" type="number" min="0" value="{{.Switches.Latency.Milliseconds}}"> ms per reply <button data-testid="sandbox-latency">Set latency</button></form></p>
<h2>Received mail</h2>
{{range .Mails}}
<div class="mail" data-testid="sandbox-mail">
<p><strong data-testid="sandbox-mail-subject">{{.Subject}}</strong><br>
To: <span data-testid="sandbox-mail-to">{{range $i, $t := .To}}{{if $i}}, {{end}}{{$t}}{{end}}</span><br>
From: {{.From}} · {{.Received.Format "2006-01-02 15:04:05"}} UTC{{if .TLS}} · TLS{{end}}{{if .AuthUser}} · signed in as {{.AuthUser}}{{end}} · <a href="mail/{{.ID}}">raw</a></p>
{{if .Text}}<div class="body" data-testid="sandbox-mail-text">{{.Text}}</div>{{end}}
{{if .HTML}}<details><summary>HTML part</summary><div class="body">{{.HTML}}</div></details>{{end}}
</div>
{{else}}<p>No mail yet.</p>{{end}}
</body></html>`, nil)
