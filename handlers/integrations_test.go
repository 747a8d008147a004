package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"orderdesk/handlers"
	"orderdesk/model"
	"orderdesk/providers/tinkoff"
)

func TestIntegrationsAPI(t *testing.T) {
	banks := startLiveBanks(t)
	e := newEnvAllowing(t, banks.allowed())
	owner := e.client(t, "")
	owner.login("owner@demo.test", demoPassword)
	sandbox, live := e.srv.URL+"/sandbox/tinkoff/v2", banks.tinkoff+"/v2"

	// Seed 001, step 1: create in test mode. Secrets never come back.
	res, body := owner.api("POST", "/api/integrations/", map[string]any{
		"provider_type": "tinkoff", "name": "T-Bank - Test", "description": "Test ortamı için", "status": "test_mode",
		"api_key": tinkoff.DemoTerminalKey, "api_secret": tinkoff.DemoPassword,
		"api_endpoint": live, "test_endpoint": sandbox,
		"config": map[string]any{"return_url": "https://yoursite.com/payment/return", "cancel_url": "https://yoursite.com/payment/cancel"},
	})
	wantStatus(t, res, http.StatusCreated)
	raw := fmt.Sprint(body)
	if strings.Contains(raw, tinkoff.DemoPassword) || strings.Contains(raw, tinkoff.DemoTerminalKey) {
		t.Errorf("the create answer contains a secret: %s", raw)
	}
	if get(body, "integration", "api_secret_last4") != tinkoff.DemoPassword[len(tinkoff.DemoPassword)-4:] ||
		get(body, "integration", "config", "return_url") != "https://yoursite.com/payment/return" {
		t.Errorf("created: %v", body["integration"])
	}
	id := fmt.Sprint(get(body, "integration", "id"))

	// Step 2: test it: a real call to the sandbox.
	res, body = owner.api("POST", "/api/integrations/"+id+"/test/", nil)
	wantStatus(t, res, http.StatusOK)
	if body["success"] != true || body["message"] == "" {
		t.Errorf("test: %v", body)
	}

	// Step 3: live, with production keys in the same step. Keys the bank
	// refuses at the live endpoint keep it in test mode, in the test's words.
	res, body = owner.api("PATCH", "/api/integrations/"+id+"/", map[string]any{"status": "active", "api_key": "production-api-key", "api_secret": "production-api-secret"})
	wantStatus(t, res, http.StatusConflict)
	if body["success"] != false || !strings.Contains(strings.ToLower(body["message"].(string)), "terminal") ||
		strings.Contains(fmt.Sprint(body), "production-api-secret") {
		t.Errorf("live with wrong production keys: %v", body)
	}
	res, body = owner.api("GET", "/api/integrations/", nil)
	wantStatus(t, res, http.StatusOK)
	if st := fmt.Sprint(body["integrations"]); !strings.Contains(st, "T-Bank - Test") || strings.Contains(st, "status:active") {
		t.Errorf("after the refusal: %v", st)
	}
	// With keys that pass at the live endpoint it goes live, and the passing
	// test is its last test.
	res, body = owner.api("PATCH", "/api/integrations/"+id+"/", map[string]any{"status": "active", "api_key": liveTinkoffKey, "api_secret": liveTinkoffPass})
	wantStatus(t, res, http.StatusOK)
	if get(body, "integration", "status") != "active" || get(body, "integration", "last_test", "ok") != true {
		t.Errorf("live: %v", body)
	}

	// Bad input: 400 naming the fields, the provider's own among them.
	res, body = owner.api("POST", "/api/integrations/", map[string]any{"provider_type": "nope", "test_endpoint": "ftp://x"})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	for _, f := range []string{"provider_type", "name", "test_endpoint"} {
		if get(body, "errors", f) == nil {
			t.Errorf("no error for %s: %v", f, body)
		}
	}
	res, body = owner.api("POST", "/api/integrations/", map[string]any{"provider_type": "tinkoff", "test_endpoint": sandbox})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if msg, _ := get(body, "errors", "api_key").(string); get(body, "errors", "name") == nil || !strings.Contains(msg, "TerminalKey") {
		t.Errorf("a T-Bank integration without a name or a key: %v", body)
	}

	// Staff may not create or flip integrations.
	staff := e.client(t, "")
	staff.login("staff@demo.test", demoPassword)
	res, _ = staff.api("PATCH", "/api/integrations/"+id+"/", map[string]any{"status": "test_mode"})
	wantStatus(t, res, http.StatusForbidden)
	res, _ = staff.postForm("/admin/integrations/"+id+"/status", url.Values{"status": {"test_mode"}})
	wantStatus(t, res, http.StatusForbidden)
	res, doc := staff.get("/admin/integrations")
	wantStatus(t, res, http.StatusOK)
	if doc.Find(`[data-testid="integration-go-live"]`).Length() != 0 || doc.Find(`[data-testid="integration-row"]`).Length() == 0 {
		t.Error("staff see the live toggle, or no integrations")
	}

	// Another tenant's owner cannot see or change it.
	ctx := context.Background()
	shop2, _ := e.store.CreateTenant(ctx, model.NewTenant{Slug: "shop2", Name: "Shop Two"})
	e.store.CreateUser(ctx, shop2.ID, model.NewUser{Email: "owner@shop2.test", Role: model.RoleOwner, Password: "shop2-password"})
	s2 := e.client(t, "shop2.localhost")
	s2.login("owner@shop2.test", "shop2-password")
	res, _ = s2.api("PATCH", "/api/integrations/"+id+"/", map[string]any{"status": "disabled"})
	wantStatus(t, res, http.StatusNotFound)
}

