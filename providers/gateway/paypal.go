package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"orderdesk/providers/internal/httpbody"
	"orderdesk/providers/paypal"
)

// paypalGateway: Create builds the Website Payments Standard link
// (cmd=_xclick, business = APIKey, invoice = Reference, custom =
// OrderNumber, notify_url = NotifyURL, return = ReturnURL, cancel_return =
// FailURL) without calling PayPal. Notification verifies every IPN with
// PayPal (VerifyIPN) before reading it, and reports mc_gross / mc_currency
// as given: comparing them with the order (suspected fraud) is the app's
// call. State: ErrNoStatusQuery (IPN only). Cancel: ErrCancelUnsupported
// (a checkout link cannot be withdrawn). Refund: the classic NVP
// RefundTransaction with MSGSUBID from the refund's key, with APISecret
// "USER:PWD:SIGNATURE"; without it, ErrRefundUnsupported.
//
// Endpoint: where IPNs are verified, https://ipnpb.paypal.com or
// https://ipnpb.sandbox.paypal.com (www.paypal.com and www.sandbox.paypal.com
// are taken to mean those), or the built-in sandbox's mount. The checkout
// and NVP hosts follow from it; Settings checkout_url and nvp_url override.
//
// Ref is the invoice (= Reference) at Create and the txn_id from the first
// IPN on; Refund needs the txn_id. EventID is txn_id:payment_status:
// ipn_track_id (PayPal's retries repeat the ipn_track_id). Stages are
// paypal.Stage's: Completed completed; Pending processing (card payments
// are Pending, then Completed); Created pending; Denied, Failed failed;
// Voided, Expired canceled; Canceled_Reversal completed. A Refunded or
// Reversed IPN (parent_txn_id, negative mc_gross) is about one refund: Ref
// is the parent payment, RefundMinor its amount, Stage partially_refunded
// (PayPal says Refunded for partial refunds too). A buyer who abandons the
// checkout sends no IPN: the payment stays pending until the app cancels it.
// Reply: empty 200.
type paypalGateway struct {
	c        *paypal.Client
	business string
	receiver string
	nvpURL   string
	user     string
	pwd      string
	sig      string
	hc       *http.Client
}

func newPayPal(cfg Config) (Gateway, error) {
	if cfg.APIKey == "" {
		return nil, &FieldError{Provider: PayPal, Field: "api_key", Problem: "is missing (the PayPal business e-mail that receives the payments)"}
	}
	if at := strings.Index(cfg.APIKey, "@"); at <= 0 || at == len(cfg.APIKey)-1 || strings.ContainsAny(cfg.APIKey, " :") {
		return nil, &FieldError{Provider: PayPal, Field: "api_key", Problem: "must be the PayPal business e-mail that receives the payments, e.g. shop@example.com"}
	}
	pc := paypal.Config{BaseURL: paypalIPNBase(endpointRoot(cfg)), CheckoutURL: cfg.setting("checkout_url"),
		NVPURL: cfg.setting("nvp_url"), HTTPClient: cfg.HTTPClient}
	if cfg.APISecret != "" {
		parts := strings.SplitN(cfg.APISecret, ":", 3)
		if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
			return nil, &FieldError{Provider: PayPal, Field: "api_secret",
				Problem: `must be the classic API credentials "USER:PWD:SIGNATURE" (or empty: no refunds from OrderDesk)`}
		}
		pc.APIUsername, pc.APIPassword, pc.APISignature = parts[0], parts[1], parts[2]
	}
	g := &paypalGateway{c: paypal.New(pc), business: cfg.APIKey, receiver: cmpStr(cfg.setting("receiver_email"), cfg.APIKey),
		user: pc.APIUsername, pwd: pc.APIPassword, sig: pc.APISignature, hc: cfg.HTTPClient}
	g.nvpURL = pc.NVPURL
	if g.nvpURL == "" {
		switch pc.BaseURL {
		case paypal.LiveIPNBaseURL:
			g.nvpURL = paypal.LiveNVPURL
		case paypal.SandboxIPNBaseURL:
			g.nvpURL = paypal.SandboxNVPURL
		default:
			g.nvpURL = pc.BaseURL + "/nvp"
		}
	}
	if g.hc == nil {
		g.hc = &http.Client{Timeout: 30 * time.Second}
	}
	return g, nil
}

