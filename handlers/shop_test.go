package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"orderdesk/model"
	"orderdesk/views"
	"orderdesk/views/locales"
)

// shopHX posts a form as htmx does: with HX-Request and the CSRF token.
func (c *client) shopHX(path string, v url.Values) (*http.Response, string) {
	c.t.Helper()
	if v == nil {
		v = url.Values{}
	}
	v.Set("_csrf", c.csrf())
	return c.do("POST", path, strings.NewReader(v.Encode()), http.Header{
		"Content-Type": {"application/x-www-form-urlencoded"}, "Hx-Request": {"true"},
	})
}

// shopAdd puts a product in the cart through the products page's form.
func (c *client) shopAdd(productID int64, qty int) {
	c.t.Helper()
	res, _ := c.postForm("/shop/cart/add", url.Values{"product_id": {fmt.Sprint(productID)}, "quantity": {strconv.Itoa(qty)}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/shop/cart" {
		c.t.Fatalf("add to cart: got %d to %q, want 303 to /shop/cart", res.StatusCode, res.Header.Get("Location"))
	}
}

// tid selects by data-testid.
func shopTID(doc *goquery.Document, id string) *goquery.Selection {
	return doc.Find(`[data-testid="` + id + `"]`)
}

// tidText is the text of the first element with the data-testid, spaces squeezed.
func shopText(doc *goquery.Document, id string) string {
	return strings.Join(strings.Fields(shopTID(doc, id).First().Text()), " ")
}

// shopMoney writes minor units as the demo shop shows them, in its currency,
// its no-break spaces plain, as shopText reads them.
func shopMoney(e *env) func(int64) string {
	return func(minor int64) string {
		return strings.ReplaceAll(locales.Money(e.demo.Language, minor, e.demo.Currency), "\u00a0", " ")
	}
}

func shopProduct(t *testing.T, e *env, sku string) *model.Product {
	t.Helper()
	products, err := e.store.FindProducts(context.Background(), e.demo.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range products {
		if p.SKU == sku {
			return p
		}
	}
	t.Fatalf("no product %s", sku)
	return nil
}

func shopMethods(t *testing.T, e *env) []*model.ShippingMethod {
	t.Helper()
	m, err := e.store.FindShippingMethods(context.Background(), e.demo.ID)
	if err != nil || len(m) == 0 {
		t.Fatalf("shipping methods: %v %v", m, err)
	}
	return m
}

// shopAddressForm is a complete checkout form.
func shopAddressForm(email string, shippingID int64) url.Values {
	return url.Values{
		"first_name": {"Zeynep"}, "last_name": {"Karaca"}, "email": {email}, "telephone": {"+905559876543"},
		"street1": {"Bağdat Caddesi 42"}, "street2": {"Daire 7"}, "city": {"Kadıköy"}, "state": {"Istanbul"},
		"zip": {"34710"}, "country": {"tr"}, "shipping_method_id": {fmt.Sprint(shippingID)},
	}
}

// wantFragment checks that an htmx answer is the fragment with this id alone,
// with Vary: HX-Request so that caches keep the page and the fragment apart.
func shopWantFragment(t *testing.T, res *http.Response, body, id string) *goquery.Document {
	t.Helper()
	wantStatus(t, res, http.StatusOK)
	if strings.Contains(strings.ToLower(body), "<html") || strings.Contains(body, `data-testid="shop-header"`) {
		t.Errorf("htmx answer is a whole page, want the #%s fragment alone: %.300s", id, body)
	}
	if !strings.Contains(strings.Join(res.Header.Values("Vary"), ","), "HX-Request") {
		t.Errorf("htmx answer lacks Vary: HX-Request (Vary: %q)", res.Header.Values("Vary"))
	}
	doc := parseHTML(t, body)
	top := doc.Find("body").Children()
	if top.Length() != 1 || top.AttrOr("id", "") != id {
		t.Errorf("fragment: got %d top elements, first with id %q, want one #%s", top.Length(), top.AttrOr("id", ""), id)
	}
	return doc
}

func TestShopGuestCartAndPromoCode(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tee := shopProduct(t, e, "TS-WHITE-M")
	gone, err := e.store.CreateProduct(ctx, e.demo.ID, model.Product{SKU: "VASE-GONE", Title: "Glass vase", Price: 990, Stock: 0})
	if err != nil {
		t.Fatal(err)
	}
	money := shopMoney(e)
	two := 2 * tee.Price
	discount := two * 10 / 100 // DEMO10
	c := e.client(t, "")

	// 1. The products page lists the catalogue with prices and stock, under the
	// shop's header and without the staff bar.
	res, doc := c.get("/shop")
	wantStatus(t, res, http.StatusOK)
	card := doc.Find(fmt.Sprintf(`[data-testid="product"][data-product-id="%d"]`, tee.ID))
	if got := strings.TrimSpace(card.Find(`[data-testid="product-title"]`).Text()); got != tee.Title {
		t.Errorf("product title: got %q, want %q", got, tee.Title)
	}
	// By CLDR, with a no-break space so that the amount never wraps.
	if got, want := card.Find(`[data-testid="product-price"]`).Text(), "RUB\u00a0990.00"; got != want || tee.Price != 99000 {
		t.Errorf("product price: got %q, want %q", got, want)
	}
	if got := card.Find(`[data-testid="product-stock"]`).Text(); got != "In stock" {
		t.Errorf("stock: got %q, want In stock", got)
	}
	if card.Find(`form[action="/shop/cart/add"] input[name="product_id"]`).AttrOr("value", "") != fmt.Sprint(tee.ID) {
		t.Error("no add-to-cart form for the product")
	}
	soldOut := doc.Find(fmt.Sprintf(`[data-testid="product"][data-product-id="%d"]`, gone.ID))
	if got := soldOut.Find(`[data-testid="product-stock"]`).Text(); got != "Sold out" || soldOut.Find("form").Length() != 0 {
		t.Errorf("a product without stock: stock %q, %d forms; want Sold out and no form", got, soldOut.Find("form").Length())
	}
	if shopText(doc, "shop-name") != "Demo Shop" || shopText(doc, "cart-count") != "0" || shopTID(doc, "nav-login").Length() != 1 {
		t.Errorf("header: name %q, cart %q, sign-in links %d", shopText(doc, "shop-name"), shopText(doc, "cart-count"), shopTID(doc, "nav-login").Length())
	}
	if shopTID(doc, "signed-in-as").Length() != 0 {
		t.Error("the storefront shows the staff bar")
	}

	// 2. Adding answers 303 to the cart, which shows the line and the count.
	c.shopAdd(tee.ID, 2)
	res, doc = c.get("/shop/cart")
	wantStatus(t, res, http.StatusOK)
	if got := shopTID(doc, "cart-line").Length(); got != 1 {
		t.Fatalf("cart lines: got %d, want 1", got)
	}
	if got := doc.Find(`[data-testid="cart-line"] input[name="quantity"]`).AttrOr("value", ""); got != "2" {
		t.Errorf("quantity: got %q, want 2", got)
	}
	if shopText(doc, "cart-count") != "2" || shopText(doc, "cart-subtotal") != money(two) || shopText(doc, "cart-total") != money(two) {
		t.Errorf("cart: count %q, subtotal %q, total %q", shopText(doc, "cart-count"), shopText(doc, "cart-subtotal"), shopText(doc, "cart-total"))
	}
	// A guest has no points: the cart asks them to sign in instead.
	if got := shopText(doc, "bonus-signin"); got != "Sign in to use your bonus points." {
		t.Errorf("guest bonus line: got %q", got)
	}
	if shopTID(doc, "use-bonus").Length() != 0 {
		t.Error("a guest sees the use-my-bonus checkbox")
	}
	// The promo form works with and without htmx.
	form := shopTID(doc, "coupon-form")
	if form.AttrOr("action", "") != "/shop/cart/coupon" || form.AttrOr("hx-post", "") != "/shop/cart/coupon" ||
		form.AttrOr("hx-target", "") != "#"+views.ShopCartTotalsID {
		t.Errorf("coupon form attributes: %v", form.Nodes[0].Attr)
	}

	// 3. htmx applies DEMO10 and gets only the totals back, changed.
	res, body := c.shopHX("/shop/cart/coupon", url.Values{"coupon_code": {" demo10 "}})
	frag := shopWantFragment(t, res, body, views.ShopCartTotalsID)
	if got := shopText(frag, "cart-discount"); got != "-"+money(discount) {
		t.Errorf("DEMO10 discount: got %q, want -%s", got, money(discount))
	}
	if got := shopText(frag, "cart-total"); got != money(two-discount) {
		t.Errorf("total with DEMO10: got %q, want %s", got, money(two-discount))
	}
	if got := shopText(frag, "coupon-message"); !strings.Contains(got, "DEMO10 applied") {
		t.Errorf("coupon message: got %q", got)
	}

	// 4. A refused code says why and discounts nothing.
	res, body = c.shopHX("/shop/cart/coupon", url.Values{"coupon_code": {"NOPE"}})
	frag = shopWantFragment(t, res, body, views.ShopCartTotalsID)
	if got := shopText(frag, "coupon-message"); got != "There is no promo code NOPE." {
		t.Errorf("refused code message: got %q", got)
	}
	if shopTID(frag, "cart-discount").Length() != 0 || shopText(frag, "cart-total") != money(two) {
		t.Errorf("a refused code discounts: %q, total %q", shopText(frag, "cart-discount"), shopText(frag, "cart-total"))
	}
	// A code with a minimum subtotal says what is missing.
	if _, err := e.store.CreateCoupon(ctx, e.demo.ID, model.Coupon{Code: "BIGCART", Kind: "fixed", Value: 100, MinSubtotal: two}); err != nil {
		t.Fatal(err)
	}
	res, _ = c.postForm("/shop/cart/update", url.Values{"product_id": {fmt.Sprint(tee.ID)}, "quantity": {"1"}})
	wantStatus(t, res, http.StatusSeeOther)
	res, body = c.shopHX("/shop/cart/coupon", url.Values{"coupon_code": {"BIGCART"}})
	frag = shopWantFragment(t, res, body, views.ShopCartTotalsID)
	if got := shopText(frag, "coupon-message"); !strings.Contains(got, "needs a subtotal of at least "+money(two)) {
		t.Errorf("minimum subtotal message: got %q", got)
	}
	res, _ = c.postForm("/shop/cart/update", url.Values{"product_id": {fmt.Sprint(tee.ID)}, "quantity": {"2"}})
	wantStatus(t, res, http.StatusSeeOther)

	// 5. A guest asking for bonus points gets the totals without any.
	res, body = c.shopHX("/shop/cart/bonus", url.Values{"use_bonus": {"1"}})
	frag = shopWantFragment(t, res, body, views.ShopCartTotalsID)
	if shopTID(frag, "bonus-used").Length() != 0 {
		t.Error("a guest's totals show bonus points used")
	}

	// 6. Without JavaScript the same forms answer 303, and the cart page shows the
	// state kept in the session (seed 004's promocode, isActive, message).
	res, _ = c.postForm("/shop/cart/coupon", url.Values{"coupon_code": {"DEMO10"}})
	wantStatus(t, res, http.StatusSeeOther)
	if got := res.Header.Get("Location"); got != "/shop/cart" {
		t.Errorf("coupon without htmx: redirect to %q, want /shop/cart", got)
	}
	if !strings.Contains(strings.Join(res.Header.Values("Vary"), ","), "HX-Request") {
		t.Error("the redirect lacks Vary: HX-Request")
	}
	_, doc = c.get("/shop/cart")
	if got := doc.Find(`#coupon_code`).AttrOr("value", ""); got != "DEMO10" {
		t.Errorf("promo code field: got %q, want DEMO10", got)
	}
	if shopText(doc, "cart-discount") != "-"+money(discount) || !strings.Contains(shopText(doc, "coupon-message"), "DEMO10 applied") {
		t.Errorf("cart after DEMO10 without htmx: discount %q, message %q", shopText(doc, "cart-discount"), shopText(doc, "coupon-message"))
	}
	if doc.Find("#"+views.ShopCartTotalsID).Length() != 1 {
		t.Errorf("the cart page has no #%s for htmx to swap", views.ShopCartTotalsID)
	}

	// 7. An empty code removes it.
	res, _ = c.postForm("/shop/cart/coupon", url.Values{"coupon_code": {""}})
	wantStatus(t, res, http.StatusSeeOther)
	_, doc = c.get("/shop/cart")
	if shopTID(doc, "cart-discount").Length() != 0 || shopTID(doc, "coupon-message").Length() != 0 || shopText(doc, "cart-total") != money(two) {
		t.Errorf("after removing the code: discount %q, message %q, total %q", shopText(doc, "cart-discount"), shopText(doc, "coupon-message"), shopText(doc, "cart-total"))
	}

	// 8. Quantities change; nonsense is refused; 0 removes the line.
	res, doc = c.postForm("/shop/cart/update", url.Values{"product_id": {fmt.Sprint(tee.ID)}, "quantity": {"many"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if !strings.Contains(shopText(doc, "cart-notice"), "quantity from 0 to 1000") {
		t.Errorf("bad quantity notice: %q", shopText(doc, "cart-notice"))
	}
	res, _ = c.postForm("/shop/cart/update", url.Values{"product_id": {fmt.Sprint(tee.ID)}, "quantity": {"3"}})
	wantStatus(t, res, http.StatusSeeOther)
	_, doc = c.get("/shop/cart")
	if shopText(doc, "cart-count") != "3" || shopText(doc, "cart-total") != money(3*tee.Price) {
		t.Errorf("after setting 3: count %q, total %q", shopText(doc, "cart-count"), shopText(doc, "cart-total"))
	}
	res, _ = c.postForm("/shop/cart/update", url.Values{"product_id": {fmt.Sprint(tee.ID)}, "quantity": {"0"}})
	wantStatus(t, res, http.StatusSeeOther)
	_, doc = c.get("/shop/cart")
	if shopTID(doc, "cart-empty").Length() != 1 || shopText(doc, "cart-count") != "0" {
		t.Errorf("after 0: empty notice %d, count %q", shopTID(doc, "cart-empty").Length(), shopText(doc, "cart-count"))
	}

	// 9. Adding a product that is not on sale is refused on the products page.
	res, doc = c.postForm("/shop/cart/add", url.Values{"product_id": {"999999"}, "quantity": {"1"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if !strings.Contains(shopText(doc, "shop-alert"), "no such product") {
		t.Errorf("unknown product alert: %q", shopText(doc, "shop-alert"))
	}
}

func TestShopGuestCheckout(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tee := shopProduct(t, e, "TS-WHITE-M")
	methods := shopMethods(t, e)
	std := methods[0] // the cheapest comes first
	money := shopMoney(e)
	two := 2 * tee.Price
	discount := two * 10 / 100 // DEMO10
	c := e.client(t, "")

	// An empty cart has nothing to check out.
	res, _ := c.get("/shop/checkout")
	wantStatus(t, res, http.StatusSeeOther)

	c.shopAdd(tee.ID, 2)
	res, _ = c.postForm("/shop/cart/coupon", url.Values{"coupon_code": {"DEMO10"}})
	wantStatus(t, res, http.StatusSeeOther)

	// 1. The form marks the tenant's required fields and lists the shipping methods.
	res, doc := c.get("/shop/checkout")
	wantStatus(t, res, http.StatusOK)
	for _, f := range model.AddressFields {
		required := false
		for _, r := range e.demo.RequiredAddressFields {
			required = required || r == f
		}
		_, hasAttr := doc.Find(`[data-testid="checkout-form"] [name="` + f + `"]`).Attr("required")
		if marked := shopTID(doc, "required-"+f).Length() == 1; marked != required || hasAttr != required {
			t.Errorf("field %s: marked %v, required attribute %v, want %v", f, marked, hasAttr, required)
		}
	}
	if got := shopTID(doc, "shipping-method").Length(); got != len(methods) {
		t.Errorf("shipping methods: got %d, want %d", got, len(methods))
	}
	if shopText(doc, "cart-shipping") != "choose a method" || shopText(doc, "cart-total") != money(two-discount) {
		t.Errorf("summary before choosing: shipping %q, total %q", shopText(doc, "cart-shipping"), shopText(doc, "cart-total"))
	}

	// 2. Choosing a method with htmx brings the totals with shipping; without
	// htmx the same address is the whole page.
	path := fmt.Sprintf("/shop/checkout?shipping_method_id=%d", std.ID)
	res, body := c.do("GET", path, nil, http.Header{"Hx-Request": {"true"}})
	frag := shopWantFragment(t, res, body, views.ShopCheckoutTotalsID)
	if shopText(frag, "cart-shipping") != money(std.Price) || shopText(frag, "cart-total") != money(two-discount+std.Price) {
		t.Errorf("totals with shipping: shipping %q, total %q", shopText(frag, "cart-shipping"), shopText(frag, "cart-total"))
	}
	res, doc = c.get(path)
	wantStatus(t, res, http.StatusOK)
	if shopTID(doc, "checkout-form").Length() != 1 || doc.Find(`input[name="shipping_method_id"][checked]`).AttrOr("value", "") != fmt.Sprint(std.ID) {
		t.Error("the full checkout page with a method chosen lacks the form or the choice")
	}

	// 3. Missing fields: 422, every typed value kept, each missing field named.
	partial := url.Values{"first_name": {"Zeynep"}, "email": {"zeynep@example.com"}, "street2": {"Daire 7"},
		"shipping_method_id": {fmt.Sprint(std.ID)}}
	res, doc = c.postForm("/shop/checkout", partial)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	for _, f := range e.demo.RequiredAddressFields {
		_, typed := partial[f]
		if named := shopTID(doc, "error-"+f).Length() == 1; named == typed {
			t.Errorf("field %s: error shown %v, typed %v", f, named, typed)
		}
	}
	for f, v := range partial {
		sel := `input[name="` + f + `"]`
		if f == "shipping_method_id" {
			sel += `[checked]`
		}
		if got := doc.Find(sel).AttrOr("value", ""); got != v[0] {
			t.Errorf("typed %s not kept: got %q, want %q", f, got, v[0])
		}
	}
	if shopTID(doc, "checkout-alert").Length() != 1 {
		t.Error("no alert at the top of a form with errors")
	}
	// Without a shipping method the radio list says so.
	noShip := shopAddressForm("zeynep@example.com", 0)
	noShip.Del("shipping_method_id")
	res, doc = c.postForm("/shop/checkout", noShip)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if !strings.Contains(shopText(doc, "error-shipping_method_id"), "shipping method") {
		t.Errorf("missing shipping method: %q", shopText(doc, "error-shipping_method_id"))
	}

	// 4. The order is placed: the guest goes to the public tracking page.
	res, _ = c.postForm("/shop/checkout", shopAddressForm("zeynep@example.com", std.ID))
	wantStatus(t, res, http.StatusSeeOther)
	m := regexp.MustCompile(`^/track/(ORD-DEMO-\d{8}-[0-9A-F]{8})\?placed=1$`).FindStringSubmatch(res.Header.Get("Location"))
	if m == nil {
		t.Fatalf("guest checkout redirect: %q, want /track/{number}?placed=1", res.Header.Get("Location"))
	}
	o, err := e.store.FindOrderByNumber(ctx, e.demo.ID, m[1])
	if err != nil {
		t.Fatal(err)
	}
	if o.CustomerID != 0 || o.CouponCode != "DEMO10" || o.Discount != discount || o.Shipping != std.Price || o.Total != two-discount+std.Price ||
		o.Address.Country != "TR" || o.Address.Street2 != "Daire 7" {
		t.Errorf("placed order: %+v", o)
	}
	res, doc = c.get(res.Header.Get("Location"))
	wantStatus(t, res, http.StatusOK)
	if got := shopText(doc, "placed-notice"); !strings.Contains(got, "Thank you, your order was placed") || !strings.Contains(got, m[1]) {
		t.Errorf("placed notice: %q", got)
	}

	// 5. A guest's cart stays until the payment succeeds (fecshop); the promo
	// code is used up by the order.
	_, doc = c.get("/shop/cart")
	if shopText(doc, "cart-count") != "2" || shopTID(doc, "cart-line").Length() != 1 {
		t.Errorf("guest cart after ordering: count %q, lines %d; want it kept", shopText(doc, "cart-count"), shopTID(doc, "cart-line").Length())
	}
	if doc.Find(`#coupon_code`).AttrOr("value", "") != "" || shopTID(doc, "cart-discount").Length() != 0 {
		t.Error("the promo state survived the order")
	}
}

func TestShopCheckoutOutOfStock(t *testing.T) {
	e := newEnv(t)
	earbuds := shopProduct(t, e, "EARBUDS-TM")
	std := shopMethods(t, e)[0]
	c := e.client(t, "")
	c.shopAdd(earbuds.ID, 1)
	res, _ := c.postForm("/shop/cart/update", url.Values{"product_id": {fmt.Sprint(earbuds.ID)}, "quantity": {"1000"}})
	wantStatus(t, res, http.StatusSeeOther)

	res, doc := c.postForm("/shop/checkout", shopAddressForm("zeynep@example.com", std.ID))
	wantStatus(t, res, http.StatusConflict)
	if got := shopText(doc, "checkout-alert"); !strings.Contains(got, "left in stock") || !strings.Contains(got, earbuds.Title) {
		t.Errorf("out-of-stock alert: %q", got)
	}
	if doc.Find(`input[name="street1"]`).AttrOr("value", "") != "Bağdat Caddesi 42" {
		t.Error("the address typed was lost")
	}
	p, _ := e.store.FindProductByID(context.Background(), e.demo.ID, earbuds.ID)
	if p.Stock != earbuds.Stock {
		t.Errorf("stock changed by a refused order: %d, was %d", p.Stock, earbuds.Stock)
	}
}

// shopFormValues collects a page form's inputs as the browser would send them.
func shopFormValues(doc *goquery.Document, form string) url.Values {
	v := url.Values{}
	doc.Find(form + " input").Each(func(_ int, s *goquery.Selection) {
		name, _ := s.Attr("name")
		typ := s.AttrOr("type", "text")
		if name == "" || ((typ == "radio" || typ == "checkbox") && s.AttrOr("checked", "-") == "-") {
			return
		}
		v.Add(name, s.AttrOr("value", ""))
	})
	// A list sends its chosen option, else its first.
	doc.Find(form + " select").Each(func(_ int, s *goquery.Selection) {
		opt := s.Find("option[selected]").First()
		if opt.Length() == 0 {
			opt = s.Find("option").First()
		}
		v.Add(s.AttrOr("name", ""), opt.AttrOr("value", ""))
	})
	return v
}

func TestShopCustomer(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tee := shopProduct(t, e, "TS-WHITE-M")
	std := shopMethods(t, e)[0]
	cu, err := e.store.AuthenticateCustomer(ctx, e.demo.ID, model.DemoCustomerEmail, demoPassword, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	balance, _ := e.store.BonusBalance(ctx, e.demo.ID, cu.ID)
	if balance <= 0 {
		t.Fatalf("the demo customer has %d bonus points, want some", balance)
	}
	money := shopMoney(e)
	two := 2 * tee.Price
	c := e.client(t, "")

	// Signed out, "My orders" asks to sign in and comes back.
	res, _ := c.get("/shop/orders")
	wantStatus(t, res, http.StatusSeeOther)
	if got := res.Header.Get("Location"); got != "/shop/login?next=/shop/orders" {
		t.Errorf("orders signed out: redirect to %q", got)
	}

	// 1. Sign in on /shop/login; it goes to the page asked for.
	res, doc := c.get("/shop/login?next=/shop/cart")
	wantStatus(t, res, http.StatusOK)
	if doc.Find(`[data-testid="shop-login-form"] input[name="next"]`).AttrOr("value", "") != "/shop/cart" {
		t.Error("the sign-in form lost next")
	}
	res, _ = c.postForm("/shop/login", url.Values{"email": {model.DemoCustomerEmail}, "password": {demoPassword}, "next": {"/shop/cart"}})
	wantStatus(t, res, http.StatusSeeOther)
	if got := res.Header.Get("Location"); got != "/shop/cart" {
		t.Errorf("after sign-in: redirect to %q, want /shop/cart", got)
	}
	c.shopAdd(tee.ID, 2)
	res, doc = c.get("/shop/cart")
	wantStatus(t, res, http.StatusOK)
	if shopText(doc, "customer-email") != model.DemoCustomerEmail || shopTID(doc, "nav-login").Length() != 0 || shopTID(doc, "shop-sign-out").Length() != 1 {
		t.Errorf("header of a signed-in customer: %q", shopText(doc, "shop-header"))
	}
	if shopTID(doc, "use-bonus").Length() != 1 || shopTID(doc, "bonus-signin").Length() != 0 {
		t.Error("a signed-in customer does not get the use-my-bonus checkbox")
	}
	if got := shopText(doc, "bonus-balance"); !strings.Contains(got, money(balance)) {
		t.Errorf("bonus balance: got %q, want %s in it", got, money(balance))
	}
	bf := shopTID(doc, "bonus-form")
	if bf.AttrOr("hx-post", "") != "/shop/cart/bonus" || !strings.Contains(bf.AttrOr("hx-trigger", ""), "change") {
		t.Errorf("the bonus form does not submit on change with htmx: %v", bf.Nodes[0].Attr)
	}

	// 2. htmx turns the bonus on and off, answering only the totals.
	wantBonus := min(balance, two*int64(e.demo.BonusMaxSharePercent)/100)
	res, body := c.shopHX("/shop/cart/bonus", url.Values{"use_bonus": {"1"}})
	frag := shopWantFragment(t, res, body, views.ShopCartTotalsID)
	if shopText(frag, "bonus-used") != "-"+money(wantBonus) || shopText(frag, "cart-total") != money(two-wantBonus) {
		t.Errorf("bonus on: used %q, total %q; want -%s and %s", shopText(frag, "bonus-used"), shopText(frag, "cart-total"), money(wantBonus), money(two-wantBonus))
	}
	res, body = c.shopHX("/shop/cart/bonus", nil)
	frag = shopWantFragment(t, res, body, views.ShopCartTotalsID)
	if shopTID(frag, "bonus-used").Length() != 0 || shopText(frag, "cart-total") != money(two) {
		t.Errorf("bonus off: used %q, total %q", shopText(frag, "bonus-used"), shopText(frag, "cart-total"))
	}
	// Without htmx: 303 back, and the cart shows the box ticked.
	res, _ = c.postForm("/shop/cart/bonus", url.Values{"use_bonus": {"1"}})
	wantStatus(t, res, http.StatusSeeOther)
	_, doc = c.get("/shop/cart")
	if _, ticked := shopTID(doc, "use-bonus").Attr("checked"); !ticked || shopText(doc, "bonus-used") != "-"+money(wantBonus) {
		t.Errorf("cart after ticking without htmx: checked %v, used %q", ticked, shopText(doc, "bonus-used"))
	}

	// 3. The checkout is prefilled from the account and the last order.
	res, doc = c.get("/shop/checkout")
	wantStatus(t, res, http.StatusOK)
	val := func(name string) string { return doc.Find(`input[name="`+name+`"]`).AttrOr("value", "") }
	if val("first_name") != "Ayşe" || val("last_name") != "Demir" || val("email") != model.DemoCustomerEmail ||
		val("telephone") != "+905551234567" || !strings.HasSuffix(val("street1"), "Demo Street") {
		t.Errorf("prefilled address: %q %q %q %q %q", val("first_name"), val("last_name"), val("email"), val("telephone"), val("street1"))
	}
	form := shopFormValues(doc, `[data-testid="checkout-form"]`)
	form.Set("shipping_method_id", fmt.Sprint(std.ID))
	if form.Get("payment_provider") == "" {
		t.Error("the checkout offers no payment method")
	}
	// Paying is tested with the payments; here the order waits to be paid.
	form.Del("payment_provider")

	// 4. Ordering goes to the order's page and empties the customer's cart.
	res, _ = c.postForm("/shop/checkout", form)
	wantStatus(t, res, http.StatusSeeOther)
	m := regexp.MustCompile(`^/shop/orders/(\d+)$`).FindStringSubmatch(res.Header.Get("Location"))
	if m == nil {
		t.Fatalf("customer checkout redirect: %q, want /shop/orders/{id}", res.Header.Get("Location"))
	}
	id, _ := strconv.ParseInt(m[1], 10, 64)
	o, err := e.store.FindCustomerOrder(ctx, e.demo.ID, cu.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	wantBonus = min(balance, (two+std.Price)*int64(e.demo.BonusMaxSharePercent)/100)
	if o.BonusUsed != wantBonus || o.Total != two+std.Price-wantBonus {
		t.Errorf("order money: bonus %d, total %d; want %d and %d", o.BonusUsed, o.Total, wantBonus, two+std.Price-wantBonus)
	}
	_, doc = c.get("/shop/cart")
	if shopTID(doc, "cart-empty").Length() != 1 || shopText(doc, "cart-count") != "0" {
		t.Errorf("the customer's cart was not emptied: count %q", shopText(doc, "cart-count"))
	}

	// 5. The order page shows the lines, the money, the address and the statuses.
	res, doc = c.get(res.Header.Get("Location"))
	wantStatus(t, res, http.StatusOK)
	if !strings.Contains(shopText(doc, "order-number"), o.Number) || shopTID(doc, "order-line").Length() != 1 ||
		shopText(doc, "order-bonus") != "-"+money(wantBonus) || shopText(doc, "order-total") != money(o.Total) ||
		shopText(doc, "order-status") != "Pending" || shopText(doc, "order-payment-status") != "Awaiting payment" ||
		!strings.Contains(shopText(doc, "order-address"), "Ayşe Demir") {
		t.Errorf("order page: %q", strings.Join(strings.Fields(doc.Find("main").Text()), " "))
	}

	// 6. My orders lists theirs only, newest first, with dates in the shop's zone.
	all, err := e.store.FindOrders(ctx, e.demo.ID, model.OrderFilter{CustomerID: cu.ID, Limit: 20})
	if err != nil {
		t.Fatal(err)
	}
	res, doc = c.get("/shop/orders")
	wantStatus(t, res, http.StatusOK)
	rows := shopTID(doc, "shop-order")
	if rows.Length() != len(all.Orders) || rows.Length() < 2 {
		t.Fatalf("my orders: got %d rows, want %d", rows.Length(), len(all.Orders))
	}
	rows.Each(func(i int, s *goquery.Selection) {
		want := all.Orders[i]
		if s.AttrOr("data-order-id", "") != fmt.Sprint(want.ID) {
			t.Errorf("row %d: order %s, want %d", i, s.AttrOr("data-order-id", ""), want.ID)
		}
		if got := s.Find(`[data-testid="order-date"]`).Text(); got != locales.DateTime(e.demo.Language, want.CreatedAt.In(e.demo.Location())) {
			t.Errorf("row %d date: %q", i, got)
		}
		if got := s.Find(`[data-testid="order-status"]`).Text(); got != want.Status.Label(e.demo.Language) {
			t.Errorf("row %d status: %q, want %q", i, got, want.Status.Label(e.demo.Language))
		}
		if got := s.Find(`[data-testid="order-items"]`).Text(); got != strconv.Itoa(want.ItemCount) {
			t.Errorf("row %d items: %q", i, got)
		}
	})
	if rows.First().AttrOr("data-order-id", "") != m[1] {
		t.Errorf("the newest order is not first")
	}

	// 7. Another customer's order, or a guest's, is the same 404 as none at all.
	others, _ := e.store.FindOrders(ctx, e.demo.ID, model.OrderFilter{Limit: 100})
	var foreign *model.Order
	for _, x := range others.Orders {
		if x.CustomerID != cu.ID {
			foreign = x
			break
		}
	}
	for _, p := range []string{fmt.Sprintf("/shop/orders/%d", foreign.ID), "/shop/orders/99999999", "/shop/orders/abc"} {
		res, body := c.do("GET", p, nil, nil)
		wantStatus(t, res, http.StatusNotFound)
		if strings.Contains(body, foreign.Number) || strings.Contains(body, foreign.Address.Email) {
			t.Errorf("%s: the 404 shows the order", p)
		}
		if !strings.Contains(body, `data-testid="shop-header"`) {
			t.Errorf("%s: the 404 lost the shop's header", p)
		}
	}

	// 8. Signing out ends it.
	res, _ = c.postForm("/shop/logout", nil)
	wantStatus(t, res, http.StatusSeeOther)
	if got := res.Header.Get("Location"); got != "/shop" {
		t.Errorf("after sign-out: redirect to %q", got)
	}
	if res, _ := c.get(fmt.Sprintf("/shop/orders/%d", id)); res.StatusCode != http.StatusSeeOther {
		t.Errorf("an order page after sign-out: %d, want a redirect to sign in", res.StatusCode)
	}
}

func TestShopRegisterAndOrderPages(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tee := shopProduct(t, e, "TS-WHITE-M")
	std := shopMethods(t, e)[0]
	c := e.client(t, "")

	// Errors come back by field with what was typed.
	res, doc := c.postForm("/shop/register", url.Values{"email": {"not-an-email"}, "password": {"short"}, "first_name": {"Deniz"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if shopTID(doc, "error-email").Length() != 1 || shopTID(doc, "error-password").Length() != 1 {
		t.Errorf("registration errors: email %q, password %q", shopText(doc, "error-email"), shopText(doc, "error-password"))
	}
	if doc.Find(`input[name="first_name"]`).AttrOr("value", "") != "Deniz" || doc.Find(`input[name="email"]`).AttrOr("value", "") != "not-an-email" {
		t.Error("registration lost what was typed")
	}
	res, doc = c.postForm("/shop/register", url.Values{"email": {model.DemoCustomerEmail}, "password": {"long-enough-1"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if !strings.Contains(shopText(doc, "error-email"), "already exists") {
		t.Errorf("taken e-mail: %q", shopText(doc, "error-email"))
	}

	res, _ = c.postForm("/shop/register", url.Values{"email": {"deniz@example.com"}, "password": {"deniz-password"},
		"first_name": {"Deniz"}, "next": {"/shop/orders"}})
	wantStatus(t, res, http.StatusSeeOther)
	if got := res.Header.Get("Location"); got != "/shop/orders" {
		t.Errorf("after registration: redirect to %q", got)
	}
	res, doc = c.get("/shop/orders")
	wantStatus(t, res, http.StatusOK)
	if shopTID(doc, "orders-empty").Length() != 1 || shopText(doc, "customer-email") != "deniz@example.com" {
		t.Errorf("a new customer's orders page: %q", shopText(doc, "shop-header"))
	}

	// 21 orders make two pages, keyset-paginated with a More link.
	cu, err := e.store.AuthenticateCustomer(ctx, e.demo.ID, "deniz@example.com", "deniz-password", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 21; i++ {
		cart, err := e.store.EnsureCart(ctx, e.demo.ID, "", cu.ID)
		if err == nil {
			err = e.store.AddToCart(ctx, e.demo.ID, cart, tee.ID, 1)
		}
		if err == nil {
			_, err = e.store.PlaceOrder(ctx, e.demo, model.PlaceOrderInput{CartID: cart, Customer: cu, ShippingMethodID: std.ID,
				Address: model.Address{FirstName: "Deniz", LastName: "Ak", Email: cu.Email, Telephone: "+905550000000",
					Street1: "1 Test Street", City: "Izmir", State: "Izmir", Zip: "35000", Country: "TR"}})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	_, doc = c.get("/shop/orders")
	first := shopTID(doc, "shop-order")
	more, ok := shopTID(doc, "orders-more").Attr("href")
	if first.Length() != 20 || !ok {
		t.Fatalf("first page: %d rows, More link %v", first.Length(), ok)
	}
	res, doc = c.get(more)
	wantStatus(t, res, http.StatusOK)
	second := shopTID(doc, "shop-order")
	if second.Length() != 1 || shopTID(doc, "orders-more").Length() != 0 {
		t.Errorf("second page: %d rows, More link %d", second.Length(), shopTID(doc, "orders-more").Length())
	}
	last, _ := strconv.Atoi(first.Last().AttrOr("data-order-id", ""))
	next, _ := strconv.Atoi(second.First().AttrOr("data-order-id", ""))
	if next >= last {
		t.Errorf("pages overlap or go backwards: %d then %d", last, next)
	}
}

func TestShopSignIn(t *testing.T) {
	e := newEnv(t)

	t.Run("a wrong password keeps the e-mail and says so", func(t *testing.T) {
		c := e.client(t, "")
		res, doc := c.postForm("/shop/login", url.Values{"email": {model.DemoCustomerEmail}, "password": {"wrong-password"}})
		wantStatus(t, res, http.StatusUnauthorized)
		if !strings.Contains(shopText(doc, "shop-login-error"), "not correct") {
			t.Errorf("error: %q", shopText(doc, "shop-login-error"))
		}
		if got := doc.Find(`input[name="email"]`).AttrOr("value", ""); got != model.DemoCustomerEmail {
			t.Errorf("e-mail kept: %q", got)
		}
	})

	t.Run("empty fields are named", func(t *testing.T) {
		c := e.client(t, "")
		res, doc := c.postForm("/shop/login", url.Values{"email": {""}, "password": {""}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		if shopTID(doc, "error-email").Length() != 1 || shopTID(doc, "error-password").Length() != 1 {
			t.Error("the empty fields are not named")
		}
	})

	t.Run("repeated failures are throttled with 429 and a message", func(t *testing.T) {
		c := e.client(t, "")
		for i := 0; i < 5; i++ {
			res, _ := c.postForm("/shop/login", url.Values{"email": {"nobody@example.com"}, "password": {"guess-guess"}})
			wantStatus(t, res, http.StatusUnauthorized)
		}
		res, doc := c.postForm("/shop/login", url.Values{"email": {"nobody@example.com"}, "password": {"guess-guess"}})
		wantStatus(t, res, http.StatusTooManyRequests)
		if got := shopText(doc, "shop-login-error"); !strings.Contains(got, "Too many failed sign-in attempts") || !strings.Contains(got, "Try again in") {
			t.Errorf("throttle message: %q", got)
		}
		if res.Header.Get("Retry-After") == "" {
			t.Error("no Retry-After header")
		}
	})

	for _, tc := range []struct{ next, want string }{
		{"/shop/checkout", "/shop/checkout"},
		{"", "/shop"},
		{"https://evil.example/shop/", "/shop"},
		{"//evil.example/shop/", "/shop"},
		{"/admin/", "/shop"},
		{"/shop/../admin/", "/shop"},
		{`/shop\@evil.example`, "/shop"},
	} {
		t.Run(fmt.Sprintf("next=%q goes to %s", tc.next, tc.want), func(t *testing.T) {
			c := e.client(t, "")
			res, _ := c.postForm("/shop/login", url.Values{"email": {model.DemoCustomerEmail}, "password": {demoPassword}, "next": {tc.next}})
			wantStatus(t, res, http.StatusSeeOther)
			if got := res.Header.Get("Location"); got != tc.want {
				t.Errorf("redirect: got %q, want %q", got, tc.want)
			}
		})
	}
}
