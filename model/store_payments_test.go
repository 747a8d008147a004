package model_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"orderdesk/model"
)

func ptr[T any](v T) *T { return &v }

func (s *shop) integration(t *testing.T, provider model.ProviderType) *model.Integration {
	t.Helper()
	in, err := s.store.CreateIntegration(context.Background(), s.tenant.ID, nil, model.IntegrationInput{
		Provider: &provider, Name: ptr("Test " + string(provider)), APIKey: ptr("terminal-key-1234"), APISecret: ptr("super-secret-password-9876"),
		TestEndpoint: ptr("http://127.0.0.1:1/sandbox"), APIEndpoint: ptr("https://live.example.com/api"),
	})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func (s *shop) pay(t *testing.T, o *model.Order, in *model.Integration, obs model.Observation) (*model.Payment, model.Applied) {
	t.Helper()
	ctx := context.Background()
	p, err := s.store.NewPayment(ctx, s.tenant, o.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	applied, err := s.store.ApplyPayment(ctx, s.tenant, p.ID, obs, model.PaymentEvent{})
	if err != nil {
		t.Fatal(err)
	}
	return p, applied
}

func (s *shop) reload(t *testing.T, o *model.Order) *model.Order {
	t.Helper()
	o, err := s.store.FindOrderByID(context.Background(), s.tenant.ID, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestPaymentMakesOrderPaidOnce(t *testing.T) {
	s := newShop(t, 10)
	ctx := context.Background()
	in := s.integration(t, model.ProviderTinkoff)
	o, _ := s.order(t, 2, nil, model.CartPricing{})

	p, applied := s.pay(t, o, in, model.Observation{Stage: model.PaymentCompleted, AmountMinor: o.Total, Currency: "USD"})
	if !applied.Changed || p.Amount != o.Total || !strings.HasPrefix(p.Number, "PAY-SHOP-") {
		t.Fatalf("payment %+v applied %+v", p, applied)
	}
	got := s.reload(t, o)
	if got.PaymentStatus != model.PayPaid || got.Status != model.OrderConfirmed {
		t.Errorf("order after payment: %s / %s, want confirmed / paid", got.Status, got.PaymentStatus)
	}
	outbox, _ := s.store.FindOutbox(ctx, s.tenant.ID, o.ID)
	if len(outbox) != 2 || outbox[0].Kind != model.MsgOrderPlaced || outbox[1].Kind != model.MsgPaid {
		t.Errorf("outbox: %+v", outbox)
	}
	// A late "pending" and a duplicate "completed" change nothing.
	for _, st := range []model.PaymentStatus{model.PaymentPending, model.PaymentProcessing, model.PaymentCompleted} {
		a, err := s.store.ApplyPayment(ctx, s.tenant, p.ID, model.Observation{Stage: st}, model.PaymentEvent{})
		if err != nil || a.Changed {
			t.Errorf("late %s: changed=%v err=%v", st, a.Changed, err)
		}
	}
	if got := s.reload(t, o); got.PaymentStatus != model.PayPaid {
		t.Errorf("late notifications undid the payment: %s", got.PaymentStatus)
	}
	// Paid orders are not payable again.
	if _, err := s.store.NewPayment(ctx, s.tenant, o.ID, in); err == nil || !strings.Contains(err.Error(), "already paid") {
		t.Errorf("second payment: %v", err)
	}
}

func TestAmountMismatchIsSuspectedFraud(t *testing.T) {
	s := newShop(t, 10)
	ctx := context.Background()
	in := s.integration(t, model.ProviderPayPal)
	o, _ := s.order(t, 1, nil, model.CartPricing{})
	p, applied := s.pay(t, o, in, model.Observation{Stage: model.PaymentCompleted, AmountMinor: 100, Currency: "USD"})
	if applied.To != model.PaymentSuspectedFraud {
		t.Fatalf("applied %+v", applied)
	}
	got := s.reload(t, o)
	if got.PaymentStatus != model.PaySuspectedFraud || got.Status != model.OrderHolded {
		t.Errorf("order: %s / %s, want holded / suspected_fraud", got.Status, got.PaymentStatus)
	}
	reviews, _ := s.store.FindPaymentReviews(ctx, s.tenant.ID, true, 10)
	if len(reviews) != 1 || reviews[0].Kind != "amount_mismatch" || reviews[0].PaymentNumber != p.Number {
		t.Fatalf("reviews: %+v", reviews)
	}
	// A person accepts it: paid, confirmed, out of the queue.
	owner, _ := s.store.CreateUser(ctx, s.tenant.ID, model.NewUser{Email: "o@example.com", Role: model.RoleOwner, Password: "password1"})
	if err := s.store.ResolvePaymentReview(ctx, s.tenant, reviews[0].ID, owner, "accepted"); err != nil {
		t.Fatal(err)
	}
	got = s.reload(t, o)
	if got.PaymentStatus != model.PayPaid || got.Status != model.OrderConfirmed {
		t.Errorf("after accept: %s / %s", got.Status, got.PaymentStatus)
	}
	if open, _ := s.store.FindPaymentReviews(ctx, s.tenant.ID, true, 10); len(open) != 0 {
		t.Errorf("review still open: %+v", open)
	}
	if err := s.store.ResolvePaymentReview(ctx, s.tenant, reviews[0].ID, owner, "dismissed"); err == nil {
		t.Error("a resolved review was resolved again")
	}
	// Currency mismatch too.
	o2, _ := s.order(t, 1, nil, model.CartPricing{})
	_, applied = s.pay(t, o2, in, model.Observation{Stage: model.PaymentCompleted, AmountMinor: o2.Total, Currency: "EUR"})
	if applied.To != model.PaymentSuspectedFraud {
		t.Errorf("currency mismatch: %+v", applied)
	}
}

func TestLateMoneyReinstatesOrRefunds(t *testing.T) {
	s := newShop(t, 3)
	ctx := context.Background()
	in := s.integration(t, model.ProviderTinkoff)
	closeAndExpire := func(o *model.Order) *model.Payment {
		t.Helper()
		p, err := s.store.NewPayment(ctx, s.tenant, o.ID, in)
		if err != nil {
			t.Fatal(err)
		}
		// The payment flow closes the payment first (at its provider); an order
		// with an open payment is never expired.
		if ok, _ := s.store.ExpireOrder(ctx, s.tenant, o.ID, model.JobActor("expire-unpaid")); ok {
			t.Fatal("an order with an open payment was expired")
		}
		if _, err := s.store.ApplyPayment(ctx, s.tenant, p.ID, model.Observation{Stage: model.PaymentCanceled, Reason: "Order expired unpaid"}, model.PaymentEvent{}); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.store.ExpireOrder(ctx, s.tenant, o.ID, model.JobActor("expire-unpaid")); !ok || err != nil {
			t.Fatalf("expire: %v %v", ok, err)
		}
		return p
	}

	// Money for a cancelled order whose stock is still there: the order comes
	// back, and a review says so.
	o, _ := s.order(t, 1, nil, model.CartPricing{})
	p := closeAndExpire(o)
	a, err := s.store.ApplyPayment(ctx, s.tenant, p.ID, model.Observation{Stage: model.PaymentCompleted, AmountMinor: o.Total}, model.PaymentEvent{})
	if err != nil || !a.Changed || !a.Late || !a.Reinstated || len(a.Refunds) != 0 {
		t.Fatalf("late payment with stock: %+v %v", a, err)
	}
	if got := s.reload(t, o); got.Status != model.OrderConfirmed || got.PaymentStatus != model.PayPaid {
		t.Errorf("reinstated order: %s / %s", got.Status, got.PaymentStatus)
	}

	// Without stock, the money goes back: a refund is reserved in the same
	// transaction, and a review says what happened.
	o3, _ := s.order(t, 2, nil, model.CartPricing{})
	p3 := closeAndExpire(o3)
	if _, err := s.store.DB.W.Exec(`UPDATE products SET stock = 0`); err != nil {
		t.Fatal(err)
	}
	a, err = s.store.ApplyPayment(ctx, s.tenant, p3.ID, model.Observation{Stage: model.PaymentCompleted, AmountMinor: o3.Total}, model.PaymentEvent{})
	if err != nil || !a.Late || a.Reinstated || len(a.Refunds) != 1 || a.Refunds[0].Amount != o3.Total || a.Refunds[0].Reason != model.RefundLate {
		t.Fatalf("late payment without stock: %+v %v", a, err)
	}
	if got := s.reload(t, o3); got.Status != model.OrderCancelled || got.NeedsAttention == "" {
		t.Errorf("order without stock: %s, attention %q", got.Status, got.NeedsAttention)
	}
	reviews, _ := s.store.FindPaymentReviews(ctx, s.tenant.ID, true, 10)
	if len(reviews) != 2 || reviews[0].Kind != "late_payment" || reviews[1].Kind != "late_payment" {
		t.Errorf("reviews: %+v", reviews)
	}
	// The provider made the refund: the payment is refunded.
	if _, err := s.store.FinishRefund(ctx, s.tenant, a.Refunds[0].ID, "R-1"); err != nil {
		t.Fatal(err)
	}
	if got := s.reload(t, o3); got.PaymentStatus != model.PayRefunded {
		t.Errorf("refunded order's payment status: %s", got.PaymentStatus)
	}
}

func TestRefundsNeverExceedWhatWasPaid(t *testing.T) {
	s := newShop(t, 10)
	ctx := context.Background()
	in := s.integration(t, model.ProviderTinkoff)
	o, _ := s.order(t, 2, nil, model.CartPricing{})
	p, _ := s.pay(t, o, in, model.Observation{Stage: model.PaymentCompleted, AmountMinor: o.Total})
	third := o.Total / 3
	var reserved []*model.Refund
	for i := 0; i < 5; i++ {
		r, err := s.store.ReserveRefund(ctx, s.tenant, p.ID, third, model.SystemActor)
		if err == nil {
			reserved = append(reserved, r)
		}
	}
	if len(reserved) != 3 {
		t.Fatalf("%d refunds of a third reserved, want 3", len(reserved))
	}
	// A refused refund releases its reservation.
	if err := s.store.FailRefund(ctx, s.tenant, reserved[2].ID, "refused"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.store.ReserveRefund(ctx, s.tenant, p.ID, third, model.SystemActor); err != nil {
		t.Errorf("after a failed refund the amount is still reserved: %v", err)
	}
	if _, err := s.store.FinishRefund(ctx, s.tenant, reserved[0].ID, "R-1"); err != nil {
		t.Fatal(err)
	}
	if got := s.reload(t, o); got.PaymentStatus != model.PayPartiallyRefunded || got.Status != model.OrderConfirmed {
		t.Errorf("after a partial refund: %s / %s", got.Status, got.PaymentStatus)
	}
	// The provider reports what it refunded in all: our pending refunds are
	// what it made, not refunds of its own.
	if _, err := s.store.ApplyPayment(ctx, s.tenant, p.ID, model.Observation{Stage: model.PaymentPartiallyRefunded, RefundedMinor: 3 * third}, model.PaymentEvent{}); err != nil {
		t.Fatal(err)
	}
	pp, _ := s.store.FindPaymentByID(ctx, s.tenant.ID, p.ID)
	if pp.RefundedAmount != 3*third {
		t.Errorf("refunded amount %d, want %d", pp.RefundedAmount, 3*third)
	}
	refunds, _ := s.store.FindRefunds(ctx, s.tenant.ID, o.ID)
	var done, byProvider int
	for _, r := range refunds {
		if r.Status == model.RefundDone {
			done++
		}
		if r.Reason == model.RefundByProvider {
			byProvider++
		}
	}
	if done != 3 || byProvider != 0 {
		t.Errorf("%d done refunds (%d the provider's own), want 3 of ours: %+v", done, byProvider, refunds)
	}
	// The rest, reported by the provider as a full refund, refunds the order.
	if _, err := s.store.ApplyPayment(ctx, s.tenant, p.ID, model.Observation{Stage: model.PaymentRefunded}, model.PaymentEvent{}); err != nil {
		t.Fatal(err)
	}
	if got := s.reload(t, o); got.PaymentStatus != model.PayRefunded || got.Status != model.OrderRefunded {
		t.Errorf("after the full refund: %s / %s", got.Status, got.PaymentStatus)
	}
}

func TestGuestCartEmptiedWhenPaid(t *testing.T) {
	s := newShop(t, 10)
	ctx := context.Background()
	in := s.integration(t, model.ProviderTinkoff)
	cart, _ := s.store.EnsureCart(ctx, s.tenant.ID, "", 0)
	s.store.AddToCart(ctx, s.tenant.ID, cart, s.product.ID, 1)
	o, err := s.store.PlaceOrder(ctx, s.tenant, model.PlaceOrderInput{CartID: cart, Address: s.addr("g@example.com"), ShippingMethodID: s.shipping.ID})
	if err != nil {
		t.Fatal(err)
	}
	view, _ := s.store.PriceCart(ctx, s.tenant, cart, nil, model.CartPricing{})
	if len(view.Lines) != 1 {
		t.Fatal("guest cart emptied before payment")
	}
	s.pay(t, o, in, model.Observation{Stage: model.PaymentCompleted})
	view, _ = s.store.PriceCart(ctx, s.tenant, cart, nil, model.CartPricing{})
	if len(view.Lines) != 0 {
		t.Error("guest cart not emptied after payment")
	}
}

func TestIntegrationSecretsNeverStoredInClear(t *testing.T) {
	s := newShop(t, 1)
	ctx := context.Background()
	in := s.integration(t, model.ProviderTinkoff)
	if in.APIKeyLast4 != "1234" || in.APISecretLast4 != "9876" {
		t.Errorf("last four: %q %q", in.APIKeyLast4, in.APISecretLast4)
	}
	sec, err := s.store.OpenIntegrationSecrets(ctx, s.tenant.ID, in.ID)
	if err != nil || sec.APIKey != "terminal-key-1234" || sec.APISecret != "super-secret-password-9876" {
		t.Fatalf("secrets: %+v %v", sec, err)
	}
	// Replace the key; the old one must not stay anywhere in the file either.
	if _, err := s.store.UpdateIntegration(ctx, s.tenant.ID, nil, in.ID, model.IntegrationInput{APIKey: ptr("production-key-5555")}); err != nil {
		t.Fatal(err)
	}
	s.store.DB.W.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
	var path string
	s.store.DB.R.QueryRow(`SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&path)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"terminal-key-1234", "super-secret-password-9876", "production-key-5555"} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("the database file contains %q in clear text", secret)
		}
	}
}
