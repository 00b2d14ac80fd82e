// Package accesslog writes the server's access log: one line for every HTTP
// request and every gRPC call, in the nginx-style format of eventlog.Line or
// as JSON.
//
// An HTTP request is logged by the middleware Logger.HTTP, a gRPC call by the
// interceptors Logger.UnaryServerInterceptor and Logger.StreamServerInterceptor.
// A REST request that the gateway forwards to the gRPC server is one request,
// so it gets one line, the HTTP one: the gateway's connection carries
// Logger.UnaryClientInterceptor and Logger.StreamClientInterceptor, which tie
// the gRPC call to the HTTP request's line instead of giving it a line of its
// own. The caller's name (SetUser) and the gRPC status of that call then
// appear on the HTTP line.
//
// # Format
//
// The nginx format is eventlog.Line:
//
//	REMOTE - USER [TIME] "METHOD PATH PROTOCOL" STATUS "USER_AGENT" MESSAGE
//
// REMOTE is the peer's IP address, without the port. USER is the name given
// to SetUser, "-" when none. TIME is when the request arrived, in UTC.
//
// For an HTTP request, PATH is the path with its query string, STATUS the
// response status, and MESSAGE
//
//	[grpc=CODE ]bytes=BYTES duration_ms=MILLISECONDS
//
// where grpc= is the status code of the gRPC call that served the request,
// when there was one, bytes= counts the response body and duration_ms= is
// the time to the end of the response, with microsecond precision.
//
// For a gRPC call, the request line is what the call is on the wire:
// "POST /eventlog.v1.EventLogService/LogEvent HTTP/2". STATUS is the HTTP
// status that the call's gRPC code maps to (the table of grpc-gateway and of
// google.rpc.Code: OK 200, INVALID_ARGUMENT 400, NOT_FOUND 404, UNAVAILABLE
// 503, ...), so that the same tools read both kinds of line; the gRPC code
// itself is in MESSAGE:
//
//	grpc=CODE duration_ms=MILLISECONDS
//
// The JSON format is one object per line with the same fields: time, level,
// msg ("HTTP request" or "gRPC call"), remote_addr, user, method, path,
// protocol, status, user_agent, bytes (HTTP only), grpc_code (when there is
// one) and duration_ms.
//
// # Levels
//
// A request or call with a status from 400 to 599 is logged at
// slog.LevelWarn, any other at slog.LevelInfo; lines below the configured
// level are not written.
package accesslog

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eventlog/eventlog"
	"google.golang.org/grpc/codes"
)

// Format says how lines are written.
type Format uint8

// The formats.
const (
	Nginx Format = iota // eventlog.Line, one per line
	JSON                // one JSON object per line
)

// Config configures a Logger.
type Config struct {
	// Out receives the lines: whole lines, several in one Write when
	// calls end faster than Out takes them, and never two Writes at once.
	Out    io.Writer
	Format Format
	// Level is the least level written; slog.LevelInfo when nil.
	Level slog.Leveler
	// ErrorLog reports a failure to write to Out, once until writing works
	// again; slog.Default() when nil.
	ErrorLog *slog.Logger
	// Now returns the current time; time.Now when nil. Tests set it.
	Now func() time.Time
	// FlushEvery, when positive, takes the Writes off the calls: lines
	// wait in memory and go out in one Write at that interval (or once
	// 1 MiB is waiting, written by the call that fills it), so a line is
	// at most that late. Close writes what is left. When 0, each call
	// writes its line before it returns (see Logger).
	FlushEvery time.Duration
}

// Logger writes the access log. It is safe for concurrent use.
//
// A line is added to a buffer of lines waiting to be written. When no
// Write to Out is under way, the call that added the line writes the
// buffer itself, before it returns; otherwise it returns at once, and the
// call that is writing takes the line with its next Write. Under load, the
// lines of many calls go out in one Write, and only one call at a time
// waits for Out; a lone call has its line written before it returns, so
// nothing is left behind when the server stops.
type Logger struct {
	out     io.Writer
	mu      sync.Mutex // guards pending, spare and writing
	pending []byte     // lines waiting for the next Write
	spare   []byte     // the buffer of the last Write, for reuse
	writing bool       // a call is writing; it takes pending when done
	room    sync.Cond  // signalled when pending was taken (on mu)
	json    slog.Handler
	level   slog.Leveler
	errLog  *slog.Logger
	failing atomic.Bool
	now     func() time.Time
	hops    sync.Map // hop token -> *entry of the HTTP request waiting on the call
	// nhops counts the entries in hops: while it is 0, no call can be a
	// hop, and calls skip looking for the token in their metadata.
	nhops atomic.Int64
	bufs  sync.Pool
	// With FlushEvery: the flusher's stop and its end.
	flushEvery time.Duration
	stop, done chan struct{}
	closeOnce  sync.Once
}

