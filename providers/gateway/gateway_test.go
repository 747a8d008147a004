package gateway

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"orderdesk/providers/dolyami"
	"orderdesk/providers/kuveyt"
	"orderdesk/providers/paypal"
	"orderdesk/providers/tinkoff"
	"orderdesk/providers/yandexpay"
)

// ---------------------------------------------------------------- helpers

func openDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", filepath.Join(t.TempDir(), "sandbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// mount serves a sandbox under /sandbox/<name>/ as the app does and returns
// the mount's URL.
func mount(t *testing.T, name string, h http.Handler) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/sandbox/"+name+"/", http.StripPrefix("/sandbox/"+name, h))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + "/sandbox/" + name
}

func mustNew(t *testing.T, cfg Config) Gateway {
	t.Helper()
	g, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%s): %v", cfg.Provider, err)
	}
	if g.Provider() != cfg.Provider {
		t.Fatalf("Provider() = %q, want %q", g.Provider(), cfg.Provider)
	}
	return g
}

// receiver is the app's webhook endpoint: every notification goes to
// g.Notification, and the answer is n.Reply or ReplyStatus(err), as the app's
// handler will do it.
type receiver struct {
	srv *httptest.Server

	mu   sync.Mutex
	g    Gateway
	got  []*Notification
	raws map[*Notification][]byte
	errs []error
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{raws: map[*Notification][]byte{}}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) use(g Gateway) {
	rc.mu.Lock()
	rc.g = g
	rc.mu.Unlock()
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	g := rc.g
	rc.mu.Unlock()
	// No lock while the gateway works: dolyami's commit makes the sandbox
	// deliver more notifications to this same endpoint meanwhile.
	// As the app's webhook handler does: the URL's query goes in its own
	// header, set here whatever the sender sent.
	header := r.Header.Clone()
	header.Set(WebhookQueryHeader, r.URL.RawQuery)
	n, err := g.Notification(r.Context(), body, header)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err != nil {
		rc.errs = append(rc.errs, err)
		http.Error(w, Explain(err), ReplyStatus(err))
		return
	}
	rc.got = append(rc.got, n)
	rc.raws[n] = body
	w.Header().Set("Content-Type", n.ReplyType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(n.Reply)
}

// about returns the notifications about one provider payment id, oldest
// first.
func (rc *receiver) about(ref string) []*Notification {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []*Notification
	for _, n := range rc.got {
		if n.Ref == ref {
			out = append(out, n)
		}
	}
	return out
}

func (rc *receiver) raw(n *Notification) []byte {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.raws[n]
}

func (rc *receiver) lastErr(t *testing.T) error {
	t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.errs) == 0 {
		t.Fatal("the receiver refused nothing")
	}
	return rc.errs[len(rc.errs)-1]
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.got)
}

// forge posts a body to the receiver as someone else than the provider
// would, and returns the HTTP status it answered.
func (rc *receiver) forge(t *testing.T, path, contentType string, body []byte) int {
	t.Helper()
	resp, err := http.Post(rc.srv.URL+path, contentType, strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitFor polls cond for up to two seconds: for notifications a sandbox
// delivers after it has answered the API call that caused them.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

var browser = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// press opens a provider's payment page as a browser (following the
// provider's own redirects), checks its sandbox buttons, presses one and
// returns where the provider sends the browser back.
func press(t *testing.T, pageURL, action string) string {
	t.Helper()
	for range 3 {
		resp, err := browser.Get(pageURL)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusSeeOther {
			pageURL = resp.Header.Get("Location")
			continue
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: status %d", pageURL, resp.StatusCode)
		}
		for _, id := range []string{"sandbox-pay", "sandbox-decline", "sandbox-abandon"} {
			if !strings.Contains(string(page), `data-testid="`+id+`"`) {
				t.Fatalf("the payment page has no %s button:\n%s", id, page)
			}
		}
		resp, err = browser.PostForm(pageURL, url.Values{"action": {action}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s on %s: status %d, want 303", action, pageURL, resp.StatusCode)
		}
		return resp.Header.Get("Location")
	}
	t.Fatalf("too many redirects from %s", pageURL)
	return ""
}

func stages(ns []*Notification) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.Stage)
	}
	return out
}

func wantStages(t *testing.T, ns []*Notification, want ...string) {
	t.Helper()
	if got := stages(ns); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("notification stages %v, want %v", got, want)
	}
}

func wantErr(t *testing.T, err, target error, explainHas string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
	if e := Explain(err); !strings.Contains(e, explainHas) {
		t.Fatalf("Explain(%v) = %q, want it to mention %q", err, e, explainHas)
	}
}

// wantExplained checks that a refusal is an error whose Explain names the
// problem in words.
func wantExplained(t *testing.T, err error, explainHas string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	if e := Explain(err); !strings.Contains(e, explainHas) {
		t.Fatalf("Explain(%v) = %q, want it to mention %q", err, e, explainHas)
	}
}

const (
	okURL   = "https://shop.test/pay/ok"
	failURL = "https://shop.test/pay/fail"
)

// ---------------------------------------------------------------- New

