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
	case status == OrderCancelled:
		return "This order was cancelled; it cannot be paid any more."
	case status == OrderRefunded || status == OrderCompleted || status == OrderDelivered || status == OrderShipped:
		return "This order cannot be paid in its current status."
	}
	return ""
}

// NewPayment creates a pending payment of the order's outstanding amount through
// an integration. It is refused with a clear message when the integration is not
// usable, the order is not payable, or it is already paid.
func (s *Store) NewPayment(ctx context.Context, t *Tenant, orderID int64, in *Integration) (*Payment, error) {
	if in == nil || !in.Usable() || !in.Provider.IsPayment() {
		return nil, &ConflictError{Msg: "This payment method is not available: the shop has no integration for it in test or live mode."}
	}
	var id int64
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
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
		var paid int64
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(sum(amount), 0) FROM payments WHERE order_id = ? AND status IN ('completed', 'processing')`, orderID).Scan(&paid); err != nil {
			return err
		}
		due := total - paid
		if due <= 0 {
			return &ConflictError{Msg: "This order is already paid or a payment of it is being processed."}
		}
		now := s.now()
		b := make([]byte, 4)
		rand.Read(b)
		number := "PAY-" + strings.ToUpper(t.Slug) + "-" + now.Format("20060102") + "-" + strings.ToUpper(hex.EncodeToString(b))
		res, err := tx.ExecContext(ctx, `INSERT INTO payments (tenant_id, order_id, number, provider, integration_id, mode, status, amount, currency, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)`, t.ID, orderID, number, string(in.Provider), in.ID, in.Mode(), due, currency, now, now)
		if err != nil {
			return err
		}
		id, _ = res.LastInsertId()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.FindPaymentByID(ctx, t.ID, id)
}

// FindPaymentByID returns the tenant's payment or ErrNotFound.
func (s *Store) FindPaymentByID(ctx context.Context, tenantID, id int64) (*Payment, error) {
	return scanPayment(s.DB.R.QueryRowContext(ctx, `SELECT `+paymentColumns+paymentFrom+`WHERE p.tenant_id = ? AND p.id = ?`, tenantID, id))
}

// FindPaymentByNumber returns the tenant's payment by its PAY- number.
func (s *Store) FindPaymentByNumber(ctx context.Context, tenantID int64, number string) (*Payment, error) {
	return scanPayment(s.DB.R.QueryRowContext(ctx, `SELECT `+paymentColumns+paymentFrom+`WHERE p.tenant_id = ? AND p.number = ?`, tenantID, strings.TrimSpace(number)))
}

// FindPaymentForNotification finds the payment a provider's notification is about:
// by the provider's id within the integration, else by our reference.
func (s *Store) FindPaymentForNotification(ctx context.Context, in *Integration, ref, reference string) (*Payment, error) {
	if ref != "" {
		p, err := scanPayment(s.DB.R.QueryRowContext(ctx, `SELECT `+paymentColumns+paymentFrom+`WHERE p.integration_id = ? AND p.provider_ref = ?`, in.ID, ref))
		if !errors.Is(err, ErrNotFound) {
			return p, err
		}
	}
	if reference != "" {
		return scanPayment(s.DB.R.QueryRowContext(ctx, `SELECT `+paymentColumns+paymentFrom+`WHERE p.integration_id = ? AND p.number = ?`, in.ID, reference))
	}
	return nil, ErrNotFound
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
func (s *Store) FindPayments(ctx context.Context, tenantID int64, f PaymentFilter) ([]*Payment, error) {
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
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Payment
	for rows.Next() {
		p, err := scanPayment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// AttachProviderPayment records the provider's id and payment address after the
// create call succeeded.
func (s *Store) AttachProviderPayment(ctx context.Context, tenantID, paymentID int64, ref, paymentURL string) error {
	_, err := s.DB.W.ExecContext(ctx, `UPDATE payments SET provider_ref = ?, payment_url = ?, updated_at = ? WHERE tenant_id = ? AND id = ?`,
		ref, paymentURL, s.now(), tenantID, paymentID)
	return err
}

// RecordPaymentEvent keeps what a provider sent or answered. It reports a
// duplicate (same dedup key seen before) without storing it twice.
func (s *Store) RecordPaymentEvent(ctx context.Context, e PaymentEvent) (bool, error) {
	var dedup any
	if e.DedupKey != "" {
		dedup = e.DedupKey
	}
	res, err := s.DB.W.ExecContext(ctx, `INSERT INTO payment_events (tenant_id, payment_id, integration_id, direction, kind, body, verified, result, dedup_key, created_at)
		VALUES (?, nullif(?, 0), nullif(?, 0), ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedup_key) DO NOTHING`,
		e.TenantID, e.PaymentID, e.IntegrationID, e.Direction, e.Kind, e.Body, e.Verified, e.Result, dedup, s.now())
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 0, nil
}

// FindPaymentEvents lists a payment's events, oldest first.
func (s *Store) FindPaymentEvents(ctx context.Context, tenantID, paymentID int64) ([]PaymentEvent, error) {
	rows, err := s.DB.R.QueryContext(ctx, `SELECT id, tenant_id, coalesce(payment_id, 0), coalesce(integration_id, 0), direction, kind, body, verified, result,
		coalesce(dedup_key, ''), created_at FROM payment_events WHERE tenant_id = ? AND payment_id = ? ORDER BY id`, tenantID, paymentID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []PaymentEvent
	for rows.Next() {
		var e PaymentEvent
		if err := rows.Scan(&e.ID, &e.TenantID, &e.PaymentID, &e.IntegrationID, &e.Direction, &e.Kind, &e.Body, &e.Verified, &e.Result, &e.DedupKey, &e.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// ApplyPayment is the one way a payment's status changes, whoever learned it (a
// webhook, the return page, the poller, verify, a refund, a person). In one write
// transaction it checks the payment's transition table (a late "pending" never
// undoes "completed"), turns an amount or currency that differs from the payment
// into suspected fraud with a review, reinstates an order cancelled before its
// money came (or asks for a refund when its stock is gone), and recomputes the
// order's payment status, which confirms a pending order and queues the side
// effects of being paid.
func (s *Store) ApplyPayment(ctx context.Context, t *Tenant, paymentID int64, obs Observation) (Applied, error) {
	var out Applied
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = s.applyPaymentTx(ctx, tx, t, paymentID, obs)
		return err
	})
	return out, err
}

// ApplyNotification records a provider's notification and applies it in the same
// transaction, so that a notification is either recorded and applied or neither:
// its dedup key then makes a second delivery a no-op (dup true).
func (s *Store) ApplyNotification(ctx context.Context, t *Tenant, ev PaymentEvent, obs Observation) (Applied, bool, error) {
	var out Applied
	dup := false
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO payment_events (tenant_id, payment_id, integration_id, direction, kind, body, verified, result, dedup_key, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedup_key) DO NOTHING`,
			t.ID, ev.PaymentID, ev.IntegrationID, ev.Direction, ev.Kind, ev.Body, ev.Verified, ev.Result, ev.DedupKey, s.now())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			dup = true
			return nil
		}
		out, err = s.applyPaymentTx(ctx, tx, t, ev.PaymentID, obs)
		return err
	})
	return out, dup, err
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
	to := obs.Stage
	review := ""
	kind := ""
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
	refunded := p.RefundedAmount
	if to == PaymentRefunded || to == PaymentPartiallyRefunded {
		refunded = max(refunded, obs.RefundedMinor)
		if to == PaymentRefunded && obs.RefundedMinor == 0 {
			refunded = p.Amount
		}
	}
	if to == p.Status && refunded == p.RefundedAmount {
		out.Ignored = "already " + string(to)
		return out, nil
	}
	if to != p.Status && !p.Status.CanTransitionTo(to) {
		out.Ignored = fmt.Sprintf("a %s payment cannot become %s (late or out-of-order notification)", p.Status, to)
		return out, nil
	}
	sets := "status = ?, refunded_amount = ?, updated_at = ?"
	args := []any{string(to), refunded, now}
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
	if n, _ := res.RowsAffected(); n == 0 {
		return out, &ConflictError{Msg: "The payment changed meanwhile."}
	}
	out.Changed = true
	actor := obs.Actor
	if actor == "" {
		actor = SystemActor
	}
	note := p.Number + ": " + string(p.Status) + " → " + string(to)
	if obs.Reason != "" {
		note += " (" + obs.Reason + ")"
	}
	if err := insertEvent(ctx, tx, t.ID, p.OrderID, EventPayment, actor, string(p.Status), string(to), note, now); err != nil {
		return out, err
	}

	var orderStatus OrderStatus
	if err := tx.QueryRowContext(ctx, `SELECT status FROM orders WHERE id = ?`, p.OrderID).Scan(&orderStatus); err != nil {
		return out, err
	}
	if review != "" {
		if err := addReviewTx(ctx, tx, t.ID, p.ID, p.OrderID, kind, review, now); err != nil {
			return out, err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE orders SET needs_attention = ? WHERE id = ?`, review, p.OrderID); err != nil {
			return out, err
		}
		// Held for review (fecshop's suspected fraud), when the table allows it.
		if orderStatus.CanTransitionTo(OrderHolded) {
			if err := s.transitionOrderTx(ctx, tx, t, p.OrderID, OrderHolded, SystemActor, TransitionInput{Note: review}); err != nil {
				return out, err
			}
		}
	}
	if to == PaymentCompleted && orderStatus == OrderCancelled {
		ok, err := s.reinstateOrderTx(ctx, tx, t, p.OrderID, now)
		if err != nil {
			return out, err
		}
		if !ok {
			out.RefundNeeded = true
			reason := "Money arrived after the order was cancelled and its stock is gone: the payment is being refunded."
			if err := addReviewTx(ctx, tx, t.ID, p.ID, p.OrderID, "late_payment", reason, now); err != nil {
				return out, err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE orders SET needs_attention = ? WHERE id = ?`, reason, p.OrderID); err != nil {
				return out, err
			}
		}
	}
	if err := recomputePaymentStatus(ctx, tx, t.ID, p.OrderID, actor, now); err != nil {
		return out, err
	}
	// A fully refunded payment of a paid order refunds the order.
	if to == PaymentRefunded {
		var st OrderStatus
		var pst OrderPaymentStatus
		tx.QueryRowContext(ctx, `SELECT status, payment_status FROM orders WHERE id = ?`, p.OrderID).Scan(&st, &pst)
		if pst == PayRefunded && st.CanTransitionTo(OrderRefunded) {
			if err := s.transitionOrderTx(ctx, tx, t, p.OrderID, OrderRefunded, actor, TransitionInput{Note: "Payment " + p.Number + " refunded"}); err != nil {
				return out, err
			}
		}
	}
	return out, nil
}

