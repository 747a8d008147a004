package smtp

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/textproto"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func confirmation() Message {
	return Message{
		From:      "Магазин Bruler <shop@orderdesk.test>",
		To:        []string{"Анна Петрова <anna@example.com>", "boss@example.com"},
		ReplyTo:   "help@orderdesk.test",
		Subject:   "Заказ ORD-1001 оплачен ✔",
		Text:      "Здравствуйте, Анна!\n\nВаш заказ ORD-1001 оплачен.\n.Строка с точкой в начале\nТрек-номер: 1106000001",
		HTML:      "<p>Здравствуйте, Анна!</p><p>Ваш заказ <b>ORD-1001</b> оплачен.</p>",
		MessageID: "outbox-42@orderdesk.test",
		Date:      time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC),
	}
}

func TestMessageBytesIsProperMIME(t *testing.T) {
	raw, err := confirmation().Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(bytes.ReplaceAll(raw, []byte("\r\n"), nil), []byte("\n")) {
		t.Error("a bare LF: every line must end with CRLF")
	}
	for _, line := range strings.Split(string(raw), "\r\n") {
		if len(line) > 998 {
			t.Errorf("line longer than 998 octets: %.40q", line)
		}
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	h := msg.Header
	if subj := h.Get("Subject"); !strings.HasPrefix(strings.ToLower(subj), "=?utf-8?") {
		t.Errorf("Subject = %q, want an encoded word", subj)
	}
	if dec, _ := new(mime.WordDecoder).DecodeHeader(h.Get("Subject")); dec != "Заказ ORD-1001 оплачен ✔" {
		t.Errorf("decoded subject = %q", dec)
	}
	from, err := mail.ParseAddress(h.Get("From"))
	if err != nil || from.Name != "Магазин Bruler" || from.Address != "shop@orderdesk.test" {
		t.Errorf("From = %q → %+v, %v", h.Get("From"), from, err)
	}
	to, err := h.AddressList("To")
	if err != nil || len(to) != 2 || to[0].Name != "Анна Петрова" || to[1].Address != "boss@example.com" {
		t.Errorf("To = %q → %v, %v", h.Get("To"), to, err)
	}
	if h.Get("Message-ID") != "<outbox-42@orderdesk.test>" || h.Get("MIME-Version") != "1.0" || h.Get("Date") != "Sat, 01 Mar 2025 12:00:00 +0000" {
		t.Errorf("headers = %v", h)
	}
	mt, params, _ := mime.ParseMediaType(h.Get("Content-Type"))
	if mt != "multipart/alternative" {
		t.Fatalf("Content-Type = %s", h.Get("Content-Type"))
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var types, bodies []string
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		b, _ := io.ReadAll(p)
		types = append(types, p.Header.Get("Content-Type"))
		bodies = append(bodies, string(b))
	}
	if strings.ToLower(fmt.Sprint(types)) != "[text/plain; charset=utf-8 text/html; charset=utf-8]" {
		t.Errorf("parts = %v (text first, HTML last: the preferred one)", types)
	}
	if len(bodies) == 2 && (strings.ReplaceAll(bodies[0], "\r\n", "\n") != confirmation().Text || bodies[1] != confirmation().HTML) {
		t.Errorf("bodies = %q", bodies)
	}

	only := Message{From: "a@b.test", To: []string{"c@d.test"}, Subject: "Plain ASCII", Text: "hi"}
	raw, _ = only.Bytes()
	msg, _ = mail.ReadMessage(bytes.NewReader(raw))
	if msg.Header.Get("Subject") != "Plain ASCII" || !strings.EqualFold(msg.Header.Get("Content-Type"), "text/plain; charset=utf-8") ||
		msg.Header.Get("Content-Transfer-Encoding") != "quoted-printable" || !strings.HasPrefix(msg.Header.Get("Message-ID"), "<") {
		t.Errorf("text-only headers = %v", msg.Header)
	}
	html := Message{From: "a@b.test", To: []string{"c@d.test"}, HTML: "<p>x</p>"}
	raw, _ = html.Bytes()
	if !bytes.Contains(bytes.ToLower(raw), []byte("content-type: text/html; charset=utf-8")) {
		t.Errorf("HTML-only:\n%s", raw)
	}
}

func TestHeadersCannotBeInjected(t *testing.T) {
	m := Message{From: "a@b.test", To: []string{"c@d.test"}, Subject: "Hi\r\nBcc: victim@example.com", Text: "x"}
	raw, err := m.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := mail.ReadMessage(bytes.NewReader(raw))
	if msg.Header.Get("Bcc") != "" || msg.Header.Get("Subject") != "Hi Bcc: victim@example.com" {
		t.Errorf("headers = %v", msg.Header)
	}
}

func TestMessageBytesRefusesBadAddresses(t *testing.T) {
	for _, m := range []Message{
		{From: "not an address", To: []string{"c@d.test"}},
		{From: "a@b.test", To: []string{"c@d.test", "oops"}},
		{From: "a@b.test"},
		{From: "a@b.test", To: []string{"c@d.test"}, ReplyTo: "@@"},
		{From: "a@b.test", To: []string{"c@d.test\r\nBcc: x@y.z"}},
	} {
		_, err := m.Bytes()
		if !errors.Is(err, ErrBadAddress) || !strings.Contains(Explain(err), "not valid") {
			t.Errorf("%+v: err = %v, Explain %q", m, err, Explain(err))
		}
		if err := New(Config{Addr: "127.0.0.1:1"}).Send(context.Background(), m); !errors.Is(err, ErrBadAddress) {
			t.Errorf("Send must refuse before connecting: %v", err)
		}
	}
}

func TestExplainSpeaksPlainEnglish(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&Error{Stage: StageAuth, Code: 535, Message: "5.7.8 Authentication credentials invalid"}, "refused the user name or password"},
		{&Error{Stage: StageMail, Code: 530}, "requires signing in"},
		{&Error{Stage: StageRcpt, Code: 550, Recipient: "anna@example.com"}, "refused the recipient address anna@example.com"},
		{&Error{Stage: StageData, Code: 552}, "too large"},
		{&Error{Stage: StageData, Code: 554}, "rejected the message"},
		{&Error{Stage: StageMail, Code: 451}, "temporarily unavailable"},
		{&Error{Stage: StageConnect, Err: errors.New("dial tcp: connection refused")}, "Could not connect"},
		{&Error{Stage: StageStartTLS, Err: &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}}, "certificate"},
		{&Error{Stage: StageAuth, Err: errors.New("unencrypted connection")}, "offers no encryption"},
		{&Error{Stage: StageStartTLS, Err: ErrTLSRequired}, "does not offer an encrypted connection"},
		{&Error{Stage: StageAuth, Err: ErrNoAuth}, "offers no sign-in with a user name and password"},
		{&Error{Stage: StageMail, Code: 521, Message: "no mail here"}, "521 no mail here"},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), "did not answer in time"},
	}
	for _, tt := range tests {
		if got := Explain(tt.err); !strings.Contains(got, tt.want) {
			t.Errorf("Explain(%v) = %q, want it to contain %q", tt.err, got, tt.want)
		}
	}
	if Explain(nil) != "" {
		t.Error("Explain(nil) is not empty")
	}
	if !(&Error{Code: 451}).Temporary() || (&Error{Code: 550}).Temporary() || (&Error{Err: ErrTLSRequired}).Temporary() || !(&Error{Err: errors.New("reset")}).Temporary() {
		t.Error("Temporary is wrong")
	}
	e := &Error{Stage: StageRcpt, Code: 550, Message: "5.1.1 no", Recipient: "x@y.z", Err: &textproto.Error{Code: 550, Msg: "5.1.1 no"}}
	if e.Error() != "smtp: RCPT TO <x@y.z>: 550 5.1.1 no" {
		t.Errorf("Error() = %q", e.Error())
	}
}

