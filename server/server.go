// Package server implements the gRPC service eventlog.v1.EventLogService:
// it validates requests, converts them to domain types, writes through a
// group committer (package groupcommit), streams through a hub of the
// newest entries (package streamhub), and maps domain errors to gRPC status
// codes.
package server

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/groupcommit"
	"github.com/eventlog/eventlog/metrics"
	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
	wirev1 "github.com/eventlog/eventlog/proto/eventlog/wire/v1"
	"github.com/eventlog/eventlog/protomap"
	"github.com/eventlog/eventlog/streamhub"
	"golang.org/x/mod/sumdb/note"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/proto" // registers the "proto" codec
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Store is the storage the service needs.
type Store interface {
	Append(ctx context.Context, writes []eventlog.Write) ([]eventlog.Written, error)
	Get(ctx context.Context, id int64) (eventlog.Event, error)
	ChildCount(ctx context.Context, id int64) (int64, error)
	List(ctx context.Context, f eventlog.Filter, p eventlog.Page) ([]eventlog.Event, error)
	PutRelations(ctx context.Context, rels []eventlog.Relation) (int, error)
	DeleteRelations(ctx context.Context, rels []eventlog.Relation) (int, error)
	ListRelations(ctx context.Context, f eventlog.RelationFilter, after *eventlog.Relation, limit int) ([]eventlog.Relation, error)
	Head(ctx context.Context) (int64, error)
	Count(ctx context.Context, q eventlog.CountQuery) ([]eventlog.Count, error)
	eventlog.ChainReader
}

// watcher is a store that announces commits made by other processes.
type watcher interface {
	Watch(ctx context.Context, log func(msg string, args ...any), wake func(lastID int64)) error
}

// Config configures a Server.
type Config struct {
	Store  Store
	Logger *slog.Logger // slog.Default() when nil
	// MaxGroupEntries bounds the entries of one group commit; 1,000 when 0.
	MaxGroupEntries int
	// WriteTimeout bounds one store append; 30 seconds when 0.
	WriteTimeout time.Duration
	// MaxStreams bounds the StreamEvents calls served at once; 1,024
	// when 0.
	MaxStreams int
	// Heartbeat is how long a stream stays quiet before a heartbeat;
	// 15 seconds when 0.
	Heartbeat time.Duration
	// TailBytes bounds the memory that holds the newest entries for
	// streams; 16 MiB when 0.
	TailBytes int
	// HeadPoll is how often the head of the log is checked for entries
	// written by other processes whose announcement was missed; 1 second
	// when 0.
	HeadPoll time.Duration
	// MaxVerifyEntries bounds the entries one VerifyChain call checks;
	// DefaultMaxVerifyEntries when 0.
	MaxVerifyEntries int64
	// MaxListBytes bounds the entries of one ListEvents page, serialized;
	// DefaultMaxListBytes when 0. A page always holds at least one entry.
	MaxListBytes int
	// TreeInterval is how often committed entries are added to the
	// Merkle tree (and, with a Signer, a checkpoint signed); 1 second
	// when 0; negative: never (the tree and its proofs stay behind).
	TreeInterval time.Duration
	// Signer signs checkpoints; its name is the log's origin. Without
	// one, GetCheckpoint answers FAILED_PRECONDITION; proofs still work.
	Signer note.Signer
	// Metrics receives the service's metrics: writes by outcome, group
	// commits, streams and the head of the log. None when nil.
	Metrics *metrics.Metrics
}

// DefaultMaxListBytes keeps a ListEvents response within the 4 MiB that
// gRPC clients accept by default, with room for the page token.
const DefaultMaxListBytes = 4<<20 - 16<<10

// DefaultMaxVerifyEntries is the number of entries one VerifyChain call
// checks at most, unless configured otherwise: a few seconds of work.
const DefaultMaxVerifyEntries = 100_000

// Server is the EventLogService implementation.
type Server struct {
	eventlogv1.UnimplementedEventLogServiceServer

	store     Store
	log       *slog.Logger
	commit    *groupcommit.Committer
	health    *health.Server
	hub       *streamhub.Hub
	streams   chan struct{} // a token per running stream
	heartbeat time.Duration

	calls   atomic.Int64 // unary calls in flight
	metrics *metrics.Metrics

	stopWatch context.CancelFunc
	watching  chan struct{} // closed when the commit watch has ended

	maxVerify    int64
	maxListBytes int

	signer       note.Signer
	checkpoint   atomic.Pointer[checkpoint]
	treeInterval time.Duration
	stopTree     chan struct{}
	treeDone     chan struct{} // closed when the integrator has ended
}

