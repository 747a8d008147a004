package jobs

import (
	"context"
	"time"

	"orderdesk/model"
	"orderdesk/services/procurement"
)

// Names of the OT Platform jobs (seed 002's autobuy).
const (
	OTExportName     = "orders-to-ot"
	OTSyncName       = "ot-sync"
	OTActivitiesName = "ot-activities"
)

// OTJobs are the OT jobs for the scheduler, each run for one shop:
// orders-to-ot takes the shop's paid orders bought through OT as far as they
// go (added to OT, paid by the simulated payment, export to Taobao started);
// ot-activities follows the activities under way (progress, questions, the
// end); ot-sync reads the lines on their way from OT (Taobao order,
// waybill, statuses).
func OTJobs(svc *procurement.Service) []*Job {
	return []*Job{
		{Name: OTExportName, Interval: time.Minute, Run: func(ctx context.Context, t *model.Tenant, r *Run) error {
			return OTExport(ctx, svc, t, r, 0)
		}},
		{Name: OTActivitiesName, Interval: 10 * time.Second, Run: func(ctx context.Context, t *model.Tenant, r *Run) error {
			return report(r, func(rep *procurement.Report) error { return svc.Follow(ctx, t, model.JobActor(OTActivitiesName), rep) })
		}},
		{Name: OTSyncName, Interval: 2 * time.Minute, Run: func(ctx context.Context, t *model.Tenant, r *Run) error {
			return OTSync(ctx, svc, t, r, 0)
		}},
	}
}

// OTExport runs orders-to-ot for the shop, or for one order of it (the CLI).
func OTExport(ctx context.Context, svc *procurement.Service, t *model.Tenant, r *Run, orderID int64) error {
	return report(r, func(rep *procurement.Report) error {
		return svc.Export(ctx, t, orderID, model.JobActor(OTExportName), rep)
	})
}

// OTSync runs ot-sync for the shop, or for one order of it (the CLI).
func OTSync(ctx context.Context, svc *procurement.Service, t *model.Tenant, r *Run, orderID int64) error {
	return report(r, func(rep *procurement.Report) error { return svc.Sync(ctx, t, orderID, model.JobActor(OTSyncName), rep) })
}

// OTFollow follows the shop's OT activities under way, reading each up to
// reads times while it runs (the CLI, which has no activities job).
func OTFollow(ctx context.Context, svc *procurement.Service, t *model.Tenant, r *Run, reads int) error {
	return report(r, func(rep *procurement.Report) error {
		for i := 0; i < reads; i++ {
			before := len(rep.Lines)
			if err := svc.Follow(ctx, t, model.JobActor(OTActivitiesName), rep); err != nil || len(rep.Lines) == before {
				return err // nothing under way any more
			}
		}
		return nil
	})
}

// report runs fn and copies its report into the run.
func report(r *Run, fn func(*procurement.Report) error) error {
	rep := &procurement.Report{}
	err := fn(rep)
	r.Processed += rep.Processed
	r.Failed += rep.Failed
	for _, l := range rep.Lines {
		r.Logf("%s", l)
	}
	return err
}
