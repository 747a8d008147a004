package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"orderdesk/model"
)

// TestBackupUnderWritesRestores takes a backup with the CLI while goroutines
// place orders on the same database, restores it as the README says, and
// checks that the copy is one point in time: every order with its lines and
// its stock taken, more orders than before the backup and fewer than after.
func TestBackupUnderWritesRestores(t *testing.T) {
	model.PasswordCost = bcrypt.MinCost
	ctx := context.Background()
	data := t.TempDir()
	store, _, err := openStore(ctx, config{Data: data})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.SeedDemo(ctx, "demo-password"); err != nil {
		t.Fatal(err)
	}
	demo, _ := store.FindTenantBySlug(ctx, model.DemoTenantSlug)
	if _, err := store.DB.W.Exec(`UPDATE products SET stock = 100000 WHERE tenant_id = ?`, demo.ID); err != nil {
		t.Fatal(err)
	}
	products, _ := store.FindProducts(ctx, demo.ID)
	ships, _ := store.FindShippingMethods(ctx, demo.ID)
	// Per product: the stock left plus what orders hold reserved. Placing
	// orders moves units from one to the other; the sum stays.
	units := func(db *sql.DB) map[int64]int {
		t.Helper()
		rows, err := db.Query(`SELECT p.id, p.stock + coalesce((SELECT sum(l.quantity) FROM order_lines l JOIN orders o ON o.id = l.order_id
			WHERE l.product_id = p.id AND o.stock_reserved = 1), 0) FROM products p WHERE p.tenant_id = ?`, demo.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		m := map[int64]int{}
		for rows.Next() {
			var id int64
			var n int
			if err := rows.Scan(&id, &n); err != nil {
				t.Fatal(err)
			}
			m[id] = n
		}
		return m
	}
	count := func(db *sql.DB, q string) int {
		t.Helper()
		var n int
		if err := db.QueryRow(q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	const countOrders = `SELECT count(*) FROM orders`
	wantUnits := units(store.DB.R)
	before := count(store.DB.R, countOrders)

	var placed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	werrs := make(chan error, 4)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				cart, err := store.EnsureCart(ctx, demo.ID, "", 0)
				if err == nil {
					err = store.AddToCart(ctx, demo.ID, cart, products[(w+i)%len(products)].ID, 1+i%2)
				}
				if err == nil {
					_, err = store.PlaceOrder(ctx, demo, model.PlaceOrderInput{CartID: cart, ShippingMethodID: ships[0].ID, Address: model.Address{
						FirstName: "A", LastName: "B", Email: "b@example.com", Telephone: "1", Street1: "S", Country: "RU", City: "C", State: "S", Zip: "1"}})
				}
				if err != nil {
					werrs <- err
					return
				}
				placed.Add(1)
			}
		}()
	}
	waitPlaced := func(n int64) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); placed.Load() < n; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) || len(werrs) > 0 {
				close(stop)
				wg.Wait()
				t.Fatalf("orders placed: %d, want %d (%v)", placed.Load(), n, <-werrs)
			}
		}
	}
	waitPlaced(20)
	out, err := runCLI(t, "backup", "--data", data)
	atBackup := placed.Load()
	waitPlaced(atBackup + 20)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	after := count(store.DB.R, countOrders)
	m := regexp.MustCompile(`^backed up to (\S+) \(`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("backup's report: %q", out)
	}
	backup := m[1]
	if filepath.Dir(backup) != filepath.Join(data, "backups") {
		t.Errorf("the backup is at %s, want the data folder's backups/", backup)
	}
	if st, err := os.Stat(backup); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("the backup file: %v, %v, want mode 0600", st, err)
	}

	// Restore as the README says: stop, copy the file over, remove -wal and
	// -shm, start.
	if err := store.DB.Close(); err != nil {
		t.Fatal(err)
	}
	copyFile(t, backup, filepath.Join(data, "orderdesk.db"))
	for _, name := range []string{"orderdesk.db-wal", "orderdesk.db-shm"} {
		if err := os.Remove(filepath.Join(data, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
	}
	restored, applied, err := openStore(ctx, config{Data: data})
	if err != nil {
		t.Fatal(err)
	}
	defer restored.DB.Close()
	if len(applied) != 0 {
		t.Errorf("the restored database needed migrations: %v", applied)
	}
	var check string
	if err := restored.DB.R.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check of the restored database: %q, %v", check, err)
	}
	got := count(restored.DB.R, countOrders)
	if got <= before || got >= after {
		t.Errorf("orders in the backup: %d, want more than the %d before it and fewer than the %d after", got, before, after)
	}
	if n := count(restored.DB.R, `SELECT count(*) FROM orders o WHERE NOT EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.id)`); n != 0 {
		t.Errorf("%d orders in the backup without their lines", n)
	}
	if u := units(restored.DB.R); fmt.Sprint(u) != fmt.Sprint(wantUnits) {
		t.Errorf("stock plus reserved units per product in the backup: %v, want %v", u, wantUnits)
	}
	page, err := restored.FindOrders(ctx, demo.ID, model.OrderFilter{Limit: 1})
	if err != nil || len(page.Orders) != 1 {
		t.Errorf("the order desk's list on the restored database: %v", err)
	}
	t.Logf("orders: %d before the backup, %d in it, %d after", before, got, after)
}

func TestBackupRefusals(t *testing.T) {
	data := t.TempDir()
	if _, err := runCLI(t, "backup", "--data", data); err == nil || !strings.Contains(err.Error(), "no database") {
		t.Errorf("backup of no database: %v", err)
	}
	if _, err := os.Stat(filepath.Join(data, "orderdesk.db")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("backup of no database made one: %v", err)
	}
	if _, err := runCLI(t, "migrate", "--data", data); err != nil {
		t.Fatal(err)
	}
	to := filepath.Join(t.TempDir(), "copy.db")
	if out, err := runCLI(t, "backup", "--data", data, "--to", to); err != nil || !strings.Contains(out, "backed up to "+to) {
		t.Fatalf("backup --to: %v\n%s", err, out)
	}
	if _, err := runCLI(t, "backup", "--data", data, "--to", to); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("backup over an existing file: %v", err)
	}
	if _, err := runCLI(t, "jobs", "list", "--data", data, "--backup-keep=0"); err == nil || !strings.Contains(err.Error(), "ORDERDESK_BACKUP_KEEP") {
		t.Errorf("a keep of 0: %v", err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
