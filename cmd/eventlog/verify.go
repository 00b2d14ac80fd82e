package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/client"
	"github.com/eventlog/eventlog/store"
)

// errChainBroken is returned by "eventlog verify" when it found a break,
// which it has already reported; the exit status is 3.
var errChainBroken = errors.New("hash chain broken")

var verifyHelp = commandHelp{
	usage: "eventlog verify [--server ADDR | --db DSN] [--from ID] [--to ID] [flags]",
	description: `Verify checks the hash chain of the log: that every entry's hash matches
its content, that every entry's prev_hash is the hash of the entry before
it, that no id is missing and, when the range reaches the end of the log,
that the head (the last id and hash recorded by appends) matches the last
entry. It names the first bad id and what is wrong with it: a changed entry,
reordered entries, a broken link (an entry rewritten with a recomputed
hash), missing entries, a truncated tail, a head mismatch, or an entry
stored after the head.

It asks the server (VerifyChain, which needs a key with the read scope), or
with --db reads the database directly, read-only.

With --checkpoint, a checkpoint kept somewhere else (from eventlog witness,
or GetCheckpoint) and the log's --verifier-key, it then checks that the log
still extends that checkpoint. The chain alone cannot show entries removed
from the end with the head moved back, or entries rewritten from some id on
with a head to match: the checkpoint's signed root can. With --db it
computes the Merkle tree of the entries; from a server it checks a
consistency proof to the server's newest checkpoint. --from and --to limit the
check to a range of ids. Progress goes to standard error on long runs.

After a prune (eventlog prune), the check starts from the prune's anchor:
the first entry kept must follow the last one removed, whose hash the
anchor recorded, and with --checkpoint the tree's root is computed from the
anchor's subtree hashes and the entries kept, so a checkpoint signed before
the prune still checks; one that lies within the pruned part cannot be.

On success it prints the last id checked and its hash, in base64 as the
API and "eventlog get" show it: kept somewhere else,
that hash lets a later check show that nothing up to that id was rewritten,
even by someone who could also rewrite the head.

Exit status: 0 intact, 3 broken, 1 when the check could not be done, 2 for
a mistake on the command line.`,
	example: `  eventlog verify
  eventlog verify --db /var/lib/eventlog/log.db --from 1000000
  eventlog verify --db 'postgres://auditor@db/eventlog' --to 5000
  eventlog verify --db log.db --checkpoint saved.checkpoint --verifier-key @log.vkey`,
}

type verifyOptions struct {
	server   string
	timeout  time.Duration
	conn     connOptions
	db       string
	from, to int64
	progress time.Duration
	// checkpoint is a saved checkpoint's file, checked with verifier.
	checkpoint string
	verifier   string
}

func parseVerify(e *env, args []string) (*verifyOptions, error) {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	var o verifyOptions
	fs.StringVar(&o.server, "server", defaultServer, "`address` of the eventlog server; when not given, $"+serverEnv+" if set")
	fs.DurationVar(&o.timeout, "timeout", time.Minute, "deadline of each call to the server; 0 for none")
	o.conn.register(fs)
	fs.StringVar(&o.db, "db", "", "check this database (`DSN`) directly instead of asking a server: "+dbHelp)
	fs.Int64Var(&o.from, "from", 0, "first `id` to check; 0 for the first entry")
	fs.Int64Var(&o.to, "to", 0, "last `id` to check; 0 for the end of the log, which checks the head too")
	fs.DurationVar(&o.progress, "progress", 2*time.Second, "report progress on standard error every `interval`; 0 for never")
	fs.StringVar(&o.checkpoint, "checkpoint", "", "a saved checkpoint `file` (GetCheckpoint, eventlog witness): check that the log still extends it")
	fs.StringVar(&o.verifier, "verifier-key", "", "the verifier `key` of the log's signing key, or @FILE holding it; required with --checkpoint")
	rest, err := parseFlags(fs, e, verifyHelp, args)
	if err != nil {
		return nil, err
	}
	if err := noArgs(verifyHelp, rest); err != nil {
		return nil, err
	}
	if o.from < 0 || o.to < 0 {
		return nil, usagef("--from and --to: want 0 or a positive id")
	}
	if o.to != 0 && o.to < max(o.from, 1) {
		return nil, usagef("--to %d is before --from %d", o.to, o.from)
	}
	if o.db != "" {
		if _, err := checkDB("--db", o.db); err != nil {
			return nil, err
		}
	}
	if o.db != "" && isSet(fs, "server") {
		return nil, usagef("--db and --server cannot be combined: check the database directly or ask a server")
	}
	if !isSet(fs, "server") {
		if v := strings.TrimSpace(e.getenv(serverEnv)); v != "" {
			o.server = v
		}
	}
	if o.timeout < 0 {
		return nil, usagef("--timeout: want a duration of 0 or more, got %s", o.timeout)
	}
	if (o.checkpoint == "") != (o.verifier == "") {
		return nil, usagef("--checkpoint and --verifier-key go together")
	}
	o.conn.resolve(fs, e)
	return &o, nil
}

