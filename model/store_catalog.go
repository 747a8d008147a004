package model

import (
	"context"
	"database/sql"
	"strings"
)

// productColumns are read from "products p".
const productColumns = `p.id, p.tenant_id, p.sku, p.title, p.description, p.price, p.stock, p.source,
	coalesce(p.provider_item_id, ''), coalesce(p.provider_sku_id, ''), p.cost_fen, p.active`

func scanProduct(row interface{ Scan(...any) error }) (*Product, error) {
	p := &Product{}
	err := row.Scan(&p.ID, &p.TenantID, &p.SKU, &p.Title, &p.Description, &p.Price, &p.Stock, &p.Source,
		&p.ProviderItemID, &p.ProviderSKUID, &p.CostFen, &p.Active)
	if err != nil {
		return nil, notFound(err)
	}
	return p, nil
}

// CreateProduct adds a product to the tenant's catalogue.
func (s *Store) CreateProduct(ctx context.Context, tenantID int64, p Product) (_ *Product, err error) {
	defer wrapErr(&err, "create product (tenantID=%d)", tenantID)
	v := &ValidationError{}
	if strings.TrimSpace(p.SKU) == "" {
		v.Add("sku", "give the product a SKU")
	}
	if strings.TrimSpace(p.Title) == "" {
		v.Add("title", "give the product a title")
	}
	if p.Price < 0 || p.Stock < 0 {
		v.Add("price", "price and stock cannot be negative")
	}
	if p.WeightG < 0 || p.LengthCm < 0 || p.WidthCm < 0 || p.HeightCm < 0 {
		v.Add("weight_g", "weight and sizes cannot be negative")
	}
	if p.Source == "" {
		p.Source = "taobao"
	}
	if err := v.OrNil(); err != nil {
		return nil, err
	}
	res, err := s.DB.W.ExecContext(ctx, `INSERT INTO products (tenant_id, sku, title, description, price, stock, source,
		provider_item_id, provider_sku_id, cost_fen, active, weight_g, length_cm, width_cm, height_cm, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, nullif(?, ''), nullif(?, ''), ?, 1, ?, ?, ?, ?, ?)`,
		tenantID, p.SKU, p.Title, p.Description, p.Price, p.Stock, p.Source, p.ProviderItemID, p.ProviderSKUID, p.CostFen,
		p.WeightG, p.LengthCm, p.WidthCm, p.HeightCm, s.now())
	if err != nil {
		return nil, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return nil, err
	}
	return s.FindProductByID(ctx, tenantID, id)
}

// FindProductByID returns the tenant's product or ErrNotFound.
func (s *Store) FindProductByID(ctx context.Context, tenantID, id int64) (_ *Product, err error) {
	defer wrapErr(&err, "find product by id (tenantID=%d id=%d)", tenantID, id)
	return scanProduct(s.DB.R.QueryRowContext(ctx, `SELECT `+productColumns+` FROM products p WHERE p.tenant_id = ? AND p.id = ?`, tenantID, id))
}

// FindProducts lists the tenant's active products by title.
func (s *Store) FindProducts(ctx context.Context, tenantID int64) (_ []*Product, err error) {
	defer wrapErr(&err, "find products (tenantID=%d)", tenantID)
	rows, err := s.DB.R.QueryContext(ctx, `SELECT `+productColumns+` FROM products p WHERE p.tenant_id = ? AND p.active = 1 ORDER BY p.title, p.id`, tenantID)
	return collect(rows, err, scanProduct)
}

// shelvesKept is how many shops' shelves are kept.
const shelvesKept = 64

// shelfQuery reads a shop's active products by title, from products_shelf_idx
// (migration 0019).
const shelfQuery = `SELECT p.id, p.tenant_id, p.title, p.description, p.price, p.stock FROM products p
	WHERE p.tenant_id = ? AND p.active = 1 ORDER BY p.title, p.id`

// FindShelf lists the tenant's active products as the storefront shows
// them, by title: their id, title, description, price and stock, the rest of
// each Product zero, none of what the shop pays (cost_fen) or where it buys.
// The shop's front page is read on every visit: the shelf is kept under the
// shop's version (kept.go), which every change to a product moves on.
func (s *Store) FindShelf(ctx context.Context, tenantID int64) ([]*Product, error) {
	kept, err := keptRead(ctx, s, s.shelves, tenantID, struct{}{}, func() ([]*Product, error) { return s.readShelf(ctx, tenantID) })
	if err != nil {
		return nil, err
	}
	return clonePointers(kept), nil
}

