package main

import (
	"context"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/eventlog/eventlog/store"
)

// masked stands for a secret in what is logged.
const masked = "xxxxx"

// secretParams are the connection parameters that hold secrets.
var secretParams = []string{"password", "sslpassword"}

// keywordSecret finds the value of a secret parameter in a connection
// string of keywords ("host=db password='s e c r e t'"): quoted, with
// backslash escapes, or up to the next space.
var keywordSecret = regexp.MustCompile(`(?i)(?:^|\s)(?:ssl)?password\s*=\s*('(?:[^'\\]|\\.)*'?|(?:[^\s\\]|\\.)*)`)

// secretSpans returns where the secrets of dsn are, as [start, end) byte
// offsets: the password of a URL's user information, and the values of the
// password and sslpassword parameters, in a URL's query or in keywords. It
// does not parse the URL as a whole, so that an invalid one is masked too.
func secretSpans(dsn string) [][2]int {
	var spans [][2]int
	if !strings.Contains(dsn, "://") {
		for _, m := range keywordSecret.FindAllStringSubmatchIndex(dsn, -1) {
			if m[3] > m[2] {
				spans = append(spans, [2]int{m[2], m[3]})
			}
		}
		return spans
	}
	start := strings.Index(dsn, "://") + len("://")
	rest := dsn[start:]
	authority := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority = rest[:i]
	}
	if at := strings.LastIndex(authority, "@"); at >= 0 {
		if colon := strings.Index(authority[:at], ":"); colon >= 0 && colon+1 < at {
			spans = append(spans, [2]int{start + colon + 1, start + at})
		}
	}
	q := strings.Index(dsn, "?")
	if q < 0 {
		return spans
	}
	query := dsn[q+1:]
	if i := strings.Index(query, "#"); i >= 0 {
		query = query[:i]
	}
	off := q + 1
	for _, pair := range strings.Split(query, "&") {
		k, v, ok := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			key = k
		}
		for _, p := range secretParams {
			if ok && v != "" && strings.EqualFold(key, p) {
				spans = append(spans, [2]int{off + len(k) + 1, off + len(pair)})
			}
		}
		off += len(pair) + 1
	}
	return spans
}

// redactDSN returns dsn, a database as --db takes it, with its secrets
// masked, for logs.
func redactDSN(dsn string) string {
	spans := secretSpans(dsn)
	var b strings.Builder
	last := 0
	for _, s := range spans {
		b.WriteString(dsn[last:s[0]])
		b.WriteString(masked)
		last = s[1]
	}
	b.WriteString(dsn[last:])
	return b.String()
}

// redactError returns err with the secrets of dsn masked in its message, as
// they were written in dsn, decoded, and quoted: errors about a database
// may quote its connection string (an invalid URL is reported whole). The
// error still wraps err, for errors.Is.
func redactError(dsn string, err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	var secrets []string
	for _, s := range secretSpans(dsn) {
		raw := dsn[s[0]:s[1]]
		quoted := strconv.Quote(raw) // as %q writes it
		secrets = append(secrets, raw, quoted[1:len(quoted)-1])
		if u, err := url.PathUnescape(raw); err == nil {
			secrets = append(secrets, u)
		}
		if u, err := url.QueryUnescape(raw); err == nil {
			secrets = append(secrets, u)
		}
		if len(raw) >= 2 && raw[0] == '\'' {
			secrets = append(secrets, strings.NewReplacer(`\'`, `'`, `\\`, `\`).Replace(strings.Trim(raw, "'")))
		}
	}
	// The longest first: a secret may contain another.
	slices.SortFunc(secrets, func(a, b string) int { return len(b) - len(a) })
	changed := false
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			msg, changed = strings.ReplaceAll(msg, s, masked), true
		}
	}
	if !changed {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

// redactedError is an error whose message has secrets masked.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// openStore is store.Open with the secrets of the DSN masked in its errors.
func openStore(ctx context.Context, cfg store.Config) (*store.Store, error) {
	st, err := store.Open(ctx, cfg)
	if err != nil {
		return nil, redactError(cfg.DSN, err)
	}
	return st, nil
}
