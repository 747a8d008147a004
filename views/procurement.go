package views

import (
	"time"

	"orderdesk/model"
)

// ProcurementView is what /admin/procurement shows.
type ProcurementView struct {
	Stage     string
	Orders    []*model.Order // paid orders in the chosen procurement status
	Errors    []*model.Order // orders whose procurement needs a person
	Purchases []*model.Purchase
	ByOrder   map[int64][]string // purchase ids per order
	Counts    model.ProcurementCounts
	Lang      string
	Loc       *time.Location
}

// ProcurementResult is the outcome of a button on the procurement page.
type ProcurementResult struct {
	OrderID  int64
	Messages []string
	Error    string
}

// AccountsView is what /admin/procurement/accounts shows.
type AccountsView struct {
	Accounts     []*model.TaobaoAccount
	Integrations []*model.Integration // the tenant's Taobao integrations
	Now          time.Time
	Loc          *time.Location
	Error        string // why the action of this request failed
}

// JobRow is one background job with the shop's latest runs.
type JobRow struct {
	Name     string
	Interval time.Duration
	// Paused is this shop's pause; InstancePaused the instance operator's, for
	// every shop (orderdesk jobs pause NAME), which no page changes.
	Paused         bool
	InstancePaused bool
	Runs           []JobRunRow
}

// JobRunRow is one run of a job as the jobs page shows it.
type JobRunRow struct {
	Run *model.JobRun
	// Running: not finished yet, and its lease may still hold; the row follows
	// it. An unfinished run that is not running was cut off.
	Running bool
	Loc     *time.Location
}

// JobRunRowID is the id of a run's row, the target htmx swaps while it runs.
func JobRunRowID(id int64) string { return "job-run-" + idStr(id) }

// JobRunURL is where a run's row is fetched from.
func JobRunURL(id int64) string { return "/admin/jobs/runs/" + idStr(id) }

// DashboardData is what the dashboard warns about.
type DashboardData struct {
	Expiring    []*model.TaobaoAccount // sessions ending within a few hours or over
	Procurement model.ProcurementCounts
	OpenReviews int
	// ReadyToShip orders have every item at the warehouse; ShipmentProblems
	// are shipments a carrier refused or reports a problem with.
	ReadyToShip, ShipmentProblems int
	NeedsPerson                   int
	// OTExpiring are OT's Taobao sessions ending within a few hours or
	// over; OT counts what waits in the OT work.
	OTExpiring []*model.OTProviderSession
	OT         model.OTCounts
	Now        time.Time
}

func accountState(a *model.TaobaoAccount, now time.Time) string {
	switch {
	case a.Status == model.AccountNeedsAuthorization || !now.Before(a.RefreshExpiresAt):
		return "needs authorization"
	case a.RefreshExpiresAt.Sub(now) < 4*time.Hour:
		return "ends soon"
	}
	return "active"
}
