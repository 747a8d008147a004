package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// startPprof serves Go's profiler (net/http/pprof) on addr, a loopback
// address of its own (ORDERDESK_PPROF=127.0.0.1:6060), apart from the shop's
// pages: profiles show the program's memory and what it does, so they are
// for whoever is on the machine, never for the network. It returns a stop
// function for the server's shutdown.
func startPprof(addr string, log *slog.Logger) (stop func(context.Context) error, err error) {
	if err := loopbackOnly(addr); err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("ORDERDESK_PPROF: %w", err)
	}
	// No write timeout: a CPU profile or a trace takes as long as asked.
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("pprof", "err", err)
		}
	}()
	log.Info("profiler", "addr", "http://"+l.Addr().String()+"/debug/pprof/")
	return srv.Shutdown, nil
}

// loopbackOnly refuses a listen address that is not on this machine's
// loopback (127.0.0.0/8, ::1 or localhost).
func loopbackOnly(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("ORDERDESK_PPROF is %q: give a loopback address and port, e.g. 127.0.0.1:6060", addr)
	}
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return nil
	}
	return fmt.Errorf("ORDERDESK_PPROF is %q: the profiler listens on loopback only (127.0.0.1:6060, [::1]:6060 or localhost:6060)", addr)
}
