package procurement

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"orderdesk/model"
	"orderdesk/providers/otapi"
)

// startActivity records an interactive operation on an OT order, then asks
// OT to start it, and records OT's id of it. lines are OT's line ids (none:
// the whole order); providerOrders are the Taobao orders of a link.
func (c *conn) startActivity(ctx context.Context, x *model.OTOrder, kind model.OTActivityKind, lines, providerOrders []string, actor model.Actor) (*model.OTActivity, error) {
	s := c.s
	session, err := c.providerSession(ctx)
	if err != nil {
		return nil, err
	}
	params := "the whole order"
	switch {
	case kind == model.OTLink:
		params = "Taobao orders " + strings.Join(providerOrders, ", ")
	case len(lines) > 0:
		params = "OT lines " + strings.Join(lines, ", ")
	}
	a, err := s.store.BeginOTActivity(ctx, c.t, x, kind, params, actor)
	if err != nil {
		return nil, err
	}
	var id *otapi.ActivityID
	err = c.asOperator(ctx, func(op string) (err error) {
		switch kind {
		case model.OTExport:
			id, err = c.c.RunOrderExportingToProvider(ctx, op, otapi.ProviderTaobao, session, otapi.ExportParameters{OrderID: x.SalesID, OrderLineIDs: lines})
		case model.OTSync:
			id, err = c.c.RunOrdersSynchronizingWithProvider(ctx, op, otapi.ProviderTaobao, session, []string{x.SalesID})
		case model.OTLink:
			id, err = c.c.RunOrderLinkingWithProvider(ctx, op, otapi.ProviderTaobao, session, otapi.LinkParameters{OrderID: x.SalesID, ProviderOrderIDs: providerOrders})
		case model.OTUnlink:
			id, err = c.c.RunOrderUnlinkingFromProvider(ctx, op, otapi.ProviderTaobao, session, otapi.ExportParameters{OrderID: x.SalesID, OrderLineIDs: lines})
		default:
			err = fmt.Errorf("unknown activity %q", kind)
		}
		return err
	})
	if err != nil {
		c.sessionLost(ctx, err)
		// OT did not start it (or said no): the row says so, and the order
		// may start another.
		if uerr := s.store.UpdateOTActivity(context.WithoutCancel(ctx), c.t, a.ID, model.OTActivityUpdate{State: model.ActFailed, Error: explain(err)}, actor); uerr != nil {
			return nil, errors.Join(err, uerr)
		}
		return nil, err
	}
	if err := s.store.RecordOTActivityStarted(ctx, c.t, a.ID, id.Type, id.ID, actor); err != nil {
		return nil, err
	}
	return s.store.FindOTActivity(ctx, c.t.ID, a.ID)
}

// isSessionLost reports whether OT says the provider session is gone.
func isSessionLost(err error) bool {
	var e *otapi.Error
	return errors.As(err, &e) && (e.Code == otapi.CodeProviderSessionExpired || e.SubCode == otapi.ReasonProviderSessionExpired)
}

// sessionLost marks the provider session in use as needing authorisation
// when OT says it is gone.
func (c *conn) sessionLost(ctx context.Context, err error) {
	if !isSessionLost(err) {
		return
	}
	list, lerr := c.s.store.FindOTProviderSessions(ctx, c.t.ID)
	if lerr != nil {
		c.s.log.Error("ot: provider sessions", "err", lerr)
		return
	}
	now := c.s.store.Now()
	for _, p := range list {
		if p.IntegrationID != c.in.ID || !p.Usable(now) {
			continue
		}
		reason := "OT says the Taobao session of " + p.Login + " has ended: authorise it again on Procurement → OT sessions."
		if merr := c.s.store.MarkOTProviderSessionNeedsAuthorization(ctx, c.t.ID, p.ID, reason); merr != nil {
			c.s.log.Error("ot: mark the provider session", "err", merr)
		}
	}
	c.mu.Lock()
	c.provider, c.providerErr = "", errNoSession
	c.mu.Unlock()
}

