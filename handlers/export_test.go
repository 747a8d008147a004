package handlers_test

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// Every cell of the CSV export that came from people or providers is kept from
// being read as a formula.
func TestOrdersExportNeutralisesEveryPeoplesCell(t *testing.T) {
	e := newEnv(t)
	tee := shopProduct(t, e, "TS-WHITE-M")
	c := e.client(t, "")
	res, _ := c.api("POST", "/api/cart/add/", map[string]any{"product_id": tee.ID})
	wantStatus(t, res, http.StatusOK)
	hostile := map[string]any{
		"customer_email": "=cmd@example.com", "customer_first_name": "=HYPERLINK(\"http://x\")", "customer_last_name": "+1",
		"customer_phone": "+905551234567",
		"shipping_address": map[string]any{"address_line1": "@SUM(A1)", "address_line2": "-2+3", "city": "=1+1",
			"state": "+state", "postal_code": "=34000", "country": "TR"},
		"shipping_method_id": shopMethods(t, e)[0].ID,
	}
	res, body := c.api("POST", "/api/orders/", hostile)
	wantStatus(t, res, http.StatusCreated)
	number := fmt.Sprint(get(body, "order", "order_number"))
	id := fmt.Sprint(get(body, "order", "id"))

	staff := e.client(t, "")
	staff.login("owner@demo.test", demoPassword)
	for _, step := range []map[string]any{{"status": "confirmed"}, {"status": "shipped", "tracking_number": "=1+2", "tracking_carrier": "@carrier"}} {
		res, _ := staff.api("PATCH", "/api/orders/"+id+"/", step)
		wantStatus(t, res, http.StatusOK)
	}
	res, raw := staff.do("GET", "/admin/orders/export.csv", nil, nil)
	wantStatus(t, res, http.StatusOK)
	rows, err := csv.NewReader(strings.NewReader(raw)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	var row []string
	for _, r := range rows[1:] {
		if r[0] == number {
			row = r
		}
	}
	if row == nil {
		t.Fatalf("order %s not exported", number)
	}
	for _, name := range []string{"customer_email", "first_name", "last_name", "phone", "street1", "street2", "city", "state", "zip",
		"tracking_number", "tracking_carrier"} {
		i, ok := col[name]
		if !ok {
			t.Errorf("no %s column in %v", name, rows[0])
			continue
		}
		if !strings.HasPrefix(row[i], "'") {
			t.Errorf("%s exported as %q, a formula", name, row[i])
		}
	}
	// The first columns stay where the first exports had them.
	if !regexp.MustCompile(`^order_number,increment_id,created_at,status,payment_status,procurement_status,customer_email,first_name,last_name,country,item_count,total,currency,tracking_number,`).MatchString(strings.Join(rows[0], ",") + ",") {
		t.Errorf("header: %v", rows[0])
	}
}
