package gateway

import (
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/grpc-ecosystem/grpc-gateway/v2/utilities"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Export: GET /v1/events:export streams every entry that matches the
// ListEvents filters, oldest first, as JSON lines or CSV. It pages
// ListEvents through the gateway's connection, so the call is checked
// (read scope), logged and counted like any other, and the server holds
// one page at a time, whatever the size of the log.
//
// Completeness: the response ends with HTTP trailers that give the count
// of entries sent and the id and hash of the last one
// (Eventlog-Export-Complete: true only when every matching entry was sent;
// Eventlog-Export-Error otherwise); a JSON-lines export also ends with a
// line {"export": {...}} that says the same, for readers that lose the
// trailers (a file saved by curl).

// ExportPath is the path of the export.
const ExportPath = "/v1/events:export"

// The trailers of an export.
const (
	TrailerCount    = "Eventlog-Export-Count"
	TrailerLastID   = "Eventlog-Export-Last-Id"
	TrailerLastHash = "Eventlog-Export-Last-Hash" // hex
	TrailerComplete = "Eventlog-Export-Complete"  // "true" or "false"
	TrailerError    = "Eventlog-Export-Error"     // why it is not complete
)

// exportPage is the page size of the ListEvents calls of an export.
const exportPage = 1000

// CSVHeader is the header row of a CSV export: one column per field of an
// entry, the request context flattened, details as JSON, hashes in hex.
var CSVHeader = []string{"id", "time", "occurred_time", "event_type", "actor_id", "actor_name", "actor_kind",
	"content_type", "object_id", "object_repr", "details", "source_id",
	"request_remote_addr", "request_method", "request_path", "request_protocol", "request_status",
	"request_user_agent", "request_request_id", "idempotency_key", "hash", "prev_hash"}

// exportQuery returns the rule of the export's query: the ListEvents
// filters and after_id, not the paging (an export takes every matching
// entry, oldest first).
func exportQuery() *queryRule {
	md := (&eventlogv1.ListEventsRequest{}).ProtoReflect().Descriptor()
	q := newQueryRule(md, &annotations.HttpRule{Pattern: &annotations.HttpRule_Get{Get: ExportPath}}, ExportPath)
	var names []string
	for _, n := range []protoreflect.Name{"page_size", "page_token", "order_by"} {
		q.bound[n] = true
	}
	fields := md.Fields()
	for i := range fields.Len() {
		if f := fields.Get(i); !q.bound[f.Name()] {
			names = appendParams(names, "", f, 0)
		}
	}
	q.names = "format, " + strings.Join(names, ", ")
	return q
}

// export serves GET /v1/events:export.
func (g *Gateway) export(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	values, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		g.WriteError(w, r, 0, status.Errorf(codes.InvalidArgument, "query: %v", err))
		return
	}
	format := "jsonl"
	switch f := values["format"]; {
	case len(f) > 1:
		g.WriteError(w, r, 0, invalidParam("format", "given %d times; give it once", len(f)))
		return
	case len(f) == 1:
		format = f[0]
	}
	if format != "jsonl" && format != "csv" {
		g.WriteError(w, r, 0, invalidParam("format", "want jsonl or csv, got %q", format))
		return
	}
	values.Del("format")
	for _, p := range []string{"page_size", "pageSize", "page_token", "pageToken", "order_by", "orderBy"} {
		if values.Has(p) {
			g.WriteError(w, r, 0, invalidParam(p, "an export sends every matching entry, oldest first; to resume one, give after_id"))
			return
		}
	}
	if err := g.exportRule.check(values.Encode()); err != nil {
		g.WriteError(w, r, 0, err)
		return
	}
	req := &eventlogv1.ListEventsRequest{}
	if err := runtime.PopulateQueryParameters(req, values, utilities.NewDoubleArray(nil)); err != nil {
		g.WriteError(w, r, 0, status.Errorf(codes.InvalidArgument, "query: %v", err))
		return
	}
	req.OrderBy, req.PageSize = "id asc", exportPage
	if req.AfterId == nil {
		req.AfterId = new(int64) // from the first entry
	}
	ctx, err := runtime.AnnotateContext(r.Context(), g.mux, r, eventlogv1.EventLogService_ListEvents_FullMethodName,
		runtime.WithHTTPPathPattern(ExportPath))
	if err != nil {
		g.WriteError(w, r, 0, err)
		return
	}
	// The first page decides the status: a refused key or a bad filter
	// gets its error as any call does.
	resp, err := g.client.ListEvents(ctx, req)
	if err != nil {
		g.WriteError(w, r, 0, err)
		return
	}

	h := w.Header()
	h.Set("Trailer", strings.Join([]string{TrailerCount, TrailerLastID, TrailerLastHash, TrailerComplete, TrailerError}, ", "))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if format == "csv" {
		h.Set("Content-Type", "text/csv; charset=utf-8; header=present")
		h.Set("Content-Disposition", `attachment; filename="events.csv"`)
	} else {
		h.Set("Content-Type", "application/jsonl; charset=utf-8")
		h.Set("Content-Disposition", `attachment; filename="events.jsonl"`)
	}
	out, _ := NewExportWriter(w, format) // the format is checked above
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)

	var (
		count int64
		last  *eventlogv1.Event
	)
	err = out.Begin()
	for err == nil {
		for _, e := range resp.GetEvents() {
			if err = out.Event(e); err != nil {
				break
			}
			count++
			last = e
		}
		if err == nil {
			err = out.Flush()
		}
		if err == nil {
			err = rc.Flush()
		}
		if err != nil || resp.GetNextPageToken() == "" {
			break
		}
		next := &eventlogv1.ListEventsRequest{
			EventType: req.EventType, Actor: req.Actor, ContentType: req.ContentType, ObjectId: req.ObjectId,
			SourceId: req.SourceId, StartTime: req.StartTime, EndTime: req.EndTime,
			OrderBy: req.OrderBy, PageSize: req.PageSize, PageToken: resp.GetNextPageToken(),
		}
		resp, err = g.client.ListEvents(ctx, next)
	}
	end := ExportEnd{Count: count, Complete: err == nil}
	if last != nil {
		end.LastID, end.LastHash = last.GetId(), last.GetHash()
	}
	if err != nil {
		resume := end.LastID
		if last == nil {
			resume = req.GetAfterId()
		}
		end.Error = exportError(err, resume)
		g.log.WarnContext(r.Context(), "export ended early", "entries", count, "err", err)
	}
	_ = out.End(end)
	h.Set(TrailerCount, strconv.FormatInt(count, 10))
	h.Set(TrailerLastID, strconv.FormatInt(end.LastID, 10))
	h.Set(TrailerLastHash, hex.EncodeToString(end.LastHash))
	h.Set(TrailerComplete, strconv.FormatBool(end.Complete))
	if end.Error != "" {
		h.Set(TrailerError, end.Error)
	}
}

