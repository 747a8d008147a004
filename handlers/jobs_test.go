package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"orderdesk/jobs"
	"orderdesk/model"
)

// pendingNumbers lists the numbers of a shop's pending orders.
func pendingNumbers(t *testing.T, e *env, shop *model.Tenant) []string {
	t.Helper()
	page, err := e.store.FindOrders(context.Background(), shop.ID, model.OrderFilter{Status: model.OrderPending, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, o := range page.Orders {
		out = append(out, o.Number)
	}
	return out
}

func orderStatus(t *testing.T, e *env, shop *model.Tenant, number string) model.OrderStatus {
	t.Helper()
	o, err := e.store.FindOrderByNumber(context.Background(), shop.ID, number)
	if err != nil {
		t.Fatal(err)
	}
	return o.Status
}

// jobCard is a job's card on the jobs page.
func jobCard(doc *goquery.Document, name string) *goquery.Selection {
	return doc.Find(`[data-testid="job"][data-job="` + name + `"]`)
}

func TestJobsAreEachShopsOwn(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tr, err := e.store.FindTenantBySlug(ctx, model.DemoTurkishSlug)
	if err != nil {
		t.Fatal(err)
	}
	// Both shops cancel orders unpaid after a minute: their demo pending orders
	// are five minutes old and more.
	for _, shop := range []*model.Tenant{e.demo, tr} {
		s := shop.OrderSettings
		s.UnpaidExpiryMinutes, s.UnpaidExpiryBatch = 1, 100
		if err := e.store.UpdateOrderSettings(ctx, shop.ID, s); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.store.CreateUser(ctx, tr.ID, model.NewUser{Email: "operator@demo-tr.test", Name: "TR Operator", Role: model.RoleOperator, Password: demoPassword}); err != nil {
		t.Fatal(err)
	}
	trOp := e.client(t, model.DemoTurkishSlug+".localhost")
	trOp.login("operator@demo-tr.test", demoPassword)
	demoOp := e.client(t, "")
	demoOp.login("operator@demo.test", demoPassword)
	demoPending, trPending := pendingNumbers(t, e, e.demo), pendingNumbers(t, e, tr)
	if len(demoPending) == 0 || len(trPending) == 0 {
		t.Fatalf("pending orders: demo %d, demo-tr %d", len(demoPending), len(trPending))
	}

	t.Run("run now in demo-tr cancels demo-tr's expired orders and no demo order", func(t *testing.T) {
		res, _ := trOp.postForm("/admin/jobs/"+jobs.ExpireUnpaidName+"/run", nil)
		wantStatus(t, res, http.StatusSeeOther)
		for _, n := range trPending {
			if got := orderStatus(t, e, tr, n); got != model.OrderCancelled {
				t.Errorf("demo-tr's expired %s is %s", n, got)
			}
		}
		for _, n := range demoPending {
			if got := orderStatus(t, e, e.demo, n); got != model.OrderPending {
				t.Errorf("demo-tr's run changed demo's %s to %s", n, got)
			}
		}
		if runs, _ := e.store.FindJobRuns(ctx, e.demo.ID, jobs.ExpireUnpaidName, 5); len(runs) != 0 {
			t.Errorf("demo-tr's run recorded %d runs in demo", len(runs))
		}
	})

	t.Run("demo-tr's jobs page shows none of demo's runs", func(t *testing.T) {
		res, _ := demoOp.postForm("/admin/jobs/"+jobs.ExpireUnpaidName+"/run", nil)
		wantStatus(t, res, http.StatusSeeOther)
		_, doc := demoOp.get("/admin/jobs")
		if !strings.Contains(jobCard(doc, jobs.ExpireUnpaidName).Text(), demoPending[0]) {
			t.Fatalf("demo's page lacks its own run: %s", jobCard(doc, jobs.ExpireUnpaidName).Text())
		}
		res, doc = trOp.get("/admin/jobs")
		wantStatus(t, res, http.StatusOK)
		page, _ := doc.Html()
		for _, n := range demoPending {
			if strings.Contains(page, n) {
				t.Errorf("demo-tr's jobs page shows demo's order %s", n)
			}
		}
		if !strings.Contains(jobCard(doc, jobs.ExpireUnpaidName).Text(), trPending[0]) {
			t.Errorf("demo-tr's page lacks its own run: %s", jobCard(doc, jobs.ExpireUnpaidName).Text())
		}
	})

	t.Run("demo's run is not found from demo-tr", func(t *testing.T) {
		runs, _ := e.store.FindJobRuns(ctx, e.demo.ID, jobs.ExpireUnpaidName, 1)
		if len(runs) != 1 {
			t.Fatalf("demo's runs: %d", len(runs))
		}
		res, body := trOp.do("GET", "/admin/jobs/runs/"+itoa(runs[0].ID), nil, http.Header{"Hx-Request": {"true"}})
		wantStatus(t, res, http.StatusNotFound)
		if strings.Contains(body, demoPending[0]) {
			t.Errorf("the 404 shows demo's run: %s", body)
		}
	})

	t.Run("a pause in demo-tr leaves demo's job as it is", func(t *testing.T) {
		// Demo has run the job before: its lease row exists.
		res, _ := demoOp.postForm("/admin/jobs/"+jobs.PayPurchasesName+"/run", nil)
		wantStatus(t, res, http.StatusSeeOther)
		res, _ = trOp.postForm("/admin/jobs/"+jobs.PayPurchasesName+"/pause", url.Values{"paused": {"1"}})
		wantStatus(t, res, http.StatusSeeOther)
		if paused, _ := e.store.JobPaused(ctx, tr.ID, jobs.PayPurchasesName); !paused {
			t.Error("demo-tr's pause did not pause demo-tr's job")
		}
		if paused, _ := e.store.JobPaused(ctx, e.demo.ID, jobs.PayPurchasesName); paused {
			t.Error("demo-tr's pause paused demo's job")
		}
		_, doc := demoOp.get("/admin/jobs")
		if jobCard(doc, jobs.PayPurchasesName).Find(`[data-testid="job-paused"]`).Length() != 0 {
			t.Error("demo's page shows demo-tr's pause")
		}
		_, doc = trOp.get("/admin/jobs")
		if jobCard(doc, jobs.PayPurchasesName).Find(`[data-testid="job-paused"]`).Length() != 1 {
			t.Error("demo-tr's page does not show its pause")
		}
		// Run now: refused in demo-tr, which paused it; demo's runs.
		res, _ = trOp.postForm("/admin/jobs/"+jobs.PayPurchasesName+"/run", nil)
		wantStatus(t, res, http.StatusSeeOther)
		_, doc = trOp.get("/admin/jobs")
		if f := doc.Find(`[data-testid="flash"][data-kind="error"]`); !strings.Contains(f.Text(), "paused for this shop") {
			t.Errorf("run now while paused: %q", f.Text())
		}
		if runs, _ := e.store.FindJobRuns(ctx, tr.ID, jobs.PayPurchasesName, 5); len(runs) != 0 {
			t.Errorf("the paused job ran in demo-tr: %d runs", len(runs))
		}
		res, _ = demoOp.postForm("/admin/jobs/"+jobs.PayPurchasesName+"/run", nil)
		wantStatus(t, res, http.StatusSeeOther)
		if runs, _ := e.store.FindJobRuns(ctx, e.demo.ID, jobs.PayPurchasesName, 5); len(runs) != 2 || runs[0].FinishedAt == nil {
			t.Errorf("demo's run now: %+v", runs)
		}
	})
}

func TestJobRunAnswersWithTheRun(t *testing.T) {
	release := make(chan struct{})
	slow := &jobs.Job{Name: "slow-test", Interval: time.Hour, Run: func(ctx context.Context, _ *model.Tenant, r *jobs.Run) error {
		select {
		case <-release:
		case <-ctx.Done():
		}
		r.Processed = 2
		r.Logf("slow work done")
		return nil
	}}
	e := newEnv(t, slow)
	op := e.client(t, "")
	op.login("operator@demo.test", demoPassword)

	t.Run("a quick run is answered with its counts", func(t *testing.T) {
		res, _ := op.postForm("/admin/jobs/"+jobs.RefreshTokensName+"/run", nil)
		wantStatus(t, res, http.StatusSeeOther)
		_, doc := op.get("/admin/jobs")
		if f := doc.Find(`[data-testid="flash"][data-kind="ok"]`); !strings.Contains(f.Text(), jobs.RefreshTokensName+" ran: 0 processed, 0 failed") {
			t.Errorf("notice: %q", f.Text())
		}
		row := jobCard(doc, jobs.RefreshTokensName).Find(`[data-testid="job-run-row"]`).First()
		if state, _ := row.Attr("data-state"); state != "finished" {
			t.Errorf("the run right after run now is %q, want finished", state)
		}
	})

	t.Run("a slow run is answered started and the page follows it", func(t *testing.T) {
		start := time.Now()
		res, _ := op.postForm("/admin/jobs/slow-test/run", nil)
		wantStatus(t, res, http.StatusSeeOther)
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("run now answered after %s", took)
		}
		_, doc := op.get("/admin/jobs")
		if f := doc.Find(`[data-testid="flash"]`); !strings.Contains(f.Text(), "slow-test started") {
			t.Errorf("notice: %q", f.Text())
		}
		row := jobCard(doc, "slow-test").Find(`[data-testid="job-run-row"]`).First()
		poll, _ := row.Attr("hx-get")
		trigger, _ := row.Attr("hx-trigger")
		if state, _ := row.Attr("data-state"); state != "running" || !strings.HasPrefix(poll, "/admin/jobs/runs/") || trigger != "every 1s" {
			t.Fatalf("the running row: state %q, hx-get %q, hx-trigger %q", state, poll, trigger)
		}
		// What htmx fetches every second: the row alone, still running.
		res, body := op.do("GET", poll, nil, http.Header{"Hx-Request": {"true"}})
		wantStatus(t, res, http.StatusOK)
		if strings.Contains(body, "<html") || !strings.Contains(body, `data-state="running"`) {
			t.Fatalf("poll while running: %s", body)
		}
		close(release)
		var last string
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			_, last = op.do("GET", poll, nil, http.Header{"Hx-Request": {"true"}})
			if strings.Contains(last, `data-state="finished"`) {
				break
			}
		}
		if !strings.Contains(last, `data-state="finished"`) || strings.Contains(last, "hx-trigger") || !strings.Contains(last, "slow work done") {
			t.Fatalf("poll after the run ended: %s", last)
		}
		// Without htmx, the run has a page of its own.
		res, doc = op.get(poll)
		wantStatus(t, res, http.StatusOK)
		if doc.Find(`[data-testid="nav"]`).Length() != 1 || !strings.Contains(doc.Find(`[data-testid="job-run-row"]`).Text(), "slow work done") {
			t.Errorf("the run's page: %s", doc.Text())
		}
	})
}

func TestPollingAsksAboutTheShopsOwnPayments(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tr, err := e.store.FindTenantBySlug(ctx, model.DemoTurkishSlug)
	if err != nil {
		t.Fatal(err)
	}
	c := e.client(t, "")
	o := e.placeOrder(t, c)
	e.sandboxes.YandexPay.KeepPendingPolls(5)
	e.startPayment(t, c, o, "yandexpay") // demo's open Yandex Pay payment
	poll := e.sched.Job(jobs.PollPaymentsName)

	run, err := e.sched.RunOnce(ctx, poll, tr)
	if err != nil || run.Processed != 0 || run.Failed != 0 || len(run.Messages) != 0 {
		t.Errorf("demo-tr's poll: %+v, %v", run, err)
	}
	run, err = e.sched.RunOnce(ctx, poll, e.demo)
	if err != nil || run.Processed != 1 {
		t.Errorf("demo's poll: %+v, %v", run, err)
	}
}
