package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"orderdesk/jobs"
	"orderdesk/model"
)

// metric is the value of the sample of name whose labels include every one
// of labels (`route="/admin/orders"`), and whether there is one.
func metric(body, name string, labels ...string) (float64, bool) {
	for _, line := range strings.Split(body, "\n") {
		rest, ok := strings.CutPrefix(line, name+"{")
		if !ok {
			continue
		}
		set, value, ok := strings.Cut(rest, "} ")
		if !ok {
			continue
		}
		all := true
		for _, l := range labels {
			all = all && strings.Contains(","+set+",", ","+l+",")
		}
		if all {
			v, err := strconv.ParseFloat(value, 64)
			return v, err == nil
		}
	}
	return 0, false
}

// The owner of the installation's shop reads the metrics at /metrics: the
// requests of a route by its pattern (no order id in a label), a job's runs
// after "Run now", and a provider's notifications by result; staff, an
// anonymous visitor and another shop's owner read none.
func TestMetrics(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	owner := e.client(t, "")
	owner.login(model.DemoOwnerEmail, demoPassword)
	read := func(t *testing.T) string {
		t.Helper()
		res, body := owner.do("GET", "/metrics", nil, nil)
		wantStatus(t, res, http.StatusOK)
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
			t.Errorf("Content-Type %q, want Prometheus's text format", ct)
		}
		return body
	}

	t.Run("requests are counted by route, not by URL", func(t *testing.T) {
		c := e.client(t, "")
		o := e.placeOrder(t, c)
		before, _ := metric(read(t), "orderdesk_http_request_duration_seconds_count", `route="/admin/orders/:id"`, `method="GET"`, `code="200"`)
		for range 3 {
			res, _ := owner.get(fmt.Sprintf("/admin/orders/%d", o.ID))
			wantStatus(t, res, http.StatusOK)
		}
		body := read(t)
		if got, _ := metric(body, "orderdesk_http_request_duration_seconds_count", `route="/admin/orders/:id"`, `method="GET"`, `code="200"`); got != before+3 {
			t.Errorf("order page requests: %v, want %v", got, before+3)
		}
		if strings.Contains(body, fmt.Sprintf("/admin/orders/%d", o.ID)) {
			t.Error("an order's id is in a label")
		}
		// A word, not digits: a duration or a memory figure may hold any digits.
		owner.get("/no/such/page/unheard-of")
		if body := read(t); strings.Contains(body, "unheard-of") {
			t.Error("an unknown URL is in a label")
		} else if _, ok := metric(body, "orderdesk_http_request_duration_seconds_count", `method="GET"`, `code="404"`); !ok {
			t.Errorf("the unknown URL's 404 is not counted:\n%s", body)
		}
	})

	t.Run("a job's runs are counted after Run now", func(t *testing.T) {
		before, _ := metric(read(t), "orderdesk_job_runs_total", `job="`+jobs.ExpireUnpaidName+`"`)
		e.runJob(t, owner, jobs.ExpireUnpaidName)
		// The run may go on after the page answered: its end is counted.
		var got float64
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && got != before+1; time.Sleep(20 * time.Millisecond) {
			got, _ = metric(read(t), "orderdesk_job_runs_total", `job="`+jobs.ExpireUnpaidName+`"`)
		}
		if got != before+1 {
			t.Errorf("expire-unpaid runs: %v, want %v", got, before+1)
		}
		if got, _ := metric(read(t), "orderdesk_job_failures_total", `job="`+jobs.ExpireUnpaidName+`"`); got != 0 {
			t.Errorf("expire-unpaid failures: %v, want 0", got)
		}
	})

	t.Run("webhooks are counted by provider and result", func(t *testing.T) {
		c := e.client(t, "")
		o := e.placeOrder(t, c)
		pageURL, tx := e.startPayment(t, c, o, "tinkoff")
		e.browse(t, c, pageURL, "sandbox-pay")
		accepted, _ := metric(read(t), "orderdesk_webhook_events_total", `provider="tinkoff"`, `result="accepted"`)
		if accepted < 1 {
			t.Errorf("the bank's notification of the payment is not counted: %v", accepted)
		}
		// The bank sends it again (a replay): accepted again, applied once.
		if err := e.sandboxes.Tinkoff.ResendNotification(ctx, tx); err != nil {
			t.Fatal(err)
		}
		if got, _ := metric(read(t), "orderdesk_webhook_events_total", `provider="tinkoff"`, `result="accepted"`); got != accepted+1 {
			t.Errorf("after the replay: %v accepted, want %v", got, accepted+1)
		}
		in, err := e.store.UsableIntegration(ctx, e.demo.ID, model.ProviderTinkoff)
		if err != nil {
			t.Fatal(err)
		}
		forged := fmt.Sprintf(`{"TerminalKey":"1700000000000DEMO","OrderId":"x","Success":true,"Status":"CONFIRMED","PaymentId":%s,"ErrorCode":"0","Amount":%d,"Token":"00"}`, tx, o.Total)
		for _, path := range []string{fmt.Sprintf("/webhooks/tinkoff/%d", in.ID), "/webhooks/made-up-provider/1"} {
			res, err := http.Post(e.srv.URL+path, "application/json", strings.NewReader(forged))
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
		}
		body := read(t)
		if got, _ := metric(body, "orderdesk_webhook_events_total", `provider="tinkoff"`, `result="bad_signature"`); got != 1 {
			t.Errorf("forged notifications counted: %v, want 1", got)
		}
		if strings.Contains(body, "made-up-provider") {
			t.Error("a provider name from the URL became a label")
		}
		if got, _ := metric(body, "orderdesk_webhook_events_total", `provider="unknown"`, `result="not_found"`); got != 1 {
			t.Errorf("a notification to no provider counted: %v, want 1 unknown", got)
		}
	})

	t.Run("the outbox's pending and dead messages are read at scrape time", func(t *testing.T) {
		body := read(t)
		for _, st := range []string{"pending", "dead"} {
			if _, ok := metric(body, "orderdesk_outbox_messages", `status="`+st+`"`); !ok {
				t.Errorf("no outbox count of %s:\n%s", st, body)
			}
		}
		pending, _ := metric(body, "orderdesk_outbox_messages", `status="pending"`)
		e.placeOrder(t, e.client(t, "")) // queues its "order placed" message
		if got, _ := metric(read(t), "orderdesk_outbox_messages", `status="pending"`); got != pending+1 {
			t.Errorf("pending after an order: %v, want %v", got, pending+1)
		}
	})

	t.Run("nobody else reads them", func(t *testing.T) {
		anon := e.client(t, "")
		res, body := anon.do("GET", "/metrics", nil, nil)
		if res.StatusCode != http.StatusSeeOther || strings.Contains(body, "orderdesk_") {
			t.Errorf("anonymous: %d\n%s", res.StatusCode, body)
		}
		staff := e.client(t, "")
		staff.login("staff@demo.test", demoPassword)
		res, body = staff.do("GET", "/metrics", nil, nil)
		if res.StatusCode != http.StatusForbidden || strings.Contains(body, "orderdesk_") {
			t.Errorf("staff: %d\n%s", res.StatusCode, body)
		}
		other := e.client(t, model.DemoTurkishSlug+".localhost")
		other.login(model.DemoOwnerEmail, demoPassword)
		res, body = other.do("GET", "/metrics", nil, nil)
		if res.StatusCode != http.StatusForbidden || strings.Contains(body, "orderdesk_") {
			t.Errorf("another shop's owner: %d\n%s", res.StatusCode, body)
		}
	})
}
