package sandboxkit

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func controlForm(v url.Values) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/_control", strings.NewReader(v.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

// A tester's switch set on the control page acts on the next call once,
// and the page shows it armed until then.
func TestPaymentSwitchesFromTheControlPage(t *testing.T) {
	var p PaymentSwitches[string]
	mode := func(s string) string { return s }
	for _, v := range []url.Values{
		{"action": {"decline_next"}, "on": {"1"}},
		{"action": {"fail_next"}, "mode": {"500"}},
		{"action": {"fail_next_cancel"}, "mode": {"refused"}},
		{"action": {"fail_next_refund"}, "mode": {"lost"}},
		{"action": {"latency"}, "ms": {"7"}},
	} {
		if ok, err := p.Control(controlForm(v), mode); !ok || err != nil {
			t.Fatalf("%v: %v, %v", v, ok, err)
		}
	}
	want := PaymentState[string]{DeclineNext: true, FailNext: "500", FailNextCancel: "refused", FailNextRefund: "lost", Latency: 7 * time.Millisecond}
	if got := p.Switches(); got != want {
		t.Fatalf("switches %+v, want %+v", got, want)
	}
	if !p.TakeDecline() || p.TakeFail() != "500" || p.TakeCancel() != "refused" || p.TakeRefund() != "lost" {
		t.Fatal("a switch did not act")
	}
	if got := p.Switches(); got != (PaymentState[string]{Latency: 7 * time.Millisecond}) {
		t.Errorf("after one call each the switches are %+v, want all off but the latency", got)
	}
	var fe *FormError
	if ok, err := p.Control(controlForm(url.Values{"action": {"latency"}, "ms": {"-1"}}), mode); !ok || !errors.As(err, &fe) || fe.Status != http.StatusBadRequest {
		t.Errorf("a negative latency: %v, %v; want a 400 naming it", ok, err)
	}
	if ok, _ := p.Control(controlForm(url.Values{"action": {"resend"}}), mode); ok {
		t.Error("another action was taken as a switch")
	}
}