func TestNewNamesTheMissingOrWrongField(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		cfg   Config
		field string
	}{
		{"an unknown provider is refused", Config{Provider: "stripe", Endpoint: "https://x.test"}, "provider"},
		{"an empty endpoint is refused", Config{Provider: Tinkoff, APIKey: "k", APISecret: "s"}, "endpoint"},
		{"an endpoint that is not http(s) is refused", Config{Provider: Tinkoff, Endpoint: "ftp://x.test", APIKey: "k", APISecret: "s"}, "endpoint"},
		{"tinkoff without a terminal key is refused", Config{Provider: Tinkoff, Endpoint: "https://x.test", APISecret: "s"}, "api_key"},
		{"tinkoff without a password is refused", Config{Provider: Tinkoff, Endpoint: "https://x.test", APIKey: "k"}, "api_secret"},
		{"tinkoff with a strange pay type is refused", Config{Provider: Tinkoff, Endpoint: "https://x.test", APIKey: "k", APISecret: "s",
			Settings: map[string]string{"pay_type": "X"}}, "settings.pay_type"},
		{"dolyami without a password is refused", Config{Provider: Dolyami, Endpoint: "https://x.test", APIKey: "k"}, "api_secret"},
		{"yandexpay without a key is refused", Config{Provider: YandexPay, Endpoint: "https://x.test"}, "api_key"},
		{"paypal without the business e-mail is refused", Config{Provider: PayPal, Endpoint: "https://x.test"}, "api_key"},
		{"paypal with half the NVP credentials is refused", Config{Provider: PayPal, Endpoint: "https://x.test", APIKey: "m@x.test",
			APISecret: "user:pwd"}, "api_secret"},
		{"kuveyt with two of the three ids is refused", Config{Provider: Kuveyt, Endpoint: "https://x.test", APIKey: "496:400235",
			APISecret: "p"}, "api_key"},
		{"kuveyt without a password is refused", Config{Provider: Kuveyt, Endpoint: "https://x.test", APIKey: "496:400235:apiuser1"}, "api_secret"},
		{"kuveyt with seed 001's example key is refused", Config{Provider: Kuveyt, Endpoint: "https://x.test", APIKey: "test-api-key",
			APISecret: "test-api-secret"}, "api_key"},
		{"kuveyt with words for the merchant and customer ids is refused", Config{Provider: Kuveyt, Endpoint: "https://x.test",
			APIKey: "merchant:customer:user", APISecret: "p"}, "api_key"},
		{"kuveyt with a merchant id setting that is not a number is refused", Config{Provider: Kuveyt, Endpoint: "https://x.test",
			APISecret: "p", Settings: map[string]string{"merchant_id": "shop", "customer_id": "400235", "user_name": "apiuser1"}}, "settings.merchant_id"},
		{"paypal with a business e-mail that is not an e-mail is refused", Config{Provider: PayPal, Endpoint: "https://x.test",
			APIKey: "test-api-key"}, "api_key"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field || !errors.Is(err, ErrConfig) {
				t.Fatalf("err = %v, want a FieldError for %s", err, tt.field)
			}
			if tt.field != "provider" && !strings.Contains(Explain(err), tt.field) {
				t.Fatalf("Explain = %q, want it to name %s", Explain(err), tt.field)
			}
		})
	}
	t.Run("every payment provider can be built", func(t *testing.T) {
		keys := map[string]string{Kuveyt: "496:400235:apiuser1", PayPal: "shop@x.test"}
		for _, p := range Providers {
			cfg := Config{Provider: p, Endpoint: "https://x.test", APIKey: cmpStr(keys[p], "a:b:c"), APISecret: "u:p:s"}
			if _, err := New(cfg); err != nil {
				t.Errorf("%s: %v", p, err)
			}
			if err := Validate(cfg); err != nil {
				t.Errorf("Validate %s: %v", p, err)
			}
		}
	})
}

func TestExplainAndHelpers(t *testing.T) {
	t.Parallel()
	if Explain(nil) != "" {
		t.Error("Explain(nil) is not empty")
	}
	if e := Explain(errors.New("boom")); !strings.Contains(e, "Try again") {
		t.Errorf("Explain of an unknown error = %q", e)
	}
	if e := Explain(&Error{Provider: Tinkoff, Op: "test", Err: &tinkoff.Error{Code: tinkoff.CodeBadToken}}); !strings.Contains(e, "password") {
		t.Errorf("Explain of a T-Bank error = %q", e)
	}
	// Without the provider named, Explain does not guess it from the error's
	// type: the caller knows which provider it called.
	if e := Explain(&tinkoff.Error{Code: tinkoff.CodeBadToken}); strings.Contains(e, "T-Bank") || !strings.Contains(e, "Try again") {
		t.Errorf("Explain of a bare provider error = %q, want the generic words", e)
	}
	for err, want := range map[error]int{nil: 200, badSignature(nil): 400, errors.New("down"): 503} {
		if got := ReplyStatus(err); got != want {
			t.Errorf("ReplyStatus(%v) = %d, want %d", err, got, want)
		}
	}
	s := &State{Stage: StagePartiallyRefunded, RefundedMinor: 1000}
	if s.StageFor(1000) != StageRefunded || s.StageFor(2000) != StagePartiallyRefunded {
		t.Errorf("StageFor: %s / %s", s.StageFor(1000), s.StageFor(2000))
	}
	g := mustNew(t, Config{Provider: Tinkoff, Endpoint: "https://x.test", APIKey: "k", APISecret: "s"})
	_, err := CompleteKuveyt(context.Background(), g, "x", "PAY-1", 100)
	wantErr(t, err, ErrUnsupported, "does not apply")
}

// ---------------------------------------------------------------- tinkoff

