package handlers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"orderdesk/jobs"
	"orderdesk/model"
)

// TestBrowserJobRunFollowed: "Run now" on a long job answers that it started,
// and the run's row turns finished by itself (htmx polls it), without a reload.
func TestBrowserJobRunFollowed(t *testing.T) {
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
	ctx := newBrowser(t)
	const card = `[data-job="slow-test"] `
	err := chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/admin/login"),
		chromedp.SendKeys(chromedp.CSS(`#email`), "operator@demo.test"),
		chromedp.SendKeys(chromedp.CSS(`#password`), demoPassword),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="dashboard"]`)),
		chromedp.Navigate(e.srv.URL+"/admin/jobs"),
		chromedp.Click(chromedp.CSS(card+`[data-testid="job-run"]`)),
		chromedp.WaitVisible(chromedp.CSS(card+`[data-testid="job-run-row"][data-state="running"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	notice, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="flash"]`)))
	if !strings.Contains(notice, "slow-test started") {
		t.Errorf("notice: %q", notice)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__same_page = true`)); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(card+`[data-testid="job-run-row"][data-state="finished"]`))); err != nil {
		t.Fatalf("the row never turned finished: %v", err)
	}
	if same, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__same_page === true`)); !same {
		t.Error("the page reloaded instead of swapping the row")
	}
	row, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(card+`[data-testid="job-run-row"]`)))
	if !strings.Contains(row, "slow work done") {
		t.Errorf("finished row: %q", row)
	}
}
