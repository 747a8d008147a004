package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"orderdesk/model"
	"orderdesk/providers/gateway"
	"orderdesk/providers/paypal"
	"orderdesk/services/payments"
	"orderdesk/views"
	"orderdesk/views/locales"
)

func paymentJSON(p *model.Payment) map[string]any {
	return map[string]any{
		"id": p.ID, "payment_number": p.Number, "order_id": p.OrderID, "order_number": p.OrderNumber, "provider": p.Provider,
		"mode": p.Mode, "status": p.Status, "amount": model.FormatAmount(p.Amount), "currency": p.Currency,
		"refunded_amount": model.FormatAmount(p.RefundedAmount), "transaction_id": nullString(p.ProviderRef),
		"paid_at": nullTime(p.PaidAt), "created_at": p.CreatedAt.UTC().Format(time.RFC3339), "failure_reason": nullString(p.FailureReason),
	}
}

func refundJSON(r *model.Refund) map[string]any {
	return map[string]any{
		"id": r.ID, "refund_number": r.Number, "payment_number": r.PaymentNumber, "order_id": r.OrderID, "amount": model.FormatAmount(r.Amount),
		"currency": r.Currency, "status": r.Status, "reason": r.Reason, "error": nullString(r.Error),
	}
}

// sessPlacedOrders keeps, in the shopper's server-side session, the orders this
// session placed: seed 001 pays an order by its id right after placing it, from
// the same session, without signing in.
const sessPlacedOrders = "placed_orders"

// maxPlacedOrders bounds that list: a session places a handful of orders.
const maxPlacedOrders = 20

// rememberPlacedOrder notes that this session placed the order.
func (a *App) rememberPlacedOrder(c echo.Context, orderID int64) {
	ctx := c.Request().Context()
	ids, _ := a.sessions.Get(ctx, sessPlacedOrders).([]int64)
	ids = append(ids, orderID)
	if len(ids) > maxPlacedOrders {
		ids = ids[len(ids)-maxPlacedOrders:]
	}
	a.sessions.Put(ctx, sessTenantID, tenant(c).ID)
	a.sessions.Put(ctx, sessPlacedOrders, ids)
}

// placedHere reports whether this session placed the order.
func (a *App) placedHere(c echo.Context, orderID int64) bool {
	ctx := c.Request().Context()
	if a.sessions.GetInt64(ctx, sessTenantID) != tenant(c).ID {
		return false
	}
	ids, _ := a.sessions.Get(ctx, sessPlacedOrders).([]int64)
	return slices.Contains(ids, orderID)
}

// mayPay reports whether the request may see and pay the order: staff of the
// shop, the signed-in customer who owns it, the session that placed it, or
// whoever knows its order number (the unguessable tracking key).
func (a *App) mayPay(c echo.Context, o *model.Order, orderNumber string) (bool, error) {
	if u, err := a.loadUser(c); err != nil {
		return false, err
	} else if u != nil {
		return true, nil
	}
	cu, err := a.currentCustomer(c)
	if err != nil {
		return false, err
	}
	switch {
	case cu != nil && o.CustomerID == cu.ID:
		return true, nil
	case a.placedHere(c, o.ID):
		return true, nil
	case orderNumber != "" && strings.EqualFold(strings.TrimSpace(orderNumber), o.Number):
		return true, nil
	}
	return false, nil
}

// errNotYourOrder is the answer for an order the request may not pay: the same
// 404 as an order that does not exist, saying what would do.
var errNotYourOrder = echo.NewHTTPError(http.StatusNotFound,
	"No such order to pay here: pay from the session that placed it, sign in as its customer, or send its order_number.")

// paymentOrder finds the order a payment request is about and checks that the
// request may pay it.
func (a *App) paymentOrder(c echo.Context, orderID int64, orderNumber string) (*model.Order, error) {
	ctx := c.Request().Context()
	t := tenant(c)
	var o *model.Order
	var err error
	switch {
	case orderID != 0:
		o, err = a.store.FindOrderByID(ctx, t.ID, orderID)
	case orderNumber != "":
		o, err = a.store.FindOrderByNumber(ctx, t.ID, strings.TrimSpace(orderNumber))
	default:
		return nil, &model.ValidationError{Fields: map[string]string{"order_id": "give the order's id (or its order_number)"}}
	}
	if errors.Is(err, model.ErrNotFound) {
		return nil, errNotYourOrder
	} else if err != nil {
		return nil, err
	}
	if orderID != 0 && orderNumber != "" && !strings.EqualFold(strings.TrimSpace(orderNumber), o.Number) {
		return nil, errNotYourOrder
	}
	ok, err := a.mayPay(c, o, orderNumber)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errNotYourOrder
	}
	return o, nil
}

