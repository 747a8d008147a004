// Package wazzup is the client of the Wazzup24 API v3 for sending WhatsApp
// messages, and a sandbox that plays Wazzup's side (its control page is the
// demo's "WhatsApp inbox").
//
// The flow (seed 004): when an order is paid (and, for CDEK, when its track
// number is known), the app's outbox sends a WhatsApp message with
// SendMessage through the channel chosen in the integration settings.
//
// Idempotency: Wazzup sends the same message twice if asked twice. Pass the
// outbox row's id as Message.CRMMessageID: Wazzup then refuses a repeat with
// REPEATED_CRM_MESSAGE_ID, which SendMessage turns into success
// (Sent.Repeated). Wazzup documents that it remembers a crmMessageId for 60
// seconds only, so the outbox must still mark a message sent as soon as
// SendMessage succeeds and never retry a sent one; crmMessageId covers the
// retry after a lost answer, not a resend hours later.
//
// Wiring in the app: mount the sandbox with
//
//	mux.Handle("/sandbox/wazzup/", http.StripPrefix("/sandbox/wazzup", sb))
//
// and point the test endpoint at sb.APIURL() (BaseURL + "/v3"). The sandbox's
// channel is DemoChannelID.
package wazzup

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"orderdesk/providers/internal/wire"
	"strings"
	"time"

	"orderdesk/providers/internal/httpbody"
)

// ProductionURL is the API root.
const ProductionURL = "https://api.wazzup24.com/v3"

// Chat types for Message.ChatType (the ones Wazzup documents for sending).
const (
	ChatWhatsApp      = "whatsapp"
	ChatWhatsAppGroup = "whatsgroup"
	ChatViber         = "viber"
	ChatInstagram     = "instagram"
	ChatTelegram      = "telegram"
)

// Channel transports (Channel.Transport).
const (
	TransportWhatsApp    = "whatsapp"
	TransportWABA        = "wapi"
	TransportInstagram   = "instagram"
	TransportTelegram    = "tgapi"
	TransportTelegramBot = "telegram"
	TransportVK          = "vk"
	TransportAvito       = "avito"
)

// Channel states (Channel.State); only "active" can send.
const (
	StateActive           = "active"
	StateInit             = "init"
	StateDisabled         = "disabled"
	StatePhoneUnavailable = "phoneUnavailable"
	StateQR               = "qr"
	StateOpenElsewhere    = "openElsewhere"
	StateNotEnoughMoney   = "notEnoughMoney"
	StateForeignPhone     = "foreignphone"
	StateUnauthorized     = "unauthorized"
	StateWaitForPassword  = "waitForPassword"
	StateOnModeration     = "onModeration"
	StateRejected         = "rejected"
)

// MaxTextLength is the longest WhatsApp text Wazzup accepts, in characters.
const MaxTextLength = 10000

// ErrBadPhone is returned by NormalizePhone and SendMessage for a phone
// number that cannot be a WhatsApp chat id.
var ErrBadPhone = errors.New("wazzup: not a phone number with a country code")

// Config holds what New needs.
type Config struct {
	// BaseURL is the API root including "/v3", e.g. ProductionURL.
	BaseURL string
	// APIKey is the key from the Wazzup integration settings.
	APIKey string
	// HTTPClient is optional; the default has a 30 s timeout.
	HTTPClient *http.Client
}

// Client calls the Wazzup API v3 with one key. It is safe for concurrent use.
type Client struct {
	baseURL string
	key     string
	http    *http.Client
}

// New returns a client for cfg.
func New(cfg Config) *Client {
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{baseURL: strings.TrimRight(cfg.BaseURL, "/"), key: cfg.APIKey, http: hc}
}

// Channel is a connected messenger account.
type Channel struct {
	ChannelID string
	Transport string
	// PlainID is the phone number, user name or id in the messenger.
	PlainID string
	State   string
}

// Active reports whether the channel can send now.
func (c Channel) Active() bool { return c.State == StateActive }

