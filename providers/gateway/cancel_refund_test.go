package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"orderdesk/providers/dolyami"
	"orderdesk/providers/paypal"
	"orderdesk/providers/tinkoff"
	"orderdesk/providers/yandexpay"
)

// failure is a sandbox switch for the next cancel or refund.
type failure string

const (
	failRefused failure = "refused" // the provider refuses: nothing done
	fail500     failure = "500"     // HTTP 500: nothing done
	failLost    failure = "lost"    // done, then HTTP 500
)

// harness drives one provider's gateway against its sandbox, the same way
// for every provider.
type harness struct {
	name string
	g    Gateway
	rc   *receiver
	cur  string
	// create starts a payment; its customer has not paid.
	create func(t *testing.T, ref string, amount int64) *Created
	// pay has the customer pay c and returns the provider ref to refund.
	pay func(t *testing.T, c *Created) string
	// hold has the customer pay c without the money being taken yet (a
	// two-stage hold, an approved Dolyami buyer) and returns its ref.
	hold func(t *testing.T, c *Created) string
	// refunded is what the provider says it refunded of the payment in
	// all (amount is the payment's amount).
	refunded func(t *testing.T, ref string, amount int64) int64
	// failNextRefund, failNextCancel and failNextCall set the sandbox's
	// switches (failNextCall: the next API call of any kind, HTTP 500).
	failNextRefund func(t *testing.T, f failure)
	failNextCancel func(t *testing.T, f failure)
	failNextCall   func(t *testing.T)
}

