package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/client"
	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
	"github.com/eventlog/eventlog/protomap"
)

var relationsHelp = commandHelp{
	usage: "eventlog relations [flags]",
	description: `Relations lists registered relations, one "FROM -> TO [KIND]" a line (or
JSON with --format json), ordered by FROM, TO and KIND. --from and --to
take TYPE/ID, or TYPE alone for every object of the type.`,
	example: `  eventlog relations --from Note/n1
  eventlog relations --to Entity --all`,
}

// runRelations is "eventlog relations".
func runRelations(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("relations", flag.ContinueOnError)
	var o clientOptions
	o.register(fs)
	fs.Lookup("format").Usage = "output `format`: text (FROM -> TO [KIND]) or json (one object a line)"
	fs.Lookup("format").DefValue = "text"
	o.format = "text"
	var (
		from  = fs.String("from", "", "only relations from this object, `TYPE/ID`, or from any object of TYPE")
		to    = fs.String("to", "", "only relations to this object, `TYPE/ID`, or to any object of TYPE")
		kind  = fs.String("kind", "", "only relations of this `kind`")
		limit = fs.Int("limit", 0, "relations per page (`N`); 0 for the server's default of 50")
		token = fs.String("page-token", "", "continue a listing from this `token`")
		all   = fs.Bool("all", false, "follow the pages to the last one")
	)
	rest, err := parseFlags(fs, e, relationsHelp, args)
	if err != nil {
		return err
	}
	if err := noArgs(relationsHelp, rest); err != nil {
		return err
	}
	if o.format == "nginx" {
		return usagef("--format: want text or json, got %q", o.format)
	}
	text := o.format == "text"
	if text {
		o.format = "json" // satisfies resolve; output below is text
	}
	if err := o.resolve(fs, e); err != nil {
		return err
	}
	if *limit < 0 {
		return usagef("--limit: want 0 or more, got %d", *limit)
	}
	var f eventlog.RelationFilter
	end := func(s string) *eventlog.ObjectRef {
		if s == "" {
			return nil
		}
		ct, id, _ := strings.Cut(s, "/")
		return &eventlog.ObjectRef{ContentType: ct, ObjectID: id}
	}
	f.From, f.To = end(*from), end(*to)
	if *kind != "" {
		f.Kind = kind
	}
	size := int32(min(*limit, eventlog.MaxPageSize))

	return o.withClient(ctx, e, func(c *client.Client) error {
		pageToken := *token
		for {
			page, next, err := c.ListRelationsPage(ctx, f, pageToken, size)
			if err != nil {
				return err
			}
			for _, r := range page {
				if err := printRelation(e.stdout, protomap.RelationToProto(r), text); err != nil {
					return err
				}
			}
			if next == "" {
				return nil
			}
			if !*all {
				fmt.Fprintf(e.stderr, "more relations: --page-token %s\n", next)
				return nil
			}
			pageToken = next
		}
	})
}

func printRelation(w io.Writer, r *eventlogv1.Relation, text bool) error {
	if !text {
		b, err := compactJSON(r)
		if err != nil {
			return err
		}
		_, err = w.Write(append(b, '\n'))
		return err
	}
	line := fmt.Sprintf("%s/%s -> %s/%s", r.GetFrom().GetContentType(), r.GetFrom().GetObjectId(),
		r.GetTo().GetContentType(), r.GetTo().GetObjectId())
	if r.GetKind() != "" {
		line += " [" + r.GetKind() + "]"
	}
	_, err := fmt.Fprintln(w, line)
	return err
}
