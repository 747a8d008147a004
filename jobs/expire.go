package jobs

import (
	"context"
	"time"

	"orderdesk/model"
	"orderdesk/services/payments"
)

// ExpireUnpaidName is the name of the unpaid-order expiry job.
const ExpireUnpaidName = "expire-unpaid"

// ExpireUnpaid cancels the shop's pending orders whose payment did not come
// within the shop's expiry minutes, the shop's batch size per run, and releases
// their stock (fecshop's pending-order script). The payment flow closes an
// order's open payments at their providers first, so that a customer can no
// longer pay an order that is gone, and keeps the order when a provider reports
// the money.
func ExpireUnpaid(pay *payments.Service) *Job {
	return &Job{
		Name:     ExpireUnpaidName,
		Interval: 5 * time.Minute,
		Run: func(ctx context.Context, t *model.Tenant, run *Run) error {
			cancelled, failed, err := pay.ExpireUnpaid(ctx, t, model.JobActor(ExpireUnpaidName), run)
			run.Processed += cancelled
			run.Failed += failed
			return err
		},
	}
}
