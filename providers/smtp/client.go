// Package smtp sends the shop's e-mails (order confirmation, seed 004) over
// SMTP, and provides a sandbox: a small SMTP server that keeps every mail it
// receives and shows them on an "outbox" web page.
//
// The client speaks SMTP with net/smtp: EHLO, STARTTLS whenever the server
// offers it (unless Config.DisableTLS), AUTH PLAIN when credentials are
// configured, then MAIL/RCPT/DATA. net/smtp refuses to send a password over
// an unencrypted connection except to localhost, which is what protects the
// password when a server offers no STARTTLS. Messages are built as proper
// MIME (UTF-8, quoted-printable, multipart/alternative for text + HTML,
// encoded-word subjects).
//
// Idempotency: SMTP has none. The outbox must mark a mail sent as soon as
// Send returns nil; pass the outbox id in Message.MessageID so a duplicate
// (after a crash between sending and marking) is at least recognisable.
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
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	netsmtp "net/smtp"
	"net/textproto"
	"strings"
	"time"
)

// Stages of an SMTP session, as Error.Stage.
const (
	StageConnect  = "connect"
	StageGreeting = "greeting"
	StageHello    = "EHLO"
	StageStartTLS = "STARTTLS"
	StageAuth     = "AUTH"
	StageMail     = "MAIL FROM"
	StageRcpt     = "RCPT TO"
	StageData     = "DATA"
	StageQuit     = "QUIT"
)

// ErrTLSRequired is returned when Config.RequireTLS is set and the server
// does not offer STARTTLS.
var ErrTLSRequired = errors.New("smtp: the server does not offer STARTTLS")

// ErrNoAuth is returned when credentials are configured but the server does
// not offer AUTH PLAIN.
var ErrNoAuth = errors.New("smtp: the server does not offer AUTH PLAIN")

// ErrBadAddress is returned by Send and Message.Bytes for an address that is
// not a valid e-mail address.
var ErrBadAddress = errors.New("smtp: not a valid e-mail address")