// paypalIPNBase maps what staff may type as the endpoint to the IPN base.
func paypalIPNBase(root string) string {
	root = strings.TrimSuffix(root, "/cgi-bin/webscr")
	switch strings.ToLower(root) {
	case "https://www.paypal.com", "https://paypal.com":
		return paypal.LiveIPNBaseURL
	case "https://www.sandbox.paypal.com", "https://sandbox.paypal.com":
		return paypal.SandboxIPNBaseURL
	}
	return root
}

func (g *paypalGateway) Provider() string { return PayPal }

func (g *paypalGateway) Create(ctx context.Context, req CreateRequest) (*Created, error) {
	if err := checkCreate(req); err != nil {
		return nil, wrap(PayPal, "create", err)
	}
	cur := strings.ToUpper(strings.TrimSpace(req.Currency))
	if len(cur) != 3 {
		return nil, wrap(PayPal, "create", badRequest("the currency %q is not an ISO code PayPal knows", req.Currency))
	}
	link := g.c.CheckoutURL(paypal.CheckoutRequest{
		Business: g.business, Invoice: req.Reference, Custom: req.OrderNumber, AmountMinor: req.AmountMinor,
		Currency: cur, ItemName: truncate(description(req), 127),
		ReturnURL: req.ReturnURL, CancelURL: req.FailURL, NotifyURL: req.NotifyURL,
	})
	return &Created{Ref: req.Reference, PaymentURL: link, Stage: StagePending,
		Raw: "checkout link built for invoice " + req.Reference + " (PayPal is told of the payment by the buyer's browser)"}, nil
}

func (g *paypalGateway) State(ctx context.Context, ref string) (*State, error) {
	return nil, wrap(PayPal, "state", ErrNoStatusQuery)
}

// Cancel is not possible: Website Payments Standard has no call that
// withdraws a checkout link.
func (g *paypalGateway) Cancel(ctx context.Context, ref string) (*State, error) {
	return nil, wrap(PayPal, "cancel", ErrCancelUnsupported)
}

func (g *paypalGateway) Refund(ctx context.Context, req RefundRequest) (*State, error) {
	if g.user == "" {
		return nil, wrap(PayPal, "refund", ErrRefundUnsupported)
	}
	if err := checkRefund(req); err != nil {
		return nil, wrap(PayPal, "refund", err)
	}
	ref, amountMinor := req.Ref, req.AmountMinor
	cur := strings.ToUpper(strings.TrimSpace(req.Currency))
	if amountMinor > 0 && len(cur) != 3 {
		return nil, wrap(PayPal, "refund", badRequest("a partial PayPal refund needs the payment's currency"))
	}
	// amountMinor 0 is PayPal's Full refund, which PayPal refuses after a
	// partial one: refund the rest by its amount then.
	res, err := g.c.Refund(ctx, paypal.RefundRequest{TxnID: ref, AmountMinor: amountMinor, Currency: cur, Key: req.Key})
	if err != nil {
		return nil, wrap(PayPal, "refund", err)
	}
	stage := StagePartiallyRefunded
	if amountMinor == 0 {
		stage = StageRefunded
	}
	return &State{
		Ref: ref, Stage: stage, Currency: res.Currency, RefundedMinor: res.TotalRefundedMinor,
		RefundMinor: res.GrossRefundMinor, RefundRef: res.RefundTxnID, ProviderStatus: res.RefundStatus,
		Final: true, Raw: rawJSON(res),
	}, nil
}

