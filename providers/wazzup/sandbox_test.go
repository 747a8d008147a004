package wazzup

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	t      *testing.T
	db     *sql.DB
	sb     *Sandbox
	srv    *httptest.Server
	client *Client
	clock  *clock
	ctx    context.Context
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

// newEnv mounts the sandbox under /sandbox/wazzup/ as the app does.
func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, db: openDB(t), ctx: context.Background(), clock: &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}}
	sb, err := NewSandbox(e.db, SandboxConfig{Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.sb = sb
	mux := http.NewServeMux()
	mux.Handle("/sandbox/wazzup/", http.StripPrefix("/sandbox/wazzup", sb))
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	sb.SetBaseURL(e.srv.URL + "/sandbox/wazzup")
	e.client = New(Config{BaseURL: sb.APIURL(), APIKey: DemoAPIKey})
	return e
}

func wantCode(t *testing.T, err error, code string) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || !e.HasCode(code) {
		t.Fatalf("err = %v, want %s", err, code)
	}
	return e
}

func orderPaid(crm string) Message {
	return Message{ChannelID: DemoChannelID, ChatID: "+90 555 123-45-67", CRMMessageID: crm,
		Text: "Здравствуйте! Заказ ORD-1001 оплачен.\nТрек-номер СДЭК: 1106000001"}
}

func TestTestConnectionListsTheChannels(t *testing.T) {
	e := newEnv(t)
	msg, err := e.client.TestConnection(e.ctx)
	if err != nil || msg != "Connected: 1 WhatsApp channel, 1 active (and 1 other channel)" {
		t.Errorf("TestConnection = %q, %v", msg, err)
	}
	e.sb.SetChannelState(DemoChannelID, StatePhoneUnavailable)
	msg, _ = e.client.TestConnection(e.ctx)
	if msg != "Connected: 1 WhatsApp channel, 0 active (and 1 other channel)" {
		t.Errorf("with the channel inactive: %q", msg)
	}
	bad := New(Config{BaseURL: e.sb.APIURL(), APIKey: "wrong"})
	_, err = bad.TestConnection(e.ctx)
	if ee := wantCode(t, err, CodeUnauthorized); ee.HTTPStatus != 401 || !strings.Contains(Explain(ee), "API key") {
		t.Errorf("bad key = %+v", ee)
	}
}

func TestAMessageLandsInTheInbox(t *testing.T) {
	e := newEnv(t)
	sent, err := e.client.SendMessage(e.ctx, orderPaid("outbox-1"))
	if err != nil {
		t.Fatal(err)
	}
	if sent.MessageID == "" || sent.ChatID != "905551234567" || sent.Repeated {
		t.Errorf("sent = %+v", sent)
	}
	msgs, _ := e.sb.Messages(10)
	if len(msgs) != 1 || msgs[0].ChatID != "905551234567" || msgs[0].MessageID != sent.MessageID || msgs[0].CRMMessageID != "outbox-1" ||
		!strings.Contains(msgs[0].Text, "1106000001") {
		t.Fatalf("inbox = %+v", msgs)
	}
	resp, err := http.Get(e.sb.BaseURL() + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), `data-testid="sandbox-message-row"`) || !strings.Contains(string(page), "+905551234567") ||
		!strings.Contains(string(page), "Заказ ORD-1001 оплачен.\nТрек-номер") {
		t.Errorf("inbox page: %d\n%s", resp.StatusCode, page)
	}
}

