package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/eventlog/eventlog"
	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
	"github.com/eventlog/eventlog/protomap"
)

// The errors a call may return, tested with errors.Is. They are the root
// package's, so errors.Is(err, eventlog.ErrNotFound) holds too.
var (
	// ErrNotFound: the entry asked for does not exist.
	ErrNotFound = eventlog.ErrNotFound
	// ErrUnavailable: the server cannot be reached, is shutting down or
	// cannot reach its database. A retry may succeed.
	ErrUnavailable = eventlog.ErrUnavailable
	// ErrOutcomeUnknown: a write may or may not have been stored. It is
	// also ErrUnavailable. Retry with the same idempotency key.
	ErrOutcomeUnknown = eventlog.ErrOutcomeUnknown
)

// An invalid argument is an *eventlog.InvalidError, naming the field of the
// request at fault:
//
//	var inv *eventlog.InvalidError
//	if errors.As(err, &inv) { fmt.Println(inv.Field) } // "event.actor"

// Error is the error of a failed call: the server's status, and the domain
// error it stands for (ErrNotFound, ErrUnavailable, ErrOutcomeUnknown, an
// *eventlog.InvalidError, *eventlog.KeyConflictError or
// *eventlog.FanoutError), if any, which Unwrap returns.
type Error struct {
	Code    codes.Code
	Message string
	err     error
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// Unwrap returns the domain error the status stands for, or nil.
func (e *Error) Unwrap() error { return e.err }

// GRPCStatus returns the status, for status.FromError and status.Code.
func (e *Error) GRPCStatus() *status.Status { return status.New(e.Code, e.Message) }

// callError converts the error of a call.
func callError(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	e := &Error{Code: st.Code(), Message: st.Message()}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			if e.err = protomap.ErrorFromErrorInfo(info); e.err != nil {
				return e
			}
		}
	}
	switch st.Code() {
	case codes.NotFound:
		e.err = ErrNotFound
	case codes.Unavailable:
		e.err = ErrUnavailable
	case codes.InvalidArgument:
		inv := &eventlog.InvalidError{Problem: st.Message()}
		for _, d := range st.Details() {
			if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) > 0 {
				v := br.GetFieldViolations()[0]
				inv.Field, inv.Problem = v.GetField(), v.GetDescription()
				break
			}
		}
		e.err = inv
	case codes.Canceled:
		e.err = context.Canceled
	case codes.DeadlineExceeded:
		e.err = context.DeadlineExceeded
	}
	return e
}

// Option configures Dial.
type Option func(*options) error

type options struct {
	tls        *tls.Config
	plaintext  bool
	token      string
	userAgent  string
	minBackoff time.Duration
	maxBackoff time.Duration
	dial       []grpc.DialOption
	fromEnv    bool
	plainKey   bool
	timeout    time.Duration
	onRetry    func(err error, wait time.Duration, afterID int64)
}

// WithTLS connects over TLS with conf; nil checks the server against the
// system's CAs. TLS is the default.
func WithTLS(conf *tls.Config) Option {
	return func(o *options) error {
		if conf == nil {
			conf = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		o.tls, o.plaintext = conf, false
		return nil
	}
}

// WithInsecure connects without TLS. Dial then refuses to send an API key
// to any host but a loopback one.
func WithInsecure() Option {
	return func(o *options) error {
		o.tls, o.plaintext = nil, true
		return nil
	}
}

// WithAPIKey sends token with every call, as "authorization: Bearer TOKEN".
func WithAPIKey(token string) Option {
	return func(o *options) error {
		o.token = strings.TrimSpace(token)
		return nil
	}
}

// WithPlaintextAPIKey lets Dial send the API key without TLS to any host,
// as on a private network where the caller accepts that the key can be
// read on the way. Without it, a plaintext key goes to loopback hosts
// only.
func WithPlaintextAPIKey() Option {
	return func(o *options) error {
		o.plainKey = true
		return nil
	}
}

// WithCallTimeout bounds every call but Follow's streams to d, within the
// deadline of its context; 0, the default, adds no bound. Verify and the
// iterators of List and ListRelations bound each call they make.
func WithCallTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d < 0 {
			return fmt.Errorf("call timeout: want 0 or more, got %s", d)
		}
		o.timeout = d
		return nil
	}
}

// OnReconnect has Follow call fn each time its stream broke and it is
// about to reconnect: err is why, wait how long it waits first, and
// afterID where it resumes (-1 when no position is known yet, so it
// resumes at the head).
func OnReconnect(fn func(err error, wait time.Duration, afterID int64)) Option {
	return func(o *options) error {
		o.onRetry = fn
		return nil
	}
}

// WithUserAgent sets the user agent the server logs; the default is
// "eventlog-go".
func WithUserAgent(ua string) Option {
	return func(o *options) error {
		o.userAgent = ua
		return nil
	}
}

// WithBackoff bounds the wait of Follow between reconnections: it starts
// at min and doubles up to max. The default is 100ms to 10s.
func WithBackoff(min, max time.Duration) Option {
	return func(o *options) error {
		if min <= 0 || max < min {
			return fmt.Errorf("backoff: want 0 < min <= max, got %s and %s", min, max)
		}
		o.minBackoff, o.maxBackoff = min, max
		return nil
	}
}

