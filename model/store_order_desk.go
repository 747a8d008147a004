package model

import (
	"context"
	"maps"
	"math"
	"slices"
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

// trackedOrdersKept is how many orders' tracking stories are kept: the
// orders customers are waiting for, which they look at again and again.
const trackedOrdersKept = 4096

// shelvesKept is how many shops' shelves (and dashboards' weeks) are kept.
const shelvesKept = 64

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
	page.Orders = make([]*Order, len(d.Page.Orders))
	for i, o := range d.Page.Orders {
		c := *o
		page.Orders[i] = &c
	}
	return &OrderDesk{Page: &page, Counts: maps.Clone(d.Counts), Ready: d.Ready}
}

// trackedOrder is an order's tracking story as TrackOrder reads it.
type trackedOrder struct {
	order *Order
	story []TrackStep
}

// TrackOrder reads the tenant's order of this number for the public
// tracking pages, with its story (readTrackedOrder), kept under the shop's
// version: the busiest pages of a shop, asked again and again
// of the orders customers are waiting for.
func (s *Store) TrackOrder(ctx context.Context, tenantID int64, number string) (*Order, []TrackStep, error) {
	number = OrderNumber(number)
	t, err := keptRead(ctx, s, s.trackedOrders, tenantID, number, func() (trackedOrder, error) {
		o, story, err := s.readTrackedOrder(ctx, tenantID, number)
		return trackedOrder{o, story}, err
	})
	if err != nil {
		return nil, nil, err
	}
	o := *t.order
	return &o, slices.Clone(t.story), nil
}
