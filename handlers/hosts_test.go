package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"orderdesk/handlers"
	"orderdesk/model"
)

func TestHosts(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	port := strings.TrimPrefix(e.base, "http://localhost")

	t.Run("only our own host names and IP addresses are served", func(t *testing.T) {
		for _, tc := range []struct {
			host string
			want int
		}{
			{"evil.test", http.StatusNotFound},
			{"evil.test" + port, http.StatusNotFound},
			{"localhost.evil.test", http.StatusNotFound},
			{"evillocalhost", http.StatusNotFound},
			{"localhost" + port, http.StatusOK},
			{"demo.localhost" + port, http.StatusOK},
			{"www.demo.localhost", http.StatusOK},
			{"127.0.0.1" + port, http.StatusOK},
			{"[::1]" + port, http.StatusOK},
		} {
			res, doc := e.client(t, tc.host).get("/admin/login")
			if res.StatusCode != tc.want {
				t.Errorf("Host %s: got %d, want %d", tc.host, res.StatusCode, tc.want)
			}
			if tc.want == http.StatusNotFound && !strings.Contains(doc.Find(`[data-testid="error-page"]`).Text(), "no shop at this address") {
				t.Errorf("Host %s: the 404 page does not explain", tc.host)
			}
		}
	})

	t.Run("a forged Host cannot start a payment that returns to it", func(t *testing.T) {
		c := e.client(t, "")
		o := e.placeOrder(t, c)
		c.host = "evil.test"
		res, body := c.api("POST", "/api/payments/create/", map[string]any{"order_id": o.ID, "order_number": o.Number, "provider": "tinkoff"})
		wantStatus(t, res, http.StatusNotFound)
		if body["success"] != false {
			t.Errorf("answer: %v", body)
		}
		if n := len(e.payments(t, o.ID)); n != 0 {
			t.Errorf("%d payments were started from a forged host", n)
		}
	})

	t.Run("the Taobao callback is on the shop's configured address, whatever host the operator used", func(t *testing.T) {
		shop2, err := e.store.CreateTenant(ctx, model.NewTenant{Slug: "shop2", Name: "Shop Two"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.CreateUser(ctx, shop2.ID, model.NewUser{Email: "ops@shop2.test", Role: model.RoleOperator, Password: "shop2-password"}); err != nil {
			t.Fatal(err)
		}
		for _, in := range handlers.DemoIntegrations(e.srv.URL, e.sandboxes.SMTPAddr()) {
			if *in.Provider == model.ProviderTaobao {
				if _, err := e.store.CreateIntegration(ctx, shop2.ID, nil, in); err != nil {
					t.Fatal(err)
				}
			}
		}
		for _, tc := range []struct {
			tenant        *model.Tenant
			host, email   string
			password, cb  string
			what          string
			integrationOf int64
		}{
			{e.demo, "127.0.0.1" + port, "operator@demo.test", demoPassword, e.base, "the default shop by IP address", e.demo.ID},
			{e.demo, "www.demo.localhost", "operator@demo.test", demoPassword, e.base, "the default shop by its subdomain", e.demo.ID},
			{shop2, "shop2.localhost", "ops@shop2.test", "shop2-password", "http://shop2.localhost" + port, "another shop", shop2.ID},
		} {
			op := e.client(t, tc.host)
			op.login(tc.email, tc.password)
			in, err := e.store.UsableIntegration(ctx, tc.integrationOf, model.ProviderTaobao)
			if err != nil {
				t.Fatal(err)
			}
			res, _ := op.postForm("/admin/procurement/accounts/connect?integration="+itoa(in.ID), nil)
			wantStatus(t, res, http.StatusSeeOther)
			auth, err := url.Parse(res.Header.Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := auth.Query().Get("redirect_uri"), tc.cb+"/oauth/taobao/callback"; got != want {
				t.Errorf("%s (Host %s): redirect_uri %q, want %q", tc.what, tc.host, got, want)
			}
		}
	})
}
