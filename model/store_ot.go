package model

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// EventOT is a timeline entry of the order's life at OT Platform: added,
// paid, an activity started, answered or ended.
const EventOT = "ot"

const (
	otBuyerPurpose   = "ot-buyer-password"
	otSessionPurpose = "ot-provider-session"
)

// ---------------------------------------------------------------- settings

// FindProcurementSettings returns the shop's procurement settings, or the
// defaults (direct Taobao, nothing of OT) when it saved none.
func (s *Store) FindProcurementSettings(ctx context.Context, tenantID int64) (_ ProcurementSettings, err error) {
	defer wrapErr(&err, "find procurement settings (tenantID=%d)", tenantID)
	return findProcurementSettings(ctx, s.DB.R, tenantID)
}

func findProcurementSettings(ctx context.Context, q queryer, tenantID int64) (ProcurementSettings, error) {
	ps := DefaultProcurementSettings
	err := q.QueryRowContext(ctx, `SELECT channel, ot_buyer_login, ot_buyer_password_last4, ot_user_profile_id, ot_delivery_mode_id,
		ot_recipient_name, ot_recipient_mobile, ot_region_code, ot_zip, ot_address, updated_at FROM procurement_settings WHERE tenant_id = ?`, tenantID).
		Scan(&ps.Channel, &ps.OTBuyerLogin, &ps.OTBuyerPasswordLast4, &ps.OTUserProfileID, &ps.OTDeliveryModeID, &ps.OTWarehouse.RecipientName,
			&ps.OTWarehouse.Mobile, &ps.OTWarehouse.RegionCode, &ps.OTWarehouse.Zip, &ps.OTWarehouse.Address, &ps.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return DefaultProcurementSettings, nil
	}
	return ps, err
}

// SaveProcurementSettings checks the settings field by field (seed 002's
// rules for OT's) and saves them; a new buyer password is sealed, an empty
// one keeps the stored password. A bad field is a ValidationError naming it.
func (s *Store) SaveProcurementSettings(ctx context.Context, tenantID int64, ps ProcurementSettings) (err error) {
	defer wrapErr(&err, "save procurement settings (tenantID=%d)", tenantID)
	ps.normalise()
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		cur, err := findProcurementSettings(ctx, tx, tenantID)
		if err != nil {
			return err
		}
		v := &ValidationError{}
		ps.validate(v, cur.OTBuyerPasswordLast4 != "")
		if err := v.OrNil(); err != nil {
			return err
		}
		enc, l4 := "", cur.OTBuyerPasswordLast4
		if ps.OTBuyerPassword != "" {
			if enc, err = s.Keys.Seal(otBuyerPurpose, []byte(ps.OTBuyerPassword)); err != nil {
				return err
			}
			l4 = last4(ps.OTBuyerPassword)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO procurement_settings (tenant_id, channel, ot_buyer_login, ot_buyer_password_enc,
			ot_buyer_password_last4, ot_user_profile_id, ot_delivery_mode_id, ot_recipient_name, ot_recipient_mobile, ot_region_code, ot_zip,
			ot_address, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (tenant_id) DO UPDATE SET channel = excluded.channel, ot_buyer_login = excluded.ot_buyer_login,
				ot_buyer_password_enc = coalesce(nullif(excluded.ot_buyer_password_enc, ''), ot_buyer_password_enc),
				ot_buyer_password_last4 = excluded.ot_buyer_password_last4, ot_user_profile_id = excluded.ot_user_profile_id,
				ot_delivery_mode_id = excluded.ot_delivery_mode_id, ot_recipient_name = excluded.ot_recipient_name,
				ot_recipient_mobile = excluded.ot_recipient_mobile, ot_region_code = excluded.ot_region_code, ot_zip = excluded.ot_zip,
				ot_address = excluded.ot_address, updated_at = excluded.updated_at`,
			tenantID, string(ps.Channel), ps.OTBuyerLogin, enc, l4, ps.OTUserProfileID, ps.OTDeliveryModeID, ps.OTWarehouse.RecipientName,
			ps.OTWarehouse.Mobile, ps.OTWarehouse.RegionCode, ps.OTWarehouse.Zip, ps.OTWarehouse.Address, s.now())
		return err
	})
}

// OpenOTBuyerPassword decrypts the shop's OT buyer password for the sign-in
// about to be made.
func (s *Store) OpenOTBuyerPassword(ctx context.Context, tenantID int64) (_ string, err error) {
	defer wrapErr(&err, "open ot buyer password (tenantID=%d)", tenantID)
	var enc string
	err = s.DB.R.QueryRowContext(ctx, `SELECT ot_buyer_password_enc FROM procurement_settings WHERE tenant_id = ?`, tenantID).Scan(&enc)
	if err != nil || enc == "" {
		return "", &ConflictError{Msg: "The OT buyer's password is not set: see Settings → Procurement."}
	}
	b, err := s.Keys.Open(otBuyerPurpose, enc)
	if err != nil {
		return "", errors.New("the OT buyer's password cannot be decrypted: was ORDERDESK_SECRET_KEY changed?")
	}
	return string(b), nil
}

// FindProductChannels lists the shop's products bought through another
// channel than the shop's.
func (s *Store) FindProductChannels(ctx context.Context, tenantID int64) (_ []ProductChannel, err error) {
	defer wrapErr(&err, "find product channels (tenantID=%d)", tenantID)
	rows, err := s.DB.R.QueryContext(ctx, `SELECT id, sku, title, source, procurement_channel FROM products
		WHERE tenant_id = ? AND procurement_channel <> '' ORDER BY sku`, tenantID)
	return collect(rows, err, func(r rowScanner) (ProductChannel, error) {
		var p ProductChannel
		err := r.Scan(&p.ProductID, &p.SKU, &p.Title, &p.Source, &p.Channel)
		return p, err
	})
}

// SetProductChannel makes the shop's product with this SKU bought through
// channel, or through the shop's channel when channel is "". An unknown SKU
// is a ValidationError on "sku".
func (s *Store) SetProductChannel(ctx context.Context, tenantID int64, sku string, channel ProcurementChannel) (err error) {
	defer wrapErr(&err, "set product channel (tenantID=%d)", tenantID)
	sku = strings.TrimSpace(sku)
	v := &ValidationError{}
	if channel != "" && !channel.Valid() {
		v.Add("product_channel", "choose Taobao, OT Platform or the shop's channel")
	}
	if sku == "" {
		v.Add("sku", "give the product's SKU")
	}
	if err := v.OrNil(); err != nil {
		return err
	}
	res, err := s.DB.W.ExecContext(ctx, `UPDATE products SET procurement_channel = ? WHERE tenant_id = ? AND sku = ?`, string(channel), tenantID, sku)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		v.Add("sku", "no product of this shop has the SKU "+sku)
		return v
	}
	return nil
}

// FindOTStatusMap returns the shop's mapping of OT's line statuses, or the
// defaults when it saved none.
func (s *Store) FindOTStatusMap(ctx context.Context, tenantID int64) (_ []OTStatusMapping, err error) {
	defer wrapErr(&err, "find ot status map (tenantID=%d)", tenantID)
	return findOTStatusMap(ctx, s.DB.R, tenantID)
}

func findOTStatusMap(ctx context.Context, q queryer, tenantID int64) ([]OTStatusMapping, error) {
	rows, err := q.QueryContext(ctx, `SELECT ot_status_id, ot_status_name, procurement_status FROM ot_status_map WHERE tenant_id = ?
		ORDER BY length(ot_status_id), ot_status_id`, tenantID)
	out, err := collect(rows, err, func(r rowScanner) (OTStatusMapping, error) {
		var m OTStatusMapping
		err := r.Scan(&m.StatusID, &m.StatusName, &m.Status)
		return m, err
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return append([]OTStatusMapping(nil), DefaultOTStatusMap...), nil
	}
	return out, nil
}

// SaveOTStatusMap replaces the shop's mapping. Each row needs OT's status id
// (once) and one of our procurement statuses; a bad row is a ValidationError
// on "status_N" or "id_N" (N from 0).
func (s *Store) SaveOTStatusMap(ctx context.Context, tenantID int64, rows []OTStatusMapping) (err error) {
	defer wrapErr(&err, "save ot status map (tenantID=%d)", tenantID)
	v := &ValidationError{}
	seen := map[string]bool{}
	for i, m := range rows {
		m.StatusID, m.StatusName = strings.TrimSpace(m.StatusID), strings.TrimSpace(m.StatusName)
		rows[i] = m
		idField, stField := fmt.Sprintf("id_%d", i), fmt.Sprintf("status_%d", i)
		switch {
		case m.StatusID == "":
			v.Add(idField, "give OT's status id")
		case seen[m.StatusID]:
			v.Add(idField, "OT's status "+m.StatusID+" is in the table twice")
		default:
			v.MaxLen(idField, m.StatusID, 64)
		}
		seen[m.StatusID] = true
		v.MaxLen(fmt.Sprintf("name_%d", i), m.StatusName, MaxNameLen)
		if !m.Status.Valid() {
			v.Add(stField, "choose one of our procurement statuses")
		}
	}
	if len(rows) == 0 {
		v.Add("id_0", "the table needs at least one row")
	}
	if err := v.OrNil(); err != nil {
		return err
	}
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM ot_status_map WHERE tenant_id = ?`, tenantID); err != nil {
			return err
		}
		for _, m := range rows {
			if _, err := tx.ExecContext(ctx, `INSERT INTO ot_status_map (tenant_id, ot_status_id, ot_status_name, procurement_status) VALUES (?, ?, ?, ?)`,
				tenantID, m.StatusID, m.StatusName, string(m.Status)); err != nil {
				return err
			}
		}
		return nil
	})
}