// WithDialOptions passes options to grpc.NewClient, after those of the
// client.
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(o *options) error {
		o.dial = append(o.dial, opts...)
		return nil
	}
}

// The environment variables FromEnv reads, as the command line does.
const (
	EnvServer  = "EVENTLOG_SERVER"
	EnvToken   = "EVENTLOG_TOKEN"
	EnvTLSCA   = "EVENTLOG_TLS_CA"
	EnvTLSCert = "EVENTLOG_TLS_CERT"
	EnvTLSKey  = "EVENTLOG_TLS_KEY"
)

// FromEnv reads the API key from $EVENTLOG_TOKEN and the TLS files from
// $EVENTLOG_TLS_CA, $EVENTLOG_TLS_CERT and $EVENTLOG_TLS_KEY, as the
// eventlog command does; variables not set change nothing. Dial's target,
// when empty, is then $EVENTLOG_SERVER. Options after FromEnv override it.
func FromEnv() Option {
	return func(o *options) error {
		o.fromEnv = true
		if v := strings.TrimSpace(os.Getenv(EnvToken)); v != "" {
			o.token = v
		}
		ca, cert, key := strings.TrimSpace(os.Getenv(EnvTLSCA)), strings.TrimSpace(os.Getenv(EnvTLSCert)), strings.TrimSpace(os.Getenv(EnvTLSKey))
		if ca == "" && cert == "" && key == "" {
			return nil
		}
		conf, err := LoadTLS(ca, cert, key)
		if err != nil {
			return err
		}
		o.tls, o.plaintext = conf, false
		return nil
	}
}

// LoadTLS builds a client TLS configuration: the server is checked against
// the CA certificates in caFile (the system's when empty); certFile and
// keyFile, when given, are the client's certificate for mutual TLS. All are
// PEM files.
func LoadTLS(caFile, certFile, keyFile string) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("tls ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls ca: no PEM certificate in %s", caFile)
		}
		c.RootCAs = pool
	}
	switch {
	case certFile != "" && keyFile != "":
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("tls cert: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	case certFile != "" || keyFile != "":
		return nil, errors.New("tls cert and key go together: give both or neither")
	}
	return c, nil
}

// Client calls an eventlog server. It is safe for concurrent use.
type Client struct {
	conn       *grpc.ClientConn
	rpc        eventlogv1.EventLogServiceClient
	minBackoff time.Duration
	maxBackoff time.Duration
	timeout    time.Duration
	onRetry    func(err error, wait time.Duration, afterID int64)
}

// Dial returns a client of the server at target, HOST:PORT or a gRPC
// target such as dns:///host:port. The connection is made by the first
// call, and made again after failures. ctx is not used to connect; it is
// there for future options that may need it.
func Dial(ctx context.Context, target string, opts ...Option) (*Client, error) {
	o := options{userAgent: "eventlog-go", minBackoff: 100 * time.Millisecond, maxBackoff: 10 * time.Second}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("dial: %w", err)
		}
	}
	if target == "" && o.fromEnv {
		target = strings.TrimSpace(os.Getenv(EnvServer))
	}
	if target == "" {
		return nil, fmt.Errorf("dial: no server address (and $%s is not set)", EnvServer)
	}
	creds := insecure.NewCredentials()
	if !o.plaintext {
		conf := o.tls
		if conf == nil {
			conf = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		creds = credentials.NewTLS(conf)
	}
	dialOpts := []grpc.DialOption{grpc.WithTransportCredentials(creds), grpc.WithUserAgent(o.userAgent)}
	if o.token != "" {
		if o.plaintext && !o.plainKey && !IsLoopback(target) {
			return nil, fmt.Errorf("dial %s: refusing to send the API key without TLS to a host that is not loopback", target)
		}
		dialOpts = append(dialOpts, grpc.WithPerRPCCredentials(bearerToken(o.token)))
	}
	conn, err := grpc.NewClient(target, append(dialOpts, o.dial...)...)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", target, err)
	}
	return &Client{
		conn:       conn,
		rpc:        eventlogv1.NewEventLogServiceClient(conn),
		minBackoff: o.minBackoff,
		maxBackoff: o.maxBackoff,
		timeout:    o.timeout,
		onRetry:    o.onRetry,
	}, nil
}

// Close closes the connection; calls in progress fail.
func (c *Client) Close() error { return c.conn.Close() }

// Conn returns the client's connection, for calls of the generated API
// (package eventlogv1) that the client does not wrap.
func (c *Client) Conn() grpc.ClientConnInterface { return c.conn }

// callContext returns the context of one unary call.
func (c *Client) callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.timeout == 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, c.timeout)
}

// bearerToken sends an API key with every call.
type bearerToken string

func (t bearerToken) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(t)}, nil
}

// RequireTransportSecurity is false so that a key can be used with a server
// on loopback without TLS; Dial refuses other plaintext uses.
func (bearerToken) RequireTransportSecurity() bool { return false }

// IsLoopback reports whether target (HOST:PORT, or a gRPC target such as
// dns:///host:port) names a loopback host: one that no other machine can
// reach, where a key may travel without TLS.
func IsLoopback(target string) bool {
	if i := strings.LastIndex(target, "/"); i >= 0 {
		target = target[i+1:]
	}
	host, _, err := net.SplitHostPort(target)
	if err != nil {
		host = target
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
