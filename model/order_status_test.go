package model

import "testing"

// The transition tables, pair by pair: every (from, to) of each lifecycle is
// checked against the allowed list written out here in words.
func TestOrderTransitionsEveryPair(t *testing.T) {
	allowed := map[string]bool{
		"pending>confirmed": true, "pending>holded": true, "pending>cancelled": true,
		"confirmed>processing": true, "confirmed>holded": true, "confirmed>shipped": true, "confirmed>cancelled": true, "confirmed>refunded": true,
		"processing>shipped": true, "processing>holded": true, "processing>cancelled": true, "processing>refunded": true,
		"holded>confirmed": true, "holded>processing": true, "holded>cancelled": true, "holded>refunded": true,
		"shipped>delivered": true, "shipped>refunded": true,
		"delivered>completed": true, "delivered>refunded": true,
		"completed>refunded": true,
	}
	n := 0
	for _, from := range OrderStatuses {
		for _, to := range OrderStatuses {
			want := allowed[string(from)+">"+string(to)]
			if got := from.CanTransitionTo(to); got != want {
				t.Errorf("order %s → %s: got %v, want %v", from, to, got, want)
			}
			n++
		}
	}
	if n != 81 {
		t.Fatalf("checked %d pairs, want 81", n)
	}
	if !OrderCancelled.Final() || !OrderRefunded.Final() || OrderCompleted.Final() {
		t.Error("final statuses wrong")
	}
}

func TestPaymentTransitionsEveryPair(t *testing.T) {
	allowed := map[string]bool{
		"pending>processing": true, "pending>completed": true, "pending>suspected_fraud": true, "pending>failed": true, "pending>canceled": true,
		"processing>completed": true, "processing>suspected_fraud": true, "processing>failed": true, "processing>canceled": true,
		"suspected_fraud>completed": true, "suspected_fraud>refunded": true, "suspected_fraud>canceled": true,
		"completed>partially_refunded": true, "completed>refunded": true,
		"partially_refunded>partially_refunded": true, "partially_refunded>refunded": true,
		// Money for a payment we closed is received late, never ignored.
		"failed>completed": true, "failed>suspected_fraud": true, "canceled>completed": true, "canceled>suspected_fraud": true,
	}
	for _, from := range PaymentStatuses {
		for _, to := range PaymentStatuses {
			want := allowed[string(from)+">"+string(to)]
			if got := from.CanTransitionTo(to); got != want {
				t.Errorf("payment %s → %s: got %v, want %v", from, to, got, want)
			}
		}
	}
	// A completed payment never goes back, whatever arrives late.
	for _, back := range []PaymentStatus{PaymentPending, PaymentProcessing, PaymentFailed, PaymentCanceled} {
		if PaymentCompleted.CanTransitionTo(back) {
			t.Errorf("completed → %s allowed", back)
		}
	}
}

func TestProcurementTransitionsEveryPair(t *testing.T) {
	allowed := map[string]bool{
		"pending>created": true, "pending>cancelled": true,
		"created>paid": true, "created>cancelled": true,
		"paid>shipped": true, "paid>cancelled": true,
		"shipped>completed": true,
	}
	for _, from := range ProcurementStatuses {
		for _, to := range ProcurementStatuses {
			want := allowed[string(from)+">"+string(to)]
			if got := from.CanTransitionTo(to); got != want {
				t.Errorf("procurement %s → %s: got %v, want %v", from, to, got, want)
			}
		}
	}
}

