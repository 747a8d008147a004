package handlers

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"orderdesk/model"
	"orderdesk/providers/taobao"
	"orderdesk/views"
)

// dashboardDays is how many days the dashboard's sales chart shows, today
// included.
const dashboardDays = 7

// Dashboard is the back office's home page: the day's to-do list of the
// user's role, each item a count linking to the list of exactly those; the
// sessions to renew; and, for owners and admins, the sales of the last days.
// Every count is kept or read from a small index range (model.CountDashboard),
// so the page costs the same at a million orders.
func (a *App) Dashboard(c echo.Context) error {
	ctx := c.Request().Context()
	t := tenant(c)
	role := currentUser(c).Role
	d := views.DashboardData{Now: a.store.Now(), Currency: t.Currency}
	counts, err := a.store.CountDashboard(ctx, t.ID, taobao.CodeInsufficientBalance)
	if err != nil {
		return err
	}
	works, buys, owns := canWorkOrders(role), role.CanBuy(), role.CanManageUsers()
	add := func(show bool, key string, n int, href string) {
		if show {
			d.Todo = append(d.Todo, views.TodoItem{Key: key, Count: n, Href: href})
		}
	}
	add(works, views.TodoConfirm, counts.ToConfirm, "/admin/orders?status=holded")
	if works {
		hours := int(model.UnpaidAttentionAfter.Hours())
		d.Todo = append(d.Todo, views.TodoItem{Key: views.TodoUnpaid, Count: counts.UnpaidLong,
			Href: "/admin/orders?unpaid_hours=" + strconv.Itoa(hours), Data: map[string]any{"Hours": hours}})
	}
	add(owns, views.TodoReviews, counts.PaymentReviews, "/admin/payments?reviews=open")
	add(buys, views.TodoBuy, counts.ToBuy, "/admin/orders?procurement=to_buy")
	add(buys, views.TodoNeedsPerson, counts.NeedsPerson, "/admin/orders?procurement=needs_person")
	add(buys, views.TodoBalance, counts.WaitingForBalance, "/admin/procurement?purchases=waiting_balance")
	if buys {
		ot, err := a.store.CountOT(ctx, t.ID)
		if err != nil {
			return err
		}
		add(true, views.TodoOTQuestions, ot.Awaiting, "/admin/procurement/ot/activities")
		if d.Sessions, err = a.sessionsToRenew(c, ot.WaitingForSession, counts.ToBuy); err != nil {
			return err
		}
	}
	add(works, views.TodoShip, counts.ReadyToShip, "/admin/orders?ready=1")
	if buys {
		failing, err := a.failingJobs(c)
		if err != nil {
			return err
		}
		add(true, views.TodoJobs, len(failing), "/admin/jobs?failing=1")
	}
	add(works, views.TodoMessages, counts.Undelivered, "/admin/messages?status=dead")
	if works {
		d.ShipmentProblems = counts.ShipmentProblems
	}
	if owns {
		// The shop's money is for its owners and admins.
		if d.Days, err = a.store.FindDailyTotals(ctx, t.ID, t.Location(), dashboardDays); err != nil {
			return err
		}
	}
	p := a.page(c, "Dashboard", views.SectionDashboard)
	return a.render(c, http.StatusOK, p, views.Dashboard(p, d))
}

// canWorkOrders reports whether the role works the order desk (confirms,
// ships, chases payments and messages): everyone but the operators, who work
// procurement.
func canWorkOrders(r model.Role) bool { return r != model.RoleOperator }

// sessionsToRenew lists the shop's Taobao sessions (its own accounts', and
// those OT holds) that need authorization or end soon, each with the paid
// orders that wait on its kind.
func (a *App) sessionsToRenew(c echo.Context, waitingAtOT, toBuy int) ([]views.Session, error) {
	ctx := c.Request().Context()
	t := tenant(c)
	now := a.store.Now()
	var out []views.Session
	accounts, err := a.store.FindTaobaoAccounts(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	for _, acct := range accounts {
		if s := views.TaobaoSession(acct); s.Due(now) {
			s.Waiting = toBuy
			out = append(out, s)
		}
	}
	otSessions, err := a.store.FindOTProviderSessions(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	for _, ps := range otSessions {
		if s := views.OTSession(ps); s.Due(now) {
			s.Waiting = waitingAtOT
			out = append(out, s)
		}
	}
	return out, nil
}

// failingJobs names the jobs whose latest run for the shop failed (an error,
// or items that failed): one statement, an index seek per job.
func (a *App) failingJobs(c echo.Context) ([]string, error) {
	jobs := a.jobInfos()
	names := make([]string, len(jobs))
	for i, j := range jobs {
		names[i] = j.Name
	}
	latest, err := a.store.FindLatestJobRuns(c.Request().Context(), tenant(c).ID, names)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range names {
		if r := latest[n]; r != nil && runFailed(r) {
			out = append(out, n)
		}
	}
	return out, nil
}

// runFailed reports whether a finished run failed: its error, or items it
// could not process.
func runFailed(r *model.JobRun) bool {
	return r.FinishedAt != nil && (r.Error != "" || r.Failed > 0)
}
