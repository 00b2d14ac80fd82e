package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/accesslog"
	"github.com/eventlog/eventlog/client"
	"github.com/eventlog/eventlog/internal/inproc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// serveConfig is what "eventlog serve" runs with, from flags and environment.
type serveConfig struct {
	db              string
	grpcAddr        string
	rules           string
	maxFanout       int
	maxStreams      int
	httpAddr        string
	accessLog       string
	logFormat       string
	logLevel        string
	shutdownTimeout time.Duration
	keysFile        string
	signingKey      string
	treeInterval    time.Duration
	tlsCert         string
	tlsKey          string
	tlsClientCA     string
	debugAddr       string
	// metricsAddr is where /metrics is served: "" on the HTTP address,
	// "off" nowhere (no metrics are kept), or an address of its own.
	metricsAddr string
	// httpHosts are the names besides localhost and IP addresses that
	// HTTP requests may give as their Host (--http-host); allowOrigins are
	// the origins of web pages that may call the REST API (--allow-origin).
	httpHosts    []string
	allowOrigins []string
	// reload, when it delivers, makes the server read the keys file
	// again; runServe connects it to SIGHUP.
	reload <-chan os.Signal
	// keysPoll is how often the keys file is read again to look for
	// changes; 0 for never (SIGHUP only).
	keysPoll time.Duration
	// maxVerify bounds the entries of one VerifyChain call; the server's
	// default when 0. Tests lower it.
	maxVerify int64
}

var serveHelp = commandHelp{
	usage: "eventlog serve [flags]",
	description: `Serve runs the eventlog server: the gRPC API (with server reflection and
the standard health service) and the same API as REST and JSON over HTTP
(with /healthz, /readyz and /openapi.json), over a log kept in SQLite or
PostgreSQL. Schema migrations are applied at start-up. Every HTTP request
and gRPC call is written to the access log, one nginx-style line each (JSON
with --log-format json). SIGINT or SIGTERM stops it gracefully: it stops
accepting requests, finishes the ones in flight and the writes, and closes
the database.

Entries propagate to related objects by the rules in --rules (see
"eventlog rules --help"); without it, CREATE, EDIT and DELETE propagate one
hop along every registered relation as EDIT.

With --keys, every call and request needs an API key (see "eventlog keys
new"), sent as "authorization: Bearer TOKEN". The server reads the keys
file again when it changes (it looks every --keys-poll) and on SIGHUP,
without dropping calls or streams in progress; a file that does not parse
is reported and the previous keys are kept. Without API keys the
server only listens on loopback addresses and anyone who can connect may
read and write the log.

--tls-cert and --tls-key serve gRPC and HTTP over TLS; --tls-client-ca also
requires clients to present a certificate signed by that CA (mutual TLS).

Web pages in a browser on the same machine cannot use the REST API: a
request whose Origin is not the server's own gets 403 unless --allow-origin
names that origin (CORS preflights from it are then answered), and a body
must be JSON (Content-Type: application/json; others get 415). Against DNS
rebinding, an HTTP request must name the server as localhost or an IP
address in its Host header, or as a name given to --http-host; others get
403. That check is made without API keys, and with them only when
--http-host is given.

Prometheus metrics are served at /metrics on the HTTP address, or on an
address of their own with --metrics-addr ("off" keeps none). With --keys a
scrape needs a key with the metrics scope (or admin), which allows nothing
else; without keys --metrics-addr must be a loopback address.

Each flag falls back to the environment variable named in its description.
The Go collector runs at GOGC=400 unless GOGC is set, with a soft memory
limit (GOMEMLIMIT) of 90% of the container's memory limit (cgroup) unless
GOMEMLIMIT is set.`,
	example: `  eventlog serve                                   # SQLite file eventlog.db here
  eventlog serve --db /var/lib/eventlog/log.db --rules rules.yaml
  eventlog serve --db 'postgres://eventlog@db:5432/eventlog?sslmode=require' \
      --grpc-addr :50051 --http-addr :8443 --keys /etc/eventlog/keys \
      --tls-cert cert.pem --tls-key key.pem
  eventlog serve --http-addr '' --access-log /var/log/eventlog/access.log
  eventlog serve --allow-origin http://localhost:3000  # a dashboard in development
  curl 'http://127.0.0.1:8080/v1/events?actor=alice&page_size=10'`,
}

