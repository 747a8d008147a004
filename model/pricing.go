package model

import (
	"time"

	"orderdesk/views/locales"
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

// CouponRefusal says why a coupon does not apply, in words for the shopper:
// the message api.coupon.{Why} of the message files, in the shop's language.
type CouponRefusal struct {
	Why string // no_such, inactive, not_yet, expired, min_subtotal, used_up, per_customer, already_used
	// Code is the code typed (no_such); MinSubtotal and Currency the least
	// subtotal (min_subtotal).
	Code        string
	MinSubtotal int64
	Currency    string
}

func (e *CouponRefusal) Error() string { return e.Message(locales.Default) }

// Message is the refusal in lang.
func (e *CouponRefusal) Message(lang string) string {
	return locales.T(lang, "api.coupon."+e.Why, map[string]any{"Code": e.Code, "Min": locales.Money(lang, e.MinSubtotal, e.Currency)})
}

// Check says whether the coupon applies to a subtotal now, given its usage.
func (c *Coupon) Check(now time.Time, subtotal int64, usage CouponUsage, currency string) error {
	switch {
	case !c.Active:
		return &CouponRefusal{Why: "inactive"}
	case c.StartsAt != nil && now.Before(*c.StartsAt):
		return &CouponRefusal{Why: "not_yet"}
	case c.EndsAt != nil && !now.Before(*c.EndsAt):
		return &CouponRefusal{Why: "expired"}
	case subtotal < c.MinSubtotal:
		return &CouponRefusal{Why: "min_subtotal", MinSubtotal: c.MinSubtotal, Currency: currency}
	}
	return c.checkLimits(usage)
}

// checkLimits says whether the coupon's use limits leave room for one more use.
func (c *Coupon) checkLimits(usage CouponUsage) error {
	switch {
	case c.MaxUses != nil && usage.Total >= *c.MaxUses:
		return &CouponRefusal{Why: "used_up"}
	case c.MaxUsesPerCustomer != nil && usage.Anonymous:
		return &CouponRefusal{Why: "per_customer"}
	case c.MaxUsesPerCustomer != nil && usage.ByCustomer >= *c.MaxUsesPerCustomer:
		return &CouponRefusal{Why: "already_used"}
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

// Describe says what the coupon gives in lang, e.g. "10% off".
func (c *Coupon) Describe(lang, currency string) string {
	if c.Kind == "percent" {
		return locales.T(lang, "api.coupon.percent_off", map[string]any{"Percent": c.Value})
	}
	return locales.T(lang, "api.coupon.amount_off", map[string]any{"Amount": locales.Money(lang, c.Value, currency)})
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
