package model_test

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"orderdesk/model"
)

// The order desk's kept views are never stale: after any change to an order,
// whichever way it is written (the store, plain SQL, another process on the
// same file), the next read shows it; and a shop's view is only its own.
func TestAKeptOrderDeskShowsEveryChangeAtOnce(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "orderdesk.db")
	db, err := model.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	store := model.NewStore(db, testKeys())
	if _, err := store.SeedDemo(ctx, "desk-password"); err != nil {
		t.Fatal(err)
	}
	shop, err := store.FindTenantBySlug(ctx, model.DemoTenantSlug)
	if err != nil {
		t.Fatal(err)
	}
	other, err := store.FindTenantBySlug(ctx, model.DemoTurkishSlug)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.SeedBulkOrders(ctx, shop, 120); err != nil {
		t.Fatal(err)
	}
	confirmed := model.OrderFilter{Status: model.OrderConfirmed}

	// fresh is the same view read without anything kept.
	fresh := func(tenantID int64, f model.OrderFilter) *model.OrderDesk {
		t.Helper()
		f.Summary = true
		page, err := store.FindOrders(ctx, tenantID, f)
		if err != nil {
			t.Fatal(err)
		}
		counts, err := store.CountOrdersByStatus(ctx, tenantID, f)
		if err != nil {
			t.Fatal(err)
		}
		ready, err := store.CountReadyToShip(ctx, tenantID)
		if err != nil {
			t.Fatal(err)
		}
		return &model.OrderDesk{Page: page, Counts: counts, Ready: ready}
	}
	same := func(step string, tenantID int64, f model.OrderFilter) *model.OrderDesk {
		t.Helper()
		got, err := store.FindOrderDesk(ctx, tenantID, f)
		if err != nil {
			t.Fatal(err)
		}
		want := fresh(tenantID, f)
		if len(got.Page.Orders) != len(want.Page.Orders) || got.Page.Next != want.Page.Next || got.Ready != want.Ready ||
			len(got.Counts) != len(want.Counts) {
			t.Fatalf("%s: kept view of %d orders (next %q, ready %d, %v), fresh %d (next %q, ready %d, %v)", step,
				len(got.Page.Orders), got.Page.Next, got.Ready, got.Counts, len(want.Page.Orders), want.Page.Next, want.Ready, want.Counts)
		}
		for s, n := range want.Counts {
			if got.Counts[s] != n {
				t.Fatalf("%s: kept count of %s %d, fresh %d", step, s, got.Counts[s], n)
			}
		}
		for i, o := range want.Page.Orders {
			g := got.Page.Orders[i]
			if g.ID != o.ID || g.Status != o.Status || g.Address != o.Address || g.Total != o.Total || g.ItemCount != o.ItemCount ||
				g.ProcurementError != o.ProcurementError || g.PaymentStatus != o.PaymentStatus {
				t.Fatalf("%s: kept row %+v, fresh %+v", step, *g, *o)
			}
		}
		return got
	}

	first := same("first read", shop.ID, confirmed)
	target := first.Page.Orders[0]

	// A request that changes its copy does not change what the next one sees.
	first.Page.Orders[0].Address.FirstName = "Scribbled"
	first.Counts[model.OrderConfirmed] = -1
	same("after a request changed its copy", shop.ID, confirmed)

	steps := []struct {
		name string
		sql  string
		args []any
	}{
		{"a customer's name changed in SQL", `UPDATE orders SET first_name = 'Renamed' WHERE id = ?`, []any{target.ID}},
		{"the order cancelled", `UPDATE orders SET status = 'cancelled' WHERE id = ?`, []any{target.ID}},
		{"a procurement error", `UPDATE orders SET procurement_error = 'Out of stock' WHERE tenant_id = ? AND status = 'confirmed' AND id = (SELECT max(id) FROM orders WHERE tenant_id = ? AND status = 'confirmed')`, []any{shop.ID, shop.ID}},
		{"an order arrived at the warehouse", `UPDATE orders SET arrived_at = created_at WHERE tenant_id = ? AND status = 'confirmed' AND arrived_at IS NULL AND id = (SELECT min(id) FROM orders WHERE tenant_id = ? AND status = 'confirmed' AND arrived_at IS NULL)`, []any{shop.ID, shop.ID}},
	}
	for _, st := range steps {
		if _, err := db.W.ExecContext(ctx, st.sql, st.args...); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		same(st.name, shop.ID, confirmed)
		same(st.name+" (all orders)", shop.ID, model.OrderFilter{})
	}

	// Another process on the same file (the command line) changes an order.
	before, err := store.ShopVersion(ctx, shop.ID)
	if err != nil {
		t.Fatal(err)
	}
	cli, err := model.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	top := same("before the other process", shop.ID, confirmed).Page.Orders[0]
	if _, err := cli.W.ExecContext(ctx, `UPDATE orders SET total = total + 100 WHERE id = ?`, top.ID); err != nil {
		t.Fatal(err)
	}
	if err := cli.Close(); err != nil {
		t.Fatal(err)
	}
	if got := same("after the other process", shop.ID, confirmed).Page.Orders[0]; got.Total != top.Total+100 {
		t.Errorf("after another process added 100 the order desk shows %d, want %d", got.Total, top.Total+100)
	}

	// A line's change moves the version too (the dashboard's costs are the lines').
	v, err := store.ShopVersion(ctx, shop.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v <= before {
		t.Errorf("version %d after a change, %d before", v, before)
	}
	if _, err := db.W.ExecContext(ctx, `UPDATE order_lines SET supplier_track = 'YT1' WHERE id = (SELECT min(id) FROM order_lines WHERE tenant_id = ?)`, shop.ID); err != nil {
		t.Fatal(err)
	}
	if after, err := store.ShopVersion(ctx, shop.ID); err != nil || after <= v {
		t.Errorf("version %d (%v) after a line changed, %d before", after, err, v)
	}

	// The other shop's desk is its own, under the same filter, even when
	// both shops' orders are at the same version.
	same("before both shops are set to one version", shop.ID, confirmed)
	if _, err := db.W.ExecContext(ctx, `UPDATE shop_versions SET version = 1000000 WHERE tenant_id IN (?, ?)`, shop.ID, other.ID); err != nil {
		t.Fatal(err)
	}
	same("this shop at version 1,000,000", shop.ID, confirmed)
	theirs := same("the other shop at version 1,000,000", other.ID, confirmed)
	for _, o := range theirs.Page.Orders {
		if o.TenantID != other.ID {
			t.Fatalf("the other shop's desk lists order %d of shop %d", o.ID, o.TenantID)
		}
	}
}

