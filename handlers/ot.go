package handlers

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"orderdesk/model"
	"orderdesk/services/procurement"
	"orderdesk/views"
)

// ---------------------------------------------------------------- settings

// procurementSettingsForm is the settings page's data with the saved values.
func (a *App) procurementSettingsForm(c echo.Context) (views.ProcurementSettingsForm, error) {
	ctx := c.Request().Context()
	t := tenant(c)
	var f views.ProcurementSettingsForm
	var err error
	if f.Settings, err = a.store.FindProcurementSettings(ctx, t.ID); err != nil {
		return f, err
	}
	if f.Products, err = a.store.FindProductChannels(ctx, t.ID); err != nil {
		return f, err
	}
	if f.StatusMap, err = a.store.FindOTStatusMap(ctx, t.ID); err != nil {
		return f, err
	}
	in, err := a.store.UsableIntegration(ctx, t.ID, model.ProviderOTAPI)
	if err != nil && !errors.Is(err, model.ErrNotFound) {
		return f, err
	}
	f.Integration = in
	return f, nil
}

func (a *App) renderProcurementSettings(c echo.Context, status int, f views.ProcurementSettingsForm) error {
	p := a.page(c, pageT(c, "admin.ot.settings_title"), views.SectionSettings)
	return a.render(c, status, p, views.ProcurementSettings(p, f))
}

// ProcurementSettingsPage shows the shop's procurement settings (owners and
// admins).
func (a *App) ProcurementSettingsPage(c echo.Context) error {
	f, err := a.procurementSettingsForm(c)
	if err != nil {
		return err
	}
	return a.renderProcurementSettings(c, http.StatusOK, f)
}

// ProcurementSettingsSave saves the channel and OT's settings; a refused
// field comes back by the field, with what was typed (the password aside).
func (a *App) ProcurementSettingsSave(c echo.Context) error {
	f, err := a.procurementSettingsForm(c)
	if err != nil {
		return err
	}
	ps := model.ProcurementSettings{Channel: model.ProcurementChannel(c.FormValue("channel")), OTBuyerLogin: c.FormValue("ot_buyer_login"),
		OTBuyerPassword: c.FormValue("ot_buyer_password"), OTUserProfileID: c.FormValue("ot_user_profile_id"),
		OTDeliveryModeID: c.FormValue("ot_delivery_mode_id"), OTBuyerPasswordLast4: f.Settings.OTBuyerPasswordLast4,
		OTWarehouse: model.OTWarehouse{RecipientName: c.FormValue("ot_recipient_name"), Mobile: c.FormValue("ot_recipient_mobile"),
			RegionCode: c.FormValue("ot_region_code"), Zip: c.FormValue("ot_zip"), Address: c.FormValue("ot_address")}}
	err = a.store.SaveProcurementSettings(c.Request().Context(), tenant(c).ID, ps)
	var ve *model.ValidationError
	if errors.As(err, &ve) {
		ps.OTBuyerPassword = ""
		f.Settings, f.Errors = ps, ve.Fields
		return a.renderProcurementSettings(c, statusInvalid, f)
	}
	if err != nil {
		return err
	}
	a.flash(c, views.FlashOK, "Procurement settings saved: the shop buys "+ps.Channel.How()+".")
	return a.redirect(c, "/admin/settings/procurement")
}

// ProductChannelSave makes a product bought through another channel than
// the shop's, or through the shop's again.
func (a *App) ProductChannelSave(c echo.Context) error {
	sku, ch := c.FormValue("sku"), c.FormValue("product_channel")
	err := a.store.SetProductChannel(c.Request().Context(), tenant(c).ID, sku, model.ProcurementChannel(ch))
	var ve *model.ValidationError
	if errors.As(err, &ve) {
		f, ferr := a.procurementSettingsForm(c)
		if ferr != nil {
			return ferr
		}
		f.Errors, f.ProductSKU, f.ProductChannel = ve.Fields, sku, ch
		return a.renderProcurementSettings(c, statusInvalid, f)
	}
	if err != nil {
		return err
	}
	a.flash(c, views.FlashOK, "Product "+strings.TrimSpace(sku)+" is bought "+model.ProcurementChannel(ch).How()+".")
	return a.redirect(c, "/admin/settings/procurement")
}