// ---------------------------------------------------------------- OT orders

// otLinesSQL is the FROM and WHERE of the order lines (`l`) that OT is to
// buy and no OT order holds yet; the caller adds which order.
const otLinesSQL = ` FROM order_lines l LEFT JOIN products p ON p.id = l.product_id
	WHERE l.procurement_status = 'pending' AND l.purchase_id IS NULL AND l.procurement_error = ''
	AND ` + lineChannelSQL + ` = 'ot' AND NOT EXISTS (SELECT 1 FROM ot_lines x WHERE x.order_line_id = l.id)`

// otExportSQL finds the export of an OT order `x` that started and did not
// fail: a failed export (its session gone, say) is started again, one a
// person cancelled is not.
const otExportSQL = `SELECT 1 FROM ot_activities a WHERE a.ot_order_id = x.id AND a.kind = 'export' AND a.state <> 'failed'`

// FindOrdersForOT lists the shop's paid orders that the OT flow has a next
// step for, oldest first: lines to add to OT, an OT order to pay, or a paid
// one whose export has not started. Orders waiting for a person are left
// out.
func (s *Store) FindOrdersForOT(ctx context.Context, tenantID int64, limit int) (_ []int64, err error) {
	defer wrapErr(&err, "find orders for ot (tenantID=%d limit=%d)", tenantID, limit)
	rows, err := s.DB.R.QueryContext(ctx, `SELECT o.id FROM orders o WHERE o.tenant_id = ? AND o.payment_status = 'paid'
		AND o.status IN ('confirmed', 'processing') AND (
			EXISTS (SELECT 1 FROM ot_orders x WHERE x.order_id = o.id AND x.last_error = '' AND (x.state IN ('adding', 'added', 'paying')
				OR (x.state = 'paid' AND NOT EXISTS (`+otExportSQL+`))))
			OR (NOT EXISTS (SELECT 1 FROM ot_orders x WHERE x.order_id = o.id AND x.state <> 'cancelled') AND EXISTS (SELECT 1`+otLinesSQL+` AND l.order_id = o.id)))
		ORDER BY o.id LIMIT ?`, tenantID, limit)
	return collect(rows, err, func(r rowScanner) (int64, error) {
		var id int64
		err := r.Scan(&id)
		return id, err
	})
}

// MissingItemError refuses adding lines whose product has no supplier item
// id: nothing is sent.
type MissingItemError struct {
	LineIDs []int64
	Titles  []string
}

func (e *MissingItemError) Error() string {
	return "Product missing the supplier's item id: " + strings.Join(e.Titles, ", ")
}

const otOrderColumns = `x.id, x.tenant_id, x.order_id, o.number, x.integration_id, x.attempt, x.comment, x.state, x.sales_id, x.customer_id,
	x.amount, x.paid_amount, x.topped_up, x.status_id, x.status_name, x.accept_skipped, x.last_error, x.claimed_until, x.created_by,
	x.created_at, x.updated_at`

func scanOTOrder(r rowScanner) (*OTOrder, error) {
	x := &OTOrder{}
	var claimed sql.NullTime
	if err := r.Scan(&x.ID, &x.TenantID, &x.OrderID, &x.OrderNumber, &x.IntegrationID, &x.Attempt, &x.Comment, &x.State, &x.SalesID,
		&x.CustomerID, &x.Amount, &x.PaidAmount, &x.ToppedUp, &x.StatusID, &x.StatusName, &x.AcceptSkipped, &x.LastError, &claimed,
		&x.CreatedBy, &x.CreatedAt, &x.UpdatedAt); err != nil {
		return nil, notFound(err)
	}
	if claimed.Valid {
		x.ClaimedUntil = &claimed.Time
	}
	return x, nil
}

