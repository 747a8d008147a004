package model

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
)

// CheckPromoCode refuses a promo code no coupon could have (too long), naming
// the field coupon_code. Checked before the code goes into the shopping cookie.
func CheckPromoCode(code string) error {
	v := &ValidationError{}
	checkPromoCode(v, code)
	return v.OrNil()
}

func checkPromoCode(v *ValidationError, code string) {
	v.MaxLen("coupon_code", strings.TrimSpace(code), MaxPromoCodeLen)
}

// couponEmail is the form of an e-mail address that per-customer coupon limits
// compare: trimmed, lower-case, and without a "+tag" in the local part. Most
// mail services (Gmail, Outlook, iCloud, Yandex, Fastmail) deliver
// name+anything@ to name@, so without this one mailbox could pass for any
// number of customers. Dots are kept: only Gmail ignores them, and elsewhere
// a.b@ and ab@ are different people.
func couponEmail(email string) string {
	email = strings.ToLower(strings.TrimSpace(email))
	local, domain, ok := strings.Cut(email, "@")
	if !ok {
		return email
	}
	if i := strings.IndexByte(local, '+'); i >= 0 {
		local = local[:i]
	}
	return local + "@" + domain
}

const couponColumns = `id, tenant_id, code, kind, value, min_subtotal, starts_at, ends_at, max_uses, max_uses_per_customer, active`

func scanCoupon(row interface{ Scan(...any) error }) (*Coupon, error) {
	c := &Coupon{}
	var maxUses, maxPer sql.NullInt64
	if err := row.Scan(&c.ID, &c.TenantID, &c.Code, &c.Kind, &c.Value, &c.MinSubtotal, &c.StartsAt, &c.EndsAt, &maxUses, &maxPer, &c.Active); err != nil {
		return nil, err
	}
	if maxUses.Valid {
		n := int(maxUses.Int64)
		c.MaxUses = &n
	}
	if maxPer.Valid {
		n := int(maxPer.Int64)
		c.MaxUsesPerCustomer = &n
	}
	return c, nil
}

// findCouponByCode reads the tenant's coupon with this code; an unknown code
// is a *CouponRefusal that says so.
func findCouponByCode(ctx context.Context, q queryer, tenantID int64, code string) (*Coupon, error) {
	code = strings.TrimSpace(code)
	c, err := scanCoupon(q.QueryRowContext(ctx, `SELECT `+couponColumns+` FROM coupons WHERE tenant_id = ? AND code = ?`, tenantID, code))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &CouponRefusal{Why: "no_such", Code: strings.ToUpper(code)}
	}
	return c, err
}

// accountEmail is the e-mail of the tenant's customer account, "" for none.
func accountEmail(ctx context.Context, q queryer, tenantID, customerID int64) (string, error) {
	if customerID == 0 {
		return "", nil
	}
	var email string
	err := q.QueryRowContext(ctx, `SELECT email FROM customers WHERE tenant_id = ? AND id = ?`, tenantID, customerID).Scan(&email)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return email, err
}

// couponUsage counts a coupon's uses: in all, and by one customer. A signed-in
// customer (customerID) is known by their account, by the account's e-mail and
// by the e-mail given with the order, so that neither typing another address
// nor ordering as a guest under the account's address starts afresh; a guest is
// known by the e-mail given alone. Addresses compare as couponEmail makes them.
func couponUsage(ctx context.Context, q queryer, tenantID, couponID, customerID int64, email string) (CouponUsage, error) {
	var u CouponUsage
	account, err := accountEmail(ctx, q, tenantID, customerID)
	if err != nil {
		return u, err
	}
	given := couponEmail(email)
	u.Anonymous = customerID == 0 && given == ""
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM coupon_redemptions WHERE tenant_id = ? AND coupon_id = ?`,
		tenantID, couponID).Scan(&u.Total); err != nil {
		return u, err
	}
	// Two indexes serve the OR (by account, by e-mail). An empty address names
	// nobody (nullif): guests without one never count as one customer.
	err = q.QueryRowContext(ctx, `SELECT count(*) FROM coupon_redemptions WHERE tenant_id = ? AND coupon_id = ?
		AND (customer_id = ? OR email_normalized IN (nullif(?, ''), nullif(?, '')))`,
		tenantID, couponID, customerID, given, couponEmail(account)).Scan(&u.ByCustomer)
	return u, err
}

// redeemCouponTx records one use of a coupon by an order, inside the caller's
// write transaction, after checking the coupon's use limits once more in that
// transaction: of two checkouts racing for the last use, the second sees the
// first's row and gets a *CouponRefusal. A signed-in customer's use is bound to
// their account and the account's e-mail, a guest's to the e-mail given (email,
// which is also kept as typed). It is the one place where a use is written:
// placing an order calls it, and so can reinstating a cancelled order, whose
// use was given back.
func redeemCouponTx(ctx context.Context, tx *sql.Tx, tenantID, couponID, orderID, customerID int64, email string, now time.Time) error {
	c, err := scanCoupon(tx.QueryRowContext(ctx, `SELECT `+couponColumns+` FROM coupons WHERE tenant_id = ? AND id = ?`, tenantID, couponID))
	if err != nil {
		return notFound(err)
	}
	usage, err := couponUsage(ctx, tx, tenantID, couponID, customerID, email)
	if err != nil {
		return err
	}
	if err := c.checkLimits(usage); err != nil {
		return err
	}
	bound := email
	if customerID != 0 {
		if bound, err = accountEmail(ctx, tx, tenantID, customerID); err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO coupon_redemptions (tenant_id, coupon_id, order_id, customer_id, customer_email, email_normalized, created_at)
		VALUES (?, ?, ?, nullif(?, 0), ?, ?, ?)`, tenantID, couponID, orderID, customerID, strings.ToLower(strings.TrimSpace(email)), couponEmail(bound), now)
	return err
}
