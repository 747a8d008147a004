package handlers

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"orderdesk/model"
	"orderdesk/providers/gateway"
	"orderdesk/providers/paypal"
	"orderdesk/views"
)

func paymentJSON(p *model.Payment) map[string]any {
	return map[string]any{
		"id": p.ID, "payment_number": p.Number, "order_id": p.OrderID, "order_number": p.OrderNumber, "provider": p.Provider,
		"mode": p.Mode, "status": p.Status, "amount": model.FormatAmount(p.Amount), "currency": p.Currency,
		"refunded_amount": model.FormatAmount(p.RefundedAmount), "transaction_id": nullString(p.ProviderRef),
		"paid_at": nullTime(p.PaidAt), "created_at": p.CreatedAt.UTC().Format(time.RFC3339), "failure_reason": nullString(p.FailureReason),
	}
}

// shopBase is the shop's address as the customer's browser knows it: the return
// pages must be on the tenant's host, where the shopper's cookies are.
func shopBase(c echo.Context) string {
	return c.Scheme() + "://" + c.Request().Host
}

// paymentOrder finds the order a payment request is about: staff may pay any
// order of the tenant, a customer only their own, a guest by its number.
func (a *App) paymentOrder(c echo.Context, orderID int64, orderNumber string) (*model.Order, error) {
	ctx := c.Request().Context()
	t := tenant(c)
	if u, _ := a.loadUser(c); u != nil {
		return a.store.FindOrderByID(ctx, t.ID, orderID)
	}
	if cu, _ := a.currentCustomer(c); cu != nil && orderID != 0 {
		return a.store.FindCustomerOrder(ctx, t.ID, cu.ID, orderID)
	}
	// A guest knows their order by its number: unguessable, the tracking key.
	if orderNumber != "" {
		o, err := a.store.FindOrderByNumber(ctx, t.ID, orderNumber)
		if err == nil && (orderID == 0 || o.ID == orderID) {
			return o, nil
		}
	}
	return nil, model.ErrNotFound
}

// APIPaymentCreate starts a payment: POST /api/payments/create/
// {order_id, provider, customer_info}. The answer has payment_url and
// transaction_id (seed 001).
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
	cust := gateway.Customer{Email: req.CustomerInfo.Email, Name: req.CustomerInfo.Name, Phone: req.CustomerInfo.Phone}
	p, err := a.beginPayment(c, o.ID, provider, cust)
	if err != nil {
		return err
	}
	return ok(c, http.StatusCreated, "The payment was created.", map[string]any{"payment": paymentJSON(p), "payment_url": p.PaymentURL, "transaction_id": p.ProviderRef})
}

// beginPayment starts a payment of an order and returns it with the address the
// customer's browser goes to. Kuveyt takes the card on the shop's own page first.
func (a *App) beginPayment(c echo.Context, orderID int64, provider model.ProviderType, cust gateway.Customer) (*model.Payment, error) {
	ctx := c.Request().Context()
	if provider == model.ProviderKuveyt {
		in, err := a.store.UsableIntegration(ctx, tenant(c).ID, provider)
		if err != nil {
			return nil, &model.ConflictError{Msg: "The shop does not accept kuveyt payments: it has no integration for it in test or live mode."}
		}
		if err := a.integrations.Ready(ctx, in); err != nil {
			return nil, err // misconfigured: a 409 in words, and no payment row
		}
		p, err := a.store.NewPayment(ctx, tenant(c), orderID, in)
		if err != nil {
			return nil, err
		}
		p.PaymentURL, p.ProviderRef = shopBase(c)+"/pay/kuveyt/"+p.Number, p.Number
		return p, a.store.AttachProviderPayment(ctx, tenant(c).ID, p.ID, p.ProviderRef, p.PaymentURL)
	}
	p, _, err := a.StartPayment(ctx, tenant(c), orderID, provider, shopBase(c), cust, nil, clientIP(c))
	return p, err
}

