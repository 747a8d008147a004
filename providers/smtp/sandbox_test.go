package smtp

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/base64"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
)

type env struct {
	t      *testing.T
	db     *sql.DB
	sb     *Sandbox
	addr   string
	web    *httptest.Server
	client *Client
	ctx    context.Context
	served chan error
}

func openDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", filepath.Join(t.TempDir(), "sandbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// newEnv starts the SMTP sandbox on 127.0.0.1:0 and its outbox page under
// /sandbox/smtp/ as the app does.
func newEnv(t *testing.T, cfg SandboxConfig) *env {
	t.Helper()
	e := &env{t: t, db: openDB(t), ctx: context.Background(), served: make(chan error, 1)}
	sb, err := NewSandbox(e.db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.sb = sb
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = l.Addr().String()
	go func() { e.served <- sb.Serve(l) }()
	t.Cleanup(func() {
		sb.Close()
		if err := <-e.served; !errors.Is(err, ErrClosed) {
			t.Errorf("Serve returned %v, want ErrClosed", err)
		}
	})
	mux := http.NewServeMux()
	mux.Handle("/sandbox/smtp/", http.StripPrefix("/sandbox/smtp", sb))
	e.web = httptest.NewServer(mux)
	t.Cleanup(e.web.Close)
	sb.SetBaseURL(e.web.URL + "/sandbox/smtp")
	e.client = New(Config{Addr: e.addr, Username: DemoUsername, Password: DemoPassword, Timeout: 3 * time.Second})
	return e
}

func wantCode(t *testing.T, err error, stage string, code int) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Stage != stage || e.Code != code {
		t.Fatalf("err = %v, want %s %d", err, stage, code)
	}
	return e
}

func TestAConfirmationEmailLandsInTheOutbox(t *testing.T) {
	e := newEnv(t, SandboxConfig{})
	m := confirmation()
	if err := e.client.Send(e.ctx, m); err != nil {
		t.Fatal(err)
	}
	mails, err := e.sb.Mails(10)
	if err != nil || len(mails) != 1 {
		t.Fatalf("mails = %v, %v", mails, err)
	}
	got := mails[0]
	if got.Subject != m.Subject || got.Text != m.Text || got.HTML != m.HTML || got.From != "shop@orderdesk.test" ||
		strings.Join(got.To, ",") != "anna@example.com,boss@example.com" || got.AuthUser != DemoUsername || got.TLS {
		t.Errorf("stored mail = %+v", got)
	}
	// The line that starts with a dot went through dot-stuffing and back.
	if !strings.Contains(got.Text, "\n.Строка с точкой в начале\n") {
		t.Errorf("dot line lost: %q", got.Text)
	}
	resp, err := http.Get(e.sb.BaseURL() + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`data-testid="sandbox-mail"`, "Заказ ORD-1001 оплачен ✔", "anna@example.com, boss@example.com", "Трек-номер: 1106000001", e.addr} {
		if !strings.Contains(string(page), want) {
			t.Errorf("outbox page lacks %q", want)
		}
	}
	resp, _ = http.Get(e.sb.BaseURL() + "/mail/" + itoa(got.ID))
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(raw), "Message-ID: <outbox-42@orderdesk.test>") {
		t.Errorf("raw mail:\n%s", raw)
	}
	if resp, _ := http.Get(e.sb.BaseURL() + "/mail/999"); resp.StatusCode != 404 {
		t.Errorf("unknown mail: %d", resp.StatusCode)
	}
	if _, err := e.sb.Mail(999); !errors.Is(err, ErrNotFound) {
		t.Errorf("Mail(999) = %v", err)
	}
}

func itoa(n int64) string { return big.NewInt(n).String() }