func checkSwitch(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (h *harness) createFor(t *testing.T, ref string, amount int64, notifyPath string) *Created {
	t.Helper()
	req := CreateRequest{
		Reference: ref, OrderNumber: "ORD-DEMO-00000009-abcdef09", AmountMinor: amount, Currency: h.cur,
		Items:     []Item{{Name: "Tea", Quantity: 1, UnitMinor: amount}},
		ReturnURL: okURL, FailURL: failURL,
	}
	if notifyPath != "" {
		req.NotifyURL = h.rc.srv.URL + notifyPath
	}
	c, err := h.g.Create(context.Background(), req)
	if err != nil {
		t.Fatalf("Create: %v (%s)", err, Explain(err))
	}
	return c
}

func newTinkoffHarness(t *testing.T) *harness {
	sb, err := tinkoff.NewSandbox(openDB(t), tinkoff.SandboxConfig{})
	if err != nil {
		t.Fatal(err)
	}
	base := mount(t, "tinkoff", sb)
	sb.SetBaseURL(base)
	h := &harness{name: "tinkoff", rc: newReceiver(t), cur: "RUB"}
	h.g = mustNew(t, Config{Provider: Tinkoff, Endpoint: base, APIKey: tinkoff.DemoTerminalKey, APISecret: tinkoff.DemoPassword})
	twoStage := mustNew(t, Config{Provider: Tinkoff, Endpoint: base, APIKey: tinkoff.DemoTerminalKey, APISecret: tinkoff.DemoPassword,
		Settings: map[string]string{"pay_type": "T"}})
	h.rc.use(h.g)
	h.create = func(t *testing.T, ref string, amount int64) *Created {
		return h.createFor(t, ref, amount, "/webhooks/tinkoff")
	}
	h.pay = func(t *testing.T, c *Created) string {
		press(t, c.PaymentURL, "pay")
		return c.Ref
	}
	h.hold = func(t *testing.T, _ *Created) string {
		c, err := twoStage.Create(context.Background(), CreateRequest{Reference: "PAY-HOLD-T", AmountMinor: 5000,
			Currency: "RUB", ReturnURL: okURL, FailURL: failURL, NotifyURL: h.rc.srv.URL + "/webhooks/tinkoff"})
		if err != nil {
			t.Fatal(err)
		}
		press(t, c.PaymentURL, "pay")
		return c.Ref
	}
	h.refunded = func(t *testing.T, ref string, amount int64) int64 {
		t.Helper()
		// GetState's Amount is what is left of the payment.
		st, err := h.g.State(context.Background(), ref)
		if err != nil {
			t.Fatal(err)
		}
		return amount - st.AmountMinor
	}
	modes := map[failure]tinkoff.FailMode{failRefused: tinkoff.FailRefused, fail500: tinkoff.FailHTTP500, failLost: tinkoff.FailLostAnswer}
	h.failNextRefund = func(t *testing.T, f failure) { sb.FailNextRefund(modes[f]) }
	h.failNextCancel = func(t *testing.T, f failure) { sb.FailNextCancel(modes[f]) }
	h.failNextCall = func(t *testing.T) { sb.FailNext(tinkoff.FailHTTP500) }
	return h
}

func newDolyamiHarness(t *testing.T) *harness {
	sb, err := dolyami.NewSandbox(openDB(t), dolyami.SandboxConfig{})
	if err != nil {
		t.Fatal(err)
	}
	base := mount(t, "dolyami", sb)
	sb.SetBaseURL(base)
	h := &harness{name: "dolyami", rc: newReceiver(t), cur: "RUB"}
	h.g = mustNew(t, Config{Provider: Dolyami, Endpoint: base, APIKey: dolyami.DemoLogin, APISecret: dolyami.DemoPassword})
	h.rc.use(h.g)
	h.create = func(t *testing.T, ref string, amount int64) *Created {
		return h.createFor(t, ref, amount, "/webhooks/dolyami")
	}
	h.pay = func(t *testing.T, c *Created) string {
		t.Helper()
		press(t, c.PaymentURL, "pay")
		// The notification made the gateway commit the order.
		if o, _ := sb.Order(c.Ref); o.Status != dolyami.StatusCompleted {
			t.Fatalf("the paid order is %s, want completed", o.Status)
		}
		return c.Ref
	}
	h.hold = func(t *testing.T, _ *Created) string {
		// Without a notification nobody commits: the buyer stays approved.
		c := h.createFor(t, "PAY-HOLD-D", 5000, "")
		press(t, c.PaymentURL, "pay")
		return c.Ref
	}
	h.refunded = func(t *testing.T, ref string, _ int64) int64 {
		t.Helper()
		st, err := h.g.State(context.Background(), ref)
		if err != nil {
			t.Fatal(err)
		}
		return st.RefundedMinor
	}
	modes := map[failure]dolyami.FailMode{failRefused: dolyami.FailRefused, fail500: dolyami.FailHTTP500, failLost: dolyami.FailLostAnswer}
	h.failNextRefund = func(t *testing.T, f failure) { sb.FailNextRefund(modes[f]) }
	h.failNextCancel = func(t *testing.T, f failure) { sb.FailNextCancel(modes[f]) }
	h.failNextCall = func(t *testing.T) { sb.FailNext(dolyami.FailHTTP500) }
	return h
}

func newYandexHarness(t *testing.T) *harness {
	sb, err := yandexpay.NewSandbox(openDB(t), yandexpay.SandboxConfig{})
	if err != nil {
		t.Fatal(err)
	}
	base := mount(t, "yandexpay", sb)
	sb.SetBaseURL(base)
	h := &harness{name: "yandexpay", rc: newReceiver(t), cur: "RUB"}
	checkSwitch(t, sb.SetCallbackURL(h.rc.srv.URL))
	h.g = mustNew(t, Config{Provider: YandexPay, Endpoint: base, APIKey: yandexpay.DemoAPIKey,
		Settings: map[string]string{"merchant_id": yandexpay.DemoMerchantID}})
	h.rc.use(h.g)
	h.create = func(t *testing.T, ref string, amount int64) *Created {
		return h.createFor(t, ref, amount, "")
	}
	h.pay = func(t *testing.T, c *Created) string {
		press(t, c.PaymentURL, "pay")
		return c.Ref
	}
	h.hold = func(t *testing.T, _ *Created) string {
		checkSwitch(t, sb.SetTwoStage(true))
		defer func() { checkSwitch(t, sb.SetTwoStage(false)) }()
		c := h.createFor(t, "PAY-HOLD-Y", 5000, "")
		press(t, c.PaymentURL, "pay")
		return c.Ref
	}
	h.refunded = func(t *testing.T, ref string, _ int64) int64 {
		t.Helper()
		st, err := h.g.State(context.Background(), ref)
		if err != nil {
			t.Fatal(err)
		}
		return st.RefundedMinor
	}
	modes := map[failure]yandexpay.FailMode{failRefused: yandexpay.FailRefused, fail500: yandexpay.FailHTTP500, failLost: yandexpay.FailLostAnswer}
	h.failNextRefund = func(t *testing.T, f failure) { checkSwitch(t, sb.FailNextRefund(modes[f])) }
	h.failNextCancel = func(t *testing.T, f failure) { checkSwitch(t, sb.FailNextCancel(modes[f])) }
	h.failNextCall = func(t *testing.T) { checkSwitch(t, sb.FailNext()) }
	return h
}

func newPayPalHarness(t *testing.T) *harness {
	sb, err := paypal.NewSandbox(openDB(t), paypal.SandboxConfig{})
	if err != nil {
		t.Fatal(err)
	}
	base := mount(t, "paypal", sb)
	sb.SetBaseURL(base)
	h := &harness{name: "paypal", rc: newReceiver(t), cur: "USD"}
	h.g = mustNew(t, Config{Provider: PayPal, Endpoint: base, APIKey: paypal.DemoBusiness,
		APISecret: paypal.DemoAPIUsername + ":" + paypal.DemoAPIPassword + ":" + paypal.DemoAPISignature})
	h.rc.use(h.g)
	h.create = func(t *testing.T, ref string, amount int64) *Created {
		return h.createFor(t, ref, amount, "/webhooks/paypal")
	}
	h.pay = func(t *testing.T, c *Created) string {
		t.Helper()
		press(t, c.PaymentURL, "pay")
		h.rc.mu.Lock()
		defer h.rc.mu.Unlock()
		for _, n := range h.rc.got {
			if n.Reference == c.Ref && n.Stage == StageCompleted {
				return n.Ref // the txn_id: PayPal refunds by it
			}
		}
		t.Fatalf("no completed IPN for %s", c.Ref)
		return ""
	}
	h.refunded = func(t *testing.T, ref string, _ int64) int64 {
		t.Helper()
		// PayPal has no status query here: the sandbox's own record.
		txn, err := sb.Payment(ref)
		if err != nil {
			t.Fatal(err)
		}
		return txn.RefundedMinor
	}
	modes := map[failure]paypal.FailMode{failRefused: paypal.FailRefused, fail500: paypal.FailHTTP500, failLost: paypal.FailLostAnswer}
	h.failNextRefund = func(t *testing.T, f failure) { checkSwitch(t, sb.FailNextRefund(modes[f])) }
	h.failNextCall = func(t *testing.T) { checkSwitch(t, sb.FailNext()) }
	return h
}

// wantRefused checks that err is a definite refusal, or (refused false) an
// unknown outcome.
func wantRefused(t *testing.T, err error, refused bool) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	if Refused(err) != refused {
		t.Fatalf("Refused(%v) = %v, want %v", err, !refused, refused)
	}
	if Explain(err) == "" {
		t.Fatalf("Explain(%v) is empty", err)
	}
}

