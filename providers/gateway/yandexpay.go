package gateway

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"orderdesk/providers/yandexpay"
)

// yandexGateway: Create = POST /v1/orders (orderId = Reference, redirect
// URLs onSuccess = ReturnURL, onError and onAbort = FailURL), State =
// GetOrder (the app polls it every 3 s until Final, and when the customer
// comes back), Cancel = GetOrder, then rollback only for a PENDING order,
// Refund = refund with externalOperationId = the refund's key,
// Notification = the ES256 JWT verified with
// the JWKS of the endpoint's host (cached in the gateway) and checked for
// our merchant id. Yandex sends webhooks to the callback URL set in its
// console, not to CreateRequest.NotifyURL.
//
// Endpoint: the merchant API root ending in /api/merchant
// (https://sandbox.pay.yandex.ru/api/merchant); it is added when missing, so
// a host or a sandbox mount works too. The merchant id webhooks must carry
// is Settings merchant_id, else APISecret (unless it is a JWKS URL), else
// the API key (in Yandex's sandbox the key is the merchant id): the check is
// never skipped, since Yandex signs every merchant's webhooks with the same
// keys.
//
// Ref is the orderId (= Reference). EventID is
// orderId:event:paymentStatus (plus operationId:status for operation
// events); eventTime is left out because each delivery, retries included,
// is a fresh JWT. Stages are yandexpay.Stage's: PENDING pending (also after
// the customer abandons the form: the order stays open until its link
// expires); AUTHORIZED processing; CAPTURED, CONFIRMED completed; FAILED
// failed; VOIDED canceled; PARTIALLY_REFUNDED, REFUNDED. Reply:
// {"status":"success"}.
type yandexGateway struct {
	c        *yandexpay.Client
	keys     *yandexpay.JWKSCache
	merchant string
	ttl      time.Duration
	methods  []string
}

func newYandexPay(cfg Config) (Gateway, error) {
	merchant := cfg.setting("merchant_id")
	jwks := cfg.setting("jwks_url")
	if isURL(cfg.APISecret) {
		jwks = cmpStr(jwks, cfg.APISecret)
	} else if merchant == "" {
		merchant = cfg.APISecret
	}
	merchant = cmpStr(merchant, cfg.APIKey)
	if cfg.APIKey == "" && merchant == "" {
		return nil, &FieldError{Provider: YandexPay, Field: "api_key", Problem: "is missing (the Yandex Pay API key)"}
	}
	base := endpointRoot(cfg)
	base = strings.TrimSuffix(base, "/v1")
	base = withSuffix(base, "/api/merchant")
	c := yandexpay.New(yandexpay.Config{BaseURL: base, APIKey: cfg.APIKey, MerchantID: merchant, HTTPClient: cfg.HTTPClient})
	g := &yandexGateway{c: c, keys: yandexpay.NewJWKSCache(cmpStr(jwks, c.JWKSURL()), cfg.HTTPClient), merchant: merchant}
	if s := cfg.setting("ttl_minutes"); s != "" {
		m, err := strconv.Atoi(s)
		if err != nil || m <= 0 {
			return nil, &FieldError{Provider: YandexPay, Field: "settings.ttl_minutes", Problem: "must be a whole number of minutes"}
		}
		g.ttl = time.Duration(m) * time.Minute
	}
	for m := range strings.SplitSeq(cfg.setting("payment_methods"), ",") {
		if m = strings.ToUpper(strings.TrimSpace(m)); m != "" {
			g.methods = append(g.methods, m)
		}
	}
	return g, nil
}

