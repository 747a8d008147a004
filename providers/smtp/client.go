// Package smtp sends the shop's e-mails (the customer messages of seed 004)
// over SMTP with github.com/wneessen/go-mail, and provides a sandbox: an SMTP
// server on github.com/emersion/go-smtp that keeps every mail it receives and
// shows them on an "outbox" web page.
//
// The client speaks SMTP through go-mail: implicit TLS from the first byte
// (SMTPS, port 465, or Config.ImplicitTLS), else STARTTLS whenever the server
// offers it (unless Config.DisableTLS; Config.RequireTLS refuses a server
// without it), then AUTH PLAIN, or AUTH LOGIN when the server offers no PLAIN
// (Office 365), when credentials are configured. A password is never sent
// over an unencrypted connection except to localhost. Messages are proper
// MIME (UTF-8, quoted-printable, multipart/alternative for text + HTML,
// encoded-word subjects).
//
// Idempotency: SMTP has none. A mail's Message.MessageID should be fixed for
// the message (the outbox's key), so that a copy is at least recognisable;
// the caller marks a mail sent as soon as Send returns nil, and never sends
// blindly again a mail whose try was cut off.
//
// Wiring in the app: start the sandbox's SMTP listener with
// ListenAndServe (e.g. on 127.0.0.1:2525) next to the web server, mount its
// outbox page with
//
//	mux.Handle("/sandbox/smtp/", http.StripPrefix("/sandbox/smtp", sb))
//
// and point the demo's SMTP integration at the listener's address with
// DemoUsername / DemoPassword.
package smtp

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/textproto"
	"regexp"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
	gosmtp "github.com/wneessen/go-mail/smtp"
)

// Stages of an SMTP session, as Error.Stage.
const (
	StageConnect  = "connect"
	StageTLS      = "TLS"
	StageGreeting = "greeting"
	StageHello    = "EHLO"
	StageStartTLS = "STARTTLS"
	StageAuth     = "AUTH"
	StageMail     = "MAIL FROM"
	StageRcpt     = "RCPT TO"
	StageData     = "DATA"
	StageQuit     = "QUIT"
)

// Sign-in mechanisms for Config.Auth.
const (
	AuthPlain = "PLAIN"
	AuthLogin = "LOGIN"
)

// ErrTLSRequired is returned when Config.RequireTLS is set and the server
// does not offer STARTTLS.
var ErrTLSRequired = errors.New("smtp: the server does not offer STARTTLS")

// ErrNoAuth is returned when credentials are configured but the server
// offers neither AUTH PLAIN nor AUTH LOGIN (or not the one Config.Auth asks
// for).
var ErrNoAuth = errors.New("smtp: the server does not offer AUTH PLAIN or LOGIN")

// ErrBadAddress is returned by Send and Message.Bytes for an address that is
// not a valid e-mail address.
var ErrBadAddress = errors.New("smtp: not a valid e-mail address")

