package model

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

const refundColumns = `r.id, r.tenant_id, r.payment_id, p.number, r.order_id, r.number, r.amount, r.currency, r.status, r.reason, r.actor,
	r.provider_ref, r.error, r.attempts, r.created_at, r.updated_at`

const refundFrom = ` FROM refunds r JOIN payments p ON p.id = r.payment_id `

func scanRefund(row interface{ Scan(...any) error }) (*Refund, error) {
	r := &Refund{}
	if err := row.Scan(&r.ID, &r.TenantID, &r.PaymentID, &r.PaymentNumber, &r.OrderID, &r.Number, &r.Amount, &r.Currency, &r.Status,
		&r.Reason, &r.Actor, &r.ProviderRef, &r.Error, &r.Attempts, &r.CreatedAt, &r.UpdatedAt); err != nil {
		return nil, notFound(err)
	}
	return r, nil
}

func newRefundNumber(slug string, now time.Time) string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		// crypto/rand does not fail on the platforms we run on; a panic beats
		// a guessable or repeated idempotency key.
		panic(err)
	}
	return "RF-" + strings.ToUpper(slug) + "-" + now.Format("20060102") + "-" + strings.ToUpper(hex.EncodeToString(b))
}

// refundable is what may still be reserved from a payment: its amount less
// the refunds done and the refunds being made.
func refundable(ctx context.Context, tx *sql.Tx, p *Payment) (left, pending int64, err error) {
	var reserved int64
	err = tx.QueryRowContext(ctx, `SELECT coalesce(sum(amount), 0), coalesce(sum(CASE WHEN status = 'pending' THEN amount END), 0)
		FROM refunds WHERE payment_id = ? AND status IN ('pending', 'done')`, p.ID).Scan(&reserved, &pending)
	return p.Amount - reserved, pending, err
}

// ReserveRefund reserves a refund of amount (0: all that is left) from a
// completed payment, for a person (actor) to have it made by the provider.
// The reservation and the check that refunds never exceed what was paid are one
// write transaction, so two clicks or two tabs at once cannot both pass it.
func (s *Store) ReserveRefund(ctx context.Context, t *Tenant, paymentID, amount int64, actor Actor) (_ *Refund, err error) {
	defer wrapErr(&err, "reserve refund (paymentID=%d amount=%d)", paymentID, amount)
	var out *Refund
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		p, err := scanPayment(tx.QueryRowContext(ctx, `SELECT `+paymentColumns+paymentFrom+`WHERE p.tenant_id = ? AND p.id = ?`, t.ID, paymentID))
		if err != nil {
			return err
		}
		out, err = s.reserveRefundTx(ctx, tx, t, p, amount, RefundByStaff, actor)
		return err
	})
	return out, err
}

