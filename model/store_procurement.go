package model

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

const tokenPurpose = "taobao-token"

// CreateOAuthState starts an authorization redirect: a single-use state bound to
// the tenant, the integration and the operator, valid for 10 minutes.
func (s *Store) CreateOAuthState(ctx context.Context, tenantID, integrationID, userID int64) (_ string, err error) {
	defer wrapErr(&err, "create o auth state (tenantID=%d integrationID=%d userID=%d)", tenantID, integrationID, userID)
	b := make([]byte, 24)
	rand.Read(b)
	state := hex.EncodeToString(b)
	now := s.now()
	_, err = s.DB.W.ExecContext(ctx, `INSERT INTO oauth_states (state, tenant_id, integration_id, user_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
		state, tenantID, integrationID, userID, now, now.Add(10*time.Minute))
	return state, err
}

// UseOAuthState spends a state: it must exist, be unused, unexpired, and belong
// to this tenant and user. It returns the integration it was made for.
func (s *Store) UseOAuthState(ctx context.Context, tenantID, userID int64, state string) (_ int64, err error) {
	defer wrapErr(&err, "use o auth state (tenantID=%d userID=%d)", tenantID, userID)
	var integrationID int64
	now := s.now()
	err = s.DB.W.QueryRowContext(ctx, `UPDATE oauth_states SET used_at = ? WHERE state = ? AND used_at IS NULL AND expires_at > ?
		AND tenant_id = ? AND user_id = ? RETURNING integration_id`, now, state, now, tenantID, userID).Scan(&integrationID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrInvalidState
	}
	return integrationID, err
}

// SaveTaobaoAccount stores (or renews) an account's session after an
// authorization: tokens sealed, status active, error cleared.
func (s *Store) SaveTaobaoAccount(ctx context.Context, tenantID, integrationID int64, tok AccountTokens) (_ *TaobaoAccount, err error) {
	defer wrapErr(&err, "save taobao account (tenantID=%d integrationID=%d)", tenantID, integrationID)
	access, err := s.Keys.Seal(tokenPurpose, []byte(tok.AccessToken))
	if err != nil {
		return nil, err
	}
	refresh, err := s.Keys.Seal(tokenPurpose, []byte(tok.RefreshToken))
	if err != nil {
		return nil, err
	}
	now := s.now()
	var id int64
	err = s.DB.W.QueryRowContext(ctx, `INSERT INTO taobao_accounts (tenant_id, integration_id, account, account_id, access_token_enc,
		refresh_token_enc, access_expires_at, refresh_expires_at, obtained_at, status, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?)
		ON CONFLICT (tenant_id, integration_id, account) DO UPDATE SET account_id = excluded.account_id,
			access_token_enc = excluded.access_token_enc, refresh_token_enc = excluded.refresh_token_enc,
			access_expires_at = excluded.access_expires_at, refresh_expires_at = excluded.refresh_expires_at,
			obtained_at = excluded.obtained_at, status = 'active', last_error = '', updated_at = excluded.updated_at
		RETURNING id`, tenantID, integrationID, tok.Account, tok.AccountID, access, refresh, tok.AccessExpiresAt.UTC(),
		tok.RefreshExpiresAt.UTC(), now, now, now).Scan(&id)
	if err != nil {
		return nil, err
	}
	return s.FindTaobaoAccount(ctx, tenantID, id)
}

// UpdateAccessToken keeps a refreshed access token of the tenant's account.
func (s *Store) UpdateAccessToken(ctx context.Context, tenantID, accountID int64, tok AccountTokens) (err error) {
	defer wrapErr(&err, "update access token (tenantID=%d accountID=%d)", tenantID, accountID)
	access, err := s.Keys.Seal(tokenPurpose, []byte(tok.AccessToken))
	if err != nil {
		return err
	}
	refresh, err := s.Keys.Seal(tokenPurpose, []byte(tok.RefreshToken))
	if err != nil {
		return err
	}
	_, err = s.DB.W.ExecContext(ctx, `UPDATE taobao_accounts SET access_token_enc = ?, refresh_token_enc = ?, access_expires_at = ?,
		refresh_expires_at = ?, status = 'active', last_error = '', updated_at = ? WHERE tenant_id = ? AND id = ?`,
		access, refresh, tok.AccessExpiresAt.UTC(), tok.RefreshExpiresAt.UTC(), s.now(), tenantID, accountID)
	return err
}

// MarkAccountNeedsAuthorization records that only a new authorization helps the
// tenant's account.
func (s *Store) MarkAccountNeedsAuthorization(ctx context.Context, tenantID, accountID int64, reason string) (err error) {
	defer wrapErr(&err, "mark account needs authorization (tenantID=%d accountID=%d)", tenantID, accountID)
	_, err = s.DB.W.ExecContext(ctx, `UPDATE taobao_accounts SET status = 'needs_authorization', last_error = ?, updated_at = ? WHERE tenant_id = ? AND id = ?`,
		reason, s.now(), tenantID, accountID)
	return err
}

const accountColumns = `id, tenant_id, integration_id, account, account_id, access_expires_at, refresh_expires_at, obtained_at, status, last_error, updated_at`

func scanAccount(row interface{ Scan(...any) error }) (*TaobaoAccount, error) {
	a := &TaobaoAccount{}
	if err := row.Scan(&a.ID, &a.TenantID, &a.IntegrationID, &a.Account, &a.AccountID, &a.AccessExpiresAt, &a.RefreshExpiresAt,
		&a.ObtainedAt, &a.Status, &a.LastError, &a.UpdatedAt); err != nil {
		return nil, notFound(err)
	}
	return a, nil
}

// FindTaobaoAccount returns the tenant's account or ErrNotFound.
func (s *Store) FindTaobaoAccount(ctx context.Context, tenantID, id int64) (_ *TaobaoAccount, err error) {
	defer wrapErr(&err, "find taobao account (tenantID=%d id=%d)", tenantID, id)
	return scanAccount(s.DB.R.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM taobao_accounts WHERE tenant_id = ? AND id = ?`, tenantID, id))
}

