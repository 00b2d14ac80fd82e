package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// op is one call of a load: it returns how many entries (or rows) it
// wrote, 1 for a call that writes nothing. worker is the caller's index.
type op func(ctx context.Context, worker int) (int, error)

// sample is what one closed-loop run measured.
type sample struct {
	calls   int64
	entries int64
	elapsed time.Duration
	lat     []time.Duration // of every measured call, sorted
	cpu     cpuTimes        // used during the measured window, when measured
}

func (s sample) rate() float64 { return float64(s.entries) / s.elapsed.Seconds() }

func (s sample) pct(p float64) time.Duration {
	if len(s.lat) == 0 {
		return 0
	}
	return s.lat[min(len(s.lat)-1, int(float64(len(s.lat))*p))]
}

// closedLoop runs clients workers, each calling do in a loop, for warmup
// and then duration; it measures the calls that start and end within the
// measured window.
// When cpu is set, it is read at the window's start and end, and the
// sample holds the difference.
func closedLoop(ctx context.Context, clients int, warmup, duration time.Duration, do op, cpu func() cpuTimes) (sample, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	from, until := start.Add(warmup), start.Add(warmup+duration)
	var used cpuTimes
	cpuDone := make(chan struct{})
	if cpu != nil {
		go func() {
			defer close(cpuDone)
			for _, at := range []time.Time{from, until} {
				select {
				case <-time.After(time.Until(at)):
				case <-ctx.Done():
					return
				}
				if at == from {
					used = cpu()
				} else {
					used = cpu().sub(used)
				}
			}
		}()
	} else {
		close(cpuDone)
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		calls    atomic.Int64
		entries  atomic.Int64
		lats     = make([][]time.Duration, clients)
	)
	for w := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			for ctx.Err() == nil {
				t0 := time.Now()
				if !t0.Before(until) {
					break
				}
				n, err := do(ctx, w)
				t1 := time.Now()
				if err != nil {
					if ctx.Err() == nil {
						mu.Lock()
						if firstErr == nil {
							firstErr = err
						}
						mu.Unlock()
						cancel()
					}
					break
				}
				if !t0.Before(from) && !t1.After(until) {
					calls.Add(1)
					entries.Add(int64(n))
					lat = append(lat, t1.Sub(t0))
				}
			}
			lats[w] = lat
		}()
	}
	wg.Wait()
	<-cpuDone
	if firstErr != nil {
		return sample{}, firstErr
	}
	if err := ctx.Err(); err != nil && time.Now().Before(until) {
		return sample{}, err
	}
	s := sample{calls: calls.Load(), entries: entries.Load(), elapsed: duration, cpu: used}
	for _, l := range lats {
		s.lat = append(s.lat, l...)
	}
	slices.Sort(s.lat)
	if s.calls == 0 {
		return s, fmt.Errorf("no call completed within %v", duration)
	}
	return s, nil
}

// median returns the median of xs (the lower middle for an even count).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}

func medianDur(xs []time.Duration) time.Duration {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}

// pacedLoop calls do at rate calls a second, spread over workers, for
// warmup and then duration, and returns the latencies of the calls made in
// the measured window, sorted. Unlike closedLoop, callers do not wait for
// each other: it measures what one call costs at a load below capacity.
func pacedLoop(ctx context.Context, workers int, rate float64, warmup, duration time.Duration, do op) ([]time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	from, until := start.Add(warmup), start.Add(warmup+duration)
	ticks := make(chan time.Time, workers)
	go func() {
		defer close(ticks)
		interval := time.Duration(float64(time.Second) / rate)
		for next := start; next.Before(until); next = next.Add(interval) {
			if d := time.Until(next); d > 0 {
				time.Sleep(d)
			}
			select {
			case ticks <- next:
			case <-ctx.Done():
				return
			}
		}
	}()
	var (
		mu       sync.Mutex
		lats     []time.Duration
		firstErr error
		wg       sync.WaitGroup
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range ticks {
				t0 := time.Now()
				_, err := do(ctx, w)
				t1 := time.Now()
				mu.Lock()
				if err != nil && firstErr == nil && ctx.Err() == nil {
					firstErr = err
					cancel()
				}
				if err == nil && !t0.Before(from) {
					lats = append(lats, t1.Sub(t0))
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	slices.Sort(lats)
	return lats, firstErr
}