func (s *Store) reserveRefundTx(ctx context.Context, tx *sql.Tx, t *Tenant, p *Payment, amount int64, reason string, actor Actor) (*Refund, error) {
	if p.Status != PaymentCompleted && p.Status != PaymentPartiallyRefunded {
		return nil, &ConflictError{Msg: "Only a completed payment can be refunded; " + p.Number + " is " + string(p.Status) + "."}
	}
	left, pending, err := refundable(ctx, tx, p)
	if err != nil {
		return nil, err
	}
	if amount == 0 {
		amount = left
	}
	if left <= 0 {
		msg := "Nothing is left to refund of " + p.Number + "."
		if pending > 0 {
			msg = "Nothing is left to refund of " + p.Number + ": " + FormatMoney(pending, p.Currency) + " is being refunded now."
		}
		return nil, &ConflictError{Msg: msg}
	}
	if amount < 0 || amount > left {
		msg := "give an amount up to " + FormatMoney(left, p.Currency)
		if pending > 0 {
			msg += " (" + FormatMoney(pending, p.Currency) + " is being refunded now)"
		}
		return nil, &ValidationError{Fields: map[string]string{"amount": msg}}
	}
	now := s.now()
	r := &Refund{TenantID: t.ID, PaymentID: p.ID, PaymentNumber: p.Number, OrderID: p.OrderID, Number: newRefundNumber(t.Slug, now),
		Amount: amount, Currency: p.Currency, Status: RefundPending, Reason: reason, Actor: actor, CreatedAt: now, UpdatedAt: now}
	res, err := tx.ExecContext(ctx, `INSERT INTO refunds (tenant_id, payment_id, order_id, number, amount, currency, status, reason, actor, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)`, t.ID, p.ID, p.OrderID, r.Number, amount, p.Currency, reason, string(actor), now, now)
	if err != nil {
		return nil, fmt.Errorf("reserve refund of %s: %w", p.Number, err)
	}
	if r.ID, err = res.LastInsertId(); err != nil {
		return nil, err
	}
	note := fmt.Sprintf("Refund %s of %s from %s reserved", r.Number, FormatMoney(amount, p.Currency), p.Number)
	return r, insertEvent(ctx, tx, t.ID, p.OrderID, EventRefund, actor, "", string(RefundPending), note, now)
}

// FindRefundByID returns one refund of the tenant.
func (s *Store) FindRefundByID(ctx context.Context, tenantID, id int64) (_ *Refund, err error) {
	defer wrapErr(&err, "find refund by id (tenantID=%d id=%d)", tenantID, id)
	return scanRefund(s.DB.R.QueryRowContext(ctx, `SELECT `+refundColumns+refundFrom+`WHERE r.tenant_id = ? AND r.id = ?`, tenantID, id))
}

// FindRefunds lists an order's refunds, oldest first.
func (s *Store) FindRefunds(ctx context.Context, tenantID, orderID int64) (_ []*Refund, err error) {
	defer wrapErr(&err, "find refunds (tenantID=%d orderID=%d)", tenantID, orderID)
	return s.queryRefunds(ctx, `SELECT `+refundColumns+refundFrom+`WHERE r.tenant_id = ? AND r.order_id = ? ORDER BY r.id`, tenantID, orderID)
}

// FindPendingRefunds lists the tenant's refunds still pending since before
// the given time: their provider call did not finish (a crash, a timeout), and
// asking again with the same key settles them.
func (s *Store) FindPendingRefunds(ctx context.Context, tenantID int64, before time.Time, limit int) (_ []*Refund, err error) {
	defer wrapErr(&err, "find pending refunds (tenantID=%d limit=%d)", tenantID, limit)
	return s.queryRefunds(ctx, `SELECT `+refundColumns+refundFrom+`WHERE r.tenant_id = ? AND r.status = 'pending' AND r.updated_at < ?
		ORDER BY r.id LIMIT ?`, tenantID, before.UTC(), limit)
}

func (s *Store) queryRefunds(ctx context.Context, q string, args ...any) ([]*Refund, error) {
	rows, err := s.DB.R.QueryContext(ctx, q, args...)
	return collect(rows, err, scanRefund)
}

// FinishRefund records that the provider made a pending refund, and applies it
// to the payment (refunded amount, status) and the order. A refund already done
// (a retry that the provider answered again) changes nothing.
func (s *Store) FinishRefund(ctx context.Context, t *Tenant, refundID int64, providerRef string) (_ Applied, err error) {
	defer wrapErr(&err, "finish refund (refundID=%d)", refundID)
	var out Applied
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		r, err := scanRefund(tx.QueryRowContext(ctx, `SELECT `+refundColumns+refundFrom+`WHERE r.tenant_id = ? AND r.id = ?`, t.ID, refundID))
		if err != nil {
			return err
		}
		if r.Status == RefundDone {
			out.Ignored = "refund " + r.Number + " was already done"
			return nil
		}
		// A failed refund that the provider made after all (the answer we took
		// for a refusal was not one) is money gone: it is recorded.
		if _, err := tx.ExecContext(ctx, `UPDATE refunds SET status = 'done', provider_ref = ?, error = '', updated_at = ? WHERE id = ?`,
			providerRef, now, r.ID); err != nil {
			return err
		}
		note := fmt.Sprintf("Refund %s of %s from %s made", r.Number, FormatMoney(r.Amount, r.Currency), r.PaymentNumber)
		if err := insertEvent(ctx, tx, t.ID, r.OrderID, EventRefund, r.Actor, string(r.Status), string(RefundDone), note, now); err != nil {
			return err
		}
		out, err = s.syncRefundedTx(ctx, tx, t, r.PaymentID, r.Actor, now)
		return err
	})
	return out, err
}

