// Command eventlog runs the eventlog service and talks to it.
//
// Run "eventlog help" for the list of commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	default:
		fmt.Fprintf(os.Stderr, "eventlog: %v\n", err)
		os.Exit(exitCode(err))
	}
}

// usageError marks a mistake in the command line; it exits with status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

func exitCode(err error) int {
	var u *usageError
	switch {
	case errors.As(err, &u):
		return 2
	case errors.Is(err, errChainBroken):
		return 3
	}
	return 1
}

// env gives a command its outside world, so that tests can run commands
// in-process.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

func commands() []command {
	return []command{
		{"serve", "run the eventlog server", runServe},
		{"log", "append an entry to the log", runLog},
		{"get", "print one entry", runGet},
		{"list", "list entries, newest first, with filters", runList},
		{"tail", "follow the log as entries are committed", runTail},
		{"relate", "register relations between objects, along which entries propagate", runRelate},
		{"unrelate", "remove relations", runUnrelate},
		{"relations", "list registered relations", runRelations},
		{"rules", "check a propagation rules file (rules check FILE)", runRules},
		{"export", "write the entries that filters select, oldest first, as JSON lines or CSV", runExport},
		{"verify", "check the hash chain, on a server or directly in a database", runVerify},
		{"witness", "check that the log only grows: its signed checkpoints, each consistent with the last one kept", runWitness},
		{"keys", "make API keys (keys new), check a keys file (keys check), make a checkpoint signing key (keys signing new)", runKeys},
		{"grant", "set up a PostgreSQL role that may only read and append", runGrant},
		{"prune", "remove entries older than a cutoff, keeping the log verifiable (retention)", runPrune},
		{"health", "ask a server whether it serves (for health checks)", runHealth},
		{"version", "print the version of this binary and what it was built from", runVersion},
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := &env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		printUsage(stderr)
		return usagef("no command given")
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if name == "help" && len(args) > 1 {
			// "eventlog help COMMAND [SUBCOMMAND]" is "eventlog COMMAND
			// [SUBCOMMAND] --help".
			return run(ctx, append(slices.Clone(args[1:]), "--help"), getenv, stdin, stdout, stderr)
		}
		printUsage(stdout)
		return nil
	case "--version", "-version":
		name = "version"
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, e, args[1:])
		}
	}
	printUsage(stderr)
	return usagef("unknown command %q", name)
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, `eventlog keeps an append-only, tamper-evident audit log of who did what to
which object, and serves it over gRPC and a JSON REST gateway.

Usage:
  eventlog COMMAND [flags]

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Run "eventlog help COMMAND" (or "eventlog COMMAND --help") for the flags and
an example of each command.
`)
}
