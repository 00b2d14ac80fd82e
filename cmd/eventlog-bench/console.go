package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"slices"
	"time"

	jsonv2 "github.com/chromedp/cdproto/cdp/jsonv2"
	"github.com/chromedp/chromedp"

	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// countCases measures CountEvents over a month of daily buckets ending
// with the day of the last entry, the range aligned on days as the
// console's timeline asks for it: the whole log, and one event type per
// content type.
func (b *bench) countCases(ctx context.Context, c *calls, n int) ([]readCase, error) {
	last, err := c.c.GetEvent(ctx, &eventlogv1.GetEventRequest{Id: int64(n)})
	if err != nil {
		return nil, fmt.Errorf("GetEvent %d: %w", n, err)
	}
	end := last.GetEvent().GetTime().AsTime().Truncate(24 * time.Hour).Add(24 * time.Hour)
	start := end.Add(-30 * 24 * time.Hour)
	var out []readCase
	for _, q := range []struct {
		name string
		req  *eventlogv1.CountEventsRequest
	}{
		{"CountEvents, a month by day", &eventlogv1.CountEventsRequest{}},
		{"CountEvents event_type, a month by day per content type", &eventlogv1.CountEventsRequest{
			EventType: "edit", GroupBy: eventlogv1.CountGroupBy_COUNT_GROUP_BY_CONTENT_TYPE}},
	} {
		q.req.StartTime, q.req.EndTime = timestamppb.New(start), timestamppb.New(end.Add(-time.Microsecond))
		q.req.BucketWidth = eventlogv1.BucketWidth_BUCKET_WIDTH_DAY
		var total int64
		p50, err := b.timeCalls(ctx, func(ctx context.Context, _ int) error {
			resp, err := c.c.CountEvents(ctx, q.req)
			total = resp.GetTotal()
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", q.name, err)
		}
		b.logf("reads: %d entries: %s: p50 %v (%d counted)", n, q.name, dur(p50), total)
		out = append(out, readCase{name: q.name, p50: p50})
	}
	return out, nil
}

// consoleCases measures what the web console's log page costs: its
// document, and the REST call that fills it with 100 rows, each read to its
// end (the page shows the rows once that call has answered).
func (b *bench) consoleCases(ctx context.Context, base string) ([]readCase, error) {
	get := func(path string) func(ctx context.Context, _ int) error {
		return func(ctx context.Context, _ int) error {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
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
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("GET %s: %s", path, resp.Status)
			}
			return nil
		}
	}
	var out []readCase
	for _, c := range []struct {
		name, path string
	}{
		{"console log page: document", "/ui/"},
		{"console log page: its 100 rows (GET /v1/events?page_size=100)", "/v1/events?page_size=100"},
	} {
		p50, err := b.timeCalls(ctx, get(c.path))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.name, err)
		}
		b.logf("reads: %s: p50 %v", c.name, dur(p50))
		out = append(out, readCase{name: c.name, p50: p50})
	}
	return out, nil
}

// findChromium returns the path of a Chromium or Chrome binary, or "".
func findChromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browserCases loads the console's log page with 100 rows in headless
// Chromium, afresh each time, and returns the medians of its first byte,
// its DOM ready (DOMContentLoaded) and the moment its rows are shown, all
// from the start of the navigation. Without Chromium it returns nothing.
func (b *bench) browserCases(ctx context.Context, base string) ([]readCase, error) {
	path := findChromium()
	if path == "" {
		b.logf("reads: no chromium: the console's page load in a browser is not measured")
		return nil, nil
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 900), chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	type timing struct {
		FirstByte float64 `json:"firstByte"`
		DOMReady  float64 `json:"domReady"`
		Shown     float64 `json:"shown"`
	}
	var firstByte, domReady, shown []float64
	for i := range max(b.cfg.samples/2, 5) {
		url := fmt.Sprintf("%s/ui/?page_size=100&n=%d", base, i)
		if err := chromedp.Do(bctx, chromedp.Navigate(url)); err != nil {
			return nil, fmt.Errorf("console page: %w", err)
		}
		wctx, wcancel := context.WithTimeout(bctx, 60*time.Second)
		_, err := chromedp.Run(wctx, chromedp.Poll[bool](`document.body.dataset.ready === "log" && document.querySelectorAll("table.events tbody tr").length === 100`,
			chromedp.WithPollingInterval(10*time.Millisecond)))
		wcancel()
		if err != nil {
			return nil, fmt.Errorf("console page: waiting for 100 rows: %w", err)
		}
		v, err := chromedp.Run(bctx, chromedp.Evaluate[jsonv2.Value](`(() => {
			const nav = performance.getEntriesByType("navigation")[0];
			const mark = performance.getEntriesByName("eventlog:ready:log")[0];
			return {firstByte: nav.responseStart, domReady: nav.domContentLoadedEventEnd, shown: mark.startTime};
		})()`))
		if err != nil {
			return nil, fmt.Errorf("console page: timings: %w", err)
		}
		var t timing
		if err := json.Unmarshal(v, &t); err != nil {
			return nil, fmt.Errorf("console page: timings: %w", err)
		}
		firstByte, domReady, shown = append(firstByte, t.FirstByte/1000), append(domReady, t.DOMReady/1000), append(shown, t.Shown/1000)
	}
	med := func(x []float64) float64 { slices.Sort(x); return x[(len(x)-1)/2] }
	out := []readCase{
		{name: "console log page of 100 rows in Chromium: first byte", p50: med(firstByte)},
		{name: "console log page of 100 rows in Chromium: DOM ready", p50: med(domReady)},
		{name: "console log page of 100 rows in Chromium: rows shown", p50: med(shown)},
	}
	for _, c := range out {
		b.logf("reads: %s: p50 %v", c.name, dur(c.p50))
	}
	return out, nil
}