// FailRefund records that the provider refused a pending refund: nothing was
// refunded, and the reservation is released.
func (s *Store) FailRefund(ctx context.Context, t *Tenant, refundID int64, reason string) (err error) {
	defer wrapErr(&err, "fail refund (refundID=%d)", refundID)
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		r, err := scanRefund(tx.QueryRowContext(ctx, `SELECT `+refundColumns+refundFrom+`WHERE r.tenant_id = ? AND r.id = ?`, t.ID, refundID))
		if err != nil {
			return err
		}
		if r.Status != RefundPending {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE refunds SET status = 'failed', error = ?, attempts = attempts + 1, updated_at = ? WHERE id = ?`,
			reason, now, r.ID); err != nil {
			return err
		}
		note := fmt.Sprintf("Refund %s of %s from %s failed: %s", r.Number, FormatMoney(r.Amount, r.Currency), r.PaymentNumber, reason)
		return insertEvent(ctx, tx, t.ID, r.OrderID, EventRefund, SystemActor, string(RefundPending), string(RefundFailed), note, now)
	})
}

// RefundOutcomeUnknown records an attempt whose outcome is unknown (the
// provider did not answer): the refund stays reserved, and the next attempt
// asks again with the same key.
func (s *Store) RefundOutcomeUnknown(ctx context.Context, t *Tenant, refundID int64, reason string) (err error) {
	defer wrapErr(&err, "refund outcome unknown (refundID=%d)", refundID)
	_, err = s.DB.W.ExecContext(ctx, `UPDATE refunds SET error = ?, attempts = attempts + 1, updated_at = ? WHERE tenant_id = ? AND id = ? AND status = 'pending'`,
		reason, s.now(), t.ID, refundID)
	return err
}

// settleReportedRefundsTx takes a provider's word that reportedTotal has been
// refunded from a payment so far. What it says beyond our done refunds is
// first our own pending refunds (their call is still under way, or crashed
// after the provider made them), oldest first; any rest was made at the
// provider (its cabinet) and is recorded as such, so that a refund is counted
// once whoever reports it.
func (s *Store) settleReportedRefundsTx(ctx context.Context, tx *sql.Tx, t *Tenant, p *Payment, reportedTotal int64, actor Actor, now time.Time) error {
	diff := min(reportedTotal, p.Amount) - p.RefundedAmount
	if diff <= 0 {
		return nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, amount, number FROM refunds WHERE payment_id = ? AND status = 'pending' ORDER BY id`, p.ID)
	type pend struct {
		id, amount int64
		number     string
	}
	pending, err := collect(rows, err, func(row rowScanner) (pend, error) {
		var r pend
		err := row.Scan(&r.id, &r.amount, &r.number)
		return r, err
	})
	if err != nil {
		return err
	}
	for _, r := range pending {
		if r.amount > diff {
			break
		}
		if _, err := tx.ExecContext(ctx, `UPDATE refunds SET status = 'done', updated_at = ? WHERE id = ?`, now, r.id); err != nil {
			return err
		}
		note := fmt.Sprintf("Refund %s of %s from %s confirmed by the provider", r.number, FormatMoney(r.amount, p.Currency), p.Number)
		if err := insertEvent(ctx, tx, t.ID, p.OrderID, EventRefund, actor, string(RefundPending), string(RefundDone), note, now); err != nil {
			return err
		}
		diff -= r.amount
	}
	if diff <= 0 {
		return nil
	}
	number := newRefundNumber(t.Slug, now)
	if _, err := tx.ExecContext(ctx, `INSERT INTO refunds (tenant_id, payment_id, order_id, number, amount, currency, status, reason, actor, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, 'done', 'provider', ?, ?, ?)`, t.ID, p.ID, p.OrderID, number, diff, p.Currency, string(actor), now, now); err != nil {
		return err
	}
	note := fmt.Sprintf("%s of %s was refunded at the provider (not from OrderDesk)", FormatMoney(diff, p.Currency), p.Number)
	return insertEvent(ctx, tx, t.ID, p.OrderID, EventRefund, actor, "", string(RefundDone), note, now)
}

