package handlers

import (
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"orderdesk/model"
	"orderdesk/providers/dostavista"
	"orderdesk/views"
)

// OrderShipmentCreate registers the order's shipment with the carrier of its
// shipping method ("Create shipment", and "Retry" after a refusal): POST
// /admin/orders/{id}/shipment. The services/delivery flow does it; the
// carrier's refusal comes back in words.
func (a *App) OrderShipmentCreate(c echo.Context) error {
	d, err := a.orderDetail(c)
	if err != nil {
		return err
	}
	sh, err := a.delivery.CreateShipment(c.Request().Context(), tenant(c), d.Order.ID, model.StaffActor(currentUser(c)))
	ok := ""
	if err == nil {
		ok = model.CarrierLabel(sh.Carrier) + " shipment: " + sh.Status.Label() + "."
	}
	return a.afterShipment(c, err, ok)
}

// OrderShipmentRefresh asks the carrier about the order's shipment now:
// POST /admin/orders/{id}/shipment/refresh.
func (a *App) OrderShipmentRefresh(c echo.Context) error {
	d, err := a.orderDetail(c)
	if err != nil {
		return err
	}
	if d.Shipment == nil {
		return a.afterShipment(c, &model.ConflictError{Msg: "The order has no shipment to ask about."}, "")
	}
	sh, err := a.delivery.Refresh(c.Request().Context(), tenant(c), d.Shipment)
	ok := ""
	if err == nil {
		ok = model.CarrierLabel(sh.Carrier) + " says: " + sh.Status.Label() + "."
	}
	return a.afterShipment(c, err, ok)
}

// afterShipment answers a shipment action on the order page: htmx gets the
// order's detail part with the outcome, a plain form a notice and the page.
func (a *App) afterShipment(c echo.Context, actionErr error, ok string) error {
	msg := ""
	if actionErr != nil {
		status, text, _ := statusOf(actionErr)
		if status >= 500 || status == http.StatusNotFound {
			return actionErr
		}
		msg = text
	}
	if !isFragment(c) {
		if msg != "" {
			a.flash(c, views.FlashError, msg)
		} else {
			a.flash(c, views.FlashOK, ok)
		}
		return a.redirect(c, "/admin/orders/"+c.Param("id"))
	}
	d, err := a.orderDetail(c)
	if err != nil {
		return err
	}
	d.ShipmentError = msg
	p := a.page(c, "Order "+d.Order.Number, views.SectionOrders)
	return a.renderParts(c, http.StatusOK, p, views.OrderPage(p, d), views.OrderDetailPart(p, d))
}

// OrdersShipments registers the shipments of the selected orders (the Ready
// to ship view's bulk action): POST /admin/orders/shipments with ids. Each
// order gets its own outcome: registered, or why not in words.
func (a *App) OrdersShipments(c echo.Context) error {
	t := tenant(c)
	form, err := c.FormParams()
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "The form could not be read.")
	}
	var ids []int64
	for _, raw := range form["ids"] {
		if id, err := strconv.ParseInt(raw, 10, 64); err == nil {
			ids = append(ids, id)
		}
	}
	results, err := a.delivery.CreateShipments(c.Request().Context(), t, ids, model.StaffActor(currentUser(c)))
	if err != nil {
		return err
	}
	l, err := a.ordersList(c)
	if err != nil {
		return err
	}
	made := 0
	l.Bulk = []views.BulkResult{}
	for _, r := range results {
		b := views.BulkResult{Number: r.Number, OK: r.Err == nil}
		if r.Err != nil {
			_, b.Reason, _ = statusOf(r.Err)
		} else {
			made++
			b.Reason = model.CarrierLabel(r.Shipment.Carrier) + " shipment: " + r.Shipment.Status.Label()
			if r.Shipment.TrackNumber != "" {
				b.Reason += ", track " + r.Shipment.TrackNumber
			}
		}
		l.Bulk = append(l.Bulk, b)
	}
	l.BulkNote = strconv.Itoa(made) + " of " + strconv.Itoa(len(results)) + " selected orders got a shipment."
	if len(results) == 0 {
		l.BulkNote = "Select at least one order."
	}
	p := a.page(c, "Orders", views.SectionOrders)
	return a.renderParts(c, http.StatusOK, p, views.Orders(p, l), views.OrdersResults(p, l))
}

