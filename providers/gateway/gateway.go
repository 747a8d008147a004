// Package gateway is the one neutral facade the app (handlers and jobs) uses
// for every payment provider: kuveyt, tinkoff, dolyami, yandexpay and paypal.
// The app builds one Gateway per integration with New and never switches on
// provider names; everything that differs between providers is decided here,
// on top of the provider packages' own clients.
//
// The flow, the same for every provider:
//
//   - Create starts a payment. The browser goes to Created.PaymentURL (or,
//     for kuveyt, is sent Created.HTML). The app stores Created.Ref as the
//     payment's provider reference.
//   - The provider tells the app what happened with a notification
//     (webhook, IPN): the app hands the raw body to Notification, records the
//     result once per Notification.EventID, and answers with
//     Notification.Reply. A notification that cannot be verified gives
//     ErrBadSignature (answer ReplyStatus(err), i.e. 400).
//   - State asks the provider (polling, and before giving up on a payment);
//     providers without a status query answer ErrNoStatusQuery.
//   - Cancel closes a payment that is not paid yet, at the provider, so the
//     customer can no longer pay it there (the unpaid-order expiry, a
//     second payment for the same order). It never refunds: a payment that
//     turns out paid (or being paid) comes back as that State, nil error,
//     for the caller to apply. ErrCancelUnsupported where the provider has
//     no such call.
//   - Refund returns money, once per RefundRequest.Key (the provider's
//     idempotency key: a retry after a lost answer answers like the first
//     call and refunds nothing more); ErrRefundUnsupported where there is
//     no refund API.
//   - Refused(err) tells a definite refusal (nothing happened: release what
//     was reserved) from an unknown outcome (the money may have moved: ask
//     the provider again later, with the same key).
//   - Kuveyt's customer comes back through the browser with the bank's 3-D
//     Secure answer: CompleteKuveyt (the ThreeDS interface) finishes it.
//
// Stages are the app's payment-record words (DESIGN.md "Payment status").
// The app moves a payment only forward; a notification may be late,
// duplicated or stale, and Stage "" means "this says nothing new about the
// payment's status: keep what you have".
//
// This package imports only the standard library and the five provider
// packages.
package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"orderdesk/providers/dolyami"
	"orderdesk/providers/paypal"
	"orderdesk/providers/tinkoff"
	"orderdesk/providers/yandexpay"
)

// Stage is the app's payment-record status words.
const (
	StagePending           = "pending"
	StageProcessing        = "processing"
	StageCompleted         = "completed"
	StageFailed            = "failed"
	StageCanceled          = "canceled"
	StageRefunded          = "refunded"
	StagePartiallyRefunded = "partially_refunded"
)

// Provider type names, as stored in integrations.provider_type.
const (
	Kuveyt    = "kuveyt"
	Tinkoff   = "tinkoff"
	Dolyami   = "dolyami"
	YandexPay = "yandexpay"
	PayPal    = "paypal"
)

// Providers lists the payment provider types: kuveyt, tinkoff, dolyami,
// yandexpay, paypal.
var Providers = []string{Kuveyt, Tinkoff, Dolyami, YandexPay, PayPal}

// IsPayment reports whether provider is one of Providers.
func IsPayment(provider string) bool { return slices.Contains(Providers, provider) }

// Config is what New needs: one integration's settings, already decrypted.
type Config struct {
	// Provider is one of Providers.
	Provider string
	// Endpoint is the integration's test_endpoint in test mode and its
	// api_endpoint when live (the caller chooses). A provider's root, a
	// sandbox mount ("http://host/sandbox/tinkoff") or the full API root
	// ("…/v2") are all accepted; see each provider's file for the rule.
	Endpoint string
	// APIKey is, per provider: tinkoff TerminalKey, dolyami login, yandexpay
	// API key, paypal business e-mail (the receiver), kuveyt
	// "MerchantID:CustomerID:UserName".
	APIKey string
	// APISecret is, per provider: tinkoff terminal password, dolyami
	// password, yandexpay merchant id (or a JWKS URL override; optional),
	// paypal "USER:PWD:SIGNATURE" of the classic API (refunds; optional),
	// kuveyt API password.
	APISecret string
	// Settings is the integration's JSON config. Keys read here:
	//   tinkoff:   pay_type ("O" one-stage, "T" two-stage), language
	//   dolyami:   client_cert_pem, client_key_pem (mTLS in production)
	//   yandexpay: merchant_id, jwks_url, ttl_minutes, payment_methods ("CARD,SPLIT")
	//   paypal:    receiver_email, checkout_url, nvp_url
	//   kuveyt:    merchant_id, customer_id, user_name (instead of APIKey's three parts)
	Settings map[string]string
	// HTTPClient is optional; each provider's default (20–30 s timeout) when nil.
	HTTPClient *http.Client
}

