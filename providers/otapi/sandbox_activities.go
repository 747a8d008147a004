package otapi

import (
	"context"
	"database/sql"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"orderdesk/providers/internal/sandboxdb"
)

// How the sandbox's activities run. Each GetBackgroundActivityInfo moves an
// activity one step, so a follower sees it running, then waiting for an
// answer if it asks one, then finished:
//
//   - read 1: the activity starts (running);
//   - read 2: its checks; an export asks about each changed price, short
//     stock or AskNextExport question, a linking about each provider item
//     it cannot match (awaiting; each answer asks the next question or
//     lets it go on);
//   - the next read: it does its work and finishes.
//
// The work is one transaction at the end, so an activity cancelled before
// it finishes (CancelBackgroundActivity, or the "Cancel" answer) has
// changed nothing: an export is atomic, and a cancelled one leaves the
// order unexported.

// Answers the sandbox's questions offer. [U] OT's action ids are not
// public.
const (
	actionBuyAtNewPrice = "BuyAtNewPrice"
	actionBuyAvailable  = "BuyAvailable"
	actionSkipItem      = "SkipItem"
	actionCancelExport  = "CancelExport"
	actionLinkLine      = "LinkLine:" // + the line id
	actionLeaveUnlinked = "LeaveUnlinked"
	actionCancelLinking = "CancelLinking"
)

// activity is the state of a sandbox activity, kept as JSON.
type activity struct {
	ID               int64 `json:"-"`
	Type             string
	OrderIDs         []string
	LineIDs          []string `json:",omitempty"`
	ProviderOrderIDs []string `json:",omitempty"`
	ProviderSession  string
	Started          time.Time
	Reads            int
	Phase            string // "" (new), "check", "work"
	Steps            []activityStep
	Question         *question `json:",omitempty"`
	// Export: the questions still to ask and the answers per line.
	Pending   []question        `json:",omitempty"`
	Decisions map[string]string `json:",omitempty"`
	// Link: the provider items ("order#index") not matched yet, and the
	// line chosen for each.
	Unmatched []string          `json:",omitempty"`
	Links     map[string]string `json:",omitempty"` // line id → "order#index"
	FailWith  string            `json:",omitempty"`
	Ask       string            `json:",omitempty"`
	Progress  int
	Finished  bool
	Cancelled bool
}

type activityStep struct {
	Type    string
	Message string
	Code    string `json:",omitempty"`
	At      time.Duration
	Actions []Action `json:",omitempty"`
}

type question struct {
	LineID  string
	Message string
	Actions []Action
}

func (a *activity) step(now time.Time, typ, msg string) {
	a.Steps = append(a.Steps, activityStep{Type: typ, Message: msg, At: now.Sub(a.Started)})
}

func (a *activity) failure(now time.Time, code, msg string) {
	a.Steps = append(a.Steps, activityStep{Type: "Error", Message: msg, Code: code, At: now.Sub(a.Started)})
	a.Finished, a.Progress = true, 100
}

func (a *activity) finish(now time.Time, msg string) {
	if msg != "" {
		a.step(now, "Info", msg)
	}
	a.Finished, a.Progress = true, 100
}

// asking puts a question to the operator.
func (a *activity) asking(now time.Time, q question) {
	a.Question = &q
	a.Steps = append(a.Steps, activityStep{Type: "Question", Message: q.Message, Actions: q.Actions, At: now.Sub(a.Started)})
}

var activityDescriptions = map[string]string{
	ActivityExporting:     "Export of order %s to Taobao",
	ActivitySynchronizing: "Synchronisation of %s with Taobao",
	ActivityLinking:       "Linking of order %s with Taobao orders",
	ActivityUnlinking:     "Unlinking of order %s from Taobao orders",
}

func (a *activity) description() string {
	what := strings.Join(a.OrderIDs, ", ")
	if a.Type == ActivitySynchronizing && len(a.OrderIDs) != 1 {
		what = strconv.Itoa(len(a.OrderIDs)) + " orders"
	}
	return fmt.Sprintf(activityDescriptions[a.Type], what)
}

// ---------------------------------------------------------------- starting