// FindTaobaoAccounts lists the tenant's accounts, soonest session end first.
func (s *Store) FindTaobaoAccounts(ctx context.Context, tenantID int64) (_ []*TaobaoAccount, err error) {
	defer wrapErr(&err, "find taobao accounts (tenantID=%d)", tenantID)
	rows, err := s.DB.R.QueryContext(ctx, `SELECT `+accountColumns+` FROM taobao_accounts WHERE tenant_id = ? ORDER BY refresh_expires_at, id`, tenantID)
	return collect(rows, err, scanAccount)
}

// OpenAccountTokens decrypts an account's tokens for the call about to be made.
func (s *Store) OpenAccountTokens(ctx context.Context, a *TaobaoAccount) (_ AccountTokens, err error) {
	defer wrapErr(&err, "open account tokens")
	var accessEnc, refreshEnc string
	if err := s.DB.R.QueryRowContext(ctx, `SELECT access_token_enc, refresh_token_enc FROM taobao_accounts WHERE tenant_id = ? AND id = ?`, a.TenantID, a.ID).Scan(&accessEnc, &refreshEnc); err != nil {
		return AccountTokens{}, notFound(err)
	}
	access, err1 := s.Keys.Open(tokenPurpose, accessEnc)
	refresh, err2 := s.Keys.Open(tokenPurpose, refreshEnc)
	if err1 != nil || err2 != nil {
		return AccountTokens{}, errors.New("the account's tokens cannot be decrypted: was ORDERDESK_SECRET_KEY changed?")
	}
	return AccountTokens{Account: a.Account, AccountID: a.AccountID, AccessToken: string(access), RefreshToken: string(refresh),
		AccessExpiresAt: a.AccessExpiresAt, RefreshExpiresAt: a.RefreshExpiresAt}, nil
}

// taobaoLinesSQL is the FROM and WHERE of the order lines (`l`) that are
// bought directly on Taobao (their channel) and wait for it; the caller adds
// which order.
const taobaoLinesSQL = ` FROM order_lines l LEFT JOIN products p ON p.id = l.product_id
	WHERE l.procurement_status = 'pending' AND ` + lineChannelSQL + ` = 'taobao'
	AND NOT EXISTS (SELECT 1 FROM ot_lines x WHERE x.order_line_id = l.id)`

