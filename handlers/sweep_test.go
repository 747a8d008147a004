package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"orderdesk/model"
)

// TestNoShopReachesAnother is the cross-shop sweep of issue 8: the owner,
// a customer and an API token of demo-tr call every route of the application
// with demo's ids, numbers and names (orders, payments, refunds, reviews,
// integrations, users, job runs, tokens), in the path and in the body. None
// may answer with demo's data or fail with a 500, and demo's data must be the
// same after the sweep.
func TestNoShopReachesAnother(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	demoOwner := e.owner(t)

	// demo: a paid order with a refund, a review, a job run, an API token.
	c := e.client(t, "")
	o := e.placeOrder(t, c)
	pageURL, tx := e.startPayment(t, c, o, "tinkoff")
	e.browse(t, c, pageURL, "sandbox-pay")
	p := e.payments(t, o.ID)[0]
	if res := refundConfirmed(demoOwner, demoOwner.csrf(), p.ID, "1.00"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("demo's refund: %d", res.StatusCode)
	}
	if err := e.store.AddPaymentReview(ctx, e.demo.ID, p.ID, o.ID, "amount_mismatch", "demo's review"); err != nil {
		t.Fatal(err)
	}
	e.runJob(t, demoOwner, "expire-unpaid")
	// demo buys through OT too: an OT order of its own with its export.
	op := e.otShop(t)
	otOrder := e.paidOrderOf(t, e.demo, item{"BAG-TOTE", 1})
	e.runJob(t, op, "orders-to-ot")
	otAct := e.activity(t, e.demo, otOrder.ID)
	otx, err := e.store.FindLiveOTOrder(ctx, e.demo.ID, otOrder.ID)
	if err != nil {
		t.Fatal(err)
	}
	demoRaw, demoToken, err := e.store.CreateAPIToken(ctx, e.demo.ID, e.user(t, e.demo.ID, "owner@demo.test"), "demo's script")
	if err != nil {
		t.Fatal(err)
	}
	refunds, _ := e.store.FindRefunds(ctx, e.demo.ID, o.ID)
	reviews, _ := e.store.FindPaymentReviews(ctx, e.demo.ID, false, 10)
	runs, _ := e.store.FindJobRuns(ctx, e.demo.ID, "expire-unpaid", 1)
	integrations, _ := e.store.FindIntegrations(ctx, e.demo.ID)
	users, _ := e.store.FindUsers(ctx, e.demo.ID)
	messages, _ := e.store.FindMessages(ctx, e.demo.ID, model.MessageFilter{OrderID: o.ID})
	if len(messages) == 0 {
		t.Fatal("demo's order has no message")
	}
	if len(refunds) == 0 || len(reviews) == 0 || len(runs) == 0 {
		t.Fatalf("demo's data: %d refunds, %d reviews, %d runs", len(refunds), len(reviews), len(runs))
	}
	before := e.snapshot(t, e.demo.ID)
	// What must never appear in an answer to another shop.
	secrets := []string{o.Number, p.Number, tx, refunds[0].Number, "demo's review", "payer@example.com", "demo's script", otOrder.Number, otx.SalesID}

	// demo-tr's people: its owner, a customer who registered there, and a
	// personal API token of its owner.
	tr := e.tenant(t, "demo-tr")
	trOwner := e.client(t, "demo-tr.localhost")
	trOwner.login("owner@demo.test", demoPassword)
	trCustomer := e.client(t, "demo-tr.localhost")
	if res, body := trCustomer.api("POST", "/api/auth/register/", map[string]any{"email": "sweeper@example.com", "password": "long-password-1"}); res.StatusCode != http.StatusCreated {
		t.Fatalf("register at demo-tr: %d %v", res.StatusCode, body)
	}
	token, _, err := e.store.CreateAPIToken(ctx, tr.ID, e.user(t, tr.ID, "owner@demo.test"), "demo-tr's script")
	if err != nil {
		t.Fatal(err)
	}

	// Each route's parameter, filled with demo's value.
	ids := map[string]string{
		"/admin/orders/":                    fmt.Sprint(o.ID),
		"/api/orders/":                      fmt.Sprint(o.ID),
		"/shop/orders/":                     fmt.Sprint(o.ID),
		"/admin/procurement/orders/":        fmt.Sprint(o.ID),
		"/admin/payments/reviews/":          fmt.Sprint(reviews[0].ID),
		"/admin/payments/":                  fmt.Sprint(p.ID),
		"/api/payments/":                    fmt.Sprint(p.ID),
		"/admin/integrations/":              fmt.Sprint(integrations[0].ID),
		"/api/integrations/":                fmt.Sprint(integrations[0].ID),
		"/admin/jobs/runs/":                 fmt.Sprint(runs[0].ID),
		"/admin/messages/":                  fmt.Sprint(messages[0].ID),
		"/admin/settings/api-tokens/":       fmt.Sprint(demoToken.ID),
		"/admin/settings/users/":            fmt.Sprint(users[0].ID),
		"/pay/return/":                      p.Number,
		"/pay/kuveyt/":                      p.Number,
		"/pay/again/":                       o.Number,
		"/track/":                           o.Number,
		"/api/orders/track/":                o.Number,
		"/admin/procurement/orders/:id/":    "push",
		"/admin/procurement/ot/activities/": fmt.Sprint(otAct.ID),
	}
	fill := func(path string) string {
		out := path
		for _, part := range []string{":id", ":number", ":step", ":name", ":action"} {
			i := strings.Index(out, part)
			if i < 0 {
				continue
			}
			prefix := out[:i]
			v, ok := ids[prefix]
			if part == ":step" {
				v, ok = "push", true
			}
			if part == ":name" {
				v, ok = "expire-unpaid", true
			}
			if part == ":action" {
				v, ok = "push", true
			}
			if !ok {
				t.Fatalf("no demo value for %s in %s", part, path)
			}
			out = prefix + v + out[i+len(part):]
		}
		return out
	}
	// Bodies that name demo's things.
	body := url.Values{"ids": {fmt.Sprint(o.ID)}, "order_id": {fmt.Sprint(o.ID)}, "status": {"cancelled"}, "amount": {"1.00"},
		"confirm": {"1"}, "resolution": {"dismissed"}, "note": {"from demo-tr"}, "role": {"staff"}, "active": {"0"},
		"tracking_number": {"X"}, "paused": {"1"}}
	jsonBody := map[string]any{"order_id": o.ID, "order_number": o.Number, "transaction_id": tx, "provider": "tinkoff",
		"status": "cancelled", "amount": "1.00", "name": "renamed by demo-tr"}

	tried := 0
	statuses := map[int]int{}
	// asked is everything a request carried: an answer may repeat what the
	// caller typed (a search box, "no order X"), never more.
	check := func(who, method, path, asked string, status int, answer string) {
		t.Helper()
		tried++
		statuses[status]++
		if status >= 500 {
			t.Errorf("%s %s %s: %d", who, method, path, status)
		}
		for _, s := range secrets {
			if strings.Contains(answer, s) && !strings.Contains(asked, s) {
				t.Errorf("%s %s %s answered with demo's %q (%d)", who, method, path, s, status)
			}
		}
	}
	routes := e.app.Handler().(*echo.Echo).Routes()
	for _, r := range routes {
		if strings.HasPrefix(r.Path, "/sandbox") || strings.HasPrefix(r.Path, "/webhooks") || strings.HasPrefix(r.Path, "/static") ||
			r.Path == "/admin/login" || r.Path == "/admin/logout" || r.Path == "/shop/logout" || r.Path == "/api/auth/logout/" ||
			strings.HasSuffix(r.Path, "/*") || r.Method == echo.RouteNotFound {
			continue
		}
		path := fill(r.Path)
		for _, who := range []struct {
			name string
			c    *client
		}{{"demo-tr's owner", trOwner}, {"demo-tr's customer", trCustomer}} {
			var res *http.Response
			var answer, asked string
			switch {
			case r.Method == http.MethodGet:
				q := "?order_id=" + fmt.Sprint(o.ID) + "&order=" + o.Number + "&order_number=" + o.Number
				asked = path + q
				res, answer = who.c.do("GET", path+q, nil, nil)
			case strings.HasPrefix(path, "/api/"):
				b, _ := json.Marshal(jsonBody)
				if who.c.token == "" {
					_, raw := who.c.do("GET", "/api/auth/csrf/", nil, nil)
					var tok struct {
						Token string `json:"csrf_token"`
					}
					if err := json.Unmarshal([]byte(raw), &tok); err != nil {
						t.Fatal(err)
					}
					who.c.token = tok.Token
				}
				asked = path + string(b)
				res, answer = who.c.do(r.Method, path, strings.NewReader(string(b)), http.Header{"Content-Type": {"application/json"}, "X-Csrf-Token": {who.c.token}})
			default:
				v := url.Values{}
				for k, vs := range body {
					v[k] = vs
				}
				v.Set("_csrf", who.c.csrf())
				asked = path + v.Encode()
				res, answer = who.c.do(r.Method, path, strings.NewReader(v.Encode()), http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
			}
			check(who.name, r.Method, path, asked, res.StatusCode, answer)
		}
		if strings.HasPrefix(path, "/api/") {
			b, _ := json.Marshal(jsonBody)
			res, answer := trOwner.do(r.Method, path, strings.NewReader(string(b)), http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + token}})
			check("demo-tr's API token", r.Method, path, path+string(b), res.StatusCode, answer)
		}
	}
	// demo's own token does not open demo-tr's door to demo's data either.
	res, answer := trOwner.do("GET", "/api/orders/", nil, http.Header{"Authorization": {"Bearer " + demoRaw}})
	check("demo's token on demo-tr", "GET", "/api/orders/", "", res.StatusCode, answer)

	if after := e.snapshot(t, e.demo.ID); after != before {
		t.Errorf("demo's data changed during the sweep:\nbefore %s\nafter  %s", before, after)
	}
	t.Logf("cross-shop requests tried: %d, answers by status: %v", tried, statuses)
	sweepCount = tried
}

