package model

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// The kinds of customer message, one of each per order at most (the outbox's
// UNIQUE (order_id, kind)). Each is queued in the transaction of the change
// that causes it; services/messaging renders and sends them.
const (
	MsgOrderPlaced     = "msg_order_placed"     // PlaceOrder
	MsgPaid            = "msg_paid"             // the order became paid
	MsgPurchased       = "msg_purchased"        // bought at the supplier, when the shop says so
	MsgPaymentFailed   = "msg_payment_failed"   // a payment of an unpaid order failed; payload payment_number
	MsgShipped         = "msg_shipped"          // payload carrier, track, tracking_url
	MsgCourierAssigned = "msg_courier_assigned" // payload courier_name, courier_phone, tracking_url
	MsgDelivered       = "msg_delivered"
)

// MessageKinds are the kinds services/messaging can send, in the order of an
// order's life.
var MessageKinds = []string{MsgOrderPlaced, MsgPaid, MsgPurchased, MsgPaymentFailed, MsgShipped, MsgCourierAssigned, MsgDelivered}

// EventMessage is the timeline's kind for a message sent, failed or retried.
const EventMessage = "message"

// MessageStatus is where a message is: see migrations/0009_messages.sql.
type MessageStatus string

// Message statuses.
const (
	MessagePending MessageStatus = "pending"
	MessageSending MessageStatus = "sending"
	MessageSent    MessageStatus = "sent"
	MessageFailed  MessageStatus = "failed"
	MessageDead    MessageStatus = "dead"
	MessageUnknown MessageStatus = "unknown"
	MessageSkipped MessageStatus = "skipped"
)

// MessageStatuses lists every status, for the filters of /admin/messages.
var MessageStatuses = []MessageStatus{MessagePending, MessageSending, MessageSent, MessageFailed, MessageDead, MessageUnknown, MessageSkipped}

// Valid reports whether s is a known status.
func (s MessageStatus) Valid() bool {
	for _, v := range MessageStatuses {
		if s == v {
			return true
		}
	}
	return false
}

// Retryable reports whether a person may send the message again: a failed
// try, a dead letter, or one whose outcome is unknown.
func (s MessageStatus) Retryable() bool {
	return s == MessageFailed || s == MessageDead || s == MessageUnknown
}

// The channels a message goes by.
const (
	ChannelWhatsApp = "whatsapp"
	ChannelEmail    = "email"
)

// MaxMessageAttempts is how many tries a message gets before it becomes a
// dead letter (with the waits of MessageRetryDelay, about two hours).
const MaxMessageAttempts = 8

// MessageRetryDelay is the wait after a message's n-th failed try: a minute,
// doubling, at most an hour.
func MessageRetryDelay(attempts int) time.Duration {
	d := time.Minute
	for i := 1; i < attempts && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}

// Message is a customer message of the outbox.
type Message struct {
	ID            int64
	TenantID      int64
	OrderID       int64
	OrderNumber   string
	Kind          string
	Payload       map[string]string
	Status        MessageStatus
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	CreatedAt     time.Time
	SentAt        *time.Time
	// Key is the message's idempotency key: every try of the message is the
	// same message to the provider (Wazzup's crmMessageId, the Message-ID).
	Key string
	// What the last try used: the channel, the phone digits or e-mail
	// address, the subject and the text as sent.
	Channel, Recipient, Subject, Body string
	ProviderRef                       string
	// ClaimID is the try that holds the message (status sending).
	ClaimID   string
	ClaimedAt *time.Time
}

// newMessageKey makes a message's idempotency key. It is random rather than
// the row's id: another installation (a test copy of the shop, say) may send
// through the same Wazzup account, and its ids are the same numbers.
func newMessageKey() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "msg-" + hex.EncodeToString(b), nil
}

// queuePaymentFailedTx tells the customer that a payment failed, with the
// payment's number, when the order is still to be paid: a failed second
// payment of a paid order, or of a cancelled one, says nothing.
func queuePaymentFailedTx(ctx context.Context, tx *sql.Tx, tenantID, orderID int64, paymentNumber string, now time.Time) error {
	var status OrderStatus
	var pay OrderPaymentStatus
	if err := tx.QueryRowContext(ctx, `SELECT status, payment_status FROM orders WHERE id = ?`, orderID).Scan(&status, &pay); err != nil {
		return err
	}
	if payable(status, pay) != "" {
		return nil
	}
	return queueOutboxTx(ctx, tx, tenantID, orderID, MsgPaymentFailed, map[string]string{"payment_number": paymentNumber}, now)
}