func (c Config) setting(key string) string {
	return strings.TrimSpace(c.Settings[key])
}

// Gateway is one integration of one payment provider. Implementations are
// safe for concurrent use; keep one per integration (yandexpay caches its
// webhook keys in it).
type Gateway interface {
	// Provider returns the provider type, one of Providers.
	Provider() string
	// Create starts a payment; PaymentURL is where the customer's browser goes.
	Create(ctx context.Context, req CreateRequest) (*Created, error)
	// State asks the provider for the payment's current state (never trusts
	// a caller). Providers without a status query (paypal IPN, kuveyt) return
	// ErrNoStatusQuery; the app then relies on recorded notifications.
	State(ctx context.Context, ref string) (*State, error)
	// Cancel closes a payment that is not paid yet so that it can no longer
	// be paid (T-Bank Cancel on NEW/FORM_SHOWED, Dolyami orders/{id}/cancel,
	// Yandex Pay orders/{id}/rollback). It never refunds money: when the
	// provider says the payment is already paid (or being paid), Cancel
	// returns that State (Stage completed / processing) with a nil error,
	// so the caller applies the money instead of closing. A payment already
	// closed at the provider returns Stage canceled (failed when its card
	// was declined: closed too). Providers without a cancel call (paypal
	// IPN, kuveyt whose charge only happens when we call Provision) return
	// ErrCancelUnsupported.
	Cancel(ctx context.Context, ref string) (*State, error)
	// Refund returns money; see RefundRequest. ErrRefundUnsupported where
	// the provider has no refund API.
	Refund(ctx context.Context, req RefundRequest) (*State, error)
	// Notification verifies and parses a webhook/IPN (raw body + headers).
	// Bad signatures give ErrBadSignature (wrapped with detail). For providers
	// whose notifications cannot be trusted on their own (dolyami: re-read
	// with Info; paypal: VerifyIPN with the provider) Notification makes that
	// call. It also returns the exact reply the provider expects.
	Notification(ctx context.Context, body []byte, header http.Header) (*Notification, error)
	// Test makes the cheapest real authenticated call and says in words
	// what came back. A refusal is returned as an error: show Explain(err).
	Test(ctx context.Context) (string, error)
}

// ThreeDS is implemented by gateways whose customer comes back through the
// browser with the bank's 3-D Secure answer instead of a server-to-server
// notification (kuveyt). CompleteKuveyt is the convenient way to call it.
type ThreeDS interface {
	// Complete3DS reads the bank's AuthenticationResponse form value (as
	// the web framework gives it, form-decoded once), checks that it is for
	// expectedReference, and asks the bank to take amountMinor (Provision).
	// It returns a completed State, or a failed one with the bank's reason.
	// An answer the bank does not know (already used, forged, another order)
	// gives ErrBadSignature; an unknown outcome (the bank did not answer)
	// gives another error: check the bank's panel before charging again.
	Complete3DS(ctx context.Context, authResponse, expectedReference string, amountMinor int64) (*State, error)
}

// CompleteKuveyt finishes a kuveyt 3-D Secure payment: see ThreeDS. It gives
// ErrUnsupported for a gateway without a 3-D Secure return (every other
// provider).
func CompleteKuveyt(ctx context.Context, g Gateway, authResponseFormValue, expectedReference string, amountMinor int64) (*State, error) {
	t, ok := g.(ThreeDS)
	if !ok {
		return nil, &Error{Provider: g.Provider(), Op: "3ds", Err: ErrUnsupported}
	}
	return t.Complete3DS(ctx, authResponseFormValue, expectedReference, amountMinor)
}

