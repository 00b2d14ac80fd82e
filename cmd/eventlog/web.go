package main

import (
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// webGuard keeps web pages in a browser from using the REST API behind the
// user's back. Without API keys, anyone who reaches the port may read and
// write the log, and a browser on the same machine reaches it for any page
// it shows:
//
//   - A page of another origin can send requests, and some of them (a form,
//     text/plain) without asking the server first (a CORS preflight). A
//     request whose Origin header is not the server's own is refused, unless
//     --allow-origin names it; for those it names, preflights are answered.
//   - A page can make its own name resolve to 127.0.0.1 (DNS rebinding): its
//     requests are then same-origin for the browser, and it can read the
//     answers. They still carry its name in the Host header, so a request is
//     refused unless its Host is one the server answers to.
//
// The gateway refuses request bodies that are not JSON by their Content-Type.
// (net/http's CrossOriginProtection would refuse only writes, leaving a
// page free to open streams, and answers no preflights.)
//
// The Host check is made without API keys (the server then listens on
// loopback only), and whenever --http-host is given. With API keys and no
// --http-host any Host is served: a page that rebinds a name cannot send a
// key, so the check would protect only /healthz, /readyz and
// /openapi.json, and a server behind a proxy or a load balancer is reached
// by names that it cannot know.
type webGuard struct {
	next http.Handler
	// fail answers a refused request with an error in the gateway's form.
	fail func(w http.ResponseWriter, r *http.Request, httpStatus int, err error)
	// checkHost says whether hosts are checked; hosts are the names that
	// --http-host adds to localhost.
	checkHost bool
	hosts     []string
	origins   []string // --allow-origin, as scheme://host[:port]
}

// Answers to a CORS preflight of an allowed origin.
const (
	corsMethods = "GET, POST"
	corsHeaders = "Authorization, Content-Type"
	corsMaxAge  = "600"
)

func (g *webGuard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if g.checkHost && !g.hostServed(r.Host) {
		name := hostName(r.Host)
		g.fail(w, r, http.StatusForbidden, status.Errorf(codes.PermissionDenied,
			"host %q is not served here; start the server with --http-host %s to allow it", name, name))
		return
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		g.next.ServeHTTP(w, r)
		return
	}
	w.Header().Add("Vary", "Origin")
	switch {
	case sameOrigin(origin, r.Host):
	case g.originAllowed(origin):
		w.Header().Set("Access-Control-Allow-Origin", origin)
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h := w.Header()
			h.Set("Access-Control-Allow-Methods", corsMethods)
			h.Set("Access-Control-Allow-Headers", corsHeaders)
			h.Set("Access-Control-Max-Age", corsMaxAge)
			w.WriteHeader(http.StatusNoContent)
			return
		}
	default:
		g.fail(w, r, http.StatusForbidden, status.Errorf(codes.PermissionDenied,
			"requests from pages of origin %q are refused; start the server with --allow-origin %s to allow them", origin, origin))
		return
	}
	g.next.ServeHTTP(w, r)
}

// hostServed reports whether host, a Host header, names this server:
// localhost, an IP address, or a name given to --http-host, with any port.
// Every IP address passes: DNS rebinding needs a name, and a request that
// names an address comes from a page of that address, whose origin the
// Origin check compares.
func (g *webGuard) hostServed(host string) bool {
	if host == "" { // HTTP/1.0 without a Host: not a browser
		return true
	}
	name := hostName(host)
	return name == "localhost" || net.ParseIP(name) != nil || slices.Contains(g.hosts, name)
}

// hostName is the name in a Host header: without the port and the brackets
// of an IPv6 address, in lower case, without a final dot.
func hostName(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	return strings.TrimSuffix(strings.ToLower(host), ".")
}

// sameOrigin reports whether origin, an Origin header, is a page of the
// server that host, the request's Host header, names.
func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, host)
}

func (g *webGuard) originAllowed(origin string) bool {
	return slices.Contains(g.origins, strings.ToLower(origin))
}

// parseHosts checks the names given to --http-host and returns them as
// hostServed compares them.
func parseHosts(list []string) ([]string, error) {
	var out []string
	for _, h := range list {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		name := strings.TrimSuffix(strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")), ".")
		if net.ParseIP(name) == nil && !validHostName(name) {
			return nil, usagef("--http-host %q: want a host name as clients write it in URLs, such as eventlog.example.com, "+
				"without a scheme or a port", h)
		}
		out = append(out, name)
	}
	return out, nil
}

// validHostName reports whether name is a DNS name: letters, digits,
// hyphens and underscores, in labels between dots.
func validHostName(name string) bool {
	for label := range strings.SplitSeq(name, ".") {
		if label == "" || strings.Trim(label, "abcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			return false
		}
	}
	return name != ""
}

// parseOrigins checks the origins given to --allow-origin and returns them
// as originAllowed compares them.
func parseOrigins(list []string) ([]string, error) {
	var out []string
	for _, o := range list {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
			return nil, usagef("--allow-origin %q: want an origin as browsers send it, SCHEME://HOST[:PORT], "+
				"such as https://dashboard.example.com", o)
		}
		out = append(out, strings.ToLower(u.Scheme+"://"+u.Host))
	}
	return out, nil
}
