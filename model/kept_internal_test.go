package model

import (
	"context"
	"crypto/rand"
	"database/sql"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mattn/go-sqlite3"
)

// tablesRead records the tables SQLite reads as it prepares statements, by
// its authorizer, on the connections of the driver readRecorder registers.
var tablesRead struct {
	sync.Mutex
	names map[string]bool
}

const readRecorder = "sqlite3_orderdesk_reads"

func init() {
	sql.Register(readRecorder, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		c.RegisterAuthorizer(func(op int, table, _, _ string) int {
			if op == sqlite3.SQLITE_READ && table != "" && !strings.HasPrefix(table, "sqlite_") {
				tablesRead.Lock()
				tablesRead.names[table] = true
				tablesRead.Unlock()
			}
			return sqlite3.SQLITE_OK
		})
		return nil
	}})
}

// Everything kept under a shop's version (kept.go) is read only from tables
// whose every insert, update and delete moves the version on: a kept read
// that starts to read another table fails here until that table's triggers
// are in migrations (0018), rather than showing staff or customers what was.
func TestKeptReadsReadOnlyTablesThatMoveTheShopsVersion(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "orderdesk.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	keys, err := NewKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	s := NewStore(db, keys)
	if _, err := s.SeedDemo(ctx, "kept-password"); err != nil {
		t.Fatal(err)
	}
	shop, err := s.FindTenantBySlug(ctx, DemoTenantSlug)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SeedBulkOrders(ctx, shop, 40); err != nil {
		t.Fatal(err)
	}
	var number string
	if err := db.R.QueryRowContext(ctx, `SELECT number FROM orders WHERE tenant_id = ? LIMIT 1`, shop.ID).Scan(&number); err != nil {
		t.Fatal(err)
	}
	var orderIDs []int64
	ids, err := db.R.QueryContext(ctx, `SELECT id FROM orders WHERE tenant_id = ?`, shop.ID)
	if err != nil {
		t.Fatal(err)
	}
	for ids.Next() {
		var id int64
		if err := ids.Scan(&id); err != nil {
			t.Fatal(err)
		}
		orderIDs = append(orderIDs, id)
	}
	if err := ids.Close(); err != nil {
		t.Fatal(err)
	}

	// The same file read through connections that record what they read:
	// each statement is prepared afresh on them.
	recorded, err := sql.Open(readRecorder, dsn(path, false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { recorded.Close() })
	rs := NewStore(&DB{W: db.W, R: recorded}, s.Keys)

	covered := map[string]int{}
	rows, err := db.R.QueryContext(ctx, `SELECT tbl_name, sql FROM sqlite_master WHERE type = 'trigger' AND sql LIKE '%shop_versions%'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var table, text string
		if err := rows.Scan(&table, &text); err != nil {
			t.Fatal(err)
		}
		for _, op := range []string{"AFTER INSERT", "AFTER UPDATE", "AFTER DELETE"} {
			if strings.Contains(text, op+" ON "+table) {
				covered[table]++
			}
		}
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}

	for name, read := range map[string]func() error{
		"FindOrderDesk": func() error {
			_, err := rs.readOrderDesk(ctx, shop.ID, OrderFilter{Status: OrderConfirmed, Summary: true})
			return err
		},
		"FindOrderDesk, filtered": func() error {
			_, err := rs.readOrderDesk(ctx, shop.ID, OrderFilter{Email: "a", Ready: true, ProcurementError: true, Summary: true})
			return err
		},
		"TrackOrder": func() error {
			_, _, err := rs.readTrackedOrder(ctx, shop.ID, number)
			return err
		},
		"FindOrderRecord": func() error {
			// Every order of the shop, so that each way through the read
			// (a shipment or none, OT or not) is prepared.
			for _, id := range orderIDs {
				if _, err := rs.readOrderRecord(ctx, shop.ID, id); err != nil {
					return err
				}
			}
			return nil
		},
		"FindShelf": func() error {
			_, err := rs.readShelf(ctx, shop.ID)
			return err
		},
		"FindDashboardState": func() error {
			_, err := rs.readDashboardState(ctx, shop.ID, []string{"orders-to-taobao", "send-messages"})
			return err
		},
		"FindUserByID": func() error {
			_, err := rs.readUserByID(ctx, shop.ID, 1)
			return err
		},
		"FindDailyTotals": func() error {
			_, err := rs.readDailyTotals(ctx, shop.ID, time.Now().UTC().Truncate(24*time.Hour), 7)
			return err
		},
	} {
		tablesRead.Lock()
		tablesRead.names = map[string]bool{}
		tablesRead.Unlock()
		if err := read(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		tablesRead.Lock()
		var names []string
		for n := range tablesRead.names {
			names = append(names, n)
		}
		tablesRead.Unlock()
		sort.Strings(names)
		if len(names) == 0 {
			t.Errorf("%s: no table read was recorded", name)
		}
		for _, n := range names {
			if covered[n] != 3 {
				t.Errorf("%s reads %s, whose changes do not all move the shop's version (%d of insert, update, delete do)", name, n, covered[n])
			}
		}
		t.Logf("%s reads %s", name, strings.Join(names, ", "))
	}
	if covered["orders"] != 3 {
		t.Errorf("orders: %d triggers move the version, want 3", covered["orders"])
	}
}
