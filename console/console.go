// Package console is the read-only web console: a few pages, served under
// /ui/, that read the log through the REST API of the same server (list,
// entry, object and actor history, live, timeline, chain). Its assets are
// embedded in the binary and nothing is loaded from another origin; every
// page is served with a Content-Security-Policy that allows scripts, styles
// and connections to the server's own origin only, and no inline script.
//
// The console holds no credentials and calls nothing the browser could not
// call itself: with API keys, it asks for a key once, keeps it in the tab's
// sessionStorage and sends it as the Authorization of its API calls, which
// need the read scope. It never writes.
package console

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed static
var static embed.FS

// Prefix is where the console is served.
const Prefix = "/ui/"

// CSP is the Content-Security-Policy of every response of the console.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// pages are the paths of the console that show the application; each is
// the same document, which renders the page its path names.
var pages = map[string]bool{
	"":         true,
	"entry":    true,
	"live":     true,
	"timeline": true,
	"chain":    true,
}

// Handler serves the console under Prefix, redirects / to it, and passes
// every other request to api.
func Handler(api http.Handler) http.Handler {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err)
	}
	index, err := fs.ReadFile(sub, "index.html")
	if err != nil {
		panic(err)
	}
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				api.ServeHTTP(w, r)
				return
			}
			http.Redirect(w, r, Prefix, http.StatusFound)
			return
		}
		if r.URL.Path+"/" == Prefix {
			http.Redirect(w, r, Prefix, http.StatusMovedPermanently)
			return
		}
		rest, ok := strings.CutPrefix(r.URL.Path, Prefix)
		if !ok {
			api.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", CSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "the console is read-only", http.StatusMethodNotAllowed)
			return
		}
		if pages[rest] {
			h.Set("Content-Type", "text/html; charset=utf-8")
			h.Set("Cache-Control", "no-cache")
			w.Write(index)
			return
		}
		if !strings.HasPrefix(rest, "assets/") {
			http.NotFound(w, r)
			return
		}
		h.Set("Cache-Control", "no-cache")
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/" + rest
		files.ServeHTTP(w, r2)
	})
}
