package model_test

import (
	"context"
	"database/sql"
	"io/fs"
	"strings"
	"testing"

	"orderdesk/migrations"
	"orderdesk/model"
)

// The uses recorded before migration 0008 are bound by its backfill exactly as
// new uses are bound: same account, same normalised e-mail.
func TestMigrationBindsPastCouponUsesAsNewOnes(t *testing.T) {
	s := newShop(t, 100)
	ctx := context.Background()
	if _, err := s.store.CreateCoupon(ctx, s.tenant.ID, model.Coupon{Code: "MANY", Kind: "fixed", Value: 100}); err != nil {
		t.Fatal(err)
	}
	cu, err := s.store.RegisterCustomer(ctx, s.tenant.ID, model.NewCustomer{Email: "Ayse+Shop@Example.com", Password: "password1"})
	if err != nil {
		t.Fatal(err)
	}
	s.orderAs(t, nil, " Guest.Name+x@Example.COM", "MANY")
	s.orderAs(t, nil, "plain@example.com", "MANY")
	s.orderAs(t, cu, "typed+y@example.com", "MANY")

	type bound struct {
		customer sql.NullInt64
		email    string
	}
	read := func() map[int64]bound {
		rows, err := s.store.DB.R.QueryContext(ctx, `SELECT order_id, customer_id, email_normalized FROM coupon_redemptions ORDER BY order_id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[int64]bound{}
		for rows.Next() {
			var id int64
			var b bound
			if err := rows.Scan(&id, &b.customer, &b.email); err != nil {
				t.Fatal(err)
			}
			out[id] = b
		}
		return out
	}
	live := read()
	if len(live) != 3 {
		t.Fatalf("redemptions: %v", live)
	}
	want := map[string]bool{"guest.name@example.com": true, "plain@example.com": true, "ayse@example.com": true}
	for id, b := range live {
		if !want[b.email] {
			t.Errorf("order %d bound to %q", id, b.email)
		}
		if b.customer.Valid != (b.email == "ayse@example.com") {
			t.Errorf("order %d bound to account %v", id, b.customer)
		}
	}

	// As the rows were before the migration: no binding at all.
	if _, err := s.store.DB.W.ExecContext(ctx, `UPDATE coupon_redemptions SET customer_id = NULL, email_normalized = ''`); err != nil {
		t.Fatal(err)
	}
	if runMigrationUpdates(t, s.store.DB, "0008_coupon_use_by_customer.sql", "UPDATE coupon_redemptions") == 0 {
		t.Fatal("the migration has no backfill of coupon_redemptions")
	}
	if got := read(); len(got) != len(live) {
		t.Fatalf("after the backfill: %v", got)
	} else {
		for id, b := range live {
			if got[id] != b {
				t.Errorf("order %d: backfill bound %+v, a new use %+v", id, got[id], b)
			}
		}
	}
}

// runMigrationUpdates runs again the statements of a migration that start with
// prefix (data changes), as they ran on a database that had the old rows, and
// returns how many it ran.
func runMigrationUpdates(t *testing.T, db *model.DB, name, prefix string) int {
	t.Helper()
	body, err := fs.ReadFile(migrations.FS, name)
	if err != nil {
		t.Fatal(err)
	}
	var code []string
	for _, line := range strings.Split(string(body), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "--") {
			code = append(code, line)
		}
	}
	ran := 0
	for _, stmt := range strings.Split(strings.Join(code, "\n"), ";") {
		sqlText := strings.TrimSpace(stmt)
		if strings.HasPrefix(sqlText, prefix) {
			if _, err := db.W.Exec(sqlText); err != nil {
				t.Fatalf("%s: %v", sqlText, err)
			}
			ran++
		}
	}
	return ran
}

// A Turkish demo shop seeded before migration 0008 gets seed 001's required
// fields; one whose owner chose the fields keeps them.
func TestMigrationGivesTheTurkishDemoSeed001sFields(t *testing.T) {
	ctx := context.Background()
	s := newShop(t, 1)
	if _, err := s.store.SeedDemo(ctx, "demo-password-1"); err != nil {
		t.Fatal(err)
	}
	fields := func(slug string) string {
		s.store.TenantsChanged() // the migration's UPDATE went around the store
		tn, err := s.store.FindTenantBySlug(ctx, slug)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(tn.RequiredAddressFields, ",")
	}
	seed001 := strings.Join(model.DemoTurkishRequiredFields, ",")
	if got := fields(model.DemoTurkishSlug); got != seed001 {
		t.Errorf("a new Turkish demo requires %s, want %s", got, seed001)
	}
	fecshop := fields(model.DemoTenantSlug)
	if strings.Contains(seed001, "state") || !strings.Contains(fecshop, "state") {
		t.Errorf("seed 001's list %s, the default %s", seed001, fecshop)
	}
	// As seeded before the migration: the default list.
	set := func(slug, list string) {
		if _, err := s.store.DB.W.ExecContext(ctx, `UPDATE tenants SET required_address_fields = ? WHERE slug = ?`, list, slug); err != nil {
			t.Fatal(err)
		}
	}
	set(model.DemoTurkishSlug, fecshop)
	runMigrationUpdates(t, s.store.DB, "0008_coupon_use_by_customer.sql", "UPDATE tenants")
	if got := fields(model.DemoTurkishSlug); got != seed001 {
		t.Errorf("after the migration the Turkish demo requires %s, want %s", got, seed001)
	}
	if got := fields(model.DemoTenantSlug); got != fecshop {
		t.Errorf("the migration changed the rouble demo: %s", got)
	}
	set(model.DemoTurkishSlug, "first_name,email")
	runMigrationUpdates(t, s.store.DB, "0008_coupon_use_by_customer.sql", "UPDATE tenants")
	if got := fields(model.DemoTurkishSlug); got != "first_name,email" {
		t.Errorf("the migration overwrote the owner's choice: %s", got)
	}
}
