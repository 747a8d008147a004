package model_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"orderdesk/model"
)

// orderAs places one unit as customer (nil for a guest) with the e-mail typed at
// checkout, and the promo code.
func (s *shop) orderAs(t *testing.T, customer *model.Customer, email, code string) *model.Order {
	t.Helper()
	ctx := context.Background()
	var cid int64
	if customer != nil {
		cid = customer.ID
	}
	cart, err := s.store.EnsureCart(ctx, s.tenant.ID, "", cid)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.store.AddToCart(ctx, s.tenant.ID, cart, s.product.ID, 1); err != nil {
		t.Fatal(err)
	}
	o, err := s.store.PlaceOrder(ctx, s.tenant, model.PlaceOrderInput{CartID: cart, Customer: customer, Address: s.addr(email),
		ShippingMethodID: s.shipping.ID, Pricing: model.CartPricing{PromoCode: code}})
	if err != nil {
		t.Fatalf("order as %q: %v", email, err)
	}
	return o
}

func TestOncePerCustomerCouponFollowsTheAccountAndTheEmail(t *testing.T) {
	s := newShop(t, 100)
	ctx := context.Background()
	one := 1
	if _, err := s.store.CreateCoupon(ctx, s.tenant.ID, model.Coupon{Code: "ONCE", Kind: "fixed", Value: 300, MaxUsesPerCustomer: &one}); err != nil {
		t.Fatal(err)
	}
	cu, err := s.store.RegisterCustomer(ctx, s.tenant.ID, model.NewCustomer{Email: "Ayse@Example.com", Password: "password1"})
	if err != nil {
		t.Fatal(err)
	}
	bob, err := s.store.RegisterCustomer(ctx, s.tenant.ID, model.NewCustomer{Email: "bob@example.com", Password: "password1"})
	if err != nil {
		t.Fatal(err)
	}
	used := "Promo code ONCE was not applied: You have already used this promo code."
	steps := []struct {
		name     string
		customer *model.Customer
		email    string
		want     string // the order's CouponNotApplied; "" means the discount applied
	}{
		{"the signed-in customer uses it once, typing another e-mail", cu, "other@example.com", ""},
		{"typing a third e-mail while signed in does not use it again", cu, "third@example.com", used},
		{"the account's e-mail with a +tag as a guest does not either", nil, " AYSE+promo@example.COM ", used},
		{"a new guest uses it once", nil, "fresh@example.com", ""},
		{"the same guest in capitals with a tag does not use it again", nil, "FRESH+again@Example.com", used},
		{"nor does an account typing that guest's e-mail", bob, "fresh@example.com", used},
		{"that account under its own e-mail uses it once", bob, "bob@example.com", ""},
	}
	for _, st := range steps {
		o := s.orderAs(t, st.customer, st.email, "ONCE")
		if o.CouponNotApplied != st.want {
			t.Errorf("%s: notice %q, want %q", st.name, o.CouponNotApplied, st.want)
		}
		if applied := o.Discount == 300; applied != (st.want == "") {
			t.Errorf("%s: discount %d", st.name, o.Discount)
		}
	}

	// A guest who gives no e-mail (this shop does not ask for one) is nobody the
	// limit could count: the order goes without the discount.
	noEmail := s.tenant.OrderSettings
	noEmail.RequiredAddressFields = []string{"first_name"}
	if err := s.store.UpdateOrderSettings(ctx, s.tenant.ID, noEmail); err != nil {
		t.Fatal(err)
	}
	s.tenant.OrderSettings = noEmail
	if o := s.orderAs(t, nil, "", "ONCE"); o.Discount != 0 || !strings.Contains(o.CouponNotApplied, "give your e-mail address") {
		t.Errorf("guest without e-mail: discount %d, notice %q", o.Discount, o.CouponNotApplied)
	}

	// Another shop's uses, by the same people, count for nothing here, and ours
	// nothing there.
	other := &shop{store: s.store, clock: s.clock} // same database, second tenant
	if other.tenant, err = s.store.CreateTenant(ctx, model.NewTenant{Slug: "shop2", Name: "Shop 2"}); err != nil {
		t.Fatal(err)
	}
	if other.product, err = s.store.CreateProduct(ctx, other.tenant.ID, model.Product{SKU: "P1", Title: "Tea set", Price: 2500, Stock: 10}); err != nil {
		t.Fatal(err)
	}
	if other.shipping, err = s.store.CreateShippingMethod(ctx, other.tenant.ID, model.ShippingMethod{Name: "Post", Price: 500}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.store.CreateCoupon(ctx, other.tenant.ID, model.Coupon{Code: "ONCE", Kind: "fixed", Value: 300, MaxUsesPerCustomer: &one}); err != nil {
		t.Fatal(err)
	}
	if o := other.orderAs(t, nil, "ayse@example.com", "ONCE"); o.Discount != 300 {
		t.Errorf("the other shop counted this shop's uses: %q", o.CouponNotApplied)
	}
}

func TestCouponUseLimitHoldsWhenCheckoutsRace(t *testing.T) {
	s := newShop(t, 100)
	ctx := context.Background()
	one := 1
	if _, err := s.store.CreateCoupon(ctx, s.tenant.ID, model.Coupon{Code: "ONCE", Kind: "fixed", Value: 300, MaxUsesPerCustomer: &one}); err != nil {
		t.Fatal(err)
	}
	carts := make([]string, 6)
	for i := range carts {
		id, err := s.store.EnsureCart(ctx, s.tenant.ID, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.store.AddToCart(ctx, s.tenant.ID, id, s.product.ID, 1); err != nil {
			t.Fatal(err)
		}
		carts[i] = id
	}
	// Every cart was priced with the code applied before any checkout began.
	for _, id := range carts {
		v, err := s.store.PriceCart(ctx, s.tenant, id, nil, model.CartPricing{PromoCode: "ONCE", Email: "racer@example.com"})
		if err != nil || v.Coupon == nil {
			t.Fatalf("cart priced before the race: %+v, %v", v, err)
		}
	}
	var wg sync.WaitGroup
	orders := make([]*model.Order, len(carts))
	errs := make([]error, len(carts))
	for i, id := range carts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			orders[i], errs[i] = s.store.PlaceOrder(ctx, s.tenant, model.PlaceOrderInput{CartID: id, Address: s.addr("racer@example.com"),
				ShippingMethodID: s.shipping.ID, Pricing: model.CartPricing{PromoCode: "ONCE"}})
		}()
	}
	wg.Wait()
	discounted := 0
	for i, o := range orders {
		if errs[i] != nil {
			t.Fatalf("checkout %d: %v", i, errs[i])
		}
		if o.Discount > 0 {
			discounted++
		}
	}
	if discounted != 1 {
		t.Errorf("%d of %d racing checkouts got the once-per-customer discount, want 1", discounted, len(carts))
	}
}

