package model

import (
	"database/sql"
	"errors"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// Store is the application's data layer: every query of the application is a method
// of Store, and every method on tenant-owned data takes the tenant id.
type Store struct {
	DB *DB
	// Keys seals and opens the secrets kept in the database (integration keys).
	Keys *Keyring
	// Now is the clock; tests replace it.
	Now func() time.Time
	// tenants is the shops kept in memory (tenant_cache.go).
	tenants *tenantCache
	// orderDesks is the order desk views kept in memory (FindOrderDesk).
	orderDesks *lru.Cache[orderDeskKey, *OrderDesk]
}

// NewStore wraps an opened, migrated database and the instance's keys.
func NewStore(db *DB, keys *Keyring) *Store {
	return &Store{DB: db, Keys: keys, Now: func() time.Time { return time.Now().UTC() }, tenants: newTenantCache(), orderDesks: newOrderDeskCache()}
}

func (s *Store) now() time.Time { return s.Now().UTC() }

// notFound turns sql.ErrNoRows into ErrNotFound and leaves other errors alone.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}