// user returns a shop's staff user by e-mail.
func (e *env) user(t *testing.T, tenantID int64, email string) *model.User {
	t.Helper()
	users, err := e.store.FindUsers(context.Background(), tenantID)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if u.Email == email {
			return u
		}
	}
	t.Fatalf("no user %s", email)
	return nil
}

// sweepCount is printed after the run, for the closing note.
var sweepCount int

// snapshot is a digest of everything of a shop that the sweep could change.
func (e *env) snapshot(t *testing.T, tenantID int64) string {
	t.Helper()
	var parts []string
	for _, q := range []string{
		`SELECT group_concat(id || ':' || status || ':' || payment_status || ':' || tracking_number, ',') FROM orders WHERE tenant_id = ?`,
		`SELECT count(*) FROM order_events WHERE tenant_id = ?`,
		`SELECT group_concat(id || ':' || status || ':' || refunded_amount, ',') FROM payments WHERE tenant_id = ?`,
		`SELECT group_concat(id || ':' || status, ',') FROM refunds WHERE tenant_id = ?`,
		`SELECT group_concat(id || ':' || resolution, ',') FROM payment_reviews WHERE tenant_id = ?`,
		`SELECT group_concat(id || ':' || status || ':' || name || ':' || updated_at, ',') FROM integrations WHERE tenant_id = ?`,
		`SELECT group_concat(id || ':' || role || ':' || active, ',') FROM users WHERE tenant_id = ?`,
		`SELECT group_concat(name || ':' || paused, ',') FROM job_leases WHERE tenant_id = ?`,
		`SELECT count(*) FROM job_runs WHERE tenant_id = ?`,
		`SELECT group_concat(id || ':' || coalesce(revoked_at, ''), ',') FROM api_tokens WHERE tenant_id = ?`,
		`SELECT group_concat(id || ':' || state || ':' || sales_id || ':' || last_error, ',') FROM ot_orders WHERE tenant_id = ?`,
		`SELECT group_concat(id || ':' || state || ':' || activity_id, ',') FROM ot_activities WHERE tenant_id = ?`,
		`SELECT group_concat(channel || ':' || ot_buyer_login || ':' || ot_address, ',') FROM procurement_settings WHERE tenant_id = ?`,
		`SELECT group_concat(id || ':' || status || ':' || updated_at, ',') FROM ot_provider_sessions WHERE tenant_id = ?`,
		`SELECT group_concat(ot_status_id || ':' || procurement_status, ',') FROM ot_status_map WHERE tenant_id = ?`,
		`SELECT group_concat(sku || ':' || procurement_channel, ',') FROM products WHERE tenant_id = ?`,
	} {
		var v *string
		if err := e.store.DB.R.QueryRow(q, tenantID).Scan(&v); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if v != nil {
			parts = append(parts, *v)
		} else {
			parts = append(parts, "")
		}
	}
	return strings.Join(parts, " | ")
}