func findOTLines(ctx context.Context, q queryer, otOrderID int64) ([]OTLine, error) {
	rows, err := q.QueryContext(ctx, `SELECT x.order_line_id, x.ot_order_id, l.sku, l.title, l.quantity, coalesce(p.cost_fen, 0), x.item_id,
		x.configuration_id, x.promotion_id, x.ot_line_id, x.skipped, x.tmall, x.status_id, x.status_name, x.vend_purch_id, x.vend_purch_waybill,
		x.vend_purch_account_id, x.vend_purch_status, x.vend_purch_item_id, x.vend_purch_configuration_id, x.vend_purch_promotion_id
		FROM ot_lines x JOIN order_lines l ON l.id = x.order_line_id LEFT JOIN products p ON p.id = l.product_id
		WHERE x.ot_order_id = ? ORDER BY x.order_line_id`, otOrderID)
	return collect(rows, err, func(r rowScanner) (OTLine, error) {
		var l OTLine
		err := r.Scan(&l.OrderLineID, &l.OTOrderID, &l.SKU, &l.Title, &l.Quantity, &l.CostFen, &l.ItemID, &l.ConfigurationID, &l.PromotionID,
			&l.OTLineID, &l.Skipped, &l.Tmall, &l.StatusID, &l.StatusName, &l.VendPurchID, &l.VendPurchWaybill, &l.VendPurchAccountID,
			&l.VendPurchStatus, &l.VendPurchItemID, &l.VendPurchConfigurationID, &l.VendPurchPromotionID)
		return l, err
	})
}

func findOTOrder(ctx context.Context, q queryer, tenantID int64, where string, arg any) (*OTOrder, error) {
	x, err := scanOTOrder(q.QueryRowContext(ctx, `SELECT `+otOrderColumns+` FROM ot_orders x JOIN orders o ON o.id = x.order_id
		WHERE x.tenant_id = ? AND `+where, tenantID, arg))
	if err != nil {
		return nil, err
	}
	x.Lines, err = findOTLines(ctx, q, x.ID)
	return x, err
}

// attachOTLines gives an order's lines OT's record of them, from its live
// OT order, which it returns (nil when there is none).
func (s *Store) attachOTLines(ctx context.Context, tenantID int64, o *Order) (*OTOrder, error) {
	x, err := findOTOrder(ctx, s.DB.R, tenantID, "x.order_id = ? AND x.state <> 'cancelled'", o.ID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	for i := range o.Lines {
		for j := range x.Lines {
			if x.Lines[j].OrderLineID == o.Lines[i].ID {
				o.Lines[i].OT = &x.Lines[j]
			}
		}
	}
	return x, nil
}

// OrderBuysThroughOT reports whether lines of one of the shop's orders are
// bought through OT: held by an OT order, or of the OT channel.
func (s *Store) OrderBuysThroughOT(ctx context.Context, tenantID, orderID int64) (_ bool, err error) {
	defer wrapErr(&err, "order buys through ot (tenantID=%d orderID=%d)", tenantID, orderID)
	var n int
	err = s.DB.R.QueryRowContext(ctx, `SELECT count(*) FROM order_lines l LEFT JOIN products p ON p.id = l.product_id
		WHERE l.tenant_id = ? AND l.order_id = ? AND (`+lineChannelSQL+` = 'ot' OR EXISTS (SELECT 1 FROM ot_lines x WHERE x.order_line_id = l.id))`,
		tenantID, orderID).Scan(&n)
	return n > 0, err
}

// FindOTOrder returns the shop's OT order with its lines, or ErrNotFound.
func (s *Store) FindOTOrder(ctx context.Context, tenantID, id int64) (_ *OTOrder, err error) {
	defer wrapErr(&err, "find ot order (tenantID=%d id=%d)", tenantID, id)
	return findOTOrder(ctx, s.DB.R, tenantID, "x.id = ?", id)
}

// FindLiveOTOrder returns the OT order of one of the shop's orders that is
// not cancelled, or ErrNotFound.
func (s *Store) FindLiveOTOrder(ctx context.Context, tenantID, orderID int64) (_ *OTOrder, err error) {
	defer wrapErr(&err, "find live ot order (tenantID=%d orderID=%d)", tenantID, orderID)
	return findOTOrder(ctx, s.DB.R, tenantID, "x.order_id = ? AND x.state <> 'cancelled'", orderID)
}

// FindOTOrdersToSync lists the shop's paid OT orders with a line still on
// its way (not completed nor cancelled), oldest first: what the sync job
// reads from OT. With orderID, that order's only.
func (s *Store) FindOTOrdersToSync(ctx context.Context, tenantID, orderID int64, limit int) (_ []*OTOrder, err error) {
	defer wrapErr(&err, "find ot orders to sync (tenantID=%d orderID=%d limit=%d)", tenantID, orderID, limit)
	cond, args := "", []any{tenantID}
	if orderID != 0 {
		cond, args = " AND x.order_id = ?", append(args, orderID)
	}
	args = append(args, limit)
	rows, err := s.DB.R.QueryContext(ctx, `SELECT `+otOrderColumns+` FROM ot_orders x JOIN orders o ON o.id = x.order_id
		WHERE x.tenant_id = ? AND x.state = 'paid'`+cond+` AND EXISTS (SELECT 1 FROM ot_lines t JOIN order_lines l ON l.id = t.order_line_id
			WHERE t.ot_order_id = x.id AND t.skipped = 0 AND l.procurement_status NOT IN ('completed', 'cancelled'))
		ORDER BY x.id LIMIT ?`, args...)
	return collect(rows, err, scanOTOrder)
}

// TakeOTOrder takes one of the shop's orders for the OT flow's next step
// until until, in a write transaction before any call to OT: its live OT
// order, or a new one (state adding, with the comment that carries our order
// number) holding the order's lines that OT is to buy. Resumed says the OT
// order was taken before and left adding or paying (a crash, a failed call):
// the caller asks OT what happened before acting again. Another run holding
// the order is a ConflictError; lines without the supplier's item id are a
// MissingItemError and nothing is taken.
func (s *Store) TakeOTOrder(ctx context.Context, t *Tenant, orderID, integrationID int64, actor Actor, until time.Time) (_ *OTOrder, _ bool, err error) {
	defer wrapErr(&err, "take ot order (orderID=%d integrationID=%d)", orderID, integrationID)
	var x *OTOrder
	var resumed bool
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		var number string
		var pay OrderPaymentStatus
		var status OrderStatus
		if err := tx.QueryRowContext(ctx, `SELECT number, payment_status, status FROM orders WHERE tenant_id = ? AND id = ?`, t.ID, orderID).
			Scan(&number, &pay, &status); err != nil {
			return notFound(err)
		}
		switch {
		case pay != PayPaid:
			return &ConflictError{Msg: "Order " + number + " is not paid: it is not bought from the supplier yet."}
		case status != OrderConfirmed && status != OrderProcessing:
			return &ConflictError{Msg: "Order " + number + " is " + string(status) + ": it is not bought from the supplier."}
		}
		cur, err := findOTOrder(ctx, tx, t.ID, "x.order_id = ? AND x.state <> 'cancelled'", orderID)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return err
		default:
			if cur.ClaimedUntil != nil && cur.ClaimedUntil.After(now) {
				return &ConflictError{Msg: "Order " + number + " is being worked at OT right now; try again in a minute."}
			}
			if _, err := tx.ExecContext(ctx, `UPDATE ot_orders SET claimed_until = ?, updated_at = ? WHERE id = ?`, until, now, cur.ID); err != nil {
				return err
			}
			cur.ClaimedUntil = &until
			x, resumed = cur, cur.State == OTAdding || cur.State == OTPaying
			return nil
		}
		rows, err := tx.QueryContext(ctx, `SELECT l.id, l.title, coalesce(l.provider_item_id, ''), coalesce(l.provider_sku_id, ''),
			coalesce(p.provider_promotion_id, ''), coalesce(p.source, '')`+otLinesSQL+` AND l.order_id = ? ORDER BY l.id`, orderID)
		type cand struct {
			id                   int64
			title, item, sku, pr string
			source               string
		}
		cands, err := collect(rows, err, func(r rowScanner) (cand, error) {
			var c cand
			err := r.Scan(&c.id, &c.title, &c.item, &c.sku, &c.pr, &c.source)
			return c, err
		})
		if err != nil {
			return err
		}
		if len(cands) == 0 {
			return &ConflictError{Msg: "Order " + number + " has no line left to buy through OT."}
		}
		missing := &MissingItemError{}
		for _, c := range cands {
			if c.item == "" {
				missing.LineIDs, missing.Titles = append(missing.LineIDs, c.id), append(missing.Titles, c.title)
			}
		}
		if len(missing.LineIDs) > 0 {
			return missing
		}
		var attempt int
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(attempt), 0) + 1 FROM ot_orders WHERE order_id = ?`, orderID).Scan(&attempt); err != nil {
			return err
		}
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO ot_orders (tenant_id, order_id, integration_id, attempt, comment, state, claimed_until,
			created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'adding', ?, ?, ?, ?) RETURNING id`,
			t.ID, orderID, integrationID, attempt, OTComment(number, attempt), until, string(actor), now, now).Scan(&id); err != nil {
			return err
		}
		for _, c := range cands {
			// Seed 002: ConfigurationId is 0 for an item without options.
			cfg := c.sku
			if cfg == "" {
				cfg = "0"
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO ot_lines (order_line_id, tenant_id, ot_order_id, item_id, configuration_id, promotion_id,
				tmall, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, c.id, t.ID, id, c.item, cfg, c.pr, c.source == "tmall", now); err != nil {
				return err
			}
		}
		x, err = findOTOrder(ctx, tx, t.ID, "x.id = ?", id)
		return err
	})
	return x, resumed, err
}

