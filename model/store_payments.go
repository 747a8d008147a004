package model

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

const paymentColumns = `p.id, p.tenant_id, p.order_id, o.number, p.number, p.provider, p.integration_id, p.mode, p.status, p.amount, p.currency,
	p.refunded_amount, p.provider_ref, p.payment_url, p.failure_reason, p.paid_at, p.created_at, p.updated_at`

const paymentFrom = ` FROM payments p JOIN orders o ON o.id = p.order_id `

func scanPayment(row interface{ Scan(...any) error }) (*Payment, error) {
	p := &Payment{}
	var paid sql.NullTime
	err := row.Scan(&p.ID, &p.TenantID, &p.OrderID, &p.OrderNumber, &p.Number, &p.Provider, &p.IntegrationID, &p.Mode, &p.Status,
		&p.Amount, &p.Currency, &p.RefundedAmount, &p.ProviderRef, &p.PaymentURL, &p.FailureReason, &paid, &p.CreatedAt, &p.UpdatedAt)
	if err != nil {
		return nil, notFound(err)
	}
	if paid.Valid {
		p.PaidAt = &paid.Time
	}
	return p, nil
}

// payable says why an order cannot take a payment now, or "" when it can.
func payable(status OrderStatus, pay OrderPaymentStatus) string {
	switch {
	case pay == PayPaid || pay == PayPartiallyRefunded || pay == PayRefunded:
		return "This order is already paid."
	case pay == PaySuspectedFraud:
		return "A payment of this order is under review; it cannot be paid again now."
	case pay == PayProcessing:
		return "A payment of this order is being processed; wait for its answer before paying again."
	case status == OrderCancelled:
		return "This order was cancelled; it cannot be paid any more."
	case status == OrderRefunded || status == OrderCompleted || status == OrderDelivered || status == OrderShipped:
		return "This order cannot be paid in its current status."
	}
	return ""
}

// OpenPaymentError refuses a new payment while another of the order is still
// open at its provider: paying both would take the money twice.
type OpenPaymentError struct {
	Payment *Payment
}

func (e *OpenPaymentError) Error() string {
	msg := "A " + string(e.Payment.Provider) + " payment of this order (" + e.Payment.Number + ") is still open"
	if e.Payment.PaymentURL != "" {
		msg += ": finish it at " + e.Payment.PaymentURL
	}
	return msg + ", or wait until it expires before paying another way."
}

// Unwrap makes it a conflict (409).
func (e *OpenPaymentError) Unwrap() error { return ErrConflict }

// CheckPayable says whether an order may take a new payment now (nil), or why
// not (a *ConflictError). It does not look at the order's open payments: the
// payment flow closes those first.
func (s *Store) CheckPayable(ctx context.Context, t *Tenant, orderID int64) (err error) {
	defer wrapErr(&err, "check payable (orderID=%d)", orderID)
	var status OrderStatus
	var pay OrderPaymentStatus
	if err := s.DB.R.QueryRowContext(ctx, `SELECT status, payment_status FROM orders WHERE tenant_id = ? AND id = ?`, t.ID, orderID).
		Scan(&status, &pay); err != nil {
		return notFound(err)
	}
	if msg := payable(status, pay); msg != "" {
		return &ConflictError{Msg: msg}
	}
	return nil
}

