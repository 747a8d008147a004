package smtp

import (
	"bufio"
	"bytes"
	"context"
	"crypto/subtle"
	"crypto/tls"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/mail"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"time"

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

// Limits of the protocol: a command line is at most 512 octets in RFC 5321;
// some room is left for long addresses. A client idle this long is dropped.
const (
	maxLine     = 2048
	maxRcpts    = 100
	idleTimeout = 5 * time.Minute
)

// SandboxConfig configures NewSandbox.
type SandboxConfig struct {
	// Username and Password are the AUTH PLAIN credentials the server
	// accepts (default DemoUsername / DemoPassword).
	Username string
	Password string
	// AllowAnonymous accepts mail without AUTH (by default MAIL FROM before
	// AUTH gets 530, like a submission server).
	AllowAnonymous bool
	// Hostname is the name in the greeting (default DefaultHostname).
	Hostname string
	// BaseURL is where the outbox page is mounted, e.g.
	// "http://localhost:8080/sandbox/smtp".
	BaseURL string
	// TLSConfig, when set, makes the server offer STARTTLS.
	TLSConfig *tls.Config
	// MaxMessageBytes is the largest message accepted (default 10 MiB).
	MaxMessageBytes int64
	// Now is the sandbox clock (default time.Now).
	Now func() time.Time
}

// Sandbox is a small SMTP server (EHLO/HELO, STARTTLS, AUTH PLAIN, MAIL,
// RCPT, DATA, RSET, NOOP, QUIT) that stores every mail it accepts in the
// table smtp_mails, and an http.Handler serving the "outbox" page that lists
// them, with the failure switches. It is safe for concurrent use.
type Sandbox struct {
	db  *sql.DB
	cfg SandboxConfig
	mux *http.ServeMux

	mu         sync.Mutex // guards the fields below
	baseURL    string
	listeners  map[net.Listener]struct{}
	conns      map[net.Conn]struct{}
	closed     bool
	rejectNext bool
	failNext   bool
	latency    time.Duration

	wg sync.WaitGroup // one per open connection
}

// SandboxMail is a mail the sandbox received.
type SandboxMail struct {
	ID       int64
	From     string   // envelope sender
	To       []string // envelope recipients
	Subject  string   // decoded
	Text     string   // the text/plain part, decoded
	HTML     string   // the text/html part, decoded
	Raw      string   // the message as received (after dot-unstuffing)
	AuthUser string
	TLS      bool
	Remote   string
	Received time.Time
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
// call Serve or ListenAndServe to accept SMTP connections.
func NewSandbox(db *sql.DB, cfg SandboxConfig) (*Sandbox, error) {
	if cfg.Username == "" && cfg.Password == "" {
		cfg.Username, cfg.Password = DemoUsername, DemoPassword
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
	s := &Sandbox{db: db, cfg: cfg, baseURL: strings.TrimRight(cfg.BaseURL, "/"),
		listeners: map[net.Listener]struct{}{}, conns: map[net.Conn]struct{}{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.outboxPage)
	mux.HandleFunc("GET /mail/{id}", s.rawMail)
	mux.HandleFunc("POST /_control", s.controlAction)
	s.mux = mux
	return s, nil
}

// ServeHTTP serves the outbox page.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// SetBaseURL sets the public URL the outbox page is mounted at.
func (s *Sandbox) SetBaseURL(u string) {
	s.mu.Lock()
	s.baseURL = strings.TrimRight(u, "/")
	s.mu.Unlock()
}

// BaseURL returns the public URL the outbox page is mounted at.
func (s *Sandbox) BaseURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.baseURL
}

// RejectNextMail makes the server refuse the next recipient with 550.
func (s *Sandbox) RejectNextMail() { s.setFlag(&s.rejectNext) }

// FailNextMail makes the server answer the next MAIL FROM with 451 (a
// temporary failure).
func (s *Sandbox) FailNextMail() { s.setFlag(&s.failNext) }

// SetLatency delays every reply by d (0 turns it off).
func (s *Sandbox) SetLatency(d time.Duration) {
	s.mu.Lock()
	s.latency = d
	s.mu.Unlock()
}

// Switches returns the current state of the failure switches.
func (s *Sandbox) Switches() SandboxSwitches {
	s.mu.Lock()
	defer s.mu.Unlock()
	return SandboxSwitches{RejectNextMail: s.rejectNext, FailNextMail: s.failNext, Latency: s.latency}
}

func (s *Sandbox) setFlag(p *bool) {
	s.mu.Lock()
	*p = true
	s.mu.Unlock()
}

func (s *Sandbox) take(p *bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := *p
	*p = false
	return v
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
	for {
		conn, err := l.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return ErrClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return err
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return errors.Join(ErrClosed, conn.Close())
		}
		s.conns[conn] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, conn)
				s.mu.Unlock()
				hangUp(conn)
			}()
			s.handle(conn)
		}()
	}
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
// handlers to end. It reports a listener that failed to close (its port may
// still be taken); dropping a connection is a hang-up, see hangUp.
func (s *Sandbox) Close() error {
	var errs []error
	s.mu.Lock()
	s.closed = true
	for l := range s.listeners {
		if err := l.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, fmt.Errorf("smtp sandbox: close listener %s: %w", l.Addr(), err))
		}
	}
	for c := range s.conns {
		hangUp(c)
	}
	s.mu.Unlock()
	s.wg.Wait()
	return errors.Join(errs...)
}