// ReleaseOTOrder ends a run's hold on an OT order.
func (s *Store) ReleaseOTOrder(ctx context.Context, tenantID, id int64) (err error) {
	defer wrapErr(&err, "release ot order (tenantID=%d id=%d)", tenantID, id)
	_, err = s.DB.W.ExecContext(ctx, `UPDATE ot_orders SET claimed_until = NULL WHERE tenant_id = ? AND id = ?`, tenantID, id)
	return err
}

// otOrderTx reads the shop's OT order in a transaction, or ErrNotFound.
func otOrderTx(ctx context.Context, tx *sql.Tx, tenantID, id int64) (*OTOrder, error) {
	return findOTOrder(ctx, tx, tenantID, "x.id = ?", id)
}

// RecordOTAdded records what AddOrder made for an OT order being added (or
// what the lookup by comment found): OT's order id, total and status, each
// line's OT line, the lines OT skipped (each says seed 002's likely reasons)
// and the Tmall lines (bought by hand and linked). An order with skipped
// lines waits for a person: cancel and retry, or continue without them.
func (s *Store) RecordOTAdded(ctx context.Context, t *Tenant, id int64, a OTAdded, actor Actor) (err error) {
	defer wrapErr(&err, "record ot added (id=%d)", id)
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		x, err := otOrderTx(ctx, tx, t.ID, id)
		if err != nil {
			return err
		}
		if x.State != OTAdding {
			return nil // recorded before
		}
		got := map[int64]string{}
		for _, l := range a.Lines {
			got[l.OrderLineID] = l.OTLineID
		}
		var skipped, tmall []string
		for _, l := range x.Lines {
			otID := got[l.OrderLineID]
			if _, err := tx.ExecContext(ctx, `UPDATE ot_lines SET ot_line_id = ?, skipped = ?, updated_at = ? WHERE order_line_id = ?`,
				otID, otID == "", now, l.OrderLineID); err != nil {
				return err
			}
			msg := ""
			switch {
			case otID == "":
				msg = SkippedMessage()
				skipped = append(skipped, l.Title)
			case l.Tmall:
				msg = TmallMessage
				tmall = append(tmall, l.Title)
			default:
				continue
			}
			if _, err := tx.ExecContext(ctx, `UPDATE order_lines SET procurement_error = ? WHERE id = ?`, msg, l.OrderLineID); err != nil {
				return err
			}
		}
		lastErr := ""
		if len(skipped) > 0 {
			lastErr = fmt.Sprintf("OT skipped %d of %d items when adding the order (%s): cancel the OT order and retry, or continue without them.",
				len(skipped), len(x.Lines), strings.Join(skipped, ", "))
		}
		if _, err := tx.ExecContext(ctx, `UPDATE ot_orders SET state = 'added', sales_id = ?, customer_id = ?, amount = ?, paid_amount = ?,
			status_id = ?, status_name = ?, last_error = ?, updated_at = ? WHERE id = ?`,
			a.SalesID, a.CustomerID, a.Amount, a.PaidAmount, a.StatusID, a.StatusName, lastErr, now, id); err != nil {
			return err
		}
		note := "Added to OT Platform as " + a.SalesID + " (comment " + x.Comment + ")"
		if a.Found {
			note = "Found at OT Platform as " + a.SalesID + " by its comment " + x.Comment + " after an interrupted attempt; not added again"
		}
		if len(skipped) > 0 {
			note += "; skipped by OT: " + strings.Join(skipped, ", ")
		}
		if len(tmall) > 0 {
			note += "; Tmall, to buy by hand and link: " + strings.Join(tmall, ", ")
		}
		if err := insertEvent(ctx, tx, t.ID, x.OrderID, EventOT, actor, "", string(OTStateAdded), note, now); err != nil {
			return err
		}
		return rollUpProcurement(ctx, tx, t.ID, x.OrderID, actor, now)
	})
}

// RecordOTPaying records the intent of the simulated payment before OT is
// asked: a rerun that finds the order paying asks OT what is paid first.
func (s *Store) RecordOTPaying(ctx context.Context, tenantID, id int64) (err error) {
	defer wrapErr(&err, "record ot paying (tenantID=%d id=%d)", tenantID, id)
	_, err = s.DB.W.ExecContext(ctx, `UPDATE ot_orders SET state = 'paying', updated_at = ? WHERE tenant_id = ? AND id = ? AND state IN ('added', 'paying')`,
		s.now(), tenantID, id)
	return err
}