// Start starts one of seed 002's interactive operations on an order from
// its page: export (the whole order or chosen lines), sync, link (with the
// Taobao orders bought by hand) or unlink (chosen lines, or all).
func (s *Service) Start(ctx context.Context, t *model.Tenant, orderID int64, kind model.OTActivityKind, lineIDs []int64, providerOrders []string, actor model.Actor) (*model.OTActivity, error) {
	// Once asked, OT's answer is recorded even when the person leaves.
	ctx = context.WithoutCancel(ctx)
	x, err := s.store.FindLiveOTOrder(ctx, t.ID, orderID)
	if errors.Is(err, model.ErrNotFound) {
		return nil, &model.ConflictError{Msg: "This order is not at OT Platform yet: export it first (it is added and paid at OT before it goes to Taobao)."}
	} else if err != nil {
		return nil, err
	}
	if x.State != model.OTPaid {
		return nil, &model.ConflictError{Msg: "OT order " + x.SalesID + " is " + x.State.Label() + ": OT works only paid orders with Taobao."}
	}
	v := &model.ValidationError{}
	if !kind.Valid() {
		v.Add("kind", "choose export, sync, link or unlink")
	}
	var ids []string
	for _, p := range providerOrders {
		if p = strings.TrimSpace(p); p != "" {
			ids = append(ids, p)
		}
	}
	if kind == model.OTLink {
		if len(ids) == 0 {
			v.Add("provider_orders", "give the Taobao order ids to link, one or more")
		}
		for _, p := range ids {
			if len(p) > model.MaxOTIDLen || strings.ContainsAny(p, " \t<>&") {
				v.Add("provider_orders", "write each Taobao order id without spaces, separated by commas")
			}
		}
	}
	if err := v.OrNil(); err != nil {
		return nil, err
	}
	lines, err := otLineIDs(x, lineIDs)
	if err != nil {
		return nil, err
	}
	c, err := s.connect(ctx, t)
	if err != nil {
		return nil, err
	}
	if _, err := c.providerSession(ctx); errors.Is(err, errNoSession) {
		return nil, &model.ConflictError{Msg: "No Taobao session at OT: an operator authorises one on Procurement → OT sessions first."}
	}
	if kind == model.OTExport && x.LastError != "" {
		if err := s.store.ClearOTError(ctx, t, x.ID, actor); err != nil {
			return nil, err
		}
	}
	a, err := c.startActivity(ctx, x, kind, lines, ids, actor)
	if err != nil {
		return nil, wordsOf(err)
	}
	return a, nil
}

// wordsOf turns an OT error into a conflict in words for the page.
func wordsOf(err error) error {
	var ce *model.ConflictError
	var ve *model.ValidationError
	if errors.As(err, &ce) || errors.As(err, &ve) {
		return err
	}
	var oe *otapi.Error
	if errors.As(err, &oe) {
		return &model.ConflictError{Msg: otapi.Explain(err)}
	}
	return err
}

// Follow asks OT about the shop's activities under way, records their
// progress, steps and questions, and when one ends reads its order from OT
// so that the lines say what the activity did (nothing, after a cancel).
func (s *Service) Follow(ctx context.Context, t *model.Tenant, actor model.Actor, r *Report) error {
	open, err := s.store.FindOTActivities(ctx, t.ID, model.OTActivityFilter{Open: true, Limit: maxPerRun})
	if err != nil || len(open) == 0 {
		return err
	}
	c, err := s.connect(ctx, t)
	if err != nil {
		r.note("skipped %d activities: %s", len(open), explain(err))
		return err
	}
	for _, a := range open {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c.follow(ctx, a, actor, r)
	}
	return nil
}

