package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/gateway"
	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

var exportHelp = commandHelp{
	usage: "eventlog export [--format jsonl|csv] [--out FILE] [--after-id ID] [filters] [flags]",
	description: `Export writes every entry that the filters select, oldest first, to --out
(standard output when "-"): as JSON lines, one entry a line as the API
spells it, or as CSV with a header row (RFC 4180; a text cell that starts
with =, +, -, @, a tab or a carriage return gets a leading apostrophe, so
that spreadsheets do not run it as a formula). It pages ListEvents, so it
needs a key with the read scope, and the server holds one page at a time.

On a terminal a progress bar shows the entries written, their rate and the
time left, estimated from the range of ids between --after-id and the
newest entry when the export started; --progress=false turns it off.

When it stops early (the server went away, the call timed out, ^C) it says
the last id it wrote: run it again with --after-id that id and the same
--out, and it appends the rest (without a second CSV header). --out must
not exist otherwise. On success it prints the count and the id and hash
of the last entry to standard error; "eventlog verify --to ID" checks the
chain up to it.

The same export is served over HTTP at GET /v1/events:export.`,
	example: `  eventlog export --format csv --out audit.csv --since 2026-01-01T00:00:00Z
  eventlog export --out alice.jsonl --actor alice
  eventlog export --format csv --out audit.csv --after-id 1834000   # resume`,
}

type exportOptions struct {
	server   string
	timeout  time.Duration
	conn     connOptions
	format   string
	out      string
	afterID  int64
	progress bool
}

func parseExport(e *env, args []string) (*eventlogv1.ListEventsRequest, *exportOptions, error) {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	var o exportOptions
	fs.StringVar(&o.server, "server", defaultServer, "`address` of the eventlog server; when not given, $"+serverEnv+" if set")
	fs.DurationVar(&o.timeout, "timeout", defaultTimeout, "deadline of each call to the server (one page); 0 for none")
	o.conn.register(fs)
	fs.StringVar(&o.format, "format", "jsonl", "output `format`: jsonl (one entry a line) or csv (a header row, then one row an entry)")
	fs.StringVar(&o.out, "out", "-", "`file` to write; - for standard output")
	fs.Int64Var(&o.afterID, "after-id", 0, "export the entries after this `id`; with an existing --out, append to it (resume)")
	fs.BoolVar(&o.progress, "progress", true, "show a progress bar when standard error is a terminal")
	var ff filterFlags
	ff.register(fs)
	rest, err := parseFlags(fs, e, exportHelp, args)
	if err != nil {
		return nil, nil, err
	}
	if err := noArgs(exportHelp, rest); err != nil {
		return nil, nil, err
	}
	if o.format != "jsonl" && o.format != "csv" {
		return nil, nil, usagef("--format: want jsonl or csv, got %q", o.format)
	}
	if o.afterID < 0 {
		return nil, nil, usagef("--after-id: want 0 or a positive id, got %d", o.afterID)
	}
	if strings.TrimSpace(o.out) == "" {
		return nil, nil, usagef("--out: want a file, or - for standard output")
	}
	if !isSet(fs, "server") {
		if v := strings.TrimSpace(e.getenv(serverEnv)); v != "" {
			o.server = v
		}
	}
	if o.timeout < 0 {
		return nil, nil, usagef("--timeout: want a duration of 0 or more, got %s", o.timeout)
	}
	o.conn.resolve(fs, e)
	req, err := ff.request(fs)
	if err != nil {
		return nil, nil, err
	}
	return req, &o, nil
}

// runExport is "eventlog export".
func runExport(ctx context.Context, e *env, args []string) error {
	req, o, err := parseExport(e, args)
	if err != nil {
		return err
	}
	out, header, closeOut, err := openExportOut(e, o)
	if err != nil {
		return err
	}
	c, err := dial(ctx, e, o.server, o.conn)
	if err != nil {
		closeOut()
		return err
	}
	defer c.Close()
	client := eventlogv1.NewEventLogServiceClient(c.Conn())
	end, err := exportEvents(ctx, e, client, req, o, out, header)
	if cerr := closeOut(); err == nil && cerr != nil {
		err = fmt.Errorf("--out %s: %w", o.out, cerr)
	}
	if err != nil {
		resume := end.LastID
		if resume == 0 {
			resume = o.afterID
		}
		return fmt.Errorf("%w\nexport stopped after %d entries; to resume, run it again with --after-id %d and the same --out", err, end.Count, resume)
	}
	if end.Count == 0 {
		fmt.Fprintln(e.stderr, "exported no entries")
		return nil
	}
	fmt.Fprintf(e.stderr, "exported %d entries; the last is %d, hash %s\n", end.Count, end.LastID, eventlog.HashString(end.LastHash))
	return nil
}