// bought reports whether an order's procurement moved from not bought to
// bought at the supplier: its purchase paid (or further along, when the
// supplier's answer skipped a step).
func bought(from, to ProcurementStatus) bool {
	was := from == ProcPending || from == ProcCreated
	is := to == ProcPaid || to == ProcShipped || to == ProcCompleted
	return was && is
}

// queuePurchasedTx tells the customer that the order was bought at the
// supplier, when the shop's setting says so.
func queuePurchasedTx(ctx context.Context, tx *sql.Tx, tenantID, orderID int64, now time.Time) error {
	var notify bool
	if err := tx.QueryRowContext(ctx, `SELECT notify_purchased FROM tenants WHERE id = ?`, tenantID).Scan(&notify); err != nil {
		return err
	}
	if !notify {
		return nil
	}
	return queueOutboxTx(ctx, tx, tenantID, orderID, MsgPurchased, nil, now)
}

const messageColumns = `m.id, m.tenant_id, coalesce(m.order_id, 0), coalesce(o.number, ''), m.kind, m.payload, m.status, m.attempts,
	m.next_attempt_at, m.last_error, m.created_at, m.sent_at, m.idem_key, m.channel, m.recipient, m.subject, m.body, m.provider_ref,
	m.claim_id, m.claimed_at`

const messageFrom = ` FROM outbox m LEFT JOIN orders o ON o.id = m.order_id `

func scanMessage(row interface{ Scan(...any) error }) (*Message, error) {
	m := &Message{}
	var payload string
	var sent, claimed sql.NullTime
	if err := row.Scan(&m.ID, &m.TenantID, &m.OrderID, &m.OrderNumber, &m.Kind, &payload, &m.Status, &m.Attempts, &m.NextAttemptAt,
		&m.LastError, &m.CreatedAt, &sent, &m.Key, &m.Channel, &m.Recipient, &m.Subject, &m.Body, &m.ProviderRef, &m.ClaimID, &claimed); err != nil {
		return nil, notFound(err)
	}
	// An old row's payload may hold more than strings (or null): only the
	// string values are kept, which is all a message reads.
	var raw map[string]any
	if err := json.Unmarshal([]byte(payload), &raw); err != nil {
		return nil, fmt.Errorf("message %d: payload: %w", m.ID, err)
	}
	m.Payload = map[string]string{}
	for k, v := range raw {
		if s, ok := v.(string); ok {
			m.Payload[k] = s
		}
	}
	if sent.Valid {
		m.SentAt = &sent.Time
	}
	if claimed.Valid {
		m.ClaimedAt = &claimed.Time
	}
	return m, nil
}

// MessageFilter selects messages for /admin/messages.
type MessageFilter struct {
	Status  MessageStatus // "" for all
	OrderID int64
	Before  int64 // keyset: messages with a smaller id (the next page)
	Limit   int
}

