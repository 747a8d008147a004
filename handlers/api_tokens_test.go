package handlers_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
	"unicode"

	"orderdesk/model"
)

// newToken creates an API token through the page as the signed-in client and
// returns it as the page shows it, once.
func newToken(t *testing.T, c *client, name string) string {
	t.Helper()
	res, doc := c.postForm("/admin/settings/api-tokens", url.Values{"name": {name}})
	wantStatus(t, res, http.StatusCreated)
	token := strings.TrimSpace(doc.Find(`[data-testid="token-value"]`).Text())
	if !strings.HasPrefix(token, "odt_") || len(token) < 40 {
		t.Fatalf("no token shown after creating one: %q", token)
	}
	return token
}

// bearer sends one API request with an Authorization header and no cookies, as a
// script would, and decodes the JSON answer.
func (e *env) bearer(t *testing.T, host, authorization, method, path string, body any) (*http.Response, map[string]any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, e.base+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: answer is not JSON (%d): %s", method, path, res.StatusCode, raw)
	}
	return res, out
}

func TestAPITokens(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	owner := e.client(t, "")
	owner.login("owner@demo.test", demoPassword)
	staff := e.client(t, "")
	staff.login("staff@demo.test", demoPassword)

	t.Run("a token is shown once and stored only as its hash", func(t *testing.T) {
		token := newToken(t, owner, "shipping script")
		res, doc := owner.get("/admin/settings/api-tokens")
		wantStatus(t, res, http.StatusOK)
		if strings.Contains(doc.Text(), token) {
			t.Error("the token is shown again on the list")
		}
		if got := doc.Find(`[data-testid="token-name"]`).First().Text(); got != "shipping script" {
			t.Errorf("listed name: %q", got)
		}
		if got := doc.Find(`[data-testid="token-last-used"]`).First().Text(); !strings.Contains(got, "never") {
			t.Errorf("last used of a new token: %q", got)
		}
		sum := sha256.Sum256([]byte(token))
		var clear, hashed int
		e.store.DB.R.QueryRow(`SELECT count(*) FROM api_tokens WHERE token_hash = ? OR name = ?`, token, token).Scan(&clear)
		e.store.DB.R.QueryRow(`SELECT count(*) FROM api_tokens WHERE token_hash = ?`, hex.EncodeToString(sum[:])).Scan(&hashed)
		if clear != 0 || hashed != 1 {
			t.Errorf("stored in clear %d times, as its SHA-256 %d times; want 0 and 1", clear, hashed)
		}
	})

	t.Run("a name that is too long or empty is refused beside the field, the name kept", func(t *testing.T) {
		long := strings.Repeat("n", 1000)
		for _, tc := range []struct{ name, want string }{{long, "at most 100 characters"}, {"   ", "give the token a name"}} {
			res, doc := owner.postForm("/admin/settings/api-tokens", url.Values{"name": {tc.name}})
			wantStatus(t, res, http.StatusUnprocessableEntity)
			if got := doc.Find(`[data-testid="error-name"]`).Text(); !strings.Contains(got, tc.want) {
				t.Errorf("name error: %q, want %q", got, tc.want)
			}
			if got, _ := doc.Find(`#token-name`).Attr("value"); got != tc.name {
				t.Errorf("the typed name was not kept (%d characters back)", len(got))
			}
			if doc.Find(`[data-testid="token-value"]`).Length() != 0 {
				t.Error("a token was shown for a refused name")
			}
		}
	})

	t.Run("a staff token can work orders but not do what staff cannot", func(t *testing.T) {
		token := newToken(t, staff, "desk")
		res, body := e.bearer(t, "", "Bearer "+token, "GET", "/api/orders/?status=confirmed", nil)
		wantStatus(t, res, http.StatusOK)
		if orders, _ := body["orders"].([]any); len(orders) == 0 {
			t.Errorf("staff see no orders: %v", body)
		}
		res, body = e.bearer(t, "", "Bearer "+token, "POST", "/api/integrations/", map[string]any{"provider_type": "cdek", "name": "x"})
		wantStatus(t, res, http.StatusForbidden)
		if body["success"] != false || !strings.Contains(body["message"].(string), "role") {
			t.Errorf("refusal: %v", body)
		}
	})

	t.Run("attacks: another shop's host, the query string, a page, a forged token", func(t *testing.T) {
		token := newToken(t, owner, "attacks")
		if _, err := e.store.CreateTenant(ctx, model.NewTenant{Slug: "shop2", Name: "Shop Two"}); err != nil {
			t.Fatal(err)
		}
		res, body := e.bearer(t, "shop2.localhost", "Bearer "+token, "GET", "/api/orders/", nil)
		wantStatus(t, res, http.StatusUnauthorized)
		if !strings.Contains(body["message"].(string), "not valid for this shop") || !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("another shop's answer: %v, WWW-Authenticate %q", body, res.Header.Get("WWW-Authenticate"))
		}
		for _, q := range []string{"access_token", "token", "bearer", "Authorization", "_csrf"} {
			res, _ := e.bearer(t, "", "", "GET", "/api/orders/?"+q+"="+url.QueryEscape(token), nil)
			if res.StatusCode != http.StatusUnauthorized {
				t.Errorf("token in ?%s=: got %d, want 401", q, res.StatusCode)
			}
			res, _ = e.bearer(t, "", "", "PATCH", "/api/orders/1/?"+q+"="+url.QueryEscape(token), map[string]any{"status": "cancelled"})
			if res.StatusCode < 400 {
				t.Errorf("PATCH with the token in ?%s=: got %d", q, res.StatusCode)
			}
		}
		res, _ = owner.do("GET", "/admin/", nil, http.Header{"Authorization": {"Bearer " + token}})
		wantStatus(t, res, http.StatusUnauthorized)
		forged := "odt_" + strings.Repeat("A", 43)
		res, _ = e.bearer(t, "", "Bearer "+forged, "GET", "/api/orders/", nil)
		wantStatus(t, res, http.StatusUnauthorized)
		res, _ = e.bearer(t, "", "Bearer "+strings.ToLower(token), "GET", "/api/orders/", nil)
		wantStatus(t, res, http.StatusUnauthorized)
	})

	t.Run("a revoked token is refused", func(t *testing.T) {
		token := newToken(t, owner, "to revoke")
		res, _ := e.bearer(t, "", "Bearer "+token, "GET", "/api/orders/", nil)
		wantStatus(t, res, http.StatusOK)
		var id int64
		e.store.DB.R.QueryRow(`SELECT id FROM api_tokens WHERE name = 'to revoke'`).Scan(&id)
		res, _ = owner.postForm("/admin/settings/api-tokens/"+itoa(id)+"/revoke", nil)
		wantStatus(t, res, http.StatusSeeOther)
		res, _ = e.bearer(t, "", "Bearer "+token, "GET", "/api/orders/", nil)
		wantStatus(t, res, http.StatusUnauthorized)
		_, doc := owner.get("/admin/settings/api-tokens")
		if doc.Find(`[data-testid="token-revoked"]`).Length() == 0 {
			t.Error("the page does not show the token as revoked")
		}
		// Another user cannot revoke it (nor learn it exists).
		other := newToken(t, owner, "not staff's")
		e.store.DB.R.QueryRow(`SELECT id FROM api_tokens WHERE name = 'not staff''s'`).Scan(&id)
		res, _ = staff.postForm("/admin/settings/api-tokens/"+itoa(id)+"/revoke", nil)
		wantStatus(t, res, http.StatusNotFound)
		res, _ = e.bearer(t, "", "Bearer "+other, "GET", "/api/orders/", nil)
		wantStatus(t, res, http.StatusOK)
	})

	t.Run("a deactivated user's token is refused, and stays refused after reactivation", func(t *testing.T) {
		_, err := e.store.CreateUser(ctx, e.demo.ID, model.NewUser{Email: "leaver@demo.test", Role: model.RoleStaff, Password: "leaver-password"})
		if err != nil {
			t.Fatal(err)
		}
		leaver := e.client(t, "")
		leaver.login("leaver@demo.test", "leaver-password")
		token := newToken(t, leaver, "leaver's script")
		path := "/admin/settings/users/" + itoa(findUser(t, e, "leaver@demo.test").ID)
		res, _ := owner.postForm(path, url.Values{"role": {"staff"}})
		wantStatus(t, res, http.StatusSeeOther)
		res, _ = e.bearer(t, "", "Bearer "+token, "GET", "/api/orders/", nil)
		wantStatus(t, res, http.StatusUnauthorized)
		res, _ = owner.postForm(path, url.Values{"role": {"staff"}, "active": {"1"}})
		wantStatus(t, res, http.StatusSeeOther)
		res, _ = e.bearer(t, "", "Bearer "+token, "GET", "/api/orders/", nil)
		wantStatus(t, res, http.StatusUnauthorized)
	})

	t.Run("last use is noted at most once a minute", func(t *testing.T) {
		token := newToken(t, owner, "busy script")
		lastUsed := func() string {
			var s string
			e.store.DB.R.QueryRow(`SELECT coalesce(last_used_at, '') FROM api_tokens WHERE name = 'busy script'`).Scan(&s)
			return s
		}
		e.bearer(t, "", "Bearer "+token, "GET", "/api/orders/", nil)
		first := lastUsed()
		if first == "" {
			t.Fatal("the first use was not noted")
		}
		time.Sleep(10 * time.Millisecond)
		e.bearer(t, "", "Bearer "+token, "GET", "/api/orders/", nil)
		if got := lastUsed(); got != first {
			t.Errorf("a second use within the minute wrote again: %s then %s", first, got)
		}
		e.store.DB.W.Exec(`UPDATE api_tokens SET last_used_at = ? WHERE name = 'busy script'`, e.store.Now().Add(-2*time.Minute))
		e.bearer(t, "", "Bearer "+token, "GET", "/api/orders/", nil)
		if got := lastUsed(); got <= first {
			t.Errorf("a use two minutes later was not noted: %s", got)
		}
		_, doc := owner.get("/admin/settings/api-tokens")
		if got := doc.Find(`[data-testid="token-last-used"]`).First().Text(); strings.Contains(got, "never") {
			t.Errorf("the page says a used token was never used: %q", got)
		}
	})
}