// follow reads one activity from OT and records it.
func (c *conn) follow(ctx context.Context, a *model.OTActivity, actor model.Actor, r *Report) {
	s := c.s
	head := fmt.Sprintf("%s of order %d (%s)", a.Kind.Label(), a.OrderID, a.OrderNumber)
	if a.State == model.ActStarting {
		// Started by a run that stopped before OT answered: OT may or may
		// not have it, and has no list to ask; a person starts it again.
		if s.store.Now().Sub(a.UpdatedAt) < s.cfg.ClaimFor {
			return // being started right now
		}
		u := model.OTActivityUpdate{State: model.ActFailed, Error: "interrupted before OT answered; start it again if it does not show at OT"}
		if err := s.store.UpdateOTActivity(ctx, c.t, a.ID, u, actor); err != nil {
			r.add(false, "✗ %s: %v", head, err)
			return
		}
		r.add(false, "✗ %s: %s", head, u.Error)
		return
	}
	u, err := c.read(ctx, a)
	if err != nil {
		r.add(false, "✗ %s: %s", head, explain(err))
		return
	}
	if err := c.record(ctx, a, u, actor); err != nil {
		r.add(false, "✗ %s: %v", head, err)
		return
	}
	switch u.State {
	case model.ActAwaiting:
		r.add(true, "? %s asks: %s", head, (&model.OTActivity{Steps: u.Steps, Description: u.Description}).Question())
	case model.ActFailed:
		r.add(false, "✗ %s failed: %s", head, u.Error)
	default:
		r.add(true, "✓ %s: %s (%d%%)", head, u.State.Label(), u.Progress)
	}
}

// reading is what OT said of an activity: the update to record, and
// whether it failed because the provider session is gone (then the order
// waits for a renewal rather than for a person).
type reading struct {
	model.OTActivityUpdate
	sessionLost bool
}

// read asks OT how an activity stands.
func (c *conn) read(ctx context.Context, a *model.OTActivity) (reading, error) {
	var act *otapi.Activity
	err := c.asOperator(ctx, func(op string) (err error) {
		act, err = c.c.BackgroundActivity(ctx, op, otapi.ActivityID{Type: a.ActivityType, ID: a.ActivityID})
		return err
	})
	if err != nil {
		return reading{}, err
	}
	u := reading{OTActivityUpdate: model.OTActivityUpdate{State: model.ActRunning, Progress: act.ProgressPercent, Description: act.Description}}
	for _, st := range act.Steps {
		ms := model.OTStep{Type: st.Type, Message: st.Message, Time: st.TimeFromStart}
		for _, x := range st.Actions {
			ms.Actions = append(ms.Actions, model.OTAction{ID: x.ID, DisplayName: x.DisplayName})
		}
		u.Steps = append(u.Steps, ms)
	}
	switch {
	case act.IsCancelled:
		u.State = model.ActCancelled
	case act.IsFinished:
		u.State = model.ActFinished
		if aerr := act.Err(); aerr != nil {
			u.State, u.Error, u.sessionLost = model.ActFailed, otapi.Explain(aerr), isSessionLost(aerr)
			c.sessionLost(ctx, aerr)
		}
	case act.IsAwaitingAction:
		u.State = model.ActAwaiting
		_, offered := act.Question()
		for _, x := range offered {
			u.Actions = append(u.Actions, model.OTAction{ID: x.ID, DisplayName: x.DisplayName})
		}
	}
	return u, nil
}

// record keeps what OT said of an activity; when it ended, the order is
// read from OT so that its lines say what the activity did, and a failed
// export waits for a person with OT's reason in words.
func (c *conn) record(ctx context.Context, a *model.OTActivity, u reading, actor model.Actor) error {
	s := c.s
	if err := s.store.UpdateOTActivity(ctx, c.t, a.ID, u.OTActivityUpdate, actor); err != nil {
		return err
	}
	if u.State.Open() {
		return nil
	}
	if err := c.refresh(ctx, a.OTOrderID, actor); err != nil {
		return err
	}
	if u.State == model.ActFailed && a.Kind == model.OTExport && !u.sessionLost {
		return s.store.RecordOTError(ctx, c.t, a.OTOrderID, u.Error, actor)
	}
	return nil
}

// refresh reads an OT order's details and records them on our lines.
func (c *conn) refresh(ctx context.Context, otOrderID int64, actor model.Actor) error {
	x, err := c.s.store.FindOTOrder(ctx, c.t.ID, otOrderID)
	if err != nil {
		return err
	}
	if x.SalesID == "" {
		return nil
	}
	var so *otapi.SalesOrder
	if err := c.asOperator(ctx, func(op string) (err error) {
		so, err = c.c.SalesOrderDetails(ctx, op, x.SalesID)
		return err
	}); err != nil {
		return err
	}
	return c.s.store.ApplyOTDetails(ctx, c.t, x.ID, details(so), actor)
}

