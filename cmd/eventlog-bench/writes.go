package main

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// trial is one measurement repeated within a run: its samples, one per
// repetition.
type trial struct {
	name    string
	clients int
	do      op
	samples []sample
	// cpu, when set, reads the CPU time used so far (see cpuTimes).
	cpu func() cpuTimes
	// srv, when set, is the server measured: profiled with --profile.
	srv *serverProc
}

// cpuPerEntry returns the median over the samples of the CPU time used
// per entry, in seconds, by each part.
func (t *trial) cpuPerEntry() cpuTimes {
	var parts [3][]float64
	var backends []float64
	for _, s := range t.samples {
		for i, v := range s.cpu.parts() {
			parts[i] = append(parts[i], v/float64(s.entries))
		}
		backends = append(backends, s.cpu.Backends/float64(s.entries))
	}
	return cpuTimes{Server: median(parts[0]), Client: median(parts[1]), Postgres: median(parts[2]), Backends: median(backends)}
}

func (t *trial) rate() float64 {
	var xs []float64
	for _, s := range t.samples {
		xs = append(xs, s.rate())
	}
	return median(xs)
}

func (t *trial) pct(p float64) float64 {
	var xs []time.Duration
	for _, s := range t.samples {
		xs = append(xs, s.pct(p))
	}
	return medianDur(xs).Seconds()
}

// interleave runs the trials one after the other, reps times, so that
// each baseline is measured next to its figure; before and after, when
// set, run around each trial's repetition.
func (b *bench) interleave(ctx context.Context, section string, trials []*trial, around func(t *trial, start bool)) error {
	return b.interleaveN(ctx, section, trials, b.cfg.reps, around)
}

// interleaveN is interleave with reps repetitions. Every other repetition
// runs the trials in reverse order (A B, B A, ...), so that what drifts
// during a run (the database's checkpoints and vacuuming, the machine's
// other work) weighs on each trial alike rather than on the later ones.
func (b *bench) interleaveN(ctx context.Context, section string, trials []*trial, reps int, around func(t *trial, start bool)) error {
	for r := range reps {
		order := slices.Clone(trials)
		if r%2 == 1 {
			slices.Reverse(order)
		}
		for _, t := range order {
			if around != nil {
				around(t, true)
			}
			var profiled chan struct{}
			if b.cfg.profile != "" && t.srv != nil && t.srv.debugAddr != "" {
				profiled = make(chan struct{})
				path := filepath.Join(b.cfg.profile, fmt.Sprintf("%s-%s-%d.pprof", section, fileName(t.name), r+1))
				go func() {
					defer close(profiled)
					t.srv.profile(ctx, b.cfg.warmup, b.cfg.duration, path, b.logf)
				}()
			}
			s, err := closedLoop(ctx, t.clients, b.cfg.warmup, b.cfg.duration, t.do, t.cpu)
			if profiled != nil {
				<-profiled
			}
			if err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			if around != nil {
				around(t, false)
			}
			t.samples = append(t.samples, s)
			b.logf("%s: %s, %d clients, repetition %d/%d: %.0f/s, p50 %v, p99 %v",
				section, t.name, t.clients, r+1, reps, s.rate(), s.pct(0.5).Round(time.Microsecond), s.pct(0.99).Round(time.Microsecond))
		}
	}
	return nil
}

// fileName turns a trial's name into part of a file name.
func fileName(name string) string {
	return strings.Trim(strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, name), "-")
}

// calls returns the load operations on a server.
type calls struct {
	c   eventlogv1.EventLogServiceClient
	h   healthpb.HealthClient
	seq atomic.Int64
	gen func(i int) *eventlogv1.Event // the i-th entry written
}

func newCalls(p *serverProc) *calls {
	return &calls{c: eventlogv1.NewEventLogServiceClient(p.cc), h: healthpb.NewHealthClient(p.cc), gen: genEvent}
}