var _ eventlogv1.EventLogServiceServer = (*Server)(nil)

// New returns a Server writing through cfg.Store. It starts the group
// committer; Close stops it.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxGroupEntries <= 0 {
		cfg.MaxGroupEntries = eventlog.MaxBatch
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 30 * time.Second
	}
	if cfg.MaxStreams <= 0 {
		cfg.MaxStreams = 1024
	}
	if cfg.MaxVerifyEntries <= 0 {
		cfg.MaxVerifyEntries = DefaultMaxVerifyEntries
	}
	if cfg.MaxListBytes <= 0 {
		cfg.MaxListBytes = DefaultMaxListBytes
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 15 * time.Second
	}
	if cfg.TailBytes <= 0 {
		cfg.TailBytes = 16 << 20
	}
	if cfg.HeadPoll <= 0 {
		cfg.HeadPoll = time.Second
	}
	if cfg.TreeInterval == 0 {
		cfg.TreeInterval = time.Second
	}
	h := streamhub.New(cfg.Store, cfg.Logger, cfg.TailBytes, cfg.HeadPoll)
	var obs groupcommit.Observer // nil, not a nil *Metrics: no timing at all without metrics
	if cfg.Metrics != nil {
		obs = cfg.Metrics
		cfg.Metrics.FollowHead(h.Head)
	}
	return &Server{
		store:     cfg.Store,
		log:       cfg.Logger,
		metrics:   cfg.Metrics,
		commit:    groupcommit.New(cfg.Store, cfg.MaxGroupEntries, cfg.WriteTimeout, h.Publish, obs),
		health:    health.NewServer(),
		hub:       h,
		streams:   make(chan struct{}, cfg.MaxStreams),
		heartbeat: cfg.Heartbeat,

		maxVerify:    cfg.MaxVerifyEntries,
		maxListBytes: cfg.MaxListBytes,

		signer:       cfg.Signer,
		treeInterval: cfg.TreeInterval,
	}
}

// Start prepares streaming: it reads the head of the log and, when other
// processes may write to the same database, starts following their
// commits. Call it once, before serving.
func (s *Server) Start(ctx context.Context) error {
	if err := s.hub.Start(ctx); err != nil {
		return fmt.Errorf("start streaming: %w", err)
	}
	if ts, ok := s.store.(treeStore); ok && s.treeInterval > 0 {
		s.stopTree, s.treeDone = make(chan struct{}), make(chan struct{})
		go func() {
			defer close(s.treeDone)
			s.integrator(ts, s.treeInterval, s.stopTree)
		}()
	}
	s.watching = make(chan struct{})
	w, ok := s.store.(watcher)
	if !ok {
		close(s.watching)
		return nil
	}
	wctx, cancel := context.WithCancel(context.Background())
	s.stopWatch = cancel
	go func() {
		defer close(s.watching)
		logf := func(msg string, args ...any) { s.log.Warn(msg, args...) }
		if err := w.Watch(wctx, logf, s.hub.Wake); err != nil {
			s.log.Error("follow commits of other processes; streams fall back to polling the head", "err", err)
		}
	}()
	return nil
}

// Register adds the service, the standard health service and server
// reflection to g.
func (s *Server) Register(g *grpc.Server) {
	g.RegisterService(&serviceDesc, s)
	healthpb.RegisterHealthServer(g, s.health)
	reflection.Register(g)
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	s.health.SetServingStatus(eventlogv1.EventLogService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
}

// Shutdown marks the service as not serving, so that health checks fail
// while in-flight calls finish, and ends every stream with UNAVAILABLE
// (its subscriber resumes elsewhere).
func (s *Server) Shutdown() {
	s.health.Shutdown()
	s.hub.Close()
}

// Close finishes the writes already queued and stops the group committer
// and the streaming machinery. Call it after the gRPC server has stopped.
func (s *Server) Close() {
	s.commit.Close()
	s.hub.Close()
	if s.stopWatch != nil {
		s.stopWatch()
	}
	if s.watching != nil {
		<-s.watching
	}
	if s.stopTree != nil {
		close(s.stopTree)
		<-s.treeDone
		s.stopTree = nil
	}
}

// UnaryInterceptor turns a panic in a handler into an Internal error and
// logs it, instead of ending the process. It also counts the calls in
// flight, for WaitCalls.
func (s *Server) UnaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	s.calls.Add(1)
	defer s.calls.Add(-1)
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("panic in handler", "method", info.FullMethod, "panic", p, "stack", string(debug.Stack()))
			err = status.Error(codes.Internal, "internal error")
		}
	}()
	return handler(ctx, req)
}

