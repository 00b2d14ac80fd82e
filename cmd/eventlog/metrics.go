package main

import (
	"errors"
	"net/http"
	"time"

	"github.com/eventlog/eventlog/auth"
	"github.com/eventlog/eventlog/internal/version"
	"github.com/eventlog/eventlog/metrics"
	"github.com/eventlog/eventlog/store"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// metricsPath is where the metrics are served, on the HTTP address or on
// --metrics-addr.
const metricsPath = "/metrics"

// metricsOn reports whether the server keeps metrics: --metrics-addr is
// not "off", and there is an address to serve them on.
func (c *serveConfig) metricsOn() bool {
	switch c.metricsAddr {
	case "off":
		return false
	case "":
		return c.httpAddr != ""
	}
	return true
}

// newMetrics returns the server's metrics, with the statistics of the
// store's connection pools.
func newMetrics(st *store.Store) *metrics.Metrics {
	v := version.Get()
	m := metrics.New(metrics.BuildInfo{Version: v.String(), Revision: v.Revision, GoVersion: v.Go})
	m.StoreUp(st.Ping)
	w, r := st.Pools()
	if r == w {
		m.DBPool(w, "eventlog")
	} else {
		m.DBPool(w, "eventlog_write")
		m.DBPool(r, "eventlog_read")
	}
	return m
}

// metricsHandler serves m at metricsPath. With API keys (guard not nil) a
// scrape needs a key with the metrics or admin scope; fail answers a
// refused one.
func metricsHandler(m *metrics.Metrics, guard *auth.Guard, fail func(w http.ResponseWriter, r *http.Request, httpStatus int, err error)) http.Handler {
	h := m.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			fail(w, r, http.StatusMethodNotAllowed, status.Errorf(codes.Unimplemented, "%s is not allowed on %s", r.Method, metricsPath))
			return
		}
		if guard != nil {
			if err := guard.CheckHTTP(r.Header.Values("Authorization"), metricsPath, auth.ScopeMetrics); err != nil {
				fail(w, r, 0, err)
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// withMetricsRoute serves metricsPath with metrics and every other path
// with next.
func withMetricsRoute(next, metrics http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == metricsPath {
			metrics.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// serveMetrics serves h, the metrics, on --metrics-addr, an address of its
// own, and returns the address it listens on and a function that stops it.
// checkHost says whether requests must name the server as the HTTP
// server's requests must (see webGuard).
func (a *app) serveMetrics(h http.Handler, checkHost bool) (string, func(), error) {
	lis, err := a.listen("--metrics-addr", a.cfg.metricsAddr)
	if err != nil {
		return "", nil, err
	}
	mux := http.NewServeMux()
	mux.Handle(metricsPath, h)
	var handler http.Handler = &webGuard{next: mux, checkHost: checkHost, hosts: a.cfg.httpHosts, fail: plainError}
	hs := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := hs.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Warn("metrics server", "err", err)
		}
	}()
	a.log.Info("serving metrics", "addr", lis.Addr().String(), "path", metricsPath)
	return lis.Addr().String(), func() { hs.Close() }, nil
}

// plainError answers a refused request with err's message as text.
func plainError(w http.ResponseWriter, _ *http.Request, code int, err error) {
	if code == 0 {
		code = runtime.HTTPStatusFromCode(status.Code(err))
	}
	http.Error(w, status.Convert(err).Message(), code)
}
