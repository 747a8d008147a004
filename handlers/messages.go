package handlers

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"orderdesk/model"
	"orderdesk/views"
)

// sendMessagesJob is the job that sends the messages; Retry asks it to run.
const sendMessagesJob = "send-messages"

// MessagesIndex is /admin/messages[?status=&order=&before=]: the shop's
// customer messages, newest first, filtered by status and order (number or
// id); the table alone for htmx.
func (a *App) MessagesIndex(c echo.Context) error {
	ctx := c.Request().Context()
	t := tenant(c)
	l := views.MessagesList{Status: c.QueryParam("status"), Order: strings.TrimSpace(c.QueryParam("order"))}
	if l.Status != "" && !model.MessageStatus(l.Status).Valid() {
		return &model.ValidationError{Fields: map[string]string{"status": "choose one of the statuses listed"}}
	}
	f := model.MessageFilter{Status: model.MessageStatus(l.Status), Limit: 100}
	if l.Order != "" {
		f.OrderID = -1 // an order of no shop: nothing, rather than every message
		if id, err := strconv.ParseInt(l.Order, 10, 64); err == nil {
			f.OrderID = id
		} else if o, err := a.store.FindOrderByNumber(ctx, t.ID, l.Order); err == nil {
			f.OrderID = o.ID
		} else if !errors.Is(err, model.ErrNotFound) {
			return err
		}
	}
	if before := c.QueryParam("before"); before != "" {
		n, err := strconv.ParseInt(before, 10, 64)
		if err != nil || n <= 0 {
			return &model.ValidationError{Fields: map[string]string{"before": "must be a message id"}}
		}
		f.Before = n
	}
	var err error
	if l.Counts, err = a.store.CountMessages(ctx, t.ID); err != nil {
		return err
	}
	if l.Messages, err = a.store.FindMessages(ctx, t.ID, f); err != nil {
		return err
	}
	if len(l.Messages) == f.Limit {
		l.Next = l.Messages[len(l.Messages)-1].ID
	}
	p := a.page(c, pageT(c, "admin.messages.title"), views.SectionMessages)
	return a.renderParts(c, http.StatusOK, p, views.Messages(p, l), views.MessagesTable(p, l))
}

// MessageRetry queues a failed, dead or unknown message again (the Retry
// button) and asks send-messages to run now, so that the person sees the
// outcome on the page they come back to; a run that cannot start now (it
// runs already, or is paused) sends it later.
func (a *App) MessageRetry(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return model.ErrNotFound
	}
	u := currentUser(c)
	m, err := a.store.RetryMessage(c.Request().Context(), tenant(c), id, model.StaffActor(u))
	if errors.Is(err, model.ErrConflict) {
		a.flash(c, views.FlashError, err.Error())
		return a.redirect(c, "/admin/messages")
	} else if err != nil {
		return err // another shop's message is not found
	}
	back := "/admin/messages?order=" + strconv.FormatInt(m.OrderID, 10)
	msg := model.MessageLabel(m.Kind) + " of order " + m.OrderNumber + " is queued again"
	if a.cfg.RunJob == nil {
		a.flash(c, views.FlashOK, msg+".")
		return a.redirect(c, back)
	}
	run, err := a.cfg.RunJob(c.Request().Context(), tenant(c), sendMessagesJob, 5*time.Second)
	switch {
	case errors.Is(err, model.ErrConflict):
		a.flash(c, views.FlashOK, msg+"; send-messages could not run now ("+err.Error()+") and sends it at its next run.")
	case err != nil:
		return err
	case run.FinishedAt == nil:
		a.flash(c, views.FlashOK, msg+"; send-messages is sending it now.")
	default:
		a.flash(c, views.FlashOK, msg+"; send-messages ran: "+strconv.Itoa(run.Processed)+" sent, "+strconv.Itoa(run.Failed)+" failed.")
	}
	return a.redirect(c, back)
}
