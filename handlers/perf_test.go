package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"orderdesk/model"
)

// sessionExpiry is the idle deadline the sessions table holds for the
// client's session.
func sessionExpiry(t *testing.T, e *env, c *client) time.Time {
	t.Helper()
	var unix float64
	err := e.store.DB.R.QueryRow(`SELECT (expiry - 2440587.5) * 86400.0 FROM sessions WHERE token = ?`,
		model.HashToken(c.cookie("orderdesk_session"))).Scan(&unix)
	if err != nil {
		t.Fatalf("the session's row: %v", err)
	}
	return time.UnixMilli(int64(unix * 1000))
}

func TestSignedInPagesWriteTheSessionAtMostOnceAMinute(t *testing.T) {
	e := newEnv(t)
	owner := e.client(t, "")
	owner.login(model.DemoOwnerEmail, demoPassword)
	signedIn := sessionExpiry(t, e, owner)

	t.Run("pages read within the minute leave the stored session as it is", func(t *testing.T) {
		for _, path := range []string{"/admin/", "/admin/orders", "/admin/settings/maintenance"} {
			time.Sleep(5 * time.Millisecond) // a write would store a later deadline
			res, _ := owner.get(path)
			wantStatus(t, res, http.StatusOK)
		}
		if got := sessionExpiry(t, e, owner); !got.Equal(signedIn) {
			t.Errorf("the session's deadline moved from %s to %s: the pages wrote the session", signedIn, got)
		}
	})

	// A page read more than a minute after the last write moves the
	// deadline: TestASessionIsWrittenAgainAMinuteAfterItsLastWrite (the
	// minute is the kept session's clock's).

	t.Run("a change in the session is written at once", func(t *testing.T) {
		// Closing the shop leaves a notice in the session for the next page.
		res, _ := owner.postForm("/admin/settings/maintenance", url.Values{"action": {"down"}})
		wantStatus(t, res, http.StatusSeeOther)
		_, doc := owner.get("/admin/settings/maintenance")
		if got := doc.Find(`[data-testid="flash"]`).Text(); got == "" {
			t.Error("no notice after closing the shop: the session's change was not saved")
		}
		res, _ = owner.postForm("/admin/settings/maintenance", url.Values{"action": {"up"}})
		wantStatus(t, res, http.StatusSeeOther)
	})

	t.Run("signing out ends the session", func(t *testing.T) {
		res, _ := owner.postForm("/admin/logout", nil)
		wantStatus(t, res, http.StatusSeeOther)
		res, _ = owner.get("/admin/orders")
		wantStatus(t, res, http.StatusSeeOther)
	})
}

func TestTheShopKeptInMemoryFollowsItsChangesAtOnce(t *testing.T) {
	e := newEnv(t)
	owner := e.client(t, "")
	owner.login(model.DemoOwnerEmail, demoPassword)
	customer := e.client(t, "")

	t.Run("a settings save shows on the next page", func(t *testing.T) {
		for _, minutes := range []string{"90", "45"} {
			form := url.Values{"unpaid_expiry_minutes": {minutes}, "unpaid_expiry_batch": {"10"}, "bonus_earn_percent": {"3"},
				"bonus_max_share_percent": {"20"}, "order_increment_start": {"1000"}, "cny_rate": {"13.10"},
				"required": {"first_name", "email"}}
			res, _ := owner.postForm("/admin/settings/orders", form)
			wantStatus(t, res, http.StatusSeeOther)
			res, doc := owner.get("/admin/settings/orders")
			wantStatus(t, res, http.StatusOK)
			if got, _ := doc.Find("#unpaid_expiry_minutes").Attr("value"); got != minutes {
				t.Errorf("after saving %s minutes the page shows %q", minutes, got)
			}
		}
	})

	t.Run("closing and opening the shop shows to customers at once", func(t *testing.T) {
		res, _ := customer.get("/shop")
		wantStatus(t, res, http.StatusOK)
		res, _ = owner.postForm("/admin/settings/maintenance", url.Values{"action": {"down"}, "message": {"Back at 14:00"}})
		wantStatus(t, res, http.StatusSeeOther)
		res, _ = customer.get("/shop")
		wantStatus(t, res, http.StatusServiceUnavailable)
		res, _ = owner.postForm("/admin/settings/maintenance", url.Values{"action": {"up"}})
		wantStatus(t, res, http.StatusSeeOther)
		res, _ = customer.get("/shop")
		wantStatus(t, res, http.StatusOK)
	})
}

