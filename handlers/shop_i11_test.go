package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"orderdesk/model"
)

// checkoutChoices reads the checkout's country list (codes) and payment
// methods (words) in their order.
func checkoutChoices(doc *goquery.Document) (countries, methods []string) {
	doc.Find(`[data-testid="country-select"] option`).Each(func(_ int, s *goquery.Selection) {
		countries = append(countries, s.AttrOr("value", ""))
	})
	doc.Find(`[data-testid="payment-method-name"]`).Each(func(_ int, s *goquery.Selection) {
		methods = append(methods, strings.TrimSpace(s.Text()))
	})
	return countries, methods
}

func TestShopCheckoutCountriesAndPaymentMethods(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, "")
	c.shopAdd(shopProduct(t, e, "TS-WHITE-M").ID, 1)
	res, doc := c.get("/shop/checkout")
	wantStatus(t, res, http.StatusOK)
	countries, methods := checkoutChoices(doc)
	// The demo shop is in Moscow: Russia first, and chosen.
	if len(countries) < 10 || countries[0] != "RU" {
		t.Errorf("countries: %q, want RU first of a list", countries)
	}
	if got := doc.Find(`[data-testid="country-select"] option[selected]`).AttrOr("value", ""); got != "RU" {
		t.Errorf("chosen country: %q, want RU", got)
	}
	if got := doc.Find(`[data-testid="country-select"] option[value="TR"]`).Text(); got != "Turkey" && got != "Türkiye" {
		t.Errorf("TR is named %q", got)
	}
	want := []string{"Bank card", "Dolyami — 4 payments", "Yandex Pay", "PayPal"}
	if strings.Join(methods, "|") != strings.Join(want, "|") {
		t.Errorf("payment methods: got %q, want %q", methods, want)
	}
	if got := doc.Find(`input[name="payment_provider"][checked]`).AttrOr("value", ""); got != "tinkoff" {
		t.Errorf("the card is not chosen first: %q", got)
	}
}

func TestShopCheckoutMarksAndKeepsAWrongForm(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, "")
	c.shopAdd(shopProduct(t, e, "TS-WHITE-M").ID, 1)
	form := shopAddressForm("not-an-email", shopMethods(t, e)[0].ID)
	form.Set("street1", "")
	form.Set("country", "TR")
	form.Set("payment_provider", "paypal")
	res, doc := c.postForm("/shop/checkout", form)
	wantStatus(t, res, http.StatusUnprocessableEntity)

	// Each wrong field is marked and names its error; the first has the cursor.
	for _, f := range []string{"email", "street1"} {
		in := doc.Find(`[data-testid="checkout-form"] [name="` + f + `"]`)
		if in.AttrOr("aria-invalid", "") != "true" {
			t.Errorf("%s is not marked invalid", f)
		}
		id := in.AttrOr("aria-describedby", "")
		if id == "" || strings.TrimSpace(doc.Find("#"+id).Text()) == "" {
			t.Errorf("%s does not name its error (aria-describedby %q)", f, id)
		}
	}
	if got := doc.Find(`[autofocus]`); got.Length() != 1 || got.AttrOr("name", "") != "email" {
		t.Errorf("autofocus on %d fields, the first %q; want email alone", got.Length(), got.AttrOr("name", ""))
	}
	if doc.Find(`[name="first_name"]`).AttrOr("aria-invalid", "") != "" {
		t.Error("a right field is marked invalid")
	}
	// Everything typed is kept: the fields, the country chosen, the method.
	for _, f := range []string{"first_name", "last_name", "email", "telephone", "street2", "city", "zip"} {
		if got := doc.Find(`input[name="`+f+`"]`).AttrOr("value", ""); got != form.Get(f) {
			t.Errorf("%s: got %q, want %q kept", f, got, form.Get(f))
		}
	}
	if got := doc.Find(`select[name="country"] option[selected]`).AttrOr("value", ""); got != "TR" {
		t.Errorf("country kept: %q, want TR", got)
	}
	if got := doc.Find(`input[name="payment_provider"][checked]`).AttrOr("value", ""); got != "paypal" {
		t.Errorf("payment method kept: %q, want paypal", got)
	}
}

