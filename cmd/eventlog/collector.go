package main

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

// defaultGCPercent is the collector's target (GOGC) unless GOGC is set.
// Every write allocates its request, entries and response, while the live
// heap of a server stays small (some tens of MiB). At Go's default
// (GOGC=100) the collector took a sixth of a busy server's CPU; at 400 it
// runs a third as often as at 200 (measured: 15-20% less server CPU per
// write), for a heap of up to five times the live one. The memory limit
// below keeps that within a container's limit.
const defaultGCPercent = 400

// memLimitRatio is the share of the container's memory limit that the
// collector keeps the heap under (a soft limit: it collects more often as
// the heap nears it), unless GOMEMLIMIT is set. The rest is for what the
// Go runtime does not count: thread stacks, the SQLite page cache and
// buffers outside the heap.
const memLimitRatio = 0.9

// tuneCollector sets the Go collector for a server: GOGC=defaultGCPercent
// unless GOGC is set, and a soft memory limit of memLimitRatio of the
// memory limit that limit reports (the container's cgroup limit) unless
// GOMEMLIMIT is set. Without a limit, or where none can be read, the
// collector has no memory limit, as Go's default.
func tuneCollector(getenv func(string) string, limit memlimit.Provider, log *slog.Logger) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	if getenv("GOMEMLIMIT") != "" {
		return
	}
	n, err := memlimit.ApplyRatio(limit, memLimitRatio)()
	switch {
	case errors.Is(err, memlimit.ErrNoLimit):
	case err != nil:
		log.Debug("no memory limit for the collector: the container's limit cannot be read", "err", err)
	default:
		debug.SetMemoryLimit(int64(min(n, 1<<62)))
		log.Info(fmt.Sprintf("the Go collector keeps the heap under %.0f%% of the container's memory limit; GOMEMLIMIT overrides it", memLimitRatio*100), "bytes", n)
	}
}
