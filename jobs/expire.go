package jobs

import (
	"context"
	"time"

	"orderdesk/model"
)

// ExpireUnpaidName is the name of the unpaid-order expiry job.
const ExpireUnpaidName = "expire-unpaid"

// RefreshFunc asks a payment's provider for its real state and applies it (the
// handlers' payment flow; main passes it in, so that jobs need not know how each
// provider is called).
type RefreshFunc func(ctx context.Context, t *model.Tenant, p *model.Payment) (*model.Payment, error)

// ExpireUnpaid cancels the shop's pending orders whose payment did not come
// within the shop's expiry minutes, the shop's batch size per run, and releases
// their stock (fecshop's pending-order script). Before cancelling an order with
// an open payment it asks the provider, so that a late confirmation is never
// lost. refresh may be nil (no provider to ask).
func ExpireUnpaid(store *model.Store, refresh RefreshFunc) *Job {
	return &Job{
		Name:     ExpireUnpaidName,
		Interval: 5 * time.Minute,
		Run: func(ctx context.Context, t *model.Tenant, run *Run) error {
			list, err := store.FindExpiredUnpaid(ctx, t)
			if err != nil {
				return err
			}
		orders:
			for _, c := range list {
				for _, p := range c.OpenPayments {
					if refresh == nil {
						break
					}
					fresh, err := refresh(ctx, t, p)
					if err != nil {
						// Money may be on its way: never cancel blind.
						run.Failed++
						run.Logf("kept %s: could not ask %s about %s: %v", c.Number, p.Provider, p.Number, err)
						continue orders
					}
					if !fresh.Open() {
						run.Logf("%s: %s says %s", c.Number, p.Provider, fresh.Status)
					}
				}
				ok, err := store.ExpireOrder(ctx, t, c.OrderID, model.JobActor(ExpireUnpaidName))
				switch {
				case err != nil:
					run.Failed++
					run.Logf("%s: %v", c.Number, err)
				case ok:
					run.Processed++
					run.Logf("cancelled %s (not paid within %d minutes)", c.Number, t.UnpaidExpiryMinutes)
				default:
					run.Logf("kept %s: paid or changed meanwhile", c.Number)
				}
			}
			return nil
		},
	}
}
