package handlers

import (
	"encoding/csv"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"orderdesk/model"
	"orderdesk/views"
)

// deskFormParams are what the desk's bulk forms post beside the filters they
// carry along.
var deskFormParams = []string{"_csrf", "ids", "to", "confirm"}

// ordersList loads what the desk shows for the request's filters. A parameter
// the list does not take lists no orders and says so: staff would otherwise
// read every order as a match of what they asked.
func (a *App) ordersList(c echo.Context) (views.OrdersList, error) {
	t := tenant(c)
	q := c.QueryParams()
	if c.Request().Method == http.MethodPost {
		// A bulk change posts the filters along, to list the same view after it.
		form, err := c.FormParams()
		if err != nil {
			return views.OrdersList{}, echo.NewHTTPError(http.StatusBadRequest, "The form could not be read.")
		}
		q = url.Values{}
		for k, v := range form {
			if !slices.Contains(deskFormParams, k) {
				q[k] = v
			}
		}
	}
	l := views.OrdersList{Query: url.Values{}, Lang: t.Language, Loc: t.Location(), Unknown: unknownOrderParams(q)}
	for k, v := range q {
		if slices.Contains(orderFilterParams, k) {
			l.Query[k] = v
		}
	}
	f, err := orderFilterFromQuery(c, q)
	var ve *model.ValidationError
	if errors.As(err, &ve) {
		// Bad filters are shown by their fields; the rest of the filters still apply.
		l.Errors = ve.Fields
	} else if err != nil {
		return l, err
	}
	l.Filter = f
	ctx := c.Request().Context()
	desk, err := a.store.FindOrderDesk(ctx, t.ID, f)
	if errors.As(err, &ve) {
		l.Errors = ve.Fields
		f.After = ""
		desk, err = a.store.FindOrderDesk(ctx, t.ID, f)
	}
	if err != nil {
		return l, err
	}
	if len(l.Unknown) == 0 {
		page := desk.Page
		l.Orders, l.Next = page.Orders, page.Next
		l.Offset, l.Prev, l.HasPrev = page.Offset, page.Prev, page.HasPrev
	}
	l.Counts, l.ReadyCount = desk.Counts, desk.Ready
	// The counts are of the filters but the status (for the tabs): the
	// list's own total is its status's, or all of them.
	l.Total = l.AllCount()
	if f.Status != "" {
		l.Total = l.Counts[f.Status]
	}
	return l, nil
}

// OrdersIndex is the order desk. htmx filter changes get only the results part.
func (a *App) OrdersIndex(c echo.Context) error {
	l, err := a.ordersList(c)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if len(l.Unknown) > 0 && !isFragment(c) {
		// htmx swaps only 2xx answers; a whole page says it was refused.
		status = statusInvalid
	}
	p := a.page(c, deskTr(c, "desk.title"), views.SectionOrders)
	return a.renderParts(c, status, p, views.Orders(p, l), views.OrdersResults(p, l))
}

// bulkNeedsConfirm are the bulk changes that cannot be undone: the desk asks
// to confirm them and the server refuses them without the confirmation
// (confirm=yes), so that a script or a page without JavaScript asks too.
var bulkNeedsConfirm = []model.OrderStatus{model.OrderCancelled}

