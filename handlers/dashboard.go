package handlers

import (
	"net/http"
	"strconv"
	"time"

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
	var procurement model.DashboardState
	if buys {
		if procurement, err = a.store.FindDashboardState(ctx, t.ID, a.jobNames()); err != nil {
			return err
		}
		add(true, views.TodoOTQuestions, procurement.OT.Awaiting, "/admin/procurement/ot/activities")
		d.Sessions = sessionsToRenew(procurement, a.store.Now(), counts.ToBuy)
	}
	add(works, views.TodoShip, counts.ReadyToShip, "/admin/orders?ready=1")
	add(buys, views.TodoJobs, len(procurement.FailingJobs), "/admin/jobs?failing=1")
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
func sessionsToRenew(st model.DashboardState, now time.Time, toBuy int) []views.Session {
	var out []views.Session
	for _, acct := range st.TaobaoAccounts {
		if s := views.TaobaoSession(acct); s.Due(now) {
			s.Waiting = toBuy
			out = append(out, s)
		}
	}
	for _, ps := range st.OTSessions {
		if s := views.OTSession(ps); s.Due(now) {
			s.Waiting = st.OT.WaitingForSession
			out = append(out, s)
		}
	}
	return out
}

// jobNames are the names of the jobs the shop runs.
func (a *App) jobNames() []string {
	jobs := a.jobInfos()
	names := make([]string, len(jobs))
	for i, j := range jobs {
		names[i] = j.Name
	}
	return names
}
