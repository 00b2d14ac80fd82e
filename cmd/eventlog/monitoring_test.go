package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
	dto "github.com/prometheus/client_model/go"
	"go.yaml.in/yaml/v3"
)

// promqlWords are the PromQL functions, aggregations and keywords that the
// dashboard and the alerts use; any other word outside label matchers,
// grouping and ranges is a metric name.
var promqlWords = []string{
	"sum", "min", "max", "avg", "count", "rate", "irate", "increase", "deriv", "histogram_quantile",
	"clamp_min", "by", "without", "on", "ignoring", "and", "or", "unless", "bool", "offset",
}

var (
	promqlStrings  = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	promqlMatchers = regexp.MustCompile(`\{[^}]*\}|\[[^\]]*\]`)
	promqlGrouping = regexp.MustCompile(`\b(by|without|on|ignoring)\s*\([^)]*\)`)
	promqlNumber   = regexp.MustCompile(`(^|[^a-zA-Z0-9_:])[0-9][0-9.]*(?:[eE][-+]?[0-9]+)?`)
	promqlWord     = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
)

// metricNames returns the metric names a PromQL expression reads.
func metricNames(expr string) []string {
	e := promqlStrings.ReplaceAllString(expr, `""`)
	e = promqlMatchers.ReplaceAllString(e, " ")
	e = promqlGrouping.ReplaceAllString(e, " ")
	e = promqlNumber.ReplaceAllString(e, "$1")
	var names []string
	for _, w := range promqlWord.FindAllString(e, -1) {
		if !slices.Contains(promqlWords, w) {
			names = append(names, w)
		}
	}
	return names
}

func TestMetricNamesOfPromQL(t *testing.T) {
	got := metricNames(`histogram_quantile(0.99, sum by (grpc_method, le) (rate(grpc_server_handling_seconds_bucket{grpc_type="unary",x=~"a|b"}[$__rate_interval])))
		/ on (instance) clamp_min(max without (job) (up), 1e-9)`)
	if want := []string{"grpc_server_handling_seconds_bucket", "up"}; !slices.Equal(got, want) {
		t.Errorf("metricNames = %q, want %q", got, want)
	}
}

// exportedNames returns the names of the series a running server exports,
// histograms' _bucket, _sum and _count included.
func exportedNames(t *testing.T) map[string]bool {
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	tokens := writeKeys(t, keys, "writer=write", "scraper=metrics")
	ts := startServer(t, filepath.Join(dir, "m.db"), "--keys", keys)
	c := eventlogv1.NewEventLogServiceClient(ts.conn(t))
	if _, err := c.LogEvent(withToken(context.Background(), tokens["writer"]),
		&eventlogv1.LogEventRequest{Event: newEvent(eventlogv1.EventType_EVENT_TYPE_CREATE, "alice", "Entry", "1")}); err != nil {
		t.Fatal(err)
	}
	scrape(t, ts.http+"/metrics", tokens["scraper"]) // the HTTP metrics have a request to count
	_, mfs := scrape(t, ts.http+"/metrics", tokens["scraper"])
	names := map[string]bool{"up": true} // Prometheus's own, per target
	for name, mf := range mfs {
		names[name] = true
		if mf.GetType() == dto.MetricType_HISTOGRAM {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				names[name+s] = true
			}
		}
	}
	return names
}

// checkExprs checks that every expression names metrics, and only metrics
// that the server exports, and returns the names they use.
func checkExprs(t *testing.T, file string, exprs []string, exported map[string]bool) map[string]bool {
	t.Helper()
	if len(exprs) == 0 {
		t.Fatalf("%s has no queries", file)
	}
	used := map[string]bool{}
	for _, e := range exprs {
		names := metricNames(e)
		if len(names) == 0 {
			t.Errorf("%s: query %q names no metric", file, e)
		}
		for _, n := range names {
			used[n] = true
			if !exported[n] {
				t.Errorf("%s: query %q reads %s, which the server does not export", file, e, n)
			}
		}
	}
	return used
}

// TestMonitoringQueries checks the Grafana dashboard and the Prometheus
// alerts in deploy/ against the metrics a running server exports.
func TestMonitoringQueries(t *testing.T) {
	exported := exportedNames(t)

	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "grafana", "eventlog.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash any
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("deploy/grafana/eventlog.json: %v", err)
	}
	var exprs []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if e, ok := v["expr"].(string); ok {
				exprs = append(exprs, e)
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(dash)
	used := checkExprs(t, "deploy/grafana/eventlog.json", exprs, exported)
	for _, want := range []string{"grpc_server_handled_total", "eventlog_write_entries_total", "eventlog_group_commit_entries_bucket",
		"eventlog_store_append_duration_seconds_bucket", "eventlog_stream_max_lag_entries", "eventlog_chain_head_id", "go_sql_in_use_connections"} {
		if !used[want] {
			t.Errorf("the dashboard has no panel on %s", want)
		}
	}

	b, err = os.ReadFile(filepath.Join("..", "..", "deploy", "prometheus", "alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &rules); err != nil {
		t.Fatalf("deploy/prometheus/alerts.yaml: %v", err)
	}
	exprs = nil
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				t.Errorf("alerts.yaml: a rule without a name: %q", r.Expr)
			}
			exprs = append(exprs, r.Expr)
		}
	}
	used = checkExprs(t, "deploy/prometheus/alerts.yaml", exprs, exported)
	for what, metric := range map[string]string{
		"write errors": "eventlog_write_entries_total", "stream lag": "eventlog_stream_max_lag_entries",
		"database unavailability": "eventlog_store_up",
	} {
		if !used[metric] {
			t.Errorf("alerts.yaml has no alert for %s (on %s)", what, metric)
		}
	}
}
