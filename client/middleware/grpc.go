package middleware

import (
	"context"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/accesslog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// GRPCRule records the calls of one method.
type GRPCRule struct {
	// Method is the full method name: "/notes.v1.NoteService/UpdateNote".
	Method string
	// Type is the entry's event type.
	Type eventlog.EventType
	// ContentType is the type of the object acted on ("Note").
	ContentType string
	// ObjectID returns the object's id from the request message (for a
	// streaming call, the first message received); nil records none.
	ObjectID func(req any) string
}

// GRPCConfig configures the interceptors.
type GRPCConfig struct {
	Logger Logger
	Rules  []GRPCRule
	// Actor returns who makes the call (from its metadata or peer); nil
	// records no actor.
	Actor func(ctx context.Context) eventlog.Actor
	// LogFailures also records calls of a rule that fail, and calls of
	// other methods that fail, as FailureType on content type
	// "grpc.call" with the method as object id.
	LogFailures bool
	// FailureType: see HTTPConfig.FailureType.
	FailureType eventlog.EventType
	// RequestIDKey is the metadata key that carries a request id;
	// x-request-id when empty.
	RequestIDKey string
	// OnError is told when an entry could not be queued.
	OnError func(ctx context.Context, err error)
}

// UnaryServerInterceptor logs the unary calls cfg's rules name.
func UnaryServerInterceptor(cfg GRPCConfig) grpc.UnaryServerInterceptor {
	cfg, rules := grpcRules(cfg)
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resp, err := handler(ctx, req)
		cfg.log(ctx, rules[info.FullMethod], info.FullMethod, req, err)
		return resp, err
	}
}

// StreamServerInterceptor logs the streaming calls cfg's rules name, when
// they end.
func StreamServerInterceptor(cfg GRPCConfig) grpc.StreamServerInterceptor {
	cfg, rules := grpcRules(cfg)
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		rs := &recordingStream{ServerStream: ss}
		err := handler(srv, rs)
		cfg.log(ss.Context(), rules[info.FullMethod], info.FullMethod, rs.first, err)
		return err
	}
}

func grpcRules(cfg GRPCConfig) (GRPCConfig, map[string]*GRPCRule) {
	if cfg.RequestIDKey == "" {
		cfg.RequestIDKey = "x-request-id"
	}
	if cfg.FailureType == eventlog.TypeUnspecified {
		cfg.FailureType = eventlog.TypeFetch
	}
	rules := make(map[string]*GRPCRule, len(cfg.Rules))
	for i := range cfg.Rules {
		rules[cfg.Rules[i].Method] = &cfg.Rules[i]
	}
	return cfg, rules
}

// log queues the entry of a call of method that ended with err, by rule
// (nil when no rule names the method).
func (cfg GRPCConfig) log(ctx context.Context, rule *GRPCRule, method string, req any, err error) {
	code := status.Code(err)
	var e eventlog.Event
	switch {
	case rule != nil && (err == nil || cfg.LogFailures):
		e = eventlog.Event{Type: rule.Type, ContentType: rule.ContentType}
		if rule.ObjectID != nil && req != nil {
			e.ObjectID = rule.ObjectID(req)
		}
	case rule == nil && err != nil && cfg.LogFailures:
		e = eventlog.Event{Type: cfg.FailureType, ContentType: "grpc.call", ObjectID: method}
	default:
		return
	}
	if cfg.Actor != nil {
		e.Actor = cfg.Actor(ctx)
	}
	e.Request = eventlog.Request{Method: "POST", Path: method, Protocol: "HTTP/2", Status: int32(accesslog.HTTPStatus(code))}
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		e.Request.RemoteAddr = p.Addr.String()
	}
	if v := metadata.ValueFromIncomingContext(ctx, "user-agent"); len(v) > 0 {
		e.Request.UserAgent = v[0]
	}
	if v := metadata.ValueFromIncomingContext(ctx, cfg.RequestIDKey); len(v) > 0 {
		e.Request.RequestID = v[0]
	}
	if err := cfg.Logger.Log(context.WithoutCancel(ctx), eventlog.Write{Event: e}); err != nil && cfg.OnError != nil {
		cfg.OnError(ctx, err)
	}
}

// recordingStream keeps the first message a streaming call receives.
type recordingStream struct {
	grpc.ServerStream
	first any
}

func (s *recordingStream) RecvMsg(m any) error {
	err := s.ServerStream.RecvMsg(m)
	if err == nil && s.first == nil {
		s.first = m
	}
	return err
}