func TestTestConnectionSignsInAndSendsNothing(t *testing.T) {
	e := newEnv(t, SandboxConfig{})
	msg, err := e.client.TestConnection(e.ctx)
	if err != nil || msg != "Connected: "+e.addr+", no TLS, signed in as "+DemoUsername+" (AUTH PLAIN)" {
		t.Errorf("TestConnection = %q, %v", msg, err)
	}
	bad := New(Config{Addr: e.addr, Username: DemoUsername, Password: "wrong"})
	_, err = bad.TestConnection(e.ctx)
	if ee := wantCode(t, err, StageAuth, 535); !strings.Contains(Explain(ee), "user name or password") || ee.Temporary() {
		t.Errorf("bad password = %+v", ee)
	}
	anon := New(Config{Addr: e.addr})
	if msg, err := anon.TestConnection(e.ctx); err != nil || !strings.HasSuffix(msg, "no sign-in") {
		t.Errorf("anonymous TestConnection = %q, %v", msg, err)
	}
	err = anon.Send(e.ctx, confirmation())
	if ee := wantCode(t, err, StageMail, 530); !strings.Contains(Explain(ee), "requires signing in") {
		t.Errorf("anonymous send = %+v", ee)
	}
	if mails, _ := e.sb.Mails(10); len(mails) != 0 {
		t.Errorf("TestConnection or a refused send stored %d mails", len(mails))
	}
	closed := New(Config{Addr: "127.0.0.1:1", Timeout: time.Second})
	_, err = closed.TestConnection(e.ctx)
	if ee := wantCode(t, err, StageConnect, 0); !ee.Temporary() || !strings.Contains(Explain(ee), "Could not connect") {
		t.Errorf("nothing listening = %+v", ee)
	}
	open := newEnv(t, SandboxConfig{AllowAnonymous: true})
	if err := New(Config{Addr: open.addr}).Send(e.ctx, confirmation()); err != nil {
		t.Errorf("AllowAnonymous: %v", err)
	}
}

// selfSigned makes a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "orderdesk smtp sandbox"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

func TestSTARTTLSIsUsedWhenOffered(t *testing.T) {
	cert, pool := selfSigned(t)
	e := newEnv(t, SandboxConfig{TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}})
	c := New(Config{Addr: e.addr, Username: DemoUsername, Password: DemoPassword, TLSConfig: &tls.Config{RootCAs: pool}, RequireTLS: true})
	msg, err := c.TestConnection(e.ctx)
	if err != nil || !strings.Contains(msg, ", STARTTLS, signed in as ") {
		t.Fatalf("TestConnection = %q, %v", msg, err)
	}
	if err := c.Send(e.ctx, confirmation()); err != nil {
		t.Fatal(err)
	}
	if mails, _ := e.sb.Mails(1); len(mails) != 1 || !mails[0].TLS {
		t.Errorf("mail not received over TLS: %+v", mails)
	}
	// The default verifies the certificate: a self-signed one is refused.
	_, err = New(Config{Addr: e.addr}).TestConnection(e.ctx)
	if ee := wantCode(t, err, StageStartTLS, 0); ee.Temporary() || !strings.Contains(Explain(ee), "certificate") {
		t.Errorf("untrusted certificate = %+v / %q", ee, Explain(ee))
	}
	// DisableTLS keeps the session in plain text even when TLS is offered.
	if msg, err := New(Config{Addr: e.addr, DisableTLS: true}).TestConnection(e.ctx); err != nil || !strings.Contains(msg, "no TLS") {
		t.Errorf("DisableTLS = %q, %v", msg, err)
	}
	plain := newEnv(t, SandboxConfig{})
	_, err = New(Config{Addr: plain.addr, RequireTLS: true}).TestConnection(e.ctx)
	if !errors.Is(err, ErrTLSRequired) || !strings.Contains(Explain(err), "does not offer an encrypted connection") {
		t.Errorf("RequireTLS without STARTTLS: %v", err)
	}
}

// conversation drives the server by hand, like telnet.
type conversation struct {
	t    *testing.T
	conn net.Conn
	tp   *textproto.Conn
}

func dial(t *testing.T, addr string) *conversation {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	t.Cleanup(func() { conn.Close() })
	c := &conversation{t: t, conn: conn, tp: textproto.NewConn(conn)}
	c.expect(220)
	return c
}

func (c *conversation) expect(code int) string {
	c.t.Helper()
	got, msg, err := c.tp.ReadResponse(0)
	if got != code {
		c.t.Fatalf("reply %d %q (%v), want %d", got, msg, err, code)
	}
	return msg
}

func (c *conversation) cmd(code int, line string) string {
	c.t.Helper()
	if err := c.tp.PrintfLine("%s", line); err != nil {
		c.t.Fatal(err)
	}
	return c.expect(code)
}

func plain(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
}

