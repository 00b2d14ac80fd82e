package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

var tailHelp = commandHelp{
	usage: "eventlog tail [flags]",
	description: `Tail follows the log: it prints new entries that match the filters as they
are committed, until interrupted. With --after ID it first prints the stored
entries after ID (--after 0: the whole log).

When the connection breaks, or the server stops, tail reconnects with
backoff and resumes after the last entry it printed, so its output has no
gap and no duplicate. Messages about the connection go to standard error.`,
	example: `  eventlog tail --format nginx
  eventlog tail --type login_failed --after 0`,
}

// tailOptions are the flags of "eventlog tail" beyond the request.
type tailOptions struct {
	clientOptions
	maxBackoff time.Duration
}

// parseTail turns the arguments of "eventlog tail" into a request.
func parseTail(e *env, args []string) (*eventlogv1.StreamEventsRequest, *tailOptions, error) {
	fs := flag.NewFlagSet("tail", flag.ContinueOnError)
	var o tailOptions
	o.register(fs)
	var ff filterFlags
	ff.register(fs)
	after := fs.Int64("after", 0, "first print the stored entries after this `id`; without it, only new entries")
	fs.DurationVar(&o.maxBackoff, "max-backoff", 10*time.Second, "longest wait between reconnection attempts")
	rest, err := parseFlags(fs, e, tailHelp, args)
	if err != nil {
		return nil, nil, err
	}
	if err := noArgs(tailHelp, rest); err != nil {
		return nil, nil, err
	}
	if err := o.resolve(fs, e); err != nil {
		return nil, nil, err
	}
	if o.maxBackoff <= 0 {
		return nil, nil, usagef("--max-backoff: want a positive duration, got %s", o.maxBackoff)
	}
	lr, err := ff.request(fs)
	if err != nil {
		return nil, nil, err
	}
	req := &eventlogv1.StreamEventsRequest{
		EventType: lr.EventType, Actor: lr.Actor, ContentType: lr.ContentType, ObjectId: lr.ObjectId,
		SourceId: lr.SourceId, StartTime: lr.StartTime, EndTime: lr.EndTime,
	}
	if isSet(fs, "after") {
		if *after < 0 {
			return nil, nil, usagef("--after: want 0 or more, got %d", *after)
		}
		req.AfterId = after
	}
	return req, &o, nil
}

// runTail is "eventlog tail".
func runTail(ctx context.Context, e *env, args []string) error {
	req, o, err := parseTail(e, args)
	if err != nil {
		return err
	}
	return o.withClient(ctx, e, func(client eventlogv1.EventLogServiceClient) error {
		return follow(ctx, e, client, req, o)
	})
}

// follow streams entries and reconnects after failures, resuming after the
// last id seen (an entry printed, or a heartbeat's position).
func follow(ctx context.Context, e *env, client eventlogv1.EventLogServiceClient, req *eventlogv1.StreamEventsRequest, o *tailOptions) error {
	const minBackoff = 100 * time.Millisecond
	backoff := minBackoff
	for {
		progressed, err := followOnce(ctx, e, client, req, o)
		if ctx.Err() != nil {
			return nil // interrupted: a normal end
		}
		if !retryable(err) {
			return rpcError(err)
		}
		if progressed {
			backoff = minBackoff
		}
		where := "from the start"
		if req.AfterId != nil {
			where = fmt.Sprintf("after id %d", req.GetAfterId())
		}
		fmt.Fprintf(e.stderr, "tail: %v; reconnecting in %s, %s\n", rpcError(err), backoff, where)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, o.maxBackoff)
	}
}

// followOnce runs one stream until it fails, and says whether it received
// anything. It moves req.AfterId past what it received.
func followOnce(ctx context.Context, e *env, client eventlogv1.EventLogServiceClient, req *eventlogv1.StreamEventsRequest, o *tailOptions) (bool, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := client.StreamEvents(ctx, req)
	if err != nil {
		return false, err
	}
	progressed := false
	for {
		resp, err := stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = status.Error(codes.Unavailable, "the server ended the stream")
			}
			return progressed, err
		}
		progressed = true
		var id int64
		switch item := resp.GetItem().(type) {
		case *eventlogv1.StreamEventsResponse_Event:
			if err := o.print(e.stdout, item.Event); err != nil {
				return progressed, err
			}
			id = item.Event.GetId()
		case *eventlogv1.StreamEventsResponse_Heartbeat:
			id = item.Heartbeat.GetLastId()
		}
		if req.AfterId == nil || id > req.GetAfterId() {
			req.AfterId = &id
		}
	}
}

// retryable says whether a stream error is worth reconnecting after: the
// server or the network failed, rather than the request.
func retryable(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.Internal, codes.Unknown, codes.DeadlineExceeded,
		codes.ResourceExhausted, codes.Aborted, codes.Canceled:
		return true
	}
	return false
}