func coalesce(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// reinstateOrderTx brings back an order cancelled before its money arrived, if
// its stock can be reserved again.
func (s *Store) reinstateOrderTx(ctx context.Context, tx *sql.Tx, t *Tenant, orderID int64, now time.Time) (bool, error) {
	rows, err := tx.QueryContext(ctx, `SELECT product_id, sum(quantity) FROM order_lines WHERE order_id = ? AND product_id IS NOT NULL GROUP BY product_id`, orderID)
	if err != nil {
		return false, err
	}
	type need struct{ product, qty int64 }
	var needs []need
	for rows.Next() {
		var n need
		if err := rows.Scan(&n.product, &n.qty); err != nil {
			rows.Close()
			return false, err
		}
		needs = append(needs, n)
	}
	rows.Close()
	if !t.ZeroStock {
		for _, n := range needs {
			var left int64
			if err := tx.QueryRowContext(ctx, `SELECT stock FROM products WHERE id = ?`, n.product).Scan(&left); err != nil {
				return false, err
			}
			if left < n.qty {
				return false, nil
			}
		}
		for _, n := range needs {
			if _, err := tx.ExecContext(ctx, `UPDATE products SET stock = stock - ? WHERE id = ?`, n.qty, n.product); err != nil {
				return false, err
			}
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE orders SET status = 'confirmed', stock_reserved = ?, updated_at = ? WHERE id = ? AND status = 'cancelled'`,
		!t.ZeroStock, now, orderID); err != nil {
		return false, err
	}
	return true, insertEvent(ctx, tx, t.ID, orderID, EventOrderStatus, SystemActor, string(OrderCancelled), string(OrderConfirmed),
		"Reinstated: the payment arrived after the order was cancelled, and the stock is still there", now)
}

func addReviewTx(ctx context.Context, tx *sql.Tx, tenantID, paymentID, orderID int64, kind, reason string, now time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO payment_reviews (tenant_id, payment_id, order_id, kind, reason, created_at) VALUES (?, nullif(?, 0), nullif(?, 0), ?, ?, ?)`,
		tenantID, paymentID, orderID, kind, reason, now)
	return err
}

// AddPaymentReview puts something in the review queue (a bad or unknown
// notification, say).
func (s *Store) AddPaymentReview(ctx context.Context, tenantID, paymentID, orderID int64, kind, reason string) error {
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
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
func (s *Store) FindPaymentReviews(ctx context.Context, tenantID int64, openOnly bool, limit int) ([]*PaymentReview, error) {
	q := reviewSelect
	if openOnly {
		q += ` AND r.resolution = ''`
	}
	q += ` ORDER BY r.resolution = '' DESC, r.id DESC LIMIT ?`
	rows, err := s.DB.R.QueryContext(ctx, q, tenantID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*PaymentReview
	for rows.Next() {
		r, err := scanReview(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// FindPaymentReview returns one review of the tenant.
func (s *Store) FindPaymentReview(ctx context.Context, tenantID, id int64) (*PaymentReview, error) {
	return scanReview(s.DB.R.QueryRowContext(ctx, reviewSelect+` AND r.id = ?`, tenantID, id))
}

// ResolvePaymentReview records a person's decision. "accepted" takes a payment
// held as suspected fraud as paid and releases its order from hold; "refunded"
// is recorded after the caller refunded through the provider; "dismissed" closes
// it without change.
func (s *Store) ResolvePaymentReview(ctx context.Context, t *Tenant, id int64, actor *User, resolution string) error {
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
			tx.QueryRowContext(ctx, `SELECT status FROM payments WHERE id = ?`, paymentID.Int64).Scan(&st)
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
			tx.QueryRowContext(ctx, `SELECT status FROM orders WHERE id = ?`, orderID.Int64).Scan(&os)
			if resolution == "accepted" && os == OrderHolded {
				return s.transitionOrderTx(ctx, tx, t, orderID.Int64, OrderConfirmed, StaffActor(actor), TransitionInput{Note: "Payment accepted after review"})
			}
		}
		return nil
	})
}

// queueOutboxTx queues a side effect of a change, once per order and kind.
func queueOutboxTx(ctx context.Context, tx *sql.Tx, tenantID, orderID int64, kind string, payload map[string]string, now time.Time) error {
	b, _ := json.Marshal(payload)
	_, err := tx.ExecContext(ctx, `INSERT INTO outbox (tenant_id, order_id, kind, payload, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (order_id, kind) DO NOTHING`, tenantID, orderID, kind, string(b), now, now)
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
func (s *Store) FindOutbox(ctx context.Context, tenantID, orderID int64) ([]OutboxItem, error) {
	rows, err := s.DB.R.QueryContext(ctx, `SELECT id, order_id, kind, payload, status, attempts FROM outbox WHERE tenant_id = ? AND order_id = ? ORDER BY id`, tenantID, orderID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []OutboxItem
	for rows.Next() {
		var o OutboxItem
		if err := rows.Scan(&o.ID, &o.OrderID, &o.Kind, &o.Payload, &o.Status, &o.Attempts); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}