// startActivity checks what every Run… method takes and records the
// activity.
func (s *Sandbox) startActivity(ctx context.Context, p params, a *activity) (any, *apiError) {
	if e := s.checkProvider(p); e != nil {
		return nil, e
	}
	a.ProviderSession, a.Started = p.str("providerSessionId"), s.now()
	b, err := json.Marshal(a)
	if err != nil {
		return nil, internal(err)
	}
	orderID := ""
	if len(a.OrderIDs) == 1 {
		orderID = a.OrderIDs[0]
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO otapi_background_activities (type, order_id, state, created_at) VALUES (?, ?, ?, ?)`,
		a.Type, orderID, string(b), stamp(a.Started))
	if err != nil {
		return nil, internal(err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return nil, internal(err)
	}
	return map[string]any{"Type": a.Type, "Id": map[string]string{"Value": strconv.FormatInt(id, 10)}}, nil
}

// runChecks checks the operator and provider sessions of a Run… call.
func (s *Sandbox) runChecks(ctx context.Context, p params) *apiError {
	if e := s.operator(ctx, p); e != nil {
		return e
	}
	if e := s.checkProvider(p); e != nil {
		return e
	}
	_, e := s.providerLogin(ctx, p.str("providerSessionId"))
	return e
}

// orderParams reads <Parameters><OrderId/><OrderLineIds><Id/>… and checks
// that the order has the lines.
func (s *Sandbox) orderParams(ctx context.Context, p params) (*SandboxOrder, []string, *apiError) {
	var x struct {
		OrderID string   `xml:"OrderId"`
		LineIDs []string `xml:"OrderLineIds>Id"`
	}
	if err := xml.Unmarshal([]byte(p.str("xmlParameters")), &x); err != nil || x.OrderID == "" {
		return nil, nil, fail(CodeInvalidArgument, "xmlParameters must be <Parameters><OrderId>…</OrderId></Parameters>")
	}
	o, e := s.order(ctx, x.OrderID)
	if e != nil {
		return nil, nil, e
	}
	for _, id := range x.LineIDs {
		if o.line(id) == nil {
			return nil, nil, fail(CodeInvalidArgument, "Order line %q is not in order %s", id, o.ID)
		}
	}
	return o, x.LineIDs, nil
}

func (s *Sandbox) mRunExport(ctx context.Context, p params) (any, *apiError) {
	if e := s.runChecks(ctx, p); e != nil {
		return nil, e
	}
	o, lines, e := s.orderParams(ctx, p)
	if e != nil {
		return nil, e
	}
	failWith, ask := s.takeExportSwitches()
	return s.startActivity(ctx, p, &activity{Type: ActivityExporting, OrderIDs: []string{o.ID}, LineIDs: lines, FailWith: failWith, Ask: ask})
}

func (s *Sandbox) mRunUnlink(ctx context.Context, p params) (any, *apiError) {
	if e := s.runChecks(ctx, p); e != nil {
		return nil, e
	}
	o, lines, e := s.orderParams(ctx, p)
	if e != nil {
		return nil, e
	}
	return s.startActivity(ctx, p, &activity{Type: ActivityUnlinking, OrderIDs: []string{o.ID}, LineIDs: lines})
}

func (s *Sandbox) mRunSync(ctx context.Context, p params) (any, *apiError) {
	if e := s.runChecks(ctx, p); e != nil {
		return nil, e
	}
	var x struct {
		XMLName xml.Name
		IDs     []string `xml:"OrderIds>Id"`
	}
	if err := xml.Unmarshal([]byte(p.str("xmlParameters")), &x); err != nil || x.XMLName.Local != "Parameters" {
		return nil, fail(CodeInvalidArgument, "xmlParameters must be <Parameters><OrderIds>…</OrderIds></Parameters>")
	}
	for _, id := range x.IDs {
		if _, e := s.order(ctx, id); e != nil {
			return nil, e
		}
	}
	if len(x.IDs) == 0 {
		// Every exported order, as the background synchronisation does.
		rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT order_id FROM otapi_sales_lines WHERE vend_purch_id != '' ORDER BY order_id`)
		ids, err := sandboxdb.Collect(rows, err, sandboxdb.Column[string])
		if err != nil {
			return nil, internal(err)
		}
		x.IDs = ids
	}
	return s.startActivity(ctx, p, &activity{Type: ActivitySynchronizing, OrderIDs: x.IDs})
}

