package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"

	"github.com/eventlog/eventlog/auth"
	"github.com/eventlog/eventlog/store"
)

var keysNewHelp = commandHelp{
	usage: "eventlog keys new --name NAME --scopes SCOPES [--file FILE]",
	description: `Keys new makes an API key: a random token, printed once, and the line of
the keys file that admits it, which holds only the token's SHA-256 hash.
SCOPES is a comma-separated list of read (GetEvent, ListEvents,
StreamEvents, ListRelations, VerifyChain), write (LogEvent, LogEvents,
PutRelations, DeleteRelations), admin (everything) and metrics (scraping
/metrics, and nothing else).

With --file the line is appended to that keys file (created if missing,
readable by its owner only) and only the token is printed. A server using
the file loads it within its --keys-poll (5 seconds by default), or at once
on SIGHUP. Clients send the token as "authorization: Bearer TOKEN"; the
client commands take it from $EVENTLOG_TOKEN or --token.

To revoke a key, delete its line.`,
	example: `  eventlog keys new --name ingest --scopes write --file /etc/eventlog/keys
  eventlog keys new --name dashboard --scopes read
  eventlog keys new --name prometheus --scopes metrics --file /etc/eventlog/keys`,
}

var keysCheckHelp = commandHelp{
	usage:       "eventlog keys check [--file FILE]",
	description: "Keys check reads a keys file as the server would and lists its keys, or says\nwhat is wrong with it. Run it on a copy before putting it in place.",
	example:     "  eventlog keys check --file /etc/eventlog/keys",
}

// runKeys is "eventlog keys": new or check.
func runKeys(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usagef("keys: want a subcommand: new or check (see eventlog keys new --help)")
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(e.stderr, `Usage:
  eventlog keys new --name NAME --scopes SCOPES [--file FILE]
  eventlog keys check --file FILE
  eventlog keys signing new --name ORIGIN --out FILE

Keys makes API keys and checks keys files. "keys new" prints a new token
once and the keys-file line that admits it (only the token's hash);
"keys check" reads a keys file as the server would and names the line of
the first mistake; "keys signing new" makes the key checkpoints are
signed with. Each subcommand's --help says more.

Example:
  eventlog keys new --name dashboard --scopes read --file /etc/eventlog/keys
  eventlog keys check --file /etc/eventlog/keys
`)
		return flag.ErrHelp
	case "new":
		return runKeysNew(e, args[1:])
	case "check":
		return runKeysCheck(e, args[1:])
	case "signing":
		if len(args) < 2 || args[1] != "new" {
			return usagef("keys signing: want keys signing new (see eventlog keys signing new --help)")
		}
		return runSigningNew(e, args[2:])
	}
	return usagef("keys: unknown subcommand %q: want new, check or signing new", args[0])
}

func runKeysNew(e *env, args []string) error {
	fs := flag.NewFlagSet("keys new", flag.ContinueOnError)
	name := fs.String("name", "", "`name` of the key, shown in logs: letters, digits, '.', '_', '-' (required)")
	scopes := fs.String("scopes", "", "comma-separated `scopes`: read, write, admin, metrics (required)")
	file := fs.String("file", "", "append the key's line to this keys `file` instead of printing it")
	rest, err := parseFlags(fs, e, keysNewHelp, args)
	if err != nil {
		return err
	}
	if err := noArgs(keysNewHelp, rest); err != nil {
		return err
	}
	if *name == "" || *scopes == "" {
		return usagef("--name and --scopes are required (see eventlog keys new --help)")
	}
	if err := auth.CheckName(*name); err != nil {
		return usagef("--name: %v", err)
	}
	sc, err := auth.ParseScopes(*scopes)
	if err != nil {
		return usagef("--scopes: %v", err)
	}
	token, key, err := auth.NewKey(*name, sc)
	if err != nil {
		return err
	}
	if *file == "" {
		fmt.Fprintf(e.stdout, "token: %s\nkeys file line: %s\n", token, key.Line())
		fmt.Fprintln(e.stderr, "The token is shown only this once: give it to the client now. Add the line to the keys file; the server loads it within its --keys-poll, or at once on SIGHUP.")
		return nil
	}
	if err := appendKey(*file, key); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, token)
	fmt.Fprintf(e.stderr, "Added key %q (%s) to %s. The token above is shown only this once. A server using the file loads the key within its --keys-poll, or at once on SIGHUP.\n", key.Name, key.Scopes, *file)
	return nil
}

