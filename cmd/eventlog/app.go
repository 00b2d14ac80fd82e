package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/eventlog/eventlog/accesslog"
	"github.com/eventlog/eventlog/auth"
	"github.com/eventlog/eventlog/console"
	"github.com/eventlog/eventlog/gateway"
	"github.com/eventlog/eventlog/internal/inproc"
	"github.com/eventlog/eventlog/internal/version"
	"github.com/eventlog/eventlog/metrics"
	"github.com/eventlog/eventlog/propagation"
	"github.com/eventlog/eventlog/server"
	"github.com/eventlog/eventlog/store"
	"golang.org/x/mod/sumdb/note"
	"google.golang.org/grpc"
)

// app is the service that serve runs, built from a serveConfig: the store,
// the gRPC service and server, the REST gateway and the HTTP server, the
// keys and the profiler. Run builds each part in turn and registers how to
// take it down; whatever stops it (a part that cannot be built, a server
// that fails, ctx ending), the parts built so far are closed in the
// reverse order of their building, exactly once.
type app struct {
	cfg     serveConfig
	log     *slog.Logger
	access  *accesslog.Logger // nil when off
	metrics *metrics.Metrics  // nil when off

	closers []func()
}

// onClose registers f to run when the app closes, before the closers
// registered earlier.
func (a *app) onClose(f func()) { a.closers = append(a.closers, f) }

func (a *app) close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	a.closers = nil
}

// running is what Run serves once it is built.
type running struct {
	srv    *server.Server
	grpc   *grpc.Server
	http   *http.Server // nil without --http-addr
	served chan error   // one value per server goroutine as it ends
	count  int          // server goroutines
}

// Run builds the service, serves until ctx ends or a server fails, then
// shuts it down: in-flight calls finish (within --shutdown-timeout), streams
// end with UNAVAILABLE, and every part is closed.
func (a *app) Run(ctx context.Context) error {
	defer a.close()
	r, err := a.build(ctx)
	if err != nil {
		return err
	}
	var failed error
	select {
	case failed = <-r.served:
		r.count--
		a.log.Error("server failed; shutting down", "err", failed)
	case <-ctx.Done():
		a.log.Info("shutting down: finishing requests in flight", "timeout", a.cfg.shutdownTimeout.String())
	}
	a.shutdown(r)
	if failed != nil {
		return failed
	}
	a.log.Info("stopped")
	return nil
}