// OTStatusMapSave saves the table of OT's line statuses; rows without an
// id are left out.
func (a *App) OTStatusMapSave(c echo.Context) error {
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	ids, names, tos := form["status_id"], form["status_name"], form["status_to"]
	var rows []model.OTStatusMapping
	for i, id := range ids {
		if strings.TrimSpace(id) == "" {
			continue
		}
		m := model.OTStatusMapping{StatusID: id}
		if i < len(names) {
			m.StatusName = names[i]
		}
		if i < len(tos) {
			m.Status = model.ProcurementStatus(tos[i])
		}
		rows = append(rows, m)
	}
	err = a.store.SaveOTStatusMap(c.Request().Context(), tenant(c).ID, rows)
	var ve *model.ValidationError
	if errors.As(err, &ve) {
		f, ferr := a.procurementSettingsForm(c)
		if ferr != nil {
			return ferr
		}
		f.Errors, f.StatusTyped = ve.Fields, append([]model.OTStatusMapping{}, rows...)
		if len(rows) == 0 {
			f.Errors = views.FormErrors{"status_map": "The table needs at least one row with OT's status id."}
		}
		return a.renderProcurementSettings(c, statusInvalid, f)
	}
	if err != nil {
		return err
	}
	a.flash(c, views.FlashOK, "OT's line statuses saved: "+strconv.Itoa(len(rows))+" rows.")
	return a.redirect(c, "/admin/settings/procurement")
}

// ---------------------------------------------------------------- sessions

// OTSessionsIndex lists the Taobao sessions OT holds for the shop, with
// their end and what waits on them.
func (a *App) OTSessionsIndex(c echo.Context) error {
	ctx := c.Request().Context()
	t := tenant(c)
	v := views.OTSessionsView{Now: a.store.Now(), Loc: t.Location()}
	rows, err := a.ot.Sessions(ctx, t)
	switch {
	case errors.Is(err, procurement.ErrNoOT):
	case errors.Is(err, model.ErrConflict):
		v.Error = "OT's list could not be read: " + err.Error()
		v.HasOT = true
	case err != nil:
		return err
	default:
		v.HasOT = true
	}
	for _, r := range rows {
		row := views.OTSessionRow{Login: r.Login, ExpiresAt: r.ExpiresAt, ExpiresEstimated: r.ExpiresEstimated, AtOT: r.AtOT}
		status := model.AccountActive
		if r.Known != nil {
			row.ObtainedAt, row.AuthorisedBy, row.LastError = &r.Known.ObtainedAt, r.Known.AuthorisedBy, r.Known.LastError
			status = r.Known.Status
		}
		row.Status = sessionWords(status, r.ExpiresAt, v.Now)
		v.Sessions = append(v.Sessions, row)
	}
	counts, err := a.store.CountOT(ctx, t.ID)
	if err != nil {
		return err
	}
	v.Waiting = counts.WaitingForSession
	p := a.page(c, pageT(c, "admin.procurement.ot_sessions"), views.SectionProcurement)
	return a.render(c, http.StatusOK, p, views.OTSessions(p, v))
}

// sessionWords says a session's state: a session without a known end is
// active until OT says otherwise.
func sessionWords(status string, ends, now time.Time) string {
	if ends.IsZero() {
		if status == model.AccountNeedsAuthorization {
			return "needs authorization"
		}
		return "active"
	}
	return views.SessionState(status, ends, now)
}

// OTAuthorise sends the operator through OT's authentication to Taobao,
// with a single-use state bound to them.
func (a *App) OTAuthorise(c echo.Context) error {
	u, err := a.ot.AuthURL(c.Request().Context(), tenant(c), currentUser(c))
	if errors.Is(err, model.ErrConflict) {
		a.flash(c, views.FlashError, "The authorisation could not start: "+err.Error())
		return a.redirect(c, "/admin/procurement/ot/sessions")
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, u)
}