// NewPayment creates a pending payment of the order's outstanding amount through
// an integration. It is refused with a clear message when the integration is not
// usable, the order is not payable or already paid, or another payment of the
// order is still open (an *OpenPaymentError): the caller closes open payments at
// their providers first, and two payments started at once cannot both pass.
func (s *Store) NewPayment(ctx context.Context, t *Tenant, orderID int64, in *Integration) (_ *Payment, err error) {
	defer wrapErr(&err, "new payment (orderID=%d)", orderID)
	if in == nil || !in.Usable() || !in.Provider.IsPayment() {
		return nil, &ConflictError{Msg: "This payment method is not available: the shop has no integration for it in test or live mode."}
	}
	var id int64
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		var status OrderStatus
		var pay OrderPaymentStatus
		var total int64
		var currency string
		if err := tx.QueryRowContext(ctx, `SELECT status, payment_status, total, currency FROM orders WHERE tenant_id = ? AND id = ?`, t.ID, orderID).
			Scan(&status, &pay, &total, &currency); err != nil {
			return notFound(err)
		}
		if msg := payable(status, pay); msg != "" {
			return &ConflictError{Msg: msg}
		}
		open, err := scanPayment(tx.QueryRowContext(ctx, `SELECT `+paymentColumns+paymentFrom+`WHERE p.order_id = ? AND p.status IN ('pending', 'processing')
			ORDER BY p.id DESC LIMIT 1`, orderID))
		if err == nil {
			return &OpenPaymentError{Payment: open}
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		var paid int64
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(sum(amount), 0) FROM payments WHERE order_id = ? AND status = 'completed'`, orderID).Scan(&paid); err != nil {
			return err
		}
		due := total - paid
		if due <= 0 {
			return &ConflictError{Msg: "This order is already paid."}
		}
		now := s.now()
		b := make([]byte, 4)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		number := "PAY-" + strings.ToUpper(t.Slug) + "-" + now.Format("20060102") + "-" + strings.ToUpper(hex.EncodeToString(b))
		res, err := tx.ExecContext(ctx, `INSERT INTO payments (tenant_id, order_id, number, provider, integration_id, mode, status, amount, currency, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)`, t.ID, orderID, number, string(in.Provider), in.ID, in.Mode(), due, currency, now, now)
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.FindPaymentByID(ctx, t.ID, id)
}

// FindPaymentByID returns the tenant's payment or ErrNotFound.
func (s *Store) FindPaymentByID(ctx context.Context, tenantID, id int64) (_ *Payment, err error) {
	defer wrapErr(&err, "find payment by id (tenantID=%d id=%d)", tenantID, id)
	return scanPayment(s.DB.R.QueryRowContext(ctx, `SELECT `+paymentColumns+paymentFrom+`WHERE p.tenant_id = ? AND p.id = ?`, tenantID, id))
}

// FindPaymentByNumber returns the tenant's payment by its PAY- number.
func (s *Store) FindPaymentByNumber(ctx context.Context, tenantID int64, number string) (_ *Payment, err error) {
	defer wrapErr(&err, "find payment by number (tenantID=%d)", tenantID)
	return scanPayment(s.DB.R.QueryRowContext(ctx, `SELECT `+paymentColumns+paymentFrom+`WHERE p.tenant_id = ? AND p.number = ?`, tenantID, strings.TrimSpace(number)))
}

// findPaymentOfIntegration finds the payment a provider's message is about,
// only among the payments of the integration that received it: by the
// provider's id, else by our reference.
func findPaymentOfIntegration(ctx context.Context, q queryer, in *Integration, ref, reference string) (*Payment, error) {
	if ref != "" {
		p, err := scanPayment(q.QueryRowContext(ctx, `SELECT `+paymentColumns+paymentFrom+`WHERE p.tenant_id = ? AND p.integration_id = ? AND p.provider_ref = ?`,
			in.TenantID, in.ID, ref))
		if !errors.Is(err, ErrNotFound) {
			return p, err
		}
	}
	if reference != "" {
		return scanPayment(q.QueryRowContext(ctx, `SELECT `+paymentColumns+paymentFrom+`WHERE p.tenant_id = ? AND p.integration_id = ? AND p.number = ?`,
			in.TenantID, in.ID, reference))
	}
	return nil, ErrNotFound
}

// FindPaymentForNotification finds the payment a provider's message is about,
// among the integration's payments: by the provider's id, else by our reference.
func (s *Store) FindPaymentForNotification(ctx context.Context, in *Integration, ref, reference string) (_ *Payment, err error) {
	defer wrapErr(&err, "find payment for notification")
	return findPaymentOfIntegration(ctx, s.DB.R, in, ref, reference)
}

// PaymentFilter selects payments for /admin/payments and the API.
type PaymentFilter struct {
	OrderID  int64
	Status   PaymentStatus
	Provider ProviderType
	Open     bool // pending or processing only (for pollers)
	// CreatedAfter keeps payments created after this time (pollers give up on
	// older ones).
	CreatedAfter time.Time
	Limit        int
}

// FindPayments lists the tenant's payments, newest first.
func (s *Store) FindPayments(ctx context.Context, tenantID int64, f PaymentFilter) (_ []*Payment, err error) {
	defer wrapErr(&err, "find payments (tenantID=%d)", tenantID)
	conds, args := []string{"p.tenant_id = ?"}, []any{tenantID}
	if f.OrderID != 0 {
		conds, args = append(conds, "p.order_id = ?"), append(args, f.OrderID)
	}
	if f.Status != "" {
		conds, args = append(conds, "p.status = ?"), append(args, string(f.Status))
	}
	if f.Provider != "" {
		conds, args = append(conds, "p.provider = ?"), append(args, string(f.Provider))
	}
	if f.Open {
		conds = append(conds, "p.status IN ('pending', 'processing')")
	}
	if !f.CreatedAfter.IsZero() {
		conds, args = append(conds, "p.created_at > ?"), append(args, f.CreatedAfter.UTC())
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	f.Limit = min(f.Limit, 100_000)
	args = append(args, f.Limit)
	rows, err := s.DB.R.QueryContext(ctx, `SELECT `+paymentColumns+paymentFrom+`WHERE `+strings.Join(conds, " AND ")+` ORDER BY p.id DESC LIMIT ?`, args...)
	return collect(rows, err, scanPayment)
}

// AttachProviderPayment records the provider's id and payment address after the
// create call succeeded.
func (s *Store) AttachProviderPayment(ctx context.Context, tenantID, paymentID int64, ref, paymentURL string) (err error) {
	defer wrapErr(&err, "attach provider payment (tenantID=%d paymentID=%d)", tenantID, paymentID)
	_, err = s.DB.W.ExecContext(ctx, `UPDATE payments SET provider_ref = ?, payment_url = ?, updated_at = ? WHERE tenant_id = ? AND id = ?`,
		ref, paymentURL, s.now(), tenantID, paymentID)
	return err
}

// insertPaymentEventTx keeps what a provider sent or answered. A dedup key is
// unique per integration: it reports a duplicate (dup true) without storing it
// twice.
func insertPaymentEventTx(ctx context.Context, q interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, e PaymentEvent, now time.Time) (dup bool, err error) {
	var dedup any
	if e.DedupKey != "" {
		dedup = e.DedupKey
	}
	res, err := q.ExecContext(ctx, `INSERT INTO payment_events (tenant_id, payment_id, integration_id, direction, kind, body, verified, result, dedup_key, created_at)
		VALUES (?, nullif(?, 0), nullif(?, 0), ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (integration_id, dedup_key) WHERE dedup_key IS NOT NULL DO NOTHING`,
		e.TenantID, e.PaymentID, e.IntegrationID, e.Direction, e.Kind, e.Body, e.Verified, e.Result, dedup, now)
	if err != nil {
		return false, fmt.Errorf("record %s %s event: %w", e.Direction, e.Kind, err)
	}
	n, err := res.RowsAffected()
	return n == 0, err
}

// RecordPaymentEvent keeps what a provider sent or answered, or a call we made.
// It reports a duplicate (the same dedup key seen before by the same
// integration) without storing it twice.
func (s *Store) RecordPaymentEvent(ctx context.Context, e PaymentEvent) (_ bool, err error) {
	defer wrapErr(&err, "record payment event")
	return insertPaymentEventTx(ctx, s.DB.W, e, s.now())
}

// RecordRefusedNotification keeps a notification that could not be verified
// (or a 3-D Secure answer that cannot be checked with the bank) as an event,
// and puts it in the review queue once: it changes nothing else.
func (s *Store) RecordRefusedNotification(ctx context.Context, e PaymentEvent, orderID int64, reason string) (err error) {
	defer wrapErr(&err, "record refused notification (orderID=%d)", orderID)
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		dup, err := insertPaymentEventTx(ctx, tx, e, now)
		if err != nil || dup {
			return err
		}
		return addReviewTx(ctx, tx, e.TenantID, e.PaymentID, orderID, "bad_notification", reason, now)
	})
}

// FindPaymentEvents lists a payment's events, oldest first.
func (s *Store) FindPaymentEvents(ctx context.Context, tenantID, paymentID int64) (_ []PaymentEvent, err error) {
	defer wrapErr(&err, "find payment events (tenantID=%d paymentID=%d)", tenantID, paymentID)
	rows, err := s.DB.R.QueryContext(ctx, `SELECT id, tenant_id, coalesce(payment_id, 0), coalesce(integration_id, 0), direction, kind, body, verified, result,
		coalesce(dedup_key, ''), created_at FROM payment_events WHERE tenant_id = ? AND payment_id = ? ORDER BY id`, tenantID, paymentID)
	return collect(rows, err, func(r rowScanner) (PaymentEvent, error) {
		var e PaymentEvent
		err := r.Scan(&e.ID, &e.TenantID, &e.PaymentID, &e.IntegrationID, &e.Direction, &e.Kind, &e.Body, &e.Verified, &e.Result, &e.DedupKey, &e.CreatedAt)
		return e, err
	})
}

// ApplyPayment is the one way a payment's status changes, whoever learned it (a
// webhook, the return page, the poller, verify, a refund, a person), together
// with an event row that says what was learned (ev; its Kind empty for none).
// In one write transaction it checks the payment's transition table (a late
// "pending" never undoes "completed"), turns an amount or currency that differs
// from the payment into suspected fraud with a review, takes money reported for
// a payment we had closed as received late (the order reinstated when its
// stock is still there, else refunded, a review either way), reserves the
// refund of money beyond the order's total when the shop's setting says so,
// and recomputes the order's payment status, which confirms a pending order and
// queues the side effects of being paid. Refunds it reserved are in
// Applied.Refunds, for the caller to have made by the provider.
func (s *Store) ApplyPayment(ctx context.Context, t *Tenant, paymentID int64, obs Observation, ev PaymentEvent) (_ Applied, err error) {
	defer wrapErr(&err, "apply payment (paymentID=%d)", paymentID)
	var out Applied
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		if ev.Kind != "" {
			ev.TenantID, ev.PaymentID = t.ID, paymentID
			if _, err := insertPaymentEventTx(ctx, tx, ev, s.now()); err != nil {
				return err
			}
		}
		var err error
		out, err = s.applyPaymentTx(ctx, tx, t, paymentID, obs)
		return err
	})
	return out, err
}

// Notice is a verified notification of a provider, to be recorded and applied.
type Notice struct {
	Integration *Integration
	// Ref is the provider's payment id, Reference our payment number, as the
	// notification names them.
	Ref, Reference string
	// Event is the notification as received; its DedupKey identifies it within
	// the integration, so a second delivery changes nothing.
	Event PaymentEvent
	// Obs is what the notification says of the payment.
	Obs Observation
	// RefundRef and RefundMinor describe one refund the notification reports
	// (its provider id and amount), when it is about a refund.
	RefundRef   string
	RefundMinor int64
	// WrongReceiver: the money went to another account than the shop's
	// (PayPal's receiver_email check).
	WrongReceiver bool
}

// NoticeResult says what applying a notification did.
type NoticeResult struct {
	Payment   *Payment // nil when it named no payment of the integration
	Applied   Applied
	Duplicate bool // seen before: nothing changed
	Unknown   bool // it names no payment of this integration: recorded for review
}

// ApplyNotification records a verified notification and applies it in one
// write transaction: the event row (its key unique within the integration, so
// a redelivery is a no-op), the payment it names among the integration's own
// payments (one that names none is kept for review under a key of its own,
// so that it never blocks a genuine notification), the status change, the
// reviews and the outbox rows.
func (s *Store) ApplyNotification(ctx context.Context, t *Tenant, n Notice) (_ NoticeResult, err error) {
	defer wrapErr(&err, "apply notification")
	var out NoticeResult
	if t.ID != n.Integration.TenantID {
		return out, fmt.Errorf("notification of integration %d applied to tenant %d", n.Integration.ID, t.ID)
	}
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		ev := n.Event
		ev.TenantID, ev.IntegrationID, ev.Direction = t.ID, n.Integration.ID, "in"
		p, err := findPaymentOfIntegration(ctx, tx, n.Integration, n.Ref, n.Reference)
		if errors.Is(err, ErrNotFound) {
			out.Unknown = true
			ev.Result = "unknown payment: " + ev.Result
			if ev.DedupKey != "" {
				ev.DedupKey = "unknown:" + ev.DedupKey
			}
			dup, err := insertPaymentEventTx(ctx, tx, ev, now)
			if err != nil || dup {
				out.Duplicate = dup
				return err
			}
			return addReviewTx(ctx, tx, t.ID, 0, 0, "unknown_payment", fmt.Sprintf("A verified %s notification names a payment this integration does not know (%s %s).",
				n.Integration.Provider, n.Ref, n.Reference), now)
		} else if err != nil {
			return err
		}
		out.Payment = p
		ev.PaymentID = p.ID
		if out.Duplicate, err = insertPaymentEventTx(ctx, tx, ev, now); err != nil || out.Duplicate {
			return err
		}
		if n.Ref != "" && n.Ref != p.ProviderRef {
			// PayPal names the payment by its invoice until the IPN brings the
			// transaction id; later calls (refunds) need the transaction id.
			if _, err := tx.ExecContext(ctx, `UPDATE payments SET provider_ref = ?, updated_at = ? WHERE id = ?`, n.Ref, now, p.ID); err != nil {
				return err
			}
			p.ProviderRef = n.Ref
		}
		obs := n.Obs
		if n.RefundMinor > 0 {
			// A notification of one refund: ours (its provider id is recorded)
			// changes nothing; any other adds to what was refunded.
			var ours int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM refunds WHERE payment_id = ? AND provider_ref = ? AND provider_ref <> '' AND status = 'done'`,
				p.ID, n.RefundRef).Scan(&ours); err != nil {
				return err
			}
			if ours > 0 {
				out.Applied.Ignored = "refund " + n.RefundRef + " is already recorded"
				return nil
			}
			obs.RefundedMinor = p.RefundedAmount + n.RefundMinor
		}
		if n.WrongReceiver {
			// Money sent to someone else is not this shop's payment: held for a
			// person like any mismatch.
			obs.Stage = PaymentSuspectedFraud
		}
		out.Applied, err = s.applyPaymentTx(ctx, tx, t, p.ID, obs)
		if err != nil {
			return err
		}
		if n.WrongReceiver && out.Applied.Changed {
			return addReviewTx(ctx, tx, t.ID, p.ID, p.OrderID, "wrong_receiver", "The payment was sent to another receiver than this shop.", now)
		}
		return nil
	})
	return out, err
}

