package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/eventlog/eventlog/internal/version"
)

var versionHelp = commandHelp{
	usage: "eventlog version",
	description: `Version prints the version of this binary (also "eventlog --version"): the
module's version, or the one stamped at build time, then the revision and
commit time of the source it was built from and whether that had
uncommitted changes, when the build recorded them, and the Go toolchain.
The server's OpenAPI description (/openapi.json) carries the same version.`,
	example: "  eventlog version",
}

// runVersion is "eventlog version".
func runVersion(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	rest, err := parseFlags(fs, e, versionHelp, args)
	if err != nil {
		return err
	}
	if err := noArgs(versionHelp, rest); err != nil {
		return err
	}
	fmt.Fprint(e.stdout, version.Get().Long())
	return nil
}
