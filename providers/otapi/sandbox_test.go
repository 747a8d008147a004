package otapi

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const returnURL = "https://shop.example/admin/integrations/otapi/return?tenant=1"

// Items of the sandbox's catalogue.
var (
	tshirt   = OrderItem{ID: "652871233140", ConfigurationID: "4893019283744", Quantity: 1} // cotton_house, 39.00
	jacket   = OrderItem{ID: "652871233141", ConfigurationID: "4893019283745", Quantity: 1} // cotton_house, 159.00
	tote     = OrderItem{ID: "652871233142", ConfigurationID: "4893019283746", Quantity: 2} // bag_corner, 25.00
	teaSet   = OrderItem{ID: "701245560311", ConfigurationID: "5012238871101", Quantity: 1} // price changed at Taobao
	lamp     = OrderItem{ID: "701245560313", ConfigurationID: "5012238871103", Quantity: 5} // 3 in stock
	stand    = OrderItem{ID: "701245560312", ConfigurationID: "5012238871102", Quantity: 1} // bamboo_life
	stickers = OrderItem{ID: "701245560399", Quantity: 1}                                   // no options
	earbuds  = OrderItem{ID: "612093384455", ConfigurationID: "4421097735501", Quantity: 1} // Tmall
	offSale  = OrderItem{ID: "652871230404", ConfigurationID: "4893019280404", Quantity: 1} // skipped
	gone     = OrderItem{ID: "652871230410", ConfigurationID: "4893019280410", Quantity: 1} // seller gone: skipped
	noConfig = OrderItem{ID: "652871239999", Quantity: 1}                                   // has options: 0 is skipped
	typo     = OrderItem{ID: "65287123314", ConfigurationID: "4893019283744", Quantity: 1}  // unknown id: skipped
)

type env struct {
	t       *testing.T
	db      *sql.DB
	sb      *Sandbox
	srv     *httptest.Server
	client  *Client
	clock   *clock
	ctx     context.Context
	browser *http.Client
}

func openDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(t.TempDir(), "sandbox.db")+"?_journal_mode=WAL&_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// newEnv mounts the sandbox under /sandbox/otapi/ as the app does.
func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, db: openDB(t), ctx: context.Background(), clock: &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}}
	sb, err := NewSandbox(e.db, SandboxConfig{Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.sb = sb
	mux := http.NewServeMux()
	mux.Handle("/sandbox/otapi/", http.StripPrefix("/sandbox/otapi", sb))
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	sb.SetBaseURL(e.srv.URL + "/sandbox/otapi")
	e.client = New(Config{BaseURL: sb.APIURL(), InstanceKey: DemoInstanceKey, Secret: DemoSecret,
		OperatorLogin: DemoOperatorLogin, OperatorPassword: DemoOperatorPassword, Now: e.clock.Now})
	e.browser = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return e
}

func (e *env) operator() string {
	e.t.Helper()
	s, err := e.client.AuthenticateInstanceOperator(e.ctx)
	if err != nil {
		e.t.Fatalf("AuthenticateInstanceOperator: %v", err)
	}
	return s
}

// authorise goes through the Taobao login page like the operator's browser
// (form holds the decision and the login) and returns where the browser
// was sent back to.
func (e *env) authorise(op string, form url.Values) *url.URL {
	e.t.Helper()
	u, err := e.client.ProviderAuthURL(e.ctx, op, ProviderTaobao, returnURL)
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := e.browser.Get(u)
	if err != nil {
		e.t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, id := range []string{"sandbox-authorize", "sandbox-refuse", "sandbox-account-" + DemoProviderLogin, "sandbox-account-" + DemoProviderLogin2} {
		if !strings.Contains(string(page), `data-testid="`+id+`"`) {
			e.t.Fatalf("authorisation page has no %s:\n%s", id, page)
		}
	}
	resp, err = e.browser.PostForm(u, form)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("%v: status %d", form, resp.StatusCode)
	}
	back, _ := url.Parse(resp.Header.Get("Location"))
	if !strings.HasPrefix(back.String(), "https://shop.example/admin/integrations/otapi/return?") || back.Query().Get("tenant") != "1" {
		e.t.Fatalf("returned to %s", back)
	}
	return back
}

// provider authorises login and returns its provider session.
func (e *env) provider(op, login string) string {
	e.t.Helper()
	id, err := ParseProviderReturn(e.authorise(op, url.Values{"decision": {"authorize"}, "account": {login}}).Query())
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

func (e *env) buyer() string {
	e.t.Helper()
	buyer, err := e.client.Authenticate(e.ctx, DemoUserLogin, DemoUserPassword, true)
	if err != nil {
		e.t.Fatal(err)
	}
	return buyer
}

func (e *env) orderWith(comment string, items ...OrderItem) *SalesOrder {
	e.t.Helper()
	o, err := e.client.AddOrder(e.ctx, e.buyer(), OrderAddData{DeliveryModeID: DemoDeliveryModeID, Comment: comment, UserProfileID: DemoUserProfileID, Items: items})
	if err != nil {
		e.t.Fatalf("AddOrder: %v", err)
	}
	return o
}

func (e *env) order(items ...OrderItem) *SalesOrder {
	return e.orderWith("OrderDesk ORD-1001", items...)
}

// paidOrder adds an order and pays it as seed 002 does: top the buyer's
// account up, then pay the order from it.
func (e *env) paidOrder(op string, items ...OrderItem) *SalesOrder {
	e.t.Helper()
	o := e.order(items...)
	if err := e.client.PostTransaction(e.ctx, op, o.CustomerID, o.TotalAmount, "OrderDesk payment", true, e.clock.Now()); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.client.SalesPaymentReserve(e.ctx, op, o.ID, o.TotalAmount); err != nil {
		e.t.Fatal(err)
	}
	return o
}

func (e *env) details(op, id string) *SalesOrder {
	e.t.Helper()
	o, err := e.client.SalesOrderDetails(e.ctx, op, id)
	if err != nil {
		e.t.Fatalf("SalesOrderDetails: %v", err)
	}
	return o
}

// read reads an activity once.
func (e *env) read(op string, id *ActivityID) *Activity {
	e.t.Helper()
	a, err := e.client.BackgroundActivity(e.ctx, op, *id)
	if err != nil {
		e.t.Fatalf("BackgroundActivity: %v", err)
	}
	return a
}

// follow reads an activity until it finishes or asks, as a follower does.
func (e *env) follow(op string, id *ActivityID) *Activity {
	e.t.Helper()
	for range 10 {
		if a := e.read(op, id); a.IsFinished || a.IsAwaitingAction {
			return a
		}
	}
	e.t.Fatal("the activity neither finished nor asked in 10 reads")
	return nil
}

func wantCode(t *testing.T, err error, code string) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("err = %v, want %s", err, code)
	}
	return e
}

func lineOf(t *testing.T, o *SalesOrder, item string) OrderLine {
	t.Helper()
	for _, l := range o.Lines {
		if l.ItemID == item {
			return l
		}
	}
	t.Fatalf("order %s has no line of item %s: %+v", o.ID, item, o.Lines)
	return OrderLine{}
}

