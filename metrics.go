package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// startMetrics serves the app's metrics without sign-in on addr
// (ORDERDESK_METRICS_ADDR), a listener of their own that the scraper reaches
// and the shops' visitors do not. It returns a stop function for the
// server's shutdown.
func startMetrics(addr string, h http.Handler, log *slog.Logger) (stop func(context.Context) error, err error) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("ORDERDESK_METRICS_ADDR: %w", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics listener", "err", err)
		}
	}()
	log.Info("metrics", "addr", "http://"+l.Addr().String()+"/metrics")
	return srv.Shutdown, nil
}
