package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"orderdesk/model"
)

// navTexts is the navigation's links as a user reads them.
func navTexts(doc *goquery.Document) string {
	var nav []string
	doc.Find(`[data-testid="nav"] a`).Each(func(_ int, s *goquery.Selection) { nav = append(nav, s.Text()) })
	return strings.Join(nav, ",")
}

func TestTheBackOfficeSpeaksTheUsersLanguage(t *testing.T) {
	e := newEnv(t)

	t.Run("a shop's pages carry its language in <html lang>", func(t *testing.T) {
		for _, tc := range []struct{ host, lang, orders string }{
			{"", "en", "Orders"},
			{model.DemoTurkishSlug + ".localhost", "tr", "Siparişler"},
		} {
			c := e.client(t, tc.host)
			res, doc := c.get("/admin/login")
			wantStatus(t, res, http.StatusOK)
			if got, _ := doc.Find("html").Attr("lang"); got != tc.lang {
				t.Errorf("%q sign-in page: lang %q, want %q", tc.host, got, tc.lang)
			}
			c.login(model.DemoOwnerEmail, demoPassword)
			res, doc = c.get("/admin/")
			wantStatus(t, res, http.StatusOK)
			if got, _ := doc.Find("html").Attr("lang"); got != tc.lang {
				t.Errorf("%q dashboard: lang %q, want %q", tc.host, got, tc.lang)
			}
			if got := doc.Find(`[data-testid="nav"] a[data-section="orders"]`).Text(); got != tc.orders {
				t.Errorf("%q navigation: Orders reads %q, want %q", tc.host, got, tc.orders)
			}
			res, doc = c.get("/shop")
			if got, _ := doc.Find("html").Attr("lang"); res.StatusCode == http.StatusOK && got != tc.lang {
				t.Errorf("%q storefront: lang %q, want %q", tc.host, got, tc.lang)
			}
		}
	})

	t.Run("a user who chooses Russian reads the back office in Russian; the shop stays in its language", func(t *testing.T) {
		c := e.client(t, "")
		c.login(model.DemoOwnerEmail, demoPassword)
		_, doc := c.get("/admin/")
		if doc.Find(`[data-testid="account-link"]`).AttrOr("href", "") != "/admin/account" {
			t.Fatal("the top bar has no link to the user's account")
		}
		res, doc := c.get("/admin/account")
		wantStatus(t, res, http.StatusOK)
		if doc.Find(`select[name="language"] option`).Length() != 4 {
			t.Errorf("language choices: %d, want the shop's and three", doc.Find(`select[name="language"] option`).Length())
		}
		res, _ = c.postForm("/admin/account/language", url.Values{"language": {"ru"}})
		wantStatus(t, res, http.StatusSeeOther)
		res, doc = c.get(res.Header.Get("Location"))
		wantStatus(t, res, http.StatusOK)
		if got, _ := doc.Find("html").Attr("lang"); got != "ru" {
			t.Errorf("lang after choosing Russian: %q", got)
		}
		if got := doc.Find(`[data-testid="flash"]`).Text(); got != "Язык сохранён." {
			t.Errorf("notice: %q, want it in Russian", got)
		}
		if got := doc.Find(`[data-testid="language-select"] option[selected]`).AttrOr("value", ""); got != "ru" {
			t.Errorf("the form shows %q chosen, want ru", got)
		}
		_, doc = c.get("/admin/")
		if got := doc.Find(`[data-testid="nav"] a[data-section="orders"]`).Text(); got != "Заказы" {
			t.Errorf("navigation in Russian: Orders reads %q", got)
		}
		if got := doc.Find(`[data-testid="sign-out"]`).Text(); got != "Выйти" {
			t.Errorf("sign out reads %q", got)
		}
		// A customer of the same shop still reads English.
		_, doc = e.client(t, "").get("/shop")
		if got, _ := doc.Find("html").Attr("lang"); got != "en" {
			t.Errorf("the storefront follows the staff's choice: lang %q", got)
		}
		// Back to the shop's own language.
		res, _ = c.postForm("/admin/account/language", url.Values{"language": {""}})
		wantStatus(t, res, http.StatusSeeOther)
		_, doc = c.get("/admin/")
		if got, _ := doc.Find("html").Attr("lang"); got != "en" {
			t.Errorf("lang after choosing the shop's: %q", got)
		}
	})

	t.Run("a language the list does not have is refused by the field, not with a 500", func(t *testing.T) {
		c := e.client(t, "")
		c.login("staff@demo.test", demoPassword)
		res, doc := c.postForm("/admin/account/language", url.Values{"language": {"klingon"}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		if got := doc.Find(`[data-testid="language-form"] [data-testid="field-error"]`).Text(); !strings.Contains(got, "choose one of the languages") {
			t.Errorf("field error: %q", got)
		}
		if got := doc.Find(`select[name="language"]`).AttrOr("aria-invalid", ""); got != "true" {
			t.Errorf("the select is not marked invalid: %q", got)
		}
	})
}

func TestTheNavigationShowsTheSectionsOfTheRole(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ email, want string }{
		{model.DemoOwnerEmail, "Dashboard,Orders,Payments,Messages,Integrations,Procurement,Warehouse,Jobs,Settings"},
		{"staff@demo.test", "Dashboard,Orders,Payments,Messages,Warehouse,Settings"},
		{"operator@demo.test", "Dashboard,Orders,Procurement,Warehouse,Jobs,Settings"},
	} {
		t.Run(tc.email, func(t *testing.T) {
			c := e.client(t, "")
			c.login(tc.email, demoPassword)
			res, doc := c.get("/admin/")
			wantStatus(t, res, http.StatusOK)
			if got := navTexts(doc); got != tc.want {
				t.Errorf("navigation: got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestErrorAndSignInPagesSpeakTheShopsLanguage(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, model.DemoTurkishSlug+".localhost")
	res, doc := c.get("/admin/login")
	wantStatus(t, res, http.StatusOK)
	if got := doc.Find(`[data-testid="login-submit"]`).Text(); got != "Giriş yap" {
		t.Errorf("sign-in button: %q", got)
	}
	res, doc = c.postForm("/admin/login", url.Values{"email": {model.DemoOwnerEmail}, "password": {"wrong-password"}})
	wantStatus(t, res, http.StatusUnauthorized)
	if got := doc.Find(`[data-testid="login-error"]`).Text(); got != "E-posta veya şifre doğru değil." {
		t.Errorf("sign-in error: %q", got)
	}
	c.login(model.DemoOwnerEmail, demoPassword)
	res, doc = c.get("/admin/orders/999999999")
	wantStatus(t, res, http.StatusNotFound)
	if got := doc.Find(`[data-testid="error-page"] h1`).Text(); got != "Bulunamadı" {
		t.Errorf("404 title: %q", got)
	}
	if got, _ := doc.Find("html").Attr("lang"); got != "tr" {
		t.Errorf("404 lang: %q", got)
	}
	if back := doc.Find(`[data-testid="error-back"]`); back.AttrOr("href", "") != "/admin/" || back.Text() != "Panoya dön" {
		t.Errorf("the way back: %q to %q", back.Text(), back.AttrOr("href", ""))
	}
}

func TestTheTurkishShopAnswersTheAPIInTurkish(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, model.DemoTurkishSlug+".localhost")
	_, body := c.api("GET", "/api/public/products/", nil)
	product := body["products"].([]any)[0].(map[string]any)
	_, body = c.api("GET", "/api/public/shipping-methods/", nil)
	shipping := body["shipping_methods"].([]any)[0].(map[string]any)
	res, body := c.api("POST", "/api/cart/add/", map[string]any{"product_id": fmt.Sprint(product["id"]), "quantity": 1})
	wantStatus(t, res, http.StatusOK)
	if body["message"] != "Ürün sepete eklendi." {
		t.Errorf("cart add: %q", body["message"])
	}
	_, body = c.api("GET", "/api/cart/", nil)
	res, body = c.api("POST", "/api/orders/", seed001Body(fmt.Sprint(get(body, "cart", "id")), fmt.Sprint(shipping["id"])))
	wantStatus(t, res, http.StatusCreated)
	order := body["order"].(map[string]any)
	res, body = c.api("POST", "/api/payments/create/", map[string]any{"order_id": fmt.Sprint(order["id"]), "provider": "kuveyt"})
	wantStatus(t, res, http.StatusCreated)
	if body["message"] != "Ödeme oluşturuldu." {
		t.Errorf("payment create: message %q, want %q", body["message"], "Ödeme oluşturuldu.")
	}
	// A refusal names the field in the shop's language too.
	res, body = e.client(t, model.DemoTurkishSlug+".localhost").api("POST", "/api/orders/", seed001Body("", fmt.Sprint(shipping["id"])))
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if get(body, "errors", "cart_id") != "sepet boş" {
		t.Errorf("an order without a cart: %v", body)
	}
	// The demo shop, in English, says it in English.
	d := e.client(t, "")
	o := e.placeOrder(t, d)
	_, body = d.api("POST", "/api/payments/create/", map[string]any{"order_id": o.ID, "provider": "tinkoff"})
	if body["message"] != "The payment was created." {
		t.Errorf("English payment create: %q", body["message"])
	}
}
