package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"time"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/propagation"
	"github.com/eventlog/eventlog/server"
	"github.com/eventlog/eventlog/store"
	"google.golang.org/grpc"
)

// serveConfig is what "eventlog serve" runs with, from flags and environment.
type serveConfig struct {
	db              string
	grpcAddr        string
	rules           string
	maxFanout       int
	maxStreams      int
	logFormat       string
	logLevel        string
	shutdownTimeout time.Duration
}

var serveHelp = commandHelp{
	usage: "eventlog serve [flags]",
	description: `Serve runs the eventlog server: the gRPC API (with server reflection and
the standard health service) over a log kept in SQLite or PostgreSQL.
Schema migrations are applied at start-up. SIGINT or SIGTERM stops it
gracefully: it stops accepting calls, finishes the writes in flight and
closes the database.

Entries propagate to related objects by the rules in --rules (see
"eventlog rules --help"); without it, CREATE, EDIT and DELETE propagate one
hop along every registered relation as EDIT.

Without API keys the server only listens on loopback addresses. Each flag
falls back to the environment variable named in its description.`,
	example: `  eventlog serve                                   # SQLite file eventlog.db here
  eventlog serve --db /var/lib/eventlog/log.db --rules rules.yaml
  eventlog serve --db 'postgres://eventlog@db:5432/eventlog?sslmode=require'`,
}

func runServe(ctx context.Context, e *env, args []string) error {
	var cfg serveConfig
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.StringVar(&cfg.db, "db", envOr(e, "EVENTLOG_DB", "eventlog.db"),
		"database: a SQLite file path, or a postgres:// URL (env EVENTLOG_DB)")
	fs.StringVar(&cfg.grpcAddr, "grpc-addr", envOr(e, "EVENTLOG_GRPC_ADDR", "127.0.0.1:50051"),
		"address for the gRPC API (env EVENTLOG_GRPC_ADDR)")
	fs.StringVar(&cfg.logFormat, "log-format", envOr(e, "EVENTLOG_LOG_FORMAT", "text"),
		"server log format: text or json (env EVENTLOG_LOG_FORMAT)")
	fs.StringVar(&cfg.logLevel, "log-level", envOr(e, "EVENTLOG_LOG_LEVEL", "info"),
		"least level logged: debug, info, warn or error (env EVENTLOG_LOG_LEVEL)")
	fs.DurationVar(&cfg.shutdownTimeout, "shutdown-timeout", 30*time.Second,
		"how long to wait for in-flight calls when stopping")
	fs.StringVar(&cfg.rules, "rules", envOr(e, "EVENTLOG_RULES", ""),
		"propagation rules `file` (YAML); CRADLE's defaults when empty (env EVENTLOG_RULES)")
	fanout, err := envInt(e, "EVENTLOG_MAX_FANOUT", eventlog.DefaultMaxFanout)
	if err != nil {
		return err
	}
	fs.IntVar(&cfg.maxFanout, "max-fanout", fanout,
		"most entries one entry may propagate to; a write past it fails and writes nothing (env EVENTLOG_MAX_FANOUT)")
	streams, err := envInt(e, "EVENTLOG_MAX_STREAMS", 1024)
	if err != nil {
		return err
	}
	fs.IntVar(&cfg.maxStreams, "max-streams", streams,
		"most StreamEvents calls served at once; more get RESOURCE_EXHAUSTED (env EVENTLOG_MAX_STREAMS)")
	rest, err := parseFlags(fs, e, serveHelp, args)
	if err != nil {
		return err
	}
	if err := noArgs(serveHelp, rest); err != nil {
		return err
	}
	if cfg.maxStreams < 1 {
		return usagef("--max-streams: want 1 or more, got %d", cfg.maxStreams)
	}
	if cfg.maxFanout < 1 {
		return usagef("--max-fanout: want 1 or more, got %d", cfg.maxFanout)
	}
	logger, err := newLogger(e.stderr, cfg.logFormat, cfg.logLevel)
	if err != nil {
		return err
	}
	return serve(ctx, cfg, logger)
}