// New returns a Logger writing to cfg.Out.
func New(cfg Config) *Logger {
	l := &Logger{
		out:    cfg.Out,
		level:  cfg.Level,
		errLog: cfg.ErrorLog,
		now:    cfg.Now,
	}
	if l.level == nil {
		l.level = slog.LevelInfo
	}
	if l.errLog == nil {
		l.errLog = slog.Default()
	}
	if l.now == nil {
		l.now = time.Now
	}
	if cfg.Format == JSON {
		l.json = slog.NewJSONHandler(errorReporter{l}, &slog.HandlerOptions{Level: l.level})
	}
	l.bufs.New = func() any {
		b := make([]byte, 0, 256)
		return &b
	}
	l.room.L = &l.mu
	if cfg.FlushEvery > 0 {
		l.flushEvery = cfg.FlushEvery
		l.stop, l.done = make(chan struct{}), make(chan struct{})
		go l.flusher()
	}
	return l
}

// flusher writes the waiting lines every flushEvery until Close.
func (l *Logger) flusher() {
	defer close(l.done)
	t := time.NewTicker(l.flushEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			l.Flush()
		case <-l.stop:
			l.Flush()
			return
		}
	}
}

// Flush writes the lines waiting, unless a call is writing already (it
// takes them).
func (l *Logger) Flush() {
	l.mu.Lock()
	if l.writing || len(l.pending) == 0 {
		l.mu.Unlock()
		return
	}
	l.drainLocked()
}

// Close writes the lines still waiting and stops the flusher; lines
// logged after it are written by their calls. It does not close Out.
func (l *Logger) Close() {
	l.closeOnce.Do(func() {
		if l.stop != nil {
			close(l.stop)
			<-l.done
		}
		l.mu.Lock()
		l.flushEvery = 0
		l.mu.Unlock()
		l.Flush()
	})
}

// maxPending bounds the lines waiting for a Write: when Out is slower than
// the calls, further calls wait for room rather than holding more.
const maxPending = 1 << 20

// maxSpare bounds the buffer kept for reuse between Writes.
const maxSpare = 64 << 10

// emit writes line, whole, with the lines of other calls (see Logger). It
// reports the outcome of the Writes it makes.
func (l *Logger) emit(line []byte) {
	l.mu.Lock()
	for len(l.pending) >= maxPending && l.writing {
		l.room.Wait()
	}
	l.pending = append(l.pending, line...)
	if l.writing || (l.flushEvery > 0 && len(l.pending) < maxPending) {
		l.mu.Unlock()
		return
	}
	l.drainLocked()
}

// drainLocked writes the waiting lines, and those added meanwhile, with l.mu
// held on entry; it unlocks it.
func (l *Logger) drainLocked() {
	l.writing = true
	for len(l.pending) > 0 {
		buf := l.pending
		l.pending, l.spare = l.spare[:0], nil
		l.room.Broadcast()
		l.mu.Unlock()
		_, err := l.out.Write(buf)
		l.reportWrite(err)
		l.mu.Lock()
		if cap(buf) <= maxSpare {
			l.spare = buf[:0]
		}
	}
	l.writing = false
	l.mu.Unlock()
}

// entry is what the access log learns about a request while it runs.
type entry struct {
	mu      sync.Mutex
	user    string
	code    codes.Code
	hasCode bool
	hop     string // token under which the entry is in Logger.hops
}

func (e *entry) setCode(c codes.Code) {
	e.mu.Lock()
	e.code, e.hasCode = c, true
	e.mu.Unlock()
}

type entryKey struct{}

func entryFrom(ctx context.Context) *entry {
	e, _ := ctx.Value(entryKey{}).(*entry)
	return e
}

// SetUser records name as the caller of the request or call that ctx
// belongs to, for its access-log line: the code that authenticates callers
// calls it with the name of the caller's API key. It does nothing when ctx
// belongs to no logged request (the access log is off).
func SetUser(ctx context.Context, name string) {
	if e := entryFrom(ctx); e != nil {
		e.mu.Lock()
		e.user = name
		e.mu.Unlock()
	}
}

// User returns the name given to SetUser for the request ctx belongs to,
// or "".
func User(ctx context.Context) string {
	if e := entryFrom(ctx); e != nil {
		e.mu.Lock()
		defer e.mu.Unlock()
		return e.user
	}
	return ""
}

// newHop registers e under a new random token, for the gRPC call that a
// gateway makes on behalf of e's HTTP request. The token is unguessable, so
// a caller from outside cannot attach its call to somebody else's line.
func (l *Logger) newHop(e *entry) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.hop == "" {
		e.hop = rand.Text()
		l.nhops.Add(1)
		l.hops.Store(e.hop, e)
	}
	return e.hop
}

// endHops removes e from the hops when it was registered.
func (l *Logger) endHops(e *entry) {
	e.mu.Lock()
	hop := e.hop
	e.hop = ""
	e.mu.Unlock()
	if hop != "" {
		l.hops.Delete(hop)
		l.nhops.Add(-1)
	}
}

// record is one line, before formatting.
type record struct {
	start     time.Time
	remote    string
	user      string
	method    string
	path      string
	protocol  string
	status    int
	userAgent string
	bytes     int64 // -1 for a gRPC call
	code      codes.Code
	hasCode   bool
	duration  time.Duration
}

