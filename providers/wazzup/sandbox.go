package wazzup

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"orderdesk/providers/internal/sandboxkit"
	"orderdesk/providers/internal/wire"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"orderdesk/providers/internal/httpbody"
	"orderdesk/providers/internal/sandboxdb"
)

// Demo account of the sandbox: the API key it accepts when SandboxConfig
// leaves it empty, and the channels it starts with.
const (
	DemoAPIKey             = "wazzup-sandbox-api-key"
	DemoChannelID          = "5b0e7f3a-9c1d-4e2b-8a6f-0d3c2b1a9e8f"
	DemoChannelPhone       = "79990001122"
	DemoInstagramChannelID = "c2a4e6f8-1b3d-4f5a-9c7e-2d4f6a8b0c1e"
)

// ErrNotFound is returned by the sandbox helpers for an unknown channel or
// message.
var ErrNotFound = errors.New("wazzup sandbox: not found")

var uuidRe = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

var digitsRe = regexp.MustCompile(`^[0-9]{5,20}$`)

// SandboxConfig configures NewSandbox.
type SandboxConfig struct {
	// APIKey is the key the sandbox accepts (default DemoAPIKey).
	APIKey string
	// BaseURL is where the sandbox is mounted, e.g.
	// "http://localhost:8080/sandbox/wazzup".
	BaseURL string
	// RepeatWindow is how long a crmMessageId is remembered (default 60 s,
	// as Wazzup documents); a repeat within it is refused with
	// REPEATED_CRM_MESSAGE_ID, a later one is sent again.
	RepeatWindow time.Duration
	// Now is the sandbox clock (default time.Now).
	Now func() time.Time
}

// Sandbox plays Wazzup: GET /v3/channels and POST /v3/message with Wazzup's
// validation and error codes, and a control page that is the demo's
// "WhatsApp inbox" (every message sent). State lives in SQLite tables named
// wazzup_*. It is an http.Handler meant to be mounted with
// http.StripPrefix.
type Sandbox struct {
	sandboxkit.Board // SetBaseURL, BaseURL, SetLatency, Latency

	db  *sql.DB
	cfg SandboxConfig
	mux *http.ServeMux

	// writeMu makes the crmMessageId check and the insert of a message one
	// step, so two concurrent sends with the same id cannot both go out.
	writeMu sync.Mutex

	failNext        sandboxkit.Once[bool]
	failNextMessage sandboxkit.Once[bool]
}

// SandboxMessage is a message the sandbox "delivered".
type SandboxMessage struct {
	MessageID    string
	ChannelID    string
	ChatType     string
	ChatID       string
	Text         string
	ContentURI   string
	CRMMessageID string
	CreatedAt    time.Time
}

// SandboxSwitches is the state of the failure switches.
type SandboxSwitches struct {
	FailNext        bool
	FailNextMessage bool
	Latency         time.Duration
}

const schema = `
CREATE TABLE IF NOT EXISTS wazzup_channels (
	channel_id TEXT PRIMARY KEY,
	transport  TEXT    NOT NULL,
	plain_id   TEXT    NOT NULL,
	state      TEXT    NOT NULL,
	position   INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS wazzup_messages (
	message_id     TEXT PRIMARY KEY,
	channel_id     TEXT NOT NULL,
	chat_type      TEXT NOT NULL,
	chat_id        TEXT NOT NULL,
	text           TEXT NOT NULL DEFAULT '',
	content_uri    TEXT NOT NULL DEFAULT '',
	crm_message_id TEXT NOT NULL DEFAULT '',
	created_at     TEXT NOT NULL
);
-- The repeat check looks a crmMessageId up on every send.
CREATE INDEX IF NOT EXISTS wazzup_messages_crm ON wazzup_messages (crm_message_id, created_at);
-- The inbox lists the newest first.
CREATE INDEX IF NOT EXISTS wazzup_messages_created ON wazzup_messages (created_at);
`