// APIPaymentCreate starts a payment: POST /api/payments/create/
// {order_id, provider, customer_info} (seed 001), or order_number instead of
// order_id for a guest in another session. The answer has payment_url and
// transaction_id.
func (a *App) APIPaymentCreate(c echo.Context) error {
	var req struct {
		OrderID      flexID `json:"order_id"`
		OrderNumber  string `json:"order_number"`
		Provider     string `json:"provider"`
		CustomerInfo struct {
			Email string `json:"email"`
			Name  string `json:"name"`
			Phone string `json:"phone"`
		} `json:"customer_info"`
	}
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	provider := model.ProviderType(req.Provider)
	if !provider.IsPayment() {
		return &model.ValidationError{Fields: map[string]string{"provider": "choose one of kuveyt, tinkoff, dolyami, yandexpay, paypal"}}
	}
	o, err := a.paymentOrder(c, int64(req.OrderID), req.OrderNumber)
	if err != nil {
		return err
	}
	p, err := a.pay.Start(c.Request().Context(), tenant(c), payments.StartInput{OrderID: o.ID, Provider: provider, ClientIP: clientIP(c),
		Customer: gateway.Customer{Email: req.CustomerInfo.Email, Name: req.CustomerInfo.Name, Phone: req.CustomerInfo.Phone}})
	if err != nil {
		return err
	}
	return ok(c, http.StatusCreated, apiMsg(c, "api.payment.created"), map[string]any{"payment": paymentJSON(p), "payment_url": p.PaymentURL, "transaction_id": p.ProviderRef})
}

// paymentOptions are the payment methods the shop offers now: its payment
// integrations in test or live mode whose settings work and that take the
// shop's currency.
func (a *App) paymentOptions(c echo.Context) ([]views.PaymentOption, error) {
	ctx := c.Request().Context()
	list, err := a.store.FindIntegrations(ctx, tenant(c).ID)
	if err != nil {
		return nil, err
	}
	var out []views.PaymentOption
	seen := map[model.ProviderType]bool{}
	for _, i := range list {
		if seen[i.Provider] || !a.pay.Usable(ctx, tenant(c), i) {
			continue
		}
		seen[i.Provider] = true
		info, _ := i.Provider.Info()
		out = append(out, views.PaymentOption{Provider: string(i.Provider), Label: info.Label, Test: i.Status == model.IntegrationTest})
	}
	return out, nil
}

// APIPaymentVerify asks the provider for a payment's state and applies it:
// POST /api/payments/verify/ {transaction_id, provider}. The caller's word is
// never taken for the state, and only whoever may see the order (the session
// that placed it, its signed-in customer, staff) learns anything: others get
// the same 404 as for an unknown id.
func (a *App) APIPaymentVerify(c echo.Context) error {
	var req struct {
		TransactionID string `json:"transaction_id"`
		Provider      string `json:"provider"`
		OrderNumber   string `json:"order_number"`
	}
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	t := tenant(c)
	notFound := echo.NewHTTPError(http.StatusNotFound, apiMsg(c, "api.payment.not_found"))
	p, err := a.pay.FindForVerify(ctx, t, model.ProviderType(req.Provider), strings.TrimSpace(req.TransactionID))
	if errors.Is(err, model.ErrNotFound) {
		return notFound
	} else if err != nil {
		return err
	}
	o, err := a.store.FindOrderByID(ctx, t.ID, p.OrderID)
	if err != nil {
		return err
	}
	if may, err := a.mayPay(c, o, req.OrderNumber); err != nil {
		return err
	} else if !may {
		return notFound
	}
	if p, err = a.pay.Refresh(ctx, t, p); err != nil {
		return err
	}
	message := apiMsg(c, "api.payment.state", map[string]any{"Status": p.Status.Label(shopLang(c))})
	if p.Status == model.PaymentCompleted {
		message = apiMsg(c, "api.payment.verified")
	}
	return ok(c, http.StatusOK, message, map[string]any{"payment": paymentJSON(p)})
}

// APIPaymentRefund refunds a payment (owners and admins): POST
// /api/payments/{id}/refund/ {amount} (empty: all that is left).
func (a *App) APIPaymentRefund(c echo.Context) error {
	var req struct {
		Amount string `json:"amount"`
	}
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return model.ErrNotFound
	}
	amount, err := parseRefundAmount(req.Amount)
	if err != nil {
		return err
	}
	r, err := a.pay.Refund(c.Request().Context(), tenant(c), id, amount, model.StaffActor(currentUser(c)))
	if err != nil {
		return err
	}
	return ok(c, http.StatusOK, "Refunded "+model.FormatMoney(r.Amount, r.Currency)+".", map[string]any{"refund": refundJSON(r)})
}

