package eventlog_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/eventlog/eventlog"
	"github.com/google/go-cmp/cmp"
)

// memChain is a log in memory, for the walk alone; the conformance suite
// of the store checks it against real databases.
type memChain struct {
	entries []eventlog.Event // in id order
	head    eventlog.Head
	corrupt map[int64]string // ids whose rows cannot be read
	headErr error
}

func newMemChain(n int) *memChain {
	m := &memChain{corrupt: map[int64]string{}}
	prev := eventlog.GenesisHash
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := 1; i <= n; i++ {
		e := eventlog.Event{
			ID: int64(i), Time: t0.Add(time.Duration(i) * time.Second), Type: eventlog.TypeEdit,
			Actor: eventlog.Actor{Name: "alice"}, ContentType: "Entry", ObjectID: fmt.Sprint(i),
		}
		eventlog.Seal(prev, &e)
		prev = e.Hash
		m.entries = append(m.entries, e)
	}
	m.head = eventlog.Head{LastID: int64(n), LastHash: prev, MaxID: int64(n)}
	return m
}

func (m *memChain) ChainHead(ctx context.Context) (eventlog.Head, error) {
	if m.headErr != nil {
		return eventlog.Head{}, m.headErr
	}
	h := m.head
	h.MaxID = 0
	for _, e := range m.entries {
		h.MaxID = max(h.MaxID, e.ID)
	}
	return h, nil
}

func (m *memChain) ReadChain(ctx context.Context, after, upTo int64, limit int) ([]eventlog.Event, error) {
	var out []eventlog.Event
	for _, e := range m.entries {
		if e.ID <= after || e.ID > upTo {
			continue
		}
		if p, ok := m.corrupt[e.ID]; ok {
			return out, &eventlog.CorruptError{ID: e.ID, Problem: p}
		}
		if len(out) == limit {
			break
		}
		out = append(out, e)
	}
	return out, nil
}

func (m *memChain) at(id int64) *eventlog.Event {
	for i := range m.entries {
		if m.entries[i].ID == id {
			return &m.entries[i]
		}
	}
	panic(fmt.Sprintf("no entry %d", id))
}

func (m *memChain) remove(ids ...int64) {
	var keep []eventlog.Event
	for _, e := range m.entries {
		drop := false
		for _, id := range ids {
			drop = drop || e.ID == id
		}
		if !drop {
			keep = append(keep, e)
		}
	}
	m.entries = keep
}

