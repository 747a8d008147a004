package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"orderdesk/model"
	"orderdesk/providers/kuveyt"
)

// seed001Integration is seed 001's body for POST /api/integrations/, as
// written there. Its endpoints are kuveyt.com's: nothing in these tests may
// call them, so every body that could be tested points at a sandbox instead.
func seed001Integration() map[string]any {
	return map[string]any{
		"provider_type": "kuveyt", "name": "Kuveyt API - Test", "description": "Test ortamı için", "status": "test_mode",
		"api_key": "test-api-key", "api_secret": "test-api-secret",
		"api_endpoint": "https://api.kuveyt.com/payment", "test_endpoint": "https://test-api.kuveyt.com/payment",
		"config": map[string]any{"return_url": "https://yoursite.com/payment/return", "cancel_url": "https://yoursite.com/payment/cancel"},
	}
}

// kuveytKey is the sandbox's Kuveyt key, MerchantId:CustomerId:UserName.
const kuveytKey = kuveyt.DemoMerchantID + ":" + kuveyt.DemoCustomerID + ":" + kuveyt.DemoUserName

// counter is a loopback server that counts the requests it sees: a target
// the app must never reach.
func counter(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		fmt.Fprint(w, `{"Success": true}`)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func (e *env) integrationCount(t *testing.T) int {
	t.Helper()
	list, err := e.store.FindIntegrations(context.Background(), e.demo.ID)
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}

func TestSeed001KuveytIntegrationNeedsTheBanksKeyShape(t *testing.T) {
	e := newEnv(t)
	owner := e.client(t, "")
	owner.login("owner@demo.test", demoPassword)
	before := e.integrationCount(t)

	res, body := owner.api("POST", "/api/integrations/", seed001Integration())
	wantStatus(t, res, http.StatusUnprocessableEntity)
	msg, _ := get(body, "errors", "api_key").(string)
	if body["success"] != false || !strings.Contains(msg, "MerchantId:CustomerId:UserName") || !strings.Contains(body["message"].(string), "api_key") {
		t.Errorf("seed 001's example key: %v", body)
	}
	if got := e.integrationCount(t); got != before {
		t.Errorf("integrations after the refusal: %d, want %d", got, before)
	}

	// The bank's shape, in the key or in the config's keys, is accepted.
	sandbox := e.srv.URL + "/sandbox/kuveyt"
	valid := seed001Integration()
	valid["api_key"], valid["api_secret"], valid["api_endpoint"], valid["test_endpoint"] = kuveytKey, kuveyt.DemoPassword, sandbox, sandbox
	res, body = owner.api("POST", "/api/integrations/", valid)
	wantStatus(t, res, http.StatusCreated)
	id := fmt.Sprint(get(body, "integration", "id"))
	byConfig := seed001Integration()
	delete(byConfig, "api_key")
	byConfig["api_secret"], byConfig["api_endpoint"], byConfig["test_endpoint"] = kuveyt.DemoPassword, sandbox, sandbox
	byConfig["config"] = map[string]any{"merchant_id": kuveyt.DemoMerchantID, "customer_id": kuveyt.DemoCustomerID, "user_name": kuveyt.DemoUserName}
	res, body = owner.api("POST", "/api/integrations/", byConfig)
	wantStatus(t, res, http.StatusCreated)
	res, body = owner.api("POST", fmt.Sprintf("/api/integrations/%v/test/", get(body, "integration", "id")), nil)
	wantStatus(t, res, http.StatusOK)
	if body["success"] != true {
		t.Errorf("Kuveyt by its config keys: %v", body)
	}

	// Seed 001 step 3's placeholders are refused by shape too, before any call.
	res, body = owner.api("PATCH", "/api/integrations/"+id+"/", map[string]any{"status": "active", "api_key": "production-api-key", "api_secret": "production-api-secret"})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if msg, _ := get(body, "errors", "api_key").(string); !strings.Contains(msg, "MerchantId:CustomerId:UserName") {
		t.Errorf("step 3's placeholder key: %v", body)
	}

	// An endpoint on an internal address is refused when saved, and nothing
	// is called.
	target, seen := counter(t)
	res, body = owner.api("PATCH", "/api/integrations/"+id+"/", map[string]any{"api_endpoint": target.URL + "/payment"})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if msg, _ := get(body, "errors", "api_endpoint").(string); !strings.Contains(msg, "loopback") || !strings.Contains(msg, "ORDERDESK_ALLOW_PRIVATE_ENDPOINTS") {
		t.Errorf("a loopback live endpoint: %v", body)
	}
	for _, ep := range []string{"http://169.254.169.254/latest/meta-data/", "http://localhost:6379/", "http://[::ffff:10.0.0.1]/"} {
		res, body = owner.api("PATCH", "/api/integrations/"+id+"/", map[string]any{"test_endpoint": ep})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		if get(body, "errors", "test_endpoint") == nil {
			t.Errorf("%s: %v", ep, body)
		}
	}
	if seen.Load() != 0 {
		t.Errorf("the internal address saw %d requests", seen.Load())
	}
}

func TestGoingLiveNeedsAPassingTestOfTheLiveKeys(t *testing.T) {
	// The live bank is one of the test's own on loopback (never the
	// sandbox, which cannot be a live endpoint), which the test's egress
	// policy lets the app reach.
	banks := startLiveBanks(t)
	e := newEnvAllowing(t, banks.allowed())
	ctx := context.Background()
	owner := e.client(t, "")
	owner.login("owner@demo.test", demoPassword)
	sandbox, live := e.srv.URL+"/sandbox/kuveyt", banks.kuveyt
	res, body := owner.api("POST", "/api/integrations/", map[string]any{"provider_type": "kuveyt", "name": "Kuveyt Türk",
		"status": "test_mode", "api_key": kuveytKey, "api_secret": kuveyt.DemoPassword, "test_endpoint": sandbox, "api_endpoint": live})
	wantStatus(t, res, http.StatusCreated)
	id := int64(get(body, "integration", "id").(float64))
	path := fmt.Sprintf("/api/integrations/%d/", id)

	// The bank refuses the live password: 409 with the bank's words, never
	// another provider's; nothing changes.
	res, body = owner.api("PATCH", path, map[string]any{"status": "active", "api_key": liveKuveytKey, "api_secret": "wrong-live-password"})
	wantStatus(t, res, http.StatusConflict)
	msg := body["message"].(string)
	if !strings.Contains(msg, "Not live") || !strings.Contains(msg, "Kuveyt") || strings.Contains(msg, "CDEK") {
		t.Errorf("refused go-live: %q", msg)
	}
	in, _ := e.store.FindIntegrationByID(ctx, e.demo.ID, id)
	sec, _ := e.store.OpenIntegrationSecrets(ctx, e.demo.ID, id)
	if in.Status != model.IntegrationTest || sec.APISecret != kuveyt.DemoPassword {
		t.Errorf("after the refusal: %s, secret replaced: %v", in.Status, sec.APISecret != kuveyt.DemoPassword)
	}

	// The edit form says the same by the status field, with what was typed.
	res, doc := owner.postForm(fmt.Sprintf("/admin/integrations/%d", id), url.Values{"name": {"Kuveyt Türk"}, "status": {"active"},
		"api_key": {liveKuveytKey}, "api_secret": {"wrong-live-password"}, "test_endpoint": {sandbox}, "api_endpoint": {live}, "config": {"{}"}})
	wantStatus(t, res, http.StatusConflict)
	if got := doc.Find(`[data-testid="error-status"]`).Text(); !strings.Contains(got, "Not live") || !strings.Contains(got, "Kuveyt") {
		t.Errorf("the form says %q by the status", got)
	}
	if v, _ := doc.Find(`#api_endpoint`).Attr("value"); v != live {
		t.Errorf("the live endpoint typed was not kept: %q", v)
	}

	// The right keys pass at the live endpoint: live, the test recorded.
	res, body = owner.api("PATCH", path, map[string]any{"status": "active", "api_key": liveKuveytKey, "api_secret": liveKuveytPassword})
	wantStatus(t, res, http.StatusOK)
	if get(body, "integration", "status") != "active" || get(body, "integration", "last_test", "ok") != true {
		t.Fatalf("go-live: %v", body)
	}
	changes, _ := e.store.FindIntegrationChanges(ctx, e.demo.ID, id)
	if len(changes) == 0 || changes[0].To != model.IntegrationActive || !strings.Contains(changes[0].Note, "live test passed") {
		t.Errorf("recorded: %+v", changes)
	}

	// While live, new keys are tested before they replace the working ones.
	res, _ = owner.api("PATCH", path, map[string]any{"api_secret": "another-wrong-password"})
	wantStatus(t, res, http.StatusConflict)
	if sec, _ := e.store.OpenIntegrationSecrets(ctx, e.demo.ID, id); sec.APISecret != liveKuveytPassword {
		t.Error("a live integration took keys that failed the test")
	}

	// Created live at once: tested first too.
	res, body = owner.api("POST", "/api/integrations/", map[string]any{"provider_type": "kuveyt", "name": "Kuveyt live",
		"status": "active", "api_key": liveKuveytKey, "api_secret": "wrong", "api_endpoint": live})
	wantStatus(t, res, http.StatusConflict)
	if !strings.Contains(body["message"].(string), "Kuveyt") {
		t.Errorf("created live with a wrong password: %v", body)
	}
}

// An integration saved before these rules (or by hand in the database) with
// an internal endpoint is never called: the test says why, and the target
// sees nothing.
func TestConnectionTestRefusesInternalAddresses(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	owner := e.client(t, "")
	owner.login("owner@demo.test", demoPassword)
	target, seen := counter(t)
	p, name, key, secret, ep := model.ProviderCDEK, "CDEK on another port", "account", "password", target.URL+"/v2"
	in, err := e.store.CreateIntegration(ctx, e.demo.ID, nil, model.IntegrationInput{Provider: &p, Name: &name, APIKey: &key,
		APISecret: &secret, TestEndpoint: &ep})
	if err != nil {
		t.Fatal(err)
	}
	res, body := owner.api("POST", fmt.Sprintf("/api/integrations/%d/test/", in.ID), nil)
	wantStatus(t, res, http.StatusOK)
	msg, _ := body["message"].(string)
	if body["success"] != false || !strings.Contains(msg, "loopback") || !strings.Contains(msg, "Not tested") {
		t.Errorf("test of a loopback endpoint: %v", body)
	}
	// The page's button says the same, in the row.
	res, _ = owner.postForm(fmt.Sprintf("/admin/integrations/%d/test", in.ID), nil)
	wantStatus(t, res, http.StatusSeeOther)
	res, doc := owner.get("/admin/integrations")
	wantStatus(t, res, http.StatusOK)
	if got := doc.Find(fmt.Sprintf(`#integration-%d [data-testid="integration-test-result"]`, in.ID)).Text(); !strings.Contains(got, "loopback") {
		t.Errorf("the row says %q", got)
	}
	if n := seen.Load(); n != 0 {
		t.Errorf("the internal address saw %d requests, want none", n)
	}
}

// Each provider's errors are explained by that provider: seed 001's Kuveyt
// integration, saved before these rules, is not "Could not reach CDEK".
func TestKuveytErrorsAreExplainedAsKuveyt(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	owner := e.client(t, "")
	owner.login("owner@demo.test", demoPassword)
	sandbox := e.srv.URL + "/sandbox/kuveyt"
	for _, tc := range []struct{ name, key, secret, want string }{
		{"seed 001's placeholder key", "test-api-key", "test-api-secret", "MerchantId:CustomerId:UserName"},
		{"a password the bank refuses", kuveytKey, "wrong-password", "Kuveyt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, name := model.ProviderKuveyt, "Kuveyt: "+tc.name
			in, err := e.store.CreateIntegration(ctx, e.demo.ID, nil, model.IntegrationInput{Provider: &p, Name: &name,
				APIKey: &tc.key, APISecret: &tc.secret, TestEndpoint: &sandbox})
			if err != nil {
				t.Fatal(err)
			}
			res, body := owner.api("POST", fmt.Sprintf("/api/integrations/%d/test/", in.ID), nil)
			wantStatus(t, res, http.StatusOK)
			msg, _ := body["message"].(string)
			if body["success"] != false || !strings.Contains(msg, tc.want) || strings.Contains(msg, "CDEK") {
				t.Errorf("test: %q, want it to say %q and never CDEK", msg, tc.want)
			}
		})
	}
}
