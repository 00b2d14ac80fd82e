package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// readCase is one read figure: a ListEvents filter, with or without a time
// range, on the first page or 100 pages deep; or GetEvent.
type readCase struct {
	name string
	p50  float64 // seconds
	note string
}

func (b *bench) reads(ctx context.Context) error {
	const section = "reads"
	small, err := b.readDB(ctx, b.cfg.small, false)
	if err != nil {
		return err
	}
	large, err := b.readDB(ctx, b.cfg.large, true)
	if err != nil {
		return err
	}
	sz := func(n int) string {
		switch {
		case n >= 1_000_000 && n%1_000_000 == 0:
			return strconv.Itoa(n/1_000_000) + "M"
		case n >= 1000 && n%1000 == 0:
			return strconv.Itoa(n/1000) + "k"
		}
		return strconv.Itoa(n)
	}
	for i, c := range large {
		note := c.note
		if small[i].note != "" {
			note = "small: " + small[i].note + "; " + note
		}
		b.add(figure{Section: section, Name: c.name + " p50 at " + sz(b.cfg.large), Value: c.p50, Unit: "s",
			Baseline: "at " + sz(b.cfg.small), BaseVal: small[i].p50, Target: 2, AtMost: true, Note: note})
	}
	return nil
}

// readDB loads n entries into a fresh database through a server, and
// measures the read figures on it; with last, also the loader's rate and
// the replay of a stream.
func (b *bench) readDB(ctx context.Context, n int, last bool) ([]readCase, error) {
	const section = "reads"
	dsn, err := b.newPGDB(ctx, "reads")
	if err != nil {
		return nil, err
	}
	b.logf("%s: starting eventlog serve", section)
	httpAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	p, err := startServer(ctx, b.cfg.eventlog, dsn, "--http-addr", httpAddr)
	if err != nil {
		return nil, err
	}
	defer p.stop()
	c := newCalls(p)
	rate, err := b.load(ctx, c, n)
	if err != nil {
		return nil, err
	}
	if last {
		b.add(figure{Section: section, Name: fmt.Sprintf("load %d entries, LogEvents 1000/call, %d clients", n, b.cfg.batchClients),
			Value: rate, Unit: "entries/s"})
	}
	// Statistics as autovacuum would have gathered them after a load.
	if err := analyze(ctx, dsn); err != nil {
		return nil, err
	}
	cases, err := b.readCases(ctx, c, n)
	if err != nil {
		return nil, err
	}
	counts, err := b.countCases(ctx, c, n)
	if err != nil {
		return nil, err
	}
	pages, err := b.consoleCases(ctx, "http://"+httpAddr)
	if err != nil {
		return nil, err
	}
	loads, err := b.browserCases(ctx, "http://"+httpAddr)
	if err != nil {
		return nil, err
	}
	cases = append(append(append(cases, counts...), pages...), loads...)
	if last {
		if err := b.replay(ctx, c); err != nil {
			return nil, err
		}
	}
	return cases, nil
}

// load writes n generated entries with LogEvents, 1,000 per call, and
// returns the rate.
func (b *bench) load(ctx context.Context, c *calls, n int) (float64, error) {
	const per = 1000
	calls := (n + per - 1) / per
	var next, done atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, b.cfg.batchClients)
	start := time.Now()
	stopProgress := make(chan struct{})
	go func() {
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-stopProgress:
				return
			case <-t.C:
				d := done.Load()
				b.logf("reads: loading %d entries: %d written, %.0f/s", n, d, float64(d)/time.Since(start).Seconds())
			}
		}
	}()
	for range b.cfg.batchClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(calls) {
					return
				}
				size := min(per, n-int(i)*per)
				req := &eventlogv1.LogEventsRequest{Requests: make([]*eventlogv1.LogEventRequest, size)}
				for j := range req.Requests {
					req.Requests[j] = &eventlogv1.LogEventRequest{Event: genEvent(int(i)*per + j)}
				}
				if _, err := c.c.LogEvents(ctx, req); err != nil {
					errs <- fmt.Errorf("load: %w", err)
					return
				}
				done.Add(int64(size))
			}
		}()
	}
	wg.Wait()
	close(stopProgress)
	select {
	case err := <-errs:
		return 0, err
	default:
	}
	rate := float64(n) / time.Since(start).Seconds()
	b.logf("reads: loaded %d entries in %v: %.0f/s", n, time.Since(start).Round(time.Second), rate)
	return rate, nil
}

