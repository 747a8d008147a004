package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

func TestTheProfilerListensOnLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:6060", "[::1]:6060", "localhost:6060"} {
		if err := loopbackOnly(addr); err != nil {
			t.Errorf("%s refused: %v", addr, err)
		}
	}
	for _, addr := range []string{"0.0.0.0:6060", ":6060", "10.0.0.5:6060", "[::]:6060", "example.com:6060", "6060"} {
		if err := loopbackOnly(addr); err == nil || !strings.Contains(err.Error(), "ORDERDESK_PPROF") {
			t.Errorf("%s: got %v, want a refusal naming ORDERDESK_PPROF", addr, err)
		}
	}
	if _, err := startPprof("0.0.0.0:0", slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil {
		t.Error("the profiler started on every address")
	}
}

func TestTheProfilerServesGosProfiles(t *testing.T) {
	var logged strings.Builder
	stop, err := startPprof("127.0.0.1:0", slog.New(slog.NewTextHandler(&logged, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := stop(context.Background()); err != nil {
			t.Error(err)
		}
	}()
	_, after, ok := strings.Cut(logged.String(), "addr=")
	if !ok {
		t.Fatalf("the log does not say where the profiler is: %s", logged.String())
	}
	url := strings.Fields(after)[0]
	res, err := http.Get(url + "goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), "goroutine profile:") {
		t.Errorf("GET %sgoroutine: %d %.200s", url, res.StatusCode, body)
	}
}