func TestTestConnectionChecksKeySecretAndOperator(t *testing.T) {
	e := newEnv(t)
	msg, err := e.client.TestConnection(e.ctx)
	if err != nil || msg != "Connected: signed in as operator "+DemoOperatorLogin {
		t.Errorf("TestConnection = %q, %v", msg, err)
	}
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"wrong password", Config{InstanceKey: DemoInstanceKey, Secret: DemoSecret, OperatorLogin: DemoOperatorLogin, OperatorPassword: "x"}, "Invalid operator login"},
		{"wrong key", Config{InstanceKey: "other", Secret: DemoSecret, OperatorLogin: DemoOperatorLogin, OperatorPassword: DemoOperatorPassword}, "Instance key"},
		{"wrong secret", Config{InstanceKey: DemoInstanceKey, Secret: "other", OperatorLogin: DemoOperatorLogin, OperatorPassword: DemoOperatorPassword}, "Signature"},
		{"no secret", Config{InstanceKey: DemoInstanceKey, OperatorLogin: DemoOperatorLogin, OperatorPassword: DemoOperatorPassword}, "Signature"},
		{"clock off by two hours", Config{InstanceKey: DemoInstanceKey, Secret: DemoSecret, OperatorLogin: DemoOperatorLogin, OperatorPassword: DemoOperatorPassword,
			Now: func() time.Time { return e.clock.Now().Add(2 * time.Hour) }}, "Timestamp"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.BaseURL = e.sb.APIURL()
			if tt.cfg.Now == nil {
				tt.cfg.Now = e.clock.Now
			}
			_, err := New(tt.cfg).TestConnection(e.ctx)
			if ee := wantCode(t, err, CodeAccessDenied); !strings.Contains(ee.Description, tt.want) || !strings.Contains(Explain(ee), "refused access") {
				t.Errorf("error = %+v", ee)
			}
		})
	}
	e.sb.BanInstanceKey(true)
	_, err = e.client.TestConnection(e.ctx)
	if ee := wantCode(t, err, CodeInstanceKeyBan); !strings.Contains(Explain(ee), "blocked") {
		t.Errorf("Explain = %q", Explain(ee))
	}
	e.sb.BanInstanceKey(false)
}