// readCases measures the read figures on a log of n generated entries.
func (b *bench) readCases(ctx context.Context, c *calls, n int) ([]readCase, error) {
	// The time range covers the middle half of the log.
	times := make([]*timestamppb.Timestamp, 2)
	for i, id := range []int64{int64(n / 4), int64(3 * n / 4)} {
		resp, err := c.c.GetEvent(ctx, &eventlogv1.GetEventRequest{Id: id})
		if err != nil {
			return nil, fmt.Errorf("GetEvent %d: %w", id, err)
		}
		times[i] = resp.GetEvent().GetTime()
	}
	zero := int64(0)
	filters := []struct {
		name string
		req  *eventlogv1.ListEventsRequest
	}{
		{"event_type", &eventlogv1.ListEventsRequest{EventType: "edit"}},
		{"actor", &eventlogv1.ListEventsRequest{Actor: "USER-1"}},
		{"content_type", &eventlogv1.ListEventsRequest{ContentType: "entity"}},
		{"object_id", &eventlogv1.ListEventsRequest{ObjectId: "obj-2"}},
		{"source_id", &eventlogv1.ListEventsRequest{SourceId: &zero}},
	}
	var out []readCase
	for _, ranged := range []bool{false, true} {
		for _, f := range filters {
			req := proto.Clone(f.req).(*eventlogv1.ListEventsRequest)
			name := "ListEvents " + f.name
			if ranged {
				req.StartTime, req.EndTime = times[0], times[1]
				name += " + time range"
			}
			first, err := b.timeCalls(ctx, func(ctx context.Context, _ int) error {
				_, err := c.c.ListEvents(ctx, req)
				return err
			})
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			out = append(out, readCase{name: name + ", first page", p50: first})
			b.logf("reads: %d entries: %s, first page: p50 %v", n, name, dur(first))

			deep, note, err := b.deepPage(ctx, c, req)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			out = append(out, readCase{name: name + ", page 100", p50: deep, note: note})
			b.logf("reads: %d entries: %s, page 100: p50 %v", n, name, dur(deep))
		}
	}
	get, err := b.timeCalls(ctx, func(ctx context.Context, i int) error {
		id := int64(1 + (uint64(i)*2654435761)%uint64(n)) // spread over the log
		_, err := c.c.GetEvent(ctx, &eventlogv1.GetEventRequest{Id: id})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("GetEvent: %w", err)
	}
	out = append(out, readCase{name: "GetEvent", p50: get})
	b.logf("reads: %d entries: GetEvent: p50 %v", n, dur(get))
	return out, nil
}

func dur(s float64) time.Duration {
	return time.Duration(s * float64(time.Second)).Round(time.Microsecond)
}

// deepPage measures page 100 of req (50 entries a page): it skips the
// first 99 pages in large pages (a page token does not depend on the page
// size) and then times the 100th.
func (b *bench) deepPage(ctx context.Context, c *calls, req *eventlogv1.ListEventsRequest) (float64, string, error) {
	skip := 99 * 50
	token := ""
	for skip > 0 {
		r := proto.Clone(req).(*eventlogv1.ListEventsRequest)
		r.PageSize, r.PageToken = int32(min(skip, 1000)), token
		resp, err := c.c.ListEvents(ctx, r)
		if err != nil {
			return 0, "", err
		}
		skip -= len(resp.GetEvents())
		token = resp.GetNextPageToken()
		if token == "" {
			return 0, "", errors.New("fewer than 100 pages match")
		}
	}
	r := proto.Clone(req).(*eventlogv1.ListEventsRequest)
	r.PageToken = token
	p50, err := b.timeCalls(ctx, func(ctx context.Context, _ int) error {
		_, err := c.c.ListEvents(ctx, r)
		return err
	})
	return p50, "", err
}

// timeCalls calls do b.cfg.samples times, one at a time, and returns the
// median latency in seconds. A slow call stops the sampling after 15
// seconds (with at least 3 calls), so that a query that does not scale
// cannot stall the run.
func (b *bench) timeCalls(ctx context.Context, do func(ctx context.Context, i int) error) (float64, error) {
	var lat []time.Duration
	start := time.Now()
	for i := range b.cfg.samples {
		if i >= 3 && time.Since(start) > 15*time.Second {
			break
		}
		t0 := time.Now()
		if err := do(ctx, i); err != nil {
			return 0, err
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	return lat[(len(lat)-1)/2].Seconds(), nil
}

// replay measures StreamEvents replaying the first b.cfg.replay entries of
// the log against ListEvents paging through the same range, oldest first,
// 1,000 a page.
func (b *bench) replay(ctx context.Context, c *calls) error {
	const section = "reads"
	n := b.cfg.replay
	var streamRates, listRates []float64
	for r := range b.cfg.reps {
		start := time.Now()
		sctx, cancel := context.WithCancel(ctx)
		after := int64(0)
		stream, err := c.c.StreamEvents(sctx, &eventlogv1.StreamEventsRequest{AfterId: &after})
		if err != nil {
			cancel()
			return fmt.Errorf("StreamEvents: %w", err)
		}
		got := 0
		for got < n {
			resp, err := stream.Recv()
			if err != nil {
				cancel()
				if err == io.EOF {
					return errors.New("StreamEvents ended early")
				}
				return fmt.Errorf("StreamEvents: %w", err)
			}
			if resp.GetEvent() != nil {
				got++
			}
		}
		cancel()
		streamRates = append(streamRates, float64(n)/time.Since(start).Seconds())

		start = time.Now()
		got = 0
		token := ""
		for got < n {
			resp, err := c.c.ListEvents(ctx, &eventlogv1.ListEventsRequest{OrderBy: "id asc", PageSize: int32(min(1000, n-got)), PageToken: token})
			if err != nil {
				return fmt.Errorf("ListEvents: %w", err)
			}
			got += len(resp.GetEvents())
			token = resp.GetNextPageToken()
			if token == "" {
				break
			}
		}
		listRates = append(listRates, float64(got)/time.Since(start).Seconds())
		b.logf("%s: replay of %d entries, repetition %d/%d: StreamEvents %.0f/s, ListEvents pages %.0f/s",
			section, n, r+1, b.cfg.reps, streamRates[r], listRates[r])
	}
	b.add(figure{Section: section, Name: fmt.Sprintf("StreamEvents replay of %d entries", n), Value: median(streamRates), Unit: "entries/s",
		Baseline: "ListEvents pages of 1000, same range", BaseVal: median(listRates)})
	return nil
}