// realistic returns the calls on the same server with realistic traffic.
func (c *calls) realistic() *calls { return c.with(genRealEvent) }

// with returns the calls on the same server writing the entries of gen.
func (c *calls) with(gen func(i int) *eventlogv1.Event) *calls {
	return &calls{c: c.c, h: c.h, gen: gen}
}

func (c *calls) health(ctx context.Context, _ int) (int, error) {
	_, err := c.h.Check(ctx, &healthpb.HealthCheckRequest{})
	return 1, err
}

func (c *calls) logEvent(ctx context.Context, n int) (int, error) {
	return c.logEventIn(eventlogv1.EventView_EVENT_VIEW_UNSPECIFIED)(ctx, n)
}

// logEventIn writes one entry per call, its response in view.
func (c *calls) logEventIn(view eventlogv1.EventView) op {
	return func(ctx context.Context, _ int) (int, error) {
		resp, err := c.c.LogEvent(ctx, &eventlogv1.LogEventRequest{Event: c.gen(int(c.seq.Add(1))), View: view})
		return 1 + int(resp.GetChildCount()), err
	}
}

// logEventOn writes an EDIT of one object per call, children included in
// the count.
func (c *calls) logEventOn(contentType, objectID string) op {
	return func(ctx context.Context, _ int) (int, error) {
		e := c.gen(int(c.seq.Add(1)))
		e.EventType = eventlogv1.EventType_EVENT_TYPE_EDIT
		e.ContentType, e.ObjectId = contentType, objectID
		resp, err := c.c.LogEvent(ctx, &eventlogv1.LogEventRequest{Event: e})
		return 1 + len(resp.GetChildren()), err
	}
}

// logEvents writes n entries per call.
func (c *calls) logEvents(n int) op {
	return c.logEventsIn(n, eventlogv1.EventView_EVENT_VIEW_UNSPECIFIED)
}

// logEventsIn writes n entries per call, the response in view.
func (c *calls) logEventsIn(n int, view eventlogv1.EventView) op {
	return func(ctx context.Context, _ int) (int, error) {
		first := int(c.seq.Add(int64(n))) - n
		req := &eventlogv1.LogEventsRequest{Requests: make([]*eventlogv1.LogEventRequest, n), View: view}
		for i := range req.Requests {
			req.Requests[i] = &eventlogv1.LogEventRequest{Event: c.gen(first + i)}
		}
		resp, err := c.c.LogEvents(ctx, req)
		return len(resp.GetResponses()), err
	}
}

