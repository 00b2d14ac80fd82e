package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/client"
	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
	"github.com/eventlog/eventlog/protomap"
)

var relateHelp = commandHelp{
	usage: "eventlog relate FROM TO [flags]  |  eventlog relate --file FILE [flags]",
	description: `Relate registers relations between objects, each written TYPE/ID. Entries
logged later on FROM propagate to TO, as the server's propagation rules
allow (by default CREATE, EDIT and DELETE propagate one hop as EDIT).
Registering a relation that exists already changes nothing.

With --file, relations are read one a line, "FROM TO [KIND]" ("-" reads
standard input), and sent 1,000 a call.`,
	example: `  eventlog relate Note/n1 Entity/e1 --kind links
  printf 'Note/n1 Entity/e2\nEntity/e1 EntryClass/actor\n' | eventlog relate --file -`,
}

var unrelateHelp = commandHelp{
	usage: "eventlog unrelate FROM TO [flags]  |  eventlog unrelate --file FILE [flags]",
	description: `Unrelate removes relations registered with "eventlog relate". Later
entries no longer propagate along them; entries already written stay as
they are. Removing a relation that does not exist is not an error.`,
	example: `  eventlog unrelate Note/n1 Entity/e1 --kind links`,
}

// relationFlags are the flags of relate and unrelate.
type relationFlags struct {
	clientOptions
	kind string
	file string
}

// parseRelations reads the relations named by the arguments of relate or
// unrelate.
func parseRelations(e *env, name string, h commandHelp, args []string) ([]*eventlogv1.Relation, *relationFlags, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	var o relationFlags
	o.register(fs)
	fs.StringVar(&o.kind, "kind", "", "`kind` of the relation, such as links (default none)")
	fs.StringVar(&o.file, "file", "", "read relations from `FILE`, one \"FROM TO [KIND]\" a line; - for standard input")
	rest, err := parseFlags(fs, e, h, args)
	if err != nil {
		return nil, nil, err
	}
	if err := o.resolve(fs, e); err != nil {
		return nil, nil, err
	}
	if o.file != "" {
		if len(rest) > 0 {
			return nil, nil, usagef("give relations either as FROM TO or with --file, not both")
		}
		rels, err := readRelations(e, o.file, o.kind)
		return rels, &o, err
	}
	if len(rest) != 2 {
		return nil, nil, usagef("want FROM TO, such as Note/n1 Entity/e1, got %d arguments (see %s --help)", len(rest), commandName(h))
	}
	rel, err := relationArg(rest[0], rest[1], o.kind)
	if err != nil {
		return nil, nil, usagef("%v", err)
	}
	return []*eventlogv1.Relation{rel}, &o, nil
}

func relationArg(from, to, kind string) (*eventlogv1.Relation, error) {
	fct, fid, err := splitObject("from", from)
	if err != nil {
		return nil, fmt.Errorf("FROM: want TYPE/ID, such as Note/n1, got %q", from)
	}
	tct, tid, err := splitObject("to", to)
	if err != nil {
		return nil, fmt.Errorf("TO: want TYPE/ID, such as Entity/e1, got %q", to)
	}
	return &eventlogv1.Relation{
		From: &eventlogv1.ObjectRef{ContentType: fct, ObjectId: fid},
		To:   &eventlogv1.ObjectRef{ContentType: tct, ObjectId: tid},
		Kind: kind,
	}, nil
}

// readRelations reads "FROM TO [KIND]" lines; blank lines and lines
// starting with # are skipped. kind applies where a line names none.
func readRelations(e *env, path, kind string) ([]*eventlogv1.Relation, error) {
	var r io.Reader = e.stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("--file: %w", err)
		}
		defer f.Close()
		r = f
	}
	var rels []*eventlogv1.Relation
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		f := strings.Fields(text)
		if len(f) < 2 || len(f) > 3 {
			return nil, fmt.Errorf("%s:%d: want FROM TO [KIND], got %q", path, line, text)
		}
		k := kind
		if len(f) == 3 {
			k = f[2]
		}
		rel, err := relationArg(f[0], f[1], k)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, line, err)
		}
		rels = append(rels, rel)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("--file %s: %w", path, err)
	}
	if len(rels) == 0 {
		return nil, fmt.Errorf("--file %s: no relations in it", path)
	}
	return rels, nil
}

// sendRelations sends rels in calls of at most eventlog.MaxRelationsPerCall
// and returns the sum of the counts the calls report.
func sendRelations(ctx context.Context, o *relationFlags, e *env, rels []*eventlogv1.Relation,
	call func(*client.Client, context.Context, []eventlog.Relation) (int, error)) (int, error) {
	total := 0
	err := o.withClient(ctx, e, func(c *client.Client) error {
		for len(rels) > 0 {
			n := min(len(rels), eventlog.MaxRelationsPerCall)
			batch := make([]eventlog.Relation, n)
			for i, r := range rels[:n] {
				batch[i] = protomap.RelationFromProto(r)
			}
			k, err := call(c, ctx, batch)
			if err != nil {
				return err
			}
			total += k
			rels = rels[n:]
		}
		return nil
	})
	return total, err
}

// runRelate is "eventlog relate".
func runRelate(ctx context.Context, e *env, args []string) error {
	rels, o, err := parseRelations(e, "relate", relateHelp, args)
	if err != nil {
		return err
	}
	n, err := sendRelations(ctx, o, e, rels, (*client.Client).PutRelations)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%d relations registered, %d new\n", len(rels), n)
	return nil
}

// runUnrelate is "eventlog unrelate".
func runUnrelate(ctx context.Context, e *env, args []string) error {
	rels, o, err := parseRelations(e, "unrelate", unrelateHelp, args)
	if err != nil {
		return err
	}
	n, err := sendRelations(ctx, o, e, rels, (*client.Client).DeleteRelations)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%d relations removed\n", n)
	return nil
}