func TestTinkoffThroughTheGateway(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sb, err := tinkoff.NewSandbox(openDB(t), tinkoff.SandboxConfig{})
	if err != nil {
		t.Fatal(err)
	}
	base := mount(t, "tinkoff", sb)
	sb.SetBaseURL(base)
	rc := newReceiver(t)
	// The sandbox's mount as the endpoint: the gateway adds /v2.
	cfg := Config{Provider: Tinkoff, Endpoint: base, APIKey: tinkoff.DemoTerminalKey, APISecret: tinkoff.DemoPassword}
	g := mustNew(t, cfg)
	rc.use(g)
	create := func(t *testing.T, ref string, amount int64) *Created {
		t.Helper()
		c, err := g.Create(ctx, CreateRequest{
			Reference: ref, OrderNumber: "ORD-DEMO-00000001-abcdef01", AmountMinor: amount, Currency: "RUB",
			Customer:  Customer{Email: "anna@example.test", Name: "Анна Петрова", Phone: "+79990000000"},
			ReturnURL: okURL, FailURL: failURL, NotifyURL: rc.srv.URL + "/webhooks/tinkoff",
		})
		if err != nil {
			t.Fatalf("Create: %v (%s)", err, Explain(err))
		}
		if c.Stage != StagePending || c.Ref == "" || !strings.HasPrefix(c.PaymentURL, base+"/pay/") {
			t.Fatalf("Created = %+v", c)
		}
		return c
	}
	var paid *Created

	t.Run("a paid payment is notified processing then completed and State agrees", func(t *testing.T) {
		paid = create(t, "PAY-DEMO-T-0001", 150050)
		if loc := press(t, paid.PaymentURL, "pay"); !strings.HasPrefix(loc, okURL) {
			t.Fatalf("back to %q", loc)
		}
		ns := rc.about(paid.Ref)
		wantStages(t, ns, StageProcessing, StageCompleted)
		n := ns[1]
		if n.Reference != "PAY-DEMO-T-0001" || n.AmountMinor != 150050 || n.ProviderStatus != tinkoff.StatusConfirmed ||
			!n.ReceiverOK || string(n.Reply) != "OK" || ns[0].EventID == n.EventID {
			t.Fatalf("notification = %+v", n)
		}
		st, err := g.State(ctx, paid.Ref)
		if err != nil {
			t.Fatal(err)
		}
		if st.Stage != StageCompleted || !st.Final || st.AmountMinor != 150050 || st.ProviderStatus != "CONFIRMED" {
			t.Fatalf("State = %+v", st)
		}
		// The bank counted our "OK" as delivered: it will not retry.
		sent, _ := sb.Notifications(paid.Ref)
		for _, s := range sent {
			if !s.Delivered {
				t.Fatalf("the bank did not take the reply: %+v", s)
			}
		}
	})

	t.Run("a duplicate notification has the same EventID", func(t *testing.T) {
		if err := sb.ResendNotification(ctx, paid.Ref); err != nil {
			t.Fatal(err)
		}
		ns := rc.about(paid.Ref)
		if len(ns) != 3 || ns[2].EventID != ns[1].EventID || ns[2].Stage != StageCompleted {
			t.Fatalf("after a resend: %v", ns)
		}
	})

	t.Run("a notification with a bad signature is refused", func(t *testing.T) {
		var fields map[string]any
		genuine := rc.raw(rc.about(paid.Ref)[1])
		if err := json.Unmarshal(genuine, &fields); err != nil {
			t.Fatal(err)
		}
		fields["Amount"] = 1
		forged, _ := json.Marshal(fields)
		if code := rc.forge(t, "/webhooks/tinkoff", "application/json", forged); code != http.StatusBadRequest {
			t.Fatalf("status %d, want 400", code)
		}
		wantErr(t, rc.lastErr(t), ErrBadSignature, "signature")

		// Signed right, but for another terminal.
		fields["Amount"], fields["TerminalKey"] = 150050, "OtherDEMO"
		delete(fields, "Token")
		fields["Token"] = tinkoff.Token(fields, tinkoff.DemoPassword)
		other, _ := json.Marshal(fields)
		if code := rc.forge(t, "/webhooks/tinkoff", "application/json", other); code != http.StatusBadRequest {
			t.Fatalf("another terminal: status %d, want 400", code)
		}
		wantErr(t, rc.lastErr(t), ErrBadSignature, "another terminal")
	})

	t.Run("a declined card fails with the bank's reason", func(t *testing.T) {
		c := create(t, "PAY-DEMO-T-0002", 20000)
		if loc := press(t, c.PaymentURL, "decline"); !strings.HasPrefix(loc, failURL) {
			t.Fatalf("back to %q", loc)
		}
		ns := rc.about(c.Ref)
		wantStages(t, ns, StageFailed)
		if !strings.Contains(ns[0].Reason, "insufficient funds") || ns[0].AmountMinor != 20000 {
			t.Fatalf("notification = %+v", ns[0])
		}
		if st, err := g.State(ctx, c.Ref); err != nil || st.Stage != StageFailed || !st.Final {
			t.Fatalf("State = %+v, %v", st, err)
		}
	})

	t.Run("an abandoned form is canceled", func(t *testing.T) {
		c := create(t, "PAY-DEMO-T-0003", 20000)
		press(t, c.PaymentURL, "abandon")
		wantStages(t, rc.about(c.Ref), StageCanceled)
		if st, err := g.State(ctx, c.Ref); err != nil || st.Stage != StageCanceled || st.ProviderStatus != "DEADLINE_EXPIRED" || st.Reason == "" {
			t.Fatalf("State = %+v, %v", st, err)
		}
	})

	t.Run("a partial refund then the rest", func(t *testing.T) {
		st, err := g.Refund(ctx, RefundRequest{Ref: paid.Ref, AmountMinor: 50050, Currency: "RUB", Key: "RF-TEST-1"})
		if err != nil {
			t.Fatal(err)
		}
		if st.Stage != StagePartiallyRefunded || st.RefundMinor != 50050 || st.AmountMinor != 100000 {
			t.Fatalf("partial = %+v", st)
		}
		st, err = g.Refund(ctx, RefundRequest{Ref: paid.Ref, Currency: "RUB", Key: "RF-TEST-2"})
		if err != nil {
			t.Fatal(err)
		}
		if st.Stage != StageRefunded || st.RefundMinor != 100000 || !st.Final {
			t.Fatalf("rest = %+v", st)
		}
		ns := rc.about(paid.Ref)
		wantStages(t, ns[len(ns)-2:], StagePartiallyRefunded, StageRefunded)
		// The bank notifies what is left of the payment.
		if ns[len(ns)-2].AmountMinor != 100000 || ns[len(ns)-1].AmountMinor != 0 {
			t.Fatalf("refund notifications %+v %+v", ns[len(ns)-2], ns[len(ns)-1])
		}
		_, err = g.Refund(ctx, RefundRequest{Ref: paid.Ref, Currency: "RUB", Key: "RF-TEST-3"})
		wantExplained(t, err, "not in a state")
	})

	t.Run("Test says what the bank answered; a wrong password is explained", func(t *testing.T) {
		msg, err := g.Test(ctx)
		if err != nil || !strings.Contains(msg, "accepted terminal "+tinkoff.DemoTerminalKey) {
			t.Fatalf("Test = %q, %v", msg, err)
		}
		bad := cfg
		bad.APISecret = "wrong"
		_, err = mustNew(t, bad).Test(ctx)
		wantExplained(t, err, "password does not match")
	})

	t.Run("a payment in another currency is refused before sending", func(t *testing.T) {
		_, err := g.Create(ctx, CreateRequest{Reference: "PAY-DEMO-T-0004", AmountMinor: 1000, Currency: "TRY"})
		wantErr(t, err, ErrBadRequest, "roubles")
	})
}

// ---------------------------------------------------------------- dolyami

