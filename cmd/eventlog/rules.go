package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/eventlog/eventlog/propagation"
)

var rulesHelp = commandHelp{
	usage: "eventlog rules check FILE",
	description: `Rules check reads a propagation rules file, as "eventlog serve --rules"
would, and prints each rule in words, or the line and the problem of the
first mistake (exit status 1). It needs no server.

A rules file lists which entries propagate where:

  rules:
    - from: Note              # source content type(s), or "*" (the default)
      on: [create, edit]      # source event types (default create, edit, delete)
      to: [Entity]            # reached content type(s), or "*" (the default)
      kind: links             # only relations of this kind (default: any)
      as: edit                # event type of the children (default edit)
      depth: 1                # hops, 1 to 5 (default 1)
      direction: forward      # forward, reverse or both (default forward)
    - to: [User]              # User objects never receive children
      stop: true`,
	example: `  eventlog rules check deploy/rules.cradle.yaml`,
}

// runRules is "eventlog rules check FILE".
func runRules(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("rules", flag.ContinueOnError)
	rest, err := parseFlags(fs, e, rulesHelp, args)
	if err != nil {
		return err
	}
	if len(rest) != 2 || rest[0] != "check" {
		return usagef("usage: %s", rulesHelp.usage)
	}
	rules, err := propagation.LoadRules(rest[1])
	if err != nil {
		return err
	}
	if _, err := propagation.New(propagation.Config{Rules: rules}); err != nil {
		return fmt.Errorf("%s: %w", rest[1], err)
	}
	for _, r := range rules {
		fmt.Fprintln(e.stdout, r.Describe())
	}
	fmt.Fprintf(e.stdout, "%s: %d rules, ok\n", rest[1], len(rules))
	return nil
}