// TestReadmeAPISession runs the curl session of README.md ("Staff API access")
// against the real server: a token made on the page, then seed 001's calls.
func TestReadmeAPISession(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// A paid order waiting to be shipped, as the session expects to find.
	shopper := e.client(t, "")
	o := e.placeOrder(t, shopper)
	pageURL, _ := e.startPayment(t, shopper, o, "tinkoff")
	e.browse(t, shopper, pageURL, "sandbox-pay")
	if got := e.order(t, o.ID); got.Status != model.OrderConfirmed || got.PaymentStatus != model.PayPaid {
		t.Fatalf("the order to work is %s / %s", got.Status, got.PaymentStatus)
	}
	owner := e.client(t, "")
	owner.login("owner@demo.test", demoPassword)
	token := newToken(t, owner, "README session")

	commands := readmeSession(t)
	if len(commands) < 6 {
		t.Fatalf("README session has %d commands", len(commands))
	}
	// The test's values win over the README's placeholders.
	vars := map[string]string{"SHOP": e.base, "TOKEN": token}
	var created int64
	ran := 0
	for _, words := range commands {
		if name, value, ok := strings.Cut(words[0], "="); ok && len(words) == 1 && isVarName(name) {
			if _, set := vars[name]; !set {
				vars[name] = value
			}
			continue
		}
		req := curlRequest(t, words, vars)
		ran++
		res, err := http.DefaultClient.Do(req) // no cookie jar: a script
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Success     bool             `json:"success"`
			Orders      []map[string]any `json:"orders"`
			Payments    []map[string]any `json:"payments"`
			Integration struct {
				ID int64 `json:"id"`
			} `json:"integration"`
		}
		if err := json.Unmarshal(raw, &body); err != nil || res.StatusCode >= 300 || !body.Success {
			t.Fatalf("%s %s: %d %s", req.Method, req.URL, res.StatusCode, raw)
		}
		if c := res.Header.Values("Set-Cookie"); len(c) > 0 {
			t.Errorf("%s %s set cookies %v", req.Method, req.URL, c)
		}
		switch {
		case req.Method == "GET" && req.URL.Path == "/api/orders/":
			found := false
			for _, x := range body.Orders {
				if x["status"] != "confirmed" || x["payment_status"] != "paid" {
					t.Errorf("the list holds an order %v / %v", x["status"], x["payment_status"])
				}
				found = found || int64(x["id"].(float64)) == o.ID
			}
			if !found {
				t.Fatalf("the paid order is not in the list: %s", raw)
			}
			vars["ORDER_ID"] = itoa(o.ID) // "an id from that list"
		case req.Method == "GET" && req.URL.Path == "/api/payments/":
			if len(body.Payments) != 1 || body.Payments[0]["status"] != "completed" {
				t.Errorf("the order's completed payments: %s", raw)
			}
		case req.Method == "POST" && req.URL.Path == "/api/integrations/":
			created = body.Integration.ID
			vars["INTEGRATION_ID"] = itoa(created)
		}
	}
	if ran != 6 {
		t.Errorf("the session made %d calls, want seed 001's 6", ran)
	}
	if got := e.order(t, o.ID); got.Status != model.OrderShipped || got.TrackingNumber != "ARAS123456789" {
		t.Errorf("after the session the order is %s with tracking %q", got.Status, got.TrackingNumber)
	}
	in, err := e.store.FindIntegrationByID(ctx, e.demo.ID, created)
	if err != nil || in.Description != "Kuveyt Türk, test keys" || in.Status != model.IntegrationTest {
		t.Errorf("the integration made by the session: %+v, %v", in, err)
	}
}

