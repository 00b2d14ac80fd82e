package main

import (
	"strconv"
	"strings"
	"time"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/store"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// envOr returns the environment variable key, or def when it is unset or
// empty. Flags use it for their defaults, so a flag beats the environment,
// which beats the built-in default.
func envOr(e *env, key, def string) string {
	if v := e.getenv(key); v != "" {
		return v
	}
	return def
}

// envInt is envOr for a whole number.
func envInt(e *env, key string, def int) (int, error) {
	v := e.getenv(key)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, usagef("%s: want a whole number, got %q", key, v)
	}
	return n, nil
}

// envDuration is envOr for a duration such as 5s.
func envDuration(e *env, key string, def time.Duration) (time.Duration, error) {
	v := e.getenv(key)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, usagef("%s: want a duration such as 5s, got %q", key, v)
	}
	return d, nil
}

// dbHelp describes the values a --db flag takes.
const dbHelp = "a SQLite file path, a postgres:// URL, or a PostgreSQL keyword string such as 'host=db dbname=eventlog'"

// checkDB checks the value of a database flag before anything connects
// and returns the dialect it names (store.Postgres or store.SQLite). name
// is the flag, or the environment variable the value came from.
func checkDB(name, dsn string) (string, error) {
	d, err := store.DSNDialect(dsn)
	if err != nil {
		return "", usagef("%s: %v", name, err)
	}
	return d, nil
}

// listFlag is a flag that takes a comma-separated list, and may be given
// more than once. Its first use on the command line replaces the value from
// the environment.
type listFlag struct {
	values []string
	set    bool
}

// newListFlag returns a listFlag holding the comma-separated list env.
func newListFlag(env string) *listFlag {
	l := &listFlag{}
	l.add(env)
	return l
}

func (l *listFlag) add(s string) {
	for v := range strings.SplitSeq(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			l.values = append(l.values, v)
		}
	}
}

func (l *listFlag) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(l.values, ",")
}

func (l *listFlag) Set(s string) error {
	if !l.set {
		l.values, l.set = nil, true
	}
	l.add(s)
	return nil
}

// splitObject splits "TYPE/ID" at the first slash: object ids may contain
// slashes, content types do not.
func splitObject(flagName, s string) (contentType, objectID string, err error) {
	contentType, objectID, ok := strings.Cut(s, "/")
	if !ok || strings.TrimSpace(contentType) == "" || objectID == "" {
		return "", "", usagef("--%s: want TYPE/ID, such as Entry/42, got %q", flagName, s)
	}
	return contentType, objectID, nil
}

func parseTime(flagName, s string) (*timestamppb.Timestamp, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return nil, usagef("--%s: want an RFC 3339 time such as 2026-01-02T15:04:05Z, got %q", flagName, s)
	}
	return timestamppb.New(t), nil
}

func parseEventType(flagName, s string) (eventlog.EventType, error) {
	t, err := eventlog.ParseEventType(s)
	if err != nil {
		return t, usagef("--%s: %v", flagName, err)
	}
	return t, nil
}
