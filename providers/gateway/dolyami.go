package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"orderdesk/providers/dolyami"
)

// dolyamiGateway: Create = orders/create (order id = Reference, the buyer
// goes to Link), State = Info, Cancel = Info, then orders/{id}/cancel only
// for a new order, Refund = refund with X-Correlation-ID made from the
// refund's key, Notification = take the
// order id only, re-read the order with Info (the notification is not
// signed) and, when Dolyami approved the buyer (approved or
// wait_for_commit), Commit it before answering: only a committed order is
// paid. State commits too, so a poller covers a lost notification. The
// commit is for the amount Dolyami approved.
//
// Endpoint: the API root ending in /v1 (https://partner.dolyame.ru/v1);
// "/v1" is added when missing. Production needs the client certificate:
// Settings client_cert_pem and client_key_pem.
//
// Ref is the order id (= Reference). EventID is id:status:amount:residual
// of the notification as sent (a resend is byte-identical). Stages are from
// Info, never from the notification's claim: new pending; approved and
// wait_for_commit processing (until committed here); committed, completed
// completed; rejected failed; canceled canceled (the buyer left the form);
// refunds partially_refunded / refunded. Reply: empty 200.
type dolyamiGateway struct {
	c *dolyami.Client
}

func newDolyami(cfg Config) (Gateway, error) {
	if cfg.APIKey == "" {
		return nil, &FieldError{Provider: Dolyami, Field: "api_key", Problem: "is missing (the Dolyami login)"}
	}
	if cfg.APISecret == "" {
		return nil, &FieldError{Provider: Dolyami, Field: "api_secret", Problem: "is missing (the Dolyami password)"}
	}
	dc := dolyami.Config{BaseURL: withSuffix(endpointRoot(cfg), "/v1"), Login: cfg.APIKey, Password: cfg.APISecret}
	cert, key := cfg.Settings["client_cert_pem"], cfg.Settings["client_key_pem"]
	if (cert == "") != (key == "") {
		return nil, &FieldError{Provider: Dolyami, Field: "settings.client_cert_pem", Problem: "and settings.client_key_pem must be given together"}
	}
	if cert != "" {
		// The dolyami client uses an HTTPClient as is and would drop the
		// certificate, so it builds its own transport here.
		dc.CertPEM, dc.KeyPEM = []byte(cert), []byte(key)
	} else {
		dc.HTTPClient = cfg.HTTPClient
	}
	c, err := dolyami.New(dc)
	if err != nil {
		return nil, &FieldError{Provider: Dolyami, Field: "settings.client_cert_pem", Problem: "is not a usable certificate and key: " + err.Error()}
	}
	return &dolyamiGateway{c: c}, nil
}

func (g *dolyamiGateway) Provider() string { return Dolyami }

func (g *dolyamiGateway) Create(ctx context.Context, req CreateRequest) (*Created, error) {
	if err := checkCreate(req); err != nil {
		return nil, wrap(Dolyami, "create", err)
	}
	if err := requireRUB(Dolyami, req.Currency); err != nil {
		return nil, wrap(Dolyami, "create", err)
	}
	if len(req.Reference) > 64 {
		return nil, wrap(Dolyami, "create", badRequest("the payment reference %q is longer than the 64 characters Dolyami accepts", req.Reference))
	}
	var items []dolyami.Item
	if itemsAddUp(req.Items, req.AmountMinor) {
		for _, it := range req.Items {
			items = append(items, dolyami.Item{Name: it.Name, Quantity: it.Quantity, Price: it.UnitMinor, SKU: it.SKU})
		}
	} else {
		items = []dolyami.Item{{Name: description(req), Quantity: 1, Price: req.AmountMinor}}
	}
	first, last, _ := strings.Cut(strings.TrimSpace(req.Customer.Name), " ")
	res, err := g.c.CreateOrder(ctx, dolyami.CreateRequest{
		Order:           dolyami.Order{ID: req.Reference, Amount: req.AmountMinor, Items: items},
		ClientInfo:      dolyami.ClientInfo{FirstName: first, LastName: strings.TrimSpace(last), Phone: req.Customer.Phone, Email: req.Customer.Email},
		NotificationURL: dolyamiNotifyURL(req.NotifyURL, req.Reference), FailURL: req.FailURL, SuccessURL: req.ReturnURL,
	})
	if err != nil {
		return nil, wrap(Dolyami, "create", err)
	}
	return &Created{Ref: cmpStr(res.ID, req.Reference), PaymentURL: res.Link, Stage: res.Stage(), Raw: rawJSON(res)}, nil
}