// IsWhatsApp reports whether the channel is a WhatsApp one (personal or
// WABA).
func (c Channel) IsWhatsApp() bool {
	return c.Transport == TransportWhatsApp || c.Transport == TransportWABA
}

// Message is a message to send. Give Text or ContentURI, not both.
type Message struct {
	ChannelID string
	// ChatType defaults to ChatWhatsApp.
	ChatType string
	// ChatID is the recipient. For WhatsApp and Viber it is the phone number;
	// SendMessage normalises "+90 555 123-45-67" to "905551234567".
	ChatID     string
	Text       string
	ContentURI string
	// CRMMessageID should be the app's outbox id: it makes a retry safe (see
	// the package documentation).
	CRMMessageID string
	RefMessageID string
	CRMUserID    string
}

// Sent is the answer to SendMessage.
type Sent struct {
	MessageID string
	ChatID    string
	// Repeated is true when Wazzup had already sent a message with this
	// CRMMessageID: nothing new was sent. MessageID is then the first
	// message's id if Wazzup says it (the sandbox does; Wazzup documents
	// only crmMessageId in that answer), else "".
	Repeated bool
}

// NormalizePhone turns a phone number as people write it into WhatsApp's
// chat id: digits only, with the country code ("+90 555 123-45-67" →
// "905551234567"). An international "00" prefix is dropped, and a Russian
// number written with the trunk prefix 8 (11 digits) becomes 7…, as shops
// in Russia often store them. It returns ErrBadPhone when fewer than 10 or
// more than 15 digits remain (E.164 allows at most 15).
func NormalizePhone(s string) (string, error) {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' || r == '-' || r == '(' || r == ')' || r == '.' || r == ' ' || r == '\u00a0' || r == '\t':
			// Punctuation people put in phone numbers.
		default:
			return "", fmt.Errorf("%w: %q", ErrBadPhone, s)
		}
	}
	d := strings.TrimPrefix(b.String(), "00")
	if len(d) == 11 && d[0] == '8' {
		d = "7" + d[1:]
	}
	if len(d) < 10 || len(d) > 15 || d[0] == '0' {
		return "", fmt.Errorf("%w: %q", ErrBadPhone, s)
	}
	return d, nil
}

