package paypal

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// IPN is a parsed Instant Payment Notification. Parse it only after
// VerifyIPN said VERIFIED.
type IPN struct {
	TxnID string
	// TxnType is web_accept for Buy Now payments; empty for refunds and
	// reversals, which carry ParentTxnID instead.
	TxnType string
	// PaymentStatus is Completed, Pending, Refunded, Reversed, Denied, …
	PaymentStatus string
	PendingReason string
	// ReasonCode explains a reversal or refund (refund, chargeback, …).
	ReasonCode string
	// GrossMinor is mc_gross in minor units of Currency; negative for
	// refunds and reversals. FeeMinor is mc_fee.
	GrossMinor    int64
	FeeMinor      int64
	Currency      string
	ReceiverEmail string
	ReceiverID    string
	Business      string
	Custom        string
	Invoice       string
	PayerEmail    string
	PayerID       string
	ItemName      string
	ParentTxnID   string
	PaymentType   string
	// PaymentDate is payment_date as sent ("08:31:05 Jan 02, 2006 PST");
	// PaymentTime is it parsed (zero when it cannot be).
	PaymentDate string
	PaymentTime time.Time
	TestIPN     bool
	IPNTrackID  string
	// Charset is the charset PayPal encoded the message in.
	Charset string
	// Fields holds every field, decoded to UTF-8.
	Fields url.Values
}

// ParseIPN reads an IPN body (application/x-www-form-urlencoded, as PayPal
// POSTs it). Values are decoded from the message's charset to UTF-8: UTF-8,
// windows-1252 and ISO-8859-1 are decoded exactly (PayPal's default for
// many accounts is windows-1252); any other charset is kept byte for byte
// with invalid UTF-8 replaced. mc_gross and mc_fee are parsed exactly into
// minor units.
func ParseIPN(rawBody []byte) (*IPN, error) {
	vals, err := url.ParseQuery(strings.TrimSpace(string(rawBody)))
	if err != nil {
		return nil, fmt.Errorf("paypal: IPN is not form-encoded: %w", err)
	}
	charset := vals.Get("charset")
	dec := decoderFor(charset)
	fields := url.Values{}
	for k, vs := range vals {
		key := dec(k)
		for _, v := range vs {
			fields.Add(key, dec(v))
		}
	}
	get := func(k string) string { return strings.TrimSpace(fields.Get(k)) }
	n := &IPN{
		TxnID: get("txn_id"), TxnType: get("txn_type"), PaymentStatus: get("payment_status"),
		PendingReason: get("pending_reason"), ReasonCode: get("reason_code"),
		Currency:      strings.ToUpper(get("mc_currency")),
		ReceiverEmail: get("receiver_email"), ReceiverID: get("receiver_id"), Business: get("business"),
		Custom: fields.Get("custom"), Invoice: get("invoice"), PayerEmail: get("payer_email"),
		PayerID: get("payer_id"), ItemName: get("item_name"), ParentTxnID: get("parent_txn_id"),
		PaymentType: get("payment_type"), PaymentDate: get("payment_date"),
		TestIPN: get("test_ipn") == "1", IPNTrackID: get("ipn_track_id"), Charset: charset, Fields: fields,
	}
	if n.TxnID == "" && n.TxnType == "" {
		return nil, errors.New("paypal: IPN has neither txn_id nor txn_type")
	}
	if s := get("mc_gross"); s != "" {
		if n.GrossMinor, err = ParseAmount(s, n.Currency); err != nil {
			return nil, fmt.Errorf("paypal: mc_gross: %w", err)
		}
	}
	if s := get("mc_fee"); s != "" {
		if n.FeeMinor, err = ParseAmount(s, n.Currency); err != nil {
			return nil, fmt.Errorf("paypal: mc_fee: %w", err)
		}
	}
	n.PaymentTime = parsePaymentDate(n.PaymentDate)
	return n, nil
}

// paypalZones are the zone abbreviations PayPal writes in payment_date.
var paypalZones = map[string]int{"PST": -8, "PDT": -7, "UTC": 0, "GMT": 0}

func parsePaymentDate(s string) time.Time {
	// "HH:MM:SS Mmm DD, YYYY PST": Go's parser cannot know PST's offset, so
	// the zone is taken apart by hand.
	i := strings.LastIndexByte(s, ' ')
	if i < 0 {
		return time.Time{}
	}
	off, ok := paypalZones[strings.ToUpper(s[i+1:])]
	if !ok {
		return time.Time{}
	}
	t, err := time.ParseInLocation("15:04:05 Jan 2, 2006", s[:i], time.FixedZone(s[i+1:], off*3600))
	if err != nil {
		return time.Time{}
	}
	return t
}

