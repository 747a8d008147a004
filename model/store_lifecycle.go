package model

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
)

// TransitionError refuses a status change that the transition table forbids.
type TransitionError struct {
	Lifecycle string // order, payment, procurement
	From, To  string
	Lang      string
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("An order whose %s status is %q cannot change to %q.", e.Lifecycle,
		Label(e.Lang, e.Lifecycle+"."+e.From), Label(e.Lang, e.Lifecycle+"."+e.To))
}

// Unwrap makes a refused transition a conflict (409).
func (e *TransitionError) Unwrap() error { return ErrConflict }

// TransitionInput is what some changes need besides the new status.
type TransitionInput struct {
	TrackingNumber  string // required for shipped
	TrackingCarrier string
	Note            string
	// viaShipment: a carrier's news makes the change, about the order's
	// live shipment (ApplyShipmentState), rather than a person.
	viaShipment bool
}

// TransitionOrder is the one way an order's status changes, for pages, the API,
// jobs and the CLI alike. In one write transaction it checks the transition table,
// updates the row only if nobody changed it meanwhile, applies what the new status
// implies (stock released and bonus returned on cancel, dates and tracking on
// shipped and delivered, the shipment and the customer's message on shipped and
// delivered, bonus earned on completed), recomputes the payment status, and
// writes the order_events row.
func (s *Store) TransitionOrder(ctx context.Context, t *Tenant, orderID int64, to OrderStatus, actor Actor, in TransitionInput) (_ *Order, err error) {
	defer wrapErr(&err, "transition order (orderID=%d)", orderID)
	v := &ValidationError{}
	if !to.Valid() {
		v.Add("status", "unknown status "+string(to))
	}
	v.MaxLen("tracking_number", strings.TrimSpace(in.TrackingNumber), MaxTrackingNumberLen)
	v.MaxLen("tracking_carrier", strings.TrimSpace(in.TrackingCarrier), MaxCarrierLen)
	v.MaxLen("note", strings.TrimSpace(in.Note), MaxNoteLen)
	if err := v.OrNil(); err != nil {
		return nil, err
	}
	if to == OrderRefunded {
		// A status that moved no money would leave the payment and the margin
		// as they were: refunded follows from refunds only.
		return nil, ErrRefundThroughRefunds
	}
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		if to == OrderCancelled {
			var pay OrderPaymentStatus
			if err := tx.QueryRowContext(ctx, `SELECT payment_status FROM orders WHERE tenant_id = ? AND id = ?`, t.ID, orderID).Scan(&pay); err != nil {
				return notFound(err)
			}
			if pay == PayPaid || pay == PayPartiallyRefunded || pay == PayProcessing || pay == PaySuspectedFraud {
				return &ConflictError{Msg: "This order holds the customer's money (" + pay.Label(t.Language) +
					"): refund its payments instead of cancelling it; once all its money is back, the order is refunded."}
			}
		}
		return s.transitionOrderTx(ctx, tx, t, orderID, to, actor, in)
	})
	if err != nil {
		return nil, err
	}
	return s.FindOrderByID(ctx, t.ID, orderID)
}

