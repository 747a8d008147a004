package handlers_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"golang.org/x/crypto/bcrypt"

	"orderdesk/handlers"
	"orderdesk/jobs"
	"orderdesk/model"
	"orderdesk/providers/egress"
	"orderdesk/services/delivery"
	"orderdesk/services/messaging"
	"orderdesk/services/payments"
	"orderdesk/services/procurement"
)

const demoPassword = "demo-password-1"

func TestMain(m *testing.M) {
	// The lowest bcrypt cost: the race detector makes the default take most of a
	// second per sign-in, and the tests sign in often.
	model.PasswordCost = bcrypt.MinCost
	code := m.Run()
	// The flows assert each payment completes once; this only counts, for the
	// closing note, what they fired.
	if fired.duplicates+fired.outOfOrder > 0 {
		fmt.Printf("webhooks fired by the payment flows: %d duplicates, %d out of order, %d applied twice\n",
			fired.duplicates, fired.outOfOrder, fired.doubleApplied)
	}
	if sweepCount > 0 {
		fmt.Printf("cross-shop requests tried by the sweep: %d\n", sweepCount)
	}
	os.Exit(code)
}

// env is the real application on a temp-file database behind an httptest server,
// with the providers' sandboxes served by the same server, as in the demo.
type env struct {
	t         testing.TB
	srv       *httptest.Server
	base      string // the app's base URL: http://localhost:{port}, the server's
	store     *model.Store
	demo      *model.Tenant
	sandboxes *handlers.Sandboxes
	app       *handlers.App
	pay       *payments.Service
	msg       *messaging.Service
	policy    egress.Policy
	delivery  *delivery.Service
	ot        *procurement.Service
	// loseNotifications makes the network drop the providers' notifications
	// before they reach the shop (a webhook lost on the way).
	loseNotifications atomic.Bool
	sched             *jobs.Scheduler
}

// newEnv starts the application with the server's jobs, and extra jobs when a
// test needs one of its own (a slow one, say).
func newEnv(t testing.TB, extra ...*jobs.Job) *env {
	t.Helper()
	return newEnvAllowing(t, nil, extra...)
}