// runVerify is "eventlog verify".
func runVerify(ctx context.Context, e *env, args []string) error {
	o, err := parseVerify(e, args)
	if err != nil {
		return err
	}
	p := &progress{w: e.stderr, every: o.progress, start: time.Now()}
	p.last = p.start
	var res eventlog.VerifyResult
	if o.db != "" {
		res, err = verifyDB(ctx, o, p)
	} else {
		res, err = verifyServer(ctx, e, o, p)
	}
	if err != nil {
		return err
	}
	if err := report(e.stdout, &res); err != nil || o.checkpoint == "" {
		return err
	}
	return verifyCheckpoint(ctx, e, o)
}

// verifyCheckpoint checks that the log extends the saved checkpoint: with
// --db, by computing the Merkle tree of its entries up to the
// checkpoint's size, which no rewriting of the database's head can fake;
// from a server, with a consistency proof to its newest checkpoint.
func verifyCheckpoint(ctx context.Context, e *env, o *verifyOptions) error {
	verifier, err := readVerifierKey(o.verifier)
	if err != nil {
		return err
	}
	text, err := os.ReadFile(o.checkpoint)
	if err != nil {
		return fmt.Errorf("--checkpoint: %w", err)
	}
	saved, err := client.ParseCheckpoint(string(text), verifier)
	if err != nil {
		return fmt.Errorf("--checkpoint %s: %w", o.checkpoint, err)
	}
	if o.db == "" {
		c, err := dial(ctx, e, o.server, o.conn, client.WithCallTimeout(o.timeout))
		if err != nil {
			return err
		}
		defer c.Close()
		now, err := c.Checkpoint(ctx, verifier)
		if err != nil {
			return fmt.Errorf("the server's checkpoint: %w", err)
		}
		if err := c.VerifyConsistency(ctx, saved, now); err != nil {
			fmt.Fprintf(e.stdout, "BROKEN: the log of %d entries does not extend the checkpoint of %d: %v\n", now.Size, saved.Size, err)
			return errChainBroken
		}
		fmt.Fprintf(e.stdout, "the log of %d entries extends the checkpoint of %d entries (consistency proof checked)\n", now.Size, saved.Size)
		return nil
	}
	st, err := openStore(ctx, store.Config{DSN: o.db, ReadOnly: true})
	if err != nil {
		return err
	}
	defer st.Close()
	tree := client.NewTreeBuilder()
	after := int64(0)
	anchor, err := st.Anchor(ctx)
	if err != nil {
		return err
	}
	if anchor != nil {
		if saved.Size <= anchor.ThroughID {
			return fmt.Errorf("the checkpoint of %d entries lies in the part of the log that was pruned (entries up to %d, on %s): "+
				"check a checkpoint made after the prune", saved.Size, anchor.ThroughID, anchor.PrunedAt.Format(time.RFC3339))
		}
		if tree, err = client.NewTreeBuilderAfter(anchor); err != nil {
			fmt.Fprintf(e.stdout, "BROKEN: %v\n", err)
			return errChainBroken
		}
		after = anchor.ThroughID
	}
	for after < saved.Size {
		page, err := st.ReadChain(ctx, after, saved.Size, 10_000)
		if err != nil {
			return fmt.Errorf("read entries: %w", err)
		}
		if len(page) == 0 {
			break
		}
		for _, ev := range page {
			if ev.ID != after+1 {
				break
			}
			tree.Add(ev.Hash)
			after = ev.ID
		}
		if after != page[len(page)-1].ID {
			break // a gap, reported below as a shorter log
		}
	}
	switch {
	case tree.Size() < saved.Size:
		fmt.Fprintf(e.stdout, "BROKEN: truncated: the checkpoint covers %d entries, the log holds %d in order\n", saved.Size, tree.Size())
		return errChainBroken
	case !bytes.Equal(tree.Root(), saved.Root):
		if anchor != nil {
			fmt.Fprintf(e.stdout, "BROKEN: rewritten: the prune anchor's tree hashes (entries 1 to %d) and entries %d to %d do not hash to the checkpoint's root %s\n",
				anchor.ThroughID, anchor.ThroughID+1, saved.Size, base64.StdEncoding.EncodeToString(saved.Root))
			return errChainBroken
		}
		fmt.Fprintf(e.stdout, "BROKEN: rewritten: entries 1 to %d do not hash to the checkpoint's root %s\n",
			saved.Size, base64.StdEncoding.EncodeToString(saved.Root))
		return errChainBroken
	}
	fmt.Fprintf(e.stdout, "the log extends the checkpoint of %d entries (root %s)\n", saved.Size, base64.StdEncoding.EncodeToString(saved.Root))
	return nil
}