// parseRefundAmount reads an amount like 12.50; empty means all that is left.
func parseRefundAmount(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	v, ok := model.ParseAmount(s)
	if !ok || v <= 0 {
		return 0, &model.ValidationError{Fields: map[string]string{"amount": "give the amount like 12.50, or leave it empty for all that is left"}}
	}
	return v, nil
}

// APIPayments lists payments (staff): GET /api/payments/?order_id=&status=&provider=.
func (a *App) APIPayments(c echo.Context) error {
	f := model.PaymentFilter{Status: model.PaymentStatus(c.QueryParam("status")), Provider: model.ProviderType(c.QueryParam("provider"))}
	if s := c.QueryParam("order_id"); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return &model.ValidationError{Fields: map[string]string{"order_id": "give the order's id"}}
		}
		f.OrderID = id
	}
	if f.Status != "" && !f.Status.Valid() {
		return &model.ValidationError{Fields: map[string]string{"status": "unknown payment status"}}
	}
	list, err := a.store.FindPayments(c.Request().Context(), tenant(c).ID, f)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(list))
	for _, p := range list {
		out = append(out, paymentJSON(p))
	}
	return ok(c, http.StatusOK, "", map[string]any{"payments": out})
}

// PaymentReturn is where the customer comes back from the provider: it shows the
// payment's real state, asking the provider when it is not final yet.
func (a *App) PaymentReturn(c echo.Context) error {
	ctx := c.Request().Context()
	t := tenant(c)
	p, err := a.store.FindPaymentByNumber(ctx, t.ID, c.Param("number"))
	if err != nil {
		return err
	}
	if p.Open() {
		// The page still shows what we know when the provider cannot be asked.
		if fresh, err := a.pay.Refresh(ctx, t, p); err != nil {
			a.log.Warn("payment return: provider not asked", "payment", p.Number, "err", err)
		} else {
			p = fresh
		}
	}
	o, err := a.store.FindOrderByID(ctx, t.ID, p.OrderID)
	if err != nil {
		return err
	}
	return a.renderPaymentReturn(c, p, o)
}

// PaymentsIndex is /admin/payments: the review queue, the list with filters.
func (a *App) PaymentsIndex(c echo.Context) error {
	l, err := a.paymentsList(c)
	if err != nil {
		return err
	}
	p := a.page(c, "Payments", views.SectionPayments)
	return a.render(c, http.StatusOK, p, views.Payments(p, l))
}

func (a *App) paymentsList(c echo.Context) (views.PaymentsList, error) {
	ctx := c.Request().Context()
	t := tenant(c)
	l := views.PaymentsList{Filter: views.PaymentsFilterForm{Order: c.QueryParam("order"), Status: c.QueryParam("status"), Provider: c.QueryParam("provider")}}
	f := model.PaymentFilter{Status: model.PaymentStatus(l.Filter.Status), Provider: model.ProviderType(l.Filter.Provider)}
	if o := strings.TrimSpace(l.Filter.Order); o != "" {
		if id, err := strconv.ParseInt(o, 10, 64); err == nil {
			f.OrderID = id
		} else if ord, err := a.store.FindOrderByNumber(ctx, t.ID, o); err == nil {
			f.OrderID = ord.ID
		} else {
			f.OrderID = -1
		}
	}
	var err error
	if l.Payments, err = a.store.FindPayments(ctx, t.ID, f); err != nil {
		return l, err
	}
	// ?reviews=open: the dashboard's "payments to review".
	l.Reviews, err = a.store.FindPaymentReviews(ctx, t.ID, c.QueryParam("reviews") == "open", 50)
	return l, err
}

// PaymentShow is one payment with every raw event received and call made.
func (a *App) PaymentShow(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return model.ErrNotFound
	}
	pay, err := a.store.FindPaymentByID(c.Request().Context(), tenant(c).ID, id)
	if err != nil {
		return err
	}
	events, err := a.store.FindPaymentEvents(c.Request().Context(), tenant(c).ID, id)
	if err != nil {
		return err
	}
	p := a.page(c, "Payment "+pay.Number, views.SectionPayments)
	return a.render(c, http.StatusOK, p, views.PaymentPage(p, pay, events))
}

