package model

import (
	"context"
	"database/sql"
	"errors"
	"net/mail"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"orderdesk/views/locales"
)

// MinPasswordLength is the shortest password accepted.
const MinPasswordLength = 8

// PasswordCost is the bcrypt cost of new password hashes. Tests lower it: the
// race detector makes the default cost take most of a second per sign-in.
var PasswordCost = bcrypt.DefaultCost

// NewUser holds what is needed to create a staff user.
type NewUser struct {
	Email, Name, Password string
	Role                  Role
}

// normalizeEmail trims and lower-cases an address, and checks its length and
// shape.
func normalizeEmail(v *ValidationError, field, email string) string {
	email = strings.ToLower(strings.TrimSpace(email))
	if email == "" {
		v.Add(field, "enter an e-mail address")
	} else if !v.MaxLen(field, email, MaxEmailLen) {
		return email
	} else if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
		v.Add(field, "this is not an e-mail address")
	}
	return email
}

// CreateUser adds a staff user to the tenant.
func (s *Store) CreateUser(ctx context.Context, tenantID int64, n NewUser) (_ *User, err error) {
	defer wrapErr(&err, "create user (tenantID=%d)", tenantID)
	v := &ValidationError{}
	n.Email = normalizeEmail(v, "email", n.Email)
	n.Name = strings.TrimSpace(n.Name)
	v.MaxLen("name", n.Name, MaxNameLen)
	if !n.Role.Valid() {
		v.Add("role", "choose a role")
	}
	checkPassword(v, "password", n.Password)
	if err := v.OrNil(); err != nil {
		return nil, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(n.Password), PasswordCost)
	if err != nil {
		return nil, err
	}
	now := s.now()
	res, err := s.DB.W.ExecContext(ctx, `INSERT INTO users (tenant_id, email, name, password_hash, role, active, created_at)
		VALUES (?, ?, ?, ?, ?, 1, ?) ON CONFLICT (tenant_id, email) DO NOTHING`,
		tenantID, n.Email, n.Name, string(hash), string(n.Role), now)
	if err != nil {
		return nil, err
	}
	rows, err := res.RowsAffected()
	if err != nil {
		return nil, err
	}
	if rows == 0 {
		return nil, &ValidationError{Fields: map[string]string{"email": "a user with this e-mail already exists"}}
	}
	id, err := res.LastInsertId()
	if err != nil {
		return nil, err
	}
	return &User{ID: id, TenantID: tenantID, Email: n.Email, Name: n.Name, Role: n.Role, Active: true, CreatedAt: now}, nil
}

const userColumns = `id, tenant_id, email, name, role, active, created_at, session_version, language`

func scanUser(row interface{ Scan(...any) error }) (*User, error) {
	u := &User{}
	var role string
	if err := row.Scan(&u.ID, &u.TenantID, &u.Email, &u.Name, &role, &u.Active, &u.CreatedAt, &u.SessionVersion, &u.Language); err != nil {
		return nil, notFound(err)
	}
	u.Role = Role(role)
	return u, nil
}

// usersKept is how many users are kept: the staff of a few hundred shops.
const usersKept = 4096

// FindUserByID returns the tenant's user with this id, or ErrNotFound.
//
// Every signed-in request reads its user (is it still active, has its session
// been revoked?): kept under the shop's version (kept.go), which every change
// to users moves (migration 0021), so a deactivation ends the user's
// sessions at once, whoever makes it.
func (s *Store) FindUserByID(ctx context.Context, tenantID, id int64) (*User, error) {
	u, err := keptRead(ctx, s, s.users, tenantID, id, func() (*User, error) { return s.readUserByID(ctx, tenantID, id) })
	if err != nil {
		return nil, err
	}
	cp := *u
	return &cp, nil
}

