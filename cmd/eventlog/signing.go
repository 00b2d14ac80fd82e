package main

import (
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

var signingNewHelp = commandHelp{
	usage: "eventlog keys signing new --name ORIGIN --out FILE",
	description: `Keys signing new makes the Ed25519 key a server signs checkpoints with: it
writes the signing key to FILE (readable by its owner only; give it to
"eventlog serve --signing-key FILE") and prints the verifier key, which is
public: give it to whoever checks the log (eventlog verify --checkpoint,
eventlog witness). ORIGIN names the log in every checkpoint, such as
eventlog.example.com/audit.`,
	example: `  eventlog keys signing new --name eventlog.example.com/audit --out /etc/eventlog/signing.key`,
}

// runSigningNew is "eventlog keys signing new".
func runSigningNew(e *env, args []string) error {
	flags := flag.NewFlagSet("keys signing new", flag.ContinueOnError)
	name := flags.String("name", "", "the log's `origin`, the name in every checkpoint (required)")
	out := flags.String("out", "", "`file` to write the signing key to (required; not overwritten)")
	rest, err := parseFlags(flags, e, signingNewHelp, args)
	if err != nil {
		return err
	}
	if err := noArgs(signingNewHelp, rest); err != nil {
		return err
	}
	if *name == "" || *out == "" {
		return usagef("--name and --out are required (see eventlog keys signing new --help)")
	}
	if strings.ContainsAny(*name, "+ \t\n") {
		return usagef("--name: an origin has no spaces or '+', got %q", *name)
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, *name)
	if err != nil {
		return fmt.Errorf("make a signing key: %w", err)
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return usagef("--out %s exists already: a signing key is not overwritten; choose another file", *out)
	}
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	if _, err := fmt.Fprintln(f, skey); err != nil {
		f.Close()
		return fmt.Errorf("--out: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	fmt.Fprintln(e.stdout, vkey)
	fmt.Fprintf(e.stderr, "signing key written to %s; the verifier key above is public\n", *out)
	return nil
}

// loadSigner reads the signing key in path.
func loadSigner(path string) (note.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--signing-key: %w", err)
	}
	s, err := note.NewSigner(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("--signing-key %s: not a signing key made by eventlog keys signing new: %w", path, err)
	}
	return s, nil
}

// readVerifierKey reads a verifier key given as the key itself or as
// @FILE.
func readVerifierKey(arg string) (note.Verifier, error) {
	if file, ok := strings.CutPrefix(arg, "@"); ok {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--verifier-key: %w", err)
		}
		arg = string(b)
	}
	v, err := note.NewVerifier(strings.TrimSpace(arg))
	if err != nil {
		return nil, usagef("--verifier-key: want the key eventlog keys signing new printed (NAME+HASH+KEY), or @FILE: %v", err)
	}
	return v, nil
}