func details(so *otapi.SalesOrder) model.OTDetails {
	d := model.OTDetails{StatusID: so.StatusID, StatusName: so.StatusName, Amount: so.TotalAmount, PaidAmount: so.PaidAmount}
	for _, l := range so.Lines {
		d.Lines = append(d.Lines, model.OTLineState{OTLineID: l.ID, StatusID: l.StatusID, StatusName: l.StatusName, VendPurchID: l.VendPurchID,
			VendPurchWaybill: l.VendPurchWaybill, VendPurchAccountID: l.VendPurchAccountID, VendPurchStatus: l.VendPurchStatus,
			VendPurchItemID: l.VendPurchItemID, VendPurchConfigurationID: l.VendPurchConfigurationID, VendPurchPromotionID: l.VendPurchPromotionID})
	}
	return d
}

// Answer gives OT an operator's answer to the question an activity waits
// on: one of the actions it offers. The answer and who gave it are
// recorded once OT took it; then the activity is read again.
func (s *Service) Answer(ctx context.Context, t *model.Tenant, activityID int64, actionID string, actor model.Actor) (*model.OTActivity, error) {
	ctx = context.WithoutCancel(ctx)
	a, err := s.store.FindOTActivity(ctx, t.ID, activityID)
	if err != nil {
		return nil, err
	}
	if a.State != model.ActAwaiting {
		return nil, &model.ConflictError{Msg: "This activity is " + a.State.Label() + ": it waits for no answer now."}
	}
	var chosen *model.OTAction
	for i := range a.Actions {
		if a.Actions[i].ID == actionID {
			chosen = &a.Actions[i]
		}
	}
	if chosen == nil {
		return nil, &model.ValidationError{Fields: map[string]string{"action": "choose one of the answers the activity offers"}}
	}
	c, err := s.connect(ctx, t)
	if err != nil {
		return nil, err
	}
	if err := c.asOperator(ctx, func(op string) error {
		return c.c.AnswerActivity(ctx, op, otapi.ActivityID{Type: a.ActivityType, ID: a.ActivityID}, actionID)
	}); err != nil {
		return nil, wordsOf(err)
	}
	if err := s.store.RecordOTAnswer(ctx, t, a.ID, a.Question(), *chosen, actor); err != nil {
		return nil, err
	}
	c.followOne(ctx, a.ID, actor)
	return s.store.FindOTActivity(ctx, t.ID, a.ID)
}

// followOne reads an activity again at once (after an answer or a cancel),
// so that the page shows where it went; a failure is left to the follower.
func (c *conn) followOne(ctx context.Context, id int64, actor model.Actor) {
	a, err := c.s.store.FindOTActivity(ctx, c.t.ID, id)
	if err != nil || !a.State.Open() {
		return
	}
	u, err := c.read(ctx, a)
	if err != nil {
		c.s.log.Warn("ot: read the activity", "activity", id, "err", err)
		return
	}
	if err := c.record(ctx, a, u, actor); err != nil {
		c.s.log.Warn("ot: record the activity", "activity", id, "err", err)
	}
}