// State reads the order and commits it when Dolyami approved the buyer.
func (g *dolyamiGateway) State(ctx context.Context, ref string) (*State, error) {
	info, err := g.infoCommitted(ctx, ref)
	if err != nil {
		return nil, wrap(Dolyami, "state", err)
	}
	return dolyamiState(ref, info), nil
}

// infoCommitted is Info, followed by Commit when the order waits for it.
func (g *dolyamiGateway) infoCommitted(ctx context.Context, id string) (*dolyami.OrderInfo, error) {
	info, err := g.c.Info(ctx, id)
	if err != nil || !dolyami.NeedsCommit(info.Status) {
		return info, err
	}
	committed, err := g.c.Commit(ctx, id, dolyami.CommitRequest{Amount: info.Amount})
	var de *dolyami.Error
	if errors.As(err, &de) && de.HTTPStatus == http.StatusConflict {
		// Committed meanwhile (a duplicate notification, a poller): what
		// the order is now is the answer.
		return g.c.Info(ctx, id)
	}
	if err != nil {
		return nil, err
	}
	if committed.RefundInfo == nil {
		committed.RefundInfo = info.RefundInfo
	}
	return committed, nil
}

func dolyamiState(ref string, info *dolyami.OrderInfo) *State {
	s := &State{
		Ref: cmpStr(info.ID, ref), Stage: info.Stage(), AmountMinor: info.Amount, Currency: "RUB",
		ProviderStatus: info.Status, Raw: rawJSON(info),
	}
	if info.RefundInfo != nil {
		s.RefundedMinor = info.RefundInfo.TotalRefundedAmount
	}
	switch info.Status {
	case dolyami.StatusRejected, dolyami.StatusCanceled, dolyami.StatusCommitted, dolyami.StatusCompleted:
		s.Final = true
	}
	switch info.Status {
	case dolyami.StatusRejected:
		s.Reason = "Dolyami declined the buyer."
	case dolyami.StatusCanceled:
		s.Reason = "The Dolyami order was cancelled before it was committed (the buyer left the form, or the shop cancelled it)."
	}
	return s
}

// Cancel reads the order first and cancels only a new one (the buyer has
// not been approved): Dolyami's cancel of an approved order would hand the
// buyer's first part back instead of taking the money. approved and
// wait_for_commit are answered as processing (the buyer has paid: State
// commits it), committed and completed as completed, canceled and rejected
// as closed.
func (g *dolyamiGateway) Cancel(ctx context.Context, ref string) (*State, error) {
	info, err := g.c.Info(ctx, ref)
	if err != nil {
		return nil, wrap(Dolyami, "cancel", notSent(err))
	}
	if info.Status != dolyami.StatusNew {
		return dolyamiState(ref, info), nil
	}
	c, err := g.c.Cancel(ctx, ref)
	if err != nil {
		// Refused: the buyer may have been approved meanwhile.
		if Refused(err) {
			if now, ierr := g.c.Info(ctx, ref); ierr == nil && now.Status != dolyami.StatusNew {
				return dolyamiState(ref, now), nil
			}
		}
		return nil, wrap(Dolyami, "cancel", err)
	}
	s := dolyamiState(ref, c)
	if c.Status == dolyami.StatusCanceled {
		s.Reason = "The shop closed the Dolyami order before the buyer paid."
	}
	return s, nil
}

