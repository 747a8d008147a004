package model

import (
	"context"
	"database/sql"
	"errors"
	"regexp"
	"strings"
	"time"
)

// Maintenance is what is down right now: the whole installation (`orderdesk
// down`) and the shops their owners closed to customers. The HTTP layer keeps a
// copy in memory and reads it again every couple of seconds, so that a running
// server follows a `down` or `up` from the shell without a query per request.
type Maintenance struct {
	// Instance is set while the whole installation is down.
	Instance *InstanceDown
	// Shops are the shops closed by their owners, by slug.
	Shops map[string]*ShopDown
	// Languages is each shop's language by slug, read only while the
	// installation is down: every shop's page then says so in its language.
	Languages map[string]string
}

// Down reports whether the installation or any shop is down.
func (m *Maintenance) Down() bool { return m != nil && (m.Instance != nil || len(m.Shops) > 0) }

// InstanceDown is the installation's maintenance, as `orderdesk down` set it.
type InstanceDown struct {
	// SecretHash is MaintenanceSecretHash of the bypass secret, or "" when the
	// operator gave none (nobody passes).
	SecretHash string
	// RetrySeconds is what Retry-After tells clients.
	RetrySeconds int
	// Message is the operator's note shown on the page ("back at noon").
	Message string
	Since   time.Time
}

// ShopDown is a shop its owner closed to customers.
type ShopDown struct {
	TenantID int64
	Slug     string
	Language string
	Message  string
	Since    time.Time
	// ByUserID is the owner who closed it; 0 when that user is gone.
	ByUserID int64
}

// DefaultMaintenanceRetry is the Retry-After of a maintenance page, in seconds,
// when the operator names none (and always for a shop's own maintenance).
const DefaultMaintenanceRetry = 60

// maintenanceSecretRe is what a bypass secret may hold: characters a URL path
// carries as they are, so that visiting /{secret} needs no escaping.
var maintenanceSecretRe = regexp.MustCompile(`^[A-Za-z0-9._~-]{8,100}$`)

// MaintenanceSecretHash is how the bypass secret is kept and compared: an HMAC
// under the instance key, never the secret itself.
func (s *Store) MaintenanceSecretHash(secret string) (_ string, err error) {
	defer wrapErr(&err, "maintenance secret hash")
	if s.Keys == nil {
		return "", errors.New("maintenance: the store has no instance key")
	}
	return s.Keys.MAC("maintenance-secret", secret), nil
}

// SetInstanceDown takes the whole installation down for maintenance, or
// changes the secret, retry and message of a maintenance under way. The secret
// may be empty (nobody can pass); bad values are a ValidationError on "secret",
// "retry" or "message".
func (s *Store) SetInstanceDown(ctx context.Context, secret string, retrySeconds int, message string) (err error) {
	defer wrapErr(&err, "set instance down (retrySeconds=%d)", retrySeconds)
	v := &ValidationError{}
	message = strings.TrimSpace(message)
	if secret != "" && !maintenanceSecretRe.MatchString(secret) {
		v.Add("secret", "use 8 to 100 letters, digits, dots, dashes, underscores or tildes, so that /{secret} is a plain address")
	}
	if retrySeconds < 1 || retrySeconds > 86400 {
		v.Add("retry", "give the seconds after which clients should try again, from 1 to 86400")
	}
	v.MaxLen("message", message, MaxMaintenanceMessageLen)
	if err := v.OrNil(); err != nil {
		return err
	}
	hash := ""
	if secret != "" {
		var err error
		if hash, err = s.MaintenanceSecretHash(secret); err != nil {
			return err
		}
	}
	_, err = s.DB.W.ExecContext(ctx, `INSERT INTO instance_maintenance (id, secret_hash, retry_seconds, message, since) VALUES (1, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET secret_hash = excluded.secret_hash, retry_seconds = excluded.retry_seconds, message = excluded.message`,
		hash, retrySeconds, message, s.now())
	return err
}

