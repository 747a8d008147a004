package dolyami

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

// paidOrder is a committed (and so completed) order of 1 500,50 ₽.
func (e *env) paidOrder(id string) string {
	e.t.Helper()
	res := e.create(id)
	e.press(res.Link, "pay")
	if _, err := e.commit(res.ID); err != nil {
		e.t.Fatal(err)
	}
	return res.ID
}

// refunded is what Info says Dolyami has refunded of the order in all.
func (e *env) refunded(id string) int64 {
	e.t.Helper()
	info := e.info(id)
	if info.RefundInfo == nil {
		return 0
	}
	return info.RefundInfo.TotalRefundedAmount
}

func refused(err error) bool {
	var de *Error
	return errors.As(err, &de) && de.Refused()
}

func TestCorrelationIDIsAStableUUIDOfTheKey(t *testing.T) {
	a, b := CorrelationID("RF-DEMO-20261202-1A2B3C4D"), CorrelationID("RF-DEMO-20261202-1A2B3C4D")
	if a != b || !uuidRE.MatchString(a) || a[14] != '5' {
		t.Fatalf("CorrelationID = %q, %q; want the same version-5 UUID twice", a, b)
	}
	if CorrelationID("RF-DEMO-20261202-1A2B3C4E") == a {
		t.Fatal("two keys gave the same correlation id")
	}
	// Self-computed with another implementation (Python's uuid.uuid5 with
	// this package's namespace). It must never change: a retry after an
	// upgrade would otherwise refund a second time.
	if a != "f1ca0f10-db34-51d4-a64a-8f36b783cdac" {
		t.Fatalf("CorrelationID = %q, want the known answer", a)
	}
}

func TestACancelledOrderCanNoLongerBePaid(t *testing.T) {
	e := newEnv(t)
	res := e.create("ORD-C1")
	c, err := e.client.Cancel(context.Background(), res.ID)
	if err != nil || c.Status != StatusCanceled {
		t.Fatalf("Cancel = %+v, %v", c, err)
	}
	resp, err := e.browser.Get(res.Link)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(page), `data-testid="sandbox-pay"`) || !strings.Contains(string(page), "Заказ отменен") {
		t.Fatalf("the form of a cancelled order still offers to pay:\n%s", page)
	}
	resp, err = e.browser.PostForm(res.Link, url.Values{"action": {"pay"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict || e.info(res.ID).Status != StatusCanceled {
		t.Fatalf("pay after cancel: status %d, order %s; want 409 and canceled", resp.StatusCode, e.info(res.ID).Status)
	}
	for _, st := range e.rc.statuses() {
		if st == StatusApproved {
			t.Fatalf("the shop was told approved for a cancelled order (%v)", e.rc.statuses())
		}
	}
}

func TestCancelOfAPaidOrderIsRefusedAndRefundsNothing(t *testing.T) {
	e := newEnv(t)
	id := e.paidOrder("ORD-C2")
	_, err := e.client.Cancel(context.Background(), id)
	wantError(t, err, http.StatusConflict, codeWrongStatus)
	if !refused(err) {
		t.Fatalf("%v: Refused() = false", err)
	}
	if info := e.info(id); info.Status != StatusCompleted || e.refunded(id) != 0 {
		t.Fatalf("after a refused cancel: %s, refunded %d", info.Status, e.refunded(id))
	}
}

func TestTheSameRefundKeyRefundsOnce(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := e.paidOrder("ORD-C3")
	req := RefundRequest{Amount: 10000, Key: "RF-DEMO-20261202-1A2B3C4D"}
	var wg sync.WaitGroup
	answers := make([]*RefundResponse, 5)
	errs := make([]error, 5)
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i], errs[i] = e.client.Refund(ctx, id, req)
		}()
	}
	wg.Wait()
	for i := range answers {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		if answers[i].RefundID != answers[0].RefundID || answers[i].Amount != 10000 {
			t.Fatalf("call %d answered %+v, the first %+v", i, answers[i], answers[0])
		}
	}
	if got := e.refunded(id); got != 10000 {
		t.Fatalf("Dolyami refunded %d in all, want 10000", got)
	}
	// Another key is another refund.
	if _, err := e.client.Refund(ctx, id, RefundRequest{Amount: 10000, Key: "RF-DEMO-20261202-5E6F7A8B"}); err != nil {
		t.Fatal(err)
	}
	if got := e.refunded(id); got != 20000 {
		t.Fatalf("after a second refund Dolyami refunded %d, want 20000", got)
	}
}

