package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	jsonv2 "github.com/chromedp/cdproto/cdp/jsonv2"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/eventlog/eventlog/console"
	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
)

// The console's tests drive a real browser (Debian's chromium) through
// chromedp against a real server. Without chromium they skip, except under
// CI=true, where they fail: CI installs it (.ci/run).

// findChromium returns the path of a Chromium or Chrome binary.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed: the browser tests of the console cannot run (apt-get install chromium)")
	}
	t.Skip("chromium is not installed: skipping the browser tests of the console (apt-get install chromium to run them)")
	return ""
}

// browser is one headless Chromium tab, recording console errors, failed
// scripts and policy violations.
type browser struct {
	t     *testing.T
	ctx   context.Context
	log   *consoleLog
	shots string // directory for screenshots
}

// consoleLog holds what the browser reported.
type consoleLog struct {
	mu     sync.Mutex
	errors []string
}

// in returns b reporting to t, a subtest.
func (b *browser) in(t *testing.T) *browser {
	return &browser{t: t, ctx: b.ctx, log: b.log, shots: b.shots}
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(findChromium(t)),
		chromedp.NoSandbox, // tests run as root in CI
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 4*time.Minute)
	b := &browser{t: t, ctx: ctx, log: &consoleLog{}, shots: os.Getenv("EVENTLOG_SCREENSHOTS")}
	if b.shots == "" {
		b.shots = t.TempDir()
	}
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start chromium: %v", err)
	}
	msgs := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range msgs {
			if err != nil {
				return
			}
			switch m.Type {
			case chromedp.ConsoleError, chromedp.ConsoleWarning, chromedp.ConsoleException:
				b.log.mu.Lock()
				b.log.errors = append(b.log.errors, fmt.Sprintf("%s: %s %s", m.Type, m.Text, m.URL))
				b.log.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc(); <-done })
	return b
}

func (b *browser) run(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("browser: %v\nerrors so far: %v", err, b.takeErrors())
	}
}

// cdp runs a protocol command.
func cdpCall[P, R any](b *browser, cmd cdp.Command[P, R], params P) {
	b.t.Helper()
	if _, err := chromedp.Call(b.ctx, cmd, params); err != nil {
		b.t.Fatalf("browser: %s: %v", cmd.Method, err)
	}
}

// takeErrors returns the errors recorded since the last call, leaving out
// the failed requests that a test causes on purpose (stated by allowed).
func (b *browser) takeErrors(allowed ...string) []string {
	b.log.mu.Lock()
	defer b.log.mu.Unlock()
	var out []string
next:
	for _, e := range b.log.errors {
		for _, a := range allowed {
			if strings.Contains(e, a) {
				continue next
			}
		}
		out = append(out, e)
	}
	b.log.errors = nil
	return out
}

// noErrors fails the test if the page logged an error: a script refused by
// the CSP, an exception, a failed request.
func (b *browser) noErrors(page string, allowed ...string) {
	b.t.Helper()
	if errs := b.takeErrors(allowed...); len(errs) > 0 {
		b.t.Errorf("%s: the browser reported errors:\n%s", page, strings.Join(errs, "\n"))
	}
}