// SetInstanceUp ends the installation's maintenance; it reports whether it was
// down.
func (s *Store) SetInstanceUp(ctx context.Context) (_ bool, err error) {
	defer wrapErr(&err, "set instance up")
	res, err := s.DB.W.ExecContext(ctx, `DELETE FROM instance_maintenance WHERE id = 1`)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// FindInstanceDown returns the installation's maintenance, or ErrNotFound while
// it is up.
func (s *Store) FindInstanceDown(ctx context.Context) (_ *InstanceDown, err error) {
	defer wrapErr(&err, "find instance down")
	d := &InstanceDown{}
	err = s.DB.R.QueryRowContext(ctx, `SELECT secret_hash, retry_seconds, message, since FROM instance_maintenance WHERE id = 1`).
		Scan(&d.SecretHash, &d.RetrySeconds, &d.Message, &d.Since)
	if err != nil {
		return nil, notFound(err)
	}
	return d, nil
}

// SetShopDown closes the shop to its customers, by the owner userID, with a
// message for them (a ValidationError on "message" when too long). Closing a
// closed shop changes its message.
func (s *Store) SetShopDown(ctx context.Context, tenantID, userID int64, message string) (err error) {
	defer wrapErr(&err, "set shop down (tenantID=%d userID=%d)", tenantID, userID)
	v := &ValidationError{}
	message = strings.TrimSpace(message)
	v.MaxLen("message", message, MaxMaintenanceMessageLen)
	if err := v.OrNil(); err != nil {
		return err
	}
	_, err = s.DB.W.ExecContext(ctx, `INSERT INTO tenant_maintenance (tenant_id, message, since, by_user_id) VALUES (?, ?, ?, ?)
		ON CONFLICT (tenant_id) DO UPDATE SET message = excluded.message, by_user_id = excluded.by_user_id`,
		tenantID, message, s.now(), userID)
	return err
}

// SetShopUp opens the shop to its customers again. It does not touch the
// installation's maintenance: only its operator lifts that (`orderdesk up`).
func (s *Store) SetShopUp(ctx context.Context, tenantID int64) (err error) {
	defer wrapErr(&err, "set shop up (tenantID=%d)", tenantID)
	_, err = s.DB.W.ExecContext(ctx, `DELETE FROM tenant_maintenance WHERE tenant_id = ?`, tenantID)
	return err
}

const shopDownColumns = `m.tenant_id, t.slug, t.language, m.message, m.since, m.by_user_id`

func scanShopDown(row rowScanner) (*ShopDown, error) {
	d := &ShopDown{}
	var by sql.NullInt64
	if err := row.Scan(&d.TenantID, &d.Slug, &d.Language, &d.Message, &d.Since, &by); err != nil {
		return nil, notFound(err)
	}
	d.ByUserID = by.Int64
	return d, nil
}

// FindShopDown returns the shop's own maintenance, or ErrNotFound while it is
// open.
func (s *Store) FindShopDown(ctx context.Context, tenantID int64) (_ *ShopDown, err error) {
	defer wrapErr(&err, "find shop down (tenantID=%d)", tenantID)
	return scanShopDown(s.DB.R.QueryRowContext(ctx, `SELECT `+shopDownColumns+`
		FROM tenant_maintenance m JOIN tenants t ON t.id = m.tenant_id WHERE m.tenant_id = ?`, tenantID))
}

// FindMaintenance reads what is down in the whole installation. It reads
// every shop's row on purpose: it is the HTTP layer's one periodic read
// (every couple of seconds, not per request), which answers any shop's
// requests from memory; nothing of it is shown to another shop.
func (s *Store) FindMaintenance(ctx context.Context) (_ *Maintenance, err error) {
	defer wrapErr(&err, "find maintenance")
	m := &Maintenance{Shops: map[string]*ShopDown{}}
	inst, err := s.FindInstanceDown(ctx)
	switch {
	case err == nil:
		m.Instance = inst
	case !errors.Is(err, ErrNotFound):
		return nil, err
	}
	rows, err := s.DB.R.QueryContext(ctx, `SELECT `+shopDownColumns+` FROM tenant_maintenance m JOIN tenants t ON t.id = m.tenant_id`)
	shops, err := collect(rows, err, scanShopDown)
	if err != nil {
		return nil, err
	}
	for _, d := range shops {
		m.Shops[d.Slug] = d
	}
	if m.Instance != nil {
		tenants, err := s.FindTenants(ctx)
		if err != nil {
			return nil, err
		}
		m.Languages = make(map[string]string, len(tenants))
		for _, t := range tenants {
			m.Languages[t.Slug] = t.Language
		}
	}
	return m, nil
}
