package handlers_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"orderdesk/model"
)

// seed001Body is seed 001's order body (section 2.4) as written there: no state.
func seed001Body(cartID string, shippingID any) map[string]any {
	return map[string]any{
		"cart_id":             cartID,
		"customer_email":      "customer@example.com",
		"customer_first_name": "Ahmet",
		"customer_last_name":  "Yılmaz",
		"customer_phone":      "+905551234567",
		"shipping_address": map[string]any{
			"address_line1": "Test Mahallesi",
			"address_line2": "Test Sokak No:1",
			"city":          "Istanbul",
			"postal_code":   "34000",
			"country":       "TR",
		},
		"shipping_method_id": shippingID,
	}
}

// Seed 001's calls, in its order and with its field names, against its shop.
func TestSeed001OrderFlowOnTheTurkishShop(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, model.DemoTurkishSlug+".localhost")

	_, body := c.api("GET", "/api/public/products/", nil)
	product := body["products"].([]any)[0].(map[string]any)
	_, body = c.api("GET", "/api/public/shipping-methods/", nil)
	shipping := body["shipping_methods"].([]any)[0].(map[string]any)

	// 2.1 add to cart, the id as a string
	res, _ := c.api("POST", "/api/cart/add/", map[string]any{"product_id": fmt.Sprint(product["id"]), "quantity": 2})
	wantStatus(t, res, http.StatusOK)
	// 2.2 a bad coupon first, then a good one
	res, body = c.api("POST", "/api/cart/coupon/", map[string]any{"coupon_code": "KUPON123"})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if body["success"] != false || !strings.Contains(fmt.Sprint(body["message"]), "KUPON123 diye bir kupon kodu yok.") {
		t.Errorf("bad coupon: %v", body)
	}
	res, body = c.api("POST", "/api/cart/coupon/", map[string]any{"coupon_code": "DEMO10"})
	wantStatus(t, res, http.StatusOK)
	if get(body, "cart", "isActive") != true {
		t.Errorf("good coupon: %v", body)
	}
	// 2.3 the cart
	res, body = c.api("GET", "/api/cart/", nil)
	wantStatus(t, res, http.StatusOK)
	cartID := fmt.Sprint(get(body, "cart", "id"))
	// 2.4 the order, with seed 001's body exactly
	res, body = c.api("POST", "/api/orders/", seed001Body(cartID, fmt.Sprint(shipping["id"])))
	wantStatus(t, res, http.StatusCreated)
	order, _ := body["order"].(map[string]any)
	if body["success"] != true || body["message"] != "Sipariş oluşturuldu." {
		t.Errorf("answer: success %v, message %q", body["success"], body["message"])
	}
	if !strings.HasPrefix(fmt.Sprint(order["order_number"]), "ORD-DEMO-TR-") || order["status"] != "pending" || order["payment_status"] != "pending" ||
		order["currency"] != "TRY" || order["status_display"] != "Beklemede" || order["payment_status_display"] != "Ödeme Bekleniyor" {
		t.Errorf("order: %v", order)
	}
	if order["coupon_code"] != "DEMO10" || order["discount"] == "0.00" {
		t.Errorf("the good coupon was not applied: %v", order)
	}
	if addr, _ := order["shipping_address"].(map[string]any); addr["state"] != "" || addr["address_line2"] != "Test Sokak No:1" {
		t.Errorf("address: %v", addr)
	}
	// The rouble demo keeps fecshop's default: state is required there.
	d := e.client(t, "")
	_, body = d.api("GET", "/api/public/products/", nil)
	res, _ = d.api("POST", "/api/cart/add/", map[string]any{"product_id": body["products"].([]any)[0].(map[string]any)["id"]})
	wantStatus(t, res, http.StatusOK)
	methods := shopMethods(t, e)
	res, body = d.api("POST", "/api/orders/", seed001Body("", methods[0].ID))
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if get(body, "errors", "shipping_address.state") == nil {
		t.Errorf("the default shop no longer requires state: %v", body)
	}
}