// FindOrdersToPurchase lists the tenant's paid orders whose procurement has not
// started and has no error waiting for a person, with lines bought directly on
// Taobao, oldest first. Lines of the OT channel are OT's (FindOrdersForOT).
func (s *Store) FindOrdersToPurchase(ctx context.Context, tenantID int64, limit int) (_ []int64, err error) {
	defer wrapErr(&err, "find orders to purchase (tenantID=%d limit=%d)", tenantID, limit)
	rows, err := s.DB.R.QueryContext(ctx, `SELECT o.id FROM orders o WHERE o.tenant_id = ? AND o.payment_status = 'paid' AND o.procurement_status = 'pending'
		AND o.procurement_error = '' AND o.status IN ('confirmed', 'processing') AND EXISTS (SELECT 1`+taobaoLinesSQL+` AND l.order_id = o.id)
		ORDER BY o.id LIMIT ?`, tenantID, limit)
	return collect(rows, err, func(r rowScanner) (int64, error) {
		var id int64
		err := r.Scan(&id)
		return id, err
	})
}

// ClaimOrderForPurchase claims a paid order for a purchase in a write
// transaction before any call to the supplier, and gives the outer id that every
// try of this order uses. An order claimed before (Resumed) may already have a
// purchase at the supplier: the caller looks it up by the outer id first.
func (s *Store) ClaimOrderForPurchase(ctx context.Context, t *Tenant, orderID int64) (_ *PurchaseClaim, err error) {
	defer wrapErr(&err, "claim order for purchase (orderID=%d)", orderID)
	c := &PurchaseClaim{OrderID: orderID}
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		var pay OrderPaymentStatus
		var proc ProcurementStatus
		var status OrderStatus
		var outer string
		err := tx.QueryRowContext(ctx, `SELECT number, payment_status, procurement_status, status, purchase_outer_id, first_name, last_name, phone,
			street1, street2, city, state, zip, country FROM orders WHERE tenant_id = ? AND id = ?`, t.ID, orderID).
			Scan(&c.OrderNumber, &pay, &proc, &status, &outer, &c.Address.FirstName, &c.Address.LastName, &c.Address.Telephone,
				&c.Address.Street1, &c.Address.Street2, &c.Address.City, &c.Address.State, &c.Address.Zip, &c.Address.Country)
		if err != nil {
			return notFound(err)
		}
		switch {
		case pay != PayPaid:
			return &ConflictError{Msg: "Order " + c.OrderNumber + " is not paid: it is not bought from the supplier yet."}
		case proc != ProcPending:
			return &ConflictError{Msg: "Order " + c.OrderNumber + " is already " + string(proc) + " at the supplier."}
		case status == OrderCancelled || status == OrderRefunded:
			return &ConflictError{Msg: "Order " + c.OrderNumber + " is " + string(status) + "."}
		}
		c.Resumed = outer != ""
		if outer == "" {
			outer = "ODP-" + strings.ToUpper(t.Slug) + "-" + strconv.FormatInt(orderID, 10)
			if _, err := tx.ExecContext(ctx, `UPDATE orders SET purchase_outer_id = ?, updated_at = ? WHERE id = ?`, outer, s.now(), orderID); err != nil {
				return err
			}
		}
		c.OuterID = outer
		rows, err := tx.QueryContext(ctx, `SELECT l.id, l.title, l.quantity, coalesce(l.provider_item_id, ''), coalesce(l.provider_sku_id, ''),
			coalesce(p.cost_fen, 0)`+taobaoLinesSQL+` AND l.order_id = ? ORDER BY l.id`, orderID)
		c.Lines, err = collect(rows, err, func(r rowScanner) (PurchaseLine, error) {
			var l PurchaseLine
			err := r.Scan(&l.LineID, &l.Title, &l.Quantity, &l.ProviderItemID, &l.ProviderSKUID, &l.CostFen)
			return l, err
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// RecordProcurementError flags lines of an order (all of its pending lines when
// lineIDs is empty) with an error in words; the status stays.
func (s *Store) RecordProcurementError(ctx context.Context, t *Tenant, orderID int64, lineIDs []int64, msg string, actor Actor) (err error) {
	defer wrapErr(&err, "record procurement error (orderID=%d)", orderID)
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		if len(lineIDs) == 0 {
			if _, err := tx.ExecContext(ctx, `UPDATE order_lines SET procurement_error = ? WHERE tenant_id = ? AND order_id = ? AND procurement_status IN ('pending', 'created')`,
				msg, t.ID, orderID); err != nil {
				return err
			}
		}
		for _, id := range lineIDs {
			if _, err := tx.ExecContext(ctx, `UPDATE order_lines SET procurement_error = ? WHERE tenant_id = ? AND order_id = ? AND id = ?`, msg, t.ID, orderID, id); err != nil {
				return err
			}
		}
		return rollUpProcurement(ctx, tx, t.ID, orderID, actor, s.now())
	})
}

// ClearProcurementErrors clears an order's errors before a person's retry.
func (s *Store) ClearProcurementErrors(ctx context.Context, t *Tenant, orderID int64, actor Actor) (err error) {
	defer wrapErr(&err, "clear procurement errors (orderID=%d)", orderID)
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE order_lines SET procurement_error = '' WHERE tenant_id = ? AND order_id = ?`, t.ID, orderID); err != nil {
			return err
		}
		return rollUpProcurement(ctx, tx, t.ID, orderID, actor, s.now())
	})
}

// RecordPurchases records what the supplier created for a claimed order, in one
// transaction: the purchases (a purchase id is recorded once, whatever happens),
// each line's purchase, cost in CNY and in the tenant's currency at the rate
// frozen now, and the lines' procurement status pending → created.
func (s *Store) RecordPurchases(ctx context.Context, t *Tenant, claim *PurchaseClaim, accountID int64, created []CreatedPurchase, actor Actor) (err error) {
	defer wrapErr(&err, "record purchases (accountID=%d)", accountID)
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		var rate int64
		if err := tx.QueryRowContext(ctx, `SELECT cny_rate_micro FROM tenants WHERE id = ?`, t.ID).Scan(&rate); err != nil {
			return err
		}
		cost := map[int64]int64{}
		for _, l := range claim.Lines {
			cost[l.LineID] = l.CostFen * int64(l.Quantity)
		}
		for _, p := range created {
			if _, err := tx.ExecContext(ctx, `INSERT INTO purchases (tenant_id, account_id, outer_id, purchase_id, status_raw, stage, supplier, amount_fen,
				fx_rate_micro, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'created', ?, ?, ?, ?, ?) ON CONFLICT (purchase_id) DO NOTHING`,
				t.ID, accountID, claim.OuterID, p.PurchaseID, p.StatusRaw, p.Supplier, p.AmountFen, rate, now, now); err != nil {
				return err
			}
			for _, lineID := range p.LineIDs {
				var from ProcurementStatus
				if err := tx.QueryRowContext(ctx, `SELECT procurement_status FROM order_lines WHERE id = ? AND order_id = ?`, lineID, claim.OrderID).Scan(&from); err != nil {
					return notFound(err)
				}
				if from != ProcPending {
					continue // recorded before (a rerun after a crash)
				}
				if _, err := tx.ExecContext(ctx, `UPDATE order_lines SET procurement_status = 'created', procurement_error = '', purchase_id = ?,
					supplier_status_raw = ?, cost_fen = ?, cost_minor = ? WHERE id = ?`,
					p.PurchaseID, p.StatusRaw, cost[lineID], CNYToMinor(cost[lineID], rate), lineID); err != nil {
					return err
				}
			}
		}
		return rollUpProcurement(ctx, tx, t.ID, claim.OrderID, actor, now)
	})
}

// PurchaseFilter selects purchases.
type PurchaseFilter struct {
	Stages     []ProcurementStatus
	OrderID    int64
	PurchaseID string
	// ErrorContains: only purchases not paid yet whose error has this
	// supplier code (the dashboard's "waiting for balance").
	ErrorContains string
	Limit         int
}

// FindPurchases lists the tenant's purchases (with their orders), oldest first.
func (s *Store) FindPurchases(ctx context.Context, tenantID int64, f PurchaseFilter) (_ []*Purchase, err error) {
	defer wrapErr(&err, "find purchases (tenantID=%d)", tenantID)
	conds, args := []string{"p.tenant_id = ?"}, []any{tenantID}
	if len(f.Stages) > 0 {
		ph := make([]string, len(f.Stages))
		for i, st := range f.Stages {
			ph[i] = "?"
			args = append(args, string(st))
		}
		conds = append(conds, "p.stage IN ("+strings.Join(ph, ",")+")")
	}
	if f.PurchaseID != "" {
		conds, args = append(conds, "p.purchase_id = ?"), append(args, f.PurchaseID)
	}
	if f.ErrorContains != "" {
		// The same condition as CountDashboard's count of them.
		conds, args = append(conds, "p.stage = 'created' AND p.error LIKE ?"), append(args, "%"+f.ErrorContains+"%")
	}
	if f.OrderID != 0 {
		conds, args = append(conds, "p.purchase_id IN (SELECT purchase_id FROM order_lines WHERE order_id = ?)"), append(args, f.OrderID)
	}
	if f.Limit <= 0 {
		f.Limit = 500
	}
	args = append(args, f.Limit)
	rows, err := s.DB.R.QueryContext(ctx, `SELECT p.id, p.tenant_id, p.account_id, a.account, p.outer_id, p.purchase_id, p.status_raw, p.stage, p.supplier,
		p.amount_fen, p.fx_rate_micro, p.error, p.created_at, p.updated_at,
		(SELECT group_concat(DISTINCT o.id || ':' || o.number) FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE l.purchase_id = p.purchase_id)
		FROM purchases p JOIN taobao_accounts a ON a.id = p.account_id WHERE `+strings.Join(conds, " AND ")+` ORDER BY p.id LIMIT ?`, args...)
	return collect(rows, err, func(r rowScanner) (*Purchase, error) {
		p := &Purchase{}
		var orders sql.NullString
		if err := r.Scan(&p.ID, &p.TenantID, &p.AccountID, &p.Account, &p.OuterID, &p.PurchaseID, &p.StatusRaw, &p.Stage, &p.Supplier,
			&p.AmountFen, &p.FXRateMicro, &p.Error, &p.CreatedAt, &p.UpdatedAt, &orders); err != nil {
			return nil, err
		}
		for _, pair := range strings.Split(orders.String, ",") {
			if id, num, ok := strings.Cut(pair, ":"); ok {
				n, err := strconv.ParseInt(id, 10, 64)
				if err != nil {
					return nil, fmt.Errorf("purchase %s: order id %q: %w", p.PurchaseID, id, err)
				}
				p.OrderIDs, p.OrderNums = append(p.OrderIDs, n), append(p.OrderNums, num)
			}
		}
		return p, nil
	})
}

// ApplyPurchaseState records what the supplier says of a purchase: its raw
// status, the stage it maps to, the supplier's track number, or an error in words
// (the stage then stays). Each of its lines moves through the procurement table;
// a change the table does not allow is left out.
func (s *Store) ApplyPurchaseState(ctx context.Context, t *Tenant, purchaseID, raw string, stage ProcurementStatus, track, errMsg string, actor Actor) (err error) {
	defer wrapErr(&err, "apply purchase state")
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		var current ProcurementStatus
		if err := tx.QueryRowContext(ctx, `SELECT stage FROM purchases WHERE tenant_id = ? AND purchase_id = ?`, t.ID, purchaseID).Scan(&current); err != nil {
			return notFound(err)
		}
		next := current
		if stage != "" && stage != current && (current.CanTransitionTo(stage) || reachable(current, stage)) {
			next = stage
		}
		if _, err := tx.ExecContext(ctx, `UPDATE purchases SET stage = ?, status_raw = coalesce(nullif(?, ''), status_raw), error = ?, updated_at = ?
			WHERE tenant_id = ? AND purchase_id = ?`, string(next), raw, errMsg, now, t.ID, purchaseID); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT id, order_id, procurement_status FROM order_lines WHERE tenant_id = ? AND purchase_id = ?`, t.ID, purchaseID)
		type line struct {
			id, order int64
			st        ProcurementStatus
		}
		lines, err := collect(rows, err, func(r rowScanner) (line, error) {
			var l line
			err := r.Scan(&l.id, &l.order, &l.st)
			return l, err
		})
		if err != nil {
			return err
		}
		orders := map[int64]bool{}
		for _, l := range lines {
			to := l.st
			if next != l.st && (l.st.CanTransitionTo(next) || reachable(l.st, next)) {
				to = next
			}
			if _, err := tx.ExecContext(ctx, `UPDATE order_lines SET procurement_status = ?, procurement_error = ?,
				supplier_track = coalesce(nullif(?, ''), supplier_track), supplier_status_raw = coalesce(nullif(?, ''), supplier_status_raw) WHERE id = ?`,
				string(to), errMsg, track, raw, l.id); err != nil {
				return err
			}
			orders[l.order] = true
		}
		for id := range orders {
			if err := rollUpProcurement(ctx, tx, t.ID, id, actor, now); err != nil {
				return err
			}
		}
		return nil
	})
}