func TestDolyamiThroughTheGateway(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sb, err := dolyami.NewSandbox(openDB(t), dolyami.SandboxConfig{})
	if err != nil {
		t.Fatal(err)
	}
	base := mount(t, "dolyami", sb)
	sb.SetBaseURL(base)
	rc := newReceiver(t)
	cfg := Config{Provider: Dolyami, Endpoint: base + "/v1", APIKey: dolyami.DemoLogin, APISecret: dolyami.DemoPassword}
	g := mustNew(t, cfg)
	rc.use(g)
	create := func(t *testing.T, ref string, amount int64, items []Item) *Created {
		t.Helper()
		c, err := g.Create(ctx, CreateRequest{
			Reference: ref, OrderNumber: "ORD-DEMO-00000002-abcdef02", AmountMinor: amount, Currency: "RUB", Items: items,
			Customer:  Customer{Email: "anna@example.test", Name: "Анна Петрова", Phone: "+79990000000"},
			ReturnURL: okURL, FailURL: failURL, NotifyURL: rc.srv.URL + "/webhooks/dolyami",
		})
		if err != nil {
			t.Fatalf("Create: %v (%s)", err, Explain(err))
		}
		if c.Ref != ref || c.Stage != StagePending || !strings.HasPrefix(c.PaymentURL, base+"/pay/") {
			t.Fatalf("Created = %+v", c)
		}
		return c
	}
	var paid *Created

	t.Run("an approved buyer is committed by the notification and the payment completes", func(t *testing.T) {
		paid = create(t, "PAY-DEMO-D-0001", 150050, []Item{
			{Name: "Чайник", Quantity: 2, UnitMinor: 50025, SKU: "T-1"}, {Name: "Чашка", Quantity: 1, UnitMinor: 50000, SKU: "C-1"}})
		if loc := press(t, paid.PaymentURL, "pay"); loc != okURL {
			t.Fatalf("back to %q", loc)
		}
		// approved → the gateway commits → committed and completed arrive
		// while the approved one is still being answered.
		ns := rc.about(paid.Ref)
		wantStages(t, ns, StageCompleted, StageCompleted, StageCompleted)
		for _, n := range ns {
			if n.AmountMinor != 150050 || n.Currency != "RUB" || n.Reference != paid.Ref || n.Reply == nil {
				t.Fatalf("notification = %+v", n)
			}
		}
		if o, _ := sb.Order(paid.Ref); o.Status != dolyami.StatusCompleted {
			t.Fatalf("sandbox order is %s, want completed", o.Status)
		}
		st, err := g.State(ctx, paid.Ref)
		if err != nil || st.Stage != StageCompleted || !st.Final || st.AmountMinor != 150050 {
			t.Fatalf("State = %+v, %v", st, err)
		}
		sent, _ := sb.Notifications(paid.Ref)
		for _, s := range sent {
			if !s.Delivered {
				t.Fatalf("Dolyami did not take the reply: %+v", s)
			}
		}
	})

	t.Run("a duplicate notification has the same EventID", func(t *testing.T) {
		before := rc.about(paid.Ref)
		if err := sb.ResendNotification(ctx, paid.Ref); err != nil {
			t.Fatal(err)
		}
		after := rc.about(paid.Ref)
		dup := after[len(after)-1]
		same := 0
		for _, n := range before {
			if n.EventID == dup.EventID {
				same++
			}
		}
		if len(after) != len(before)+1 || same != 1 {
			t.Fatalf("the resend's EventID %q matches %d earlier notifications", dup.EventID, same)
		}
	})

	t.Run("a notification Dolyami does not confirm is refused; a false claim is not believed", func(t *testing.T) {
		if code := rc.forge(t, "/webhooks/dolyami", "application/json", []byte(`{"id":"PAY-NOPE","status":"completed"}`)); code != http.StatusBadRequest {
			t.Fatalf("unknown order: status %d, want 400", code)
		}
		wantErr(t, rc.lastErr(t), ErrBadSignature, "Dolyami does not know")
		if code := rc.forge(t, "/webhooks/dolyami", "application/json", []byte(`not json`)); code != http.StatusBadRequest {
			t.Fatalf("garbage: status %d, want 400", code)
		}
		c := create(t, "PAY-DEMO-D-0002", 3000, nil)
		if code := rc.forge(t, "/webhooks/dolyami", "application/json", []byte(`{"id":"PAY-DEMO-D-0002","status":"completed"}`)); code != http.StatusOK {
			t.Fatalf("claim for a real order: status %d", code)
		}
		if ns := rc.about(c.Ref); len(ns) != 1 || ns[0].Stage != StagePending || ns[0].ProviderStatus != dolyami.StatusNew {
			t.Fatalf("the claim was believed: %+v", ns)
		}
	})

	t.Run("a rejected buyer fails", func(t *testing.T) {
		// Lines that do not add up (shipping): one line is sent instead.
		c := create(t, "PAY-DEMO-D-0003", 3000, []Item{{Name: "Чашка", Quantity: 1, UnitMinor: 2500}})
		if loc := press(t, c.PaymentURL, "decline"); loc != failURL {
			t.Fatalf("back to %q", loc)
		}
		ns := rc.about(c.Ref)
		wantStages(t, ns, StageFailed)
		if !strings.Contains(ns[0].Reason, "declined") {
			t.Fatalf("reason %q", ns[0].Reason)
		}
	})

	t.Run("an abandoned form is canceled", func(t *testing.T) {
		c := create(t, "PAY-DEMO-D-0004", 3000, nil)
		press(t, c.PaymentURL, "abandon")
		wantStages(t, rc.about(c.Ref), StageCanceled)
		if st, err := g.State(ctx, c.Ref); err != nil || st.Stage != StageCanceled || !st.Final {
			t.Fatalf("State = %+v, %v", st, err)
		}
	})

	t.Run("a partial refund then the rest", func(t *testing.T) {
		st, err := g.Refund(ctx, RefundRequest{Ref: paid.Ref, AmountMinor: 50000, Currency: "RUB", Key: "RF-TEST-4"})
		if err != nil {
			t.Fatal(err)
		}
		if st.Stage != StagePartiallyRefunded || st.RefundMinor != 50000 || st.RefundedMinor != 50000 || st.RefundRef == "" {
			t.Fatalf("partial = %+v", st)
		}
		st, err = g.Refund(ctx, RefundRequest{Ref: paid.Ref, Key: "RF-TEST-5"})
		if err != nil {
			t.Fatal(err)
		}
		if st.Stage != StageRefunded || st.RefundMinor != 100050 || st.RefundedMinor != 150050 {
			t.Fatalf("rest = %+v", st)
		}
	})

	t.Run("Test says what Dolyami answered; a wrong password is explained", func(t *testing.T) {
		msg, err := g.Test(ctx)
		if err != nil || !strings.Contains(msg, "accepted the login and password") {
			t.Fatalf("Test = %q, %v", msg, err)
		}
		bad := cfg
		bad.APISecret = "wrong"
		_, err = mustNew(t, bad).Test(ctx)
		wantExplained(t, err, "login or password")
	})
}

// ---------------------------------------------------------------- yandexpay