// unary measures LogEvent against the no-op call on the same server:
// throughput and latency at b.cfg.clients and at one client, and the
// server's peak RSS during the loaded runs. raw, when set, is a baseline
// trial measured alongside (PostgreSQL's single-row INSERT). It returns the
// LogEvent trial at full load.
func (b *bench) unary(ctx context.Context, section string, p *serverProc, raw *trial) (*trial, error) {
	c := newCalls(p)
	ceiling := &trial{name: "no-op call (health check)", clients: b.cfg.clients, do: c.health, cpu: p.cpuTimes, srv: p}
	logEvent := &trial{name: "LogEvent", clients: b.cfg.clients, do: c.logEvent, cpu: p.cpuTimes, srv: p}
	basic := &trial{name: "LogEvent, basic view", clients: b.cfg.clients, do: c.logEventIn(eventlogv1.EventView_EVENT_VIEW_BASIC), cpu: p.cpuTimes, srv: p}
	trials := []*trial{ceiling, logEvent, basic}
	var real, unique *trial
	if b.cfg.realistic {
		real = &trial{name: "LogEvent, realistic traffic", clients: b.cfg.clients, do: c.realistic().logEvent, cpu: p.cpuTimes, srv: p}
		trials = append(trials, real)
		if section == "sqlite" {
			unique = &trial{name: "LogEvent, realistic traffic, unique object ids", clients: b.cfg.clients, do: c.with(genUniqueEvent).logEvent, cpu: p.cpuTimes, srv: p}
			trials = append(trials, unique)
		}
	}
	if raw != nil {
		trials = append(trials, raw)
	}
	var peak int64
	var rssErr error
	err := b.interleave(ctx, section, trials, func(t *trial, start bool) {
		if t != logEvent {
			return
		}
		if start {
			rssErr = p.resetPeakRSS()
			return
		}
		if rss, err := p.peakRSS(); err == nil {
			peak = max(peak, rss)
		} else {
			rssErr = err
		}
	})
	if err != nil {
		return nil, err
	}
	n := strconv.Itoa(b.cfg.clients)
	b.add(figure{Section: section, Name: "LogEvent, " + n + " clients", Value: logEvent.rate(), Unit: "entries/s",
		Baseline: "no-op call, " + n + " clients", BaseVal: ceiling.rate(), Target: 0.6})
	if raw != nil {
		b.add(figure{Section: section, Name: "LogEvent, " + n + " clients", Value: logEvent.rate(), Unit: "entries/s",
			Baseline: raw.name, BaseVal: raw.rate(), Target: 1})
	}
	for _, q := range []struct {
		name string
		p    float64
	}{{"p50", 0.5}, {"p99", 0.99}} {
		b.add(figure{Section: section, Name: "LogEvent " + q.name + ", " + n + " clients", Value: logEvent.pct(q.p), Unit: "s",
			Baseline: "no-op call " + q.name, BaseVal: ceiling.pct(q.p)})
	}
	// Where the processors go: the figure above shares them between the
	// load generator, the server and (for PostgreSQL) the database.
	logCPU, noopCPU := logEvent.cpuPerEntry(), ceiling.cpuPerEntry()
	for i, part := range cpuPartNames {
		if i == 2 && section != "postgres" {
			break
		}
		f := figure{Section: section, Name: "CPU per LogEvent, " + part + ", " + n + " clients", Value: logCPU.parts()[i], Unit: "s",
			Baseline: "no-op call", BaseVal: noopCPU.parts()[i]}
		if i == 2 {
			f.Baseline, f.BaseVal = "", 0 // the no-op call does not reach the database
		}
		b.add(f)
	}
	if raw != nil {
		// The compass: what storing an entry costs the machine, server and
		// database, against what PostgreSQL alone spends on the cheapest
		// durable write of a row into the same table (each INSERT its own
		// transaction, prepared, pgbench-style). Unlike the rates, it does
		// not depend on the load generator's share of the processors.
		rawCPU := raw.cpuPerEntry()
		b.add(figure{Section: section, Name: "CPU per LogEvent, server + PostgreSQL, " + n + " clients", Value: logCPU.Server + logCPU.Postgres, Unit: "s",
			Baseline: "PostgreSQL CPU per " + raw.name, BaseVal: rawCPU.Postgres, Target: 1, AtMost: true,
			Note: "PostgreSQL: all its processes, autovacuum and checkpoints included"})
		if logCPU.Backends > 0 && rawCPU.Backends > 0 {
			// The same with only the backends of each database and the
			// WAL writer: the background work of the earlier trials, which
			// lands on whichever trial runs, left out.
			b.add(figure{Section: section, Name: "CPU per LogEvent, server + PostgreSQL backends, " + n + " clients", Value: logCPU.Server + logCPU.Backends, Unit: "s",
				Baseline: "backends' CPU per " + raw.name, BaseVal: rawCPU.Backends, Target: 1, AtMost: true})
		}
	}
	if section == "postgres" || rssErr == nil {
		note := ""
		if rssErr != nil {
			note = "peak since the server started (resetting the peak failed: " + rssErr.Error() + ")"
		}
		b.add(figure{Section: section, Name: "server peak RSS, LogEvent " + n + " clients", Value: float64(peak) / (1 << 20),
			Unit: "MiB", Target: 256, AtMost: true, Note: note})
	}

	// The basic view: the same writes, with responses that leave out the
	// entry the client sent.
	b.add(figure{Section: section, Name: "LogEvent basic view, " + n + " clients", Value: basic.rate(), Unit: "entries/s",
		Baseline: "LogEvent full view", BaseVal: logEvent.rate()})
	basicCPU := basic.cpuPerEntry()
	for i, part := range cpuPartNames[:2] {
		b.add(figure{Section: section, Name: "CPU per LogEvent basic view, " + part + ", " + n + " clients", Value: basicCPU.parts()[i], Unit: "s",
			Baseline: "full view", BaseVal: logCPU.parts()[i]})
	}

	if real != nil {
		b.addRealistic(section, "LogEvent, "+n+" clients", real, logEvent, unique)
	}

	// Light load: one client.
	ceiling1 := &trial{name: "no-op call (health check)", clients: 1, do: c.health}
	logEvent1 := &trial{name: "LogEvent", clients: 1, do: c.logEvent}
	if err := b.interleave(ctx, section, []*trial{ceiling1, logEvent1}, nil); err != nil {
		return nil, err
	}
	for _, q := range []struct {
		name string
		p    float64
	}{{"p50", 0.5}, {"p99", 0.99}} {
		b.add(figure{Section: section, Name: "LogEvent " + q.name + ", 1 client", Value: logEvent1.pct(q.p), Unit: "s",
			Baseline: "no-op call " + q.name, BaseVal: ceiling1.pct(q.p)})
	}
	b.add(figure{Section: section, Name: "LogEvent, 1 client", Value: logEvent1.rate(), Unit: "entries/s",
		Baseline: "no-op call, 1 client", BaseVal: ceiling1.rate()})
	return logEvent, nil
}

