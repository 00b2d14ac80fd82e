// Package gateway serves the eventlog API over HTTP and JSON: grpc-gateway
// routes each request to the gRPC server (POST /v1/events, GET /v1/events,
// GET /v1/events/{id}, ...), and the gateway adds /healthz, /readyz, the
// OpenAPI description at /openapi.json and the export of entries as JSON
// lines or CSV at /v1/events:export (see export.go). GET /v1/events:stream
// serves newline-delimited JSON, or Server-Sent Events to a client that
// accepts text/event-stream (see sse.go).
//
// The gateway calls the gRPC server through a client connection, never the
// service's methods directly, so everything the server does to a call
// (authentication, the access log, recovery from panics) applies to REST
// callers as it does to gRPC ones. The Authorization header is forwarded as
// the call's "authorization" metadata.
//
// A request with a body (POST, PUT, PATCH or DELETE) must send it as JSON,
// with Content-Type application/json (a charset, if given, must be UTF-8):
// a browser sends any other type, such as text/plain, across origins
// without asking the server first.
//
// Errors are google.rpc.Status as JSON ({"code": 3, "message": "...",
// "details": [...]}), with code the gRPC code and the HTTP status that
// grpc-gateway maps it to (400, 401, 403, 404, 409, 429, 503, ...). A body
// over the size limit gets 413 and code 8 (RESOURCE_EXHAUSTED); headers over
// the limit on the call's metadata get 431 and code 8; a body of another
// Content-Type gets 415 and code 3 (INVALID_ARGUMENT); a body that is not
// JSON, has an unknown field or a value of the wrong type, and a query
// parameter that names no field or holds a value of the wrong type, get 400
// and code 3.
package gateway

import (
	"context"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/textproto"
	"strings"
	"time"
	"unicode/utf8"

	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// DefaultMaxRequestBytes is the default bound on a request body, the same
// as the gRPC server's bound on a request message.
const DefaultMaxRequestBytes = 16 << 20

// readyTimeout bounds the store check of /readyz.
const readyTimeout = 2 * time.Second

//go:embed openapi.swagger.json
var openAPI []byte

// Pinger is what /readyz checks: the store.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Config configures a Gateway.
type Config struct {
	// Conn is a connection to the gRPC server that serves
	// eventlog.v1.EventLogService.
	Conn grpc.ClientConnInterface
	// Store is checked by /readyz.
	Store Pinger
	// Logger reports failed readiness checks; slog.Default() when nil.
	Logger *slog.Logger
	// MaxRequestBytes bounds a request body and the protobuf message it
	// decodes into; DefaultMaxRequestBytes when 0. Set it to the gRPC
	// server's limit on a received message.
	MaxRequestBytes int64
	// Version is the server's version, given as info.version in the
	// OpenAPI description; the generated placeholder when empty.
	Version string
	// MaxHeaderBytes bounds the headers of the call that a request becomes,
	// counted as HTTP/2 counts a header list (each field's name and value
	// and 32 bytes); unbounded when 0. Set it to the gRPC server's
	// grpc.MaxHeaderListSize: the client side of a connection refuses a
	// call past the server's limit with INTERNAL, which reads as a fault of
	// the server rather than of the request.
	MaxHeaderBytes int64
}

// Gateway is the HTTP handler of the REST API.
type Gateway struct {
	mux     *runtime.ServeMux
	store   Pinger
	log     *slog.Logger
	maxBody int64
	queries map[string]*queryRule
	spec    []byte // the OpenAPI description

	client     eventlogv1.EventLogServiceClient
	exportRule *queryRule
}

var _ http.Handler = (*Gateway)(nil)

// New returns a Gateway that makes its calls through cfg.Conn.
func New(cfg Config) (*Gateway, error) {
	if cfg.Conn == nil || cfg.Store == nil {
		return nil, errors.New("gateway: Conn and Store are required")
	}
	g := &Gateway{
		store:   cfg.Store,
		log:     cfg.Logger,
		maxBody: cfg.MaxRequestBytes,
		queries: queryRules(eventlogv1.File_eventlog_v1_eventlog_proto.Services()),
	}
	if g.log == nil {
		g.log = slog.Default()
	}
	if g.maxBody <= 0 {
		g.maxBody = DefaultMaxRequestBytes
	}
	g.spec = openAPI
	if cfg.Version != "" {
		spec, err := specWithVersion(openAPI, cfg.Version)
		if err != nil {
			return nil, fmt.Errorf("gateway: OpenAPI description: %w", err)
		}
		g.spec = spec
	}
	jsonM := &jsonMarshaler{JSONPb: &runtime.JSONPb{
		MarshalOptions:   protojson.MarshalOptions{},
		UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
	}}
	g.mux = runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, jsonM),
		runtime.WithMarshalerOption(eventStream, &sseMarshaler{json: jsonM}),
		runtime.WithErrorHandler(g.handleError),
		runtime.WithRoutingErrorHandler(g.handleRoutingError),
		runtime.WithStreamErrorHandler(func(_ context.Context, err error) *status.Status {
			return status.Convert(validUTF8(err))
		}),
		runtime.WithMiddlewares(g.checkContentType, g.checkQuery),
		// A POST is a write: never let a form body turn it into a read, nor
		// a header turn it into another method.
		runtime.WithDisablePathLengthFallback(),
		runtime.WithDisableHTTPMethodOverride(),
	)
	client := eventlogv1.NewEventLogServiceClient(limitedConn{cfg.Conn, g.maxBody, cfg.MaxHeaderBytes})
	g.client, g.exportRule = client, exportQuery()
	if err := eventlogv1.RegisterEventLogServiceHandlerClient(context.Background(), g.mux, client); err != nil {
		return nil, fmt.Errorf("gateway: register: %w", err)
	}
	for path, h := range map[string]runtime.HandlerFunc{
		"/healthz":      g.healthz,
		"/readyz":       g.readyz,
		"/openapi.json": g.openAPI,
		ExportPath:      g.export,
	} {
		if err := g.mux.HandlePath(http.MethodGet, path, h); err != nil {
			return nil, fmt.Errorf("gateway: %s: %w", path, err)
		}
	}
	return g, nil
}

