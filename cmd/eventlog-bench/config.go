package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// config is what one benchmark run measures, from flags.
type config struct {
	quick    bool
	eventlog string // the eventlog binary to serve
	pgURL    string // PostgreSQL server; a fresh database is created per section
	outDir   string
	dir      string // SQLite files; a temporary directory when empty

	duration time.Duration // of one measured repetition
	warmup   time.Duration // run before each repetition, not measured
	reps     int           // repetitions, interleaved; figures are medians

	clients      int // concurrent clients of the unary write figures
	batchClients int // concurrent clients (and connections) of the batch figures
	rawClients   int // connections of the raw single-row INSERT baseline
	// realistic adds the write figures with realistic traffic (skewed
	// object ids and actors, larger details) beside the generated ones.
	realistic bool
	profile   string // directory for the server's CPU profiles; none when empty

	small  int // entries of the small read database
	large  int // entries of the large read database
	replay int // entries replayed by StreamEvents
	// exportEntries are the entries of the export database.
	exportEntries int
	samples       int // calls per read figure

	sections map[string]bool
}

var allSections = []string{"postgres", "sqlite", "tree", "reads", "metrics", "accesslog", "export"}

func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("eventlog-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: eventlog-bench [flags]

Runs every measurement of eventlog's performance targets against "eventlog
serve" started as a separate process, with the baselines measured in the same
run, prints the table and writes it as JSON to --out. PostgreSQL comes from
--postgres or EVENTLOG_TEST_POSTGRES and must run with fsync and
synchronous_commit on; "make bench" starts one.

Flags:
`)
		fs.PrintDefaults()
	}
	fs.BoolVar(&c.quick, "quick", false, "a short run for development: shorter measurements and smaller databases")
	fs.StringVar(&c.eventlog, "eventlog", "bin/eventlog", "the eventlog binary to measure")
	fs.StringVar(&c.pgURL, "postgres", getenv("EVENTLOG_TEST_POSTGRES"), "PostgreSQL server URL (env EVENTLOG_TEST_POSTGRES)")
	fs.StringVar(&c.outDir, "out", "bench/results", "directory for the JSON results")
	fs.StringVar(&c.dir, "dir", "", "directory for SQLite files (default: a temporary directory)")
	fs.DurationVar(&c.duration, "duration", 0, "length of one measured repetition (default 5s, 1.5s with --quick)")
	fs.IntVar(&c.reps, "reps", 0, "repetitions of each throughput figure, interleaved with its baseline (default 3, 1 with --quick)")
	fs.IntVar(&c.clients, "clients", 64, "concurrent gRPC clients of the LogEvent figures")
	fs.IntVar(&c.batchClients, "batch-clients", 4, "concurrent clients of LogEvents and connections of the batch baselines")
	fs.IntVar(&c.rawClients, "raw-clients", 8, "connections of the raw single-row INSERT baseline")
	fs.BoolVar(&c.realistic, "realistic", true, "also measure the writes with realistic traffic: object ids Zipf-distributed over 100k objects, actors over 1k, details of 200-800 bytes")
	fs.StringVar(&c.profile, "profile", "", "write a CPU profile of the server during each measured write to this `directory` (go tool pprof reads them)")
	fs.IntVar(&c.small, "small", 0, "entries of the small read database (default 100000, 50000 with --quick)")
	fs.IntVar(&c.large, "entries", 0, "entries of the large read database (default 10000000, 200000 with --quick)")
	fs.IntVar(&c.replay, "replay", 0, "entries replayed by StreamEvents (default 1000000, 100000 with --quick)")
	fs.IntVar(&c.exportEntries, "export-entries", 0, "entries of the export database (default 10000000, 200000 with --quick)")
	fs.IntVar(&c.samples, "samples", 0, "calls per read figure (default 50, 15 with --quick)")
	only := fs.String("only", strings.Join(allSections, ","), "sections to run: "+strings.Join(allSections, ", "))
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	def := func(v *int, full, quick int) {
		if *v == 0 {
			*v = full
			if c.quick {
				*v = quick
			}
		}
	}
	if c.duration == 0 {
		c.duration = 5 * time.Second
		if c.quick {
			c.duration = 1500 * time.Millisecond
		}
	}
	c.warmup = min(time.Second, c.duration/4)
	def(&c.reps, 3, 1)
	def(&c.small, 100_000, 50_000)
	def(&c.large, 10_000_000, 200_000)
	def(&c.replay, 1_000_000, 100_000)
	def(&c.samples, 50, 15)
	def(&c.exportEntries, 10_000_000, 200_000)
	c.replay = min(c.replay, c.large)
	c.sections = map[string]bool{}
	for _, s := range strings.Split(*only, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		ok := false
		for _, a := range allSections {
			ok = ok || a == s
		}
		if !ok {
			return c, fmt.Errorf("--only: unknown section %q: want some of %s", s, strings.Join(allSections, ", "))
		}
		c.sections[s] = true
	}
	switch {
	case c.reps < 1 || c.clients < 1 || c.batchClients < 1 || c.rawClients < 1 || c.samples < 1:
		return c, fmt.Errorf("--reps, --clients, --batch-clients, --raw-clients and --samples must be positive")
	case c.small < 50_000 || c.large < c.small:
		return c, fmt.Errorf("--small must be at least 50000 (100 pages of a filter with a time range) and --entries at least --small")
	case c.exportEntries < 1:
		return c, fmt.Errorf("--export-entries must be positive")
	case (c.sections["postgres"] || c.sections["tree"] || c.sections["reads"] || c.sections["export"]) && c.pgURL == "":
		return c, fmt.Errorf("no PostgreSQL: set --postgres or EVENTLOG_TEST_POSTGRES (make bench starts one)")
	}
	return c, nil
}