// RecordOTToppedUp records what PostTransaction credited to the buyer's
// account for the order.
func (s *Store) RecordOTToppedUp(ctx context.Context, tenantID, id, amount int64) (err error) {
	defer wrapErr(&err, "record ot topped up (tenantID=%d id=%d amount=%d)", tenantID, id, amount)
	_, err = s.DB.W.ExecContext(ctx, `UPDATE ot_orders SET topped_up = topped_up + ?, updated_at = ? WHERE tenant_id = ? AND id = ?`,
		amount, s.now(), tenantID, id)
	return err
}

// RecordOTPaid records that OT holds the order paid (amount paid of total).
func (s *Store) RecordOTPaid(ctx context.Context, t *Tenant, id, amount, paid int64, actor Actor) (err error) {
	defer wrapErr(&err, "record ot paid (id=%d amount=%d paid=%d)", id, amount, paid)
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		x, err := otOrderTx(ctx, tx, t.ID, id)
		if err != nil {
			return err
		}
		if x.State == OTPaid {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE ot_orders SET state = 'paid', amount = ?, paid_amount = ?, last_error = '', updated_at = ? WHERE id = ?`,
			amount, paid, now, id); err != nil {
			return err
		}
		return insertEvent(ctx, tx, t.ID, x.OrderID, EventOT, actor, string(x.State), string(OTPaid),
			"Paid at OT Platform by the simulated payment: "+FormatAmount(paid)+" of "+FormatAmount(amount), now)
	})
}

// RecordOTError keeps why an OT order waits for a person, in words, on the
// OT order and on its lines not bought yet (the order page and the desk's
// "needs a person" show it). The OT flow leaves the order until a retry.
func (s *Store) RecordOTError(ctx context.Context, t *Tenant, id int64, msg string, actor Actor) (err error) {
	defer wrapErr(&err, "record ot error (id=%d)", id)
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		x, err := otOrderTx(ctx, tx, t.ID, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE ot_orders SET last_error = ?, updated_at = ? WHERE id = ?`, msg, s.now(), id); err != nil {
			return err
		}
		if err := markOTLines(ctx, tx, x, msg); err != nil {
			return err
		}
		return rollUpProcurement(ctx, tx, t.ID, x.OrderID, actor, s.now())
	})
}

// markOTLines puts msg as the procurement error of the OT order's lines that
// are neither bought, skipped nor Tmall (those say their own).
func markOTLines(ctx context.Context, tx *sql.Tx, x *OTOrder, msg string) error {
	for _, l := range x.Lines {
		if l.Skipped || l.Tmall || l.VendPurchID != "" {
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE order_lines SET procurement_error = ? WHERE id = ?`, msg, l.OrderLineID); err != nil {
			return err
		}
	}
	return nil
}

// ClearOTError clears an OT order's error before a person's retry.
func (s *Store) ClearOTError(ctx context.Context, t *Tenant, id int64, actor Actor) (err error) {
	defer wrapErr(&err, "clear ot error (id=%d)", id)
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		x, err := otOrderTx(ctx, tx, t.ID, id)
		if err != nil {
			return err
		}
		if x.LastError == "" {
			return nil
		}
		if x.State == OTStateAdded && !x.AcceptSkipped && otSkipped(x) > 0 {
			return &ConflictError{Msg: "OT skipped items of order " + x.OrderNumber + ": cancel the OT order and retry, or continue without them."}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE ot_orders SET last_error = '', updated_at = ? WHERE id = ?`, s.now(), id); err != nil {
			return err
		}
		if err := markOTLines(ctx, tx, x, ""); err != nil {
			return err
		}
		return rollUpProcurement(ctx, tx, t.ID, x.OrderID, actor, s.now())
	})
}

func otSkipped(x *OTOrder) int {
	n := 0
	for _, l := range x.Lines {
		if l.Skipped {
			n++
		}
	}
	return n
}

// AcceptOTSkipped lets an OT order with skipped items go on without them:
// the skipped lines keep their message for a person to buy them otherwise.
func (s *Store) AcceptOTSkipped(ctx context.Context, t *Tenant, id int64, actor Actor) (err error) {
	defer wrapErr(&err, "accept ot skipped (id=%d)", id)
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		x, err := otOrderTx(ctx, tx, t.ID, id)
		if err != nil {
			return err
		}
		if x.State != OTStateAdded || otSkipped(x) == 0 {
			return &ConflictError{Msg: "OT skipped nothing of order " + x.OrderNumber + " that could be accepted now."}
		}
		if otSkipped(x) == len(x.Lines) {
			return &ConflictError{Msg: "OT skipped every item of order " + x.OrderNumber + ": there is nothing to go on with. Cancel the OT order and retry."}
		}
		now := s.now()
		if _, err := tx.ExecContext(ctx, `UPDATE ot_orders SET accept_skipped = 1, last_error = '', updated_at = ? WHERE id = ?`, now, id); err != nil {
			return err
		}
		return insertEvent(ctx, tx, t.ID, x.OrderID, EventOT, actor, "", "", "Goes on at OT without the items OT skipped", now)
	})
}

// RecordOTCancelled records that the OT order was cancelled at OT
// (CancelSalesOrder): its lines are free for a new attempt, their messages
// cleared.
func (s *Store) RecordOTCancelled(ctx context.Context, t *Tenant, id int64, actor Actor) (err error) {
	defer wrapErr(&err, "record ot cancelled (id=%d)", id)
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		x, err := otOrderTx(ctx, tx, t.ID, id)
		if err != nil {
			return err
		}
		if x.State == OTCancelled {
			return nil
		}
		for _, l := range x.Lines {
			if _, err := tx.ExecContext(ctx, `UPDATE order_lines SET procurement_error = '' WHERE id = ? AND procurement_status = 'pending'`, l.OrderLineID); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM ot_lines WHERE ot_order_id = ?`, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE ot_orders SET state = 'cancelled', last_error = '', claimed_until = NULL, updated_at = ? WHERE id = ?`,
			now, id); err != nil {
			return err
		}
		if err := insertEvent(ctx, tx, t.ID, x.OrderID, EventOT, actor, string(x.State), string(OTCancelled),
			"OT order "+x.SalesID+" cancelled at OT Platform; the next attempt adds the order again", now); err != nil {
			return err
		}
		return rollUpProcurement(ctx, tx, t.ID, x.OrderID, actor, now)
	})
}