func TestDerivePaymentStatus(t *testing.T) {
	cases := []struct {
		name      string
		payments  []PaymentStatus
		cancelled bool
		want      OrderPaymentStatus
	}{
		{"no payment yet is pending", nil, false, PayPending},
		{"an expired order with no payment is canceled", nil, true, PayCanceled},
		{"a completed payment makes the order paid", []PaymentStatus{PaymentFailed, PaymentCompleted}, false, PayPaid},
		{"a card payment in progress is processing", []PaymentStatus{PaymentProcessing}, false, PayProcessing},
		{"a mismatch wins over anything", []PaymentStatus{PaymentCompleted, PaymentSuspectedFraud}, false, PaySuspectedFraud},
		{"a partial refund", []PaymentStatus{PaymentPartiallyRefunded}, false, PayPartiallyRefunded},
		{"a full refund", []PaymentStatus{PaymentRefunded}, false, PayRefunded},
		{"failed attempts leave the order waiting", []PaymentStatus{PaymentFailed, PaymentCanceled}, false, PayPending},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := DerivePaymentStatus(c.payments, c.cancelled); got != c.want {
				t.Errorf("got %s, want %s", got, c.want)
			}
		})
	}
}

func TestRollUpProcurement(t *testing.T) {
	cases := []struct {
		lines []ProcurementStatus
		want  ProcurementStatus
	}{
		{nil, ProcPending},
		{[]ProcurementStatus{ProcPaid, ProcCreated}, ProcCreated},
		{[]ProcurementStatus{ProcShipped, ProcCancelled}, ProcShipped},
		{[]ProcurementStatus{ProcCancelled, ProcCancelled}, ProcCancelled},
		{[]ProcurementStatus{ProcCompleted, ProcShipped, ProcCompleted}, ProcShipped},
	}
	for _, c := range cases {
		if got := RollUpProcurement(c.lines); got != c.want {
			t.Errorf("%v: got %s, want %s", c.lines, got, c.want)
		}
	}
}

func TestLabels(t *testing.T) {
	if got := OrderConfirmed.Label("tr"); got != "Onaylandı" {
		t.Errorf("tr confirmed: %q", got)
	}
	if got := OrderShipped.Label("tr"); got != "Kargoya Verildi" {
		t.Errorf("tr shipped: %q", got)
	}
	if got := PayPaid.Label("tr"); got != "Ödendi" {
		t.Errorf("tr paid: %q", got)
	}
	if got := OrderShipped.Label("xx"); got != "Shipped" {
		t.Errorf("fallback: %q", got)
	}
	for _, lang := range []string{"en", "tr", "ru"} {
		for _, s := range OrderStatuses {
			if l := s.Label(lang); l == "order."+string(s) {
				t.Errorf("%s has no %s label", lang, s)
			}
		}
		for _, s := range OrderPaymentStatuses {
			if l := s.Label(lang); l == "payment."+string(s) {
				t.Errorf("%s has no %s label", lang, s)
			}
		}
		for _, s := range ProcurementStatuses {
			if l := s.Label(lang); l == "procurement."+string(s) {
				t.Errorf("%s has no %s label", lang, s)
			}
		}
	}
}

func TestComputeTotals(t *testing.T) {
	ten := &Coupon{Kind: "percent", Value: 10}
	five := &Coupon{Kind: "fixed", Value: 500}
	cases := []struct {
		name                      string
		subtotal, shipping, bonus int64
		coupon                    *Coupon
		use                       bool
		want                      Totals
	}{
		{"plain", 2580, 499, 0, nil, false, Totals{Subtotal: 2580, Shipping: 499, Total: 3079}},
		{"10% rounds down to the cent", 2585, 0, 0, ten, false, Totals{Subtotal: 2585, Discount: 258, Total: 2327}},
		{"fixed never exceeds the subtotal", 300, 100, 0, five, false, Totals{Subtotal: 300, Discount: 300, Shipping: 100, Total: 100}},
		{"bonus pays at most 30%", 10000, 0, 5000, nil, true, Totals{Subtotal: 10000, Bonus: 3000, BonusMax: 3000, Total: 7000}},
		{"bonus no more than the balance", 10000, 0, 1200, nil, true, Totals{Subtotal: 10000, Bonus: 1200, BonusMax: 1200, Total: 8800}},
		{"bonus unused shows what it could take", 10000, 0, 1200, nil, false, Totals{Subtotal: 10000, BonusMax: 1200, Total: 10000}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := ComputeTotals(c.subtotal, c.coupon, c.shipping, c.bonus, c.use, 30); got != c.want {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}