// ServeHTTP serves one request.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength > g.maxBody {
		_, out := runtime.MarshalerForRequest(g.mux, r)
		g.handleError(r.Context(), g.mux, out, w, r, &tooLargeError{limit: g.maxBody})
		return
	}
	if wantsEventStream(r) {
		if err := prepareEventStream(r); err != nil {
			g.WriteError(w, r, 0, err)
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Accel-Buffering", "no") // proxies: pass each event on at once
	}
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = &limitedBody{ReadCloser: http.MaxBytesReader(innermost(w), r.Body, g.maxBody)}
	}
	g.mux.ServeHTTP(w, r)
}

// WriteError answers r with err as the gateway answers its own errors: a
// google.rpc.Status in JSON with err's gRPC code, and httpStatus, or the
// HTTP status of that code when httpStatus is 0.
func (g *Gateway) WriteError(w http.ResponseWriter, r *http.Request, httpStatus int, err error) {
	if httpStatus != 0 {
		err = &runtime.HTTPStatusError{HTTPStatus: httpStatus, Err: err}
	}
	_, out := runtime.MarshalerForRequest(g.mux, r)
	g.handleError(r.Context(), g.mux, out, w, r, err)
}

// checkContentType is a grpc-gateway middleware that refuses a body that is
// not JSON by its Content-Type. The decoder would refuse most such bodies
// anyway, but the type is what tells a browser's cross-origin request from
// a page apart: a form or text/plain is sent without a CORS preflight, and
// can be made to parse as JSON.
func (g *Gateway) checkContentType(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, pathParams map[string]string) {
		switch r.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
			if r.ContentLength != 0 { // -1: a body of unknown length
				if err := jsonContentType(r.Header.Values("Content-Type")); err != nil {
					g.WriteError(w, r, http.StatusUnsupportedMediaType, err)
					return
				}
			}
		}
		next(w, r, pathParams)
	}
}

// jsonContentType returns an INVALID_ARGUMENT status error unless ct, the
// Content-Type header's values, is application/json, with no charset or
// UTF-8.
func jsonContentType(ct []string) error {
	const want = "send the body as JSON with the header Content-Type: application/json"
	switch len(ct) {
	case 0:
		return status.Errorf(codes.InvalidArgument, "a request body needs a Content-Type: %s", want)
	case 1:
	default:
		return status.Errorf(codes.InvalidArgument, "Content-Type given %d times: %s", len(ct), want)
	}
	media, params, err := mime.ParseMediaType(ct[0])
	if err != nil {
		return status.Errorf(codes.InvalidArgument, "Content-Type %q: %v; %s", ct[0], err, want)
	}
	if media != "application/json" {
		return status.Errorf(codes.InvalidArgument, "Content-Type %q is not JSON: %s", ct[0], want)
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return status.Errorf(codes.InvalidArgument, "Content-Type %q: JSON is UTF-8; send charset=utf-8 or no charset", ct[0])
	}
	return nil
}

