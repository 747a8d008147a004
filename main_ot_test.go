package main

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"orderdesk/model"
	"orderdesk/providers/otapi"
	"orderdesk/services/procurement"
)

// otWorld is a data folder whose demo shop buys through OT Platform, and
// the OT sandbox on a loopback server of its own: the outside world, which
// outlives our processes.
type otWorld struct {
	data string
	sb   *otapi.Sandbox
	srv  *httptest.Server
}

func newOTWorld(t *testing.T) (*otWorld, *model.Store, *model.Tenant) {
	t.Helper()
	model.PasswordCost = bcrypt.MinCost
	ctx := context.Background()
	w := &otWorld{data: t.TempDir()}
	sdb, err := sql.Open("sqlite3", "file:"+filepath.Join(t.TempDir(), "sandbox.db")+"?_journal_mode=WAL&_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sdb.Close() })
	if w.sb, err = otapi.NewSandbox(sdb, otapi.SandboxConfig{}); err != nil {
		t.Fatal(err)
	}
	w.srv = httptest.NewServer(w.sb)
	t.Cleanup(w.srv.Close)
	w.sb.SetBaseURL(w.srv.URL)

	store, _, err := openStore(ctx, config{Data: w.data})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.SeedDemo(ctx, "demo-password"); err != nil {
		t.Fatal(err)
	}
	demo, _ := store.FindTenantBySlug(ctx, "demo")
	p, name, key, secret, ep := model.ProviderOTAPI, "OT", otapi.DemoInstanceKey, otapi.DemoSecret+":"+otapi.DemoOperatorPassword, w.sb.APIURL()
	in, err := store.CreateIntegration(ctx, demo.ID, nil, model.IntegrationInput{Provider: &p, Name: &name, APIKey: &key, APISecret: &secret,
		TestEndpoint: &ep, Config: map[string]string{"operator_login": otapi.DemoOperatorLogin}})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.SaveProcurementSettings(ctx, demo.ID, model.ProcurementSettings{Channel: model.ChannelOT, OTBuyerLogin: otapi.DemoUserLogin,
		OTBuyerPassword: otapi.DemoUserPassword, OTUserProfileID: otapi.DemoUserProfileID, OTDeliveryModeID: otapi.DemoDeliveryModeID,
		OTWarehouse: model.OTWarehouse{Mobile: "13800138000", RegionCode: "150784", Zip: "021400", Address: "义乌市国际商贸城"}}); err != nil {
		t.Fatal(err)
	}
	w.authorise(t, store, demo, in.ID)
	return w, store, demo
}

// authorise goes through the sandbox's provider page as an operator does
// and keeps the session it gives back.
func (w *otWorld) authorise(t *testing.T, store *model.Store, tn *model.Tenant, integrationID int64) {
	t.Helper()
	ctx := context.Background()
	c := otapi.New(otapi.Config{BaseURL: w.sb.APIURL(), InstanceKey: otapi.DemoInstanceKey, Secret: otapi.DemoSecret,
		OperatorLogin: otapi.DemoOperatorLogin, OperatorPassword: otapi.DemoOperatorPassword})
	op, err := c.AuthenticateInstanceOperator(ctx)
	if err != nil {
		t.Fatal(err)
	}
	page, err := c.ProviderAuthURL(ctx, op, otapi.ProviderTaobao, "http://shop.test/oauth/otapi/return?state=s")
	if err != nil {
		t.Fatal(err)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noRedirect.PostForm(page, url.Values{"decision": {"authorize"}, "account": {otapi.DemoProviderLogin}})
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	back, _ := url.Parse(res.Header.Get("Location"))
	id, err := otapi.ParseProviderReturn(back.Query())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.SaveOTProviderSession(ctx, tn, integrationID, otapi.DemoProviderLogin, id, time.Now().Add(24*time.Hour), model.SystemActor); err != nil {
		t.Fatal(err)
	}
}

// TestOTCrashBetweenAddOrderAndCommit kills a real process after OT answered
// AddOrder and before OrderDesk recorded it, then runs the CLI again: the
// rerun finds the OT order by our comment and goes on with it; OT has one
// order for ours, not two. The CLI prints a line per order with its OT
// order id, syncs the lines, lists the sessions, and exits non-zero when it
// cannot run.
func TestOTCrashBetweenAddOrderAndCommit(t *testing.T) {
	w, store, demo := newOTWorld(t)
	ctx := context.Background()
	orderID := paidDemoOrder(t, store, demo, "BAG-TOTE")
	o, _ := store.FindOrderByID(ctx, demo.ID, orderID)
	store.DB.Close()

	child := exec.Command(os.Args[0], "-test.run=^TestOTCrashChild$")
	child.Env = append(os.Environ(), "ORDERDESK_OT_CRASH_CHILD=1", "ORDERDESK_DATA="+w.data)
	out, err := child.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 137 {
		t.Fatalf("the child did not die where it should: %v\n%s", err, out)
	}
	orders, _ := w.sb.Orders(10)
	if len(orders) != 1 || orders[0].Comment != o.Number+" #1" {
		t.Fatalf("orders at OT after the crash: %+v", orders)
	}

	// The sandbox plays OT on a loopback address of its own, as a provider on
	// the instance's own network would be: the operator allows it.
	text, err := runCLI(t, "ot", "export", "--data", w.data, "--allow-private-endpoints")
	if err != nil {
		t.Fatalf("rerun: %v\n%s", err, text)
	}
	if !strings.Contains(text, "found at OT by its comment") || !strings.Contains(text, "OT order "+orders[0].ID) || !strings.Contains(text, "export to Taobao started") {
		t.Errorf("rerun output:\n%s", text)
	}
	if orders, _ = w.sb.Orders(10); len(orders) != 1 || orders[0].Paid != orders[0].Total {
		t.Fatalf("orders at OT after the rerun: %d, want 1 (no duplicate), paid", len(orders))
	}
	if b, _ := w.sb.Balance(otapi.DemoCustomerID); b != 0 {
		t.Errorf("the buyer's balance after the simulated payment: %d, want 0 (topped up once, paid once)", b)
	}

	text, err = runCLI(t, "ot", "sync", "--order-id", itoa(orderID), "--data", w.data, "--allow-private-endpoints")
	if err != nil || !strings.Contains(text, "OT order "+orders[0].ID) || !strings.Contains(text, "BAG-TOTE: Taobao order") {
		t.Errorf("ot sync: %v\n%s", err, text)
	}
	text, err = runCLI(t, "ot", "sync", "--data", w.data, "--allow-private-endpoints")
	if err != nil || !strings.Contains(text, "waybill") {
		t.Errorf("second ot sync: %v\n%s", err, text)
	}
	store, _, _ = openStore(ctx, config{Data: w.data})
	defer store.DB.Close()
	got, _ := store.FindOrderByID(ctx, demo.ID, orderID)
	if got.Lines[0].SupplierTrack == "" || got.Lines[0].PurchaseID == "" {
		t.Errorf("the line after the syncs: %+v", got.Lines[0])
	}

	text, err = runCLI(t, "ot", "sessions", "--data", w.data, "--allow-private-endpoints")
	if err != nil || !strings.Contains(text, "demo:") || !strings.Contains(text, otapi.DemoProviderLogin) || !strings.Contains(text, "ends in") {
		t.Errorf("ot sessions: %v\n%s", err, text)
	}
	if text, err = runCLI(t, "ot", "sessions", "--tenant", "demo-tr", "--data", w.data); err == nil {
		t.Errorf("ot sessions of a shop without OT succeeded:\n%s", text)
	}
	if text, err = runCLI(t, "ot", "export", "--order-id", "999999", "--data", w.data); err == nil || !strings.Contains(err.Error(), "in no shop") {
		t.Errorf("ot export of an unknown order: %v\n%s", err, text)
	}
	// Without the sandbox allowed, the calls are refused and the run fails.
	paidDemoOrder(t, store, demo, "TS-WHITE-M")
	if text, err = runCLI(t, "ot", "export", "--data", w.data); err != nil || !strings.Contains(text, "✗") {
		t.Errorf("ot export with OT unreachable: %v\n%s", err, text)
	}
}

// TestOTCrashChild is the process TestOTCrashBetweenAddOrderAndCommit
// kills; it does nothing unless started by it.
func TestOTCrashChild(t *testing.T) {
	if os.Getenv("ORDERDESK_OT_CRASH_CHILD") != "1" {
		return
	}
	store, _, err := openStore(context.Background(), config{Data: os.Getenv("ORDERDESK_DATA")})
	if err != nil {
		t.Fatal(err)
	}
	demo, err := store.FindTenantBySlug(context.Background(), model.DemoTenantSlug)
	if err != nil {
		t.Fatal(err)
	}
	// A claim shorter than the parent's rerun takes to start: the rerun may
	// take the order up at once.
	svc := procurement.New(procurement.Config{Store: store, ClaimFor: time.Millisecond,
		AfterAdd: func(*model.OTOrder, string) { os.Exit(137) }})
	if err := svc.Export(context.Background(), demo, 0, model.JobActor("test"), &procurement.Report{}); err != nil {
		t.Fatal(err)
	}
	t.Fatal("the child survived AddOrder")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
