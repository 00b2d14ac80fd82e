package main

import (
	"context"
	"database/sql"
	"path/filepath"
	"strconv"
	"time"
)

func (b *bench) sqliteWrites(ctx context.Context) error {
	const section = "sqlite"
	path := filepath.Join(b.dir, "writes.db")
	rawPath := filepath.Join(b.dir, "raw.db")
	if err := schemaOnly(ctx, rawPath); err != nil {
		return err
	}
	raw, err := newRawSQLite(ctx, rawPath)
	if err != nil {
		return err
	}
	defer raw.close()

	b.logf("%s: starting eventlog serve", section)
	p, err := b.startServer(ctx, path)
	if err != nil {
		return err
	}
	defer p.stop()
	if _, err := b.unary(ctx, section, p, nil); err != nil {
		return err
	}

	c := newCalls(p)
	bc := strconv.Itoa(b.cfg.batchClients)
	batch := &trial{name: "LogEvents, 1000 entries/call", clients: b.cfg.batchClients, do: c.logEvents(1000), cpu: p.cpuTimes, srv: p}
	rawBatch := &trial{name: "raw INSERT, 1000 rows/tx", clients: 1, do: raw.batch(1000, rawRow), cpu: p.cpuTimes}
	trials := []*trial{batch, rawBatch}
	var batchReal, batchUnique, batchSkewed, rawReal *trial
	if b.cfg.realistic {
		batchReal = &trial{name: "LogEvents, 1000 entries/call, realistic traffic", clients: b.cfg.batchClients, do: c.realistic().logEvents(1000), cpu: p.cpuTimes, srv: p}
		// Realistic ids with the small details: where the entries land
		// in the indexes, apart from their size.
		batchSkewed = &trial{name: "LogEvents, 1000 entries/call, skewed ids, small details", clients: b.cfg.batchClients, do: c.with(genSkewedEvent).logEvents(1000), cpu: p.cpuTimes, srv: p}
		batchUnique = &trial{name: "LogEvents, 1000 entries/call, realistic traffic, unique object ids", clients: b.cfg.batchClients, do: c.with(genUniqueEvent).logEvents(1000), cpu: p.cpuTimes, srv: p}
		rawReal = &trial{name: "raw INSERT, 1000 rows/tx, realistic traffic", clients: 1, do: raw.batch(1000, realRow), cpu: p.cpuTimes}
		trials = append(trials, batchReal, batchUnique, batchSkewed, rawReal)
	}
	if err := b.interleave(ctx, section, trials, nil); err != nil {
		return err
	}
	b.add(figure{Section: section, Name: "LogEvents 1000/call, " + bc + " clients", Value: batch.rate(), Unit: "entries/s",
		Baseline: "raw prepared INSERT, 1000 rows/tx", BaseVal: rawBatch.rate(), Target: 0.5})
	if batchReal != nil {
		b.addRealistic(section, "LogEvents 1000/call, "+bc+" clients", batchReal, batch, batchUnique)
		b.add(figure{Section: section, Name: "LogEvents 1000/call, " + bc + " clients, skewed ids, small details", Value: batchSkewed.rate(), Unit: "entries/s",
			Baseline: "generated entries (4 objects)", BaseVal: batch.rate()})
		b.add(figure{Section: section, Name: "CPU per entry of LogEvents 1000/call, skewed ids, small details, server", Value: batchSkewed.cpuPerEntry().Server, Unit: "s",
			Baseline: "generated entries", BaseVal: batch.cpuPerEntry().Server})
		// The same rows without eventlog: what SQLite itself does with
		// them (the load generator's CPU is SQLite's here).
		b.add(figure{Section: section, Name: rawReal.name, Value: rawReal.rate(), Unit: "entries/s",
			Baseline: rawBatch.name, BaseVal: rawBatch.rate()})
		b.add(figure{Section: section, Name: "CPU per row of raw INSERT, realistic, load generator", Value: rawReal.cpuPerEntry().Client, Unit: "s",
			Baseline: "generated rows", BaseVal: rawBatch.cpuPerEntry().Client})
	}
	return nil
}

// rawSQLite writes generated rows into a SQLite file of eventlog's schema,
// with the pragmas eventlog uses (WAL, full sync on commit), without
// eventlog.
type rawSQLite struct {
	db   *sql.DB
	next int64
}

func newRawSQLite(ctx context.Context, path string) (*rawSQLite, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return &rawSQLite{db: db}, nil
}

func (r *rawSQLite) close() { r.db.Close() }

func sqliteTime(t time.Time) any { return t.UnixMicro() }

// batch inserts rows rows in one transaction with a prepared single-row
// INSERT. One writer: SQLite has one at a time.
func (r *rawSQLite) batch(rows int, row func(id int64, i int, timeArg func(time.Time) any) []any) op {
	q := insertSQL("events", 1, func(int) string { return "?" })
	return func(ctx context.Context, _ int) (int, error) {
		tx, err := r.db.BeginTx(ctx, nil)
		if err != nil {
			return 0, err
		}
		defer tx.Rollback()
		st, err := tx.PrepareContext(ctx, q)
		if err != nil {
			return 0, err
		}
		defer st.Close()
		for range rows {
			r.next++
			if _, err := st.ExecContext(ctx, row(r.next, int(r.next), sqliteTime)...); err != nil {
				return 0, err
			}
		}
		return rows, tx.Commit()
	}
}