// OrdersBulk changes the status of the selected orders, each through the
// transition table, and says which succeeded and which were refused and why.
// A cancellation is first shown for confirmation and made only when confirmed.
func (a *App) OrdersBulk(c echo.Context) error {
	ctx := c.Request().Context()
	t := tenant(c)
	to := model.OrderStatus(c.FormValue("to"))
	form, err := c.FormParams()
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "The form could not be read.")
	}
	var ids []int64
	for _, raw := range form["ids"] {
		if id, err := strconv.ParseInt(raw, 10, 64); err == nil && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	l, err := a.ordersList(c)
	if err != nil {
		return err
	}
	p := a.page(c, deskTr(c, "desk.title"), views.SectionOrders)
	switch {
	case len(ids) == 0:
		l.BulkNote = deskTr(c, "desk.bulk_none")
	case slices.Contains(bulkNeedsConfirm, to) && c.FormValue("confirm") != "yes":
		l.Confirm = &views.BulkConfirm{IDs: ids, To: to}
	default:
		var results []views.BulkResult
		changed := 0
		for _, id := range ids {
			o, err := a.store.FindOrderByID(ctx, t.ID, id)
			if errors.Is(err, model.ErrNotFound) {
				continue
			} else if err != nil {
				return err
			}
			_, err = a.store.TransitionOrder(ctx, t, id, to, model.StaffActor(currentUser(c)), model.TransitionInput{})
			r := views.BulkResult{Number: o.Number, OK: err == nil}
			if err != nil {
				code, reason, _ := statusOf(err)
				if code >= 500 {
					return err
				}
				r.Reason = reason
				var ve *model.ValidationError
				if errors.As(err, &ve) {
					r.Reason = ve.Error()
				}
			} else {
				changed++
			}
			results = append(results, r)
		}
		// The list is read again: the changed orders may have left this view.
		if l, err = a.ordersList(c); err != nil {
			return err
		}
		l.Bulk = results
		l.BulkNote = deskTrn(c, "desk.bulk_done", len(results), map[string]any{"Changed": changed, "Status": to.Label(requestLang(c))})
	}
	return a.renderParts(c, http.StatusOK, p, views.Orders(p, l), views.OrdersResults(p, l))
}

// exportHeader names the CSV export's columns. The first fourteen are those of
// the first exports, so that people's spreadsheets keep working; the address
// and the rest follow.
var exportHeader = []string{"order_number", "increment_id", "created_at", "status", "payment_status", "procurement_status",
	"customer_email", "first_name", "last_name", "country", "item_count", "total", "currency", "tracking_number",
	"phone", "street1", "street2", "city", "state", "zip", "shipping_method", "coupon_code", "tracking_carrier", "procurement_error"}

// exportRow is an order as a CSV row. Every cell that came from people
// (shoppers, staff) or from a provider goes through csvSafe; the others are
// ours (numbers, statuses, dates, amounts).
func exportRow(o *model.Order) []string {
	a := o.Address
	return []string{o.Number, strconv.FormatInt(o.IncrementID, 10), o.CreatedAt.UTC().Format("2006-01-02T15:04:05Z"),
		string(o.Status), string(o.PaymentStatus), string(o.ProcurementStatus),
		csvSafe(a.Email), csvSafe(a.FirstName), csvSafe(a.LastName), csvSafe(a.Country),
		strconv.Itoa(o.ItemCount), model.FormatAmount(o.Total), o.Currency, csvSafe(o.TrackingNumber),
		csvSafe(a.Telephone), csvSafe(a.Street1), csvSafe(a.Street2), csvSafe(a.City), csvSafe(a.State), csvSafe(a.Zip),
		csvSafe(o.ShippingName), csvSafe(o.CouponCode), csvSafe(o.TrackingCarrier), csvSafe(o.ProcurementError)}
}