func TestVerifyChainBreaks(t *testing.T) {
	tests := []struct {
		name    string
		opts    eventlog.VerifyOptions
		tamper  func(m *memChain)
		wantID  int64
		want    eventlog.BreakKind
		problem string // a part of the message
	}{
		{name: "intact", tamper: func(*memChain) {}},
		{name: "intact range", opts: eventlog.VerifyOptions{Start: 5, End: 9}, tamper: func(*memChain) {}},
		{name: "changed field", tamper: func(m *memChain) { m.at(7).Actor.Name = "mallory" },
			wantID: 7, want: eventlog.BreakChanged, problem: "a field or the hash was changed"},
		{name: "changed hash", tamper: func(m *memChain) { m.at(7).Hash[0] ^= 1 },
			wantID: 7, want: eventlog.BreakChanged},
		{name: "unreadable row", tamper: func(m *memChain) { m.corrupt[4] = `event type "BOGUS" is not a known type` },
			wantID: 4, want: eventlog.BreakChanged, problem: "BOGUS"},
		{name: "deleted middle", tamper: func(m *memChain) { m.remove(5) },
			wantID: 5, want: eventlog.BreakMissing, problem: "entry 5 is missing: entry 6 follows entry 4"},
		{name: "deleted several", tamper: func(m *memChain) { m.remove(5, 6, 7) },
			wantID: 5, want: eventlog.BreakMissing, problem: "entries 5 to 7 are missing"},
		{name: "deleted first", tamper: func(m *memChain) { m.remove(1) },
			wantID: 1, want: eventlog.BreakMissing},
		{name: "deleted tail", tamper: func(m *memChain) { m.remove(11, 12) },
			wantID: 11, want: eventlog.BreakTruncated, problem: "the head records last id 12, but the last entry is 10"},
		{name: "deleted everything", tamper: func(m *memChain) { m.entries = nil },
			wantID: 1, want: eventlog.BreakTruncated},
		{name: "swapped", tamper: func(m *memChain) {
			a, b := m.at(3), m.at(4)
			*a, *b = *b, *a
			a.ID, b.ID = 3, 4 // the rows keep their places, the contents move
		}, wantID: 3, want: eventlog.BreakReordered, problem: "holds the entry written as id 4"},
		{name: "forged with recomputed hash", tamper: func(m *memChain) {
			e := m.at(6)
			e.Actor.Name = "mallory"
			eventlog.Seal(e.PrevHash, e)
		}, wantID: 7, want: eventlog.BreakLink, problem: "is not the hash of entry 6"},
		{name: "forged link", tamper: func(m *memChain) {
			e := m.at(6)
			eventlog.Seal(make([]byte, 32), e)
		}, wantID: 6, want: eventlog.BreakLink},
		{name: "forged first link", tamper: func(m *memChain) {
			e := m.at(1)
			eventlog.Seal([]byte("not the genesis hash, 32 bytes!!"), e)
		}, wantID: 1, want: eventlog.BreakLink, problem: "genesis"},
		{name: "last entry rehashed", tamper: func(m *memChain) {
			e := m.at(12)
			e.ObjectRepr = "rewritten"
			eventlog.Seal(e.PrevHash, e)
		}, wantID: 12, want: eventlog.BreakHead},
		{name: "head changed", tamper: func(m *memChain) { m.head.LastHash = make([]byte, 32) },
			wantID: 12, want: eventlog.BreakHead},
		{name: "head missing", tamper: func(m *memChain) {
			m.headErr = &eventlog.CorruptError{Problem: "the head row is missing"}
		}, wantID: 0, want: eventlog.BreakHead, problem: "missing"},
		{name: "entry after the head", tamper: func(m *memChain) {
			e := eventlog.Event{ID: 13, Type: eventlog.TypeEdit, ContentType: "X", ObjectID: "1"}
			eventlog.Seal(m.head.LastHash, &e)
			m.entries = append(m.entries, e)
		}, wantID: 13, want: eventlog.BreakAfterHead},
		{name: "break outside the range", opts: eventlog.VerifyOptions{Start: 2, End: 5},
			tamper: func(m *memChain) { m.at(8).Actor.Name = "x" }},
		{name: "break at the range's anchor", opts: eventlog.VerifyOptions{Start: 6, End: 9},
			tamper: func(m *memChain) { m.remove(5) },
			wantID: 5, want: eventlog.BreakMissing, problem: "the one before the range"},
		{name: "link into the range", opts: eventlog.VerifyOptions{Start: 6, End: 9},
			tamper: func(m *memChain) { eventlog.Seal(make([]byte, 32), m.at(6)) },
			wantID: 6, want: eventlog.BreakLink},
		{name: "missing inside a range", opts: eventlog.VerifyOptions{Start: 2, End: 6},
			tamper: func(m *memChain) { m.remove(6) },
			wantID: 6, want: eventlog.BreakMissing},
	}
	for _, tt := range tests {
		for _, pageSize := range []int{1, 3, 1000} {
			t.Run(fmt.Sprintf("%s/page%d", tt.name, pageSize), func(t *testing.T) {
				m := newMemChain(12)
				tt.tamper(m)
				opts := tt.opts
				opts.PageSize = pageSize
				res, err := eventlog.VerifyChain(context.Background(), m, opts)
				if err != nil {
					t.Fatalf("VerifyChain error = %v", err)
				}
				if tt.want == 0 {
					if res.Break != nil {
						t.Fatalf("VerifyChain found %v, want an intact chain", res.Break)
					}
					return
				}
				if res.Break == nil {
					t.Fatalf("VerifyChain found no break, want %v at %d", tt.want, tt.wantID)
				}
				if res.Break.ID != tt.wantID || res.Break.Kind != tt.want || !strings.Contains(res.Break.Problem, tt.problem) {
					t.Errorf("VerifyChain break = %v, want %v at %d mentioning %q", res.Break, tt.want, tt.wantID, tt.problem)
				}
			})
		}
	}
}

