package metrics

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/eventlog/eventlog"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestOutcome(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{eventlog.Invalid("event.actor", "missing"), OutcomeInvalid},
		{fmt.Errorf("append: %w", &eventlog.KeyConflictError{Key: "k", ID: 1, Field: "event.details"}), OutcomeConflict},
		{&eventlog.FanoutError{Limit: 3}, OutcomeFanout},
		{eventlog.ErrOutcomeUnknown, OutcomeUnavailable},
		{fmt.Errorf("%w: down", eventlog.ErrUnavailable), OutcomeUnavailable},
		{context.Canceled, OutcomeCanceled},
		{context.DeadlineExceeded, OutcomeCanceled},
		{errors.New("disk on fire"), OutcomeError},
	} {
		if got := Outcome(tt.err); got != tt.want {
			t.Errorf("Outcome(%v) = %s, want %s", tt.err, got, tt.want)
		}
	}
}

func TestWrote(t *testing.T) {
	m := New(BuildInfo{Version: "v1"})
	m.Wrote(3, []eventlog.Written{
		{Event: eventlog.Event{ID: 1}, Children: make([]eventlog.Event, 2)},
		{Event: eventlog.Event{ID: 1}, Children: make([]eventlog.Event, 2), Replayed: true},
		{Event: eventlog.Event{ID: 4}},
	}, nil)
	m.Wrote(5, nil, &eventlog.FanoutError{Limit: 1})
	for outcome, want := range map[string]float64{OutcomeWritten: 2, OutcomeReplayed: 1, OutcomeFanout: 5, OutcomeInvalid: 0} {
		if got := testutil.ToFloat64(m.entries.WithLabelValues(outcome)); got != want {
			t.Errorf("entries{outcome=%s} = %v, want %v", outcome, got, want)
		}
	}
	if got := testutil.ToFloat64(m.children); got != 2 {
		t.Errorf("children = %v, want 2: a replayed write's children are not written again", got)
	}
	var nilM *Metrics // off: every method does nothing
	nilM.Wrote(1, nil, nil)
	nilM.StreamClosed(nilM.StreamOpened(1))
	nilM.GroupCommitted(1, 1, 0, 0, nil)
}

func TestStreamLag(t *testing.T) {
	m := New(BuildInfo{})
	head := int64(12)
	m.FollowHead(func() int64 { return head })
	if open, lag := m.streamStats(); open != 0 || lag != 0 {
		t.Errorf("no streams: open %d, lag %d; want 0, 0", open, lag)
	}
	a := m.StreamOpened(5)
	b := m.StreamOpened(10)
	if open, lag := m.streamStats(); open != 2 || lag != 7 {
		t.Errorf("streams at 5 and 10, head 12: open %d, max lag %d; want 2, 7", open, lag)
	}
	a.At(12)
	if _, lag := m.streamStats(); lag != 2 {
		t.Errorf("streams at 12 and 10: max lag %d, want 2", lag)
	}
	m.StreamClosed(b)
	m.StreamClosed(a)
	if open, lag := m.streamStats(); open != 0 || lag != 0 {
		t.Errorf("all closed: open %d, lag %d; want 0, 0", open, lag)
	}
}

func TestHandlerName(t *testing.T) {
	for path, want := range map[string]string{
		"/v1/events": "api", "/v1/events/12": "api", "/v1/events:export": "export", "/metrics": "metrics",
		"/healthz": "health", "/readyz": "health", "/openapi.json": "openapi", "/anything/else": "other",
	} {
		if got := handlerName(httptest.NewRequest("GET", path, nil)); got != want {
			t.Errorf("handlerName(%s) = %s, want %s", path, got, want)
		}
	}
}
