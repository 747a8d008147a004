// Package paypal is the client for PayPal Website Payments Standard: the
// buyer redirect (cmd=_xclick), Instant Payment Notifications (IPN) and their
// verification by post-back, refunds through the classic NVP API
// (RefundTransaction), and the "Activity download" CSV used to check settled
// payments a second time (seed 003). It also has a sandbox playing PayPal's
// side of all of that.
//
// The shop's rules (seed 003, fecshop): a payment by PayPal balance is
// Completed at once; a payment by card first arrives as Pending ("processing")
// and later as Completed; an IPN whose mc_gross or mc_currency differ from
// the order is suspected fraud, even when PayPal says VERIFIED.
package paypal

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"orderdesk/providers/internal/httpbody"
)

// PayPal's hosts. IPN verification, the buyer's checkout page and the NVP
// API live on different hosts.
const (
	LiveIPNBaseURL        = "https://ipnpb.paypal.com"
	SandboxIPNBaseURL     = "https://ipnpb.sandbox.paypal.com"
	LiveCheckoutURL       = "https://www.paypal.com/cgi-bin/webscr"
	SandboxCheckoutURL    = "https://www.sandbox.paypal.com/cgi-bin/webscr"
	LiveNVPURL            = "https://api-3t.paypal.com/nvp"
	SandboxNVPURL         = "https://api-3t.sandbox.paypal.com/nvp"
	nvpVersion            = "204.0"
	verifyPath            = "/cgi-bin/webscr"
	notifyValidatePrefix  = "cmd=_notify-validate&"
	userAgent             = "OrderDesk-IPN-Verifier/1.0"
	defaultRequestTimeout = 30 * time.Second
)

// ErrInvalid is returned by VerifyIPN when PayPal answers INVALID: the
// message did not come from PayPal (or was changed on the way).
var ErrInvalid = errors.New("paypal: IPN is INVALID")

// Config holds what New needs.
type Config struct {
	// BaseURL is where IPNs are verified: LiveIPNBaseURL, SandboxIPNBaseURL,
	// or the built-in sandbox's mount URL. VerifyIPN posts to
	// BaseURL + "/cgi-bin/webscr".
	BaseURL string
	// CheckoutURL is where the buyer is sent. Empty: LiveCheckoutURL or
	// SandboxCheckoutURL for PayPal's own BaseURLs, else
	// BaseURL + "/cgi-bin/webscr" (the built-in sandbox serves both).
	CheckoutURL string
	// NVPURL is the classic API endpoint for refunds; empty: derived like
	// CheckoutURL (BaseURL + "/nvp" for the built-in sandbox).
	NVPURL string
	// APIUsername, APIPassword and APISignature are the classic API
	// credentials (USER, PWD, SIGNATURE); only Refund needs them.
	APIUsername  string
	APIPassword  string
	APISignature string
	// HTTPClient is optional; the default has a 30 s timeout.
	HTTPClient *http.Client
}

// Client talks to PayPal. It is safe for concurrent use.
type Client struct {
	cfg Config
	hc  *http.Client
}

// New returns a client for cfg.
func New(cfg Config) *Client {
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	switch cfg.BaseURL {
	case LiveIPNBaseURL:
		cfg.CheckoutURL = cmp(cfg.CheckoutURL, LiveCheckoutURL)
		cfg.NVPURL = cmp(cfg.NVPURL, LiveNVPURL)
	case SandboxIPNBaseURL:
		cfg.CheckoutURL = cmp(cfg.CheckoutURL, SandboxCheckoutURL)
		cfg.NVPURL = cmp(cfg.NVPURL, SandboxNVPURL)
	default:
		cfg.CheckoutURL = cmp(cfg.CheckoutURL, cfg.BaseURL+verifyPath)
		cfg.NVPURL = cmp(cfg.NVPURL, cfg.BaseURL+"/nvp")
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: defaultRequestTimeout}
	}
	return &Client{cfg: cfg, hc: hc}
}

func cmp(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Error is a refusal by PayPal: an NVP error (L_ERRORCODE0…), or an HTTP
// error without one.
type Error struct {
	// Code is PayPal's error code, e.g. "10009"; empty for a bare HTTP error.
	Code         string
	ShortMessage string
	LongMessage  string
	HTTPStatus   int
}

// Error implements error.
func (e *Error) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("paypal: HTTP %d", e.HTTPStatus)
	}
	msg := "paypal: " + e.Code
	if e.ShortMessage != "" {
		msg += " " + e.ShortMessage
	}
	if e.LongMessage != "" {
		msg += ": " + e.LongMessage
	}
	return msg
}

