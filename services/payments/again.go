package payments

import (
	"context"
	"sync"

	"orderdesk/model"
)

// PayAgain starts a new payment of an order whose last payment was declined
// or abandoned: "Try again" (the same method) and "Pay another way" (another
// one). It is Start for the same order, never a new order, so Start's rules
// hold: an order is paid once, an expired or cancelled one is not paid, money
// that comes late for a closed payment is received late.
//
// Two clicks at once (a double click, two tabs) make one payment at the
// provider: the clicks of one order take turns, and a click that finds the
// payment the other just opened with the same method sends the customer to
// that payment's page instead of closing it and opening a second.
func (s *Service) PayAgain(ctx context.Context, t *model.Tenant, in StartInput) (*model.Payment, error) {
	unlock := s.orders.lock(t.ID, in.OrderID)
	defer unlock()
	open, err := s.store.FindPayments(ctx, t.ID, model.PaymentFilter{OrderID: in.OrderID, Open: true, Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(open) > 0 && open[0].Provider == in.Provider && open[0].Status == model.PaymentPending && open[0].PaymentURL != "" {
		return open[0], nil
	}
	return s.Start(ctx, t, in)
}

// orderLocks makes the pay-again clicks of one order take turns in this
// process (the application is one process on one database file). An entry
// lives while somebody holds or waits for it.
type orderLocks struct {
	mu    sync.Mutex
	locks map[[2]int64]*orderLock
}

type orderLock struct {
	sync.Mutex
	users int
}

// lock takes the order's turn and returns its release.
func (l *orderLocks) lock(tenantID, orderID int64) func() {
	key := [2]int64{tenantID, orderID}
	l.mu.Lock()
	if l.locks == nil {
		l.locks = map[[2]int64]*orderLock{}
	}
	ol := l.locks[key]
	if ol == nil {
		ol = &orderLock{}
		l.locks[key] = ol
	}
	ol.users++
	l.mu.Unlock()
	ol.Lock()
	return func() {
		ol.Unlock()
		l.mu.Lock()
		if ol.users--; ol.users == 0 {
			delete(l.locks, key)
		}
		l.mu.Unlock()
	}
}
