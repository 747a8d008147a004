package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"orderdesk/jobs"
)

func TestNoticesComeFromTheSessionNotTheURL(t *testing.T) {
	e := newEnv(t)
	op := e.client(t, "")
	op.login("operator@demo.test", demoPassword)
	const bait = `<script>alert(1)</script>Call +1 555 0100 to verify your account`

	for _, path := range []string{"/admin/jobs", "/admin/procurement/accounts"} {
		t.Run(path+" shows no notice from its query", func(t *testing.T) {
			res, doc := op.get(path + "?" + url.Values{"message": {bait}, "error": {bait}}.Encode())
			wantStatus(t, res, http.StatusOK)
			if n := doc.Find(`[data-testid="flash"], .notice.ok, [role="alert"]`).Length(); n != 0 {
				t.Errorf("%d notices on the page", n)
			}
			if page, _ := doc.Html(); strings.Contains(page, "555 0100") {
				t.Error("the page shows the query's text")
			}
		})
	}

	t.Run("the run-now notice shows once", func(t *testing.T) {
		res, _ := op.postForm("/admin/jobs/"+jobs.RefreshTokensName+"/run", nil)
		wantStatus(t, res, http.StatusSeeOther)
		if loc := res.Header.Get("Location"); loc != "/admin/jobs" {
			t.Errorf("redirected to %q", loc)
		}
		// A fragment request in between does not take it.
		res, _ = op.do("GET", "/admin/procurement/accounts", nil, http.Header{"Hx-Request": {"true"}})
		wantStatus(t, res, http.StatusOK)
		_, doc := op.get("/admin/jobs")
		f := doc.Find(`[data-testid="flash"]`)
		if role, _ := f.Attr("role"); f.Length() != 1 || role != "status" || !strings.Contains(f.Text(), jobs.RefreshTokensName) {
			t.Fatalf("notice after run now: %d, role %q, %q", f.Length(), role, f.Text())
		}
		_, doc = op.get("/admin/jobs")
		if n := doc.Find(`[data-testid="flash"]`).Length(); n != 0 {
			t.Errorf("the notice is still there on reload")
		}
	})
}