// OrdersExport writes the filtered list as CSV, every page of it.
func (a *App) OrdersExport(c echo.Context) error {
	f, err := orderFilterFromQuery(c, c.QueryParams())
	if err != nil {
		return err
	}
	t := tenant(c)
	f.Limit, f.After = 500, ""
	h := c.Response().Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="orders-`+t.Slug+`.csv"`)
	c.Response().WriteHeader(http.StatusOK)
	w := csv.NewWriter(c.Response())
	if err := w.Write(exportHeader); err != nil {
		return err
	}
	for {
		page, err := a.store.FindOrders(c.Request().Context(), t.ID, f)
		if err != nil {
			// The header is out: the best we can do is end the file visibly.
			a.log.Error("orders export", "err", err)
			if werr := w.Write([]string{"# export stopped: " + err.Error()}); werr != nil {
				return werr
			}
			w.Flush()
			return w.Error()
		}
		for _, o := range page.Orders {
			if err := w.Write(exportRow(o)); err != nil {
				return err
			}
		}
		w.Flush()
		if page.Next == "" {
			return w.Error()
		}
		f.After = page.Next
	}
}

// csvSafe keeps a spreadsheet from reading text as a formula: a cell starting
// with = + - @ (or a tab or carriage return before one) is prefixed with an
// apostrophe, as OWASP's CSV injection advice says. A telephone number such as
// +90… gets it too; a spreadsheet shows it as text, which it is.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// orderDetail loads an order with its timeline.
func (a *App) orderDetail(c echo.Context) (views.OrderDetail, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return views.OrderDetail{}, model.ErrNotFound
	}
	t := tenant(c)
	r, err := a.store.FindOrderRecord(c.Request().Context(), t.ID, id)
	if err != nil {
		return views.OrderDetail{}, err
	}
	return views.OrderDetail{Order: r.View.Order, Events: r.Events, Lang: t.Language, Loc: t.Location(), Payments: r.Payments,
		Refunds: r.Refunds, Margin: r.View.Margin, OT: r.View.OT, CanRefund: can(c, model.ActionRefund), Shipment: r.Shipment,
		OTActivities: r.OTActivities, CanBuy: currentUser(c).Role.CanBuy(), BuysThroughOT: r.BuysThroughOT,
		ShippingCarrier: r.ShippingCarrier}, nil
}

// OrderShow is one order's page.
func (a *App) OrderShow(c echo.Context) error {
	d, err := a.orderDetail(c)
	if err != nil {
		return err
	}
	p := a.page(c, "Order "+d.Order.Number, views.SectionOrders)
	return a.renderParts(c, http.StatusOK, p, views.OrderPage(p, d), views.OrderDetailPart(p, d))
}

// OrderTransition changes an order's status from its page. A refused change
// comes back inline with what was typed; htmx gets the detail part with 200
// (htmx does not swap error answers), a plain form the whole page with the status.
func (a *App) OrderTransition(c echo.Context) error {
	d, err := a.orderDetail(c)
	if err != nil {
		return err
	}
	typed := map[string]string{"status": c.FormValue("status"), "tracking_number": c.FormValue("tracking_number"),
		"tracking_carrier": c.FormValue("tracking_carrier"), "note": c.FormValue("note")}
	if model.OrderStatus(typed["status"]) == model.OrderRefunded && can(c, model.ActionRefund) {
		// Refunded is where refunds lead: offer to refund all the order's
		// money, with a confirmation, instead of a status that moves none.
		return a.confirmOrderRefund(c, d.Order.ID)
	}
	_, err = a.store.TransitionOrder(c.Request().Context(), tenant(c), d.Order.ID, model.OrderStatus(typed["status"]),
		model.StaffActor(currentUser(c)), model.TransitionInput{TrackingNumber: typed["tracking_number"], TrackingCarrier: typed["tracking_carrier"], Note: typed["note"]})
	return a.afterOrderChange(c, err, typed)
}

// OrderNote adds an internal note to the order's timeline.
func (a *App) OrderNote(c echo.Context) error {
	d, err := a.orderDetail(c)
	if err != nil {
		return err
	}
	err = a.store.AddOrderNote(c.Request().Context(), tenant(c).ID, d.Order.ID, model.StaffActor(currentUser(c)), c.FormValue("note"))
	return a.afterOrderChange(c, err, nil)
}

// afterOrderChange answers a change made on the order page.
func (a *App) afterOrderChange(c echo.Context, changeErr error, typed map[string]string) error {
	status, msg, fields := http.StatusOK, "", views.FormErrors(nil)
	if changeErr != nil {
		status, msg, fields = statusOf(changeErr)
		if status >= 500 {
			return changeErr
		}
		if fields != nil {
			msg = "Please correct the fields below."
		}
	} else if !isFragment(c) {
		return a.redirect(c, "/admin/orders/"+c.Param("id"))
	}
	d, err := a.orderDetail(c)
	if err != nil {
		return err
	}
	d.Error, d.Errors = msg, fields
	if changeErr != nil {
		d.Typed = typed
	}
	p := a.page(c, "Order "+d.Order.Number, views.SectionOrders)
	if isFragment(c) {
		status = http.StatusOK
	}
	return a.renderParts(c, status, p, views.OrderPage(p, d), views.OrderDetailPart(p, d))
}

// OrderSettingsPage shows the tenant's order rules.
func (a *App) OrderSettingsPage(c echo.Context) error {
	p := a.page(c, pageT(c, "admin.settings.orders_title"), views.SectionSettings)
	return a.render(c, http.StatusOK, p, views.OrderSettings(p, views.OrderSettingsForm{Settings: tenant(c).OrderSettings, Saved: c.QueryParam("saved") == "1"}))
}

// OrderSettingsSave saves them; errors come back by the fields.
func (a *App) OrderSettingsSave(c echo.Context) error {
	o := tenant(c).OrderSettings
	num := func(name string) int { n, _ := strconv.Atoi(c.FormValue(name)); return n }
	o.UnpaidExpiryMinutes, o.UnpaidExpiryBatch = num("unpaid_expiry_minutes"), num("unpaid_expiry_batch")
	o.BonusEarnPercent, o.BonusMaxSharePercent = num("bonus_earn_percent"), num("bonus_max_share_percent")
	o.ZeroStock = c.FormValue("zero_stock") == "1"
	o.RefundOverpayments = c.FormValue("refund_overpayments") == "1"
	o.NotifyPurchased = c.FormValue("notify_purchased") == "1"
	start, _ := strconv.ParseInt(c.FormValue("order_increment_start"), 10, 64)
	o.OrderIncrementStart = start
	// "12.50" (the shop's currency per CNY) → millionths of a minor unit per fen.
	if minor, ok := model.ParseAmount(c.FormValue("cny_rate")); ok {
		o.CNYRateMicro = minor * 10_000
	} else {
		o.CNYRateMicro = 0
	}
	form, _ := c.FormParams()
	o.RequiredAddressFields = form["required"]
	err := a.store.UpdateOrderSettings(c.Request().Context(), tenant(c).ID, o)
	var ve *model.ValidationError
	if errors.As(err, &ve) {
		p := a.page(c, pageT(c, "admin.settings.orders_title"), views.SectionSettings)
		return a.render(c, statusInvalid, p, views.OrderSettings(p, views.OrderSettingsForm{Settings: o, Errors: ve.Fields}))
	}
	if err != nil {
		return err
	}
	return a.redirect(c, "/admin/settings/orders?saved=1")
}

// refundAmountRefused answers a refund form whose amount cannot be refunded:
// the error by the amount, with what was typed. htmx gets the payments block
// (200: htmx swaps only successes), a plain form the whole page with 422.
func (a *App) refundAmountRefused(c echo.Context, pay *model.Payment, msg string) error {
	c.SetParamNames("id")
	c.SetParamValues(strconv.FormatInt(pay.OrderID, 10))
	d, err := a.orderDetail(c)
	if err != nil {
		return err
	}
	d.RefundFor, d.RefundTyped, d.RefundError = pay.ID, c.FormValue("amount"), msg
	p := a.page(c, "Order "+d.Order.Number, views.SectionOrders)
	if isFragment(c) {
		return a.renderComponent(c, http.StatusOK, views.OrderPaymentsPart(p, d))
	}
	return a.render(c, statusInvalid, p, views.OrderPage(p, d))
}
