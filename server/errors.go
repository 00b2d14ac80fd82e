package server

import (
	"context"
	"errors"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/protomap"
)

// toStatus maps an error from the domain or the store to the gRPC status a
// client sees. It is the only place that does so. Errors it does not know
// become Internal with a generic message; the caller logs their detail.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	var invalid *eventlog.InvalidError
	var fanout *eventlog.FanoutError
	var conflict *eventlog.KeyConflictError
	var pruned *eventlog.PrunedError
	switch {
	case errors.As(err, &pruned):
		return withInfo(codes.FailedPrecondition, pruned.Error(), err)
	case errors.As(err, &fanout):
		return withInfo(codes.FailedPrecondition, fanout.Error(), err)
	case errors.As(err, &conflict):
		return withInfo(codes.AlreadyExists, conflict.Error(), err)
	case errors.As(err, &invalid):
		st := status.New(codes.InvalidArgument, invalid.Error())
		withDetails, derr := st.WithDetails(&errdetails.BadRequest{
			FieldViolations: []*errdetails.BadRequest_FieldViolation{
				{Field: invalid.Field, Description: invalid.Problem},
			},
		})
		if derr == nil {
			st = withDetails
		}
		return st.Err()
	case errors.Is(err, eventlog.ErrNotFound):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "request canceled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	case errors.Is(err, eventlog.ErrOutcomeUnknown):
		return withInfo(codes.Unavailable, outcomeUnknown, err)
	case errors.Is(err, eventlog.ErrUnavailable):
		// The wrapped cause may name hosts and drivers; keep it out.
		return status.Error(codes.Unavailable, "the database cannot be reached or the server is shutting down; retry later")
	}
	if st, ok := status.FromError(err); ok && st.Code() != codes.Unknown {
		return st.Err()
	}
	return status.Error(codes.Internal, "internal error")
}

// withInfo is a status of code and msg that carries err's ErrorInfo, so
// that a client can tell it apart from others of its code.
func withInfo(code codes.Code, msg string, err error) error {
	st := status.New(code, msg)
	if info := protomap.ErrorInfoFromError(err); info != nil {
		if withDetails, derr := st.WithDetails(info); derr == nil {
			st = withDetails
		}
	}
	return st.Err()
}

// outcomeUnknown is what a writer is told when the database's answer to
// its commit was lost and could not be found out afterwards.
const outcomeUnknown = "the database could not be reached to confirm the write: it may have been stored. " +
	"Retry with the same idempotency_key, which returns the entry if it was stored and writes it once if it was not; " +
	"a retry without a key may store it twice"