func TestARepeatedCRMMessageIDIsSentOnce(t *testing.T) {
	e := newEnv(t)
	first, err := e.client.SendMessage(e.ctx, orderPaid("outbox-7"))
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Add(30 * time.Second)
	again, err := e.client.SendMessage(e.ctx, orderPaid("outbox-7"))
	if err != nil || !again.Repeated || again.MessageID != first.MessageID {
		t.Fatalf("repeat = %+v, %v; want the first message's id", again, err)
	}
	if msgs, _ := e.sb.Messages(10); len(msgs) != 1 {
		t.Errorf("inbox has %d messages, want 1", len(msgs))
	}
	// On the wire the repeat is Wazzup's documented 400.
	req, _ := http.NewRequest(http.MethodPost, e.sb.APIURL()+"/message",
		strings.NewReader(`{"channelId":"`+DemoChannelID+`","chatType":"whatsapp","chatId":"905551234567","text":"x","crmMessageId":"outbox-7"}`))
	req.Header.Set("Authorization", "Bearer "+DemoAPIKey)
	resp, _ := http.DefaultClient.Do(req)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(body), `"error":"REPEATED_CRM_MESSAGE_ID"`) || !strings.Contains(string(body), `"crmMessageId":"outbox-7"`) {
		t.Errorf("raw repeat: %d %s", resp.StatusCode, body)
	}
	// Wazzup remembers a crmMessageId for 60 s; after that it sends again.
	e.clock.Add(61 * time.Second)
	late, err := e.client.SendMessage(e.ctx, orderPaid("outbox-7"))
	if err != nil || late.Repeated || late.MessageID == first.MessageID {
		t.Errorf("after the window: %+v, %v", late, err)
	}
	// Without a crmMessageId every send is a new message.
	m := orderPaid("")
	a, _ := e.client.SendMessage(e.ctx, m)
	b, _ := e.client.SendMessage(e.ctx, m)
	if a.MessageID == b.MessageID {
		t.Error("two sends without crmMessageId got one id")
	}
}

func TestAnInactiveChannelRefusesToSend(t *testing.T) {
	e := newEnv(t)
	if err := e.sb.SetChannelState(DemoChannelID, StatePhoneUnavailable); err != nil {
		t.Fatal(err)
	}
	_, err := e.client.SendMessage(e.ctx, orderPaid("outbox-9"))
	if ee := wantCode(t, err, CodeMessageChannelUnavailable); !ee.Temporary() || !strings.Contains(Explain(ee), "offline") {
		t.Errorf("inactive = %+v / %q", ee, Explain(ee))
	}
	e.sb.SetChannelState(DemoChannelID, StateDisabled)
	_, err = e.client.SendMessage(e.ctx, orderPaid("outbox-9"))
	wantCode(t, err, CodeChannelBlocked)
	e.sb.SetChannelState(DemoChannelID, StateNotEnoughMoney)
	_, err = e.client.SendMessage(e.ctx, orderPaid("outbox-9"))
	wantCode(t, err, CodeChannelNoMoney)
	e.sb.SetChannelState(DemoChannelID, StateActive)
	if _, err := e.client.SendMessage(e.ctx, orderPaid("outbox-9")); err != nil {
		t.Errorf("after reactivation: %v", err)
	}
	if err := e.sb.SetChannelState("nope", StateActive); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown channel: %v", err)
	}
}

func TestTheSandboxValidatesLikeWazzup(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name   string
		change func(*Message)
		code   string
	}{
		{"unknown channel", func(m *Message) { m.ChannelID = "11111111-2222-4333-8444-555555555555" }, CodeChannelNotFound},
		{"channel id not a uuid", func(m *Message) { m.ChannelID = "abc" }, CodeInvalidMessageData},
		{"no text", func(m *Message) { m.Text = "" }, CodeMessageNothingToSend},
		{"blank text", func(m *Message) { m.Text = "  \n" }, CodeMessagesTextCanNotBeBlank},
		{"text and file", func(m *Message) { m.ContentURI = "https://example.com/a.pdf" }, CodeMessageOnlyTextOrContent},
		{"too long", func(m *Message) { m.Text = strings.Repeat("я", MaxTextLength+1) }, CodeMessageTextTooLong},
		{"whatsapp through instagram", func(m *Message) { m.ChannelID = DemoInstagramChannelID }, CodeWrongTransport},
		{"unknown chat type", func(m *Message) { m.ChatType = "pigeon" }, CodeInvalidMessageData},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := orderPaid("")
			tt.change(&m)
			_, err := e.client.SendMessage(e.ctx, m)
			if ee := wantCode(t, err, tt.code); ee.HTTPStatus != 400 || ee.RequestID == "" {
				t.Errorf("error = %+v", ee)
			}
		})
	}
	// A chat id with a "+" is what the client prevents; the sandbox refuses
	// it like Wazzup, naming the field.
	req, _ := http.NewRequest(http.MethodPost, e.sb.APIURL()+"/message",
		strings.NewReader(`{"channelId":"`+DemoChannelID+`","chatType":"whatsapp","chatId":"+90 555","text":"x"}`))
	req.Header.Set("Authorization", "Bearer "+DemoAPIKey)
	resp, _ := http.DefaultClient.Do(req)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(body), `"fields":["chatId"]`) {
		t.Errorf("raw chatId: %d %s", resp.StatusCode, body)
	}
	if msgs, _ := e.sb.Messages(10); len(msgs) != 0 {
		t.Errorf("refused messages were stored: %d", len(msgs))
	}
	// A file alone is fine.
	m := orderPaid("")
	m.Text, m.ContentURI = "", "https://example.com/invoice.pdf"
	if _, err := e.client.SendMessage(e.ctx, m); err != nil {
		t.Errorf("file message: %v", err)
	}
}