// innermost unwraps w as http.ResponseController does, so that
// http.MaxBytesReader can tell the server to close the connection after a
// body over the limit.
func innermost(w http.ResponseWriter) http.ResponseWriter {
	for {
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return w
		}
		w = u.Unwrap()
	}
}

// handleError writes err as grpc-gateway does, except that a request over
// the size limit gets 413 rather than the 400 of a body that cannot be read
// or the 429 of RESOURCE_EXHAUSTED, and headers over the limit get 431.
func (g *Gateway) handleError(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	var (
		tooLarge   *tooLargeError
		bigHeaders *headersTooLargeError
	)
	if !errors.As(err, &tooLarge) {
		if b, ok := r.Body.(*limitedBody); ok && b.exceeded {
			tooLarge = &tooLargeError{limit: g.maxBody}
		}
	}
	switch {
	case tooLarge != nil:
		err = &runtime.HTTPStatusError{HTTPStatus: http.StatusRequestEntityTooLarge, Err: tooLarge}
	case errors.As(err, &bigHeaders):
		err = &runtime.HTTPStatusError{HTTPStatus: http.StatusRequestHeaderFieldsTooLarge, Err: bigHeaders}
	}
	runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, validUTF8(err))
}

// validUTF8 returns err with a message that is valid UTF-8: a message that
// quotes the request may hold any bytes, and a JSON status cannot.
func validUTF8(err error) error {
	var withStatus *runtime.HTTPStatusError
	if errors.As(err, &withStatus) {
		return &runtime.HTTPStatusError{HTTPStatus: withStatus.HTTPStatus, Err: validUTF8(withStatus.Err)}
	}
	st := status.Convert(err)
	if utf8.ValidString(st.Message()) {
		return err
	}
	p := st.Proto()
	p.Message = strings.ToValidUTF8(p.Message, "\uFFFD")
	return status.FromProto(p).Err()
}

// handleRoutingError answers a request that matches no route: 404 for an
// unknown path, 405 for a known path with another method (grpc-gateway
// would say 501).
func (g *Gateway) handleRoutingError(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	var err error
	switch httpStatus {
	case http.StatusMethodNotAllowed:
		err = &runtime.HTTPStatusError{HTTPStatus: httpStatus,
			Err: status.Errorf(codes.Unimplemented, "%s is not allowed on %s", r.Method, r.URL.Path)}
	case http.StatusNotFound:
		err = status.Errorf(codes.NotFound, "no route for %s %s", r.Method, r.URL.Path)
	default:
		err = &runtime.HTTPStatusError{HTTPStatus: httpStatus,
			Err: status.Error(codes.InvalidArgument, http.StatusText(httpStatus))}
	}
	g.handleError(ctx, mux, m, w, r, err)
}

func (g *Gateway) healthz(w http.ResponseWriter, _ *http.Request, _ map[string]string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "ok\n")
}

