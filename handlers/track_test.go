package handlers_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"orderdesk/model"
	"orderdesk/views/locales"
)

// trackPlace places a guest order in tenant t straight through the model.
func trackPlace(t *testing.T, e *env, tn *model.Tenant, addr model.Address) *model.Order {
	t.Helper()
	ctx := context.Background()
	products, err := e.store.FindProducts(ctx, tn.ID)
	if err != nil || len(products) == 0 {
		t.Fatalf("products of %s: %v", tn.Slug, err)
	}
	methods, err := e.store.FindShippingMethods(ctx, tn.ID)
	if err != nil || len(methods) == 0 {
		t.Fatalf("shipping methods of %s: %v", tn.Slug, err)
	}
	cart, err := e.store.EnsureCart(ctx, tn.ID, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.AddToCart(ctx, tn.ID, cart, products[0].ID, 2); err != nil {
		t.Fatal(err)
	}
	o, err := e.store.PlaceOrder(ctx, tn, model.PlaceOrderInput{CartID: cart, Address: addr, ShippingMethodID: methods[0].ID})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// trackPersonal is an address whose every part is easy to find in a page.
var trackPersonal = model.Address{
	FirstName: "Zeynep", LastName: "Karaca", Email: "zeynep.karaca@example.com", Telephone: "+905559876543",
	Street1: "Bağdat Caddesi 42", Street2: "Daire 7", City: "Kadıköy", State: "Marmara", Zip: "34710", Country: "TR",
}

func TestTrackPage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	o := trackPlace(t, e, e.demo, trackPersonal)
	actor := model.JobActor("test")
	for _, to := range []model.OrderStatus{model.OrderConfirmed, model.OrderProcessing} {
		if _, err := e.store.TransitionOrder(ctx, e.demo, o.ID, to, actor, model.TransitionInput{}); err != nil {
			t.Fatal(err)
		}
	}
	o, err := e.store.TransitionOrder(ctx, e.demo, o.ID, model.OrderShipped, actor, model.TransitionInput{TrackingNumber: "ARAS123456789"})
	if err != nil {
		t.Fatal(err)
	}
	methods, _ := e.store.FindShippingMethods(ctx, e.demo.ID)
	wantLink := model.TrackingLink(methods[0].TrackingURL, "ARAS123456789")
	if wantLink == "" {
		t.Fatal("the demo's first shipping method has no tracking page")
	}

	t.Run("the page shows the progress, the tracking link and nothing personal", func(t *testing.T) {
		c := e.client(t, "")
		res, body := c.do("GET", "/track/"+o.Number, nil, nil)
		wantStatus(t, res, http.StatusOK)
		doc := parseHTML(t, body)
		for id, want := range map[string]string{
			"track-order-number":    o.Number,
			"track-status":          "Shipped",
			"track-payment-status":  "Awaiting payment",
			"track-tracking-number": "ARAS123456789",
			"track-total":           locales.Money(e.demo.Language, o.Total, e.demo.Currency),
			"track-created":         locales.DateTime(e.demo.Language, o.CreatedAt.In(e.demo.Location())),
			"track-shipped":         locales.DateTime(e.demo.Language, o.ShippedAt.In(e.demo.Location())),
		} {
			if got := shopText(doc, id); got != strings.ReplaceAll(want, "\u00a0", " ") {
				t.Errorf("%s: got %q, want %q", id, got, want)
			}
		}
		if got := shopTID(doc, "track-tracking-link").AttrOr("href", ""); got != wantLink {
			t.Errorf("tracking link: got %q, want %q", got, wantLink)
		}
		if shopTID(doc, "track-delivered").Length() != 0 || shopTID(doc, "placed-notice").Length() != 0 {
			t.Error("a shipped order shows a delivery date, or the thank-you without ?placed=1")
		}
		for _, private := range []string{trackPersonal.FirstName, trackPersonal.LastName, trackPersonal.Email, "zeynep",
			trackPersonal.Telephone, "5559876543", trackPersonal.Street1, "Bağdat", trackPersonal.Street2, trackPersonal.City,
			trackPersonal.Zip} {
			if strings.Contains(body, private) {
				t.Errorf("the tracking page shows personal data %q", private)
			}
		}
	})

	t.Run("the number is found whatever its case, and ?placed=1 thanks the shopper", func(t *testing.T) {
		c := e.client(t, "")
		res, doc := c.get("/track/" + strings.ToLower(o.Number) + "?placed=1")
		wantStatus(t, res, http.StatusOK)
		if got := shopText(doc, "placed-notice"); !strings.Contains(got, "Thank you, your order was placed") || !strings.Contains(got, "Keep this number to follow it") {
			t.Errorf("placed notice: %q", got)
		}
	})

	t.Run("the form sends the browser to the order's page", func(t *testing.T) {
		c := e.client(t, "")
		res, doc := c.get("/track")
		wantStatus(t, res, http.StatusOK)
		if f := shopTID(doc, "track-form"); f.AttrOr("method", "") != "get" || f.Find(`input[name="number"]`).Length() != 1 {
			t.Error("no GET form with a number field")
		}
		res, _ = c.get("/track?number=+" + o.Number + "+")
		wantStatus(t, res, http.StatusSeeOther)
		if got := res.Header.Get("Location"); got != "/track/"+o.Number {
			t.Errorf("redirect: got %q, want /track/%s", got, o.Number)
		}
	})

	t.Run("an unknown number and another shop's order get the same 404", func(t *testing.T) {
		c := e.client(t, "")
		shop2, err := e.store.CreateTenant(ctx, model.NewTenant{Slug: "shop2", Name: "Shop Two"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.CreateProduct(ctx, shop2.ID, model.Product{SKU: "MUG", Title: "Mug", Price: 700, Stock: 10}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.CreateShippingMethod(ctx, shop2.ID, model.ShippingMethod{Name: "Post", Price: 300}); err != nil {
			t.Fatal(err)
		}
		other := trackPlace(t, e, shop2, trackPersonal)
		if res, _ := e.client(t, "shop2.localhost").get("/track/" + other.Number); res.StatusCode != http.StatusOK {
			t.Fatalf("shop2's own tracking page: %d", res.StatusCode)
		}

		unknown := "ORD-DEMO-20260101-DEADBEEF"
		res, body1 := c.do("GET", "/track/"+unknown, nil, nil)
		wantStatus(t, res, http.StatusNotFound)
		res, body2 := c.do("GET", "/track/"+other.Number, nil, nil)
		wantStatus(t, res, http.StatusNotFound)
		if a, b := strings.ReplaceAll(body1, unknown, "N"), strings.ReplaceAll(body2, other.Number, "N"); a != b {
			t.Errorf("the two 404 pages differ:\n%s\n%s", a, b)
		}
		doc := parseHTML(t, body2)
		if !strings.Contains(shopText(doc, "track-error"), "There is no order with the number") {
			t.Errorf("404 message: %q", shopText(doc, "track-error"))
		}
		if strings.Contains(body2, "Zeynep") || strings.Contains(body2, "Shop Two") {
			t.Error("the 404 shows the other shop's order")
		}
	})
}

func TestTrackRateLimit(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, "")
	limited := 0
	var last string
	for i := 0; i < 25; i++ {
		res, body := c.do("GET", "/track/ORD-DEMO-20260101-00000000", nil, nil)
		switch res.StatusCode {
		case http.StatusNotFound:
		case http.StatusTooManyRequests:
			limited++
			last = body
		default:
			t.Fatalf("request %d: status %d", i, res.StatusCode)
		}
	}
	if limited == 0 {
		t.Fatal("25 quick tracking requests were all answered; want 429 after the burst of 20")
	}
	if !strings.Contains(last, "Too many tracking requests") {
		t.Errorf("429 page: %.300s", last)
	}
	// The storefront itself is not limited by the tracking limit.
	if res, _ := c.get("/shop"); res.StatusCode != http.StatusOK {
		t.Errorf("/shop after the tracking limit: %d", res.StatusCode)
	}
}