// WaitCalls returns once no unary call is in flight, or when ctx ends.
// At shutdown it tells when the remaining connections hold only streams,
// which Shutdown has ended, so that they can be closed.
func (s *Server) WaitCalls(ctx context.Context) error {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for s.calls.Load() > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}

// fail converts err to a gRPC status error, logging those that are not the
// caller's doing (the caller sees only a generic message for them).
func (s *Server) fail(ctx context.Context, method string, err error) error {
	st := toStatus(err)
	switch status.Code(st) {
	case codes.Internal:
		s.log.ErrorContext(ctx, "request failed", "method", method, "err", err)
	case codes.Unavailable:
		// The caller gets a generic message; the cause is kept here.
		s.log.WarnContext(ctx, "request failed", "method", method, "err", err)
	}
	return st
}

// LogEvent appends one entry.
func (s *Server) LogEvent(ctx context.Context, req *eventlogv1.LogEventRequest) (*eventlogv1.LogEventResponse, error) {
	if err := checkView(req.GetView()); err != nil {
		s.metrics.Wrote(1, nil, err)
		return nil, s.fail(ctx, "LogEvent", err)
	}
	ws := make([]eventlog.Write, 1)
	if err := writeFromProto(&ws[0], "", req); err != nil {
		s.metrics.Wrote(1, nil, err)
		return nil, s.fail(ctx, "LogEvent", err)
	}
	out, err := s.commit.Write(ctx, ws)
	s.metrics.Wrote(1, out, err)
	if err != nil {
		return nil, s.fail(ctx, "LogEvent", err)
	}
	if req.GetView() == eventlogv1.EventView_EVENT_VIEW_BASIC {
		return writtenBasic(&out[0]), nil
	}
	return writtenToProto(&out[0], req.GetEvent().GetDetails(), ws[0].Event.Details), nil
}

// checkView checks the view a write asks for.
func checkView(v eventlogv1.EventView) error {
	if _, ok := eventlogv1.EventView_name[int32(v)]; !ok {
		return eventlog.Invalid("view", "unknown view %d: want EVENT_VIEW_BASIC or EVENT_VIEW_FULL", v)
	}
	return nil
}

// writtenBasic is the basic view of an entry as written: where it went,
// and how many children it has.
func writtenBasic(w *eventlog.Written) *eventlogv1.LogEventResponse {
	return basicInto(w, &eventlogv1.LogEventResponse{}, &eventlogv1.Event{}, &timestamppb.Timestamp{})
}

// basicInto is writtenBasic in messages the caller allocated, empty.
func basicInto(w *eventlog.Written, resp *eventlogv1.LogEventResponse, e *eventlogv1.Event, t *timestamppb.Timestamp) *eventlogv1.LogEventResponse {
	t.Seconds, t.Nanos = w.Event.Time.Unix(), int32(w.Event.Time.Nanosecond())
	e.Id, e.Time, e.Hash, e.SourceId = w.Event.ID, t, w.Event.Hash, w.Event.SourceID
	resp.Event, resp.ChildCount = e, int64(len(w.Children))
	return resp
}

// writeFromProto checks one LogEventRequest and converts it into *w, which
// it overwrites (on an error, *w is not to be used); prefix is its path in
// the call ("" or "requests[3]."). Filling the caller's Write in place
// keeps the entry off this call's stack: a LogEvent's stack then stays
// under a size that Go would grow it past, copying it, on every call.
func writeFromProto(w *eventlog.Write, prefix string, req *eventlogv1.LogEventRequest) error {
	if err := eventFromProto(&w.Event, prefix+"event", req.GetEvent(), req.GetIdempotencyKey()); err != nil {
		return err
	}
	related, err := relatedFromProto(prefix+"related", req.GetRelated())
	if err != nil {
		return err
	}
	w.Related = related
	return nil
}

