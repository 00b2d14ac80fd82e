package protomap

import (
	"errors"
	"testing"

	"github.com/eventlog/eventlog"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
)

// Each domain error with an ErrorInfo comes back as itself.
func TestErrorInfoRoundTrip(t *testing.T) {
	for _, err := range []error{
		eventlog.ErrOutcomeUnknown,
		&eventlog.KeyConflictError{Key: "k", ID: 42, Field: "event.details"},
		&eventlog.FanoutError{Limit: 100, Source: eventlog.ObjectRef{ContentType: "Note", ObjectID: "n1"}},
		&eventlog.PrunedError{Through: 65536, What: "the tree over entries 1 to 16", Hint: "keep newer checkpoints"},
	} {
		info := ErrorInfoFromError(err)
		if info == nil {
			t.Fatalf("ErrorInfoFromError(%v) = nil", err)
		}
		got := ErrorFromErrorInfo(info)
		if errors.Is(err, eventlog.ErrOutcomeUnknown) {
			if got != eventlog.ErrOutcomeUnknown {
				t.Errorf("ErrOutcomeUnknown through ErrorInfo = %v", got)
			}
			continue
		}
		if diff := cmp.Diff(err, got); diff != "" {
			t.Errorf("%v through ErrorInfo (-sent +got):\n%s", err, diff)
		}
	}
	if info := ErrorInfoFromError(eventlog.ErrNotFound); info != nil {
		t.Errorf("ErrorInfoFromError(ErrNotFound) = %v, want nil: its code says all", info)
	}
	if err := ErrorFromErrorInfo(&errdetails.ErrorInfo{Domain: "other", Reason: ReasonFanout}); err != nil {
		t.Errorf("an ErrorInfo of another domain = %v, want nil", err)
	}
}