func TestTheServerFollowsTheProtocol(t *testing.T) {
	e := newEnv(t, SandboxConfig{MaxMessageBytes: 4096})
	c := dial(t, e.addr)
	ehlo := c.cmd(250, "EHLO client.test")
	for _, ext := range []string{"SIZE 4096", "8BITMIME", "AUTH PLAIN LOGIN"} {
		if !strings.Contains(ehlo, ext) {
			t.Errorf("EHLO lacks %s: %q", ext, ehlo)
		}
	}
	if strings.Contains(ehlo, "STARTTLS") {
		t.Error("STARTTLS offered without a TLS config")
	}
	// A submission server: no mail before signing in, no wrong password.
	c.cmd(530, "MAIL FROM:<a@b.test>")
	c.cmd(504, "AUTH CRAM-MD5")
	c.cmd(535, "AUTH PLAIN "+plain(DemoUsername, "nope"))
	// AUTH LOGIN asks for the user name and the password, each in base64.
	if got := c.cmd(334, "AUTH LOGIN"); got != b64("Username:") {
		t.Errorf("LOGIN's first challenge = %q", got)
	}
	if got := c.cmd(334, b64(DemoUsername)); got != b64("Password:") {
		t.Errorf("LOGIN's second challenge = %q", got)
	}
	c.cmd(235, b64(DemoPassword))
	c.cmd(503, "AUTH PLAIN "+plain(DemoUsername, DemoPassword))
	c.cmd(552, "MAIL FROM:<a@b.test> SIZE=99999")
	c.cmd(250, "MAIL FROM:<a@b.test> SIZE=100 BODY=8BITMIME")
	c.cmd(250, "RCPT TO:<x@y.test>")
	c.cmd(354, "DATA")
	c.tp.PrintfLine("Subject: by hand")
	c.tp.PrintfLine("")
	c.tp.PrintfLine("..starts with a dot")
	c.tp.PrintfLine("...two dots")
	c.tp.PrintfLine("a . in the middle")
	c.cmd(250, ".")
	mails, _ := e.sb.Mails(1)
	if len(mails) != 1 || mails[0].Subject != "by hand" || mails[0].Text != ".starts with a dot\n..two dots\na . in the middle\n" ||
		mails[0].AuthUser != DemoUsername {
		t.Fatalf("stored = %+v", mails)
	}
	// A transaction is reset by RSET.
	c.cmd(250, "MAIL FROM:<a@b.test>")
	c.cmd(250, "RSET")
	c.cmd(502, "RCPT TO:<x@y.test>")
	// Too big a message is refused.
	c.cmd(250, "MAIL FROM:<>")
	c.cmd(250, "RCPT TO:<x@y.test>")
	c.cmd(354, "DATA")
	for i := 0; i < 100; i++ {
		c.tp.PrintfLine("%s", strings.Repeat("x", 70))
	}
	c.cmd(552, ".")
	c.cmd(221, "QUIT")
	if n, _ := e.sb.Mails(10); len(n) != 1 {
		t.Errorf("%d mails stored, want 1", len(n))
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestSTARTTLSByHandStartsTheSessionOver(t *testing.T) {
	cert, pool := selfSigned(t)
	e := newEnv(t, SandboxConfig{TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}})
	c := dial(t, e.addr)
	if !strings.Contains(c.cmd(250, "EHLO client.test"), "STARTTLS") {
		t.Fatal("STARTTLS not offered")
	}
	c.cmd(334, "AUTH PLAIN")
	c.cmd(235, plain(DemoUsername, DemoPassword))
	c.cmd(220, "STARTTLS")
	tc := tls.Client(c.conn, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c.tp = textproto.NewConn(tc)
	// After TLS the client greets again, and is no longer signed in.
	if strings.Contains(c.cmd(250, "EHLO client.test"), "STARTTLS") {
		t.Error("STARTTLS offered again inside TLS")
	}
	c.cmd(530, "MAIL FROM:<a@b.test>")
	c.cmd(221, "QUIT")
}

func TestSwitchesRejectFailAndSlowTheServer(t *testing.T) {
	e := newEnv(t, SandboxConfig{})
	e.sb.RejectNextMail()
	err := e.client.Send(e.ctx, confirmation())
	if ee := wantCode(t, err, StageRcpt, 550); ee.Recipient != "anna@example.com" || ee.Temporary() ||
		!strings.Contains(Explain(ee), "refused the recipient address anna@example.com") {
		t.Errorf("rejected = %+v / %q", ee, Explain(ee))
	}
	if err := e.client.Send(e.ctx, confirmation()); err != nil {
		t.Errorf("the mail after the rejection: %v", err)
	}
	e.sb.FailNextMail()
	err = e.client.Send(e.ctx, confirmation())
	if ee := wantCode(t, err, StageMail, 451); !ee.Temporary() || !strings.Contains(Explain(ee), "will be retried") {
		t.Errorf("failed = %+v", ee)
	}
	if mails, _ := e.sb.Mails(10); len(mails) != 1 {
		t.Errorf("%d mails stored, want 1", len(mails))
	}
	e.sb.SetLatency(200 * time.Millisecond)
	short, cancel := context.WithTimeout(e.ctx, 50*time.Millisecond)
	defer cancel()
	err = e.client.Send(short, confirmation())
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(Explain(err), "did not answer in time") {
		t.Errorf("slow server: %v / %q", err, Explain(err))
	}
	e.sb.SetLatency(0)
	big := confirmation()
	big.Text = strings.Repeat("0123456789 ", 2000)
	small := newEnv(t, SandboxConfig{MaxMessageBytes: 8000})
	err = New(Config{Addr: small.addr, Username: DemoUsername, Password: DemoPassword}).Send(e.ctx, big)
	if ee := wantCode(t, err, StageData, 552); !strings.Contains(Explain(ee), "too large") {
		t.Errorf("too big = %+v", ee)
	}
}

func TestOutboxPageSetsSwitches(t *testing.T) {
	e := newEnv(t, SandboxConfig{})
	browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(v url.Values, want int) {
		t.Helper()
		resp, err := browser.PostForm(e.sb.BaseURL()+"/_control", v)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want || (want == http.StatusSeeOther && resp.Header.Get("Location") != "./") {
			t.Fatalf("POST %v: %d", v, resp.StatusCode)
		}
	}
	post(url.Values{"action": {"reject_next"}}, http.StatusSeeOther)
	post(url.Values{"action": {"fail_next"}}, http.StatusSeeOther)
	post(url.Values{"action": {"latency"}, "ms": {"3"}}, http.StatusSeeOther)
	post(url.Values{"action": {"latency"}, "ms": {"-3"}}, http.StatusBadRequest)
	post(url.Values{"action": {"what"}}, http.StatusBadRequest)
	if sw := e.sb.Switches(); !sw.RejectNextMail || !sw.FailNextMail || sw.Latency != 3*time.Millisecond {
		t.Errorf("switches = %+v", sw)
	}
	post(url.Values{"action": {"clear"}}, http.StatusSeeOther)
	post(url.Values{"action": {"latency"}, "ms": {"0"}}, http.StatusSeeOther)
	if err := e.client.Send(e.ctx, confirmation()); err != nil {
		t.Fatal(err)
	}
	resp, _ := browser.Get(e.sb.BaseURL() + "/")
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), `data-testid="sandbox-reject-next"`) || !strings.Contains(string(page), `data-testid="sandbox-mail-subject"`) {
		t.Errorf("page:\n%s", page)
	}
	post(url.Values{"action": {"delete_all"}}, http.StatusSeeOther)
	if mails, _ := e.sb.Mails(10); len(mails) != 0 {
		t.Errorf("outbox not emptied: %d", len(mails))
	}
}

