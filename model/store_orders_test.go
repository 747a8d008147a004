package model_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"orderdesk/model"
)

type shop struct {
	store    *model.Store
	tenant   *model.Tenant
	product  *model.Product
	shipping *model.ShippingMethod
	clock    time.Time
}

func newShop(t *testing.T, stock int) *shop {
	t.Helper()
	model.PasswordCost = bcrypt.MinCost
	db, err := model.Open(filepath.Join(t.TempDir(), "orderdesk.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := &shop{store: model.NewStore(db, testKeys()), clock: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)}
	s.store.Now = func() time.Time { return s.clock }
	ctx := context.Background()
	if s.tenant, err = s.store.CreateTenant(ctx, model.NewTenant{Slug: "shop", Name: "Shop"}); err != nil {
		t.Fatal(err)
	}
	if s.product, err = s.store.CreateProduct(ctx, s.tenant.ID, model.Product{SKU: "P1", Title: "Tea set", Price: 2500, Stock: stock}); err != nil {
		t.Fatal(err)
	}
	if s.shipping, err = s.store.CreateShippingMethod(ctx, s.tenant.ID, model.ShippingMethod{Name: "Post", Price: 500}); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *shop) addr(email string) model.Address {
	return model.Address{FirstName: "A", LastName: "B", Email: email, Telephone: "1", Street1: "S", Country: "TR", City: "C", State: "St", Zip: "1"}
}

// order places an order of qty units as a guest (or customer).
func (s *shop) order(t *testing.T, qty int, customer *model.Customer, pricing model.CartPricing) (*model.Order, error) {
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
	if err := s.store.AddToCart(ctx, s.tenant.ID, cart, s.product.ID, qty); err != nil {
		t.Fatal(err)
	}
	email := "guest@example.com"
	if customer != nil {
		email = customer.Email
	}
	return s.store.PlaceOrder(ctx, s.tenant, model.PlaceOrderInput{CartID: cart, Customer: customer, Address: s.addr(email), ShippingMethodID: s.shipping.ID, Pricing: pricing})
}

func (s *shop) stock(t *testing.T) int {
	p, err := s.store.FindProductByID(context.Background(), s.tenant.ID, s.product.ID)
	if err != nil {
		t.Fatal(err)
	}
	return p.Stock
}

func TestLastUnitCannotBeSoldTwice(t *testing.T) {
	s := newShop(t, 1)
	ctx := context.Background()
	// Two carts ready before the race, so that the race is only the checkout.
	var carts [2]string
	for i := range carts {
		carts[i], _ = s.store.EnsureCart(ctx, s.tenant.ID, "", 0)
		if err := s.store.AddToCart(ctx, s.tenant.ID, carts[i], s.product.ID, 1); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	start := make(chan struct{})
	for i := range carts {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			_, errs[i] = s.store.PlaceOrder(ctx, s.tenant, model.PlaceOrderInput{CartID: carts[i], Address: s.addr(fmt.Sprintf("g%d@example.com", i)), ShippingMethodID: s.shipping.ID})
		}(i)
	}
	close(start)
	wg.Wait()
	okCount, soldOut := 0, 0
	for _, err := range errs {
		var oos *model.OutOfStockError
		switch {
		case err == nil:
			okCount++
		case errors.As(err, &oos) && errors.Is(err, model.ErrConflict):
			soldOut++
		default:
			t.Fatalf("unexpected error: %v", err)
		}
	}
	if okCount != 1 || soldOut != 1 {
		t.Fatalf("got %d orders and %d sold-out refusals, want 1 and 1", okCount, soldOut)
	}
	if got := s.stock(t); got != 0 {
		t.Errorf("stock after the race: %d, want 0", got)
	}
}

func TestZeroStockModeSkipsReservation(t *testing.T) {
	s := newShop(t, 0)
	ctx := context.Background()
	o := s.tenant.OrderSettings
	o.ZeroStock = true
	if err := s.store.UpdateOrderSettings(ctx, s.tenant.ID, o); err != nil {
		t.Fatal(err)
	}
	s.tenant, _ = s.store.FindTenantBySlug(ctx, "shop")
	if _, err := s.order(t, 3, nil, model.CartPricing{}); err != nil {
		t.Fatalf("zero-stock shop refused an order: %v", err)
	}
	if got := s.stock(t); got != 0 {
		t.Errorf("stock changed in zero-stock mode: %d", got)
	}
}

// expireUnpaid runs one expiry round as the job does for orders without an
// open payment, and returns the numbers of the orders it cancelled.
func (s *shop) expireUnpaid(t *testing.T) []string {
	t.Helper()
	ctx := context.Background()
	list, err := s.store.FindExpiredUnpaid(ctx, s.tenant)
	if err != nil {
		t.Fatal(err)
	}
	var done []string
	for _, c := range list {
		ok, err := s.store.ExpireOrder(ctx, s.tenant, c.OrderID, model.JobActor("expire-unpaid"))
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			done = append(done, c.Number)
		}
	}
	return done
}

func TestExpireUnpaidOrders(t *testing.T) {
	s := newShop(t, 100)
	ctx := context.Background()
	o := s.tenant.OrderSettings
	o.UnpaidExpiryMinutes, o.UnpaidExpiryBatch = 60, 2
	if err := s.store.UpdateOrderSettings(ctx, s.tenant.ID, o); err != nil {
		t.Fatal(err)
	}
	s.tenant, _ = s.store.FindTenantBySlug(ctx, "shop")

	var old []*model.Order
	for i := 0; i < 3; i++ {
		ord, err := s.order(t, 2, nil, model.CartPricing{})
		if err != nil {
			t.Fatal(err)
		}
		old = append(old, ord)
		s.clock = s.clock.Add(time.Minute)
	}
	paidish, _ := s.order(t, 1, nil, model.CartPricing{})
	if _, err := s.store.TransitionOrder(ctx, s.tenant, paidish.ID, model.OrderConfirmed, model.SystemActor, model.TransitionInput{}); err != nil {
		t.Fatal(err)
	}
	s.clock = s.clock.Add(50 * time.Minute)
	fresh, _ := s.order(t, 1, nil, model.CartPricing{})
	if got := s.stock(t); got != 100-2*3-1-1 {
		t.Fatalf("stock before expiry: %d", got)
	}

	s.clock = s.clock.Add(15 * time.Minute) // the three old ones are now over an hour old
	done := s.expireUnpaid(t)
	if len(done) != 2 || done[0] != old[0].Number || done[1] != old[1].Number {
		t.Fatalf("first run cancelled %v, want the two oldest (batch of 2)", done)
	}
	if got := s.stock(t); got != 100-2-1-1 {
		t.Errorf("stock after the first run: %d, want 96 (4 units released)", got)
	}
	first, _ := s.store.FindOrderByID(ctx, s.tenant.ID, old[0].ID)
	if first.Status != model.OrderCancelled || first.PaymentStatus != model.PayCanceled {
		t.Errorf("expired order: status %s, payment %s", first.Status, first.PaymentStatus)
	}
	events, _ := s.store.FindOrderEvents(ctx, s.tenant.ID, old[0].ID)
	var sawCancel, sawPayment bool
	for _, e := range events {
		if e.Kind == model.EventOrderStatus && e.To == "cancelled" && e.Actor == "job:expire-unpaid" && e.Note == "Not paid within 60 minutes" {
			sawCancel = true
		}
		if e.Kind == model.EventPaymentStatus && e.From == "pending" && e.To == "canceled" {
			sawPayment = true
		}
	}
	if !sawCancel || !sawPayment {
		t.Errorf("expiry events missing: %+v", events)
	}

	done = s.expireUnpaid(t)
	if len(done) != 1 || done[0] != old[2].Number {
		t.Fatalf("second run: %v, want only the third old order", done)
	}
	done = s.expireUnpaid(t)
	if len(done) != 0 {
		t.Errorf("third run cancelled %v; the confirmed and the fresh order must stay", done)
	}
	for _, id := range []int64{paidish.ID, fresh.ID} {
		o, _ := s.store.FindOrderByID(ctx, s.tenant.ID, id)
		if o.Status == model.OrderCancelled {
			t.Errorf("order %s was cancelled", o.Number)
		}
	}
}

func TestCouponLimitsAndBonusLedger(t *testing.T) {
	s := newShop(t, 100)
	ctx := context.Background()
	one := 1
	if _, err := s.store.CreateCoupon(ctx, s.tenant.ID, model.Coupon{Code: "ONCE", Kind: "fixed", Value: 300, MinSubtotal: 5000, MaxUsesPerCustomer: &one}); err != nil {
		t.Fatal(err)
	}
	cu, err := s.store.RegisterCustomer(ctx, s.tenant.ID, model.NewCustomer{Email: "c@example.com", Password: "password1"})
	if err != nil {
		t.Fatal(err)
	}
	s.store.AdjustBonus(ctx, s.tenant.ID, cu.ID, 5000)

	// Below the minimum subtotal the order goes without the discount, and says why.
	under, err := s.order(t, 1, cu, model.CartPricing{PromoCode: "ONCE"})
	if err != nil {
		t.Fatalf("coupon under minimum stopped the order: %v", err)
	}
	if under.Discount != 0 || under.CouponCode != "" || !strings.Contains(under.CouponNotApplied, "needs a subtotal of at least") {
		t.Fatalf("coupon under minimum: discount %d, code %q, notice %q", under.Discount, under.CouponCode, under.CouponNotApplied)
	}
	// Two units reach the minimum; bonus pays 30% of (5000-300+500).
	o, err := s.order(t, 2, cu, model.CartPricing{PromoCode: "once", UseBonus: true})
	if err != nil {
		t.Fatal(err)
	}
	if o.Discount != 300 || o.BonusUsed != 1560 || o.Total != 5000-300+500-1560 {
		t.Errorf("totals: discount %d bonus %d total %d", o.Discount, o.BonusUsed, o.Total)
	}
	if bal, _ := s.store.BonusBalance(ctx, s.tenant.ID, cu.ID); bal != 5000-1560 {
		t.Errorf("balance after spending: %d", bal)
	}
	// Used once: the second use by the same customer is refused, not the order.
	if again, err := s.order(t, 2, cu, model.CartPricing{PromoCode: "ONCE"}); err != nil || again.Discount != 0 ||
		again.CouponNotApplied != "Promo code ONCE was not applied: You have already used this promo code." {
		t.Errorf("second use: %+v, %v", again, err)
	}
	// Cancelling returns the bonus and the coupon use.
	if _, err := s.store.TransitionOrder(ctx, s.tenant, o.ID, model.OrderCancelled, model.SystemActor, model.TransitionInput{}); err != nil {
		t.Fatal(err)
	}
	if bal, _ := s.store.BonusBalance(ctx, s.tenant.ID, cu.ID); bal != 5000 {
		t.Errorf("balance after cancel: %d, want 5000", bal)
	}
	o2, err := s.order(t, 2, cu, model.CartPricing{PromoCode: "ONCE"})
	if err != nil {
		t.Fatalf("coupon not returned by the cancel: %v", err)
	}
	// Paid, then completed: completing earns 5% of the total.
	p2, _ := s.pay(t, o2, s.integration(t, model.ProviderTinkoff), model.Observation{Stage: model.PaymentCompleted, AmountMinor: o2.Total})
	for _, st := range []model.OrderStatus{model.OrderShipped, model.OrderDelivered, model.OrderCompleted} {
		if _, err := s.store.TransitionOrder(ctx, s.tenant, o2.ID, st, model.SystemActor, model.TransitionInput{TrackingNumber: "T1"}); err != nil {
			t.Fatal(err)
		}
	}
	if bal, _ := s.store.BonusBalance(ctx, s.tenant.ID, cu.ID); bal != 5000+o2.Total*5/100 {
		t.Errorf("balance after completion: %d, want %d", bal, 5000+o2.Total*5/100)
	}
	// Refunded is not a status anybody sets: it follows from refunds, and the
	// refund takes the earned points back.
	if _, err := s.store.TransitionOrder(ctx, s.tenant, o2.ID, model.OrderRefunded, model.SystemActor, model.TransitionInput{}); !errors.Is(err, model.ErrRefundThroughRefunds) {
		t.Fatalf("refunded set by hand: %v", err)
	}
	r, err := s.store.ReserveRefund(ctx, s.tenant, p2.ID, 0, model.SystemActor)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.store.FinishRefund(ctx, s.tenant, r.ID, "R-1"); err != nil {
		t.Fatal(err)
	}
	if got := s.reload(t, o2); got.Status != model.OrderRefunded {
		t.Errorf("after the full refund the order is %s", got.Status)
	}
	if bal, _ := s.store.BonusBalance(ctx, s.tenant.ID, cu.ID); bal != 5000 {
		t.Errorf("balance after refund: %d, want 5000", bal)
	}
}

func TestTransitionRefusedAndRecorded(t *testing.T) {
	s := newShop(t, 10)
	ctx := context.Background()
	o, err := s.order(t, 1, nil, model.CartPricing{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.store.TransitionOrder(ctx, s.tenant, o.ID, model.OrderDelivered, model.SystemActor, model.TransitionInput{})
	var te *model.TransitionError
	if !errors.As(err, &te) || !errors.Is(err, model.ErrConflict) {
		t.Fatalf("pending → delivered: %v", err)
	}
	if got := err.Error(); got != `An order whose order status is "Pending" cannot change to "Delivered".` {
		t.Errorf("message: %q", got)
	}
	events, _ := s.store.FindOrderEvents(ctx, s.tenant.ID, o.ID)
	if len(events) != 1 || events[0].Kind != model.EventCreated {
		t.Errorf("a refused change wrote events: %+v", events)
	}
	if _, err := s.store.TransitionOrder(ctx, s.tenant, o.ID+999, model.OrderConfirmed, model.SystemActor, model.TransitionInput{}); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("unknown order: %v", err)
	}
}

func TestStatusCountsFollowEveryChange(t *testing.T) {
	s := newShop(t, 100)
	ctx := context.Background()
	var ids []int64
	for i := 0; i < 4; i++ {
		o, err := s.order(t, 1, nil, model.CartPricing{})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, o.ID)
	}
	s.store.TransitionOrder(ctx, s.tenant, ids[0], model.OrderConfirmed, model.SystemActor, model.TransitionInput{})
	s.store.TransitionOrder(ctx, s.tenant, ids[1], model.OrderCancelled, model.SystemActor, model.TransitionInput{})
	kept, err := s.store.CountOrdersByStatus(ctx, s.tenant.ID, model.OrderFilter{})
	if err != nil {
		t.Fatal(err)
	}
	// The same counts computed the slow way, through a filter that forces GROUP BY.
	counted, _ := s.store.CountOrdersByStatus(ctx, s.tenant.ID, model.OrderFilter{Email: "guest"})
	for _, st := range model.OrderStatuses {
		if kept[st] != counted[st] {
			t.Errorf("%s: trigger count %d, real count %d", st, kept[st], counted[st])
		}
	}
	if kept[model.OrderPending] != 2 || kept[model.OrderConfirmed] != 1 || kept[model.OrderCancelled] != 1 {
		t.Errorf("counts: %v", kept)
	}
}