// PaymentRefund refunds a payment in full or in part from the order page. The
// first post shows what will be refunded and asks to confirm it; the confirmed
// post (confirm=1) has the provider make it.
func (a *App) PaymentRefund(c echo.Context) error {
	ctx := c.Request().Context()
	t := tenant(c)
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return model.ErrNotFound
	}
	pay, err := a.store.FindPaymentByID(ctx, t.ID, id)
	if err != nil {
		return err
	}
	amount, err := parseRefundAmount(c.FormValue("amount"))
	if err != nil {
		return a.refundAmountRefused(c, pay, deskTr(c, "desk.refund.error_format"))
	}
	if c.FormValue("confirm") != "1" {
		left := pay.Amount - pay.RefundedAmount
		if amount == 0 {
			amount = left
		}
		if amount > left || left <= 0 {
			return a.refundAmountRefused(c, pay, deskTr(c, "desk.refund.error_over", map[string]any{"Left": locales.Money(requestLang(c), left, pay.Currency)}))
		}
		return a.orderPayments(c, pay.OrderID, http.StatusOK, "", &views.RefundConfirm{PaymentID: pay.ID, PaymentNumber: pay.Number,
			Amount: amount, Of: pay.Amount, Currency: pay.Currency})
	}
	if _, err := a.pay.Refund(ctx, t, pay.ID, amount, model.StaffActor(currentUser(c))); err != nil {
		return a.refundRefused(c, pay.OrderID, err)
	}
	return a.redirect(c, "/admin/orders/"+strconv.FormatInt(pay.OrderID, 10))
}

// OrderRefund refunds all the order's money (the order page's "Refunded"
// choice), after the confirmation that OrderTransition shows.
func (a *App) OrderRefund(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return model.ErrNotFound
	}
	if c.FormValue("confirm") != "1" {
		return a.confirmOrderRefund(c, id)
	}
	if _, err := a.pay.RefundOrder(c.Request().Context(), tenant(c), id, model.StaffActor(currentUser(c))); err != nil {
		return a.refundRefused(c, id, err)
	}
	return a.redirect(c, "/admin/orders/"+strconv.FormatInt(id, 10))
}

// confirmOrderRefund asks to confirm refunding all the order's money.
func (a *App) confirmOrderRefund(c echo.Context, orderID int64) error {
	list, err := a.store.FindPayments(c.Request().Context(), tenant(c).ID, model.PaymentFilter{OrderID: orderID})
	if err != nil {
		return err
	}
	conf := &views.RefundConfirm{}
	for _, p := range list {
		if p.Status == model.PaymentCompleted || p.Status == model.PaymentPartiallyRefunded {
			conf.Amount += p.Amount - p.RefundedAmount
			conf.Of += p.Amount
			conf.Currency = p.Currency
		}
	}
	if conf.Amount <= 0 {
		return a.orderPayments(c, orderID, http.StatusConflict, "This order has no money left to refund.", nil)
	}
	return a.orderPayments(c, orderID, http.StatusOK, "", conf)
}

// refundRefused shows why a refund was not made, on the order page.
func (a *App) refundRefused(c echo.Context, orderID int64, err error) error {
	status, msg, fields := statusOf(err)
	if status >= 500 {
		return err
	}
	if fields["amount"] != "" {
		msg = "Refund amount: " + fields["amount"] + "."
	}
	return a.orderPayments(c, orderID, status, msg, nil)
}

// orderPayments answers a refund step on the order page: htmx gets the
// payments block (200: htmx swaps only successes), a plain form the whole page.
func (a *App) orderPayments(c echo.Context, orderID int64, status int, msg string, conf *views.RefundConfirm) error {
	c.SetParamNames("id")
	c.SetParamValues(strconv.FormatInt(orderID, 10))
	d, err := a.orderDetail(c)
	if err != nil {
		return err
	}
	d.PaymentError, d.RefundConfirm = msg, conf
	p := a.page(c, "Order "+d.Order.Number, views.SectionOrders)
	if isFragment(c) {
		// The refund form swaps the payments block; the status form (its
		// "Refunded" choice) swaps the whole order detail.
		if c.Request().Header.Get("HX-Target") == views.OrderPaymentsID {
			return a.renderComponent(c, http.StatusOK, views.OrderPaymentsPart(p, d))
		}
		return a.renderComponent(c, http.StatusOK, views.OrderDetailPart(p, d))
	}
	return a.render(c, status, p, views.OrderPage(p, d))
}

