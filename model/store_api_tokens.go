package model

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"
	"unicode/utf8"
)

// APITokenPrefix starts every personal API token, so that a leaked one is easy to
// recognise (and to search for in logs and repositories).
const APITokenPrefix = "odt_"

// MaxAPITokenName is the longest token name accepted, in characters.
const MaxAPITokenName = 100

// apiTokenTouchEvery is how stale last_used_at may get: a busy script must not
// turn every API call into a write.
const apiTokenTouchEvery = time.Minute

// APIToken is a staff user's personal API token as its owner sees it: never the
// token itself, which is shown once at creation and stored only as a hash.
type APIToken struct {
	ID         int64
	TenantID   int64
	UserID     int64
	Name       string
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// HashToken is how secret tokens (API tokens, session tokens) are stored: their
// SHA-256 in hex. The tokens are 32 random bytes, so a fast hash is enough; a
// copy of the database does not hold a usable token.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// CreateAPIToken gives user a new named API token of their shop. It returns the
// token, to be shown once, and its record.
func (s *Store) CreateAPIToken(ctx context.Context, tenantID int64, user *User, name string) (_ string, _ *APIToken, err error) {
	defer wrapErr(&err, "create a p i token (tenantID=%d)", tenantID)
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", nil, &ValidationError{Fields: map[string]string{"name": "give the token a name, e.g. the script that will use it"}}
	case utf8.RuneCountInString(name) > MaxAPITokenName:
		return "", nil, &ValidationError{Fields: map[string]string{"name": "use at most 100 characters"}}
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, err
	}
	token := APITokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	now := s.now()
	res, err := s.DB.W.ExecContext(ctx, `INSERT INTO api_tokens (tenant_id, user_id, name, token_hash, created_at) VALUES (?, ?, ?, ?, ?)`,
		tenantID, user.ID, name, HashToken(token), now)
	if err != nil {
		return "", nil, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return "", nil, err
	}
	return token, &APIToken{ID: id, TenantID: tenantID, UserID: user.ID, Name: name, CreatedAt: now}, nil
}

// FindAPITokens lists a user's tokens, newest first.
func (s *Store) FindAPITokens(ctx context.Context, tenantID, userID int64) (_ []*APIToken, err error) {
	defer wrapErr(&err, "find a p i tokens (tenantID=%d userID=%d)", tenantID, userID)
	rows, err := s.DB.R.QueryContext(ctx, `SELECT id, tenant_id, user_id, name, created_at, last_used_at, revoked_at
		FROM api_tokens WHERE tenant_id = ? AND user_id = ? ORDER BY created_at DESC, id DESC`, tenantID, userID)
	return collect(rows, err, func(r rowScanner) (*APIToken, error) {
		t := &APIToken{}
		var used, revoked sql.NullTime
		if err := r.Scan(&t.ID, &t.TenantID, &t.UserID, &t.Name, &t.CreatedAt, &used, &revoked); err != nil {
			return nil, err
		}
		if used.Valid {
			t.LastUsedAt = &used.Time
		}
		if revoked.Valid {
			t.RevokedAt = &revoked.Time
		}
		return t, nil
	})
}

// RevokeAPIToken ends one of the user's tokens; another user's token, or an
// unknown one, is ErrNotFound. Revoking twice is harmless.
func (s *Store) RevokeAPIToken(ctx context.Context, tenantID, userID, id int64) (err error) {
	defer wrapErr(&err, "revoke a p i token (tenantID=%d userID=%d id=%d)", tenantID, userID, id)
	res, err := s.DB.W.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = coalesce(revoked_at, ?) WHERE tenant_id = ? AND user_id = ? AND id = ?`,
		s.now(), tenantID, userID, id)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// UserByAPIToken returns the active staff user of the shop whose token this is,
// and notes the token's use (at most once a minute). A token of another shop, a
// revoked one, one of a deactivated user, or no token at all is ErrNotFound.
func (s *Store) UserByAPIToken(ctx context.Context, tenantID int64, token string) (_ *User, err error) {
	defer wrapErr(&err, "user by a p i token (tenantID=%d)", tenantID)
	if !strings.HasPrefix(token, APITokenPrefix) {
		return nil, ErrNotFound
	}
	var tokenID int64
	var used sql.NullTime
	u := &User{}
	var role string
	err = s.DB.R.QueryRowContext(ctx, `SELECT t.id, t.last_used_at, u.id, u.tenant_id, u.email, u.name, u.role, u.active, u.created_at, u.session_version
		FROM api_tokens t JOIN users u ON u.id = t.user_id AND u.tenant_id = t.tenant_id
		WHERE t.tenant_id = ? AND t.token_hash = ? AND t.revoked_at IS NULL AND u.active = 1`, tenantID, HashToken(token)).
		Scan(&tokenID, &used, &u.ID, &u.TenantID, &u.Email, &u.Name, &role, &u.Active, &u.CreatedAt, &u.SessionVersion)
	if err != nil {
		return nil, notFound(err)
	}
	u.Role = Role(role)
	now := s.now()
	if !used.Valid || now.Sub(used.Time) >= apiTokenTouchEvery {
		// The condition is repeated in SQL so that concurrent calls write once.
		if _, err := s.DB.W.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?)`,
			now, tokenID, now.Add(-apiTokenTouchEvery)); err != nil {
			return nil, err
		}
	}
	return u, nil
}