func (g *Gateway) readyz(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	if err := g.store.Ping(ctx); err != nil {
		// The cause may name hosts; it goes to the log, not to the caller.
		g.log.WarnContext(ctx, "readyz: store unreachable", "err", err)
		http.Error(w, "store unreachable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "ok\n")
}

func (g *Gateway) openAPI(w http.ResponseWriter, _ *http.Request, _ map[string]string) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(g.spec)
}

// specWithVersion returns the OpenAPI description spec with info.version
// set to version. The generator cannot know the version of a build, so it
// writes a placeholder.
func specWithVersion(spec []byte, version string) ([]byte, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(spec, &doc); err != nil {
		return nil, err
	}
	var info map[string]any
	if err := json.Unmarshal(doc["info"], &info); err != nil {
		return nil, fmt.Errorf("info: %w", err)
	}
	info["version"] = version
	b, err := json.Marshal(info)
	if err != nil {
		return nil, err
	}
	doc["info"] = b
	return json.MarshalIndent(doc, "", "  ")
}

// limitedBody is a request body behind http.MaxBytesReader that remembers
// whether the limit was hit: grpc-gateway turns the read error into a plain
// INVALID_ARGUMENT, and handleError needs to tell it apart.
type limitedBody struct {
	io.ReadCloser
	exceeded bool
}

func (b *limitedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	var tooLarge *http.MaxBytesError
	if err != nil && errors.As(err, &tooLarge) {
		b.exceeded = true
	}
	return n, err
}

// tooLargeError is a request over the size limit, as a body or as the
// message the body decodes into.
type tooLargeError struct {
	limit   int64
	message int // size of the decoded message; 0 when the body itself is over
}

func (e *tooLargeError) Error() string {
	if e.message > 0 {
		return fmt.Sprintf("request too large: its message is %d bytes, over the limit of %s", e.message, bytesText(e.limit))
	}
	return fmt.Sprintf("request body too large: the limit is %s", bytesText(e.limit))
}

// GRPCStatus makes the error RESOURCE_EXHAUSTED, the code of gRPC's own
// limit on a message.
func (e *tooLargeError) GRPCStatus() *status.Status {
	return status.New(codes.ResourceExhausted, e.Error())
}

// kibText is bytesText for limits in KiB.
func kibText(n int64) string {
	if n >= 1<<10 && n < 1<<20 && n%(1<<10) == 0 {
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return bytesText(n)
}

func bytesText(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// limitedConn refuses a call whose request message or headers are over the
// limits. A JSON body within the limit can decode into a larger message (a
// number in details takes 2 bytes as JSON and 11 as protobuf); the gRPC
// server would refuse it with RESOURCE_EXHAUSTED, which reads as "too many
// requests". Headers past the server's limit on a header list would fail
// the call with INTERNAL.
type limitedConn struct {
	grpc.ClientConnInterface
	max        int64
	maxHeaders int64 // 0: unbounded
}

func (c limitedConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	if err := c.checkHeaders(ctx, method); err != nil {
		return err
	}
	if m, ok := args.(proto.Message); ok {
		if n := proto.Size(m); int64(n) > c.max {
			return &tooLargeError{limit: c.max, message: n}
		}
	}
	return c.ClientConnInterface.Invoke(ctx, method, args, reply, opts...)
}

func (c limitedConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	if err := c.checkHeaders(ctx, method); err != nil {
		return nil, err
	}
	return c.ClientConnInterface.NewStream(ctx, desc, method, opts...)
}

// headerReserve is room, in a call's header list, for the fields that gRPC
// and the connection's interceptors add to the metadata: :method, :scheme,
// :authority, content-type, user-agent, te, grpc-timeout,
// grpc-accept-encoding and the access log's token take some 600 bytes. The
// call's :path is counted apart.
const headerReserve = 1024

// checkHeaders returns a *headersTooLargeError when the metadata that
// grpc-gateway made of a request's headers, with the fields gRPC adds, is
// over the limit, counted as gRPC counts it before sending.
func (c limitedConn) checkHeaders(ctx context.Context, method string) error {
	if c.maxHeaders <= 0 {
		return nil
	}
	md, _ := metadata.FromOutgoingContext(ctx)
	size := int64(len(":path") + len(method) + hpackFieldOverhead + headerReserve)
	sizes := make(map[string]int64, len(md))
	for k, vs := range md {
		for _, v := range vs {
			n := len(v)
			if strings.HasSuffix(k, "-bin") { // sent in base64
				n = base64.RawStdEncoding.EncodedLen(n)
			}
			sizes[k] += int64(len(k) + n + hpackFieldOverhead)
		}
		size += sizes[k]
	}
	if size <= c.maxHeaders {
		return nil
	}
	var largest string
	for k, n := range sizes {
		if largest == "" || n > sizes[largest] || n == sizes[largest] && k < largest {
			largest = k
		}
	}
	return &headersTooLargeError{size: size, limit: c.maxHeaders, largest: headerName(largest), largestSize: sizes[largest]}
}

// hpackFieldOverhead is what HTTP/2 adds to the length of a header field's
// name and value when it bounds a header list (RFC 9113, section 6.5.2).
const hpackFieldOverhead = 32

// headerName is the HTTP header that metadata key k came from.
func headerName(k string) string {
	k = strings.TrimPrefix(k, strings.ToLower(runtime.MetadataPrefix))
	return textproto.CanonicalMIMEHeaderKey(k)
}

// headersTooLargeError is a request whose headers make a call's metadata
// larger than the gRPC server accepts.
type headersTooLargeError struct {
	size, limit int64
	largest     string // the header that takes the most
	largestSize int64
}

func (e *headersTooLargeError) Error() string {
	return fmt.Sprintf("request headers too large: they take %d bytes as the call's metadata, over the limit of %s; "+
		"the largest is %s (%d bytes): send it shorter, or leave it out", e.size, kibText(e.limit), e.largest, e.largestSize)
}

// GRPCStatus makes the error RESOURCE_EXHAUSTED, as for a message over the
// limit.
func (e *headersTooLargeError) GRPCStatus() *status.Status {
	return status.New(codes.ResourceExhausted, e.Error())
}
