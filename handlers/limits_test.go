package handlers_test

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"orderdesk/model"
)

// Text fields have limits: 1,000 characters are refused by field, by the API
// and by the pages, and nothing reads a body of megabytes.
func TestLongInputsAreRefusedByTheirField(t *testing.T) {
	e := newEnv(t)
	long := strings.Repeat("ş", 1000)
	methods := shopMethods(t, e)
	tee := shopProduct(t, e, "TS-WHITE-M")

	t.Run("API checkout names every field", func(t *testing.T) {
		c := e.client(t, "")
		res, _ := c.api("POST", "/api/cart/add/", map[string]any{"product_id": tee.ID})
		wantStatus(t, res, http.StatusOK)
		res, body := c.api("POST", "/api/orders/", map[string]any{
			"customer_email": long + "@example.com", "customer_first_name": long, "customer_last_name": long, "customer_phone": long,
			"shipping_address": map[string]any{"address_line1": long, "address_line2": long, "city": long, "state": long,
				"postal_code": long, "country": long},
			"shipping_method_id": methods[0].ID, "coupon_code": long,
		})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		for _, f := range []string{"customer_email", "customer_first_name", "customer_last_name", "customer_phone", "shipping_address.address_line1",
			"shipping_address.address_line2", "shipping_address.city", "shipping_address.state", "shipping_address.postal_code",
			"shipping_address.country", "coupon_code"} {
			if get(body, "errors", f) == nil {
				t.Errorf("%s not named: %v", f, body["errors"])
			}
		}
		if body["success"] != false {
			t.Errorf("envelope: %v", body)
		}
	})

	t.Run("API promo code of 1,000 characters is a 400, and the cart goes on", func(t *testing.T) {
		c := e.client(t, "")
		res, _ := c.api("POST", "/api/cart/add/", map[string]any{"product_id": tee.ID})
		wantStatus(t, res, http.StatusOK)
		res, _ = c.api("POST", "/api/cart/coupon/", map[string]any{"coupon_code": "DEMO10"})
		wantStatus(t, res, http.StatusOK)
		res, body := c.api("POST", "/api/cart/coupon/", map[string]any{"coupon_code": strings.Repeat("A", 1000)})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		if !strings.Contains(fmt.Sprint(get(body, "errors", "coupon_code")), "at most 64") {
			t.Errorf("long code: %v", body)
		}
		res, body = c.api("GET", "/api/cart/", nil)
		wantStatus(t, res, http.StatusOK)
		if get(body, "cart", "promocode") != "DEMO10" || get(body, "cart", "item_count") != float64(1) {
			t.Errorf("the cart after the long code: %v", body["cart"])
		}
	})

	t.Run("API registration names every field", func(t *testing.T) {
		c := e.client(t, "")
		res, body := c.api("POST", "/api/auth/register/", map[string]any{"email": "long@example.com", "password": long,
			"first_name": long, "last_name": long, "phone": long})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		for _, f := range []string{"password", "first_name", "last_name", "phone"} {
			if get(body, "errors", f) == nil {
				t.Errorf("%s not named: %v", f, body["errors"])
			}
		}
	})

	t.Run("checkout form: 422, every field named beside it, every value kept", func(t *testing.T) {
		c := e.client(t, "")
		c.shopAdd(tee.ID, 1)
		res, doc := c.get("/shop/checkout")
		wantStatus(t, res, http.StatusOK)
		for _, f := range model.AddressFields {
			if f == "country" {
				continue // a list of countries: nothing to type
			}
			if got := doc.Find(`input[name="`+f+`"]`).AttrOr("maxlength", ""); got != fmt.Sprint(model.AddressFieldMaxLen(f)) {
				t.Errorf("%s maxlength %q", f, got)
			}
		}
		form := url.Values{"shipping_method_id": {fmt.Sprint(methods[0].ID)}}
		for _, f := range model.AddressFields {
			form.Set(f, long)
		}
		form.Set("email", long+"@example.com")
		res, doc = c.postForm("/shop/checkout", form)
		wantStatus(t, res, http.StatusUnprocessableEntity)
		for _, f := range model.AddressFields {
			if shopTID(doc, "error-"+f).Length() != 1 {
				t.Errorf("no error beside %s", f)
			}
			if f == "country" {
				continue // a list keeps its choices; a forged one is refused by its name above
			}
			if got := doc.Find(`input[name="`+f+`"]`).AttrOr("value", ""); got != form.Get(f) {
				t.Errorf("%s: typed value not kept (%d characters)", f, len(got))
			}
		}
	})

	t.Run("promo code form: the error beside the field, with and without htmx", func(t *testing.T) {
		c := e.client(t, "")
		c.shopAdd(tee.ID, 1)
		code := strings.Repeat("A", 1000)
		res, doc := c.postForm("/shop/cart/coupon", url.Values{"coupon_code": {code}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		if !strings.Contains(shopText(doc, "error-coupon_code"), "at most 64") || doc.Find(`#coupon_code`).AttrOr("value", "") != code {
			t.Errorf("plain form: error %q, value kept %v", shopText(doc, "error-coupon_code"), doc.Find(`#coupon_code`).AttrOr("value", "") == code)
		}
		if doc.Find(`#coupon_code`).AttrOr("maxlength", "") != "64" {
			t.Error("the promo code field has no maxlength")
		}
		res, body := c.shopHX("/shop/cart/coupon", url.Values{"coupon_code": {code}})
		frag := shopWantFragment(t, res, body, "cart-totals")
		if !strings.Contains(shopText(frag, "coupon-message"), "at most 64") {
			t.Errorf("htmx: %q", shopText(frag, "coupon-message"))
		}
		// The cart still works: nothing too long went into the cookie.
		res, _ = c.get("/shop/cart")
		wantStatus(t, res, http.StatusOK)
	})

	t.Run("registration form names the fields", func(t *testing.T) {
		c := e.client(t, "")
		res, doc := c.postForm("/shop/register", url.Values{"email": {"reg-long@example.com"}, "password": {"password1"},
			"first_name": {long}, "last_name": {long}, "phone": {long}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		for _, f := range []string{"first_name", "last_name", "phone"} {
			if !strings.Contains(shopText(doc, "error-"+f), "at most") {
				t.Errorf("no error beside %s", f)
			}
		}
	})

	t.Run("sign-in with 1,000 characters is a refused sign-in, never a 500", func(t *testing.T) {
		c := e.client(t, "")
		res, body := c.api("POST", "/api/auth/login/", map[string]any{"email": long + "@example.com", "password": long})
		wantStatus(t, res, http.StatusUnauthorized)
		if body["success"] != false {
			t.Errorf("API sign-in: %v", body)
		}
		res, doc := c.postForm("/shop/login", url.Values{"email": {long + "@example.com"}, "password": {long}})
		wantStatus(t, res, http.StatusUnauthorized)
		if shopTID(doc, "shop-login-error").Length() != 1 {
			t.Error("the sign-in form does not say why")
		}
	})

	t.Run("a 2 MB JSON body is refused before it is read", func(t *testing.T) {
		c := e.client(t, "")
		big := map[string]any{"customer_email": "big@example.com", "customer_first_name": strings.Repeat("x", 2<<20)}
		res, body := c.api("POST", "/api/orders/", big)
		wantStatus(t, res, http.StatusRequestEntityTooLarge)
		if body["success"] != false || !strings.Contains(fmt.Sprint(body["message"]), "too large") {
			t.Errorf("answer: %v", body)
		}
	})

	t.Run("a 2 MB form is refused", func(t *testing.T) {
		c := e.client(t, "")
		c.shopAdd(tee.ID, 1)
		form := shopAddressForm("big@example.com", methods[0].ID)
		form.Set("street2", strings.Repeat("x", 2<<20))
		res, _ := c.postForm("/shop/checkout", form)
		wantStatus(t, res, http.StatusRequestEntityTooLarge)
	})

	t.Run("the settlement upload still takes a file larger than a form", func(t *testing.T) {
		staff := e.client(t, "")
		staff.login("owner@demo.test", demoPassword)
		_, csvBody := staff.do("GET", "/sandbox/paypal/_settlements.csv", nil, nil)
		body := &bytes.Buffer{}
		w := multipart.NewWriter(body)
		if err := w.WriteField("_csrf", staff.csrf()); err != nil {
			t.Fatal(err)
		}
		fw, _ := w.CreateFormFile("csv", "settlements.csv")
		fw.Write([]byte(csvBody + strings.Repeat("\n", 200<<10))) // blank lines pad it to 200 KB
		w.Close()
		res, html := staff.do("POST", "/admin/payments/reconcile", body, http.Header{"Content-Type": {w.FormDataContentType()}})
		wantStatus(t, res, http.StatusOK)
		if !strings.Contains(html, "reconcile-result") {
			t.Errorf("no reconciliation result")
		}
	})
}
