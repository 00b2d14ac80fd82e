package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/client"
	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
	"github.com/eventlog/eventlog/protomap"
)

const (
	defaultServer  = "127.0.0.1:50051"
	defaultTimeout = 10 * time.Second
	// serverEnv names the server when --server is not given.
	serverEnv = "EVENTLOG_SERVER"
)

// clientOptions are the flags every client command shares.
type clientOptions struct {
	server  string
	timeout time.Duration
	format  string
	print   func(io.Writer, *eventlogv1.Event) error
	conn    connOptions
}

// connOptions say how to connect to the server: TLS and the API key.
type connOptions struct {
	token   string
	tls     bool
	tlsCA   string
	tlsCert string
	tlsKey  string
}

// The environment variables that stand in for connection flags not given.
var connEnv = []struct{ flag, env string }{
	{"token", "EVENTLOG_TOKEN"},
	{"tls-ca", "EVENTLOG_TLS_CA"},
	{"tls-cert", "EVENTLOG_TLS_CERT"},
	{"tls-key", "EVENTLOG_TLS_KEY"},
}

func (c *connOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&c.token, "token", "", "API key `token`, sent as `authorization: Bearer TOKEN`; when not given, $EVENTLOG_TOKEN (preferred: flags show in ps)")
	fs.BoolVar(&c.tls, "tls", false, "connect over TLS, checking the server against the system's CAs (implied by --tls-ca and --tls-cert)")
	fs.StringVar(&c.tlsCA, "tls-ca", "", "CA certificates, PEM `file`, to check the server's certificate against; when not given, $EVENTLOG_TLS_CA")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "client certificate, PEM `file`, for servers that require one; when not given, $EVENTLOG_TLS_CERT")
	fs.StringVar(&c.tlsKey, "tls-key", "", "private key of --tls-cert, PEM `file`; when not given, $EVENTLOG_TLS_KEY")
}

// resolve fills the connection options not given as flags from the
// environment.
func (c *connOptions) resolve(fs *flag.FlagSet, e *env) {
	dst := map[string]*string{"token": &c.token, "tls-ca": &c.tlsCA, "tls-cert": &c.tlsCert, "tls-key": &c.tlsKey}
	for _, v := range connEnv {
		if !isSet(fs, v.flag) {
			if val := strings.TrimSpace(e.getenv(v.env)); val != "" {
				*dst[v.flag] = val
			}
		}
	}
	c.token = strings.TrimSpace(c.token)
	c.tls = c.tls || c.tlsCA != "" || c.tlsCert != "" || c.tlsKey != ""
}

func (o *clientOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.server, "server", defaultServer, "`address` of the eventlog server; when not given, $"+serverEnv+" if set")
	fs.DurationVar(&o.timeout, "timeout", defaultTimeout, "deadline of each call to the server; 0 for none")
	fs.StringVar(&o.format, "format", "json", "output `format`: json (one object a line) or nginx (one nginx-style line an entry)")
	o.conn.register(fs)
}

// resolve applies $EVENTLOG_SERVER when --server was not given and checks
// the shared flags. It is called after parsing.
func (o *clientOptions) resolve(fs *flag.FlagSet, e *env) error {
	if !isSet(fs, "server") {
		if v := strings.TrimSpace(e.getenv(serverEnv)); v != "" {
			o.server = v
		}
	}
	if strings.TrimSpace(o.server) == "" {
		return usagef("--server: want an address such as %s", defaultServer)
	}
	if o.timeout < 0 {
		return usagef("--timeout: want a duration of 0 or more, got %s", o.timeout)
	}
	o.conn.resolve(fs, e)
	switch o.format {
	case "json":
		o.print = printJSON
	case "nginx":
		o.print = printNginx
	default:
		return usagef("--format: want json or nginx, got %q", o.format)
	}
	return nil
}

// callContext returns the context for one call to the server.
func (o *clientOptions) callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if o.timeout == 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, o.timeout)
}

