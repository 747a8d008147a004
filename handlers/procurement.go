package handlers

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"orderdesk/model"
	"orderdesk/providers/taobao"
	"orderdesk/views"
)

// canBuy reports whether the role works procurement.
func canBuy(r model.Role) bool {
	return r == model.RoleOperator || r == model.RoleOwner || r == model.RoleAdmin
}

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
	if v.Purchases, err = a.store.FindPurchases(ctx, t.ID, model.PurchaseFilter{Limit: 200}); err != nil {
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
	p := a.page(c, "Procurement", views.SectionProcurement)
	return a.render(c, http.StatusOK, p, views.Procurement(p, v))
}

// ProcurementStep runs push, pay or sync for one order now.
func (a *App) ProcurementStep(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return model.ErrNotFound
	}
	if _, err := a.store.FindOrderByID(ctx, tenant(c).ID, id); err != nil {
		return err // another tenant's order is not found
	}
	if a.cfg.Procurement == nil {
		return echo.NewHTTPError(http.StatusServiceUnavailable, "Procurement is not running in this process.")
	}
	var msgs []string
	switch c.Param("step") {
	case "push":
		msgs, err = a.cfg.Procurement.PushOrder(ctx, id)
	case "pay":
		msgs, err = a.cfg.Procurement.PayOrder(ctx, id)
	case "sync":
		msgs, err = a.cfg.Procurement.SyncOrder(ctx, id)
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
	p := a.page(c, "Procurement", views.SectionProcurement)
	return a.render(c, http.StatusOK, p, views.ProcurementOutcome(r))
}

// AccountsIndex lists the Taobao accounts and their sessions.
func (a *App) AccountsIndex(c echo.Context) error {
	return a.renderAccounts(c, http.StatusOK, c.QueryParam("message"), c.QueryParam("error"))
}

func (a *App) renderAccounts(c echo.Context, status int, msg, errMsg string) error {
	ctx := c.Request().Context()
	t := tenant(c)
	v := views.AccountsView{Now: a.store.Now(), Loc: t.Location(), Message: msg, Error: errMsg}
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
	p := a.page(c, "Taobao accounts", views.SectionProcurement)
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
		AppKey: sec.APIKey, AppSecret: sec.APISecret, Now: a.store.Now}), nil
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
		return a.renderAccounts(c, http.StatusConflict, "", "This integration is not a Taobao integration in test or live mode.")
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
	back := func(key, msg string) error {
		return c.Redirect(http.StatusSeeOther, "/admin/procurement/accounts?"+url.Values{key: {msg}}.Encode())
	}
	integrationID, err := a.store.UseOAuthState(ctx, tenant(c).ID, currentUser(c).ID, q.Get("state"))
	if errors.Is(err, model.ErrInvalidState) {
		return back("error", "Nothing was stored: "+err.Error())
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
		return back("error", msg+". Nothing was stored.")
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
		return back("error", "Nothing was stored: "+taobao.Explain(err))
	}
	acct, err := a.store.SaveTaobaoAccount(ctx, tenant(c).ID, in.ID, model.AccountTokens{Account: tok.Account, AccountID: tok.AccountID,
		AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, AccessExpiresAt: tok.AccessExpiresAt, RefreshExpiresAt: tok.RefreshExpiresAt})
	if err != nil {
		return err
	}
	return back("message", "Account "+acct.Account+" is connected until "+acct.RefreshExpiresAt.In(tenant(c).Location()).Format("2006-01-02 15:04")+".")
}

// JobsIndex lists the background jobs with their latest runs.
func (a *App) JobsIndex(c echo.Context) error {
	ctx := c.Request().Context()
	var rows []views.JobRow
	if a.cfg.Jobs != nil {
		for _, j := range a.cfg.Jobs() {
			runs, err := a.store.FindJobRuns(ctx, j.Name, 5)
			if err != nil {
				return err
			}
			paused, err := a.store.JobPaused(ctx, j.Name)
			if err != nil {
				return err
			}
			rows = append(rows, views.JobRow{Name: j.Name, Interval: j.Interval, Paused: paused, Runs: runs})
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Name < rows[j].Name })
	p := a.page(c, "Jobs", views.SectionJobs)
	return a.render(c, http.StatusOK, p, views.Jobs(p, rows, c.QueryParam("message")))
}

func (a *App) knownJob(name string) bool {
	if a.cfg.Jobs == nil {
		return false
	}
	for _, j := range a.cfg.Jobs() {
		if j.Name == name {
			return true
		}
	}
	return false
}

// JobRun asks a job to run now.
func (a *App) JobRun(c echo.Context) error {
	name := c.Param("name")
	if !a.knownJob(name) || a.cfg.RunJob == nil {
		return model.ErrNotFound
	}
	a.cfg.RunJob(name)
	// Let a quick run finish, so that the page shows it.
	time.Sleep(300 * time.Millisecond)
	return a.redirect(c, "/admin/jobs?message="+url.QueryEscape(name+" was asked to run now."))
}

// JobPause pauses or resumes a job.
func (a *App) JobPause(c echo.Context) error {
	name := c.Param("name")
	if !a.knownJob(name) {
		return model.ErrNotFound
	}
	paused := c.FormValue("paused") == "1"
	if err := a.store.SetJobPaused(c.Request().Context(), name, paused); err != nil {
		return err
	}
	word := "resumed"
	if paused {
		word = "paused"
	}
	return a.redirect(c, "/admin/jobs?message="+url.QueryEscape(name+" is "+word+"."))
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
		if _, err := a.cfg.Procurement.SyncPurchase(ctx, strconv.FormatInt(msg.PurchaseID, 10)); err != nil {
			a.log.Warn("taobao push: sync", "purchase", msg.PurchaseID, "err", err)
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"success": true})
}
