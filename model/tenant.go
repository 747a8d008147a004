package model

import (
	"context"
	"regexp"
	"strings"
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
func (s *Store) CreateTenant(ctx context.Context, n NewTenant) (*Tenant, error) {
	if err := n.validate(); err != nil {
		return nil, err
	}
	now := s.now()
	res, err := s.DB.W.ExecContext(ctx, `INSERT INTO tenants (slug, name, language, currency, timezone, created_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (slug) DO NOTHING`,
		n.Slug, n.Name, n.Language, n.Currency, n.Timezone, now)
	if err != nil {
		return nil, err
	}
	if rows, _ := res.RowsAffected(); rows == 0 {
		return nil, &ValidationError{Fields: map[string]string{"slug": "a shop with this name already exists"}}
	}
	id, _ := res.LastInsertId()
	return &Tenant{ID: id, Slug: n.Slug, Name: n.Name, Language: n.Language, Currency: n.Currency, Timezone: n.Timezone, CreatedAt: now}, nil
}

// FindTenantBySlug returns the tenant with this slug or ErrNotFound.
func (s *Store) FindTenantBySlug(ctx context.Context, slug string) (*Tenant, error) {
	t := &Tenant{}
	err := s.DB.R.QueryRowContext(ctx, `SELECT id, slug, name, language, currency, timezone, created_at
		FROM tenants WHERE slug = ?`, strings.ToLower(slug)).
		Scan(&t.ID, &t.Slug, &t.Name, &t.Language, &t.Currency, &t.Timezone, &t.CreatedAt)
	if err != nil {
		return nil, notFound(err)
	}
	return t, nil
}

// Location is the tenant's time zone, for showing times.
func (t *Tenant) Location() *time.Location {
	if loc, err := time.LoadLocation(t.Timezone); err == nil {
		return loc
	}
	return time.UTC
}