// NewSandbox creates the sandbox's tables in db (if missing), adds the demo
// channels the first time, and returns it.
func NewSandbox(db *sql.DB, cfg SandboxConfig) (*Sandbox, error) {
	if cfg.APIKey == "" {
		cfg.APIKey = DemoAPIKey
	}
	if cfg.RepeatWindow <= 0 {
		cfg.RepeatWindow = 60 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if _, err := db.Exec(schema); err != nil {
		return nil, fmt.Errorf("wazzup sandbox: create tables: %w", err)
	}
	// INSERT OR IGNORE: a restart keeps the channels' states as they were.
	if _, err := db.Exec(`INSERT OR IGNORE INTO wazzup_channels (channel_id, transport, plain_id, state, position) VALUES
		(?, 'whatsapp', ?, 'active', 1), (?, 'instagram', 'orderdesk.demo', 'active', 2)`,
		DemoChannelID, DemoChannelPhone, DemoInstagramChannelID); err != nil {
		return nil, fmt.Errorf("wazzup sandbox: demo channels: %w", err)
	}
	s := &Sandbox{db: db, cfg: cfg}
	s.SetBaseURL(cfg.BaseURL)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v3/channels", s.api(s.apiChannels))
	mux.HandleFunc("POST /v3/message", s.api(s.apiMessage))
	mux.HandleFunc("GET /{$}", s.controlPage)
	mux.HandleFunc("POST /_control", sandboxkit.ControlHandler(s.control))
	s.mux = mux
	return s, nil
}

// ServeHTTP serves the API and the control page.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// APIURL returns the BaseURL a client should use for this sandbox.
func (s *Sandbox) APIURL() string { return s.BaseURL() + "/v3" }

// FailNext makes the next API call fail with HTTP 500 UNKNOWN_ERROR.
func (s *Sandbox) FailNext() { s.failNext.Arm(true) }

// FailNextMessage makes the next POST /v3/message fail with HTTP 500
// UNKNOWN_ERROR, while other calls (the channels) answer: a send that fails
// on a channel that looked up.
func (s *Sandbox) FailNextMessage() { s.failNextMessage.Arm(true) }

// Switches returns the current state of the failure switches.
func (s *Sandbox) Switches() SandboxSwitches {
	return SandboxSwitches{FailNext: s.failNext.Armed(), FailNextMessage: s.failNextMessage.Armed(), Latency: s.Latency()}
}

// SetChannelState sets a channel's state: StatePhoneUnavailable makes sends
// through it fail with MESSAGE_CHANNEL_UNAVAILABLE (the "channel inactive"
// switch), StateActive brings it back.
func (s *Sandbox) SetChannelState(channelID, state string) error {
	res, err := s.db.Exec(`UPDATE wazzup_channels SET state = ? WHERE channel_id = ?`, state, channelID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("wazzup sandbox: channel %s: %w", channelID, ErrNotFound)
	}
	return nil
}

// Channels returns the sandbox's channels.
func (s *Sandbox) Channels() ([]Channel, error) {
	rows, err := s.db.Query(`SELECT channel_id, transport, plain_id, state FROM wazzup_channels ORDER BY position`)
	return sandboxdb.Collect(rows, err, func(r sandboxdb.Scanner) (Channel, error) {
		var c Channel
		if err := r.Scan(&c.ChannelID, &c.Transport, &c.PlainID, &c.State); err != nil {
			return Channel{}, err
		}
		return c, nil
	})
}

func (s *Sandbox) channel(ctx context.Context, id string) (*Channel, error) {
	var c Channel
	err := s.db.QueryRowContext(ctx, `SELECT channel_id, transport, plain_id, state FROM wazzup_channels WHERE channel_id = ?`, id).
		Scan(&c.ChannelID, &c.Transport, &c.PlainID, &c.State)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return &c, err
}

// Messages returns the latest messages, newest first.
func (s *Sandbox) Messages(limit int) ([]SandboxMessage, error) {
	rows, err := s.db.Query(`SELECT message_id, channel_id, chat_type, chat_id, text, content_uri, crm_message_id, created_at
		FROM wazzup_messages ORDER BY created_at DESC, rowid DESC LIMIT ?`, limit)
	return sandboxdb.Collect(rows, err, func(r sandboxdb.Scanner) (SandboxMessage, error) {
		var m SandboxMessage
		var at string
		if err := r.Scan(&m.MessageID, &m.ChannelID, &m.ChatType, &m.ChatID, &m.Text, &m.ContentURI, &m.CRMMessageID, &at); err != nil {
			return SandboxMessage{}, err
		}
		m.CreatedAt, _ = time.Parse(time.RFC3339Nano, at)
		return m, nil
	})
}

func (s *Sandbox) now() time.Time { return s.cfg.Now().UTC() }

// ---------------------------------------------------------------- the API

type apiError struct {
	status      int
	code        string
	description string
	data        any
}

func (s *Sandbox) writeError(w http.ResponseWriter, e *apiError) {
	var rid [16]byte
	rand.Read(rid[:])
	body := map[string]any{"status": e.status, "requestId": hex.EncodeToString(rid[:]), "error": e.code, "description": e.description}
	if e.data != nil {
		body["data"] = e.data
	}
	writeJSON(w, e.status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	httpbody.WriteJSON(w, status, "application/json; charset=utf-8", v)
}

// api wraps a method with the switches and the key check.
func (s *Sandbox) api(h func(*http.Request) (int, any, *apiError)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.Wait(r) {
			return
		}
		fail := s.failNext.Take()
		if fail {
			s.writeError(w, &apiError{status: http.StatusInternalServerError, code: CodeUnknownError, description: "Unknown error (sandbox failure switch)"})
			return
		}
		key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || key != s.cfg.APIKey {
			s.writeError(w, &apiError{status: http.StatusUnauthorized, code: CodeUnauthorized, description: "Invalid API key"})
			return
		}
		status, out, aerr := h(r)
		if aerr != nil {
			s.writeError(w, aerr)
			return
		}
		writeJSON(w, status, out)
	}
}

func (s *Sandbox) apiChannels(r *http.Request) (int, any, *apiError) {
	list, err := s.Channels()
	if err != nil {
		return 0, nil, &apiError{status: 500, code: CodeUnknownError, description: err.Error()}
	}
	out := []map[string]string{}
	for _, c := range list {
		out = append(out, map[string]string{"channelId": c.ChannelID, "transport": c.Transport, "plainId": c.PlainID, "state": c.State})
	}
	return http.StatusOK, out, nil
}

// transports says which channel transports can send to a chat type.
var transports = map[string][]string{
	ChatWhatsApp:      {TransportWhatsApp, TransportWABA},
	ChatWhatsAppGroup: {TransportWhatsApp},
	ChatViber:         {"viber"},
	ChatInstagram:     {TransportInstagram},
	ChatTelegram:      {TransportTelegram, TransportTelegramBot},
	"vk":              {TransportVK},
	"avito":           {TransportAvito},
}

func (s *Sandbox) apiMessage(r *http.Request) (int, any, *apiError) {
	fail := s.failNextMessage.Take()
	if fail {
		return 0, nil, &apiError{status: http.StatusInternalServerError, code: CodeUnknownError, description: "Unknown error (sandbox switch: fail the next message)"}
	}
	bad := func(code, desc string, data any) (int, any, *apiError) {
		return 0, nil, &apiError{status: http.StatusBadRequest, code: code, description: desc, data: data}
	}
	var p map[string]any
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&p); err != nil || p == nil {
		return bad(CodeValidationError, "Request body must be a JSON object", nil)
	}
	str := func(k string) (string, bool) {
		v, has := p[k]
		if !has || v == nil {
			return "", true
		}
		x, ok := v.(string)
		return x, ok
	}
	channelID, ok1 := str("channelId")
	chatType, ok2 := str("chatType")
	chatID, ok3 := str("chatId")
	text, ok4 := str("text")
	content, ok5 := str("contentUri")
	crmID, ok6 := str("crmMessageId")
	var fields []string
	if !ok1 || !uuidRe.MatchString(channelID) {
		fields = append(fields, "channelId")
	}
	if _, known := transports[chatType]; !ok2 || !known {
		fields = append(fields, "chatType")
	}
	// WhatsApp and Viber chat ids are phone digits only, no "+" or spaces.
	if !ok3 || chatID == "" || ((chatType == ChatWhatsApp || chatType == ChatViber) && !digitsRe.MatchString(chatID)) {
		fields = append(fields, "chatId")
	}
	if !ok4 {
		fields = append(fields, "text")
	}
	if !ok5 || (content != "" && !isURL(content)) {
		fields = append(fields, "contentUri")
	}
	if !ok6 {
		fields = append(fields, "crmMessageId")
	}
	if len(fields) > 0 {
		return bad(CodeInvalidMessageData, "Message data is invalid", map[string]any{"fields": fields})
	}
	switch {
	case text != "" && content != "":
		return bad(CodeMessageOnlyTextOrContent, "The message can contain text or content", nil)
	case text == "" && content == "":
		return bad(CodeMessageNothingToSend, "No message text was found", nil)
	case content == "" && strings.TrimSpace(text) == "":
		return bad(CodeMessagesTextCanNotBeBlank, "The text message cannot be empty", nil)
	case utf8.RuneCountInString(text) > MaxTextLength:
		return bad(CodeMessageTextTooLong, "The length of the text message exceeds 10 000 characters", nil)
	}
	ch, err := s.channel(r.Context(), channelID)
	if errors.Is(err, ErrNotFound) {
		return bad(CodeChannelNotFound, "Channel not found", map[string]any{"channelId": channelID})
	}
	if err != nil {
		return 0, nil, &apiError{status: 500, code: CodeMessagesCanNotAdd, description: err.Error()}
	}
	allowed := false
	for _, t := range transports[chatType] {
		allowed = allowed || t == ch.Transport
	}
	if !allowed {
		return bad(CodeWrongTransport, fmt.Sprintf("You can't send message to %s chat from %s transport", chatType, ch.Transport),
			map[string]any{"channelId": channelID, "transport": ch.Transport, "chatType": chatType})
	}
	switch ch.State {
	case StateActive:
	case StateDisabled:
		return bad(CodeChannelBlocked, "The channel is off", map[string]any{"channelId": channelID})
	case StateNotEnoughMoney:
		return bad(CodeChannelNoMoney, "The channel is not paid", map[string]any{"channelId": channelID})
	default:
		return bad(CodeMessageChannelUnavailable, "The channel is not available: "+ch.State, map[string]any{"channelId": channelID, "state": ch.State})
	}

	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	now := s.now()
	if crmID != "" {
		var prev string
		err := s.db.QueryRowContext(r.Context(), `SELECT message_id FROM wazzup_messages WHERE crm_message_id = ? AND created_at > ? ORDER BY created_at DESC LIMIT 1`,
			crmID, now.Add(-s.cfg.RepeatWindow).Format(time.RFC3339Nano)).Scan(&prev)
		if err == nil {
			// data.messageId is the sandbox's addition, so a client can
			// link the repeat to the first send; Wazzup documents only
			// crmMessageId here.
			return bad(CodeRepeatedCRMMessageID, "You have already sent message with same crmMessageId",
				map[string]any{"crmMessageId": crmID, "messageId": prev})
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return 0, nil, &apiError{status: 500, code: CodeMessagesCanNotAdd, description: err.Error()}
		}
	}
	id := wire.NewUUID()
	if _, err := s.db.ExecContext(r.Context(), `INSERT INTO wazzup_messages (message_id, channel_id, chat_type, chat_id, text, content_uri, crm_message_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, id, channelID, chatType, chatID, text, content, crmID, now.Format(time.RFC3339Nano)); err != nil {
		return 0, nil, &apiError{status: 500, code: CodeMessagesCanNotAdd, description: err.Error()}
	}
	return http.StatusCreated, map[string]string{"messageId": id, "chatId": chatID}, nil
}

func isURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// ---------------------------------------------------------------- the inbox

type controlView struct {
	APIURL   string
	Key      string
	Switches SandboxSwitches
	Channels []Channel
	Messages []SandboxMessage
	States   []string
	Error    string
}

func (s *Sandbox) controlPage(w http.ResponseWriter, r *http.Request) {
	v := controlView{APIURL: s.APIURL(), Key: s.cfg.APIKey, Switches: s.Switches(),
		States: []string{StateActive, StatePhoneUnavailable, StateQR, StateDisabled, StateNotEnoughMoney}}
	var err error
	if v.Channels, err = s.Channels(); err == nil {
		v.Messages, err = s.Messages(200)
	}
	if err != nil {
		v.Error = err.Error()
	}
	sandboxkit.Render(w, http.StatusOK, controlTmpl, v)
}

// control applies one switch or helper from the control page; what a helper
// fails to send is recorded on its row, which the page shows.
func (s *Sandbox) control(r *http.Request) error {
	switch r.FormValue("action") {
	case "fail_next":
		s.FailNext()
	case "fail_next_message":
		s.FailNextMessage()
	case "clear":
		s.failNext.Arm(false)
		s.failNextMessage.Arm(false)
	case "latency":
		return sandboxkit.SetLatency(r.FormValue("ms"), s.SetLatency)
	case "channel_state":
		if err := s.SetChannelState(r.FormValue("channel_id"), r.FormValue("state")); err != nil {
			return sandboxkit.NoSuch(err.Error())
		}
	default:
		return sandboxkit.ErrUnknownAction
	}
	return nil
}

var controlTmpl = sandboxkit.Page("control", `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Wazzup sandbox: WhatsApp inbox</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;vertical-align:top}form{display:inline}.text{white-space:pre-wrap;max-width:40em}</style></head>
<body data-testid="sandbox-wazzup-control">
<h1>Wazzup sandbox: WhatsApp inbox</h1>
<p>API: <code>{{.APIURL}}</code>, header <code>Authorization: Bearer {{.Key}}</code>.</p>
{{if .Error}}<p>{{.Error}}</p>{{end}}
<h2>Channels</h2>
<table data-testid="sandbox-channels">
<tr><th>channelId</th><th>Transport</th><th>Account</th><th>State</th></tr>
{{range .Channels}}<tr data-testid="sandbox-channel-row"><td><code>{{.ChannelID}}</code></td><td>{{.Transport}}</td><td>{{.PlainID}}</td>
<td><form method="post" action="_control"><input type="hidden" name="action" value="channel_state"><input type="hidden" name="channel_id" value="{{.ChannelID}}">
<select name="state">{{$cur := .State}}{{range $.States}}<option{{if eq . $cur}} selected{{end}}>{{.}}</option>{{end}}</select>
<button data-testid="sandbox-channel-state">Set</button></form>{{if ne .State "active"}} <strong>inactive</strong>{{end}}</td></tr>{{end}}
</table>
<h2>Switches</h2>
<p><form method="post" action="_control"><input type="hidden" name="action" value="fail_next">
<button data-testid="sandbox-fail-next">Fail next API call{{if .Switches.FailNext}} (armed){{end}}</button></form>
<form method="post" action="_control"><input type="hidden" name="action" value="fail_next_message">
<button data-testid="sandbox-fail-next-message">Fail next message{{if .Switches.FailNextMessage}} (armed){{end}}</button></form>
<form method="post" action="_control"><input type="hidden" name="action" value="clear"><button>Clear</button></form></p>
<p>{{template "latency-form" .Switches.Latency}}</p>
<h2>Messages sent</h2>
<table data-testid="sandbox-messages">
<tr><th>Time (UTC)</th><th>To</th><th>Text</th><th>crmMessageId</th><th>messageId</th></tr>
{{range .Messages}}<tr data-testid="sandbox-message-row"><td>{{.CreatedAt.Format "2006-01-02 15:04:05"}}</td><td>{{.ChatType}}: {{if eq .ChatType "whatsapp"}}+{{end}}{{.ChatID}}</td>
<td class="text" data-testid="sandbox-message-text">{{if .Text}}{{.Text}}{{else}}<a href="{{.ContentURI}}">{{.ContentURI}}</a>{{end}}</td><td>{{.CRMMessageID}}</td><td><code>{{.MessageID}}</code></td></tr>
{{else}}<tr><td colspan="5">No messages yet.</td></tr>{{end}}
</table>
</body></html>`, nil)
