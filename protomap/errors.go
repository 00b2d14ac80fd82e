package protomap

import (
	"errors"
	"strconv"

	"github.com/eventlog/eventlog"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
)

// Domain errors that a status code alone does not tell apart travel as a
// google.rpc.ErrorInfo detail of the status, in ErrorDomain, with one of
// these reasons and their fields as metadata.
const (
	ErrorDomain          = "eventlog.v1"
	ReasonOutcomeUnknown = "OUTCOME_UNKNOWN"          // eventlog.ErrOutcomeUnknown
	ReasonKeyConflict    = "IDEMPOTENCY_KEY_CONFLICT" // *eventlog.KeyConflictError
	ReasonFanout         = "FANOUT_LIMIT"             // *eventlog.FanoutError
	ReasonPruned         = "PRUNED"                   // *eventlog.PrunedError
)

// ErrorInfoFromError returns the ErrorInfo that stands for err, or nil when
// its status code says all.
func ErrorInfoFromError(err error) *errdetails.ErrorInfo {
	var conflict *eventlog.KeyConflictError
	var fanout *eventlog.FanoutError
	var pruned *eventlog.PrunedError
	switch {
	case errors.As(err, &pruned):
		return &errdetails.ErrorInfo{Domain: ErrorDomain, Reason: ReasonPruned, Metadata: map[string]string{
			"through_id": strconv.FormatInt(pruned.Through, 10), "what": pruned.What, "hint": pruned.Hint,
		}}
	case errors.As(err, &conflict):
		return &errdetails.ErrorInfo{Domain: ErrorDomain, Reason: ReasonKeyConflict, Metadata: map[string]string{
			"idempotency_key": conflict.Key, "entry_id": strconv.FormatInt(conflict.ID, 10), "field": conflict.Field,
		}}
	case errors.As(err, &fanout):
		return &errdetails.ErrorInfo{Domain: ErrorDomain, Reason: ReasonFanout, Metadata: map[string]string{
			"limit": strconv.Itoa(fanout.Limit), "content_type": fanout.Source.ContentType, "object_id": fanout.Source.ObjectID,
		}}
	case errors.Is(err, eventlog.ErrOutcomeUnknown):
		return &errdetails.ErrorInfo{Domain: ErrorDomain, Reason: ReasonOutcomeUnknown}
	}
	return nil
}

// ErrorFromErrorInfo returns the domain error that info stands for, or nil
// when it is not one of ErrorDomain's.
func ErrorFromErrorInfo(info *errdetails.ErrorInfo) error {
	if info.GetDomain() != ErrorDomain {
		return nil
	}
	md := info.GetMetadata()
	switch info.GetReason() {
	case ReasonOutcomeUnknown:
		return eventlog.ErrOutcomeUnknown
	case ReasonKeyConflict:
		id, _ := strconv.ParseInt(md["entry_id"], 10, 64)
		return &eventlog.KeyConflictError{Key: md["idempotency_key"], ID: id, Field: md["field"]}
	case ReasonPruned:
		through, _ := strconv.ParseInt(md["through_id"], 10, 64)
		return &eventlog.PrunedError{Through: through, What: md["what"], Hint: md["hint"]}
	case ReasonFanout:
		limit, _ := strconv.Atoi(md["limit"])
		return &eventlog.FanoutError{Limit: limit, Source: eventlog.ObjectRef{ContentType: md["content_type"], ObjectID: md["object_id"]}}
	}
	return nil
}
