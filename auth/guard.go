package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// Guard checks the API key of every call against the method table. Its
// keys can be replaced at any time (Set), which affects calls that start
// afterwards; calls and streams already running are not interrupted.
type Guard struct {
	keys  atomic.Pointer[KeySet]
	log   *slog.Logger
	onKey func(ctx context.Context, name string)
}

// NewGuard returns a Guard admitting the keys of ks. log receives one line
// per refused call (never a token).
func NewGuard(ks *KeySet, log *slog.Logger) *Guard {
	if log == nil {
		log = slog.Default()
	}
	g := &Guard{log: log}
	g.keys.Store(ks)
	return g
}

// OnKey has fn called, in every call made with a known key (refused
// for its scopes or not), with the call's context and the key's name: an
// access log records the caller this way. Call it before serving.
func (g *Guard) OnKey(fn func(ctx context.Context, name string)) { g.onKey = fn }

// Set replaces the keys.
func (g *Guard) Set(ks *KeySet) { g.keys.Store(ks) }

// Keys returns the keys in use.
func (g *Guard) Keys() *KeySet { return g.keys.Load() }

// maxTokenLen bounds the token accepted from a caller, before hashing.
const maxTokenLen = 512

// Identify returns the name of the key whose token the value of an
// Authorization header ("Bearer TOKEN") carries, for logs of requests that
// do not pass through the interceptors.
func (g *Guard) Identify(authorization string) (string, bool) {
	tok, err := bearer(authorization)
	if err != nil {
		return "", false
	}
	k, ok := g.keys.Load().Lookup(tok)
	return k.Name, ok
}

// CheckHTTP admits or refuses an HTTP request that is not an RPC (such
// as a scrape of /metrics) by the value of its Authorization header: it
// needs a key with the scope need (or admin). The error is a status error:
// UNAUTHENTICATED without a known key, PERMISSION_DENIED without the scope.
func (g *Guard) CheckHTTP(authorization []string, what string, need Scope) error {
	ctx := context.Background()
	if len(authorization) != 1 {
		g.refuse(ctx, what, "", "no token, or several")
		return status.Error(codes.Unauthenticated, "missing API key: send one header `Authorization: Bearer TOKEN`")
	}
	tok, err := bearer(authorization[0])
	if err != nil {
		g.refuse(ctx, what, "", "malformed authorization")
		return status.Error(codes.Unauthenticated, err.Error())
	}
	k, ok := g.keys.Load().Lookup(tok)
	if !ok {
		g.refuse(ctx, what, "", "unknown token")
		return status.Error(codes.Unauthenticated, "unknown API key")
	}
	if !k.Scopes.Has(need) {
		g.refuse(ctx, what, k.Name, "missing scope "+need.String())
		return status.Errorf(codes.PermissionDenied, "API key %q has scopes %s; %s needs %s", k.Name, k.Scopes, what, need)
	}
	return nil
}

// UnaryInterceptor admits or refuses a unary call.
func (g *Guard) UnaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	ctx, err := g.authorize(ctx, info.FullMethod)
	if err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

// StreamInterceptor admits or refuses a stream when it starts.
func (g *Guard) StreamInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx, err := g.authorize(ss.Context(), info.FullMethod)
	if err != nil {
		return err
	}
	return handler(srv, &stream{ServerStream: ss, ctx: ctx})
}

// stream is a ServerStream whose context carries the key's name.
type stream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *stream) Context() context.Context { return s.ctx }

// authorize checks the caller's key for method and returns the context
// with the key's name. Missing or unknown tokens are UNAUTHENTICATED; a
// known key without the scope, or a method without a rule, is
// PERMISSION_DENIED.
func (g *Guard) authorize(ctx context.Context, method string) (context.Context, error) {
	access, known := methodAccess[method]
	if known && access == Public {
		return ctx, nil
	}
	vals := metadata.ValueFromIncomingContext(ctx, "authorization")
	if len(vals) == 0 {
		g.refuse(ctx, method, "", "no token")
		return ctx, status.Error(codes.Unauthenticated, "missing API key: send the metadata `authorization: Bearer TOKEN`")
	}
	if len(vals) > 1 {
		g.refuse(ctx, method, "", "several authorization values")
		return ctx, status.Error(codes.Unauthenticated, "more than one authorization value: send one `authorization: Bearer TOKEN`")
	}
	tok, err := bearer(vals[0])
	if err != nil {
		g.refuse(ctx, method, "", "malformed authorization")
		return ctx, status.Error(codes.Unauthenticated, err.Error())
	}
	k, ok := g.keys.Load().Lookup(tok)
	if !ok {
		g.refuse(ctx, method, "", "unknown token")
		return ctx, status.Error(codes.Unauthenticated, "unknown API key")
	}
	ctx = withKeyName(ctx, k.Name)
	if g.onKey != nil {
		g.onKey(ctx, k.Name)
	}
	switch {
	case !known:
		g.log.ErrorContext(ctx, "call refused: the method has no access rule", "method", method, "key", k.Name)
		return ctx, status.Errorf(codes.PermissionDenied, "method %s is not open to API keys", method)
	case access == AnyKey && k.Scopes&^ScopeMetrics != 0, access != AnyKey && k.Scopes.Has(access.scope()):
		// A key that can only scrape metrics calls no method.
		return ctx, nil
	}
	g.refuse(ctx, method, k.Name, "missing scope "+access.String())
	return ctx, status.Errorf(codes.PermissionDenied, "API key %q has scopes %s; %s needs %s", k.Name, k.Scopes, method, access)
}

func (g *Guard) refuse(ctx context.Context, method, key, reason string) {
	attrs := []any{"method", method, "reason", reason}
	if key != "" {
		attrs = append(attrs, "key", key)
	}
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		attrs = append(attrs, "peer", p.Addr.String())
	}
	g.log.InfoContext(ctx, "call refused", attrs...)
}

// bearer extracts the token of an Authorization value, "Bearer TOKEN" (the
// scheme in any case). The error never contains the token.
func bearer(v string) (string, error) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return "", errors.New("authorization: want `Bearer TOKEN`")
	}
	tok = strings.TrimSpace(tok)
	if tok == "" || len(tok) > maxTokenLen {
		return "", fmt.Errorf("authorization: want `Bearer TOKEN` with a token of 1 to %d characters", maxTokenLen)
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] <= ' ' || tok[i] >= 0x7f {
			return "", errors.New("authorization: the token must be printable ASCII without spaces")
		}
	}
	return tok, nil
}
