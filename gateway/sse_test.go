package gateway_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/eventlog/eventlog/gateway"
)

// With Accept: text/event-stream the stream is Server-Sent Events: entries
// with their id, heartbeats as an id and a comment, Last-Event-ID standing
// for after_id, and an error as an "error" event.
func TestStreamEventStream(t *testing.T) {
	stub := &stubService{}
	gw := newGateway(t, stub.register, gateway.Config{})
	for _, tt := range []struct {
		name       string
		query      string
		header     []string
		wantStatus int
		wantCT     string
		want       []string // substrings, in order
	}{
		{"entries and heartbeats", "after_id=5", nil, 200, "text/event-stream",
			[]string{"id: 5\nretry: 2000\n: heartbeat\n\n", "id: 6\ndata: {", `"id":"6"`, "}\n\n"}},
		{"Last-Event-ID resumes after it", "after_id=5", []string{"Last-Event-ID", "41"}, 200, "text/event-stream",
			[]string{"id: 41\n", "id: 42\ndata: "}},
		{"among other types", "afterId=1", []string{"Accept", "text/html, text/event-stream;q=0.9"}, 200, "text/event-stream",
			[]string{"id: 1\n", "id: 2\ndata: "}},
		{"error after the start", "after_id=5&actor=fail-later", nil, 200, "text/event-stream",
			[]string{"id: 6\ndata: ", "event: error\ndata: {", `"code":14`, "stub is shutting down"}},
		{"error before the start", "actor=fail", nil, 400, "text/event-stream",
			[]string{"event: error\ndata: {", `"code":3`}},
		{"bad Last-Event-ID", "", []string{"Last-Event-ID", "x"}, 400, "application/json",
			[]string{`"code":3`, "Last-Event-ID"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			header := append([]string{"Accept", "text/event-stream"}, tt.header...)
			resp := do(gw, "GET", "/v1/events:stream?"+tt.query, "", header...)
			body := strings.ReplaceAll(resp.body, `": `, `":`)
			if resp.status != tt.wantStatus || resp.header.Get("Content-Type") != tt.wantCT {
				t.Fatalf("status %d, Content-Type %q, body %q; want %d, %q", resp.status, resp.header.Get("Content-Type"), resp.body, tt.wantStatus, tt.wantCT)
			}
			rest := body
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("body %q lacks %q (in order)", body, w)
				}
				rest = rest[i+len(w):]
			}
		})
	}
	// Without the Accept header, the stream stays newline-delimited JSON.
	if resp := do(gw, "GET", "/v1/events:stream?after_id=5", "", "Last-Event-ID", "41"); strings.Contains(resp.body, "id: ") || !strings.Contains(resp.body, `"lastId"`) {
		t.Errorf("stream without Accept: text/event-stream = %q, want JSON lines", resp.body)
	}
}

// GET /v1/events:count counts through the real service, and refuses a
// range of too many buckets.
func TestCount(t *testing.T) {
	st := &memStore{}
	gw := newGateway(t, realService(t, st), gateway.Config{Store: st})
	for range 3 {
		if resp := do(gw, "POST", "/v1/events", `{"event":{"eventType":"EVENT_TYPE_EDIT","actor":{"name":"a"},"contentType":"Note","objectId":"1"}}`); resp.status != 200 {
			t.Fatalf("log: %d %s", resp.status, resp.body)
		}
	}
	resp := do(gw, "GET", "/v1/events:count?start_time=2026-01-02T00:00:00Z&end_time=2026-01-02T23:59:59Z&bucket_width=BUCKET_WIDTH_HOUR", "")
	var got struct {
		Counts []struct {
			StartTime time.Time
			Count     string
		}
		Total      string
		RangeStart time.Time
		RangeEnd   time.Time
	}
	if err := json.Unmarshal([]byte(resp.body), &got); err != nil || resp.status != 200 {
		t.Fatalf("count: %d %s (%v)", resp.status, resp.body, err)
	}
	if len(got.Counts) != 1 || got.Counts[0].Count != "3" || got.Total != "3" ||
		!got.Counts[0].StartTime.Equal(time.Date(2026, 1, 2, 15, 0, 0, 0, time.UTC)) ||
		!got.RangeStart.Equal(time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)) || !got.RangeEnd.Equal(time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("count = %s, want 3 entries at 15:00 in a range of the whole day", resp.body)
	}
	for query, field := range map[string]string{
		"start_time=2026-01-01T00:00:00Z&end_time=2026-02-01T00:00:00Z&bucket_width=BUCKET_WIDTH_MINUTE": "bucket_width",
		"start_time=2026-01-01T00:00:00Z": "bucket_width",
		"bucket_width=BUCKET_WIDTH_DAY":   "start_time",
		"start_time=2026-01-01T00:00:00Z&bucket_width=BUCKET_WIDTH_DAY&group_by=COUNT_GROUP_BY_ACTOR&event_type=nope": "event_type",
	} {
		resp := do(gw, "GET", "/v1/events:count?"+query, "")
		st := resp.errorBody(t)
		if resp.status != http.StatusBadRequest || len(st.Details) == 0 || len(st.Details[0].FieldViolations) == 0 || st.Details[0].FieldViolations[0].Field != field {
			t.Errorf("count?%s = %d %s, want 400 naming %s", query, resp.status, resp.body, field)
		}
	}
}