// syncRefundedTx sets a payment's refunded amount to the sum of its done
// refunds and its status to match (partially refunded, refunded), and refunds
// the order when all its money went back.
func (s *Store) syncRefundedTx(ctx context.Context, tx *sql.Tx, t *Tenant, paymentID int64, actor Actor, now time.Time) (Applied, error) {
	p, err := scanPayment(tx.QueryRowContext(ctx, `SELECT `+paymentColumns+paymentFrom+`WHERE p.tenant_id = ? AND p.id = ?`, t.ID, paymentID))
	if err != nil {
		return Applied{}, err
	}
	out := Applied{From: p.Status, To: p.Status}
	var done int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(sum(amount), 0) FROM refunds WHERE payment_id = ? AND status = 'done'`, p.ID).Scan(&done); err != nil {
		return out, err
	}
	to := p.Status
	switch {
	case done >= p.Amount:
		to = PaymentRefunded
	case done > 0:
		to = PaymentPartiallyRefunded
	}
	if to == p.Status && done == p.RefundedAmount {
		out.Ignored = "already " + string(to)
		return out, nil
	}
	if to != p.Status && !p.Status.CanTransitionTo(to) {
		// A refund of a payment that is not completed (suspected fraud taken
		// back at the provider, say): the money is recorded, the status is left
		// for a person.
		to = p.Status
	}
	res, err := tx.ExecContext(ctx, `UPDATE payments SET status = ?, refunded_amount = ?, updated_at = ? WHERE id = ? AND status = ?`,
		string(to), done, now, p.ID, string(p.Status))
	if err != nil {
		return out, err
	}
	if n, err := res.RowsAffected(); err != nil {
		return out, err
	} else if n == 0 {
		return out, &ConflictError{Msg: "The payment changed meanwhile."}
	}
	out.Changed, out.To = true, to
	if to != p.Status {
		note := p.Number + ": " + string(p.Status) + " → " + string(to)
		if err := insertEvent(ctx, tx, t.ID, p.OrderID, EventPayment, actor, string(p.Status), string(to), note, now); err != nil {
			return out, err
		}
	}
	if err := recomputePaymentStatus(ctx, tx, t.ID, p.OrderID, actor, now); err != nil {
		return out, err
	}
	if to != PaymentRefunded {
		return out, nil
	}
	// All the order's money went back: the order is refunded (the only way an
	// order becomes refunded).
	var st OrderStatus
	var pst OrderPaymentStatus
	if err := tx.QueryRowContext(ctx, `SELECT status, payment_status FROM orders WHERE id = ?`, p.OrderID).Scan(&st, &pst); err != nil {
		return out, err
	}
	if pst == PayRefunded && st.CanTransitionTo(OrderRefunded) {
		err = s.transitionOrderTx(ctx, tx, t, p.OrderID, OrderRefunded, actor, TransitionInput{Note: "All payments refunded"})
	}
	return out, err
}