// FindMessages lists the shop's messages, newest first.
func (s *Store) FindMessages(ctx context.Context, tenantID int64, f MessageFilter) (_ []*Message, err error) {
	defer wrapErr(&err, "find messages (tenantID=%d)", tenantID)
	conds, args := []string{"m.tenant_id = ?"}, []any{tenantID}
	if f.Status != "" {
		conds, args = append(conds, "m.status = ?"), append(args, string(f.Status))
	}
	if f.OrderID != 0 {
		conds, args = append(conds, "m.order_id = ?"), append(args, f.OrderID)
	}
	if f.Before > 0 {
		conds, args = append(conds, "m.id < ?"), append(args, f.Before)
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	args = append(args, f.Limit)
	rows, err := s.DB.R.QueryContext(ctx, `SELECT `+messageColumns+messageFrom+`WHERE `+strings.Join(conds, " AND ")+` ORDER BY m.id DESC LIMIT ?`, args...)
	return collect(rows, err, scanMessage)
}

// FindMessage returns one message of the shop, or ErrNotFound.
func (s *Store) FindMessage(ctx context.Context, tenantID, id int64) (_ *Message, err error) {
	defer wrapErr(&err, "find message (tenantID=%d id=%d)", tenantID, id)
	return scanMessage(s.DB.R.QueryRowContext(ctx, `SELECT `+messageColumns+messageFrom+`WHERE m.tenant_id = ? AND m.id = ?`, tenantID, id))
}

// CountMessages counts the shop's messages by status, for the filter tabs.
func (s *Store) CountMessages(ctx context.Context, tenantID int64) (_ map[MessageStatus]int, err error) {
	defer wrapErr(&err, "count messages (tenantID=%d)", tenantID)
	rows, err := s.DB.R.QueryContext(ctx, `SELECT status, count(*) FROM outbox WHERE tenant_id = ? GROUP BY status`, tenantID)
	type count struct {
		st MessageStatus
		n  int
	}
	list, err := collect(rows, err, func(r rowScanner) (count, error) {
		var c count
		err := r.Scan(&c.st, &c.n)
		return c, err
	})
	if err != nil {
		return nil, err
	}
	out := map[MessageStatus]int{}
	for _, c := range list {
		out[c.st] = c.n
	}
	return out, nil
}

// FindDueMessages lists the shop's messages due for a try now (pending, or
// failed and past their wait), oldest due first.
func (s *Store) FindDueMessages(ctx context.Context, tenantID int64, limit int) (_ []*Message, err error) {
	defer wrapErr(&err, "find due messages (tenantID=%d limit=%d)", tenantID, limit)
	rows, err := s.DB.R.QueryContext(ctx, `SELECT `+messageColumns+messageFrom+`WHERE m.tenant_id = ? AND m.status IN ('pending', 'failed')
		AND m.next_attempt_at <= ? ORDER BY m.next_attempt_at, m.id LIMIT ?`, tenantID, s.now(), limit)
	return collect(rows, err, scanMessage)
}

// RecoverInterruptedMessages settles the shop's messages whose try was cut
// off: still sending when a run starts. Call it only under the shop's lease
// of the send-messages job, which keeps its runs from overlapping: a message
// sending then belongs to a run that is gone (the server stopped during the
// try). Such a message may or may not have reached the customer. One that went
// by WhatsApp within window (Wazzup remembers a crmMessageId for about a
// minute) is returned, still sending, to be sent again with the same key:
// Wazzup then either sends it or answers that it already did. Any other
// becomes unknown, on the timeline too, and waits for a person: an e-mail
// cannot be asked back, and sending it blindly could send it twice.
func (s *Store) RecoverInterruptedMessages(ctx context.Context, t *Tenant, window time.Duration) (_ []*Message, err error) {
	defer wrapErr(&err, "recover interrupted messages")
	var resume []*Message
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		rows, err := tx.QueryContext(ctx, `SELECT `+messageColumns+messageFrom+`WHERE m.tenant_id = ? AND m.status = 'sending' ORDER BY m.id`, t.ID)
		cut, err := collect(rows, err, scanMessage)
		if err != nil {
			return err
		}
		for _, m := range cut {
			if m.Channel == ChannelWhatsApp && m.ClaimedAt != nil && now.Sub(*m.ClaimedAt) < window {
				resume = append(resume, m)
				continue
			}
			why := "The server stopped while sending this message by " + ChannelLabel(m.Channel) +
				": it may or may not have reached the customer, so it is not sent again by itself. Ask the customer, or press Retry to send it again."
			if err := finishMessageTx(ctx, tx, t.ID, m, MessageUnknown, why, SystemActor, now); err != nil {
				return err
			}
		}
		return nil
	})
	return resume, err
}

// MessageClaim is one try of a message: its id, and how the message goes out.
type MessageClaim struct {
	ID                                string
	Channel, Recipient, Subject, Body string
}

// NewMessageClaimID makes the id of a try.
func NewMessageClaimID() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "try-" + hex.EncodeToString(b), nil
}