// signES256 makes a compact ES256 JWT with key, as someone holding another
// key than Yandex's would.
func signES256(t *testing.T, key *ecdsa.PrivateKey, kid string, payload any) []byte {
	t.Helper()
	now := time.Now()
	h, _ := json.Marshal(map[string]any{"alg": "ES256", "kid": kid, "typ": "JWT", "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()})
	p, _ := json.Marshal(payload)
	enc := base64.RawURLEncoding
	signed := enc.EncodeToString(h) + "." + enc.EncodeToString(p)
	sum := sha256.Sum256([]byte(signed))
	r, s, err := ecdsa.Sign(rand.Reader, key, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return []byte(signed + "." + enc.EncodeToString(sig))
}

func TestYandexPayThroughTheGateway(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sb, err := yandexpay.NewSandbox(openDB(t), yandexpay.SandboxConfig{})
	if err != nil {
		t.Fatal(err)
	}
	base := mount(t, "yandexpay", sb)
	sb.SetBaseURL(base)
	rc := newReceiver(t)
	// Yandex posts to the callback URL of the merchant console + /v1/webhook.
	if err := sb.SetCallbackURL(rc.srv.URL); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Provider: YandexPay, Endpoint: base, APIKey: yandexpay.DemoAPIKey,
		Settings: map[string]string{"merchant_id": yandexpay.DemoMerchantID, "ttl_minutes": "30"}}
	g := mustNew(t, cfg)
	rc.use(g)
	create := func(t *testing.T, ref string, amount int64) *Created {
		t.Helper()
		c, err := g.Create(ctx, CreateRequest{
			Reference: ref, OrderNumber: "ORD-DEMO-00000003-abcdef03", AmountMinor: amount, Currency: "RUB",
			Items:     []Item{{Name: "Tea", Quantity: 2, UnitMinor: (amount - 1000) / 2}, {Name: "Cup", Quantity: 1, UnitMinor: 1000}},
			ReturnURL: okURL, FailURL: failURL,
		})
		if err != nil {
			t.Fatalf("Create: %v (%s)", err, Explain(err))
		}
		if c.Ref != ref || c.Stage != StagePending || !strings.HasPrefix(c.PaymentURL, base+"/pay/") {
			t.Fatalf("Created = %+v", c)
		}
		return c
	}
	var paid *Created

	t.Run("a paid order is notified completed and State agrees", func(t *testing.T) {
		paid = create(t, "PAY-DEMO-Y-0001", 25000)
		if loc := press(t, paid.PaymentURL, "pay"); loc != okURL {
			t.Fatalf("back to %q", loc)
		}
		ns := rc.about(paid.Ref)
		wantStages(t, ns, StageCompleted)
		if n := ns[0]; n.Reference != paid.Ref || n.ProviderStatus != "CAPTURED" || string(n.Reply) != `{"status":"success"}` ||
			n.ReplyType != "application/json" || n.AmountMinor != 0 {
			t.Fatalf("notification = %+v", n)
		}
		st, err := g.State(ctx, paid.Ref)
		if err != nil || st.Stage != StageCompleted || !st.Final || st.AmountMinor != 25000 || st.Currency != "RUB" {
			t.Fatalf("State = %+v, %v", st, err)
		}
		hooks, _ := sb.Webhooks(paid.Ref)
		if len(hooks) != 1 || !hooks[0].Delivered {
			t.Fatalf("Yandex did not take the reply: %+v", hooks)
		}
	})

	t.Run("the app's poller sees pending until the payment shows", func(t *testing.T) {
		if err := sb.KeepPendingPolls(2); err != nil {
			t.Fatal(err)
		}
		defer sb.KeepPendingPolls(0)
		c := create(t, "PAY-DEMO-Y-0002", 5000)
		press(t, c.PaymentURL, "pay")
		var seen []string
		for range 4 {
			st, err := g.State(ctx, c.Ref)
			if err != nil {
				t.Fatal(err)
			}
			seen = append(seen, st.Stage)
			if st.Final {
				break
			}
		}
		if strings.Join(seen, ",") != "pending,pending,completed" {
			t.Fatalf("polls saw %v", seen)
		}
	})

	t.Run("a duplicate webhook has the same EventID", func(t *testing.T) {
		if err := sb.ResendNotification(paid.Ref); err != nil {
			t.Fatal(err)
		}
		ns := rc.about(paid.Ref)
		if len(ns) != 2 || ns[1].EventID != ns[0].EventID || string(rc.raw(ns[1])) == string(rc.raw(ns[0])) {
			t.Fatalf("after a resend (a fresh JWT): %+v", ns)
		}
	})

	t.Run("webhooks with a bad signature, a foreign key or for another merchant are refused", func(t *testing.T) {
		genuine := string(rc.raw(rc.about(paid.Ref)[0]))
		parts := strings.Split(genuine, ".")
		payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
		parts[1] = base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), "CAPTURED", "REFUNDED", 1)))
		if code := rc.forge(t, "/v1/webhook", "application/octet-stream", []byte(strings.Join(parts, "."))); code != http.StatusBadRequest {
			t.Fatalf("changed payload: status %d, want 400", code)
		}
		wantErr(t, rc.lastErr(t), ErrBadSignature, "wrong signature")

		other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		forged := signES256(t, other, sb.KeyID(), map[string]any{"merchantId": yandexpay.DemoMerchantID, "event": "ORDER_STATUS_UPDATED",
			"eventTime": time.Now().UTC().Format(time.RFC3339), "order": map[string]any{"orderId": "PAY-DEMO-Y-0003", "paymentStatus": "CAPTURED"}})
		if code := rc.forge(t, "/v1/webhook", "application/octet-stream", forged); code != http.StatusBadRequest {
			t.Fatalf("foreign key: status %d, want 400", code)
		}
		wantErr(t, rc.lastErr(t), ErrBadSignature, "wrong signature")

		foreign := cfg
		foreign.Settings = map[string]string{"merchant_id": "another-merchant"}
		_, err := mustNew(t, foreign).Notification(ctx, []byte(genuine), nil)
		wantErr(t, err, ErrBadSignature, "another merchant")
	})

	t.Run("a declined payment fails with the reason", func(t *testing.T) {
		c := create(t, "PAY-DEMO-Y-0004", 3000)
		if loc := press(t, c.PaymentURL, "decline"); loc != failURL {
			t.Fatalf("back to %q", loc)
		}
		wantStages(t, rc.about(c.Ref), StageFailed)
		st, err := g.State(ctx, c.Ref)
		if err != nil || st.Stage != StageFailed || !strings.Contains(st.Reason, "declined") {
			t.Fatalf("State = %+v, %v", st, err)
		}
	})

	t.Run("an abandoned form stays pending and sends nothing", func(t *testing.T) {
		c := create(t, "PAY-DEMO-Y-0005", 3000)
		if loc := press(t, c.PaymentURL, "abandon"); loc != failURL {
			t.Fatalf("back to %q", loc)
		}
		if len(rc.about(c.Ref)) != 0 {
			t.Fatal("abandon sent a webhook")
		}
		if st, err := g.State(ctx, c.Ref); err != nil || st.Stage != StagePending || st.Final {
			t.Fatalf("State = %+v, %v", st, err)
		}
	})

	t.Run("a partial refund then the rest", func(t *testing.T) {
		st, err := g.Refund(ctx, RefundRequest{Ref: paid.Ref, AmountMinor: 2550, Currency: "RUB", Key: "RF-TEST-6"})
		if err != nil {
			t.Fatal(err)
		}
		if st.Stage != StagePartiallyRefunded || st.RefundMinor != 2550 || st.RefundedMinor != 2550 || st.AmountMinor != 25000 || st.RefundRef == "" {
			t.Fatalf("partial = %+v", st)
		}
		st, err = g.Refund(ctx, RefundRequest{Ref: paid.Ref, Currency: "RUB", Key: "RF-TEST-7"})
		if err != nil {
			t.Fatal(err)
		}
		if st.Stage != StageRefunded || st.RefundMinor != 22450 || st.RefundedMinor != 25000 {
			t.Fatalf("rest = %+v", st)
		}
		ns := rc.about(paid.Ref)
		wantStages(t, ns[len(ns)-2:], StagePartiallyRefunded, StageRefunded)
	})

	t.Run("Test says what Yandex answered; a wrong key is explained", func(t *testing.T) {
		msg, err := g.Test(ctx)
		if err != nil || !strings.Contains(msg, "accepted the API key") || !strings.Contains(msg, yandexpay.DemoMerchantID) {
			t.Fatalf("Test = %q, %v", msg, err)
		}
		bad := cfg
		bad.APIKey = "wrong"
		_, err = mustNew(t, bad).Test(ctx)
		wantExplained(t, err, "refused the API key")
	})
}