func TestRefundsAreMadeOncePerKey(t *testing.T) {
	t.Parallel()
	for _, newHarness := range []func(*testing.T) *harness{newTinkoffHarness, newDolyamiHarness, newYandexHarness, newPayPalHarness} {
		h := newHarness(t)
		t.Run(h.name, func(t *testing.T) {
			ctx := context.Background()
			n := 0
			paid := func(t *testing.T, amount int64) string {
				n++
				return h.pay(t, h.create(t, fmt.Sprintf("PAY-DEMO-R-%04d", n), amount))
			}
			refund := func(ref string, amount int64, key string) (*State, error) {
				return h.g.Refund(ctx, RefundRequest{Ref: ref, AmountMinor: amount, Currency: h.cur, Key: key})
			}

			t.Run("five refunds with the same key at once refund once", func(t *testing.T) {
				ref := paid(t, 50000)
				var wg sync.WaitGroup
				states := make([]*State, 5)
				errs := make([]error, 5)
				for i := range states {
					wg.Add(1)
					go func() {
						defer wg.Done()
						states[i], errs[i] = refund(ref, 10000, "RF-DEMO-20261202-1A2B3C4D")
					}()
				}
				wg.Wait()
				for i := range states {
					if errs[i] != nil {
						t.Fatalf("call %d: %v (%s)", i, errs[i], Explain(errs[i]))
					}
					if states[i].RefundMinor != 10000 {
						t.Fatalf("call %d: RefundMinor %d, want 10000 (%+v)", i, states[i].RefundMinor, states[i])
					}
				}
				if got := h.refunded(t, ref, 50000); got != 10000 {
					t.Fatalf("the provider refunded %d in all, want 10000", got)
				}
				// A second refund has its own key and is made.
				if _, err := refund(ref, 10000, "RF-DEMO-20261202-5E6F7A8B"); err != nil {
					t.Fatal(err)
				}
				if got := h.refunded(t, ref, 50000); got != 20000 {
					t.Fatalf("after a second refund the provider refunded %d, want 20000", got)
				}
			})

			t.Run("a refund beyond what was paid is refused", func(t *testing.T) {
				ref := paid(t, 5000)
				_, err := refund(ref, 5001, "RF-OVER")
				wantRefused(t, err, true)
				if got := h.refunded(t, ref, 5000); got != 0 {
					t.Fatalf("refunded %d", got)
				}
			})

			t.Run("a refund the provider refuses is Refused and moves nothing", func(t *testing.T) {
				ref := paid(t, 5000)
				h.failNextRefund(t, failRefused)
				_, err := refund(ref, 1000, "RF-REFUSED")
				wantRefused(t, err, true)
				if got := h.refunded(t, ref, 5000); got != 0 {
					t.Fatalf("refunded %d", got)
				}
			})

			t.Run("an HTTP 500 is an unknown outcome, not a refusal", func(t *testing.T) {
				ref := paid(t, 5000)
				h.failNextRefund(t, fail500)
				_, err := refund(ref, 1000, "RF-500")
				wantRefused(t, err, false)
				if got := h.refunded(t, ref, 5000); got != 0 {
					t.Fatalf("refunded %d", got)
				}
			})

			t.Run("a lost answer is not a refusal, and the retry with the same key answers without refunding again", func(t *testing.T) {
				ref := paid(t, 5000)
				h.failNextRefund(t, failLost)
				_, err := refund(ref, 1000, "RF-LOST")
				wantRefused(t, err, false)
				if got := h.refunded(t, ref, 5000); got != 1000 {
					t.Fatalf("the provider refunded %d, want 1000: the answer was lost, not the refund", got)
				}
				st, err := refund(ref, 1000, "RF-LOST")
				if err != nil || st.RefundMinor != 1000 {
					t.Fatalf("retry = %+v, %v (%s)", st, err, Explain(err))
				}
				if got := h.refunded(t, ref, 5000); got != 1000 {
					t.Fatalf("after the retry the provider refunded %d, want 1000", got)
				}
			})

			t.Run("the whole remainder retried after a lost answer is answered, not refunded twice", func(t *testing.T) {
				ref := paid(t, 5000)
				h.failNextRefund(t, failLost)
				_, err := refund(ref, 0, "RF-REST")
				wantRefused(t, err, false)
				st, err := refund(ref, 0, "RF-REST")
				if err != nil || st.RefundMinor != 5000 {
					t.Fatalf("retry = %+v, %v (%s)", st, err, Explain(err))
				}
				if got := h.refunded(t, ref, 5000); got != 5000 {
					t.Fatalf("the provider refunded %d, want 5000", got)
				}
			})

			t.Run("a refund without a key is not sent", func(t *testing.T) {
				ref := paid(t, 5000)
				_, err := refund(ref, 1000, "")
				wantErr(t, err, ErrBadRequest, "idempotency key")
				wantRefused(t, err, true)
			})
		})
	}
}

