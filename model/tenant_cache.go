package model

import (
	"slices"
	"sync"
)

// tenantCache keeps the tenants in memory: every request finds its shop by
// the host's slug, and shops change only when their owners save settings.
// Every write to the tenants' cached columns calls TenantsChanged (one place
// per writer: CreateTenant, UpdateOrderSettings); the order counter
// (order_increment_next) is not cached and needs no invalidation.
//
// The cache is this process's: a change made by another process on the same
// file (none of the CLI commands changes a shop's settings today) is seen
// after the server restarts.
type tenantCache struct {
	mu     sync.RWMutex
	gen    uint64 // bumped by every change, so a read begun before it is not kept
	bySlug map[string]*Tenant
	byID   map[int64]*Tenant
}

func newTenantCache() *tenantCache {
	return &tenantCache{bySlug: map[string]*Tenant{}, byID: map[int64]*Tenant{}}
}

// get returns a copy of a cached tenant, so that a caller's change to it
// stays its own; ok is false when the tenant is not cached.
func (c *tenantCache) get(slug string, id int64) (t *Tenant, gen uint64, ok bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var cached *Tenant
	if slug != "" {
		cached, ok = c.bySlug[slug]
	} else {
		cached, ok = c.byID[id]
	}
	if !ok {
		return nil, c.gen, false
	}
	return cached.clone(), c.gen, true
}

// put keeps a tenant read from the database, unless the tenants changed since
// the read began (gen).
func (c *tenantCache) put(t *Tenant, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	cp := t.clone()
	c.bySlug[cp.Slug] = cp
	c.byID[cp.ID] = cp
}

// forget empties the cache.
func (c *tenantCache) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.bySlug)
	clear(c.byID)
}

func (t *Tenant) clone() *Tenant {
	cp := *t
	cp.RequiredAddressFields = slices.Clone(t.RequiredAddressFields)
	return &cp
}

// TenantsChanged drops the copy in memory of the shops. The store's own writes
// call it; whoever changes the tenants table otherwise (a test's SQL) calls it too.
func (s *Store) TenantsChanged() { s.tenants.forget() }