func runServe(ctx context.Context, e *env, args []string) error {
	var cfg serveConfig
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.StringVar(&cfg.db, "db", envOr(e, "EVENTLOG_DB", "eventlog.db"),
		"database: "+dbHelp+"; a password in it is masked in logs (env EVENTLOG_DB)")
	fs.StringVar(&cfg.grpcAddr, "grpc-addr", envOr(e, "EVENTLOG_GRPC_ADDR", "127.0.0.1:50051"),
		"address for the gRPC API (env EVENTLOG_GRPC_ADDR)")
	fs.StringVar(&cfg.httpAddr, "http-addr", envOr(e, "EVENTLOG_HTTP_ADDR", "127.0.0.1:8080"),
		"address for the REST API; empty or \"off\" turns HTTP off (env EVENTLOG_HTTP_ADDR)")
	fs.StringVar(&cfg.accessLog, "access-log", envOr(e, "EVENTLOG_ACCESS_LOG", "stderr"),
		"where the access log goes: stderr, off, or a file to append to (env EVENTLOG_ACCESS_LOG)")
	fs.StringVar(&cfg.logFormat, "log-format", envOr(e, "EVENTLOG_LOG_FORMAT", "text"),
		"log format: text or json; in text the access log has nginx-style lines (env EVENTLOG_LOG_FORMAT)")
	fs.StringVar(&cfg.logLevel, "log-level", envOr(e, "EVENTLOG_LOG_LEVEL", "info"),
		"least level logged: debug, info, warn or error (env EVENTLOG_LOG_LEVEL)")
	fs.DurationVar(&cfg.shutdownTimeout, "shutdown-timeout", 30*time.Second,
		"how long to wait for in-flight calls when stopping")
	fs.StringVar(&cfg.keysFile, "keys", envOr(e, "EVENTLOG_KEYS", ""),
		"API keys `file`: one \"NAME SCOPES sha256:HASH\" a line; none: no keys, loopback only (env EVENTLOG_KEYS)")
	fs.StringVar(&cfg.signingKey, "signing-key", envOr(e, "EVENTLOG_SIGNING_KEY", ""),
		"signing key `file` (from eventlog keys signing new): the server signs a checkpoint of the log's Merkle tree as it grows (env EVENTLOG_SIGNING_KEY)")
	fs.DurationVar(&cfg.treeInterval, "tree-interval", time.Second,
		"how often committed entries join the log's Merkle tree and a checkpoint is signed; 0 for never (no new proofs or checkpoints)")
	keysPoll, err := envDuration(e, "EVENTLOG_KEYS_POLL", 5*time.Second)
	if err != nil {
		return err
	}
	fs.DurationVar(&cfg.keysPoll, "keys-poll", keysPoll,
		"how often to look at the keys file for changes, and load it when it changed; 0 for only on SIGHUP (env EVENTLOG_KEYS_POLL)")
	fs.StringVar(&cfg.tlsCert, "tls-cert", envOr(e, "EVENTLOG_TLS_CERT", ""),
		"server certificate chain, PEM `file`; with --tls-key, serve gRPC and HTTP over TLS (env EVENTLOG_TLS_CERT)")
	fs.StringVar(&cfg.tlsKey, "tls-key", envOr(e, "EVENTLOG_TLS_KEY", ""),
		"private key of --tls-cert, PEM `file` (env EVENTLOG_TLS_KEY)")
	fs.StringVar(&cfg.tlsClientCA, "tls-client-ca", envOr(e, "EVENTLOG_TLS_CLIENT_CA", ""),
		"CA certificates, PEM `file`: require client certificates signed by them (env EVENTLOG_TLS_CLIENT_CA)")
	fs.StringVar(&cfg.rules, "rules", envOr(e, "EVENTLOG_RULES", ""),
		"propagation rules `file` (YAML); CRADLE's defaults when empty (env EVENTLOG_RULES)")
	fs.StringVar(&cfg.debugAddr, "debug-addr", envOr(e, "EVENTLOG_DEBUG_ADDR", ""),
		"loopback address for Go's profiler at /debug/pprof/; off when empty (env EVENTLOG_DEBUG_ADDR)")
	fs.StringVar(&cfg.metricsAddr, "metrics-addr", envOr(e, "EVENTLOG_METRICS_ADDR", ""),
		"address of its own for Prometheus metrics at /metrics; empty: at /metrics on --http-addr; \"off\": no metrics (env EVENTLOG_METRICS_ADDR)")
	httpHosts := newListFlag(e.getenv("EVENTLOG_HTTP_HOST"))
	fs.Var(httpHosts, "http-host",
		"more `names` that HTTP requests may give as their Host, comma-separated; localhost and IP addresses always may (env EVENTLOG_HTTP_HOST)")
	allowOrigins := newListFlag(e.getenv("EVENTLOG_ALLOW_ORIGIN"))
	fs.Var(allowOrigins, "allow-origin",
		"`origins` of web pages that may call the REST API, comma-separated, such as https://dash.example.com (env EVENTLOG_ALLOW_ORIGIN)")
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
	dbFrom := "--db"
	if !isSet(fs, "db") && e.getenv("EVENTLOG_DB") != "" {
		dbFrom = "EVENTLOG_DB"
	}
	if _, err := checkDB(dbFrom, cfg.db); err != nil {
		return err
	}
	if cfg.keysPoll < 0 {
		return usagef("--keys-poll: want a duration of 0 or more, such as 5s, got %s", cfg.keysPoll)
	}
	if cfg.maxStreams < 1 {
		return usagef("--max-streams: want 1 or more, got %d", cfg.maxStreams)
	}
	if cfg.treeInterval < 0 {
		return usagef("--tree-interval: want a duration of 0 or more, such as 1s, got %s", cfg.treeInterval)
	}
	if cfg.maxFanout < 1 {
		return usagef("--max-fanout: want 1 or more, got %d", cfg.maxFanout)
	}
	if cfg.httpAddr == "off" {
		cfg.httpAddr = ""
	}
	if cfg.httpHosts, err = parseHosts(httpHosts.values); err != nil {
		return err
	}
	if cfg.allowOrigins, err = parseOrigins(allowOrigins.values); err != nil {
		return err
	}
	logger, err := newLogger(e.stderr, cfg.logFormat, cfg.logLevel)
	if err != nil {
		return err
	}
	access, closeAccess, err := openAccessLog(e.stderr, cfg, logger)
	if err != nil {
		return err
	}
	defer closeAccess()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	cfg.reload = hup
	tuneCollector(e.getenv, memlimit.FromCgroup, logger)
	return (&app{cfg: cfg, log: logger, access: access}).Run(ctx)
}

