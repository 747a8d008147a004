package model

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// SeedBulkOrders adds n synthetic orders to a tenant, spread over the statuses and
// the last year, for load tests and benchmarks of the desk. It writes rows
// directly, in batches of 5,000 per transaction, rather than through PlaceOrder:
// a hundred thousand checkouts would measure the checkout, not the list.
func (s *Store) SeedBulkOrders(ctx context.Context, t *Tenant, n int) error {
	products, err := s.FindProducts(ctx, t.ID)
	if err != nil {
		return err
	}
	if len(products) == 0 {
		return fmt.Errorf("tenant %s has no products", t.Slug)
	}
	statuses := []OrderStatus{OrderPending, OrderConfirmed, OrderConfirmed, OrderProcessing, OrderShipped, OrderShipped,
		OrderDelivered, OrderCompleted, OrderCompleted, OrderCompleted, OrderCancelled, OrderHolded}
	now := s.now()
	for done := 0; done < n; {
		batch := min(5000, n-done)
		err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
			var start int64
			if err := tx.QueryRowContext(ctx, `UPDATE tenants SET order_increment_next = coalesce(order_increment_next, order_increment_start) + ?
				WHERE id = ? RETURNING order_increment_next - ?`, batch, t.ID, batch).Scan(&start); err != nil {
				return err
			}
			insOrder, err := tx.PrepareContext(ctx, `INSERT INTO orders (tenant_id, number, increment_id, customer_email, first_name, last_name,
				phone, street1, city, state, zip, country, shipping_name, status, payment_status, procurement_status, currency,
				subtotal, shipping, total, item_count, stock_reserved, tracking_number, shipped_at, created_at, updated_at)
				VALUES (?, ?, ?, ?, 'Load', 'Test', '+10000000000', '1 Bulk Street', 'City', 'State', '00000', 'US', 'Standard', ?, ?, 'pending', ?,
				?, 500, ?, ?, 0, ?, ?, ?, ?)`)
			// No Close for the two statements: the transaction closes the statements
			// prepared on it when it ends.
			if err != nil {
				return err
			}
			insLine, err := tx.PrepareContext(ctx, `INSERT INTO order_lines (tenant_id, order_id, product_id, sku, title, quantity, unit_price, line_total,
				provider_item_id, provider_sku_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, nullif(?, ''), nullif(?, ''))`)
			if err != nil {
				return err
			}
			for i := 0; i < batch; i++ {
				k := done + i
				st := statuses[k%len(statuses)]
				pay := PayPending
				switch st {
				case OrderPending:
				case OrderCancelled:
					pay = PayCanceled
				default:
					pay = PayPaid
				}
				p := products[k%len(products)]
				qty := 1 + k%3
				created := now.Add(-time.Duration(n-k) * 5 * time.Minute)
				var track string
				var shipped any
				if st == OrderShipped || st == OrderDelivered || st == OrderCompleted {
					track, shipped = fmt.Sprintf("BULK%010d", k), created.Add(24*time.Hour)
				}
				res, err := insOrder.ExecContext(ctx, t.ID, newOrderNumber(t.Slug, created), start+int64(i),
					fmt.Sprintf("buyer%d@example.com", k%5000), string(st), string(pay), t.Currency,
					p.Price*int64(qty), p.Price*int64(qty)+500, qty, track, shipped, created, created)
				if err != nil {
					return err
				}
				id, err := res.LastInsertId()
				if err != nil {
					return err
				}
				if _, err := insLine.ExecContext(ctx, t.ID, id, p.ID, p.SKU, p.Title, qty, p.Price, p.Price*int64(qty), p.ProviderItemID, p.ProviderSKUID); err != nil {
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
