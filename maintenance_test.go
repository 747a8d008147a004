package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"orderdesk/model"
	"orderdesk/providers/tinkoff"
)

// TestDownUpThroughTheCLI runs `orderdesk down` and `orderdesk up` against the
// data folder of a running server: it follows within seconds, without a
// restart.
func TestDownUpThroughTheCLI(t *testing.T) {
	data := t.TempDir()
	srv := startServe(t, data)
	tr := srv.browser(model.DemoTurkishSlug + ".localhost")
	if got := tr.status("/shop"); got != http.StatusOK {
		t.Fatalf("demo-tr's shop before down: %d", got)
	}

	out, err := runCLI(t, "down", "--data", data, "--secret=Bruler23", "--retry=90", "--message=Back at 14:00")
	if err != nil || !strings.Contains(out, "down for maintenance") || !strings.Contains(out, "/Bruler23") {
		t.Fatalf("down: %v\n%s", err, out)
	}
	downAt := time.Now()
	for tr.status("/shop") != http.StatusServiceUnavailable {
		if time.Since(downAt) > 5*time.Second {
			t.Fatal("the running server did not follow `down` within 5 seconds")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("the server followed `down` after %s", time.Since(downAt).Round(time.Millisecond))

	t.Run("a page is 503 with Retry-After, in the shop's language, with the note", func(t *testing.T) {
		res, body := tr.do("GET", "/shop/cart", nil, nil)
		doc, err := goquery.NewDocumentFromReader(strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") != "90" ||
			doc.Find("html").AttrOr("lang", "") != "tr" || !strings.Contains(doc.Find("h1").Text(), "Bakım") ||
			doc.Find(`[data-testid="maintenance-message"]`).Text() != "Back at 14:00" {
			t.Errorf("demo-tr's page: %d, Retry-After %q\n%s", res.StatusCode, res.Header.Get("Retry-After"), body)
		}
		res, body = srv.browser("").do("GET", "/api/public/products/", nil, nil)
		if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, `"success":false`) {
			t.Errorf("demo's API: %d %s", res.StatusCode, body)
		}
	})

	t.Run("probes and a webhook still work", func(t *testing.T) {
		anyone := srv.browser("")
		for _, path := range []string{"/healthz", "/readyz"} {
			if got := anyone.status(path); got != http.StatusOK {
				t.Errorf("%s: %d", path, got)
			}
		}
		// A correctly signed notification of a payment the shop does not know:
		// the webhook's own answer, not the maintenance page.
		store, _, err := openStore(context.Background(), config{Data: data})
		if err != nil {
			t.Fatal(err)
		}
		demo, _ := store.FindTenantBySlug(context.Background(), model.DemoTenantSlug)
		in, err := store.UsableIntegration(context.Background(), demo.ID, model.ProviderTinkoff)
		if err != nil {
			t.Fatal(err)
		}
		if err := store.DB.Close(); err != nil {
			t.Fatal(err)
		}
		params := map[string]any{"TerminalKey": tinkoff.DemoTerminalKey, "OrderId": "PAY-UNKNOWN", "Success": true, "Status": "CONFIRMED",
			"PaymentId": json.Number("1"), "ErrorCode": "0", "Amount": 100}
		params["Token"] = tinkoff.Token(params, tinkoff.DemoPassword)
		raw, _ := json.Marshal(params)
		res, body := anyone.do("POST", fmt.Sprintf("/webhooks/tinkoff/%d", in.ID), bytes.NewReader(raw), http.Header{"Content-Type": {"application/json"}})
		t.Logf("the webhook answered %d %q", res.StatusCode, body)
		if res.StatusCode == http.StatusServiceUnavailable || strings.Contains(body, "maintenance") {
			t.Errorf("the webhook got the maintenance page: %d %s", res.StatusCode, body)
		}
	})

	t.Run("/{secret} sets the bypass cookie and pages work with it", func(t *testing.T) {
		res, _ := tr.do("GET", "/Bruler23", nil, nil)
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
			t.Fatalf("the secret's address: %d to %q", res.StatusCode, res.Header.Get("Location"))
		}
		if got := tr.status("/shop"); got != http.StatusOK {
			t.Errorf("demo-tr's shop with the cookie: %d", got)
		}
		if got := tr.status("/admin/login"); got != http.StatusOK {
			t.Errorf("demo-tr's sign-in with the cookie: %d", got)
		}
		if got := srv.browser(model.DemoTurkishSlug + ".localhost").status("/shop"); got != http.StatusServiceUnavailable {
			t.Errorf("another browser without the cookie: %d, want 503", got)
		}
	})

	out, err = runCLI(t, "up", "--data", data)
	if err != nil || !strings.Contains(out, "up again") {
		t.Fatalf("up: %v\n%s", err, out)
	}
	upAt := time.Now()
	fresh := srv.browser(model.DemoTurkishSlug + ".localhost")
	for fresh.status("/shop") != http.StatusOK {
		if time.Since(upAt) > 5*time.Second {
			t.Fatal("the running server did not follow `up` within 5 seconds")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if out, err := runCLI(t, "up", "--data", data); err != nil || !strings.Contains(out, "was not down") {
		t.Errorf("a second up: %v\n%s", err, out)
	}
}

func TestDownRefusesBadInputByItsFlag(t *testing.T) {
	data := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--secret=short"}, "--secret: use 8 to 100"},
		{[]string{"--secret=has/slash/in"}, "--secret: use 8 to 100"},
		{[]string{"--retry=0"}, "--retry: give the seconds"},
		{[]string{"--message=" + strings.Repeat("x", model.MaxMaintenanceMessageLen+1)}, "--message: use at most 500 characters"},
	} {
		_, err := runCLI(t, append([]string{"down", "--data", data}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("down %v: %v, want %q", tc.args, err, tc.want)
		}
	}
	store, _, err := openStore(context.Background(), config{Data: data})
	if err != nil {
		t.Fatal(err)
	}
	defer store.DB.Close()
	if _, err := store.FindInstanceDown(context.Background()); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("refused downs took the site down: %v", err)
	}
}