// ---------------------------------------------------------------- paypal

func TestPayPalThroughTheGateway(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sb, err := paypal.NewSandbox(openDB(t), paypal.SandboxConfig{})
	if err != nil {
		t.Fatal(err)
	}
	base := mount(t, "paypal", sb)
	sb.SetBaseURL(base)
	rc := newReceiver(t)
	cfg := Config{Provider: PayPal, Endpoint: base, APIKey: paypal.DemoBusiness,
		APISecret: paypal.DemoAPIUsername + ":" + paypal.DemoAPIPassword + ":" + paypal.DemoAPISignature}
	g := mustNew(t, cfg)
	rc.use(g)
	create := func(t *testing.T, ref string, amount int64) *Created {
		t.Helper()
		c, err := g.Create(ctx, CreateRequest{
			Reference: ref, OrderNumber: "ORD-DEMO-00000004-abcdef04", AmountMinor: amount, Currency: "USD",
			ReturnURL: okURL, FailURL: failURL, NotifyURL: rc.srv.URL + "/webhooks/paypal",
		})
		if err != nil {
			t.Fatalf("Create: %v (%s)", err, Explain(err))
		}
		u, _ := url.Parse(c.PaymentURL)
		q := u.Query()
		if c.Ref != ref || c.Stage != StagePending || q.Get("cmd") != "_xclick" || q.Get("invoice") != ref ||
			q.Get("notify_url") != rc.srv.URL+"/webhooks/paypal" || q.Get("return") != okURL || q.Get("cancel_return") != failURL {
			t.Fatalf("Created = %+v", c)
		}
		return c
	}
	byReference := func(ref string) []*Notification {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		var out []*Notification
		for _, n := range rc.got {
			if n.Reference == ref {
				out = append(out, n)
			}
		}
		return out
	}
	var paid *Notification

	t.Run("a payment from the PayPal balance is completed by a verified IPN", func(t *testing.T) {
		c := create(t, "PAY-DEMO-P-0001", 10000)
		if loc := press(t, c.PaymentURL, "pay"); loc != okURL {
			t.Fatalf("back to %q", loc)
		}
		ns := byReference(c.Ref)
		wantStages(t, ns, StageCompleted)
		paid = ns[0]
		if paid.Ref == "" || paid.Ref == c.Ref || paid.AmountMinor != 10000 || paid.Currency != "USD" || !paid.ReceiverOK ||
			len(paid.Reply) != 0 || paid.ProviderStatus != "Completed" {
			t.Fatalf("notification = %+v", paid)
		}
		ipns, _ := sb.IPNs(paid.Ref)
		if len(ipns) != 1 || !ipns[0].Delivered {
			t.Fatalf("PayPal did not take the reply: %+v", ipns)
		}
		_, err := g.State(ctx, paid.Ref)
		wantErr(t, err, ErrNoStatusQuery, "notifications")
	})

	t.Run("a card payment is processing, then completed", func(t *testing.T) {
		c := create(t, "PAY-DEMO-P-0002", 5000)
		press(t, c.PaymentURL, "pay_card")
		ns := byReference(c.Ref)
		wantStages(t, ns, StageProcessing)
		if err := sb.Settle(ns[0].Ref); err != nil {
			t.Fatal(err)
		}
		ns = byReference(c.Ref)
		wantStages(t, ns, StageProcessing, StageCompleted)
		if ns[1].Ref != ns[0].Ref || ns[1].EventID == ns[0].EventID {
			t.Fatalf("notifications %+v", ns)
		}
	})

	t.Run("a declined payment fails; an abandoned one sends nothing and stays pending", func(t *testing.T) {
		c := create(t, "PAY-DEMO-P-0003", 1000)
		if loc := press(t, c.PaymentURL, "decline"); loc != failURL {
			t.Fatalf("back to %q", loc)
		}
		ns := byReference(c.Ref)
		wantStages(t, ns, StageFailed)
		if ns[0].Reason == "" {
			t.Fatal("no reason")
		}
		before := rc.count()
		c = create(t, "PAY-DEMO-P-0004", 1000)
		if loc := press(t, c.PaymentURL, "abandon"); loc != failURL {
			t.Fatalf("back to %q", loc)
		}
		if rc.count() != before {
			t.Fatal("abandon sent an IPN")
		}
	})

	t.Run("another amount than asked is reported as given", func(t *testing.T) {
		if err := sb.WrongAmountNext(); err != nil {
			t.Fatal(err)
		}
		c := create(t, "PAY-DEMO-P-0005", 10000)
		press(t, c.PaymentURL, "pay")
		ns := byReference(c.Ref)
		// VERIFIED and Completed: only the app's comparison with the order
		// finds it (suspected fraud).
		if len(ns) != 1 || ns[0].Stage != StageCompleted || ns[0].AmountMinor == 10000 || ns[0].AmountMinor <= 0 || ns[0].Currency != "USD" {
			t.Fatalf("notifications %+v", ns)
		}
	})

	t.Run("a duplicate IPN has the same EventID, a new one another", func(t *testing.T) {
		if err := sb.ResendIPN(paid.Ref); err != nil {
			t.Fatal(err)
		}
		if err := sb.SendIPN(paid.Ref, "Pending"); err != nil {
			t.Fatal(err)
		}
		ns := rc.about(paid.Ref)
		if len(ns) != 3 || ns[1].EventID != ns[0].EventID || ns[2].EventID == ns[0].EventID || ns[2].Stage != StageProcessing {
			t.Fatalf("notifications %+v", ns)
		}
	})

	t.Run("an IPN PayPal did not send is refused; another receiver is reported", func(t *testing.T) {
		genuine := string(rc.raw(paid))
		forged := strings.Replace(genuine, "mc_gross=100.00", "mc_gross=1.00", 1)
		if forged == genuine {
			t.Fatalf("no mc_gross=100.00 in %s", genuine)
		}
		if code := rc.forge(t, "/webhooks/paypal", "application/x-www-form-urlencoded", []byte(forged)); code != http.StatusBadRequest {
			t.Fatalf("status %d, want 400", code)
		}
		wantErr(t, rc.lastErr(t), ErrBadSignature, "not genuine")

		other := cfg
		other.Settings = map[string]string{"receiver_email": "someone-else@shop.test"}
		n, err := mustNew(t, other).Notification(ctx, []byte(genuine), nil)
		if err != nil || n.ReceiverOK {
			t.Fatalf("another receiver: %+v, %v", n, err)
		}
	})

	t.Run("a partial refund then the rest; a full refund", func(t *testing.T) {
		st, err := g.Refund(ctx, RefundRequest{Ref: paid.Ref, AmountMinor: 2500, Currency: "USD", Key: "RF-TEST-8"})
		if err != nil {
			t.Fatal(err)
		}
		if st.Stage != StagePartiallyRefunded || st.RefundMinor != 2500 || st.RefundedMinor != 2500 || st.RefundRef == "" {
			t.Fatalf("partial = %+v", st)
		}
		// The refund's IPN: about the parent payment, with this refund's amount.
		waitFor(t, "the refund IPN", func() bool {
			for _, n := range rc.about(paid.Ref) {
				if n.RefundRef == st.RefundRef {
					return true
				}
			}
			return false
		})
		ns := rc.about(paid.Ref)
		if n := ns[len(ns)-1]; n.Stage != StagePartiallyRefunded || n.RefundMinor != 2500 || n.AmountMinor != 0 {
			t.Fatalf("refund notification = %+v", n)
		}
		// PayPal refuses a Full refund after a partial one: the rest goes by
		// its amount, and StageFor knows the payment's amount.
		st, err = g.Refund(ctx, RefundRequest{Ref: paid.Ref, AmountMinor: 7500, Currency: "USD", Key: "RF-TEST-9"})
		if err != nil {
			t.Fatal(err)
		}
		if st.RefundedMinor != 10000 || st.StageFor(10000) != StageRefunded {
			t.Fatalf("rest = %+v", st)
		}
		card := byReference("PAY-DEMO-P-0002")[1]
		st, err = g.Refund(ctx, RefundRequest{Ref: card.Ref, Key: "RF-TEST-10"})
		if err != nil {
			t.Fatal(err)
		}
		if st.Stage != StageRefunded || st.RefundMinor != 5000 {
			t.Fatalf("full = %+v", st)
		}
		noNVP := cfg
		noNVP.APISecret = ""
		_, err = mustNew(t, noNVP).Refund(ctx, RefundRequest{Ref: card.Ref, Key: "RF-TEST-11"})
		wantErr(t, err, ErrRefundUnsupported, "classic API credentials")
	})

	t.Run("Test says what PayPal answered; wrong API credentials are explained", func(t *testing.T) {
		msg, err := g.Test(ctx)
		if err != nil || !strings.Contains(msg, "accepted the classic API credentials") {
			t.Fatalf("Test = %q, %v", msg, err)
		}
		bad := cfg
		bad.APISecret = paypal.DemoAPIUsername + ":wrong:" + paypal.DemoAPISignature
		_, err = mustNew(t, bad).Test(ctx)
		wantExplained(t, err, "refused the API credentials")
	})
}

