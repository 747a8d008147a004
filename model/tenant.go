package model

import (
	"context"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// Tenant is one shop.
type Tenant struct {
	ID        int64
	Slug      string
	Name      string
	Language  string
	Currency  string
	Timezone  string
	CreatedAt time.Time
	OrderSettings
}

// OrderSettings are the tenant's rules of the order flow.
type OrderSettings struct {
	// OrderIncrementStart is the first human order number (fecshop's increment_id).
	OrderIncrementStart int64
	// UnpaidExpiryMinutes: pending unpaid orders older than this are cancelled.
	UnpaidExpiryMinutes int
	// UnpaidExpiryBatch: at most this many are cancelled per run.
	UnpaidExpiryBatch int
	// ZeroStock: the shop buys to order and does not reserve stock.
	ZeroStock bool
	// RequiredAddressFields are the checkout fields that must be filled.
	RequiredAddressFields []string
	// BonusEarnPercent of a completed order's total is credited as bonus points.
	BonusEarnPercent int
	// BonusMaxSharePercent of an order's total may be paid with bonus points.
	BonusMaxSharePercent int
	// RefundOverpayments: money beyond an order's total (two payments both
	// completed) is refunded automatically; when false it waits in the review
	// queue for a person.
	RefundOverpayments bool
	// CNYRateMicro is the supplier currency's rate: millionths of a minor unit
	// of the tenant's currency per fen (12.5 RUB per CNY = 12_500_000).
	CNYRateMicro int64
	// NotifyPurchased: the customer is told when the order is bought at the
	// supplier (the msg_purchased message).
	NotifyPurchased bool
}

var slugRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,38}[a-z0-9]$`)

// reservedSlugs cannot be tenants: they are names of the host itself.
var reservedSlugs = map[string]bool{"www": true, "api": true, "admin": true, "static": true, "sandbox": true}

// NewTenant holds what is needed to create a tenant.
type NewTenant struct {
	Slug, Name, Language, Currency, Timezone string
}

func (n *NewTenant) validate() error {
	v := &ValidationError{}
	n.Slug = strings.ToLower(strings.TrimSpace(n.Slug))
	n.Name = strings.TrimSpace(n.Name)
	if !slugRe.MatchString(n.Slug) {
		v.Add("slug", "use 2 to 40 lower-case letters, digits or dashes, starting and ending with a letter or digit")
	} else if reservedSlugs[n.Slug] {
		v.Add("slug", "this name is reserved")
	}
	if n.Name == "" {
		v.Add("name", "give the shop a name")
	}
	if n.Language == "" {
		n.Language = "en"
	}
	if n.Currency == "" {
		n.Currency = "USD"
	}
	if n.Timezone == "" {
		n.Timezone = "UTC"
	}
	if _, err := time.LoadLocation(n.Timezone); err != nil {
		v.Add("timezone", "unknown time zone")
	}
	return v.OrNil()
}

// CreateTenant creates a tenant; a taken slug is a validation error on "slug".
func (s *Store) CreateTenant(ctx context.Context, n NewTenant) (_ *Tenant, err error) {
	defer wrapErr(&err, "create tenant")
	if err := n.validate(); err != nil {
		return nil, err
	}
	res, err := s.DB.W.ExecContext(ctx, `INSERT INTO tenants (slug, name, language, currency, timezone, created_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (slug) DO NOTHING`,
		n.Slug, n.Name, n.Language, n.Currency, n.Timezone, s.now())
	s.TenantsChanged()
	if err != nil {
		return nil, err
	}
	rows, err := res.RowsAffected()
	if err != nil {
		return nil, err
	}
	if rows == 0 {
		return nil, &ValidationError{Fields: map[string]string{"slug": "a shop with this name already exists"}}
	}
	return s.FindTenantBySlug(ctx, n.Slug)
}

// FindTenantBySlug returns the tenant with this slug or ErrNotFound.
// It is served from memory once read (tenant_cache.go).
func (s *Store) FindTenantBySlug(ctx context.Context, slug string) (_ *Tenant, err error) {
	defer wrapErr(&err, "find tenant by slug")
	slug = strings.ToLower(slug)
	if slug == "" {
		return nil, ErrNotFound
	}
	t, gen, ok := s.tenants.get(slug, 0)
	if ok {
		return t, nil
	}
	t, err = scanTenant(s.DB.R.QueryRowContext(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE slug = ?`, slug))
	if err == nil {
		s.tenants.put(t, gen)
	}
	return t, err
}

// FindTenants lists every tenant, for jobs that work across tenants.
func (s *Store) FindTenants(ctx context.Context) (_ []*Tenant, err error) {
	defer wrapErr(&err, "find tenants")
	rows, err := s.DB.R.QueryContext(ctx, `SELECT `+tenantColumns+` FROM tenants ORDER BY id`)
	return collect(rows, err, scanTenant)
}

const tenantColumns = `id, slug, name, language, currency, timezone, created_at, order_increment_start,
	unpaid_expiry_minutes, unpaid_expiry_batch, zero_stock, required_address_fields, bonus_earn_percent, bonus_max_share_percent, cny_rate_micro, refund_overpayments, notify_purchased`

