package gateway

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"orderdesk/providers/tinkoff"
)

// tinkoffGateway: Create = Init (OrderId = Reference, Amount in kopecks,
// NotificationURL, SuccessURL, FailURL), State = GetState, Cancel =
// GetState, then Cancel only when the payment waits for the customer (NEW,
// FORM_SHOWED), Refund = Cancel (partial allowed) with ExternalRequestId =
// the refund's key, Notification = ParseNotification with the terminal
// password plus a TerminalKey check.
//
// Endpoint: the API root ending in /v2 (https://securepay.tinkoff.ru/v2);
// "/v2" is added when missing, so a sandbox mount works too.
//
// Ref is the bank's PaymentId. EventID is PaymentId:Status:Amount (the
// bank's retries are byte-identical, and two different moments of one
// payment differ in status or amount). Stages are tinkoff.Stage's: NEW,
// FORM_SHOWED pending; AUTHORIZED and the other in-flight statuses
// processing; CONFIRMED completed; REJECTED, AUTH_FAIL failed; CANCELED,
// DEADLINE_EXPIRED (the customer left the form), REVERSED canceled;
// PARTIAL_REFUNDED partially_refunded; REFUNDED refunded. Reply: "OK".
type tinkoffGateway struct {
	c        *tinkoff.Client
	terminal string
	password string
	payType  string
	language string
}

func newTinkoff(cfg Config) (Gateway, error) {
	if cfg.APIKey == "" {
		return nil, &FieldError{Provider: Tinkoff, Field: "api_key", Problem: "is missing (the TerminalKey)"}
	}
	if cfg.APISecret == "" {
		return nil, &FieldError{Provider: Tinkoff, Field: "api_secret", Problem: "is missing (the terminal password)"}
	}
	payType := strings.ToUpper(cfg.setting("pay_type"))
	if payType != "" && payType != "O" && payType != "T" {
		return nil, &FieldError{Provider: Tinkoff, Field: "settings.pay_type", Problem: `must be "O" (one-stage) or "T" (two-stage)`}
	}
	return &tinkoffGateway{
		c: tinkoff.New(tinkoff.Config{BaseURL: withSuffix(endpointRoot(cfg), "/v2"),
			TerminalKey: cfg.APIKey, Password: cfg.APISecret, HTTPClient: cfg.HTTPClient}),
		terminal: cfg.APIKey, password: cfg.APISecret,
		payType: payType, language: cfg.setting("language"),
	}, nil
}

func (g *tinkoffGateway) Provider() string { return Tinkoff }

func (g *tinkoffGateway) Create(ctx context.Context, req CreateRequest) (*Created, error) {
	if err := checkCreate(req); err != nil {
		return nil, wrap(Tinkoff, "create", err)
	}
	if err := requireRUB(Tinkoff, req.Currency); err != nil {
		return nil, wrap(Tinkoff, "create", err)
	}
	// The bank's limit for OrderId.
	if len(req.Reference) > 36 {
		return nil, wrap(Tinkoff, "create", badRequest("the payment reference %q is longer than the 36 characters T-Bank accepts", req.Reference))
	}
	data := map[string]string{}
	if req.OrderNumber != "" {
		data["OrderNumber"] = req.OrderNumber
	}
	// The payment form pre-fills these.
	if req.Customer.Email != "" {
		data["Email"] = req.Customer.Email
	}
	if req.Customer.Phone != "" {
		data["Phone"] = req.Customer.Phone
	}
	res, err := g.c.Init(ctx, tinkoff.InitRequest{
		Amount: req.AmountMinor, OrderID: req.Reference, Description: truncate(description(req), 140),
		NotificationURL: req.NotifyURL, SuccessURL: req.ReturnURL, FailURL: req.FailURL,
		PayType: g.payType, Language: g.language, DATA: data,
	})
	if err != nil {
		return nil, wrap(Tinkoff, "create", err)
	}
	return &Created{Ref: res.PaymentID, PaymentURL: res.PaymentURL, Stage: tinkoff.Stage(res.Status), Raw: rawJSON(res)}, nil
}

func (g *tinkoffGateway) State(ctx context.Context, ref string) (*State, error) {
	st, err := g.c.GetState(ctx, ref)
	if err != nil {
		return nil, wrap(Tinkoff, "state", err)
	}
	return tinkoffState(ref, st), nil
}

func tinkoffState(ref string, st *tinkoff.StateResponse) *State {
	return &State{
		Ref: cmpStr(st.PaymentID, ref), Stage: tinkoff.Stage(st.Status), AmountMinor: st.Amount,
		ProviderStatus: st.Status, Final: tinkoff.IsFinal(st.Status), Reason: tinkoffReason(st.Status, ""),
		Raw: rawJSON(st),
	}
}

// Cancel asks GetState first, because the bank's Cancel refunds a paid
// payment: only a payment still waiting for the customer (NEW, FORM_SHOWED)
// is cancelled. Anything else is answered as it is: paid (CONFIRMED),
// being paid (3-D Secure, AUTHORIZING…) or held (AUTHORIZED in two-stage:
// money the shop can still take) is the money to apply; CANCELED,
// DEADLINE_EXPIRED, REVERSED, REJECTED are closed already. If the customer
// pays in the moment between the two calls the bank's Cancel refunds the
// payment: the answer then says so (Stage refunded, RefundMinor), and no
// money is kept without an order.
func (g *tinkoffGateway) Cancel(ctx context.Context, ref string) (*State, error) {
	st, err := g.c.GetState(ctx, ref)
	if err != nil {
		return nil, wrap(Tinkoff, "cancel", notSent(err))
	}
	if st.Status != tinkoff.StatusNew && st.Status != tinkoff.StatusFormShowed {
		return tinkoffState(ref, st), nil
	}
	c, err := g.c.Cancel(ctx, tinkoff.CancelRequest{PaymentID: ref})
	if err != nil {
		// A refusal may mean the status moved on between the two calls:
		// what it is now is the answer, unless it still waits.
		if Refused(err) {
			if now, serr := g.c.GetState(ctx, ref); serr == nil && tinkoff.Stage(now.Status) != StagePending {
				return tinkoffState(ref, now), nil
			}
		}
		return nil, wrap(Tinkoff, "cancel", err)
	}
	s := tinkoffCancelState(ref, c)
	if c.Status == tinkoff.StatusCanceled {
		s.AmountMinor = c.OriginalAmount
		s.Reason = "The shop closed the payment before it was paid."
	}
	return s, nil
}