// writtenToProto converts an entry as written, with its children, for a
// response. sent is the details of the request and canon their stored
// form: when the entry holds them (it was written by this request, not
// found by its idempotency key), the response carries sent rather than
// parsing the stored form back.
func writtenToProto(w *eventlog.Written, sent *structpb.Struct, canon []byte) *eventlogv1.LogEventResponse {
	return writtenInto(w, sent, canon, nil, &eventlogv1.LogEventResponse{})
}

// writtenInto is writtenToProto in resp, empty, with the entry's messages
// from arena when it is not nil.
func writtenInto(w *eventlog.Written, sent *structpb.Struct, canon []byte, arena *protomap.Arena, resp *eventlogv1.LogEventResponse) *eventlogv1.LogEventResponse {
	details := sent
	if len(canon) == 0 || !bytes.Equal(w.Event.Details, canon) {
		details = protomap.DetailsToProto(w.Event.Details)
	}
	if arena != nil {
		resp.Event = arena.EventToProtoDetails(&w.Event, details)
	} else {
		resp.Event = protomap.EventToProtoDetails(&w.Event, details)
	}
	resp.ChildCount = int64(len(w.Children))
	if len(w.Children) > 0 {
		resp.Children = make([]*eventlogv1.Event, len(w.Children))
		for i := range w.Children {
			resp.Children[i] = protomap.EventToProto(&w.Children[i])
		}
	}
	return resp
}

// LogEvents appends up to eventlog.MaxBatch entries atomically.
func (s *Server) LogEvents(ctx context.Context, req *eventlogv1.LogEventsRequest) (*eventlogv1.LogEventsResponse, error) {
	reqs := req.GetRequests()
	var err error
	switch {
	case len(reqs) == 0:
		err = eventlog.Invalid("requests", "at least one entry is required")
	case len(reqs) > eventlog.MaxBatch:
		err = eventlog.Invalid("requests", "at most %d entries per call, got %d; split the batch", eventlog.MaxBatch, len(reqs))
	default:
		err = checkView(req.GetView())
	}
	if err != nil {
		s.metrics.Wrote(len(reqs), nil, err)
		return nil, s.fail(ctx, "LogEvents", err)
	}
	writes := make([]eventlog.Write, len(reqs))
	for i, r := range reqs {
		if err := writeFromProto(&writes[i], "", r); err != nil {
			// The entry's path is made for an error only: a batch of
			// valid entries formats none.
			err = eventlog.Within(fmt.Sprintf("requests[%d]", i), err)
			s.metrics.Wrote(len(reqs), nil, err)
			return nil, s.fail(ctx, "LogEvents", err)
		}
	}
	out, err := s.commit.Write(ctx, writes)
	s.metrics.Wrote(len(reqs), out, err)
	if err != nil {
		return nil, s.fail(ctx, "LogEvents", err)
	}
	resp := &eventlogv1.LogEventsResponse{Responses: make([]*eventlogv1.LogEventResponse, len(out))}
	if req.GetView() == eventlogv1.EventView_EVENT_VIEW_BASIC {
		// The messages of the basic view, three an entry, allocated a
		// kind at a time rather than one by one.
		resps := make([]eventlogv1.LogEventResponse, len(out))
		events := make([]eventlogv1.Event, len(out))
		times := make([]timestamppb.Timestamp, len(out))
		for i := range out {
			resp.Responses[i] = basicInto(&out[i], &resps[i], &events[i], &times[i])
		}
		return resp, nil
	}
	arena, resps := protomap.NewArena(len(out)), make([]eventlogv1.LogEventResponse, len(out))
	for i := range out {
		resp.Responses[i] = writtenInto(&out[i], reqs[i].GetEvent().GetDetails(), writes[i].Event.Details, arena, &resps[i])
	}
	return resp, nil
}

// GetEvent returns one entry.
func (s *Server) GetEvent(ctx context.Context, req *eventlogv1.GetEventRequest) (*eventlogv1.GetEventResponse, error) {
	if req.GetId() <= 0 {
		return nil, s.fail(ctx, "GetEvent", eventlog.Invalid("id", "must be a positive entry id, got %d", req.GetId()))
	}
	e, err := s.store.Get(ctx, req.GetId())
	if err != nil {
		return nil, s.fail(ctx, "GetEvent", err)
	}
	n, err := s.store.ChildCount(ctx, e.ID)
	if err != nil {
		return nil, s.fail(ctx, "GetEvent", err)
	}
	return &eventlogv1.GetEventResponse{Event: protomap.EventToProto(&e), ChildCount: n}, nil
}

