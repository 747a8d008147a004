package model

import (
	"context"
	"errors"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Customer is a shopper with an account in one tenant's storefront.
type Customer struct {
	ID        int64
	TenantID  int64
	Email     string
	FirstName string
	LastName  string
	Phone     string
	CreatedAt time.Time
}

// NewCustomer is what registration needs.
type NewCustomer struct {
	Email, Password, FirstName, LastName, Phone string
}

// RegisterCustomer creates a customer account.
func (s *Store) RegisterCustomer(ctx context.Context, tenantID int64, n NewCustomer) (_ *Customer, err error) {
	defer wrapErr(&err, "register customer (tenantID=%d)", tenantID)
	v := &ValidationError{}
	n.Email = normalizeEmail(v, "email", n.Email)
	checkPassword(v, "password", n.Password)
	n.FirstName, n.LastName, n.Phone = strings.TrimSpace(n.FirstName), strings.TrimSpace(n.LastName), strings.TrimSpace(n.Phone)
	v.MaxLen("first_name", n.FirstName, MaxNameLen)
	v.MaxLen("last_name", n.LastName, MaxNameLen)
	v.MaxLen("phone", n.Phone, MaxPhoneLen)
	if err := v.OrNil(); err != nil {
		return nil, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(n.Password), PasswordCost)
	if err != nil {
		return nil, err
	}
	now := s.now()
	res, err := s.DB.W.ExecContext(ctx, `INSERT INTO customers (tenant_id, email, first_name, last_name, phone, password_hash, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, email) DO NOTHING`,
		tenantID, n.Email, n.FirstName, n.LastName, n.Phone, string(hash), now)
	if err != nil {
		return nil, err
	}
	rows, err := res.RowsAffected()
	if err != nil {
		return nil, err
	}
	if rows == 0 {
		return nil, &ValidationError{Fields: map[string]string{"email": "an account with this e-mail already exists; sign in instead"}}
	}
	id, err := res.LastInsertId()
	if err != nil {
		return nil, err
	}
	return s.FindCustomerByID(ctx, tenantID, id)
}

const customerColumns = `id, tenant_id, email, first_name, last_name, phone, created_at`

// FindCustomerByID returns the tenant's customer or ErrNotFound.
func (s *Store) FindCustomerByID(ctx context.Context, tenantID, id int64) (_ *Customer, err error) {
	defer wrapErr(&err, "find customer by id (tenantID=%d id=%d)", tenantID, id)
	c := &Customer{}
	err = s.DB.R.QueryRowContext(ctx, `SELECT `+customerColumns+` FROM customers WHERE tenant_id = ? AND id = ?`, tenantID, id).
		Scan(&c.ID, &c.TenantID, &c.Email, &c.FirstName, &c.LastName, &c.Phone, &c.CreatedAt)
	if err != nil {
		return nil, notFound(err)
	}
	return c, nil
}

// AuthenticateCustomer checks a customer sign-in, with the same throttle as staff
// but counted in the customer realm.
func (s *Store) AuthenticateCustomer(ctx context.Context, tenantID int64, email, password, ip string) (_ *Customer, err error) {
	defer wrapErr(&err, "authenticate customer (tenantID=%d)", tenantID)
	email = strings.ToLower(strings.TrimSpace(email))
	if err := s.beginSignIn(ctx, tenantID, RealmCustomer, email, ip); err != nil {
		return nil, err
	}
	var id int64
	var hash string
	err = s.DB.R.QueryRowContext(ctx, `SELECT id, password_hash FROM customers WHERE tenant_id = ? AND email = ?`, tenantID, email).Scan(&id, &hash)
	if err = notFound(err); err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	if err := s.finishSignIn(ctx, tenantID, RealmCustomer, email, hash, password, id != 0); err != nil {
		return nil, err
	}
	return s.FindCustomerByID(ctx, tenantID, id)
}

// BonusBalance is the customer's bonus points (minor units) from the ledger.
func (s *Store) BonusBalance(ctx context.Context, tenantID, customerID int64) (_ int64, err error) {
	defer wrapErr(&err, "bonus balance (tenantID=%d customerID=%d)", tenantID, customerID)
	return bonusBalance(ctx, s.DB.R, tenantID, customerID)
}

func bonusBalance(ctx context.Context, q queryer, tenantID, customerID int64) (int64, error) {
	var n int64
	err := q.QueryRowContext(ctx, `SELECT coalesce(sum(delta), 0) FROM bonus_ledger WHERE tenant_id = ? AND customer_id = ?`, tenantID, customerID).Scan(&n)
	return n, err
}

// AdjustBonus adds (or takes away) bonus points by hand, e.g. a goodwill credit.
func (s *Store) AdjustBonus(ctx context.Context, tenantID, customerID, delta int64) (err error) {
	defer wrapErr(&err, "adjust bonus (tenantID=%d customerID=%d delta=%d)", tenantID, customerID, delta)
	_, err = s.DB.W.ExecContext(ctx, `INSERT INTO bonus_ledger (tenant_id, customer_id, delta, reason, created_at) VALUES (?, ?, ?, 'adjusted', ?)`,
		tenantID, customerID, delta, s.now())
	return err
}
