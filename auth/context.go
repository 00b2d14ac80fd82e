package auth

import "context"

type keyNameKey struct{}

// callInfo is where the Guard records the key of a call for code that runs
// around it (see Track).
type callInfo struct {
	name string
}

type callInfoKey struct{}

// withKeyName returns ctx carrying the name of the caller's key, and
// records it in the callInfo of Track, if any.
func withKeyName(ctx context.Context, name string) context.Context {
	if ci, ok := ctx.Value(callInfoKey{}).(*callInfo); ok {
		ci.name = name
	}
	return context.WithValue(ctx, keyNameKey{}, name)
}

// KeyName returns the name of the API key that a call was made with, or ""
// when it was made without one (a public method, or a server without
// keys). Handlers call it with their own context; an interceptor that runs
// before the Guard (an access log) calls it, after the call, with the
// context that Track returned.
func KeyName(ctx context.Context) string {
	if name, ok := ctx.Value(keyNameKey{}).(string); ok {
		return name
	}
	if ci, ok := ctx.Value(callInfoKey{}).(*callInfo); ok {
		return ci.name
	}
	return ""
}

// Track returns a context in which the Guard, running later in the same
// call, records the caller's key name, so that KeyName on the returned
// context reports it once the call is done, refused calls included. Use it
// in an interceptor placed before the Guard's.
func Track(ctx context.Context) context.Context {
	return context.WithValue(ctx, callInfoKey{}, &callInfo{})
}
