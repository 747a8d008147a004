package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"orderdesk/model"
)

func TestUserManagement(t *testing.T) {
	e := newEnv(t)

	t.Run("staff cannot reach user management", func(t *testing.T) {
		c := e.client(t, "")
		c.login("staff@demo.test", demoPassword)
		res, doc := c.get("/admin/settings/users")
		wantStatus(t, res, http.StatusForbidden)
		if doc.Find(`[data-testid="error-page"]`).Length() != 1 {
			t.Error("403 is not the error page")
		}
		res, _ = c.postForm("/admin/settings/users", url.Values{"email": {"x@demo.test"}, "role": {"admin"}, "password": {"longenough"}})
		wantStatus(t, res, http.StatusForbidden)
	})

	t.Run("an owner lists, creates, changes and deactivates users", func(t *testing.T) {
		c := e.client(t, "")
		c.login("owner@demo.test", demoPassword)
		res, doc := c.get("/admin/settings/users")
		wantStatus(t, res, http.StatusOK)
		if got := doc.Find(`[data-testid="user-row"]`).Length(); got != 3 {
			t.Errorf("users listed: got %d, want 3", got)
		}

		res, _ = c.postForm("/admin/settings/users", url.Values{"email": {"new@demo.test"}, "name": {"New Person"}, "role": {"operator"}, "password": {"a-good-password"}})
		wantStatus(t, res, http.StatusSeeOther)
		u := findUser(t, e, "new@demo.test")
		if u.Role != model.RoleOperator || !u.Active {
			t.Fatalf("created user: %+v", u)
		}
		// The new user can sign in.
		e.client(t, "").login("new@demo.test", "a-good-password")

		// htmx changes the role and gets the row back.
		v := url.Values{"role": {"admin"}, "active": {"1"}, "_csrf": {c.csrf()}}
		res, body := c.do("POST", "/admin/settings/users/"+itoa(u.ID), strings.NewReader(v.Encode()),
			http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Hx-Request": {"true"}})
		wantStatus(t, res, http.StatusOK)
		// A bare <tr> is only valid inside a table, so read it inside one.
		row := parseHTML(t, "<table>"+body+"</table>")
		if sel, _ := row.Find(`[data-testid="user-row"] option[selected]`).Attr("value"); strings.Contains(body, "<html") || sel != "admin" {
			t.Errorf("htmx answer is not the row fragment: %s", body)
		}
		if got := findUser(t, e, "new@demo.test").Role; got != model.RoleAdmin {
			t.Errorf("role after change: got %s, want admin", got)
		}

		// Deactivated: cannot sign in any more.
		res, _ = c.postForm("/admin/settings/users/"+itoa(u.ID), url.Values{"role": {"admin"}})
		wantStatus(t, res, http.StatusSeeOther)
		if findUser(t, e, "new@demo.test").Active {
			t.Error("user still active")
		}
		res, _ = e.client(t, "").postForm("/admin/login", url.Values{"email": {"new@demo.test"}, "password": {"a-good-password"}})
		wantStatus(t, res, http.StatusUnauthorized)
	})

	t.Run("a bad new user keeps what was typed and shows errors by the fields", func(t *testing.T) {
		c := e.client(t, "")
		c.login("owner@demo.test", demoPassword)
		res, doc := c.postForm("/admin/settings/users", url.Values{"email": {"staff@demo.test"}, "name": {"Twin"}, "role": {"staff"}, "password": {"short"}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		if got := doc.Find(`[data-testid="error-password"]`).Text(); !strings.Contains(got, "8 characters") {
			t.Errorf("password error: %q", got)
		}
		if got, _ := doc.Find(`#new-name`).Attr("value"); got != "Twin" {
			t.Errorf("name kept: got %q", got)
		}
		res, doc = c.postForm("/admin/settings/users", url.Values{"email": {"staff@demo.test"}, "role": {"staff"}, "password": {"long-enough"}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		if got := doc.Find(`[data-testid="error-email"]`).Text(); !strings.Contains(got, "already exists") {
			t.Errorf("duplicate e-mail error: %q", got)
		}
	})

	t.Run("the last owner cannot be demoted, and an admin cannot make owners", func(t *testing.T) {
		owner := findUser(t, e, "owner@demo.test")
		admin, err := e.store.CreateUser(context.Background(), e.demo.ID, model.NewUser{Email: "admin2@demo.test", Role: model.RoleAdmin, Password: "admin-password"})
		if err != nil {
			t.Fatal(err)
		}
		c := e.client(t, "")
		c.login("admin2@demo.test", "admin-password")
		res, doc := c.postForm("/admin/settings/users/"+itoa(owner.ID), url.Values{"role": {"staff"}, "active": {"1"}})
		wantStatus(t, res, http.StatusConflict)
		if got := doc.Find(`[data-testid="user-row-error"]`).Text(); !strings.Contains(got, "only an owner") {
			t.Errorf("inline refusal: %q", got)
		}
		res, doc = c.postForm("/admin/settings/users", url.Values{"email": {"boss@demo.test"}, "role": {"owner"}, "password": {"long-enough"}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		if doc.Find(`[data-testid="error-role"]`).Length() != 1 {
			t.Error("no error by the role field")
		}
		oc := e.client(t, "")
		oc.login("owner@demo.test", demoPassword)
		res, doc = oc.postForm("/admin/settings/users/"+itoa(owner.ID), url.Values{"role": {"owner"}})
		wantStatus(t, res, http.StatusConflict)
		if got := doc.Find(`[data-testid="user-row-error"]`).Text(); !strings.Contains(got, "yourself") {
			t.Errorf("self-deactivation refusal: %q", got)
		}
		_ = admin
	})
}

func findUser(t *testing.T, e *env, email string) *model.User { return e.user(t, e.demo.ID, email) }

func itoa(n int64) string { return strconvFormat(n) }
