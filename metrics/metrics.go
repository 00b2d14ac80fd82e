// Package metrics holds the server's Prometheus metrics: the gRPC server
// metrics of go-grpc-middleware (calls by method and code, and their
// latency, REST calls included since the gateway calls the gRPC server),
// HTTP requests, writes by outcome, group commits, store appends, streams
// and their lag behind the head of the log, the database pools, the head of
// the chain and the build.
//
// Every method works on a nil *Metrics and does nothing: a server without
// metrics passes nil.
//
// Labels take only bounded values (methods, codes, outcomes); actors,
// objects and entry ids never become labels.
package metrics

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eventlog/eventlog"
	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Write outcomes, the values of the outcome label of
// eventlog_write_entries_total.
const (
	OutcomeWritten     = "written"        // stored
	OutcomeReplayed    = "replayed"       // answered by its idempotency key, nothing new stored
	OutcomeInvalid     = "invalid"        // refused: the request does not hold what is expected
	OutcomeConflict    = "conflict"       // refused: the idempotency key holds another entry
	OutcomeFanout      = "fanout_refused" // refused: it would propagate past --max-fanout
	OutcomeUnavailable = "unavailable"    // the database could not be reached, or the server is stopping
	OutcomeCanceled    = "canceled"       // the caller gave up or its deadline passed
	OutcomeError       = "error"          // any other failure
)

var outcomes = []string{OutcomeWritten, OutcomeReplayed, OutcomeInvalid, OutcomeConflict, OutcomeFanout,
	OutcomeUnavailable, OutcomeCanceled, OutcomeError}

// Metrics is the server's metrics and the registry that serves them.
type Metrics struct {
	reg  *prometheus.Registry
	grpc *grpcprom.ServerMetrics

	entries      *prometheus.CounterVec
	children     prometheus.Counter
	groupEntries prometheus.Histogram
	groupWrites  prometheus.Histogram
	groupWait    prometheus.Histogram
	appendTime   *prometheus.HistogramVec

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	httpInFlight prometheus.Gauge

	mu      sync.Mutex
	streams map[*Stream]struct{}
	head    atomic.Pointer[func() int64]
}

// BuildInfo labels eventlog_build_info.
type BuildInfo struct {
	Version, Revision, GoVersion string
}

// New returns the metrics of one server, registered with a registry of
// their own together with Go's runtime and process collectors.
func New(build BuildInfo) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		grpc: grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram(
			grpcprom.WithHistogramBuckets(latencyBuckets))),
		entries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eventlog_write_entries_total",
			Help: "Entries sent to LogEvent and LogEvents (children not counted), by outcome: written, replayed (answered by the idempotency key), invalid, conflict, fanout_refused, unavailable, canceled or error.",
		}, []string{"outcome"}),
		children: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "eventlog_children_written_total",
			Help: "Child entries written by propagation.",
		}),
		groupEntries: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "eventlog_group_commit_entries",
			Help:    "Entries of one group commit (one store append), without children.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 11), // 1 .. 1024
		}),
		groupWrites: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "eventlog_group_commit_writes",
			Help:    "Calls (LogEvent or LogEvents) grouped into one group commit.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 11),
		}),
		groupWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "eventlog_group_commit_wait_seconds",
			Help:    "How long the oldest write of a group commit waited in the queue before its append started.",
			Buckets: latencyBuckets,
		}),
		appendTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "eventlog_store_append_duration_seconds",
			Help:    "Duration of one store append (one transaction), by result: ok or error.",
			Buckets: latencyBuckets,
		}, []string{"result"}),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eventlog_http_requests_total",
			Help: "HTTP requests, by handler (api, export, metrics, health, openapi, other), method and status code.",
		}, []string{"handler", "method", "code"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "eventlog_http_request_duration_seconds",
			Help:    "Duration of HTTP requests until their response is written, by handler, method and status code.",
			Buckets: latencyBuckets,
		}, []string{"handler", "method", "code"}),
		httpInFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "eventlog_http_requests_in_flight",
			Help: "HTTP requests being served.",
		}),
		streams: make(map[*Stream]struct{}),
	}
	for _, o := range outcomes {
		m.entries.WithLabelValues(o) // present at 0 from the start
	}
	m.appendTime.WithLabelValues("ok")
	m.appendTime.WithLabelValues("error")
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.grpc, m.entries, m.children, m.groupEntries, m.groupWrites, m.groupWait, m.appendTime,
		m.httpRequests, m.httpDuration, m.httpInFlight,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "eventlog_streams_open",
			Help: "StreamEvents calls being served.",
		}, func() float64 { open, _ := m.streamStats(); return float64(open) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "eventlog_stream_max_lag_entries",
			Help: "How many entries the open stream furthest behind the head of the log has yet to scan; 0 without streams.",
		}, func() float64 { _, lag := m.streamStats(); return float64(lag) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "eventlog_chain_head_id",
			Help: "Id of the newest entry of the log known to this server.",
		}, func() float64 { return float64(m.headID()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "eventlog_build_info",
			Help:        "Always 1; its labels say which build of eventlog runs.",
			ConstLabels: prometheus.Labels{"version": build.Version, "revision": build.Revision, "goversion": build.GoVersion},
		}, func() float64 { return 1 }),
	)
	return m
}

// latencyBuckets are the histogram buckets of durations, 0.5 ms to 10 s.
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Registry returns the registry of the metrics, for tests and for more
// collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus text format (or
// OpenMetrics, when the scraper asks for it).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{EnableOpenMetrics: true})
}