func TestSwitchesFailAndSlowTheAPI(t *testing.T) {
	e := newEnv(t)
	e.sb.FailNext()
	_, err := e.client.SendMessage(e.ctx, orderPaid("o"))
	if ee := wantCode(t, err, CodeUnknownError); !ee.Temporary() || ee.HTTPStatus != 500 {
		t.Errorf("fail next = %+v", ee)
	}
	if _, err := e.client.SendMessage(e.ctx, orderPaid("o")); err != nil {
		t.Errorf("the call after the failure: %v", err)
	}
	e.sb.SetLatency(300 * time.Millisecond)
	short, cancel := context.WithTimeout(e.ctx, 30*time.Millisecond)
	defer cancel()
	_, err = e.client.Channels(short)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(Explain(err), "in time") {
		t.Errorf("slow: %v / %q", err, Explain(err))
	}
	e.sb.SetLatency(0)
}

func TestControlPageSetsSwitchesAndChannelState(t *testing.T) {
	e := newEnv(t)
	browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(v url.Values, want int) {
		t.Helper()
		resp, err := browser.PostForm(e.sb.BaseURL()+"/_control", v)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("POST %v: %d, want %d", v, resp.StatusCode, want)
		}
	}
	post(url.Values{"action": {"channel_state"}, "channel_id": {DemoChannelID}, "state": {StatePhoneUnavailable}}, http.StatusSeeOther)
	post(url.Values{"action": {"fail_next"}}, http.StatusSeeOther)
	post(url.Values{"action": {"latency"}, "ms": {"3"}}, http.StatusSeeOther)
	post(url.Values{"action": {"latency"}, "ms": {"x"}}, http.StatusBadRequest)
	post(url.Values{"action": {"channel_state"}, "channel_id": {"nope"}, "state": {"active"}}, http.StatusNotFound)
	chs, _ := e.sb.Channels()
	if sw := e.sb.Switches(); !sw.FailNext || sw.Latency != 3*time.Millisecond || chs[0].State != StatePhoneUnavailable {
		t.Errorf("switches = %+v, channel = %+v", sw, chs[0])
	}
	resp, _ := browser.Get(e.sb.BaseURL() + "/")
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "<strong>inactive</strong>") || !strings.Contains(string(page), "No messages yet") {
		t.Errorf("page does not show the inactive channel:\n%s", page)
	}
}

func TestSandboxStateSurvivesARestart(t *testing.T) {
	e := newEnv(t)
	sent, _ := e.client.SendMessage(e.ctx, orderPaid("outbox-r"))
	e.sb.SetChannelState(DemoChannelID, StateQR)
	again, err := NewSandbox(e.db, SandboxConfig{})
	if err != nil {
		t.Fatal(err)
	}
	msgs, _ := again.Messages(10)
	chs, _ := again.Channels()
	if len(msgs) != 1 || msgs[0].MessageID != sent.MessageID || len(chs) != 2 || chs[0].State != StateQR {
		t.Errorf("after restart: %+v %+v", msgs, chs)
	}
}