func TestIntegrationForm(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, "")
	c.login("owner@demo.test", demoPassword)

	// Errors by the fields, typed values kept, secrets not echoed.
	res, doc := c.postForm("/admin/integrations", url.Values{"provider_type": {"paypal"}, "name": {"My PayPal"},
		"status": {"test_mode"}, "api_secret": {"typed-secret-value"}, "test_endpoint": {"not a url"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if doc.Find(`[data-testid="error-api_key"]`).Length() != 1 || doc.Find(`[data-testid="error-test_endpoint"]`).Length() != 1 {
		t.Error("no errors by the fields")
	}
	if v, _ := doc.Find(`#name`).Attr("value"); v != "My PayPal" {
		t.Errorf("name not kept: %q", v)
	}
	if html, _ := doc.Html(); strings.Contains(html, "typed-secret-value") {
		t.Error("the form echoes the secret")
	}

	// The edit form shows only the last four characters, and an empty key keeps it.
	in, _ := e.store.UsableIntegration(context.Background(), e.demo.ID, model.ProviderTinkoff)
	res, doc = c.get(fmt.Sprintf("/admin/integrations/%d/edit", in.ID))
	wantStatus(t, res, http.StatusOK)
	if v, _ := doc.Find(`#api_key`).Attr("value"); v != "" {
		t.Errorf("the key field is not empty: %q", v)
	}
	if ph, _ := doc.Find(`#api_key`).Attr("placeholder"); !strings.Contains(ph, in.APIKeyLast4) {
		t.Errorf("placeholder %q lacks the last four", ph)
	}
	res, _ = c.postForm(fmt.Sprintf("/admin/integrations/%d", in.ID), url.Values{"name": {"Renamed"}, "status": {"test_mode"},
		"test_endpoint": {in.TestEndpoint}, "api_endpoint": {in.APIEndpoint}, "config": {"{}"}})
	wantStatus(t, res, http.StatusSeeOther)
	sec, _ := e.store.OpenIntegrationSecrets(context.Background(), e.demo.ID, in.ID)
	if sec.APIKey != tinkoff.DemoTerminalKey {
		t.Errorf("saving with an empty key changed it: %q", sec.APIKey)
	}
}

// Every demo integration answers "Test connection" against its sandbox.
func TestEveryDemoIntegrationConnects(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	owner := e.client(t, "")
	owner.login("owner@demo.test", demoPassword)
	list, _ := e.store.FindIntegrations(ctx, e.demo.ID)
	if len(list) != len(model.Providers) {
		t.Errorf("demo integrations: %d, want one per provider (%d)", len(list), len(model.Providers))
	}
	for _, in := range list {
		res, body := owner.api("POST", fmt.Sprintf("/api/integrations/%d/test/", in.ID), nil)
		wantStatus(t, res, http.StatusOK)
		if body["success"] != true {
			t.Errorf("%s: %v", in.Provider, body["message"])
		}
	}
}

// The checkout offers only the methods that take the shop's currency: the
// rouble demo shop T-Bank, Dolyami, Yandex Pay and PayPal; the Turkish one Kuveyt
// Türk and PayPal.
func TestCheckoutOffersMethodsOfTheShopsCurrency(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tr, err := e.store.FindTenantBySlug(ctx, model.DemoTurkishSlug)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range handlers.DemoIntegrations(e.srv.URL, e.sandboxes.SMTPAddr()) {
		e.store.CreateIntegration(ctx, tr.ID, nil, in)
	}
	for _, tc := range []struct{ host, want string }{
		// The card first, then instalments, wallets and PayPal.
		{"", "tinkoff,dolyami,yandexpay,paypal"},
		{model.DemoTurkishSlug + ".localhost", "kuveyt,paypal"},
	} {
		c := e.client(t, tc.host)
		_, products := c.api("GET", "/api/public/products/", nil)
		id := products["products"].([]any)[0].(map[string]any)["id"]
		res, _ := c.api("POST", "/api/cart/add/", map[string]any{"product_id": id, "quantity": 1})
		wantStatus(t, res, http.StatusOK)
		res, doc := c.get("/shop/checkout")
		wantStatus(t, res, http.StatusOK)
		var got []string
		doc.Find(`input[name="payment_provider"]`).Each(func(_ int, s *goquery.Selection) {
			v, _ := s.Attr("value")
			got = append(got, v)
		})
		if strings.Join(got, ",") != tc.want {
			t.Errorf("%q offers %v, want %s", tc.host, got, tc.want)
		}
	}
}
