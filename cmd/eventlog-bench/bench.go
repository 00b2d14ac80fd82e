package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/eventlog/eventlog/store"
	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // registers the "postgres" driver
)

// bench is one run: its configuration, the figures measured so far, and
// what to remove at the end.
type bench struct {
	cfg    config
	stdout io.Writer
	stderr io.Writer
	start  time.Time
	dir    string
	rmDir  bool
	admin  *sqlx.DB // the PostgreSQL server, to create and drop databases
	// postmaster is the PostgreSQL server's process id, when it runs on
	// this machine and can be found: its CPU time is PostgreSQL's.
	postmaster int
	dbs        []string // databases to drop
	figures    []figure
	info       map[string]string
}

// figure is one row of the table: a measured value, the baseline it is
// compared with, and the target of their ratio.
type figure struct {
	Section  string  `json:"section"`
	Name     string  `json:"name"`
	Value    float64 `json:"value"`
	Unit     string  `json:"unit"`
	Baseline string  `json:"baseline,omitempty"`
	BaseVal  float64 `json:"baseline_value,omitempty"`
	Ratio    float64 `json:"ratio,omitempty"`
	// Target is the bound on Ratio (or on Value when there is no
	// baseline); AtMost says it is an upper bound.
	Target float64 `json:"target,omitempty"`
	AtMost bool    `json:"at_most,omitempty"`
	Pass   *bool   `json:"pass,omitempty"`
	Note   string  `json:"note,omitempty"`
}

func newBench(cfg config, stdout, stderr io.Writer) (*bench, error) {
	b := &bench{cfg: cfg, stdout: stdout, stderr: stderr, start: time.Now(), info: map[string]string{}}
	if _, err := os.Stat(cfg.eventlog); err != nil {
		return nil, fmt.Errorf("--eventlog: %w (make bench builds it)", err)
	}
	b.dir = cfg.dir
	if b.dir == "" {
		d, err := os.MkdirTemp("", "eventlog-bench-")
		if err != nil {
			return nil, err
		}
		b.dir, b.rmDir = d, true
	}
	if cfg.profile != "" {
		if err := os.MkdirAll(cfg.profile, 0o755); err != nil {
			return nil, fmt.Errorf("--profile: %w", err)
		}
	}
	if cfg.pgURL != "" {
		db, err := sqlx.Open("postgres", cfg.pgURL)
		if err != nil {
			return nil, fmt.Errorf("postgres: %w", err)
		}
		b.admin = db
	}
	return b, nil
}

