package paypal

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
)

// listener is the shop's IPN endpoint in tests: it verifies every IPN with
// the package's VerifyIPN against the sandbox, then parses it.
type listener struct {
	client *Client
	mu     sync.Mutex
	ipns   []*IPN
	raws   []string
	errs   []error
	fail   int
	srv    *httptest.Server
}

func (l *listener) handle(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	err := l.client.VerifyIPN(r.Context(), raw)
	var n *IPN
	if err == nil {
		n, err = ParseIPN(raw)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.errs = append(l.errs, err)
		http.Error(w, "refused", http.StatusBadRequest)
		return
	}
	if l.fail > 0 {
		l.fail--
		http.Error(w, "down", http.StatusInternalServerError)
		return
	}
	l.ipns = append(l.ipns, n)
	l.raws = append(l.raws, string(raw))
	w.WriteHeader(http.StatusOK)
}

func (l *listener) got() []*IPN {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*IPN(nil), l.ipns...)
}

type env struct {
	sb     *Sandbox
	srv    *httptest.Server
	client *Client
	l      *listener
	db     *sql.DB
}

func openDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", filepath.Join(t.TempDir(), "sandbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newEnv(t *testing.T) *env {
	t.Helper()
	db := openDB(t)
	sb, err := NewSandbox(db, SandboxConfig{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	sb.SetBaseURL(srv.URL)
	e := &env{sb: sb, srv: srv, db: db, client: New(sb.ClientConfig())}
	e.l = &listener{client: e.client}
	e.l.srv = httptest.NewServer(http.HandlerFunc(e.l.handle))
	t.Cleanup(e.l.srv.Close)
	return e
}

var noFollow = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func (e *env) checkoutURL(invoice string, amount int64, currency string) string {
	return e.client.CheckoutURL(CheckoutRequest{
		Business: DemoBusiness, Invoice: invoice, AmountMinor: amount, Currency: currency, ItemName: "Order " + invoice,
		ReturnURL: "https://shop.test/return", CancelURL: "https://shop.test/cancel", NotifyURL: e.l.srv.URL + "/ipn",
	})
}

// buy walks the buyer through PayPal: the checkout link, the payment page,
// then one button; it returns where the buyer is sent back.
func (e *env) buy(t *testing.T, invoice string, amount int64, currency, action string) string {
	t.Helper()
	resp, err := noFollow.Get(e.checkoutURL(invoice, amount, currency))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	page := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(page, e.srv.URL+"/checkout/") {
		t.Fatalf("checkout: %d %q", resp.StatusCode, page)
	}
	resp, err = http.Get(page)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, id := range []string{"sandbox-pay", "sandbox-pay-card", "sandbox-decline", "sandbox-abandon"} {
		if !strings.Contains(string(body), `data-testid="`+id+`"`) {
			t.Fatalf("payment page lacks %s:\n%s", id, body)
		}
	}
	resp, err = noFollow.PostForm(page, url.Values{"action": {action}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("%s: status %d", action, resp.StatusCode)
	}
	return resp.Header.Get("Location")
}

func TestPayWithBalanceSendsCompletedIPN(t *testing.T) {
	e := newEnv(t)
	if got := e.buy(t, "ORD-1", 123456, "USD", "pay"); got != "https://shop.test/return" {
		t.Fatalf("redirect = %q", got)
	}
	ipns := e.l.got()
	if len(ipns) != 1 {
		t.Fatalf("got %d IPNs (errors %v)", len(ipns), e.l.errs)
	}
	n := ipns[0]
	if n.PaymentStatus != "Completed" || n.GrossMinor != 123456 || n.Currency != "USD" || n.Invoice != "ORD-1" ||
		n.TxnType != "web_accept" || n.TxnID == "" || n.ReceiverEmail != DemoBusiness || n.FeeMinor <= 0 {
		t.Fatalf("IPN = %+v", n)
	}
	if m := n.Mismatch(DemoBusiness, 123456, "USD"); m != "" {
		t.Fatalf("Mismatch = %q", m)
	}
	txn, err := e.sb.Payment(n.TxnID)
	if err != nil || txn.Status != "Completed" {
		t.Fatalf("sandbox state = %+v, %v", txn, err)
	}
}

func TestPayByCardIsPendingThenCompleted(t *testing.T) {
	e := newEnv(t)
	e.buy(t, "ORD-2", 5000, "EUR", "pay_card")
	ipns := e.l.got()
	if len(ipns) != 1 || ipns[0].PaymentStatus != "Pending" || ipns[0].PendingReason == "" || Stage(ipns[0].PaymentStatus) != "processing" {
		t.Fatalf("first IPN = %+v", ipns)
	}
	if err := e.sb.Settle(ipns[0].TxnID); err != nil {
		t.Fatal(err)
	}
	ipns = e.l.got()
	if len(ipns) != 2 || ipns[1].PaymentStatus != "Completed" || ipns[1].TxnID != ipns[0].TxnID {
		t.Fatalf("second IPN = %+v", ipns)
	}
	if err := e.sb.Settle(ipns[0].TxnID); err == nil {
		t.Fatal("settled a completed payment twice")
	}
}

func TestDeclineAndAbandon(t *testing.T) {
	e := newEnv(t)
	t.Run("decline sends a Failed IPN and returns to the cancel URL", func(t *testing.T) {
		if got := e.buy(t, "ORD-3", 1000, "USD", "decline"); got != "https://shop.test/cancel" {
			t.Fatalf("redirect = %q", got)
		}
		ipns := e.l.got()
		if len(ipns) != 1 || ipns[0].PaymentStatus != "Failed" || Stage(ipns[0].PaymentStatus) != "failed" {
			t.Fatalf("IPNs = %+v", ipns)
		}
	})
	t.Run("the decline-next switch turns the next Pay into a decline", func(t *testing.T) {
		if err := e.sb.DeclineNext(); err != nil {
			t.Fatal(err)
		}
		if got := e.buy(t, "ORD-4", 1000, "USD", "pay"); got != "https://shop.test/cancel" {
			t.Fatalf("redirect = %q", got)
		}
		ipns := e.l.got()
		if ipns[len(ipns)-1].PaymentStatus != "Failed" || ipns[len(ipns)-1].Invoice != "ORD-4" {
			t.Fatalf("last IPN = %+v", ipns[len(ipns)-1])
		}
	})
	t.Run("abandon returns to the cancel URL without an IPN", func(t *testing.T) {
		before := len(e.l.got())
		if got := e.buy(t, "ORD-5", 1000, "USD", "abandon"); got != "https://shop.test/cancel" {
			t.Fatalf("redirect = %q", got)
		}
		if len(e.l.got()) != before {
			t.Fatal("abandon sent an IPN")
		}
		if _, err := e.sb.PaymentByInvoice("ORD-5"); err == nil {
			t.Fatal("abandon created a transaction")
		}
	})
}

func TestWrongAmountOrCurrencyIsSuspectedFraud(t *testing.T) {
	e := newEnv(t)
	if err := e.sb.WrongAmountNext(); err != nil {
		t.Fatal(err)
	}
	e.buy(t, "ORD-6", 10000, "USD", "pay")
	if err := e.sb.WrongCurrencyNext(); err != nil {
		t.Fatal(err)
	}
	e.buy(t, "ORD-7", 10000, "USD", "pay")
	e.buy(t, "ORD-8", 10000, "USD", "pay")
	ipns := e.l.got()
	if len(ipns) != 3 {
		t.Fatalf("got %d IPNs (errors %v)", len(ipns), e.l.errs)
	}
	// Both were VERIFIED by PayPal: only the comparison with the order finds them.
	if m := ipns[0].Mismatch(DemoBusiness, 10000, "USD"); !strings.Contains(m, "order total") {
		t.Fatalf("wrong amount: Mismatch = %q (IPN %+v)", m, ipns[0])
	}
	if m := ipns[1].Mismatch(DemoBusiness, 10000, "USD"); !strings.Contains(m, "currency") {
		t.Fatalf("wrong currency: Mismatch = %q", m)
	}
	if m := ipns[2].Mismatch(DemoBusiness, 10000, "USD"); m != "" {
		t.Fatalf("the switches were not used up: %q", m)
	}
}

func TestForgedOrChangedIPNIsInvalid(t *testing.T) {
	e := newEnv(t)
	e.buy(t, "ORD-9", 2500, "USD", "pay")
	genuine := e.l.raws[0]
	ctx := context.Background()
	if err := e.client.VerifyIPN(ctx, []byte(genuine)); err != nil {
		t.Fatalf("genuine: %v", err)
	}
	forged := strings.Replace(genuine, "mc_gross=25.00", "mc_gross=2500.00", 1)
	if err := e.client.VerifyIPN(ctx, []byte(forged)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("changed amount: %v", err)
	}
	// The same fields re-encoded in another order are not the original message.
	vals, _ := url.ParseQuery(genuine)
	if err := e.client.VerifyIPN(ctx, []byte(vals.Encode())); !errors.Is(err, ErrInvalid) {
		t.Fatalf("re-encoded: %v", err)
	}
	// The listener refuses a forged IPN posted to it.
	resp, err := http.Post(e.l.srv.URL+"/ipn", "application/x-www-form-urlencoded", strings.NewReader(forged))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || len(e.l.errs) != 1 || !errors.Is(e.l.errs[0], ErrInvalid) {
		t.Fatalf("listener: %d %v", resp.StatusCode, e.l.errs)
	}
	// notify-validate must be the prefix, as at PayPal.
	resp, err = http.Post(e.srv.URL+"/cgi-bin/webscr", "application/x-www-form-urlencoded", strings.NewReader(genuine+"&cmd=_notify-validate"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "INVALID" {
		t.Fatalf("suffix cmd: %q", body)
	}
}

func TestRefundPartialThenFullThroughNVP(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.buy(t, "ORD-10", 10000, "USD", "pay")
	pay := e.l.got()[0]
	res, err := e.client.Refund(ctx, RefundRequest{TxnID: pay.TxnID, AmountMinor: 2500, Currency: "USD"})
	if err != nil {
		t.Fatal(err)
	}
	if res.GrossRefundMinor != 2500 || res.TotalRefundedMinor != 2500 || res.RefundTxnID == "" || res.Currency != "USD" ||
		res.NetRefundMinor != res.GrossRefundMinor-res.FeeRefundMinor {
		t.Fatalf("partial refund = %+v", res)
	}
	ipns := e.l.got()
	ref := ipns[len(ipns)-1]
	if ref.PaymentStatus != "Refunded" || ref.ParentTxnID != pay.TxnID || ref.GrossMinor != -2500 || ref.TxnID != res.RefundTxnID {
		t.Fatalf("refund IPN = %+v", ref)
	}
	if ref.Stage(pay.GrossMinor) != "partially_refunded" {
		t.Fatalf("stage = %q", ref.Stage(pay.GrossMinor))
	}
	if txn, _ := e.sb.Payment(pay.TxnID); txn.Status != "Partially_Refunded" || txn.RefundedMinor != 2500 {
		t.Fatalf("sandbox payment = %+v", txn)
	}
	_, err = e.client.Refund(ctx, RefundRequest{TxnID: pay.TxnID, AmountMinor: 7501, Currency: "USD"})
	var pe *Error
	if !errors.As(err, &pe) || pe.Code != "10009" {
		t.Fatalf("over-refund: %v", err)
	}
	if _, err := e.client.Refund(ctx, RefundRequest{TxnID: pay.TxnID}); !errors.As(err, &pe) || pe.Code != "10009" {
		t.Fatalf("full after partial: %v", err)
	}
	res, err = e.client.Refund(ctx, RefundRequest{TxnID: pay.TxnID, AmountMinor: 7500, Currency: "USD"})
	if err != nil || res.TotalRefundedMinor != 10000 {
		t.Fatalf("rest = %+v, %v", res, err)
	}
	if txn, _ := e.sb.Payment(pay.TxnID); txn.Status != "Refunded" {
		t.Fatalf("sandbox payment = %+v", txn)
	}
	// A full refund of another payment.
	e.buy(t, "ORD-11", 3000, "USD", "pay")
	other := e.l.got()[len(e.l.got())-1]
	res, err = e.client.Refund(ctx, RefundRequest{TxnID: other.TxnID})
	if err != nil || res.GrossRefundMinor != 3000 {
		t.Fatalf("full refund = %+v, %v", res, err)
	}
	last := e.l.got()[len(e.l.got())-1]
	if last.Stage(3000) != "refunded" {
		t.Fatalf("full refund stage = %q", last.Stage(3000))
	}
}

func TestNVPRefusals(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	bad := New(Config{BaseURL: e.srv.URL, APIUsername: DemoAPIUsername, APIPassword: "wrong", APISignature: DemoAPISignature})
	_, err := bad.Refund(ctx, RefundRequest{TxnID: "X"})
	var pe *Error
	if !errors.As(err, &pe) || pe.Code != "10002" || !strings.Contains(Explain(err), "credentials") {
		t.Fatalf("bad credentials: %v", err)
	}
	if _, err := e.client.Refund(ctx, RefundRequest{TxnID: "NOSUCHTXN"}); !errors.As(err, &pe) || pe.Code != "10004" {
		t.Fatalf("unknown txn: %v", err)
	}
	e.buy(t, "ORD-12", 3000, "USD", "pay_card")
	pending := e.l.got()[0]
	if _, err := e.client.Refund(ctx, RefundRequest{TxnID: pending.TxnID}); !errors.As(err, &pe) || pe.Code != "10009" {
		t.Fatalf("refund of a pending payment: %v", err)
	}
}

func TestDuplicateAndOutOfOrderIPN(t *testing.T) {
	e := newEnv(t)
	e.buy(t, "ORD-13", 4200, "USD", "pay")
	txn := e.l.got()[0].TxnID
	if err := e.sb.ResendIPN(txn); err != nil {
		t.Fatal(err)
	}
	if err := e.sb.SendIPN(txn, "Pending"); err != nil {
		t.Fatal(err)
	}
	ipns := e.l.got()
	if len(ipns) != 3 || e.l.raws[0] != e.l.raws[1] {
		t.Fatalf("the duplicate is not byte-identical (%d IPNs)", len(ipns))
	}
	if ipns[2].PaymentStatus != "Pending" || ipns[2].TxnID != txn {
		t.Fatalf("out-of-order IPN = %+v", ipns[2])
	}
	if p, _ := e.sb.Payment(txn); p.Status != "Completed" {
		t.Fatalf("SendIPN changed the payment: %s", p.Status)
	}
}

func TestFailedIPNIsRetried(t *testing.T) {
	e := newEnv(t)
	e.l.fail = 1
	e.buy(t, "ORD-14", 1000, "USD", "pay")
	if len(e.l.got()) != 0 {
		t.Fatal("the failing listener recorded the IPN")
	}
	p, err := e.sb.PaymentByInvoice("ORD-14")
	if err != nil {
		t.Fatal(err)
	}
	sent, _ := e.sb.IPNs(p.TxnID)
	if len(sent) != 1 || sent[0].Delivered || sent[0].LastError == "" {
		t.Fatalf("IPNs = %+v", sent)
	}
	if n, err := e.sb.ResendNotifications(); n != 1 || err != nil {
		t.Fatalf("ResendNotifications = %d, %v", n, err)
	}
	if ipns := e.l.got(); len(ipns) != 1 || ipns[0].TxnID != p.TxnID {
		t.Fatalf("IPNs after retry = %+v", ipns)
	}
}

func TestFailNextAndLatency(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.sb.FailNext(); err != nil {
		t.Fatal(err)
	}
	var pe *Error
	if err := e.client.VerifyIPN(ctx, []byte("txn_id=1")); !errors.As(err, &pe) || pe.HTTPStatus != 500 {
		t.Fatalf("fail next: %v", err)
	}
	if err := e.client.VerifyIPN(ctx, []byte("txn_id=1")); !errors.Is(err, ErrInvalid) {
		t.Fatalf("after the switch: %v", err)
	}
	if err := e.sb.SetLatency(300 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	if err := e.client.VerifyIPN(short, []byte("txn_id=1")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("latency: %v", err)
	}
	_ = e.sb.SetLatency(0)
}

func TestSettlementsCSVRoundTrip(t *testing.T) {
	e := newEnv(t)
	e.buy(t, "ORD-15", 123456789, "USD", "pay")
	e.buy(t, "ORD-16", 5000, "USD", "pay_card") // pending: not settled
	e.buy(t, "ORD-17", 7000, "JPY", "pay")
	paid := e.l.got()[0]
	if _, err := e.client.Refund(context.Background(), RefundRequest{TxnID: paid.TxnID, AmountMinor: 1000, Currency: "USD"}); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(e.srv.URL + "/_settlements.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(string(raw), "\ufeff\"Date\"") || !strings.Contains(string(raw), `"1,234,567.89"`) {
		t.Fatalf("CSV:\n%s", raw)
	}
	rows, err := ParseSettlementCSV(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	byInvoice := map[string][]Settlement{}
	for _, r := range rows {
		byInvoice[r.Invoice] = append(byInvoice[r.Invoice], r)
	}
	if got := byInvoice["ORD-15"]; len(got) != 2 || got[0].GrossMinor != 123456789 || got[0].TxnID != paid.TxnID ||
		got[1].GrossMinor != -1000 || got[1].ReferenceTxnID != paid.TxnID || got[0].Status != "Completed" {
		t.Fatalf("ORD-15 rows = %+v", got)
	}
	if len(byInvoice["ORD-16"]) != 0 {
		t.Fatal("a pending payment is in the settlement export")
	}
	if got := byInvoice["ORD-17"]; len(got) != 1 || got[0].GrossMinor != 7000 || got[0].Currency != "JPY" {
		t.Fatalf("ORD-17 rows = %+v", got)
	}
}

func TestCheckoutRefusals(t *testing.T) {
	e := newEnv(t)
	for name, link := range map[string]string{
		"an unknown business": New(Config{BaseURL: e.srv.URL}).CheckoutURL(CheckoutRequest{Business: "thief@x.test", AmountMinor: 100, Currency: "USD"}),
		"a zero amount":       New(Config{BaseURL: e.srv.URL}).CheckoutURL(CheckoutRequest{Business: DemoBusiness, AmountMinor: 0, Currency: "USD"}),
		"an unknown cmd":      e.srv.URL + "/cgi-bin/webscr?cmd=_cart",
	} {
		resp, err := noFollow.Get(link)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", name, resp.StatusCode)
		}
	}
}

func TestControlPageAndRestart(t *testing.T) {
	e := newEnv(t)
	e.buy(t, "ORD-18", 1000, "USD", "pay")
	resp, err := http.Get(e.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "ORD-18") || !strings.Contains(string(body), `data-testid="sandbox-wrong-amount-next"`) {
		t.Fatalf("control page %d:\n%s", resp.StatusCode, body)
	}
	resp, err = noFollow.PostForm(e.srv.URL+"/_control", url.Values{"action": {"decline_next"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "./") {
		t.Fatalf("control POST: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	e.buy(t, "ORD-19", 1000, "USD", "pay")
	if p, _ := e.sb.PaymentByInvoice("ORD-19"); p == nil || p.Status != "Failed" {
		t.Fatalf("decline-next from the control page: %+v", p)
	}
	// A latency that is not whole milliseconds is said on the page, not
	// taken as 0.
	resp, err = noFollow.PostForm(e.srv.URL+"/_control", url.Values{"action": {"latency"}, "value": {"-20"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc, _ := url.QueryUnescape(resp.Header.Get("Location")); !strings.Contains(loc, "latency must be a whole number") {
		t.Errorf("a negative latency: back to %q, want the page to say so", loc)
	}
	// A restarted sandbox on the same database still knows the payment and
	// still verifies the IPN it sent before.
	sb2, err := NewSandbox(e.db, SandboxConfig{})
	if err != nil {
		t.Fatal(err)
	}
	srv2 := httptest.NewServer(sb2)
	defer srv2.Close()
	first := e.l.got()[0]
	if p, err := sb2.Payment(first.TxnID); err != nil || p.Invoice != "ORD-18" {
		t.Fatalf("after restart: %+v, %v", p, err)
	}
	if err := New(Config{BaseURL: srv2.URL}).VerifyIPN(context.Background(), []byte(e.l.raws[0])); err != nil {
		t.Fatalf("verify after restart: %v", err)
	}
}

func TestMountedUnderAPrefix(t *testing.T) {
	sb, err := NewSandbox(openDB(t), SandboxConfig{})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/sandbox/paypal/", http.StripPrefix("/sandbox/paypal", sb))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	sb.SetBaseURL(srv.URL + "/sandbox/paypal")
	c := New(sb.ClientConfig())
	resp, err := noFollow.Get(c.CheckoutURL(CheckoutRequest{Business: DemoBusiness, AmountMinor: 100, Currency: "USD", CancelURL: "https://s/c"}))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	page := resp.Header.Get("Location")
	if !strings.HasPrefix(page, srv.URL+"/sandbox/paypal/checkout/") {
		t.Fatalf("checkout redirect = %q", page)
	}
	resp, err = noFollow.PostForm(page, url.Values{"action": {"abandon"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Location") != "https://s/c" {
		t.Fatalf("abandon = %q", resp.Header.Get("Location"))
	}
	if err := c.VerifyIPN(context.Background(), []byte("txn_id=1")); !errors.Is(err, ErrInvalid) {
		t.Fatalf("verify through the mount: %v", err)
	}
	r, err := http.Get(srv.URL + "/sandbox/paypal/")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 200 {
		t.Fatalf("control page through the mount: %d", r.StatusCode)
	}
}