// A stranger's tracking pages (no session cookie: a courier's link, a load
// test) read and write no session and set no cookie. A browser that carries
// our session gets the shopper's own page (their frame, pay again), which
// touches the session at most once a minute, as every signed-in page does.
func TestTheTrackingPagesWriteNoSessionAndSetNoCookie(t *testing.T) {
	e := newEnv(t)
	o := trackPlace(t, e, e.demo, trackPersonal)
	signedIn := e.client(t, "")
	res, _ := signedIn.postForm("/shop/login", url.Values{"email": {model.DemoCustomerEmail}, "password": {demoPassword}})
	wantStatus(t, res, http.StatusSeeOther)
	// Two minutes since the session was written: a page that touched the
	// session would write it now.
	if _, err := e.store.DB.W.Exec(`UPDATE sessions SET expiry = expiry - 2.0 / 1440 WHERE token = ?`,
		model.HashToken(signedIn.cookie("orderdesk_session"))); err != nil {
		t.Fatal(err)
	}
	before := sessionExpiry(t, e, signedIn)
	sessions := func() (n int) {
		if err := e.store.DB.R.QueryRow(`SELECT count(*) FROM sessions`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	rows := sessions()
	paths := []string{"/track/" + o.Number, "/api/orders/track/" + o.Number + "/", "/track"}

	guest := e.client(t, "")
	for _, path := range paths {
		t.Run("a guest reads "+path, func(t *testing.T) {
			res, body := guest.do("GET", path, nil, nil)
			wantStatus(t, res, http.StatusOK)
			if path != "/track" && !strings.Contains(body, o.Number) {
				t.Errorf("the page does not show the order %s", o.Number)
			}
			if got := res.Header.Values("Set-Cookie"); len(got) != 0 {
				t.Errorf("the page set cookies: %q", got)
			}
		})
	}
	if got := sessionExpiry(t, e, signedIn); !got.Equal(before) {
		t.Errorf("a guest's pages wrote the customer's session: its deadline moved from %s to %s", before, got)
	}

	var touched time.Time
	for i, path := range paths {
		t.Run("a signed-in customer reads "+path, func(t *testing.T) {
			res, body := signedIn.do("GET", path, nil, nil)
			wantStatus(t, res, http.StatusOK)
			if path != "/track" && !strings.Contains(body, o.Number) {
				t.Errorf("the page does not show the order %s", o.Number)
			}
			got := sessionExpiry(t, e, signedIn)
			if i == 0 {
				touched = got
			} else if !got.Equal(touched) {
				t.Errorf("the session was written again within the minute: its deadline moved from %s to %s", touched, got)
			}
		})
	}
	if got := sessions(); got != rows {
		t.Errorf("%d sessions after the tracking pages, %d before", got, rows)
	}

	// The signed-in customer's browser gets the order's page as theirs: the
	// frame says who is signed in (a page without the session said "Sign in").
	res, doc := signedIn.get("/track/" + o.Number)
	wantStatus(t, res, http.StatusOK)
	if doc.Find(`[data-testid="shop-sign-out"]`).Length() != 1 {
		t.Error("the signed-in customer's tracking page does not show them signed in")
	}
}

// Pages are rendered whole before they are sent, so they say their length
// rather than come in chunks, for a guest and for a signed-in user alike.
func TestPagesSayTheirLength(t *testing.T) {
	e := newEnv(t)
	o := trackPlace(t, e, e.demo, trackPersonal)
	guest := e.client(t, "")
	owner := e.client(t, "")
	owner.login(model.DemoOwnerEmail, demoPassword)
	for _, tc := range []struct {
		c    *client
		path string
	}{{guest, "/shop"}, {guest, "/track/" + o.Number}, {owner, "/admin/orders"}, {owner, "/admin/"}} {
		res, body := tc.c.do("GET", tc.path, nil, nil)
		wantStatus(t, res, http.StatusOK)
		if len(res.TransferEncoding) != 0 || res.ContentLength != int64(len(body)) {
			t.Errorf("%s: %d bytes came with Content-Length %d and Transfer-Encoding %q", tc.path, len(body), res.ContentLength, res.TransferEncoding)
		}
		if len(body) < 2048 {
			t.Errorf("%s: only %d bytes, too short to show chunking", tc.path, len(body))
		}
	}
}