// exportError is the message of an export that ended early, to be
// resumed after the entry lastID.
func exportError(err error, lastID int64) string {
	msg := strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, status.Convert(err).Message())
	return fmt.Sprintf("%s; resume with after_id=%d", msg, lastID)
}

// ExportEnd is what the end of an export says.
type ExportEnd struct {
	Count    int64  // entries sent
	LastID   int64  // the last of them; 0 for none
	LastHash []byte // its hash
	Complete bool   // every matching entry was sent
	Error    string // why not, when not
}

// ExportWriter writes the entries of an export in one format: Begin, then
// Event for each entry and Flush after some, then End.
type ExportWriter interface {
	// Begin writes what comes before the entries: the CSV header row.
	Begin() error
	Event(e *eventlogv1.Event) error
	// Flush writes out what is buffered.
	Flush() error
	// End writes what comes after the entries (the JSON lines' end line)
	// and flushes.
	End(ExportEnd) error
}

// NewExportWriter returns the writer of format ("jsonl" or "csv") to w.
func NewExportWriter(w io.Writer, format string) (ExportWriter, error) {
	switch format {
	case "jsonl":
		return &jsonlExport{w: w}, nil
	case "csv":
		cw := csv.NewWriter(w)
		cw.UseCRLF = true
		return &csvExport{w: cw, row: make([]string, len(CSVHeader))}, nil
	}
	return nil, fmt.Errorf("export format %q: want jsonl or csv", format)
}

