package model_test

import (
	"context"
	"path/filepath"
	"testing"

	"orderdesk/model"
)

func TestMigrate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "orderdesk.db")
	db, err := model.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	applied, err := db.Migrate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) == 0 || applied[0] != "0001_foundation" {
		t.Fatalf("first start applied %v, want 0001_foundation first", applied)
	}
	var tables int
	db.R.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('tenants', 'users', 'sessions', 'login_failures')`).Scan(&tables)
	if tables != 4 {
		t.Errorf("foundation tables: got %d, want 4", tables)
	}
	db.Close()

	// A second start on the same file applies nothing and keeps the data.
	db, err = model.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	again, err := db.Migrate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 0 {
		t.Errorf("second start applied %v, want nothing", again)
	}
	var recorded int
	db.R.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&recorded)
	if recorded != len(applied) {
		t.Errorf("schema_migrations has %d rows, want %d", recorded, len(applied))
	}
}

func TestConnectionPragmas(t *testing.T) {
	db, err := model.Open(filepath.Join(t.TempDir(), "orderdesk.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mode string
	var fk, busy int
	db.R.QueryRow(`PRAGMA journal_mode`).Scan(&mode)
	db.R.QueryRow(`PRAGMA foreign_keys`).Scan(&fk)
	db.R.QueryRow(`PRAGMA busy_timeout`).Scan(&busy)
	if mode != "wal" || fk != 1 || busy < 1000 {
		t.Errorf("reader: journal_mode=%s foreign_keys=%d busy_timeout=%d", mode, fk, busy)
	}
	db.W.QueryRow(`PRAGMA foreign_keys`).Scan(&fk)
	if fk != 1 {
		t.Errorf("writer: foreign_keys=%d", fk)
	}
	if _, err := db.R.Exec(`CREATE TABLE x (y)`); err == nil {
		t.Error("the read pool accepted a write")
	}
}