// newEnvAllowing is newEnv whose provider calls may also reach the loopback
// addresses under allowed (a "live" provider of a test's own).
func newEnvAllowing(t testing.TB, allowed []string, extra ...*jobs.Job) *env {
	t.Helper()
	db, err := model.Open(filepath.Join(t.TempDir(), "orderdesk.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	keys, _ := model.NewKeyring(key)
	store := model.NewStore(db, keys)
	if _, err := store.SeedDemo(context.Background(), demoPassword); err != nil {
		t.Fatal(err)
	}
	demo, err := store.FindTenantBySlug(context.Background(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	// The listener first, so that the sandboxes and the webhooks know the address.
	srv := httptest.NewUnstartedServer(nil)
	addr := "http://" + srv.Listener.Addr().String()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	base := "http://localhost:" + port
	sdb, err := sql.Open("sqlite3", "file:"+filepath.Join(t.TempDir(), "sandbox.db")+"?_journal_mode=WAL&_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sdb.Close() })
	sandboxes, err := handlers.NewSandboxes(sdb, addr, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sandboxes.Close() })
	// Every demo shop gets its integrations, as at the demo's first start.
	for _, slug := range model.DemoTenants {
		shop, err := store.FindTenantBySlug(context.Background(), slug)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range handlers.DemoIntegrations(addr, sandboxes.SMTPAddr()) {
			if _, err := store.CreateIntegration(context.Background(), shop.ID, nil, in); err != nil {
				t.Fatal(err)
			}
		}
		if err := store.SaveProcurementSettings(context.Background(), shop.ID, handlers.DemoProcurementSettings(slug)); err != nil {
			t.Fatal(err)
		}
	}
	// As in the demo, provider calls may reach this server's sandboxes and
	// nothing else on loopback.
	policy := egress.Policy{Allowed: append([]string{addr + "/sandbox/", "smtp://" + sandboxes.SMTPAddr()}, allowed...)}
	proc := &jobs.Procurement{Store: store, HTTPClient: policy.Client(30 * time.Second)}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	pay := payments.New(payments.Config{Store: store, Log: quiet, CallbackBaseURL: addr, HTTPClient: policy.Client(30 * time.Second),
		ShopURL: func(t *model.Tenant) string { return model.ShopURL(base, t, "demo") }})
	msg := messaging.New(messaging.Config{Store: store, Log: quiet, Egress: policy,
		ShopURL: func(t *model.Tenant) string { return model.ShopURL(base, t, "demo") }})
	del := delivery.New(delivery.Config{Store: store, Log: quiet, CallbackBaseURL: addr, HTTPClient: policy.Client(30 * time.Second)})
	ot := procurement.New(procurement.Config{Store: store, Log: quiet, HTTPClient: policy.Client(30 * time.Second),
		ShopURL: func(t *model.Tenant) string { return model.ShopURL(base, t, "demo") }})
	// The demo's Dostavista "cabinet" sends its callbacks to the demo shop.
	if err := sandboxes.ConnectDemoCallbacks(context.Background(), store, addr); err != nil {
		t.Fatal(err)
	}
	// The scheduler is not started: tests run jobs by "Run now" or RunOnce.
	sched := jobs.New(store, quiet, append(append([]*jobs.Job{
		jobs.ExpireUnpaid(pay),
		jobs.PollPayments(pay, 3*time.Second, 30*time.Minute),
		jobs.Refunds(pay),
		jobs.SendMessages(msg),
		jobs.FetchCDEK(del),
		jobs.FetchDostavista(del),
	}, append(proc.Jobs(), jobs.OTJobs(ot)...)...), extra...)...)
	app, err := handlers.New(store, handlers.Config{
		BaseURL: base, DefaultTenant: "demo", CallbackBaseURL: addr, Sandboxes: sandboxes,
		Logger: quiet, Procurement: proc, Payments: pay, Delivery: del, OT: ot, Egress: policy,
		Jobs: func() []handlers.JobInfo {
			var out []handlers.JobInfo
			for _, j := range sched.Jobs() {
				out = append(out, handlers.JobInfo{Name: j.Name, Interval: j.Interval})
			}
			return out
		},
		RunJob: func(ctx context.Context, t *model.Tenant, name string, wait time.Duration) (*model.JobRun, error) {
			return sched.RunNow(ctx, t, name, wait)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	sched.Observe(app.ObserveJobRun) // as serve wires it
	e := &env{t: t, srv: srv, store: store, demo: demo, sandboxes: sandboxes, app: app, pay: pay, msg: msg, delivery: del, ot: ot, policy: policy, base: base, sched: sched}
	handler := app.Handler()
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The network between a provider and the shop can lose notifications.
		if e.loseNotifications.Load() && strings.HasPrefix(r.URL.Path, "/webhooks/") {
			http.Error(w, "lost on the way", http.StatusBadGateway)
			return
		}
		handler.ServeHTTP(w, r)
	})
	srv.Start()
	t.Cleanup(srv.Close)
	return e
}

// client is a browser-like client of one host: it keeps cookies and does not follow
// redirects, so tests see every 303.
type client struct {
	t     testing.TB
	e     *env
	host  string // the Host header, e.g. "shop2.localhost"; "" for the bare address
	http  *http.Client
	token string // the CSRF token for API calls
}

func (e *env) client(t testing.TB, host string) *client {
	jar, _ := cookiejar.New(nil)
	listener := e.srv.Listener.Addr().String()
	// localhost and its subdomains are this machine, as browsers take them
	// (RFC 6761): every such address reaches the test server.
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		if h, _, err := net.SplitHostPort(addr); err == nil && (h == "localhost" || strings.HasSuffix(h, ".localhost")) {
			addr = listener
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	return &client{t: t, e: e, host: host, http: &http.Client{
		Jar:           jar,
		Transport:     &http.Transport{DialContext: dial},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// do sends a request and returns the response with its body read.
func (c *client) do(method, path string, body io.Reader, header http.Header) (*http.Response, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.e.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if c.host != "" {
		req.Host = c.host
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func (c *client) get(path string) (*http.Response, *goquery.Document) {
	c.t.Helper()
	res, body := c.do("GET", path, nil, nil)
	return res, parseHTML(c.t, body)
}

// csrf reads the form token from the sign-in page, as a browser would get it.
func (c *client) csrf() string {
	c.t.Helper()
	res, doc := c.get("/admin/login")
	if res.StatusCode == http.StatusSeeOther { // signed in already: any page has it
		_, doc = c.get(res.Header.Get("Location"))
	}
	tok, ok := doc.Find(`input[name="_csrf"]`).Attr("value")
	if !ok || tok == "" {
		c.t.Fatal("no CSRF token on the sign-in page")
	}
	return tok
}

// postForm posts a form with the CSRF token added.
func (c *client) postForm(path string, v url.Values) (*http.Response, *goquery.Document) {
	c.t.Helper()
	if v == nil {
		v = url.Values{}
	}
	if _, ok := v["_csrf"]; !ok {
		v.Set("_csrf", c.csrf())
	}
	res, body := c.do("POST", path, strings.NewReader(v.Encode()), http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
	return res, parseHTML(c.t, body)
}

// login signs in through the real form and fails the test unless it worked.
func (c *client) login(email, password string) {
	c.t.Helper()
	res, _ := c.postForm("/admin/login", url.Values{"email": {email}, "password": {password}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin/" {
		c.t.Fatalf("sign-in as %s: got %d to %q, want 303 to /admin/", email, res.StatusCode, res.Header.Get("Location"))
	}
}

// cookie returns the value of the named cookie the client holds.
func (c *client) cookie(name string) string {
	u, _ := url.Parse(c.e.base)
	for _, ck := range c.http.Jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

func parseHTML(t testing.TB, body string) *goquery.Document {
	t.Helper()
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func wantStatus(t *testing.T, res *http.Response, want int) {
	t.Helper()
	if res.StatusCode != want {
		t.Fatalf("%s %s: got status %d, want %d", res.Request.Method, res.Request.URL.Path, res.StatusCode, want)
	}
}

// api sends a JSON request with the CSRF token (fetched once per client, as an
// API client would) and decodes the JSON answer.
func (c *client) api(method, path string, body any) (*http.Response, map[string]any) {
	c.t.Helper()
	if c.token == "" {
		_, raw := c.do("GET", "/api/auth/csrf/", nil, nil)
		var tok struct {
			Token string `json:"csrf_token"`
		}
		json.Unmarshal([]byte(raw), &tok)
		c.token = tok.Token
	}
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	res, raw := c.do(method, path, r, http.Header{"Content-Type": {"application/json"}, "X-Csrf-Token": {c.token}})
	out := map[string]any{}
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		c.t.Fatalf("%s %s: answer is not JSON (%d): %s", method, path, res.StatusCode, raw)
	}
	return res, out
}

// apiLogin signs a customer in through the API.
func (c *client) apiLogin(email, password string) {
	c.t.Helper()
	res, body := c.api("POST", "/api/auth/login/", map[string]string{"email": email, "password": password})
	if res.StatusCode != http.StatusOK {
		c.t.Fatalf("customer sign-in: %d %v", res.StatusCode, body)
	}
}

// get reads a nested value of a decoded JSON object: get(m, "order", "status").
func get(m map[string]any, path ...string) any {
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[p]
	}
	return v
}