// Config holds what New needs.
type Config struct {
	// Addr is the server's host:port (587 for submission with STARTTLS, 465
	// for implicit TLS).
	Addr string
	// Username and Password enable AUTH; empty sends without signing in.
	Username string
	Password string
	// Auth is the sign-in mechanism: AuthPlain, AuthLogin, or "" for PLAIN
	// when the server offers it, else LOGIN (Office 365 offers no PLAIN).
	Auth string
	// TLSConfig is used for TLS (default: verify the certificate for the host
	// of Addr).
	TLSConfig *tls.Config
	// ImplicitTLS speaks TLS from the first byte (SMTPS); it is the default
	// for port 465.
	ImplicitTLS bool
	// DisableTLS never uses STARTTLS (a local relay or the sandbox).
	DisableTLS bool
	// RequireTLS refuses to sign in or send when the connection is not
	// encrypted (no implicit TLS and no STARTTLS offered).
	RequireTLS bool
	// LocalName is the name sent with EHLO (default "localhost").
	LocalName string
	// Timeout bounds a whole session when the context has no deadline
	// (default 30 s).
	Timeout time.Duration
	// Dial opens the TCP connection to Addr (default: a net.Dialer). The app
	// passes one that refuses internal addresses; implicit TLS is started on
	// the connection it returns.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Client sends mail through one SMTP server; it opens a connection per Send.
// It is safe for concurrent use.
type Client struct {
	cfg  Config
	host string
	port int
}

// New returns a client for cfg.
func New(cfg Config) *Client {
	if cfg.LocalName == "" {
		cfg.LocalName = "localhost"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	host, portText, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		host = cfg.Addr
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port <= 0 {
		port = 587
	}
	if port == 465 {
		cfg.ImplicitTLS = true
	}
	return &Client{cfg: cfg, host: host, port: port}
}

// Message is an e-mail. Give Text, HTML or both (then a multipart/alternative
// message is built, with the text first as the fallback).
type Message struct {
	// From is "Shop name <shop@example.com>" or a bare address.
	From string
	// To are the recipients, in the same forms.
	To      []string
	ReplyTo string
	Subject string
	Text    string
	HTML    string
	// MessageID is the Message-ID without angle brackets; default random.
	MessageID string
	// Date defaults to now.
	Date time.Time
}

// msg builds m as go-mail's message, refusing an address that is not one.
func (m Message) msg() (*gomail.Msg, error) {
	g := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if _, err := mail.ParseAddress(m.From); err != nil {
		return nil, fmt.Errorf("%w: From %q", ErrBadAddress, m.From)
	}
	if err := g.From(m.From); err != nil {
		return nil, fmt.Errorf("%w: From %q", ErrBadAddress, m.From)
	}
	if len(m.To) == 0 {
		return nil, fmt.Errorf("%w: no recipient", ErrBadAddress)
	}
	for _, a := range m.To {
		if _, err := mail.ParseAddress(a); err != nil {
			return nil, fmt.Errorf("%w: To %q", ErrBadAddress, a)
		}
	}
	if err := g.To(m.To...); err != nil {
		return nil, fmt.Errorf("%w: To %q", ErrBadAddress, strings.Join(m.To, ", "))
	}
	if m.ReplyTo != "" {
		if _, err := mail.ParseAddress(m.ReplyTo); err != nil {
			return nil, fmt.Errorf("%w: Reply-To %q", ErrBadAddress, m.ReplyTo)
		}
		if err := g.ReplyTo(m.ReplyTo); err != nil {
			return nil, fmt.Errorf("%w: Reply-To %q", ErrBadAddress, m.ReplyTo)
		}
	}
	// Line breaks are flattened: a header value must not inject headers.
	g.Subject(oneLine(m.Subject))
	date := m.Date
	if date.IsZero() {
		date = time.Now()
	}
	g.SetDateWithValue(date)
	if id := strings.Trim(oneLine(m.MessageID), "<> "); id != "" {
		g.SetMessageIDWithValue(id)
	} else {
		g.SetMessageID()
	}
	text, html := normalizeEOL(m.Text), normalizeEOL(m.HTML)
	switch {
	case text != "" && html != "":
		g.SetBodyString(gomail.TypeTextPlain, text)
		g.AddAlternativeString(gomail.TypeTextHTML, html)
	case html != "":
		g.SetBodyString(gomail.TypeTextHTML, html)
	default:
		g.SetBodyString(gomail.TypeTextPlain, text)
	}
	return g, nil
}

// Bytes builds the message as sent (RFC 5322 with MIME, CRLF line ends).
func (m Message) Bytes() ([]byte, error) {
	g, err := m.msg()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := g.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func normalizeEOL(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

func oneLine(s string) string {
	return strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ").Replace(s)
}

// session is one SMTP conversation, opened up to and including AUTH.
type session struct {
	mc    *gomail.Client
	sc    *gosmtp.Client
	conn  net.Conn
	stage string // how far it got, for the error of a failed step
	tls   bool
	mech  string // the AUTH mechanism used, "" without sign-in
	stop  func() bool
}

// open dials (starting implicit TLS), greets, starts TLS and signs in as
// configured, through go-mail. The session's connection is closed when ctx
// ends; callers give ctx a deadline.
func (cl *Client) open(ctx context.Context) (*session, error) {
	s := &session{stage: StageConnect, stop: func() bool { return false }}
	dl, _ := ctx.Deadline()
	opts := []gomail.Option{gomail.WithPort(cl.port), gomail.WithHELO(cl.cfg.LocalName), gomail.WithTimeout(time.Until(dl)),
		gomail.WithTLSConfig(cl.tlsConfig()), gomail.WithoutNoop(), gomail.WithDialContextFunc(cl.dialer(ctx, s))}
	switch {
	case cl.cfg.ImplicitTLS:
		// The dialer starts TLS itself: go-mail does only with its own dialer.
		opts = append(opts, gomail.WithSSL())
	case cl.cfg.DisableTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if cl.cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuthCustom(&signIn{cl: cl, s: s}))
	}
	mc, err := gomail.NewClient(cl.host, opts...)
	if err != nil {
		return nil, cl.wrap(ctx, StageConnect, err)
	}
	s.mc = mc
	sc, err := mc.DialToSMTPClientWithContext(ctx)
	if err != nil {
		s.close()
		return nil, cl.wrap(ctx, s.failedStage(err), err)
	}
	s.sc = sc
	if _, err := sc.GetTLSConnectionState(); err == nil {
		s.tls = true
	}
	if cl.cfg.RequireTLS && !s.tls {
		s.close()
		return nil, &Error{Stage: StageStartTLS, Err: ErrTLSRequired}
	}
	return s, nil
}

// failedStage is the stage an error of the opening steps belongs to: TLS
// errors to the TLS step, others to the step the session had reached.
func (s *session) failedStage(err error) string {
	if s.stage == StageGreeting && isTLSError(err) {
		return StageStartTLS
	}
	if s.stage == StageGreeting {
		var tp *textproto.Error
		if errors.As(err, &tp) && tp.Code != 220 && tp.Code >= 400 {
			return StageHello
		}
	}
	return s.stage
}

func isTLSError(err error) bool {
	var rh tls.RecordHeaderError
	var alert tls.AlertError
	return isCertError(err) || errors.As(err, &rh) || errors.As(err, &alert) || strings.Contains(err.Error(), "tls:")
}

func (cl *Client) tlsConfig() *tls.Config {
	tc := &tls.Config{ServerName: cl.host, MinVersion: tls.VersionTLS12}
	if cl.cfg.TLSConfig != nil {
		tc = cl.cfg.TLSConfig.Clone()
		if tc.ServerName == "" {
			tc.ServerName = cl.host
		}
	}
	return tc
}

// dialer opens the connection for go-mail: through Config.Dial (the egress
// policy's check), with TLS from the first byte when implicit, and closed
// when ctx (the caller's, not go-mail's dial deadline) ends: closing the
// connection is the only way to interrupt an SMTP command.
func (cl *Client) dialer(ctx context.Context, s *session) gomail.DialContextFunc {
	return func(dctx context.Context, network, addr string) (net.Conn, error) {
		dial := cl.cfg.Dial
		if dial == nil {
			var d net.Dialer
			dial = d.DialContext
		}
		conn, err := dial(dctx, network, addr)
		if err != nil {
			return nil, err
		}
		if cl.cfg.ImplicitTLS {
			s.stage = StageTLS
			tc := tls.Client(conn, cl.tlsConfig())
			if err := tc.HandshakeContext(dctx); err != nil {
				hangUp(conn)
				return nil, err
			}
			conn = tc
		}
		s.conn = conn
		s.stop = context.AfterFunc(ctx, func() { hangUp(conn) })
		s.stage = StageGreeting
		return conn, nil
	}
}

// signIn chooses the AUTH mechanism from what the server offers (PLAIN, else
// LOGIN), and marks the session's stage.
type signIn struct {
	cl    *Client
	s     *session
	inner gosmtp.Auth
}

// Start begins the sign-in; it refuses before any password is sent when the
// connection is not encrypted and Config.RequireTLS says it must be.
func (a *signIn) Start(server *gosmtp.ServerInfo) (string, []byte, error) {
	a.s.stage = StageAuth
	cfg := a.cl.cfg
	if cfg.RequireTLS && !server.TLS {
		return "", nil, ErrTLSRequired
	}
	offered := func(m string) bool { return containsFold(server.Auth, m) }
	mech := strings.ToUpper(cfg.Auth)
	switch {
	case mech == "" && offered(AuthPlain), mech == AuthPlain && offered(AuthPlain):
		a.inner = gosmtp.PlainAuth("", cfg.Username, cfg.Password, a.cl.host, false)
		mech = AuthPlain
	case (mech == "" || mech == AuthLogin) && offered(AuthLogin):
		a.inner = gosmtp.LoginAuth(cfg.Username, cfg.Password, a.cl.host, false)
		mech = AuthLogin
	default:
		return "", nil, ErrNoAuth
	}
	a.s.mech = mech
	return a.inner.Start(server)
}

// Next answers the server's challenges.
func (a *signIn) Next(fromServer []byte, more bool) ([]byte, error) {
	return a.inner.Next(fromServer, more)
}

func (s *session) close() {
	s.stop()
	if s.conn != nil {
		hangUp(s.conn)
	}
}

// hangUp closes an SMTP connection. Its error is dropped on purpose, here
// only: a hang-up either interrupts a call, which then fails and says why, or
// ends a session whose outcome is settled (the mail acknowledged, or the
// failure on its way to the caller), often after the other side or QUIT
// closed the connection already. A failed close adds nothing to any of them.
func hangUp(conn net.Conn) { _ = conn.Close() }

// quit says goodbye after the mail was accepted. The mail is accepted once
// DATA is acknowledged; a failing QUIT does not change that, and the
// connection is closed after it either way.
func (s *session) quit() { _ = s.mc.CloseWithSMTPClient(s.sc) }

func containsFold(list []string, v string) bool {
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}

// Send delivers m to the server: the envelope sender is From's address, the
// envelope recipients are To's addresses. nil means the server accepted the
// mail (its DATA was acknowledged).
func (cl *Client) Send(ctx context.Context, m Message) error {
	if m.Date.IsZero() {
		m.Date = time.Now()
	}
	g, err := m.msg()
	if err != nil {
		return err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cl.cfg.Timeout)
		defer cancel()
	}
	s, err := cl.open(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	err = s.mc.SendWithSMTPClient(s.sc, g)
	// go-mail resets the session after a delivered mail; a failed reset
	// (or QUIT) after the mail was accepted does not make it unsent.
	if g.IsDelivered() {
		s.quit()
		return nil
	}
	if err == nil {
		err = errors.New("the server did not acknowledge the mail")
	}
	return cl.sendError(ctx, err, m.To)
}

// replyRe finds a server's reply in go-mail's words for a failed step.
var replyRe = regexp.MustCompile(`\b([45][0-9][0-9]) (.*?)(?:, affected recipient|, affected message ID|$)`)

// sendError turns go-mail's error of a mail transaction into *Error.
func (cl *Client) sendError(ctx context.Context, err error, to []string) error {
	var se *gomail.SendError
	if !errors.As(err, &se) {
		return cl.wrap(ctx, StageData, err)
	}
	stage := StageData
	switch se.Reason {
	case gomail.ErrGetSender, gomail.ErrGetRcpts:
		return fmt.Errorf("%w: %v", ErrBadAddress, err)
	case gomail.ErrSMTPMailFrom:
		stage = StageMail
	case gomail.ErrSMTPRcptTo:
		stage = StageRcpt
	case gomail.ErrConnCheck:
		stage = StageConnect
	}
	e := cl.wrap(ctx, stage, err)
	ee, ok := e.(*Error)
	if !ok {
		return e
	}
	if r := replyRe.FindStringSubmatch(se.Error()); r != nil && ctx.Err() == nil {
		ee.Code, _ = strconv.Atoi(r[1])
		ee.Message = strings.TrimSpace(r[2])
	}
	if stage == StageRcpt {
		for _, a := range to {
			if p, perr := mail.ParseAddress(a); perr == nil && strings.Contains(se.Error(), p.Address) {
				ee.Recipient = p.Address
				break
			}
		}
	}
	return ee
}

// TestConnection connects, starts TLS and signs in as configured, then says
// QUIT; it sends nothing and reports what it found.
func (cl *Client) TestConnection(ctx context.Context) (string, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cl.cfg.Timeout)
		defer cancel()
	}
	s, err := cl.open(ctx)
	if err != nil {
		return "", err
	}
	defer s.close()
	if err := s.mc.CloseWithSMTPClient(s.sc); err != nil {
		return "", cl.wrap(ctx, StageQuit, err)
	}
	parts := []string{"Connected: " + cl.cfg.Addr}
	switch {
	case s.tls && cl.cfg.ImplicitTLS:
		parts = append(parts, "TLS")
	case s.tls:
		parts = append(parts, "STARTTLS")
	default:
		parts = append(parts, "no TLS")
	}
	if s.mech != "" {
		parts = append(parts, "signed in as "+cl.cfg.Username+" (AUTH "+s.mech+")")
	} else {
		parts = append(parts, "no sign-in")
	}
	return strings.Join(parts, ", "), nil
}

// wrap turns an error of a stage into *Error; when ctx ended or the
// session's deadline passed, the context's error is kept (it caused the
// failure).
func (cl *Client) wrap(ctx context.Context, stage string, err error) error {
	if errors.Is(err, ErrTLSRequired) || errors.Is(err, ErrNoAuth) {
		return &Error{Stage: stage, Err: err}
	}
	var ne net.Error
	dl, hasDeadline := ctx.Deadline()
	switch {
	case ctx.Err() != nil:
		err = fmt.Errorf("%w (%v)", ctx.Err(), err)
	case errors.As(err, &ne) && ne.Timeout(), hasDeadline && !time.Now().Before(dl):
		// The connection's deadline is the context's: it can fire a moment
		// before the context reports it, and means the same (go-mail's
		// errors of a mail transaction do not unwrap to the net.Error).
		err = fmt.Errorf("%w (%v)", context.DeadlineExceeded, err)
	}
	e := &Error{Stage: stage, Err: err}
	var tp *textproto.Error
	if errors.As(err, &tp) {
		e.Code, e.Message = tp.Code, tp.Msg
	}
	return e
}

// Error is a failed SMTP session: Code and Message are the server's reply
// when it refused something (0 for network and TLS failures, see Err).
type Error struct {
	Stage     string
	Code      int
	Message   string
	Recipient string // for RCPT TO
	Err       error
}

// Error returns the stage and the server's reply, prefixed with "smtp".
func (e *Error) Error() string {
	s := "smtp: " + e.Stage
	if e.Recipient != "" {
		s += " <" + e.Recipient + ">"
	}
	if e.Code != 0 {
		return fmt.Sprintf("%s: %d %s", s, e.Code, e.Message)
	}
	return s + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Temporary reports whether sending again later may work: 4xx replies and
// network failures.
func (e *Error) Temporary() bool {
	if e.Code != 0 {
		return e.Code >= 400 && e.Code < 500
	}
	return !errors.Is(e.Err, ErrTLSRequired) && !errors.Is(e.Err, ErrNoAuth) && !isCertError(e.Err)
}

// Explain is the method form of the package-level Explain.
func (e *Error) Explain() string { return Explain(e) }

func isCertError(err error) bool {
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	return errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &ci)
}

// Explain returns a short, plain-English sentence for a shop assistant about
// what went wrong, for any error this package returns.
func Explain(err error) string {
	if err == nil {
		return ""
	}
	switch {
	case errors.Is(err, ErrBadAddress):
		return "An e-mail address is not valid (" + strings.TrimPrefix(err.Error(), ErrBadAddress.Error()+": ") + ")."
	case errors.Is(err, ErrTLSRequired):
		return "The mail server does not offer an encrypted connection (STARTTLS), and the settings require one."
	case errors.Is(err, ErrNoAuth):
		return "The mail server offers no sign-in with a user name and password (AUTH PLAIN or LOGIN). Check the host and port (submission is usually port 587)."
	case errors.Is(err, context.DeadlineExceeded):
		return "The mail server did not answer in time. The e-mail will be retried."
	}
	var e *Error
	if !errors.As(err, &e) {
		return "Sending the e-mail failed: " + err.Error()
	}
	if e.Code == 0 {
		switch {
		case isCertError(e.Err):
			return "The mail server's TLS certificate could not be verified. Check the host name in the settings."
		case e.Stage == StageAuth && strings.Contains(e.Err.Error(), "unencrypted"):
			return "The mail server offers no encryption, so the password was not sent. Use a server or port with STARTTLS (usually 587)."
		case e.Stage == StageConnect:
			return "Could not connect to the mail server. Check the host and port in the settings."
		case e.Stage == StageTLS:
			return "The mail server did not start TLS on this port. Port 465 speaks TLS from the start; for STARTTLS use port 587."
		}
		return "The connection to the mail server failed. The e-mail will be retried."
	}
	switch {
	case e.Code == 535 || (e.Stage == StageAuth && e.Code >= 500):
		return "The mail server refused the user name or password. Check the integration settings."
	case e.Code == 530:
		return "The mail server requires signing in (user name and password) or an encrypted connection."
	case e.Stage == StageRcpt && (e.Code == 550 || e.Code == 551 || e.Code == 553):
		return "The mail server refused the recipient address " + e.Recipient + ": the mailbox does not exist or does not accept mail."
	case e.Code == 552:
		return "The mail server refused the message: it is too large or the mailbox is full."
	case e.Code == 554 || (e.Stage == StageData && e.Code >= 500):
		return "The mail server rejected the message (it may have been taken for spam)."
	case e.Code >= 400 && e.Code < 500:
		return "The mail server is temporarily unavailable. The e-mail will be retried."
	}
	return fmt.Sprintf("The mail server refused the e-mail (%d %s).", e.Code, e.Message)
}