// build makes every part and starts serving.
func (a *app) build(ctx context.Context) (*running, error) {
	cfg, log := a.cfg, a.log
	guard, keysSum, err := a.keys()
	if err != nil {
		return nil, err
	}
	loopback, err := checkListen("--grpc-addr", cfg.grpcAddr, guard != nil)
	if err != nil {
		return nil, err
	}
	if cfg.httpAddr != "" {
		httpLoopback, err := checkListen("--http-addr", cfg.httpAddr, guard != nil)
		if err != nil {
			return nil, err
		}
		loopback = loopback && httpLoopback
	}
	if a.cfg.metricsAddr != "" && a.cfg.metricsAddr != "off" {
		if _, err := checkListen("--metrics-addr", cfg.metricsAddr, guard != nil); err != nil {
			return nil, err
		}
	}
	tlsConf, err := serverTLS(cfg.tlsCert, cfg.tlsKey, cfg.tlsClientCA)
	if err != nil {
		return nil, err
	}
	if cfg.debugAddr != "" {
		_, stop, err := serveDebug(cfg.debugAddr, log)
		if err != nil {
			return nil, err
		}
		a.onClose(stop)
	}
	switch {
	case guard == nil:
		log.Warn("no API keys (--keys): every local process can read and write the log; the server listens on loopback only")
	case guard.Keys().Len() == 0:
		log.Warn("the keys file has no keys: every call but health checks is refused", "keys", cfg.keysFile)
	}
	if guard != nil && tlsConf == nil && !loopback {
		log.Warn("API keys over plaintext on a non-loopback address: anyone on the network path can read the tokens; set --tls-cert and --tls-key")
	}
	var signer note.Signer
	if cfg.signingKey != "" {
		if signer, err = loadSigner(cfg.signingKey); err != nil {
			return nil, err
		}
		log.Info("signing checkpoints", "origin", signer.Name())
	} else {
		log.Info("no signing key (--signing-key): the log's Merkle tree and its proofs are served, but no signed checkpoint")
	}
	st, err := a.store(ctx)
	if err != nil {
		return nil, err
	}

	lis, err := a.listen("--grpc-addr", cfg.grpcAddr)
	if err != nil {
		return nil, err
	}
	var httpLis net.Listener
	if cfg.httpAddr != "" {
		if httpLis, err = a.listen("--http-addr", cfg.httpAddr); err != nil {
			return nil, err
		}
	}

	if cfg.metricsOn() {
		a.metrics = newMetrics(st)
	}
	srv := server.New(server.Config{Store: st, Logger: log, MaxStreams: cfg.maxStreams, MaxVerifyEntries: cfg.maxVerify,
		Metrics: a.metrics, Signer: signer, TreeInterval: treeInterval(cfg.treeInterval)})
	a.onClose(srv.Close)
	if err := srv.Start(ctx); err != nil {
		return nil, err
	}
	g := a.grpcServer(srv, guard)
	if a.metrics != nil && cfg.metricsAddr != "" {
		_, stop, err := a.serveMetrics(metricsHandler(a.metrics, guard, plainError), guard == nil || len(cfg.httpHosts) > 0)
		if err != nil {
			return nil, err
		}
		a.onClose(stop)
	}
	if tlsConf != nil {
		lis = tls.NewListener(lis, grpcTLS(tlsConf))
	}

	// The reloader lives as long as the app.
	reloadCtx, stopReload := context.WithCancel(ctx)
	reloaded := make(chan struct{})
	go func() {
		defer close(reloaded)
		reloadKeys(reloadCtx, cfg, guard, keysSum, log)
	}()
	a.onClose(func() { stopReload(); <-reloaded })

	r := &running{srv: srv, grpc: g, served: make(chan error, 3), count: 1}
	// The REST gateway calls the gRPC server over an in-process listener
	// served by the same grpc.Server, so REST requests pass through the
	// server's interceptors as gRPC calls do.
	var inner *inproc.Listener
	if httpLis != nil {
		inner = inproc.Listen()
		if r.http, err = a.httpServer(inner, st, guard, tlsConf); err != nil {
			return nil, err
		}
	}

	go func() { r.served <- serveErr("grpc server", g.Serve(lis)) }()
	if r.http != nil {
		r.count += 2
		go func() { r.served <- serveErr("grpc server for the gateway", g.Serve(inner)) }()
		go func() {
			if r.http.TLSConfig != nil {
				r.served <- serveErr("http server", r.http.ServeTLS(httpLis, "", ""))
				return
			}
			r.served <- serveErr("http server", r.http.Serve(httpLis))
		}()
		log.Info("serving HTTP", "addr", httpLis.Addr().String(), "tls", tlsMode(tlsConf))
	}
	attrs := []any{"addr", lis.Addr().String(), "pid", os.Getpid(), "version", version.Get().String(), "db", redactDSN(cfg.db), "store", st.Dialect(),
		"rules", rulesName(cfg.rules), "max_fanout", cfg.maxFanout, "tls", tlsMode(tlsConf)}
	if guard != nil {
		attrs = append(attrs, "keys", guard.Keys().Len())
	}
	log.Info("serving gRPC", attrs...)
	return r, nil
}