// waitFor waits until the JavaScript expression cond is true.
func (b *browser) waitFor(cond string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		html, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector("main").innerText`))
		b.t.Fatalf("waiting for %s: %v\npage shows:\n%s\nerrors: %v", cond, err, html, b.takeErrors())
	}
}

func (b *browser) eval(expr string, out any) {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[jsonv2.Value](expr))
	if err != nil {
		html, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`location.href + "\n" + document.querySelector("main").innerText`))
		b.t.Fatalf("evaluate %s: %v\npage shows: %s\nerrors: %v", expr, err, html, b.takeErrors())
	}
	if err := json.Unmarshal(v, out); err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
}

func (b *browser) screenshot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// open loads url and waits until the console has rendered page.
func (b *browser) open(url, page string) {
	b.t.Helper()
	b.run(chromedp.Navigate(url))
	b.waitFor(`document.body.dataset.ready === "` + page + `"`)
	b.noLeftovers()
}

// noLeftovers fails the test if the page shows a value that was meant to
// be left out.
func (b *browser) noLeftovers() {
	b.t.Helper()
	var text string
	b.eval(`document.querySelector("main").innerText`, &text)
	for _, w := range strings.Fields(text) {
		if w == "null" || w == "undefined" || w == "NaN" || strings.Contains(w, "[object") {
			b.t.Errorf("the page shows %q:\n%s", w, text)
			return
		}
	}
}

// click clicks the element sel finds and waits until page is rendered.
func (b *browser) click(sel, page string) {
	b.t.Helper()
	var ok bool
	b.eval(`document.body.dataset.ready = "clicking"; true`, &ok)
	b.run(chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
	b.waitFor(`document.body.dataset.ready === "` + page + `"`)
	b.noLeftovers()
}

// rowIDs returns the ids of the entries the page lists, in order.
func (b *browser) rowIDs(sel string) []string {
	b.t.Helper()
	var ids []string
	b.eval(`[...document.querySelectorAll("`+sel+` tr[data-id]")].map(r => r.dataset.id)`, &ids)
	return ids
}

// cutProxy forwards TCP connections to a server, and can cut them all.
type cutProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { io.Copy(s, c); s.Close() }()
			go func() { io.Copy(c, s); c.Close() }()
		}
	}()
	return p
}

func (p *cutProxy) url() string { return "http://" + p.ln.Addr().String() }

// cut closes every connection open through the proxy.
func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// consoleFixture writes the log the console tests read: 120 entries by
// alice, bob and carol on ten notes, then an edit with before and after
// values, a request context and two propagated children. It returns the
// id of the edit.
func consoleFixture(t *testing.T, c eventlogv1.EventLogServiceClient) (edit int64, children []int64) {
	t.Helper()
	ctx := context.Background()
	types := []eventlogv1.EventType{eventlogv1.EventType_EVENT_TYPE_CREATE, eventlogv1.EventType_EVENT_TYPE_EDIT,
		eventlogv1.EventType_EVENT_TYPE_FETCH, eventlogv1.EventType_EVENT_TYPE_DELETE}
	actors := []string{"alice", "bob", "carol"}
	var reqs []*eventlogv1.LogEventRequest
	for i := range 120 {
		e := newEvent(types[i%4], actors[i%3], "Note", fmt.Sprint(i%10))
		e.ObjectRepr = fmt.Sprintf("Note %d", i%10)
		reqs = append(reqs, &eventlogv1.LogEventRequest{Event: e})
	}
	if _, err := c.LogEvents(ctx, &eventlogv1.LogEventsRequest{Requests: reqs}); err != nil {
		t.Fatal(err)
	}
	e := newEvent(eventlogv1.EventType_EVENT_TYPE_EDIT, "alice", "Note", "7")
	e.ObjectRepr = "Quarterly report"
	e.Details = details(t, map[string]any{
		"before": map[string]any{"title": "Draft report", "tags": []any{"q1"}},
		"after":  map[string]any{"title": "Quarterly report", "tags": []any{"q1"}},
	})
	e.Request = &eventlogv1.RequestContext{RemoteAddr: "203.0.113.7", Method: "PATCH", Path: "/notes/7", Protocol: "HTTP/1.1", Status: 200, UserAgent: "Mozilla/5.0"}
	resp, err := c.LogEvent(ctx, &eventlogv1.LogEventRequest{Event: e,
		Related: []*eventlogv1.ObjectRef{{ContentType: "Entity", ObjectId: "e-1"}, {ContentType: "Entity", ObjectId: "e-2"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range resp.GetChildren() {
		children = append(children, ch.GetId())
	}
	if len(children) != 2 {
		t.Fatalf("the edit propagated to %d entries, want 2", len(children))
	}
	return resp.GetEvent().GetId(), children
}

func logN(t *testing.T, c eventlogv1.EventLogServiceClient, n int, actor string) []string {
	t.Helper()
	var ids []string
	for range n {
		resp, err := c.LogEvent(context.Background(), &eventlogv1.LogEventRequest{
			Event: newEvent(eventlogv1.EventType_EVENT_TYPE_LOGIN, actor, "User", actor)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, fmt.Sprint(resp.GetEvent().GetId()))
	}
	return ids
}

func TestConsoleInBrowser(t *testing.T) {
	b := newBrowser(t)
	ts := startServer(t, filepath.Join(t.TempDir(), "console.db"))
	c := eventlogv1.NewEventLogServiceClient(ts.conn(t))
	edit, children := consoleFixture(t, c)
	base := ts.http

	t.Run("ServedWithCSP", func(t *testing.T) {
		resp, err := http.Get(base + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Request.URL.Path != "/ui/" || resp.Header.Get("Content-Security-Policy") != console.CSP {
			t.Errorf("GET / ended at %s with CSP %q, want /ui/ with %q", resp.Request.URL, resp.Header.Get("Content-Security-Policy"), console.CSP)
		}
	})

	// The policy holds, and its violations reach the error log that every
	// page is checked against.
	t.Run("CSPRefusesInlineScript", func(t *testing.T) {
		b := b.in(t)
		b.open(base+"/ui/chain", "chain")
		var ran bool
		b.eval(`window.inlineRan = false; { const s = document.createElement("script"); s.textContent = "window.inlineRan = true"; document.body.append(s); } window.inlineRan`, &ran)
		time.Sleep(200 * time.Millisecond)
		errs := b.takeErrors()
		if ran || !strings.Contains(strings.Join(errs, "\n"), "Content Security Policy") {
			t.Errorf("an inline script ran: %v; errors reported: %v; want it refused and reported", ran, errs)
		}
	})

	t.Run("Log", func(t *testing.T) {
		b := b.in(t)
		b.open(base+"/", "log")
		ids := b.rowIDs("table.events")
		if len(ids) != 50 || ids[0] != fmt.Sprint(children[1]) {
			t.Fatalf("the log lists %d entries from %v, want 50 from the newest, %d", len(ids), ids[:min(1, len(ids))], children[1])
		}
		b.screenshot("console-log")
		b.noErrors("log")
		// Older, then newer again: keyset pages.
		b.click("#older", "log")
		older := b.rowIDs("table.events")
		if len(older) != 50 || older[0] != fmt.Sprint(children[1]-50) {
			t.Errorf("the older page starts at %v, want %d", older[:min(1, len(older))], children[1]-50)
		}
		b.click("#newer", "log")
		if again := b.rowIDs("table.events"); len(again) == 0 || again[0] != ids[0] {
			t.Errorf("newer after older starts at %v, want %s", again[:min(1, len(again))], ids[0])
		}
		// A filter from the form lands in the URL, and applies.
		b.run(chromedp.SetValue(chromedp.CSS(`input[name="actor"]`), "BOB"),
			chromedp.SetValue(chromedp.CSS(`select[name="event_type"]`), "FETCH"),
			chromedp.SetValue(chromedp.CSS(`select[name="page_size"]`), "20"))
		b.click(`form.filters button[type="submit"]`, "log")
		var url, actors string
		b.eval(`location.search`, &url)
		b.eval(`[...new Set([...document.querySelectorAll("table.events tbody tr")].map(r => r.cells[2].innerText + "/" + r.cells[1].innerText))].join(",")`, &actors)
		if !strings.Contains(url, "actor=BOB") || !strings.Contains(url, "event_type=FETCH") || actors != "bob/FETCH" {
			t.Errorf("filtered by actor BOB and FETCH: URL %s, rows by %q, want only bob/FETCH", url, actors)
		}
		// A time range in the browser's time zone: everything is before now.
		b.open(base+"/ui/?end_time=2000-01-01T00:00:00Z", "log")
		var text string
		b.eval(`document.querySelector("main").innerText`, &text)
		if !strings.Contains(text, "No entry matches these filters") || !strings.Contains(text, "your time zone") {
			t.Errorf("an empty range shows %q, want the empty state and the time zone", text)
		}
		// A bad filter says what is wrong.
		b.open(base+"/ui/?source_id=x", "log")
		b.eval(`document.querySelector("[role=alert]") ? document.querySelector("[role=alert]").innerText : ""`, &text)
		if !strings.Contains(text, "The filter is not valid") {
			t.Errorf("a bad filter shows %q, want it named", text)
		}
		b.noErrors("log", "status of 400")
	})

	t.Run("EntrySourceChildren", func(t *testing.T) {
		b := b.in(t)
		b.open(fmt.Sprintf("%s/ui/entry?id=%d", base, children[0]), "log")
		var card string
		b.eval(`document.querySelector("#source-card").innerText`, &card)
		if !strings.Contains(card, fmt.Sprintf("#%d", edit)) {
			t.Fatalf("the source card says %q, want entry #%d", card, edit)
		}
		b.click("#source-card a", "log")
		var diff, req, hash string
		b.eval(`document.querySelector("table.diff tr.changed").innerText`, &diff)
		b.eval(`document.querySelector("main").innerText`, &req)
		b.eval(`document.querySelector("#hash").innerText`, &hash)
		if !strings.Contains(diff, "Draft report") || !strings.Contains(diff, "Quarterly report") {
			t.Errorf("the changed row of the diff is %q, want the title before and after", diff)
		}
		if !strings.Contains(req, "203.0.113.7") || !strings.Contains(req, "PATCH /notes/7 HTTP/1.1") || len(hash) != 64 {
			t.Errorf("the entry shows no request context or hash:\n%s", req)
		}
		if got := b.rowIDs("#children"); fmt.Sprint(got) != fmt.Sprint([]string{fmt.Sprint(children[0]), fmt.Sprint(children[1])}) {
			t.Errorf("the children listed are %v, want %v", got, children)
		}
		b.screenshot("console-entry")
		b.noErrors("entry")
	})

	t.Run("ObjectAndActorHistory", func(t *testing.T) {
		b := b.in(t)
		b.open(base+"/", "log")
		b.click(`table.events tbody tr:nth-child(3) td.object a`, "log")
		var h1 string
		b.eval(`document.querySelector("h1").innerText`, &h1)
		var marked int
		b.eval(`document.querySelectorAll("table.events td.marker a").length`, &marked)
		if h1 != "History of Note 7" || marked != 0 {
			t.Errorf("the object's history is titled %q with %d propagated entries, want History of Note 7 with none", h1, marked)
		}
		b.open(base+"/ui/?content_type=Entity&object_id=e-1", "log")
		b.eval(`document.querySelectorAll("table.events td.marker a").length`, &marked)
		if marked != 1 {
			t.Errorf("Entity e-1's history marks %d entries as propagated, want 1", marked)
		}
		b.click(`table.events tbody tr:first-child td:nth-child(3) a`, "log")
		b.eval(`document.querySelector("h1").innerText`, &h1)
		if h1 != "History of actor id-alice" {
			t.Errorf("the actor's history is titled %q", h1)
		}
		b.noErrors("history")
	})

	t.Run("Timeline", func(t *testing.T) {
		b := b.in(t)
		b.open(base+"/ui/timeline", "timeline")
		var total string
		var bars int
		b.eval(`document.querySelector("#total").innerText`, &total)
		b.eval(`document.querySelectorAll("#chart a.bar").length`, &bars)
		if total != "123 entries in total." || bars < 1 {
			t.Errorf("the timeline says %q with %d bars, want 123 entries", total, bars)
		}
		b.screenshot("console-timeline")
		b.click(`#chart a.bar`, "timeline")
		var search string
		b.eval(`location.search`, &search)
		b.eval(`document.querySelector("#total").innerText`, &total)
		if !strings.Contains(search, "start_time=") || total != "123 entries in total." {
			t.Errorf("after clicking the bar: %s, %q; want a narrower range holding every entry", search, total)
		}
		b.noErrors("timeline")
	})

	t.Run("Chain", func(t *testing.T) {
		b := b.in(t)
		b.open(base+"/ui/chain", "chain")
		var verdict string
		b.eval(`document.querySelector("#verdict").innerText`, &verdict)
		if !strings.HasPrefix(verdict, "The chain is intact: 123 entries checked") {
			t.Errorf("the chain page says %q", verdict)
		}
		b.screenshot("console-chain")
		b.noErrors("chain")
	})

	t.Run("LiveAcrossReconnect", func(t *testing.T) {
		b := b.in(t)
		proxy := newCutProxy(t, strings.TrimPrefix(base, "http://"))
		b.open(proxy.url()+"/ui/live?event_type=login", "live")
		b.waitFor(`document.querySelector("#live-status").innerText.startsWith("Connected")`)
		want := logN(t, c, 5, "dave")
		b.waitFor(`document.querySelectorAll("#live-rows tr").length === 5`)
		// Paused: entries are held, not lost.
		b.run(chromedp.Click(chromedp.CSS("#pause")))
		held := logN(t, c, 3, "erin")
		b.waitFor(`document.querySelector("#live-count").innerText.includes("3 held")`)
		if got := b.rowIDs("#live-rows"); len(got) != 5 {
			t.Errorf("while paused the page shows %d entries, want 5", len(got))
		}
		b.run(chromedp.Click(chromedp.CSS("#pause")))
		want = append(want, held...)
		b.waitFor(`document.querySelectorAll("#live-rows tr").length === 8`)
		// The connection drops; entries written meanwhile arrive after
		// the reconnect, none missed and none twice.
		proxy.cut()
		b.waitFor(`document.querySelector("#live-status").innerText.startsWith("Disconnected")`)
		want = append(want, logN(t, c, 4, "frank")...)
		if _, err := c.LogEvent(context.Background(), &eventlogv1.LogEventRequest{ // another type: filtered out
			Event: newEvent(eventlogv1.EventType_EVENT_TYPE_EDIT, "frank", "User", "frank")}); err != nil {
			t.Fatal(err)
		}
		b.waitFor(`document.querySelector("#live-status").innerText.startsWith("Connected, resumed")`)
		want = append(want, logN(t, c, 2, "gina")...)
		b.waitFor(`document.querySelectorAll("#live-rows tr").length >= 14`)
		time.Sleep(300 * time.Millisecond) // a duplicate would arrive now
		got := b.rowIDs("#live-rows")
		for i, j := 0, len(got)-1; i < j; i, j = i+1, j-1 {
			got[i], got[j] = got[j], got[i]
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("the live page shows %v, want %v", got, want)
		}
		b.screenshot("console-live")
		b.run(chromedp.Navigate("about:blank")) // before the proxy closes
		b.noErrors("live", "ERR_EMPTY_RESPONSE", "ERR_INCOMPLETE_CHUNKED_ENCODING", "ERR_CONNECTION", "network error", "Failed to fetch")
	})

	// The server goes away under an open page: the page says so and how to
	// go on.
	t.Run("Unreachable", func(t *testing.T) {
		b := b.in(t)
		proxy := newCutProxy(t, strings.TrimPrefix(base, "http://"))
		b.open(proxy.url()+"/", "log")
		proxy.ln.Close()
		proxy.cut()
		b.click("#older", "log")
		var text string
		b.eval(`document.querySelector("[role=alert]") ? document.querySelector("[role=alert]").innerText : ""`, &text)
		if !strings.Contains(text, "The server cannot be reached") || !strings.Contains(text, "Retry") {
			t.Errorf("with the server gone the page says %q", text)
		}
		b.noErrors("unreachable", "ERR_CONNECTION_REFUSED", "ERR_EMPTY_RESPONSE", "Failed to fetch")
	})

	t.Run("Phone", func(t *testing.T) {
		b := b.in(t)
		b.run(chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(3), chromedp.EmulateMobile))
		defer b.run(chromedp.EmulateViewport(1280, 900))
		for _, p := range []struct{ path, page string }{{"/ui/", "log"}, {fmt.Sprintf("/ui/entry?id=%d", edit), "log"}, {"/ui/timeline", "timeline"}} {
			b.open(base+p.path, p.page)
			var width int
			b.eval(`document.documentElement.scrollWidth`, &width)
			if width > 390 {
				t.Errorf("%s is %d px wide on a 390 px phone", p.path, width)
			}
		}
		b.open(base+"/", "log")
		b.screenshot("console-log-phone")
		b.noErrors("phone")
	})

	t.Run("DarkAndKeyboard", func(t *testing.T) {
		b := b.in(t)
		cdpCall(b, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}})
		defer cdpCall(b, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{})
		b.open(base+"/", "log")
		var bg string
		b.eval(`getComputedStyle(document.body).backgroundColor`, &bg)
		if bg != "rgb(20, 23, 27)" {
			t.Errorf("dark mode background = %s", bg)
		}
		b.screenshot("console-log-dark")
		// A row opens with Enter.
		b.run(chromedp.Focus(chromedp.CSS(`table.events tbody tr:first-child`)), chromedp.KeyEvent("\r"))
		b.waitFor(`location.pathname === "/ui/entry" && document.body.dataset.ready === "log"`)
		b.noErrors("dark")
	})
}