func (s *Store) applyPaymentTx(ctx context.Context, tx *sql.Tx, t *Tenant, paymentID int64, obs Observation) (Applied, error) {
	now := s.now()
	p, err := scanPayment(tx.QueryRowContext(ctx, `SELECT `+paymentColumns+paymentFrom+`WHERE p.tenant_id = ? AND p.id = ?`, t.ID, paymentID))
	if err != nil {
		return Applied{}, err
	}
	out := Applied{From: p.Status, To: obs.Stage}
	if !obs.Stage.Valid() {
		out.Ignored = "unknown status " + string(obs.Stage)
		return out, nil
	}
	actor := obs.Actor
	if actor == "" {
		actor = SystemActor
	}
	to := obs.Stage
	if to == PaymentRefunded || to == PaymentPartiallyRefunded {
		// What was refunded is the sum of the payment's refunds; the provider's
		// report adds the refunds we did not know of.
		total := obs.RefundedMinor
		if to == PaymentRefunded && total == 0 {
			total = p.Amount
		}
		if err := s.settleReportedRefundsTx(ctx, tx, t, p, total, actor, now); err != nil {
			return out, err
		}
		return s.syncRefundedTx(ctx, tx, t, p.ID, actor, now)
	}
	review, kind := "", ""
	if to == PaymentCompleted || to == PaymentProcessing {
		switch {
		case obs.AmountMinor != 0 && obs.AmountMinor != p.Amount:
			kind = "amount_mismatch"
			review = fmt.Sprintf("The provider reports %s paid, but the payment is for %s.", FormatMoney(obs.AmountMinor, coalesce(obs.Currency, p.Currency)), FormatMoney(p.Amount, p.Currency))
		case obs.Currency != "" && !strings.EqualFold(obs.Currency, p.Currency):
			kind = "currency_mismatch"
			review = fmt.Sprintf("The provider reports the payment in %s, but the order is in %s.", strings.ToUpper(obs.Currency), p.Currency)
		}
		if review != "" {
			to = PaymentSuspectedFraud
			out.To = to
		}
	}
	if to == p.Status {
		out.Ignored = "already " + string(to)
		return out, nil
	}
	if !p.Status.CanTransitionTo(to) {
		out.Ignored = fmt.Sprintf("a %s payment cannot become %s (late or out-of-order notification)", p.Status, to)
		return out, nil
	}
	// Money for a payment we had closed (cancelled on expiry or when another
	// payment started, or failed on an answer we could not check) is money
	// received late: never ignored.
	out.Late = (p.Status == PaymentCanceled || p.Status == PaymentFailed) && (to == PaymentCompleted || to == PaymentSuspectedFraud)
	sets := "status = ?, updated_at = ?"
	args := []any{string(to), now}
	if to == PaymentCompleted && p.PaidAt == nil {
		sets += ", paid_at = ?"
		args = append(args, now)
	}
	if obs.Reason != "" && (to == PaymentFailed || to == PaymentCanceled) {
		sets += ", failure_reason = ?"
		args = append(args, obs.Reason)
	}
	args = append(args, p.ID, string(p.Status))
	res, err := tx.ExecContext(ctx, `UPDATE payments SET `+sets+` WHERE id = ? AND status = ?`, args...)
	if err != nil {
		return out, err
	}
	if n, err := res.RowsAffected(); err != nil {
		return out, err
	} else if n == 0 {
		return out, &ConflictError{Msg: "The payment changed meanwhile."}
	}
	out.Changed = true
	note := p.Number + ": " + string(p.Status) + " → " + string(to)
	if obs.Reason != "" {
		note += " (" + obs.Reason + ")"
	}
	if out.Late {
		note += " (received late)"
	}
	if err := insertEvent(ctx, tx, t.ID, p.OrderID, EventPayment, actor, string(p.Status), string(to), note, now); err != nil {
		return out, err
	}
	var orderStatus OrderStatus
	var total int64
	if err := tx.QueryRowContext(ctx, `SELECT status, total FROM orders WHERE id = ?`, p.OrderID).Scan(&orderStatus, &total); err != nil {
		return out, err
	}
	if review != "" {
		if err := s.holdForReviewTx(ctx, tx, t, p, orderStatus, kind, review, now); err != nil {
			return out, err
		}
	}
	refundReason := ""
	if out.Late {
		what := "Money (" + FormatMoney(p.Amount, p.Currency) + ") arrived for payment " + p.Number + " after it was closed"
		switch {
		case to != PaymentCompleted:
			what += "; it is held for review."
		case orderStatus != OrderCancelled:
			what += "; the order was still open, so it counts."
		default:
			ok, shortfall, err := s.reinstateOrderTx(ctx, tx, t, p.OrderID, now)
			if err != nil {
				return out, err
			}
			if ok {
				out.Reinstated = true
				what += " and the order was cancelled: the order was reinstated (its stock is still there)."
				if shortfall != "" {
					what += " " + shortfall
				}
			} else {
				refundReason = RefundLate
				what += " and the order was cancelled with its stock gone: the money is being refunded automatically."
			}
		}
		if err := addReviewTx(ctx, tx, t.ID, p.ID, p.OrderID, "late_payment", what, now); err != nil {
			return out, err
		}
		if refundReason != "" {
			if _, err := tx.ExecContext(ctx, `UPDATE orders SET needs_attention = ? WHERE id = ?`, what, p.OrderID); err != nil {
				return out, err
			}
		}
	}
	if to == PaymentCompleted && refundReason == "" {
		// Money beyond the order's total: another payment already paid it.
		excess, err := overpaymentTx(ctx, tx, p, total)
		if err != nil {
			return out, err
		}
		if excess > 0 {
			out.Overpaid = excess
			what := fmt.Sprintf("Payment %s brought %s more than the order's total of %s (the order was already paid)",
				p.Number, FormatMoney(excess, p.Currency), FormatMoney(total, p.Currency))
			if t.RefundOverpayments {
				what += ": the difference is being refunded automatically."
				refundReason = RefundOverpaid
			} else {
				what += ": refund it from here if the customer should have it back (the shop's setting keeps it for a person)."
			}
			if err := addReviewTx(ctx, tx, t.ID, p.ID, p.OrderID, "overpaid", what, now); err != nil {
				return out, err
			}
		}
	}
	if err := recomputePaymentStatus(ctx, tx, t.ID, p.OrderID, actor, now); err != nil {
		return out, err
	}
	if to == PaymentFailed {
		if err := queuePaymentFailedTx(ctx, tx, t.ID, p.OrderID, p.Number, now); err != nil {
			return out, err
		}
	}
	if refundReason != "" {
		amount := p.Amount
		if refundReason == RefundOverpaid {
			amount = out.Overpaid
		}
		p.Status = to
		r, err := s.reserveRefundTx(ctx, tx, t, p, amount, refundReason, SystemActor)
		if err != nil {
			return out, err
		}
		out.Refunds = append(out.Refunds, r)
	}
	return out, nil
}