func TestCouponUsedUpInAllStopsOnlyTheDiscount(t *testing.T) {
	s := newShop(t, 100)
	ctx := context.Background()
	two := 2
	if _, err := s.store.CreateCoupon(ctx, s.tenant.ID, model.Coupon{Code: "TWO", Kind: "percent", Value: 10, MaxUses: &two}); err != nil {
		t.Fatal(err)
	}
	for i, email := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		o := s.orderAs(t, nil, email, "two")
		if wantApplied := i < 2; (o.Discount > 0) != wantApplied {
			t.Errorf("use %d: discount %d, notice %q", i+1, o.Discount, o.CouponNotApplied)
		}
	}
	if o := s.orderAs(t, nil, "d@example.com", "TWO"); o.CouponNotApplied != "Promo code TWO was not applied: This promo code has been used up." {
		t.Errorf("used-up notice: %q", o.CouponNotApplied)
	}
}

func TestRefusedPromoCodeNeverStopsTheOrder(t *testing.T) {
	s := newShop(t, 100)
	ctx := context.Background()
	if _, err := s.store.CreateCoupon(ctx, s.tenant.ID, model.Coupon{Code: "OLD", Kind: "percent", Value: 10}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.store.DB.W.ExecContext(ctx, `UPDATE coupons SET active = 0 WHERE tenant_id = ? AND code = 'OLD'`, s.tenant.ID); err != nil {
		t.Fatal(err)
	}
	for code, why := range map[string]string{"NOPE": "There is no promo code NOPE.", "old": "This promo code is no longer valid."} {
		o := s.orderAs(t, nil, "guest@example.com", code)
		want := "Promo code " + strings.ToUpper(code) + " was not applied: " + why
		if o.Status != model.OrderPending || o.Discount != 0 || o.CouponCode != "" || o.Total != 2500+500 || o.CouponNotApplied != want {
			t.Errorf("%s: status %s, discount %d, code %q, total %d, notice %q (want %q)", code, o.Status, o.Discount, o.CouponCode, o.Total, o.CouponNotApplied, want)
		}
		// Staff see it on the order's timeline.
		events, err := s.store.FindOrderEvents(ctx, s.tenant.ID, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(events) == 0 || !strings.Contains(events[0].Note, want) {
			t.Errorf("%s: timeline %+v", code, events)
		}
	}
}