func TestShopMyOrdersPayButtonWhereDue(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.client(t, "")
	res, _ := c.postForm("/shop/login", url.Values{"email": {model.DemoCustomerEmail}, "password": {demoPassword}})
	wantStatus(t, res, http.StatusSeeOther)
	// Two orders: the first declined at the bank, the second paid.
	declined, page := e.shopOrderWithPaymentAs(t, c, "tinkoff")
	e.browse(t, c, page, "sandbox-decline")
	paid, page := e.shopOrderWithPaymentAs(t, c, "tinkoff")
	e.browse(t, c, page, "sandbox-pay")

	res, doc := c.get("/shop/orders")
	wantStatus(t, res, http.StatusOK)
	all, err := e.store.FindOrders(ctx, e.demo.ID, model.OrderFilter{CustomerID: declined.CustomerID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	rows := shopTID(doc, "shop-order")
	if rows.Length() != len(all.Orders) {
		t.Fatalf("rows %d, orders %d", rows.Length(), len(all.Orders))
	}
	// Newest first: the paid order, then the declined one.
	if rows.Eq(0).AttrOr("data-order-id", "") != itoa(paid.ID) || rows.Eq(1).AttrOr("data-order-id", "") != itoa(declined.ID) {
		t.Errorf("first rows: %s, %s; want %d then %d", rows.Eq(0).AttrOr("data-order-id", ""), rows.Eq(1).AttrOr("data-order-id", ""), paid.ID, declined.ID)
	}
	rows.Each(func(i int, s *goquery.Selection) {
		// Newest first means by when the orders were placed (the demo's
		// orders were not placed in the order of their ids).
		o := all.Orders[i]
		if id := s.AttrOr("data-order-id", ""); id != itoa(o.ID) {
			t.Errorf("row %d is order %s, want %d", i, id, o.ID)
		}
		if i > 0 && o.CreatedAt.After(all.Orders[i-1].CreatedAt) {
			t.Errorf("row %d (order %d, placed %s) is newer than the row above it (placed %s)", i, o.ID, o.CreatedAt, all.Orders[i-1].CreatedAt)
		}
		due := o.PaymentDue() && len(openPayments(t, e, o.ID)) == 0
		if has := s.Find(`[data-testid="order-pay"]`).Length() == 1; has != due {
			t.Errorf("order %s (%s / %s): pay button %v, want %v", o.Number, o.Status, o.PaymentStatus, has, due)
		}
	})
	if rows.Eq(0).Find(`[data-testid="order-pay"]`).Length() != 0 {
		t.Error("the paid order has a pay button")
	}
	if btn := rows.Eq(1).Find(`[data-testid="order-pay"]`); btn.Length() != 1 || btn.AttrOr("href", "") != "/pay/again/"+declined.Number {
		t.Errorf("the declined order's pay button: %d, %q", btn.Length(), btn.AttrOr("href", ""))
	}
	if got := strings.TrimSpace(rows.Eq(1).Find(`[data-testid="order-payment-status"]`).Text()); got == "" || got == string(model.PayPending) {
		t.Errorf("payment status in words: %q", got)
	}
	// The order's own page offers both ways on.
	_, doc = c.get("/shop/orders/" + itoa(declined.ID))
	if shopTID(doc, "pay-retry").Length() != 1 || shopTID(doc, "pay-other").Length() != 1 {
		t.Error("the declined order's page offers no Try again and Pay another way")
	}
}

// shopOrderWithPaymentAs is shopOrderWithPayment for a signed-in customer.
func (e *env) shopOrderWithPaymentAs(t *testing.T, c *client, provider string) (*model.Order, string) {
	t.Helper()
	c.shopAdd(shopProduct(t, e, "TS-WHITE-M").ID, 1)
	res, doc := c.get("/shop/checkout")
	wantStatus(t, res, http.StatusOK)
	form := shopFormValues(doc, `[data-testid="checkout-form"]`)
	form.Set("shipping_method_id", itoa(shopMethods(t, e)[0].ID))
	form.Set("payment_provider", provider)
	res, _ = c.postForm("/shop/checkout", form)
	wantStatus(t, res, http.StatusSeeOther)
	loc := res.Header.Get("Location")
	if !strings.Contains(loc, "/sandbox/") {
		t.Fatalf("checkout went to %q", loc)
	}
	list, err := e.store.FindOrders(context.Background(), e.demo.ID, model.OrderFilter{Email: form.Get("email"), Limit: 1})
	if err != nil || len(list.Orders) == 0 {
		t.Fatalf("the order: %v", err)
	}
	return list.Orders[0], loc
}

func openPayments(t *testing.T, e *env, orderID int64) []*model.Payment {
	t.Helper()
	list, err := e.store.FindPayments(context.Background(), e.demo.ID, model.PaymentFilter{OrderID: orderID, Open: true})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// The Turkish shop (seed 001) speaks Turkish on its storefront and checkout
// and writes its money "₺1.234,56".
func TestShopTurkishShop(t *testing.T) {
	e := newEnv(t)
	tr := e.tenant(t, model.DemoTurkishSlug)
	c := e.client(t, model.DemoTurkishSlug+".localhost")
	lira := regexp.MustCompile(`^₺\d{1,3}(\.\d{3})*,\d{2}$`)

	res, doc := c.get("/shop")
	wantStatus(t, res, http.StatusOK)
	if got := doc.Find("html").AttrOr("lang", ""); got != "tr" {
		t.Errorf("<html lang=%q>, want tr", got)
	}
	if got := strings.TrimSpace(doc.Find("h1").First().Text()); got != "Ürünler" {
		t.Errorf("storefront heading: %q", got)
	}
	if got := shopText(doc, "add-to-cart-submit"); got != "Sepete ekle" {
		t.Errorf("add to cart: %q", got)
	}
	price := doc.Find(`[data-testid="product-price"]`).First().Text()
	if !lira.MatchString(price) {
		t.Errorf("price %q is not written as ₺1.234,56", price)
	}
	products, err := e.store.FindProducts(context.Background(), tr.ID)
	if err != nil || len(products) == 0 {
		t.Fatal(err)
	}
	c.shopAdd(products[0].ID, 9)
	res, doc = c.get("/shop/checkout")
	wantStatus(t, res, http.StatusOK)
	if got := strings.TrimSpace(doc.Find("h1").First().Text()); got != "Ödeme" {
		t.Errorf("checkout heading: %q", got)
	}
	if got := strings.TrimSpace(doc.Find(`label[for="co-city"]`).Contents().First().Text()); got != "İlçe / Şehir" {
		t.Errorf("city label: %q", got)
	}
	if total := shopText(doc, "cart-total"); !lira.MatchString(total) {
		t.Errorf("total %q is not written as ₺1.234,56", total)
	}
	countries, methods := checkoutChoices(doc)
	if len(countries) == 0 || countries[0] != "TR" || doc.Find(`option[value="TR"]`).Text() != "Türkiye" {
		t.Errorf("countries: %q, TR named %q; want Türkiye first", countries, doc.Find(`option[value="TR"]`).Text())
	}
	if len(methods) == 0 || methods[0] != "Banka kartı" {
		t.Errorf("payment methods: %q, want Banka kartı first", methods)
	}
	// A wrong form comes back in Turkish.
	res, doc = c.postForm("/shop/checkout", url.Values{"first_name": {"Zeynep"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if got := shopText(doc, "checkout-alert"); got != "Lütfen aşağıda işaretli alanları düzeltin." {
		t.Errorf("alert: %q", got)
	}
}
