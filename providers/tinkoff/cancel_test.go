package tinkoff

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// amountAt is what GetState says is left of the payment: the bank's running
// total, from which a test reads what was refunded in all.
func (e *env) amountAt(pid string) int64 {
	e.t.Helper()
	st, err := e.client.GetState(context.Background(), pid)
	if err != nil {
		e.t.Fatalf("GetState: %v", err)
	}
	return st.Amount
}

func TestACancelledPaymentCanNoLongerBePaid(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	res := e.init(InitRequest{Amount: 1000})
	// The customer has the form open when the shop closes the payment.
	resp, err := e.browser.Get(res.PaymentURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	c, err := e.client.Cancel(ctx, CancelRequest{PaymentID: res.PaymentID})
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != StatusCanceled || Stage(c.Status) != StageCanceled {
		t.Fatalf("Cancel = %+v, want CANCELED", c)
	}
	resp, err = e.browser.Get(res.PaymentURL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(page), `data-testid="sandbox-pay"`) || !strings.Contains(string(page), "отменен магазином") {
		t.Fatalf("the form of a cancelled payment still offers to pay:\n%s", page)
	}
	resp, err = e.browser.PostForm(res.PaymentURL, url.Values{"action": {"pay"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("pay after cancel: status %d, want 409", resp.StatusCode)
	}
	if st := e.state(res.PaymentID); st != StatusCanceled {
		t.Fatalf("GetState = %s, want CANCELED", st)
	}
	for _, st := range e.rc.statuses() {
		if st == StatusAuthorized || st == StatusConfirmed {
			t.Fatalf("the shop was told %s for a cancelled payment (all: %v)", st, e.rc.statuses())
		}
	}
}

func TestCancelOfAPaidPaymentIsARefundAsAtTheBank(t *testing.T) {
	e := newEnv(t)
	res := e.init(InitRequest{Amount: 1000})
	e.press(res.PaymentURL, "pay")
	c, err := e.client.Cancel(context.Background(), CancelRequest{PaymentID: res.PaymentID})
	if err != nil {
		t.Fatal(err)
	}
	// This is why the gateway asks GetState before closing a payment.
	if c.Status != StatusRefunded || e.amountAt(res.PaymentID) != 0 {
		t.Fatalf("Cancel of a CONFIRMED payment = %+v, want REFUNDED", c)
	}
}

func TestTheSameExternalRequestIdRefundsOnce(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	res := e.init(InitRequest{Amount: 50000})
	e.press(res.PaymentURL, "pay")
	req := CancelRequest{PaymentID: res.PaymentID, Amount: 10000, ExternalRequestID: "RF-DEMO-20261202-1A2B3C4D"}

	// Five clicks at once, all with the key of one refund.
	var wg sync.WaitGroup
	answers := make([]*CancelResponse, 5)
	errs := make([]error, 5)
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i], errs[i] = e.client.Cancel(ctx, req)
		}()
	}
	wg.Wait()
	for i := range answers {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		if a := answers[i]; a.Status != StatusPartialRefunded || a.OriginalAmount != 50000 || a.NewAmount != 40000 {
			t.Fatalf("call %d answered %+v, want the first answer (50000 → 40000)", i, a)
		}
	}
	if left := e.amountAt(res.PaymentID); left != 40000 {
		t.Fatalf("the bank has %d left of 50000, want 40000: it refunded %d in all", left, 50000-left)
	}
	refunds := 0
	for _, st := range e.rc.statuses() {
		if st == StatusPartialRefunded {
			refunds++
		}
	}
	if refunds != 1 {
		t.Fatalf("%d refund notifications, want 1 (%v)", refunds, e.rc.statuses())
	}

	// Another refund has another key and is made.
	c, err := e.client.Cancel(ctx, CancelRequest{PaymentID: res.PaymentID, Amount: 10000, ExternalRequestID: "RF-DEMO-20261202-5E6F7A8B"})
	if err != nil || c.NewAmount != 30000 {
		t.Fatalf("second refund = %+v, %v", c, err)
	}
}

func TestARefundBeyondWhatWasPaidIsRefused(t *testing.T) {
	e := newEnv(t)
	res := e.init(InitRequest{Amount: 1000})
	e.press(res.PaymentURL, "pay")
	_, err := e.client.Cancel(context.Background(), CancelRequest{PaymentID: res.PaymentID, Amount: 1001, ExternalRequestID: "RF-1"})
	if te := wantCode(t, err, CodeBadAmount); !te.Refused() {
		t.Fatalf("%v: Refused() = false, want a definite refusal", err)
	}
	if left := e.amountAt(res.PaymentID); left != 1000 {
		t.Fatalf("after a refused refund %d is left, want 1000", left)
	}
}