// addRealistic adds the figures of a write with realistic traffic beside
// the same write with the generated entries: its rate and the CPU per entry
// of the server and (when measured) PostgreSQL. unique, when measured, is
// the realistic traffic with a new object in each entry; against it the
// rate has a target: it should not depend much on where in the indexes the
// entries land.
func (b *bench) addRealistic(section, name string, real, generated, unique *trial) {
	b.add(figure{Section: section, Name: name + ", realistic traffic", Value: real.rate(), Unit: "entries/s",
		Baseline: "generated entries (4 objects)", BaseVal: generated.rate()})
	if unique != nil {
		b.add(figure{Section: section, Name: name + ", realistic traffic", Value: real.rate(), Unit: "entries/s",
			Baseline: "realistic, unique object ids", BaseVal: unique.rate(), Target: 0.8})
		if real.cpu != nil {
			b.add(figure{Section: section, Name: "CPU per entry of " + name + ", realistic, server", Value: real.cpuPerEntry().Server, Unit: "s",
				Baseline: "realistic, unique object ids", BaseVal: unique.cpuPerEntry().Server})
		}
	}
	if real.cpu == nil {
		return
	}
	realCPU, uniqueCPU := real.cpuPerEntry(), generated.cpuPerEntry()
	b.add(figure{Section: section, Name: "CPU per entry of " + name + ", realistic, server", Value: realCPU.Server, Unit: "s",
		Baseline: "generated entries", BaseVal: uniqueCPU.Server})
	if section == "postgres" {
		b.add(figure{Section: section, Name: "CPU per entry of " + name + ", realistic, PostgreSQL", Value: realCPU.Postgres, Unit: "s",
			Baseline: "generated entries", BaseVal: uniqueCPU.Postgres})
	}
}

