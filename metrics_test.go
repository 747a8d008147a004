package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"orderdesk/model"
)

// freeLoopback is a loopback address with a port nobody listens on now.
func freeLoopback(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// With ORDERDESK_METRICS_ADDR, serve answers the metrics on that address of
// their own without sign-in (the shop's pages are not there), and they count
// the shop's requests.
func TestServeMetricsOnTheirOwnAddress(t *testing.T) {
	model.PasswordCost = bcrypt.MinCost
	addr, metricsAddr := freeLoopback(t), freeLoopback(t)
	_, port, _ := net.SplitHostPort(addr)
	c := config{Addr: addr, Data: t.TempDir(), BaseURL: "http://localhost:" + port, DemoPassword: "demo-password",
		DefaultTenant: model.DemoTenantSlug, TrackRate: 1, Sandboxes: true, SMTPSandbox: "127.0.0.1:0", BackupKeep: "7", MetricsAddr: metricsAddr}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, c, io.Discard, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(time.Minute):
			t.Error("serve did not end")
		}
	})
	get := func(u string) (int, string) {
		res, err := http.Get(u)
		if err != nil {
			return 0, err.Error()
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return res.StatusCode, string(b)
	}
	up := false
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && !up; time.Sleep(50 * time.Millisecond) {
		code, _ := get("http://" + addr + "/healthz")
		up = code == http.StatusOK
	}
	if !up {
		t.Fatal("the server did not come up")
	}
	code, body := get("http://" + metricsAddr + "/metrics")
	if code != http.StatusOK {
		t.Fatalf("metrics on their address: %d\n%s", code, body)
	}
	if !strings.Contains(body, `orderdesk_http_request_duration_seconds_count{code="200",method="GET",route="/healthz"}`) {
		t.Errorf("the health checks are not counted:\n%s", body)
	}
	if !strings.Contains(body, `orderdesk_outbox_messages{status="pending"}`) {
		t.Errorf("no outbox count:\n%s", body)
	}
	if code, _ := get("http://" + metricsAddr + "/healthz"); code != http.StatusNotFound {
		t.Errorf("the metrics' address serves the shop: /healthz %d", code)
	}
}
