package handlers_test

import (
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"orderdesk/model"
	"orderdesk/providers/kuveyt"
	"orderdesk/providers/tinkoff"
)

// A shop's own live accounts at the "live" banks of these tests: not the
// demo's.
const (
	liveKuveytKey      = "57902:97228291:shopapi"
	liveKuveytPassword = "Live-Kuveyt-Pass-2026"
	liveTinkoffKey     = "1712345678901LIVE"
	liveTinkoffPass    = "live-terminal-password"
)

// liveBanks are a Kuveyt and a T-Bank of a test's own, on loopback, that
// are not the app's sandboxes (/sandbox/…): the "live" endpoints a shop
// goes live with. They take the live keys above only.
type liveBanks struct {
	kuveyt, tinkoff string // their base URLs
}

// startLiveBanks starts the banks; pass allowed() to newEnvAllowing, which
// lets the app's calls reach them.
func startLiveBanks(t *testing.T) liveBanks {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(t.TempDir(), "live.db")+"?_journal_mode=WAL&_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	id := strings.Split(liveKuveytKey, ":")
	kb, err := kuveyt.NewSandbox(db, kuveyt.SandboxConfig{MerchantID: id[0], CustomerID: id[1], UserName: id[2], Password: liveKuveytPassword})
	if err != nil {
		t.Fatal(err)
	}
	tb, err := tinkoff.NewSandbox(db, tinkoff.SandboxConfig{TerminalKey: liveTinkoffKey, Password: liveTinkoffPass})
	if err != nil {
		t.Fatal(err)
	}
	var out liveBanks
	for _, b := range []struct {
		h interface {
			http.Handler
			SetBaseURL(string)
		}
		url *string
	}{{kb, &out.kuveyt}, {tb, &out.tinkoff}} {
		srv := httptest.NewServer(b.h)
		t.Cleanup(srv.Close)
		b.h.SetBaseURL(srv.URL)
		*b.url = srv.URL
	}
	return out
}

// allowed are the banks' addresses, for the test's egress policy.
func (b liveBanks) allowed() []string { return []string{b.kuveyt + "/", b.tinkoff + "/"} }