func (g *paypalGateway) Notification(ctx context.Context, body []byte, header http.Header) (*Notification, error) {
	if err := g.c.VerifyIPN(ctx, body); err != nil {
		if errors.Is(err, paypal.ErrInvalid) {
			return nil, wrap(PayPal, "notification", badSignature(err))
		}
		// PayPal could not be asked: answer an error so it sends again.
		return nil, wrap(PayPal, "notification", err)
	}
	ipn, err := paypal.ParseIPN(body)
	if err != nil {
		// VERIFIED, yet not an IPN we can read: nothing to record.
		return nil, wrap(PayPal, "notification", badSignature(err))
	}
	receiver := cmpStr(ipn.ReceiverEmail, ipn.Business)
	track := cmpStr(ipn.IPNTrackID, ipn.Fields.Get("verify_sign"))
	n := &Notification{
		Ref: ipn.TxnID, Reference: ipn.Invoice, Stage: paypal.Stage(ipn.PaymentStatus),
		AmountMinor: ipn.GrossMinor, Currency: ipn.Currency, ProviderStatus: ipn.PaymentStatus,
		ReceiverOK: strings.EqualFold(strings.TrimSpace(receiver), g.receiver),
		EventID:    "paypal:" + ipn.TxnID + ":" + ipn.PaymentStatus + ":" + track,
		Reply:      []byte{}, ReplyType: "text/plain; charset=utf-8", Raw: string(body),
	}
	if ipn.ParentTxnID != "" && ipn.GrossMinor < 0 {
		// A refund or a reversal of the parent payment.
		n.Ref, n.RefundRef, n.RefundMinor, n.AmountMinor = ipn.ParentTxnID, ipn.TxnID, -ipn.GrossMinor, 0
		if n.Stage == StageRefunded {
			n.Stage = StagePartiallyRefunded
		}
		if ipn.PaymentStatus == "Reversed" {
			n.Reason = "The buyer's payment was reversed (" + cmpStr(ipn.ReasonCode, "chargeback") + ")."
		}
	}
	switch ipn.PaymentStatus {
	case "Denied":
		n.Reason = "The shop's PayPal account denied the payment."
	case "Failed":
		n.Reason = "PayPal could not take the money (the buyer's funding source failed)."
	case "Voided", "Expired":
		n.Reason = "PayPal voided the payment's authorization: no money was taken."
	}
	return n, nil
}

// Test asks PayPal to verify a message it did not send (INVALID means the
// IPN verifier answers) and, with classic API credentials, makes the
// read-only NVP call GetBalance.
func (g *paypalGateway) Test(ctx context.Context) (string, error) {
	err := g.c.VerifyIPN(ctx, []byte("orderdesk_connection_test=1"))
	if err != nil && !errors.Is(err, paypal.ErrInvalid) {
		return "", wrap(PayPal, "test", err)
	}
	msg := "PayPal's IPN verification answers (a test message was rightly called INVALID); payments go to " + g.business
	if g.user == "" {
		return msg + ". Refunds from OrderDesk are off: no classic API credentials are set.", nil
	}
	if err := g.getBalance(ctx); err != nil {
		return "", wrap(PayPal, "test", err)
	}
	return msg + ", and PayPal accepted the classic API credentials for refunds.", nil
}

// getBalance calls NVP GetBalance: the paypal client has no read-only call,
// and a refund is not a test. A refused method (81002) still proves the
// credentials were accepted: PayPal checks them first.
func (g *paypalGateway) getBalance(ctx context.Context) error {
	v := url.Values{"USER": {g.user}, "PWD": {g.pwd}, "SIGNATURE": {g.sig}, "METHOD": {"GetBalance"}, "VERSION": {"204.0"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.nvpURL, strings.NewReader(v.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := g.hc.Do(req)
	if err != nil {
		return fmt.Errorf("paypal: GetBalance: %w", err)
	}
	raw, err := httpbody.ReadAndClose(resp, 64<<10)
	if err != nil {
		return fmt.Errorf("paypal: GetBalance: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return &paypal.Error{HTTPStatus: resp.StatusCode}
	}
	ans, err := url.ParseQuery(string(raw))
	if err != nil {
		return fmt.Errorf("paypal: GetBalance: answer is not NVP: %w", err)
	}
	if ack := ans.Get("ACK"); strings.HasPrefix(ack, "Success") || ans.Get("L_ERRORCODE0") == "81002" {
		return nil
	}
	return &paypal.Error{Code: ans.Get("L_ERRORCODE0"), ShortMessage: ans.Get("L_SHORTMESSAGE0"),
		LongMessage: ans.Get("L_LONGMESSAGE0"), HTTPStatus: resp.StatusCode}
}