// reachable reports whether to follows from along the table's forward path
// (created → shipped when the supplier's answer skipped "paid", say).
func reachable(from, to ProcurementStatus) bool {
	seen := map[ProcurementStatus]bool{}
	var walk func(ProcurementStatus) bool
	walk = func(s ProcurementStatus) bool {
		if seen[s] {
			return false
		}
		seen[s] = true
		for _, n := range procurementTransitions[s] {
			if n == to || walk(n) {
				return true
			}
		}
		return false
	}
	return walk(from)
}

// ProcurementCounts are the numbers the dashboard shows.
type ProcurementCounts struct {
	ToPurchase        int // paid orders not bought yet
	WaitingForBalance int // purchases that could not be paid for lack of balance
	WithErrors        int // orders whose procurement needs a person
}

// CountProcurement counts what waits in the tenant's procurement.
func (s *Store) CountProcurement(ctx context.Context, tenantID int64, balanceCode string) (_ ProcurementCounts, err error) {
	defer wrapErr(&err, "count procurement (tenantID=%d)", tenantID)
	var c ProcurementCounts
	// The order counts are those the triggers of migrations/0015 keep: a
	// count of the paid orders not bought yet read tens of thousands of rows.
	err = s.DB.R.QueryRowContext(ctx, `SELECT
		(SELECT coalesce(sum(n), 0) FROM dashboard_counts WHERE tenant_id = ? AND bucket = 'to_buy'),
		(SELECT count(*) FROM purchases WHERE tenant_id = ? AND stage = 'created' AND error LIKE ?),
		(SELECT coalesce(sum(n), 0) FROM dashboard_counts WHERE tenant_id = ? AND bucket = 'needs_person')`,
		tenantID, tenantID, "%"+balanceCode+"%", tenantID).Scan(&c.ToPurchase, &c.WaitingForBalance, &c.WithErrors)
	return c, err
}