func TestCancelClosesOnlyWhatIsNotPaid(t *testing.T) {
	t.Parallel()
	for _, newHarness := range []func(*testing.T) *harness{newTinkoffHarness, newDolyamiHarness, newYandexHarness} {
		h := newHarness(t)
		t.Run(h.name, func(t *testing.T) {
			ctx := context.Background()
			n := 0
			create := func(t *testing.T, amount int64) *Created {
				n++
				return h.create(t, fmt.Sprintf("PAY-DEMO-C-%04d", n), amount)
			}

			t.Run("an unpaid payment is closed and can no longer be paid", func(t *testing.T) {
				c := create(t, 5000)
				// The customer has the payment page open.
				resp, err := browser.Get(c.PaymentURL)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				st, err := h.g.Cancel(ctx, c.Ref)
				if err != nil {
					t.Fatalf("Cancel: %v (%s)", err, Explain(err))
				}
				if st.Stage != StageCanceled || !st.Final || st.Reason == "" {
					t.Fatalf("Cancel = %+v, want a final canceled stage with a reason", st)
				}
				resp, err = browser.Get(c.PaymentURL)
				if err != nil {
					t.Fatal(err)
				}
				page, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if strings.Contains(string(page), `data-testid="sandbox-pay"`) {
					t.Fatalf("the page of a closed payment still offers to pay:\n%s", page)
				}
				resp, err = browser.PostForm(c.PaymentURL, url.Values{"action": {"pay"}})
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusConflict {
					t.Fatalf("pay after Cancel: status %d, want 409", resp.StatusCode)
				}
				for _, n := range h.rc.about(c.Ref) {
					if n.Stage == StageCompleted || n.Stage == StageProcessing {
						t.Fatalf("the app was told %s for a closed payment", n.Stage)
					}
				}
				if st, err := h.g.State(ctx, c.Ref); err != nil || (st.Stage != StageCanceled && st.Stage != StageFailed) {
					t.Fatalf("State after Cancel = %+v, %v", st, err)
				}
				// Asking again finds it closed.
				if st, err := h.g.Cancel(ctx, c.Ref); err != nil || st.Stage != StageCanceled {
					t.Fatalf("second Cancel = %+v, %v", st, err)
				}
			})

			t.Run("a paid payment is answered completed and nothing is refunded", func(t *testing.T) {
				ref := h.pay(t, create(t, 5000))
				st, err := h.g.Cancel(ctx, ref)
				if err != nil || st.Stage != StageCompleted {
					t.Fatalf("Cancel of a paid payment = %+v, %v; want completed, no error", st, err)
				}
				if got := h.refunded(t, ref, 5000); got != 0 {
					t.Fatalf("Cancel refunded %d", got)
				}
				if st, err := h.g.State(ctx, ref); err != nil || st.Stage != StageCompleted {
					t.Fatalf("State after Cancel = %+v, %v", st, err)
				}
			})

			t.Run("held money is answered processing and the hold stays", func(t *testing.T) {
				ref := h.hold(t, nil)
				st, err := h.g.Cancel(ctx, ref)
				if err != nil || st.Stage != StageProcessing {
					t.Fatalf("Cancel of a held payment = %+v, %v; want processing, no error", st, err)
				}
				if st, err := h.g.State(ctx, ref); err != nil || st.Stage == StageCanceled {
					t.Fatalf("State after Cancel = %+v, %v: the hold was released", st, err)
				}
			})

			t.Run("a cancel the provider refuses is Refused and the payment stays open", func(t *testing.T) {
				c := create(t, 5000)
				h.failNextCancel(t, failRefused)
				_, err := h.g.Cancel(ctx, c.Ref)
				wantRefused(t, err, true)
				if st, err := h.g.State(ctx, c.Ref); err != nil || st.Stage != StagePending {
					t.Fatalf("State = %+v, %v; want pending", st, err)
				}
			})

			t.Run("a lost cancel answer is not a refusal; asking again finds it closed", func(t *testing.T) {
				c := create(t, 5000)
				h.failNextCancel(t, failLost)
				_, err := h.g.Cancel(ctx, c.Ref)
				wantRefused(t, err, false)
				if st, err := h.g.Cancel(ctx, c.Ref); err != nil || st.Stage != StageCanceled {
					t.Fatalf("second Cancel = %+v, %v", st, err)
				}
			})

			t.Run("when the provider cannot be read first, nothing is sent", func(t *testing.T) {
				c := create(t, 5000)
				h.failNextCall(t)
				_, err := h.g.Cancel(ctx, c.Ref)
				wantRefused(t, err, true)
				if st, err := h.g.State(ctx, c.Ref); err != nil || st.Stage != StagePending {
					t.Fatalf("State = %+v, %v; want pending", st, err)
				}
			})
		})
	}
}

