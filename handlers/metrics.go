package handlers

// Metrics in Prometheus's format: request durations by route, job runs and
// failures by job, the outbox's pending and dead messages, and webhook events
// by provider and result. Each app has a registry of its own (tests build
// several apps in one process), served at /metrics to the installation's
// owner and, when ORDERDESK_METRICS_ADDR is set, on a listener of its own
// (MetricsHandler).

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"orderdesk/model"
)

// metrics holds the app's collectors.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.HistogramVec
	jobRuns  *prometheus.CounterVec
	jobFails *prometheus.CounterVec
	webhooks *prometheus.CounterVec
	handler  http.Handler
}

// unmatchedRoute labels the requests no route took (404s, the maintenance
// secret): their paths are the client's words, not ours, and would make a
// label value per URL.
const unmatchedRoute = "unmatched"

func newMetrics(store *model.Store, log *slog.Logger) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "orderdesk_http_request_duration_seconds",
			Help: "Time to answer a request, by method, route (the route's pattern, never the URL) and status code.",
		}, []string{"method", "route", "code"}),
		jobRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orderdesk_job_runs_total",
			Help: "Runs of a background job (every shop's and the installation's), by job.",
		}, []string{"job"}),
		jobFails: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orderdesk_job_failures_total",
			Help: "Runs of a background job that failed, by job.",
		}, []string{"job"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orderdesk_webhook_events_total",
			Help: "Providers' notifications received, by provider and result (accepted, bad_signature, refused, not_found, deferred, error).",
		}, []string{"provider", "result"}),
	}
	m.reg.MustRegister(m.requests, m.jobRuns, m.jobFails, m.webhooks, &outboxCollector{store: store},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		// A scrape with the outbox unreadable still shows the rest, and says so.
		ErrorHandling: promhttp.ContinueOnError,
		ErrorLog:      promLogger{log},
	})
	return m
}

// promLogger hands promhttp's errors to the app's log.
type promLogger struct{ log *slog.Logger }

// Println logs a scrape's error.
func (l promLogger) Println(v ...any) { l.log.Error("metrics", "err", fmt.Sprint(v...)) }

// measure times every request by its route: it is the outermost middleware,
// so that the status is the one sent, after the error handler and a
// recovered panic.
func (a *App) measure(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		route := c.Path()
		if route == "" {
			route = unmatchedRoute
		}
		a.metrics.requests.WithLabelValues(c.Request().Method, route, strconv.Itoa(c.Response().Status)).Observe(time.Since(start).Seconds())
		return err
	}
}

// countWebhook counts a provider's notification by its provider and by the
// answer it got, which is what the provider acts on: accepted (2xx; a
// duplicate is accepted too), bad_signature (403), not_found (404), deferred
// (503: asked to send it again), refused (other 4xx), error (other 5xx).
func (a *App) countWebhook(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := next(c)
		if err != nil {
			// Answered here, so that the status counted is the one sent.
			c.Error(err)
		}
		a.metrics.webhooks.WithLabelValues(webhookProvider(c), webhookResult(c.Response().Status)).Inc()
		return nil
	}
}

// webhookProvider names the provider of a webhook route: the route's own
// word (/webhooks/cdek/…) or the provider in the URL when it is one we know;
// anything else is "unknown", so that a caller cannot make label values.
func webhookProvider(c echo.Context) string {
	p := c.Param("provider")
	if p == "" {
		p, _, _ = strings.Cut(strings.TrimPrefix(c.Path(), "/webhooks/"), "/")
	}
	if _, ok := model.ProviderType(p).Info(); ok {
		return p
	}
	return "unknown"
}

// webhookResult is the result label of a webhook's answer.
func webhookResult(status int) string {
	switch {
	case status < 300:
		return "accepted"
	case status == http.StatusForbidden:
		return "bad_signature"
	case status == http.StatusNotFound:
		return "not_found"
	case status == http.StatusServiceUnavailable:
		return "deferred"
	case status < 500:
		return "refused"
	}
	return "error"
}

// ObserveJobRun counts a background job's run and, when err is not nil, its
// failure; the scheduler calls it at the end of every run
// (jobs.Scheduler.Observe).
func (a *App) ObserveJobRun(job string, err error) {
	a.metrics.jobRuns.WithLabelValues(job).Inc()
	if err != nil {
		a.metrics.jobFails.WithLabelValues(job).Inc()
	}
}

// isOwner is the role that may read the installation's metrics.
func isOwner(r model.Role) bool { return r == model.RoleOwner }

// MetricsHandler serves the app's metrics without sign-in, for a listener of
// their own (ORDERDESK_METRICS_ADDR) that only the scraper reaches.
func (a *App) MetricsHandler() http.Handler { return a.metrics.handler }

// Metrics serves the metrics at /metrics to an owner of the installation's
// own shop (the default tenant): they count every shop's requests and jobs,
// which are not another shop owner's to read.
func (a *App) Metrics(c echo.Context) error {
	if tenant(c).Slug != a.cfg.DefaultTenant {
		return echo.NewHTTPError(http.StatusForbidden, "The metrics are the installation's: sign in as an owner of its main shop.")
	}
	a.metrics.handler.ServeHTTP(c.Response(), c.Request())
	return nil
}

// outboxCollector reads the outbox's pending and dead messages at scrape
// time, summed over the shops (each shop's own count: no query reads several
// shops; no label names a shop or a customer).
type outboxCollector struct {
	store *model.Store
}

var outboxDesc = prometheus.NewDesc("orderdesk_outbox_messages",
	"Customer messages in the outbox of every shop, by status: pending (to send) and dead (given up, a person must look).",
	[]string{"status"}, nil)

// outboxStatuses are the statuses the collector reports.
var outboxStatuses = []model.MessageStatus{model.MessagePending, model.MessageDead}

// outboxScrapeTimeout bounds the outbox's counts in one scrape.
const outboxScrapeTimeout = 5 * time.Second

// Describe sends the collector's one metric description.
func (o *outboxCollector) Describe(ch chan<- *prometheus.Desc) { ch <- outboxDesc }

// Collect counts the outbox now.
func (o *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), outboxScrapeTimeout)
	defer cancel()
	totals, err := o.count(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(outboxDesc, err)
		return
	}
	for _, st := range outboxStatuses {
		ch <- prometheus.MustNewConstMetric(outboxDesc, prometheus.GaugeValue, float64(totals[st]), string(st))
	}
}

func (o *outboxCollector) count(ctx context.Context) (map[model.MessageStatus]int, error) {
	shops, err := o.store.FindTenants(ctx)
	if err != nil {
		return nil, err
	}
	totals := map[model.MessageStatus]int{}
	for _, t := range shops {
		counts, err := o.store.CountMessages(ctx, t.ID)
		if err != nil {
			return nil, err
		}
		for st, n := range counts {
			totals[st] += n
		}
	}
	return totals, nil
}
