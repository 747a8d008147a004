// Package messaging is the one place where a customer message goes out: it
// renders a queued message of the outbox (model's msg_* kinds) in the shop's
// language from the templates in this package, and sends it by WhatsApp
// through the shop's Wazzup integration first, by e-mail through its SMTP
// integration when the customer has no WhatsApp-capable phone, the channel is
// down or WhatsApp fails. Every try is on the order's timeline. The
// send-messages job, the CLI and the tests call it; it calls model (which
// records) and providers/wazzup and providers/smtp (which talk).
//
// Nothing is sent twice after a crash: a message is claimed, with the
// channel it goes by, before any provider is called, and recorded once the
// provider answered. A run that finds a message still claimed knows the
// server stopped during that try (the runs of a shop never overlap): a
// WhatsApp try of the last minute is sent again with the same crmMessageId,
// which Wazzup turns into "already sent"; anything else (an e-mail, an older
// WhatsApp try) may or may not have reached the customer and waits, unknown,
// for a person's Retry.
package messaging

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"orderdesk/model"
	"orderdesk/providers/egress"
	"orderdesk/providers/smtp"
	"orderdesk/providers/wazzup"
	"orderdesk/services/integrations"
	"orderdesk/views/locales"
)

// Timeouts of one call to a provider: a run sends its messages one after
// the other, and a slow provider must not hold the others long.
const (
	WhatsAppTimeout = 20 * time.Second
	EmailTimeout    = 30 * time.Second
)

// ResumeWindow is how long after a cut-off WhatsApp try the message is sent
// again with the same crmMessageId: Wazzup remembers one for 60 seconds.
const ResumeWindow = 50 * time.Second

// Batch is how many messages of a shop one run sends at most.
const Batch = 50

// Config is what the service needs of its deployment.
type Config struct {
	Store *model.Store
	Log   *slog.Logger
	// ShopURL is a shop's public address, for the links in messages.
	ShopURL func(t *model.Tenant) string
	// Egress decides which addresses the providers' calls may reach: Wazzup
	// through its client, the mail server through its dialer.
	Egress egress.Policy
	// AfterSend, when set, is called after a provider accepted a message
	// and before it is recorded: the crash tests stop the process there.
	AfterSend func(m *model.Message)
}

// Service renders and sends customer messages.
type Service struct {
	store *model.Store
	log   *slog.Logger
	cfg   Config
	http  *http.Client
}

// New makes the service.
func New(cfg Config) *Service {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Service{store: cfg.Store, log: cfg.Log, cfg: cfg, http: cfg.Egress.Client(WhatsAppTimeout)}
}

// Reporter is where a run reports, a line per message (jobs.Run).
type Reporter interface {
	Logf(format string, args ...any)
}

// SendDue does one round for a shop: it settles the messages a stopped
// server left claimed, then sends the messages due now, at most Batch. It
// returns how many were sent and how many tries failed. Call it under the
// shop's lease of the send-messages job (the scheduler's): its runs must not
// overlap.
func (s *Service) SendDue(ctx context.Context, t *model.Tenant, run Reporter) (sent, failed int, err error) {
	resume, err := s.store.RecoverInterruptedMessages(ctx, t, ResumeWindow)
	if err != nil {
		return 0, 0, err
	}
	due, err := s.store.FindDueMessages(ctx, t.ID, Batch)
	if err != nil {
		return 0, 0, err
	}
	if len(resume)+len(due) == 0 {
		return 0, 0, nil
	}
	r := s.routes(ctx, t)
	for _, m := range append(resume, due...) {
		if ctx.Err() != nil {
			return sent, failed, ctx.Err()
		}
		out, err := s.send(ctx, t, r, m)
		if err != nil {
			return sent, failed, fmt.Errorf("message %d of order %s: %w", m.ID, m.OrderNumber, err)
		}
		switch out {
		case outSent:
			sent++
			run.Logf("%s %s: sent by %s to %s", m.OrderNumber, m.Kind, model.ChannelLabel(m.Channel), m.Recipient)
		case outFailed:
			failed++
			run.Logf("%s %s: %s: %s", m.OrderNumber, m.Kind, m.Status, m.LastError)
		}
	}
	return sent, failed, nil
}