func TestCancelIsUnsupportedWhereNothingCanBeClosed(t *testing.T) {
	t.Parallel()
	for _, cfg := range []Config{
		{Provider: PayPal, Endpoint: "https://127.0.0.1:1", APIKey: "m@x.test"},
		{Provider: Kuveyt, Endpoint: "https://127.0.0.1:1", APIKey: "496:400235:apiuser1", APISecret: "p"},
	} {
		// Nothing is sent: the endpoints could not even be reached.
		_, err := mustNew(t, cfg).Cancel(context.Background(), "PAY-1")
		wantErr(t, err, ErrCancelUnsupported, "no way to close")
		wantRefused(t, err, true)
	}
}

func TestRefusedTellsARefusalFromAnUnknownOutcome(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		err  error
		want bool
	}{
		{"no error is no refusal", nil, false},
		{"a network error is unknown", errors.New("dial tcp: connection reset"), false},
		{"a timeout is unknown", wrap(Tinkoff, "refund", context.DeadlineExceeded), false},
		{"T-Bank's business error is a refusal", wrap(Tinkoff, "refund", &tinkoff.Error{Code: tinkoff.CodeBadAmount, HTTPStatus: 200}), true},
		{"T-Bank's internal error 9999 is unknown", wrap(Tinkoff, "refund", &tinkoff.Error{Code: tinkoff.CodeInternal, HTTPStatus: 200}), false},
		{"T-Bank's HTTP 502 is unknown", wrap(Tinkoff, "refund", &tinkoff.Error{HTTPStatus: 502}), false},
		{"Dolyami's 409 is a refusal", wrap(Dolyami, "refund", &dolyami.Error{HTTPStatus: 409}), true},
		{"Dolyami's 504 is unknown", wrap(Dolyami, "refund", &dolyami.Error{HTTPStatus: 504}), false},
		{"Yandex Pay's 400 is a refusal", wrap(YandexPay, "refund", &yandexpay.Error{HTTPStatus: 400, ReasonCode: "INVALID_REFUND_AMOUNT"}), true},
		{"Yandex Pay's duplicate operation is not a refusal: the refund exists",
			wrap(YandexPay, "refund", &yandexpay.Error{HTTPStatus: 400, ReasonCode: yandexpay.CodeDuplicateOperation}), false},
		{"PayPal's 10009 is a refusal", wrap(PayPal, "refund", &paypal.Error{Code: "10009", HTTPStatus: 200}), true},
		{"PayPal's internal error 10001 is unknown", wrap(PayPal, "refund", &paypal.Error{Code: "10001", HTTPStatus: 200}), false},
		{"a failed read before the call is a refusal: nothing was sent", wrap(Tinkoff, "cancel", notSent(&tinkoff.Error{HTTPStatus: 500})), true},
		{"a refund refused before sending is a refusal", wrap(Tinkoff, "refund", badRequest("no key")), true},
		{"no refund API is a refusal", wrap(Kuveyt, "refund", ErrRefundUnsupported), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := Refused(tt.err); got != tt.want {
				t.Fatalf("Refused(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