// TestTheAutobuyFlowExportsSyncsAndFindsAnOrder follows seed 002 end to end
// through the real client: provider authorisation, AddOrder with items OT
// skips, the simulated payment, the export, synchronisations up to the
// warehouse, and the searches by supplier order, by waybill and by comment.
func TestTheAutobuyFlowExportsSyncsAndFindsAnOrder(t *testing.T) {
	e := newEnv(t)
	op := e.operator()
	prov := e.provider(op, DemoProviderLogin2)
	list, err := e.client.ProviderSessions(e.ctx, op, ProviderTaobao)
	if err != nil || len(list) != 1 || list[0].ID != prov || list[0].Name != DemoProviderLogin2 || !list[0].ExpiresAt.Equal(e.clock.Now().Add(24*time.Hour)) {
		t.Fatalf("ProviderSessions = %+v, %v; want %s's session for 24 h", list, err, DemoProviderLogin2)
	}

	sent := OrderAddData{DeliveryModeID: DemoDeliveryModeID, Comment: "ORD-7-00000042-ab12cd34", UserProfileID: DemoUserProfileID,
		Items: []OrderItem{tshirt, offSale, tote, gone, noConfig, typo, stickers}}
	o, err := e.client.AddOrder(e.ctx, e.buyer(), sent)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(o.ID, "ORD-") || o.CustomerID != DemoCustomerID || o.Comment != sent.Comment || o.Currency != "CNY" ||
		o.TotalAmount != 3900+2*2500+300 || o.PaidAmount != 0 || len(o.Lines) != 3 {
		t.Fatalf("order = %+v", o)
	}
	if l := lineOf(t, o, stickers.ID); l.ConfigurationID != "0" || l.StatusID != LineStatusNew || l.VendPurchID != "" {
		t.Errorf("sticker line = %+v", l)
	}
	skipped := SkippedItems(sent, o)
	if len(skipped) != 4 || skipped[0] != offSale || skipped[1] != gone || skipped[2] != noConfig || skipped[3] != typo {
		t.Fatalf("skipped = %+v; want the off-sale item, the gone seller's, the missing configuration and the typo", skipped)
	}
	if w := Explain(ItemSkippedError(skipped[2])); !strings.Contains(w, "item 652871239999 (configuration 0") || !strings.Contains(w, "off sale") ||
		!strings.Contains(w, "seller has left") || !strings.Contains(w, "mistyped") {
		t.Errorf("Explain = %q", w)
	}

	if err := e.client.PostTransaction(e.ctx, op, o.CustomerID, o.TotalAmount, "OrderDesk payment", true, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	pi, err := e.client.SalesPaymentReserve(e.ctx, op, o.ID, o.TotalAmount)
	if err != nil || pi.SalesAmount != o.TotalAmount || pi.SalesPaid != o.TotalAmount || pi.CustBalanceAvail != 0 {
		t.Fatalf("SalesPaymentReserve = %+v, %v", pi, err)
	}
	if d := e.details(op, o.ID); d.PaidAmount != o.TotalAmount || d.StatusName != "Paid" || lineOf(t, d, tshirt.ID).StatusID != LineStatusPaid {
		t.Fatalf("paid order = %+v", d)
	}

	act, err := e.client.RunOrderExportingToProvider(e.ctx, op, ProviderTaobao, prov, ExportParameters{OrderID: o.ID})
	if err != nil || act.Type != ActivityExporting || act.ID == "" {
		t.Fatalf("RunOrderExportingToProvider = %+v, %v", act, err)
	}
	for i := 1; i <= 2; i++ {
		if a := e.read(op, act); a.IsFinished || a.IsAwaitingAction || a.Err() != nil || a.ProgressPercent >= 100 {
			t.Fatalf("read %d = %+v; want it running", i, a)
		}
	}
	a := e.read(op, act)
	if !a.IsFinished || a.IsCancelled || a.Err() != nil || a.ProgressPercent != 100 || !strings.Contains(a.Description, o.ID) {
		t.Fatalf("third read = %+v; want it finished", a)
	}
	d := e.details(op, o.ID)
	shirt, bag := lineOf(t, d, tshirt.ID), lineOf(t, d, tote.ID)
	if shirt.VendPurchID == "" || len(shirt.VendPurchID) != 16 || shirt.VendPurchAccountID != DemoProviderLogin2 || shirt.VendPurchStatus != TradeWaitBuyerPay ||
		shirt.StatusID != LineStatusOrdered || shirt.StatusName != "Ordered at the provider" || shirt.VendPurchItemID != tshirt.ID ||
		shirt.VendPurchConfigurationID != tshirt.ConfigurationID || shirt.VendPurchWaybill != "" {
		t.Errorf("exported line = %+v", shirt)
	}
	if bag.VendPurchID == "" || bag.VendPurchID == shirt.VendPurchID || lineOf(t, d, stickers.ID).VendPurchID == bag.VendPurchID {
		t.Errorf("one Taobao order per seller: shirt %s, bag %s, stickers %s", shirt.VendPurchID, bag.VendPurchID, lineOf(t, d, stickers.ID).VendPurchID)
	}
	if !strings.Contains(a.Steps[len(a.Steps)-2].Message, "Taobao order") || d.StatusName != "In purchase" {
		t.Errorf("steps = %+v, order status %q", a.Steps, d.StatusName)
	}

	// Each synchronisation finds Taobao a step further.
	want := []struct{ vend, status string }{
		{TradeWaitSellerSend, LineStatusPurchased}, {TradeWaitBuyerConfirm, LineStatusSent}, {TradeFinished, LineStatusReceived}, {TradeFinished, LineStatusReceived},
	}
	for i, w := range want {
		sync, err := e.client.RunOrdersSynchronizingWithProvider(e.ctx, op, ProviderTaobao, prov, []string{o.ID})
		if err != nil || sync.Type != ActivitySynchronizing {
			t.Fatalf("sync %d: %+v, %v", i, sync, err)
		}
		if a := e.follow(op, sync); !a.IsFinished || a.Err() != nil {
			t.Fatalf("sync %d = %+v", i, a)
		}
		shirt = lineOf(t, e.details(op, o.ID), tshirt.ID)
		if shirt.VendPurchStatus != w.vend || shirt.StatusID != w.status || (w.status != LineStatusPurchased) != (shirt.VendPurchWaybill != "") {
			t.Fatalf("after sync %d: %+v; want %s", i, shirt, w.vend)
		}
	}

	byWaybill, err := e.client.SearchOrderLines(e.ctx, op, LineSearch{Waybills: []string{shirt.VendPurchWaybill}})
	if err != nil || len(byWaybill) != 1 || byWaybill[0].ID != shirt.ID || byWaybill[0].SalesID != o.ID || byWaybill[0].VendPurchWaybill != shirt.VendPurchWaybill {
		t.Errorf("by waybill = %+v, %v", byWaybill, err)
	}
	byPurchase, err := e.client.SearchOrderLines(e.ctx, op, LineSearch{VendorPurchaseIDs: []string{shirt.VendPurchID, bag.VendPurchID}})
	if err != nil || len(byPurchase) != 2 || byPurchase[0].ID != shirt.ID || byPurchase[1].ID != bag.ID {
		t.Errorf("by supplier orders = %+v, %v; want the shirt and the bag", byPurchase, err)
	}
	both, err := e.client.SearchOrderLines(e.ctx, op, LineSearch{VendorPurchaseIDs: []string{bag.VendPurchID}, Waybills: []string{shirt.VendPurchWaybill}})
	if err != nil || len(both) != 0 {
		t.Errorf("a line must match both lists: %+v, %v", both, err)
	}
	none, err := e.client.SearchOrderLines(e.ctx, op, LineSearch{Waybills: []string{"YT0000000000000"}})
	if err != nil || len(none) != 0 {
		t.Errorf("unknown waybill = %+v, %v", none, err)
	}
	if _, err := e.client.SearchOrderLines(e.ctx, op, LineSearch{}); err == nil {
		t.Error("an empty line search was sent")
	}

	found, err := e.client.FindSalesOrdersByComment(e.ctx, op, sent.Comment)
	if err != nil || len(found) != 1 || found[0].ID != o.ID || found[0].Cancelled || len(found[0].Lines) != 0 {
		t.Errorf("by comment = %+v, %v", found, err)
	}
}

// TestAnExportAsksTheOperatorAndGoesOnWithTheAnswers: a changed price and a
// short stock each pause the export with a question; the answers decide
// what is bought.
func TestAnExportAsksTheOperatorAndGoesOnWithTheAnswers(t *testing.T) {
	e := newEnv(t)
	op := e.operator()
	prov := e.provider(op, DemoProviderLogin)
	o := e.paidOrder(op, teaSet, lamp, tshirt)
	act, err := e.client.RunOrderExportingToProvider(e.ctx, op, ProviderTaobao, prov, ExportParameters{OrderID: o.ID})
	if err != nil {
		t.Fatal(err)
	}
	if a := e.read(op, act); a.IsAwaitingAction || a.IsFinished {
		t.Fatalf("first read = %+v; want it running", a)
	}
	a := e.read(op, act)
	q, acts := a.Question()
	if !a.IsAwaitingAction || a.IsFinished || !strings.Contains(q, "price of item "+teaSet.ID+" at Taobao is 92.00, not 88.00") || len(acts) != 3 ||
		acts[0].DisplayName != "Buy at the new price" || acts[1].DisplayName != "Skip this item" || acts[2].DisplayName != "Cancel the export" {
		t.Fatalf("second read = %+v; question %q %+v", a, q, acts)
	}
	if len(a.Actions) != 3 || a.Actions[0] != acts[0] {
		t.Errorf("Actions = %+v", a.Actions)
	}
	// Reading again does not move a question on.
	if again := e.read(op, act); !again.IsAwaitingAction || len(again.Steps) != len(a.Steps) {
		t.Errorf("re-read = %+v", again)
	}
	wantCode(t, e.client.AnswerActivity(e.ctx, op, *act, "Nonsense"), CodeInvalidArgument)
	if err := e.client.AnswerActivity(e.ctx, op, *act, acts[0].ID); err != nil {
		t.Fatal(err)
	}
	a = e.read(op, act)
	q, acts = a.Question()
	if !a.IsAwaitingAction || !strings.Contains(q, "only 3 of item "+lamp.ID) || acts[0].DisplayName != "Buy the 3 available" {
		t.Fatalf("after the first answer = %+v, %q", a, q)
	}
	if err := e.client.AnswerActivity(e.ctx, op, *act, acts[1].ID); err != nil { // skip the lamp
		t.Fatal(err)
	}
	a = e.read(op, act)
	if !a.IsFinished || a.Err() != nil || a.IsAwaitingAction {
		t.Fatalf("after the last answer = %+v", a)
	}
	wantCode(t, e.client.AnswerActivity(e.ctx, op, *act, acts[0].ID), CodeInvalidArgument)
	d := e.details(op, o.ID)
	if lineOf(t, d, teaSet.ID).VendPurchID == "" || lineOf(t, d, tshirt.ID).VendPurchID == "" {
		t.Errorf("the tea set (new price) and the T-shirt must be bought: %+v", d.Lines)
	}
	if l := lineOf(t, d, lamp.ID); l.VendPurchID != "" || l.StatusID != LineStatusPaid {
		t.Errorf("the skipped lamp = %+v; want it paid and not bought", l)
	}

	// The lamp alone, buying what Taobao has; a question the sandbox is
	// told to ask comes first.
	e.sb.AskNextExport("The seller changed the photo: buy it anyway?")
	act, _ = e.client.RunOrderExportingToProvider(e.ctx, op, ProviderTaobao, prov, ExportParameters{OrderID: o.ID, OrderLineIDs: []string{lineOf(t, d, lamp.ID).ID}})
	a = e.follow(op, act)
	if q, _ := a.Question(); q != "The seller changed the photo: buy it anyway?" {
		t.Fatalf("question = %q", q)
	}
	e.client.AnswerActivity(e.ctx, op, *act, actionBuyAtNewPrice)
	if q, _ := e.follow(op, act).Question(); !strings.Contains(q, "only 3 of item") {
		t.Fatalf("second question = %q", q)
	}
	e.client.AnswerActivity(e.ctx, op, *act, actionBuyAvailable)
	if a = e.follow(op, act); !a.IsFinished || a.Err() != nil || !strings.Contains(a.Steps[len(a.Steps)-3].Message, "bought 3 of 5") {
		t.Fatalf("lamp export = %+v", a)
	}
	if e.sb.Switches().AskNextExport != "" {
		t.Error("the question switch is for one export")
	}
	po, err := e.sb.ProviderOrder(lineOf(t, e.details(op, o.ID), lamp.ID).VendPurchID)
	if err != nil || po.Items[0].Quantity != 3 || po.Account != DemoProviderLogin {
		t.Errorf("lamp's Taobao order = %+v, %v", po, err)
	}
}

// TestACancelledExportLeavesNothingHalfDone: cancelled while it waits for an
// answer, by the "Cancel the export" answer, or before it placed the order,
// an export leaves every line unexported and Taobao without an order.
func TestACancelledExportLeavesNothingHalfDone(t *testing.T) {
	e := newEnv(t)
	op := e.operator()
	prov := e.provider(op, DemoProviderLogin)
	o := e.paidOrder(op, tshirt, teaSet, tote)
	start := func() *ActivityID {
		act, err := e.client.RunOrderExportingToProvider(e.ctx, op, ProviderTaobao, prov, ExportParameters{OrderID: o.ID})
		if err != nil {
			t.Fatal(err)
		}
		return act
	}
	nothingExported := func(how string) {
		t.Helper()
		for _, l := range e.details(op, o.ID).Lines {
			if l.VendPurchID != "" || l.StatusID != LineStatusPaid {
				t.Fatalf("%s: line %+v was exported", how, l)
			}
		}
		if pos, _ := e.sb.ProviderOrders(10); len(pos) != 0 {
			t.Fatalf("%s: Taobao has orders %+v", how, pos)
		}
	}

	act := start()
	e.follow(op, act) // awaiting the price question
	if err := e.client.CancelActivity(e.ctx, op, *act); err != nil {
		t.Fatal(err)
	}
	a := e.read(op, act)
	err := a.Err()
	if ee := wantCode(t, err, CodeActivityFailed); !a.IsCancelled || !a.IsFinished || a.IsAwaitingAction || ee.SubCode != ReasonCancelled ||
		!strings.Contains(Explain(ee), "export to the provider was cancelled; nothing was changed") {
		t.Fatalf("cancelled = %+v, %v / %q", a, err, Explain(err))
	}
	nothingExported("cancelled while asking")
	wantCode(t, e.client.CancelActivity(e.ctx, op, *act), CodeInvalidArgument)

	act = start()
	e.follow(op, act)
	if err := e.client.AnswerActivity(e.ctx, op, *act, actionCancelExport); err != nil {
		t.Fatal(err)
	}
	if a := e.read(op, act); !a.IsCancelled {
		t.Fatalf("answered Cancel = %+v", a)
	}
	nothingExported("answered Cancel the export")

	act = start()
	e.follow(op, act)
	e.client.AnswerActivity(e.ctx, op, *act, actionBuyAtNewPrice) // ready to place the order
	e.client.CancelActivity(e.ctx, op, *act)
	e.read(op, act)
	nothingExported("cancelled before placing the order")

	// The order can still be exported.
	act = start()
	e.follow(op, act)
	e.client.AnswerActivity(e.ctx, op, *act, actionBuyAtNewPrice)
	if a := e.follow(op, act); !a.IsFinished || a.Err() != nil {
		t.Fatalf("export after the cancels = %+v", a)
	}
	if _, err := e.client.BackgroundActivity(e.ctx, op, ActivityID{Type: ActivitySynchronizing, ID: act.ID}); err == nil {
		t.Error("an activity answered under another type")
	}
}

// TestExportFailuresAreSaidInWords: the order not paid, the provider's limit
// of unpaid orders, an invalid buyout address, another provider refusal and
// a Taobao session that ends mid-way; none leaves a line exported.
func TestExportFailuresAreSaidInWords(t *testing.T) {
	e := newEnv(t)
	op := e.operator()
	prov := e.provider(op, DemoProviderLogin)
	unpaid := e.order(tshirt)
	act, err := e.client.RunOrderExportingToProvider(e.ctx, op, ProviderTaobao, prov, ExportParameters{OrderID: unpaid.ID})
	if err != nil {
		t.Fatal(err)
	}
	if ee := wantCode(t, e.follow(op, act).Err(), CodeActivityFailed); ee.SubCode != ReasonOrderNotPaid || !strings.Contains(Explain(ee), "exports only paid orders") {
		t.Errorf("unpaid: %+v / %q", ee, Explain(ee))
	}

	o := e.paidOrder(op, tshirt)
	cases := []struct {
		name   string
		arm    func()
		disarm func()
		reason string
		words  string
	}{
		{"the limit of unpaid orders", func() { e.sb.SetUnpaidOrdersLimit(true) }, func() { e.sb.SetUnpaidOrdersLimit(false) }, ReasonUnpaidOrdersLimit, "limit of unpaid orders"},
		{"an invalid buyout address", func() { e.sb.SetInvalidBuyoutAddress(true) }, func() { e.sb.SetInvalidBuyoutAddress(false) }, ReasonInvalidBuyoutAddress, "11-digit mobile"},
		{"a one-off refusal", func() { e.sb.FailNextExportWith("ProviderMaintenance") }, func() {}, "ProviderMaintenance", "export to the provider failed: Taobao refused the order (ProviderMaintenance)."},
		{"a Taobao session ending mid-way", func() {}, func() {}, ReasonProviderSessionExpired, "expired during the activity"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			tt.arm()
			defer tt.disarm()
			act, err := e.client.RunOrderExportingToProvider(e.ctx, op, ProviderTaobao, prov, ExportParameters{OrderID: o.ID})
			if err != nil {
				t.Fatal(err)
			}
			e.read(op, act)
			if tt.reason == ReasonProviderSessionExpired {
				e.sb.ExpireProviderSessions()
			}
			ee := wantCode(t, e.follow(op, act).Err(), CodeActivityFailed)
			if ee.SubCode != tt.reason || !strings.Contains(Explain(ee), tt.words) {
				t.Errorf("%+v / %q", ee, Explain(ee))
			}
			if l := e.details(op, o.ID).Lines[0]; l.VendPurchID != "" {
				t.Errorf("line exported: %+v", l)
			}
		})
	}
	_, err = e.client.RunOrderExportingToProvider(e.ctx, op, ProviderTaobao, prov, ExportParameters{OrderID: o.ID})
	wantCode(t, err, CodeProviderSessionExpired)
	prov = e.provider(op, DemoProviderLogin)
	_, err = e.client.RunOrderExportingToProvider(e.ctx, op, ProviderTaobao, prov, ExportParameters{OrderID: o.ID, OrderLineIDs: []string{"999"}})
	wantCode(t, err, CodeInvalidArgument)
	_, err = e.client.RunOrderExportingToProvider(e.ctx, op, ProviderTaobao, prov, ExportParameters{OrderID: "ORD-9999999999"})
	wantCode(t, err, CodeNotFound)
	_, err = e.client.RunOrderExportingToProvider(e.ctx, op, ProviderTaobao, "tbs-made-up", ExportParameters{OrderID: o.ID})
	wantCode(t, err, CodeProviderSessionExpired)
}