// holdForReviewTx puts a payment whose amount or currency differ from the
// order's in the review queue and holds its order (fecshop's suspected fraud).
func (s *Store) holdForReviewTx(ctx context.Context, tx *sql.Tx, t *Tenant, p *Payment, orderStatus OrderStatus, kind, review string, now time.Time) error {
	if err := addReviewTx(ctx, tx, t.ID, p.ID, p.OrderID, kind, review, now); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE orders SET needs_attention = ? WHERE id = ?`, review, p.OrderID); err != nil {
		return err
	}
	if orderStatus.CanTransitionTo(OrderHolded) {
		return s.transitionOrderTx(ctx, tx, t, p.OrderID, OrderHolded, SystemActor, TransitionInput{Note: review})
	}
	return nil
}

// overpaymentTx is how much of payment p goes beyond the order's total, given
// the money of the order's other payments. Their gross amounts count, refunds
// or not: a refund a person made was meant, and does not make room for more.
func overpaymentTx(ctx context.Context, tx *sql.Tx, p *Payment, total int64) (int64, error) {
	var others int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(sum(amount), 0) FROM payments WHERE order_id = ? AND id <> ?
		AND status IN ('completed', 'partially_refunded', 'refunded')`, p.OrderID, p.ID).Scan(&others); err != nil {
		return 0, err
	}
	due := max(total-others, 0)
	return max(p.Amount-due, 0), nil
}