// RefundRequest is one refund to ask of the provider.
type RefundRequest struct {
	// Ref is the provider's payment id (payments.provider_ref).
	Ref string
	// AmountMinor 0 = the whole remainder.
	AmountMinor int64
	Currency    string
	// Key is our refund's idempotency key, unique per refund (e.g.
	// "RF-DEMO-20261202-1A2B3C4D"); required. It is sent where the provider
	// has one: T-Bank Cancel ExternalRequestId, Dolyami X-Correlation-ID
	// (a UUID made from the key), Yandex Pay refund externalOperationId,
	// PayPal RefundTransaction MSGSUBID (the key itself up to 38
	// characters, else a hash of it). Asking twice with the same key
	// refunds once and answers like the first time; retry with the same
	// AmountMinor. A retry with 0 of a refund that took the remainder is
	// answered too (for Dolyami this assumes Dolyami recognises the
	// X-Correlation-ID before it checks the amount, as its sandbox does).
	Key string
}

// checkRefund refuses, before sending, a refund the provider cannot make
// safely.
func checkRefund(req RefundRequest) error {
	switch {
	case strings.TrimSpace(req.Ref) == "":
		return badRequest("the refund names no payment")
	case req.AmountMinor < 0:
		return badRequest("a refund amount cannot be negative")
	case strings.TrimSpace(req.Key) == "":
		return badRequest("the refund has no idempotency key")
	}
	return nil
}

// Customer is who pays, as far as the shop knows.
type Customer struct {
	Email string
	Name  string
	Phone string
}

// Item is one order line.
type Item struct {
	Name      string
	Quantity  int
	UnitMinor int64
	SKU       string
}

// Card is the card the shopper typed on the shop's own page (kuveyt only).
// It is passed to the bank and never kept.
type Card struct {
	Number   string
	Holder   string
	ExpMonth int
	ExpYear  int // 2 or 4 digits
	CVV      string
}

// CreateRequest is what the app knows of a payment to start.
type CreateRequest struct {
	// Reference is our payment number, e.g. PAY-DEMO-…; it is the provider's
	// order id / invoice / MerchantOrderId.
	Reference   string
	OrderNumber string
	AmountMinor int64
	// Currency is the ISO code: TRY, RUB, USD… tinkoff, dolyami and
	// yandexpay take RUB only; kuveyt TRY, USD, EUR, GBP.
	Currency    string
	Description string
	Customer    Customer
	// Items are the order lines. Providers that send a cart (dolyami,
	// yandexpay) need lines that add up to AmountMinor; when they do not
	// (shipping, discounts), one line "Order <number>" is sent instead.
	Items []Item
	// ReturnURL is the success return, FailURL the failure/cancel return.
	ReturnURL string
	FailURL   string
	// NotifyURL is our webhook URL for this integration (yandexpay takes
	// its callback URL from the merchant console instead).
	NotifyURL string
	// Card is for kuveyt only.
	Card     *Card
	ClientIP string
}

// Created is a started payment.
type Created struct {
	// Ref is the provider's id for the payment: Tinkoff PaymentId, Yandex
	// orderId (= Reference), PayPal invoice (= Reference, until the IPN
	// brings the txn_id), Dolyami order id (= Reference), Kuveyt
	// MerchantOrderId (= Reference).
	Ref string
	// PaymentURL is where to redirect the browser (empty for kuveyt).
	PaymentURL string
	// HTML is, for kuveyt, the bank's auto-posting page to send to the
	// browser as is (Content-Type text/html).
	HTML  []byte
	Stage string
	// Raw is what the provider answered, for the payment's event log (no
	// secrets).
	Raw string
}