// Refused reports whether PayPal definitely refused the call: an NVP
// Failure with an error code, so nothing was done. An internal error
// (10001, 10003), an HTTP failure, an answer without an error code or no
// answer at all leave the outcome unknown.
func (e *Error) Refused() bool {
	switch {
	case e.Code == "", strings.HasPrefix(e.Code, "ACK="), e.Code == "10001", e.Code == "10003":
		return false
	}
	return true
}

// Explain says in plain English what went wrong, for a shop assistant.
func Explain(err error) string {
	if err == nil {
		return ""
	}
	if errors.Is(err, ErrInvalid) {
		return "PayPal says this payment notification is not genuine; it was ignored."
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "PayPal did not answer in time. Try again in a minute."
	}
	var e *Error
	if !errors.As(err, &e) {
		return "PayPal could not be reached. Try again in a minute."
	}
	switch e.Code {
	case "10002", "10008":
		return "PayPal refused the API credentials. Check the integration's API username, password and signature."
	case "10004":
		return "PayPal does not know this transaction, or a value sent to it was invalid."
	case "10007":
		return "The PayPal account is not allowed to do this (permission denied)."
	case "10009":
		if strings.Contains(strings.ToLower(e.LongMessage), "amount") {
			return "PayPal refused the refund: it is larger than what is left to refund."
		}
		return "PayPal refused the refund for this transaction (for example, it is not completed, already refunded, or too old)."
	case "10001", "10003":
		return "PayPal had an internal problem. Try again in a minute."
	case "81002":
		return "PayPal did not understand the request (unsupported method)."
	case "":
		if e.HTTPStatus >= 500 {
			return "PayPal had an internal problem. Try again in a minute."
		}
	}
	return "PayPal refused the request: " + e.Error()
}

// zeroDecimal lists the currencies PayPal handles without decimals.
var zeroDecimal = map[string]bool{"HUF": true, "JPY": true, "TWD": true}

func decimals(currency string) int {
	if zeroDecimal[strings.ToUpper(currency)] {
		return 0
	}
	return 2
}

// FormatAmount renders minor units as PayPal's amount: "12.34", or "1234"
// for currencies without decimals (JPY, HUF, TWD).
func FormatAmount(minor int64, currency string) string {
	sign := ""
	u := uint64(minor)
	if minor < 0 {
		sign = "-"
		u = uint64(-minor)
	}
	if decimals(currency) == 0 {
		return sign + strconv.FormatUint(u, 10)
	}
	return fmt.Sprintf("%s%d.%02d", sign, u/100, u%100)
}

// ParseAmount parses a PayPal amount ("12.34", "-5.00", "1234") into minor
// units of currency, exactly. Extra decimals are accepted only if they are
// zeros.
func ParseAmount(s, currency string) (int64, error) {
	return parseDecimal(strings.TrimSpace(s), decimals(currency))
}

func parseDecimal(s string, dec int) (int64, error) {
	if s == "" {
		return 0, errors.New("paypal: empty amount")
	}
	neg := false
	switch s[0] {
	case '-':
		neg, s = true, s[1:]
	case '+':
		s = s[1:]
	}
	ip, frac, _ := strings.Cut(s, ".")
	if ip == "" && frac == "" {
		return 0, fmt.Errorf("paypal: bad amount %q", s)
	}
	if ip == "" {
		ip = "0"
	}
	for _, c := range ip + frac {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("paypal: bad amount %q", s)
		}
	}
	if len(frac) > dec {
		if strings.Trim(frac[dec:], "0") != "" {
			return 0, fmt.Errorf("paypal: amount %q has more than %d decimals", s, dec)
		}
		frac = frac[:dec]
	}
	for len(frac) < dec {
		frac += "0"
	}
	if len(ip) > 15 {
		return 0, fmt.Errorf("paypal: amount %q too large", s)
	}
	v, err := strconv.ParseInt(ip+frac, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("paypal: bad amount %q", s)
	}
	if neg {
		v = -v
	}
	return v, nil
}