func (s *Store) transitionOrderTx(ctx context.Context, tx *sql.Tx, t *Tenant, orderID int64, to OrderStatus, actor Actor, in TransitionInput) error {
	now := s.now()
	var from OrderStatus
	var stockReserved bool
	var customerID sql.NullInt64
	var total int64
	err := tx.QueryRowContext(ctx, `SELECT status, stock_reserved, customer_id, total FROM orders WHERE tenant_id = ? AND id = ?`, t.ID, orderID).
		Scan(&from, &stockReserved, &customerID, &total)
	if err != nil {
		return notFound(err)
	}
	if !from.CanTransitionTo(to) {
		return &TransitionError{Lifecycle: "order", From: string(from), To: string(to), Lang: t.Language}
	}
	set := []string{"status = ?", "updated_at = ?"}
	args := []any{string(to), now}
	switch to {
	case OrderShipped:
		in.TrackingNumber = strings.TrimSpace(in.TrackingNumber)
		if in.TrackingNumber == "" {
			return &ValidationError{Fields: map[string]string{"tracking_number": "a shipped order needs its tracking number"}}
		}
		set = append(set, "tracking_number = ?", "tracking_carrier = ?", "shipped_at = ?")
		args = append(args, in.TrackingNumber, strings.TrimSpace(in.TrackingCarrier), now)
	case OrderDelivered:
		set = append(set, "delivered_at = ?")
		args = append(args, now)
	case OrderCancelled:
		set = append(set, "stock_reserved = 0")
	}
	args = append(args, t.ID, orderID, string(from))
	res, err := tx.ExecContext(ctx, `UPDATE orders SET `+strings.Join(set, ", ")+` WHERE tenant_id = ? AND id = ? AND status = ?`, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return &ConflictError{Msg: "The order changed meanwhile; reload it and try again."}
	}
	note := in.Note
	if to == OrderShipped {
		note = strings.TrimSpace(note + " Tracking number " + in.TrackingNumber)
	}
	if err := insertEvent(ctx, tx, t.ID, orderID, EventOrderStatus, actor, string(from), string(to), note, now); err != nil {
		return err
	}

	switch to {
	case OrderShipped:
		if err := s.shipTx(ctx, tx, t, orderID, in, now); err != nil {
			return err
		}
	case OrderDelivered:
		if err := deliverTx(ctx, tx, t.ID, orderID, now); err != nil {
			return err
		}
	case OrderCancelled:
		if err := cancelShipmentsTx(ctx, tx, orderID, now); err != nil {
			return err
		}
		if stockReserved {
			if _, err := tx.ExecContext(ctx, `UPDATE products SET stock = stock + (SELECT sum(quantity) FROM order_lines l
				WHERE l.order_id = ? AND l.product_id = products.id)
				WHERE id IN (SELECT product_id FROM order_lines WHERE order_id = ?)`, orderID, orderID); err != nil {
				return err
			}
		}
		// The coupon use and the bonus spent come back with a cancelled order.
		if _, err := tx.ExecContext(ctx, `DELETE FROM coupon_redemptions WHERE order_id = ?`, orderID); err != nil {
			return err
		}
		if err := returnSpentBonus(ctx, tx, t.ID, orderID, now); err != nil {
			return err
		}
	case OrderRefunded:
		if err := returnSpentBonus(ctx, tx, t.ID, orderID, now); err != nil {
			return err
		}
		// Points earned on a completed order go when its money goes back.
		if _, err := tx.ExecContext(ctx, `INSERT INTO bonus_ledger (tenant_id, customer_id, order_id, delta, reason, created_at)
			SELECT tenant_id, customer_id, order_id, -delta, 'earned_reversed', ? FROM bonus_ledger WHERE order_id = ? AND reason = 'earned'
			ON CONFLICT (order_id, reason) WHERE reason IN ('earned', 'earned_reversed') DO NOTHING`, now, orderID); err != nil {
			return err
		}
	case OrderCompleted:
		if customerID.Valid && t.BonusEarnPercent > 0 {
			if earned := percentOf(total, int64(t.BonusEarnPercent)); earned > 0 {
				if _, err := tx.ExecContext(ctx, `INSERT INTO bonus_ledger (tenant_id, customer_id, order_id, delta, reason, created_at)
					VALUES (?, ?, ?, ?, 'earned', ?) ON CONFLICT (order_id, reason) WHERE reason IN ('earned', 'earned_reversed') DO NOTHING`, t.ID, customerID.Int64, orderID, earned, now); err != nil {
					return err
				}
			}
		}
	}
	return recomputePaymentStatus(ctx, tx, t.ID, orderID, actor, now)
}