// openAccessLog returns the access log that cfg asks for, nil when it is
// off, and a function that closes its file.
func openAccessLog(stderr io.Writer, cfg serveConfig, log *slog.Logger) (*accesslog.Logger, func(), error) {
	var out io.Writer
	var file *os.File // when the log is a file
	closeFn := func() {}
	switch cfg.accessLog {
	case "off":
		return nil, closeFn, nil
	case "stderr":
		out = stderr
	case "":
		return nil, nil, usagef("--access-log is empty: want stderr, off or a file")
	default:
		f, err := os.OpenFile(cfg.accessLog, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
		if err != nil {
			return nil, nil, fmt.Errorf("--access-log: %w", err)
		}
		out, file = f, f
	}
	format := accesslog.Nginx
	if cfg.logFormat == "json" {
		format = accesslog.JSON
	}
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.logLevel)) // newLogger has checked it
	ac := accesslog.Config{Out: out, Format: format, Level: level, ErrorLog: log}
	if file == nil {
		return accesslog.New(ac), closeFn, nil
	}
	// A file is written in batches, off the calls: a line is at most
	// accessFlushEvery late, and the rest is written at shutdown. Standard
	// error, often a terminal, gets each line as its call ends.
	ac.FlushEvery = accessFlushEvery
	l := accesslog.New(ac)
	closeFn = func() {
		l.Close()
		if err := file.Close(); err != nil {
			log.Warn("close the access log", "err", err)
		}
	}
	return l, closeFn, nil
}