func (s *Store) readUserByID(ctx context.Context, tenantID, id int64) (_ *User, err error) {
	defer wrapErr(&err, "find user by id (tenantID=%d id=%d)", tenantID, id)
	return scanUser(s.DB.R.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE tenant_id = ? AND id = ?`, tenantID, id))
}

// FindUsers lists the tenant's users, active first, then by e-mail.
func (s *Store) FindUsers(ctx context.Context, tenantID int64) (_ []*User, err error) {
	defer wrapErr(&err, "find users (tenantID=%d)", tenantID)
	rows, err := s.DB.R.QueryContext(ctx, `SELECT `+userColumns+` FROM users WHERE tenant_id = ? ORDER BY active DESC, email`, tenantID)
	return collect(rows, err, scanUser)
}

// UpdateUser changes a user's role and active flag on behalf of actor. The rules:
// only managers change users, only owners touch owners, nobody demotes or
// deactivates themselves, and a tenant always keeps one active owner.
func (s *Store) UpdateUser(ctx context.Context, tenantID int64, actor *User, id int64, role Role, active bool) (_ *User, err error) {
	defer wrapErr(&err, "update user (tenantID=%d id=%d)", tenantID, id)
	if !actor.Role.CanManageUsers() {
		return nil, ErrForbidden
	}
	if !role.Valid() {
		return nil, &ValidationError{Fields: map[string]string{"role": "choose a role"}}
	}
	var out *User
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		u, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE tenant_id = ? AND id = ?`, tenantID, id))
		if err != nil {
			return err
		}
		if !actor.Role.CanGrant(u.Role) || !actor.Role.CanGrant(role) {
			return &ConflictError{Msg: "only an owner can make or change an owner"}
		}
		if u.ID == actor.ID && (role != u.Role || !active) {
			return &ConflictError{Msg: "you cannot change your own role or deactivate yourself"}
		}
		if u.Role == RoleOwner && u.Active && (role != RoleOwner || !active) {
			var owners int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE tenant_id = ? AND role = 'owner' AND active = 1`, tenantID).Scan(&owners); err != nil {
				return err
			}
			if owners <= 1 {
				return &ConflictError{Msg: "the shop must keep at least one active owner"}
			}
		}
		// Deactivation ends the user's sessions for good: they carry the old
		// session version, which reactivation does not bring back. Their API
		// tokens are revoked for the same reason.
		version := u.SessionVersion
		if u.Active && !active {
			version++
			if _, err := tx.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE tenant_id = ? AND user_id = ? AND revoked_at IS NULL`,
				s.now(), tenantID, id); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET role = ?, active = ?, session_version = ? WHERE tenant_id = ? AND id = ?`,
			string(role), active, version, tenantID, id); err != nil {
			return err
		}
		u.Role, u.Active, u.SessionVersion = role, active, version
		out = u
		return nil
	})
	return out, err
}

// The sign-in throttle: after throttleFree failures within throttleWindow for one
// account (or throttleFreeIP for one address), each further attempt must wait
// throttleBase, doubling with every failure, up to throttleMax. Staff and
// customers are counted apart (their realm), each within their shop.
const (
	throttleWindow = 15 * time.Minute
	throttleFree   = 5
	throttleFreeIP = 20
	throttleBase   = 30 * time.Second
	throttleMax    = 15 * time.Minute
)

// Realm is who signs in: shop staff or storefront customers. The same e-mail may
// be a staff account and a customer account; their sign-in failures never mix.
type Realm string

// The sign-in realms.
const (
	RealmStaff    Realm = "staff"
	RealmCustomer Realm = "customer"
)

// dummyHash is compared against when the e-mail is unknown, so that an unknown
// account takes as long to refuse as a wrong password.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("not a password"), PasswordCost)
	return h
})

// Authenticate checks a staff sign-in. It returns the user, ErrInvalidCredentials,
// or a *ThrottledError when the account or the address has failed too often.
func (s *Store) Authenticate(ctx context.Context, tenantID int64, email, password, ip string) (_ *User, err error) {
	defer wrapErr(&err, "authenticate (tenantID=%d)", tenantID)
	email = strings.ToLower(strings.TrimSpace(email))
	if err := s.beginSignIn(ctx, tenantID, RealmStaff, email, ip); err != nil {
		return nil, err
	}
	var hash string
	u, err := scanUserWithHash(s.DB.R.QueryRowContext(ctx, `SELECT `+userColumns+`, password_hash FROM users WHERE tenant_id = ? AND email = ?`, tenantID, email), &hash)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	if err := s.finishSignIn(ctx, tenantID, RealmStaff, email, hash, password, u != nil && u.Active); err != nil {
		return nil, err
	}
	return u, nil
}

func scanUserWithHash(row *sql.Row, hash *string) (*User, error) {
	u := &User{}
	var role string
	if err := row.Scan(&u.ID, &u.TenantID, &u.Email, &u.Name, &role, &u.Active, &u.CreatedAt, &u.SessionVersion, &u.Language, hash); err != nil {
		return nil, notFound(err)
	}
	u.Role = Role(role)
	return u, nil
}

// beginSignIn counts a sign-in attempt before its password is checked: in one
// write transaction (the single writer runs them one at a time) it refuses the
// attempt when the account or the address is throttled, else records it as a
// failure that finishSignIn clears on success. So N concurrent wrong passwords
// reach bcrypt at most throttleFree times, whatever N is.
func (s *Store) beginSignIn(ctx context.Context, tenantID int64, realm Realm, email, ip string) error {
	now := s.now()
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		wait, err := throttleWait(ctx, tx, tenantID, realm, email, ip, now)
		if err != nil {
			return err
		}
		if wait > 0 {
			return &ThrottledError{RetryAfterSeconds: int((wait + time.Second - 1) / time.Second)}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO login_failures (tenant_id, realm, email, ip, at) VALUES (?, ?, ?, ?, ?)`,
			tenantID, string(realm), email, ip, now)
		return err
	})
}