// returnSpentBonus gives back the bonus an order still holds: what it spent less
// what came back already. Spending and returning can repeat (cancelled, then
// reinstated by late money, then cancelled again), so it goes by the sum.
func returnSpentBonus(ctx context.Context, tx *sql.Tx, tenantID, orderID int64, now time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO bonus_ledger (tenant_id, customer_id, order_id, delta, reason, created_at)
		SELECT tenant_id, customer_id, order_id, -sum(delta), 'returned', ? FROM bonus_ledger WHERE order_id = ? AND reason IN ('spent', 'returned')
		GROUP BY tenant_id, customer_id, order_id HAVING sum(delta) < 0`, now, orderID)
	return err
}

// paymentRecordStatuses reads the statuses of an order's payment records.
func paymentRecordStatuses(ctx context.Context, tx *sql.Tx, orderID int64) ([]PaymentStatus, error) {
	rows, err := tx.QueryContext(ctx, `SELECT status FROM payments WHERE order_id = ?`, orderID)
	return collect(rows, err, func(r rowScanner) (PaymentStatus, error) {
		var st PaymentStatus
		err := r.Scan(&st)
		return st, err
	})
}

// recomputePaymentStatus derives the order's payment status from its payments and
// records the change. Becoming paid moves a pending order to confirmed.
func recomputePaymentStatus(ctx context.Context, tx *sql.Tx, tenantID, orderID int64, actor Actor, now time.Time) error {
	var current OrderPaymentStatus
	var status OrderStatus
	if err := tx.QueryRowContext(ctx, `SELECT payment_status, status FROM orders WHERE tenant_id = ? AND id = ?`, tenantID, orderID).
		Scan(&current, &status); err != nil {
		return notFound(err)
	}
	payments, err := paymentRecordStatuses(ctx, tx, orderID)
	if err != nil {
		return err
	}
	next := DerivePaymentStatus(payments, status == OrderCancelled)
	if next == current {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE orders SET payment_status = ?, updated_at = ? WHERE id = ?`, string(next), now, orderID); err != nil {
		return err
	}
	if err := insertEvent(ctx, tx, tenantID, orderID, EventPaymentStatus, actor, string(current), string(next), "", now); err != nil {
		return err
	}
	if next == PayPaid {
		if err := onPaidTx(ctx, tx, tenantID, orderID, now); err != nil {
			return err
		}
		if status == OrderPending {
			if _, err := tx.ExecContext(ctx, `UPDATE orders SET status = 'confirmed', updated_at = ? WHERE id = ?`, now, orderID); err != nil {
				return err
			}
			return insertEvent(ctx, tx, tenantID, orderID, EventOrderStatus, SystemActor, string(OrderPending), string(OrderConfirmed), "Paid", now)
		}
	}
	return nil
}

// onPaidTx does what becoming paid implies besides the status (seed 004): the
// guest's cart is emptied now (fecshop), and the customer's "paid" message is
// queued. The delivery's track is fetched by the delivery lane's job, and its
// messages are queued when the track exists.
func onPaidTx(ctx context.Context, tx *sql.Tx, tenantID, orderID int64, now time.Time) error {
	var cartID string
	var customer sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(cart_id, ''), customer_id FROM orders WHERE id = ?`, orderID).
		Scan(&cartID, &customer); err != nil {
		return err
	}
	if !customer.Valid && cartID != "" {
		if _, err := tx.ExecContext(ctx, `DELETE FROM cart_lines WHERE cart_id = ?`, cartID); err != nil {
			return err
		}
	}
	return queueOutboxTx(ctx, tx, tenantID, orderID, MsgPaid, nil, now)
}

// SetLineProcurement is the one way an order line's procurement status changes.
// It checks the transition table, records the supplier's data, rolls the status
// up to the order (the least advanced line) and writes the events. errMsg sets
// or clears the line's error flag without changing the status when to is the
// current status.
func (s *Store) SetLineProcurement(ctx context.Context, t *Tenant, lineID int64, to ProcurementStatus, actor Actor, purchaseID, supplierTrack, raw, errMsg string) (err error) {
	defer wrapErr(&err, "set line procurement (lineID=%d)", lineID)
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		var orderID int64
		var from ProcurementStatus
		if err := tx.QueryRowContext(ctx, `SELECT order_id, procurement_status FROM order_lines WHERE tenant_id = ? AND id = ?`, t.ID, lineID).
			Scan(&orderID, &from); err != nil {
			return notFound(err)
		}
		if from != to && !from.CanTransitionTo(to) {
			return &TransitionError{Lifecycle: "procurement", From: string(from), To: string(to), Lang: t.Language}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE order_lines SET procurement_status = ?, procurement_error = ?,
			purchase_id = coalesce(nullif(?, ''), purchase_id), supplier_track = coalesce(nullif(?, ''), supplier_track),
			supplier_status_raw = coalesce(nullif(?, ''), supplier_status_raw) WHERE id = ?`,
			string(to), errMsg, purchaseID, supplierTrack, raw, lineID); err != nil {
			return err
		}
		return rollUpProcurement(ctx, tx, t.ID, orderID, actor, now)
	})
}