func (s *Sandbox) mRunLink(ctx context.Context, p params) (any, *apiError) {
	if e := s.runChecks(ctx, p); e != nil {
		return nil, e
	}
	var x struct {
		OrderID string   `xml:"OrderId"`
		IDs     []string `xml:"ProviderOrderIds>Id"`
	}
	if err := xml.Unmarshal([]byte(p.str("xmlParameters")), &x); err != nil || x.OrderID == "" || len(x.IDs) == 0 {
		return nil, fail(CodeInvalidArgument, "xmlParameters must be <Parameters><OrderId>…</OrderId><ProviderOrderIds><Id>…</Id></ProviderOrderIds></Parameters>")
	}
	if _, e := s.order(ctx, x.OrderID); e != nil {
		return nil, e
	}
	return s.startActivity(ctx, p, &activity{Type: ActivityLinking, OrderIDs: []string{x.OrderID}, ProviderOrderIDs: x.IDs})
}

// ---------------------------------------------------------------- following

// loadActivity reads an activity of the given type.
func (s *Sandbox) loadActivity(ctx context.Context, id, typ string) (*activity, *apiError) {
	var state, gotType string
	err := s.db.QueryRowContext(ctx, `SELECT type, state FROM otapi_background_activities WHERE id = ?`, id).Scan(&gotType, &state)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && gotType != typ) {
		return nil, fail(CodeNotFound, "Activity %s of type %q is not found", id, typ)
	}
	if err != nil {
		return nil, internal(err)
	}
	var a activity
	if err := json.Unmarshal([]byte(state), &a); err != nil {
		return nil, internal(err)
	}
	a.ID, err = strconv.ParseInt(id, 10, 64)
	if err != nil {
		return nil, internal(err)
	}
	return &a, nil
}

