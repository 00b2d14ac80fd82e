package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
)

// exportRates measures GET /v1/events:export of the whole log, as JSON
// lines and as CSV, against ListEvents paging the same range (1,000 a
// page, oldest first, over gRPC), on a log of b.cfg.exportEntries, and the
// server's peak RSS during the exports.
func (b *bench) exportRates(ctx context.Context) error {
	const section = "export"
	n := b.cfg.exportEntries
	dsn, err := b.newPGDB(ctx, "export")
	if err != nil {
		return err
	}
	httpAddr, err := freeAddr()
	if err != nil {
		return err
	}
	b.logf("%s: starting eventlog serve", section)
	p, err := startServer(ctx, b.cfg.eventlog, dsn, "--http-addr", httpAddr)
	if err != nil {
		return err
	}
	defer p.stop()
	c := newCalls(p)
	if _, err := b.load(ctx, c, n); err != nil {
		return err
	}
	if err := analyze(ctx, dsn); err != nil {
		return err
	}

	var listRates, jsonlRates, csvRates []float64
	var peak int64
	var rssErr error
	export := func(format string) (float64, error) {
		if err := p.resetPeakRSS(); err != nil {
			rssErr = err
		}
		start := time.Now()
		req, err := http.NewRequestWithContext(ctx, "GET", "http://"+httpAddr+"/v1/events:export?format="+format, nil)
		if err != nil {
			return 0, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return 0, err
		}
		if resp.StatusCode != 200 || resp.Trailer.Get("Eventlog-Export-Complete") != "true" ||
			resp.Trailer.Get("Eventlog-Export-Count") != fmt.Sprint(n) {
			return 0, fmt.Errorf("export %s: %s, trailers %v", format, resp.Status, resp.Trailer)
		}
		rate := float64(n) / time.Since(start).Seconds()
		if rss, err := p.peakRSS(); err == nil {
			peak = max(peak, rss)
		} else {
			rssErr = err
		}
		return rate, nil
	}
	for r := range b.cfg.reps {
		start := time.Now()
		got, token := 0, ""
		for {
			resp, err := c.c.ListEvents(ctx, &eventlogv1.ListEventsRequest{OrderBy: "id asc", PageSize: 1000, PageToken: token})
			if err != nil {
				return fmt.Errorf("ListEvents: %w", err)
			}
			got += len(resp.GetEvents())
			if token = resp.GetNextPageToken(); token == "" {
				break
			}
		}
		if got != n {
			return fmt.Errorf("ListEvents paged %d entries, want %d", got, n)
		}
		listRates = append(listRates, float64(n)/time.Since(start).Seconds())
		jr, err := export("jsonl")
		if err != nil {
			return err
		}
		jsonlRates = append(jsonlRates, jr)
		cr, err := export("csv")
		if err != nil {
			return err
		}
		csvRates = append(csvRates, cr)
		b.logf("%s: %d entries, repetition %d/%d: ListEvents pages %.0f/s, export jsonl %.0f/s, csv %.0f/s",
			section, n, r+1, b.cfg.reps, listRates[r], jr, cr)
	}
	base := "ListEvents pages of 1000, oldest first, gRPC"
	b.add(figure{Section: section, Name: fmt.Sprintf("export of %d entries, JSON lines", n), Value: median(jsonlRates), Unit: "entries/s",
		Baseline: base, BaseVal: median(listRates)})
	b.add(figure{Section: section, Name: fmt.Sprintf("export of %d entries, CSV", n), Value: median(csvRates), Unit: "entries/s",
		Baseline: base, BaseVal: median(listRates)})
	note := ""
	if rssErr != nil {
		note = "peak since the server started (resetting the peak failed: " + rssErr.Error() + ")"
	}
	b.add(figure{Section: section, Name: "server peak RSS during the exports", Value: float64(peak) / (1 << 20), Unit: "MiB",
		Target: 128, AtMost: true, Note: note})
	return nil
}
