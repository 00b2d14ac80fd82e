package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strings"
)

// commandHelp is what "eventlog COMMAND --help" prints before the flags.
type commandHelp struct {
	usage       string // "eventlog get ID [flags]"
	description string
	example     string
}

// parseFlags parses args with fs, allowing flags and positional arguments
// in any order ("get 17 --format nginx"), and returns the positional ones.
// --help prints the description, an example and the flags to e.stderr and
// returns flag.ErrHelp; a mistake is a usage error.
func parseFlags(fs *flag.FlagSet, e *env, h commandHelp, args []string) ([]string, error) {
	fs.SetOutput(io.Discard) // errors are reported once, by main
	fs.Usage = func() {}
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				printHelp(fs, e.stderr, h)
				return nil, flag.ErrHelp
			}
			return nil, usagef("%s (see %s --help)", flagDashes.ReplaceAllString(err.Error(), "$1--$2"), commandName(h))
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// flagDashes finds the flag names in the flag package's errors ("flag
// provided but not defined: -nope", "invalid value \"x\" for flag
// -limit"), which it writes with one dash.
var flagDashes = regexp.MustCompile(`(: |flag |for )-([A-Za-z0-9])`)

func commandName(h commandHelp) string {
	f := strings.Fields(h.usage)
	if len(f) >= 2 {
		return f[0] + " " + f[1]
	}
	return h.usage
}

func printHelp(fs *flag.FlagSet, w io.Writer, h commandHelp) {
	fmt.Fprintf(w, "Usage:\n  %s\n\n%s\n\nExample:\n%s\n", h.usage, h.description, h.example)
	printFlags(w, fs)
}

// printFlags lists the flags of fs as the documentation writes them,
// --name (the flag package prints -name, which it accepts too), each with
// its description and default.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	first := true
	fs.VisitAll(func(f *flag.Flag) {
		if first {
			fmt.Fprint(w, "\nFlags:\n")
			first = false
		}
		arg, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if arg != "" {
			line += " " + arg
		}
		if !isZeroDefault(f) {
			if g, ok := f.Value.(flag.Getter); ok {
				if _, isString := g.Get().(string); isString {
					usage += fmt.Sprintf(" (default %q)", f.DefValue)
				} else {
					usage += fmt.Sprintf(" (default %s)", f.DefValue)
				}
			}
		}
		fmt.Fprintf(w, "%s\n        %s\n", line, strings.ReplaceAll(usage, "\n", "\n        "))
	})
}

// isZeroDefault reports whether f's default is its type's zero value,
// which help leaves unsaid, as the flag package does.
func isZeroDefault(f *flag.Flag) bool {
	t := reflect.TypeOf(f.Value)
	var z reflect.Value
	if t.Kind() == reflect.Pointer {
		z = reflect.New(t.Elem())
	} else {
		z = reflect.Zero(t)
	}
	v, ok := z.Interface().(flag.Value)
	return ok && f.DefValue == v.String()
}

// isSet reports whether the flag name was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

// noArgs rejects positional arguments for commands that take none.
func noArgs(h commandHelp, args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q (see %s --help)", args[0], commandName(h))
	}
	return nil
}