// routes are the shop's ways to reach customers in this run: its WhatsApp
// channel and its mail server, or why each cannot be used now.
type routes struct {
	wa        *wazzup.Client
	channelID string
	waDown    string // why WhatsApp cannot be used; "" when it can
	mail      *smtp.Client
	from      string // the shop's sender, "Shop <shop@example.com>"
	domain    string // of the sender's address, for Message-IDs
	mailDown  string
}

// routes looks the shop's integrations up, and asks Wazzup once per run
// whether the channel is up.
func (s *Service) routes(ctx context.Context, t *model.Tenant) *routes {
	r := &routes{}
	r.waDown = s.whatsApp(ctx, t, r)
	r.mailDown = s.email(ctx, t, r)
	return r
}

func (s *Service) whatsApp(ctx context.Context, t *model.Tenant, r *routes) string {
	in, err := s.store.UsableIntegration(ctx, t.ID, model.ProviderWazzup)
	if errors.Is(err, model.ErrNotFound) {
		return "the shop has no WhatsApp (Wazzup) integration in test or live mode"
	} else if err != nil {
		return "the WhatsApp integration could not be read: " + err.Error()
	}
	keys, err := s.store.OpenIntegrationSecrets(ctx, t.ID, in.ID)
	if err != nil {
		return "the WhatsApp integration's key could not be opened: " + err.Error()
	}
	r.wa = wazzup.New(wazzup.Config{BaseURL: in.Endpoint(), APIKey: keys.APIKey, HTTPClient: s.http})
	// The channel: the integration's config channel_id, else its secret (the
	// demo's), else the account's first WhatsApp channel.
	want := in.Config["channel_id"]
	if want == "" {
		want = keys.APISecret
	}
	cctx, cancel := context.WithTimeout(ctx, WhatsAppTimeout)
	defer cancel()
	list, err := r.wa.Channels(cctx)
	if err != nil {
		return "Wazzup could not be asked for the channel: " + integrations.Explain(model.ProviderWazzup, err)
	}
	for _, ch := range list {
		if !ch.IsWhatsApp() || (want != "" && ch.ChannelID != want) {
			continue
		}
		if !ch.Active() {
			return "the WhatsApp channel is down in Wazzup (" + ch.State + ")"
		}
		r.channelID = ch.ChannelID
		return ""
	}
	return "the Wazzup account has no WhatsApp channel " + want
}

func (s *Service) email(ctx context.Context, t *model.Tenant, r *routes) string {
	in, err := s.store.UsableIntegration(ctx, t.ID, model.ProviderSMTP)
	if errors.Is(err, model.ErrNotFound) {
		return "the shop has no e-mail (SMTP) integration in test or live mode"
	} else if err != nil {
		return "the e-mail integration could not be read: " + err.Error()
	}
	keys, err := s.store.OpenIntegrationSecrets(ctx, t.ID, in.ID)
	if err != nil {
		return "the e-mail integration's password could not be opened: " + err.Error()
	}
	cfg, err := integrations.SMTPConfig(in.Endpoint(), keys.APIKey, keys.APISecret, in.Config)
	if err != nil {
		return err.Error()
	}
	if cfg.Dial, err = s.cfg.Egress.DialFor(in.Endpoint()); err != nil {
		return integrations.Explain(model.ProviderSMTP, err)
	}
	cfg.Timeout = EmailTimeout
	sender := in.Config["from"]
	if sender == "" && strings.Contains(keys.APIKey, "@") {
		sender = keys.APIKey
	}
	addr, err := mail.ParseAddress(sender)
	if err != nil {
		return "the e-mail integration has no sender address (its config's \"from\")"
	}
	r.mail = smtp.New(cfg)
	r.from = (&mail.Address{Name: t.Name, Address: addr.Address}).String()
	_, r.domain, _ = strings.Cut(addr.Address, "@")
	return ""
}