func TestARefundBeyondWhatWasPaidIsRefused(t *testing.T) {
	e := newEnv(t)
	id := e.paidOrder("ORD-C4")
	_, err := e.client.Refund(context.Background(), id, RefundRequest{Amount: 150051, Key: "RF-1"})
	wantError(t, err, http.StatusBadRequest, codeAmountMismatch)
	if !refused(err) || e.refunded(id) != 0 {
		t.Fatalf("err = %v (refused %v), refunded %d", err, refused(err), e.refunded(id))
	}
}

func TestRefundAndCancelFailureSwitches(t *testing.T) {
	ctx := context.Background()
	t.Run("a refused refund moves nothing and is a definite refusal", func(t *testing.T) {
		e := newEnv(t)
		id := e.paidOrder("ORD-S1")
		e.sb.FailNextRefund(FailRefused)
		_, err := e.client.Refund(ctx, id, RefundRequest{Amount: 100, Key: "RF-A"})
		wantError(t, err, http.StatusUnprocessableEntity, codeRejected)
		if !refused(err) || e.refunded(id) != 0 {
			t.Fatalf("err = %v, refunded %d", err, e.refunded(id))
		}
		if !strings.Contains(Explain(err), "declined the operation") {
			t.Fatalf("Explain = %q", Explain(err))
		}
	})
	t.Run("an HTTP 500 is an unknown outcome and moves nothing", func(t *testing.T) {
		e := newEnv(t)
		id := e.paidOrder("ORD-S2")
		e.sb.FailNextRefund(FailHTTP500)
		_, err := e.client.Refund(ctx, id, RefundRequest{Amount: 100, Key: "RF-B"})
		if err == nil || refused(err) || e.refunded(id) != 0 {
			t.Fatalf("err = %v (refused %v), refunded %d", err, refused(err), e.refunded(id))
		}
	})
	t.Run("a lost answer: refunded, and the retry with the same key answers without refunding again", func(t *testing.T) {
		e := newEnv(t)
		id := e.paidOrder("ORD-S3")
		e.sb.FailNextRefund(FailLostAnswer)
		_, err := e.client.Refund(ctx, id, RefundRequest{Amount: 100, Key: "RF-C"})
		if err == nil || refused(err) || e.refunded(id) != 100 {
			t.Fatalf("err = %v (refused %v), refunded %d; want an unknown outcome and 100 refunded", err, refused(err), e.refunded(id))
		}
		r, err := e.client.Refund(ctx, id, RefundRequest{Amount: 100, Key: "RF-C"})
		if err != nil || r.Amount != 100 || e.refunded(id) != 100 {
			t.Fatalf("retry = %+v, %v; refunded %d, want 100", r, err, e.refunded(id))
		}
	})
	t.Run("a refused cancel leaves the order open; a lost one closes it", func(t *testing.T) {
		e := newEnv(t)
		res := e.create("ORD-S4")
		e.sb.FailNextCancel(FailRefused)
		_, err := e.client.Cancel(ctx, res.ID)
		if !refused(err) || e.info(res.ID).Status != StatusNew {
			t.Fatalf("err = %v, status %s", err, e.info(res.ID).Status)
		}
		e.sb.FailNextCancel(FailLostAnswer)
		_, err = e.client.Cancel(ctx, res.ID)
		if err == nil || refused(err) || e.info(res.ID).Status != StatusCanceled {
			t.Fatalf("err = %v, status %s", err, e.info(res.ID).Status)
		}
	})
}
