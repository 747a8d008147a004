package handlers_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

func TestSignIn(t *testing.T) {
	e := newEnv(t)

	t.Run("the right password lands on the dashboard with the whole navigation", func(t *testing.T) {
		c := e.client(t, "")
		c.login("owner@demo.test", demoPassword)
		res, doc := c.get("/admin/")
		wantStatus(t, res, http.StatusOK)
		if got := doc.Find(`[data-testid="dashboard"]`).Text(); got != "Demo Shop" {
			t.Errorf("dashboard heading: got %q, want %q", got, "Demo Shop")
		}
		var nav []string
		doc.Find(`[data-testid="nav"] a`).Each(func(_ int, s *goquery.Selection) { nav = append(nav, s.Text()) })
		if got, want := strings.Join(nav, ","), "Dashboard,Orders,Payments,Messages,Integrations,Procurement,Warehouse,Jobs,Settings"; got != want {
			t.Errorf("navigation: got %q, want %q", got, want)
		}
	})

	t.Run("a wrong password shows an error by the form and keeps the e-mail", func(t *testing.T) {
		c := e.client(t, "")
		res, doc := c.postForm("/admin/login", url.Values{"email": {"owner@demo.test"}, "password": {"wrong-password"}})
		wantStatus(t, res, http.StatusUnauthorized)
		if got := doc.Find(`[data-testid="login-error"]`).Text(); !strings.Contains(got, "not correct") {
			t.Errorf("error message: got %q", got)
		}
		if got, _ := doc.Find(`input[name="email"]`).Attr("value"); got != "owner@demo.test" {
			t.Errorf("e-mail kept: got %q", got)
		}
		if res, _ := c.get("/admin/"); res.StatusCode != http.StatusSeeOther {
			t.Errorf("after a failed sign-in the dashboard answered %d, want a redirect to sign in", res.StatusCode)
		}
	})

	t.Run("repeated failures slow the account down, even for the right password", func(t *testing.T) {
		c := e.client(t, "")
		for i := 0; i < 5; i++ {
			res, _ := c.postForm("/admin/login", url.Values{"email": {"staff@demo.test"}, "password": {"nope-nope"}})
			wantStatus(t, res, http.StatusUnauthorized)
		}
		res, doc := c.postForm("/admin/login", url.Values{"email": {"staff@demo.test"}, "password": {demoPassword}})
		wantStatus(t, res, http.StatusTooManyRequests)
		if got := doc.Find(`[data-testid="login-error"]`).Text(); !strings.Contains(got, "Too many failed sign-in attempts") || !strings.Contains(got, "try again in") {
			t.Errorf("throttle message: got %q", got)
		}
		if res.Header.Get("Retry-After") == "" {
			t.Error("no Retry-After header")
		}
		// Another account from another client is not slowed by this one.
		e.client(t, "").login("owner@demo.test", demoPassword)
	})

	t.Run("sign-in renews the session token so an old token is worthless", func(t *testing.T) {
		c := e.client(t, "")
		c.login("owner@demo.test", demoPassword)
		first := c.cookie("orderdesk_session")
		if first == "" {
			t.Fatal("no session cookie after sign-in")
		}
		c.login("owner@demo.test", demoPassword)
		second := c.cookie("orderdesk_session")
		if second == "" || second == first {
			t.Fatalf("session cookie did not change at sign-in: %q then %q", first, second)
		}
		old := e.client(t, "")
		u, _ := url.Parse(e.base)
		old.http.Jar.SetCookies(u, []*http.Cookie{{Name: "orderdesk_session", Value: first}})
		if res, _ := old.get("/admin/"); res.StatusCode != http.StatusSeeOther {
			t.Errorf("the pre-renewal token still opens the dashboard: %d", res.StatusCode)
		}
	})

	t.Run("sign-out ends the session", func(t *testing.T) {
		c := e.client(t, "")
		c.login("owner@demo.test", demoPassword)
		before := c.cookie("orderdesk_session")
		res, _ := c.postForm("/admin/logout", nil)
		wantStatus(t, res, http.StatusSeeOther)
		if res, _ := c.get("/admin/"); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/admin/login") {
			t.Errorf("after sign-out the dashboard answered %d to %q", res.StatusCode, res.Header.Get("Location"))
		}
		old := e.client(t, "")
		u, _ := url.Parse(e.base)
		old.http.Jar.SetCookies(u, []*http.Cookie{{Name: "orderdesk_session", Value: before}})
		if res, _ := old.get("/admin/"); res.StatusCode != http.StatusSeeOther {
			t.Errorf("the signed-out token still opens the dashboard: %d", res.StatusCode)
		}
	})

	t.Run("a POST without the CSRF token is refused", func(t *testing.T) {
		c := e.client(t, "")
		c.csrf() // has the cookie, but does not send the token
		res, body := c.do("POST", "/admin/login", strings.NewReader(url.Values{"email": {"owner@demo.test"}, "password": {demoPassword}}.Encode()),
			http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
		wantStatus(t, res, http.StatusForbidden)
		if !strings.Contains(body, "did not come from this site") {
			t.Errorf("refusal page does not explain: %s", body)
		}
		if c.cookie("orderdesk_session") != "" {
			t.Error("a session was created despite the refusal")
		}
	})

	t.Run("API clients get the token from /api/auth/csrf/ and send it in X-CSRF-Token", func(t *testing.T) {
		c := e.client(t, "")
		res, body := c.do("POST", "/api/auth/csrf/", nil, nil)
		wantStatus(t, res, http.StatusForbidden)
		if !strings.Contains(body, `"success":false`) || !strings.Contains(body, `"message":"The form has expired`) {
			t.Errorf("API refusal is not the JSON envelope with a message: %s", body)
		}
		res, body = c.do("GET", "/api/auth/csrf/", nil, nil)
		wantStatus(t, res, http.StatusOK)
		var got struct {
			Success bool   `json:"success"`
			Token   string `json:"csrf_token"`
		}
		if err := json.Unmarshal([]byte(body), &got); err != nil || !got.Success || got.Token == "" {
			t.Fatalf("csrf answer: %s", body)
		}
		c.login("owner@demo.test", demoPassword)
		res, _ = c.do("POST", "/admin/logout", nil, http.Header{"X-Csrf-Token": {got.Token}})
		wantStatus(t, res, http.StatusSeeOther)
	})
}