// ClaimMessage takes a message for one try before any provider is called,
// recording the channel, the recipient and the text: a run that finds it
// still sending knows the try was cut off. It takes a due message (pending,
// or failed and past its wait), or resumes a cut-off WhatsApp try returned by
// RecoverInterruptedMessages (m.ClaimID still set). It reports false when
// the message is not there to take (a person changed it meanwhile).
func (s *Store) ClaimMessage(ctx context.Context, t *Tenant, m *Message, c MessageClaim) (_ bool, err error) {
	defer wrapErr(&err, "claim message")
	now := s.now()
	cond := `status IN ('pending', 'failed') AND next_attempt_at <= ?`
	arg := any(now)
	if m.Status == MessageSending {
		cond, arg = `status = 'sending' AND claim_id = ?`, m.ClaimID
	}
	res, err := s.DB.W.ExecContext(ctx, `UPDATE outbox SET status = 'sending', claim_id = ?, claimed_at = ?, attempts = attempts + 1,
		channel = ?, recipient = ?, subject = ?, body = ? WHERE tenant_id = ? AND id = ? AND `+cond,
		c.ID, now, c.Channel, c.Recipient, c.Subject, c.Body, t.ID, m.ID, arg)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err != nil || n == 0 {
		return false, err
	}
	m.Status, m.ClaimID, m.ClaimedAt, m.Attempts = MessageSending, c.ID, &now, m.Attempts+1
	m.Channel, m.Recipient, m.Subject, m.Body = c.Channel, c.Recipient, c.Subject, c.Body
	return true, nil
}

// SwitchMessageChannel records, before the call, that a claimed try goes on by
// another channel (e-mail after WhatsApp failed), so that a cut-off try is
// judged by the channel it was in.
func (s *Store) SwitchMessageChannel(ctx context.Context, t *Tenant, m *Message, channel, recipient string) (err error) {
	defer wrapErr(&err, "switch message channel")
	res, err := s.DB.W.ExecContext(ctx, `UPDATE outbox SET channel = ?, recipient = ? WHERE tenant_id = ? AND id = ? AND status = 'sending' AND claim_id = ?`,
		channel, recipient, t.ID, m.ID, m.ClaimID)
	if err != nil {
		return err
	}
	if err := oneRow(res, "The message was changed while it was being sent."); err != nil {
		return err
	}
	m.Channel, m.Recipient = channel, recipient
	return nil
}

// RecordMessageSent records a claimed try that the provider accepted, with
// the provider's id, and puts it on the order's timeline with note (what
// went wrong on the way, a WhatsApp failure before the e-mail, say).
func (s *Store) RecordMessageSent(ctx context.Context, t *Tenant, m *Message, providerRef, note string) (err error) {
	defer wrapErr(&err, "record message sent")
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		res, err := tx.ExecContext(ctx, `UPDATE outbox SET status = 'sent', sent_at = ?, provider_ref = ?, last_error = ''
			WHERE tenant_id = ? AND id = ? AND status = 'sending' AND claim_id = ?`, now, providerRef, t.ID, m.ID, m.ClaimID)
		if err != nil {
			return err
		}
		if err := oneRow(res, "The message was changed while it was being sent."); err != nil {
			return err
		}
		text := MessageLabel(m.Kind) + " sent by " + ChannelLabel(m.Channel) + " to " + m.Recipient
		if note != "" {
			text += " (" + note + ")"
		}
		m.Status, m.ProviderRef, m.SentAt = MessageSent, providerRef, &now
		return insertEvent(ctx, tx, t.ID, m.OrderID, EventMessage, SystemActor, string(MessageSending), string(MessageSent), text, now)
	})
}

// RecordMessageFailed records a claimed try that did not reach the customer,
// with why: the message waits MessageRetryDelay and is tried again, or
// becomes a dead letter after MaxMessageAttempts tries, or at once when final
// (nothing could ever send it: no template, no way to reach the customer).
// A resumed try that failed is unknown instead: the cut-off try before it
// may have reached the customer.
func (s *Store) RecordMessageFailed(ctx context.Context, t *Tenant, m *Message, reason string, final, resumed bool) (err error) {
	defer wrapErr(&err, "record message failed")
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		to := MessageFailed
		switch {
		case resumed:
			to = MessageUnknown
			reason += " The try before was cut off by a stop of the server and may have reached the customer: press Retry to send it again."
		case final || m.Attempts >= MaxMessageAttempts:
			to = MessageDead
		}
		return finishMessageTx(ctx, tx, t.ID, m, to, reason, SystemActor, now)
	})
}

