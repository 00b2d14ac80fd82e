package accesslog

import (
	"context"
	"net/http"
	"time"
)

// HTTP returns next wrapped so that every request it serves is logged once
// its response is complete.
func (l *Logger) HTTP(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := l.now()
		e := &entry{}
		rw := &responseWriter{ResponseWriter: w}
		defer func() {
			l.endHops(e)
			p := recover()
			if p != nil && !rw.wroteHeader {
				// net/http answers a panicking handler by dropping the
				// connection; the client sees no status, the log a 500.
				rw.status = http.StatusInternalServerError
			}
			l.logHTTP(r, rw, e, start)
			if p != nil {
				panic(p)
			}
		}()
		next.ServeHTTP(rw, r.WithContext(context.WithValue(r.Context(), entryKey{}, e)))
	})
}

func (l *Logger) logHTTP(r *http.Request, rw *responseWriter, e *entry, start time.Time) {
	status := rw.status
	if status == 0 {
		status = http.StatusOK
	}
	if !l.enabled(levelOf(status)) {
		return
	}
	rec := record{
		start:     start,
		remote:    hostOf(r.RemoteAddr),
		method:    r.Method,
		path:      r.RequestURI,
		protocol:  r.Proto,
		status:    status,
		userAgent: r.UserAgent(),
		bytes:     rw.bytes,
		duration:  l.now().Sub(start),
	}
	if rec.path == "" { // a request made in-process rather than read from a client
		rec.path = r.URL.RequestURI()
	}
	e.mu.Lock()
	rec.user, rec.code, rec.hasCode = e.user, e.code, e.hasCode
	e.mu.Unlock()
	l.write(r.Context(), &rec)
}

// responseWriter records the status and the size of a response.
type responseWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
	bytes       int64
}

func (w *responseWriter) WriteHeader(code int) {
	if !w.wroteHeader && code >= 200 {
		w.status, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.status, w.wroteHeader = http.StatusOK, true
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Flush sends what has been written so far; the gateway flushes streamed
// responses.
func (w *responseWriter) Flush() {
	if !w.wroteHeader {
		w.status, w.wroteHeader = http.StatusOK, true
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap gives http.ResponseController the writer underneath.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