func levelOf(status int) slog.Level {
	if status >= 400 && status <= 599 {
		return slog.LevelWarn
	}
	return slog.LevelInfo
}

// enabled reports whether a line at level is written.
func (l *Logger) enabled(level slog.Level) bool {
	return level >= l.level.Level()
}

// write formats r and writes it.
func (l *Logger) write(ctx context.Context, r *record) {
	level := levelOf(r.status)
	if l.json != nil {
		l.writeJSON(ctx, level, r)
		return
	}
	bp := l.bufs.Get().(*[]byte)
	// MESSAGE is last on the line and never empty: the line is formatted
	// with an empty one ("-") and the message appended in its place,
	// without a string of its own. It holds nothing that needs escaping.
	b := eventlog.Line{
		RemoteAddr: r.remote,
		User:       r.user,
		Time:       r.start,
		Method:     r.method,
		Path:       r.path,
		Protocol:   r.protocol,
		Status:     r.status,
		UserAgent:  r.userAgent,
	}.AppendTo((*bp)[:0])
	b = r.appendMessage(b[:len(b)-1])
	b = append(b, '\n')
	l.emit(b)
	if cap(b) <= 64<<10 { // keep the pool's buffers small
		*bp = b
		l.bufs.Put(bp)
	}
}

// appendMessage appends the MESSAGE field of the nginx line.
func (r *record) appendMessage(b []byte) []byte {
	if r.hasCode {
		b = append(b, "grpc="...)
		b = append(b, r.code.String()...)
		b = append(b, ' ')
	}
	if r.bytes >= 0 {
		b = append(b, "bytes="...)
		b = strconv.AppendInt(b, r.bytes, 10)
		b = append(b, ' ')
	}
	b = append(b, "duration_ms="...)
	return strconv.AppendFloat(b, durationMS(r.duration), 'f', 3, 64)
}

// durationMS is d in milliseconds, rounded to the microsecond.
func durationMS(d time.Duration) float64 {
	return float64(d.Round(time.Microsecond).Microseconds()) / 1000
}

func (l *Logger) writeJSON(ctx context.Context, level slog.Level, r *record) {
	msg := "HTTP request"
	if r.bytes < 0 {
		msg = "gRPC call"
	}
	rec := slog.NewRecord(r.start, level, msg, 0)
	rec.AddAttrs(
		slog.String("remote_addr", r.remote),
		slog.String("user", r.user),
		slog.String("method", r.method),
		slog.String("path", r.path),
		slog.String("protocol", r.protocol),
		slog.Int("status", r.status),
		slog.String("user_agent", r.userAgent),
	)
	if r.bytes >= 0 {
		rec.AddAttrs(slog.Int64("bytes", r.bytes))
	}
	if r.hasCode {
		rec.AddAttrs(slog.String("grpc_code", r.code.String()))
	}
	rec.AddAttrs(slog.Float64("duration_ms", durationMS(r.duration)))
	// The lines go out through errorReporter, which reports failures.
	_ = l.json.Handle(ctx, rec)
}

// errorReporter is the JSON handler's writer: it hands each line to emit,
// which writes it with the others and reports failures.
type errorReporter struct{ l *Logger }

func (w errorReporter) Write(p []byte) (int, error) {
	w.l.emit(p)
	return len(p), nil
}

// reportWrite logs the first of a run of write failures, and the end of
// the run.
func (l *Logger) reportWrite(err error) {
	if err != nil {
		if !l.failing.Swap(true) {
			l.errLog.Error("access log: write failed; lines are lost until it works again", "err", err)
		}
		return
	}
	if l.failing.Load() && l.failing.Swap(false) {
		l.errLog.Info("access log: writing again")
	}
}

// remoteHost returns the host part of a caller's address: for TCP, its IP
// address, formatted once rather than with its port and then cut.
func remoteHost(a net.Addr) string {
	if t, ok := a.(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(t.IP); ok {
			return ip.Unmap().WithZone(t.Zone).String()
		}
	}
	return hostOf(a.String())
}

// hostOf returns the host part of a "host:port" address, or addr itself
// when it has no port.
func hostOf(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// HTTPStatus returns the HTTP status that a gRPC code maps to, as
// grpc-gateway and google.rpc.Code map them.
func HTTPStatus(c codes.Code) int {
	switch c {
	case codes.OK:
		return http.StatusOK
	case codes.Canceled:
		return 499 // client closed request, as nginx logs it
	case codes.InvalidArgument, codes.FailedPrecondition, codes.OutOfRange:
		return http.StatusBadRequest
	case codes.DeadlineExceeded:
		return http.StatusGatewayTimeout
	case codes.NotFound:
		return http.StatusNotFound
	case codes.AlreadyExists, codes.Aborted:
		return http.StatusConflict
	case codes.PermissionDenied:
		return http.StatusForbidden
	case codes.Unauthenticated:
		return http.StatusUnauthorized
	case codes.ResourceExhausted:
		return http.StatusTooManyRequests
	case codes.Unimplemented:
		return http.StatusNotImplemented
	case codes.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError // Unknown, Internal, DataLoss and anything new
}
