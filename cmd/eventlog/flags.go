package main

import "strconv"

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
