package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"orderdesk/model"
)

// A misconfigured integration (seed 001's placeholder key, saved before
// these rules) is never offered at the checkout, and the payment pages that
// would use it answer 409 in words, never 500.
func TestMisconfiguredKuveytIsNeverOfferedAndNeverA500(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// Kuveyt takes lira: this test's shop is Turkish, as seed 001's is.
	if _, err := e.store.DB.W.Exec(`UPDATE tenants SET currency = 'TRY', language = 'tr' WHERE id = ?`, e.demo.ID); err != nil {
		t.Fatal(err)
	}
	e.store.TenantsChanged()
	c := e.client(t, "")
	o := e.placeOrder(t, c)
	pageURL, tx := e.startPayment(t, c, o, "kuveyt") // while the integration is right

	in, err := e.store.UsableIntegration(ctx, e.demo.ID, model.ProviderKuveyt)
	if err != nil {
		t.Fatal(err)
	}
	placeholder := "test-api-key"
	if _, err := e.store.UpdateIntegration(ctx, e.demo.ID, nil, in.ID, model.IntegrationInput{APIKey: &placeholder}); err != nil {
		t.Fatal(err)
	}

	products, _ := e.store.FindProducts(ctx, e.demo.ID)
	res, _ := c.api("POST", "/api/cart/add/", map[string]any{"product_id": products[0].ID, "quantity": 1})
	wantStatus(t, res, http.StatusOK)
	res, doc := c.get("/shop/checkout")
	wantStatus(t, res, http.StatusOK)
	var offered []string
	doc.Find(`input[name="payment_provider"]`).Each(func(_ int, s *goquery.Selection) {
		v, _ := s.Attr("value")
		offered = append(offered, v)
	})
	if strings.Contains(strings.Join(offered, ","), "kuveyt") || len(offered) == 0 {
		t.Errorf("the checkout offers %v", offered)
	}

	res, body := c.api("POST", "/api/payments/create/", map[string]any{"order_id": o.ID, "order_number": o.Number, "provider": "kuveyt"})
	wantStatus(t, res, http.StatusConflict)
	if msg, _ := body["message"].(string); !strings.Contains(msg, "Kuveyt") || !strings.Contains(msg, "another way to pay") {
		t.Errorf("payment create: %v", body)
	}
	if n := len(e.payments(t, o.ID)); n != 1 {
		t.Errorf("payments of the order: %d, want only the one started before", n)
	}
	res, page := fetch(t, c, "GET", pageURL, nil)
	if res.StatusCode != http.StatusConflict || !strings.Contains(page, "another way to pay") {
		t.Errorf("card page: %d\n%s", res.StatusCode, page)
	}
	res, page = fetch(t, c, "POST", pageURL, url.Values{"_csrf": {c.csrf()}, "card_number": {"4111111111111111"}, "card_holder": {"Pay Er"}, "exp": {"12/30"}, "cvv": {"123"}})
	if res.StatusCode != http.StatusConflict || !strings.Contains(page, "another way to pay") {
		t.Errorf("card submit: %d\n%s", res.StatusCode, page)
	}
	res, body = c.api("POST", "/api/payments/verify/", map[string]any{"transaction_id": tx, "provider": "kuveyt"})
	wantStatus(t, res, http.StatusConflict)
	if msg, _ := body["message"].(string); !strings.Contains(msg, "Kuveyt") {
		t.Errorf("verify: %v", body)
	}
}
