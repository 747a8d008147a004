package handlers

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"orderdesk/model"
	"orderdesk/providers/taobao"
	"orderdesk/views"
)

// ProcurementIndex is the procurement desk.
func (a *App) ProcurementIndex(c echo.Context) error {
	ctx := c.Request().Context()
	t := tenant(c)
	v := views.ProcurementView{Stage: c.QueryParam("status"), Lang: t.Language, Loc: t.Location(), ByOrder: map[int64][]string{}}
	if !model.ProcurementStatus(v.Stage).Valid() {
		v.Stage = string(model.ProcPending)
	}
	page, err := a.store.FindOrders(ctx, t.ID, model.OrderFilter{PaymentStatus: model.PayPaid, ProcurementStatus: model.ProcurementStatus(v.Stage), Limit: 200})
	if err != nil {
		return err
	}
	v.Orders = page.Orders
	errs, err := a.store.FindOrders(ctx, t.ID, model.OrderFilter{ProcurementError: true, Limit: 200})
	if err != nil {
		return err
	}
	v.Errors = errs.Orders
	pf := model.PurchaseFilter{Limit: 200}
	if c.QueryParam("purchases") == "waiting_balance" {
		// The dashboard's "waiting for balance".
		pf.ErrorContains = taobao.CodeInsufficientBalance
	}
	if v.Purchases, err = a.store.FindPurchases(ctx, t.ID, pf); err != nil {
		return err
	}
	for _, pu := range v.Purchases {
		for _, id := range pu.OrderIDs {
			v.ByOrder[id] = append(v.ByOrder[id], pu.PurchaseID)
		}
	}
	if v.Counts, err = a.store.CountProcurement(ctx, t.ID, taobao.CodeInsufficientBalance); err != nil {
		return err
	}
	p := a.page(c, pageT(c, "admin.procurement.title"), views.SectionProcurement)
	return a.render(c, http.StatusOK, p, views.Procurement(p, v))
}

// ProcurementStep runs push, pay or sync for one order now.
func (a *App) ProcurementStep(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return model.ErrNotFound
	}
	t := tenant(c)
	if _, err := a.store.FindOrderByID(ctx, t.ID, id); err != nil {
		return err // another tenant's order is not found
	}
	if a.cfg.Procurement == nil {
		return echo.NewHTTPError(http.StatusServiceUnavailable, "Procurement is not running in this process.")
	}
	var msgs []string
	switch c.Param("step") {
	case "push":
		msgs, err = a.cfg.Procurement.PushOrder(ctx, t, id)
	case "pay":
		msgs, err = a.cfg.Procurement.PayOrder(ctx, t, id)
	case "sync":
		msgs, err = a.cfg.Procurement.SyncOrder(ctx, t, id)
	default:
		return model.ErrNotFound
	}
	r := views.ProcurementResult{OrderID: id, Messages: msgs}
	if err != nil {
		r.Error = err.Error()
	}
	if isFragment(c) {
		return a.renderComponent(c, http.StatusOK, views.ProcurementOutcome(r))
	}
	p := a.page(c, pageT(c, "admin.procurement.title"), views.SectionProcurement)
	return a.render(c, http.StatusOK, p, views.ProcurementOutcome(r))
}

// AccountsIndex lists the Taobao accounts and their sessions.
func (a *App) AccountsIndex(c echo.Context) error {
	return a.renderAccounts(c, http.StatusOK, "")
}

// renderAccounts shows the accounts page with errMsg, the error of this
// request's action, if any.
func (a *App) renderAccounts(c echo.Context, status int, errMsg string) error {
	ctx := c.Request().Context()
	t := tenant(c)
	v := views.AccountsView{Now: a.store.Now(), Loc: t.Location(), Error: errMsg}
	var err error
	if v.Accounts, err = a.store.FindTaobaoAccounts(ctx, t.ID); err != nil {
		return err
	}
	all, err := a.store.FindIntegrations(ctx, t.ID)
	if err != nil {
		return err
	}
	for _, in := range all {
		if in.Provider == model.ProviderTaobao && in.Usable() {
			v.Integrations = append(v.Integrations, in)
		}
	}
	p := a.page(c, pageT(c, "admin.procurement.accounts"), views.SectionProcurement)
	return a.render(c, status, p, views.Accounts(p, v))
}

// taobaoClient is the client of an integration at its current endpoint.
func (a *App) taobaoClient(c echo.Context, in *model.Integration) (*taobao.Client, error) {
	sec, err := a.store.OpenIntegrationSecrets(c.Request().Context(), in.TenantID, in.ID)
	if err != nil {
		return nil, err
	}
	ep := in.Endpoint()
	return taobao.New(taobao.Config{BaseURL: ep, AuthURL: strings.TrimSuffix(strings.TrimSuffix(ep, "/"), "/rest"),
		AppKey: sec.APIKey, AppSecret: sec.APISecret, Now: a.store.Now, HTTPClient: a.providerClient}), nil
}

