package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

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