// demoIntegration is the demo shop's integration of provider p (the
// sandbox's, with the demo's keys).
func (e *env) demoIntegration(t *testing.T, p model.ProviderType) *model.Integration {
	t.Helper()
	list, err := e.store.FindIntegrations(t.Context(), e.demo.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range list {
		if i.Provider == p {
			return i
		}
	}
	t.Fatalf("the demo shop has no %s integration", p)
	return nil
}

func TestGoLiveRefusesTheSandboxAndTheDemoKeys(t *testing.T) {
	banks := startLiveBanks(t)
	e := newEnvAllowing(t, banks.allowed())
	owner := e.client(t, "")
	owner.login("owner@demo.test", demoPassword)
	in := e.demoIntegration(t, model.ProviderKuveyt)
	path := fmt.Sprintf("/api/integrations/%d/", in.ID)
	sandbox := e.srv.URL + "/sandbox/kuveyt"

	t.Run("the demo's keys are refused by the key and the secret, before any call", func(t *testing.T) {
		res, body := owner.api("PATCH", path, map[string]any{"status": "active", "api_endpoint": banks.kuveyt})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		for _, f := range []string{"api_key", "api_secret"} {
			if msg, _ := get(body, "errors", f).(string); !strings.Contains(msg, "demo") {
				t.Errorf("%s: %v", f, body)
			}
		}
		if get(body, "errors", "api_endpoint") != nil {
			t.Errorf("the live bank's address is not a sandbox: %v", body)
		}
	})
	t.Run("the sandbox's address is refused as the live endpoint, with the shop's own keys", func(t *testing.T) {
		for _, ep := range []string{sandbox, e.srv.URL + "/x/../sandbox/kuveyt"} {
			res, body := owner.api("PATCH", path, map[string]any{"status": "active", "api_endpoint": ep,
				"api_key": liveKuveytKey, "api_secret": liveKuveytPassword})
			wantStatus(t, res, http.StatusUnprocessableEntity)
			if msg, _ := get(body, "errors", "api_endpoint").(string); !strings.Contains(msg, "sandbox") {
				t.Errorf("%s: %v", ep, body)
			}
		}
	})
	t.Run("the go-live confirmation says why by the field", func(t *testing.T) {
		res, doc := owner.postForm(fmt.Sprintf("/admin/integrations/%d/status", in.ID), url.Values{"status": {"active"}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		if got := doc.Find(`[data-testid="error-api_key"]`).Text(); !strings.Contains(got, "demo") {
			t.Errorf("by the key: %q", got)
		}
		if got := doc.Find(`[data-testid="error-api_secret"]`).Text(); !strings.Contains(got, "demo") {
			t.Errorf("by the secret: %q", got)
		}
	})
	t.Run("the edit form says why by the live endpoint", func(t *testing.T) {
		res, doc := owner.postForm(fmt.Sprintf("/admin/integrations/%d", in.ID), url.Values{"name": {in.Name}, "status": {"active"},
			"api_key": {liveKuveytKey}, "api_secret": {liveKuveytPassword}, "test_endpoint": {sandbox}, "api_endpoint": {sandbox}, "config": {"{}"}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		if got := doc.Find(`[data-testid="error-api_endpoint"]`).Text(); !strings.Contains(got, "sandbox") {
			t.Errorf("by the live endpoint: %q", got)
		}
	})
	if got, _ := e.store.FindIntegrationByID(t.Context(), e.demo.ID, in.ID); got.Status != model.IntegrationTest {
		t.Fatalf("after the refusals: %s", got.Status)
	}
	t.Run("the shop's own keys that pass at a live bank go live", func(t *testing.T) {
		res, body := owner.api("PATCH", path, map[string]any{"status": "active", "api_endpoint": banks.kuveyt,
			"api_key": liveKuveytKey, "api_secret": liveKuveytPassword})
		wantStatus(t, res, http.StatusOK)
		if get(body, "integration", "status") != "active" || get(body, "integration", "last_test", "ok") != true {
			t.Errorf("go-live: %v", body)
		}
	})
}

func TestLiveBadgeDiffersFromTestMode(t *testing.T) {
	banks := startLiveBanks(t)
	e := newEnvAllowing(t, banks.allowed())
	owner := e.client(t, "")
	owner.login("owner@demo.test", demoPassword)
	live := e.demoIntegration(t, model.ProviderTinkoff)
	res, body := owner.api("PATCH", fmt.Sprintf("/api/integrations/%d/", live.ID), map[string]any{"status": "active",
		"api_endpoint": banks.tinkoff + "/v2", "api_key": liveTinkoffKey, "api_secret": liveTinkoffPass})
	wantStatus(t, res, http.StatusOK)
	if get(body, "integration", "status") != "active" {
		t.Fatalf("go-live: %v", body)
	}
	test := e.demoIntegration(t, model.ProviderCDEK)

	res, doc := owner.get("/admin/integrations")
	wantStatus(t, res, http.StatusOK)
	liveBadge := doc.Find(fmt.Sprintf(`#integration-%d [data-testid="integration-status"]`, live.ID))
	testBadge := doc.Find(fmt.Sprintf(`#integration-%d [data-testid="integration-status"]`, test.ID))
	if liveBadge.Text() != "Live" || !liveBadge.HasClass("tone-live") {
		c, _ := liveBadge.Attr("class")
		t.Errorf("the live badge: %q, class %q", liveBadge.Text(), c)
	}
	if testBadge.Text() == "Live" || testBadge.HasClass("tone-live") {
		c, _ := testBadge.Attr("class")
		t.Errorf("the test-mode badge: %q, class %q", testBadge.Text(), c)
	}
}

func TestLastTestIsClearedWhenKeysOrStatusChange(t *testing.T) {
	e := newEnv(t)
	owner := e.client(t, "")
	owner.login("owner@demo.test", demoPassword)
	in := e.demoIntegration(t, model.ProviderCDEK)
	path := fmt.Sprintf("/api/integrations/%d/", in.ID)
	row := fmt.Sprintf(`#integration-%d [data-testid="integration-test-result"]`, in.ID)
	tested := func(t *testing.T) {
		t.Helper()
		res, _ := owner.api("POST", path+"test/", nil)
		wantStatus(t, res, http.StatusOK)
		if got, _ := e.store.FindIntegrationByID(t.Context(), e.demo.ID, in.ID); got.LastTestAt == nil {
			t.Fatal("the test was not recorded")
		}
	}
	// Each change follows a test: a passing one in test mode, a refused one
	// while disabled.
	for _, tc := range []struct {
		name   string
		change map[string]any
	}{
		{"disabling it", map[string]any{"status": "disabled"}},
		{"putting it back in test mode", map[string]any{"status": "test_mode"}},
		{"new keys", map[string]any{"api_secret": "another-secret"}},
	} {
		t.Run("after "+tc.name+" the page says never tested", func(t *testing.T) {
			tested(t)
			res, _ := owner.api("PATCH", path, tc.change)
			wantStatus(t, res, http.StatusOK)
			got, _ := e.store.FindIntegrationByID(t.Context(), e.demo.ID, in.ID)
			if got.LastTestAt != nil || got.LastTestMessage != "" {
				t.Errorf("last test kept: %v %q", got.LastTestAt, got.LastTestMessage)
			}
			res, doc := owner.get("/admin/integrations")
			wantStatus(t, res, http.StatusOK)
			if s := doc.Find(row).Text(); strings.Contains(s, "✓") || strings.Contains(s, "✗") {
				t.Errorf("the row says %q", s)
			}
		})
	}
}