// callbackURL is where Taobao sends the operator back: on the shop's own address
// (where the operator's session is), never the request's Host header.
func (a *App) callbackURL(t *model.Tenant) string { return a.shopURL(t) + "/oauth/taobao/callback" }

// AccountConnect starts the authorization redirect with a single-use state.
func (a *App) AccountConnect(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := strconv.ParseInt(c.QueryParam("integration"), 10, 64)
	if err != nil {
		return model.ErrNotFound
	}
	in, err := a.store.FindIntegrationByID(ctx, tenant(c).ID, id)
	if err != nil {
		return err
	}
	if in.Provider != model.ProviderTaobao || !in.Usable() {
		return a.renderAccounts(c, http.StatusConflict, "This integration is not a Taobao integration in test or live mode.")
	}
	state, err := a.store.CreateOAuthState(ctx, tenant(c).ID, in.ID, currentUser(c).ID)
	if err != nil {
		return err
	}
	client, err := a.taobaoClient(c, in)
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, client.AuthorizeURL(a.callbackURL(tenant(c)), state))
}

// TaobaoCallback receives the operator back from Taobao: the state must be the
// one we gave this operator (single use), then the code becomes tokens. An error
// of the provider, a refusal or a bad state is shown in words and nothing is stored.
func (a *App) TaobaoCallback(c echo.Context) error {
	ctx := c.Request().Context()
	q := c.QueryParams()
	back := func(kind views.FlashKind, msg string) error {
		a.flash(c, kind, msg)
		return c.Redirect(http.StatusSeeOther, "/admin/procurement/accounts")
	}
	integrationID, err := a.store.UseOAuthState(ctx, tenant(c).ID, currentUser(c).ID, q.Get("state"))
	if errors.Is(err, model.ErrInvalidState) {
		return back(views.FlashError, "Nothing was stored: "+err.Error())
	} else if err != nil {
		return err
	}
	if e := q.Get("error"); e != "" {
		msg := "Taobao did not authorize the account"
		if e == "access_denied" {
			msg = "The authorization was refused on Taobao's page"
		}
		if d := q.Get("error_description"); d != "" {
			msg += " (" + d + ")"
		}
		return back(views.FlashError, msg+". Nothing was stored.")
	}
	in, err := a.store.FindIntegrationByID(ctx, tenant(c).ID, integrationID)
	if err != nil {
		return err
	}
	client, err := a.taobaoClient(c, in)
	if err != nil {
		return err
	}
	tok, err := client.CreateToken(ctx, q.Get("code"))
	if err != nil {
		return back(views.FlashError, "Nothing was stored: "+taobao.Explain(err))
	}
	acct, err := a.store.SaveTaobaoAccount(ctx, tenant(c).ID, in.ID, model.AccountTokens{Account: tok.Account, AccountID: tok.AccountID,
		AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, AccessExpiresAt: tok.AccessExpiresAt, RefreshExpiresAt: tok.RefreshExpiresAt})
	if err != nil {
		return err
	}
	return back(views.FlashOK, "Account "+acct.Account+" is connected until "+acct.RefreshExpiresAt.In(tenant(c).Location()).Format("2006-01-02 15:04")+".")
}

// jobRunWait is how long "Run now" waits for the run to end before answering
// that it started: a quick run is shown finished, a long one followed.
const jobRunWait = 2 * time.Second

// JobsIndex lists the background jobs with this shop's pauses and latest runs.
func (a *App) JobsIndex(c echo.Context) error {
	ctx := c.Request().Context()
	t := tenant(c)
	var rows []views.JobRow
	// ?failing=1: the dashboard's "jobs whose last run failed".
	failing := c.QueryParam("failing") == "1"
	for _, j := range a.jobInfos() {
		runs, err := a.store.FindJobRuns(ctx, t.ID, j.Name, 5)
		if err != nil {
			return err
		}
		if failing && (len(runs) == 0 || !runs[0].EndedInFailure()) {
			continue
		}
		row := views.JobRow{Name: j.Name, Interval: j.Interval}
		if row.Paused, err = a.store.JobPaused(ctx, t.ID, j.Name); err != nil {
			return err
		}
		if row.InstancePaused, err = a.store.InstanceJobPaused(ctx, j.Name); err != nil {
			return err
		}
		for _, r := range runs {
			row.Runs = append(row.Runs, a.jobRunRow(c, r, j.Interval))
		}
		rows = append(rows, row)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Name < rows[j].Name })
	p := a.page(c, pageT(c, "admin.jobs.title"), views.SectionJobs)
	return a.render(c, http.StatusOK, p, views.Jobs(p, rows))
}