// decoderFor returns a function turning a value of the given charset into
// UTF-8.
func decoderFor(charset string) func(string) string {
	switch strings.ToLower(strings.TrimSpace(charset)) {
	case "windows-1252", "cp1252":
		return decodeWindows1252
	case "iso-8859-1", "latin1", "latin-1":
		return decodeLatin1
	default:
		// UTF-8 and charsets we do not decode: keep valid UTF-8 as is.
		return func(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }
	}
}

func decodeLatin1(s string) string {
	if isASCII(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteRune(rune(s[i]))
	}
	return b.String()
}

// cp1252 maps bytes 0x80–0x9F of windows-1252 (where it differs from
// ISO-8859-1) to Unicode; 0 means undefined.
var cp1252 = [32]rune{
	0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
	0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
}

func decodeWindows1252(s string) string {
	if isASCII(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 0x80 && c <= 0x9F:
			r := cp1252[c-0x80]
			if r == 0 {
				r = utf8.RuneError
			}
			b.WriteRune(r)
		default:
			b.WriteRune(rune(c))
		}
	}
	return b.String()
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// Stage maps PayPal's payment_status to OrderDesk's payment stage:
//
//	Completed                  → "completed"
//	Pending                    → "processing" (card and eCheck payments are
//	                             Pending before they are Completed)
//	Processed                  → "processing"
//	Created                    → "pending"
//	Denied, Failed             → "failed"
//	Refunded, Reversed         → "refunded" (see IPN.Stage for partial refunds)
//	Canceled_Reversal          → "completed" (a chargeback was cancelled: the
//	                             money is back with the shop)
//	Voided, Expired            → "canceled"
//
// Unknown statuses give "", so the caller keeps what it has.
func Stage(paymentStatus string) string {
	switch strings.ToLower(strings.TrimSpace(paymentStatus)) {
	case "completed", "canceled_reversal":
		return "completed"
	case "pending", "processed":
		return "processing"
	case "created":
		return "pending"
	case "denied", "failed":
		return "failed"
	case "refunded", "reversed":
		return "refunded"
	case "partially_refunded":
		return "partially_refunded"
	case "voided", "expired":
		return "canceled"
	}
	return ""
}

// Stage is Stage(n.PaymentStatus), except that a Refunded or Reversed IPN
// whose amount is less than the original payment (originalGrossMinor, as the
// shop recorded it) is "partially_refunded". A refund IPN carries only this
// refund's amount, so several partial refunds adding up to the whole are
// for the caller to sum.
func (n *IPN) Stage(originalGrossMinor int64) string {
	st := Stage(n.PaymentStatus)
	if st == "refunded" {
		amt := n.GrossMinor
		if amt < 0 {
			amt = -amt
		}
		if originalGrossMinor > 0 && amt < originalGrossMinor {
			return "partially_refunded"
		}
	}
	return st
}

// Mismatch compares a verified payment IPN with the shop's order and returns
// a plain-English reason when they differ (suspected fraud, seed 003), or ""
// when they agree. receiverEmail is the shop's PayPal address (compared with
// receiver_email, or business when receiver_email is absent, ignoring case);
// empty skips that check.
func (n *IPN) Mismatch(receiverEmail string, amountMinor int64, currency string) string {
	var reasons []string
	if receiverEmail != "" {
		got := n.ReceiverEmail
		if got == "" {
			got = n.Business
		}
		if !strings.EqualFold(strings.TrimSpace(got), strings.TrimSpace(receiverEmail)) {
			reasons = append(reasons, fmt.Sprintf("the money went to %q, not to the shop's PayPal account", got))
		}
	}
	if !strings.EqualFold(n.Currency, currency) {
		reasons = append(reasons, fmt.Sprintf("PayPal reports the currency %s, the order is in %s", n.Currency, strings.ToUpper(currency)))
	} else if n.GrossMinor != amountMinor {
		reasons = append(reasons, fmt.Sprintf("PayPal reports %s %s paid, the order total is %s %s",
			FormatAmount(n.GrossMinor, n.Currency), n.Currency, FormatAmount(amountMinor, currency), strings.ToUpper(currency)))
	}
	return strings.Join(reasons, "; ")
}
