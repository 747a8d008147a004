package handlers

import (
	"io"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"orderdesk/model"
	"orderdesk/providers/gateway"
)

// PaymentWebhook receives a payment provider's notification at
// /webhooks/{provider}/{integration_id} and hands it to the payment flow
// (services/payments), which verifies, records and applies it once.
func (a *App) PaymentWebhook(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("integration"), 10, 64)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound, "No such webhook.")
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, 1<<20))
	if err != nil {
		return echo.NewHTTPError(http.StatusRequestEntityTooLarge, "The notification is too large.")
	}
	// The URL's query may name the payment (Dolyami's notification_url
	// does); it is passed in its own header, never the sender's.
	header := c.Request().Header.Clone()
	header.Set(gateway.WebhookQueryHeader, c.QueryString())
	reply, err := a.pay.HandleNotification(c.Request().Context(), model.ProviderType(c.Param("provider")), id, body, header)
	if err != nil {
		return err
	}
	return c.Blob(reply.Status, reply.ContentType, reply.Body)
}