// rollUpProcurement sets the order's procurement status and error from its lines.
func rollUpProcurement(ctx context.Context, tx *sql.Tx, tenantID, orderID int64, actor Actor, now time.Time) error {
	rows, err := tx.QueryContext(ctx, `SELECT procurement_status, procurement_error FROM order_lines WHERE order_id = ?`, orderID)
	type line struct {
		st  ProcurementStatus
		err string
	}
	lines, err := collect(rows, err, func(r rowScanner) (line, error) {
		var l line
		err := r.Scan(&l.st, &l.err)
		return l, err
	})
	if err != nil {
		return err
	}
	var statuses []ProcurementStatus
	var errs []string
	for _, l := range lines {
		statuses = append(statuses, l.st)
		if l.err != "" && !slices.Contains(errs, l.err) {
			errs = append(errs, l.err)
		}
	}
	next := RollUpProcurement(statuses)
	var current ProcurementStatus
	var currentErr string
	if err := tx.QueryRowContext(ctx, `SELECT procurement_status, procurement_error FROM orders WHERE id = ?`, orderID).Scan(&current, &currentErr); err != nil {
		return err
	}
	errText := strings.Join(errs, "; ")
	if next == current && errText == currentErr {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE orders SET procurement_status = ?, procurement_error = ?, updated_at = ? WHERE id = ?`,
		string(next), errText, now, orderID); err != nil {
		return err
	}
	if bought(current, next) {
		if err := queuePurchasedTx(ctx, tx, tenantID, orderID, now); err != nil {
			return err
		}
	}
	if next != current || errText != "" {
		return insertEvent(ctx, tx, tenantID, orderID, EventProcurementStatus, actor, string(current), string(next), errText, now)
	}
	return nil
}

// ExpiryCandidate is a pending order whose payment did not come in time.
type ExpiryCandidate struct {
	OrderID int64
	Number  string
	// OpenPayments are its payments still pending or processing: before the
	// order is cancelled, the provider is asked about each (late money is never
	// lost).
	OpenPayments []*Payment
}

// FindExpiredUnpaid lists the tenant's pending orders still unpaid after the
// tenant's expiry minutes, oldest first, at most the tenant's batch size.
func (s *Store) FindExpiredUnpaid(ctx context.Context, t *Tenant) (_ []ExpiryCandidate, err error) {
	defer wrapErr(&err, "find expired unpaid")
	cutoff := s.now().Add(-time.Duration(t.UnpaidExpiryMinutes) * time.Minute)
	rows, err := s.DB.R.QueryContext(ctx, `SELECT id, number FROM orders WHERE tenant_id = ? AND payment_status = 'pending' AND status = 'pending'
		AND created_at < ? ORDER BY created_at, id LIMIT ?`, t.ID, cutoff, t.UnpaidExpiryBatch)
	list, err := collect(rows, err, func(r rowScanner) (ExpiryCandidate, error) {
		var c ExpiryCandidate
		err := r.Scan(&c.OrderID, &c.Number)
		return c, err
	})
	if err != nil {
		return nil, err
	}
	for i := range list {
		if list[i].OpenPayments, err = s.FindPayments(ctx, t.ID, PaymentFilter{OrderID: list[i].OrderID, Open: true}); err != nil {
			return nil, err
		}
	}
	return list, nil
}

// ExpireOrder cancels an unpaid pending order (stock released, coupon use and
// bonus given back, payment status canceled, events written). It reports false
// when the order was paid or changed meanwhile, or when a payment of it is
// still open: the payment flow closes open payments at their providers first,
// so that a customer can no longer pay an order that is gone.
func (s *Store) ExpireOrder(ctx context.Context, t *Tenant, orderID int64, actor Actor) (_ bool, err error) {
	defer wrapErr(&err, "expire order (orderID=%d)", orderID)
	cancelled := false
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		var st, pst string
		var open int
		if err := tx.QueryRowContext(ctx, `SELECT status, payment_status, (SELECT count(*) FROM payments WHERE order_id = orders.id AND status IN ('pending', 'processing'))
			FROM orders WHERE tenant_id = ? AND id = ?`, t.ID, orderID).Scan(&st, &pst, &open); err != nil {
			return notFound(err)
		}
		if st != string(OrderPending) || pst != string(PayPending) || open > 0 {
			return nil
		}
		cancelled = true
		return s.transitionOrderTx(ctx, tx, t, orderID, OrderCancelled, actor,
			TransitionInput{Note: fmt.Sprintf("Not paid within %d minutes", t.UnpaidExpiryMinutes)})
	})
	return cancelled && err == nil, err
}