func scanTenant(row interface{ Scan(...any) error }) (*Tenant, error) {
	t := &Tenant{}
	var fields string
	err := row.Scan(&t.ID, &t.Slug, &t.Name, &t.Language, &t.Currency, &t.Timezone, &t.CreatedAt, &t.OrderIncrementStart,
		&t.UnpaidExpiryMinutes, &t.UnpaidExpiryBatch, &t.ZeroStock, &fields, &t.BonusEarnPercent, &t.BonusMaxSharePercent, &t.CNYRateMicro, &t.RefundOverpayments, &t.NotifyPurchased)
	if err != nil {
		return nil, notFound(err)
	}
	t.RequiredAddressFields = splitList(fields)
	return t, nil
}

// AddressFields are the checkout fields a tenant may require, in form order.
var AddressFields = []string{"first_name", "last_name", "email", "telephone", "street1", "street2", "country", "city", "state", "zip"}

// UpdateOrderSettings saves the tenant's order settings.
func (s *Store) UpdateOrderSettings(ctx context.Context, tenantID int64, o OrderSettings) (err error) {
	defer wrapErr(&err, "update order settings (tenantID=%d)", tenantID)
	v := &ValidationError{}
	if o.UnpaidExpiryMinutes < 1 {
		v.Add("unpaid_expiry_minutes", "give at least 1 minute")
	}
	if o.UnpaidExpiryBatch < 1 || o.UnpaidExpiryBatch > 10000 {
		v.Add("unpaid_expiry_batch", "give a number from 1 to 10000")
	}
	if o.BonusEarnPercent < 0 || o.BonusEarnPercent > 100 {
		v.Add("bonus_earn_percent", "give a percentage from 0 to 100")
	}
	if o.BonusMaxSharePercent < 0 || o.BonusMaxSharePercent > 100 {
		v.Add("bonus_max_share_percent", "give a percentage from 0 to 100")
	}
	if o.OrderIncrementStart < 1 || o.OrderIncrementStart > 9_000_000_000_000 {
		v.Add("order_increment_start", "give a positive number")
	}
	if o.CNYRateMicro <= 0 {
		v.Add("cny_rate", "give the price of 1 CNY in the shop's currency, e.g. 12.50")
	}
	for _, f := range o.RequiredAddressFields {
		if !slices.Contains(AddressFields, f) {
			v.Add("required_address_fields", "unknown field "+f)
		}
	}
	if err := v.OrNil(); err != nil {
		return err
	}
	// The increment start matters only for the numbers not given yet: a new
	// start below the next number would reuse numbers, so the next stays.
	_, err = s.DB.W.ExecContext(ctx, `UPDATE tenants SET unpaid_expiry_minutes = ?, unpaid_expiry_batch = ?, zero_stock = ?,
		required_address_fields = ?, bonus_earn_percent = ?, bonus_max_share_percent = ?, order_increment_start = ?,
		order_increment_next = max(coalesce(order_increment_next, 0), ?), cny_rate_micro = ?, refund_overpayments = ?, notify_purchased = ? WHERE id = ?`,
		o.UnpaidExpiryMinutes, o.UnpaidExpiryBatch, o.ZeroStock, strings.Join(o.RequiredAddressFields, ","),
		o.BonusEarnPercent, o.BonusMaxSharePercent, o.OrderIncrementStart, o.OrderIncrementStart, o.CNYRateMicro, o.RefundOverpayments, o.NotifyPurchased, tenantID)
	s.TenantsChanged()
	return err
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// Location is the tenant's time zone, for showing times.
func (t *Tenant) Location() *time.Location {
	if loc, ok := locations.Load(t.Timezone); ok {
		return loc.(*time.Location)
	}
	// time.LoadLocation reads the zone's file on every call: pages ask for
	// it per request, so each zone is read once.
	loc, err := time.LoadLocation(t.Timezone)
	if err != nil {
		return time.UTC
	}
	locations.Store(t.Timezone, loc)
	return loc
}

// locations are the time zones read so far, by name.
var locations sync.Map

// FindTenantByID returns the tenant with this id or ErrNotFound.
// It is served from memory once read (tenant_cache.go).
func (s *Store) FindTenantByID(ctx context.Context, id int64) (_ *Tenant, err error) {
	defer wrapErr(&err, "find tenant by id (id=%d)", id)
	t, gen, ok := s.tenants.get("", id)
	if ok {
		return t, nil
	}
	t, err = scanTenant(s.DB.R.QueryRowContext(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE id = ?`, id))
	if err == nil {
		s.tenants.put(t, gen)
	}
	return t, err
}

// ShopURL is a shop's public address: the scheme, host and port of the
// instance's base URL, with the shop's slug as a subdomain
// (http://demo-tr.localhost:8080), or the bare base address for the shop served
// on the bare host. Addresses handed to providers and put in messages come from
// here, never from a request's Host header.
func ShopURL(baseURL string, t *Tenant, bareHostSlug string) string {
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" {
		return strings.TrimSuffix(baseURL, "/")
	}
	host := u.Host
	if t.Slug != bareHostSlug {
		host = t.Slug + "." + host
	}
	return u.Scheme + "://" + host
}