// ---------------------------------------------------------------- kuveyt

// shop is the app's side of kuveyt: the OkUrl and FailUrl pages the
// customer's browser posts the bank's answer to. It reads the answer with
// Notification (for its EventID) and finishes it with CompleteKuveyt.
type shop struct {
	srv *httptest.Server
	g   Gateway

	mu      sync.Mutex
	amounts map[string]int64 // reference → amount, the app's payments
	notes   []*Notification
	states  []*State
	errs    []error
}

func (s *shop) handle(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	n, err := s.g.Notification(r.Context(), body, r.Header)
	var st *State
	if err == nil {
		vals, _ := url.ParseQuery(string(body))
		s.mu.Lock()
		amount := s.amounts[n.Reference]
		s.mu.Unlock()
		st, err = CompleteKuveyt(r.Context(), s.g, vals.Get("AuthenticationResponse"), n.Reference, amount)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if n != nil {
		s.notes = append(s.notes, n)
	}
	if err != nil {
		s.errs = append(s.errs, err)
		http.Error(w, Explain(err), ReplyStatus(err))
		return
	}
	s.states = append(s.states, st)
	_, _ = io.WriteString(w, "thank you")
}

func (s *shop) last(t *testing.T) (*Notification, *State, error) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.notes) == 0 {
		t.Fatal("the shop got no answer from the bank")
	}
	var st *State
	if len(s.states) > 0 {
		st = s.states[len(s.states)-1]
	}
	var err error
	if len(s.errs) > 0 {
		err = s.errs[len(s.errs)-1]
	}
	return s.notes[len(s.notes)-1], st, err
}

var (
	reAction = regexp.MustCompile(`action="([^"]*)"`)
	reHidden = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
)

// autoForm reads an auto-posting form page as a browser would.
func autoForm(t *testing.T, page []byte) (string, url.Values) {
	t.Helper()
	m := reAction.FindSubmatch(page)
	if m == nil || !strings.Contains(string(page), `data-testid="sandbox-continue"`) {
		t.Fatalf("not an auto-posting form:\n%s", page)
	}
	vals := url.Values{}
	for _, h := range reHidden.FindAllSubmatch(page, -1) {
		vals.Add(html.UnescapeString(string(h[1])), html.UnescapeString(string(h[2])))
	}
	return html.UnescapeString(string(m[1])), vals
}