// finishMessageTx ends a claimed try as failed, dead or unknown, with why, on
// the order's timeline too.
func finishMessageTx(ctx context.Context, tx *sql.Tx, tenantID int64, m *Message, to MessageStatus, reason string, actor Actor, now time.Time) error {
	next := now
	if to == MessageFailed {
		next = now.Add(MessageRetryDelay(m.Attempts))
	}
	res, err := tx.ExecContext(ctx, `UPDATE outbox SET status = ?, last_error = ?, next_attempt_at = ?
		WHERE tenant_id = ? AND id = ? AND status = 'sending' AND claim_id = ?`, string(to), reason, next, tenantID, m.ID, m.ClaimID)
	if err != nil {
		return err
	}
	if err := oneRow(res, "The message was changed while it was being sent."); err != nil {
		return err
	}
	text := MessageLabel(m.Kind) + " not sent"
	switch to {
	case MessageFailed:
		text += fmt.Sprintf(" (try %d of %d; the next at %s UTC): %s", m.Attempts, MaxMessageAttempts, next.UTC().Format("15:04"), reason)
	case MessageDead:
		text += " and not tried again (dead letter): " + reason
	case MessageUnknown:
		text = MessageLabel(m.Kind) + ": " + reason
	}
	m.Status, m.LastError, m.NextAttemptAt = to, reason, next
	return insertEvent(ctx, tx, tenantID, m.OrderID, EventMessage, actor, string(MessageSending), string(to), text, now)
}

// RetryMessage queues a failed, dead or unknown message again at once, for a
// person (the Retry button): the next run of send-messages tries it, once
// more than its tries so far. Another status is a conflict.
func (s *Store) RetryMessage(ctx context.Context, t *Tenant, id int64, actor Actor) (_ *Message, err error) {
	defer wrapErr(&err, "retry message (id=%d)", id)
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		m, err := scanMessage(tx.QueryRowContext(ctx, `SELECT `+messageColumns+messageFrom+`WHERE m.tenant_id = ? AND m.id = ?`, t.ID, id))
		if err != nil {
			return err
		}
		if !m.Status.Retryable() {
			return &ConflictError{Msg: "This message is " + string(m.Status) + ": only a failed, dead or unknown message can be sent again."}
		}
		res, err := tx.ExecContext(ctx, `UPDATE outbox SET status = 'pending', next_attempt_at = ?, claim_id = ''
			WHERE tenant_id = ? AND id = ? AND status = ?`, now, t.ID, id, string(m.Status))
		if err != nil {
			return err
		}
		if err := oneRow(res, "The message changed meanwhile; reload the page."); err != nil {
			return err
		}
		return insertEvent(ctx, tx, t.ID, m.OrderID, EventMessage, actor, string(m.Status), string(MessagePending),
			MessageLabel(m.Kind)+" queued again", now)
	})
	if err != nil {
		return nil, err
	}
	return s.FindMessage(ctx, t.ID, id)
}

// oneRow turns an update that changed no row into a conflict with msg.
func oneRow(res sql.Result, msg string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return &ConflictError{Msg: msg}
	}
	return nil
}

// MessageLabel names a kind of message for people.
func MessageLabel(kind string) string {
	switch kind {
	case MsgOrderPlaced:
		return `"Order placed" message`
	case MsgPaid:
		return `"Paid" message`
	case MsgPurchased:
		return `"Bought at the supplier" message`
	case MsgPaymentFailed:
		return `"Payment failed" message`
	case MsgShipped:
		return `"Shipped" message`
	case MsgCourierAssigned:
		return `"Courier assigned" message`
	case MsgDelivered:
		return `"Delivered" message`
	}
	return "Message " + kind
}

// ChannelLabel names a channel for people.
func ChannelLabel(channel string) string {
	switch channel {
	case ChannelWhatsApp:
		return "WhatsApp"
	case ChannelEmail:
		return "e-mail"
	}
	return "no channel"
}