// jsonlExport writes one entry a line, as the REST API spells an entry,
// then the line {"export": {...}}.
type jsonlExport struct {
	w   io.Writer
	buf []byte
}

var exportJSON = protojson.MarshalOptions{}

func (x *jsonlExport) Begin() error { return nil }

func (x *jsonlExport) Event(e *eventlogv1.Event) error {
	var err error
	if x.buf, err = exportJSON.MarshalAppend(x.buf, e); err != nil {
		return err
	}
	x.buf = append(x.buf, '\n')
	if len(x.buf) >= 64<<10 {
		return x.Flush()
	}
	return nil
}

func (x *jsonlExport) Flush() error {
	_, err := x.w.Write(x.buf)
	x.buf = x.buf[:0]
	return err
}

func (x *jsonlExport) End(e ExportEnd) error {
	if err := x.Flush(); err != nil {
		return err
	}
	line := fmt.Sprintf(`{"export":{"complete":%t,"count":"%d","lastId":"%d","lastHash":%q`,
		e.Complete, e.Count, e.LastID, base64.StdEncoding.EncodeToString(e.LastHash))
	if e.Error != "" {
		line += fmt.Sprintf(`,"error":%s`, strconv.Quote(e.Error))
	}
	_, err := io.WriteString(x.w, line+"}}\n")
	return err
}

// csvExport writes a header row, then one row per entry (RFC 4180, CRLF
// line ends), with Cell's guard on text cells.
type csvExport struct {
	w   *csv.Writer
	row []string
}

func (x *csvExport) Begin() error { return x.w.Write(CSVHeader) }

func (x *csvExport) Event(e *eventlogv1.Event) error {
	details := ""
	if e.GetDetails() != nil {
		b, err := exportJSON.Marshal(e.GetDetails())
		if err != nil {
			return err
		}
		details = string(b)
	}
	occurred := ""
	if e.GetOccurredTime() != nil {
		occurred = e.GetOccurredTime().AsTime().Format(time.RFC3339Nano)
	}
	req := e.GetRequest()
	status := ""
	if req.GetStatus() != 0 {
		status = strconv.Itoa(int(req.GetStatus()))
	}
	a := e.GetActor()
	kind := ""
	if a.GetKind() != eventlogv1.ActorKind_ACTOR_KIND_UNSPECIFIED {
		kind = a.GetKind().String()
	}
	r := x.row[:0]
	r = append(r, strconv.FormatInt(e.GetId(), 10), e.GetTime().AsTime().Format(time.RFC3339Nano), occurred,
		e.GetEventType().String(), Cell(a.GetId()), Cell(a.GetName()), kind,
		Cell(e.GetContentType()), Cell(e.GetObjectId()), Cell(e.GetObjectRepr()), Cell(details),
		strconv.FormatInt(e.GetSourceId(), 10),
		Cell(req.GetRemoteAddr()), Cell(req.GetMethod()), Cell(req.GetPath()), Cell(req.GetProtocol()), status,
		Cell(req.GetUserAgent()), Cell(req.GetRequestId()), Cell(e.GetIdempotencyKey()),
		hex.EncodeToString(e.GetHash()), hex.EncodeToString(e.GetPrevHash()))
	return x.w.Write(r)
}

func (x *csvExport) Flush() error {
	x.w.Flush()
	return x.w.Error()
}

func (x *csvExport) End(ExportEnd) error { return x.Flush() }

// Cell guards a CSV text cell against formula injection: a cell that
// starts with =, +, -, @, a tab or a carriage return is read as a formula
// by spreadsheets, so it gets a leading apostrophe, which they show as
// text and do not display.
func Cell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}
