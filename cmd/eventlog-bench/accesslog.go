package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// accessLogCost measures what the access log costs writers: LogEvent at
// b.cfg.clients on a server writing its access log to a file against one
// without, interleaved, each on a database of its own (PostgreSQL when
// there is one, SQLite otherwise). The figure that matters is the server's
// CPU per call: the access log's share of it.
func (b *bench) accessLogCost(ctx context.Context) error {
	const section = "accesslog"
	newDB := func(purpose string) (string, error) {
		if b.cfg.pgURL != "" {
			return b.newPGDB(ctx, purpose)
		}
		return filepath.Join(b.dir, purpose+".db"), nil
	}
	offDB, err := newDB("access_off")
	if err != nil {
		return err
	}
	onDB, err := newDB("access_on")
	if err != nil {
		return err
	}
	logPath := filepath.Join(b.dir, "access.log")
	b.logf("%s: starting eventlog serve without an access log and with one", section)
	off, err := b.startServer(ctx, offDB)
	if err != nil {
		return err
	}
	defer off.stop()
	// The access log writes its lines at level info.
	on, err := b.startServer(ctx, onDB, "--access-log", logPath, "--log-level", "info")
	if err != nil {
		return err
	}
	defer on.stop()

	withOut := &trial{name: "LogEvent, access log off", clients: b.cfg.clients, do: newCalls(off).logEvent, cpu: off.cpuTimes, srv: off}
	with := &trial{name: "LogEvent, access log on", clients: b.cfg.clients, do: newCalls(on).logEvent, cpu: on.cpuTimes, srv: on}
	// The difference is a few per cent: at least four repetitions, in
	// both orders, even in a quick run.
	if err := b.interleaveN(ctx, section, []*trial{withOut, with}, max(b.cfg.reps, 4), nil); err != nil {
		return err
	}
	fi, err := os.Stat(logPath)
	if err != nil || fi.Size() == 0 {
		return fmt.Errorf("the server with an access log wrote none: %v", err)
	}
	n := strconv.Itoa(b.cfg.clients)
	store := "SQLite"
	if b.cfg.pgURL != "" {
		store = "PostgreSQL"
	}
	b.add(figure{Section: section, Name: "server CPU per LogEvent, " + n + " clients, access log on (" + store + ")", Value: with.cpuPerEntry().Server, Unit: "s",
		Baseline: "access log off", BaseVal: withOut.cpuPerEntry().Server, Target: 1.05, AtMost: true,
		Note: fmt.Sprintf("to a file; %d MiB written", fi.Size()>>20)})
	b.add(figure{Section: section, Name: "LogEvent, " + n + " clients, access log on", Value: with.rate(), Unit: "entries/s",
		Baseline: "access log off", BaseVal: withOut.rate()})
	for _, q := range []struct {
		name string
		p    float64
	}{{"p50", 0.5}, {"p99", 0.99}} {
		b.add(figure{Section: section, Name: "LogEvent " + q.name + ", " + n + " clients, access log on", Value: with.pct(q.p), Unit: "s",
			Baseline: "access log off", BaseVal: withOut.pct(q.p)})
	}
	return nil
}
