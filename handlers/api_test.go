package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"orderdesk/model"
)

// address is a complete checkout body for the demo tenant.
func address(email string, shippingID any) map[string]any {
	return map[string]any{
		"customer_email": email, "customer_first_name": "Ahmet", "customer_last_name": "Yılmaz",
		"customer_phone": "+905551234567",
		"shipping_address": map[string]any{"address_line1": "Test Mahallesi", "address_line2": "Test Sokak No:1",
			"city": "Istanbul", "state": "Istanbul", "postal_code": "34000", "country": "TR"},
		"shipping_method_id": shippingID,
	}
}

func TestStorefrontAPIFlow(t *testing.T) {
	e := newEnv(t)
	shopper := e.client(t, "")

	// 1. products and shipping methods
	res, body := shopper.api("GET", "/api/public/products/", nil)
	wantStatus(t, res, http.StatusOK)
	products := body["products"].([]any)
	if len(products) < 7 || body["success"] != true {
		t.Fatalf("products: %v", body)
	}
	tee := products[0].(map[string]any)
	res, body = shopper.api("GET", "/api/public/shipping-methods/", nil)
	wantStatus(t, res, http.StatusOK)
	shipping := body["shipping_methods"].([]any)[0].(map[string]any)

	// 2. add to cart, with the id as a string as seed 001 sends it
	res, body = shopper.api("POST", "/api/cart/add/", map[string]any{"product_id": fmt.Sprint(tee["id"]), "quantity": 2})
	wantStatus(t, res, http.StatusOK)
	if got := get(body, "cart", "item_count"); got != float64(2) {
		t.Fatalf("cart item count after add: %v", got)
	}
	price, _ := model.ParseAmount(tee["price"].(string))

	// 3. a refused coupon says why; DEMO10 takes 10% off
	res, body = shopper.api("POST", "/api/cart/coupon/", map[string]any{"coupon_code": "NOPE"})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if body["success"] != false || !strings.Contains(body["message"].(string), "no promo code NOPE") {
		t.Errorf("refused coupon: %v", body)
	}
	res, body = shopper.api("POST", "/api/cart/coupon/", map[string]any{"coupon_code": "demo10"})
	wantStatus(t, res, http.StatusOK)
	wantDiscount := model.FormatAmount(2 * price / 10)
	if got := get(body, "cart", "discount"); got != wantDiscount || get(body, "cart", "isActive") != true {
		t.Errorf("DEMO10 discount: got %v, want %s (%v)", got, wantDiscount, body)
	}

	// 4. the cart keeps the promo state (seed 004's session fields)
	res, body = shopper.api("GET", "/api/cart/", nil)
	wantStatus(t, res, http.StatusOK)
	if get(body, "cart", "promocode") != "DEMO10" || get(body, "cart", "message") == "" {
		t.Errorf("cart session state: %v", body["cart"])
	}

	// 5. a checkout missing fields names each of them
	res, body = shopper.api("POST", "/api/orders/", map[string]any{"customer_email": "guest@example.com", "shipping_method_id": shipping["id"]})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	errs, _ := body["errors"].(map[string]any)
	for _, f := range []string{"customer_first_name", "customer_last_name", "customer_phone", "shipping_address.address_line1",
		"shipping_address.city", "shipping_address.state", "shipping_address.postal_code", "shipping_address.country"} {
		if errs[f] == nil {
			t.Errorf("missing field %s not named: %v", f, body)
		}
	}

	// 6. the order is placed with the totals computed in minor units
	res, body = shopper.api("POST", "/api/orders/", address("guest@example.com", shipping["id"]))
	wantStatus(t, res, http.StatusCreated)
	order := body["order"].(map[string]any)
	number := order["order_number"].(string)
	if !strings.HasPrefix(number, "ORD-DEMO-") || len(number) != len("ORD-DEMO-12345678-ABCD1234") {
		t.Errorf("order number %q", number)
	}
	ship, _ := model.ParseAmount(shipping["price"].(string))
	if got, want := order["total"], model.FormatAmount(2*price-2*price/10+ship); got != want {
		t.Errorf("total: got %v, want %s", got, want)
	}
	if order["status"] != "pending" || order["payment_status"] != "pending" || order["status_display"] != "Pending" {
		t.Errorf("new order statuses: %v", order)
	}
	// A guest's cart stays until the payment succeeds (fecshop).
	_, body = shopper.api("GET", "/api/cart/", nil)
	if get(body, "cart", "item_count") != float64(2) {
		t.Errorf("guest cart emptied at order time: %v", body["cart"])
	}

	// 7. staff see it in the tenant's list with filters, and ship it
	staff := e.client(t, "")
	staff.login("staff@demo.test", demoPassword)
	res, body = staff.api("GET", "/api/orders/?status=pending&customer_email=guest@example.com", nil)
	wantStatus(t, res, http.StatusOK)
	list := body["orders"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["order_number"] != number {
		t.Fatalf("staff filter by e-mail and status: %v", body)
	}
	id := fmt.Sprint(order["id"])
	res, body = staff.api("PATCH", "/api/orders/"+id+"/", map[string]any{"status": "shipped", "tracking_number": "ARAS123456789"})
	wantStatus(t, res, http.StatusConflict) // pending cannot jump to shipped
	if body["success"] != false || !strings.Contains(body["message"].(string), "cannot change") {
		t.Errorf("forbidden transition message: %v", body)
	}
	res, _ = staff.api("PATCH", "/api/orders/"+id+"/", map[string]any{"status": "confirmed"})
	wantStatus(t, res, http.StatusOK)
	res, body = staff.api("PATCH", "/api/orders/"+id+"/", map[string]any{"status": "shipped"})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if get(body, "errors", "tracking_number") == nil {
		t.Errorf("shipped without tracking number: %v", body)
	}
	res, body = staff.api("PATCH", "/api/orders/"+id+"/", map[string]any{"status": "shipped", "tracking_number": "ARAS123456789"})
	wantStatus(t, res, http.StatusOK)
	if get(body, "order", "status_display") != "Shipped" || get(body, "order", "shipped_at") == nil {
		t.Errorf("shipped order: %v", body["order"])
	}

	// 8. anybody can track it by number, and sees nothing personal
	res, raw := e.client(t, "").do("GET", "/api/orders/track/"+number+"/", nil, nil)
	wantStatus(t, res, http.StatusOK)
	for _, want := range []string{`"status":"shipped"`, `"tracking_number":"ARAS123456789"`, `"shipped_at":"`, `"delivered_at":null`} {
		if !strings.Contains(raw, want) {
			t.Errorf("tracking answer lacks %s: %s", want, raw)
		}
	}
	for _, private := range []string{"guest@example.com", "Ahmet", "Yılmaz", "Test Mahallesi", "+90555"} {
		if strings.Contains(raw, private) {
			t.Errorf("tracking answer shows personal data %q: %s", private, raw)
		}
	}
	res, _ = e.client(t, "").do("GET", "/api/orders/track/ORD-DEMO-00000000-00000000/", nil, nil)
	wantStatus(t, res, http.StatusNotFound)

	// 9. customers must sign in to list orders
	res, body = e.client(t, "").api("GET", "/api/orders/", nil)
	wantStatus(t, res, http.StatusUnauthorized)
	if body["success"] != false {
		t.Errorf("an anonymous order list: %v", body)
	}
}

func TestCustomerSeesOnlyOwnOrders(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	shipping, _ := e.store.FindShippingMethods(ctx, e.demo.ID)
	products, _ := e.store.FindProducts(ctx, e.demo.ID)

	place := func(c *client, email string) string {
		res, _ := c.api("POST", "/api/cart/add/", map[string]any{"product_id": products[0].ID, "quantity": 1})
		wantStatus(t, res, http.StatusOK)
		res, body := c.api("POST", "/api/orders/", address(email, shipping[0].ID))
		wantStatus(t, res, http.StatusCreated)
		return fmt.Sprint(get(body, "order", "id"))
	}
	alice := e.client(t, "")
	res, _ := alice.api("POST", "/api/auth/register/", map[string]any{"email": "alice@example.com", "password": "alice-password"})
	wantStatus(t, res, http.StatusCreated)
	aliceOrder := place(alice, "alice@example.com")
	// A signed-in customer's cart is emptied at once.
	_, body := alice.api("GET", "/api/cart/", nil)
	if get(body, "cart", "item_count") != float64(0) {
		t.Errorf("signed-in customer's cart not emptied: %v", body["cart"])
	}

	bob := e.client(t, "")
	res, _ = bob.api("POST", "/api/auth/register/", map[string]any{"email": "bob@example.com", "password": "bob-password"})
	wantStatus(t, res, http.StatusCreated)
	bobOrder := place(bob, "bob@example.com")

	res, body = alice.api("GET", "/api/orders/", nil)
	wantStatus(t, res, http.StatusOK)
	if list := body["orders"].([]any); len(list) != 1 || fmt.Sprint(list[0].(map[string]any)["id"]) != aliceOrder {
		t.Errorf("alice's list: %v", body)
	}
	res, _ = alice.api("GET", "/api/orders/"+aliceOrder+"/", nil)
	wantStatus(t, res, http.StatusOK)
	res, body = alice.api("GET", "/api/orders/"+bobOrder+"/", nil)
	wantStatus(t, res, http.StatusNotFound)
	if strings.Contains(fmt.Sprint(body), "bob@") {
		t.Errorf("404 leaks the order: %v", body)
	}
	res, _ = alice.api("PATCH", "/api/orders/"+aliceOrder+"/", map[string]any{"status": "cancelled"})
	wantStatus(t, res, http.StatusUnauthorized) // customers cannot change statuses

	// Tenant isolation: shop2's staff see none of demo's orders.
	shop2, _ := e.store.CreateTenant(ctx, model.NewTenant{Slug: "shop2", Name: "Shop Two"})
	e.store.CreateUser(ctx, shop2.ID, model.NewUser{Email: "owner@shop2.test", Role: model.RoleOwner, Password: "shop2-password"})
	s2 := e.client(t, "shop2.localhost")
	s2.login("owner@shop2.test", "shop2-password")
	res, body = s2.api("GET", "/api/orders/", nil)
	wantStatus(t, res, http.StatusOK)
	if list := body["orders"].([]any); len(list) != 0 {
		t.Errorf("shop2 staff list demo's orders: %d", len(list))
	}
	res, _ = s2.api("GET", "/api/orders/"+aliceOrder+"/", nil)
	wantStatus(t, res, http.StatusNotFound)
	res, _ = s2.api("PATCH", "/api/orders/"+aliceOrder+"/", map[string]any{"status": "cancelled"})
	wantStatus(t, res, http.StatusNotFound)
}
