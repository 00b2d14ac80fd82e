package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/eventlog/eventlog/client"
)

var witnessHelp = commandHelp{
	usage: "eventlog witness --state FILE --verifier-key KEY [--server ADDR] [--every DURATION]",
	description: `Witness keeps the log honest from outside: it fetches the server's newest
checkpoint, checks its signature with --verifier-key, checks with a
consistency proof that it extends the checkpoint kept in --state (the log
only grew), and keeps the newer one. A log that ever rolls back, or forks
to show different histories, is caught: witness says BROKEN and exits with
status 3, keeping the old checkpoint.

Run it from another machine and account than the server's, on a schedule
(--every), and keep the state file where the database's administrators
cannot write. "eventlog verify --checkpoint" checks a database against the
same file.`,
	example: `  eventlog witness --server eventlog.internal:50051 --tls --state /var/lib/witness/audit.checkpoint \
      --verifier-key @/etc/witness/audit.vkey --every 1m`,
}

// runWitness is "eventlog witness".
func runWitness(ctx context.Context, e *env, args []string) error {
	flags := flag.NewFlagSet("witness", flag.ContinueOnError)
	var o clientOptions
	o.register(flags)
	state := flags.String("state", "", "`file` that keeps the newest checkpoint checked (required; created on the first run)")
	vkey := flags.String("verifier-key", "", "the log's verifier `key`, or @FILE holding it (required)")
	every := flags.Duration("every", 0, "check again every `interval` until stopped; 0 checks once")
	rest, err := parseFlags(flags, e, witnessHelp, args)
	if err != nil {
		return err
	}
	if err := noArgs(witnessHelp, rest); err != nil {
		return err
	}
	if err := o.resolve(flags, e); err != nil {
		return err
	}
	if *state == "" || *vkey == "" {
		return usagef("--state and --verifier-key are required (see eventlog witness --help)")
	}
	if *every < 0 {
		return usagef("--every: want 0 or more, got %s", *every)
	}
	verifier, err := readVerifierKey(*vkey)
	if err != nil {
		return err
	}
	return o.withClient(ctx, e, func(c *client.Client) error {
		for {
			if err := witnessOnce(ctx, e, c, verifier, *state); err != nil {
				return err
			}
			if *every == 0 {
				return nil
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(*every):
			}
		}
	})
}

// witnessOnce checks the server's newest checkpoint against the one kept
// in state, and keeps the newer.
func witnessOnce(ctx context.Context, e *env, c *client.Client, v note.Verifier, state string) error {
	now, err := c.Checkpoint(ctx, v)
	if err != nil {
		return fmt.Errorf("the server's checkpoint: %w", err)
	}
	kept, err := os.ReadFile(state)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		fmt.Fprintf(e.stdout, "first checkpoint: %d entries, root %s\n", now.Size, rootText(now.Root))
	case err != nil:
		return fmt.Errorf("--state: %w", err)
	default:
		old, err := client.ParseCheckpoint(string(kept), v)
		if err != nil {
			return fmt.Errorf("--state %s: %w", state, err)
		}
		if err := c.VerifyConsistency(ctx, old, now); err != nil {
			fmt.Fprintf(e.stdout, "BROKEN: the log's checkpoint of %d entries does not extend the kept one of %d: %v\n", now.Size, old.Size, err)
			return errChainBroken
		}
		if now.Size == old.Size {
			fmt.Fprintf(e.stdout, "unchanged: %d entries\n", now.Size)
			return nil
		}
		fmt.Fprintf(e.stdout, "consistent: %d entries, extending %d, root %s\n", now.Size, old.Size, rootText(now.Root))
	}
	// Write the new state beside the old and rename it over, so that a
	// crash never leaves a torn file.
	tmp, err := os.CreateTemp(filepath.Dir(state), ".witness-*")
	if err != nil {
		return fmt.Errorf("--state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(now.Note); err != nil {
		tmp.Close()
		return fmt.Errorf("--state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("--state: %w", err)
	}
	if err := os.Rename(tmp.Name(), state); err != nil {
		return fmt.Errorf("--state: %w", err)
	}
	return nil
}

// rootText is a root hash as checkpoints write it, in base64.
func rootText(root []byte) string { return base64.StdEncoding.EncodeToString(root) }