func TestMailSurvivesARestartAndCloseStopsServing(t *testing.T) {
	e := newEnv(t, SandboxConfig{})
	if err := e.client.Send(e.ctx, confirmation()); err != nil {
		t.Fatal(err)
	}
	if e.sb.Addr() == nil || e.sb.Addr().String() != e.addr {
		t.Errorf("Addr = %v, want %s", e.sb.Addr(), e.addr)
	}
	// An idle connection must not keep Close waiting.
	idle := dial(t, e.addr)
	_ = idle
	e.sb.Close()
	if err := <-e.served; !errors.Is(err, ErrClosed) {
		t.Errorf("Serve = %v", err)
	}
	e.served <- ErrClosed // for the cleanup
	if _, err := net.DialTimeout("tcp", e.addr, time.Second); err == nil {
		t.Error("still listening after Close")
	}
	if err := e.sb.Serve(mustListen(t)); !errors.Is(err, ErrClosed) {
		t.Errorf("Serve after Close = %v", err)
	}
	again, err := NewSandbox(e.db, SandboxConfig{})
	if err != nil {
		t.Fatal(err)
	}
	mails, _ := again.Mails(10)
	if len(mails) != 1 || mails[0].Subject != confirmation().Subject {
		t.Errorf("after restart: %+v", mails)
	}
}