// withClient dials the server and calls fn with a client of the API.
func (o *clientOptions) withClient(ctx context.Context, e *env, fn func(eventlogv1.EventLogServiceClient) error) error {
	c, err := dial(ctx, e, o.server, o.conn)
	if err != nil {
		return err
	}
	defer c.Close()
	return fn(eventlogv1.NewEventLogServiceClient(c.Conn()))
}

// dial returns a client of the eventlog server at addr, over TLS when c
// asks for it, sending c's API key with every call. The connection is made
// lazily, by the first call. This is the one place that chooses the
// transport.
func dial(ctx context.Context, e *env, addr string, c connOptions, extra ...client.Option) (*client.Client, error) {
	opts := []client.Option{client.WithUserAgent("eventlog-cli"), client.WithInsecure()}
	if c.tls {
		conf, err := clientTLS(c.tlsCA, c.tlsCert, c.tlsKey)
		if err != nil {
			return nil, err
		}
		opts = append(opts, client.WithTLS(conf))
	}
	if c.token != "" {
		if !c.tls && !isLoopback(addr) {
			fmt.Fprintf(e.stderr, "warning: sending the API token to %s without TLS; use --tls or --tls-ca\n", addr)
			opts = append(opts, client.WithPlaintextAPIKey())
		}
		opts = append(opts, client.WithAPIKey(c.token))
	}
	cl, err := client.Dial(ctx, addr, append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", addr, err)
	}
	return cl, nil
}

// isLoopback reports whether addr (HOST:PORT, or a gRPC target such as
// dns:///host:port) names a loopback host.
func isLoopback(addr string) bool {
	if i := strings.LastIndex(addr, "/"); i >= 0 {
		addr = addr[i+1:]
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// rpcError makes an error returned by a call readable: "NotFound: entry 7
// does not exist" for a gRPC status.
func rpcError(err error) error {
	if err == nil {
		return nil
	}
	if st, ok := status.FromError(err); ok {
		return fmt.Errorf("%s: %s", st.Code(), st.Message())
	}
	return err
}

// commandHelp is what "eventlog COMMAND --help" prints before the flags.
type commandHelp struct {
	usage       string // "eventlog get ID [flags]"
	description string
	example     string
}

// parseFlags parses args with fs, allowing flags and positional arguments
// in any order ("get 17 --format nginx"), and returns the positional ones.
// --help prints the description, an example and the flags to e.stderr and
// returns flag.ErrHelp; a mistake is a usage error.
func parseFlags(fs *flag.FlagSet, e *env, h commandHelp, args []string) ([]string, error) {
	fs.SetOutput(io.Discard) // errors are reported once, by main
	fs.Usage = func() {}
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				printHelp(fs, e.stderr, h)
				return nil, flag.ErrHelp
			}
			return nil, usagef("%s (see %s --help)", flagDashes.ReplaceAllString(err.Error(), "$1--$2"), commandName(h))
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// flagDashes finds the flag names in the flag package's errors ("flag
// provided but not defined: -nope", "invalid value \"x\" for flag
// -limit"), which it writes with one dash.
var flagDashes = regexp.MustCompile(`(: |flag |for )-([A-Za-z0-9])`)

func commandName(h commandHelp) string {
	f := strings.Fields(h.usage)
	if len(f) >= 2 {
		return f[0] + " " + f[1]
	}
	return h.usage
}

func printHelp(fs *flag.FlagSet, w io.Writer, h commandHelp) {
	fmt.Fprintf(w, "Usage:\n  %s\n\n%s\n\nExample:\n%s\n", h.usage, h.description, h.example)
	printFlags(w, fs)
}

// printFlags lists the flags of fs as the documentation writes them,
// --name (the flag package prints -name, which it accepts too), each with
// its description and default.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	first := true
	fs.VisitAll(func(f *flag.Flag) {
		if first {
			fmt.Fprint(w, "\nFlags:\n")
			first = false
		}
		arg, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if arg != "" {
			line += " " + arg
		}
		if !isZeroDefault(f) {
			if g, ok := f.Value.(flag.Getter); ok {
				if _, isString := g.Get().(string); isString {
					usage += fmt.Sprintf(" (default %q)", f.DefValue)
				} else {
					usage += fmt.Sprintf(" (default %s)", f.DefValue)
				}
			}
		}
		fmt.Fprintf(w, "%s\n        %s\n", line, strings.ReplaceAll(usage, "\n", "\n        "))
	})
}

// isZeroDefault reports whether f's default is its type's zero value,
// which help leaves unsaid, as the flag package does.
func isZeroDefault(f *flag.Flag) bool {
	t := reflect.TypeOf(f.Value)
	var z reflect.Value
	if t.Kind() == reflect.Pointer {
		z = reflect.New(t.Elem())
	} else {
		z = reflect.Zero(t)
	}
	v, ok := z.Interface().(flag.Value)
	return ok && f.DefValue == v.String()
}

// isSet reports whether the flag name was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

// noArgs rejects positional arguments for commands that take none.
func noArgs(h commandHelp, args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q (see %s --help)", args[0], commandName(h))
	}
	return nil
}

