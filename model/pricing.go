package model

import (
	"time"
)

// Coupon is a tenant's promo code.
type Coupon struct {
	ID                 int64
	TenantID           int64
	Code               string
	Kind               string // percent or fixed
	Value              int64  // whole percent, or minor units
	MinSubtotal        int64
	StartsAt, EndsAt   *time.Time
	MaxUses            *int
	MaxUsesPerCustomer *int
	Active             bool
}

// CouponUsage is how often a coupon was used, in all and by one customer.
type CouponUsage struct {
	Total, ByCustomer int
	// Anonymous says that the checkout names no customer (a guest without an
	// e-mail): a per-customer limit cannot be kept for nobody.
	Anonymous bool
}

// CouponRefusal says why a coupon does not apply, in words for the shopper.
type CouponRefusal struct{ Msg string }

func (e *CouponRefusal) Error() string { return e.Msg }

// Check says whether the coupon applies to a subtotal now, given its usage.
func (c *Coupon) Check(now time.Time, subtotal int64, usage CouponUsage, currency string) error {
	switch {
	case !c.Active:
		return &CouponRefusal{"This promo code is no longer valid."}
	case c.StartsAt != nil && now.Before(*c.StartsAt):
		return &CouponRefusal{"This promo code is not valid yet."}
	case c.EndsAt != nil && !now.Before(*c.EndsAt):
		return &CouponRefusal{"This promo code has expired."}
	case subtotal < c.MinSubtotal:
		return &CouponRefusal{"This promo code needs a subtotal of at least " + FormatMoney(c.MinSubtotal, currency) + "."}
	}
	return c.checkLimits(usage)
}

// checkLimits says whether the coupon's use limits leave room for one more use.
func (c *Coupon) checkLimits(usage CouponUsage) error {
	switch {
	case c.MaxUses != nil && usage.Total >= *c.MaxUses:
		return &CouponRefusal{"This promo code has been used up."}
	case c.MaxUsesPerCustomer != nil && usage.Anonymous:
		return &CouponRefusal{"This promo code is limited per customer: give your e-mail address to use it."}
	case c.MaxUsesPerCustomer != nil && usage.ByCustomer >= *c.MaxUsesPerCustomer:
		return &CouponRefusal{"You have already used this promo code."}
	}
	return nil
}

// DiscountOn is the coupon's discount on a subtotal, never more than the subtotal.
func (c *Coupon) DiscountOn(subtotal int64) int64 {
	d := c.Value
	if c.Kind == "percent" {
		d = percentOf(subtotal, c.Value)
	}
	return min(d, subtotal)
}

// Describe says what the coupon gives, e.g. "10% off".
func (c *Coupon) Describe(currency string) string {
	if c.Kind == "percent" {
		return itoa64(c.Value) + "% off"
	}
	return FormatMoney(c.Value, currency) + " off"
}

// Totals are the amounts of a cart or an order, in minor units.
type Totals struct {
	Subtotal int64
	Discount int64 // from the coupon
	Shipping int64
	Bonus    int64 // bonus points spent (1 point = 1 minor unit)
	Total    int64
	// BonusMax is the most bonus this cart could take (share limit and balance).
	BonusMax int64
}

// ComputeTotals is the one place where an order's money is computed: the coupon
// discounts the subtotal, shipping is added, then bonus points pay at most
// maxSharePercent of what is left, and never more than the customer has.
func ComputeTotals(subtotal int64, coupon *Coupon, shipping, bonusBalance int64, useBonus bool, maxSharePercent int) Totals {
	t := Totals{Subtotal: subtotal, Shipping: shipping}
	if coupon != nil {
		t.Discount = coupon.DiscountOn(subtotal)
	}
	due := subtotal - t.Discount + shipping
	t.BonusMax = min(max(bonusBalance, 0), percentOf(due, int64(maxSharePercent)))
	if useBonus {
		t.Bonus = t.BonusMax
	}
	t.Total = due - t.Bonus
	return t
}