// finishSignIn compares password with hash (a dummy hash when there is no account,
// so that an unknown e-mail takes as long to refuse). A wrong password, or an
// account that may not sign in (usable false), leaves the attempt recorded by
// beginSignIn as a failure and returns ErrInvalidCredentials; a right one clears
// the account's failures in its realm.
func (s *Store) finishSignIn(ctx context.Context, tenantID int64, realm Realm, email, hash, password string, usable bool) error {
	if hash == "" {
		hash = string(dummyHash())
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil || !usable {
		return ErrInvalidCredentials
	}
	_, err := s.DB.W.ExecContext(ctx, `DELETE FROM login_failures WHERE tenant_id = ? AND realm = ? AND email = ?`, tenantID, string(realm), email)
	return err
}

// throttleWait returns how long the next attempt for this account or address must
// wait, zero when it may go ahead.
func throttleWait(ctx context.Context, q queryer, tenantID int64, realm Realm, email, ip string, now time.Time) (time.Duration, error) {
	since := now.Add(-throttleWindow)
	wait := time.Duration(0)
	for _, k := range []struct {
		col, val string
		free     int
	}{{"email", email, throttleFree}, {"ip", ip, throttleFreeIP}} {
		var n int
		var last sql.NullString
		// col comes from the literal list above, never from input.
		err := q.QueryRowContext(ctx, `SELECT count(*), max(at) FROM login_failures WHERE tenant_id = ? AND realm = ? AND `+k.col+` = ? AND at > ?`,
			tenantID, string(realm), k.val, since).Scan(&n, &last)
		if err != nil {
			return 0, err
		}
		if n < k.free || !last.Valid {
			continue
		}
		lastAt, err := parseTime(last.String)
		if err != nil {
			return 0, err
		}
		d := throttleBase << min(n-k.free, 10)
		d = min(d, throttleMax)
		if w := lastAt.Add(d).Sub(now); w > wait {
			wait = w
		}
	}
	return wait, nil
}

// SetUserLanguage records the back office's language of a user of the
// tenant, chosen by that user: one of locales.Languages, or "" for the
// shop's own.
func (s *Store) SetUserLanguage(ctx context.Context, tenantID, userID int64, lang string) (err error) {
	defer wrapErr(&err, "set user language (tenantID=%d userID=%d)", tenantID, userID)
	if lang != "" && !locales.Supported(lang) {
		return &ValidationError{Fields: map[string]string{"language": "choose one of the languages in the list"}}
	}
	res, err := s.DB.W.ExecContext(ctx, `UPDATE users SET language = ? WHERE tenant_id = ? AND id = ?`, lang, tenantID, userID)
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
