package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"orderdesk/jobs"
	"orderdesk/model"
	"orderdesk/providers/tinkoff"
)

// eventually polls cond for up to five seconds: the app reads the maintenance
// state again every couple of seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// status is the status of a GET of path by c.
func (c *client) status(path string) int {
	c.t.Helper()
	res, _ := c.do("GET", path, nil, nil)
	return res.StatusCode
}

func TestShopMaintenanceIsTheOwners(t *testing.T) {
	e := newEnv(t)
	owner := e.client(t, "")
	owner.login("owner@demo.test", demoPassword)
	staff := e.client(t, "")
	staff.login("staff@demo.test", demoPassword)
	customer := e.client(t, "")

	t.Run("staff can neither see nor use the toggle", func(t *testing.T) {
		res, _ := staff.get("/admin/settings/maintenance")
		wantStatus(t, res, http.StatusForbidden)
		res, _ = staff.postForm("/admin/settings/maintenance", url.Values{"action": {"down"}})
		wantStatus(t, res, http.StatusForbidden)
		if _, doc := staff.get("/admin/settings"); doc.Find(`[data-testid="settings-maintenance"]`).Length() != 0 {
			t.Error("staff's settings page links the maintenance toggle")
		}
		if got := customer.status("/shop"); got != http.StatusOK {
			t.Errorf("the shop after staff's try: %d, want 200", got)
		}
	})

	t.Run("a note too long is refused by its field, the text kept", func(t *testing.T) {
		long := strings.Repeat("x", model.MaxMaintenanceMessageLen+1)
		res, doc := owner.postForm("/admin/settings/maintenance", url.Values{"action": {"down"}, "message": {long}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		if doc.Find(`[data-testid="error-message"]`).Length() != 1 || doc.Find(`input[name="message"]`).AttrOr("value", "") != long {
			t.Errorf("the form after a long note: %s", doc.Find("main").Text())
		}
		if got := customer.status("/shop"); got != http.StatusOK {
			t.Errorf("the shop after a refused close: %d", got)
		}
	})

	t.Run("the owner closes the shop: customers get the maintenance page, staff keep working", func(t *testing.T) {
		_, doc := owner.get("/admin/settings")
		if doc.Find(`[data-testid="settings-maintenance"]`).Length() != 1 {
			t.Error("the owner's settings page does not link the maintenance toggle")
		}
		res, _ := owner.postForm("/admin/settings/maintenance", url.Values{"action": {"down"}, "message": {"Back at 14:00"}})
		wantStatus(t, res, http.StatusSeeOther)
		_, doc = owner.get("/admin/settings/maintenance")
		if doc.Find(`[data-testid="shop-down"]`).Length() != 1 || !strings.Contains(doc.Find(`[data-testid="flash"]`).Text(), "closed to customers") {
			t.Errorf("the owner's page after closing: %s", doc.Find("main").Text())
		}

		// At once in this process: the toggle drops the copy in memory.
		res, doc = customer.get("/shop")
		wantStatus(t, res, http.StatusServiceUnavailable)
		if res.Header.Get("Retry-After") != "60" || doc.Find("html").AttrOr("lang", "") != "en" ||
			doc.Find(`[data-testid="maintenance-message"]`).Text() != "Back at 14:00" ||
			!strings.Contains(doc.Find("h1").Text(), "maintenance") || doc.Find(`[data-testid="maintenance-staff"]`).Length() != 1 {
			t.Errorf("the maintenance page: Retry-After %q, %s", res.Header.Get("Retry-After"), doc.Text())
		}
		res, body := customer.api("GET", "/api/public/products/", nil)
		wantStatus(t, res, http.StatusServiceUnavailable)
		if body["success"] != false || !strings.Contains(body["message"].(string), "maintenance") || !strings.Contains(body["message"].(string), "Back at 14:00") {
			t.Errorf("the API during maintenance: %v", body)
		}
		if got := staff.status("/admin/orders"); got != http.StatusOK {
			t.Errorf("staff's order desk during the shop's maintenance: %d, want 200", got)
		}
		tr := e.client(t, "demo-tr.localhost")
		if got := tr.status("/shop"); got != http.StatusOK {
			t.Errorf("the other shop, demo-tr: %d, want 200", got)
		}
	})

	t.Run("the owner opens it again", func(t *testing.T) {
		res, _ := owner.postForm("/admin/settings/maintenance", url.Values{"action": {"up"}})
		wantStatus(t, res, http.StatusSeeOther)
		if got := customer.status("/shop"); got != http.StatusOK {
			t.Errorf("the shop after opening: %d", got)
		}
	})
}

func TestInstanceMaintenance(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// A customer's payment under way when the operator takes the site down.
	buyer := e.client(t, "")
	o := e.placeOrder(t, buyer)
	_, tx := e.startPayment(t, buyer, o, "tinkoff")

	const secret = "Bruler23"
	if err := e.store.SetInstanceDown(ctx, secret, 120, "Back at noon"); err != nil {
		t.Fatal(err)
	}
	trCustomer := e.client(t, "demo-tr.localhost")
	eventually(t, "the app to follow the maintenance", func() bool { return trCustomer.status("/shop") == http.StatusServiceUnavailable })

	t.Run("pages are 503 in the shop's language, with Retry-After and the note", func(t *testing.T) {
		res, doc := trCustomer.get("/shop/cart")
		wantStatus(t, res, http.StatusServiceUnavailable)
		if res.Header.Get("Retry-After") != "120" || doc.Find("html").AttrOr("lang", "") != "tr" ||
			!strings.Contains(doc.Find("h1").Text(), "Bakım") || doc.Find(`[data-testid="maintenance-message"]`).Text() != "Back at noon" {
			t.Errorf("demo-tr's page: Retry-After %q, %s", res.Header.Get("Retry-After"), doc.Text())
		}
		if doc.Find(`[data-testid="maintenance-staff"]`).Length() != 0 {
			t.Error("the installation's maintenance page shows the staff link, which is down too")
		}
		for _, path := range []string{"/admin/login", "/", "/track", "/nothing-here"} {
			if got := buyer.status(path); got != http.StatusServiceUnavailable {
				t.Errorf("%s: %d, want 503", path, got)
			}
		}
		res, body := trCustomer.api("GET", "/api/cart/", nil)
		wantStatus(t, res, http.StatusServiceUnavailable)
		if body["success"] != false || !strings.Contains(body["message"].(string), "bakımda") {
			t.Errorf("demo-tr's API: %v", body)
		}
		res, _ = buyer.do("GET", "/admin/orders", nil, http.Header{"Hx-Request": {"true"}})
		if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("HX-Refresh") != "true" {
			t.Errorf("an htmx request: %d, HX-Refresh %q", res.StatusCode, res.Header.Get("HX-Refresh"))
		}
	})

	t.Run("probes, sandboxes, OAuth callbacks and the bank's return keep working", func(t *testing.T) {
		for _, path := range []string{"/healthz", "/readyz", "/sandbox/"} {
			if got := buyer.status(path); got != http.StatusOK {
				t.Errorf("%s: %d, want 200", path, got)
			}
		}
		if got := buyer.status("/oauth/taobao/callback?code=x&state=y"); got == http.StatusServiceUnavailable {
			t.Error("the OAuth callback got the maintenance page")
		}
		res, _ := buyer.do("POST", "/pay/kuveyt/ORD-NOPE/ok", strings.NewReader("AuthenticationResponse=x"),
			http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
		if res.StatusCode == http.StatusServiceUnavailable {
			t.Error("the bank's 3-D Secure return got the maintenance page")
		}
	})

	t.Run("a provider's webhook lands and pays the order", func(t *testing.T) {
		in, err := e.store.UsableIntegration(ctx, e.demo.ID, model.ProviderTinkoff)
		if err != nil {
			t.Fatal(err)
		}
		p := e.payments(t, o.ID)[0]
		params := map[string]any{"TerminalKey": tinkoff.DemoTerminalKey, "OrderId": p.Number, "Success": true, "Status": "CONFIRMED",
			"PaymentId": json.Number(tx), "ErrorCode": "0", "Amount": o.Total}
		params["Token"] = tinkoff.Token(params, tinkoff.DemoPassword)
		b, _ := json.Marshal(params)
		res, err := http.Post(fmt.Sprintf("%s/webhooks/tinkoff/%d", e.srv.URL, in.ID), "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		reply, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || string(reply) != "OK" {
			t.Errorf("the notification was answered %d %q", res.StatusCode, reply)
		}
		if got := e.order(t, o.ID); got.PaymentStatus != model.PayPaid {
			t.Errorf("the order after the notification: %s", got.PaymentStatus)
		}
	})

	t.Run("/{secret} lets a browser through with a cookie that is not the secret", func(t *testing.T) {
		var stored string
		if err := e.store.DB.R.QueryRow(`SELECT secret_hash FROM instance_maintenance`).Scan(&stored); err != nil || stored == "" || strings.Contains(stored, secret) {
			t.Errorf("the stored secret: %q, %v", stored, err)
		}
		guess := e.client(t, "")
		if got := guess.status("/Bruler24"); got != http.StatusServiceUnavailable {
			t.Errorf("a wrong secret: %d, want 503", got)
		}
		if res, _ := guess.do("POST", "/"+secret, nil, nil); res.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("a POST to the secret: %d, want 503", res.StatusCode)
		}
		staff := e.client(t, "")
		res, _ := staff.do("GET", "/"+secret, nil, nil)
		wantStatus(t, res, http.StatusSeeOther)
		if res.Header.Get("Location") != "/" {
			t.Errorf("the bypass sends to %q, want /", res.Header.Get("Location"))
		}
		var ck *http.Cookie
		for _, c := range res.Cookies() {
			if c.Name == "orderdesk_maintenance" {
				ck = c
			}
		}
		if ck == nil || !ck.HttpOnly || ck.Value == "" || strings.Contains(ck.Value, secret) {
			t.Fatalf("the bypass cookie: %+v", ck)
		}
		if got := staff.status("/admin/login"); got != http.StatusOK {
			t.Errorf("the sign-in page with the cookie: %d", got)
		}
		staff.login("owner@demo.test", demoPassword)
		if got := staff.status("/admin/orders"); got != http.StatusOK {
			t.Errorf("the order desk with the cookie: %d", got)
		}
		forged := e.client(t, "")
		u, _ := url.Parse(e.base)
		forged.http.Jar.SetCookies(u, []*http.Cookie{{Name: "orderdesk_maintenance", Value: ck.Value + "x"}})
		if got := forged.status("/admin/login"); got != http.StatusServiceUnavailable {
			t.Errorf("a forged cookie: %d, want 503", got)
		}

		t.Run("the owner's toggle does not lift the installation's maintenance", func(t *testing.T) {
			_, doc := staff.get("/admin/settings/maintenance")
			if doc.Find(`[data-testid="instance-down"]`).Length() != 1 {
				t.Errorf("the owner is not told the installation is down: %s", doc.Find("main").Text())
			}
			for _, action := range []string{"down", "up"} {
				res, _ := staff.postForm("/admin/settings/maintenance", url.Values{"action": {action}})
				wantStatus(t, res, http.StatusSeeOther)
			}
			if got := guess.status("/shop"); got != http.StatusServiceUnavailable {
				t.Errorf("a customer after the owner opened the shop: %d, want 503", got)
			}
		})
	})

	t.Run("up restores every shop", func(t *testing.T) {
		if _, err := e.store.SetInstanceUp(ctx); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the app to follow up", func() bool { return trCustomer.status("/shop") == http.StatusOK })
		if got := e.client(t, "").status("/admin/login"); got != http.StatusOK {
			t.Errorf("the sign-in page after up: %d", got)
		}
	})
}

// TestIdlePollerLeavesNoRun: the 3-second payment poller in a shop with no
// open payment leaves no job_runs row; in a shop with one, it does.
func TestIdlePollerLeavesNoRun(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tr, err := e.store.FindTenantBySlug(ctx, model.DemoTurkishSlug)
	if err != nil {
		t.Fatal(err)
	}
	c := e.client(t, "")
	o := e.placeOrder(t, c)
	e.sandboxes.YandexPay.KeepPendingPolls(5)
	e.startPayment(t, c, o, "yandexpay")
	poll := e.sched.Job(jobs.PollPaymentsName)
	for range 3 {
		if _, err := e.sched.RunOnce(ctx, poll, tr); err != nil {
			t.Fatal(err)
		}
	}
	if runs, _ := e.store.FindJobRuns(ctx, tr.ID, jobs.PollPaymentsName, 10); len(runs) != 0 {
		t.Errorf("demo-tr, with no open payment: %d poll runs recorded, want none", len(runs))
	}
	if _, err := e.sched.RunOnce(ctx, poll, e.demo); err != nil {
		t.Fatal(err)
	}
	if runs, _ := e.store.FindJobRuns(ctx, e.demo.ID, jobs.PollPaymentsName, 10); len(runs) != 1 || runs[0].Processed != 1 {
		t.Errorf("demo, with an open payment: %+v, want its run", runs)
	}
}
