package main

import (
	"errors"
	"flag"
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

// flagError turns an error from FlagSet.Parse, which has already printed the
// problem and the usage, into the error a command returns.
func flagError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return &usageError{msg: err.Error(), reported: true}
}
