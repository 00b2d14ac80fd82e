package console_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/eventlog/eventlog/console"
)

func TestHandler(t *testing.T) {
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
		io.WriteString(w, "api "+r.Method+" "+r.URL.Path)
	})
	h := console.Handler(api)
	for _, tt := range []struct {
		method, path string
		status       int
		location     string // for redirects
		body         string // a substring
		contentType  string
		csp          bool
	}{
		{"GET", "/", 302, "/ui/", "", "", false},
		{"HEAD", "/", 302, "/ui/", "", "", false},
		{"GET", "/ui", 301, "/ui/", "", "", false},
		{"POST", "/", 418, "", "api POST /", "", false},
		{"GET", "/v1/events", 418, "", "api GET /v1/events", "", false},
		{"GET", "/healthz", 418, "", "api GET /healthz", "", false},
		{"GET", "/ui/", 200, "", `<script src="/ui/assets/app.js" defer></script>`, "text/html; charset=utf-8", true},
		{"GET", "/ui/entry", 200, "", "<main", "text/html; charset=utf-8", true},
		{"GET", "/ui/live", 200, "", "<main", "text/html; charset=utf-8", true},
		{"GET", "/ui/timeline", 200, "", "<main", "text/html; charset=utf-8", true},
		{"GET", "/ui/chain", 200, "", "<main", "text/html; charset=utf-8", true},
		{"GET", "/ui/assets/app.js", 200, "", `"use strict"`, "text/javascript; charset=utf-8", true},
		{"GET", "/ui/assets/app.css", 200, "", "prefers-color-scheme: dark", "text/css; charset=utf-8", true},
		{"GET", "/ui/assets/icon.svg", 200, "", "<svg", "image/svg+xml", true},
		{"GET", "/ui/nope", 404, "", "", "", true},
		{"GET", "/ui/assets/nope.js", 404, "", "", "", true},
		{"GET", "/ui/index.html", 404, "", "", "", true},
		{"POST", "/ui/", 405, "", "read-only", "", true},
	} {
		r := httptest.NewRequest(tt.method, tt.path, strings.NewReader(""))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tt.status || w.Header().Get("Location") != tt.location || !strings.Contains(w.Body.String(), tt.body) {
			t.Errorf("%s %s = %d (Location %q) %.80q, want %d (Location %q) with %q",
				tt.method, tt.path, w.Code, w.Header().Get("Location"), w.Body.String(), tt.status, tt.location, tt.body)
		}
		if tt.contentType != "" && w.Header().Get("Content-Type") != tt.contentType {
			t.Errorf("%s %s Content-Type = %q, want %q", tt.method, tt.path, w.Header().Get("Content-Type"), tt.contentType)
		}
		if got := w.Header().Get("Content-Security-Policy"); (got == console.CSP) != tt.csp {
			t.Errorf("%s %s CSP = %q, want it: %v", tt.method, tt.path, got, tt.csp)
		}
	}
	// The document has no inline script or style for the CSP to refuse.
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/ui/", nil))
	doc := w.Body.String()
	for _, inline := range []string{"<script>", "<style", "style=", "onclick=", "onload=", "javascript:"} {
		if strings.Contains(doc, inline) {
			t.Errorf("the document has inline script or style (%s):\n%s", inline, doc)
		}
	}
}