func coalesce(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// reinstateOrderTx brings back an order cancelled before its money arrived, if
// its stock can be reserved again. It takes back what the cancellation gave
// back: the coupon use and the bonus spent; what can no longer be taken (the
// coupon used up meanwhile, the bonus spent elsewhere) is said in shortfall,
// for the review.
func (s *Store) reinstateOrderTx(ctx context.Context, tx *sql.Tx, t *Tenant, orderID int64, now time.Time) (ok bool, shortfall string, err error) {
	rows, err := tx.QueryContext(ctx, `SELECT product_id, sum(quantity) FROM order_lines WHERE order_id = ? AND product_id IS NOT NULL GROUP BY product_id`, orderID)
	type need struct{ product, qty int64 }
	needs, err := collect(rows, err, func(r rowScanner) (need, error) {
		var n need
		err := r.Scan(&n.product, &n.qty)
		return n, err
	})
	if err != nil {
		return false, "", err
	}
	if !t.ZeroStock {
		for _, n := range needs {
			var left int64
			if err := tx.QueryRowContext(ctx, `SELECT stock FROM products WHERE id = ?`, n.product).Scan(&left); err != nil {
				return false, "", err
			}
			if left < n.qty {
				return false, "", nil
			}
		}
		for _, n := range needs {
			if _, err := tx.ExecContext(ctx, `UPDATE products SET stock = stock - ? WHERE id = ?`, n.qty, n.product); err != nil {
				return false, "", err
			}
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE orders SET status = 'confirmed', stock_reserved = ?, updated_at = ? WHERE id = ? AND status = 'cancelled'`,
		!t.ZeroStock, now, orderID); err != nil {
		return false, "", err
	}
	if shortfall, err = retakeDiscountsTx(ctx, tx, t, orderID, now); err != nil {
		return false, "", err
	}
	return true, shortfall, insertEvent(ctx, tx, t.ID, orderID, EventOrderStatus, SystemActor, string(OrderCancelled), string(OrderConfirmed),
		"Reinstated: the payment arrived after the order was cancelled, and the stock is still there", now)
}

// retakeDiscountsTx takes again the coupon use and the bonus that an order's
// cancellation gave back, now that the order is reinstated, so neither can be
// spent twice. When the coupon's limit was reached meanwhile, or the bonus was
// spent elsewhere, the order keeps its price (the customer paid it) and the
// difference is said for the review.
func retakeDiscountsTx(ctx context.Context, tx *sql.Tx, t *Tenant, orderID int64, now time.Time) (string, error) {
	var couponID, customerID sql.NullInt64
	var email, currency string
	var discount, bonusUsed int64
	if err := tx.QueryRowContext(ctx, `SELECT coupon_id, customer_id, customer_email, discount, bonus_used, currency FROM orders WHERE id = ?`, orderID).
		Scan(&couponID, &customerID, &email, &discount, &bonusUsed, &currency); err != nil {
		return "", err
	}
	var notes []string
	if couponID.Valid {
		var refusal *CouponRefusal
		err := redeemCouponTx(ctx, tx, t.ID, couponID.Int64, orderID, customerID.Int64, email, now)
		if err != nil && !errors.As(err, &refusal) {
			return "", err
		}
		if refusal != nil {
			notes = append(notes, "Its coupon was used up meanwhile: the discount of "+FormatMoney(discount, currency)+" was given without a coupon use.")
		}
	}
	if bonusUsed > 0 && customerID.Valid {
		balance, err := bonusBalance(ctx, tx, t.ID, customerID.Int64)
		if err != nil {
			return "", err
		}
		take := min(bonusUsed, max(balance, 0))
		if take > 0 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO bonus_ledger (tenant_id, customer_id, order_id, delta, reason, created_at) VALUES (?, ?, ?, ?, 'spent', ?)`,
				t.ID, customerID.Int64, orderID, -take, now); err != nil {
				return "", err
			}
		}
		if take < bonusUsed {
			notes = append(notes, "The customer's bonus was spent elsewhere meanwhile: "+FormatMoney(bonusUsed-take, currency)+" of the "+
				FormatMoney(bonusUsed, currency)+" bonus could not be taken again.")
		}
	}
	return strings.Join(notes, " "), nil
}