// Cancel stops an activity at OT. OT undoes what it did of it (the sandbox
// unexports the lines exported so far); the order is read again, so our
// lines keep nothing half-done.
func (s *Service) Cancel(ctx context.Context, t *model.Tenant, activityID int64, actor model.Actor) (*model.OTActivity, error) {
	ctx = context.WithoutCancel(ctx)
	a, err := s.store.FindOTActivity(ctx, t.ID, activityID)
	if err != nil {
		return nil, err
	}
	if !a.State.Open() {
		return nil, &model.ConflictError{Msg: "This activity is " + a.State.Label() + " already."}
	}
	if a.State == model.ActStarting {
		return nil, &model.ConflictError{Msg: "This activity is being started; try again in a moment."}
	}
	c, err := s.connect(ctx, t)
	if err != nil {
		return nil, err
	}
	if err := c.asOperator(ctx, func(op string) error {
		return c.c.CancelActivity(ctx, op, otapi.ActivityID{Type: a.ActivityType, ID: a.ActivityID})
	}); err != nil {
		return nil, wordsOf(err)
	}
	u, err := c.read(ctx, a)
	if err != nil || u.State.Open() {
		// OT took the cancel; its answer comes with the follower.
		u = reading{OTActivityUpdate: model.OTActivityUpdate{State: model.ActCancelled, Progress: a.Progress, Description: a.Description, Steps: a.Steps}}
	}
	if err := c.record(ctx, a, u, actor); err != nil {
		return nil, err
	}
	return s.store.FindOTActivity(ctx, t.ID, a.ID)
}

// Sync asks OT to synchronise with Taobao the shop's OT orders whose lines
// are on their way (or the one order's), follows each synchronisation for a
// few reads (the activities job follows one that takes longer), and records
// each line's Taobao order, waybill and statuses as OT says them. An order
// not at Taobao yet, or busy with another activity, is only read.
func (s *Service) Sync(ctx context.Context, t *model.Tenant, orderID int64, actor model.Actor, r *Report) error {
	if orderID != 0 {
		if _, err := s.store.FindOrderByID(ctx, t.ID, orderID); err != nil {
			return fmt.Errorf("order %d: %w", orderID, err)
		}
	}
	list, err := s.store.FindOTOrdersToSync(ctx, t.ID, orderID, maxPerRun)
	if err != nil || len(list) == 0 {
		if err == nil && orderID != 0 {
			r.note("Order %d has no OT order to sync", orderID)
		}
		return err
	}
	c, err := s.connect(ctx, t)
	if err != nil {
		r.note("skipped %d orders: %s", len(list), explain(err))
		return err
	}
	ids := make([]int64, len(list))
	byID := map[int64]*model.OTOrder{}
	for i, x := range list {
		ids[i], byID[x.ID] = x.ID, x
	}
	parallel(ctx, s.cfg.Concurrency, ids, func(id int64) { c.syncOne(ctx, byID[id], actor, r) })
	return nil
}

// syncReads is how many times a sync follows its synchronisation before it
// leaves it to the activities job.
const syncReads = 6

