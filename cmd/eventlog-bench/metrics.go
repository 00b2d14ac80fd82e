package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// metricsScrapeEvery is how often the metrics are scraped while the
// server with metrics is loaded: more often than Prometheus would (15s).
const metricsScrapeEvery = time.Second

// metricsCost measures what the metrics cost writers: LogEvent at
// b.cfg.clients on a server with metrics (scraped every second) against
// one without, interleaved, each on a database of its own (PostgreSQL when
// there is one, SQLite otherwise).
func (b *bench) metricsCost(ctx context.Context) error {
	const section = "metrics"
	newDB := func(purpose string) (string, error) {
		if b.cfg.pgURL != "" {
			return b.newPGDB(ctx, purpose)
		}
		return filepath.Join(b.dir, purpose+".db"), nil
	}
	offDB, err := newDB("metrics_off")
	if err != nil {
		return err
	}
	onDB, err := newDB("metrics_on")
	if err != nil {
		return err
	}
	metricsAddr, err := freeAddr()
	if err != nil {
		return err
	}
	b.logf("%s: starting eventlog serve without metrics and with them", section)
	off, err := startServer(ctx, b.cfg.eventlog, offDB, "--metrics-addr", "off")
	if err != nil {
		return err
	}
	defer off.stop()
	on, err := startServer(ctx, b.cfg.eventlog, onDB, "--metrics-addr", metricsAddr)
	if err != nil {
		return err
	}
	defer on.stop()
	url := "http://" + metricsAddr + "/metrics"
	if err := scrapeOnce(ctx, url); err != nil {
		return fmt.Errorf("the server with metrics: %w", err)
	}

	withOut := &trial{name: "LogEvent, metrics off", clients: b.cfg.clients, do: newCalls(off).logEvent, cpu: off.cpuTimes}
	with := &trial{name: "LogEvent, metrics on", clients: b.cfg.clients, do: newCalls(on).logEvent, cpu: on.cpuTimes}
	var (
		stopScrape context.CancelFunc
		scraping   sync.WaitGroup
		scrapes    int
		scrapeErr  error
	)
	err = b.interleave(ctx, section, []*trial{withOut, with}, func(t *trial, start bool) {
		if t != with {
			return
		}
		if !start {
			stopScrape()
			scraping.Wait()
			return
		}
		sctx, cancel := context.WithCancel(ctx)
		stopScrape = cancel
		scraping.Add(1)
		go func() {
			defer scraping.Done()
			tick := time.NewTicker(metricsScrapeEvery)
			defer tick.Stop()
			for {
				select {
				case <-sctx.Done():
					return
				case <-tick.C:
					if err := scrapeOnce(sctx, url); err != nil && sctx.Err() == nil {
						scrapeErr = err
					}
					scrapes++
				}
			}
		}()
	})
	if err != nil {
		return err
	}
	if scrapeErr != nil {
		return fmt.Errorf("scrape the metrics: %w", scrapeErr)
	}
	n := strconv.Itoa(b.cfg.clients)
	store := "SQLite"
	if b.cfg.pgURL != "" {
		store = "PostgreSQL"
	}
	b.add(figure{Section: section, Name: "LogEvent, " + n + " clients, metrics on (" + store + ")", Value: with.rate(), Unit: "entries/s",
		Baseline: "metrics off", BaseVal: withOut.rate(), Target: 0.95,
		Note: fmt.Sprintf("scraped every %v, %d scrapes", metricsScrapeEvery, scrapes)})
	// The CPU each server spends per entry: what the metrics cost, less
	// exposed than the rate to other work on a shared machine.
	b.add(figure{Section: section, Name: "server CPU per LogEvent, " + n + " clients, metrics on", Value: with.cpuPerEntry().Server, Unit: "s",
		Baseline: "metrics off", BaseVal: withOut.cpuPerEntry().Server})
	for _, q := range []struct {
		name string
		p    float64
	}{{"p50", 0.5}, {"p99", 0.99}} {
		b.add(figure{Section: section, Name: "LogEvent " + q.name + ", " + n + " clients, metrics on", Value: with.pct(q.p), Unit: "s",
			Baseline: "metrics off", BaseVal: withOut.pct(q.p)})
	}
	return nil
}

// scrapeOnce gets the metrics at url and reads them whole.
func scrapeOnce(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}