// ---------------------------------------------------------------- the protocol

var errLineTooLong = errors.New("line too long")

type smtpSession struct {
	s        *Sandbox
	conn     net.Conn
	br       *bufio.Reader
	bw       *bufio.Writer
	remote   string
	greeted  bool
	tls      bool
	authUser string
	hasFrom  bool
	from     string
	rcpts    []string
}

func (ss *smtpSession) reply(code int, lines ...string) error {
	if d := ss.s.Switches().Latency; d > 0 {
		time.Sleep(d)
	}
	if err := ss.conn.SetWriteDeadline(time.Now().Add(idleTimeout)); err != nil {
		return err
	}
	for i, l := range lines {
		sep := " "
		if i < len(lines)-1 {
			sep = "-"
		}
		if _, err := fmt.Fprintf(ss.bw, "%d%s%s\r\n", code, sep, l); err != nil {
			return err
		}
	}
	return ss.bw.Flush()
}

// readLine reads one command line; a line longer than maxLine is consumed
// and reported as errLineTooLong.
func (ss *smtpSession) readLine() (string, error) {
	if err := ss.conn.SetReadDeadline(time.Now().Add(idleTimeout)); err != nil {
		return "", err
	}
	line, err := ss.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = ss.br.ReadSlice('\n')
		}
		if err != nil {
			return "", err
		}
		return "", errLineTooLong
	}
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(line), "\r\n"), nil
}

func (ss *smtpSession) reset() {
	ss.hasFrom, ss.from, ss.rcpts = false, "", nil
}

func (s *Sandbox) handle(conn net.Conn) {
	ss := &smtpSession{s: s, conn: conn, br: bufio.NewReaderSize(conn, maxLine), bw: bufio.NewWriter(conn), remote: conn.RemoteAddr().String()}
	if ss.reply(220, s.cfg.Hostname+" ESMTP OrderDesk sandbox ready") != nil {
		return
	}
	for {
		line, err := ss.readLine()
		if errors.Is(err, errLineTooLong) {
			if ss.reply(500, "5.5.6 Line too long") != nil {
				return
			}
			continue
		}
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		arg = strings.TrimSpace(arg)
		var rerr error
		quit := false
		switch strings.ToUpper(verb) {
		case "HELO", "EHLO":
			rerr = ss.hello(strings.ToUpper(verb), arg)
		case "STARTTLS":
			rerr = ss.startTLS(arg)
		case "AUTH":
			rerr = ss.auth(arg)
		case "MAIL":
			rerr = ss.mail(arg)
		case "RCPT":
			rerr = ss.rcpt(arg)
		case "DATA":
			rerr = ss.data(arg)
		case "RSET":
			ss.reset()
			rerr = ss.reply(250, "2.0.0 OK")
		case "NOOP":
			rerr = ss.reply(250, "2.0.0 OK")
		case "VRFY":
			rerr = ss.reply(252, "2.5.2 Cannot VRFY user, but will accept message")
		case "QUIT":
			rerr = ss.reply(221, "2.0.0 Bye")
			quit = true
		default:
			rerr = ss.reply(500, "5.5.2 Command not recognized")
		}
		// A failed reply means the client went away or broke the protocol:
		// the session ends, as it does after QUIT.
		if rerr != nil || quit {
			return
		}
	}
}