func isVarName(s string) bool {
	for _, r := range s {
		if !unicode.IsUpper(r) && r != '_' {
			return false
		}
	}
	return s != ""
}

// readmeSession reads the sh block after <!-- api-session --> in README.md and
// splits it into commands of words, as sh would: quotes, $VAR kept for later,
// comments, and backslash-newline continuations.
func readmeSession(t *testing.T) [][]string {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "<!-- api-session -->\n```sh\n")
	if !ok {
		t.Fatal("README.md has no api-session block")
	}
	block, _, _ := strings.Cut(rest, "```")
	var cmds [][]string
	var words []string
	var word strings.Builder
	inWord := false
	endWord := func() {
		if inWord {
			words = append(words, word.String())
			word.Reset()
			inWord = false
		}
	}
	endCmd := func() {
		endWord()
		if len(words) > 0 {
			cmds = append(cmds, words)
			words = nil
		}
	}
	for i := 0; i < len(block); i++ {
		ch := block[i]
		switch {
		case ch == '\\' && i+1 < len(block) && block[i+1] == '\n':
			i++
		case ch == '\n':
			endCmd()
		case ch == ' ' || ch == '\t':
			endWord()
		case ch == '#' && !inWord:
			for i < len(block) && block[i] != '\n' {
				i++
			}
			endCmd()
		case ch == '\'':
			j := strings.IndexByte(block[i+1:], '\'')
			// Single quotes are literal: mark their dollars so they are not expanded.
			word.WriteString(strings.ReplaceAll(block[i+1:i+1+j], "$", "\x00"))
			inWord, i = true, i+1+j
		case ch == '"':
			j := strings.IndexByte(block[i+1:], '"')
			word.WriteString(block[i+1 : i+1+j])
			inWord, i = true, i+1+j
		default:
			word.WriteByte(ch)
			inWord = true
		}
	}
	endCmd()
	return cmds
}