// openExportOut opens --out: standard output, a new file, or with
// --after-id an existing file to append to. header says whether the CSV
// header row goes first (not when appending).
func openExportOut(e *env, o *exportOptions) (io.Writer, bool, func() error, error) {
	if o.out == "-" {
		return e.stdout, true, func() error { return nil }, nil
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	header := true
	if o.afterID > 0 {
		if st, err := os.Stat(o.out); err == nil {
			flags, header = os.O_WRONLY|os.O_APPEND, st.Size() == 0
		}
	}
	f, err := os.OpenFile(o.out, flags, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil, false, nil, usagef("--out %s exists: remove it, name another file, or give --after-id to append to it", o.out)
	}
	if err != nil {
		return nil, false, nil, fmt.Errorf("--out: %w", err)
	}
	return f, header, f.Close, nil
}

// exportEvents pages ListEvents from o.afterID to the end and writes the
// entries to out. It returns what it wrote, also when it fails.
func exportEvents(ctx context.Context, e *env, client eventlogv1.EventLogServiceClient, req *eventlogv1.ListEventsRequest,
	o *exportOptions, out io.Writer, header bool) (gateway.ExportEnd, error) {
	var end gateway.ExportEnd
	bw := bufio.NewWriterSize(out, 256<<10)
	w, err := gateway.NewExportWriter(bw, o.format)
	if err != nil {
		return end, err
	}
	if header {
		if err := w.Begin(); err != nil {
			return end, err
		}
	}
	call := func(r *eventlogv1.ListEventsRequest) (*eventlogv1.ListEventsResponse, error) {
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		if o.timeout > 0 {
			cctx, cancel = context.WithTimeout(cctx, o.timeout)
			defer cancel()
		}
		resp, err := client.ListEvents(cctx, r)
		if err != nil {
			return nil, rpcError(err)
		}
		return resp, nil
	}

	bar := exportBar(e, o, call)
	req.OrderBy, req.PageSize, req.AfterId = "id asc", 1000, &o.afterID
	for {
		resp, err := call(req)
		if err != nil {
			return end, errors.Join(err, flushExport(w, bw))
		}
		for _, ev := range resp.GetEvents() {
			if err := w.Event(ev); err != nil {
				return end, fmt.Errorf("--out: %w", err)
			}
			end.Count++
			end.LastID, end.LastHash = ev.GetId(), ev.GetHash()
		}
		// What is counted is on its way to --out, so that a resume from
		// end.LastID neither skips nor repeats an entry.
		if err := flushExport(w, bw); err != nil {
			return end, err
		}
		bar.advance(end.Count, end.LastID)
		next := resp.GetNextPageToken()
		if next == "" {
			break
		}
		req.AfterId, req.PageToken = nil, next
	}
	end.Complete = true
	bar.finish()
	return end, nil
}

func flushExport(w gateway.ExportWriter, bw *bufio.Writer) error {
	if err := w.Flush(); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	return nil
}

// exportProgress is the progress bar of an export, or nothing when
// standard error is not a terminal.
type exportProgress struct {
	bar   *progressbar.ProgressBar // nil: no bar
	after int64                    // the id the export starts after
	head  int64                    // the newest id when it started
}

// exportBar returns the progress of an export: a bar over the ids from
// o.afterID to the newest entry, on a terminal.
func exportBar(e *env, o *exportOptions, call func(*eventlogv1.ListEventsRequest) (*eventlogv1.ListEventsResponse, error)) *exportProgress {
	p := &exportProgress{after: o.afterID}
	f, ok := e.stderr.(*os.File)
	if !o.progress || !ok || !term.IsTerminal(int(f.Fd())) {
		return p
	}
	newest, err := call(&eventlogv1.ListEventsRequest{PageSize: 1})
	if err != nil || len(newest.GetEvents()) == 0 {
		return p
	}
	p.head = newest.GetEvents()[0].GetId()
	if p.head <= p.after {
		return p
	}
	p.bar = progressbar.NewOptions64(p.head-p.after,
		progressbar.OptionSetWriter(f),
		progressbar.OptionSetDescription("export"),
		progressbar.OptionSetItsString("ids"),
		progressbar.OptionShowIts(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionFullWidth(),
		progressbar.OptionClearOnFinish(),
	)
	return p
}

// advance shows count entries written, up to id lastID.
func (p *exportProgress) advance(count, lastID int64) {
	if p.bar == nil {
		return
	}
	p.bar.Describe(fmt.Sprintf("export: %d entries", count))
	if lastID > p.after {
		_ = p.bar.Set64(min(lastID, p.head) - p.after)
	}
}

func (p *exportProgress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}