func (ss *smtpSession) hello(verb, arg string) error {
	if arg == "" {
		return ss.reply(501, "5.5.4 Syntax: "+verb+" hostname")
	}
	ss.greeted = true
	ss.reset()
	if verb == "HELO" {
		return ss.reply(250, ss.s.cfg.Hostname)
	}
	lines := []string{ss.s.cfg.Hostname + " greets " + arg, "SIZE " + strconv.FormatInt(ss.s.cfg.MaxMessageBytes, 10), "8BITMIME", "ENHANCEDSTATUSCODES"}
	if ss.s.cfg.TLSConfig != nil && !ss.tls {
		lines = append(lines, "STARTTLS")
	}
	if ss.s.cfg.Username != "" {
		lines = append(lines, "AUTH PLAIN")
	}
	return ss.reply(250, lines...)
}

// errPipelinedTLS ends a session that sent commands behind STARTTLS.
var errPipelinedTLS = errors.New("commands pipelined after STARTTLS")

// startTLS upgrades the connection; an error ends the session.
func (ss *smtpSession) startTLS(arg string) error {
	switch {
	case ss.s.cfg.TLSConfig == nil:
		return ss.reply(502, "5.5.1 STARTTLS not offered")
	case ss.tls:
		return ss.reply(503, "5.5.1 TLS already active")
	case !ss.greeted:
		return ss.reply(503, "5.5.1 EHLO first")
	case arg != "":
		return ss.reply(501, "5.5.4 STARTTLS takes no parameters")
	}
	// Commands pipelined after STARTTLS would be read as if they came over
	// TLS (a plaintext injection): refuse them and end, as RFC 3207 asks.
	if ss.br.Buffered() > 0 {
		return errors.Join(errPipelinedTLS, ss.reply(503, "5.5.1 Commands after STARTTLS must wait for the handshake"))
	}
	if err := ss.reply(220, "2.0.0 Ready to start TLS"); err != nil {
		return err
	}
	tc := tls.Server(ss.conn, ss.s.cfg.TLSConfig)
	if err := tc.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		return err
	}
	if err := tc.Handshake(); err != nil {
		return err
	}
	if err := tc.SetDeadline(time.Time{}); err != nil {
		return err
	}
	ss.conn, ss.br, ss.bw = tc, bufio.NewReaderSize(tc, maxLine), bufio.NewWriter(tc)
	// After TLS the client starts over: a new EHLO, no sign-in yet.
	ss.tls, ss.greeted, ss.authUser = true, false, ""
	ss.reset()
	return nil
}