// curlRequest builds the request of one curl command line, expanding $VARs.
func curlRequest(t *testing.T, words []string, vars map[string]string) *http.Request {
	t.Helper()
	expand := func(s string) string {
		s = os.Expand(s, func(k string) string {
			v, ok := vars[k]
			if !ok {
				t.Fatalf("README session uses $%s before setting it", k)
			}
			return v
		})
		return strings.ReplaceAll(s, "\x00", "$")
	}
	if words[0] != "curl" {
		t.Fatalf("not a curl command: %v", words)
	}
	method, data, target := "", "", ""
	header := http.Header{}
	for i := 1; i < len(words); i++ {
		switch words[i] {
		case "-s":
		case "-X":
			i++
			method = words[i]
		case "-H":
			i++
			k, v, _ := strings.Cut(expand(words[i]), ":")
			header.Add(k, strings.TrimSpace(v))
		case "-d":
			i++
			data = expand(words[i])
		default:
			if strings.HasPrefix(words[i], "-") {
				t.Fatalf("curl option %s is not understood by this test", words[i])
			}
			target = expand(words[i])
		}
	}
	if method == "" {
		method = "GET"
		if data != "" {
			method = "POST"
		}
	}
	var body io.Reader
	if data != "" {
		body = strings.NewReader(data)
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	return req
}
