package model

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Bulk seeding sizes. A million orders must load in under three minutes
// (issue 12): the time goes to SQLite's statements and index pages, so rows go
// in many to a statement, many statements to a transaction, with the index
// pages kept in memory for the run.
const (
	bulkTxOrders   = 25_000 // orders per write transaction
	bulkStmtOrders = 200    // orders (and their one line each) per INSERT
	// bulkCacheKiB is the writer's page cache during the seed (PRAGMA
	// cache_size): the orders' indexes of a million rows fit, so an
	// insert at a random place of the number index reads no page from disk.
	bulkCacheKiB = 512 * 1024
)

// bulkOrderTuple and bulkLineTuple are one row of SeedBulkOrders' INSERTs;
// what is the same in every order is written as literals.
const (
	bulkOrderTuple = `(?, ?, ?, ?, ?, 'Load', 'Test', '+10000000000', '1 Bulk Street', 'City', 'State', '00000', 'US', 'Standard', ?, ?, 'pending', ?,
		?, 500, ?, ?, 0, ?, ?, ?, ?)`
	bulkLineTuple = `(?, ?, ?, ?, ?, ?, ?, ?, ?, nullif(?, ''), nullif(?, ''))`
)

// SeedBulkOrders adds n synthetic orders to a tenant, spread over the statuses and
// back in time (five minutes apart), for load tests and benchmarks of the desk. It writes rows
// directly rather than through PlaceOrder (a million checkouts would measure
// the checkout, not the list), with the ids it gives them itself: in one write
// transaction nobody else adds orders, and the lines need their order's id.
// The order_status_counts triggers keep the counts as for any order.
func (s *Store) SeedBulkOrders(ctx context.Context, t *Tenant, n int) (err error) {
	defer wrapErr(&err, "seed bulk orders (n=%d)", n)
	products, err := s.FindProducts(ctx, t.ID)
	if err != nil {
		return err
	}
	if len(products) == 0 {
		return fmt.Errorf("tenant %s has no products", t.Slug)
	}
	restore, err := s.bulkCache(ctx)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, restore()) }()

	statuses := []OrderStatus{OrderPending, OrderConfirmed, OrderConfirmed, OrderProcessing, OrderShipped, OrderShipped,
		OrderDelivered, OrderCompleted, OrderCompleted, OrderCompleted, OrderCancelled, OrderHolded}
	emails := make([]string, 5000)
	for i := range emails {
		emails[i] = "buyer" + strconv.Itoa(i) + "@example.com"
	}
	now := s.now()
	for done := 0; done < n; {
		batch := min(bulkTxOrders, n-done)
		err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
			var start, orderID, lineID int64
			if err := tx.QueryRowContext(ctx, `UPDATE tenants SET order_increment_next = coalesce(order_increment_next, order_increment_start) + ?
				WHERE id = ? RETURNING order_increment_next - ?`, batch, t.ID, batch).Scan(&start); err != nil {
				return err
			}
			if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM orders`).Scan(&orderID); err != nil {
				return err
			}
			if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM order_lines`).Scan(&lineID); err != nil {
				return err
			}
			stmts := map[int][2]*sql.Stmt{} // by rows per statement: the full size, and the batch's rest
			// No Close for the statements: the transaction closes the
			// statements prepared on it when it ends.
			prepare := func(rows int) ([2]*sql.Stmt, error) {
				if st, ok := stmts[rows]; ok {
					return st, nil
				}
				ins, err := tx.PrepareContext(ctx, `INSERT INTO orders (id, tenant_id, number, increment_id, customer_email, first_name, last_name,
					phone, street1, city, state, zip, country, shipping_name, status, payment_status, procurement_status, currency,
					subtotal, shipping, total, item_count, stock_reserved, tracking_number, shipped_at, created_at, updated_at)
					VALUES `+strings.TrimSuffix(strings.Repeat(bulkOrderTuple+", ", rows), ", "))
				if err != nil {
					return [2]*sql.Stmt{}, err
				}
				insLine, err := tx.PrepareContext(ctx, `INSERT INTO order_lines (id, tenant_id, order_id, product_id, sku, title, quantity, unit_price, line_total,
					provider_item_id, provider_sku_id) VALUES `+strings.TrimSuffix(strings.Repeat(bulkLineTuple+", ", rows), ", "))
				if err != nil {
					return [2]*sql.Stmt{}, err
				}
				stmts[rows] = [2]*sql.Stmt{ins, insLine}
				return stmts[rows], nil
			}
			orderArgs := make([]any, 0, bulkStmtOrders*15)
			lineArgs := make([]any, 0, bulkStmtOrders*11)
			for i := 0; i < batch; {
				rows := min(bulkStmtOrders, batch-i)
				st, err := prepare(rows)
				if err != nil {
					return err
				}
				orderArgs, lineArgs = orderArgs[:0], lineArgs[:0]
				for j := 0; j < rows; j, i = j+1, i+1 {
					k := done + i
					orderID++
					lineID++
					status := statuses[k%len(statuses)]
					pay := PayPaid
					switch status {
					case OrderPending:
						pay = PayPending
					case OrderCancelled:
						pay = PayCanceled
					}
					p := products[k%len(products)]
					qty := int64(1 + k%3)
					created := now.Add(-time.Duration(n-k) * 5 * time.Minute)
					var track string
					var shipped any
					if status == OrderShipped || status == OrderDelivered || status == OrderCompleted {
						track, shipped = "BULK"+fmt.Sprintf("%010d", k), created.Add(24*time.Hour)
					}
					orderArgs = append(orderArgs, orderID, t.ID, newOrderNumber(t.Slug, created), start+int64(i),
						emails[k%len(emails)], string(status), string(pay), t.Currency,
						p.Price*qty, p.Price*qty+500, qty, track, shipped, created, created)
					lineArgs = append(lineArgs, lineID, t.ID, orderID, p.ID, p.SKU, p.Title, qty, p.Price, p.Price*qty, p.ProviderItemID, p.ProviderSKUID)
				}
				if _, err := st[0].ExecContext(ctx, orderArgs...); err != nil {
					return err
				}
				if _, err := st[1].ExecContext(ctx, lineArgs...); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		done += batch
	}
	return nil
}

// bulkCache gives the one writer connection a page cache of bulkCacheKiB for
// the seed, and returns what puts its own size back.
func (s *Store) bulkCache(ctx context.Context) (restore func() error, err error) {
	var was int64
	if err := s.DB.W.QueryRowContext(ctx, `PRAGMA cache_size`).Scan(&was); err != nil {
		return nil, err
	}
	// A negative size is in KiB, a positive one in pages (SQLite's rule).
	if _, err := s.DB.W.ExecContext(ctx, `PRAGMA cache_size = -`+strconv.Itoa(bulkCacheKiB)); err != nil {
		return nil, err
	}
	return func() error {
		_, err := s.DB.W.ExecContext(context.Background(), `PRAGMA cache_size = `+strconv.FormatInt(was, 10))
		return err
	}, nil
}
