package procurement

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"orderdesk/model"
	"orderdesk/providers/otapi"
)

// maxPerRun keeps a run well inside its lease: the rest waits for the next.
const maxPerRun = 5000

// Export takes the shop's paid orders bought through OT (or the one order)
// each as far as it goes now: added to OT, paid by the simulated payment,
// its export to Taobao started. A line per order goes into the report. It
// fails as a whole only when it cannot run at all (no OT integration, an
// order of another shop).
func (s *Service) Export(ctx context.Context, t *model.Tenant, orderID int64, actor model.Actor, r *Report) error {
	ids := []int64{orderID}
	if orderID == 0 {
		var err error
		if ids, err = s.store.FindOrdersForOT(ctx, t.ID, maxPerRun); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
	} else if _, err := s.store.FindOrderByID(ctx, t.ID, orderID); err != nil {
		return fmt.Errorf("order %d: %w", orderID, err) // another shop's order is not found
	}
	c, err := s.connect(ctx, t)
	if err != nil {
		r.note("skipped %d orders: %s", len(ids), explain(err))
		return err
	}
	parallel(ctx, s.cfg.Concurrency, ids, func(id int64) { c.advance(ctx, id, actor, r) })
	return nil
}

// parallel runs fn over ids, n at a time.
func parallel(ctx context.Context, n int, ids []int64, fn func(int64)) {
	work := make(chan int64)
	var wg sync.WaitGroup
	for i := 0; i < min(n, len(ids)); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range work {
				fn(id)
			}
		}()
	}
	for _, id := range ids {
		if ctx.Err() != nil {
			break
		}
		work <- id
	}
	close(work)
	wg.Wait()
}

// step is what one step of an order's way through OT did.
type step struct {
	done    []string // what happened, in words
	waiting string   // why the order stops here without an error
}

// advance takes one order as far as it goes now and reports a line.
func (c *conn) advance(ctx context.Context, orderID int64, actor model.Actor, r *Report) {
	s := c.s
	x, resumed, err := s.store.TakeOTOrder(ctx, c.t, orderID, c.in.ID, actor, s.store.Now().Add(s.cfg.ClaimFor))
	var missing *model.MissingItemError
	switch {
	case errors.As(err, &missing):
		if rerr := s.store.RecordProcurementError(ctx, c.t, orderID, missing.LineIDs, missing.Error(), actor); rerr != nil {
			r.add(false, "✗ Order %d: %s; nothing was sent, and the error could not be recorded on the order: %v", orderID, missing.Error(), rerr)
			return
		}
		r.add(false, "✗ Order %d: %s; nothing was sent", orderID, missing.Error())
		return
	case err != nil:
		r.add(false, "✗ Order %d: %s", orderID, explain(err))
		return
	}
	defer func() {
		if err := s.store.ReleaseOTOrder(context.WithoutCancel(ctx), c.t.ID, x.ID); err != nil {
			s.log.Error("ot: release the order", "order", orderID, "err", err)
		}
	}()
	st := &step{}
	err = c.run(ctx, x, resumed, actor, st)
	head := fmt.Sprintf("Order %d (%s)", orderID, x.OrderNumber)
	if cur, ferr := s.store.FindOTOrder(ctx, c.t.ID, x.ID); ferr == nil && cur.SalesID != "" {
		head += " — OT order " + cur.SalesID
	}
	what := strings.Join(st.done, ", ")
	switch {
	case err != nil && temporary(ctx, err):
		r.add(false, "✗ %s: %s%s (will retry)", head, prefix(what), explain(err))
	case err != nil:
		msg := explain(err)
		if rerr := s.store.RecordOTError(ctx, c.t, x.ID, msg, actor); rerr != nil {
			r.add(false, "✗ %s: %s%s (not recorded on the order: %v)", head, prefix(what), msg, rerr)
			return
		}
		r.add(false, "✗ %s: %s%s", head, prefix(what), msg)
	case st.waiting != "":
		r.add(len(st.done) > 0, "… %s: %s%s", head, prefix(what), st.waiting)
	default:
		r.add(true, "✓ %s: %s", head, what)
	}
}

func prefix(what string) string {
	if what == "" {
		return ""
	}
	return what + "; "
}

// run walks an OT order through its states from where it stands.
func (c *conn) run(ctx context.Context, x *model.OTOrder, resumed bool, actor model.Actor, st *step) error {
	s := c.s
	for {
		if x.LastError != "" {
			st.waiting = "waits for a person: " + x.LastError
			return nil
		}
		var err error
		switch x.State {
		case model.OTAdding:
			err = c.add(ctx, x, resumed, actor, st)
		case model.OTStateAdded, model.OTPaying:
			err = c.pay(ctx, x, resumed || x.State == model.OTPaying, actor, st)
		case model.OTPaid:
			return c.startExport(ctx, x, actor, st)
		default:
			return nil
		}
		if err != nil {
			return err
		}
		resumed = false
		if x, err = s.store.FindOTOrder(ctx, c.t.ID, x.ID); err != nil {
			return err
		}
	}
}

