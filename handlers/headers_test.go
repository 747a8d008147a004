package handlers_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"orderdesk/handlers"
)

// noInlineCode lists what in a page the Content-Security-Policy would refuse:
// style attributes, on… handler attributes, inline scripts and style elements.
func noInlineCode(doc *goquery.Document) []string {
	var found []string
	doc.Find("*").Each(func(_ int, s *goquery.Selection) {
		n := s.Nodes[0]
		for _, a := range n.Attr {
			if a.Key == "style" || strings.HasPrefix(a.Key, "on") {
				found = append(found, "<"+n.Data+" "+a.Key+"=…>")
			}
		}
		if n.Data == "style" || (n.Data == "script" && s.AttrOr("src", "") == "") {
			found = append(found, "<"+n.Data+"> inline")
		}
	})
	return found
}

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	owner := e.client(t, "")
	owner.login("owner@demo.test", demoPassword)
	shopper := e.client(t, "")
	o := e.placeOrder(t, shopper)

	t.Run("every page has the strict policy and nothing inline it would refuse", func(t *testing.T) {
		pages := []struct {
			c    *client
			path string
		}{
			{e.client(t, ""), "/admin/login"},
			{owner, "/admin/"}, {owner, "/admin/orders"}, {owner, "/admin/orders/" + itoa(o.ID)}, {owner, "/admin/payments"},
			{owner, "/admin/integrations"}, {owner, "/admin/integrations/new"}, {owner, "/admin/procurement"},
			{owner, "/admin/procurement/accounts"}, {owner, "/admin/jobs"}, {owner, "/admin/settings"},
			{owner, "/admin/settings/users"}, {owner, "/admin/settings/orders"}, {owner, "/admin/settings/api-tokens"},
			{owner, "/admin/nosuchpage"},
			{shopper, "/shop"}, {shopper, "/shop/cart"}, {shopper, "/shop/checkout"}, {shopper, "/shop/login"},
			{shopper, "/shop/register"}, {shopper, "/track"}, {shopper, "/track/" + o.Number},
		}
		for _, p := range pages {
			res, doc := p.c.get(p.path)
			csp := res.Header.Get("Content-Security-Policy")
			if !strings.Contains(csp, "script-src 'self';") || !strings.Contains(csp, "style-src 'self';") || strings.Contains(csp, "unsafe") {
				t.Errorf("%s (%d): Content-Security-Policy %q", p.path, res.StatusCode, csp)
			}
			if found := noInlineCode(doc); len(found) > 0 {
				t.Errorf("%s has what the policy refuses: %v", p.path, found)
			}
			if hsts := res.Header.Get("Strict-Transport-Security"); hsts != "" {
				t.Errorf("%s: HSTS %q on a site served over plain HTTP", p.path, hsts)
			}
		}
	})

	t.Run("the sandboxes play other sites with their own policy", func(t *testing.T) {
		res, _ := e.client(t, "").do("GET", "/sandbox/kuveyt/", nil, nil)
		wantStatus(t, res, http.StatusOK)
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "style-src 'self' 'unsafe-inline'") {
			t.Errorf("sandbox policy: %q", csp)
		}
	})

	t.Run("the bank's 3-D Secure page gets the policy that lets it post itself", func(t *testing.T) {
		e.store.DB.W.Exec(`UPDATE tenants SET currency = 'TRY' WHERE id = ?`, e.demo.ID)
		e.store.TenantsChanged()
		e.store.DB.W.Exec(`UPDATE orders SET currency = 'TRY' WHERE tenant_id = ?`, e.demo.ID)
		c := e.client(t, "")
		o := e.placeOrder(t, c)
		pageURL, _ := e.startPayment(t, c, o, "kuveyt")
		res, body := fetch(t, c, "GET", pageURL, nil)
		wantStatus(t, res, http.StatusOK)
		if csp := res.Header.Get("Content-Security-Policy"); strings.Contains(csp, "unsafe") {
			t.Errorf("our card page has a loose policy: %q", csp)
		}
		form := parseHTML(t, body).Find(`[data-testid="kuveyt-pay"]`).Closest("form")
		v := url.Values{}
		form.Find("input").Each(func(_ int, s *goquery.Selection) { v.Set(s.AttrOr("name", ""), s.AttrOr("value", "")) })
		res, body = fetch(t, c, "POST", pageURL, v)
		wantStatus(t, res, http.StatusOK)
		if !strings.Contains(body, `onload="document.forms[0].submit()"`) {
			t.Fatalf("not the bank's page: %s", body)
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self' https: 'unsafe-inline'") {
			t.Errorf("bank page policy: %q", csp)
		}
	})

	t.Run("a site on HTTPS asks browsers to stay on HTTPS", func(t *testing.T) {
		app, err := handlers.New(e.store, handlers.Config{BaseURL: "https://orderdesk.example", DefaultTenant: "demo",
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(app.Handler())
		defer srv.Close()
		req, _ := http.NewRequest("GET", srv.URL+"/admin/login", nil)
		req.Host = "demo.orderdesk.example"
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		wantStatus(t, res, http.StatusOK)
		if got := res.Header.Get("Strict-Transport-Security"); got != "max-age=31536000; includeSubDomains" {
			t.Errorf("HSTS: %q", got)
		}
	})
}