// ApplyOTDetails records what OT says of an order now (its details): OT's
// status, what is paid, and per line OT's fields. Each line gets the same
// procurement records as a direct Taobao purchase: the provider order id as
// its purchase id (with its cost frozen at the shop's rate when it is first
// bought), the waybill as the supplier's track, the provider's own status as
// its raw status, and its procurement status by the shop's mapping of OT's
// status (forward only, as the table allows). A linked Tmall line loses its
// "buy by hand" message.
func (s *Store) ApplyOTDetails(ctx context.Context, t *Tenant, id int64, d OTDetails, actor Actor) (err error) {
	defer wrapErr(&err, "apply ot details (id=%d)", id)
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		x, err := otOrderTx(ctx, tx, t.ID, id)
		if err != nil {
			return err
		}
		mapping, err := findOTStatusMap(ctx, tx, t.ID)
		if err != nil {
			return err
		}
		byStatus := map[string]ProcurementStatus{}
		for _, m := range mapping {
			byStatus[m.StatusID] = m.Status
		}
		var rate int64
		if err := tx.QueryRowContext(ctx, `SELECT cny_rate_micro FROM tenants WHERE id = ?`, t.ID).Scan(&rate); err != nil {
			return err
		}
		states := map[string]OTLineState{}
		for _, l := range d.Lines {
			states[l.OTLineID] = l
		}
		for _, l := range x.Lines {
			st, ok := states[l.OTLineID]
			if l.OTLineID == "" || !ok {
				continue
			}
			if _, err := tx.ExecContext(ctx, `UPDATE ot_lines SET status_id = ?, status_name = ?, vend_purch_id = ?, vend_purch_waybill = ?,
				vend_purch_account_id = ?, vend_purch_status = ?, vend_purch_item_id = ?, vend_purch_configuration_id = ?,
				vend_purch_promotion_id = ?, updated_at = ? WHERE order_line_id = ?`, st.StatusID, st.StatusName, st.VendPurchID, st.VendPurchWaybill,
				st.VendPurchAccountID, st.VendPurchStatus, st.VendPurchItemID, st.VendPurchConfigurationID, st.VendPurchPromotionID, now,
				l.OrderLineID); err != nil {
				return err
			}
			var cur ProcurementStatus
			var purchase sql.NullString
			var lineErr string
			if err := tx.QueryRowContext(ctx, `SELECT procurement_status, purchase_id, procurement_error FROM order_lines WHERE id = ?`, l.OrderLineID).
				Scan(&cur, &purchase, &lineErr); err != nil {
				return err
			}
			if l.VendPurchID != "" && st.VendPurchID == "" {
				// Unlinked at OT (seed 002's fourth operation): the line is no
				// longer bought in that Taobao order, and waits to be exported
				// or linked again. A correction, not a step of the table.
				if _, err := tx.ExecContext(ctx, `UPDATE order_lines SET procurement_status = 'pending', purchase_id = NULL, supplier_track = '',
					supplier_status_raw = '', cost_fen = 0, cost_minor = 0 WHERE id = ?`, l.OrderLineID); err != nil {
					return err
				}
				if err := insertEvent(ctx, tx, t.ID, x.OrderID, EventOT, actor, l.VendPurchID, "", l.SKU+" unlinked from Taobao order "+l.VendPurchID, now); err != nil {
					return err
				}
				continue
			}
			to := cur
			if want, ok := byStatus[st.StatusID]; ok && want != cur && (cur.CanTransitionTo(want) || reachable(cur, want)) {
				to = want
			}
			if st.VendPurchID != "" && to == ProcPending {
				to = ProcCreated // bought at the provider, whatever OT's status is called
			}
			if l.Tmall && st.VendPurchID != "" && lineErr == TmallMessage {
				lineErr = ""
			}
			if _, err := tx.ExecContext(ctx, `UPDATE order_lines SET procurement_status = ?, procurement_error = ?,
				purchase_id = coalesce(nullif(?, ''), purchase_id), supplier_track = coalesce(nullif(?, ''), supplier_track),
				supplier_status_raw = coalesce(nullif(?, ''), supplier_status_raw) WHERE id = ?`,
				string(to), lineErr, st.VendPurchID, st.VendPurchWaybill, st.VendPurchStatus, l.OrderLineID); err != nil {
				return err
			}
			if !purchase.Valid && st.VendPurchID != "" {
				// First bought now: the cost is frozen at today's rate, as a
				// direct purchase's is when it is created.
				cost := l.CostFen * int64(l.Quantity)
				if _, err := tx.ExecContext(ctx, `UPDATE order_lines SET cost_fen = ?, cost_minor = ? WHERE id = ?`,
					cost, CNYToMinor(cost, rate), l.OrderLineID); err != nil {
					return err
				}
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE ot_orders SET status_id = coalesce(nullif(?, ''), status_id), status_name = coalesce(nullif(?, ''), status_name),
			paid_amount = max(paid_amount, ?), updated_at = ? WHERE id = ?`, d.StatusID, d.StatusName, d.PaidAmount, now, id); err != nil {
			return err
		}
		if x.LastError != "" {
			// Nothing left for a person once every line OT holds is bought
			// (a Tmall line linked, an export done after all).
			open := false
			for _, l := range x.Lines {
				if st, ok := states[l.OTLineID]; !l.Skipped && (!ok || st.VendPurchID == "") {
					open = true
				}
			}
			if !open {
				if _, err := tx.ExecContext(ctx, `UPDATE ot_orders SET last_error = '' WHERE id = ?`, id); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `UPDATE order_lines SET procurement_error = '' WHERE procurement_error = ? AND id IN
					(SELECT order_line_id FROM ot_lines WHERE ot_order_id = ?)`, x.LastError, id); err != nil {
					return err
				}
			}
		}
		return rollUpProcurement(ctx, tx, t.ID, x.OrderID, actor, now)
	})
}

// ---------------------------------------------------------------- activities

const otActivityColumns = `a.id, a.tenant_id, a.integration_id, a.order_id, o.number, a.ot_order_id, x.sales_id, a.kind, a.activity_type, a.activity_id,
	a.state, a.progress, a.description, a.steps, a.actions, a.parameters, a.error, a.started_by, a.created_at, a.updated_at, a.finished_at`

const otActivityFrom = ` FROM ot_activities a JOIN orders o ON o.id = a.order_id JOIN ot_orders x ON x.id = a.ot_order_id `

func scanOTActivity(r rowScanner) (*OTActivity, error) {
	a := &OTActivity{}
	var steps, actions string
	var finished sql.NullTime
	if err := r.Scan(&a.ID, &a.TenantID, &a.IntegrationID, &a.OrderID, &a.OrderNumber, &a.OTOrderID, &a.SalesID, &a.Kind, &a.ActivityType,
		&a.ActivityID, &a.State, &a.Progress, &a.Description, &steps, &actions, &a.Parameters, &a.Error, &a.StartedBy, &a.CreatedAt,
		&a.UpdatedAt, &finished); err != nil {
		return nil, notFound(err)
	}
	if finished.Valid {
		a.FinishedAt = &finished.Time
	}
	if err := json.Unmarshal([]byte(steps), &a.Steps); err != nil {
		return nil, fmt.Errorf("activity %d: steps: %w", a.ID, err)
	}
	if err := json.Unmarshal([]byte(actions), &a.Actions); err != nil {
		return nil, fmt.Errorf("activity %d: actions: %w", a.ID, err)
	}
	return a, nil
}

// BeginOTActivity records an interactive operation on an OT order before
// OT is asked to start it (state starting). An order has one activity under
// way at a time: a second is a ConflictError naming the first.
func (s *Store) BeginOTActivity(ctx context.Context, t *Tenant, x *OTOrder, kind OTActivityKind, params string, actor Actor) (_ *OTActivity, err error) {
	defer wrapErr(&err, "begin ot activity")
	var id int64
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		var open string
		err := tx.QueryRowContext(ctx, `SELECT kind FROM ot_activities WHERE tenant_id = ? AND order_id = ? AND state IN ('starting', 'running', 'awaiting')`,
			t.ID, x.OrderID).Scan(&open)
		if err == nil {
			return &ConflictError{Msg: "Order " + x.OrderNumber + " has an OT activity under way (" + OTActivityKind(open).Label() +
				"): answer or cancel it first."}
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		now := s.now()
		return tx.QueryRowContext(ctx, `INSERT INTO ot_activities (tenant_id, integration_id, order_id, ot_order_id, kind, state, parameters,
			started_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'starting', ?, ?, ?, ?) RETURNING id`,
			t.ID, x.IntegrationID, x.OrderID, x.ID, string(kind), params, string(actor), now, now).Scan(&id)
	})
	if err != nil {
		return nil, err
	}
	return s.FindOTActivity(ctx, t.ID, id)
}

// RecordOTActivityStarted records OT's id of the activity it started.
func (s *Store) RecordOTActivityStarted(ctx context.Context, t *Tenant, id int64, activityType, activityID string, actor Actor) (err error) {
	defer wrapErr(&err, "record ot activity started (id=%d)", id)
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		var orderID int64
		var kind OTActivityKind
		if err := tx.QueryRowContext(ctx, `UPDATE ot_activities SET activity_type = ?, activity_id = ?, state = 'running', updated_at = ?
			WHERE tenant_id = ? AND id = ? AND state = 'starting' RETURNING order_id, kind`, activityType, activityID, now, t.ID, id).Scan(&orderID, &kind); err != nil {
			return notFound(err)
		}
		return insertEvent(ctx, tx, t.ID, orderID, EventOT, actor, "", string(ActRunning), kind.Label()+" started at OT (activity "+activityID+")", now)
	})
}

// UpdateOTActivity records what OT says of an activity now. An activity
// that ends says so on the order's timeline.
func (s *Store) UpdateOTActivity(ctx context.Context, t *Tenant, id int64, u OTActivityUpdate, actor Actor) (err error) {
	defer wrapErr(&err, "update ot activity (id=%d)", id)
	steps, err := json.Marshal(nonNil(u.Steps))
	if err != nil {
		return err
	}
	actions, err := json.Marshal(nonNil(u.Actions))
	if err != nil {
		return err
	}
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		a, err := scanOTActivity(tx.QueryRowContext(ctx, `SELECT `+otActivityColumns+otActivityFrom+`WHERE a.tenant_id = ? AND a.id = ?`, t.ID, id))
		if err != nil {
			return err
		}
		if !a.State.Open() {
			return nil // ended before: its end is recorded once
		}
		var finished any
		if !u.State.Open() {
			finished = now
		}
		if _, err := tx.ExecContext(ctx, `UPDATE ot_activities SET state = ?, progress = ?, description = ?, steps = ?, actions = ?, error = ?,
			updated_at = ?, finished_at = ? WHERE id = ?`, string(u.State), u.Progress, u.Description, string(steps), string(actions), u.Error,
			now, finished, id); err != nil {
			return err
		}
		if u.State.Open() {
			if u.State == ActAwaiting && a.State != ActAwaiting {
				q := (&OTActivity{Steps: u.Steps, Description: u.Description}).Question()
				return insertEvent(ctx, tx, t.ID, a.OrderID, EventOT, actor, string(a.State), string(ActAwaiting), a.Kind.Label()+" asks: "+q, now)
			}
			return nil
		}
		note := a.Kind.Label() + " " + u.State.Label()
		if u.Error != "" {
			note += ": " + u.Error
		}
		return insertEvent(ctx, tx, t.ID, a.OrderID, EventOT, actor, string(a.State), string(u.State), note, now)
	})
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// RecordOTAnswer records an operator's answer to an activity's question:
// the action chosen, the question it answered, and who.
func (s *Store) RecordOTAnswer(ctx context.Context, t *Tenant, id int64, question string, action OTAction, actor Actor) (err error) {
	defer wrapErr(&err, "record ot answer (id=%d)", id)
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		var orderID int64
		var kind OTActivityKind
		if err := tx.QueryRowContext(ctx, `UPDATE ot_activities SET state = 'running', actions = '[]', updated_at = ?
			WHERE tenant_id = ? AND id = ? AND state = 'awaiting' RETURNING order_id, kind`, now, t.ID, id).Scan(&orderID, &kind); err != nil {
			return notFound(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO ot_activity_answers (tenant_id, activity_id, question, action_id, action_name, answered_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, t.ID, id, question, action.ID, action.DisplayName, string(actor), now); err != nil {
			return err
		}
		return insertEvent(ctx, tx, t.ID, orderID, EventOT, actor, string(ActAwaiting), string(ActRunning),
			kind.Label()+": answered "+`"`+action.DisplayName+`"`+" to "+`"`+question+`"`, now)
	})
}

// FindOTActivity returns the shop's activity with its answers, or ErrNotFound.
func (s *Store) FindOTActivity(ctx context.Context, tenantID, id int64) (_ *OTActivity, err error) {
	defer wrapErr(&err, "find ot activity (tenantID=%d id=%d)", tenantID, id)
	a, err := scanOTActivity(s.DB.R.QueryRowContext(ctx, `SELECT `+otActivityColumns+otActivityFrom+`WHERE a.tenant_id = ? AND a.id = ?`, tenantID, id))
	if err != nil {
		return nil, err
	}
	rows, err := s.DB.R.QueryContext(ctx, `SELECT question, action_id, action_name, answered_by, created_at FROM ot_activity_answers
		WHERE tenant_id = ? AND activity_id = ? ORDER BY id`, tenantID, id)
	a.Answers, err = collect(rows, err, func(r rowScanner) (OTAnswer, error) {
		var x OTAnswer
		err := r.Scan(&x.Question, &x.ActionID, &x.ActionName, &x.AnsweredBy, &x.CreatedAt)
		return x, err
	})
	return a, err
}

// OTActivityFilter selects activities.
type OTActivityFilter struct {
	OrderID int64
	Open    bool // only those under way
	Limit   int
}

// FindOTActivities lists the shop's activities, newest first (the open
// ones oldest first, as the follower takes them).
func (s *Store) FindOTActivities(ctx context.Context, tenantID int64, f OTActivityFilter) (_ []*OTActivity, err error) {
	defer wrapErr(&err, "find ot activities (tenantID=%d)", tenantID)
	conds, args := []string{"a.tenant_id = ?"}, []any{tenantID}
	order := "a.id DESC"
	if f.OrderID != 0 {
		conds, args = append(conds, "a.order_id = ?"), append(args, f.OrderID)
	}
	if f.Open {
		conds, order = append(conds, "a.state IN ('starting', 'running', 'awaiting')"), "a.id"
	}
	if f.Limit <= 0 {
		f.Limit = 200
	}
	args = append(args, f.Limit)
	rows, err := s.DB.R.QueryContext(ctx, `SELECT `+otActivityColumns+otActivityFrom+`WHERE `+strings.Join(conds, " AND ")+` ORDER BY `+order+` LIMIT ?`, args...)
	return collect(rows, err, scanOTActivity)
}

// ---------------------------------------------------------------- provider sessions

const otSessionColumns = `id, tenant_id, integration_id, login, obtained_at, expires_at, expires_estimated, status, last_error, authorised_by, updated_at`

func scanOTSession(r rowScanner) (*OTProviderSession, error) {
	p := &OTProviderSession{}
	if err := r.Scan(&p.ID, &p.TenantID, &p.IntegrationID, &p.Login, &p.ObtainedAt, &p.ExpiresAt, &p.ExpiresEstimated, &p.Status,
		&p.LastError, &p.AuthorisedBy, &p.UpdatedAt); err != nil {
		return nil, notFound(err)
	}
	return p, nil
}

// SaveOTProviderSession stores (or renews) a provider account's session
// after an operator authorised it: sealed, active, error cleared. A zero
// expiry (OT did not say) is estimated at a day from now.
func (s *Store) SaveOTProviderSession(ctx context.Context, t *Tenant, integrationID int64, login, sessionID string, expires time.Time, actor Actor) (_ *OTProviderSession, err error) {
	defer wrapErr(&err, "save ot provider session (integrationID=%d)", integrationID)
	enc, err := s.Keys.Seal(otSessionPurpose, []byte(sessionID))
	if err != nil {
		return nil, err
	}
	now := s.now()
	estimated := expires.IsZero()
	if estimated {
		expires = now.Add(OTProviderSessionTTL)
	}
	var id int64
	err = s.DB.W.QueryRowContext(ctx, `INSERT INTO ot_provider_sessions (tenant_id, integration_id, login, session_enc, obtained_at, expires_at,
		expires_estimated, status, authorised_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, ?)
		ON CONFLICT (tenant_id, integration_id, login) DO UPDATE SET session_enc = excluded.session_enc, obtained_at = excluded.obtained_at,
			expires_at = excluded.expires_at, expires_estimated = excluded.expires_estimated, status = 'active', last_error = '',
			authorised_by = excluded.authorised_by, updated_at = excluded.updated_at
		RETURNING id`, t.ID, integrationID, login, enc, now, expires.UTC(), estimated, string(actor), now, now).Scan(&id)
	if err != nil {
		return nil, err
	}
	return scanOTSession(s.DB.R.QueryRowContext(ctx, `SELECT `+otSessionColumns+` FROM ot_provider_sessions WHERE tenant_id = ? AND id = ?`, t.ID, id))
}

// RefreshOTProviderSession records what OT's list says of a known session
// now: its id and expiry (a zero expiry leaves ours).
func (s *Store) RefreshOTProviderSession(ctx context.Context, tenantID, id int64, sessionID string, expires time.Time) (err error) {
	defer wrapErr(&err, "refresh ot provider session (tenantID=%d id=%d)", tenantID, id)
	enc, err := s.Keys.Seal(otSessionPurpose, []byte(sessionID))
	if err != nil {
		return err
	}
	if expires.IsZero() {
		_, err = s.DB.W.ExecContext(ctx, `UPDATE ot_provider_sessions SET session_enc = ?, updated_at = ? WHERE tenant_id = ? AND id = ?`,
			enc, s.now(), tenantID, id)
		return err
	}
	_, err = s.DB.W.ExecContext(ctx, `UPDATE ot_provider_sessions SET session_enc = ?, expires_at = ?, expires_estimated = 0, updated_at = ?
		WHERE tenant_id = ? AND id = ?`, enc, expires.UTC(), s.now(), tenantID, id)
	return err
}

// FindOTProviderSessions lists the shop's provider sessions, soonest end first.
func (s *Store) FindOTProviderSessions(ctx context.Context, tenantID int64) (_ []*OTProviderSession, err error) {
	defer wrapErr(&err, "find ot provider sessions (tenantID=%d)", tenantID)
	rows, err := s.DB.R.QueryContext(ctx, `SELECT `+otSessionColumns+` FROM ot_provider_sessions WHERE tenant_id = ? ORDER BY expires_at, id`, tenantID)
	return collect(rows, err, scanOTSession)
}

// OpenOTProviderSession decrypts a session's id for the call about to be made.
func (s *Store) OpenOTProviderSession(ctx context.Context, p *OTProviderSession) (_ string, err error) {
	defer wrapErr(&err, "open ot provider session")
	var enc string
	if err := s.DB.R.QueryRowContext(ctx, `SELECT session_enc FROM ot_provider_sessions WHERE tenant_id = ? AND id = ?`, p.TenantID, p.ID).Scan(&enc); err != nil {
		return "", notFound(err)
	}
	b, err := s.Keys.Open(otSessionPurpose, enc)
	if err != nil {
		return "", errors.New("the provider session cannot be decrypted: was ORDERDESK_SECRET_KEY changed?")
	}
	return string(b), nil
}

// MarkOTProviderSessionNeedsAuthorization records that only a new
// authorisation helps the shop's provider session.
func (s *Store) MarkOTProviderSessionNeedsAuthorization(ctx context.Context, tenantID, id int64, reason string) (err error) {
	defer wrapErr(&err, "mark ot provider session needs authorization (tenantID=%d id=%d)", tenantID, id)
	_, err = s.DB.W.ExecContext(ctx, `UPDATE ot_provider_sessions SET status = 'needs_authorization', last_error = ?, updated_at = ?
		WHERE tenant_id = ? AND id = ?`, reason, s.now(), tenantID, id)
	return err
}

// CountOT counts what waits in the shop's OT work.
func (s *Store) CountOT(ctx context.Context, tenantID int64) (_ OTCounts, err error) {
	defer wrapErr(&err, "count ot (tenantID=%d)", tenantID)
	var c OTCounts
	err = s.DB.R.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM ot_orders x WHERE x.tenant_id = ? AND x.state = 'paid' AND x.last_error = ''
			AND NOT EXISTS (`+otExportSQL+`)),
		(SELECT count(*) FROM ot_activities WHERE tenant_id = ? AND state = 'awaiting'),
		(SELECT count(*) FROM ot_orders WHERE tenant_id = ? AND state <> 'cancelled' AND last_error <> '')`,
		tenantID, tenantID, tenantID).Scan(&c.WaitingForSession, &c.Awaiting, &c.Errors)
	return c, err
}
