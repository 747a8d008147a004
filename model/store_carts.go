package model

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"time"

	"orderdesk/views/locales"
)

// CartLine is a product in a cart.
type CartLine struct {
	Product   *Product
	Quantity  int
	LineTotal int64
}

// CartView is a priced cart: its lines, the coupon's verdict and the totals.
type CartView struct {
	ID            string
	Lines         []CartLine
	Currency      string
	Coupon        *Coupon // the applied coupon, nil when none applies
	CouponMessage string  // why the typed code does or does not apply
	BonusBalance  int64   // the signed-in customer's points; 0 for guests
	Totals        Totals
}

// ItemCount is the number of units in the cart.
func (v *CartView) ItemCount() int {
	n := 0
	for _, l := range v.Lines {
		n += l.Quantity
	}
	return n
}

func newCartID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// EnsureCart returns cartID when it is a cart of this tenant, else creates a new
// cart and returns its id. A signed-in customer's id is recorded on the cart.
func (s *Store) EnsureCart(ctx context.Context, tenantID int64, cartID string, customerID int64) (_ string, err error) {
	defer wrapErr(&err, "ensure cart (tenantID=%d customerID=%d)", tenantID, customerID)
	var out string
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		if cartID != "" {
			var cid sql.NullInt64
			err := tx.QueryRowContext(ctx, `SELECT customer_id FROM carts WHERE id = ? AND tenant_id = ?`, cartID, tenantID).Scan(&cid)
			if err == nil {
				// A guest cart becomes the customer's when they sign in; a cart
				// of another customer is never taken over.
				if customerID != 0 && !cid.Valid {
					if _, err := tx.ExecContext(ctx, `UPDATE carts SET customer_id = ? WHERE id = ?`, customerID, cartID); err != nil {
						return err
					}
				}
				if !cid.Valid || customerID == 0 || cid.Int64 == customerID {
					out = cartID
					return nil
				}
			} else if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		out = newCartID()
		now := s.now()
		_, err := tx.ExecContext(ctx, `INSERT INTO carts (id, tenant_id, customer_id, created_at, updated_at) VALUES (?, ?, nullif(?, 0), ?, ?)`,
			out, tenantID, customerID, now, now)
		return err
	})
	return out, err
}