// OTReturn receives the operator back from OT: the state must be the one
// given to this operator; OT's session or its refusal is said in words.
func (a *App) OTReturn(c echo.Context) error {
	s, err := a.ot.CompleteAuth(c.Request().Context(), tenant(c), currentUser(c), c.QueryParams())
	switch {
	case errors.Is(err, model.ErrInvalidState):
		a.flash(c, views.FlashError, "Nothing was stored: "+err.Error())
	case errors.Is(err, model.ErrConflict):
		a.flash(c, views.FlashError, err.Error())
	case err != nil:
		return err
	default:
		a.flash(c, views.FlashOK, "Taobao login "+s.Login+" is authorised at OT until "+s.ExpiresAt.In(tenant(c).Location()).Format("2006-01-02 15:04")+".")
	}
	return c.Redirect(http.StatusSeeOther, "/admin/procurement/ot/sessions")
}

// ---------------------------------------------------------------- activities

// OTActivitiesIndex lists the shop's OT activities: under way, then ended.
func (a *App) OTActivitiesIndex(c echo.Context) error {
	ctx := c.Request().Context()
	t := tenant(c)
	v := views.OTActivitiesView{Loc: t.Location(), CanAct: currentUser(c).Role.CanBuy()}
	all, err := a.store.FindOTActivities(ctx, t.ID, model.OTActivityFilter{Limit: 200})
	if err != nil {
		return err
	}
	for _, act := range all {
		if act.State.Open() {
			v.Running = append(v.Running, act)
		} else {
			v.Finished = append(v.Finished, act)
		}
	}
	if v.Counts, err = a.store.CountOT(ctx, t.ID); err != nil {
		return err
	}
	p := a.page(c, pageT(c, "admin.procurement.ot_activities"), views.SectionProcurement)
	return a.render(c, http.StatusOK, p, views.OTActivities(p, v))
}

func activityID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return 0, model.ErrNotFound
	}
	return id, nil
}

// renderActivity answers with an activity's card: alone for htmx, on a page
// of its own otherwise.
func (a *App) renderActivity(c echo.Context, act *model.OTActivity, refused string) error {
	v := views.OTActivityView{Activity: act, Loc: tenant(c).Location(), Error: refused, CanAct: currentUser(c).Role.CanBuy()}
	p := a.page(c, act.Kind.Label(), views.SectionProcurement)
	return a.renderParts(c, http.StatusOK, p, views.OTActivityPage(p, v), views.OTActivityCard(p, v))
}

// OTActivityShow is one activity's card; one under way is read from OT
// first, so that the page follows it.
func (a *App) OTActivityShow(c echo.Context) error {
	id, err := activityID(c)
	if err != nil {
		return err
	}
	// What OT says is nobody's doing: the reads are the system's, whoever's
	// page asked.
	act, err := a.ot.Refresh(c.Request().Context(), tenant(c), id, model.SystemActor)
	if err != nil {
		return err // another shop's activity is not found
	}
	return a.renderActivity(c, act, "")
}

// OTActivityAnswer gives OT an operator's answer to an activity's
// question; the answer and who gave it are recorded.
func (a *App) OTActivityAnswer(c echo.Context) error {
	return a.activityAction(c, func(id int64) (*model.OTActivity, error) {
		return a.ot.Answer(c.Request().Context(), tenant(c), id, c.FormValue("action"), model.StaffActor(currentUser(c)))
	})
}

// OTActivityCancel stops an activity at OT.
func (a *App) OTActivityCancel(c echo.Context) error {
	return a.activityAction(c, func(id int64) (*model.OTActivity, error) {
		return a.ot.Cancel(c.Request().Context(), tenant(c), id, model.StaffActor(currentUser(c)))
	})
}

