package yandexpay

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// refunded is what GetOrder says Yandex Pay refunded of the order in all:
// its successful REFUND operations.
func (e *env) refunded(t *testing.T, orderID string) int64 {
	t.Helper()
	info, err := e.client.GetOrder(context.Background(), orderID)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, op := range info.Operations {
		if op.OperationType == "REFUND" && op.Status == "SUCCESS" {
			n += op.AmountMinor
		}
	}
	return n
}

func refused(err error) bool {
	var ye *Error
	return errors.As(err, &ye) && ye.Refused()
}

func TestARolledBackOrderCanNoLongerBePaid(t *testing.T) {
	e := newEnv(t, true)
	payURL := e.create(t, "rb-1", 5000)
	if err := e.client.Rollback(context.Background(), "rb-1"); err != nil {
		t.Fatal(err)
	}
	info, err := e.client.GetOrder(context.Background(), "rb-1")
	if err != nil || info.PaymentStatus != StatusFailed {
		t.Fatalf("after rollback: %+v, %v; want FAILED", info, err)
	}
	resp, err := http.Get(payURL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(page), `data-testid="sandbox-pay"`) || !strings.Contains(string(page), "cancelled this payment") {
		t.Fatalf("the page of a rolled back order still offers to pay:\n%s", page)
	}
	resp, err = noFollow.PostForm(payURL, url.Values{"action": {"pay"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("pay after rollback: status %d, want 409", resp.StatusCode)
	}
	for _, ev := range e.rc.got() {
		if st := ev.Order.PaymentStatus; st == StatusCaptured || st == StatusAuthorized {
			t.Fatalf("the shop was told %s for a rolled back order", st)
		}
	}
}

func TestCancelOfAPaidOrderIsRefusedAndRollbackRefundsIt(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	click(t, e.create(t, "rb-2", 5000), "pay")
	_, err := e.client.Cancel(ctx, "rb-2", "too late")
	var ye *Error
	if !errors.As(err, &ye) || ye.ReasonCode != "INVALID_PAYMENT_STATUS" || !refused(err) {
		t.Fatalf("cancel of a paid order: %v, want a refused INVALID_PAYMENT_STATUS", err)
	}
	if got := e.refunded(t, "rb-2"); got != 0 {
		t.Fatalf("a refused cancel refunded %d", got)
	}
	// Rollback is the dangerous one: it refunds a paid order, as Yandex Pay
	// documents, which is why the gateway reads the order first.
	if err := e.client.Rollback(ctx, "rb-2"); err != nil {
		t.Fatal(err)
	}
	if got := e.refunded(t, "rb-2"); got != 5000 {
		t.Fatalf("rollback of a paid order refunded %d, want 5000", got)
	}
}

func TestTheSameExternalOperationIDRefundsOnce(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	click(t, e.create(t, "idem-1", 50000), "pay")
	var wg sync.WaitGroup
	ops := make([]*Operation, 5)
	errs := make([]error, 5)
	for i := range ops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ops[i], errs[i] = e.client.RefundOrder(ctx, "idem-1", 10000, 40000, "RF-DEMO-20261202-1A2B3C4D")
		}()
	}
	wg.Wait()
	for i := range ops {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		if ops[i].OperationID != ops[0].OperationID || ops[i].AmountMinor != 10000 || ops[i].OperationType != "REFUND" {
			t.Fatalf("call %d answered %+v, the first %+v", i, ops[i], ops[0])
		}
	}
	if got := e.refunded(t, "idem-1"); got != 10000 {
		t.Fatalf("Yandex Pay refunded %d in all, want 10000", got)
	}
	op, err := e.client.GetOperation(ctx, "RF-DEMO-20261202-1A2B3C4D")
	if err != nil || op.OperationID != ops[0].OperationID || op.OrderID != "idem-1" {
		t.Fatalf("GetOperation = %+v, %v", op, err)
	}
	// A refund computed from a stale read (the order had 50000 left) is
	// refused, not made.
	_, err = e.client.RefundOrder(ctx, "idem-1", 10000, 40000, "RF-DEMO-20261202-5E6F7A8B")
	var ye *Error
	if !errors.As(err, &ye) || ye.ReasonCode != "ORDER_AMOUNT_MISMATCH" || !refused(err) {
		t.Fatalf("stale refund: %v", err)
	}
}

