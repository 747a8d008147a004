package jobs

import (
	"context"
	"time"

	"orderdesk/model"
)

// PollPaymentsName is the name of the payment status poller.
const PollPaymentsName = "poll-payments"

// PollPayments asks the provider every few seconds about the shop's open
// payments of providers whose shops poll (Yandex Pay, seed 004: every 3
// seconds), until the payment is final or older than timeout. The customer's
// return page asks too.
func PollPayments(store *model.Store, refresh RefreshFunc, interval, timeout time.Duration) *Job {
	return &Job{
		Name:     PollPaymentsName,
		Interval: interval,
		Run: func(ctx context.Context, t *model.Tenant, run *Run) error {
			open, err := store.FindPayments(ctx, t.ID, model.PaymentFilter{Provider: model.ProviderYandexPay, Open: true,
				CreatedAfter: store.Now().Add(-timeout), Limit: 200})
			if err != nil {
				return err
			}
			for _, p := range open {
				fresh, err := refresh(ctx, t, p)
				if err != nil {
					run.Failed++
					run.Logf("%s: %v", p.Number, err)
					continue
				}
				run.Processed++
				if fresh.Status != p.Status {
					run.Logf("%s: %s → %s", p.Number, p.Status, fresh.Status)
				}
			}
			return nil
		},
	}
}