func (c *conn) syncOne(ctx context.Context, x *model.OTOrder, actor model.Actor, r *Report) {
	s := c.s
	head := fmt.Sprintf("Order %d (%s) — OT order %s", x.OrderID, x.OrderNumber, x.SalesID)
	note := ""
	if full, err := s.store.FindOTOrder(ctx, c.t.ID, x.ID); err != nil {
		r.add(false, "✗ %s: %v", head, err)
		return
	} else if atTaobao(full) {
		a, err := c.startActivity(ctx, full, model.OTSync, nil, nil, actor)
		switch {
		case errors.Is(err, errNoSession):
			note = " (" + err.Error() + "; read only)"
		case errors.Is(err, model.ErrConflict):
			note = " (another activity is under way; read only)"
		case err != nil:
			r.add(false, "✗ %s: %s", head, explain(err))
			return
		default:
			for i := 0; i < syncReads; i++ {
				cur, err := s.store.FindOTActivity(ctx, c.t.ID, a.ID)
				if err != nil {
					r.add(false, "✗ %s: %v", head, err)
					return
				}
				if !cur.State.Open() {
					break
				}
				c.followOne(ctx, a.ID, actor)
			}
		}
	}
	if err := c.refresh(ctx, x.ID, actor); err != nil {
		r.add(false, "✗ %s: %s", head, explain(err))
		return
	}
	cur, err := s.store.FindOTOrder(ctx, c.t.ID, x.ID)
	if err != nil {
		r.add(false, "✗ %s: %v", head, err)
		return
	}
	var parts []string
	for _, l := range cur.Lines {
		if l.VendPurchID == "" {
			continue
		}
		p := l.SKU + ": Taobao order " + l.VendPurchID
		if l.VendPurchWaybill != "" {
			p += ", waybill " + l.VendPurchWaybill
		}
		if l.StatusName != "" {
			p += " (" + l.StatusName + ")"
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		parts = []string{"not at Taobao yet"}
	}
	r.add(true, "✓ %s: %s%s", head, strings.Join(parts, "; "), note)
}

// atTaobao reports whether a line of the OT order is bought at Taobao.
func atTaobao(x *model.OTOrder) bool {
	for _, l := range x.Lines {
		if l.VendPurchID != "" {
			return true
		}
	}
	return false
}

// CancelOrder cancels an order's OT order at OT (CancelSalesOrder, on the
// buyer's behalf), as seed 002 does when AddOrder skipped items that
// matter; the next export adds the order again, with a new comment.
func (s *Service) CancelOrder(ctx context.Context, t *model.Tenant, orderID int64, actor model.Actor) error {
	ctx = context.WithoutCancel(ctx)
	x, err := s.store.FindLiveOTOrder(ctx, t.ID, orderID)
	if err != nil {
		return err
	}
	for _, l := range x.Lines {
		if l.VendPurchID != "" {
			return &model.ConflictError{Msg: "Items of OT order " + x.SalesID + " are bought at Taobao already: unlink them first."}
		}
	}
	if x.State == model.OTAdding || x.State == model.OTPaying || x.SalesID == "" {
		return &model.ConflictError{Msg: "OT order of " + x.OrderNumber + " is " + x.State.Label() + ": try again in a minute."}
	}
	open, err := s.store.FindOTActivities(ctx, t.ID, model.OTActivityFilter{OrderID: orderID, Open: true, Limit: 1})
	if err != nil {
		return err
	}
	if len(open) > 0 {
		return &model.ConflictError{Msg: "An OT activity is under way for this order: cancel it first."}
	}
	c, err := s.connect(ctx, t)
	if err != nil {
		return err
	}
	if err := c.asBuyer(ctx, func(buyer string) error { return c.c.CancelSalesOrder(ctx, buyer, x.SalesID) }); err != nil {
		return wordsOf(err)
	}
	return s.store.RecordOTCancelled(ctx, t, x.ID, actor)
}

// AcceptSkipped lets an order whose items OT skipped go on without them,
// and takes it on at once.
func (s *Service) AcceptSkipped(ctx context.Context, t *model.Tenant, orderID int64, actor model.Actor, r *Report) error {
	x, err := s.store.FindLiveOTOrder(ctx, t.ID, orderID)
	if err != nil {
		return err
	}
	if err := s.store.AcceptOTSkipped(ctx, t, x.ID, actor); err != nil {
		return err
	}
	return s.Export(context.WithoutCancel(ctx), t, orderID, actor, r)
}

// Retry clears an order's OT error (a person fixed its cause) and takes it
// on at once.
func (s *Service) Retry(ctx context.Context, t *model.Tenant, orderID int64, actor model.Actor, r *Report) error {
	ctx = context.WithoutCancel(ctx)
	if x, err := s.store.FindLiveOTOrder(ctx, t.ID, orderID); err == nil {
		if err := s.store.ClearOTError(ctx, t, x.ID, actor); err != nil {
			return err
		}
	} else if !errors.Is(err, model.ErrNotFound) {
		return err
	} else if err := s.store.ClearProcurementErrors(ctx, t, orderID, actor); err != nil {
		return err
	}
	return s.Export(ctx, t, orderID, actor, r)
}

// Refresh reads an activity under way from OT now (its card on a page
// asks while it runs) and returns it; OT's silence leaves it as it was.
func (s *Service) Refresh(ctx context.Context, t *model.Tenant, activityID int64, actor model.Actor) (*model.OTActivity, error) {
	a, err := s.store.FindOTActivity(ctx, t.ID, activityID)
	if err != nil || !a.State.Open() || a.State == model.ActStarting {
		return a, err
	}
	c, err := s.connect(ctx, t)
	if err != nil {
		return a, nil // the page shows what is known; the follower says why
	}
	c.followOne(context.WithoutCancel(ctx), a.ID, actor)
	return s.store.FindOTActivity(ctx, t.ID, a.ID)
}
