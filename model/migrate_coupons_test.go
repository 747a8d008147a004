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
	body, err := fs.ReadFile(migrations.FS, "0008_coupon_use_by_customer.sql")
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, stmt := range strings.Split(string(body), ";") {
		var code []string
		for _, line := range strings.Split(stmt, "\n") {
			if !strings.HasPrefix(strings.TrimSpace(line), "--") {
				code = append(code, line)
			}
		}
		sqlText := strings.TrimSpace(strings.Join(code, "\n"))
		if strings.HasPrefix(sqlText, "UPDATE coupon_redemptions") {
			if _, err := s.store.DB.W.ExecContext(ctx, sqlText); err != nil {
				t.Fatalf("%s: %v", sqlText, err)
			}
			ran++
		}
	}
	if ran == 0 {
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