// TestTmallItemsAreBoughtByHandAndLinked: autobuy leaves Tmall items; the
// operator buys them on Taobao, links the Taobao order (answering for an
// item OT cannot match) and can unlink it again.
func TestTmallItemsAreBoughtByHandAndLinked(t *testing.T) {
	e := newEnv(t)
	op := e.operator()
	prov := e.provider(op, DemoProviderLogin)
	o := e.paidOrder(op, earbuds, tshirt, jacket)
	act, _ := e.client.RunOrderExportingToProvider(e.ctx, op, ProviderTaobao, prov, ExportParameters{OrderID: o.ID})
	a := e.follow(op, act)
	if !a.IsFinished || a.Err() != nil || !strings.Contains(a.Steps[1].Message, "is a Tmall item") || a.Steps[1].Type != "Warning" {
		t.Fatalf("export = %+v", a)
	}
	d := e.details(op, o.ID)
	buds := lineOf(t, d, earbuds.ID)
	if buds.VendPurchID != "" || buds.StatusID != LineStatusPaid || lineOf(t, d, tshirt.ID).VendPurchID == "" {
		t.Fatalf("lines = %+v", d.Lines)
	}

	// Bought by hand: the earbuds match by item; the stand matches no line,
	// so OT asks, and the operator links it to nothing.
	byHand, err := e.sb.BuyByHand(DemoProviderLogin, ProviderItem{ItemID: earbuds.ID, ConfigurationID: earbuds.ConfigurationID, Quantity: 1},
		ProviderItem{ItemID: stand.ID, ConfigurationID: stand.ConfigurationID, Quantity: 1})
	if err != nil {
		t.Fatal(err)
	}
	link, err := e.client.RunOrderLinkingWithProvider(e.ctx, op, ProviderTaobao, prov, LinkParameters{OrderID: o.ID, ProviderOrderIDs: []string{byHand}})
	if err != nil || link.Type != ActivityLinking {
		t.Fatalf("link = %+v, %v", link, err)
	}
	a = e.follow(op, link)
	q, acts := a.Question()
	if !a.IsAwaitingAction || !strings.Contains(q, "Item "+stand.ID) || len(acts) != 2 || acts[0].ID != actionLeaveUnlinked || acts[1].ID != actionCancelLinking {
		t.Fatalf("link question = %q %+v (%+v)", q, acts, a)
	}
	e.client.AnswerActivity(e.ctx, op, *link, actionLeaveUnlinked)
	if a = e.follow(op, link); !a.IsFinished || a.Err() != nil {
		t.Fatalf("link = %+v", a)
	}
	buds = lineOf(t, e.details(op, o.ID), earbuds.ID)
	if buds.VendPurchID != byHand || buds.VendPurchStatus != TradeWaitBuyerPay || buds.StatusID != LineStatusOrdered || buds.VendPurchAccountID != DemoProviderLogin {
		t.Errorf("linked earbuds = %+v", buds)
	}

	// A provider item that matches no line: the operator picks the line.
	o2 := e.paidOrder(op, earbuds)
	other, _ := e.sb.BuyByHand(DemoProviderLogin, ProviderItem{ItemID: earbuds.ID, ConfigurationID: "4421097735599", Quantity: 1})
	link, _ = e.client.RunOrderLinkingWithProvider(e.ctx, op, ProviderTaobao, prov, LinkParameters{OrderID: o2.ID, ProviderOrderIDs: []string{other}})
	a = e.follow(op, link)
	_, acts = a.Question()
	line := o2.Lines[0].ID
	if len(acts) != 3 || acts[0].ID != actionLinkLine+line {
		t.Fatalf("actions = %+v", acts)
	}
	e.client.AnswerActivity(e.ctx, op, *link, acts[0].ID)
	e.follow(op, link)
	if l := e.details(op, o2.ID).Lines[0]; l.VendPurchID != other || l.VendPurchConfigurationID != "4421097735599" {
		t.Errorf("picked line = %+v", l)
	}

	// Unlinking the earbuds: the line is free again, the Taobao order stays.
	unlink, err := e.client.RunOrderUnlinkingFromProvider(e.ctx, op, ProviderTaobao, prov, ExportParameters{OrderID: o.ID, OrderLineIDs: []string{buds.ID}})
	if err != nil || unlink.Type != ActivityUnlinking {
		t.Fatalf("unlink = %+v, %v", unlink, err)
	}
	if a = e.follow(op, unlink); !a.IsFinished || a.Err() != nil {
		t.Fatalf("unlink = %+v", a)
	}
	d = e.details(op, o.ID)
	if l := lineOf(t, d, earbuds.ID); l.VendPurchID != "" || l.VendPurchStatus != "" || l.StatusID != LineStatusPaid {
		t.Errorf("unlinked = %+v", l)
	}
	if lineOf(t, d, tshirt.ID).VendPurchID == "" {
		t.Error("unlinking one line unlinked another")
	}
	if po, err := e.sb.ProviderOrder(byHand); err != nil || po.Items[0].LineID != "" || po.Status != TradeWaitBuyerPay {
		t.Errorf("Taobao order after unlink = %+v, %v", po, err)
	}
	// Unlinking the whole order frees every line, and then the buyer may
	// cancel it.
	wantCode(t, e.client.CancelSalesOrder(e.ctx, e.buyer(), o.ID), CodeInvalidArgument)
	unlink, _ = e.client.RunOrderUnlinkingFromProvider(e.ctx, op, ProviderTaobao, prov, ExportParameters{OrderID: o.ID})
	if a = e.follow(op, unlink); !a.IsFinished || a.Err() != nil || a.Steps[len(a.Steps)-1].Message != "2 lines unlinked" {
		t.Fatalf("unlink all = %+v", a)
	}
	for _, l := range e.details(op, o.ID).Lines {
		if l.VendPurchID != "" {
			t.Errorf("still linked: %+v", l)
		}
	}
	if err := e.client.CancelSalesOrder(e.ctx, e.buyer(), o.ID); err != nil {
		t.Errorf("cancel after unlinking: %v", err)
	}
	_, err = e.client.RunOrderLinkingWithProvider(e.ctx, op, ProviderTaobao, prov, LinkParameters{OrderID: o.ID})
	wantCode(t, err, CodeInvalidArgument)
	link, _ = e.client.RunOrderLinkingWithProvider(e.ctx, op, ProviderTaobao, prov, LinkParameters{OrderID: o.ID, ProviderOrderIDs: []string{"3300000000000999"}})
	if a := e.follow(op, link); a.Err() == nil || !strings.Contains(Explain(a.Err()), "linking with provider orders failed: Taobao order 3300000000000999 is not found") {
		t.Errorf("unknown Taobao order: %v / %q", a.Err(), Explain(a.Err()))
	}
}