// ListEvents returns one page of entries.
func (s *Server) ListEvents(ctx context.Context, req *eventlogv1.ListEventsRequest) (*eventlogv1.ListEventsResponse, error) {
	f, p, err := listFromProto(req)
	if err != nil {
		return nil, s.fail(ctx, "ListEvents", err)
	}
	size := p.Limit
	p.Limit++ // one more tells whether there is a next page
	events, err := s.store.List(ctx, f, p)
	if err != nil {
		return nil, s.fail(ctx, "ListEvents", err)
	}
	resp := &eventlogv1.ListEventsResponse{}
	more := len(events) > size
	if more {
		events = events[:size]
	}
	resp.Events = make([]*eventlogv1.Event, 0, len(events))
	used := 0
	for i := range events {
		pe := protomap.EventToProto(&events[i])
		// A page stops short of the byte budget (entries with large
		// details), and says where to continue.
		n := proto.Size(pe) + 8
		if i > 0 && used+n > s.maxListBytes {
			more = true
			break
		}
		used += n
		resp.Events = append(resp.Events, pe)
	}
	if more {
		resp.NextPageToken = encodePageToken(resp.Events[len(resp.Events)-1].GetId(), f, p.Ascending)
	}
	return resp, nil
}

// CountEvents counts entries per bucket of time.
func (s *Server) CountEvents(ctx context.Context, req *eventlogv1.CountEventsRequest) (*eventlogv1.CountEventsResponse, error) {
	q, err := countFromProto(req, time.Now())
	if err != nil {
		return nil, s.fail(ctx, "CountEvents", err)
	}
	counts, err := s.store.Count(ctx, q)
	if err != nil {
		return nil, s.fail(ctx, "CountEvents", err)
	}
	first, end := q.Buckets()
	resp := &eventlogv1.CountEventsResponse{
		Counts:     make([]*eventlogv1.EventCount, len(counts)),
		RangeStart: timestamppb.New(first),
		RangeEnd:   timestamppb.New(end),
	}
	for i, c := range counts {
		resp.Counts[i] = &eventlogv1.EventCount{StartTime: timestamppb.New(c.Start), Key: c.Key, Count: c.N}
		resp.Total += c.N
	}
	return resp, nil
}

// VerifyChain checks the hash chain over a range of entries, at most
// s.maxVerify of them per call.
func (s *Server) VerifyChain(ctx context.Context, req *eventlogv1.VerifyChainRequest) (*eventlogv1.VerifyChainResponse, error) {
	opts, err := verifyFromProto(req)
	if err != nil {
		return nil, s.fail(ctx, "VerifyChain", err)
	}
	opts.MaxEntries = s.maxVerify
	res, err := eventlog.VerifyChain(ctx, s.store, opts)
	if err != nil {
		return nil, s.fail(ctx, "VerifyChain", err)
	}
	if res.Break != nil {
		s.log.WarnContext(ctx, "hash chain broken", "id", res.Break.ID, "kind", res.Break.Kind.String(), "problem", res.Break.Problem)
	}
	return protomap.VerifyToProto(&res), nil
}

// serviceDesc is the generated description of EventLogService with each
// method's handler wrapped by undecodable.
var serviceDesc = func() grpc.ServiceDesc {
	d := eventlogv1.EventLogService_ServiceDesc
	d.Methods = slices.Clone(d.Methods)
	for i := range d.Methods {
		d.Methods[i].Handler = undecodable(d.ServiceName, d.Methods[i].MethodName, d.Methods[i].Handler)
	}
	d.Streams = slices.Clone(d.Streams)
	for i := range d.Streams {
		h := d.Streams[i].Handler
		d.Streams[i].Handler = func(srv any, stream grpc.ServerStream) error {
			return h(srv, &decodingStream{stream})
		}
	}
	return d
}()