// State is what the provider says of a payment now (State, Cancel, Refund,
// CompleteKuveyt).
type State struct {
	Ref string
	// Stage is one of the Stage constants ("" when the provider's status is
	// unknown to this package: keep what you have).
	Stage string
	// AmountMinor is the payment's amount as the provider reports it (paid,
	// or asked while unpaid), before refunds where the provider says so; 0
	// if it does not say. Tinkoff reports only the current amount, which
	// after a refund is what is left.
	AmountMinor int64
	Currency    string
	// RefundedMinor is the total refunded so far when the provider reports
	// a total (dolyami, yandexpay, paypal after a refund); 0 otherwise.
	RefundedMinor int64
	// RefundMinor and RefundRef describe the refund a Refund call just made:
	// its amount and the provider's id for it ("" when it has none).
	RefundMinor int64
	RefundRef   string
	// ProviderStatus is the provider's own word (CONFIRMED, CAPTURED,
	// Completed, 00…).
	ProviderStatus string
	// Final says no further change is expected without an action by the
	// shop: a poller can stop.
	Final bool
	// Reason says in words for shop staff why the payment failed or was
	// cancelled, when the provider gives a reason.
	Reason string
	Raw    string
}

// StageFor is Stage corrected with what the app knows: a partial refund that
// brought RefundedMinor up to the payment's amount (paidMinor) is a full
// refund. PayPal's refund API does not say what is left, so a PayPal refund
// of "the rest" is reported partially_refunded with its running total.
func (s *State) StageFor(paidMinor int64) string {
	if s.Stage == StagePartiallyRefunded && paidMinor > 0 && s.RefundedMinor >= paidMinor {
		return StageRefunded
	}
	return s.Stage
}

// Notification is a verified notification from a provider.
type Notification struct {
	// Ref is the provider's payment id this is about (for PayPal refunds,
	// the parent payment's txn_id).
	Ref string
	// Reference is our reference (PAY-…) when the provider echoes it
	// (Tinkoff OrderId, PayPal invoice, Yandex orderId, Dolyami id, Kuveyt
	// MerchantOrderId); find the payment by it while Ref is not yet known.
	Reference string
	// Stage is one of the Stage constants, or "" when the notification says
	// nothing new about the payment's status.
	Stage string
	// AmountMinor is the amount the notification states, as given (0 if not
	// given): compare it with the order when Stage is processing or
	// completed; a difference is the app's suspected_fraud case. Tinkoff
	// sends the current amount (after a refund: what is left); a PayPal
	// refund carries its amount in RefundMinor instead.
	AmountMinor int64
	// Currency is as given; "" if not given.
	Currency string
	// RefundMinor and RefundRef are set when the notification is about one
	// refund (PayPal Refunded/Reversed IPN, Yandex refund operation): its
	// amount and the provider's id for it. PayPal says "Refunded" for partial
	// refunds too, so such a notification has Stage partially_refunded: add
	// RefundMinor to what was refunded (once per RefundRef) and compare.
	RefundMinor    int64
	RefundRef      string
	ProviderStatus string
	// ReceiverOK is, for paypal, whether receiver_email is the shop's
	// (Settings["receiver_email"], else APIKey); true elsewhere.
	ReceiverOK bool
	// EventID is a stable key of this exact notification, for idempotency:
	// the same provider message gives the same EventID.
	EventID string
	// Reason says in words why the payment failed, when it did.
	Reason string
	// Reply is the body to answer with (HTTP 200), of type ReplyType. Empty
	// for kuveyt, whose "notification" is the customer's browser: render
	// the shop's own page.
	Reply     []byte
	ReplyType string
	Raw       string
}