func saveActivity(ctx context.Context, tx *sql.Tx, a *activity) error {
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE otapi_background_activities SET state = ?, finished = ? WHERE id = ?`, string(b), a.Finished, a.ID)
	return err
}

func (s *Sandbox) mActivityInfo(ctx context.Context, p params) (any, *apiError) {
	if e := s.operator(ctx, p); e != nil {
		return nil, e
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	a, e := s.loadActivity(ctx, p.str("activityId"), p.str("activityType"))
	if e != nil {
		return nil, e
	}
	a.Reads++
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		if !a.Finished && a.Question == nil {
			if err := s.advance(ctx, tx, a); err != nil {
				return err
			}
		}
		return saveActivity(ctx, tx, a)
	})
	if err != nil {
		return nil, internal(err)
	}
	return activityResult(a), nil
}

// activityResult renders an activity as BackgroundActivityFullInfo.
func activityResult(a *activity) map[string]any {
	hms := func(d time.Duration) string {
		d = d.Round(time.Second)
		return fmt.Sprintf("%02d:%02d:%02d", int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60)
	}
	steps := []map[string]any{}
	var last time.Duration
	for _, st := range a.Steps {
		m := map[string]any{"Type": st.Type, "Message": st.Message, "TimeFromStart": hms(st.At), "Actions": actionsResult(st.Actions)}
		if st.Code != "" {
			m["ErrorCode"] = st.Code // [U] see Step.Code
		}
		steps = append(steps, m)
		last = st.At
	}
	var acts []Action
	if a.Question != nil {
		acts = a.Question.Actions
	}
	return map[string]any{
		"Id": map[string]string{"Value": strconv.FormatInt(a.ID, 10)}, "Type": a.Type, "Description": a.description(),
		"IsFinished": a.Finished, "IsCancelled": a.Cancelled, "IsAwaitingAction": a.Question != nil, "ProgressPercent": a.Progress,
		"WorkTime": hms(last), "StartTime": a.Started.Format("2006-01-02T15:04:05"), "Actions": actionsResult(acts), "Steps": steps,
	}
}

func actionsResult(acts []Action) []map[string]string {
	out := []map[string]string{}
	for _, ac := range acts {
		out = append(out, map[string]string{"Id": ac.ID, "DisplayName": ac.DisplayName})
	}
	return out
}

// advance moves a running activity one step (see the comment at the top).
func (s *Sandbox) advance(ctx context.Context, tx *sql.Tx, a *activity) error {
	now := s.now()
	switch a.Phase {
	case "":
		a.Phase, a.Progress = "check", 20
		a.step(now, "Info", map[string]string{
			ActivityExporting:     "Checking items, configurations and prices of order " + strings.Join(a.OrderIDs, ""),
			ActivitySynchronizing: fmt.Sprintf("Reading %d orders at Taobao", len(a.OrderIDs)),
			ActivityLinking:       "Matching the items of Taobao orders " + strings.Join(a.ProviderOrderIDs, ", ") + " with order " + strings.Join(a.OrderIDs, ""),
			ActivityUnlinking:     "Finding the linked lines of order " + strings.Join(a.OrderIDs, ""),
		}[a.Type])
		return nil
	case "check":
		var err error
		switch a.Type {
		case ActivityExporting:
			err = s.checkExport(ctx, tx, a)
		case ActivityLinking:
			err = s.checkLink(ctx, tx, a)
		}
		if err != nil || a.Finished {
			return err
		}
		return s.next(ctx, tx, a)
	}
	// The work needs a live Taobao session: it may have ended while the
	// activity waited for an answer.
	account, e := s.providerLogin(ctx, a.ProviderSession)
	if e != nil {
		a.failure(now, ReasonProviderSessionExpired, e.description)
		return nil
	}
	switch a.Type {
	case ActivityExporting:
		return s.doExport(ctx, tx, a, account)
	case ActivitySynchronizing:
		return s.doSync(ctx, tx, a)
	case ActivityLinking:
		return s.doLink(ctx, tx, a)
	case ActivityUnlinking:
		return s.doUnlink(ctx, tx, a)
	}
	return fmt.Errorf("activity type %q", a.Type)
}

// next asks the next question, or lets the activity do its work at the
// next read.
func (s *Sandbox) next(ctx context.Context, q querier, a *activity) error {
	now := s.now()
	switch {
	case len(a.Pending) > 0:
		next := a.Pending[0]
		a.Pending = a.Pending[1:]
		a.asking(now, next)
		a.Progress = 40
		return nil
	case a.Type == ActivityLinking && len(a.Unmatched) > 0:
		next, err := s.linkQuestion(ctx, q, a)
		if err != nil {
			return err
		}
		a.asking(now, next)
		a.Progress = 40
		return nil
	}
	a.Phase, a.Progress = "work", 60
	a.step(now, "Info", map[string]string{
		ActivityExporting:     "Placing the order at Taobao",
		ActivitySynchronizing: "Bringing statuses and track numbers from Taobao",
		ActivityLinking:       "Linking the matched lines",
		ActivityUnlinking:     "Unlinking the lines",
	}[a.Type])
	return nil
}

func (s *Sandbox) mActivityAction(ctx context.Context, p params) (any, *apiError) {
	if e := s.operator(ctx, p); e != nil {
		return nil, e
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	a, e := s.loadActivity(ctx, p.str("activityId"), p.str("activityType"))
	if e != nil {
		return nil, e
	}
	if a.Question == nil {
		return nil, fail(CodeInvalidArgument, "Activity %d is not waiting for an answer", a.ID)
	}
	var chosen *Action
	for i := range a.Question.Actions {
		if a.Question.Actions[i].ID == p.str("actionId") {
			chosen = &a.Question.Actions[i]
		}
	}
	if chosen == nil {
		return nil, fail(CodeInvalidArgument, "Action %q is not one the activity offers", p.str("actionId"))
	}
	now := s.now()
	asked := *a.Question
	a.Question = nil
	a.step(now, "Info", "Answer: "+chosen.DisplayName)
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		switch {
		case chosen.ID == actionCancelExport || chosen.ID == actionCancelLinking:
			a.cancel(now)
		case a.Type == ActivityExporting:
			if a.Decisions == nil {
				a.Decisions = map[string]string{}
			}
			// A line's first "skip" stands; a later question about it does
			// not buy it again.
			if a.Decisions[asked.LineID] != actionSkipItem {
				a.Decisions[asked.LineID] = chosen.ID
			}
			if err := s.next(ctx, tx, a); err != nil {
				return err
			}
		case a.Type == ActivityLinking:
			ref := a.Unmatched[0]
			a.Unmatched = a.Unmatched[1:]
			if line, ok := strings.CutPrefix(chosen.ID, actionLinkLine); ok {
				if a.Links == nil {
					a.Links = map[string]string{}
				}
				a.Links[line] = ref
			}
			if err := s.next(ctx, tx, a); err != nil {
				return err
			}
		}
		return saveActivity(ctx, tx, a)
	})
	if err != nil {
		return nil, internal(err)
	}
	return noResult{}, nil
}

// cancel stops the activity: its work has not been done, so nothing
// changes.
func (a *activity) cancel(now time.Time) {
	a.Question, a.Pending, a.Cancelled = nil, nil, true
	a.step(now, "Warning", "Cancelled by the operator: nothing was changed")
	a.Finished, a.Progress = true, 100
}

func (s *Sandbox) mActivityCancel(ctx context.Context, p params) (any, *apiError) {
	if e := s.operator(ctx, p); e != nil {
		return nil, e
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	a, e := s.loadActivity(ctx, p.str("activityId"), p.str("activityType"))
	if e != nil {
		return nil, e
	}
	if a.Finished {
		return nil, fail(CodeInvalidArgument, "Activity %d has already finished", a.ID)
	}
	a.cancel(s.now())
	if err := s.writeTx(ctx, func(tx *sql.Tx) error { return saveActivity(ctx, tx, a) }); err != nil {
		return nil, internal(err)
	}
	return noResult{}, nil
}

// ---------------------------------------------------------------- export

// exportable returns the lines of o an export takes: the chosen ones (or
// all) that are paid and not at the provider, without Tmall items; it logs
// why it leaves the others.
func exportable(now time.Time, a *activity, o *SandboxOrder, log bool) []SandboxLine {
	chosen := map[string]bool{}
	for _, id := range a.LineIDs {
		chosen[id] = true
	}
	var out []SandboxLine
	for _, l := range o.Lines {
		if len(chosen) > 0 && !chosen[l.ID] {
			continue
		}
		c, _ := catalogueItem(l.ItemID)
		var why string
		switch {
		case l.StatusID == LineStatusCancelled:
			why = "is cancelled"
		case l.VendPurchID != "":
			why = "is already at Taobao in order " + l.VendPurchID
		case c.Tmall:
			why = "is a Tmall item: autobuy does not buy Tmall items; buy it by hand and link the Taobao order"
		}
		if why == "" {
			out = append(out, l)
		} else if log {
			a.step(now, "Warning", fmt.Sprintf("Line %s (item %s) %s", l.ID, l.ItemID, why))
		}
	}
	return out
}

func exportActions(buy Action) []Action {
	return []Action{buy, {ID: actionSkipItem, DisplayName: "Skip this item"}, {ID: actionCancelExport, DisplayName: "Cancel the export"}}
}

// checkExport checks the order and the lines to export and lines up the
// questions.
func (s *Sandbox) checkExport(ctx context.Context, tx *sql.Tx, a *activity) error {
	now := s.now()
	o, err := s.loadOrder(ctx, tx, a.OrderIDs[0])
	if err != nil {
		return err
	}
	switch {
	case o.Cancelled:
		a.failure(now, "", "Order "+o.ID+" is cancelled")
		return nil
	case o.Paid < o.Total:
		// OT exports only paid orders (seed 002).
		a.failure(now, ReasonOrderNotPaid, fmt.Sprintf("Order %s is not paid (%s of %s)", o.ID, FormatMoney(o.Paid), FormatMoney(o.Total)))
		return nil
	}
	lines := exportable(now, a, o, true)
	for i, l := range lines {
		c, _ := catalogueItem(l.ItemID)
		if i == 0 && a.Ask != "" {
			a.Pending = append(a.Pending, question{LineID: l.ID, Message: a.Ask,
				Actions: exportActions(Action{ID: actionBuyAtNewPrice, DisplayName: "Buy at the new price"})})
		}
		if c.ProviderPrice != 0 && c.ProviderPrice != l.Price {
			a.Pending = append(a.Pending, question{LineID: l.ID,
				Message: fmt.Sprintf("Line %s: the price of item %s at Taobao is %s, not %s", l.ID, l.ItemID, FormatMoney(c.ProviderPrice), FormatMoney(l.Price)),
				Actions: exportActions(Action{ID: actionBuyAtNewPrice, DisplayName: "Buy at the new price"})})
		}
		if c.Stock > 0 && l.Quantity > c.Stock {
			a.Pending = append(a.Pending, question{LineID: l.ID,
				Message: fmt.Sprintf("Line %s: Taobao has only %d of item %s, the line asks for %d", l.ID, c.Stock, l.ItemID, l.Quantity),
				Actions: exportActions(Action{ID: actionBuyAvailable, DisplayName: fmt.Sprintf("Buy the %d available", c.Stock)})})
		}
	}
	if len(lines) == 0 {
		a.finish(now, "Nothing to export in order "+o.ID)
	}
	return nil
}

// doExport places the order at Taobao as account: one provider order per
// seller for the lines not skipped, the lines linked to them, all in the
// caller's transaction.
func (s *Sandbox) doExport(ctx context.Context, tx *sql.Tx, a *activity, account string) error {
	now := s.now()
	sw := s.Switches()
	reason := a.FailWith
	switch {
	case sw.UnpaidOrdersLimit:
		reason = ReasonUnpaidOrdersLimit
	case sw.InvalidBuyoutAddress:
		reason = ReasonInvalidBuyoutAddress
	}
	switch reason {
	case "":
	case ReasonUnpaidOrdersLimit:
		a.failure(now, reason, "Limit of unpaid orders at the provider is exceeded: pay for some orders on Taobao first")
		return nil
	case ReasonInvalidBuyoutAddress:
		a.failure(now, reason, "Invalid buyout address settings: Taobao refused the recipient's address")
		return nil
	default:
		a.failure(now, reason, "Taobao refused the order ("+reason+")")
		return nil
	}
	o, err := s.loadOrder(ctx, tx, a.OrderIDs[0])
	if err != nil {
		return err
	}
	bySeller := map[string]*ProviderOrder{}
	var sellers []string
	for _, l := range exportable(now, a, o, false) {
		c, _ := catalogueItem(l.ItemID)
		qty := l.Quantity
		switch a.Decisions[l.ID] {
		case actionSkipItem:
			a.step(now, "Info", fmt.Sprintf("Line %s (item %s) skipped", l.ID, l.ItemID))
			continue
		case actionBuyAvailable:
			qty = c.Stock
			a.step(now, "Warning", fmt.Sprintf("Line %s: bought %d of %d", l.ID, qty, l.Quantity))
		}
		po := bySeller[c.Seller]
		if po == nil {
			po = &ProviderOrder{Account: account, Seller: c.Seller, Status: TradeWaitBuyerPay}
			bySeller[c.Seller] = po
			sellers = append(sellers, c.Seller)
		}
		po.Items = append(po.Items, ProviderItem{ItemID: l.ItemID, ConfigurationID: l.ConfigurationID, PromotionID: l.PromotionID, Quantity: qty, LineID: l.ID})
	}
	if len(sellers) == 0 {
		a.finish(now, "Nothing was exported: every line was skipped")
		return nil
	}
	for _, seller := range sellers {
		po := bySeller[seller]
		if err := s.insertProviderOrder(ctx, tx, po); err != nil {
			return err
		}
		var ids []string
		for _, it := range po.Items {
			if err := applyVend(ctx, tx, it.LineID, po, it); err != nil {
				return err
			}
			ids = append(ids, it.LineID)
		}
		a.step(now, "Info", fmt.Sprintf("Taobao order %s placed with seller %s for lines %s", po.ID, seller, strings.Join(ids, ", ")))
	}
	a.finish(now, "Order "+o.ID+" exported")
	return nil
}

// ---------------------------------------------------------------- sync

// doSync moves every provider order of the activity's orders one step
// along at Taobao and brings the state to their lines.
func (s *Sandbox) doSync(ctx context.Context, tx *sql.Tx, a *activity) error {
	now := s.now()
	seen := map[string]bool{}
	for _, oid := range a.OrderIDs {
		o, err := s.loadOrder(ctx, tx, oid)
		if err != nil {
			return err
		}
		for _, l := range o.Lines {
			if l.VendPurchID == "" || seen[l.VendPurchID] {
				continue
			}
			seen[l.VendPurchID] = true
			po, err := s.loadProviderOrder(ctx, tx, l.VendPurchID)
			if err != nil {
				return err
			}
			advanceTrade(po)
			if err := saveProviderOrder(ctx, tx, po); err != nil {
				return err
			}
			for _, it := range po.Items {
				if it.LineID == "" {
					continue
				}
				if err := applyVend(ctx, tx, it.LineID, po, it); err != nil {
					return err
				}
			}
			msg := fmt.Sprintf("Taobao order %s: %s (%s)", po.ID, po.Status, lineStatusName(tradeLineStatus[po.Status]))
			if po.Waybill != "" {
				msg += ", track " + po.Waybill
			}
			a.step(now, "Info", msg)
		}
	}
	a.finish(now, fmt.Sprintf("%d orders synchronised", len(a.OrderIDs)))
	return nil
}

// ---------------------------------------------------------------- link

// checkLink matches the provider orders' free items with the order's free
// lines by item and configuration; what it cannot match is asked.
func (s *Sandbox) checkLink(ctx context.Context, tx *sql.Tx, a *activity) error {
	now := s.now()
	o, err := s.loadOrder(ctx, tx, a.OrderIDs[0])
	if err != nil {
		return err
	}
	taken := map[string]bool{}
	a.Links = map[string]string{}
	for _, poID := range a.ProviderOrderIDs {
		po, err := s.loadProviderOrder(ctx, tx, poID)
		if errors.Is(err, ErrNotFound) {
			a.failure(now, "", "Taobao order "+poID+" is not found")
			return nil
		}
		if err != nil {
			return err
		}
		for i, it := range po.Items {
			if it.LineID != "" {
				continue
			}
			ref := po.ID + "#" + strconv.Itoa(i)
			matched := false
			for _, l := range o.Lines {
				if !taken[l.ID] && l.VendPurchID == "" && l.StatusID != LineStatusCancelled && l.ItemID == it.ItemID && l.ConfigurationID == it.ConfigurationID {
					taken[l.ID], matched = true, true
					a.Links[l.ID] = ref
					a.step(now, "Info", fmt.Sprintf("Line %s matches item %s of Taobao order %s", l.ID, it.ItemID, po.ID))
					break
				}
			}
			if !matched {
				a.Unmatched = append(a.Unmatched, ref)
			}
		}
	}
	return nil
}

// linkQuestion asks which free line the first unmatched provider item is
// for; with no free line left it still asks, to leave it or to cancel (the
// operator may have named the wrong Taobao order).
func (s *Sandbox) linkQuestion(ctx context.Context, q querier, a *activity) (question, error) {
	o, err := s.loadOrder(ctx, q, a.OrderIDs[0])
	if err != nil {
		return question{}, err
	}
	linked := map[string]bool{}
	for line := range a.Links {
		linked[line] = true
	}
	var acts []Action
	for _, l := range o.Lines {
		if !linked[l.ID] && l.VendPurchID == "" && l.StatusID != LineStatusCancelled {
			acts = append(acts, Action{ID: actionLinkLine + l.ID, DisplayName: fmt.Sprintf("Link to line %s (item %s, configuration %s)", l.ID, l.ItemID, l.ConfigurationID)})
		}
	}
	ref := a.Unmatched[0]
	poID, idx, _ := strings.Cut(ref, "#")
	po, err := s.loadProviderOrder(ctx, q, poID)
	if err != nil {
		return question{}, err
	}
	n, err := strconv.Atoi(idx)
	if err != nil || n >= len(po.Items) {
		return question{}, fmt.Errorf("link %q: no such item", ref)
	}
	it := po.Items[n]
	acts = append(acts, Action{ID: actionLeaveUnlinked, DisplayName: "Leave it unlinked"}, Action{ID: actionCancelLinking, DisplayName: "Cancel the linking"})
	return question{Message: fmt.Sprintf("Item %s (configuration %s) of Taobao order %s matches no line of order %s", it.ItemID, it.ConfigurationID, po.ID, o.ID),
		Actions: acts}, nil
}

func (s *Sandbox) doLink(ctx context.Context, tx *sql.Tx, a *activity) error {
	now := s.now()
	orders := map[string]*ProviderOrder{}
	for line, ref := range a.Links {
		poID, idx, _ := strings.Cut(ref, "#")
		po := orders[poID]
		if po == nil {
			var err error
			if po, err = s.loadProviderOrder(ctx, tx, poID); err != nil {
				return err
			}
			orders[poID] = po
		}
		n, err := strconv.Atoi(idx)
		if err != nil || n >= len(po.Items) {
			return fmt.Errorf("link %q: no such item", ref)
		}
		po.Items[n].LineID = line
		if err := applyVend(ctx, tx, line, po, po.Items[n]); err != nil {
			return err
		}
	}
	for _, poID := range a.ProviderOrderIDs {
		if po := orders[poID]; po != nil {
			if err := saveProviderOrder(ctx, tx, po); err != nil {
				return err
			}
		}
	}
	// In line order, so that the log reads the same each time.
	o, err := s.loadOrder(ctx, tx, a.OrderIDs[0])
	if err != nil {
		return err
	}
	n := 0
	for _, l := range o.Lines {
		if ref, ok := a.Links[l.ID]; ok {
			poID, _, _ := strings.Cut(ref, "#")
			a.step(now, "Info", fmt.Sprintf("Line %s linked to Taobao order %s", l.ID, poID))
			n++
		}
	}
	a.finish(now, fmt.Sprintf("%d lines linked", n))
	return nil
}

// ---------------------------------------------------------------- unlink

func (s *Sandbox) doUnlink(ctx context.Context, tx *sql.Tx, a *activity) error {
	now := s.now()
	o, err := s.loadOrder(ctx, tx, a.OrderIDs[0])
	if err != nil {
		return err
	}
	chosen := map[string]bool{}
	for _, id := range a.LineIDs {
		chosen[id] = true
	}
	back := LineStatusNew
	if o.Paid >= o.Total {
		back = LineStatusPaid
	}
	n := 0
	for _, l := range o.Lines {
		if l.VendPurchID == "" || (len(chosen) > 0 && !chosen[l.ID]) {
			continue
		}
		po, err := s.loadProviderOrder(ctx, tx, l.VendPurchID)
		if err != nil {
			return err
		}
		for i := range po.Items {
			if po.Items[i].LineID == l.ID {
				po.Items[i].LineID = ""
			}
		}
		if err := saveProviderOrder(ctx, tx, po); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE otapi_sales_lines SET status_id = ?, vend_purch_id = '', vend_waybill = '', vend_account = '',
			vend_status = '', vend_item_id = '', vend_config_id = '', vend_promotion_id = '' WHERE id = ?`, back, l.ID); err != nil {
			return err
		}
		a.step(now, "Info", fmt.Sprintf("Line %s unlinked from Taobao order %s (the Taobao order stays on Taobao)", l.ID, l.VendPurchID))
		n++
	}
	a.finish(now, fmt.Sprintf("%d lines unlinked", n))
	return nil
}