func addReviewTx(ctx context.Context, tx *sql.Tx, tenantID, paymentID, orderID int64, kind, reason string, now time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO payment_reviews (tenant_id, payment_id, order_id, kind, reason, created_at) VALUES (?, nullif(?, 0), nullif(?, 0), ?, ?, ?)`,
		tenantID, paymentID, orderID, kind, reason, now)
	return err
}

// AddPaymentReview puts something in the review queue (a bad or unknown
// notification, say).
func (s *Store) AddPaymentReview(ctx context.Context, tenantID, paymentID, orderID int64, kind, reason string) (err error) {
	defer wrapErr(&err, "add payment review (tenantID=%d paymentID=%d orderID=%d)", tenantID, paymentID, orderID)
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		return addReviewTx(ctx, tx, tenantID, paymentID, orderID, kind, reason, s.now())
	})
}

// AddPaymentReviewOnce puts a payment in the review queue unless an open
// review of the same kind already asks about it (a job that finds the same
// problem on every run asks once).
func (s *Store) AddPaymentReviewOnce(ctx context.Context, tenantID, paymentID, orderID int64, kind, reason string) (err error) {
	defer wrapErr(&err, "add payment review once (tenantID=%d paymentID=%d orderID=%d)", tenantID, paymentID, orderID)
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		var open int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM payment_reviews WHERE tenant_id = ? AND payment_id = ? AND kind = ? AND resolution = ''`,
			tenantID, paymentID, kind).Scan(&open); err != nil {
			return err
		}
		if open > 0 {
			return nil
		}
		return addReviewTx(ctx, tx, tenantID, paymentID, orderID, kind, reason, s.now())
	})
}

