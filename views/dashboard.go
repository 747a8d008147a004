package views

import (
	"strings"
	"time"

	"orderdesk/model"
)

// DashboardData is what the dashboard shows: the day's to-do list of the
// signed-in user's role, the sessions to renew, and (for owners and admins)
// the sales.
type DashboardData struct {
	Now time.Time
	// Todo is the to-do list, in the order it is shown; only the items the
	// user's role can act on.
	Todo []TodoItem
	// Sessions are the Taobao sessions (direct or at OT) to renew now.
	Sessions []Session
	// ShipmentProblems are shipments a carrier refused or reports a problem
	// with (shown to those who work orders).
	ShipmentProblems int
	// Days are the sales of the last days, today last; nil when the role
	// does not see the shop's money.
	Days     []model.DayTotals
	Currency string
}

// TodoItem is one line of the to-do list: how many things wait, and the list
// that shows exactly them.
type TodoItem struct {
	// Key names the item: its words are dashboard.todo.{Key} (counted) and
	// dashboard.done.{Key}, its test id todo-{Key}.
	Key   string
	Count int
	Href  string
	// Data fills the fields of the item's words ({{.Hours}}).
	Data map[string]any
}

// The to-do items, in the order of the day's work.
const (
	TodoConfirm     = "confirm"      // orders on hold: confirm or cancel
	TodoUnpaid      = "unpaid"       // waiting for payment too long
	TodoReviews     = "reviews"      // payments to review
	TodoBuy         = "buy"          // paid orders to buy
	TodoNeedsPerson = "needs_person" // purchases needing a person
	TodoBalance     = "balance"      // purchases waiting for balance
	TodoOTQuestions = "ot_questions" // OT activities waiting for an answer
	TodoShip        = "ship"         // ready at the warehouse
	TodoJobs        = "jobs"         // jobs whose last run failed
	TodoMessages    = "messages"     // messages given up on
)

// SessionRenewWithin is how long before its end a session is renewed: the
// dashboard warns about it from then on (the morning renewal).
const SessionRenewWithin = 4 * time.Hour

// SessionKind says where a Taobao session is held: on the shop's own Taobao
// account (buying directly) or at OT Platform (buying through OT).
type SessionKind string

// The kinds of session.
const (
	SessionTaobao SessionKind = "taobao"
	SessionOT     SessionKind = "ot"
)

// Session is a Taobao session as every warning and table shows it, so that
// they agree: one that needs authorization never shows a count-down.
type Session struct {
	Kind  SessionKind
	Login string
	// Status is the stored one: active or needs_authorization.
	Status string
	// EndsAt is when the session ends; zero when nobody says.
	EndsAt time.Time
	// Waiting is how many paid orders wait for sessions of this kind.
	Waiting int
}

// TaobaoSession is an account's session.
func TaobaoSession(a *model.TaobaoAccount) Session {
	return Session{Kind: SessionTaobao, Login: a.Account, Status: a.Status, EndsAt: a.RefreshExpiresAt}
}

// OTSession is a session OT holds for the shop.
func OTSession(s *model.OTProviderSession) Session {
	return Session{Kind: SessionOT, Login: s.Login, Status: s.Status, EndsAt: s.ExpiresAt}
}

// NeedsAuthorization reports whether only a new authorization helps: the
// session was refused, or it ended.
func (s Session) NeedsAuthorization(now time.Time) bool {
	return s.Status == model.AccountNeedsAuthorization || (!s.EndsAt.IsZero() && !now.Before(s.EndsAt))
}

// Due reports whether the session is to be renewed now: it needs
// authorization or ends within SessionRenewWithin.
func (s Session) Due(now time.Time) bool {
	return s.NeedsAuthorization(now) || (!s.EndsAt.IsZero() && s.EndsAt.Sub(now) < SessionRenewWithin)
}

// RenewHref is the page where the session is renewed.
func (s Session) RenewHref() string {
	if s.Kind == SessionOT {
		return "/admin/procurement/ot/sessions"
	}
	return "/admin/procurement/accounts"
}

// sessionPages are the renewal pages as errors name them ("authorize the
// account again on the Procurement → Accounts page"), by their address.
var sessionPages = map[string][]string{
	"/admin/procurement/accounts":    {"on the Procurement → Accounts page", "on Procurement → Accounts"},
	"/admin/procurement/ot/sessions": {"on Procurement → OT sessions", "on the Procurement → OT sessions page"},
}

// ErrorHere is msg as shown on the page at path: a direction to go to the
// page the operator is on becomes one to the button beside it.
func ErrorHere(msg, path string) string {
	for _, name := range sessionPages[path] {
		msg = strings.ReplaceAll(msg, name, "with Renew")
	}
	return msg
}

// sessionLength is how long the newest session of accounts lasts, from its
// authorization to its end: what Taobao said when it was authorized. Zero
// when no account is connected.
func sessionLength(accounts []*model.TaobaoAccount) time.Duration {
	var newest *model.TaobaoAccount
	for _, a := range accounts {
		if newest == nil || a.ObtainedAt.After(newest.ObtainedAt) {
			newest = a
		}
	}
	if newest == nil {
		return 0
	}
	// Rounded to the hour: Taobao counts from its own clock, a few seconds
	// before ours.
	return newest.RefreshExpiresAt.Sub(newest.ObtainedAt).Round(time.Hour)
}

// Chart geometry of the sales chart, in the SVG's own units (it scales to
// its box).
const (
	chartW, chartH = 700, 220
	chartTop       = 10
	chartBottom    = 30 // room for the day labels
)

// chartBar is one day's bar of the sales chart.
type chartBar struct {
	Day                model.DayTotals
	X, W, Y, H, CostY  int
	CostH, LabelX      int
	Net, Cost, Margin  int64
	PaidOrders, Number int
}

// chartBars lays the days out: one bar per day, its height the day's net
// sales, the cost drawn inside it, all to the scale of the best day.
func chartBars(days []model.DayTotals) []chartBar {
	var top int64 = 1
	for _, d := range days {
		top = max(top, d.Net(), d.Cost)
	}
	slot := chartW / max(len(days), 1)
	plot := chartH - chartTop - chartBottom
	bars := make([]chartBar, len(days))
	for i, d := range days {
		h := int(max(d.Net(), 0) * int64(plot) / top)
		ch := int(max(d.Cost, 0) * int64(plot) / top)
		bars[i] = chartBar{Day: d, X: i*slot + slot/6, W: slot * 2 / 3, H: h, Y: chartTop + plot - h,
			CostH: ch, CostY: chartTop + plot - ch, LabelX: i*slot + slot/2,
			Net: d.Net(), Cost: d.Cost, Margin: d.Margin(), PaidOrders: d.PaidOrders, Number: i + 1}
	}
	return bars
}

// sumDays adds days up.
func sumDays(days []model.DayTotals) model.DayTotals {
	var t model.DayTotals
	for _, d := range days {
		t.PaidOrders += d.PaidOrders
		t.Sales += d.Sales
		t.Refunds += d.Refunds
		t.Cost += d.Cost
	}
	return t
}

// lastDay is today's totals: the last of days.
func lastDay(days []model.DayTotals) model.DayTotals {
	if len(days) == 0 {
		return model.DayTotals{}
	}
	return days[len(days)-1]
}

// allDone reports whether nothing on the to-do list waits.
func allDone(items []TodoItem) bool {
	for _, it := range items {
		if it.Count > 0 {
			return false
		}
	}
	return true
}