// Refund sends the refund with X-Correlation-ID made from its key, so a
// repeat is answered like the first refund. With AmountMinor 0 the
// remainder is read from Info; when nothing is left the refund is still
// sent (for 0): a repeat of the refund that took the remainder is answered
// like the first time, and anything else is refused by Dolyami ([U]: this
// relies on Dolyami recognising the X-Correlation-ID before checking the
// amount, as the sandbox does).
func (g *dolyamiGateway) Refund(ctx context.Context, req RefundRequest) (*State, error) {
	if err := checkRefund(req); err != nil {
		return nil, wrap(Dolyami, "refund", err)
	}
	if err := requireRUB(Dolyami, req.Currency); err != nil {
		return nil, wrap(Dolyami, "refund", err)
	}
	ref, amountMinor := req.Ref, req.AmountMinor
	if amountMinor == 0 {
		info, err := g.c.Info(ctx, ref)
		if err != nil {
			return nil, wrap(Dolyami, "refund", notSent(err))
		}
		amountMinor = info.Amount
		if info.RefundInfo != nil {
			amountMinor -= info.RefundInfo.TotalRefundedAmount
		}
		amountMinor = max(amountMinor, 0)
	}
	res, err := g.c.Refund(ctx, ref, dolyami.RefundRequest{Amount: amountMinor, Key: req.Key})
	if err != nil {
		return nil, wrap(Dolyami, "refund", err)
	}
	info, err := g.c.Info(ctx, ref)
	if err != nil {
		// The refund was made; only the re-read failed.
		return &State{Ref: ref, Stage: StagePartiallyRefunded, RefundMinor: res.Amount, RefundRef: res.RefundID,
			Currency: "RUB", Raw: rawJSON(res)}, nil
	}
	s := dolyamiState(ref, info)
	s.RefundMinor, s.RefundRef = res.Amount, res.RefundID
	return s, nil
}

func (g *dolyamiGateway) Notification(ctx context.Context, body []byte, header http.Header) (*Notification, error) {
	// The order id is the body's, or else the one our notification_url
	// carries; when both are there they must agree.
	q := webhookQuery(header).Get(dolyamiOrderParam)
	n, err := dolyami.ParseNotificationFor(body, q)
	if err != nil {
		return nil, wrap(Dolyami, "notification", badSignature(err))
	}
	if q != "" && q != n.ID {
		return nil, wrap(Dolyami, "notification", badSignature(fmt.Errorf("the notification is about order %q but came to the URL of order %q", n.ID, q)))
	}
	info, err := g.infoCommitted(ctx, n.ID)
	var de *dolyami.Error
	if errors.As(err, &de) && de.HTTPStatus == http.StatusNotFound {
		return nil, wrap(Dolyami, "notification", badSignature(fmt.Errorf("order %q is unknown to Dolyami: %w", n.ID, err)))
	}
	if err != nil {
		// Dolyami could not be asked: answer an error so it sends again.
		return nil, wrap(Dolyami, "notification", err)
	}
	s := dolyamiState(n.ID, info)
	return &Notification{
		Ref: s.Ref, Reference: s.Ref, Stage: s.Stage, AmountMinor: info.Amount, Currency: "RUB",
		ProviderStatus: info.Status, ReceiverOK: true,
		EventID: "dolyami:" + n.ID + ":" + n.Status + ":" + strconv.FormatInt(n.Amount, 10) + ":" + strconv.FormatInt(n.ResidualAmount, 10),
		Reason:  s.Reason, Reply: []byte{}, ReplyType: "text/plain; charset=utf-8", Raw: string(body),
	}, nil
}

// Test reads an order that does not exist: Dolyami checks the login and
// password first, so "no such order" means they are right.
func (g *dolyamiGateway) Test(ctx context.Context) (string, error) {
	_, err := g.c.Info(ctx, "orderdesk-connection-test")
	var de *dolyami.Error
	switch {
	case err == nil:
		return "Dolyami accepted the login and password (an order lookup answered).", nil
	case errors.As(err, &de) && de.HTTPStatus == http.StatusNotFound:
		return "Dolyami accepted the login and password (a lookup of a test order answered: no such order).", nil
	}
	return "", wrap(Dolyami, "test", err)
}

// dolyamiOrderParam is the query parameter of the notification_url that
// names our order (= the Dolyami order id), as public integrations add it,
// so that a notification whose body lacks the id still finds its payment.
const dolyamiOrderParam = "order_id"

// dolyamiNotifyURL is the shop's webhook URL with the order id added to its
// query (an URL that does not parse is left as it is: Dolyami refuses it).
func dolyamiNotifyURL(notifyURL, reference string) string {
	u, err := url.Parse(notifyURL)
	if err != nil || notifyURL == "" || reference == "" {
		return notifyURL
	}
	q := u.Query()
	q.Set(dolyamiOrderParam, reference)
	u.RawQuery = q.Encode()
	return u.String()
}
