package accesslog

import (
	"context"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// hopHeader carries the token of the HTTP request on whose behalf the
// gateway makes a gRPC call.
const hopHeader = "eventlog-access-hop"

// UnaryServerInterceptor logs each unary call. Put it first in the chain,
// so that its line covers what the other interceptors do, such as refusing
// a caller.
func (l *Logger) UnaryServerInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if e := l.hopEntry(ctx); e != nil {
		resp, err := handler(context.WithValue(ctx, entryKey{}, e), req)
		e.setCode(status.Code(err))
		return resp, err
	}
	start := l.now()
	e := &entry{}
	resp, err := handler(context.WithValue(ctx, entryKey{}, e), req)
	l.endHops(e)
	l.logGRPC(ctx, info.FullMethod, e, start, err)
	return resp, err
}

// StreamServerInterceptor logs each streaming call when it ends. Put it
// first in the chain.
func (l *Logger) StreamServerInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx := ss.Context()
	if e := l.hopEntry(ctx); e != nil {
		err := handler(srv, &serverStream{ServerStream: ss, ctx: context.WithValue(ctx, entryKey{}, e)})
		e.setCode(status.Code(err))
		return err
	}
	start := l.now()
	e := &entry{}
	err := handler(srv, &serverStream{ServerStream: ss, ctx: context.WithValue(ctx, entryKey{}, e)})
	l.endHops(e)
	l.logGRPC(ctx, info.FullMethod, e, start, err)
	return err
}

type serverStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *serverStream) Context() context.Context { return s.ctx }

// hopEntry returns the entry of the HTTP request that the call is made
// for, or nil when it is a call of its own.
func (l *Logger) hopEntry(ctx context.Context) *entry {
	if l.nhops.Load() == 0 {
		return nil
	}
	v := metadata.ValueFromIncomingContext(ctx, hopHeader)
	if len(v) != 1 {
		return nil
	}
	e, ok := l.hops.Load(v[0])
	if !ok {
		return nil
	}
	return e.(*entry)
}

func (l *Logger) logGRPC(ctx context.Context, method string, e *entry, start time.Time, err error) {
	code := status.Code(err)
	st := HTTPStatus(code)
	if !l.enabled(levelOf(st)) {
		return
	}
	rec := record{
		start:    start,
		method:   "POST",
		path:     method,
		protocol: "HTTP/2",
		status:   st,
		bytes:    -1,
		code:     code,
		hasCode:  true,
		duration: l.now().Sub(start),
	}
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		rec.remote = remoteHost(p.Addr)
	}
	if ua := metadata.ValueFromIncomingContext(ctx, "user-agent"); len(ua) > 0 {
		rec.userAgent = ua[0]
	}
	e.mu.Lock()
	rec.user = e.user
	e.mu.Unlock()
	l.write(ctx, &rec)
}

// UnaryClientInterceptor is for the gateway's connection to the gRPC
// server: it ties each call to the line of the HTTP request it is made for,
// which then shows the call's caller and status, and keeps the call off the
// log as a line of its own.
func (l *Logger) UnaryClientInterceptor(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if e := entryFrom(ctx); e != nil {
		ctx = metadata.AppendToOutgoingContext(ctx, hopHeader, l.newHop(e))
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}

// StreamClientInterceptor does for streaming calls what
// UnaryClientInterceptor does for unary ones.
func (l *Logger) StreamClientInterceptor(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	if e := entryFrom(ctx); e != nil {
		ctx = metadata.AppendToOutgoingContext(ctx, hopHeader, l.newHop(e))
	}
	return streamer(ctx, desc, cc, method, opts...)
}