// Channels lists the account's channels (GET /channels).
func (c *Client) Channels(ctx context.Context) ([]Channel, error) {
	var raw json.RawMessage
	if err := c.do(ctx, http.MethodGet, "/channels", nil, &raw); err != nil {
		return nil, err
	}
	// Wazzup documents a bare array; accept {"channels":[…]} or
	// {"data":[…]} too, since the answer's shape is not fixed elsewhere [U].
	var list []Channel
	var wrapped struct {
		Channels []Channel `json:"channels"`
		Data     []Channel `json:"data"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		if err2 := json.Unmarshal(raw, &wrapped); err2 != nil {
			return nil, fmt.Errorf("wazzup: channels: decode answer: %w", err)
		}
		list = append(wrapped.Channels, wrapped.Data...)
	}
	return list, nil
}

// UnmarshalJSON reads a channel, tolerating a missing or null field.
func (ch *Channel) UnmarshalJSON(b []byte) error {
	var w struct {
		ChannelID string          `json:"channelId"`
		Transport string          `json:"transport"`
		PlainID   json.RawMessage `json:"plainId"`
		State     string          `json:"state"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*ch = Channel{ChannelID: w.ChannelID, Transport: w.Transport, State: w.State}
	// plainId is a string in the documentation; a phone number sent as a
	// JSON number keeps its exact digits.
	raw := bytes.TrimSpace(w.PlainID)
	switch {
	case len(raw) == 0 || string(raw) == "null":
	case raw[0] == '"':
		if err := json.Unmarshal(raw, &ch.PlainID); err != nil {
			return err
		}
	default:
		ch.PlainID = string(raw)
	}
	return nil
}

// SendMessage sends a message (POST /message). A repeat of an earlier
// CRMMessageID is not an error: see Sent.Repeated.
func (c *Client) SendMessage(ctx context.Context, m Message) (*Sent, error) {
	if m.ChatType == "" {
		m.ChatType = ChatWhatsApp
	}
	if m.ChatType == ChatWhatsApp || m.ChatType == ChatViber {
		id, err := NormalizePhone(m.ChatID)
		if err != nil {
			return nil, err
		}
		m.ChatID = id
	}
	body := map[string]string{"channelId": m.ChannelID, "chatType": m.ChatType, "chatId": m.ChatID}
	for k, v := range map[string]string{"text": m.Text, "contentUri": m.ContentURI, "crmMessageId": m.CRMMessageID,
		"refMessageId": m.RefMessageID, "crmUserId": m.CRMUserID} {
		if v != "" {
			body[k] = v
		}
	}
	var out struct {
		MessageID string `json:"messageId"`
		ChatID    string `json:"chatId"`
	}
	err := c.do(ctx, http.MethodPost, "/message", body, &out)
	var e *Error
	if errors.As(err, &e) && e.HasCode(CodeRepeatedCRMMessageID) {
		var d struct {
			MessageID string `json:"messageId"`
		}
		_ = json.Unmarshal(e.Data, &d)
		return &Sent{MessageID: d.MessageID, ChatID: m.ChatID, Repeated: true}, nil
	}
	if err != nil {
		return nil, err
	}
	if out.ChatID == "" {
		out.ChatID = m.ChatID
	}
	return &Sent{MessageID: out.MessageID, ChatID: out.ChatID}, nil
}

// TestConnection lists the channels, the cheapest authenticated call, and
// says how many can send WhatsApp messages.
func (c *Client) TestConnection(ctx context.Context) (string, error) {
	list, err := c.Channels(ctx)
	if err != nil {
		return "", err
	}
	wa, active := 0, 0
	for _, ch := range list {
		if ch.IsWhatsApp() {
			wa++
			if ch.Active() {
				active++
			}
		}
	}
	s := fmt.Sprintf("Connected: %d WhatsApp %s, %d active", wa, plural(wa, "channel", "channels"), active)
	if other := len(list) - wa; other > 0 {
		s += fmt.Sprintf(" (and %d other %s)", other, plural(other, "channel", "channels"))
	}
	return s, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("wazzup: %s: encode request: %w", path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+path, rd)
	if err != nil {
		return fmt.Errorf("wazzup: %s: %w", path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("wazzup: %s: %w", path, err)
	}
	raw, err := httpbody.ReadAndClose(resp, 4<<20)
	if err != nil {
		return fmt.Errorf("wazzup: %s: read answer: %w", path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return parseError(resp.StatusCode, raw)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("wazzup: %s: decode answer: %w", path, err)
	}
	return nil
}

// Error codes Wazzup documents for sending (the full table is in its API
// help), plus the ones the sandbox uses for authentication ([U]: Wazzup's
// answer to a bad key is not documented).
const (
	CodeUnauthorized              = "UNAUTHORIZED" // [U]
	CodeValidationError           = "VALIDATION_ERROR"
	CodeInvalidMessageData        = "INVALID_MESSAGE_DATA"
	CodeWrongTransport            = "WRONG_TRANSPORT"
	CodeRepeatedCRMMessageID      = "REPEATED_CRM_MESSAGE_ID"
	CodeBalanceIsEmpty            = "BALANCE_IS_EMPTY"
	CodeMessageOnlyTextOrContent  = "MESSAGE_ONLY_TEXT_OR_CONTENT"
	CodeMessageNothingToSend      = "MESSAGE_NOTHING_TO_SEND"
	CodeMessageTextTooLong        = "MESSAGE_TEXT_TOO_LONG"
	CodeMessagesTextCanNotBeBlank = "MESSAGES_TEXT_CAN_NOT_BE_BLANK"
	CodeChannelNotFound           = "CHANNEL_NOT_FOUND"
	CodeChannelBlocked            = "CHANNEL_BLOCKED"
	CodeChannelNoMoney            = "CHANNEL_NO_MONEY"
	CodeMessageChannelUnavailable = "MESSAGE_CHANNEL_UNAVAILABLE"
	CodeMessageDownloadContent    = "MESSAGE_DOWNLOAD_CONTENT_ERROR"
	CodeMessagesNotTextFirst      = "MESSAGES_NOT_TEXT_FIRST"
	CodeMessagesIsSpam            = "MESSAGES_IS_SPAM"
	CodeMessagesAbnormalSend      = "MESSAGES_ABNORMAL_SEND"
	CodeMessagesCanNotAdd         = "MESSAGES_CAN_NOT_ADD"
	CodeChatNoAccess              = "CHAT_NO_ACCESS"
	CodeChannelLimitExceeded      = "CHANNEL_LIMIT_EXCEEDED"
	CodeBadContact                = "BAD_CONTACT"
	CodeTooManyRequests           = "TOO_MANY_REQUESTS" // [U]
	CodeUnknownError              = "UNKNOWN_ERROR"
)

// Error is an error answer of Wazzup (Code set) or an HTTP failure without a
// readable body (Code empty).
type Error struct {
	HTTPStatus  int
	Code        string
	Description string
	RequestID   string
	// Data is the error's `data` object as sent (for INVALID_MESSAGE_DATA it
	// holds the offending fields, also in Fields).
	Data   json.RawMessage
	Fields []string
}

// HasCode reports whether the error has code, ignoring case and underscores:
// Wazzup's documentation spells the same code REPEATED_CRM_MESSAGE_ID in one
// place and repeatedCrmMessageId in another.
func (e *Error) HasCode(code string) bool { return canon(e.Code) == canon(code) }

func canon(s string) string { return strings.ToLower(strings.ReplaceAll(s, "_", "")) }

// Error returns Wazzup's words prefixed with the provider's name.
func (e *Error) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("wazzup: HTTP %d: %s", e.HTTPStatus, e.Description)
	}
	s := "wazzup: " + e.Code
	if e.Description != "" {
		s += ": " + e.Description
	}
	if len(e.Fields) > 0 {
		s += " (" + strings.Join(e.Fields, ", ") + ")"
	}
	return s
}

// Temporary reports whether the same call may succeed later unchanged.
func (e *Error) Temporary() bool {
	switch {
	case e.HasCode(CodeMessageChannelUnavailable), e.HasCode(CodeMessagesCanNotAdd), e.HasCode(CodeUnknownError), e.HasCode(CodeTooManyRequests):
		return true
	}
	return e.HTTPStatus >= 500 || e.HTTPStatus == http.StatusTooManyRequests
}

// Explain is the method form of the package-level Explain.
func (e *Error) Explain() string { return Explain(e) }

// parseError reads Wazzup's error body {status, requestId, error,
// description, data}, tolerating a list of such objects and odd types.
func parseError(status int, raw []byte) *Error {
	e := &Error{HTTPStatus: status}
	var w struct {
		Error       any             `json:"error"`
		Description any             `json:"description"`
		Message     string          `json:"message"`
		RequestID   any             `json:"requestId"`
		Data        json.RawMessage `json:"data"`
	}
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var list []json.RawMessage
		if json.Unmarshal(trimmed, &list) == nil && len(list) > 0 {
			trimmed = list[0]
		}
	}
	if json.Unmarshal(trimmed, &w) != nil {
		e.Description = wire.Snippet(raw)
		return e
	}
	e.Code = text(w.Error)
	e.Description = text(w.Description)
	if e.Description == "" {
		e.Description = w.Message
	}
	e.RequestID = text(w.RequestID)
	e.Data = w.Data
	var d struct {
		Fields []any `json:"fields"`
	}
	if json.Unmarshal(w.Data, &d) == nil {
		for _, f := range d.Fields {
			e.Fields = append(e.Fields, text(f))
		}
	}
	if e.Code == "" && e.Description == "" {
		e.Description = wire.Snippet(raw)
	}
	return e
}

