// Command eventlog-bench measures eventlog against the limits of the machine
// it runs on: it starts "eventlog serve" as a separate process, drives it
// with gRPC clients at fixed concurrency, measures the baselines (the no-op
// gRPC health check on the same server, raw PostgreSQL through lib/pq, raw
// SQLite) in the same run, and prints one table of figures, baselines,
// ratios and targets, also written as JSON.
//
// "make bench" runs it against a throwaway PostgreSQL with durable settings.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(os.Stderr, "eventlog-bench: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	b, err := newBench(cfg, stdout, stderr)
	if err != nil {
		return err
	}
	defer b.cleanup()
	return b.run(ctx)
}