// add adds the order to OT on the buyer's behalf, unless a run before us
// did and died before recording it: then the order is found by its comment.
func (c *conn) add(ctx context.Context, x *model.OTOrder, resumed bool, actor model.Actor, st *step) error {
	s := c.s
	if resumed {
		var found []otapi.SalesOrder
		if err := c.asOperator(ctx, func(op string) (err error) {
			found, err = c.c.FindSalesOrdersByComment(ctx, op, x.Comment)
			return err
		}); err != nil {
			return err
		}
		for _, so := range found {
			if so.Cancelled {
				continue
			}
			var full *otapi.SalesOrder
			if err := c.asOperator(ctx, func(op string) (err error) {
				full, err = c.c.SalesOrderDetails(ctx, op, so.ID)
				return err
			}); err != nil {
				return err
			}
			added := addedFrom(x, full)
			added.Found = true
			if err := s.store.RecordOTAdded(ctx, c.t, x.ID, added, actor); err != nil {
				return err
			}
			st.done = append(st.done, "found at OT by its comment after an interrupted attempt (not added again)")
			return nil
		}
	}
	data := otapi.OrderAddData{DeliveryModeID: c.set.OTDeliveryModeID, Comment: x.Comment, UserProfileID: c.set.OTUserProfileID}
	for _, l := range x.Lines {
		data.Items = append(data.Items, otapi.OrderItem{ID: l.ItemID, ConfigurationID: l.ConfigurationID, Quantity: l.Quantity, PromotionID: l.PromotionID})
	}
	var so *otapi.SalesOrder
	if err := c.asBuyer(ctx, func(buyer string) (err error) {
		so, err = c.c.AddOrder(ctx, buyer, data)
		return err
	}); err != nil {
		return err
	}
	if s.cfg.AfterAdd != nil {
		s.cfg.AfterAdd(x, so.ID)
	}
	added := addedFrom(x, so)
	if err := s.store.RecordOTAdded(ctx, c.t, x.ID, added, actor); err != nil {
		return err
	}
	st.done = append(st.done, "added to OT")
	if n := skipped(added); n > 0 {
		st.done = append(st.done, fmt.Sprintf("OT skipped %d of %d items", n, len(x.Lines)))
	}
	return nil
}

// addedFrom matches OT's lines with ours: a line of ours is in the order
// when a line of OT's has its item, configuration and quantity (each of
// OT's lines matches one of ours); the others OT skipped.
func addedFrom(x *model.OTOrder, so *otapi.SalesOrder) model.OTAdded {
	a := model.OTAdded{SalesID: so.ID, CustomerID: so.CustomerID, Amount: so.TotalAmount, PaidAmount: so.PaidAmount,
		StatusID: so.StatusID, StatusName: so.StatusName}
	used := make([]bool, len(so.Lines))
	for _, l := range x.Lines {
		line := model.OTAddedLine{OrderLineID: l.OrderLineID}
		for i, ol := range so.Lines {
			cfg := ol.ConfigurationID
			if cfg == "" {
				cfg = "0"
			}
			if !used[i] && ol.ItemID == l.ItemID && cfg == l.ConfigurationID && (ol.Quantity == l.Quantity || ol.Quantity == 0) {
				used[i], line.OTLineID = true, ol.ID
				break
			}
		}
		a.Lines = append(a.Lines, line)
	}
	return a
}

func skipped(a model.OTAdded) int {
	n := 0
	for _, l := range a.Lines {
		if l.OTLineID == "" {
			n++
		}
	}
	return n
}

// pay is seed 002's simulated payment: top up the buyer's account
// (PostTransaction with isDebit=true, as the seed says for a top-up) with
// what the order still lacks, then pay the order from it
// (SalesPaymentReserve). The intent is recorded first; a rerun after a crash
// asks OT what is paid, and tries to pay from the balance before topping up
// again, so the account is never topped up twice for one order.
func (c *conn) pay(ctx context.Context, x *model.OTOrder, resumed bool, actor model.Actor, st *step) error {
	s := c.s
	if x.SalesID == "" {
		return fmt.Errorf("OT order row %d has no OT order id", x.ID)
	}
	if err := s.store.RecordOTPaying(ctx, c.t.ID, x.ID); err != nil {
		return err
	}
	amount, paid := x.Amount, x.PaidAmount
	if resumed {
		var so *otapi.SalesOrder
		if err := c.asOperator(ctx, func(op string) (err error) {
			so, err = c.c.SalesOrderDetails(ctx, op, x.SalesID)
			return err
		}); err != nil {
			return err
		}
		amount, paid = so.TotalAmount, so.PaidAmount
	}
	rest := amount - paid
	if rest <= 0 {
		if err := s.store.RecordOTPaid(ctx, c.t, x.ID, amount, paid, actor); err != nil {
			return err
		}
		st.done = append(st.done, "paid at OT")
		return nil
	}
	reserve := func() (*otapi.PaymentInfo, error) {
		var pi *otapi.PaymentInfo
		err := c.asOperator(ctx, func(op string) (err error) {
			pi, err = c.c.SalesPaymentReserve(ctx, op, x.SalesID, rest)
			return err
		})
		return pi, err
	}
	if resumed {
		// An interrupted run may have topped the account up already.
		pi, err := reserve()
		if err == nil {
			return c.paid(ctx, x, amount, paid+rest, pi, actor, st)
		}
		if !isNotEnoughMoney(err) {
			return err
		}
	}
	if err := c.asOperator(ctx, func(op string) error {
		return c.c.PostTransaction(ctx, op, x.CustomerID, rest, "OrderDesk "+x.Comment, true, s.store.Now())
	}); err != nil {
		return err
	}
	if err := s.store.RecordOTToppedUp(ctx, c.t.ID, x.ID, rest); err != nil {
		return err
	}
	pi, err := reserve()
	if err != nil {
		return err
	}
	return c.paid(ctx, x, amount, paid+rest, pi, actor, st)
}

