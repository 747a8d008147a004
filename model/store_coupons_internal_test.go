package model

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
)

// redeemCouponTx is the one writer of a coupon use, for checkouts and for
// reinstated orders: it checks the limits again in the caller's transaction.
func TestRedeemCouponTxChecksTheLimitsInTheTransaction(t *testing.T) {
	ctx := context.Background()
	db, err := Open(filepath.Join(t.TempDir(), "orderdesk.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	keys, _ := NewKeyring(key)
	s := NewStore(db, keys)
	tn, err := s.CreateTenant(ctx, NewTenant{Slug: "shop", Name: "Shop"})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := s.CreateProduct(ctx, tn.ID, Product{SKU: "P1", Title: "Tea", Price: 1000, Stock: 10})
	ship, _ := s.CreateShippingMethod(ctx, tn.ID, ShippingMethod{Name: "Post", Price: 100})
	coupon, err := s.CreateCoupon(ctx, tn.ID, Coupon{Code: "ONCE", Kind: "fixed", Value: 100, MaxUsesPerCustomer: ptr(1)})
	if err != nil {
		t.Fatal(err)
	}
	order := func(email, code string) *Order {
		cart, _ := s.EnsureCart(ctx, tn.ID, "", 0)
		if err := s.AddToCart(ctx, tn.ID, cart, p.ID, 1); err != nil {
			t.Fatal(err)
		}
		o, err := s.PlaceOrder(ctx, tn, PlaceOrderInput{CartID: cart, ShippingMethodID: ship.ID, Pricing: CartPricing{PromoCode: code},
			Address: Address{FirstName: "A", LastName: "B", Email: email, Telephone: "1", Street1: "S", Country: "TR", City: "C", State: "S", Zip: "1"}})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	first := order("a@example.com", "ONCE")
	second := order("a+x@example.com", "")
	redeem := func(o *Order, email string) error {
		return s.DB.InTx(ctx, func(tx *sql.Tx) error {
			return redeemCouponTx(ctx, tx, tn.ID, coupon.ID, o.ID, 0, email, s.now())
		})
	}
	var refusal *CouponRefusal
	if err := redeem(second, "A+x@Example.com"); !errors.As(err, &refusal) || refusal.Error() != "You have already used this promo code." {
		t.Fatalf("a second use by the same customer: %v", err)
	}
	// The first order is cancelled: its use is given back, and reinstating it
	// takes the use again, once.
	if _, err := s.TransitionOrder(ctx, tn, first.ID, OrderCancelled, SystemActor, TransitionInput{}); err != nil {
		t.Fatal(err)
	}
	if err := redeem(first, "a@example.com"); err != nil {
		t.Fatalf("reinstating the cancelled order's use: %v", err)
	}
	if err := redeem(second, "a@example.com"); !errors.As(err, &refusal) {
		t.Fatalf("a use after the reinstated one: %v", err)
	}
}
