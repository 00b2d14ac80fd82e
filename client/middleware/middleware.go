// Package middleware logs the requests a service serves to the audit log,
// as CRADLE's views did: net/http middleware (Handler) and gRPC server
// interceptors (UnaryServerInterceptor, StreamServerInterceptor).
//
// Rules say which requests to record: an HTTP rule names a route pattern of
// net/http's ServeMux ("POST /notes/{id}"), a gRPC rule a full method name;
// each gives the event type, the content type and where the object id
// comes from. Each entry carries the request: remote address, method,
// path, protocol, status, user agent and request id; the actor comes from
// a function the service supplies. Failed requests (HTTP status 400 and
// above, or a gRPC status other than OK) are logged too when LogFailures is
// set.
//
// Entries go through a client.Logger: the request does not wait for the
// audit log unless the Logger's queue is full and configured to Block.
package middleware

import (
	"context"
	"net/http"

	"github.com/eventlog/eventlog"
)

// Logger is where entries go; *client.Logger is one.
type Logger interface {
	Log(ctx context.Context, w eventlog.Write) error
}

// HTTPRule records the requests that match Pattern.
type HTTPRule struct {
	// Pattern is a route pattern of net/http's ServeMux, method included:
	// "POST /notes", "DELETE /notes/{id}".
	Pattern string
	// Type is the entry's event type.
	Type eventlog.EventType
	// ContentType is the type of the object acted on ("Note").
	ContentType string
	// ObjectID names the path wildcard that holds the object's id ("id");
	// empty when the route has none.
	ObjectID string
}

// HTTPConfig configures Handler.
type HTTPConfig struct {
	Logger Logger
	Rules  []HTTPRule
	// Actor returns who makes the request (from its session or token);
	// nil records no actor.
	Actor func(*http.Request) eventlog.Actor
	// LogFailures also records requests of a rule that fail (status 400
	// and above; by default only successes are recorded), and requests
	// that match no rule and fail, as FailureType on content type
	// "http.request" with the path as object id.
	LogFailures bool
	// FailureType is the event type of a failed request that matches no
	// rule; eventlog.TypeFetch when unspecified.
	FailureType eventlog.EventType
	// RequestIDHeader is the header that carries a request id;
	// X-Request-Id when empty.
	RequestIDHeader string
	// OnError is told when an entry could not be queued (the Logger is
	// closed, or full and dropping).
	OnError func(r *http.Request, err error)
}

// Handler returns next wrapped so that the requests cfg's rules name are
// logged when they complete.
func Handler(cfg HTTPConfig, next http.Handler) http.Handler {
	if cfg.RequestIDHeader == "" {
		cfg.RequestIDHeader = "X-Request-Id"
	}
	if cfg.FailureType == eventlog.TypeUnspecified {
		cfg.FailureType = eventlog.TypeFetch
	}
	// A ServeMux of the rules' patterns finds the rule of a request as the
	// service's own mux does, with the path values of its wildcards.
	rules := http.NewServeMux()
	for i := range cfg.Rules {
		rule := &cfg.Rules[i]
		rules.Handle(rule.Pattern, matched{rule})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rule, values := match(rules, r)
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		status := sw.status
		if status == 0 {
			status = http.StatusOK
		}
		var e eventlog.Event
		switch {
		case rule != nil && (status < 400 || cfg.LogFailures):
			e = eventlog.Event{Type: rule.Type, ContentType: rule.ContentType}
			if rule.ObjectID != "" {
				e.ObjectID = values(rule.ObjectID)
			}
		case rule == nil && status >= 400 && cfg.LogFailures:
			e = eventlog.Event{Type: cfg.FailureType, ContentType: "http.request", ObjectID: r.URL.Path}
		default:
			return
		}
		if cfg.Actor != nil {
			e.Actor = cfg.Actor(r)
		}
		e.Request = eventlog.Request{
			RemoteAddr: r.RemoteAddr,
			Method:     r.Method,
			Path:       r.URL.RequestURI(),
			Protocol:   r.Proto,
			Status:     int32(status),
			UserAgent:  r.UserAgent(),
			RequestID:  r.Header.Get(cfg.RequestIDHeader),
		}
		// The entry outlives the request: its context must not cancel
		// the queueing.
		if err := cfg.Logger.Log(context.WithoutCancel(r.Context()), eventlog.Write{Event: e}); err != nil && cfg.OnError != nil {
			cfg.OnError(r, err)
		}
	})
}

// matched is the handler of a rule in the rules' ServeMux: serving a
// request, it records the rule and the request (which holds the path
// values) in the capture its context carries.
type matched struct{ rule *HTTPRule }

type captureKey struct{}

type capture struct {
	rule *HTTPRule
	req  *http.Request
}

func (m matched) ServeHTTP(_ http.ResponseWriter, r *http.Request) {
	if c, ok := r.Context().Value(captureKey{}).(*capture); ok {
		c.rule, c.req = m.rule, r
	}
}

// match returns the rule of r, if any, and its path values.
func match(rules *http.ServeMux, r *http.Request) (*HTTPRule, func(string) string) {
	c := &capture{}
	rules.ServeHTTP(discard{}, r.WithContext(context.WithValue(r.Context(), captureKey{}, c)))
	if c.rule == nil {
		return nil, nil
	}
	return c.rule, c.req.PathValue
}

// statusWriter remembers the status a handler writes.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the writer's Flush and
// deadlines.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// discard is a ResponseWriter that keeps nothing.
type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}