// text renders a loosely typed JSON value for a message.
func text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case map[string]any:
		// Some gateways nest {"error": {"code": …, "message": …}}.
		if c, ok := x["code"]; ok {
			return text(c)
		}
		b, _ := json.Marshal(x)
		return string(b)
	default:
		return fmt.Sprint(x)
	}
}

// Explain returns a short, plain-English sentence for a shop assistant about
// what went wrong, for any error this package returns.
func Explain(err error) string {
	if err == nil {
		return ""
	}
	if errors.Is(err, ErrBadPhone) {
		return "The customer's phone number is not valid for WhatsApp: it needs the country code (for example +7 903 123-45-67)."
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "Wazzup did not answer in time. Try again in a few minutes."
	}
	var e *Error
	if !errors.As(err, &e) {
		return "Could not reach Wazzup (network problem). Try again in a few minutes."
	}
	switch {
	case e.HasCode(CodeUnauthorized), e.HTTPStatus == http.StatusUnauthorized, e.HTTPStatus == http.StatusForbidden:
		return "Wazzup refused the API key. Check the integration settings."
	case e.HasCode(CodeChannelNotFound):
		return "The WhatsApp channel in the integration settings does not exist in this Wazzup account. Choose one of the channels Test connection lists."
	case e.HasCode(CodeMessageChannelUnavailable):
		return "The WhatsApp channel is offline (the phone is not connected). Open Wazzup and reconnect the phone; the message will be retried."
	case e.HasCode(CodeChannelBlocked):
		return "The WhatsApp channel is switched off in Wazzup."
	case e.HasCode(CodeChannelNoMoney), e.HasCode(CodeBalanceIsEmpty):
		return "The Wazzup subscription for this channel is not paid."
	case e.HasCode(CodeChannelLimitExceeded):
		return "The WhatsApp channel has reached its limit of active conversations."
	case e.HasCode(CodeWrongTransport), e.HasCode(CodeMessagesAbnormalSend):
		return "The channel in the integration settings is not a WhatsApp channel."
	case e.HasCode(CodeMessageTextTooLong):
		return "The message is too long for WhatsApp (10,000 characters at most)."
	case e.HasCode(CodeMessageNothingToSend), e.HasCode(CodeMessagesTextCanNotBeBlank):
		return "The message is empty."
	case e.HasCode(CodeMessageOnlyTextOrContent):
		return "A WhatsApp message can carry text or a file, not both."
	case e.HasCode(CodeMessageDownloadContent):
		return "Wazzup could not download the attached file."
	case e.HasCode(CodeMessagesIsSpam):
		return "Wazzup flagged the message as spam and did not send it."
	case e.HasCode(CodeMessagesNotTextFirst):
		return "On this Wazzup plan the shop cannot write first to a customer."
	case e.HasCode(CodeChatNoAccess):
		return "The Wazzup account has no access to this chat."
	case e.HasCode(CodeBadContact):
		return "The phone number does not seem to have WhatsApp."
	case e.HasCode(CodeInvalidMessageData), e.HasCode(CodeValidationError):
		s := "Wazzup rejected the message data"
		if len(e.Fields) > 0 {
			s += " (" + strings.Join(e.Fields, ", ") + ")"
		}
		return s + "."
	case e.HasCode(CodeRepeatedCRMMessageID):
		return "This message was already sent."
	case e.HasCode(CodeTooManyRequests), e.HTTPStatus == http.StatusTooManyRequests:
		return "Too many requests to Wazzup. Wait a minute and try again."
	case e.Code == "":
		return "Wazzup's server is having trouble. Try again in a few minutes."
	}
	if e.Temporary() {
		return "Wazzup is temporarily unavailable. Try again in a few minutes."
	}
	return "Wazzup refused the message (" + e.Code + ")."
}