// GRPC returns the gRPC server metrics: add their interceptors to the
// server, and call InitializeMetrics once the services are registered.
func (m *Metrics) GRPC() *grpcprom.ServerMetrics { return m.grpc }

// DBPool adds the statistics of a database pool, named name
// (go_sql_*{db_name="NAME"}).
func (m *Metrics) DBPool(db *sql.DB, name string) {
	if m == nil {
		return
	}
	m.reg.MustRegister(collectors.NewDBStatsCollector(db, name))
}

// StoreUp adds eventlog_store_up: 1 when ping, called at each scrape
// (bounded by a few seconds), finds the database reachable, else 0.
func (m *Metrics) StoreUp(ping func(ctx context.Context) error) {
	if m == nil {
		return
	}
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "eventlog_store_up",
		Help: "1 when the database answered a ping at this scrape, 0 when it did not within 2 seconds.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), storePingTimeout)
		defer cancel()
		if ping(ctx) != nil {
			return 0
		}
		return 1
	}))
}

// storePingTimeout bounds the ping of eventlog_store_up.
const storePingTimeout = 2 * time.Second

// FollowHead has eventlog_chain_head_id and the lag of streams read the
// head of the log from head.
func (m *Metrics) FollowHead(head func() int64) {
	if m == nil {
		return
	}
	m.head.Store(&head)
}

func (m *Metrics) headID() int64 {
	if f := m.head.Load(); f != nil {
		return (*f)()
	}
	return 0
}

// Wrote counts the outcome of a write of n entries that returned out and
// err.
func (m *Metrics) Wrote(n int, out []eventlog.Written, err error) {
	if m == nil {
		return
	}
	if err != nil {
		m.entries.WithLabelValues(Outcome(err)).Add(float64(n))
		return
	}
	var written, replayed, children int
	for i := range out {
		if out[i].Replayed {
			replayed++
			continue
		}
		written++
		children += len(out[i].Children)
	}
	if written > 0 {
		m.entries.WithLabelValues(OutcomeWritten).Add(float64(written))
	}
	if replayed > 0 {
		m.entries.WithLabelValues(OutcomeReplayed).Add(float64(replayed))
	}
	if children > 0 {
		m.children.Add(float64(children))
	}
}

// Outcome is the outcome label of a write that failed with err.
func Outcome(err error) string {
	var (
		invalid  *eventlog.InvalidError
		conflict *eventlog.KeyConflictError
		fanout   *eventlog.FanoutError
	)
	switch {
	case errors.As(err, &fanout):
		return OutcomeFanout
	case errors.As(err, &conflict):
		return OutcomeConflict
	case errors.As(err, &invalid):
		return OutcomeInvalid
	case errors.Is(err, eventlog.ErrUnavailable):
		return OutcomeUnavailable
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return OutcomeCanceled
	}
	return OutcomeError
}

// GroupCommitted records one group commit: the calls and entries it held,
// how long its oldest write waited, and how long the append took.
func (m *Metrics) GroupCommitted(writes, entries int, waited, took time.Duration, err error) {
	if m == nil {
		return
	}
	m.groupWrites.Observe(float64(writes))
	m.groupEntries.Observe(float64(entries))
	m.groupWait.Observe(waited.Seconds())
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.appendTime.WithLabelValues(result).Observe(took.Seconds())
}

// Stream is one open stream, for the streams' metrics.
type Stream struct {
	cursor atomic.Int64
}

// At records that the stream has read the log up to id.
func (s *Stream) At(id int64) {
	if s != nil {
		s.cursor.Store(id)
	}
}

// StreamOpened records a stream that starts at cursor; call Closed on the
// result when it ends. It returns nil on a nil *Metrics, whose methods do
// nothing.
func (m *Metrics) StreamOpened(cursor int64) *Stream {
	if m == nil {
		return nil
	}
	s := &Stream{}
	s.cursor.Store(cursor)
	m.mu.Lock()
	m.streams[s] = struct{}{}
	m.mu.Unlock()
	return s
}

// StreamClosed records the end of s.
func (m *Metrics) StreamClosed(s *Stream) {
	if m == nil || s == nil {
		return
	}
	m.mu.Lock()
	delete(m.streams, s)
	m.mu.Unlock()
}

// streamStats returns the open streams and the largest lag among them.
func (m *Metrics) streamStats() (open int, maxLag int64) {
	head := m.headID()
	m.mu.Lock()
	defer m.mu.Unlock()
	for s := range m.streams {
		maxLag = max(maxLag, head-s.cursor.Load())
	}
	return len(m.streams), maxLag
}

// HTTP wraps h with the HTTP request metrics.
func (m *Metrics) HTTP(h http.Handler) http.Handler {
	if m == nil {
		return h
	}
	opt := promhttp.WithLabelFromRequest("handler", handlerName)
	h = promhttp.InstrumentHandlerDuration(m.httpDuration, h, opt)
	h = promhttp.InstrumentHandlerCounter(m.httpRequests, h, opt)
	return promhttp.InstrumentHandlerInFlight(m.httpInFlight, h)
}

// handlerName is the handler label of a request: a small fixed set, never
// the path itself.
func handlerName(r *http.Request) string {
	p := r.URL.Path
	switch {
	case p == "/v1/events:export":
		return "export"
	case strings.HasPrefix(p, "/v1/"):
		return "api"
	case p == "/metrics":
		return "metrics"
	case p == "/healthz" || p == "/readyz":
		return "health"
	case p == "/openapi.json":
		return "openapi"
	}
	return "other"
}