// FuzzMessageRoundTrip: whatever the shop writes, the outbox (the
// sandbox's parser) reads back the same subject and text.
func FuzzMessageRoundTrip(f *testing.F) {
	f.Add("Заказ ORD-1001 оплачен", "Текст\n.точка\nFrom here", "<p>x</p>")
	f.Add("", "", "")
	f.Add(strings.Repeat("длинная тема ", 20), strings.Repeat("=", 200)+"  \n\t", "")
	f.Add("=?utf-8?q?not_really?=", "trailing space \nline", "<b>é</b>")
	f.Fuzz(func(t *testing.T, subject, text, html string) {
		if !utf8.ValidString(subject) || !utf8.ValidString(text) || !utf8.ValidString(html) ||
			strings.ContainsAny(subject, "\r\n") || strings.Contains(strings.ReplaceAll(text+html, "\r\n", ""), "\r") {
			return
		}
		if strings.Contains(subject, "=?") {
			// An ASCII subject that looks like an encoded word is decoded by
			// any reader; that is a property of RFC 2047, not of us.
			return
		}
		m := Message{From: "a@b.test", To: []string{"c@d.test"}, Subject: subject, Text: text, HTML: html}
		raw, err := m.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		gotSubj, gotText, gotHTML := parseMail(raw)
		wantText, wantHTML := strings.ReplaceAll(text, "\r\n", "\n"), strings.ReplaceAll(html, "\r\n", "\n")
		if text == "" && html == "" {
			wantText = ""
		}
		if gotSubj != strings.TrimSpace(subject) && gotSubj != subject {
			t.Fatalf("subject %q came back as %q", subject, gotSubj)
		}
		if gotText != wantText || gotHTML != wantHTML {
			t.Fatalf("text %q / html %q came back as %q / %q", wantText, wantHTML, gotText, gotHTML)
		}
	})
}

// FuzzParseMail: the sandbox parses whatever a client sends; it must never
// panic or refuse.
func FuzzParseMail(f *testing.F) {
	raw, _ := confirmation().Bytes()
	f.Add(raw)
	f.Add([]byte("Subject: =?utf-8?b?!!!?=\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: multipart/alternative; boundary=y\r\n\r\n--y\r\n\r\nhi\r\n--y--\r\n--x--\r\n"))
	f.Add([]byte("Content-Transfer-Encoding: base64\r\n\r\n!!!not base64"))
	f.Add([]byte("no headers at all"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		parseMail(raw)
	})
}