// CheckoutRequest is the buyer redirect of a single-item payment
// (cmd=_xclick, "Buy Now").
type CheckoutRequest struct {
	// Business is the receiver's PayPal e-mail (or merchant id).
	Business string
	// Invoice is the shop's order number; PayPal refuses a second payment
	// with the same invoice (when the account is set so), and echoes it in
	// the IPN.
	Invoice string
	// Custom is passed through to the IPN untouched.
	Custom      string
	AmountMinor int64
	Currency    string
	ItemName    string
	// ReturnURL is where the buyer lands after paying; CancelURL after
	// cancelling. NotifyURL receives the IPNs.
	ReturnURL string
	CancelURL string
	NotifyURL string
}

// CheckoutURL builds the URL to send the buyer's browser to: the
// Website Payments Standard form as a GET.
func (c *Client) CheckoutURL(r CheckoutRequest) string {
	cur := strings.ToUpper(r.Currency)
	if cur == "" {
		cur = "USD"
	}
	v := url.Values{}
	v.Set("cmd", "_xclick")
	v.Set("business", r.Business)
	v.Set("item_name", r.ItemName)
	v.Set("amount", FormatAmount(r.AmountMinor, cur))
	v.Set("currency_code", cur)
	v.Set("quantity", "1")
	v.Set("no_shipping", "1")
	v.Set("charset", "utf-8")
	if r.Invoice != "" {
		v.Set("invoice", r.Invoice)
	}
	if r.Custom != "" {
		v.Set("custom", r.Custom)
	}
	if r.ReturnURL != "" {
		v.Set("return", r.ReturnURL)
		// rm=1: the buyer comes back with a GET, without payment data; the
		// IPN is the source of truth.
		v.Set("rm", "1")
	}
	if r.CancelURL != "" {
		v.Set("cancel_return", r.CancelURL)
	}
	if r.NotifyURL != "" {
		v.Set("notify_url", r.NotifyURL)
	}
	return c.cfg.CheckoutURL + "?" + v.Encode()
}

