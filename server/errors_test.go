package server

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/eventlog/eventlog"
)

func TestToStatus(t *testing.T) {
	invalid := eventlog.Invalid("requests[3].event.actor.name", "at most %d bytes, got %d", 256, 300)
	tests := []struct {
		name        string
		err         error
		wantCode    codes.Code
		wantMessage string
		wantDetails []any
	}{
		{
			name:        "invalid",
			err:         invalid,
			wantCode:    codes.InvalidArgument,
			wantMessage: "requests[3].event.actor.name: at most 256 bytes, got 300",
			wantDetails: []any{&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
				{Field: "requests[3].event.actor.name", Description: "at most 256 bytes, got 300"},
			}}},
		},
		{
			name:        "wrapped invalid keeps only the field and problem",
			err:         fmt.Errorf("log events: %w", eventlog.Invalid("page_token", "malformed")),
			wantCode:    codes.InvalidArgument,
			wantMessage: "page_token: malformed",
			wantDetails: []any{&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
				{Field: "page_token", Description: "malformed"},
			}}},
		},
		{
			name:        "not found",
			err:         fmt.Errorf("event 42: %w", eventlog.ErrNotFound),
			wantCode:    codes.NotFound,
			wantMessage: "event 42: not found",
		},
		{
			name:        "unavailable hides its cause",
			err:         fmt.Errorf("%w: dial tcp 10.0.0.5:5432: connection refused", eventlog.ErrUnavailable),
			wantCode:    codes.Unavailable,
			wantMessage: "the database cannot be reached or the server is shutting down; retry later",
		},
		{
			name:        "canceled",
			err:         fmt.Errorf("list events: %w", context.Canceled),
			wantCode:    codes.Canceled,
			wantMessage: "request canceled",
		},
		{
			name:        "deadline exceeded",
			err:         fmt.Errorf("append: %w", context.DeadlineExceeded),
			wantCode:    codes.DeadlineExceeded,
			wantMessage: "deadline exceeded",
		},
		{
			name:        "status passes through",
			err:         status.Error(codes.ResourceExhausted, "fan-out above 1000"),
			wantCode:    codes.ResourceExhausted,
			wantMessage: "fan-out above 1000",
		},
		{
			name:        "permission denied passes through",
			err:         status.Error(codes.PermissionDenied, "key lacks the write scope"),
			wantCode:    codes.PermissionDenied,
			wantMessage: "key lacks the write scope",
		},
		{
			name:        "unknown status is internal",
			err:         status.Error(codes.Unknown, "pq: relation events does not exist"),
			wantCode:    codes.Internal,
			wantMessage: "internal error",
		},
		{
			name:        "anything else is internal with a generic message",
			err:         errors.New("pq: password authentication failed for user eventlog"),
			wantCode:    codes.Internal,
			wantMessage: "internal error",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := toStatus(tt.err)
			st, ok := status.FromError(got)
			if !ok {
				t.Fatalf("toStatus(%v) = %v, want a gRPC status", tt.err, got)
			}
			if st.Code() != tt.wantCode {
				t.Errorf("toStatus(%v) code = %v, want %v", tt.err, st.Code(), tt.wantCode)
			}
			if st.Message() != tt.wantMessage {
				t.Errorf("toStatus(%v) message = %q, want %q", tt.err, st.Message(), tt.wantMessage)
			}
			if diff := cmp.Diff(tt.wantDetails, st.Details(), protocmp.Transform(), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("toStatus(%v) details mismatch (-want +got):\n%s", tt.err, diff)
			}
		})
	}
}

func TestToStatusNil(t *testing.T) {
	if got := toStatus(nil); got != nil {
		t.Errorf("toStatus(nil) = %v, want nil", got)
	}
}
