package jobs

import (
	"context"
	"time"

	"orderdesk/model"
	"orderdesk/services/delivery"
)

// Names of the carriers' fetch jobs (seed 004's supervisor jobs).
const (
	FetchCDEKName       = "fetch-cdek"
	FetchDostavistaName = "fetch-dostavista"
)

// FetchCDEK asks CDEK about the shop's shipments still under way (seed 004's
// FetchCdekOrderInfo): a registration waiting for its track number, a parcel
// in transit, a registration whose process stopped. A track makes the order
// shipped, DELIVERED makes it delivered; CDEK's webhooks bring the same news
// sooner.
func FetchCDEK(svc *delivery.Service) *Job {
	return fetchJob(svc, FetchCDEKName, model.CarrierCDEK, time.Minute)
}

// FetchDostavista asks Dostavista about the shop's courier orders still
// under way (seed 004's FetchDostavistaOrderInfo), for the callbacks that
// did not come.
func FetchDostavista(svc *delivery.Service) *Job {
	return fetchJob(svc, FetchDostavistaName, model.CarrierDostavista, 2*time.Minute)
}

func fetchJob(svc *delivery.Service, name, carrier string, every time.Duration) *Job {
	return &Job{
		Name:     name,
		Interval: every,
		Run: func(ctx context.Context, t *model.Tenant, run *Run) error {
			processed, failed, err := svc.Follow(ctx, t, carrier, run)
			run.Processed += processed
			run.Failed += failed
			return err
		},
	}
}