func TestVerifyChainResult(t *testing.T) {
	m := newMemChain(10)
	var progress []int64
	res, err := eventlog.VerifyChain(context.Background(), m, eventlog.VerifyOptions{
		PageSize: 4, Progress: func(checked, last int64) { progress = append(progress, checked, last) },
	})
	if err != nil {
		t.Fatal(err)
	}
	want := eventlog.VerifyResult{
		Start: 1, End: 10, Checked: 10, EndHash: m.at(10).Hash, Head: m.head, HeadChecked: true,
	}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("VerifyChain (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int64{4, 4, 8, 8, 10, 10}, progress); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}

	// A range in the middle does not check the head.
	res, err = eventlog.VerifyChain(context.Background(), m, eventlog.VerifyOptions{Start: 3, End: 5})
	if err != nil || res.Start != 3 || res.End != 5 || res.Checked != 3 || res.HeadChecked || string(res.EndHash) != string(m.at(5).Hash) {
		t.Errorf("VerifyChain(3..5) = %+v, %v; want 3 entries, 3 to 5, head not checked", res, err)
	}
	// A range past the head is cut at the head and checks it.
	res, err = eventlog.VerifyChain(context.Background(), m, eventlog.VerifyOptions{Start: 9, End: 50})
	if err != nil || res.Checked != 2 || !res.HeadChecked {
		t.Errorf("VerifyChain(9..50) = %+v, %v; want 2 entries and the head checked", res, err)
	}
	// Just after the end: nothing to check but the head.
	res, err = eventlog.VerifyChain(context.Background(), m, eventlog.VerifyOptions{Start: 11})
	if err != nil || res.Checked != 0 || !res.HeadChecked || res.Break != nil {
		t.Errorf("VerifyChain(11..) = %+v, %v; want nothing checked but the head", res, err)
	}
	// An empty log is intact.
	res, err = eventlog.VerifyChain(context.Background(), newMemChain(0), eventlog.VerifyOptions{})
	if err != nil || res.Break != nil || !res.HeadChecked || res.End != 0 {
		t.Errorf("VerifyChain(empty log) = %+v, %v; want intact", res, err)
	}
}

func TestVerifyChainMaxEntries(t *testing.T) {
	m := newMemChain(10)
	var checked int64
	start := int64(1)
	for calls := 1; ; calls++ {
		if calls > 10 {
			t.Fatal("more than 10 calls of 3 entries for 10 entries")
		}
		res, err := eventlog.VerifyChain(context.Background(), m, eventlog.VerifyOptions{Start: start, MaxEntries: 3, PageSize: 2})
		if err != nil || res.Break != nil {
			t.Fatalf("VerifyChain(%d.., max 3) = %+v, %v", start, res, err)
		}
		checked += res.Checked
		if res.Next == 0 {
			if !res.HeadChecked || checked != 10 || calls != 4 {
				t.Errorf("last call: head checked %v, %d entries in %d calls; want the head, 10 entries, 4 calls", res.HeadChecked, checked, calls)
			}
			return
		}
		if res.Checked != 3 || res.Next != res.End+1 {
			t.Fatalf("VerifyChain(%d.., max 3) = %+v; want 3 entries and Next after End", start, res)
		}
		start = res.Next
	}
}

func TestVerifyChainErrors(t *testing.T) {
	m := newMemChain(5)
	for _, tt := range []struct {
		opts  eventlog.VerifyOptions
		field string
	}{
		{eventlog.VerifyOptions{Start: 7}, "start_id"},
		{eventlog.VerifyOptions{End: -1}, "end_id"},
		{eventlog.VerifyOptions{Start: 4, End: 3}, "end_id"},
	} {
		_, err := eventlog.VerifyChain(context.Background(), m, tt.opts)
		var inv *eventlog.InvalidError
		if !errors.As(err, &inv) || inv.Field != tt.field {
			t.Errorf("VerifyChain(%+v) error = %v, want an InvalidError on %s", tt.opts, err, tt.field)
		}
	}
	// A cancelled check is an error, never a truncated log.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for range 20 {
		res, err := eventlog.VerifyChain(ctx, m, eventlog.VerifyOptions{PageSize: 1})
		if !errors.Is(err, context.Canceled) || res.Break != nil {
			t.Fatalf("VerifyChain(cancelled) = %v, %v; want context.Canceled", res.Break, err)
		}
	}
	m.headErr = errors.New("connection refused")
	if _, err := eventlog.VerifyChain(context.Background(), m, eventlog.VerifyOptions{}); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("VerifyChain with a failing store error = %v, want the store's error", err)
	}
}