// paymentOptions are the payment methods the tenant offers now: its payment
// integrations in test or live mode whose settings can be used.
func (a *App) paymentOptions(c echo.Context) ([]views.PaymentOption, error) {
	ctx, t := c.Request().Context(), tenant(c)
	list, err := a.store.FindIntegrations(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	var out []views.PaymentOption
	seen := map[model.ProviderType]bool{}
	for _, i := range list {
		// Only methods that take the shop's currency (T-Bank takes roubles only).
		if !i.Provider.IsPayment() || seen[i.Provider] || !gateway.Accepts(string(i.Provider), t.Currency) {
			continue
		}
		seen[i.Provider] = true
		// The integration a payment would go through (the live one first), and
		// only when its settings can be used: a misconfigured integration is
		// never offered to a customer.
		in, err := a.store.UsableIntegration(ctx, t.ID, i.Provider)
		if errors.Is(err, model.ErrNotFound) {
			continue
		} else if err != nil {
			return nil, err
		}
		if err := a.integrations.Ready(ctx, in); errors.Is(err, model.ErrConflict) {
			continue
		} else if err != nil {
			return nil, err
		}
		info, _ := in.Provider.Info()
		out = append(out, views.PaymentOption{Provider: string(in.Provider), Label: info.Label, Test: in.Status == model.IntegrationTest})
	}
	return out, nil
}

// APIPaymentVerify asks the provider for a payment's state and applies it:
// POST /api/payments/verify/ {transaction_id, provider}. The caller's word is never
// taken for the state.
func (a *App) APIPaymentVerify(c echo.Context) error {
	var req struct {
		TransactionID string `json:"transaction_id"`
		Provider      string `json:"provider"`
	}
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	t := tenant(c)
	in, err := a.store.UsableIntegration(ctx, t.ID, model.ProviderType(req.Provider))
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound, "No such payment.")
	}
	p, err := a.store.FindPaymentForNotification(ctx, in, req.TransactionID, req.TransactionID)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound, "No such payment.")
	}
	if p, err = a.RefreshPayment(ctx, t, p); err != nil {
		return err
	}
	msg := "The payment is " + string(p.Status) + "."
	if p.Status == model.PaymentCompleted {
		msg = "The payment was verified and completed."
	}
	return ok(c, http.StatusOK, msg, map[string]any{"payment": paymentJSON(p)})
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
		if fresh, err := a.RefreshPayment(ctx, t, p); err == nil {
			p = fresh
		}
	}
	o, err := a.store.FindOrderByID(ctx, t.ID, p.OrderID)
	if err != nil {
		return err
	}
	p2 := a.page(c, "Payment", "")
	return a.render(c, http.StatusOK, p2, views.PaymentReturn(p2, p, o))
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
	l.Reviews, err = a.store.FindPaymentReviews(ctx, t.ID, false, 50)
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

// PaymentRefund refunds a payment in full or in part from the order page.
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
	var amount int64
	if s := strings.TrimSpace(c.FormValue("amount")); s != "" {
		v, ok := model.ParseAmount(s)
		if !ok {
			return a.orderWithPaymentError(c, pay.OrderID, "Give the amount like 12.50.")
		}
		amount = v
	}
	if err := a.RefundPayment(ctx, t, pay, amount, model.StaffActor(currentUser(c))); err != nil {
		status, msg, fields := statusOf(err)
		if status >= 500 {
			return err
		}
		if fields["amount"] != "" {
			msg = "Refund amount: " + fields["amount"] + "."
		}
		return a.orderWithPaymentError(c, pay.OrderID, msg)
	}
	return a.redirect(c, "/admin/orders/"+strconv.FormatInt(pay.OrderID, 10))
}

// orderWithPaymentError shows the order page with a refused payment action.
func (a *App) orderWithPaymentError(c echo.Context, orderID int64, msg string) error {
	c.SetParamNames("id")
	c.SetParamValues(strconv.FormatInt(orderID, 10))
	d, err := a.orderDetail(c)
	if err != nil {
		return err
	}
	d.PaymentError = msg
	p := a.page(c, "Order "+d.Order.Number, views.SectionOrders)
	return a.render(c, http.StatusConflict, p, views.OrderPage(p, d))
}

// PaymentReviewResolve records a person's decision on a review.
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
	if resolution == "refunded" && r.PaymentID != 0 {
		pay, err := a.store.FindPaymentByID(ctx, t.ID, r.PaymentID)
		if err != nil {
			return err
		}
		if pay.Status == model.PaymentSuspectedFraud {
			// Money under review was received: accept it first, then give it back.
			if _, err := a.store.ApplyPayment(ctx, t, pay.ID, model.Observation{Stage: model.PaymentCompleted, Actor: model.StaffActor(currentUser(c))}); err != nil {
				return err
			}
			pay, _ = a.store.FindPaymentByID(ctx, t.ID, r.PaymentID)
		}
		if pay.Status == model.PaymentCompleted || pay.Status == model.PaymentPartiallyRefunded {
			if err := a.RefundPayment(ctx, t, pay, 0, model.StaffActor(currentUser(c))); err != nil {
				l, lerr := a.paymentsList(c)
				if lerr != nil {
					return lerr
				}
				_, l.Error, _ = statusOf(err)
				p := a.page(c, "Payments", views.SectionPayments)
				return a.render(c, http.StatusConflict, p, views.Payments(p, l))
			}
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
		return a.render(c, http.StatusUnprocessableEntity, p, views.Payments(p, l))
	}
	f, err := fh.Open()
	if err != nil {
		return err
	}
	defer f.Close()
	rows, err := paypal.ParseSettlementCSV(f)
	if err != nil {
		l.Error = "The file could not be read as a settlement CSV: " + err.Error()
		return a.render(c, http.StatusUnprocessableEntity, p, views.Payments(p, l))
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