func (b *bench) cleanup() {
	for _, name := range b.dbs {
		if _, err := b.admin.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`); err != nil {
			b.logf("drop database %s: %v", name, err)
		}
	}
	if b.admin != nil {
		b.admin.Close()
	}
	if b.rmDir {
		os.RemoveAll(b.dir)
	}
}

// logf prints a progress line with the time since the start.
func (b *bench) logf(format string, args ...any) {
	d := time.Since(b.start).Round(time.Second)
	fmt.Fprintf(b.stderr, "[%02d:%02d] %s\n", int(d.Minutes()), int(d.Seconds())%60, fmt.Sprintf(format, args...))
}

func (b *bench) run(ctx context.Context) error {
	mode := "full"
	if b.cfg.quick {
		mode = "quick"
	}
	b.info["mode"] = mode
	b.info["cpus"] = fmt.Sprint(runtime.NumCPU())
	b.info["go"] = runtime.Version()
	b.info["duration"] = b.cfg.duration.String()
	b.info["reps"] = fmt.Sprint(b.cfg.reps)
	if b.admin != nil {
		if err := b.checkDurable(ctx); err != nil {
			return err
		}
	}
	b.logf("eventlog-bench, %s run: %d repetitions of %v each, %d clients", mode, b.cfg.reps, b.cfg.duration, b.cfg.clients)
	sections := []struct {
		name string
		run  func(context.Context) error
	}{
		{"postgres", b.postgresWrites},
		{"sqlite", b.sqliteWrites},
		{"tree", b.treeWrites},
		{"reads", b.reads},
		{"metrics", b.metricsCost},
		{"accesslog", b.accessLogCost},
		{"export", b.exportRates},
	}
	for _, s := range sections {
		if !b.cfg.sections[s.name] {
			continue
		}
		if err := s.run(ctx); err != nil {
			b.report() // what was measured before the failure
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	b.info["elapsed"] = time.Since(b.start).Round(time.Second).String()
	return b.report()
}

// checkDurable refuses a PostgreSQL server that could acknowledge a commit
// before it is on disk: the targets are for durable commits.
func (b *bench) checkDurable(ctx context.Context) error {
	for _, name := range []string{"fsync", "synchronous_commit", "full_page_writes"} {
		var v string
		if err := b.admin.GetContext(ctx, &v, `SELECT current_setting($1)`, name); err != nil {
			return fmt.Errorf("postgres: %w", err)
		}
		b.info["pg_"+name] = v
		if v != "on" {
			return fmt.Errorf("postgres runs with %s=%s: the benchmark needs durable commits (make bench starts a server with them)", name, v)
		}
	}
	var version string
	if err := b.admin.GetContext(ctx, &version, `SHOW server_version`); err == nil {
		b.info["pg_version"] = version
	}
	b.postmaster = postmasterPID(ctx, b.admin)
	b.info["pg_cpu"] = "the postmaster's processes"
	if b.postmaster == 0 {
		b.info["pg_cpu"] = "every process named postgres (the server's postmaster.pid could not be read)"
	}
	return nil
}

// newPGDB creates a fresh database on the PostgreSQL server, dropped at the
// end of the run, and returns its URL.
func (b *bench) newPGDB(ctx context.Context, purpose string) (string, error) {
	var r [4]byte
	rand.Read(r[:])
	name := "eventlog_bench_" + purpose + "_" + hex.EncodeToString(r[:])
	if _, err := b.admin.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		return "", fmt.Errorf("create database: %w", err)
	}
	b.dbs = append(b.dbs, name)
	u, err := url.Parse(b.cfg.pgURL)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

// schemaOnly creates eventlog's schema in dsn, for the raw baselines.
func schemaOnly(ctx context.Context, dsn string) error {
	s, err := store.Open(ctx, store.Config{DSN: dsn})
	if err != nil {
		return err
	}
	return s.Close()
}

func (b *bench) add(f figure) {
	if f.BaseVal > 0 {
		f.Ratio = f.Value / f.BaseVal
	}
	if f.Target > 0 {
		v := f.Value
		if f.BaseVal > 0 {
			v = f.Ratio
		}
		pass := v >= f.Target
		if f.AtMost {
			pass = v <= f.Target
		}
		f.Pass = &pass
	}
	b.figures = append(b.figures, f)
}

// report prints the table and writes it as JSON.
func (b *bench) report() error {
	tw := tabwriter.NewWriter(b.stdout, 0, 0, 2, ' ', tabwriter.AlignRight|tabwriter.Debug)
	fmt.Fprintln(b.stdout)
	fmt.Fprintln(tw, "section\t figure\t value\t baseline\t base value\t ratio\t target\t result\t")
	for _, f := range b.figures {
		ratio, target, result := "", "", ""
		if f.Ratio > 0 {
			ratio = fmt.Sprintf("%.2f×", f.Ratio)
		}
		if f.Target > 0 {
			op := "≥"
			if f.AtMost {
				op = "≤"
			}
			target = op + " " + strings.TrimSuffix(fmt.Sprintf("%g", f.Target), ".0")
			if f.BaseVal > 0 {
				target += "×"
			} else {
				target += " " + f.Unit
			}
			result = "FAIL"
			if *f.Pass {
				result = "pass"
			}
		}
		base := ""
		if f.BaseVal > 0 {
			base = formatValue(f.BaseVal, f.Unit)
		}
		fmt.Fprintf(tw, "%s\t %s\t %s\t %s\t %s\t %s\t %s\t %s\t\n", f.Section, f.Name, formatValue(f.Value, f.Unit), f.Baseline, base, ratio, target, result)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, f := range b.figures {
		if f.Note != "" {
			fmt.Fprintf(b.stdout, "  %s / %s: %s\n", f.Section, f.Name, f.Note)
		}
	}
	if err := os.MkdirAll(b.cfg.outDir, 0o755); err != nil {
		return err
	}
	path := filepath.Join(b.cfg.outDir, fmt.Sprintf("bench-%s-%s.json", b.start.UTC().Format("20060102T150405Z"), b.info["mode"]))
	out, err := json.MarshalIndent(struct {
		Started time.Time         `json:"started"`
		Info    map[string]string `json:"info"`
		Figures []figure          `json:"figures"`
	}{b.start.UTC(), b.info, b.figures}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(out, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(b.stdout, "\nwritten to %s (%s run, %s)\n", path, b.info["mode"], time.Since(b.start).Round(time.Second))
	return nil
}

func formatValue(v float64, unit string) string {
	switch unit {
	case "s":
		d := time.Duration(v * float64(time.Second))
		switch {
		case d < time.Millisecond:
			return fmt.Sprintf("%.0fµs", v*1e6)
		case d < time.Second:
			return fmt.Sprintf("%.2fms", v*1e3)
		}
		return fmt.Sprintf("%.2fs", v)
	case "MiB":
		return fmt.Sprintf("%.0f MiB", v)
	}
	switch {
	case v >= 10_000:
		return fmt.Sprintf("%.0f %s", v, unit)
	case v >= 100:
		return fmt.Sprintf("%.0f %s", v, unit)
	}
	return fmt.Sprintf("%.1f %s", v, unit)
}

// analyze gathers the planner's statistics of the events table, as
// autovacuum does after a large load.
func analyze(ctx context.Context, dsn string) error {
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `ANALYZE events`); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	return nil
}