// outcome is what one try of a message came to.
type outcome int

const (
	outNotTaken outcome = iota // a person changed the message meanwhile
	outSent
	outFailed // failed, dead or unknown, as recorded
)

// send makes one try of a message: render, choose the channel, claim, call
// the provider(s), record. An error is the store's (the try's outcome is
// recorded otherwise).
func (s *Service) send(ctx context.Context, t *model.Tenant, r *routes, m *model.Message) (outcome, error) {
	ok, err := s.try(ctx, t, r, m)
	switch {
	case err != nil:
		return outNotTaken, err
	case ok:
		return outSent, nil
	case m.Status.Retryable():
		return outFailed, nil
	}
	return outNotTaken, nil
}

// try is send's work; it reports whether the message was sent.
func (s *Service) try(ctx context.Context, t *model.Tenant, r *routes, m *model.Message) (bool, error) {
	resumed := m.Status == model.MessageSending
	claimID, err := model.NewMessageClaimID()
	if err != nil {
		return false, err
	}
	o, err := s.store.FindOrderByID(ctx, t.ID, m.OrderID)
	if err != nil {
		return false, err
	}
	text, rerr := Render(t.Language, m.Kind, s.data(t, o, m))
	phone, phoneErr := wazzup.NormalizePhone(o.Address.Telephone)
	email := strings.TrimSpace(o.Address.Email)
	c := model.MessageClaim{ID: claimID, Subject: text.Subject, Body: text.Body}
	waWhy := r.waDown
	switch {
	case o.Address.Telephone == "":
		waWhy = "the customer gave no phone number"
	case phoneErr != nil:
		waWhy = wazzup.Explain(phoneErr)
	}
	// The payment's confirmation is a receipt: it goes by e-mail first, as seed
	// 004's shop sends it, so that the customer keeps it; every other message
	// goes by WhatsApp first.
	receipt := m.Kind == model.MsgPaid && !resumed
	switch {
	case rerr != nil:
	case receipt && r.mailDown == "" && email != "":
		c.Channel, c.Recipient = model.ChannelEmail, email
	case waWhy == "" || resumed:
		c.Channel, c.Recipient = model.ChannelWhatsApp, "+"+phone
	case r.mailDown == "" && email != "":
		c.Channel, c.Recipient = model.ChannelEmail, email
	}
	if ok, err := s.store.ClaimMessage(ctx, t, m, c); err != nil || !ok {
		return false, err
	}
	if rerr != nil {
		return false, s.store.RecordMessageFailed(ctx, t, m, "It cannot be written: "+rerr.Error()+".", true, false)
	}
	note := ""
	if receipt && c.Channel == model.ChannelEmail {
		ref, err := s.sendEmail(ctx, r, m, email)
		if err == nil {
			return true, s.sent(ctx, t, m, ref, "")
		}
		mailWhy := "E-mail: " + smtp.Explain(err)
		if waWhy != "" {
			var se *smtp.Error
			permanent := errors.Is(err, smtp.ErrBadAddress) || (errors.As(err, &se) && !se.Temporary())
			return false, s.store.RecordMessageFailed(ctx, t, m, mailWhy+" (no WhatsApp: "+waWhy+")", permanent, false)
		}
		if err := s.store.SwitchMessageChannel(ctx, t, m, model.ChannelWhatsApp, "+"+phone); err != nil {
			return false, err
		}
		ref, werr := s.sendWhatsApp(ctx, r, m, phone)
		if werr != nil {
			return false, s.store.RecordMessageFailed(ctx, t, m, mailWhy+"; WhatsApp: "+werr.Error()+".", false, false)
		}
		return true, s.sent(ctx, t, m, ref, "e-mail failed: "+smtp.Explain(err))
	}
	if c.Channel == model.ChannelWhatsApp {
		ref, err := s.sendWhatsApp(ctx, r, m, phone)
		if err == nil {
			return true, s.sent(ctx, t, m, ref, "")
		}
		if resumed {
			return false, s.store.RecordMessageFailed(ctx, t, m, "WhatsApp: "+err.Error()+".", false, true)
		}
		waWhy = err.Error()
		if r.mailDown != "" || email == "" {
			return false, s.store.RecordMessageFailed(ctx, t, m, s.noWay(r, waWhy, email), false, false)
		}
		if err := s.store.SwitchMessageChannel(ctx, t, m, model.ChannelEmail, email); err != nil {
			return false, err
		}
		note = "WhatsApp failed: " + waWhy
	} else if c.Channel == model.ChannelEmail {
		note = "no WhatsApp: " + waWhy
	}
	if c.Channel == "" {
		final := email == "" && (o.Address.Telephone == "" || phoneErr != nil)
		return false, s.store.RecordMessageFailed(ctx, t, m, s.noWay(r, waWhy, email), final, false)
	}
	ref, err := s.sendEmail(ctx, r, m, email)
	if err != nil {
		var se *smtp.Error
		permanent := errors.Is(err, smtp.ErrBadAddress) || (errors.As(err, &se) && !se.Temporary())
		return false, s.store.RecordMessageFailed(ctx, t, m, "E-mail: "+smtp.Explain(err)+" ("+note+")", permanent, false)
	}
	return true, s.sent(ctx, t, m, ref, note)
}