func (b *bench) postgresWrites(ctx context.Context) error {
	const section = "postgres"
	dsn, err := b.newPGDB(ctx, "writes")
	if err != nil {
		return err
	}
	rawDSN, err := b.newPGDB(ctx, "raw")
	if err != nil {
		return err
	}
	if err := schemaOnly(ctx, rawDSN); err != nil {
		return err
	}
	raw, err := newRawPG(ctx, rawDSN, max(b.cfg.rawClients, b.cfg.batchClients))
	if err != nil {
		return err
	}
	defer raw.close()

	b.logf("%s: starting eventlog serve", section)
	p, err := b.startServer(ctx, dsn)
	if err != nil {
		return err
	}
	defer p.stop()

	rawCPU := p.cpuTimes
	if b.postmaster != 0 {
		rawBackends := backendsCPU(b.admin, pgDatabase(rawDSN))
		rawCPU = func() cpuTimes {
			c := p.cpuTimes()
			c.Backends = rawBackends()
			return c
		}
	}
	single := &trial{name: "raw INSERT, 1 row, autocommit, " + strconv.Itoa(b.cfg.rawClients) + " conns", clients: b.cfg.rawClients, do: raw.insert(1), cpu: rawCPU}
	if _, err := b.unary(ctx, section, p, single); err != nil {
		return err
	}

	c := newCalls(p)
	bc := strconv.Itoa(b.cfg.batchClients)
	batch := &trial{name: "LogEvents, 1000 entries/call", clients: b.cfg.batchClients, do: c.logEvents(1000), cpu: p.cpuTimes, srv: p}
	copyIn := &trial{name: "raw COPY, 1000 rows/tx", clients: b.cfg.batchClients, do: raw.copyIn(1000), cpu: p.cpuTimes}
	multi := &trial{name: "raw INSERT, 100 rows", clients: b.cfg.batchClients, do: raw.insert(100)}
	lg, err := newLoggerCalls(ctx, p)
	if err != nil {
		return err
	}
	defer lg.close()
	logger := &trial{name: "Logger", clients: b.cfg.clients, do: lg.log, cpu: p.cpuTimes, srv: p}
	batchBasic := &trial{name: "LogEvents, 1000 entries/call, basic view", clients: b.cfg.batchClients, do: c.logEventsIn(1000, eventlogv1.EventView_EVENT_VIEW_BASIC), cpu: p.cpuTimes, srv: p}
	trials := []*trial{batch, batchBasic, copyIn, multi, logger}
	var batchReal, copyReal *trial
	if b.cfg.realistic {
		batchReal = &trial{name: "LogEvents, 1000 entries/call, realistic traffic", clients: b.cfg.batchClients, do: c.realistic().logEvents(1000), cpu: p.cpuTimes, srv: p}
		copyReal = &trial{name: "raw COPY, 1000 rows/tx, realistic traffic", clients: b.cfg.batchClients, do: raw.copyInOf(1000, realRow), cpu: p.cpuTimes}
		trials = append(trials, batchReal, copyReal)
	}
	err = b.interleave(ctx, section, trials, func(t *trial, start bool) {
		if t == logger && !start {
			lg.flush(ctx) // the backlog is not the next trial's
		}
	})
	if err != nil {
		return err
	}
	n := strconv.Itoa(b.cfg.clients)
	b.add(figure{Section: section, Name: "Logger, " + n + " goroutines", Value: logger.rate(), Unit: "entries/s",
		Baseline: "LogEvents 1000/call, " + bc + " clients", BaseVal: batch.rate(), Target: 0.5})
	b.add(figure{Section: section, Name: "Logger p99 of Log, " + n + " goroutines, saturated", Value: logger.pct(0.99), Unit: "s",
		Note: "closed loop: the queue stays full and Log waits for room (Block)"})
	// Below capacity, at half the rate the Logger reached: what Log costs
	// a service that logs no faster than the log can store.
	paced, err := pacedLoop(ctx, b.cfg.clients, logger.rate()/2, b.cfg.warmup, b.cfg.duration, lg.log)
	if err != nil {
		return err
	}
	lg.flush(ctx)
	if len(paced) > 0 {
		b.add(figure{Section: section, Name: "Logger p99 of Log at half its rate, " + n + " goroutines",
			Value: paced[min(len(paced)-1, len(paced)*99/100)].Seconds(), Unit: "s", Target: 0.001, AtMost: true})
	}
	b.add(figure{Section: section, Name: "LogEvents 1000/call, " + bc + " clients", Value: batch.rate(), Unit: "entries/s",
		Baseline: copyIn.name + ", " + bc + " conns", BaseVal: copyIn.rate(), Target: 0.5})
	b.add(figure{Section: section, Name: "LogEvents 1000/call, " + bc + " clients", Value: batch.rate(), Unit: "entries/s",
		Baseline: multi.name + ", " + bc + " conns", BaseVal: multi.rate()})
	batchCPU, copyCPU := batch.cpuPerEntry(), copyIn.cpuPerEntry()
	for i, part := range cpuPartNames {
		if i == 0 {
			continue // the raw baseline has no server
		}
		b.add(figure{Section: section, Name: "CPU per entry of LogEvents, " + part, Value: batchCPU.parts()[i], Unit: "s",
			Baseline: "raw COPY", BaseVal: copyCPU.parts()[i]})
	}
	b.add(figure{Section: section, Name: "CPU per entry of LogEvents, server", Value: batchCPU.Server, Unit: "s"})
	basicCPU := batchBasic.cpuPerEntry()
	b.add(figure{Section: section, Name: "LogEvents 1000/call basic view, " + bc + " clients", Value: batchBasic.rate(), Unit: "entries/s",
		Baseline: "full view", BaseVal: batch.rate()})
	for i, part := range cpuPartNames {
		b.add(figure{Section: section, Name: "CPU per entry of LogEvents basic view, " + part, Value: basicCPU.parts()[i], Unit: "s",
			Baseline: "full view", BaseVal: batchCPU.parts()[i]})
	}
	if batchReal != nil {
		b.addRealistic(section, "LogEvents 1000/call, "+bc+" clients", batchReal, batch, nil)
		b.add(figure{Section: section, Name: copyReal.name + ", " + bc + " conns", Value: copyReal.rate(), Unit: "entries/s",
			Baseline: copyIn.name, BaseVal: copyIn.rate()})
		b.add(figure{Section: section, Name: "CPU per row of raw COPY, realistic, PostgreSQL", Value: copyReal.cpuPerEntry().Postgres, Unit: "s",
			Baseline: "generated rows", BaseVal: copyCPU.Postgres})
	}

	// Propagation: every write on the source object has 10 children.
	rels := &eventlogv1.PutRelationsRequest{}
	for i := range 10 {
		rels.Relations = append(rels.Relations, &eventlogv1.Relation{
			From: &eventlogv1.ObjectRef{ContentType: "Note", ObjectId: "prop-src"},
			To:   &eventlogv1.ObjectRef{ContentType: "Entity", ObjectId: "prop-" + strconv.Itoa(i)},
		})
	}
	if _, err := c.c.PutRelations(ctx, rels); err != nil {
		return fmt.Errorf("register relations: %w", err)
	}
	plain := &trial{name: "LogEvent, no children", clients: b.cfg.clients, do: c.logEventOn("Note", "prop-plain")}
	children := &trial{name: "LogEvent, 10 children", clients: b.cfg.clients, do: c.logEventOn("Note", "prop-src")}
	if err := b.interleave(ctx, section, []*trial{plain, children}, nil); err != nil {
		return err
	}
	b.add(figure{Section: section, Name: "LogEvent with 10 children, " + n + " clients", Value: children.rate(), Unit: "entries/s",
		Baseline: "LogEvent without children", BaseVal: plain.rate(), Target: 0.5})
	return nil
}