func TestARefundBeyondWhatWasPaidIsRefused(t *testing.T) {
	e := newEnv(t, false)
	click(t, e.create(t, "over-1", 5000), "pay")
	_, err := e.client.Refund(context.Background(), "over-1", 5001, "RF-1")
	var ye *Error
	if !errors.As(err, &ye) || ye.ReasonCode != "INVALID_REFUND_AMOUNT" || !refused(err) {
		t.Fatalf("over-refund: %v", err)
	}
	if got := e.refunded(t, "over-1"); got != 0 {
		t.Fatalf("refunded %d", got)
	}
}

func TestRefundAndCancelFailureSwitches(t *testing.T) {
	ctx := context.Background()
	t.Run("a refused refund moves nothing and is a definite refusal", func(t *testing.T) {
		e := newEnv(t, false)
		click(t, e.create(t, "sw-1", 5000), "pay")
		if err := e.sb.FailNextRefund(FailRefused); err != nil {
			t.Fatal(err)
		}
		_, err := e.client.Refund(ctx, "sw-1", 100, "RF-A")
		if !refused(err) || e.refunded(t, "sw-1") != 0 {
			t.Fatalf("err = %v, refunded %d", err, e.refunded(t, "sw-1"))
		}
	})
	t.Run("an HTTP 500 is an unknown outcome and moves nothing", func(t *testing.T) {
		e := newEnv(t, false)
		click(t, e.create(t, "sw-2", 5000), "pay")
		if err := e.sb.FailNextRefund(FailHTTP500); err != nil {
			t.Fatal(err)
		}
		_, err := e.client.Refund(ctx, "sw-2", 100, "RF-B")
		if err == nil || refused(err) || e.refunded(t, "sw-2") != 0 {
			t.Fatalf("err = %v (refused %v), refunded %d", err, refused(err), e.refunded(t, "sw-2"))
		}
	})
	t.Run("a lost answer: refunded, and the retry with the same id answers without refunding again", func(t *testing.T) {
		e := newEnv(t, false)
		click(t, e.create(t, "sw-3", 5000), "pay")
		if err := e.sb.FailNextRefund(FailLostAnswer); err != nil {
			t.Fatal(err)
		}
		// The whole amount: the order is REFUNDED when the retry comes.
		_, err := e.client.RefundOrder(ctx, "sw-3", 5000, 0, "RF-C")
		if err == nil || refused(err) || e.refunded(t, "sw-3") != 5000 {
			t.Fatalf("err = %v (refused %v), refunded %d", err, refused(err), e.refunded(t, "sw-3"))
		}
		op, err := e.client.RefundOrder(ctx, "sw-3", 5000, 0, "RF-C")
		if err != nil || op.AmountMinor != 5000 || e.refunded(t, "sw-3") != 5000 {
			t.Fatalf("retry = %+v, %v; refunded %d", op, err, e.refunded(t, "sw-3"))
		}
	})
	t.Run("a refused rollback leaves the order payable", func(t *testing.T) {
		e := newEnv(t, false)
		payURL := e.create(t, "sw-4", 5000)
		if err := e.sb.FailNextCancel(FailRefused); err != nil {
			t.Fatal(err)
		}
		err := e.client.Rollback(ctx, "sw-4")
		if !refused(err) {
			t.Fatalf("err = %v, want a refusal", err)
		}
		if loc := click(t, payURL, "pay"); loc != "https://shop.test/ok" {
			t.Fatalf("pay after a refused rollback went to %q", loc)
		}
	})
	t.Run("the control page sets the switches", func(t *testing.T) {
		e := newEnv(t, false)
		for _, v := range []url.Values{
			{"action": {"fail_next_cancel"}, "value": {"lost"}},
			{"action": {"fail_next_refund"}, "value": {"refused"}},
		} {
			resp, err := noFollow.PostForm(e.srv.URL+"/_control", v)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("POST %v: %d", v, resp.StatusCode)
			}
		}
		e.create(t, "sw-5", 5000)
		err := e.client.Rollback(ctx, "sw-5")
		if info, _ := e.client.GetOrder(ctx, "sw-5"); err == nil || refused(err) || info.PaymentStatus != StatusFailed {
			t.Fatalf("lost rollback: err %v, status %s", err, info.PaymentStatus)
		}
	})
}