const reviewSelect = `SELECT r.id, r.tenant_id, coalesce(r.payment_id, 0), coalesce(p.number, ''), coalesce(r.order_id, 0), coalesce(o.number, ''),
	r.kind, r.reason, r.resolution, r.resolved_by, r.resolved_at, r.created_at
	FROM payment_reviews r LEFT JOIN payments p ON p.id = r.payment_id LEFT JOIN orders o ON o.id = r.order_id
	WHERE r.tenant_id = ?`

func scanReview(row interface{ Scan(...any) error }) (*PaymentReview, error) {
	r := &PaymentReview{}
	var at sql.NullTime
	if err := row.Scan(&r.ID, &r.TenantID, &r.PaymentID, &r.PaymentNumber, &r.OrderID, &r.OrderNumber, &r.Kind, &r.Reason,
		&r.Resolution, &r.ResolvedBy, &at, &r.CreatedAt); err != nil {
		return nil, notFound(err)
	}
	if at.Valid {
		r.ResolvedAt = &at.Time
	}
	return r, nil
}

// FindPaymentReviews lists the tenant's review queue: open ones first.
func (s *Store) FindPaymentReviews(ctx context.Context, tenantID int64, openOnly bool, limit int) (_ []*PaymentReview, err error) {
	defer wrapErr(&err, "find payment reviews (tenantID=%d limit=%d)", tenantID, limit)
	q := reviewSelect
	if openOnly {
		q += ` AND r.resolution = ''`
	}
	q += ` ORDER BY r.resolution = '' DESC, r.id DESC LIMIT ?`
	rows, err := s.DB.R.QueryContext(ctx, q, tenantID, limit)
	return collect(rows, err, scanReview)
}