// VerifyIPN asks PayPal whether rawBody is an IPN it really sent: it posts
// "cmd=_notify-validate&" followed by the ORIGINAL body, byte for byte (any
// re-encoding makes PayPal answer INVALID), and expects exactly VERIFIED.
// INVALID gives ErrInvalid. VERIFIED only proves the message is PayPal's: the
// caller must still check payment_status, receiver_email, txn_id (unseen)
// and the amount and currency (see IPN.Mismatch).
func (c *Client) VerifyIPN(ctx context.Context, rawBody []byte) error {
	body := make([]byte, 0, len(notifyValidatePrefix)+len(rawBody))
	body = append(append(body, notifyValidatePrefix...), rawBody...)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.BaseURL+verifyPath, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("paypal: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// PayPal refuses post-backs without a User-Agent.
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("Connection", "close")
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("paypal: verify IPN: %w", err)
	}
	ans, err := httpbody.ReadAndClose(resp, 4096)
	if err != nil {
		return fmt.Errorf("paypal: verify IPN: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return &Error{HTTPStatus: resp.StatusCode}
	}
	switch strings.TrimSpace(string(ans)) {
	case "VERIFIED":
		return nil
	case "INVALID":
		return ErrInvalid
	}
	return fmt.Errorf("paypal: verify IPN: unexpected answer %q", truncate(string(ans), 64))
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// RefundResult is what RefundTransaction answers.
type RefundResult struct {
	RefundTxnID        string
	GrossRefundMinor   int64
	FeeRefundMinor     int64
	NetRefundMinor     int64
	TotalRefundedMinor int64
	Currency           string
	// RefundStatus is Instant, Delayed or None.
	RefundStatus  string
	PendingReason string
	CorrelationID string
	// MsgSubID echoes the request's MSGSUBID.
	MsgSubID string
}

// RefundRequest is one RefundTransaction.
type RefundRequest struct {
	// TxnID is the payment's txn_id.
	TxnID string
	// AmountMinor <= 0 refunds in full (REFUNDTYPE=Full); otherwise
	// REFUNDTYPE=Partial with AMT in Currency.
	AmountMinor int64
	Currency    string
	// Key is the refund's idempotency key, sent as MSGSUBID (see MsgSubID):
	// PayPal answers a request with a MSGSUBID it has seen with the result
	// of the first one instead of refunding again. Empty: no protection
	// against a retry.
	Key string
}

// msgSubIDMax is the length limit of MSGSUBID (38 single-byte characters).
const msgSubIDMax = 38

// MsgSubID is the MSGSUBID sent for an idempotency key: the key itself when
// it fits PayPal's 38 printable ASCII characters, else "OD-" and 35 hex
// digits of its SHA-256, so the same key always gives the same MSGSUBID.
func MsgSubID(key string) string {
	fits := len(key) <= msgSubIDMax
	for i := 0; fits && i < len(key); i++ {
		fits = key[i] > ' ' && key[i] < 0x7f
	}
	if fits {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return "OD-" + hex.EncodeToString(sum[:])[:msgSubIDMax-3]
}

// Refund refunds a payment through the classic NVP API call
// RefundTransaction (Website Payments Standard itself has no refund call).
// PayPal then sends a Refunded IPN (with parent_txn_id = TxnID and a
// negative mc_gross).
func (c *Client) Refund(ctx context.Context, r RefundRequest) (*RefundResult, error) {
	txnID, amountMinor := r.TxnID, r.AmountMinor
	if txnID == "" {
		return nil, errors.New("paypal: transaction id is required")
	}
	cur := strings.ToUpper(r.Currency)
	v := url.Values{}
	v.Set("USER", c.cfg.APIUsername)
	v.Set("PWD", c.cfg.APIPassword)
	v.Set("SIGNATURE", c.cfg.APISignature)
	v.Set("METHOD", "RefundTransaction")
	v.Set("VERSION", nvpVersion)
	v.Set("TRANSACTIONID", txnID)
	if amountMinor > 0 {
		v.Set("REFUNDTYPE", "Partial")
		v.Set("AMT", FormatAmount(amountMinor, cur))
		v.Set("CURRENCYCODE", cur)
	} else {
		v.Set("REFUNDTYPE", "Full")
	}
	if r.Key != "" {
		v.Set("MSGSUBID", MsgSubID(r.Key))
	}
	ans, err := c.nvp(ctx, v)
	if err != nil {
		return nil, err
	}
	rcur := cmp(ans.Get("CURRENCYCODE"), cur)
	res := &RefundResult{
		RefundTxnID:   ans.Get("REFUNDTRANSACTIONID"),
		Currency:      rcur,
		RefundStatus:  ans.Get("REFUNDSTATUS"),
		PendingReason: ans.Get("PENDINGREASON"),
		CorrelationID: ans.Get("CORRELATIONID"),
		MsgSubID:      ans.Get("MSGSUBID"),
	}
	for _, f := range []struct {
		key string
		dst *int64
	}{
		{"GROSSREFUNDAMT", &res.GrossRefundMinor}, {"FEEREFUNDAMT", &res.FeeRefundMinor},
		{"NETREFUNDAMT", &res.NetRefundMinor}, {"TOTALREFUNDEDAMOUNT", &res.TotalRefundedMinor},
	} {
		if s := ans.Get(f.key); s != "" {
			n, err := ParseAmount(s, rcur)
			if err != nil {
				return nil, fmt.Errorf("paypal: %s: %w", f.key, err)
			}
			*f.dst = n
		}
	}
	return res, nil
}

// nvp posts an NVP call and returns the answer, or *Error when ACK is not
// Success/SuccessWithWarning.
func (c *Client) nvp(ctx context.Context, v url.Values) (url.Values, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.NVPURL, strings.NewReader(v.Encode()))
	if err != nil {
		return nil, fmt.Errorf("paypal: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", userAgent)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("paypal: %s: %w", v.Get("METHOD"), err)
	}
	raw, err := httpbody.ReadAndClose(resp, 1<<20)
	if err != nil {
		return nil, fmt.Errorf("paypal: %s: %w", v.Get("METHOD"), err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &Error{HTTPStatus: resp.StatusCode}
	}
	ans, err := url.ParseQuery(strings.TrimSpace(string(raw)))
	if err != nil {
		return nil, fmt.Errorf("paypal: %s: answer is not NVP: %w", v.Get("METHOD"), err)
	}
	switch ans.Get("ACK") {
	case "Success", "SuccessWithWarning":
		return ans, nil
	}
	code := ans.Get("L_ERRORCODE0")
	if code == "" {
		code = "ACK=" + ans.Get("ACK")
	}
	return nil, &Error{
		Code:         code,
		ShortMessage: ans.Get("L_SHORTMESSAGE0"),
		LongMessage:  ans.Get("L_LONGMESSAGE0"),
		HTTPStatus:   resp.StatusCode,
	}
}
