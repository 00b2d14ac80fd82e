package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"

	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
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