// jobRunRow is a run as the page shows it, in the shop's time zone.
func (a *App) jobRunRow(c echo.Context, r *model.JobRun, interval time.Duration) views.JobRunRow {
	return views.JobRunRow{Run: r, Running: r.Running(a.store.Now(), interval), Loc: tenant(c).Location()}
}

func (a *App) jobInfos() []JobInfo {
	if a.cfg.Jobs == nil {
		return nil
	}
	return a.cfg.Jobs()
}

// job returns the named job, or ErrNotFound.
func (a *App) job(name string) (JobInfo, error) {
	for _, j := range a.jobInfos() {
		if j.Name == name {
			return j, nil
		}
	}
	return JobInfo{}, model.ErrNotFound
}

// JobRun runs a job for this shop now. A run that ends within jobRunWait is
// told with its counts; a longer one as started, and the page follows its row
// until it ends. The notice comes by the session, the run by the page.
func (a *App) JobRun(c echo.Context) error {
	j, err := a.job(c.Param("name"))
	if err != nil || a.cfg.RunJob == nil {
		return model.ErrNotFound
	}
	run, err := a.cfg.RunJob(c.Request().Context(), tenant(c), j.Name, jobRunWait)
	switch {
	case errors.Is(err, model.ErrConflict):
		a.flash(c, views.FlashError, j.Name+" did not run: "+err.Error()+".")
	case err != nil:
		return err
	case run.FinishedAt == nil:
		a.flash(c, views.FlashInfo, j.Name+" started; its run below shows its progress until it ends.")
	case run.Error != "":
		a.flash(c, views.FlashError, fmt.Sprintf("%s failed: %s (%d processed, %d failed).", j.Name, run.Error, run.Processed, run.Failed))
	default:
		a.flash(c, views.FlashOK, fmt.Sprintf("%s ran: %d processed, %d failed.", j.Name, run.Processed, run.Failed))
	}
	return a.redirect(c, "/admin/jobs")
}

// JobRunShow is one of this shop's runs: the row alone for htmx (the page polls
// it while the run goes on), or a page of its own.
func (a *App) JobRunShow(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return model.ErrNotFound
	}
	r, err := a.store.FindJobRun(c.Request().Context(), tenant(c).ID, id)
	if err != nil {
		return err // another shop's run is not found
	}
	var interval time.Duration // a job this process does not run: the shortest lease
	if j, err := a.job(r.Name); err == nil {
		interval = j.Interval
	}
	row := a.jobRunRow(c, r, interval)
	p := a.page(c, r.Name, views.SectionJobs)
	return a.renderParts(c, http.StatusOK, p, views.JobRunPage(p, row), views.JobRunRowView(row))
}

// JobPause pauses or resumes a job for this shop.
func (a *App) JobPause(c echo.Context) error {
	j, err := a.job(c.Param("name"))
	if err != nil {
		return err
	}
	paused := c.FormValue("paused") == "1"
	if err := a.store.SetJobPaused(c.Request().Context(), tenant(c).ID, j.Name, paused); err != nil {
		return err
	}
	word := "resumed"
	if paused {
		word = "paused"
	}
	a.flash(c, views.FlashOK, j.Name+" is "+word+" for "+tenant(c).Name+".")
	return a.redirect(c, "/admin/jobs")
}

// TaobaoWebhook receives Taobao's push messages at /webhooks/taobao/{id}:
// verified with the app secret, then taken as a hint: the purchase's status is
// fetched from the platform, so a duplicate or out-of-order push changes nothing
// wrong.
func (a *App) TaobaoWebhook(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := strconv.ParseInt(c.Param("integration"), 10, 64)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound, "No such webhook.")
	}
	in, err := a.store.FindIntegrationForWebhook(ctx, model.ProviderTaobao, id)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound, "No such webhook.")
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, 1<<20))
	if err != nil {
		return echo.NewHTTPError(http.StatusRequestEntityTooLarge, "Too large.")
	}
	sec, err := a.store.OpenIntegrationSecrets(ctx, in.TenantID, in.ID)
	if err != nil {
		return err
	}
	if err := taobao.VerifyPush(sec.APIKey, sec.APISecret, body, c.Request().Header.Get("Authorization")); err != nil {
		a.log.Warn("taobao push refused", "integration", in.ID, "err", err)
		return echo.NewHTTPError(http.StatusForbidden, "Bad signature.")
	}
	msg, err := taobao.ParsePush(body)
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "Unreadable push.")
	}
	if msg.PurchaseID != 0 && a.cfg.Procurement != nil {
		t, err := a.store.FindTenantByID(ctx, in.TenantID)
		if err != nil {
			return err
		}
		if _, err := a.cfg.Procurement.SyncPurchase(ctx, t, strconv.FormatInt(msg.PurchaseID, 10)); err != nil {
			a.log.Warn("taobao push: sync", "purchase", msg.PurchaseID, "err", err)
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"success": true})
}
