package main

import (
	"context"
	"flag"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/client"
	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
	"github.com/eventlog/eventlog/protomap"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
)

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
	w, err := protomap.WriteFromProto(req)
	if err != nil {
		return err
	}
	var written eventlog.Written
	err = o.withClient(ctx, e, func(c *client.Client) error {
		written, err = c.LogEvent(ctx, w)
		return err
	})
	if err != nil {
		return err
	}
	for _, ev := range append([]eventlog.Event{written.Event}, written.Children...) {
		if err := o.print(e.stdout, protomap.EventToProto(&ev)); err != nil {
			return err
		}
	}
	return nil
}
