package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/client"
	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
	"github.com/eventlog/eventlog/protomap"
)

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
	var ev eventlog.Event
	var children int64
	err = o.withClient(ctx, e, func(c *client.Client) error {
		ev, children, err = c.GetEvent(ctx, req.GetId())
		return err
	})
	if err != nil {
		return err
	}
	if children > 0 {
		fmt.Fprintf(e.stderr, "%d propagated entries: eventlog list --source-id %d\n", children, req.GetId())
	}
	return o.print(e.stdout, protomap.EventToProto(&ev))
}
