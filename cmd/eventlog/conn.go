package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/eventlog/eventlog/client"
	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
	"google.golang.org/grpc/status"
)

const (
	defaultServer  = "127.0.0.1:50051"
	defaultTimeout = 10 * time.Second
	// serverEnv names the server when --server is not given.
	serverEnv = "EVENTLOG_SERVER"
)

// clientOptions are the flags every client command shares.
type clientOptions struct {
	server  string
	timeout time.Duration
	format  string
	print   func(io.Writer, *eventlogv1.Event) error
	conn    connOptions
}

// connOptions say how to connect to the server: TLS and the API key.
type connOptions struct {
	token   string
	tls     bool
	tlsCA   string
	tlsCert string
	tlsKey  string
}

// The environment variables that stand in for connection flags not given.
var connEnv = []struct{ flag, env string }{
	{"token", "EVENTLOG_TOKEN"},
	{"tls-ca", "EVENTLOG_TLS_CA"},
	{"tls-cert", "EVENTLOG_TLS_CERT"},
	{"tls-key", "EVENTLOG_TLS_KEY"},
}

func (c *connOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&c.token, "token", "", "API key `token`, sent as `authorization: Bearer TOKEN`; when not given, $EVENTLOG_TOKEN (preferred: flags show in ps)")
	fs.BoolVar(&c.tls, "tls", false, "connect over TLS, checking the server against the system's CAs (implied by --tls-ca and --tls-cert)")
	fs.StringVar(&c.tlsCA, "tls-ca", "", "CA certificates, PEM `file`, to check the server's certificate against; when not given, $EVENTLOG_TLS_CA")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "client certificate, PEM `file`, for servers that require one; when not given, $EVENTLOG_TLS_CERT")
	fs.StringVar(&c.tlsKey, "tls-key", "", "private key of --tls-cert, PEM `file`; when not given, $EVENTLOG_TLS_KEY")
}

// resolve fills the connection options not given as flags from the
// environment.
func (c *connOptions) resolve(fs *flag.FlagSet, e *env) {
	dst := map[string]*string{"token": &c.token, "tls-ca": &c.tlsCA, "tls-cert": &c.tlsCert, "tls-key": &c.tlsKey}
	for _, v := range connEnv {
		if !isSet(fs, v.flag) {
			if val := strings.TrimSpace(e.getenv(v.env)); val != "" {
				*dst[v.flag] = val
			}
		}
	}
	c.token = strings.TrimSpace(c.token)
	c.tls = c.tls || c.tlsCA != "" || c.tlsCert != "" || c.tlsKey != ""
}

func (o *clientOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.server, "server", defaultServer, "`address` of the eventlog server; when not given, $"+serverEnv+" if set")
	fs.DurationVar(&o.timeout, "timeout", defaultTimeout, "deadline of each call to the server; 0 for none")
	fs.StringVar(&o.format, "format", "json", "output `format`: json (one object a line) or nginx (one nginx-style line an entry)")
	o.conn.register(fs)
}

// resolve applies $EVENTLOG_SERVER when --server was not given and checks
// the shared flags. It is called after parsing.
func (o *clientOptions) resolve(fs *flag.FlagSet, e *env) error {
	if !isSet(fs, "server") {
		if v := strings.TrimSpace(e.getenv(serverEnv)); v != "" {
			o.server = v
		}
	}
	if strings.TrimSpace(o.server) == "" {
		return usagef("--server: want an address such as %s", defaultServer)
	}
	if o.timeout < 0 {
		return usagef("--timeout: want a duration of 0 or more, got %s", o.timeout)
	}
	o.conn.resolve(fs, e)
	switch o.format {
	case "json":
		o.print = printJSON
	case "nginx":
		o.print = printNginx
	default:
		return usagef("--format: want json or nginx, got %q", o.format)
	}
	return nil
}

// withClient dials the server and calls fn with a client whose calls
// each get --timeout.
func (o *clientOptions) withClient(ctx context.Context, e *env, fn func(*client.Client) error) error {
	c, err := dial(ctx, e, o.server, o.conn, client.WithCallTimeout(o.timeout))
	if err != nil {
		return err
	}
	defer c.Close()
	return fn(c)
}

// dial returns a client of the eventlog server at addr, over TLS when c
// asks for it, sending c's API key with every call. The connection is made
// lazily, by the first call. This is the one place that chooses the
// transport.
func dial(ctx context.Context, e *env, addr string, c connOptions, extra ...client.Option) (*client.Client, error) {
	opts := []client.Option{client.WithUserAgent("eventlog-cli"), client.WithInsecure()}
	if c.tls {
		conf, err := clientTLS(c.tlsCA, c.tlsCert, c.tlsKey)
		if err != nil {
			return nil, err
		}
		opts = append(opts, client.WithTLS(conf))
	}
	if c.token != "" {
		if !c.tls && !client.IsLoopback(addr) {
			fmt.Fprintf(e.stderr, "warning: sending the API token to %s without TLS; use --tls or --tls-ca\n", addr)
			opts = append(opts, client.WithPlaintextAPIKey())
		}
		opts = append(opts, client.WithAPIKey(c.token))
	}
	cl, err := client.Dial(ctx, addr, append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", addr, err)
	}
	return cl, nil
}

// rpcError makes an error returned by a call readable: "NotFound: entry 7
// does not exist" for a gRPC status.
func rpcError(err error) error {
	if err == nil {
		return nil
	}
	if st, ok := status.FromError(err); ok {
		return fmt.Errorf("%s: %s", st.Code(), st.Message())
	}
	return err
}
