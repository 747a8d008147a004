package model

import (
	"context"
	"slices"
	"strings"
	"time"
)

// UnpaidAttentionAfter is how long an order may wait for its payment before
// the dashboard lists it: a constant, not a shop setting, because it only
// sorts what a person looks at first (the expiry job, which does act, has
// the shop's own setting, UnpaidExpiryMinutes).
const UnpaidAttentionAfter = 2 * time.Hour

// Dashboard buckets of migrations/0015: orders per shop, kept by triggers.
const (
	BucketToBuy       = "to_buy"       // paid, not bought yet, confirmed or processing
	BucketNeedsPerson = "needs_person" // procurement stopped with an error
	BucketUnpaid      = "unpaid"       // placed and unpaid
)

// dashboardBuckets are the conditions the triggers of migrations/0015 keep
// counts of, written as the order list filters them (o is the order). The
// counts test compares each kept count with a count of its condition.
var dashboardBuckets = map[string]string{
	BucketToBuy:       toBuyCondition,
	BucketNeedsPerson: "o.procurement_error <> ''",
	BucketUnpaid:      unpaidCondition,
}

// toBuyCondition selects the orders the orders-to-taobao job buys: paid,
// procurement not started, neither held nor closed.
const toBuyCondition = "o.payment_status = 'paid' AND o.procurement_status = 'pending' AND o.status IN ('confirmed', 'processing')"

// unpaidCondition selects the orders still waiting for their payment.
const unpaidCondition = "o.status = 'pending' AND o.payment_status = 'pending'"

// DashboardCounts are the counts of the dashboard's to-do list.
type DashboardCounts struct {
	ToConfirm         int // orders on hold, waiting for a person to confirm (or cancel) them
	ToBuy             int // paid orders not bought yet
	ReadyToShip       int // every line at the warehouse
	UnpaidLong        int // unpaid for longer than UnpaidAttentionAfter
	PaymentReviews    int // open payment reviews
	NeedsPerson       int // orders whose procurement needs a person
	WaitingForBalance int // purchases not paid for lack of balance
	ShipmentProblems  int // shipments refused or with a problem
	Undelivered       int // messages given up on (dead letters)
}

// CountDashboard reads the dashboard's counts: kept counts (order_status_counts
// and dashboard_counts) and counts of small partial or selective index ranges,
// never a scan of the shop's orders. balanceCode is the supplier's code for
// an insufficient balance.
func (s *Store) CountDashboard(ctx context.Context, tenantID int64, balanceCode string) (_ DashboardCounts, err error) {
	defer wrapErr(&err, "count dashboard (tenantID=%d)", tenantID)
	var c DashboardCounts
	var unpaid, unpaidRecent int
	// The unpaid count is kept; those placed within the threshold are the few
	// newest, read from the young end of the expiry job's index.
	err = s.DB.R.QueryRowContext(ctx, `SELECT
		(SELECT coalesce(sum(n), 0) FROM order_status_counts WHERE tenant_id = ? AND status = 'holded'),
		(SELECT coalesce(sum(n), 0) FROM dashboard_counts WHERE tenant_id = ? AND bucket = 'to_buy'),
		(SELECT coalesce(sum(n), 0) FROM dashboard_counts WHERE tenant_id = ? AND bucket = 'needs_person'),
		(SELECT coalesce(sum(n), 0) FROM dashboard_counts WHERE tenant_id = ? AND bucket = 'unpaid'),
		(SELECT count(*) FROM orders WHERE tenant_id = ? AND payment_status = 'pending' AND status = 'pending' AND created_at >= ?),
		(`+readyCount+`),
		(SELECT count(*) FROM payment_reviews WHERE tenant_id = ? AND resolution = ''),
		(SELECT count(*) FROM purchases WHERE tenant_id = ? AND stage = 'created' AND error LIKE ?),
		(SELECT count(*) FROM shipments WHERE tenant_id = ? AND status IN ('failed', 'problem')),
		(SELECT count(*) FROM outbox WHERE tenant_id = ? AND status = 'dead')`,
		tenantID, tenantID, tenantID, tenantID, tenantID, s.now().Add(-UnpaidAttentionAfter), tenantID, tenantID, tenantID,
		"%"+balanceCode+"%", tenantID, tenantID).
		Scan(&c.ToConfirm, &c.ToBuy, &c.NeedsPerson, &unpaid, &unpaidRecent, &c.ReadyToShip, &c.PaymentReviews,
			&c.WaitingForBalance, &c.ShipmentProblems, &c.Undelivered)
	c.UnpaidLong = max(unpaid-unpaidRecent, 0)
	return c, err
}

// DayTotals are one day's sales (paid orders placed that day), the refunds
// made on them and their purchase cost, in the shop's currency.
type DayTotals struct {
	Day                  time.Time // midnight of the day, in the shop's time zone
	PaidOrders           int
	Sales, Refunds, Cost int64
}

// Net is the day's sales net of refunds.
func (d DayTotals) Net() int64 { return d.Sales - d.Refunds }

// Margin is what the day's net sales leave after their purchase cost.
func (d DayTotals) Margin() int64 { return d.Net() - d.Cost }

// dailyTotalsKept is how many shops' weeks are kept (a shop's dashboard
// shows one week in its own time zone).
const dailyTotalsKept = 64