// accessFlushEvery is how late a line of an access log file may be.
const accessFlushEvery = 100 * time.Millisecond

// streamGrace is how long ended streams get to deliver their last
// message at shutdown before their connections are closed.
const streamGrace = 2 * time.Second

// serveErr is the error a Serve method returned, nil when it returned
// because the server was stopped.
func serveErr(what string, err error) error {
	if err == nil || errors.Is(err, grpc.ErrServerStopped) || errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

// gatewayConn returns the gateway's connection to the gRPC server, through
// the in-process listener l. The connection never leaves the process, so it
// needs no transport security. The gateway accepts replies of any size:
// they come from this process, bounded by the page size and the limits on an
// entry.
func gatewayConn(l *inproc.Listener, access *accesslog.Logger) (*grpc.ClientConn, error) {
	opts := []grpc.DialOption{
		grpc.WithContextDialer(l.Dial),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(math.MaxInt32)),
	}
	if access != nil {
		opts = append(opts,
			grpc.WithChainUnaryInterceptor(access.UnaryClientInterceptor),
			grpc.WithChainStreamInterceptor(access.StreamClientInterceptor))
	}
	cc, err := grpc.NewClient("passthrough:///inproc", opts...)
	if err != nil {
		return nil, fmt.Errorf("gateway connection: %w", err)
	}
	return cc, nil
}

// Transport limits. A message larger than maxMessageBytes (a full batch of
// entries with large details fits) is refused with RESOURCE_EXHAUSTED; a
// connection runs at most maxStreamsPerConn calls at once (more wait for a
// free one); request headers, the API key among them, are bounded by
// maxHeaderBytes, for gRPC calls and for the calls the gateway makes of
// REST requests (a request past it gets 431). The HTTP server reads at
// most maxHTTPHeaderBytes of a request's headers, and answers 431 itself
// past that. StreamEvents calls are bounded over all connections by
// --max-streams.
const (
	maxMessageBytes    = 16 << 20
	maxStreamsPerConn  = 256
	maxHeaderBytes     = 64 << 10
	maxHTTPHeaderBytes = 1 << 20
)

// checkListen checks the address given to flag and reports whether it is a
// loopback address. Without API keys it refuses any other: anyone who can
// connect could read and write the log.
func checkListen(flag, addr string, haveKeys bool) (loopback bool, err error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		example := "127.0.0.1:50051"
		if flag == "--http-addr" {
			example = "127.0.0.1:8080"
		}
		return false, usagef("%s %q: %v (want HOST:PORT, such as %s)", flag, addr, err, example)
	}
	loopback = client.IsLoopback(addr)
	if !loopback && !haveKeys {
		return false, usagef("%s %q is not a loopback address, and without API keys eventlog serves only on loopback (such as 127.0.0.1); "+
			"create a key (eventlog keys new --name NAME --scopes write --file KEYS) and start with --keys KEYS", flag, addr)
	}
	return loopback, nil
}

// grpcTLS is c for the gRPC listener: gRPC clients insist on negotiating
// HTTP/2 by ALPN.
func grpcTLS(c *tls.Config) *tls.Config {
	c = c.Clone()
	c.NextProtos = []string{"h2"}
	return c
}

func tlsMode(c *tls.Config) string {
	switch {
	case c == nil:
		return "off"
	case c.ClientAuth == tls.RequireAndVerifyClientCert:
		return "mutual"
	}
	return "on"
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

func rulesName(path string) string {
	if path == "" {
		return "defaults"
	}
	return path
}