func (c *conn) paid(ctx context.Context, x *model.OTOrder, amount, paid int64, pi *otapi.PaymentInfo, actor model.Actor, st *step) error {
	if pi != nil && pi.SalesPaid > 0 {
		paid = pi.SalesPaid
	}
	if pi != nil && pi.SalesAmount > 0 {
		amount = pi.SalesAmount
	}
	if err := c.s.store.RecordOTPaid(ctx, c.t, x.ID, amount, paid, actor); err != nil {
		return err
	}
	st.done = append(st.done, "paid "+otapi.FormatMoney(paid)+" at OT (simulated payment)")
	return nil
}

func isNotEnoughMoney(err error) bool {
	var e *otapi.Error
	return errors.As(err, &e) && e.Code == otapi.CodeNotEnoughMoney
}

// errNoSession says why an export waits: no provider session to run with.
var errNoSession = errors.New("waits for a Taobao session at OT: an operator authorises one on Procurement → OT sessions")

// providerSession returns the provider session exports run with: the
// usable one that lasts longest.
func (c *conn) providerSession(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.provider != "" || c.providerErr != nil {
		return c.provider, c.providerErr
	}
	list, err := c.s.store.FindOTProviderSessions(ctx, c.t.ID)
	if err != nil {
		return "", err
	}
	now := c.s.store.Now()
	var best *model.OTProviderSession
	for _, p := range list {
		if p.IntegrationID == c.in.ID && p.Usable(now) && (best == nil || p.ExpiresAt.After(best.ExpiresAt)) {
			best = p
		}
	}
	if best == nil {
		c.providerErr = errNoSession
		return "", errNoSession
	}
	c.provider, c.providerErr = c.s.store.OpenOTProviderSession(ctx, best)
	return c.provider, c.providerErr
}

// startExport starts the export of a paid OT order to Taobao: every line
// but the Tmall ones (which autobuy never buys) and those OT skipped. The
// activity is followed by the activities job.
func (c *conn) startExport(ctx context.Context, x *model.OTOrder, actor model.Actor, st *step) error {
	var lines []string
	excluded := false
	for _, l := range x.Lines {
		if l.Tmall || l.Skipped || l.OTLineID == "" {
			excluded = true
			continue
		}
		lines = append(lines, l.OTLineID)
	}
	if len(lines) == 0 {
		return &model.ConflictError{Msg: "Nothing to export automatically: every item left is a Tmall item. Buy them by hand on Taobao, then link the Taobao orders (Link)."}
	}
	if !excluded {
		lines = nil // the whole order
	}
	if _, err := c.providerSession(ctx); errors.Is(err, errNoSession) {
		st.waiting = err.Error()
		return nil
	} else if err != nil {
		return err
	}
	a, err := c.startActivity(ctx, x, model.OTExport, lines, nil, actor)
	if isSessionLost(err) {
		// Not the order's fault: it waits for an operator's renewal.
		st.waiting = errNoSession.Error()
		return nil
	} else if err != nil {
		return err
	}
	st.done = append(st.done, "export to Taobao started (activity "+a.ActivityID+")")
	return nil
}

// otLineIDs maps lines of ours to OT's line ids, refusing a line that is
// not in the OT order or that OT skipped.
func otLineIDs(x *model.OTOrder, lineIDs []int64) ([]string, error) {
	var out []string
	for _, id := range lineIDs {
		found := false
		for _, l := range x.Lines {
			if l.OrderLineID == id && l.OTLineID != "" {
				out, found = append(out, l.OTLineID), true
			}
		}
		if !found {
			return nil, &model.ValidationError{Fields: map[string]string{"lines": "line " + strconv.FormatInt(id, 10) + " is not in the OT order " + x.SalesID}}
		}
	}
	return out, nil
}