// dailyTotalsKey is a kept FindDailyTotals: the days up to today in a time
// zone.
type dailyTotalsKey struct {
	zone  string
	today int64 // midnight, Unix seconds
	days  int
}

// FindDailyTotals returns the shop's totals of the last days days (today
// last), each day in the shop's time zone loc, from the quarter-hour totals
// the triggers keep: at most 96 small rows a day, whatever the shop's size.
// Summing a week's quarters was a quarter of the dashboard's time, for
// totals that change only with the shop's orders: they are kept under the
// shop's version (kept.go) and the day.
func (s *Store) FindDailyTotals(ctx context.Context, tenantID int64, loc *time.Location, days int) ([]DayTotals, error) {
	now := s.now().In(loc)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	k := dailyTotalsKey{zone: loc.String(), today: today.Unix(), days: days}
	totals, err := keptRead(ctx, s, s.dailyTotals, tenantID, k, func() ([]DayTotals, error) {
		return s.readDailyTotals(ctx, tenantID, today, days)
	})
	return slices.Clone(totals), err
}

func (s *Store) readDailyTotals(ctx context.Context, tenantID int64, today time.Time, days int) (_ []DayTotals, err error) {
	defer wrapErr(&err, "find daily totals (tenantID=%d days=%d)", tenantID, days)
	out := make([]DayTotals, days)
	if days <= 0 {
		return out, nil
	}
	// SQLite sums each day's quarters (a quarter is the day's when it starts
	// on it), one range of the primary key per day: the page reads one row a
	// day instead of 96, which cost two milliseconds a view in Go, and no
	// GROUP BY sorts the week's 672 rows (a third of the time of a join of
	// the days with their quarters).
	sums := make([]string, days)
	args := make([]any, 0, 4*days)
	for i := range out {
		out[i].Day = today.AddDate(0, 0, i-days+1)
		sums[i] = `SELECT ?, coalesce(sum(paid_orders), 0), coalesce(sum(sales), 0), coalesce(sum(refunds), 0), coalesce(sum(cost), 0)
			FROM order_quarter_totals WHERE tenant_id = ? AND quarter >= ? AND quarter < ?`
		args = append(args, i, tenantID, firstQuarter(out[i].Day), firstQuarter(out[i].Day.AddDate(0, 0, 1)))
	}
	rows, err := s.DB.R.QueryContext(ctx, strings.Join(sums, " UNION ALL "), args...)
	type day struct {
		i int
		t DayTotals
	}
	list, err := collect(rows, err, func(r rowScanner) (day, error) {
		var d day
		err := r.Scan(&d.i, &d.t.PaidOrders, &d.t.Sales, &d.t.Refunds, &d.t.Cost)
		return d, err
	})
	if err != nil {
		return nil, err
	}
	for _, d := range list {
		d.t.Day = out[d.i].Day
		out[d.i] = d.t
	}
	return out, nil
}

// firstQuarter is the first quarter-hour (order_quarter_totals.quarter) that
// starts at or after t.
func firstQuarter(t time.Time) int64 {
	return (t.Unix() + 899) / 900
}

// DashboardState is what the dashboard shows of the shop's procurement
// besides its counts: OT's counts, the sessions it may ask to renew (the
// shop's Taobao accounts and the sessions OT holds), and the jobs whose
// latest run failed.
type DashboardState struct {
	OT             OTCounts
	TaobaoAccounts []*TaobaoAccount
	OTSessions     []*OTProviderSession
	FailingJobs    []string // of the names asked for, in their order
}

// dashboardStatesKept is how many shops' dashboard states are kept.
const dashboardStatesKept = 256

// FindDashboardState reads the shop's DashboardState for the jobs named.
// Four statements a view that change with the shop's procurement and job
// runs, a third of the dashboard's time: kept under the shop's version
// (kept.go), which their tables move.
func (s *Store) FindDashboardState(ctx context.Context, tenantID int64, jobNames []string) (DashboardState, error) {
	st, err := keptRead(ctx, s, s.dashboardStates, tenantID, strings.Join(jobNames, "\x1f"), func() (DashboardState, error) {
		return s.readDashboardState(ctx, tenantID, jobNames)
	})
	return DashboardState{OT: st.OT, TaobaoAccounts: clonePointers(st.TaobaoAccounts), OTSessions: clonePointers(st.OTSessions),
		FailingJobs: slices.Clone(st.FailingJobs)}, err
}

func (s *Store) readDashboardState(ctx context.Context, tenantID int64, jobNames []string) (st DashboardState, err error) {
	if st.OT, err = s.CountOT(ctx, tenantID); err != nil {
		return st, err
	}
	if st.TaobaoAccounts, err = s.FindTaobaoAccounts(ctx, tenantID); err != nil {
		return st, err
	}
	if st.OTSessions, err = s.FindOTProviderSessions(ctx, tenantID); err != nil {
		return st, err
	}
	latest, err := s.FindLatestJobRuns(ctx, tenantID, jobNames)
	if err != nil {
		return st, err
	}
	for _, n := range jobNames {
		if r := latest[n]; r != nil && r.EndedInFailure() {
			st.FailingJobs = append(st.FailingJobs, n)
		}
	}
	return st, nil
}