// Config holds what New needs.
type Config struct {
	// Addr is the server's host:port (587 for submission with STARTTLS).
	Addr string
	// Username and Password enable AUTH PLAIN; empty sends without signing in.
	Username string
	Password string
	// TLSConfig is used for STARTTLS (default: verify the certificate for the
	// host of Addr). STARTTLS is used whenever the server offers it.
	TLSConfig *tls.Config
	// DisableTLS never uses STARTTLS (a local relay or the sandbox).
	DisableTLS bool
	// RequireTLS refuses to send when the server does not offer STARTTLS.
	RequireTLS bool
	// LocalName is the name sent with EHLO (default "localhost").
	LocalName string
	// Timeout bounds a whole session when the context has no deadline
	// (default 30 s).
	Timeout time.Duration
	// Dial opens the TCP connection to Addr (default: a net.Dialer). The app
	// passes one that refuses internal addresses.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Client sends mail through one SMTP server; it opens a connection per Send.
// It is safe for concurrent use.
type Client struct {
	cfg  Config
	host string
}

// New returns a client for cfg.
func New(cfg Config) *Client {
	if cfg.LocalName == "" {
		cfg.LocalName = "localhost"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		host = cfg.Addr
	}
	return &Client{cfg: cfg, host: host}
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

// Bytes builds the message as sent (RFC 5322 with MIME, CRLF line ends).
func (m Message) Bytes() ([]byte, error) {
	from, err := mail.ParseAddress(m.From)
	if err != nil {
		return nil, fmt.Errorf("%w: From %q", ErrBadAddress, m.From)
	}
	if len(m.To) == 0 {
		return nil, fmt.Errorf("%w: no recipient", ErrBadAddress)
	}
	var to []string
	for _, a := range m.To {
		p, err := mail.ParseAddress(a)
		if err != nil {
			return nil, fmt.Errorf("%w: To %q", ErrBadAddress, a)
		}
		to = append(to, p.String())
	}
	date := m.Date
	if date.IsZero() {
		date = time.Now()
	}
	id := m.MessageID
	if id == "" {
		var b [12]byte
		rand.Read(b[:])
		id = hex.EncodeToString(b[:]) + "@" + domainOf(from.Address)
	}
	var buf bytes.Buffer
	header := func(k, v string) { fmt.Fprintf(&buf, "%s: %s\r\n", k, v) }
	header("From", from.String())
	header("To", strings.Join(to, ", "))
	if m.ReplyTo != "" {
		rt, err := mail.ParseAddress(m.ReplyTo)
		if err != nil {
			return nil, fmt.Errorf("%w: Reply-To %q", ErrBadAddress, m.ReplyTo)
		}
		header("Reply-To", rt.String())
	}
	header("Subject", encodeHeader(m.Subject))
	header("Date", date.Format(time.RFC1123Z))
	header("Message-ID", "<"+strings.Trim(oneLine(id), "<>")+">")
	header("MIME-Version", "1.0")
	switch {
	case m.Text != "" && m.HTML != "":
		mw := multipart.NewWriter(&buf)
		header("Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": mw.Boundary()}))
		buf.WriteString("\r\n")
		for _, part := range []struct{ typ, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
			w, err := mw.CreatePart(textproto.MIMEHeader{
				"Content-Type":              {part.typ + "; charset=utf-8"},
				"Content-Transfer-Encoding": {"quoted-printable"},
			})
			if err != nil {
				return nil, err
			}
			if err := writeQP(w, part.body); err != nil {
				return nil, err
			}
		}
		if err := mw.Close(); err != nil {
			return nil, err
		}
	default:
		typ, body := "text/plain", m.Text
		if m.HTML != "" {
			typ, body = "text/html", m.HTML
		}
		header("Content-Type", typ+"; charset=utf-8")
		header("Content-Transfer-Encoding", "quoted-printable")
		buf.WriteString("\r\n")
		if err := writeQP(&buf, body); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

func writeQP(w io.Writer, s string) error {
	qp := quotedprintable.NewWriter(w)
	// Normalise line ends so the writer emits CRLF for every line.
	if _, err := io.WriteString(qp, strings.ReplaceAll(s, "\r\n", "\n")); err != nil {
		return err
	}
	// No CRLF after the body: in a multipart message the CRLF before the
	// next boundary belongs to the boundary, and net/smtp ends DATA with
	// one itself; an extra one would change the text.
	return qp.Close()
}

// encodeHeader returns v as a header value: as is when it is printable
// ASCII, else as RFC 2047 encoded words (base64, shorter than Q for
// Cyrillic). Line breaks are flattened: a header value must not inject
// headers.
func encodeHeader(v string) string {
	v = oneLine(v)
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return mime.BEncoding.Encode("utf-8", v)
		}
	}
	return v
}

func oneLine(s string) string {
	return strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ").Replace(s)
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 && i+1 < len(addr) {
		return addr[i+1:]
	}
	return "localhost"
}

// session is one SMTP conversation, up to and including AUTH.
type session struct {
	c    *netsmtp.Client
	conn net.Conn
	tls  bool
	auth bool
	stop func() bool
}