// appendKey adds k's line to the keys file at path, after checking that the
// file, with the line, still loads.
func appendKey(path string, k auth.Key) error {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	var add bytes.Buffer
	if len(old) > 0 && old[len(old)-1] != '\n' {
		add.WriteByte('\n')
	}
	add.WriteString(k.Line() + "\n")
	if _, err := auth.ParseKeys(bytes.NewReader(append(old, add.Bytes()...))); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(add.Bytes()); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func runKeysCheck(e *env, args []string) error {
	fs := flag.NewFlagSet("keys check", flag.ContinueOnError)
	file := fs.String("file", envOr(e, "EVENTLOG_KEYS", ""), "keys `file` to check (env EVENTLOG_KEYS)")
	rest, err := parseFlags(fs, e, keysCheckHelp, args)
	if err != nil {
		return err
	}
	if err := noArgs(keysCheckHelp, rest); err != nil {
		return err
	}
	if *file == "" {
		return usagef("--file is required (or set EVENTLOG_KEYS)")
	}
	ks, err := auth.LoadFile(*file)
	if err != nil {
		return err
	}
	for _, k := range ks.Keys() {
		fmt.Fprintf(e.stdout, "%s %s\n", k.Name, k.Scopes)
	}
	fmt.Fprintf(e.stderr, "%s: %d keys\n", *file, ks.Len())
	return nil
}

var grantHelp = commandHelp{
	usage: "eventlog grant --db DSN --role NAME",
	description: `Grant sets up a PostgreSQL role for the service to run as, so that the
database itself keeps the log append-only: the role may read entries and
insert them, and update the head row's last id and hash, and nothing else:
no UPDATE, DELETE or TRUNCATE of entries, no schema changes. Run it as the
owner of the tables (it migrates the schema first), then run the server
with the role in --db. Run it again after upgrading eventlog: a new
version's migrations need the owner, and may add tables.

The role must exist and must not be a superuser or the tables' owner, whom
privileges do not restrict. Create it first, for example:
  CREATE ROLE eventlog_app LOGIN PASSWORD '...';`,
	example: `  eventlog grant --db 'postgres://owner@db/eventlog' --role eventlog_app
  eventlog serve --db 'postgres://eventlog_app@db/eventlog' --keys /etc/eventlog/keys`,
}

// runGrant is "eventlog grant".
func runGrant(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("grant", flag.ContinueOnError)
	db := fs.String("db", "", "the PostgreSQL database, a postgres:// URL or keyword string (`DSN`), connecting as the tables' owner (required)")
	role := fs.String("role", "", "the `role` the service will run as (required)")
	rest, err := parseFlags(fs, e, grantHelp, args)
	if err != nil {
		return err
	}
	if err := noArgs(grantHelp, rest); err != nil {
		return err
	}
	if *db == "" || *role == "" {
		return usagef("--db and --role are required (see eventlog grant --help)")
	}
	dialect, err := checkDB("--db", *db)
	if err != nil {
		return err
	}
	if dialect != store.Postgres {
		return usagef("--db: want a PostgreSQL database (a postgres:// URL or a keyword string such as 'host=db dbname=eventlog'), " +
			"not a SQLite file: a SQLite log is protected by its file's permissions")
	}
	st, err := openStore(ctx, store.Config{DSN: *db})
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.GrantAppendOnly(ctx, *role); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "role %s may now:\n", *role)
	for _, g := range store.ServiceGrants() {
		fmt.Fprintf(e.stdout, "  %-18s %s\n", g.Table, g.Privileges)
	}
	return nil
}
