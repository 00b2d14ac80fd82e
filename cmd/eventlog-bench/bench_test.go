package main

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

func TestParseConfig(t *testing.T) {
	env := func(k string) string {
		if k == "EVENTLOG_TEST_POSTGRES" {
			return "postgres://x@127.0.0.1:1/db"
		}
		return ""
	}
	tests := []struct {
		name    string
		args    []string
		getenv  func(string) string
		check   func(c config) bool
		wantErr bool
	}{
		{"full defaults", nil, env, func(c config) bool {
			return c.large == 10_000_000 && c.small == 100_000 && c.replay == 1_000_000 && c.reps == 3 && c.duration == 5*time.Second
		}, false},
		{"quick", []string{"--quick"}, env, func(c config) bool {
			return c.large == 200_000 && c.small == 50_000 && c.replay == 100_000 && c.reps == 1
		}, false},
		{"entries scale the replay", []string{"--entries", "500000"}, env, func(c config) bool {
			return c.large == 500_000 && c.replay == 500_000
		}, false},
		{"sqlite needs no postgres", []string{"--only", "sqlite"}, func(string) string { return "" }, func(c config) bool {
			return c.sections["sqlite"] && !c.sections["postgres"]
		}, false},
		{"postgres needed", nil, func(string) string { return "" }, nil, true},
		{"unknown section", []string{"--only", "writes"}, env, nil, true},
		{"small too small", []string{"--small", "1000"}, env, nil, true},
		{"large below small", []string{"--entries", "60000", "--small", "70000"}, env, nil, true},
		{"argument", []string{"extra"}, env, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseConfig(tt.args, tt.getenv, io.Discard)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseConfig(%q) error = %v, want error %v", tt.args, err, tt.wantErr)
			}
			if err == nil && !tt.check(c) {
				t.Errorf("parseConfig(%q) = %+v", tt.args, c)
			}
		})
	}
}

func TestClosedLoop(t *testing.T) {
	do := func(ctx context.Context, w int) (int, error) {
		time.Sleep(time.Millisecond)
		return 10, nil
	}
	s, err := closedLoop(context.Background(), 4, 20*time.Millisecond, 100*time.Millisecond, do, nil)
	if err != nil {
		t.Fatalf("closedLoop error = %v", err)
	}
	if s.calls == 0 || s.entries != 10*s.calls || int64(len(s.lat)) != s.calls {
		t.Errorf("closedLoop = %d calls, %d entries, %d latencies; want entries = 10 × calls = 10 × latencies", s.calls, s.entries, len(s.lat))
	}
	if s.pct(0.5) < time.Millisecond || s.pct(0.5) > s.pct(0.99) {
		t.Errorf("p50 %v, p99 %v: want p50 ≥ 1ms (each call sleeps) and ≤ p99", s.pct(0.5), s.pct(0.99))
	}

	boom := errors.New("boom")
	_, err = closedLoop(context.Background(), 2, 0, time.Second, func(ctx context.Context, w int) (int, error) { return 0, boom }, nil)
	if !errors.Is(err, boom) {
		t.Errorf("closedLoop with a failing call: error = %v, want %v", err, boom)
	}
}

func TestMedian(t *testing.T) {
	for _, tt := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2}} {
		if got := median(tt.in); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestFigureRatioAndTarget(t *testing.T) {
	b := &bench{}
	b.add(figure{Name: "rate", Value: 60, BaseVal: 100, Target: 0.6})
	b.add(figure{Name: "latency", Value: 3, BaseVal: 1, Target: 2, AtMost: true})
	b.add(figure{Name: "rss", Value: 300, Unit: "MiB", Target: 256, AtMost: true})
	b.add(figure{Name: "info", Value: 1})
	want := []struct {
		ratio float64
		pass  *bool
	}{{0.6, ptr(true)}, {3, ptr(false)}, {0, ptr(false)}, {0, nil}}
	for i, f := range b.figures {
		if f.Ratio != want[i].ratio || (f.Pass == nil) != (want[i].pass == nil) || (f.Pass != nil && *f.Pass != *want[i].pass) {
			t.Errorf("figure %s: ratio %v pass %v, want %v %v", f.Name, f.Ratio, f.Pass, want[i].ratio, want[i].pass)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestRealisticTraffic(t *testing.T) {
	objects, actors := map[string]int{}, map[string]bool{}
	const n = 20_000
	for i := range n {
		e := genRealEvent(i)
		if !proto.Equal(e, genRealEvent(i)) {
			t.Fatalf("genRealEvent(%d) differs between calls", i)
		}
		objects[e.GetObjectId()]++
		actors[e.GetActor().GetId()] = true
		js, err := protojson.Marshal(e.GetDetails())
		if err != nil {
			t.Fatal(err)
		}
		// protojson adds a space after colons at random; the stored JSON
		// is compact.
		if size := len(js); size < realMinDetails-10 || size > realMaxDetails+20 {
			t.Fatalf("entry %d: details of %d bytes, want %d-%d", i, size, realMinDetails, realMaxDetails)
		}
		row := realRow(1, i, sqliteTime)
		if row[8] != e.GetObjectId() || row[4] != e.GetActor().GetId() {
			t.Fatalf("realRow(%d) = object %v actor %v, genRealEvent: %s %s", i, row[8], row[4], e.GetObjectId(), e.GetActor().GetId())
		}
	}
	top := 0
	for _, c := range objects {
		top = max(top, c)
	}
	// Skewed: many distinct objects, the busiest far above the mean.
	if len(objects) < 2_000 || top < 20*n/len(objects) {
		t.Errorf("%d entries: %d objects, the busiest has %d entries", n, len(objects), top)
	}
	if len(actors) < 200 || len(actors) > realActors {
		t.Errorf("%d entries: %d actors", n, len(actors))
	}
}