// Errors of this package; match them with errors.Is. Provider errors are
// wrapped in *Error, which names the provider.
var (
	// ErrBadSignature means a notification could not be verified as the
	// provider's: a wrong signature or token, PayPal answering INVALID,
	// Dolyami not knowing the order, Kuveyt not knowing the 3-D Secure
	// session. Refuse it (ReplyStatus gives 400) and record the attempt.
	ErrBadSignature = errors.New("gateway: notification could not be verified")
	// ErrNoStatusQuery means the provider cannot be asked for a payment's
	// status (paypal IPN, kuveyt).
	ErrNoStatusQuery = errors.New("gateway: the provider has no status query")
	// ErrRefundUnsupported means refunds cannot be made through the
	// provider's API (kuveyt; paypal without classic API credentials).
	ErrRefundUnsupported = errors.New("gateway: the provider has no refund API")
	// ErrCancelUnsupported means the provider has no call that closes an
	// unpaid payment (paypal IPN; kuveyt, which takes money only when we
	// call Provision).
	ErrCancelUnsupported = errors.New("gateway: the provider cannot close a payment")
	// ErrConfig means the integration's settings are incomplete or invalid;
	// the error is a *FieldError naming the field.
	ErrConfig = errors.New("gateway: integration settings are incomplete")
	// ErrBadRequest means the app asked for something the provider cannot
	// do (no card for kuveyt, a currency it does not take…); nothing was
	// sent.
	ErrBadRequest = errors.New("gateway: payment request refused before sending")
	// ErrUnsupported means the call does not apply to this provider.
	ErrUnsupported = errors.New("gateway: not supported by this provider")
)

// FieldError is a configuration problem with one field of the integration.
// It matches ErrConfig.
type FieldError struct {
	Provider string
	// Field is the integration's field: api_key, api_secret, endpoint,
	// provider, or "settings.<key>".
	Field string
	// Problem says what is wrong, e.g. "is missing (the TerminalKey)".
	Problem string
}

// Error says which field is wrong and how.
func (e *FieldError) Error() string {
	return "gateway: " + e.Provider + ": " + e.Field + " " + e.Problem
}

// Is makes errors.Is(err, ErrConfig) true.
func (e *FieldError) Is(target error) bool { return target == ErrConfig }

// Error wraps an error of one provider's call with the provider's name, so
// Explain can use that provider's words.
type Error struct {
	Provider string
	// Op is create, state, cancel, refund, notification, test or 3ds.
	Op  string
	Err error
}

// Error names the provider and the operation before the provider's words.
func (e *Error) Error() string { return "gateway: " + e.Provider + " " + e.Op + ": " + e.Err.Error() }

// Unwrap returns the provider's error.
func (e *Error) Unwrap() error { return e.Err }

// notSentError marks an error met before the call that closes a payment or
// moves money was sent (reading the payment first failed): nothing can have
// happened.
type notSentError struct{ err error }

func (e *notSentError) Error() string { return e.err.Error() }
func (e *notSentError) Unwrap() error { return e.err }

func notSent(err error) error {
	if err == nil {
		return nil
	}
	return &notSentError{err}
}

// Refused reports whether err is a definite refusal by the provider (it
// answered, with an error code, and nothing happened: the refund/cancel did
// not take place), as opposed to an unknown outcome (network error,
// timeout, 5xx, unreadable answer) after which the money may or may not
// have moved. It is also true for the errors of this package that mean
// nothing was sent (ErrBadRequest, ErrConfig, ErrRefundUnsupported,
// ErrCancelUnsupported, ErrUnsupported, ErrNoStatusQuery, or a failed read
// before the call). The app releases a refund reservation only on a
// definite refusal.
func Refused(err error) bool {
	if err == nil {
		return false
	}
	var ns *notSentError
	switch {
	case errors.As(err, &ns), errors.Is(err, ErrBadRequest), errors.Is(err, ErrConfig),
		errors.Is(err, ErrRefundUnsupported), errors.Is(err, ErrCancelUnsupported),
		errors.Is(err, ErrUnsupported), errors.Is(err, ErrNoStatusQuery):
		return true
	}
	// Each provider package knows which of its answers are refusals.
	var (
		te *tinkoff.Error
		de *dolyami.Error
		ye *yandexpay.Error
		pe *paypal.Error
	)
	switch {
	case errors.As(err, &te):
		return te.Refused()
	case errors.As(err, &de):
		return de.Refused()
	case errors.As(err, &ye):
		return ye.Refused()
	case errors.As(err, &pe):
		return pe.Refused()
	}
	return false
}