// OrderMargin is an order's cost at the supplier and its margin.
type OrderMargin struct {
	CostFen, CostMinor, Revenue, Margin int64
	Complete                            bool // every line has a cost
}

// marginOf sums the frozen costs of an order's lines, read with it, as
// FindOrderMargin does in the database.
func marginOf(o *Order) OrderMargin {
	m := OrderMargin{Revenue: o.Total, Complete: true}
	for _, l := range o.Lines {
		m.CostFen += l.CostFen
		m.CostMinor += l.CostMinor
		if l.PurchaseID == "" && l.ProcurementStatus != ProcCancelled {
			m.Complete = false
		}
	}
	m.Margin = m.Revenue - m.CostMinor
	return m
}

// FindOrderMargin sums the frozen costs of an order's lines.
func (s *Store) FindOrderMargin(ctx context.Context, tenantID, orderID int64) (_ OrderMargin, err error) {
	defer wrapErr(&err, "find order margin (tenantID=%d orderID=%d)", tenantID, orderID)
	var m OrderMargin
	var missing int
	err = s.DB.R.QueryRowContext(ctx, `SELECT coalesce(sum(l.cost_fen), 0), coalesce(sum(l.cost_minor), 0), o.total,
		sum(CASE WHEN l.purchase_id IS NULL AND l.procurement_status <> 'cancelled' THEN 1 ELSE 0 END)
		FROM orders o JOIN order_lines l ON l.order_id = o.id WHERE o.tenant_id = ? AND o.id = ? GROUP BY o.id`, tenantID, orderID).
		Scan(&m.CostFen, &m.CostMinor, &m.Revenue, &missing)
	if err != nil {
		return m, notFound(err)
	}
	m.Margin = m.Revenue - m.CostMinor
	m.Complete = missing == 0
	return m, nil
}
