package wazzup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestNormalizePhone(t *testing.T) {
	tests := []struct{ in, want string }{
		{"+90 555 123-45-67", "905551234567"},
		{"+7 (903) 123-45-67", "79031234567"},
		{"8 903 123 45 67", "79031234567"},
		{"0090 555 123 45 67", "905551234567"},
		{"79031234567", "79031234567"},
		{"+1.415.555.0100", "14155550100"},
	}
	for _, tt := range tests {
		if got, err := NormalizePhone(tt.in); err != nil || got != tt.want {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "12345", "0555 123 45 67", "call me", "+7 903 ext. 5", "1234567890123456"} {
		if got, err := NormalizePhone(bad); !errors.Is(err, ErrBadPhone) {
			t.Errorf("NormalizePhone(%q) = %q, %v; want ErrBadPhone", bad, got, err)
		}
	}
}

// The documented request and answers, served by a stub: it checks the
// client against Wazzup's documentation, not only against our sandbox.
func TestClientSpeaksTheDocumentedWireFormat(t *testing.T) {
	var got map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer c8cf90444023482f909520d454368d27" {
			w.WriteHeader(401)
			return
		}
		switch r.Method + " " + r.URL.Path {
		case "GET /v3/channels":
			io.WriteString(w, `[{"channelId":"e0629e11-0f67-4567-92a9-2237e91ec1b9","transport":"whatsapp","plainId":"79865784457","state":"active"},
				{"channelId":"b","transport":"wapi","plainId":79865784458,"state":"phoneUnavailable"},
				{"channelId":"c","transport":"instagram","plainId":"shop","state":"active","extra":{"x":1}}]`)
		case "POST /v3/message":
			json.NewDecoder(r.Body).Decode(&got)
			w.WriteHeader(201)
			io.WriteString(w, `{"messageId":"f66c53a6-957a-46b2-b41b-5a2ef4844bcb","chatId":"905551234567"}`)
		}
	}))
	defer srv.Close()
	c := New(Config{BaseURL: srv.URL + "/v3/", APIKey: "c8cf90444023482f909520d454368d27"})
	ctx := context.Background()
	chs, err := c.Channels(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(chs) != 3 || chs[1].PlainID != "79865784458" || !chs[0].Active() || chs[1].Active() || !chs[1].IsWhatsApp() || chs[2].IsWhatsApp() {
		t.Errorf("channels = %+v", chs)
	}
	msg, err := c.TestConnection(ctx)
	if err != nil || msg != "Connected: 2 WhatsApp channels, 1 active (and 1 other channel)" {
		t.Errorf("TestConnection = %q, %v", msg, err)
	}
	sent, err := c.SendMessage(ctx, Message{ChannelID: "e0629e11-0f67-4567-92a9-2237e91ec1b9", ChatID: "+90 555 123-45-67",
		Text: "Заказ ORD-1001 оплачен", CRMMessageID: "outbox-17"})
	if err != nil {
		t.Fatal(err)
	}
	if sent.MessageID != "f66c53a6-957a-46b2-b41b-5a2ef4844bcb" || sent.Repeated {
		t.Errorf("sent = %+v", sent)
	}
	want := map[string]any{"channelId": "e0629e11-0f67-4567-92a9-2237e91ec1b9", "chatType": "whatsapp", "chatId": "905551234567",
		"text": "Заказ ORD-1001 оплачен", "crmMessageId": "outbox-17"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("body = %v, want %v", got, want)
	}
	if _, err := c.SendMessage(ctx, Message{ChannelID: "x", ChatID: "not a phone", Text: "hi"}); !errors.Is(err, ErrBadPhone) {
		t.Errorf("bad phone: %v", err)
	}
	// Instagram chat ids are account names: left alone.
	if _, err := c.SendMessage(ctx, Message{ChannelID: "c", ChatType: ChatInstagram, ChatID: "some.user", Text: "hi"}); err != nil || got["chatId"] != "some.user" {
		t.Errorf("instagram: %v, chatId %v", err, got["chatId"])
	}
}

