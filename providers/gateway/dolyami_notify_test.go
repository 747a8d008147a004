package gateway

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"

	"orderdesk/providers/dolyami"
)

// Our order id travels in Dolyami's notification_url, as public
// integrations put it there, so that a notification whose body does not
// name the order still finds its payment.
func TestDolyamiNotificationURLCarriesTheOrder(t *testing.T) {
	sb, err := dolyami.NewSandbox(openDB(t), dolyami.SandboxConfig{})
	if err != nil {
		t.Fatal(err)
	}
	base := mount(t, "dolyami", sb)
	sb.SetBaseURL(base)
	rc := newReceiver(t)
	g := mustNew(t, Config{Provider: Dolyami, Endpoint: base, APIKey: dolyami.DemoLogin, APISecret: dolyami.DemoPassword})
	rc.use(g)
	ctx := context.Background()

	c, err := g.Create(ctx, CreateRequest{Reference: "PAY-Q/1", OrderNumber: "ORD-1", AmountMinor: 5000, Currency: "RUB",
		Items: []Item{{Name: "Tea", Quantity: 1, UnitMinor: 5000}}, ReturnURL: okURL, FailURL: failURL,
		NotifyURL: rc.srv.URL + "/webhooks/dolyami/7?v=1"})
	if err != nil {
		t.Fatal(err)
	}
	o, err := sb.Order(c.Ref)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(o.NotificationURL)
	if err != nil || u.Path != "/webhooks/dolyami/7" || u.Query().Get("order_id") != "PAY-Q/1" || u.Query().Get("v") != "1" {
		t.Fatalf("notification_url %q, want our webhook with order_id=PAY-Q/1 (and its own query kept)", o.NotificationURL)
	}

	// The buyer is approved; the shop is told without the order id in the
	// body: the URL's order_id finds it, and the gateway commits it.
	press(t, c.PaymentURL, "pay")
	header := http.Header{WebhookQueryHeader: {u.RawQuery}}
	n, err := g.Notification(ctx, []byte(`{"status":"approved"}`), header)
	if err != nil {
		t.Fatalf("a notification without an id in its body: %v (%s)", err, Explain(err))
	}
	if n.Ref != "PAY-Q/1" || n.Stage != StageCompleted {
		t.Errorf("notification = ref %q stage %s, want PAY-Q/1 completed", n.Ref, n.Stage)
	}

	// A body naming another order than the URL is refused.
	_, err = g.Notification(ctx, []byte(`{"id":"PAY-OTHER","status":"approved"}`), header)
	if !errors.Is(err, ErrBadSignature) {
		t.Errorf("a body for another order than its URL's: %v, want refused", err)
	}
	// Without either, nothing can be found.
	if _, err = g.Notification(ctx, []byte(`{"status":"approved"}`), http.Header{}); !errors.Is(err, ErrBadSignature) {
		t.Errorf("a notification naming no order: %v, want refused", err)
	}
}

// A shop that missed "approved" hears "wait_for_commit" and commits then.
func TestDolyamiCommitsOnWaitForCommit(t *testing.T) {
	sb, err := dolyami.NewSandbox(openDB(t), dolyami.SandboxConfig{})
	if err != nil {
		t.Fatal(err)
	}
	base := mount(t, "dolyami", sb)
	sb.SetBaseURL(base)
	rc := newReceiver(t)
	g := mustNew(t, Config{Provider: Dolyami, Endpoint: base, APIKey: dolyami.DemoLogin, APISecret: dolyami.DemoPassword})
	rc.use(g)
	c, err := g.Create(context.Background(), CreateRequest{Reference: "PAY-W", OrderNumber: "ORD-2", AmountMinor: 5000, Currency: "RUB",
		Items: []Item{{Name: "Tea", Quantity: 1, UnitMinor: 5000}}, ReturnURL: okURL, FailURL: failURL,
		NotifyURL: rc.srv.URL + "/webhooks/dolyami/7"})
	if err != nil {
		t.Fatal(err)
	}
	// Dolyami cannot be asked back while the shop hears "approved": the
	// gateway defers it, and the order waits for the commit.
	sb.FailNext(dolyami.FailHTTP500)
	press(t, c.PaymentURL, "pay")
	o, err := sb.Order(c.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if o.Status != dolyami.StatusCompleted {
		t.Fatalf("after wait_for_commit the order is %s, want completed (committed by the gateway)", o.Status)
	}
	if ns := rc.about("PAY-W"); len(ns) == 0 || ns[0].Stage != StageCompleted {
		t.Errorf("the shop took %d notifications, the first not completed", len(ns))
	}
}