func TestRefundAndCancelFailureSwitches(t *testing.T) {
	ctx := context.Background()
	paid := func(e *env) string {
		res := e.init(InitRequest{Amount: 1000})
		e.press(res.PaymentURL, "pay")
		return res.PaymentID
	}
	refused := func(err error) bool {
		var te *Error
		return errors.As(err, &te) && te.Refused()
	}

	t.Run("a refused refund moves nothing and is a definite refusal", func(t *testing.T) {
		e := newEnv(t)
		pid := paid(e)
		e.sb.FailNextRefund(FailRefused)
		_, err := e.client.Cancel(ctx, CancelRequest{PaymentID: pid, Amount: 300, ExternalRequestID: "RF-A"})
		if !refused(err) || e.amountAt(pid) != 1000 {
			t.Fatalf("err = %v (refused %v), left %d; want a refusal and 1000 left", err, refused(err), e.amountAt(pid))
		}
		// The switch is used up: the same refund now goes through.
		if c, err := e.client.Cancel(ctx, CancelRequest{PaymentID: pid, Amount: 300, ExternalRequestID: "RF-A"}); err != nil || c.NewAmount != 700 {
			t.Fatalf("retry = %+v, %v", c, err)
		}
	})
	t.Run("an HTTP 500 is an unknown outcome", func(t *testing.T) {
		e := newEnv(t)
		pid := paid(e)
		e.sb.FailNextRefund(FailHTTP500)
		_, err := e.client.Cancel(ctx, CancelRequest{PaymentID: pid, Amount: 300, ExternalRequestID: "RF-B"})
		if err == nil || refused(err) {
			t.Fatalf("err = %v, want an error that is not a refusal", err)
		}
		if left := e.amountAt(pid); left != 1000 {
			t.Fatalf("left %d, want 1000", left)
		}
	})
	t.Run("a lost answer: refunded, and the retry with the same key answers without refunding again", func(t *testing.T) {
		e := newEnv(t)
		pid := paid(e)
		e.sb.FailNextRefund(FailLostAnswer)
		_, err := e.client.Cancel(ctx, CancelRequest{PaymentID: pid, Amount: 300, ExternalRequestID: "RF-C"})
		if err == nil || refused(err) {
			t.Fatalf("err = %v, want an error that is not a refusal", err)
		}
		if left := e.amountAt(pid); left != 700 {
			t.Fatalf("left %d, want 700: the bank did refund", left)
		}
		c, err := e.client.Cancel(ctx, CancelRequest{PaymentID: pid, Amount: 300, ExternalRequestID: "RF-C"})
		if err != nil || c.Status != StatusPartialRefunded || c.NewAmount != 700 {
			t.Fatalf("retry = %+v, %v; want the first answer", c, err)
		}
		if left := e.amountAt(pid); left != 700 {
			t.Fatalf("after the retry %d is left, want 700", left)
		}
	})
	t.Run("a refused cancel leaves the payment open", func(t *testing.T) {
		e := newEnv(t)
		res := e.init(InitRequest{Amount: 1000})
		e.sb.FailNextCancel(FailRefused)
		_, err := e.client.Cancel(ctx, CancelRequest{PaymentID: res.PaymentID})
		if !refused(err) || e.state(res.PaymentID) != StatusNew {
			t.Fatalf("err = %v, state %s; want a refusal and NEW", err, e.state(res.PaymentID))
		}
		// The refund switch is not the cancel switch.
		e.sb.FailNextRefund(FailRefused)
		if c, err := e.client.Cancel(ctx, CancelRequest{PaymentID: res.PaymentID}); err != nil || c.Status != StatusCanceled {
			t.Fatalf("Cancel = %+v, %v", c, err)
		}
	})
}

func TestCancelSignsExternalRequestIdLikeTheBank(t *testing.T) {
	var got map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v2/Cancel" {
			t.Errorf("request to %s, want /v2/Cancel", r.URL.Path)
		}
		dec := json.NewDecoder(r.Body)
		dec.UseNumber()
		if err := dec.Decode(&got); err != nil {
			t.Error(err)
		}
		io.WriteString(w, `{"Success":true,"ErrorCode":"0","TerminalKey":"1700000000000DEMO","Status":"PARTIAL_REFUNDED","PaymentId":"7000000001","OrderId":"o-1","OriginalAmount":10000,"NewAmount":5000,"ExternalRequestId":"RF-DEMO-20261202-1A2B3C4D"}`)
	}))
	defer srv.Close()
	c := New(Config{BaseURL: srv.URL + "/v2", TerminalKey: DemoTerminalKey, Password: DemoPassword})
	res, err := c.Cancel(context.Background(), CancelRequest{PaymentID: "7000000001", Amount: 5000, ExternalRequestID: "RF-DEMO-20261202-1A2B3C4D"})
	if err != nil {
		t.Fatal(err)
	}
	if res.NewAmount != 5000 || res.OriginalAmount != 10000 || res.ExternalRequestID != "RF-DEMO-20261202-1A2B3C4D" {
		t.Fatalf("answer = %+v", res)
	}
	if got["ExternalRequestId"] != "RF-DEMO-20261202-1A2B3C4D" {
		t.Fatalf("request = %v, want ExternalRequestId at the root", got)
	}
	// Self-computed with Python's hashlib from the bank's token rule:
	// sha256(Amount + ExternalRequestId + Password + PaymentId + TerminalKey),
	// the root scalars sorted by name.
	if tok := got["Token"]; tok != "7eb4e73567c3767953ab4e2270c22ed189cc53bf3f0b1c5d8988d3bf5d624dff" {
		t.Fatalf("Token = %v, want the known answer", tok)
	}
}
