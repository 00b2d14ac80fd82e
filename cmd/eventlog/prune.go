package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"time"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/store"
)

var pruneHelp = commandHelp{
	usage: "eventlog prune --db DSN (--before TIME | --keep DURATION) [flags]",
	description: `Prune removes the log's oldest entries, those older than a cutoff, for
retention. It first records an anchor: the last id removed, its hash, the
Merkle tree's subtree hashes over the removed entries, the cutoff, when and
by whom. Verification then starts from the anchor ("eventlog verify" says
so), and checkpoints signed before the prune still check against the log
that remains. Then it removes the entries:

  PostgreSQL  entries live in partitions of roughly 30 days each (the
              owner may set log_partitioning.period); prune drops the
              oldest partitions whose entries are all older than the
              cutoff, so up to one partition more than asked is kept.
              Detaching a partition waits for the queries already reading
              it to finish, without blocking appends or other reads.
  SQLite      entries are deleted oldest first in batches of 5,000, each
              its own transaction, so appends go on in between. The file
              does not shrink; its free pages are reused.

Only entries already in the Merkle tree are removed, and the removed part is
a whole number of the tree's stored subtrees (16 entries on SQLite), so
proofs about the entries kept still work. A proof that needs a removed
entry is refused with FAILED_PRECONDITION, naming the prune.

Prune never waits for a stream subscriber or an export: they read the live
end of the log or move forward through it, and retention removes only what
is older than its cutoff. A reader that goes on from an entry that was
removed (a stream resuming, an export, a listing with after_id) is told so,
FAILED_PRECONDITION with reason PRUNED and where to resume, rather than
skipping the removed entries unawares.

Run it as the owner of the tables (as for "eventlog grant"): the service's
role may not remove entries. It is safe to run while servers append, and
to run again: a prune stopped after its anchor (a killed process) is
finished by the next one. Run it from a scheduler (deploy/ has a
Kubernetes CronJob and a compose service).`,
	example: `  eventlog prune --db 'postgres://owner@db/eventlog' --keep 400d --dry-run
  eventlog prune --db 'postgres://owner@db/eventlog' --keep 400d
  eventlog prune --db /var/lib/eventlog/log.db --before 2026-01-01T00:00:00Z`,
}

// runPrune is "eventlog prune".
func runPrune(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("prune", flag.ContinueOnError)
	db := fs.String("db", "", "the database (`DSN`), connecting as the tables' owner (required): "+dbHelp)
	before := fs.String("before", "", "remove entries older than this RFC 3339 `time`")
	keep := fs.String("keep", "", "keep entries younger than this `duration` (such as 400d, 90d or 2160h), remove the older ones")
	dryRun := fs.Bool("dry-run", false, "say what would be removed, and change nothing")
	wait := fs.Duration("wait", time.Hour, "give up after this `duration`, for example when readers hold a partition for long")
	quiet := fs.Bool("quiet", false, "print only the outcome, not each step")
	rest, err := parseFlags(fs, e, pruneHelp, args)
	if err != nil {
		return err
	}
	if err := noArgs(pruneHelp, rest); err != nil {
		return err
	}
	if *db == "" {
		return usagef("--db is required: the database, connecting as the owner of its tables (see eventlog prune --help)")
	}
	if _, err := checkDB("--db", *db); err != nil {
		return err
	}
	if (*before == "") == (*keep == "") {
		return usagef("give one of --before TIME and --keep DURATION (see eventlog prune --help)")
	}
	var cutoff time.Time
	if *before != "" {
		if cutoff, err = time.Parse(time.RFC3339Nano, *before); err != nil {
			return usagef("--before: want an RFC 3339 time such as 2026-01-02T15:04:05Z, got %q", *before)
		}
		if cutoff.After(time.Now()) {
			return usagef("--before: %s is in the future: that would remove the whole log", *before)
		}
	} else {
		d, err := parseKeep(*keep)
		if err != nil {
			return err
		}
		cutoff = time.Now().Add(-d)
	}
	if *wait <= 0 {
		return usagef("--wait: want a positive duration, got %s", *wait)
	}
	ctx, cancel := context.WithTimeout(ctx, *wait)
	defer cancel()

	st, err := openStore(ctx, store.Config{DSN: *db})
	if err != nil {
		return err
	}
	defer st.Close()
	start := time.Now()
	opts := store.PruneOptions{Before: cutoff, By: operator(), DryRun: *dryRun}
	if !*quiet {
		opts.Progress = func(format string, args ...any) {
			fmt.Fprintf(e.stderr, "prune: %s (%s)\n", fmt.Sprintf(format, args...), time.Since(start).Round(time.Millisecond))
		}
	}
	res, err := st.Prune(ctx, opts)
	if err != nil {
		return err
	}
	when := cutoff.UTC().Format(time.RFC3339)
	switch {
	case *dryRun && res.Removed == 0:
		fmt.Fprintf(e.stdout, "nothing to prune before %s%s\n", when, kept(res.Anchor))
	case *dryRun:
		fmt.Fprintf(e.stdout, "would remove entries %d to %d (%d entries), all older than %s\n",
			res.Anchor.ThroughID-res.Removed+1, res.Anchor.ThroughID, res.Removed, when)
	case res.New:
		fmt.Fprintf(e.stdout, "pruned entries up to %d (%d entries removed now), all older than %s\nanchor: entry %d hash %s\n",
			res.Anchor.ThroughID, res.Removed, when, res.Anchor.ThroughID, eventlog.HashString(res.Anchor.ThroughHash))
	case res.Removed > 0:
		fmt.Fprintf(e.stdout, "removed %d entries up to %d that an earlier prune had recorded; nothing new older than %s\n",
			res.Removed, res.Anchor.ThroughID, when)
	default:
		fmt.Fprintf(e.stdout, "nothing to prune before %s%s\n", when, kept(res.Anchor))
	}
	if len(res.Partitions) > 0 {
		fmt.Fprintf(e.stdout, "partitions dropped: %s\n", strings.Join(res.Partitions, ", "))
	}
	return nil
}

// kept describes the anchor there is, if any, for "nothing to prune".
func kept(a *eventlog.Anchor) string {
	if a == nil {
		return ""
	}
	return fmt.Sprintf(" (entries up to %d were pruned on %s)", a.ThroughID, a.PrunedAt.UTC().Format(time.RFC3339))
}

// parseKeep reads --keep: a Go duration, or a whole number of days ("90d").
func parseKeep(s string) (time.Duration, error) {
	var d time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 || days > 100*366 {
			return 0, usagef("--keep: want a duration such as 400d or 2160h, got %q", s)
		}
		d = time.Duration(days) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, usagef("--keep: want a duration such as 400d or 2160h, got %q", s)
		}
	}
	if d < time.Hour {
		return 0, usagef("--keep: %s is under an hour; keep at least an hour of the log", s)
	}
	return d, nil
}

// operator names who runs the command, for the anchor's record.
func operator() string {
	name := "unknown user"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, _ := os.Hostname()
	return fmt.Sprintf("eventlog prune by %s on %s", name, host)
}
