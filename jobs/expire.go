package jobs

import (
	"context"
	"time"

	"orderdesk/model"
	"orderdesk/services/payments"
)

// ExpireUnpaidName is the name of the unpaid-order expiry job.
const ExpireUnpaidName = "expire-unpaid"

// ExpireUnpaid cancels, in every shop, the pending orders whose payment did not
// come within the shop's expiry minutes, a shop's batch size per run, and
// releases their stock (fecshop's pending-order script). The payment flow
// closes an order's open payments at their providers first, so that a customer
// can no longer pay an order that is gone, and keeps the order when a provider
// reports the money.
func ExpireUnpaid(store *model.Store, pay *payments.Service) *Job {
	return &Job{
		Name:     ExpireUnpaidName,
		Interval: 5 * time.Minute,
		Run: func(ctx context.Context, run *Run) error {
			tenants, err := store.FindTenants(ctx)
			if err != nil {
				return err
			}
			for _, t := range tenants {
				cancelled, failed, err := pay.ExpireUnpaid(ctx, t, model.JobActor(ExpireUnpaidName), shopLines{run, t.Slug})
				run.Processed += cancelled
				run.Failed += failed
				if err != nil {
					run.Failed++
					run.Logf("%s: %v", t.Slug, err)
				}
			}
			return nil
		},
	}
}

// shopLines prefixes a run's lines with the shop they are about.
type shopLines struct {
	run  *Run
	slug string
}

func (s shopLines) Logf(format string, args ...any) {
	s.run.Logf(s.slug+": "+format, args...)
}
