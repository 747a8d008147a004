package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"orderdesk/model"
)

func strconvFormat(n int64) string { return strconv.FormatInt(n, 10) }

func TestTenantIsolation(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	shop2, err := e.store.CreateTenant(ctx, model.NewTenant{Slug: "shop2", Name: "Shop Two"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.CreateUser(ctx, shop2.ID, model.NewUser{Email: "owner@shop2.test", Role: model.RoleOwner, Password: "shop2-password"}); err != nil {
		t.Fatal(err)
	}

	t.Run("each tenant is served on its subdomain", func(t *testing.T) {
		c := e.client(t, "shop2.localhost")
		c.login("owner@shop2.test", "shop2-password")
		_, doc := c.get("/admin/")
		if got := doc.Find(`[data-testid="dashboard"]`).Text(); got != "Shop Two" {
			t.Errorf("dashboard of shop2: got %q", got)
		}
	})

	t.Run("the demo owner cannot sign in on shop2, nor shop2's owner on demo", func(t *testing.T) {
		res, _ := e.client(t, "shop2.localhost").postForm("/admin/login", url.Values{"email": {"owner@demo.test"}, "password": {demoPassword}})
		wantStatus(t, res, http.StatusUnauthorized)
		res, _ = e.client(t, "localhost").postForm("/admin/login", url.Values{"email": {"owner@shop2.test"}, "password": {"shop2-password"}})
		wantStatus(t, res, http.StatusUnauthorized)
	})

	t.Run("a session of one tenant is signed out on the other", func(t *testing.T) {
		c := e.client(t, "shop2.localhost")
		c.login("owner@shop2.test", "shop2-password")
		c.host = "demo.localhost" // same cookie jar, other tenant's host
		res, _ := c.get("/admin/settings/users")
		wantStatus(t, res, http.StatusSeeOther)
	})

	t.Run("shop2's owner gets 404 for demo's records", func(t *testing.T) {
		demoStaff := findUser(t, e, "staff@demo.test")
		c := e.client(t, "shop2.localhost")
		c.login("owner@shop2.test", "shop2-password")
		res, _ := c.postForm("/admin/settings/users/"+itoa(demoStaff.ID), url.Values{"role": {"admin"}, "active": {"1"}})
		wantStatus(t, res, http.StatusNotFound)
		if got := findUser(t, e, "staff@demo.test").Role; got != model.RoleStaff {
			t.Errorf("demo's user changed from shop2: role %s", got)
		}
		_, doc := c.get("/admin/settings/users")
		if strings.Contains(doc.Text(), "demo.test") {
			t.Error("shop2's user list shows demo's users")
		}
	})

	t.Run("an unknown subdomain gets a clear 404 page", func(t *testing.T) {
		res, doc := e.client(t, "nosuchshop.localhost").get("/admin/login")
		wantStatus(t, res, http.StatusNotFound)
		if got := doc.Find(`[data-testid="error-page"]`).Text(); !strings.Contains(got, "no shop at this address") {
			t.Errorf("404 page: %q", got)
		}
	})
}

func TestRendering(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, "")
	c.login("owner@demo.test", demoPassword)

	res, body := c.do("GET", "/admin/", nil, nil)
	wantStatus(t, res, http.StatusOK)
	if !strings.Contains(body, "<html") || !strings.Contains(body, `data-testid="nav"`) {
		t.Error("a plain request did not get the full page")
	}
	if got := res.Header.Values("Vary"); !contains(got, "HX-Request") {
		t.Errorf("Vary: got %v, want HX-Request among them", got)
	}

	res, body = c.do("GET", "/admin/", nil, http.Header{"Hx-Request": {"true"}})
	wantStatus(t, res, http.StatusOK)
	if strings.Contains(body, "<html") || strings.Contains(body, `data-testid="nav"`) || !strings.Contains(body, `data-testid="dashboard"`) {
		t.Errorf("an htmx request did not get only the fragment: %s", body)
	}
	if got := res.Header.Values("Vary"); !contains(got, "HX-Request") {
		t.Errorf("Vary on the fragment: got %v", got)
	}

	res, body = c.do("GET", "/admin/", nil, http.Header{"Hx-Request": {"true"}, "Hx-History-Restore-Request": {"true"}})
	wantStatus(t, res, http.StatusOK)
	if !strings.Contains(body, "<html") {
		t.Error("a history restore did not get the full page")
	}
}

func TestProbesAndStatic(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, "")
	res, body := c.do("GET", "/healthz", nil, nil)
	wantStatus(t, res, http.StatusOK)
	if body != "ok" {
		t.Errorf("healthz body %q", body)
	}
	res, _ = c.do("GET", "/readyz", nil, nil)
	wantStatus(t, res, http.StatusOK)

	_, doc := c.get("/admin/login")
	href, _ := doc.Find(`link[rel="stylesheet"]`).Attr("href")
	if !strings.Contains(href, "?v=") {
		t.Fatalf("stylesheet URL has no version: %q", href)
	}
	res, body = c.do("GET", href, nil, nil)
	wantStatus(t, res, http.StatusOK)
	if !strings.Contains(res.Header.Get("Cache-Control"), "max-age=31536000") || !strings.Contains(body, "--accent") {
		t.Errorf("stylesheet: cache %q, %d bytes", res.Header.Get("Cache-Control"), len(body))
	}

	e.store.DB.R.Close()
	res, _ = c.do("GET", "/readyz", nil, nil)
	wantStatus(t, res, http.StatusServiceUnavailable)
	res, _ = c.do("GET", "/healthz", nil, nil)
	wantStatus(t, res, http.StatusOK)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
