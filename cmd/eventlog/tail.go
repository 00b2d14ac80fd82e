package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/eventlog/eventlog/client"
	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
	"github.com/eventlog/eventlog/protomap"
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

// runTail is "eventlog tail": it follows the log through client.Follow,
// which reconnects with backoff and resumes after the last id seen (an
// entry printed, or a heartbeat's position).
func runTail(ctx context.Context, e *env, args []string) error {
	req, o, err := parseTail(e, args)
	if err != nil {
		return err
	}
	f, err := protomap.FilterFromProto(&eventlogv1.ListEventsRequest{
		EventType: req.GetEventType(), Actor: req.GetActor(), ContentType: req.GetContentType(), ObjectId: req.GetObjectId(),
		SourceId: req.SourceId, StartTime: req.GetStartTime(), EndTime: req.GetEndTime(),
	})
	if err != nil {
		return usagef("--type: %v", err)
	}
	after := int64(-1)
	if req.AfterId != nil {
		after = req.GetAfterId()
	}
	c, err := dial(ctx, e, o.server, o.conn,
		client.WithBackoff(min(100*time.Millisecond, o.maxBackoff), o.maxBackoff),
		client.OnReconnect(func(err error, wait time.Duration, afterID int64) {
			where := "from the start"
			if afterID >= 0 {
				where = fmt.Sprintf("after id %d", afterID)
			}
			fmt.Fprintf(e.stderr, "tail: %v; reconnecting in %s, %s\n", err, wait, where)
		}))
	if err != nil {
		return err
	}
	defer c.Close()
	for ev, err := range c.Follow(ctx, f, after) {
		if err != nil {
			if ctx.Err() != nil {
				return nil // interrupted: a normal end
			}
			return err
		}
		if err := o.print(e.stdout, protomap.EventToProto(&ev)); err != nil {
			return err
		}
	}
	return nil
}
