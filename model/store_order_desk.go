package model

import (
	"context"
	"maps"
	"math"
)

// OrderDesk is what the order desk shows of a filter: a page of order
// summaries, the count of each status tab and of the orders ready to ship.
type OrderDesk struct {
	Page   *OrderPage
	Counts map[OrderStatus]int
	Ready  int
}

// orderDesksKept is how many order desk views are kept: every tab, sort and
// first pages a shop's staff move between, for a few shops.
const orderDesksKept = 512

// orderDeskKey is a kept order desk view's filter, its dates as numbers so
// that equal filters are equal keys.
type orderDeskKey struct {
	filter   OrderFilter
	from, to int64
}

// FindOrderDesk reads the order desk of a filter: the page of summaries
// FindOrders gives with f.Summary, CountOrdersByStatus of f and
// CountReadyToShip. A shop's staff look at the same tabs again and again
// between changes, and the page alone cost the driver a third of a
// millisecond (fifty rows of fifteen values), so what was read is kept under
// the shop's version (ShopVersion) and given again while the version stays:
// one small read instead of four. A filter whose answer moves with the clock
// (UnpaidFor) is read every time.
func (s *Store) FindOrderDesk(ctx context.Context, tenantID int64, f OrderFilter) (*OrderDesk, error) {
	f.Summary = true
	if f.UnpaidFor != 0 {
		return s.readOrderDesk(ctx, tenantID, f)
	}
	k := orderDeskKey{filter: f, from: math.MinInt64, to: math.MinInt64}
	if f.CreatedFrom != nil {
		k.from = f.CreatedFrom.UnixNano()
	}
	if f.CreatedTo != nil {
		k.to = f.CreatedTo.UnixNano()
	}
	k.filter.CreatedFrom, k.filter.CreatedTo = nil, nil
	d, err := keptRead(ctx, s, s.orderDesks, tenantID, k, func() (*OrderDesk, error) { return s.readOrderDesk(ctx, tenantID, f) })
	if err != nil {
		return nil, err
	}
	return d.clone(), nil
}

func (s *Store) readOrderDesk(ctx context.Context, tenantID int64, f OrderFilter) (*OrderDesk, error) {
	page, err := s.FindOrders(ctx, tenantID, f)
	if err != nil {
		return nil, err
	}
	d := &OrderDesk{Page: page}
	if d.Counts, err = s.CountOrdersByStatus(ctx, tenantID, f); err != nil {
		return nil, err
	}
	if d.Ready, err = s.CountReadyToShip(ctx, tenantID); err != nil {
		return nil, err
	}
	return d, nil
}

// clone is a copy of a kept view for one request, which may change its
// copy: the kept one is shared by every request of the same view.
func (d *OrderDesk) clone() *OrderDesk {
	page := *d.Page
	page.Orders = clonePointers(d.Page.Orders)
	return &OrderDesk{Page: &page, Counts: maps.Clone(d.Counts), Ready: d.Ready}
}
