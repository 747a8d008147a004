package jobs

import (
	"context"
	"time"

	"orderdesk/model"
	"orderdesk/services/payments"
)

// PollPaymentsName is the name of the payment status poller.
const PollPaymentsName = "poll-payments"

// PollPayments asks the provider every few seconds about the shop's open
// payments of providers whose shops poll (Yandex Pay, seed 004: every 3
// seconds), until the payment is final or older than timeout. The customer's
// return page asks too.
func PollPayments(pay *payments.Service, interval, timeout time.Duration) *Job {
	return &Job{
		Name:     PollPaymentsName,
		Interval: interval,
		Run: func(ctx context.Context, t *model.Tenant, run *Run) error {
			processed, failed, err := pay.PollOpen(ctx, t, timeout, run)
			run.Processed += processed
			run.Failed += failed
			return err
		},
	}
}

// RefundsName is the name of the job that finishes interrupted refunds.
const RefundsName = "refunds"

// Refunds asks the providers again about the shop's refunds whose call did not
// finish (a crash, a timeout), with each refund's own idempotency key, so that
// each is made once and none is forgotten.
func Refunds(pay *payments.Service) *Job {
	return &Job{
		Name:     RefundsName,
		Interval: time.Minute,
		Run: func(ctx context.Context, t *model.Tenant, run *Run) error {
			done, failed, err := pay.ResumeRefunds(ctx, t)
			run.Processed += done
			run.Failed += failed
			if done+failed > 0 {
				run.Logf("%d pending refunds settled, %d still open", done, failed)
			}
			return err
		},
	}
}