// PaymentReviewResolve records a person's decision on a review; "refunded"
// has the provider refund what is left of the payment first.
func (a *App) PaymentReviewResolve(c echo.Context) error {
	ctx := c.Request().Context()
	t := tenant(c)
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return model.ErrNotFound
	}
	r, err := a.store.FindPaymentReview(ctx, t.ID, id)
	if err != nil {
		return err
	}
	resolution := c.FormValue("resolution")
	actor := model.StaffActor(currentUser(c))
	if resolution == "refunded" && r.PaymentID != 0 {
		if _, err := a.pay.RefundReviewed(ctx, t, r.PaymentID, actor); err != nil {
			status, msg, _ := statusOf(err)
			if status >= 500 {
				return err
			}
			l, lerr := a.paymentsList(c)
			if lerr != nil {
				return lerr
			}
			l.Error = msg
			p := a.page(c, "Payments", views.SectionPayments)
			return a.render(c, status, p, views.Payments(p, l))
		}
	}
	if err := a.store.ResolvePaymentReview(ctx, t, id, currentUser(c), resolution); err != nil {
		return err
	}
	return a.redirect(c, "/admin/payments")
}

// PaymentsReconcile compares a provider's CSV of settled payments with ours
// (fecshop's second verification): missing on either side, or amount or currency
// differing.
func (a *App) PaymentsReconcile(c echo.Context) error {
	ctx := c.Request().Context()
	l, err := a.paymentsList(c)
	if err != nil {
		return err
	}
	p := a.page(c, "Payments", views.SectionPayments)
	fh, err := c.FormFile("csv")
	if err != nil {
		l.Error = "Choose the CSV file to compare."
		return a.render(c, statusInvalid, p, views.Payments(p, l))
	}
	f, err := fh.Open()
	if err != nil {
		return err
	}
	rows, err := paypal.ParseSettlementCSV(f)
	// The upload was read to its end or refused; a failed close of it (a
	// temporary file) is ours, not the file's.
	if cerr := f.Close(); cerr != nil {
		return fmt.Errorf("close the uploaded settlement file: %w", cerr)
	}
	if err != nil {
		l.Error = "The file could not be read as a settlement CSV: " + err.Error()
		return a.render(c, statusInvalid, p, views.Payments(p, l))
	}
	// Every PayPal payment: a payment left out would be reported as "not ours".
	ours, err := a.store.FindPayments(ctx, tenant(c).ID, model.PaymentFilter{Provider: model.ProviderPayPal, Limit: 100_000})
	if err != nil {
		return err
	}
	l.Reconcile = reconcile(rows, ours)
	return a.render(c, http.StatusOK, p, views.Payments(p, l))
}

// reconcile matches settlement rows to our payments by transaction id or by our
// payment number (the invoice).
func reconcile(rows []paypal.Settlement, ours []*model.Payment) *views.ReconcileResult {
	res := &views.ReconcileResult{Rows: len(rows)}
	byRef := map[string]*model.Payment{}
	for _, p := range ours {
		if p.ProviderRef != "" {
			byRef[p.ProviderRef] = p
		}
		byRef[p.Number] = p
	}
	seen := map[int64]bool{}
	for _, r := range rows {
		if r.GrossMinor < 0 {
			continue // refund rows
		}
		p := byRef[r.TxnID]
		if p == nil && r.Invoice != "" {
			p = byRef[r.Invoice]
		}
		ref := r.TxnID
		switch {
		case p == nil:
			res.Mismatches = append(res.Mismatches, views.ReconcileMismatch{Reference: ref, Problem: "settled by PayPal (" + model.FormatMoney(r.GrossMinor, r.Currency) + ") but not a payment of this shop"})
		case r.GrossMinor != p.Amount:
			seen[p.ID] = true
			res.Mismatches = append(res.Mismatches, views.ReconcileMismatch{Reference: p.Number, Problem: "amount differs: PayPal " + model.FormatMoney(r.GrossMinor, r.Currency) + ", ours " + model.FormatMoney(p.Amount, p.Currency)})
		case !strings.EqualFold(r.Currency, p.Currency):
			seen[p.ID] = true
			res.Mismatches = append(res.Mismatches, views.ReconcileMismatch{Reference: p.Number, Problem: "currency differs: PayPal " + r.Currency + ", ours " + p.Currency})
		default:
			seen[p.ID] = true
			res.Matched++
		}
	}
	for _, p := range ours {
		if (p.Status == model.PaymentCompleted || p.Status == model.PaymentPartiallyRefunded) && !seen[p.ID] {
			res.Mismatches = append(res.Mismatches, views.ReconcileMismatch{Reference: p.Number, Problem: "completed here but missing from the settlement file"})
		}
	}
	return res
}