func TestClientReadsWazzupErrorsTolerantly(t *testing.T) {
	answers := map[string]struct {
		status int
		body   string
	}{
		"data":    {400, `{"status":400,"requestId":"7ca6","error":"INVALID_MESSAGE_DATA","description":"Message data is invalid","data":{"fields":["channelId"]}}`},
		"camel":   {400, `{"error":"repeatedCrmMessageId","description":"You have already sent message with the same crmMessageId"}`},
		"snake":   {400, `{"status":400,"error":"REPEATED_CRM_MESSAGE_ID","description":"x","data":{"crmMessageId":"1","messageId":"m-1"}}`},
		"list":    {400, `[{"error":"CHANNEL_NOT_FOUND","description":"Channel not found"}]`},
		"html":    {502, `<html>Bad gateway</html>`},
		"nested":  {400, `{"error":{"code":"MESSAGES_IS_SPAM","message":"spam"}}`},
		"nothing": {401, ``},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]string
		json.NewDecoder(r.Body).Decode(&m)
		a := answers[m["text"]]
		w.WriteHeader(a.status)
		io.WriteString(w, a.body)
	}))
	defer srv.Close()
	c := New(Config{BaseURL: srv.URL, APIKey: "k"})
	send := func(kind string) (*Sent, error) {
		return c.SendMessage(context.Background(), Message{ChannelID: "c", ChatID: "79031234567", Text: kind, CRMMessageID: "1"})
	}
	asErr := func(kind string) *Error {
		t.Helper()
		_, err := send(kind)
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("%s: err = %v, want *Error", kind, err)
		}
		if !strings.HasPrefix(e.Error(), "wazzup: ") {
			t.Errorf("Error() = %q", e.Error())
		}
		return e
	}
	if e := asErr("data"); e.Code != CodeInvalidMessageData || fmt.Sprint(e.Fields) != "[channelId]" || e.RequestID != "7ca6" || !strings.Contains(Explain(e), "(channelId)") {
		t.Errorf("data = %+v / %q", e, Explain(e))
	}
	// Both spellings of the repeat mean "already sent": success, not an error.
	for _, kind := range []string{"camel", "snake"} {
		s, err := send(kind)
		if err != nil || !s.Repeated || s.ChatID != "79031234567" {
			t.Errorf("%s: %+v, %v", kind, s, err)
		}
	}
	if s, _ := send("snake"); s.MessageID != "m-1" {
		t.Errorf("the first message's id from data: %+v", s)
	}
	if e := asErr("list"); e.Code != CodeChannelNotFound {
		t.Errorf("list = %+v", e)
	}
	if e := asErr("html"); e.Code != "" || !e.Temporary() || !strings.Contains(e.Description, "Bad gateway") {
		t.Errorf("html = %+v", e)
	}
	if e := asErr("nested"); e.Code != CodeMessagesIsSpam {
		t.Errorf("nested = %+v", e)
	}
	if e := asErr("nothing"); e.HTTPStatus != 401 || !strings.Contains(Explain(e), "API key") {
		t.Errorf("nothing = %+v / %q", e, Explain(e))
	}
}

func TestExplainSpeaksPlainEnglish(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&Error{HTTPStatus: 401, Code: CodeUnauthorized}, "refused the API key"},
		{&Error{Code: CodeChannelNotFound}, "does not exist in this Wazzup account"},
		{&Error{Code: CodeMessageChannelUnavailable}, "channel is offline"},
		{&Error{Code: "channelBlocked"}, "switched off"},
		{&Error{Code: CodeChannelNoMoney}, "not paid"},
		{&Error{Code: CodeWrongTransport}, "not a WhatsApp channel"},
		{&Error{Code: CodeMessageTextTooLong}, "too long"},
		{&Error{Code: CodeMessagesIsSpam}, "spam"},
		{&Error{Code: CodeBadContact}, "does not seem to have WhatsApp"},
		{&Error{HTTPStatus: 503}, "server is having trouble"},
		{&Error{Code: "SOMETHING_NEW"}, "SOMETHING_NEW"},
		{fmt.Errorf("x: %w", ErrBadPhone), "country code"},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), "did not answer in time"},
		{errors.New("dial tcp: refused"), "network problem"},
	}
	for _, tt := range tests {
		if got := Explain(tt.err); !strings.Contains(got, tt.want) {
			t.Errorf("Explain(%v) = %q, want it to contain %q", tt.err, got, tt.want)
		}
	}
	if Explain(nil) != "" {
		t.Error("Explain(nil) is not empty")
	}
	if !(&Error{Code: CodeMessageChannelUnavailable}).Temporary() || (&Error{Code: CodeChannelNotFound}).Temporary() {
		t.Error("Temporary is wrong")
	}
}

// FuzzNormalizePhone: Wazzup has no signed webhook in this package's scope,
// so the untrusted-input parsers fuzzed are the phone normaliser (customer
// input) and the error body reader (server input).
func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{"+90 555 123-45-67", "8 903 123 45 67", "0090", "", "++--", "٣٣٣٣٣٣٣٣٣٣", "7903\u00a01234567"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := NormalizePhone(s)
		if err != nil {
			if !errors.Is(err, ErrBadPhone) || got != "" {
				t.Fatalf("NormalizePhone(%q) = %q, %v", s, got, err)
			}
			return
		}
		if len(got) < 10 || len(got) > 15 || got[0] == '0' || strings.Trim(got, "0123456789") != "" {
			t.Fatalf("NormalizePhone(%q) = %q", s, got)
		}
		if again, err := NormalizePhone(got); err != nil || again != got {
			t.Fatalf("not idempotent: %q → %q → %q, %v", s, got, again, err)
		}
	})
}

func FuzzParseError(f *testing.F) {
	f.Add(400, []byte(`{"status":400,"requestId":"r","error":"INVALID_MESSAGE_DATA","description":"d","data":{"fields":["chatId",1,null]}}`))
	f.Add(400, []byte(`[{"error":"REPEATED_CRM_MESSAGE_ID"}]`))
	f.Add(500, []byte(`<html>`))
	f.Add(400, []byte(`{"error":{"code":{"code":"X"}}}`))
	f.Add(400, []byte(`[]`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		e := parseError(status, body)
		if e == nil || e.HTTPStatus != status {
			t.Fatalf("parseError = %+v", e)
		}
		_ = e.Error()
		_ = Explain(e)
	})
}