// treeInterval is --tree-interval as server.Config takes it: 0 means never.
func treeInterval(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// keys loads the keys file, if any, and returns the guard that checks
// callers against it (nil without keys) and the file's checksum.
func (a *app) keys() (*auth.Guard, [sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	if a.cfg.keysFile == "" {
		return nil, sum, nil
	}
	ks, sum, err := loadKeys(a.cfg.keysFile)
	if err != nil {
		return nil, sum, fmt.Errorf("--keys: %w", err)
	}
	guard := auth.NewGuard(ks, a.log)
	if a.access != nil {
		guard.OnKey(accesslog.SetUser) // the key's name on the access line
	}
	return guard, sum, nil
}

// store opens the database with the propagation rules.
func (a *app) store(ctx context.Context) (*store.Store, error) {
	var rules []propagation.Rule // nil: the defaults
	if a.cfg.rules != "" {
		var err error
		if rules, err = propagation.LoadRules(a.cfg.rules); err != nil {
			return nil, fmt.Errorf("--rules: %w", err)
		}
	}
	engine, err := propagation.New(propagation.Config{Rules: rules, MaxFanout: a.cfg.maxFanout})
	if err != nil {
		return nil, fmt.Errorf("--rules: %w", err)
	}
	st, err := openStore(ctx, store.Config{DSN: a.cfg.db, Expander: engine})
	if err != nil {
		return nil, err
	}
	a.onClose(func() { st.Close() })
	return st, nil
}

// listen listens on addr, given to flag.
func (a *app) listen(flag, addr string) (net.Listener, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", flag, err)
	}
	a.onClose(func() { lis.Close() })
	return lis, nil
}

// grpcServer returns the gRPC server of srv, with its interceptors.
func (a *app) grpcServer(srv *server.Server, guard *auth.Guard) *grpc.Server {
	// The access log comes first, so that its line covers whatever the
	// interceptors after it do, refused calls included.
	var unary []grpc.UnaryServerInterceptor
	var stream []grpc.StreamServerInterceptor
	if a.access != nil {
		unary = append(unary, a.access.UnaryServerInterceptor)
		stream = append(stream, a.access.StreamServerInterceptor)
	}
	// The metrics count refused calls too, by their codes.
	if a.metrics != nil {
		unary = append(unary, a.metrics.GRPC().UnaryServerInterceptor())
		stream = append(stream, a.metrics.GRPC().StreamServerInterceptor())
	}
	unary = append(unary, srv.UnaryInterceptor)
	if guard != nil {
		unary = append(unary, guard.UnaryInterceptor)
		stream = append(stream, guard.StreamInterceptor)
	}
	// The server's one grpc.Server also serves the gateway's in-process
	// connection, so TLS goes on the outside listener rather than in the
	// server's options (the in-process one never leaves the process).
	g := grpc.NewServer(
		grpc.MaxRecvMsgSize(maxMessageBytes),
		grpc.ForceServerCodecV2(server.Codec),
		grpc.MaxConcurrentStreams(maxStreamsPerConn),
		grpc.MaxHeaderListSize(maxHeaderBytes),
		// Calls run on goroutines kept between calls, whose stacks have
		// grown already, rather than on a new goroutine each, whose stack
		// grows (and is copied) during the call: the no-op call cost
		// about a quarter less processor time. Calls past the workers,
		// all busy, get goroutines of their own as before.
		grpc.NumStreamWorkers(streamWorkers),
		grpc.ChainUnaryInterceptor(unary...),
		grpc.ChainStreamInterceptor(stream...),
	)
	srv.Register(g)
	if a.metrics != nil {
		a.metrics.GRPC().InitializeMetrics(g)
	}
	return g
}

// httpServer returns the HTTP server of the REST gateway, which calls the
// gRPC server over inner.
func (a *app) httpServer(inner *inproc.Listener, st *store.Store, guard *auth.Guard, tlsConf *tls.Config) (*http.Server, error) {
	gwConn, err := gatewayConn(inner, a.access)
	if err != nil {
		return nil, err
	}
	a.onClose(func() { gwConn.Close() })
	gw, err := gateway.New(gateway.Config{Conn: gwConn, Store: st, Logger: a.log,
		MaxRequestBytes: maxMessageBytes, MaxHeaderBytes: maxHeaderBytes, Version: version.Get().String()})
	if err != nil {
		return nil, err
	}
	// The guard is inside the access log, so that refused requests have
	// their lines too.
	var routes http.Handler = gw
	if a.metrics != nil && a.cfg.metricsAddr == "" {
		routes = withMetricsRoute(gw, metricsHandler(a.metrics, guard, gw.WriteError))
	}
	// The console (/ui/, and / redirecting to it) reads through the gateway
	// from the browser, behind the same guard.
	var h http.Handler = &webGuard{next: console.Handler(routes), fail: gw.WriteError,
		checkHost: guard == nil || len(a.cfg.httpHosts) > 0, hosts: a.cfg.httpHosts, origins: a.cfg.allowOrigins}
	h = a.metrics.HTTP(h)
	if a.access != nil {
		h = a.access.HTTP(h)
	}
	hs := &http.Server{
		Handler:           h,
		MaxHeaderBytes:    maxHTTPHeaderBytes,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	if tlsConf != nil {
		hs.TLSConfig = tlsConf.Clone() // ServeTLS adds h2 and http/1.1
	}
	return hs, nil
}

// shutdown stops serving: streams, gRPC and REST, end with UNAVAILABLE and
// health checks fail; HTTP requests and gRPC calls in flight finish within
// --shutdown-timeout; then every server goroutine has ended.
func (a *app) shutdown(r *running) {
	r.srv.Shutdown()
	stopCtx, cancel := context.WithTimeout(context.Background(), a.cfg.shutdownTimeout)
	defer cancel()
	// HTTP first: its requests in flight still need the gRPC server.
	if r.http != nil {
		if err := r.http.Shutdown(stopCtx); err != nil {
			a.log.Warn("shutdown timeout: closing the remaining HTTP requests")
			r.http.Close()
		}
	}
	stopped := make(chan struct{})
	go func() { r.grpc.GracefulStop(); close(stopped) }()
	// Unary calls finish. A stream's last message can be stuck behind a
	// subscriber that stopped reading: once the calls are done, such
	// connections get a moment and are then closed.
	if err := r.srv.WaitCalls(stopCtx); err != nil {
		a.log.Warn("shutdown timeout: cancelling the remaining calls")
	}
	select {
	case <-stopped:
	case <-time.After(streamGrace):
		r.grpc.Stop()
		<-stopped
	}
	for ; r.count > 0; r.count-- {
		if err := <-r.served; err != nil {
			a.log.Warn("server", "err", err)
		}
	}
}

// streamWorkers is how many goroutines wait to run calls: more than the
// calls a busy server has in flight, most of which wait for their commit.
const streamWorkers = 256