// A kept tracking story is never stale: whatever changes what the tracking
// pages show (the order, a line's parcel, an event, the shipment's link, the
// shipping method's link), the next read shows it, as a store that keeps
// nothing reads it.
func TestAKeptTrackingStoryShowsEveryChangeAtOnce(t *testing.T) {
	ctx := context.Background()
	db, err := model.Open(filepath.Join(t.TempDir(), "orderdesk.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	store := model.NewStore(db, testKeys())
	if _, err := store.SeedDemo(ctx, "track-password"); err != nil {
		t.Fatal(err)
	}
	shop, err := store.FindTenantBySlug(ctx, model.DemoTenantSlug)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.SeedBulkOrders(ctx, shop, 30); err != nil {
		t.Fatal(err)
	}
	var id int64
	var number string
	if err := db.R.QueryRowContext(ctx, `SELECT id, number FROM orders WHERE tenant_id = ? AND shipping_method_id IS NOT NULL
		ORDER BY id DESC LIMIT 1`, shop.ID).Scan(&id, &number); err != nil {
		t.Fatal(err)
	}
	same := func(step string) {
		t.Helper()
		// Asked in lower case, as a customer may type it: the same kept story.
		for _, asked := range []string{number, strings.ToLower(number)} {
			gotOrder, gotStory, err := store.TrackOrder(ctx, shop.ID, asked)
			if err != nil {
				t.Fatalf("%s: %v", step, err)
			}
			wantOrder, wantStory, err := model.NewStore(db, testKeys()).TrackOrder(ctx, shop.ID, number)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(gotOrder, wantOrder) || !reflect.DeepEqual(gotStory, wantStory) {
				t.Fatalf("%s: kept\n%+v\n%+v\nfresh\n%+v\n%+v", step, *gotOrder, gotStory, *wantOrder, wantStory)
			}
		}
	}
	same("first read")
	// A caller's change to its copy is its own.
	o, story, err := store.TrackOrder(ctx, shop.ID, number)
	if err != nil {
		t.Fatal(err)
	}
	o.Status, story[0].Key = "scribbled", "scribbled"
	same("after a caller changed its copy")

	now := "2026-12-02 10:00:00.000000000+00:00"
	for _, st := range []struct {
		name, sql string
		args      []any
	}{
		{"the order shipped", `UPDATE orders SET status = 'shipped', shipped_at = ?, tracking_number = 'CDEK42' WHERE id = ?`, []any{now, id}},
		{"a line's parcel", `UPDATE order_lines SET supplier_track = 'YT777' WHERE id = (SELECT min(id) FROM order_lines WHERE order_id = ?)`, []any{id}},
		{"a payment event", `INSERT INTO order_events (tenant_id, order_id, kind, actor, from_value, to_value, created_at)
			VALUES (?, ?, 'payment_status', 'system', 'pending', 'paid', ?)`, []any{shop.ID, id, now}},
		{"the shipping method's link", `UPDATE shipping_methods SET tracking_url = 'https://carrier.example/t?n={number}'
			WHERE id = (SELECT shipping_method_id FROM orders WHERE id = ?)`, []any{id}},
		{"the shipment's own link", `INSERT INTO shipments (tenant_id, order_id, carrier, track_number, tracking_url, status, created_by, created_at, updated_at)
			VALUES (?, ?, 'dostavista', 'CDEK42', 'https://courier.example/map/1', 'created', 'test', ?, ?)`, []any{shop.ID, id, now, now}},
	} {
		if _, err := db.W.ExecContext(ctx, st.sql, st.args...); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		same(st.name)
	}
	o, _, err = store.TrackOrder(ctx, shop.ID, number)
	if err != nil {
		t.Fatal(err)
	}
	if o.TrackingURL != "https://courier.example/map/1" {
		t.Errorf("tracking link %q after the shipment got its own", o.TrackingURL)
	}
}

// The storefront's kept shelf follows every change to the shop's products at
// once (a price, the stock an order took, a new product, one taken off),
// and one shop's shelf is never another's.
func TestAKeptShelfShowsEveryChangeAtOnce(t *testing.T) {
	s := newShop(t, 5)
	ctx := context.Background()
	other, err := s.store.CreateTenant(ctx, model.NewTenant{Slug: "other", Name: "Other"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.store.CreateProduct(ctx, other.ID, model.Product{SKU: "O1", Title: "Their kettle", Price: 100, Stock: 1}); err != nil {
		t.Fatal(err)
	}
	same := func(step string, tenantID int64) []*model.Product {
		t.Helper()
		got, err := s.store.FindShelf(ctx, tenantID)
		if err != nil {
			t.Fatal(err)
		}
		want, err := model.NewStore(s.store.DB, testKeys()).FindShelf(ctx, tenantID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: kept shelf %+v, fresh %+v", step, got, want)
		}
		return got
	}
	same("first read", s.tenant.ID)
	for _, st := range []struct{ name, sql string }{
		{"a new price", `UPDATE products SET price = 2700 WHERE sku = 'P1'`},
		{"stock taken by an order", `UPDATE products SET stock = stock - 1 WHERE sku = 'P1'`},
		{"a new product", `INSERT INTO products (tenant_id, sku, title, price, stock, created_at) SELECT tenant_id, 'P2', 'Cups', 800, 4, created_at FROM products WHERE sku = 'P1'`},
		{"a product taken off", `UPDATE products SET active = 0 WHERE sku = 'P1'`},
	} {
		if _, err := s.store.DB.W.ExecContext(ctx, st.sql); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		same(st.name, s.tenant.ID)
	}
	// A caller's change to its copy is its own.
	shelf := same("before a caller scribbles", s.tenant.ID)
	shelf[0].Price = -1
	same("after a caller scribbled", s.tenant.ID)

	// The same version, another shop: its own shelf.
	if _, err := s.store.DB.W.Exec(`UPDATE shop_versions SET version = 1000000 WHERE tenant_id IN (?, ?)`, s.tenant.ID, other.ID); err != nil {
		t.Fatal(err)
	}
	same("this shop at version 1,000,000", s.tenant.ID)
	if theirs := same("the other shop at version 1,000,000", other.ID); len(theirs) != 1 || theirs[0].Title != "Their kettle" {
		t.Errorf("the other shop's shelf: %+v", theirs)
	}
}

// An order's kept record follows its payments at once (the webhooks' writes),
// and a request's changes to its copy stay its own.
func TestAKeptOrderRecordShowsItsPaymentsAtOnce(t *testing.T) {
	s := newShop(t, 10)
	ctx := context.Background()
	o, err := s.order(t, 2, nil, model.CartPricing{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.store.FindOrderRecord(ctx, s.tenant.ID, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Payments) != 0 || len(r.View.Order.Lines) == 0 {
		t.Fatalf("a new order's record: %d payments, %d lines", len(r.Payments), len(r.View.Order.Lines))
	}
	r.View.Order.Lines[0].Title = "Scribbled"
	r.View.Order.Status = "scribbled"
	same, err := s.store.FindOrderRecord(ctx, s.tenant.ID, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if same.View.Order.Lines[0].Title == "Scribbled" || same.View.Order.Status == "scribbled" {
		t.Error("a request's change to its copy of the record reached the next request")
	}
	if _, err := s.store.DB.W.Exec(`INSERT INTO integrations (tenant_id, provider_type, name, status, created_at, updated_at) VALUES (?, 'kuveyt', 'K', 'test_mode', ?, ?)`,
		s.tenant.ID, s.clock, s.clock); err != nil {
		t.Fatal(err)
	}
	if _, err := s.store.DB.W.Exec(`INSERT INTO payments (tenant_id, order_id, number, provider, integration_id, mode, status, amount, currency, created_at, updated_at)
		VALUES (?, ?, 'P-1', 'kuveyt', (SELECT id FROM integrations WHERE tenant_id = ?), 'test', 'completed', ?, ?, ?, ?)`,
		s.tenant.ID, o.ID, s.tenant.ID, o.Total, o.Currency, s.clock, s.clock); err != nil {
		t.Fatal(err)
	}
	again, err := s.store.FindOrderRecord(ctx, s.tenant.ID, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Payments) != 1 || again.Payments[0].Amount != o.Total {
		t.Errorf("after a payment the record shows %d payments", len(again.Payments))
	}
	if _, err := s.store.FindOrderRecord(ctx, s.tenant.ID, o.ID+1000); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("an unknown order: %v, want ErrNotFound", err)
	}
}

// The dashboard's kept procurement state follows the shop's Taobao accounts,
// OT's sessions and its job runs at once, whoever writes them (plain SQL
// here, as another process would), and one shop's never answers for another.
func TestAKeptDashboardStateShowsEveryChangeAtOnce(t *testing.T) {
	s := newShop(t, 5)
	ctx := context.Background()
	other, err := s.store.CreateTenant(ctx, model.NewTenant{Slug: "other", Name: "Other"})
	if err != nil {
		t.Fatal(err)
	}
	jobs := []string{"orders-to-taobao", "send-messages"}
	same := func(step string, tenantID int64) model.DashboardState {
		t.Helper()
		got, err := s.store.FindDashboardState(ctx, tenantID, jobs)
		if err != nil {
			t.Fatal(err)
		}
		want, err := model.NewStore(s.store.DB, testKeys()).FindDashboardState(ctx, tenantID, jobs)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: kept state %+v, fresh %+v", step, got, want)
		}
		return got
	}
	same("first read", s.tenant.ID)

	// A run that fails, then one that starts and is discarded (a tick with
	// nothing to do), then one that succeeds: the jobs' own writes.
	run, err := s.store.StartJobRun(ctx, s.tenant.ID, "send-messages")
	if err != nil {
		t.Fatal(err)
	}
	run.Error = "SMTP refused"
	if err := s.store.FinishJobRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	if st := same("a failed run", s.tenant.ID); !reflect.DeepEqual(st.FailingJobs, []string{"send-messages"}) {
		t.Errorf("failing jobs after a failed run: %v", st.FailingJobs)
	}
	tick, err := s.store.StartJobRun(ctx, s.tenant.ID, "send-messages")
	if err != nil {
		t.Fatal(err)
	}
	same("a run under way", s.tenant.ID)
	if err := s.store.DiscardJobRun(ctx, tick); err != nil {
		t.Fatal(err)
	}
	if st := same("a run discarded", s.tenant.ID); len(st.FailingJobs) != 1 {
		t.Errorf("failing jobs after a discarded tick: %v", st.FailingJobs)
	}
	ok, err := s.store.StartJobRun(ctx, s.tenant.ID, "send-messages")
	if err != nil {
		t.Fatal(err)
	}
	ok.Processed = 1
	if err := s.store.FinishJobRun(ctx, ok); err != nil {
		t.Fatal(err)
	}
	if st := same("a run that succeeded", s.tenant.ID); len(st.FailingJobs) != 0 {
		t.Errorf("failing jobs after a good run: %v", st.FailingJobs)
	}

	for _, st := range []struct{ name, sql string }{
		{"a Taobao integration", `INSERT INTO integrations (tenant_id, provider_type, name, status, created_at, updated_at)
			VALUES (?, 'taobao', 'Taobao', 'active', '2026-12-01 00:00:00', '2026-12-01 00:00:00')`},
		{"an account connected", `INSERT INTO taobao_accounts (tenant_id, integration_id, account, access_token_enc, refresh_token_enc,
			access_expires_at, refresh_expires_at, obtained_at, created_at, updated_at)
			SELECT tenant_id, id, 'shop-buyer', 'x', 'y', '2026-12-02 00:00:00', '2026-12-03 00:00:00', '2026-12-01 00:00:00',
			'2026-12-01 00:00:00', '2026-12-01 00:00:00' FROM integrations WHERE tenant_id = ?`},
		{"an account refused", `UPDATE taobao_accounts SET status = 'needs_authorization' WHERE tenant_id = ?`},
		{"an OT session", `INSERT INTO ot_provider_sessions (tenant_id, integration_id, login, session_enc, obtained_at, expires_at, created_at, updated_at)
			SELECT tenant_id, id, 'ot-login', 'z', '2026-12-01 00:00:00', '2026-12-02 00:00:00', '2026-12-01 00:00:00', '2026-12-01 00:00:00'
			FROM integrations WHERE tenant_id = ?`},
		{"an OT session renewed", `UPDATE ot_provider_sessions SET expires_at = '2026-12-09 00:00:00' WHERE tenant_id = ?`},
		{"an OT session removed", `DELETE FROM ot_provider_sessions WHERE tenant_id = ?`},
		{"an account removed", `DELETE FROM taobao_accounts WHERE tenant_id = ?`},
	} {
		if _, err := s.store.DB.W.ExecContext(ctx, st.sql, s.tenant.ID); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		same(st.name, s.tenant.ID)
	}
	if _, err := s.store.DB.W.ExecContext(ctx, `INSERT INTO taobao_accounts (tenant_id, integration_id, account, access_token_enc, refresh_token_enc,
			access_expires_at, refresh_expires_at, obtained_at, created_at, updated_at)
			SELECT tenant_id, id, 'buyer-2', 'x', 'y', '2026-12-02 00:00:00', '2026-12-03 00:00:00', '2026-12-01 00:00:00',
			'2026-12-01 00:00:00', '2026-12-01 00:00:00' FROM integrations WHERE tenant_id = ?`, s.tenant.ID); err != nil {
		t.Fatal(err)
	}
	// A caller's change to its copy is its own.
	st := same("before a caller scribbles", s.tenant.ID)
	st.TaobaoAccounts[0].Status = "scribbled"
	st.FailingJobs = append(st.FailingJobs, "scribbled")
	same("after a caller scribbled", s.tenant.ID)

	// The same version, another shop: its own state.
	if _, err := s.store.DB.W.Exec(`UPDATE shop_versions SET version = 1000000 WHERE tenant_id IN (?, ?)`, s.tenant.ID, other.ID); err != nil {
		t.Fatal(err)
	}
	same("this shop at version 1,000,000", s.tenant.ID)
	if theirs := same("the other shop at version 1,000,000", other.ID); len(theirs.TaobaoAccounts) != 0 {
		t.Errorf("the other shop's accounts: %+v", theirs.TaobaoAccounts)
	}
}

// A kept user follows every change at once, whoever makes it (plain SQL
// here, as the command line would): a deactivated user or a revoked session
// is refused on the very next request.
func TestAKeptUserShowsEveryChangeAtOnce(t *testing.T) {
	s := newShop(t, 1)
	ctx := context.Background()
	created, err := s.store.CreateUser(ctx, s.tenant.ID, model.NewUser{Email: "staff@example.com", Name: "Staff",
		Password: "a long enough password", Role: model.RoleStaff})
	if err != nil {
		t.Fatal(err)
	}
	id := created.ID
	same := func(step string) *model.User {
		t.Helper()
		got, err := s.store.FindUserByID(ctx, s.tenant.ID, id)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		want, err := model.NewStore(s.store.DB, testKeys()).FindUserByID(ctx, s.tenant.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: kept user %+v, fresh %+v", step, got, want)
		}
		return got
	}
	same("first read")
	for _, st := range []struct{ name, sql string }{
		{"deactivated", `UPDATE users SET active = 0 WHERE id = ?`},
		{"sessions revoked", `UPDATE users SET session_version = session_version + 1 WHERE id = ?`},
		{"another role", `UPDATE users SET role = 'operator' WHERE id = ?`},
		{"another language", `UPDATE users SET language = 'tr' WHERE id = ?`},
	} {
		if _, err := s.store.DB.W.ExecContext(ctx, st.sql, id); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		same(st.name)
	}
	u := same("before a caller scribbles")
	u.Active = true
	if same("after a caller scribbled").Active {
		t.Error("a caller's change to its copy reached the kept user")
	}
	if _, err := s.store.DB.W.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, id); err != nil {
		t.Fatal(err)
	}
	if _, err := s.store.FindUserByID(ctx, s.tenant.ID, id); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("a deleted user: %v, want ErrNotFound", err)
	}
	// Another shop's id at the same version is not found in this shop.
	other, err := s.store.CreateTenant(ctx, model.NewTenant{Slug: "other", Name: "Other"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.store.FindUserByID(ctx, other.ID, id); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("this shop's user read as another shop's: %v", err)
	}
}
