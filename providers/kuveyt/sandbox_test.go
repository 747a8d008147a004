package kuveyt

import (
	"context"
	"database/sql"
	"errors"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
)

// shop is the merchant side in tests: OkUrl and FailUrl handlers that read
// AuthenticationResponse with the package's parser and, on "00", provision.
type shop struct {
	client *Client
	mu     sync.Mutex
	auths  []*AuthResponse
	provs  []*ProvisionResponse
	errs   []error
	srv    *httptest.Server
}

func (s *shop) handle(w http.ResponseWriter, r *http.Request) {
	a, err := ParseAuthenticationResponse(r.FormValue("AuthenticationResponse"))
	var p *ProvisionResponse
	if err == nil && a.OK() && r.URL.Path == "/ok" {
		p, err = s.client.Provision(r.Context(), ProvisionRequest{MerchantOrderID: a.MerchantOrderID, AmountMinor: a.AmountMinor, MD: a.MD})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if a != nil {
		s.auths = append(s.auths, a)
	}
	if p != nil {
		s.provs = append(s.provs, p)
	}
	if err != nil {
		s.errs = append(s.errs, err)
		http.Error(w, Explain(err), http.StatusPaymentRequired)
		return
	}
	_, _ = io.WriteString(w, "thank you")
}

type env struct {
	sb     *Sandbox
	srv    *httptest.Server
	client *Client
	shop   *shop
	db     *sql.DB
}

func openDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", filepath.Join(t.TempDir(), "sandbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newEnv(t *testing.T) *env {
	t.Helper()
	db := openDB(t)
	sb, err := NewSandbox(db, SandboxConfig{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	sb.SetBaseURL(srv.URL)
	e := &env{sb: sb, srv: srv, db: db, client: New(sb.ClientConfig())}
	e.shop = &shop{client: e.client}
	e.shop.srv = httptest.NewServer(http.HandlerFunc(e.shop.handle))
	t.Cleanup(e.shop.srv.Close)
	return e
}

var testCard = Card{Number: "4033602562020327", HolderName: "Test Kart", ExpMonth: 1, ExpYear: 2030, CVV: "861"}

func (e *env) payGate(t *testing.T, c *Client, orderID string, amount int64) ([]byte, error) {
	t.Helper()
	return c.PayGate(context.Background(), PayGateRequest{
		MerchantOrderID: orderID, AmountMinor: amount, OkURL: e.shop.srv.URL + "/ok", FailURL: e.shop.srv.URL + "/fail",
		Card: testCard, Email: "buyer@test", ClientIP: "127.0.0.1",
	})
}

var (
	reAction = regexp.MustCompile(`action="([^"]*)"`)
	reHidden = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
)

// form reads an auto-posting form page as a browser would.
func form(t *testing.T, page []byte) (string, url.Values) {
	t.Helper()
	m := reAction.FindSubmatch(page)
	if m == nil || !strings.Contains(string(page), `data-testid="sandbox-continue"`) || !strings.Contains(string(page), "onload=") {
		t.Fatalf("not an auto-posting form with a visible button:\n%s", page)
	}
	vals := url.Values{}
	for _, h := range reHidden.FindAllSubmatch(page, -1) {
		vals.Add(html.UnescapeString(string(h[1])), html.UnescapeString(string(h[2])))
	}
	return html.UnescapeString(string(m[1])), vals
}

func postForm(t *testing.T, target string, vals url.Values) (int, []byte) {
	t.Helper()
	resp, err := http.PostForm(target, vals)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// threeDS follows the bank's HTML to the ACS page, presses a button there,
// and posts the result to the shop; it returns the shop's status.
func (e *env) threeDS(t *testing.T, bankHTML []byte, action string) (int, string) {
	t.Helper()
	acsURL, vals := form(t, bankHTML)
	if !strings.HasPrefix(acsURL, e.srv.URL+"/acs/") || vals.Get("MD") == "" {
		t.Fatalf("bank page posts to %q with %v", acsURL, vals)
	}
	status, page := postForm(t, acsURL, vals)
	if status != 200 {
		t.Fatalf("ACS page: %d", status)
	}
	for _, id := range []string{"sandbox-pay", "sandbox-decline", "sandbox-abandon"} {
		if !strings.Contains(string(page), `data-testid="`+id+`"`) {
			t.Fatalf("ACS page lacks %s:\n%s", id, page)
		}
	}
	status, page = postForm(t, acsURL, url.Values{"action": {action}, "code": {"123456"}})
	if status != 200 {
		t.Fatalf("ACS %s: %d", action, status)
	}
	target, vals := form(t, page)
	if vals.Get("AuthenticationResponse") == "" {
		t.Fatalf("no AuthenticationResponse in:\n%s", page)
	}
	status, _ = postForm(t, target, vals)
	return status, target
}

func TestPayFlowProvisions(t *testing.T) {
	e := newEnv(t)
	page, err := e.payGate(t, e.client, "ORD-DEMO-00000001-ab", 12345)
	if err != nil {
		t.Fatal(err)
	}
	status, target := e.threeDS(t, page, "pay")
	if status != 200 || target != e.shop.srv.URL+"/ok" {
		t.Fatalf("shop answered %d at %s (errors %v)", status, target, e.shop.errs)
	}
	a := e.shop.auths[0]
	if !a.OK() || a.MD == "" || a.AmountMinor != 12345 || a.MerchantOrderID != "ORD-DEMO-00000001-ab" || a.OrderID == "" {
		t.Fatalf("auth = %+v", a)
	}
	p := e.shop.provs[0]
	if p.ResponseCode != "00" || len(p.ProvisionNumber) != 6 || len(p.RRN) != 12 || len(p.Stan) != 6 || p.OrderID != a.OrderID || p.AmountMinor != 12345 {
		t.Fatalf("provision = %+v", p)
	}
	sp, err := e.sb.Payment("ORD-DEMO-00000001-ab")
	if err != nil || sp.State != StateProvisioned || sp.ProvisionNumber != p.ProvisionNumber || strings.Contains(sp.CardMasked, "56202") {
		t.Fatalf("sandbox state = %+v, %v", sp, err)
	}
}

func TestDeclineAndAbandonAt3DSecure(t *testing.T) {
	e := newEnv(t)
	for _, tt := range []struct{ action, state string }{{"decline", StateAuthFailed}, {"abandon", StateAbandoned}} {
		t.Run(tt.action+" posts a failed authentication to FailUrl", func(t *testing.T) {
			order := "ORD-" + tt.action
			page, err := e.payGate(t, e.client, order, 5000)
			if err != nil {
				t.Fatal(err)
			}
			_, target := e.threeDS(t, page, tt.action)
			if target != e.shop.srv.URL+"/fail" {
				t.Fatalf("posted to %s", target)
			}
			a := e.shop.auths[len(e.shop.auths)-1]
			if a.OK() || a.ResponseCode != "CommonThreedControlsReturnedFail" || a.MD != "" || a.MerchantOrderID != order {
				t.Fatalf("auth = %+v", a)
			}
			if sp, _ := e.sb.Payment(order); sp.State != tt.state {
				t.Fatalf("state = %s", sp.State)
			}
		})
	}
	if len(e.shop.provs) != 0 {
		t.Fatal("a failed 3D Secure was provisioned")
	}
}

func TestDeclineNextAnswers51AtProvision(t *testing.T) {
	e := newEnv(t)
	if err := e.sb.DeclineNext(); err != nil {
		t.Fatal(err)
	}
	page, err := e.payGate(t, e.client, "ORD-51", 5000)
	if err != nil {
		t.Fatal(err)
	}
	status, _ := e.threeDS(t, page, "pay")
	if status != http.StatusPaymentRequired || len(e.shop.errs) != 1 {
		t.Fatalf("shop: %d %v", status, e.shop.errs)
	}
	var ke *Error
	if !errors.As(e.shop.errs[0], &ke) || ke.Code != "51" || Explain(ke) != "The card has insufficient funds." {
		t.Fatalf("err = %v", e.shop.errs[0])
	}
	if sp, _ := e.sb.Payment("ORD-51"); sp.State != StateDeclined {
		t.Fatalf("state = %s", sp.State)
	}
}

func TestWrongCredentialsAreRefusedWithTheBankCodes(t *testing.T) {
	e := newEnv(t)
	cfg := e.sb.ClientConfig()
	cfg.Password = "wrong"
	_, err := e.payGate(t, New(cfg), "ORD-H", 100)
	var ke *Error
	if !errors.As(err, &ke) || ke.Code != "HashDataError" {
		t.Fatalf("wrong password: %v", err)
	}
	cfg = e.sb.ClientConfig()
	cfg.UserName = "nobody"
	if _, err := e.payGate(t, New(cfg), "ORD-U", 100); !errors.As(err, &ke) || ke.Code != "ApiUserNotDefined" {
		t.Fatalf("wrong user: %v", err)
	}
	// Provision with a wrong password after a good 3D Secure.
	page, err := e.payGate(t, e.client, "ORD-P", 100)
	if err != nil {
		t.Fatal(err)
	}
	e.shop.client = New(Config{BaseURL: e.srv.URL, MerchantID: DemoMerchantID, CustomerID: DemoCustomerID, UserName: DemoUserName, Password: "wrong"})
	e.threeDS(t, page, "pay")
	if len(e.shop.errs) != 1 || !errors.As(e.shop.errs[0], &ke) || ke.Code != "HashDataError" {
		t.Fatalf("provision with a wrong password: %v", e.shop.errs)
	}
	if sp, _ := e.sb.Payment("ORD-P"); sp.State != StateAuthenticated {
		t.Fatalf("state = %s", sp.State)
	}
}

func TestDuplicateCallbackDoesNotChargeTwice(t *testing.T) {
	e := newEnv(t)
	page, err := e.payGate(t, e.client, "ORD-DUP", 700)
	if err != nil {
		t.Fatal(err)
	}
	e.threeDS(t, page, "pay")
	if len(e.shop.provs) != 1 {
		t.Fatalf("provisions = %d (%v)", len(e.shop.provs), e.shop.errs)
	}
	// The shopper re-posts the same answer (back button, refresh).
	value, err := e.sb.AuthenticationResponse("ORD-DUP")
	if err != nil {
		t.Fatal(err)
	}
	status, _ := postForm(t, e.shop.srv.URL+"/ok", url.Values{"AuthenticationResponse": {value}})
	var ke *Error
	if status != http.StatusPaymentRequired || len(e.shop.provs) != 1 || !errors.As(e.shop.errs[0], &ke) || ke.Code != "MetaDataNotFound" {
		t.Fatalf("second callback: %d, %d provisions, %v", status, len(e.shop.provs), e.shop.errs)
	}
}

func TestProvisionChecksMDOrderAndAmount(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var ke *Error
	if _, err := e.client.Provision(ctx, ProvisionRequest{MerchantOrderID: "X", AmountMinor: 1, MD: "bogus"}); !errors.As(err, &ke) || ke.Code != "MetaDataNotFound" {
		t.Fatalf("unknown MD: %v", err)
	}
	page, _ := e.payGate(t, e.client, "ORD-AM", 1000)
	acsURL, vals := form(t, page)
	postForm(t, acsURL, vals)
	_, resp := postForm(t, acsURL, url.Values{"action": {"pay"}})
	_, fields := form(t, resp)
	a, err := ParseAuthenticationResponse(fields.Get("AuthenticationResponse"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.Provision(ctx, ProvisionRequest{MerchantOrderID: "ORD-AM", AmountMinor: 999, MD: a.MD}); !errors.As(err, &ke) || ke.Code != "MetaDataNotFound" {
		t.Fatalf("other amount: %v", err)
	}
	if _, err := e.client.Provision(ctx, ProvisionRequest{MerchantOrderID: "ORD-AM", AmountMinor: 1000, MD: a.MD}); err != nil {
		t.Fatalf("right amount: %v", err)
	}
	// A raw provision without MD gets the bank's EmptyMDException.
	resp2, err := http.Post(e.srv.URL+"/Home/ThreeDModelProvisionGate", "application/xml",
		strings.NewReader(`<KuveytTurkVPosMessage><APIVersion>1.0.0</APIVersion><HashData>`+
			ProvisionHash(DemoMerchantID, "ORD-AM", "1000", DemoUserName, HashPassword(DemoPassword))+
			`</HashData><MerchantId>496</MerchantId><CustomerId>400235</CustomerId><UserName>apiuser1</UserName>`+
			`<MerchantOrderId>ORD-AM</MerchantOrderId><Amount>1000</Amount></KuveytTurkVPosMessage>`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp2.Body)
	resp2.Body.Close()
	if !strings.Contains(string(b), "<ResponseCode>EmptyMDException</ResponseCode>") {
		t.Fatalf("no MD: %s", b)
	}
}

func TestFailNextAndLatency(t *testing.T) {
	e := newEnv(t)
	if err := e.sb.FailNext(); err != nil {
		t.Fatal(err)
	}
	_, err := e.payGate(t, e.client, "ORD-F", 100)
	var ke *Error
	if !errors.As(err, &ke) || ke.HTTPStatus != 500 || !strings.Contains(Explain(err), "problem") {
		t.Fatalf("fail next: %v", err)
	}
	if _, err := e.payGate(t, e.client, "ORD-F", 100); err != nil {
		t.Fatalf("after the switch: %v", err)
	}
	if err := e.sb.SetLatency(300 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	_, err = e.client.Provision(ctx, ProvisionRequest{MerchantOrderID: "X", AmountMinor: 1, MD: "m"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("latency: %v", err)
	}
	_ = e.sb.SetLatency(0)
}

func TestControlPageAndRestart(t *testing.T) {
	e := newEnv(t)
	page, _ := e.payGate(t, e.client, "ORD-CTL", 2500)
	e.threeDS(t, page, "pay")
	resp, err := http.Get(e.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "ORD-CTL") || !strings.Contains(string(body), `data-testid="sandbox-decline-next"`) {
		t.Fatalf("control page %d:\n%s", resp.StatusCode, body)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noFollow.PostForm(e.srv.URL+"/_control", url.Values{"action": {"decline_next"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "./") {
		t.Fatalf("control POST: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	sb2, err := NewSandbox(e.db, SandboxConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if sp, err := sb2.Payment("ORD-CTL"); err != nil || sp.State != StateProvisioned {
		t.Fatalf("after restart: %+v, %v", sp, err)
	}
	// The switch set before the restart is still on.
	srv2 := httptest.NewServer(sb2)
	defer srv2.Close()
	sb2.SetBaseURL(srv2.URL)
	e.sb, e.srv = sb2, srv2
	c2 := New(sb2.ClientConfig())
	e.shop.client = c2
	page, err = e.payGate(t, c2, "ORD-CTL-2", 100)
	if err != nil {
		t.Fatal(err)
	}
	e.threeDS(t, page, "pay")
	if sp, _ := sb2.Payment("ORD-CTL-2"); sp.State != StateDeclined {
		t.Fatalf("decline-next across restart: %s", sp.State)
	}
}

func TestMountedUnderAPrefix(t *testing.T) {
	sb, err := NewSandbox(openDB(t), SandboxConfig{})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/sandbox/kuveyt/", http.StripPrefix("/sandbox/kuveyt", sb))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	sb.SetBaseURL(srv.URL + "/sandbox/kuveyt")
	e := &env{sb: sb, srv: srv, client: New(sb.ClientConfig())}
	e.shop = &shop{client: e.client}
	e.shop.srv = httptest.NewServer(http.HandlerFunc(e.shop.handle))
	defer e.shop.srv.Close()
	page, err := e.payGate(t, e.client, "ORD-MOUNT", 100)
	if err != nil {
		t.Fatal(err)
	}
	acsURL, _ := form(t, page)
	if !strings.HasPrefix(acsURL, srv.URL+"/sandbox/kuveyt/acs/") {
		t.Fatalf("ACS link = %q", acsURL)
	}
	e.srv = &httptest.Server{URL: srv.URL + "/sandbox/kuveyt"}
	if status, _ := e.threeDS(t, page, "pay"); status != 200 || len(e.shop.provs) != 1 {
		t.Fatalf("flow through the mount: %d %v", status, e.shop.errs)
	}
}