func (ss *smtpSession) auth(arg string) error {
	cfg := ss.s.cfg
	switch {
	case !ss.greeted:
		return ss.reply(503, "5.5.1 EHLO first")
	case cfg.Username == "":
		return ss.reply(503, "5.5.1 AUTH not offered")
	case ss.authUser != "":
		return ss.reply(503, "5.5.1 Already authenticated")
	case ss.hasFrom:
		return ss.reply(503, "5.5.1 AUTH not allowed during a mail transaction")
	}
	mech, resp, _ := strings.Cut(arg, " ")
	if !strings.EqualFold(mech, "PLAIN") {
		return ss.reply(504, "5.5.4 Unrecognized authentication type")
	}
	resp = strings.TrimSpace(resp)
	if resp == "" {
		if err := ss.reply(334, ""); err != nil {
			return err
		}
		line, err := ss.readLine()
		if errors.Is(err, errLineTooLong) {
			return ss.reply(500, "5.5.6 Line too long")
		}
		if err != nil {
			return err
		}
		resp = strings.TrimSpace(line)
	}
	if resp == "*" {
		return ss.reply(501, "5.7.0 Authentication cancelled")
	}
	if resp == "=" {
		resp = ""
	}
	dec, err := base64.StdEncoding.DecodeString(resp)
	if err != nil {
		return ss.reply(501, "5.5.2 Cannot decode the response")
	}
	parts := bytes.Split(dec, []byte{0})
	if len(parts) != 3 {
		return ss.reply(501, "5.5.2 Malformed PLAIN response")
	}
	authz, user, pass := string(parts[0]), string(parts[1]), string(parts[2])
	ok := subtle.ConstantTimeCompare([]byte(user), []byte(cfg.Username)) == 1
	ok = subtle.ConstantTimeCompare([]byte(pass), []byte(cfg.Password)) == 1 && ok
	if !ok || (authz != "" && authz != user) {
		return ss.reply(535, "5.7.8 Authentication credentials invalid")
	}
	ss.authUser = user
	return ss.reply(235, "2.7.0 Authentication successful")
}

// path reads "<addr>" (and returns the parameters after it) from the
// argument of MAIL FROM: or RCPT TO:.
func path(arg, prefix string) (addr string, params []string, ok bool) {
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return "", nil, false
	}
	rest := strings.TrimSpace(arg[len(prefix):])
	if !strings.HasPrefix(rest, "<") {
		return "", nil, false
	}
	end := strings.IndexByte(rest, '>')
	if end < 0 {
		return "", nil, false
	}
	return rest[1:end], strings.Fields(rest[end+1:]), true
}

func validMailbox(a string) bool {
	if strings.ContainsAny(a, " \t<>") || !strings.Contains(a, "@") {
		return false
	}
	_, err := mail.ParseAddress("<" + a + ">")
	return err == nil
}

func (ss *smtpSession) mail(arg string) error {
	cfg := ss.s.cfg
	switch {
	case !ss.greeted:
		return ss.reply(503, "5.5.1 EHLO first")
	case cfg.Username != "" && !cfg.AllowAnonymous && ss.authUser == "":
		return ss.reply(530, "5.7.0 Authentication required")
	case ss.hasFrom:
		return ss.reply(503, "5.5.1 Nested MAIL command")
	}
	addr, params, ok := path(arg, "FROM:")
	// The null sender <> is allowed (bounces).
	if !ok || (addr != "" && !validMailbox(addr)) {
		return ss.reply(501, "5.1.7 Bad sender address syntax")
	}
	for _, p := range params {
		k, v, _ := strings.Cut(p, "=")
		if strings.EqualFold(k, "SIZE") {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return ss.reply(501, "5.5.4 Bad SIZE parameter")
			}
			if n > cfg.MaxMessageBytes {
				return ss.reply(552, "5.3.4 Message size exceeds fixed maximum message size")
			}
		}
	}
	if ss.s.take(&ss.s.failNext) {
		return ss.reply(451, "4.3.0 Temporary failure, try again later (sandbox switch)")
	}
	ss.hasFrom, ss.from = true, addr
	return ss.reply(250, "2.1.0 OK")
}

func (ss *smtpSession) rcpt(arg string) error {
	if !ss.hasFrom {
		return ss.reply(503, "5.5.1 Need MAIL command")
	}
	addr, _, ok := path(arg, "TO:")
	if !ok || !validMailbox(addr) {
		return ss.reply(501, "5.1.3 Bad recipient address syntax")
	}
	if len(ss.rcpts) >= maxRcpts {
		return ss.reply(452, "4.5.3 Too many recipients")
	}
	if ss.s.take(&ss.s.rejectNext) {
		return ss.reply(550, "5.1.1 <"+addr+">: Recipient address rejected: mailbox unavailable (sandbox switch)")
	}
	ss.rcpts = append(ss.rcpts, addr)
	return ss.reply(250, "2.1.5 OK")
}