// verifyDB checks the database itself, opened read-only.
func verifyDB(ctx context.Context, o *verifyOptions, p *progress) (eventlog.VerifyResult, error) {
	st, err := openStore(ctx, store.Config{DSN: o.db, ReadOnly: true})
	if err != nil {
		return eventlog.VerifyResult{}, err
	}
	defer st.Close()
	res, err := eventlog.VerifyChain(ctx, st, eventlog.VerifyOptions{
		Start: o.from, End: o.to,
		Progress: func(checked, last int64) { p.report(checked, last) },
	})
	var inv *eventlog.InvalidError
	if errors.As(err, &inv) {
		return res, usagef("--%s: %s", map[string]string{"start_id": "from", "end_id": "to"}[inv.Field], inv.Problem)
	}
	return res, err
}

// verifyServer asks the server, one call per slice of the log it checks.
func verifyServer(ctx context.Context, e *env, o *verifyOptions, p *progress) (eventlog.VerifyResult, error) {
	c, err := dial(ctx, e, o.server, o.conn, client.WithCallTimeout(o.timeout))
	if err != nil {
		return eventlog.VerifyResult{}, err
	}
	defer c.Close()
	return c.Verify(ctx, eventlog.VerifyOptions{
		Start: o.from, End: o.to,
		Progress: func(checked, last int64) { p.report(checked, last) },
	})
}

// report prints the outcome and returns errChainBroken for a break.
func report(w io.Writer, r *eventlog.VerifyResult) error {
	var checked string
	switch {
	case r.Checked == 0:
		checked = "no entry checked"
	case r.Start == r.End:
		checked = fmt.Sprintf("entry %d intact", r.End)
	default:
		checked = fmt.Sprintf("entries %d to %d intact (%d entries)", r.Start, r.End, r.Checked)
	}
	if b := r.Break; b != nil {
		kind := b.Kind.String()
		if b.Kind == 0 {
			kind = "unknown break"
		}
		where := "entry " + strconv.FormatInt(b.ID, 10)
		if b.ID == 0 {
			where = "the head"
		}
		fmt.Fprintf(w, "BROKEN at %s: %s: %s\n%s before it\n", where, kind, b.Problem, checked)
		return errChainBroken
	}
	fmt.Fprintf(w, "OK: %s\n", checked)
	if r.StartedAtPrune {
		fmt.Fprintf(w, "entries up to %d were pruned: checked from the prune's anchor, entry %d hash %s\n",
			r.Head.PrunedThrough, r.Head.PrunedThrough, eventlog.HashString(r.Head.PrunedHash))
	}
	if r.End > 0 {
		fmt.Fprintf(w, "entry %d hash %s (base64, as in the entry's \"hash\" field)\n", r.End, eventlog.HashString(r.EndHash))
	}
	if r.HeadChecked {
		fmt.Fprintf(w, "head: last id %d matches the last entry\n", r.Head.LastID)
	} else {
		fmt.Fprintf(w, "head not checked: the range ends before the end of the log (last id %d)\n", r.Head.LastID)
	}
	return nil
}

// progress reports a long check on standard error, at most once an
// interval.
type progress struct {
	w           io.Writer
	every       time.Duration
	start, last time.Time
}

func (p *progress) report(checked, lastID int64) {
	if p.every <= 0 {
		return
	}
	now := time.Now()
	if now.Sub(p.last) < p.every {
		return
	}
	p.last = now
	rate := float64(checked) / now.Sub(p.start).Seconds()
	fmt.Fprintf(p.w, "verify: %d entries checked, up to id %d (%.0f entries/s)\n", checked, lastID, rate)
}