// rawPG writes generated rows into a table of eventlog's schema through
// lib/pq, without eventlog: the database's own limits.
type rawPG struct {
	db    *sql.DB
	conns []*sql.Conn
	next  atomic.Int64
	stmts map[int][]*sql.Stmt // rows per INSERT -> a prepared statement per connection
}

func newRawPG(ctx context.Context, dsn string, conns int) (*rawPG, error) {
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(conns)
	r := &rawPG{db: db, stmts: map[int][]*sql.Stmt{}}
	for range conns {
		c, err := db.Conn(ctx)
		if err != nil {
			r.close()
			return nil, err
		}
		r.conns = append(r.conns, c)
	}
	// The raw writes go to a plain table with the columns, constraints and
	// indexes of events (the unique index of idempotency keys included,
	// which events keeps per partition), but without eventlog's triggers
	// (the counts per hour) or its partitions, so that they measure what
	// PostgreSQL itself spends on durable rows.
	for _, stmt := range []string{
		`CREATE TABLE ` + rawTable + ` (LIKE events INCLUDING ALL)`,
		`CREATE UNIQUE INDEX ` + rawTable + `_idempotency_key ON ` + rawTable + ` (idempotency_key) WHERE idempotency_key IS NOT NULL`,
	} {
		if _, err := r.conns[0].ExecContext(ctx, stmt); err != nil {
			r.close()
			return nil, fmt.Errorf("create %s: %w", rawTable, err)
		}
	}
	for _, rows := range []int{1, 100} {
		q := insertSQL(rawTable, rows, func(i int) string { return "$" + strconv.Itoa(i) })
		for _, c := range r.conns {
			st, err := c.PrepareContext(ctx, q)
			if err != nil {
				r.close()
				return nil, err
			}
			r.stmts[rows] = append(r.stmts[rows], st)
		}
	}
	return r, nil
}