func serve(ctx context.Context, cfg serveConfig, log *slog.Logger) error {
	if err := checkLoopback(cfg.grpcAddr); err != nil {
		return err
	}
	var rules []propagation.Rule // nil: the defaults
	if cfg.rules != "" {
		var err error
		if rules, err = propagation.LoadRules(cfg.rules); err != nil {
			return fmt.Errorf("--rules: %w", err)
		}
	}
	engine, err := propagation.New(propagation.Config{Rules: rules, MaxFanout: cfg.maxFanout})
	if err != nil {
		return fmt.Errorf("--rules: %w", err)
	}
	st, err := store.Open(ctx, store.Config{DSN: cfg.db, Expander: engine})
	if err != nil {
		return err
	}
	defer st.Close()

	lis, err := net.Listen("tcp", cfg.grpcAddr)
	if err != nil {
		return fmt.Errorf("listen on --grpc-addr: %w", err)
	}
	srv := server.New(server.Config{Store: st, Logger: log, MaxStreams: cfg.maxStreams})
	if err := srv.Start(ctx); err != nil {
		srv.Close()
		return err
	}
	g := grpc.NewServer(
		grpc.MaxRecvMsgSize(maxMessageBytes),
		grpc.ChainUnaryInterceptor(srv.UnaryInterceptor),
	)
	srv.Register(g)

	served := make(chan error, 1)
	go func() { served <- g.Serve(lis) }()
	log.Info("serving gRPC", "addr", lis.Addr().String(), "db", redactDSN(cfg.db), "store", st.Dialect(),
		"rules", rulesName(cfg.rules), "max_fanout", cfg.maxFanout)

	select {
	case err := <-served:
		srv.Close()
		return fmt.Errorf("grpc server: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing calls in flight", "timeout", cfg.shutdownTimeout)
	srv.Shutdown() // streams end with UNAVAILABLE; health checks fail
	stopped := make(chan struct{})
	go func() { g.GracefulStop(); close(stopped) }()
	// Unary calls finish. A stream's last message can be stuck behind a
	// subscriber that stopped reading: once the calls are done, such
	// connections get a moment and are then closed.
	wctx, cancel := context.WithTimeout(context.Background(), cfg.shutdownTimeout)
	if err := srv.WaitCalls(wctx); err != nil {
		log.Warn("shutdown timeout: cancelling the remaining calls")
	}
	cancel()
	select {
	case <-stopped:
	case <-time.After(streamGrace):
		g.Stop()
		<-stopped
	}
	srv.Close()
	if err := <-served; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		log.Warn("grpc server", "err", err)
	}
	log.Info("stopped")
	return nil
}

// streamGrace is how long ended streams get to deliver their last
// message at shutdown before their connections are closed.
const streamGrace = 2 * time.Second

// maxMessageBytes bounds one gRPC message: a full batch of entries with
// large details fits; anything larger is refused with RESOURCE_EXHAUSTED.
const maxMessageBytes = 16 << 20

// checkLoopback refuses an address that is reachable from other machines:
// without API keys anyone who can connect can read and write the log.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return usagef("--grpc-addr %q: %v (want HOST:PORT, such as 127.0.0.1:50051)", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return usagef("--grpc-addr %q is not a loopback address; without API keys eventlog serves only on loopback (such as 127.0.0.1:50051)", addr)
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usagef("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usagef("--log-format %q: want text or json", format)
}

// redactDSN hides the password of a database URL, for logs.
func redactDSN(dsn string) string {
	if !store.IsPostgres(dsn) {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://(unparsable URL)"
	}
	return u.Redacted()
}

func rulesName(path string) string {
	if path == "" {
		return "defaults"
	}
	return path
}