// badRequest is an ErrBadRequest with a plain-English detail.
func badRequest(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadRequest}, args...)...)
}

// badSignature wraps the provider's reason as an ErrBadSignature.
func badSignature(detail error) error {
	if detail == nil {
		return ErrBadSignature
	}
	return fmt.Errorf("%w: %w", ErrBadSignature, detail)
}

// ReplyStatus is the HTTP status to answer a notification with: 200 when
// Notification succeeded, 400 for ErrBadSignature (the provider may retry,
// harmlessly), 503 otherwise (a temporary failure: the provider retries).
func ReplyStatus(err error) int {
	switch {
	case err == nil:
		return http.StatusOK
	case errors.Is(err, ErrBadSignature), errors.Is(err, ErrBadRequest):
		return http.StatusBadRequest
	}
	return http.StatusServiceUnavailable
}

// New validates cfg and returns the provider's gateway. A missing or invalid
// field gives a *FieldError naming it.
func New(cfg Config) (Gateway, error) {
	cfg.Provider = strings.ToLower(strings.TrimSpace(cfg.Provider))
	cfg.APIKey = strings.TrimSpace(cfg.APIKey)
	cfg.APISecret = strings.TrimSpace(cfg.APISecret)
	if !IsPayment(cfg.Provider) {
		return nil, &FieldError{Provider: cfg.Provider, Field: "provider",
			Problem: fmt.Sprintf("%q is not a payment provider (one of %s)", cfg.Provider, strings.Join(Providers, ", "))}
	}
	if err := checkEndpoint(cfg); err != nil {
		return nil, err
	}
	return table[cfg.Provider].open(cfg)
}

func checkEndpoint(cfg Config) error {
	e := strings.TrimSpace(cfg.Endpoint)
	if e == "" {
		return &FieldError{Provider: cfg.Provider, Field: "endpoint", Problem: "is missing (the test endpoint in test mode, the API endpoint when live)"}
	}
	u, err := url.Parse(e)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &FieldError{Provider: cfg.Provider, Field: "endpoint", Problem: fmt.Sprintf("%q is not an http(s) URL", e)}
	}
	return nil
}

// endpointRoot returns the endpoint without trailing slashes.
func endpointRoot(cfg Config) string { return strings.TrimRight(strings.TrimSpace(cfg.Endpoint), "/") }

// withSuffix makes sure root ends with suffix ("/v2"), so both a provider's
// host or sandbox mount and its full API root work as the endpoint.
func withSuffix(root, suffix string) string {
	if strings.HasSuffix(root, suffix) {
		return root
	}
	return root + suffix
}

// requireRUB refuses a currency other than roubles for the rouble-only
// providers, so a 150 TRY order is never charged as 150 RUB.
func requireRUB(provider, currency string) error {
	if c := strings.ToUpper(strings.TrimSpace(currency)); c != "" && c != "RUB" {
		return badRequest("%s takes payments in roubles (RUB) only, not %s", displayName(provider), c)
	}
	return nil
}

func checkCreate(req CreateRequest) error {
	if strings.TrimSpace(req.Reference) == "" {
		return badRequest("the payment has no reference")
	}
	if req.AmountMinor <= 0 {
		return badRequest("the amount must be more than zero")
	}
	return nil
}

// description is the text shown to the customer by the provider.
func description(req CreateRequest) string {
	if d := strings.TrimSpace(req.Description); d != "" {
		return d
	}
	if req.OrderNumber != "" {
		return "Order " + req.OrderNumber
	}
	return "Payment " + req.Reference
}

// itemsAddUp reports whether the items' totals are exactly the amount.
func itemsAddUp(items []Item, amount int64) bool {
	if len(items) == 0 {
		return false
	}
	var sum int64
	for _, it := range items {
		if it.Quantity <= 0 || it.UnitMinor < 0 {
			return false
		}
		sum += int64(it.Quantity) * it.UnitMinor
	}
	return sum == amount
}

// truncate cuts s to n runes.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n])
}

// displayName is the provider's name for people.
func displayName(provider string) string {
	if p, ok := table[provider]; ok {
		return p.name
	}
	return "The payment provider"
}

