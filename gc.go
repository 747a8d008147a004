package main

import (
	"os"
	"runtime/debug"
)

// serverGCPercent and serverMemoryLimit are the collector's settings for a
// serving process, unless GOGC or GOMEMLIMIT say otherwise. A request's garbage
// is small and short-lived and the live heap is a few tens of megabytes, so
// Go's default (collect when the heap has doubled) collected every few
// milliseconds under load. Letting the heap grow to five times the live one
// before collecting gave 6–25 % more requests a second on every page (make
// bench at 100,000 orders, GOGC=100 then the default on the same folder) for
// a peak of ~105 MB. (It once lengthened the dashboard's slowest answers,
// p99 ~110 ms at 100 and ~220 ms at 400; since page views take turns,
// admission.go, both give ~20 ms.) The soft limit makes the collector work
// harder before the heap passes a quarter of a gigabyte, should the live heap
// ever grow that far.
const (
	serverGCPercent   = 400
	serverMemoryLimit = 256 << 20
)

// tuneGC applies the serving process's collector settings where the
// environment does not set its own.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(serverGCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(serverMemoryLimit)
	}
}