// splitObject splits "TYPE/ID" at the first slash: object ids may contain
// slashes, content types do not.
func splitObject(flagName, s string) (contentType, objectID string, err error) {
	contentType, objectID, ok := strings.Cut(s, "/")
	if !ok || strings.TrimSpace(contentType) == "" || objectID == "" {
		return "", "", usagef("--%s: want TYPE/ID, such as Entry/42, got %q", flagName, s)
	}
	return contentType, objectID, nil
}

func parseTime(flagName, s string) (*timestamppb.Timestamp, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return nil, usagef("--%s: want an RFC 3339 time such as 2026-01-02T15:04:05Z, got %q", flagName, s)
	}
	return timestamppb.New(t), nil
}

func parseEventType(flagName, s string) (eventlog.EventType, error) {
	t, err := eventlog.ParseEventType(s)
	if err != nil {
		return t, usagef("--%s: %v", flagName, err)
	}
	return t, nil
}

// compactJSON marshals m with protojson on one line. protojson's output is
// deliberately unstable in its spacing, so it goes through json.Compact.
func compactJSON(m proto.Message) ([]byte, error) {
	b, err := protojson.MarshalOptions{}.Marshal(m)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// printJSON prints e as one JSON object on one line.
func printJSON(w io.Writer, e *eventlogv1.Event) error {
	b, err := compactJSON(e)
	if err != nil {
		return fmt.Errorf("encode entry %d: %w", e.GetId(), err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// printNginx prints e as one nginx-style line (see eventlog.Line).
func printNginx(w io.Writer, e *eventlogv1.Event) error {
	de, err := protomap.EventFromProto(e)
	if err != nil {
		return err
	}
	_, err = w.Write(append(eventlog.EventLine(&de).AppendTo(nil), '\n'))
	return err
}

var logHelp = commandHelp{
	usage: "eventlog log --type TYPE --actor NAME --object TYPE/ID [flags]",
	description: `Log appends one entry to the log and prints it as stored, with its id,
time and hash. --type is one of create, delete, edit, fetch, login, logout
and login_failed; the actor needs a name (--actor), an id (--actor-id) or
both. --object names the object acted on as CONTENT_TYPE/OBJECT_ID, split at
the first slash, so the id may itself contain slashes.

It prints the entry, then the entries propagated from it to related objects
(registered with "eventlog relate", or named here with --related).

A retried call with the same --idempotency-key prints the entry written by
the first call instead of writing a second one.`,
	example: `  eventlog log --type edit --actor alice --actor-id 42 --actor-kind user \
      --object Entry/42 --repr "Foo" --details '{"field":"name"}' \
      --idempotency-key edit-42-7`,
}

// parseLog turns the arguments of "eventlog log" into a request.
func parseLog(e *env, args []string) (*eventlogv1.LogEventRequest, *clientOptions, error) {
	fs := flag.NewFlagSet("log", flag.ContinueOnError)
	var o clientOptions
	o.register(fs)
	var (
		typ      = fs.String("type", "", "event `type`: create, delete, edit, fetch, login, logout or login_failed (required)")
		actor    = fs.String("actor", "", "actor `name`, such as a username (this or --actor-id is required)")
		actorID  = fs.String("actor-id", "", "actor `id` in the calling system")
		kind     = fs.String("actor-kind", "", "actor `kind`: user, service or system")
		object   = fs.String("object", "", "object acted on, as `TYPE/ID` such as Entry/42 (required)")
		repr     = fs.String("repr", "", "how the object is displayed, such as its name")
		details  = fs.String("details", "", "details as a JSON `object`, such as '{\"field\":\"name\"}'")
		key      = fs.String("idempotency-key", "", "`key` that makes a retried call return the first call's entry")
		occurred = fs.String("occurred", "", "`time` the action happened, RFC 3339, such as 2026-01-02T15:04:05Z")
	)
	var related []*eventlogv1.ObjectRef
	fs.Func("related", "an object related to this one for this write, as `TYPE/ID`; it receives a propagated entry (repeatable)", func(v string) error {
		ct, id, err := splitObject("related", v)
		if err != nil {
			return err
		}
		related = append(related, &eventlogv1.ObjectRef{ContentType: ct, ObjectId: id})
		return nil
	})
	rest, err := parseFlags(fs, e, logHelp, args)
	if err != nil {
		return nil, nil, err
	}
	if err := noArgs(logHelp, rest); err != nil {
		return nil, nil, err
	}
	if err := o.resolve(fs, e); err != nil {
		return nil, nil, err
	}
	if *typ == "" {
		return nil, nil, usagef("--type is required: one of create, delete, edit, fetch, login, logout, login_failed")
	}
	t, err := parseEventType("type", *typ)
	if err != nil {
		return nil, nil, err
	}
	if *actor == "" && *actorID == "" {
		return nil, nil, usagef("--actor or --actor-id is required")
	}
	var k eventlog.ActorKind
	if *kind != "" {
		if k, err = eventlog.ParseActorKind(*kind); err != nil {
			return nil, nil, usagef("--actor-kind: %v", err)
		}
	}
	if *object == "" {
		return nil, nil, usagef("--object is required: TYPE/ID, such as Entry/42")
	}
	contentType, objectID, err := splitObject("object", *object)
	if err != nil {
		return nil, nil, err
	}
	ev := &eventlogv1.Event{
		EventType:   protomap.EventTypeToProto(t),
		Actor:       &eventlogv1.Actor{Id: *actorID, Name: *actor, Kind: protomap.ActorKindToProto(k)},
		ContentType: contentType,
		ObjectId:    objectID,
		ObjectRepr:  *repr,
	}
	if *details != "" {
		if ev.Details, err = parseDetails(*details); err != nil {
			return nil, nil, err
		}
	}
	if *occurred != "" {
		if ev.OccurredTime, err = parseTime("occurred", *occurred); err != nil {
			return nil, nil, err
		}
	}
	return &eventlogv1.LogEventRequest{Event: ev, IdempotencyKey: *key, Related: related}, &o, nil
}

func parseDetails(s string) (*structpb.Struct, error) {
	if _, err := eventlog.CanonicalJSON([]byte(s)); err != nil {
		return nil, usagef("--details: %v", err)
	}
	var d structpb.Struct
	if err := protojson.Unmarshal([]byte(s), &d); err != nil {
		return nil, usagef("--details: %v", err)
	}
	return &d, nil
}

// runLog is "eventlog log": it appends one entry.
func runLog(ctx context.Context, e *env, args []string) error {
	req, o, err := parseLog(e, args)
	if err != nil {
		return err
	}
	var resp *eventlogv1.LogEventResponse
	err = o.withClient(ctx, e, func(client eventlogv1.EventLogServiceClient) error {
		cctx, cancel := o.callContext(ctx)
		defer cancel()
		resp, err = client.LogEvent(cctx, req)
		return rpcError(err)
	})
	if err != nil {
		return err
	}
	for _, ev := range append([]*eventlogv1.Event{resp.GetEvent()}, resp.GetChildren()...) {
		if err := o.print(e.stdout, ev); err != nil {
			return err
		}
	}
	return nil
}

var getHelp = commandHelp{
	usage:       "eventlog get ID [flags]",
	description: "Get prints the entry with the given id.",
	example:     "  eventlog get 17 --format nginx",
}

// parseGet turns the arguments of "eventlog get" into a request.
func parseGet(e *env, args []string) (*eventlogv1.GetEventRequest, *clientOptions, error) {
	fs := flag.NewFlagSet("get", flag.ContinueOnError)
	var o clientOptions
	o.register(fs)
	rest, err := parseFlags(fs, e, getHelp, args)
	if err != nil {
		return nil, nil, err
	}
	if err := o.resolve(fs, e); err != nil {
		return nil, nil, err
	}
	switch len(rest) {
	case 0:
		return nil, nil, usagef("missing ID: usage: %s", getHelp.usage)
	case 1:
	default:
		return nil, nil, usagef("want one ID, got %d arguments: %q", len(rest), rest)
	}
	id, err := strconv.ParseInt(rest[0], 10, 64)
	if err != nil || id <= 0 {
		return nil, nil, usagef("ID: want a positive integer, got %q", rest[0])
	}
	return &eventlogv1.GetEventRequest{Id: id}, &o, nil
}

// runGet is "eventlog get": it prints one entry.
func runGet(ctx context.Context, e *env, args []string) error {
	req, o, err := parseGet(e, args)
	if err != nil {
		return err
	}
	var resp *eventlogv1.GetEventResponse
	err = o.withClient(ctx, e, func(client eventlogv1.EventLogServiceClient) error {
		cctx, cancel := o.callContext(ctx)
		defer cancel()
		resp, err = client.GetEvent(cctx, req)
		return rpcError(err)
	})
	if err != nil {
		return err
	}
	if n := resp.GetChildCount(); n > 0 {
		fmt.Fprintf(e.stderr, "%d propagated entries: eventlog list --source-id %d\n", n, req.GetId())
	}
	return o.print(e.stdout, resp.GetEvent())
}

var listHelp = commandHelp{
	usage: "eventlog list [flags]",
	description: `List prints the entries that match every filter given, newest first unless
--order asc, one page of --limit entries (default 50, at most 1000). When
there are more, it says on standard error which --page-token continues the
listing; --all follows the pages to the end instead. Event type, actor and
content type match ignoring case; --actor matches the actor's id or name.`,
	example: `  eventlog list --object Entry/42 --since 2026-01-01T00:00:00Z --format nginx
  eventlog list --type login_failed --order asc --all`,
}

// listOptions are the flags of "eventlog list" beyond the request.
type listOptions struct {
	clientOptions
	all bool
}

// filterFlags are the entry filters of list and tail.
type filterFlags struct {
	typ, actor, contentType, objectID, object, since, until string
	sourceID                                                int64
}

func (ff *filterFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&ff.typ, "type", "", "only entries of this event `type`, such as edit")
	fs.StringVar(&ff.actor, "actor", "", "only entries whose actor id or name is `ACTOR`")
	fs.StringVar(&ff.contentType, "content-type", "", "only entries on objects of this content `type`, such as Entry")
	fs.StringVar(&ff.objectID, "object-id", "", "only entries on the object with this `id`")
	fs.StringVar(&ff.object, "object", "", "only entries on this object, `TYPE/ID`: short for --content-type TYPE --object-id ID")
	fs.Int64Var(&ff.sourceID, "source-id", 0, "only entries propagated from the entry with this `id`; 0 for original entries only")
	fs.StringVar(&ff.since, "since", "", "only entries written at or after this `time`, RFC 3339")
	fs.StringVar(&ff.until, "until", "", "only entries written at or before this `time`, RFC 3339")
}

// request checks the filters given and returns them in a ListEventsRequest.
func (ff *filterFlags) request(fs *flag.FlagSet) (*eventlogv1.ListEventsRequest, error) {
	req := &eventlogv1.ListEventsRequest{Actor: ff.actor, ContentType: ff.contentType, ObjectId: ff.objectID}
	var err error
	if ff.typ != "" {
		t, err := parseEventType("type", ff.typ)
		if err != nil {
			return nil, err
		}
		req.EventType = t.String()
	}
	if ff.object != "" {
		if ff.contentType != "" || ff.objectID != "" {
			return nil, usagef("--object cannot be combined with --content-type or --object-id")
		}
		if req.ContentType, req.ObjectId, err = splitObject("object", ff.object); err != nil {
			return nil, err
		}
	}
	if isSet(fs, "source-id") {
		if ff.sourceID < 0 {
			return nil, usagef("--source-id: want 0 or more, got %d", ff.sourceID)
		}
		req.SourceId = &ff.sourceID
	}
	if ff.since != "" {
		if req.StartTime, err = parseTime("since", ff.since); err != nil {
			return nil, err
		}
	}
	if ff.until != "" {
		if req.EndTime, err = parseTime("until", ff.until); err != nil {
			return nil, err
		}
	}
	if req.StartTime != nil && req.EndTime != nil && req.EndTime.AsTime().Before(req.StartTime.AsTime()) {
		return nil, usagef("--until %s is before --since %s", ff.until, ff.since)
	}
	return req, nil
}

// parseList turns the arguments of "eventlog list" into a request.
func parseList(e *env, args []string) (*eventlogv1.ListEventsRequest, *listOptions, error) {
	fs := flag.NewFlagSet("list", flag.ContinueOnError)
	var o listOptions
	o.register(fs)
	var ff filterFlags
	ff.register(fs)
	var (
		limit     = fs.Int("limit", 0, "entries per page (`N`); 0 for the server's default of 50")
		pageToken = fs.String("page-token", "", "continue a listing from this `token`")
		order     = fs.String("order", "desc", "`order` of ids: desc (newest first) or asc")
	)
	fs.BoolVar(&o.all, "all", false, "follow the pages to the last one")
	rest, err := parseFlags(fs, e, listHelp, args)
	if err != nil {
		return nil, nil, err
	}
	if err := noArgs(listHelp, rest); err != nil {
		return nil, nil, err
	}
	if err := o.resolve(fs, e); err != nil {
		return nil, nil, err
	}
	req, err := ff.request(fs)
	if err != nil {
		return nil, nil, err
	}
	req.PageToken = *pageToken
	if *limit < 0 || *limit > math.MaxInt32 {
		return nil, nil, usagef("--limit: want 0 or more, got %d", *limit)
	}
	req.PageSize = int32(*limit)
	switch strings.ToLower(*order) {
	case "desc":
		req.OrderBy = "id desc"
	case "asc":
		req.OrderBy = "id asc"
	default:
		return nil, nil, usagef("--order: want desc or asc, got %q", *order)
	}
	return req, &o, nil
}

// runList is "eventlog list": it prints one page of entries, or all of them.
func runList(ctx context.Context, e *env, args []string) error {
	req, o, err := parseList(e, args)
	if err != nil {
		return err
	}
	return o.withClient(ctx, e, func(client eventlogv1.EventLogServiceClient) error {
		return listEvents(ctx, e, client, req, o)
	})
}

// listEvents prints the entries req selects: one page, with a hint about
// the next on e.stderr, or with o.all every page.
func listEvents(ctx context.Context, e *env, client eventlogv1.EventLogServiceClient, req *eventlogv1.ListEventsRequest, o *listOptions) error {
	for {
		cctx, cancel := o.callContext(ctx)
		resp, err := client.ListEvents(cctx, req)
		cancel()
		if err != nil {
			return rpcError(err)
		}
		for _, ev := range resp.GetEvents() {
			if err := o.print(e.stdout, ev); err != nil {
				return err
			}
		}
		next := resp.GetNextPageToken()
		if next == "" {
			return nil
		}
		if !o.all {
			fmt.Fprintf(e.stderr, "more entries: --page-token %s\n", next)
			return nil
		}
		if next == req.GetPageToken() {
			return fmt.Errorf("list: the server returned the same page token twice (%q)", next)
		}
		req.PageToken = next
	}
}
