package handlers_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestCSRFTokenPlaces(t *testing.T) {
	e := newEnv(t)
	form := func(token string) string {
		v := url.Values{"email": {"owner@demo.test"}, "password": {demoPassword}}
		if token != "" {
			v.Set("_csrf", token)
		}
		return v.Encode()
	}
	multi := func(token string) (string, string) {
		var b bytes.Buffer
		w := multipart.NewWriter(&b)
		for k, v := range map[string]string{"email": "owner@demo.test", "password": demoPassword, "_csrf": token} {
			if v != "" {
				if err := w.WriteField(k, v); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return b.String(), w.FormDataContentType()
	}
	urlencoded := "application/x-www-form-urlencoded"

	for _, tc := range []struct {
		name        string
		query       bool   // the right token in ?_csrf=
		body        string // "right", "wrong" or "" (none)
		multipart   bool
		header      bool // the right token in X-CSRF-Token
		wantSession bool
	}{
		{name: "a token only in the query string is refused", query: true},
		{name: "a token in the query string does not make up for a wrong one in the body", query: true, body: "wrong"},
		{name: "a token only in the query string of a multipart form is refused", query: true, multipart: true},
		{name: "the token in the form body is accepted", body: "right", wantSession: true},
		{name: "the token in a multipart form body is accepted", body: "right", multipart: true, wantSession: true},
		{name: "the token in the X-CSRF-Token header is accepted", header: true, wantSession: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := e.client(t, "")
			right := c.csrf()
			token := map[string]string{"right": right, "wrong": "not-the-token", "": ""}[tc.body]
			path := "/admin/login"
			if tc.query {
				path += "?_csrf=" + url.QueryEscape(right)
			}
			body, ct := form(token), urlencoded
			if tc.multipart {
				body, ct = multi(token)
			}
			h := http.Header{"Content-Type": {ct}}
			if tc.header {
				h.Set("X-CSRF-Token", right)
			}
			res, page := c.do("POST", path, strings.NewReader(body), h)
			if tc.wantSession {
				if res.StatusCode != http.StatusSeeOther || c.cookie("orderdesk_session") == "" {
					t.Errorf("got %d, want 303 and a session: %s", res.StatusCode, page)
				}
				return
			}
			wantStatus(t, res, http.StatusForbidden)
			if !strings.Contains(page, "did not come from this site") || c.cookie("orderdesk_session") != "" {
				t.Errorf("refusal: session %q, page %s", c.cookie("orderdesk_session"), page)
			}
		})
	}
}
