package model

import (
	"database/sql"
	"errors"
	"time"

	"golang.org/x/sync/singleflight"
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
	// orderDesks, trackedOrders, shelves, dailyTotals, orderRecords,
	// dashboardStates and users are reads of a shop kept in memory under its
	// version (kept.go): FindOrderDesk, TrackOrder, FindShelf,
	// FindDailyTotals, FindOrderRecord, FindDashboardState (by the job names
	// asked for), FindUserByID.
	orderDesks      *keptCache[orderDeskKey, *OrderDesk]
	trackedOrders   *keptCache[string, trackedOrder]
	shelves         *keptCache[struct{}, []*Product]
	dailyTotals     *keptCache[dailyTotalsKey, []DayTotals]
	orderRecords    *keptCache[int64, *OrderRecord]
	users           *keptCache[int64, *User]
	dashboardStates *keptCache[string, DashboardState]
	// versionReads shares reads of ShopVersion among callers at once, and
	// keptReads a kept read's reads of the same key (kept.go).
	keptReads    *singleflight.Group
	versionReads *versionReads
}

// NewStore wraps an opened, migrated database and the instance's keys.
func NewStore(db *DB, keys *Keyring) *Store {
	return &Store{DB: db, Keys: keys, Now: func() time.Time { return time.Now().UTC() }, tenants: newTenantCache(),
		orderDesks:      newKeptCache[orderDeskKey, *OrderDesk](orderDesksKept),
		trackedOrders:   newKeptCache[string, trackedOrder](trackedOrdersKept),
		shelves:         newKeptCache[struct{}, []*Product](shelvesKept),
		dailyTotals:     newKeptCache[dailyTotalsKey, []DayTotals](dailyTotalsKept),
		orderRecords:    newKeptCache[int64, *OrderRecord](orderRecordsKept),
		dashboardStates: newKeptCache[string, DashboardState](dashboardStatesKept),
		users:           newKeptCache[int64, *User](usersKept),
		versionReads:    newVersionReads(),
		keptReads:       &singleflight.Group{}}
}

func (s *Store) now() time.Time { return s.Now().UTC() }

// notFound turns sql.ErrNoRows into ErrNotFound and leaves other errors alone.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}