func BenchmarkVerifyChainInMemory(b *testing.B) {
	m := newMemChain(10000)
	for i := range m.entries {
		m.entries[i].Details = []byte(`{"field":"title","new":"` + strings.Repeat("x", 100) + `"}`)
		m.entries[i].ObjectRepr = "an entry of typical size"
		m.entries[i].Request = eventlog.Request{RemoteAddr: "203.0.113.7", Method: "POST", Path: "/api/entries/42", Protocol: "HTTP/1.1", Status: 200}
	}
	prev := eventlog.GenesisHash
	for i := range m.entries {
		eventlog.Seal(prev, &m.entries[i])
		prev = m.entries[i].Hash
	}
	m.head.LastHash = prev
	b.ResetTimer()
	for range b.N {
		res, err := eventlog.VerifyChain(context.Background(), m, eventlog.VerifyOptions{})
		if err != nil || res.Break != nil {
			b.Fatal(res.Break, err)
		}
	}
	b.ReportMetric(float64(len(m.entries))*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// A break quotes hashes in the form the API and "eventlog get" show them:
// base64.
func TestVerifyBreakQuotesHashesInBase64(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString
	tests := []struct {
		name   string
		tamper func(m *memChain) []string // returns the hashes the message quotes
	}{
		{"changed hash", func(m *memChain) []string {
			e := m.at(7)
			want := e.Hash
			e.Hash = append([]byte(nil), e.Hash...)
			e.Hash[0] ^= 1
			return []string{b64(e.Hash), b64(want)}
		}},
		{"forged link", func(m *memChain) []string {
			e := m.at(6)
			eventlog.Seal(make([]byte, 32), e)
			return []string{b64(e.PrevHash), b64(m.at(5).Hash)}
		}},
		{"head changed", func(m *memChain) []string {
			m.head.LastHash = make([]byte, 32)
			return []string{b64(m.head.LastHash), b64(m.at(12).Hash)}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMemChain(12)
			quoted := tt.tamper(m)
			res, err := eventlog.VerifyChain(context.Background(), m, eventlog.VerifyOptions{})
			if err != nil || res.Break == nil {
				t.Fatalf("VerifyChain = %+v, %v; want a break", res, err)
			}
			for _, h := range quoted {
				if !strings.Contains(res.Break.Problem, h) {
					t.Errorf("break %q does not quote %s", res.Break.Problem, h)
				}
			}
			if got := eventlog.HashString(m.at(3).Hash); got != b64(m.at(3).Hash) {
				t.Errorf("HashString = %s, want base64 %s", got, b64(m.at(3).Hash))
			}
		})
	}
}