// activityAction runs an answer or a cancel and answers with the card; a
// refusal is said on the card (htmx swaps 200 answers only) or, without
// htmx, as a notice on the order's page.
func (a *App) activityAction(c echo.Context, fn func(id int64) (*model.OTActivity, error)) error {
	id, err := activityID(c)
	if err != nil {
		return err
	}
	cur, err := a.store.FindOTActivity(c.Request().Context(), tenant(c).ID, id)
	if err != nil {
		return err
	}
	act, err := fn(id)
	if err != nil {
		status, msg, fields := statusOf(err)
		if status >= 500 {
			return err
		}
		if fields["action"] != "" {
			msg = fields["action"]
		}
		if !isFragment(c) {
			a.flash(c, views.FlashError, msg)
			return a.redirect(c, "/admin/orders/"+strconv.FormatInt(cur.OrderID, 10))
		}
		if act, err = a.store.FindOTActivity(c.Request().Context(), tenant(c).ID, id); err != nil {
			return err
		}
		return a.renderActivity(c, act, msg)
	}
	if !isFragment(c) {
		a.flash(c, views.FlashOK, act.Kind.Label()+": "+act.State.Label()+".")
		return a.redirect(c, "/admin/orders/"+strconv.FormatInt(act.OrderID, 10))
	}
	return a.renderActivity(c, act, "")
}

// ---------------------------------------------------------------- the order's OT work

// OrderOT runs an OT action on an order from its page: push (take it as far
// as it goes: add, pay, export; a retry after an error), cancel (cancel the
// OT order so that it is added again), accept-skipped (go on without the
// items OT skipped), activity (start export, sync, link or unlink). htmx
// gets the OT card back, a plain form the order page by a redirect.
func (a *App) OrderOT(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return model.ErrNotFound
	}
	t := tenant(c)
	if _, err := a.store.FindOrderByID(ctx, t.ID, id); err != nil {
		return err // another shop's order is not found
	}
	actor := model.StaffActor(currentUser(c))
	rep := &procurement.Report{}
	var done string
	switch c.Param("action") {
	case "push":
		err = a.ot.Retry(ctx, t, id, actor, rep)
	case "cancel":
		if err = a.ot.CancelOrder(ctx, t, id, actor); err == nil {
			done = "The OT order is cancelled at OT; buy through OT again to add the order anew."
		}
	case "accept-skipped":
		err = a.ot.AcceptSkipped(ctx, t, id, actor, rep)
	case "activity":
		form, ferr := c.FormParams()
		if ferr != nil {
			return ferr
		}
		var lines []int64
		for _, s := range form["lines"] {
			n, perr := strconv.ParseInt(s, 10, 64)
			if perr != nil {
				err = &model.ValidationError{Fields: map[string]string{"lines": "choose lines of this order"}}
			}
			lines = append(lines, n)
		}
		if err == nil {
			var act *model.OTActivity
			act, err = a.ot.Start(ctx, t, id, model.OTActivityKind(c.FormValue("kind")), lines, strings.Split(c.FormValue("provider_orders"), ","), actor)
			if err == nil {
				done = act.Kind.Label() + " started at OT (activity " + act.ActivityID + ")."
			}
		}
	default:
		return model.ErrNotFound
	}
	var refused string
	if err != nil {
		status, msg, fields := statusOf(err)
		if status >= 500 {
			return err
		}
		for _, f := range fields {
			msg = f
		}
		refused = msg
	}
	if !isFragment(c) {
		switch {
		case refused != "":
			a.flash(c, views.FlashError, refused)
		case done != "":
			a.flash(c, views.FlashOK, done)
		default:
			a.flash(c, views.FlashInfo, strings.Join(rep.Lines, " "))
		}
		return a.redirect(c, "/admin/orders/"+strconv.FormatInt(id, 10))
	}
	d, err := a.orderDetail(c)
	if err != nil {
		return err
	}
	d.OTError = refused
	if done != "" {
		d.OTResult = []string{done}
	}
	d.OTResult = append(d.OTResult, rep.Lines...)
	p := a.page(c, "Order "+d.Order.Number, views.SectionOrders)
	return a.renderComponent(c, http.StatusOK, views.OrderOTPart(p, d))
}
