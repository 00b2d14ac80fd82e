package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"strings"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/client"
	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
	"github.com/eventlog/eventlog/protomap"
)

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
	return o.withClient(ctx, e, func(c *client.Client) error {
		return listEvents(ctx, e, c, req, o)
	})
}

// pageLister lists entries a page at a time; *client.Client is one.
type pageLister interface {
	ListPage(ctx context.Context, f eventlog.Filter, pageToken string, opts ...client.ListOption) ([]eventlog.Event, string, error)
}

// listEvents prints the entries req selects: one page, with a hint about
// the next on e.stderr, or with o.all every page.
func listEvents(ctx context.Context, e *env, c pageLister, req *eventlogv1.ListEventsRequest, o *listOptions) error {
	f, err := protomap.FilterFromProto(req)
	if err != nil {
		return err
	}
	opts := []client.ListOption{client.PageSize(req.GetPageSize())}
	if req.GetOrderBy() == "id asc" {
		opts = append(opts, client.Ascending())
	}
	token := req.GetPageToken()
	for {
		page, next, err := c.ListPage(ctx, f, token, opts...)
		if err != nil {
			return err
		}
		for i := range page {
			if err := o.print(e.stdout, protomap.EventToProto(&page[i])); err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		if !o.all {
			fmt.Fprintf(e.stderr, "more entries: --page-token %s\n", next)
			return nil
		}
		if next == token {
			return fmt.Errorf("list: the server returned the same page token twice (%q)", next)
		}
		token = next
	}
}