// FindPaymentReview returns one review of the tenant.
func (s *Store) FindPaymentReview(ctx context.Context, tenantID, id int64) (_ *PaymentReview, err error) {
	defer wrapErr(&err, "find payment review (tenantID=%d id=%d)", tenantID, id)
	return scanReview(s.DB.R.QueryRowContext(ctx, reviewSelect+` AND r.id = ?`, tenantID, id))
}

// ResolvePaymentReview records a person's decision. "accepted" takes a payment
// held as suspected fraud as paid and releases its order from hold; "refunded"
// is recorded after the caller refunded through the provider; "dismissed" closes
// it without change.
func (s *Store) ResolvePaymentReview(ctx context.Context, t *Tenant, id int64, actor *User, resolution string) (err error) {
	defer wrapErr(&err, "resolve payment review (id=%d)", id)
	if resolution != "accepted" && resolution != "refunded" && resolution != "dismissed" {
		return &ValidationError{Fields: map[string]string{"resolution": "choose accept, refund or dismiss"}}
	}
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		var paymentID, orderID sql.NullInt64
		var current string
		if err := tx.QueryRowContext(ctx, `SELECT payment_id, order_id, resolution FROM payment_reviews WHERE tenant_id = ? AND id = ?`, t.ID, id).
			Scan(&paymentID, &orderID, &current); err != nil {
			return notFound(err)
		}
		if current != "" {
			return &ConflictError{Msg: "This review was already resolved (" + current + ")."}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE payment_reviews SET resolution = ?, resolved_by = ?, resolved_at = ? WHERE id = ?`,
			resolution, string(StaffActor(actor)), now, id); err != nil {
			return err
		}
		if resolution == "accepted" && paymentID.Valid {
			var st PaymentStatus
			if err := tx.QueryRowContext(ctx, `SELECT status FROM payments WHERE id = ?`, paymentID.Int64).Scan(&st); err != nil {
				return err
			}
			if st == PaymentSuspectedFraud {
				if _, err := tx.ExecContext(ctx, `UPDATE payments SET status = 'completed', paid_at = coalesce(paid_at, ?), updated_at = ? WHERE id = ?`, now, now, paymentID.Int64); err != nil {
					return err
				}
				if err := insertEvent(ctx, tx, t.ID, orderID.Int64, EventPayment, StaffActor(actor), string(st), string(PaymentCompleted), "Accepted after review", now); err != nil {
					return err
				}
			}
		}
		if orderID.Valid {
			if _, err := tx.ExecContext(ctx, `UPDATE orders SET needs_attention = '' WHERE id = ?`, orderID.Int64); err != nil {
				return err
			}
			if err := recomputePaymentStatus(ctx, tx, t.ID, orderID.Int64, StaffActor(actor), now); err != nil {
				return err
			}
			var os OrderStatus
			if err := tx.QueryRowContext(ctx, `SELECT status FROM orders WHERE id = ?`, orderID.Int64).Scan(&os); err != nil {
				return err
			}
			if resolution == "accepted" && os == OrderHolded {
				return s.transitionOrderTx(ctx, tx, t, orderID.Int64, OrderConfirmed, StaffActor(actor), TransitionInput{Note: "Payment accepted after review"})
			}
		}
		return nil
	})
}

// queueOutboxTx queues a side effect of a change, once per order and kind.
func queueOutboxTx(ctx context.Context, tx *sql.Tx, tenantID, orderID int64, kind string, payload map[string]string, now time.Time) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	key, err := newMessageKey()
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO outbox (tenant_id, order_id, kind, payload, next_attempt_at, created_at, idem_key) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (order_id, kind) DO NOTHING`, tenantID, orderID, kind, string(b), now, now, key)
	return err
}

// OutboxItem is a queued side effect.
type OutboxItem struct {
	ID       int64
	OrderID  int64
	Kind     string
	Payload  string
	Status   string
	Attempts int
}

// FindOutbox lists an order's queued side effects.
func (s *Store) FindOutbox(ctx context.Context, tenantID, orderID int64) (_ []OutboxItem, err error) {
	defer wrapErr(&err, "find outbox (tenantID=%d orderID=%d)", tenantID, orderID)
	rows, err := s.DB.R.QueryContext(ctx, `SELECT id, order_id, kind, payload, status, attempts FROM outbox WHERE tenant_id = ? AND order_id = ? ORDER BY id`, tenantID, orderID)
	return collect(rows, err, func(r rowScanner) (OutboxItem, error) {
		var o OutboxItem
		err := r.Scan(&o.ID, &o.OrderID, &o.Kind, &o.Payload, &o.Status, &o.Attempts)
		return o, err
	})
}
