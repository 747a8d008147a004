package jobs

import (
	"context"
	"time"

	"orderdesk/model"
)

// ExpireUnpaidName is the name of the unpaid-order expiry job.
const ExpireUnpaidName = "expire-unpaid"

// ExpireUnpaid cancels, in every tenant, the pending orders whose payment did not
// come within the tenant's expiry minutes, a tenant's batch size per run, and
// releases their stock (fecshop's pending-order script).
func ExpireUnpaid(store *model.Store) *Job {
	return &Job{
		Name:     ExpireUnpaidName,
		Interval: 5 * time.Minute,
		Run: func(ctx context.Context, run *Run) error {
			tenants, err := store.FindTenants(ctx)
			if err != nil {
				return err
			}
			for _, t := range tenants {
				done, err := store.ExpireUnpaidOrders(ctx, t, model.JobActor(ExpireUnpaidName))
				for _, number := range done {
					run.Processed++
					run.Logf("%s: cancelled %s (not paid within %d minutes)", t.Slug, number, t.UnpaidExpiryMinutes)
				}
				if err != nil {
					run.Failed++
					run.Logf("%s: %v", t.Slug, err)
				}
			}
			return nil
		},
	}
}