func postForm(t *testing.T, target string, vals url.Values) (int, []byte) {
	t.Helper()
	resp, err := browser.PostForm(target, vals)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// threeDS is the customer's browser: the bank's page auto-posts to the ACS,
// the customer presses a button there, and the ACS page auto-posts the
// answer to the shop. It returns the shop page it went to and its status.
func threeDS(t *testing.T, bankHTML []byte, action string) (string, int) {
	t.Helper()
	acs, vals := autoForm(t, bankHTML)
	if status, page := postForm(t, acs, vals); status != http.StatusOK || !strings.Contains(string(page), `data-testid="sandbox-`+action+`"`) {
		t.Fatalf("ACS page: %d\n%s", status, page)
	}
	status, page := postForm(t, acs, url.Values{"action": {action}, "code": {"123456"}})
	if status != http.StatusOK {
		t.Fatalf("ACS %s: %d", action, status)
	}
	target, vals := autoForm(t, page)
	status, _ = postForm(t, target, vals)
	return target, status
}

func TestKuveytThroughTheGateway(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sb, err := kuveyt.NewSandbox(openDB(t), kuveyt.SandboxConfig{})
	if err != nil {
		t.Fatal(err)
	}
	base := mount(t, "kuveyt", sb)
	sb.SetBaseURL(base)
	cfg := Config{Provider: Kuveyt, Endpoint: base + "/Home/ThreeDModelPayGate",
		APIKey:    kuveyt.DemoMerchantID + ":" + kuveyt.DemoCustomerID + ":" + kuveyt.DemoUserName,
		APISecret: kuveyt.DemoPassword}
	g := mustNew(t, cfg)
	sh := &shop{g: g, amounts: map[string]int64{}}
	sh.srv = httptest.NewServer(http.HandlerFunc(sh.handle))
	t.Cleanup(sh.srv.Close)
	card := &Card{Number: "4033602562020327", Holder: "Test Kart", ExpMonth: 1, ExpYear: 2030, CVV: "861"}
	create := func(t *testing.T, ref string, amount int64) *Created {
		t.Helper()
		sh.mu.Lock()
		sh.amounts[ref] = amount
		sh.mu.Unlock()
		c, err := g.Create(ctx, CreateRequest{
			Reference: ref, OrderNumber: "ORD-DEMO-00000005-abcdef05", AmountMinor: amount, Currency: "TRY",
			Customer:  Customer{Email: "ahmet@example.test", Name: "Ahmet Yılmaz", Phone: "+905551234567"},
			ReturnURL: sh.srv.URL + "/pay/ok", FailURL: sh.srv.URL + "/pay/fail", Card: card, ClientIP: "127.0.0.1",
		})
		if err != nil {
			t.Fatalf("Create: %v (%s)", err, Explain(err))
		}
		if c.Ref != ref || c.Stage != StagePending || c.PaymentURL != "" || len(c.HTML) == 0 || strings.Contains(c.Raw, "MD") {
			t.Fatalf("Created = %+v", c)
		}
		return c
	}
	var first *Notification

	t.Run("a 3-D Secure payment is provisioned and completed", func(t *testing.T) {
		c := create(t, "PAY-DEMO-K-0001", 15000)
		target, status := threeDS(t, c.HTML, "pay")
		if target != sh.srv.URL+"/pay/ok" || status != http.StatusOK {
			t.Fatalf("the shop answered %d at %s", status, target)
		}
		n, st, _ := sh.last(t)
		first = n
		if n.Reference != c.Ref || n.Stage != "" || n.AmountMinor != 15000 || n.Currency != "TRY" || n.Reply != nil {
			t.Fatalf("notification = %+v", n)
		}
		if st.Stage != StageCompleted || st.Ref != c.Ref || st.AmountMinor != 15000 || st.ProviderStatus != "00" || !st.Final {
			t.Fatalf("state = %+v", st)
		}
		if p, _ := sb.Payment(c.Ref); p.State != kuveyt.StateProvisioned {
			t.Fatalf("the bank's payment is %s", p.State)
		}
	})

	t.Run("a re-posted answer has the same EventID and takes no money twice", func(t *testing.T) {
		value, err := sb.AuthenticationResponse("PAY-DEMO-K-0001")
		if err != nil {
			t.Fatal(err)
		}
		status, _ := postForm(t, sh.srv.URL+"/pay/ok", url.Values{"AuthenticationResponse": {value}})
		n, _, err := sh.last(t)
		if status != http.StatusBadRequest || n.EventID != first.EventID {
			t.Fatalf("re-post: %d, EventID %q vs %q", status, n.EventID, first.EventID)
		}
		wantErr(t, err, ErrBadSignature, "already used")
	})

	t.Run("a forged or misdirected answer is refused", func(t *testing.T) {
		create(t, "PAY-DEMO-K-0002", 2000)
		forged := `<?xml version="1.0" encoding="UTF-8"?><VPosTransactionResponseContract><VPosMessage>` +
			`<MerchantOrderId>PAY-DEMO-K-0002</MerchantOrderId><Amount>2000</Amount><CurrencyCode>949</CurrencyCode></VPosMessage>` +
			`<ResponseCode>00</ResponseCode><ResponseMessage>ok</ResponseMessage><OrderId>1</OrderId>` +
			`<MerchantOrderId>PAY-DEMO-K-0002</MerchantOrderId><MD>bogus</MD></VPosTransactionResponseContract>`
		_, err := CompleteKuveyt(ctx, g, url.QueryEscape(forged), "PAY-DEMO-K-0002", 2000)
		wantErr(t, err, ErrBadSignature, "could not be confirmed")
		// Refused before the bank is asked.
		_, err = CompleteKuveyt(ctx, g, url.QueryEscape(forged), "PAY-DEMO-K-0009", 2000)
		wantErr(t, err, ErrBadSignature, "for another order")
		if !strings.Contains(err.Error(), `is for order "PAY-DEMO-K-0002"`) {
			t.Fatalf("err = %v", err)
		}
		_, err = g.Notification(ctx, []byte("AuthenticationResponse=not+xml"), nil)
		wantErr(t, err, ErrBadSignature, "could not be confirmed")
	})

	t.Run("a failed or abandoned 3-D Secure is only what the page says: unconfirmed, never a failed state", func(t *testing.T) {
		for i, action := range []string{"decline", "abandon"} {
			c := create(t, fmt.Sprintf("PAY-DEMO-K-%04d", 10+i), 5000)
			if target, _ := threeDS(t, c.HTML, action); target != sh.srv.URL+"/pay/fail" {
				t.Fatalf("%s went to %s", action, target)
			}
			n, _, err := sh.last(t)
			var ue *UnverifiedError
			if n.Stage != StageFailed || !errors.As(err, &ue) || !strings.Contains(ue.Reason, "3D Secure") {
				t.Fatalf("%s: notification %+v, err %v", action, n, err)
			}
		}
	})

	t.Run("a card the bank declines at provision fails with the bank's reason", func(t *testing.T) {
		if err := sb.DeclineNext(); err != nil {
			t.Fatal(err)
		}
		c := create(t, "PAY-DEMO-K-0020", 5000)
		threeDS(t, c.HTML, "pay")
		_, st, _ := sh.last(t)
		if st.Ref != c.Ref || st.Stage != StageFailed || st.ProviderStatus != "51" || !strings.Contains(st.Reason, "insufficient funds") {
			t.Fatalf("state = %+v", st)
		}
	})

	t.Run("no status query, no refunds, and no payment without a card", func(t *testing.T) {
		_, err := g.State(ctx, "PAY-DEMO-K-0001")
		wantErr(t, err, ErrNoStatusQuery, "Kuveyt Türk cannot be asked")
		_, err = g.Refund(ctx, RefundRequest{Ref: "PAY-DEMO-K-0001", Currency: "TRY", Key: "RF-TEST-12"})
		wantErr(t, err, ErrRefundUnsupported, "merchant panel")
		_, err = g.Create(ctx, CreateRequest{Reference: "PAY-DEMO-K-0030", AmountMinor: 100, Currency: "TRY", ReturnURL: okURL, FailURL: failURL})
		wantErr(t, err, ErrBadRequest, "needs the card")
	})

	t.Run("Test says what the bank answered; a wrong password is explained", func(t *testing.T) {
		msg, err := g.Test(ctx)
		if err != nil || !strings.Contains(msg, "accepted the merchant id") {
			t.Fatalf("Test = %q, %v", msg, err)
		}
		bad := cfg
		bad.APISecret = "wrong"
		_, err = mustNew(t, bad).Test(ctx)
		wantExplained(t, err, "HashData")
	})
}

func TestAccepts(t *testing.T) {
	cases := []struct {
		provider, currency string
		want               bool
	}{
		{Tinkoff, "RUB", true}, {Tinkoff, "TRY", false}, {Dolyami, "rub", true}, {YandexPay, "USD", false},
		{Kuveyt, "TRY", true}, {Kuveyt, "RUB", false}, {PayPal, "USD", true}, {"nope", "RUB", false},
	}
	for _, c := range cases {
		if got := Accepts(c.provider, c.currency); got != c.want {
			t.Errorf("Accepts(%s, %s) = %v, want %v", c.provider, c.currency, got, c.want)
		}
	}
}
