package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/eventlog/eventlog/client"
	"google.golang.org/grpc/status"
)

// serveDebug serves Go's profiler on addr, which must be a loopback
// address: profiles show the server's internals and the handler has no
// authentication. It returns the address it listens on and a function that
// stops it.
func serveDebug(addr string, log *slog.Logger) (bound string, stop func(), err error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return "", nil, usagef("--debug-addr %q: %v (want HOST:PORT, such as 127.0.0.1:6060)", addr, err)
	}
	if !client.IsLoopback(addr) {
		return "", nil, usagef("--debug-addr %q is not a loopback address: the profiler has no authentication; use one such as 127.0.0.1:6060", addr)
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("listen on --debug-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	// A page that rebinds a name to this address could read the profiles,
	// and the command line among them (a --db password): only localhost
	// and addresses are served, and no other origin.
	guard := &webGuard{next: mux, checkHost: true, fail: func(w http.ResponseWriter, _ *http.Request, code int, err error) {
		http.Error(w, status.Convert(err).Message(), code)
	}}
	hs := &http.Server{Handler: guard, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := hs.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("debug server", "err", err)
		}
	}()
	log.Info("serving the profiler", "addr", lis.Addr().String(), "path", "/debug/pprof/")
	return lis.Addr().String(), func() { hs.Close() }, nil
}