// Explain turns an error of a Gateway's call (or of New) into one
// plain-English sentence for shop staff, in the words of the provider named
// by the *Error or *FieldError it carries. To explain an error of a call you
// made to a provider's own client, wrap it first:
// Explain(&Error{Provider: p, Op: op, Err: err}).
func Explain(err error) string {
	if err == nil {
		return ""
	}
	provider := ""
	var ge *Error
	if errors.As(err, &ge) {
		provider = ge.Provider
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		if fe.Field == "provider" {
			return "This integration's provider type is not a payment provider OrderDesk can take payments with."
		}
		return fmt.Sprintf("The %s integration settings need a correction: %s %s. Correct it on the integration's page.",
			displayName(fe.Provider), fe.Field, fe.Problem)
	}
	name := displayName(provider)
	switch {
	case errors.Is(err, ErrBadSignature):
		return explainBadSignature(provider, err)
	case errors.Is(err, ErrNoStatusQuery):
		return name + " cannot be asked for a payment's status: its status comes from the notifications already recorded (or check the provider's merchant panel)."
	case errors.Is(err, ErrRefundUnsupported):
		if provider == PayPal {
			return "Refunds through PayPal need the classic API credentials (USER:PWD:SIGNATURE) in the integration's secret; until then, refund in PayPal and record it here."
		}
		return name + " refunds cannot be made from OrderDesk: make the refund in the provider's merchant panel and record it here."
	case errors.Is(err, ErrCancelUnsupported):
		return name + " has no way to close a payment from OrderDesk: an unpaid " + name + " payment simply lapses (check the provider's merchant panel if in doubt)."
	case errors.Is(err, ErrUnsupported):
		return "This action does not apply to " + name + " payments."
	case errors.Is(err, ErrBadRequest):
		_, detail, _ := strings.Cut(err.Error(), ErrBadRequest.Error()+": ")
		what := "The payment could not be started"
		if ge != nil && ge.Op == "refund" {
			what = "The refund was not sent"
		} else if ge != nil && ge.Op == "cancel" {
			what = "The payment was not closed"
		}
		if detail == "" {
			return what + ": the request was incomplete."
		}
		return what + ": " + detail + "."
	}
	if p, ok := table[provider]; ok {
		return p.explain(err)
	}
	// The caller did not say which provider it called (an error that did not
	// come through a gateway): no guessing by error types, whose fallbacks
	// name one provider for another's failure.
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "The payment provider did not answer in time. Try again in a few minutes; check the payment before charging again."
	case errors.Is(err, context.Canceled):
		return "The request to the payment provider was cancelled before it finished."
	}
	return "The payment provider could not be reached or gave an unexpected answer. Try again in a few minutes."
}

func explainBadSignature(provider string, err error) string {
	if p, ok := table[provider]; ok {
		return p.badSignature(err)
	}
	return "A payment notification could not be verified and was ignored."
}

// WebhookQueryHeader is the header in which the caller of a Gateway's
// Notification passes the query of the URL the notification came to (as
// url.Values.Encode or the raw query). The caller sets it itself, replacing
// any the sender put there; a gateway uses it only to find the payment (it
// still asks the provider what the payment is).
const WebhookQueryHeader = "X-Orderdesk-Webhook-Query"

// webhookQuery reads WebhookQueryHeader; a query that does not parse is
// empty.
func webhookQuery(h http.Header) url.Values {
	q, err := url.ParseQuery(h.Get(WebhookQueryHeader))
	if err != nil {
		return url.Values{}
	}
	return q
}

// wrap wraps a provider error with the provider and the operation, once.
func wrap(provider, op string, err error) error {
	if err == nil {
		return nil
	}
	var ge *Error
	if errors.As(err, &ge) {
		return err
	}
	return &Error{Provider: provider, Op: op, Err: err}
}

// rawJSON renders a provider's answer for the event log; the provider
// packages' answer types hold no secrets.
func rawJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%+v", v)
	}
	return string(b)
}

func cmpStr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
