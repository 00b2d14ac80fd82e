package main

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape gets url with token (none when empty) and returns the status and,
// for a 200, the metrics.
func scrape(t *testing.T, url, token string) (int, map[string]*dto.MetricFamily) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return resp.StatusCode, nil
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: the body does not parse as Prometheus text: %v", url, err)
	}
	return resp.StatusCode, mfs
}

// metricValue returns the value of the sample of family name whose labels
// include labels ("name=value" pairs), and whether there is one. A
// histogram's value is its count.
func metricValue(mfs map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	mf := mfs[name]
	if mf == nil {
		return 0, false
	}
next:
	for _, m := range mf.GetMetric() {
		have := map[string]string{}
		for _, lp := range m.GetLabel() {
			have[lp.GetName()] = lp.GetValue()
		}
		for _, l := range labels {
			k, v, _ := strings.Cut(l, "=")
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

func TestMetricsEndpoint(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	tokens := writeKeys(t, keys, "reader=read", "writer=write", "scraper=metrics", "admin=admin")
	ts := startServer(t, filepath.Join(dir, "metrics.db"), "--keys", keys)
	c := eventlogv1.NewEventLogServiceClient(ts.conn(t))
	ctx := withToken(context.Background(), tokens["writer"])

	// Two entries written, one retried with its key, one refused.
	in := newEvent(eventlogv1.EventType_EVENT_TYPE_CREATE, "alice", "Entry", "1")
	for range 2 {
		if _, err := c.LogEvent(ctx, &eventlogv1.LogEventRequest{Event: in, IdempotencyKey: "m-1"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.LogEvent(ctx, &eventlogv1.LogEventRequest{Event: newEvent(eventlogv1.EventType_EVENT_TYPE_EDIT, "bob", "Entry", "2")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.LogEvent(ctx, &eventlogv1.LogEventRequest{Event: newEvent(0, "bob", "Entry", "2")}); err == nil {
		t.Fatal("LogEvent without an event type succeeded")
	}
	// One over REST.
	req, _ := http.NewRequest("POST", ts.http+"/v1/events", bytes.NewReader([]byte(
		`{"event":{"eventType":"EVENT_TYPE_EDIT","actor":{"name":"carol"},"contentType":"Entry","objectId":"3"}}`)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tokens["writer"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST /v1/events = %d", resp.StatusCode)
	}
	// One stream open.
	sctx, stopStream := context.WithCancel(withToken(context.Background(), tokens["reader"]))
	defer stopStream()
	st, err := c.StreamEvents(sctx, &eventlogv1.StreamEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(); err != nil { // the first heartbeat: the stream is served
		t.Fatal(err)
	}

	url := ts.http + "/metrics"
	for _, tt := range []struct {
		who  string
		want int
	}{{"", 401}, {"reader", 403}, {"writer", 403}, {"admin", 200}, {"scraper", 200}} {
		if code, _ := scrape(t, url, tokens[tt.who]); code != tt.want {
			t.Errorf("GET /metrics as %q = %d, want %d", tt.who, code, tt.want)
		}
	}
	post, err := http.Post(url, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	post.Body.Close()
	if post.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /metrics = %d, want 405", post.StatusCode)
	}
	_, mfs := scrape(t, url, tokens["scraper"])
	for _, tt := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"eventlog_write_entries_total", []string{"outcome=written"}, 3},
		{"eventlog_write_entries_total", []string{"outcome=replayed"}, 1},
		{"eventlog_write_entries_total", []string{"outcome=invalid"}, 1},
		{"eventlog_write_entries_total", []string{"outcome=fanout_refused"}, 0},
		{"eventlog_children_written_total", nil, 0},
		{"eventlog_chain_head_id", nil, 3},
		{"eventlog_streams_open", nil, 1},
		{"eventlog_stream_max_lag_entries", nil, 0},
		{"eventlog_build_info", nil, 1},
		{"eventlog_store_up", nil, 1},
		{"eventlog_group_commit_entries", nil, 4}, // histogram: its count
		{"eventlog_store_append_duration_seconds", []string{"result=ok"}, 4},
		{"grpc_server_handled_total", []string{"grpc_method=LogEvent", "grpc_code=OK"}, 4}, // REST too
		{"grpc_server_handled_total", []string{"grpc_method=LogEvent", "grpc_code=InvalidArgument"}, 1},
		{"grpc_server_handling_seconds", []string{"grpc_method=LogEvent"}, 5}, // every call, refused ones too
		{"eventlog_http_requests_total", []string{"handler=api", "method=post", "code=200"}, 1},
		{"eventlog_http_requests_total", []string{"handler=metrics", "method=get", "code=401"}, 1},
	} {
		got, ok := metricValue(mfs, tt.name, tt.labels...)
		if !ok || got != tt.want {
			t.Errorf("%s%v = %v (present %v), want %v", tt.name, tt.labels, got, ok, tt.want)
		}
	}
	for _, name := range []string{"go_sql_open_connections", "go_goroutines", "process_resident_memory_bytes"} {
		if mfs[name] == nil {
			t.Errorf("no metric %s", name)
		}
	}
	if _, ok := metricValue(mfs, "go_sql_max_open_connections", "db_name=eventlog_write"); !ok {
		t.Error("no pool statistics of the SQLite write pool (go_sql_max_open_connections{db_name=\"eventlog_write\"})")
	}

	stopStream()
	waitFor(t, "the stream to close", func() bool {
		_, mfs := scrape(t, url, tokens["scraper"])
		v, ok := metricValue(mfs, "eventlog_streams_open")
		return ok && v == 0
	})
}

var metricsAddrRE = regexp.MustCompile(`msg="serving metrics" addr=(\S+)`)

func TestMetricsAddr(t *testing.T) {
	t.Run("OwnAddress", func(t *testing.T) {
		ts := startServer(t, filepath.Join(t.TempDir(), "m.db"), "--metrics-addr", "127.0.0.1:0")
		m := metricsAddrRE.FindStringSubmatch(ts.logs.String())
		if m == nil {
			t.Fatalf("the server did not log its metrics address:\n%s", ts.logs)
		}
		if code, mfs := scrape(t, "http://"+m[1]+"/metrics", ""); code != 200 || mfs["eventlog_chain_head_id"] == nil {
			t.Errorf("GET /metrics on --metrics-addr = %d, want 200 with eventlog_chain_head_id", code)
		}
		if code, _ := scrape(t, ts.http+"/metrics", ""); code != 404 {
			t.Errorf("GET /metrics on --http-addr with --metrics-addr = %d, want 404", code)
		}
	})
	t.Run("Off", func(t *testing.T) {
		ts := startServer(t, filepath.Join(t.TempDir(), "m.db"), "--metrics-addr", "off")
		if code, _ := scrape(t, ts.http+"/metrics", ""); code != 404 {
			t.Errorf("GET /metrics with --metrics-addr off = %d, want 404", code)
		}
	})
	t.Run("NotLoopbackWithoutKeys", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var logs bytes.Buffer
		err := run(ctx, []string{"serve", "--db", filepath.Join(t.TempDir(), "m.db"), "--grpc-addr", "127.0.0.1:0",
			"--http-addr", "127.0.0.1:0", "--metrics-addr", "0.0.0.0:0"}, func(string) string { return "" }, strings.NewReader(""), &logs, &logs)
		if err == nil || !strings.Contains(err.Error(), "--metrics-addr") {
			t.Errorf("serve --metrics-addr 0.0.0.0:0 without keys = %v, want an error naming --metrics-addr", err)
		}
	})
}