func (s *Store) readShelf(ctx context.Context, tenantID int64) (_ []*Product, err error) {
	defer wrapErr(&err, "find shelf (tenantID=%d)", tenantID)
	rows, err := s.DB.R.QueryContext(ctx, shelfQuery, tenantID)
	return collect(rows, err, func(r rowScanner) (*Product, error) {
		p := &Product{Active: true}
		return p, r.Scan(&p.ID, &p.TenantID, &p.Title, &p.Description, &p.Price, &p.Stock)
	})
}

// CreateShippingMethod adds a delivery option.
func (s *Store) CreateShippingMethod(ctx context.Context, tenantID int64, m ShippingMethod) (_ *ShippingMethod, err error) {
	defer wrapErr(&err, "create shipping method (tenantID=%d)", tenantID)
	res, err := s.DB.W.ExecContext(ctx, `INSERT INTO shipping_methods (tenant_id, name, carrier, price, tracking_url, active) VALUES (?, ?, ?, ?, ?, 1)`,
		tenantID, m.Name, m.Carrier, m.Price, m.TrackingURL)
	if err != nil {
		return nil, err
	}
	if m.ID, err = res.LastInsertId(); err != nil {
		return nil, err
	}
	m.TenantID, m.Active = tenantID, true
	return &m, nil
}

const shippingColumns = `id, tenant_id, name, carrier, price, tracking_url, active`

func scanShipping(row interface{ Scan(...any) error }) (*ShippingMethod, error) {
	m := &ShippingMethod{}
	if err := row.Scan(&m.ID, &m.TenantID, &m.Name, &m.Carrier, &m.Price, &m.TrackingURL, &m.Active); err != nil {
		return nil, notFound(err)
	}
	return m, nil
}

// FindShippingMethods lists the tenant's active delivery options by price.
func (s *Store) FindShippingMethods(ctx context.Context, tenantID int64) (_ []*ShippingMethod, err error) {
	defer wrapErr(&err, "find shipping methods (tenantID=%d)", tenantID)
	rows, err := s.DB.R.QueryContext(ctx, `SELECT `+shippingColumns+` FROM shipping_methods WHERE tenant_id = ? AND active = 1 ORDER BY price, id`, tenantID)
	return collect(rows, err, scanShipping)
}

// FindShippingMethodByID returns the tenant's delivery option or ErrNotFound.
func (s *Store) FindShippingMethodByID(ctx context.Context, tenantID, id int64) (_ *ShippingMethod, err error) {
	defer wrapErr(&err, "find shipping method by id (tenantID=%d id=%d)", tenantID, id)
	return scanShipping(s.DB.R.QueryRowContext(ctx, `SELECT `+shippingColumns+` FROM shipping_methods WHERE tenant_id = ? AND id = ?`, tenantID, id))
}

// CreateCoupon adds a promo code.
func (s *Store) CreateCoupon(ctx context.Context, tenantID int64, c Coupon) (_ *Coupon, err error) {
	defer wrapErr(&err, "create coupon (tenantID=%d)", tenantID)
	v := &ValidationError{}
	c.Code = strings.ToUpper(strings.TrimSpace(c.Code))
	if c.Code == "" {
		v.Add("code", "give the code")
	}
	v.MaxLen("code", c.Code, MaxPromoCodeLen)
	if c.Kind != "percent" && c.Kind != "fixed" {
		v.Add("kind", "choose percent or fixed")
	}
	if c.Value <= 0 || (c.Kind == "percent" && c.Value > 100) {
		v.Add("value", "give a positive value (at most 100 for a percentage)")
	}
	if err := v.OrNil(); err != nil {
		return nil, err
	}
	res, err := s.DB.W.ExecContext(ctx, `INSERT INTO coupons (tenant_id, code, kind, value, min_subtotal, starts_at, ends_at,
		max_uses, max_uses_per_customer, active) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
		tenantID, c.Code, c.Kind, c.Value, c.MinSubtotal, c.StartsAt, c.EndsAt, c.MaxUses, c.MaxUsesPerCustomer)
	if err != nil {
		return nil, err
	}
	if c.ID, err = res.LastInsertId(); err != nil {
		return nil, err
	}
	c.TenantID, c.Active = tenantID, true
	return &c, nil
}

// queryer is what both a read pool and a write transaction can do.
type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}