// noWay says why a message found no way to the customer.
func (s *Service) noWay(r *routes, waWhy, email string) string {
	mailWhy := r.mailDown
	if email == "" {
		mailWhy = "the customer gave no e-mail address"
	}
	return "No way to reach the customer: WhatsApp: " + waWhy + "; e-mail: " + mailWhy + "."
}

// sent records a message the provider accepted, after the crash tests' hook.
func (s *Service) sent(ctx context.Context, t *model.Tenant, m *model.Message, ref, note string) error {
	if s.cfg.AfterSend != nil {
		s.cfg.AfterSend(m)
	}
	return s.store.RecordMessageSent(ctx, t, m, ref, note)
}

// sendWhatsApp sends the text through Wazzup with the message's key as
// crmMessageId; an error is in Wazzup's words for the shop.
func (s *Service) sendWhatsApp(ctx context.Context, r *routes, m *model.Message, phone string) (string, error) {
	if r.wa == nil || r.channelID == "" {
		return "", errors.New(r.waDown)
	}
	ctx, cancel := context.WithTimeout(ctx, WhatsAppTimeout)
	defer cancel()
	sent, err := r.wa.SendMessage(ctx, wazzup.Message{ChannelID: r.channelID, ChatType: wazzup.ChatWhatsApp, ChatID: phone,
		Text: m.Body, CRMMessageID: m.Key})
	if err != nil {
		return "", errors.New(integrations.Explain(model.ProviderWazzup, err))
	}
	return sent.MessageID, nil
}

// sendEmail sends the message by e-mail with a Message-ID made of its key:
// every try of one message is the same mail.
func (s *Service) sendEmail(ctx context.Context, r *routes, m *model.Message, to string) (string, error) {
	id := m.Key + "@" + r.domain
	err := r.mail.Send(ctx, smtp.Message{From: r.from, To: []string{to}, Subject: m.Subject, Text: m.Body, MessageID: id})
	return "<" + id + ">", err
}

// data is what a message of the order may say; the amount is written as
// the shop's language writes money, like every page.
func (s *Service) data(t *model.Tenant, o *model.Order, m *model.Message) Data {
	track := s.cfg.ShopURL(t) + "/track/" + url.PathEscape(o.Number)
	return Data{
		Shop: t.Name, Number: o.Number, Amount: locales.Money(t.Language, o.Total, o.Currency), Name: o.Address.FirstName,
		TrackURL: track, PayURL: track, PaymentNumber: m.Payload["payment_number"],
		Carrier: m.Payload["carrier"], Track: m.Payload["track"], CarrierURL: m.Payload["tracking_url"],
		CourierName: m.Payload["courier_name"], CourierPhone: m.Payload["courier_phone"],
	}
}
