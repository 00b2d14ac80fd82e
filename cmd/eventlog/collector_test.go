package main

import (
	"errors"
	"io"
	"log/slog"
	"math"
	"runtime/debug"
	"testing"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

func TestTuneCollector(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	gcPercent := func() int {
		p := debug.SetGCPercent(100)
		debug.SetGCPercent(p)
		return p
	}
	const gib = 1 << 30
	noLimit := func() (uint64, error) { return 0, memlimit.ErrNoLimit }
	unreadable := func() (uint64, error) { return 0, errors.New("cgroups are not supported here") }
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	for _, tc := range []struct {
		name      string
		env       map[string]string
		limit     memlimit.Provider
		wantGC    int
		wantLimit int64
	}{
		{"defaults in a container", nil, memlimit.Limit(gib), defaultGCPercent, gib * 9 / 10},
		{"no container limit", nil, noLimit, defaultGCPercent, math.MaxInt64},
		{"limit unreadable", nil, unreadable, defaultGCPercent, math.MaxInt64},
		{"GOGC set", map[string]string{"GOGC": "100"}, memlimit.Limit(gib), 100, gib * 9 / 10},
		{"GOMEMLIMIT set", map[string]string{"GOMEMLIMIT": "2GiB"}, memlimit.Limit(gib), defaultGCPercent, math.MaxInt64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			debug.SetGCPercent(100)
			debug.SetMemoryLimit(math.MaxInt64)
			tuneCollector(func(k string) string { return tc.env[k] }, tc.limit, log)
			if got := gcPercent(); got != tc.wantGC {
				t.Errorf("GOGC = %d, want %d", got, tc.wantGC)
			}
			if got := debug.SetMemoryLimit(-1); got != tc.wantLimit {
				t.Errorf("memory limit = %d, want %d", got, tc.wantLimit)
			}
		})
	}
}