func (r *rawPG) close() {
	for _, sts := range r.stmts {
		for _, st := range sts {
			st.Close()
		}
	}
	for _, c := range r.conns {
		c.Close()
	}
	r.db.Close()
}

func pgTime(t time.Time) any { return t.UTC() }

// insert runs a prepared INSERT of rows rows, in autocommit.
func (r *rawPG) insert(rows int) op {
	return func(ctx context.Context, w int) (int, error) {
		first := r.next.Add(int64(rows)) - int64(rows) + 1
		args := make([]any, 0, rows*len(rawColumns))
		for i := range rows {
			args = append(args, rawRow(first+int64(i), int(first)+i, pgTime)...)
		}
		_, err := r.stmts[rows][w].ExecContext(ctx, args...)
		return rows, err
	}
}

// copyIn writes rows rows per transaction with COPY.
func (r *rawPG) copyIn(rows int) op { return r.copyInOf(rows, rawRow) }

// copyInOf is copyIn of the rows that row generates.
func (r *rawPG) copyInOf(rows int, row func(id int64, i int, timeArg func(time.Time) any) []any) op {
	return func(ctx context.Context, w int) (int, error) {
		first := r.next.Add(int64(rows)) - int64(rows) + 1
		tx, err := r.conns[w].BeginTx(ctx, nil)
		if err != nil {
			return 0, err
		}
		defer tx.Rollback()
		st, err := tx.PrepareContext(ctx, "COPY "+rawTable+" ("+strings.Join(rawColumns, ", ")+") FROM STDIN")
		if err != nil {
			return 0, err
		}
		for i := range rows {
			if _, err := st.ExecContext(ctx, row(first+int64(i), int(first)+i, pgTime)...); err != nil {
				return 0, err
			}
		}
		if _, err := st.ExecContext(ctx); err != nil {
			return 0, err
		}
		if err := st.Close(); err != nil {
			return 0, err
		}
		return rows, tx.Commit()
	}
}

// rawTable is the table of the raw INSERTs and COPY (see newRawPG).
const rawTable = "events_raw"

// insertSQL is a multi-row INSERT into table; param names the i-th
// parameter, from 1.
func insertSQL(table string, rows int, param func(i int) string) string {
	var q strings.Builder
	q.WriteString("INSERT INTO " + table + " (" + strings.Join(rawColumns, ", ") + ") VALUES ")
	n := 0
	for i := range rows {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(")
		for j := range rawColumns {
			if j > 0 {
				q.WriteString(", ")
			}
			n++
			q.WriteString(param(n))
		}
		q.WriteString(")")
	}
	return q.String()
}