// TestSyncWithoutOrdersTakesEveryExportedOrder, as OT's background
// synchronisation does; a Taobao order closed by hand cancels its lines.
func TestSyncWithoutOrdersTakesEveryExportedOrder(t *testing.T) {
	e := newEnv(t)
	op := e.operator()
	prov := e.provider(op, DemoProviderLogin)
	var orders []*SalesOrder
	for range 2 {
		o := e.paidOrder(op, tshirt)
		act, _ := e.client.RunOrderExportingToProvider(e.ctx, op, ProviderTaobao, prov, ExportParameters{OrderID: o.ID})
		e.follow(op, act)
		orders = append(orders, o)
	}
	e.paidOrder(op, tote) // not exported: not synchronised
	first := e.details(op, orders[0].ID).Lines[0]
	if err := e.sb.SetProviderOrderStatus(first.VendPurchID, TradeClosed); err != nil {
		t.Fatal(err)
	}
	sync, err := e.client.RunOrdersSynchronizingWithProvider(e.ctx, op, ProviderTaobao, prov, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := e.follow(op, sync)
	if !a.IsFinished || !strings.Contains(a.Description, "2 orders") {
		t.Fatalf("sync = %+v", a)
	}
	if l := e.details(op, orders[0].ID).Lines[0]; l.StatusID != LineStatusCancelled || l.VendPurchStatus != TradeClosed {
		t.Errorf("closed at Taobao = %+v", l)
	}
	if l := e.details(op, orders[1].ID).Lines[0]; l.VendPurchStatus != TradeWaitSellerSend {
		t.Errorf("second order = %+v", l)
	}
	_, err = e.client.RunOrdersSynchronizingWithProvider(e.ctx, op, ProviderTaobao, prov, []string{"ORD-404"})
	wantCode(t, err, CodeNotFound)
	if err := e.sb.SetProviderOrderStatus(first.VendPurchID, "SHIPPED"); err == nil {
		t.Error("a made-up Taobao status was taken")
	}
}

// TestProviderSessionsLastADayAndAreRenewed: one session per Taobao login,
// listed with its end; an expired one stays listed and is refused; renewing
// replaces it.
func TestProviderSessionsLastADayAndAreRenewed(t *testing.T) {
	e := newEnv(t)
	op := e.operator()
	first := e.provider(op, DemoProviderLogin)
	e.clock.Add(2 * time.Hour)
	second := e.provider(op, DemoProviderLogin2)
	e.clock.Add(23 * time.Hour) // the first has ended, the second ends in an hour
	op = e.operator()
	list, err := e.client.ProviderSessions(e.ctx, op, ProviderTaobao)
	if err != nil || len(list) != 2 || list[0].ID != first || list[1].ID != second {
		t.Fatalf("sessions = %+v, %v", list, err)
	}
	now := e.clock.Now()
	if !list[0].Expired(now) || list[1].Expired(now) || !list[1].ExpiresAt.Equal(now.Add(time.Hour)) {
		t.Errorf("expiry: %+v at %s", list, now)
	}
	o := e.paidOrder(op, tshirt)
	_, err = e.client.RunOrderExportingToProvider(e.ctx, op, ProviderTaobao, first, ExportParameters{OrderID: o.ID})
	wantCode(t, err, CodeProviderSessionExpired)

	renewed := e.provider(op, DemoProviderLogin)
	list, _ = e.client.ProviderSessions(e.ctx, op, ProviderTaobao)
	if renewed == first || len(list) != 2 || list[1].ID != renewed || list[1].Expired(now) || !list[1].ExpiresAt.Equal(now.Add(24*time.Hour)) {
		t.Errorf("after renewal: %+v", list)
	}
	if _, err := e.client.RunOrderExportingToProvider(e.ctx, op, ProviderTaobao, renewed, ExportParameters{OrderID: o.ID}); err != nil {
		t.Errorf("renewed session: %v", err)
	}
	e.sb.ExpireProviderSessions()
	list, _ = e.client.ProviderSessions(e.ctx, op, ProviderTaobao)
	if len(list) != 2 || !list[0].Expired(e.clock.Now()) || !list[1].Expired(e.clock.Now()) {
		t.Errorf("after the switch: %+v", list)
	}

	// Operator sessions end too.
	e.sb.ExpireSessions()
	_, err = e.client.ProviderSessions(e.ctx, op, ProviderTaobao)
	if ee := wantCode(t, err, CodeSessionExpired); !strings.Contains(Explain(ee), "Sign in again") {
		t.Errorf("Explain = %q", Explain(ee))
	}
	_, err = e.client.ProviderSessions(e.ctx, "made-up", ProviderTaobao)
	wantCode(t, err, CodeSessionExpired)
}

func TestTheProviderAuthorisationCanBeRefused(t *testing.T) {
	e := newEnv(t)
	op := e.operator()
	_, err := ParseProviderReturn(e.authorise(op, url.Values{"decision": {"refuse"}}).Query())
	if ee := wantCode(t, err, CodeProviderAuthorization); !strings.Contains(Explain(ee), "Taobao refused the authorisation") {
		t.Errorf("Explain = %q", Explain(ee))
	}
	if l, _ := e.client.ProviderSessions(e.ctx, op, ProviderTaobao); len(l) != 0 {
		t.Errorf("sessions after a refusal: %+v", l)
	}
	u, _ := e.client.ProviderAuthURL(e.ctx, op, ProviderTaobao, returnURL)
	post := func(form url.Values) int {
		resp, err := e.browser.PostForm(u, form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// A login the page does not offer, or no decision: the page again, and
	// the link still works.
	if got := post(url.Values{"decision": {"authorize"}, "account": {"someone_else"}}); got != http.StatusBadRequest {
		t.Errorf("unknown login: %d", got)
	}
	if got := post(url.Values{"account": {DemoProviderLogin}}); got != http.StatusBadRequest {
		t.Errorf("no decision: %d", got)
	}
	if got := post(url.Values{"decision": {"authorize"}, "account": {DemoProviderLogin}}); got != http.StatusSeeOther {
		t.Errorf("authorise: %d", got)
	}
	if got := post(url.Values{"decision": {"authorize"}, "account": {DemoProviderLogin}}); got != http.StatusGone {
		t.Errorf("second use: %d", got)
	}
	resp, _ := e.browser.Get(e.sb.BaseURL() + "/provider-auth/nope")
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown link: %d", resp.StatusCode)
	}
	_, err = e.client.ProviderAuthURL(e.ctx, op, "Jd", returnURL)
	wantCode(t, err, CodeInvalidArgument)
	_, err = e.client.ProviderAuthURL(e.ctx, op, ProviderTaobao, "/relative")
	wantCode(t, err, CodeInvalidArgument)
}

func TestPaymentsFollowTheBuyersBalance(t *testing.T) {
	e := newEnv(t)
	op := e.operator()
	o := e.order(tote)
	_, err := e.client.SalesPaymentReserve(e.ctx, op, o.ID, o.TotalAmount)
	if ee := wantCode(t, err, CodeNotEnoughMoney); !strings.Contains(Explain(ee), "Top it up") {
		t.Errorf("Explain = %q", Explain(ee))
	}
	e.client.PostTransaction(e.ctx, op, DemoCustomerID, 2*o.TotalAmount, "", true, time.Time{})
	_, err = e.client.SalesPaymentReserve(e.ctx, op, o.ID, o.TotalAmount+1)
	wantCode(t, err, CodeInvalidArgument)
	half := o.TotalAmount / 2
	pi, err := e.client.SalesPaymentReserve(e.ctx, op, o.ID, half)
	if err != nil || pi.SalesPaid != half || pi.CustBalanceAvail != 2*o.TotalAmount-half {
		t.Errorf("partial payment = %+v, %v", pi, err)
	}
	if d := e.details(op, o.ID); d.PaidAmount != half || d.Lines[0].StatusID != LineStatusNew {
		t.Errorf("half paid = %+v", d)
	}
	err = e.client.PostTransaction(e.ctx, op, DemoCustomerID, 10*o.TotalAmount, "", false, time.Time{})
	wantCode(t, err, CodeNotEnoughMoney)
	err = e.client.PostTransaction(e.ctx, op, "no-such", 100, "", true, time.Time{})
	wantCode(t, err, CodeNotFound)
	err = e.client.PostTransaction(e.ctx, op, DemoCustomerID, 0, "", true, time.Time{})
	wantCode(t, err, CodeInvalidArgument)
	_, err = e.client.SalesPaymentReserve(e.ctx, op, "ORD-404", 100)
	wantCode(t, err, CodeNotFound)
}

// TestCancellingAnOrderRefundsItAndKeepsItFindable: seed 002's "cancel and
// add again" after skipped items.
func TestCancellingAnOrderRefundsItAndKeepsItFindable(t *testing.T) {
	e := newEnv(t)
	op := e.operator()
	o := e.orderWith("ORD-1-00000001-aa", tshirt, offSale)
	e.client.PostTransaction(e.ctx, op, DemoCustomerID, o.TotalAmount, "", true, time.Time{})
	e.client.SalesPaymentReserve(e.ctx, op, o.ID, o.TotalAmount)
	buyer := e.buyer()
	wantCode(t, e.client.CancelSalesOrder(e.ctx, op, o.ID), CodeAccessDenied)
	if err := e.client.CancelSalesOrder(e.ctx, buyer, o.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.client.CancelSalesOrder(e.ctx, buyer, o.ID); err != nil {
		t.Errorf("cancelling twice: %v", err)
	}
	d := e.details(op, o.ID)
	if !d.Cancelled || d.StatusName != "Cancelled" || d.PaidAmount != 0 || d.Lines[0].StatusID != LineStatusCancelled {
		t.Errorf("cancelled = %+v", d)
	}
	if b, _ := e.sb.Balance(DemoCustomerID); b != o.TotalAmount {
		t.Errorf("balance after the cancel = %d; want the payment back", b)
	}
	_, err := e.client.SalesPaymentReserve(e.ctx, op, o.ID, 100)
	wantCode(t, err, CodeInvalidArgument)
	wantCode(t, e.client.CancelSalesOrder(e.ctx, buyer, "ORD-404"), CodeNotFound)

	// Added again with the same comment; a longer comment that contains it
	// is not the same order.
	again := e.orderWith("ORD-1-00000001-aa", tshirt)
	e.orderWith("ORD-1-00000001-aab", tshirt)
	found, err := e.client.FindSalesOrdersByComment(e.ctx, op, "ORD-1-00000001-aa")
	if err != nil || len(found) != 2 || found[0].ID != again.ID || found[0].Cancelled || found[1].ID != o.ID || !found[1].Cancelled {
		t.Errorf("by comment = %+v, %v", found, err)
	}
	if _, err := e.client.FindSalesOrdersByComment(e.ctx, op, " "); err == nil {
		t.Error("an empty comment was searched")
	}

	// An order with a line at Taobao is not cancelled.
	prov := e.provider(op, DemoProviderLogin)
	x := e.paidOrder(op, tshirt)
	act, _ := e.client.RunOrderExportingToProvider(e.ctx, op, ProviderTaobao, prov, ExportParameters{OrderID: x.ID})
	e.follow(op, act)
	wantCode(t, e.client.CancelSalesOrder(e.ctx, buyer, x.ID), CodeInvalidArgument)
}

func TestAddOrderValidatesLikeOT(t *testing.T) {
	e := newEnv(t)
	buyer := e.buyer()
	_, err := e.client.AddOrder(e.ctx, buyer, OrderAddData{DeliveryModeID: "courier", Items: []OrderItem{tshirt}})
	if ee := wantCode(t, err, CodeInvalidArgument); !strings.Contains(ee.Description, "Delivery mode") {
		t.Errorf("error = %+v", ee)
	}
	_, err = e.client.AddOrder(e.ctx, buyer, OrderAddData{DeliveryModeID: DemoDeliveryModeID, UserProfileID: "9", Items: []OrderItem{tshirt}})
	wantCode(t, err, CodeInvalidArgument)
	_, err = e.client.AddOrder(e.ctx, buyer, OrderAddData{DeliveryModeID: DemoDeliveryModeID, Items: []OrderItem{offSale, typo}})
	wantCode(t, err, CodeInvalidArgument)
	_, err = e.client.AddOrder(e.ctx, buyer, OrderAddData{DeliveryModeID: DemoDeliveryModeID, Items: []OrderItem{{ID: tshirt.ID, ConfigurationID: tshirt.ConfigurationID}}})
	wantCode(t, err, CodeInvalidArgument)
	// Orders are the buyer's: an operator session is refused.
	_, err = e.client.AddOrder(e.ctx, e.operator(), OrderAddData{DeliveryModeID: DemoDeliveryModeID, Items: []OrderItem{tshirt}})
	wantCode(t, err, CodeAccessDenied)
	_, err = e.client.Authenticate(e.ctx, DemoUserLogin, "wrong", false)
	wantCode(t, err, CodeAccessDenied)
	if _, err := e.client.Call(e.ctx, "NoSuchMethod", nil); err == nil {
		t.Error("an unknown method answered Ok")
	}
	_, err = e.client.SalesOrderDetails(e.ctx, e.operator(), "ORD-404")
	wantCode(t, err, CodeNotFound)
}

func TestSwitchesFailAndSlowTheAPI(t *testing.T) {
	e := newEnv(t)
	e.sb.FailNext()
	_, err := e.client.TestConnection(e.ctx)
	if ee := wantCode(t, err, CodeInternalError); !ee.Temporary() {
		t.Error("InternalError should be temporary")
	}
	if _, err := e.client.TestConnection(e.ctx); err != nil {
		t.Errorf("the call after the failure: %v", err)
	}
	e.sb.SetLatency(300 * time.Millisecond)
	short, cancel := context.WithTimeout(e.ctx, 30*time.Millisecond)
	defer cancel()
	_, err = e.client.TestConnection(short)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(Explain(err), "in time") {
		t.Errorf("slow: %v / %q", err, Explain(err))
	}
	e.sb.SetLatency(0)
}

func TestControlPageShowsStateAndSetsSwitches(t *testing.T) {
	e := newEnv(t)
	op := e.operator()
	prov := e.provider(op, DemoProviderLogin)
	o := e.paidOrder(op, tshirt, teaSet)
	act, _ := e.client.RunOrderExportingToProvider(e.ctx, op, ProviderTaobao, prov, ExportParameters{OrderID: o.ID})
	e.follow(op, act)
	page := func() string {
		t.Helper()
		resp, err := e.browser.Get(e.sb.BaseURL() + "/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("control page: %d\n%s", resp.StatusCode, b)
		}
		return string(b)
	}
	p := page()
	for _, want := range []string{o.ID, DemoProviderLogin, "until 2025-03-02 12:00 UTC", "asks: Line", "price of item " + teaSet.ID, "[Tmall: never exported]", "127.00"} {
		if !strings.Contains(p, want) {
			t.Errorf("control page lacks %q", want)
		}
	}
	post := func(v url.Values, want int) {
		t.Helper()
		resp, err := e.browser.PostForm(e.sb.BaseURL()+"/_control", v)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want || (want == http.StatusSeeOther && resp.Header.Get("Location") != "./") {
			t.Fatalf("POST %v: %d", v, resp.StatusCode)
		}
	}
	post(url.Values{"action": {"fail_next"}}, http.StatusSeeOther)
	post(url.Values{"action": {"fail_export"}, "reason": {ReasonInvalidBuyoutAddress}}, http.StatusSeeOther)
	post(url.Values{"action": {"ask_next"}, "question": {"Buy it?"}}, http.StatusSeeOther)
	post(url.Values{"action": {"unpaid_limit"}, "on": {"1"}}, http.StatusSeeOther)
	post(url.Values{"action": {"invalid_address"}, "on": {"1"}}, http.StatusSeeOther)
	post(url.Values{"action": {"ban"}, "on": {"1"}}, http.StatusSeeOther)
	post(url.Values{"action": {"latency"}, "ms": {"4"}}, http.StatusSeeOther)
	want := SandboxSwitches{FailNext: true, FailNextExport: ReasonInvalidBuyoutAddress, AskNextExport: "Buy it?", UnpaidOrdersLimit: true,
		InvalidBuyoutAddress: true, InstanceBanned: true, Latency: 4 * time.Millisecond}
	if sw := e.sb.Switches(); sw != want {
		t.Errorf("switches = %+v", sw)
	}
	post(url.Values{"action": {"clear"}}, http.StatusSeeOther)
	if sw := e.sb.Switches(); sw != (SandboxSwitches{}) {
		t.Errorf("switches after clear = %+v", sw)
	}
	post(url.Values{"action": {"ask_next"}, "question": {" "}}, http.StatusBadRequest)
	post(url.Values{"action": {"latency"}, "ms": {"-1"}}, http.StatusBadRequest)
	post(url.Values{"action": {"nope"}}, http.StatusBadRequest)
	post(url.Values{"action": {"buy_by_hand"}, "account": {DemoProviderLogin}, "item_id": {earbuds.ID}, "config_id": {earbuds.ConfigurationID}, "quantity": {"1"}}, http.StatusSeeOther)
	post(url.Values{"action": {"buy_by_hand"}, "account": {DemoProviderLogin}, "item_id": {"nope"}, "quantity": {"1"}}, http.StatusBadRequest)
	pos, _ := e.sb.ProviderOrders(1)
	if len(pos) != 1 || !pos[0].ByHand {
		t.Fatalf("bought by hand: %+v", pos)
	}
	post(url.Values{"action": {"provider_status"}, "provider_order_id": {pos[0].ID}, "status": {TradeWaitBuyerConfirm}}, http.StatusSeeOther)
	post(url.Values{"action": {"provider_status"}, "provider_order_id": {"33404"}, "status": {TradeFinished}}, http.StatusNotFound)
	post(url.Values{"action": {"provider_status"}, "provider_order_id": {pos[0].ID}, "status": {"nope"}}, http.StatusBadRequest)
	if po, _ := e.sb.ProviderOrder(pos[0].ID); po.Status != TradeWaitBuyerConfirm || !strings.HasPrefix(po.Waybill, "YT") {
		t.Errorf("set status = %+v", po)
	}
	post(url.Values{"action": {"expire_provider_sessions"}}, http.StatusSeeOther)
	if p := page(); !strings.Contains(p, "expired 2025-03-01") || !strings.Contains(p, "(by hand)") {
		t.Error("the page does not show the expired session or the order bought by hand")
	}
	post(url.Values{"action": {"expire_sessions"}}, http.StatusSeeOther)
	_, err := e.client.ProviderSessions(e.ctx, op, ProviderTaobao)
	wantCode(t, err, CodeSessionExpired)
}

func TestSandboxStateSurvivesARestart(t *testing.T) {
	e := newEnv(t)
	op := e.operator()
	prov := e.provider(op, DemoProviderLogin)
	o := e.paidOrder(op, tshirt, teaSet)
	act, _ := e.client.RunOrderExportingToProvider(e.ctx, op, ProviderTaobao, prov, ExportParameters{OrderID: o.ID})
	e.follow(op, act) // awaiting the price question
	again, err := NewSandbox(e.db, SandboxConfig{Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	got, err := again.Order(o.ID)
	if err != nil || got.Total != 3900+8800 || len(got.Lines) != 2 || got.Paid != got.Total {
		t.Fatalf("order after restart = %+v, %v", got, err)
	}
	if l, _ := again.ProviderSessions(); len(l) != 1 {
		t.Errorf("provider sessions lost: %v", l)
	}
	// The operator session and the waiting activity survive too: the same
	// client answers it.
	mux := http.NewServeMux()
	mux.Handle("/sandbox/otapi/", http.StripPrefix("/sandbox/otapi", again))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := New(Config{BaseURL: srv.URL + "/sandbox/otapi/service-json", InstanceKey: DemoInstanceKey, Secret: DemoSecret, Now: e.clock.Now})
	if err := c.AnswerActivity(e.ctx, op, *act, actionBuyAtNewPrice); err != nil {
		t.Fatalf("answer after restart: %v", err)
	}
	if a, err := c.BackgroundActivity(e.ctx, op, *act); err != nil || !a.IsFinished || a.Err() != nil {
		t.Errorf("after restart: %+v, %v", a, err)
	}
	next := e.order(tshirt)
	if next.ID <= o.ID {
		t.Errorf("order ids: %s after %s", next.ID, o.ID)
	}
}

// TestTheSandboxSharesItsDatabase: the app keeps every sandbox in one
// database file, so another sandbox writes while this one works; an
// activity's read-then-write transaction must wait its turn rather than
// fail with "database is locked".
func TestTheSandboxSharesItsDatabase(t *testing.T) {
	e := newEnv(t)
	if _, err := e.db.Exec(`CREATE TABLE other_sandbox (v INTEGER)`); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			if _, err := e.db.Exec(`INSERT INTO other_sandbox VALUES (1)`); err != nil {
				done <- err
				return
			}
		}
	}()
	op := e.operator()
	prov := e.provider(op, DemoProviderLogin)
	for range 20 {
		o := e.paidOrder(op, tshirt, tote)
		act, err := e.client.RunOrderExportingToProvider(e.ctx, op, ProviderTaobao, prov, ExportParameters{OrderID: o.ID})
		if err != nil {
			t.Fatal(err)
		}
		if a := e.follow(op, act); !a.IsFinished || a.Err() != nil {
			t.Fatalf("export = %+v", a)
		}
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatalf("the other writer: %v", err)
	}
}