func mustListen(t *testing.T) net.Listener {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestSignInWithPlainOrLogin: PLAIN when the server offers it, LOGIN when it
// offers no PLAIN (Office 365); a mechanism asked for and not offered is
// refused before any password is sent.
func TestSignInWithPlainOrLogin(t *testing.T) {
	both := newEnv(t, SandboxConfig{})
	msg, err := both.client.TestConnection(both.ctx)
	if err != nil || !strings.HasSuffix(msg, "(AUTH PLAIN)") {
		t.Errorf("PLAIN and LOGIN offered: %q, %v", msg, err)
	}
	login := New(Config{Addr: both.addr, Username: DemoUsername, Password: DemoPassword, Auth: AuthLogin})
	if msg, err := login.TestConnection(both.ctx); err != nil || !strings.HasSuffix(msg, "(AUTH LOGIN)") {
		t.Errorf("LOGIN asked for: %q, %v", msg, err)
	}

	office := newEnv(t, SandboxConfig{AuthMechanisms: []string{"LOGIN"}})
	c := New(Config{Addr: office.addr, Username: DemoUsername, Password: DemoPassword})
	if msg, err := c.TestConnection(office.ctx); err != nil || !strings.HasSuffix(msg, "(AUTH LOGIN)") {
		t.Errorf("LOGIN only: %q, %v", msg, err)
	}
	if err := c.Send(office.ctx, confirmation()); err != nil {
		t.Fatalf("send with LOGIN: %v", err)
	}
	if mails, _ := office.sb.Mails(1); len(mails) != 1 || mails[0].AuthUser != DemoUsername {
		t.Errorf("mail signed in with LOGIN: %+v", mails)
	}
	wrong := New(Config{Addr: office.addr, Username: DemoUsername, Password: "wrong"})
	if _, err := wrong.TestConnection(office.ctx); err == nil || !strings.Contains(Explain(err), "user name or password") {
		t.Errorf("a wrong password with LOGIN: %v / %q", err, Explain(err))
	}
	plainOnly := New(Config{Addr: office.addr, Username: DemoUsername, Password: DemoPassword, Auth: AuthPlain})
	_, err = plainOnly.TestConnection(office.ctx)
	if !errors.Is(err, ErrNoAuth) || !strings.Contains(Explain(err), "AUTH PLAIN or LOGIN") {
		t.Errorf("PLAIN asked of a LOGIN-only server: %v", err)
	}
}

// TestImplicitTLSOn465: a server that speaks TLS from the first byte, as on
// port 465, with a certificate the client trusts; the client's dial hook
// (the egress policy's) opens the connection under the TLS.
func TestImplicitTLSOn465(t *testing.T) {
	cert, pool := selfSigned(t)
	db := openDB(t)
	sb, err := NewSandbox(db, SandboxConfig{TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}})
	if err != nil {
		t.Fatal(err)
	}
	l := mustListen(t)
	served := make(chan error, 1)
	go func() { served <- sb.ServeTLS(l) }()
	t.Cleanup(func() {
		sb.Close()
		if err := <-served; !errors.Is(err, ErrClosed) {
			t.Errorf("ServeTLS = %v", err)
		}
	})
	dialed := 0
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		dialed++
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	c := New(Config{Addr: l.Addr().String(), Username: DemoUsername, Password: DemoPassword, ImplicitTLS: true,
		TLSConfig: &tls.Config{RootCAs: pool}, RequireTLS: true, Dial: dial})
	msg, err := c.TestConnection(context.Background())
	if err != nil || !strings.Contains(msg, ", TLS, signed in as "+DemoUsername) {
		t.Fatalf("TestConnection = %q, %v", msg, err)
	}
	if err := c.Send(context.Background(), confirmation()); err != nil {
		t.Fatal(err)
	}
	if mails, _ := sb.Mails(1); len(mails) != 1 || !mails[0].TLS || mails[0].MessageID() != "outbox-42@orderdesk.test" {
		t.Errorf("mail over implicit TLS: %+v", mails)
	}
	if dialed != 2 {
		t.Errorf("the dial hook was used %d times, want 2", dialed)
	}
	// Port 465 means implicit TLS without being told.
	if !New(Config{Addr: "smtp.example.com:465"}).cfg.ImplicitTLS {
		t.Error("port 465 is not implicit TLS")
	}
	// A certificate the client does not trust is refused before anything is sent.
	_, err = New(Config{Addr: l.Addr().String(), ImplicitTLS: true}).TestConnection(context.Background())
	if ee := wantCode(t, err, StageTLS, 0); ee.Temporary() || !strings.Contains(Explain(ee), "certificate") {
		t.Errorf("untrusted certificate = %+v / %q", ee, Explain(ee))
	}
}

// TestRequireTLSKeepsThePasswordBack: with RequireTLS and a server that
// offers no STARTTLS, the client refuses before signing in.
func TestRequireTLSKeepsThePasswordBack(t *testing.T) {
	e := newEnv(t, SandboxConfig{})
	c := New(Config{Addr: e.addr, Username: DemoUsername, Password: DemoPassword, RequireTLS: true})
	err := c.Send(e.ctx, confirmation())
	if !errors.Is(err, ErrTLSRequired) {
		t.Fatalf("send = %v", err)
	}
	if mails, _ := e.sb.Mails(1); len(mails) != 0 {
		t.Errorf("mail sent without TLS: %+v", mails)
	}
	if n := e.sb.SignIns(); n != 0 {
		t.Errorf("the password was sent without TLS (%d sign-ins)", n)
	}
}