func (ss *smtpSession) data(arg string) error {
	switch {
	case !ss.hasFrom:
		return ss.reply(503, "5.5.1 Need MAIL command")
	case len(ss.rcpts) == 0:
		return ss.reply(503, "5.5.1 Need RCPT command")
	case arg != "":
		return ss.reply(501, "5.5.4 DATA takes no parameters")
	}
	if err := ss.reply(354, "End data with <CR><LF>.<CR><LF>"); err != nil {
		return err
	}
	if err := ss.conn.SetReadDeadline(time.Now().Add(idleTimeout)); err != nil {
		return err
	}
	// DotReader undoes the dot-stuffing and stops at the lone "." line.
	dr := textproto.NewReader(ss.br).DotReader()
	max := ss.s.cfg.MaxMessageBytes
	body, err := io.ReadAll(io.LimitReader(dr, max+1))
	if err != nil {
		return err
	}
	if int64(len(body)) > max {
		if _, err := io.Copy(io.Discard, dr); err != nil {
			return err
		}
		ss.reset()
		return ss.reply(552, "5.3.4 Message size exceeds fixed maximum message size")
	}
	id, err := ss.s.store(ss, body)
	ss.reset()
	if err != nil {
		return ss.reply(451, "4.3.0 Cannot store the message: "+oneLine(err.Error()))
	}
	return ss.reply(250, fmt.Sprintf("2.0.0 OK: queued as %d", id))
}

// ---------------------------------------------------------------- storage

func (s *Sandbox) store(ss *smtpSession, body []byte) (int64, error) {
	subject, text, html := parseMail(body)
	to, err := json.Marshal(ss.rcpts)
	if err != nil {
		return 0, err
	}
	res, err := s.db.Exec(`INSERT INTO smtp_mails (mail_from, rcpt_to, subject, text_body, html_body, raw, auth_user, tls, remote_addr, received_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		ss.from, string(to), subject, text, html, string(body), ss.authUser, ss.tls, ss.remote, s.cfg.Now().UTC().Format(time.RFC3339Nano))
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
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
	var buf bytes.Buffer
	if err := outboxTmpl.Execute(&buf, v); err != nil {
		http.Error(w, "template error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	httpbody.Write(w, buf.Bytes())
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

func (s *Sandbox) controlAction(w http.ResponseWriter, r *http.Request) {
	switch r.FormValue("action") {
	case "reject_next":
		s.RejectNextMail()
	case "fail_next":
		s.FailNextMail()
	case "clear":
		s.mu.Lock()
		s.rejectNext, s.failNext = false, false
		s.mu.Unlock()
	case "latency":
		ms, err := strconv.Atoi(r.FormValue("ms"))
		if err != nil || ms < 0 {
			http.Error(w, "latency must be a whole number of milliseconds", http.StatusBadRequest)
			return
		}
		s.SetLatency(time.Duration(ms) * time.Millisecond)
	case "delete_all":
		if _, err := s.db.ExecContext(context.Background(), `DELETE FROM smtp_mails`); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	default:
		http.Error(w, "unknown action", http.StatusBadRequest)
		return
	}
	// A relative Location: the sandbox does not know the prefix it is mounted
	// under.
	w.Header().Set("Location", "./")
	w.WriteHeader(http.StatusSeeOther)
}

var outboxTmpl = template.Must(template.New("outbox").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>SMTP sandbox: outbox</title>
<style>body{font-family:sans-serif;margin:2em}.mail{border:1px solid #ccc;padding:.5em 1em;margin:1em 0}.body{white-space:pre-wrap;background:#f7f7f7;padding:.5em}form{display:inline}</style></head>
<body data-testid="sandbox-smtp-outbox">
<h1>SMTP sandbox: outbox</h1>
<p>SMTP server: <code>{{if .Addr}}{{.Addr}}{{else}}not listening{{end}}</code>, AUTH PLAIN <code>{{.User}}</code> / <code>{{.Password}}</code>.</p>
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
</body></html>`))