// With keys, the console asks for one once, and needs the read scope.
func TestConsoleWithKeys(t *testing.T) {
	b := newBrowser(t)
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	tokens := writeKeys(t, keys, "reader=read", "writer=write")
	ts := startServer(t, filepath.Join(dir, "console.db"), "--keys", keys)
	c := eventlogv1.NewEventLogServiceClient(ts.conn(t))
	if _, err := c.LogEvent(withToken(context.Background(), tokens["writer"]), &eventlogv1.LogEventRequest{
		Event: newEvent(eventlogv1.EventType_EVENT_TYPE_LOGIN, "alice", "User", "alice")}); err != nil {
		t.Fatal(err)
	}
	b.open(ts.http+"/", "log")
	b.waitFor(`document.querySelector("#key-form") !== null`)
	b.screenshot("console-key")
	b.run(chromedp.SetValue(chromedp.CSS("#key"), tokens["writer"]), chromedp.Click(chromedp.CSS(`#key-form button[type="submit"]`)))
	b.waitFor(`document.querySelector("main").innerText.includes("may not read the log")`)
	b.run(chromedp.Click(chromedp.CSS(`main .state button`)))
	b.waitFor(`document.querySelector("#key-form") !== null`)
	b.run(chromedp.SetValue(chromedp.CSS("#key"), tokens["reader"]), chromedp.Click(chromedp.CSS(`#key-form button[type="submit"]`)))
	b.waitFor(`document.querySelectorAll("table.events tbody tr").length === 1`)
	// Asked once: other pages use the key kept in the tab.
	b.open(ts.http+"/ui/chain", "chain")
	var verdict string
	b.eval(`document.querySelector("#verdict").innerText`, &verdict)
	if !strings.HasPrefix(verdict, "The chain is intact") {
		t.Errorf("the chain page with the key says %q", verdict)
	}
	b.noErrors("keys", "status of 401", "status of 403")
}