// DeliverySettingsPage shows the shop's delivery settings (owners and admins).
func (a *App) DeliverySettingsPage(c echo.Context) error {
	d, err := a.store.FindDeliverySettings(c.Request().Context(), tenant(c).ID)
	if err != nil {
		return err
	}
	p := a.page(c, pageT(c, "admin.delivery.title"), views.SectionSettings)
	return a.render(c, http.StatusOK, p, views.DeliverySettings(p, views.DeliverySettingsForm{Settings: d}))
}

// deliveryNumbers are the delivery settings' numeric fields.
var deliveryNumbers = []string{"cdek_tariff_code", "package_weight_g", "package_length_cm", "package_width_cm", "package_height_cm",
	"dostavista_vehicle_type", "dostavista_window_hours"}

// DeliverySettingsSave saves them; a refused field comes back by the field,
// with what was typed.
func (a *App) DeliverySettingsSave(c echo.Context) error {
	d := model.DeliverySettings{SenderName: c.FormValue("sender_name"), SenderPhone: c.FormValue("sender_phone"),
		SenderCountry: c.FormValue("sender_country"), SenderCity: c.FormValue("sender_city"), SenderPostalCode: c.FormValue("sender_postal_code"),
		SenderAddress: c.FormValue("sender_address"), CDEKShipmentPoint: c.FormValue("cdek_shipment_point")}
	typed := map[string]string{}
	numbers := map[string]*int{"cdek_tariff_code": &d.CDEKTariffCode, "package_weight_g": &d.PackageWeightG, "package_length_cm": &d.PackageLengthCm,
		"package_width_cm": &d.PackageWidthCm, "package_height_cm": &d.PackageHeightCm, "dostavista_vehicle_type": &d.DostavistaVehicleType,
		"dostavista_window_hours": &d.DostavistaWindowHours}
	bad := &model.ValidationError{}
	for _, name := range deliveryNumbers {
		typed[name] = c.FormValue(name)
		n, err := strconv.Atoi(typed[name])
		if err != nil {
			bad.Add(name, "give a whole number")
		}
		*numbers[name] = n
	}
	err := bad.OrNil()
	if err == nil {
		err = a.store.SaveDeliverySettings(c.Request().Context(), tenant(c).ID, d)
	}
	var ve *model.ValidationError
	if errors.As(err, &ve) {
		p := a.page(c, pageT(c, "admin.delivery.title"), views.SectionSettings)
		return a.render(c, statusInvalid, p, views.DeliverySettings(p, views.DeliverySettingsForm{Settings: d, Errors: ve.Fields, Typed: typed}))
	}
	if err != nil {
		return err
	}
	a.flash(c, views.FlashOK, "Delivery settings saved.")
	return a.redirect(c, "/admin/settings/delivery")
}

// readWebhookBody reads a carrier's message, at most 1 MB.
func readWebhookBody(c echo.Context) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, 1<<20))
	if err != nil {
		return nil, echo.NewHTTPError(http.StatusRequestEntityTooLarge, "The message is too large.")
	}
	return body, nil
}

// CDEKWebhook receives CDEK's ORDER_STATUS webhooks at
// /webhooks/cdek/{integration_id}; services/delivery re-reads the shipment
// from CDEK before anything changes.
func (a *App) CDEKWebhook(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("integration"), 10, 64)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound, "No such webhook.")
	}
	body, err := readWebhookBody(c)
	if err != nil {
		return err
	}
	r, err := a.delivery.HandleCDEKWebhook(c.Request().Context(), id, body)
	if err != nil {
		return err
	}
	return c.String(r.Status, r.Body)
}

// DostavistaCallback receives Dostavista's callbacks at
// /webhooks/dostavista/{integration_id}, verified with X-DV-Signature.
func (a *App) DostavistaCallback(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("integration"), 10, 64)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound, "No such callback address.")
	}
	body, err := readWebhookBody(c)
	if err != nil {
		return err
	}
	r, err := a.delivery.HandleDostavistaCallback(c.Request().Context(), id, body, c.Request().Header.Get(dostavista.SignatureHeader))
	if err != nil {
		return err
	}
	return c.String(r.Status, r.Body)
}