// AddToCart adds quantity of a product (which must be on sale) to the cart.
func (s *Store) AddToCart(ctx context.Context, tenantID int64, cartID string, productID int64, quantity int) (err error) {
	defer wrapErr(&err, "add to cart (tenantID=%d productID=%d quantity=%d)", tenantID, productID, quantity)
	if quantity < 1 || quantity > 1000 {
		return &ValidationError{Fields: map[string]string{"quantity": "give a quantity from 1 to 1000"}}
	}
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		var active bool
		err := tx.QueryRowContext(ctx, `SELECT active FROM products WHERE tenant_id = ? AND id = ?`, tenantID, productID).Scan(&active)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && !active) {
			return &ValidationError{Fields: map[string]string{"product_id": "there is no such product on sale"}}
		}
		if err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM carts WHERE id = ? AND tenant_id = ?`, cartID, tenantID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO cart_lines (tenant_id, cart_id, product_id, quantity) VALUES (?, ?, ?, ?)
			ON CONFLICT (cart_id, product_id) DO UPDATE SET quantity = min(quantity + excluded.quantity, 1000)`,
			tenantID, cartID, productID, quantity)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE carts SET updated_at = ? WHERE id = ?`, s.now(), cartID)
		return err
	})
}

// SetCartQuantity sets a line's quantity; zero removes the line.
func (s *Store) SetCartQuantity(ctx context.Context, tenantID int64, cartID string, productID int64, quantity int) (err error) {
	defer wrapErr(&err, "set cart quantity (tenantID=%d productID=%d quantity=%d)", tenantID, productID, quantity)
	if quantity <= 0 {
		_, err := s.DB.W.ExecContext(ctx, `DELETE FROM cart_lines WHERE tenant_id = ? AND cart_id = ? AND product_id = ?`, tenantID, cartID, productID)
		return err
	}
	_, err = s.DB.W.ExecContext(ctx, `UPDATE cart_lines SET quantity = ? WHERE tenant_id = ? AND cart_id = ? AND product_id = ?`,
		min(quantity, 1000), tenantID, cartID, productID)
	return err
}

func cartLines(ctx context.Context, q queryer, tenantID int64, cartID string) ([]CartLine, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+productColumns+`, l.quantity FROM cart_lines l
		JOIN products p ON p.id = l.product_id WHERE l.tenant_id = ? AND l.cart_id = ? ORDER BY p.title, p.id`, tenantID, cartID)
	return collect(rows, err, func(r rowScanner) (CartLine, error) {
		p := &Product{}
		var qty int
		if err := r.Scan(&p.ID, &p.TenantID, &p.SKU, &p.Title, &p.Description, &p.Price, &p.Stock, &p.Source,
			&p.ProviderItemID, &p.ProviderSKUID, &p.CostFen, &p.Active, &qty); err != nil {
			return CartLine{}, err
		}
		return CartLine{Product: p, Quantity: qty, LineTotal: p.Price * int64(qty)}, nil
	})
}

// CartPricing is what a shopper chose for a cart: the promo code and the bonus.
type CartPricing struct {
	PromoCode        string
	UseBonus         bool
	ShippingMethodID int64
	// Email is the e-mail given with the order, for per-customer coupon limits
	// ("" for a cart not yet at checkout: the limit is checked again there).
	Email string
	// checkout is set by PlaceOrder: the shopper is known by now, so a
	// per-customer coupon needs a customer or an e-mail.
	checkout bool
}

// PriceCart prices a cart for a shopper (customer nil for a guest). A promo code
// too long to be one is a *ValidationError on coupon_code; any other code that
// does not apply is only reported in the view's CouponMessage.
func (s *Store) PriceCart(ctx context.Context, t *Tenant, cartID string, customer *Customer, p CartPricing) (_ *CartView, err error) {
	defer wrapErr(&err, "price cart")
	return priceCart(ctx, s.DB.R, t, cartID, customer, p, s.now())
}

func priceCart(ctx context.Context, q queryer, t *Tenant, cartID string, customer *Customer, p CartPricing, now time.Time) (*CartView, error) {
	if err := CheckPromoCode(p.PromoCode); err != nil {
		return nil, err
	}
	v := &CartView{ID: cartID, Currency: t.Currency}
	lines, err := cartLines(ctx, q, t.ID, cartID)
	if err != nil {
		return nil, err
	}
	v.Lines = lines
	var subtotal int64
	for _, l := range lines {
		subtotal += l.LineTotal
	}
	var customerID int64
	email := p.Email
	if customer != nil {
		customerID = customer.ID
		if email == "" {
			email = customer.Email
		}
		if v.BonusBalance, err = bonusBalance(ctx, q, t.ID, customer.ID); err != nil {
			return nil, err
		}
	}
	if p.PromoCode != "" {
		c, err := findCouponByCode(ctx, q, t.ID, p.PromoCode)
		var refusal *CouponRefusal
		switch {
		case errors.As(err, &refusal):
			v.CouponMessage = refusal.Message(t.Language)
		case err != nil:
			return nil, err
		default:
			usage, err := couponUsage(ctx, q, t.ID, c.ID, customerID, email)
			if err != nil {
				return nil, err
			}
			usage.Anonymous = usage.Anonymous && p.checkout
			if err := c.Check(now, subtotal, usage, t.Currency); errors.As(err, &refusal) {
				v.CouponMessage = refusal.Message(t.Language)
			} else if err != nil {
				return nil, err
			} else {
				v.Coupon = c
				v.CouponMessage = locales.T(t.Language, "api.coupon.applied", map[string]any{"Code": c.Code, "What": c.Describe(t.Language, t.Currency)})
			}
		}
	}
	var shipping int64
	if p.ShippingMethodID != 0 {
		m, err := scanShipping(q.QueryRowContext(ctx, `SELECT `+shippingColumns+` FROM shipping_methods WHERE tenant_id = ? AND id = ? AND active = 1`, t.ID, p.ShippingMethodID))
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		if m != nil {
			shipping = m.Price
		}
	}
	v.Totals = ComputeTotals(subtotal, v.Coupon, shipping, v.BonusBalance, p.UseBonus && customer != nil, t.BonusMaxSharePercent)
	return v, nil
}
