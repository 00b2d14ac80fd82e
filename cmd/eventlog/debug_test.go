package main

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

func TestServeDebug(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:6060", "nonsense"} {
		if _, stop, err := serveDebug(addr, log); err == nil {
			stop()
			t.Errorf("serveDebug(%q) accepted a non-loopback address", addr)
		} else if !strings.Contains(err.Error(), "--debug-addr") {
			t.Errorf("serveDebug(%q) error %q does not name --debug-addr", addr, err)
		}
	}
	addr, stop, err := serveDebug("127.0.0.1:0", log)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	resp, err := http.Get("http://" + addr + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "goroutine") {
		t.Errorf("GET /debug/pprof/ = %d %.80q, want the profiles' index", resp.StatusCode, body)
	}
	// A page of another name rebound to the address, or of another origin,
	// reads nothing.
	for _, h := range []http.Header{{"Host": {"attacker.example:6060"}}, {"Origin": {"http://attacker.example"}}} {
		req, _ := http.NewRequest("GET", "http://"+addr+"/debug/pprof/cmdline", nil)
		for k, v := range h {
			req.Header[k] = v
		}
		req.Host = h.Get("Host")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET /debug/pprof/cmdline with %v = %d %.80q, want 403", h, resp.StatusCode, body)
		}
	}
}
