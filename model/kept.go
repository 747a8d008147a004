package model

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	lru "github.com/hashicorp/golang-lru/v2"
)

// versioned is the key of something kept under a version of a shop
// (ShopVersion): the shop, the version it was read at, and what was read.
type versioned[K comparable] struct {
	tenantID, version int64
	key               K
}

// keptCache is a bounded cache of reads of a shop's data.
type keptCache[K comparable, V any] = lru.Cache[versioned[K], V]

func newKeptCache[K comparable, V any](size int) *keptCache[K, V] {
	c, err := lru.New[versioned[K], V](size)
	if err != nil {
		panic(err) // only for a size below one
	}
	return c
}

// keptRead gives what read reads of the shop's data, kept in c under key and
// the shop's current version: while the version stays, the kept answer is
// given again. The version is read first, so that a change between it and
// read makes the kept answer newer than its key says, never older; the next
// look at the new version reads again. Errors are not kept (an unknown
// order number asked a thousand times takes no memory).
func keptRead[K comparable, V any](ctx context.Context, s *Store, c *keptCache[K, V], tenantID int64, key K, read func() (V, error)) (V, error) {
	var zero V
	v, err := s.ShopVersion(ctx, tenantID)
	if err != nil {
		return zero, err
	}
	k := versioned[K]{tenantID: tenantID, version: v, key: key}
	if kept, ok := c.Get(k); ok {
		return kept, nil
	}
	// A change to the shop sends every request under way to read again at
	// once, each the same read: they share one (%#v quotes strings, so two
	// keys are never written alike).
	shared, err, _ := s.keptReads.Do(fmt.Sprintf("%p %#v", c, k), func() (any, error) {
		if kept, ok := c.Get(k); ok { // kept while this caller came
			return kept, nil
		}
		got, err := read()
		if err != nil {
			return nil, err
		}
		c.Add(k, got)
		return got, nil
	})
	if err != nil {
		if ctx.Err() == nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
			// The request that read for all was cancelled; this one was not.
			return read()
		}
		return zero, err
	}
	return shared.(V), nil
}

// ShopVersion is the version of the shop's data: every change to a table a
// kept read reads moves it on (migration 0018 says which). Callers asking at
// the same time share a read begun after they asked (versionReads).
func (s *Store) ShopVersion(ctx context.Context, tenantID int64) (_ int64, err error) {
	defer wrapErr(&err, "shop version (tenantID=%d)", tenantID)
	return s.versionReads.get(ctx, tenantID, func(ctx context.Context) (int64, error) {
		var v int64
		err := s.DB.R.QueryRowContext(ctx, `SELECT version FROM shop_versions WHERE tenant_id = ?`, tenantID).Scan(&v)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, nil // nothing changed yet
		}
		return v, err
	})
}

// clonePointers copies a list of pointers to values: new values, not new
// pointers to the same ones, so that a caller's change to its copy of a kept
// read stays its own.
func clonePointers[T any](list []*T) []*T {
	if list == nil {
		return nil
	}
	// The values in one array: one allocation, not one per value (a desk's
	// fifty orders were fifty).
	values, out := make([]T, len(list)), make([]*T, len(list))
	for i, p := range list {
		values[i] = *p
		out[i] = &values[i]
	}
	return out
}
