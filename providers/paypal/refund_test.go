package paypal

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// paidTxn buys invoice for amount USD with the PayPal balance and returns
// the payment's txn_id.
func (e *env) paidTxn(t *testing.T, invoice string, amount int64) string {
	t.Helper()
	e.buy(t, invoice, amount, "USD", "pay")
	for _, ipn := range e.l.got() {
		if ipn.Invoice == invoice && ipn.PaymentStatus == "Completed" {
			return ipn.TxnID
		}
	}
	t.Fatalf("no Completed IPN for %s", invoice)
	return ""
}

// refunded is what PayPal refunded of the payment in all.
func (e *env) refunded(t *testing.T, txnID string) int64 {
	t.Helper()
	txn, err := e.sb.Payment(txnID)
	if err != nil {
		t.Fatal(err)
	}
	return txn.RefundedMinor
}

func refused(err error) bool {
	var pe *Error
	return errors.As(err, &pe) && pe.Refused()
}

func TestMsgSubIDKeepsShortKeysAndHashesLongOnes(t *testing.T) {
	if got := MsgSubID("RF-DEMO-20261202-1A2B3C4D"); got != "RF-DEMO-20261202-1A2B3C4D" {
		t.Fatalf("MsgSubID of a short key = %q", got)
	}
	long := "PAY-DEMO-20261202-1A2B3C4D-refund-0000012345"
	got := MsgSubID(long)
	if len(got) != 38 || !strings.HasPrefix(got, "OD-") || got != MsgSubID(long) || got == MsgSubID(long+"x") {
		t.Fatalf("MsgSubID of a long key = %q", got)
	}
	// Self-computed (Python's hashlib): it must never change, or a retry
	// after an upgrade would refund a second time.
	if got != "OD-59ea2b07f57a807ea43f7a3e5d16e25c708" {
		t.Fatalf("MsgSubID of a long key = %q, want the known answer", got)
	}
	if got := MsgSubID("RF 1"); got == "RF 1" {
		t.Fatal("a key with a space was sent as is")
	}
}

func TestTheSameMsgSubIDRefundsOnce(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	txn := e.paidTxn(t, "ORD-R1", 10000)
	req := RefundRequest{TxnID: txn, AmountMinor: 2500, Currency: "USD", Key: "RF-DEMO-20261202-1A2B3C4D"}
	var wg sync.WaitGroup
	answers := make([]*RefundResult, 5)
	errs := make([]error, 5)
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i], errs[i] = e.client.Refund(ctx, req)
		}()
	}
	wg.Wait()
	for i := range answers {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		if a := answers[i]; a.RefundTxnID != answers[0].RefundTxnID || a.GrossRefundMinor != 2500 || a.MsgSubID != req.Key {
			t.Fatalf("call %d answered %+v, the first %+v", i, a, answers[0])
		}
	}
	if got := e.refunded(t, txn); got != 2500 {
		t.Fatalf("PayPal refunded %d in all, want 2500", got)
	}
	refundIPNs := 0
	for _, ipn := range e.l.got() {
		if ipn.ParentTxnID == txn {
			refundIPNs++
		}
	}
	if refundIPNs != 1 {
		t.Fatalf("%d refund IPNs, want 1", refundIPNs)
	}
}

func TestARefundBeyondWhatWasPaidIsRefused(t *testing.T) {
	e := newEnv(t)
	txn := e.paidTxn(t, "ORD-R2", 10000)
	_, err := e.client.Refund(context.Background(), RefundRequest{TxnID: txn, AmountMinor: 10001, Currency: "USD", Key: "RF-1"})
	var pe *Error
	if !errors.As(err, &pe) || pe.Code != "10009" || !refused(err) {
		t.Fatalf("over-refund: %v", err)
	}
	if got := e.refunded(t, txn); got != 0 {
		t.Fatalf("refunded %d", got)
	}
}

func TestRefundFailureSwitches(t *testing.T) {
	ctx := context.Background()
	t.Run("a refused refund moves nothing and is a definite refusal", func(t *testing.T) {
		e := newEnv(t)
		txn := e.paidTxn(t, "ORD-S1", 10000)
		if err := e.sb.FailNextRefund(FailRefused); err != nil {
			t.Fatal(err)
		}
		_, err := e.client.Refund(ctx, RefundRequest{TxnID: txn, AmountMinor: 100, Currency: "USD", Key: "RF-A"})
		if !refused(err) || e.refunded(t, txn) != 0 {
			t.Fatalf("err = %v, refunded %d", err, e.refunded(t, txn))
		}
	})
	t.Run("an HTTP 500 is an unknown outcome and moves nothing", func(t *testing.T) {
		e := newEnv(t)
		txn := e.paidTxn(t, "ORD-S2", 10000)
		if err := e.sb.FailNextRefund(FailHTTP500); err != nil {
			t.Fatal(err)
		}
		_, err := e.client.Refund(ctx, RefundRequest{TxnID: txn, AmountMinor: 100, Currency: "USD", Key: "RF-B"})
		if err == nil || refused(err) || e.refunded(t, txn) != 0 {
			t.Fatalf("err = %v (refused %v), refunded %d", err, refused(err), e.refunded(t, txn))
		}
	})
	t.Run("a lost answer: refunded, and the retry with the same key answers without refunding again", func(t *testing.T) {
		e := newEnv(t)
		txn := e.paidTxn(t, "ORD-S3", 10000)
		if err := e.sb.FailNextRefund(FailLostAnswer); err != nil {
			t.Fatal(err)
		}
		req := RefundRequest{TxnID: txn, AmountMinor: 100, Currency: "USD", Key: "RF-C"}
		_, err := e.client.Refund(ctx, req)
		if err == nil || refused(err) || e.refunded(t, txn) != 100 {
			t.Fatalf("err = %v (refused %v), refunded %d", err, refused(err), e.refunded(t, txn))
		}
		res, err := e.client.Refund(ctx, req)
		if err != nil || res.GrossRefundMinor != 100 || e.refunded(t, txn) != 100 {
			t.Fatalf("retry = %+v, %v; refunded %d", res, err, e.refunded(t, txn))
		}
	})
	t.Run("the control page sets the switch", func(t *testing.T) {
		e := newEnv(t)
		txn := e.paidTxn(t, "ORD-S4", 10000)
		resp, err := noFollow.PostForm(e.srv.URL+"/_control", url.Values{"action": {"fail_next_refund"}, "value": {"refused"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("control: %d", resp.StatusCode)
		}
		if _, err := e.client.Refund(ctx, RefundRequest{TxnID: txn, AmountMinor: 100, Currency: "USD"}); !refused(err) {
			t.Fatalf("err = %v, want a refusal", err)
		}
	})
}
