package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"orderdesk/model"
)

// An inactive or unknown promo code never blocks an order: it goes without the
// discount and says why.
func TestRefusedPromoCodeDoesNotBlockTheOrder(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	methods := shopMethods(t, e)
	denim := shopProduct(t, e, "JK-DENIM-L")

	t.Run("API: a refused code in the cart, then the order", func(t *testing.T) {
		c := e.client(t, "")
		res, _ := c.api("POST", "/api/cart/add/", map[string]any{"product_id": denim.ID, "quantity": 1})
		wantStatus(t, res, http.StatusOK)
		res, _ = c.api("POST", "/api/cart/coupon/", map[string]any{"coupon_code": "NOPE"})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		res, body := c.api("POST", "/api/orders/", address("nope@example.com", methods[0].ID))
		wantStatus(t, res, http.StatusCreated)
		want := "Promo code NOPE was not applied: There is no promo code NOPE."
		if msg := fmt.Sprint(body["message"]); !strings.HasPrefix(msg, "The order was placed.") || !strings.Contains(msg, want) {
			t.Errorf("message %q, want it to say %q", msg, want)
		}
		if body["coupon_not_applied"] != want || get(body, "order", "discount") != "0.00" || get(body, "order", "coupon_code") != nil {
			t.Errorf("answer: %v", body)
		}
	})

	t.Run("storefront: a code that stopped applying after the cart showed it", func(t *testing.T) {
		c := e.client(t, "")
		res, _ := c.postForm("/shop/login", url.Values{"email": {model.DemoCustomerEmail}, "password": {demoPassword}})
		wantStatus(t, res, http.StatusSeeOther)
		c.shopAdd(denim.ID, 1)
		res, body := c.shopHX("/shop/cart/coupon", url.Values{"coupon_code": {"WELCOME500"}})
		if frag := shopWantFragment(t, res, body, "cart-totals"); shopTID(frag, "cart-discount").Length() != 1 {
			t.Fatalf("WELCOME500 does not apply in the cart: %s", body)
		}
		// The shop switches the code off while the shopper is at the checkout.
		if _, err := e.store.DB.W.ExecContext(ctx, `UPDATE coupons SET active = 0 WHERE tenant_id = ? AND code = 'WELCOME500'`, e.demo.ID); err != nil {
			t.Fatal(err)
		}
		res, _ = c.postForm("/shop/checkout", shopAddressForm(model.DemoCustomerEmail, methods[0].ID))
		wantStatus(t, res, http.StatusSeeOther)
		loc := res.Header.Get("Location")
		if !strings.HasPrefix(loc, "/shop/orders/") {
			t.Fatalf("checkout went to %q", loc)
		}
		res, doc := c.get(loc)
		wantStatus(t, res, http.StatusOK)
		if got := shopText(doc, "order-notice"); got != "Promo code WELCOME500 was not applied: This promo code is no longer valid." {
			t.Errorf("order page notice: %q", got)
		}
		if shopTID(doc, "order-discount").Length() != 0 || shopText(doc, "order-total") != shopMoney(e)(denim.Price+methods[0].Price) {
			t.Errorf("order totals: discount %q, total %q", shopText(doc, "order-discount"), shopText(doc, "order-total"))
		}
		// Said once: the next visit of the page is the order alone.
		if _, doc = c.get(loc); shopTID(doc, "order-notice").Length() != 0 {
			t.Error("the notice is shown again")
		}
	})

	t.Run("storefront: a guest whose code was refused in the cart", func(t *testing.T) {
		c := e.client(t, "")
		c.shopAdd(denim.ID, 1)
		res, _ := c.postForm("/shop/cart/coupon", url.Values{"coupon_code": {"NOPE"}})
		wantStatus(t, res, http.StatusSeeOther)
		res, _ = c.postForm("/shop/checkout", shopAddressForm("guest-nope@example.com", methods[0].ID))
		wantStatus(t, res, http.StatusSeeOther)
		res, doc := c.get(res.Header.Get("Location"))
		wantStatus(t, res, http.StatusOK)
		if got := shopText(doc, "order-notice"); got != "Promo code NOPE was not applied: There is no promo code NOPE." {
			t.Errorf("tracking page notice: %q", got)
		}
		// Somebody else with the number sees no notice.
		other := e.client(t, "")
		if _, doc = other.get(res.Request.URL.RequestURI()); shopTID(doc, "order-notice").Length() != 0 {
			t.Error("the notice is shown to another browser")
		}
	})
}

// The same person in two shops: a use in one shop neither counts in the other
// nor binds to the other shop's account.
func TestCouponUseOfAnotherShopsCustomer(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tr, err := e.store.FindTenantBySlug(ctx, model.DemoTurkishSlug)
	if err != nil {
		t.Fatal(err)
	}
	// One browser: signed in as the demo shop's customer, then in the Turkish shop.
	c := e.client(t, "")
	c.apiLogin(model.DemoCustomerEmail, demoPassword)
	denim := shopProduct(t, e, "JK-DENIM-L")
	res, _ := c.api("POST", "/api/cart/add/", map[string]any{"product_id": denim.ID})
	wantStatus(t, res, http.StatusOK)
	res, _ = c.api("POST", "/api/cart/coupon/", map[string]any{"coupon_code": "WELCOME500"})
	wantStatus(t, res, http.StatusOK)
	res, body := c.api("POST", "/api/orders/", address("", shopMethods(t, e)[0].ID))
	wantStatus(t, res, http.StatusCreated)
	if get(body, "order", "coupon_code") != "WELCOME500" {
		t.Fatalf("demo order: %v", body)
	}

	trc := e.client(t, model.DemoTurkishSlug+".localhost")
	trc.http.Jar = c.http.Jar // the demo shop's session cookie goes along
	_, body = trc.api("GET", "/api/public/products/", nil)
	var trDenim any
	for _, p := range body["products"].([]any) {
		if p.(map[string]any)["sku"] == "JK-DENIM-L" {
			trDenim = p.(map[string]any)["id"]
		}
	}
	_, body = trc.api("GET", "/api/public/shipping-methods/", nil)
	trShip := body["shipping_methods"].([]any)[0].(map[string]any)["id"]
	res, _ = trc.api("POST", "/api/cart/add/", map[string]any{"product_id": trDenim})
	wantStatus(t, res, http.StatusOK)
	res, _ = trc.api("POST", "/api/cart/coupon/", map[string]any{"coupon_code": "WELCOME500"})
	wantStatus(t, res, http.StatusOK) // the Turkish shop's own coupon, unused there
	res, body = trc.api("POST", "/api/orders/", address(model.DemoCustomerEmail, trShip))
	wantStatus(t, res, http.StatusCreated)
	number := fmt.Sprint(get(body, "order", "order_number"))
	if get(body, "order", "coupon_code") != "WELCOME500" {
		t.Errorf("the demo shop's use counted in the Turkish shop: %v", body)
	}
	o, err := e.store.FindOrderByNumber(ctx, tr.ID, number)
	if err != nil {
		t.Fatal(err)
	}
	var bound any
	if err := e.store.DB.R.QueryRowContext(ctx, `SELECT customer_id FROM coupon_redemptions WHERE tenant_id = ? AND order_id = ?`, tr.ID, o.ID).Scan(&bound); err != nil {
		t.Fatal(err)
	}
	if o.CustomerID != 0 || bound != nil {
		t.Errorf("the Turkish order is bound to the demo shop's customer: order customer %d, use bound to %v", o.CustomerID, bound)
	}
}