// Requests that cannot be decoded.
//
// gRPC answers a request it cannot decode (bytes that are not the message,
// a string that is not UTF-8, nesting deeper than protobuf allows) with
// INTERNAL, at once and before any interceptor runs: the access log never
// sees it, and the caller is told that the server failed. Codec decodes
// the service's requests instead, and when one cannot be decoded it leaves
// the message empty and notes why; the handler (undecodable,
// decodingStream) then fails the call with INVALID_ARGUMENT, after the
// interceptors, like any other bad request.

// Codec is the server's codec: protobuf, with the service's undecodable
// requests reported as above. Serve with grpc.ForceServerCodecV2(Codec).
var Codec encoding.CodecV2 = requestCodec{encoding.GetCodecV2("proto")}

type requestCodec struct{ encoding.CodecV2 }

// undecoded holds, per request message, why it could not be decoded,
// until its handler takes it.
var undecoded sync.Map

func (c requestCodec) Unmarshal(data mem.BufferSlice, v any) error {
	switch m := v.(type) {
	case *eventlogv1.LogEventsRequest:
		if decodeWrite(data, m, protomap.DecodeLogEventsRequest, func(b []byte) bool {
			var w wirev1.LogEventsRequest
			return proto.Unmarshal(b, &w) == nil && protomap.LogEventsRequestFromWire(&w, m)
		}) {
			return nil
		}
	case *eventlogv1.LogEventRequest:
		if decodeWrite(data, m, protomap.DecodeLogEventRequest, func(b []byte) bool {
			var w wirev1.LogEventRequest
			return proto.Unmarshal(b, &w) == nil && protomap.LogEventRequestFromWire(&w, m)
		}) {
			return nil
		}
	}
	// Other requests, and write requests that cannot be decoded, whose
	// error then comes from the API's own messages.
	err := c.CodecV2.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	m, ok := v.(proto.Message)
	if !ok || m.ProtoReflect().Descriptor().ParentFile().Package() != "eventlog.v1" {
		return err
	}
	proto.Reset(m)
	undecoded.Store(m, err)
	return nil
}

// decodeWrite decodes a write request m, leaving each event's details
// undecoded: the server writes them as canonical JSON straight from their
// bytes (protomap.AppendCanonicalDetailsWire); building each entry's
// google.protobuf.Struct, its map and its Values was a fifth of the
// server's processor time on a large batch. The request is read by hand
// (protomap.DecodeLogEventsRequest) when it is in the form that encoders
// write, and otherwise with its decoding form (proto/eventlog/wire,
// wire). It returns false, with m reset, when neither can decode it: the
// API's own message then decodes it, or says why not.
func decodeWrite[M proto.Message](data mem.BufferSlice, m M, hand func([]byte, M) bool, wire func([]byte) bool) bool {
	buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
	defer buf.Free()
	if hand(buf.ReadOnlyData(), m) {
		return true
	}
	proto.Reset(m)
	if wire(buf.ReadOnlyData()) {
		return true
	}
	proto.Reset(m)
	return false
}

// decodeError returns the error that decoding m met, if any.
func decodeError(m any) error {
	err, ok := undecoded.LoadAndDelete(m)
	if !ok {
		return nil
	}
	return status.Errorf(codes.InvalidArgument, "the request cannot be decoded as %s: %v",
		m.(proto.Message).ProtoReflect().Descriptor().FullName(), err)
}

// undecodable fails a unary call whose request could not be decoded with
// INVALID_ARGUMENT, and runs the interceptors for it as for any other call,
// so that it is authenticated and logged; the generated handler decodes the
// request before it calls them. A request refused while being received
// (too large) is treated the same way.
func undecodable(service, method string, h grpc.MethodHandler) grpc.MethodHandler {
	full := "/" + service + "/" + method
	return func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
		var decodeErr error
		resp, err := h(srv, ctx, func(m any) error {
			decodeErr = dec(m)
			if decodeErr == nil {
				decodeErr = decodeError(m)
			}
			return decodeErr
		}, interceptor)
		if decodeErr == nil || interceptor == nil {
			return resp, err
		}
		info := &grpc.UnaryServerInfo{Server: srv, FullMethod: full}
		return interceptor(ctx, nil, info, func(context.Context, any) (any, error) { return nil, decodeErr })
	}
}

// decodingStream gives a streaming call's requests that cannot be decoded
// the same status as unary ones.
type decodingStream struct{ grpc.ServerStream }

func (s *decodingStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	return decodeError(m)
}