// open dials, greets, starts TLS and signs in as configured. The returned
// session's connection is closed when ctx ends; callers give ctx a deadline.
func (cl *Client) open(ctx context.Context) (*session, error) {
	dial := cl.cfg.Dial
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	conn, err := dial(ctx, "tcp", cl.cfg.Addr)
	if err != nil {
		return nil, cl.wrap(ctx, StageConnect, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		if err := conn.SetDeadline(dl); err != nil {
			hangUp(conn)
			return nil, cl.wrap(ctx, StageConnect, err)
		}
	}
	// Closing the connection is the only way to interrupt net/smtp.
	stop := context.AfterFunc(ctx, func() { hangUp(conn) })
	s := &session{conn: conn, stop: stop}
	s.c, err = netsmtp.NewClient(conn, cl.host)
	if err != nil {
		s.close()
		return nil, cl.wrap(ctx, StageGreeting, err)
	}
	if err := s.c.Hello(cl.cfg.LocalName); err != nil {
		s.close()
		return nil, cl.wrap(ctx, StageHello, err)
	}
	if ok, _ := s.c.Extension("STARTTLS"); ok && !cl.cfg.DisableTLS {
		tc := &tls.Config{ServerName: cl.host}
		if cl.cfg.TLSConfig != nil {
			tc = cl.cfg.TLSConfig.Clone()
			if tc.ServerName == "" {
				tc.ServerName = cl.host
			}
		}
		if err := s.c.StartTLS(tc); err != nil {
			s.close()
			return nil, cl.wrap(ctx, StageStartTLS, err)
		}
		s.tls = true
	} else if cl.cfg.RequireTLS {
		s.close()
		return nil, &Error{Stage: StageStartTLS, Err: ErrTLSRequired}
	}
	if cl.cfg.Username != "" {
		ok, mechs := s.c.Extension("AUTH")
		if !ok || !containsFold(strings.Fields(mechs), "PLAIN") {
			s.close()
			return nil, &Error{Stage: StageAuth, Err: ErrNoAuth}
		}
		if err := s.c.Auth(netsmtp.PlainAuth("", cl.cfg.Username, cl.cfg.Password, cl.host)); err != nil {
			s.close()
			return nil, cl.wrap(ctx, StageAuth, err)
		}
		s.auth = true
	}
	return s, nil
}

func (s *session) close() {
	s.stop()
	hangUp(s.conn)
}

// hangUp closes an SMTP connection, the client's or one the sandbox
// accepted. Its error is dropped on purpose, here only: a hang-up either
// interrupts a call, which then fails and says why, or ends a session whose
// outcome is settled (the mail acknowledged or stored, or the failure on its
// way to the caller), often after the other side or QUIT closed the
// connection already. A failed close adds nothing to any of them.
func hangUp(conn net.Conn) { _ = conn.Close() }

func containsFold(list []string, v string) bool {
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}

// Send delivers m to the server: the envelope sender is From's address,
// the envelope recipients are To's addresses.
func (cl *Client) Send(ctx context.Context, m Message) error {
	if m.Date.IsZero() {
		m.Date = time.Now()
	}
	raw, err := m.Bytes()
	if err != nil {
		return err
	}
	from, _ := mail.ParseAddress(m.From)
	var rcpts []string
	for _, a := range m.To {
		p, _ := mail.ParseAddress(a)
		rcpts = append(rcpts, p.Address)
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
	if err := s.c.Mail(from.Address); err != nil {
		return cl.wrap(ctx, StageMail, err)
	}
	for _, r := range rcpts {
		if err := s.c.Rcpt(r); err != nil {
			e := cl.wrap(ctx, StageRcpt, err)
			if se, ok := e.(*Error); ok {
				se.Recipient = r
			}
			return e
		}
	}
	w, err := s.c.Data()
	if err != nil {
		return cl.wrap(ctx, StageData, err)
	}
	if _, err := w.Write(raw); err != nil {
		return cl.wrap(ctx, StageData, err)
	}
	if err := w.Close(); err != nil {
		return cl.wrap(ctx, StageData, err)
	}
	// The mail is accepted once DATA is acknowledged; a failing QUIT does not
	// change that.
	_ = s.c.Quit()
	return nil
}

// TestConnection connects, greets, starts TLS and signs in as configured,
// then says QUIT; it sends nothing and reports what it found.
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
	if err := s.c.Quit(); err != nil {
		return "", cl.wrap(ctx, StageQuit, err)
	}
	parts := []string{"Connected: " + cl.cfg.Addr}
	if s.tls {
		parts = append(parts, "STARTTLS")
	} else {
		parts = append(parts, "no TLS")
	}
	if s.auth {
		parts = append(parts, "signed in as "+cl.cfg.Username)
	} else {
		parts = append(parts, "no sign-in")
	}
	return strings.Join(parts, ", "), nil
}

// wrap turns an error of a stage into *Error; when ctx ended or the
// session's deadline passed, the context's error is kept (it caused the
// failure).
func (cl *Client) wrap(ctx context.Context, stage string, err error) error {
	var ne net.Error
	switch {
	case ctx.Err() != nil:
		err = fmt.Errorf("%w (%v)", ctx.Err(), err)
	case errors.As(err, &ne) && ne.Timeout():
		// The connection's deadline is the context's: it can fire a moment
		// before the context reports it, and means the same.
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
		return "The mail server does not accept signing in with a user name and password. Check the host and port (submission is usually port 587)."
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