func isURL(s string) bool { return strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://") }

func (g *yandexGateway) Provider() string { return YandexPay }

func (g *yandexGateway) Create(ctx context.Context, req CreateRequest) (*Created, error) {
	if err := checkCreate(req); err != nil {
		return nil, wrap(YandexPay, "create", err)
	}
	if err := requireRUB(YandexPay, req.Currency); err != nil {
		return nil, wrap(YandexPay, "create", err)
	}
	var items []yandexpay.Item
	if itemsAddUp(req.Items, req.AmountMinor) {
		for i, it := range req.Items {
			items = append(items, yandexpay.Item{ProductID: cmpStr(it.SKU, strconv.Itoa(i+1)), Title: it.Name,
				Quantity: it.Quantity, TotalMinor: int64(it.Quantity) * it.UnitMinor})
		}
	} else {
		items = []yandexpay.Item{{ProductID: cmpStr(req.OrderNumber, req.Reference), Title: description(req), Quantity: 1, TotalMinor: req.AmountMinor}}
	}
	res, err := g.c.CreateOrder(ctx, yandexpay.CreateOrderRequest{
		OrderID: req.Reference, Currency: "RUB", Items: items, TotalMinor: req.AmountMinor,
		RedirectURLs: yandexpay.RedirectURLs{OnSuccess: req.ReturnURL, OnError: req.FailURL, OnAbort: req.FailURL},
		TTL:          g.ttl, PaymentMethods: g.methods, Purpose: description(req),
	})
	if err != nil {
		return nil, wrap(YandexPay, "create", err)
	}
	return &Created{Ref: req.Reference, PaymentURL: res.PaymentURL, Stage: StagePending, Raw: rawJSON(res)}, nil
}

func (g *yandexGateway) State(ctx context.Context, ref string) (*State, error) {
	info, err := g.c.GetOrder(ctx, ref)
	if err != nil {
		return nil, wrap(YandexPay, "state", err)
	}
	return yandexState(ref, info), nil
}

func yandexState(ref string, info *yandexpay.OrderInfo) *State {
	var refunded int64
	reason := ""
	for _, op := range info.Operations {
		switch {
		case op.OperationType == "REFUND" && op.Status == "SUCCESS":
			refunded += op.AmountMinor
		case op.OperationType == "AUTHORIZE" && op.Status == "FAIL":
			reason = yandexReason(op.Reason)
		}
	}
	s := &State{
		Ref: cmpStr(info.OrderID, ref), Stage: yandexpay.Stage(info.PaymentStatus),
		// Yandex lowers orderAmount with each refund; the payment's amount
		// is what is left plus what went back.
		AmountMinor: info.OrderAmountMinor + refunded, Currency: info.Currency, RefundedMinor: refunded,
		ProviderStatus: string(info.PaymentStatus), Final: yandexpay.IsFinal(info.PaymentStatus), Raw: rawJSON(info),
	}
	switch s.Stage {
	case StageFailed:
		s.Reason = cmpStr(reason, "Yandex Pay reports the payment failed.")
	case StageCanceled:
		s.Reason = "The hold on the customer's money was released: no money was taken."
	}
	return s
}

// yandexReason turns the reason code of a failed operation into words.
func yandexReason(code string) string {
	switch strings.ToUpper(code) {
	case "":
		return ""
	case "INSUFFICIENT_FUNDS":
		return "The customer's card has insufficient funds."
	case "DECLINED_BY_ISSUER":
		return "The customer's bank declined the card."
	case "EXPIRED_CARD":
		return "The customer's card has expired."
	}
	return "Yandex Pay reports the payment failed (" + code + ")."
}

// Cancel reads the order first and rolls back only a PENDING one. Yandex
// Pay's /cancel only releases an AUTHORIZED hold, and its /rollback (the
// call that closes an unpaid payment link) refunds an order that is
// already paid. AUTHORIZED (money held) is answered as processing and
// CAPTURED as completed, for the caller to apply; FAILED and VOIDED are
// closed. A FAILED order without a failed authorization (its link expired,
// or it was rolled back) is canceled rather than failed: nobody's card was
// declined. If the customer pays in the moment between the two calls,
// Yandex Pay refunds the order: the answer then says so (Stage refunded).
func (g *yandexGateway) Cancel(ctx context.Context, ref string) (*State, error) {
	info, err := g.c.GetOrder(ctx, ref)
	if err != nil {
		return nil, wrap(YandexPay, "cancel", notSent(err))
	}
	if info.PaymentStatus != yandexpay.StatusPending {
		return yandexClosedState(ref, info), nil
	}
	if err := g.c.Rollback(ctx, ref); err != nil {
		if Refused(err) {
			if now, gerr := g.c.GetOrder(ctx, ref); gerr == nil && now.PaymentStatus != yandexpay.StatusPending {
				return yandexClosedState(ref, now), nil
			}
		}
		return nil, wrap(YandexPay, "cancel", err)
	}
	after, err := g.c.GetOrder(ctx, ref)
	if err != nil {
		// Closed; only the re-read failed.
		return &State{Ref: ref, Stage: StageCanceled, AmountMinor: info.OrderAmountMinor, Currency: info.Currency,
			ProviderStatus: string(yandexpay.StatusFailed), Final: true, Reason: "The shop closed the payment link before the customer paid.",
			Raw: "rollback answered success"}, nil
	}
	s := yandexClosedState(ref, after)
	if s.Stage == StageCanceled {
		s.Reason = "The shop closed the payment link before the customer paid."
	}
	return s, nil
}

// yandexClosedState is yandexState, with a FAILED order that nobody tried
// to pay (expired or rolled back) reported as canceled.
func yandexClosedState(ref string, info *yandexpay.OrderInfo) *State {
	s := yandexState(ref, info)
	if s.Stage != StageFailed {
		return s
	}
	for _, op := range info.Operations {
		if op.OperationType == "AUTHORIZE" && op.Status == "FAIL" {
			return s
		}
	}
	s.Stage, s.Reason = StageCanceled, "The payment link expired or was closed before the customer paid."
	return s
}

// Refund reads the order, answers a key Yandex Pay already has with that
// refund (a repeat), and otherwise refunds with the key as
// externalOperationId and the order amount the read showed: a refund made
// meanwhile by someone else makes Yandex Pay refuse this one rather than
// refund from a stale total.
func (g *yandexGateway) Refund(ctx context.Context, req RefundRequest) (*State, error) {
	if err := checkRefund(req); err != nil {
		return nil, wrap(YandexPay, "refund", err)
	}
	if err := requireRUB(YandexPay, req.Currency); err != nil {
		return nil, wrap(YandexPay, "refund", err)
	}
	ref := req.Ref
	info, err := g.c.GetOrder(ctx, ref)
	if err != nil {
		return nil, wrap(YandexPay, "refund", notSent(err))
	}
	for _, op := range info.Operations {
		if op.ExternalOperationID != req.Key {
			continue
		}
		if op.OperationType != "REFUND" {
			return nil, wrap(YandexPay, "refund", badRequest("the refund key %q was used for a %s of this order", req.Key, op.OperationType))
		}
		s := yandexState(ref, info)
		s.RefundMinor, s.RefundRef = op.AmountMinor, op.OperationID
		return s, nil
	}
	amountMinor := req.AmountMinor
	if amountMinor == 0 {
		// Yandex's orderAmount is what is left after earlier refunds.
		amountMinor = info.OrderAmountMinor
		if amountMinor <= 0 {
			return nil, wrap(YandexPay, "refund", badRequest("nothing is left to refund of this Yandex Pay order"))
		}
	}
	op, err := g.c.RefundOrder(ctx, ref, amountMinor, info.OrderAmountMinor-amountMinor, req.Key)
	if err != nil {
		return nil, wrap(YandexPay, "refund", err)
	}
	after, err := g.c.GetOrder(ctx, ref)
	if err != nil {
		return &State{Ref: ref, Stage: StagePartiallyRefunded, RefundMinor: op.AmountMinor, RefundRef: op.OperationID,
			ProviderStatus: op.Status, Raw: rawJSON(op)}, nil
	}
	s := yandexState(ref, after)
	s.RefundMinor, s.RefundRef = op.AmountMinor, op.OperationID
	return s, nil
}

func (g *yandexGateway) Notification(ctx context.Context, body []byte, header http.Header) (*Notification, error) {
	ev, err := yandexpay.ParseWebhook(ctx, body, g.keys, g.merchant)
	if err != nil {
		if errors.Is(err, yandexpay.ErrBadSignature) || errors.Is(err, yandexpay.ErrExpired) ||
			errors.Is(err, yandexpay.ErrMerchantMismatch) || errors.Is(err, yandexpay.ErrUnknownKey) {
			return nil, wrap(YandexPay, "notification", badSignature(err))
		}
		// The signing keys could not be fetched: answer an error so Yandex
		// sends it again.
		return nil, wrap(YandexPay, "notification", err)
	}
	n := &Notification{
		Ref: ev.Order.OrderID, Reference: ev.Order.OrderID, Stage: yandexpay.Stage(ev.Order.PaymentStatus),
		ProviderStatus: string(ev.Order.PaymentStatus), ReceiverOK: true,
		EventID: "yandexpay:" + ev.Order.OrderID + ":" + ev.Event + ":" + string(ev.Order.PaymentStatus),
		Reply:   []byte(yandexpay.WebhookOK), ReplyType: "application/json", Raw: string(body),
	}
	if op := ev.Operation; op != nil {
		n.EventID += ":" + op.OperationID + ":" + op.Status
		n.ProviderStatus = cmpStr(n.ProviderStatus, op.OperationType+" "+op.Status)
		if op.OperationType == "REFUND" && op.Status == "SUCCESS" {
			n.RefundMinor, n.RefundRef = op.AmountMinor, op.OperationID
		}
		if op.OperationType == "AUTHORIZE" && op.Status == "FAIL" {
			n.Reason = yandexReason(op.Reason)
		}
	}
	if n.Stage == StageFailed && n.Reason == "" {
		n.Reason = "Yandex Pay reports the payment failed."
	}
	return n, nil
}

// Test reads an order that does not exist (Yandex checks the API key
// first, so "no such order" means the key is right) and loads the webhook
// signing keys.
func (g *yandexGateway) Test(ctx context.Context) (string, error) {
	_, err := g.c.GetOrder(ctx, "orderdesk-connection-test")
	var ye *yandexpay.Error
	msg := ""
	switch {
	case err == nil:
		msg = "Yandex Pay accepted the API key (an order lookup answered)"
	case errors.As(err, &ye) && ye.HTTPStatus == http.StatusNotFound:
		msg = "Yandex Pay accepted the API key (a lookup of a test order answered: no such order)"
	default:
		return "", wrap(YandexPay, "test", err)
	}
	// No key has this id: "unknown key" means the key set was fetched.
	if _, err := g.keys.Key(ctx, "orderdesk-connection-test"); err != nil && !errors.Is(err, yandexpay.ErrUnknownKey) {
		return msg + "; but its webhook signing keys could not be loaded from " + g.keys.URL + " (" + err.Error() +
			"), so webhooks will be refused until they can: payments are still followed by polling.", nil
	}
	return msg + "; webhook signing keys load from " + g.keys.URL + ", and webhooks are accepted for merchant " + g.merchant + ".", nil
}
