package server

import (
	"errors"
	"time"

	"github.com/eventlog/eventlog"
	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
	"github.com/eventlog/eventlog/protomap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// streamBatch is how many entries a stream reads at a time.
const streamBatch = 256

// streamFromProto checks a StreamEvents request: its filters are those of
// ListEvents.
func streamFromProto(req *eventlogv1.StreamEventsRequest) (eventlog.Filter, *int64, error) {
	f, _, err := listFromProto(&eventlogv1.ListEventsRequest{
		EventType:   req.GetEventType(),
		Actor:       req.GetActor(),
		ContentType: req.GetContentType(),
		ObjectId:    req.GetObjectId(),
		SourceId:    req.SourceId,
		StartTime:   req.GetStartTime(),
		EndTime:     req.GetEndTime(),
	})
	if err != nil {
		return f, nil, err
	}
	if req.AfterId != nil && req.GetAfterId() < 0 {
		return f, nil, eventlog.Invalid("after_id", "must not be negative, got %d", req.GetAfterId())
	}
	return f, req.AfterId, nil
}

// StreamEvents follows the log: stored entries after after_id first, then
// new ones as they commit. Each stream keeps only a cursor: near the head it
// reads the hub's copy of the newest entries, further behind it reads the
// store, so a slow reader never holds memory or writers up.
func (s *Server) StreamEvents(req *eventlogv1.StreamEventsRequest, stream grpc.ServerStreamingServer[eventlogv1.StreamEventsResponse]) error {
	ctx := stream.Context()
	f, after, err := streamFromProto(req)
	if err != nil {
		return s.fail(ctx, "StreamEvents", err)
	}
	select {
	case s.streams <- struct{}{}:
		defer func() { <-s.streams }()
	default:
		return status.Errorf(codes.ResourceExhausted,
			"too many streams: this server allows %d at once (--max-streams); retry later or connect to another server", cap(s.streams))
	}

	defer s.hub.Subscribe()()

	cursor := s.hub.Head()
	if after != nil {
		cursor = *after
	}
	ms := s.metrics.StreamOpened(cursor)
	defer s.metrics.StreamClosed(ms)
	out := startSender(stream)
	defer out.stop()
	// The first item tells the subscriber where the stream starts, so that
	// it can resume from there even before an entry arrives.
	if err := out.send(s.hub.Stopped(), heartbeat(cursor)); err != nil {
		return s.streamEnd(err, cursor)
	}
	ticker := time.NewTicker(s.heartbeat)
	defer ticker.Stop()
	for {
		batch, scanned, ok := s.hub.Since(cursor, &f, streamBatch)
		if !ok {
			// Behind the hub's window: read the store. Every entry up to
			// the head known now is visible to the query that follows.
			head := s.hub.Head()
			batch, err = s.store.List(ctx, f, eventlog.Page{Cursor: cursor, Ascending: true, Limit: streamBatch})
			if errors.Is(err, eventlog.ErrUnavailable) {
				s.log.WarnContext(ctx, "request failed", "method", "StreamEvents", "err", err)
				return status.Errorf(codes.Unavailable, "the database cannot be reached; resume with after_id=%d", cursor)
			}
			if err != nil {
				return s.fail(ctx, "StreamEvents", err)
			}
			if len(batch) == streamBatch {
				scanned = batch[len(batch)-1].ID
			} else {
				scanned = max(cursor, head)
				if n := len(batch); n > 0 {
					scanned = max(scanned, batch[n-1].ID)
				}
			}
		}
		if len(batch) > 0 {
			msgs := make([]*eventlogv1.StreamEventsResponse, len(batch))
			for i := range batch {
				msgs[i] = &eventlogv1.StreamEventsResponse{
					Item: &eventlogv1.StreamEventsResponse_Event{Event: protomap.EventToProto(&batch[i])},
				}
			}
			if err := out.send(s.hub.Stopped(), msgs...); err != nil {
				return s.streamEnd(err, cursor)
			}
			ticker.Reset(s.heartbeat)
		}
		cursor = scanned
		ms.At(cursor)
		if len(batch) == streamBatch {
			continue // more may be waiting
		}
		grown, closed := s.hub.Wait(cursor)
		if closed {
			return s.streamEnd(errShuttingDown, cursor)
		}
		select {
		case <-grown:
		case <-ticker.C:
			if err := out.send(s.hub.Stopped(), heartbeat(cursor)); err != nil {
				return s.streamEnd(err, cursor)
			}
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		}
	}
}

var errShuttingDown = errors.New("shutting down")

// streamEnd is the status a stream ends with after err; cursor is where
// the subscriber can resume.
func (s *Server) streamEnd(err error, cursor int64) error {
	if errors.Is(err, errShuttingDown) {
		return status.Errorf(codes.Unavailable, "the server is shutting down; resume with after_id=%d", cursor)
	}
	return err
}

func heartbeat(lastID int64) *eventlogv1.StreamEventsResponse {
	return &eventlogv1.StreamEventsResponse{
		Item: &eventlogv1.StreamEventsResponse_Heartbeat{Heartbeat: &eventlogv1.Heartbeat{
			LastId: lastID, Time: timestamppb.Now(),
		}},
	}
}

// sender sends a stream's messages from a goroutine of its own, so that
// the stream can end at shutdown even while a subscriber that stopped
// reading keeps a send waiting on flow control. The send returns once the
// stream ends.
type sender struct {
	msgs chan []*eventlogv1.StreamEventsResponse
	errs chan error
}

func startSender(stream grpc.ServerStreamingServer[eventlogv1.StreamEventsResponse]) *sender {
	s := &sender{msgs: make(chan []*eventlogv1.StreamEventsResponse), errs: make(chan error, 1)}
	go func() {
		for batch := range s.msgs {
			var err error
			for _, m := range batch {
				if err = stream.Send(m); err != nil {
					break
				}
			}
			s.errs <- err
			if err != nil {
				return
			}
		}
	}()
	return s
}

// send hands msgs to the sending goroutine and waits until they are sent,
// or until abort is closed (errShuttingDown).
func (s *sender) send(abort <-chan struct{}, msgs ...*eventlogv1.StreamEventsResponse) error {
	select {
	case s.msgs <- msgs:
	case <-abort:
		return errShuttingDown
	}
	select {
	case err := <-s.errs:
		return err
	case <-abort:
		return errShuttingDown
	}
}

// stop lets the sending goroutine end once its current send returns.
func (s *sender) stop() { close(s.msgs) }