// ---------------------------------------------------------------- for tests and the control page

// SandboxActivity is the sandbox's record of an activity.
type SandboxActivity struct {
	ID        string
	Type      string
	OrderIDs  []string
	Reads     int
	Finished  bool
	Cancelled bool
	// Question is what the activity asks while it waits for an answer.
	Question string
	Steps    []Step
}

// Activities returns the activities, newest first.
func (s *Sandbox) Activities(limit int) ([]SandboxActivity, error) {
	rows, err := s.db.Query(`SELECT id, state FROM otapi_background_activities ORDER BY id DESC LIMIT ?`, limit)
	return sandboxdb.Collect(rows, err, func(r sandboxdb.Scanner) (SandboxActivity, error) {
		var id int64
		var state string
		if err := r.Scan(&id, &state); err != nil {
			return SandboxActivity{}, err
		}
		var a activity
		if err := json.Unmarshal([]byte(state), &a); err != nil {
			return SandboxActivity{}, err
		}
		sa := SandboxActivity{ID: strconv.FormatInt(id, 10), Type: a.Type, OrderIDs: a.OrderIDs, Reads: a.Reads, Finished: a.Finished, Cancelled: a.Cancelled}
		if a.Question != nil {
			sa.Question = a.Question.Message
		}
		for _, st := range a.Steps {
			sa.Steps = append(sa.Steps, Step{Type: st.Type, Message: st.Message, Actions: st.Actions, Code: st.Code})
		}
		return sa, nil
	})
}