func tinkoffCancelState(ref string, c *tinkoff.CancelResponse) *State {
	s := &State{
		Ref: cmpStr(c.PaymentID, ref), Stage: tinkoff.Stage(c.Status), AmountMinor: c.NewAmount,
		ProviderStatus: c.Status, Final: tinkoff.IsFinal(c.Status), Raw: rawJSON(c),
	}
	if s.Stage == StageRefunded || s.Stage == StagePartiallyRefunded {
		s.RefundMinor = c.OriginalAmount - c.NewAmount
	}
	return s
}

// Refund is the bank's Cancel with the refund's key as ExternalRequestId:
// the bank answers a repeated key with the first refund.
func (g *tinkoffGateway) Refund(ctx context.Context, req RefundRequest) (*State, error) {
	if err := checkRefund(req); err != nil {
		return nil, wrap(Tinkoff, "refund", err)
	}
	if err := requireRUB(Tinkoff, req.Currency); err != nil {
		return nil, wrap(Tinkoff, "refund", err)
	}
	// The bank's limit for ExternalRequestId.
	if len(req.Key) > 255 {
		return nil, wrap(Tinkoff, "refund", badRequest("the refund key is longer than the 255 characters T-Bank accepts"))
	}
	c, err := g.c.Cancel(ctx, tinkoff.CancelRequest{PaymentID: req.Ref, Amount: req.AmountMinor, ExternalRequestID: req.Key})
	if err != nil {
		return nil, wrap(Tinkoff, "refund", err)
	}
	return tinkoffCancelState(req.Ref, c), nil
}

func (g *tinkoffGateway) Notification(ctx context.Context, body []byte, header http.Header) (*Notification, error) {
	n, err := tinkoff.ParseNotification(body, g.password)
	if err != nil {
		// A wrong Token, or a body that is not the bank's JSON at all:
		// either way nothing the bank sent.
		return nil, wrap(Tinkoff, "notification", badSignature(err))
	}
	// The Token covers TerminalKey, but a notification signed for another
	// terminal with the same password is still not ours.
	if n.TerminalKey != g.terminal {
		return nil, wrap(Tinkoff, "notification", badSignature(errors.New("notification is for terminal "+strconv.Quote(n.TerminalKey))))
	}
	reason := ""
	if n.ErrorCode != "" && n.ErrorCode != tinkoff.CodeOK {
		reason = tinkoff.Explain(&tinkoff.Error{Code: n.ErrorCode, Message: n.Message, Details: n.Details})
	}
	return &Notification{
		Ref: n.PaymentID, Reference: n.OrderID, Stage: tinkoff.Stage(n.Status), AmountMinor: n.Amount,
		ProviderStatus: n.Status, ReceiverOK: true,
		EventID: "tinkoff:" + n.PaymentID + ":" + n.Status + ":" + strconv.FormatInt(n.Amount, 10),
		Reason:  tinkoffReason(n.Status, reason),
		Reply:   []byte(tinkoff.NotificationOK), ReplyType: "text/plain; charset=utf-8",
		Raw: string(body),
	}, nil
}

// Test asks for the state of a payment id that does not exist: the bank
// checks the terminal key and the token first, so "no such payment" means
// both are right.
func (g *tinkoffGateway) Test(ctx context.Context) (string, error) {
	_, err := g.c.GetState(ctx, "1")
	var te *tinkoff.Error
	switch {
	case err == nil:
		return "T-Bank accepted terminal " + g.terminal + " and its password (a status query answered).", nil
	case errors.As(err, &te) && te.Code != "" && !te.Temporary():
		switch te.Code {
		case tinkoff.CodeBadToken, tinkoff.CodeTerminalNotFound, tinkoff.CodeTerminalBlocked:
			return "", wrap(Tinkoff, "test", err)
		}
		what := "code " + string(te.Code)
		if te.Code == tinkoff.CodePaymentNotFound {
			what = "no such payment"
		}
		return "T-Bank accepted terminal " + g.terminal + " and its password (a status query for a test payment id answered: " + what + ").", nil
	}
	return "", wrap(Tinkoff, "test", err)
}

// tinkoffReason says why a payment ended without money, if it did.
func tinkoffReason(status, fromCode string) string {
	switch status {
	case tinkoff.StatusRejected, tinkoff.StatusAuthFail:
		if fromCode != "" {
			return fromCode
		}
		if status == tinkoff.StatusAuthFail {
			return "3-D Secure or the card's authorization failed."
		}
		return "The bank declined the card."
	case tinkoff.StatusDeadlineExpired:
		return "The customer did not pay before the payment link expired (or left the payment form)."
	case tinkoff.StatusCanceled:
		return "The payment was cancelled before any money moved."
	case tinkoff.StatusReversed:
		return "The hold on the card was released: no money was taken."
	}
	return ""
}
