package server

import (
	"errors"
	"testing"
	"time"

	"github.com/eventlog/eventlog"
	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestCountFromProto(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 891011213, time.UTC)
	day := eventlogv1.BucketWidth_BUCKET_WIDTH_DAY
	q, err := countFromProto(&eventlogv1.CountEventsRequest{
		EventType: "edit", Actor: "Alice", StartTime: timestamppb.New(now.Add(-48 * time.Hour)),
		BucketWidth: day, GroupBy: eventlogv1.CountGroupBy_COUNT_GROUP_BY_ACTOR,
	}, now)
	if err != nil {
		t.Fatal(err)
	}
	if q.Width != eventlog.BucketDay || q.Group != eventlog.GroupActor || q.Filter.Type != eventlog.TypeEdit || q.Filter.Actor != "Alice" ||
		!q.Filter.End.Equal(now.Truncate(time.Microsecond)) {
		t.Errorf("countFromProto = %+v, want a day width, by actor, edits by Alice, up to now", q)
	}
	first, end := q.Buckets()
	if !first.Equal(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)) || !end.Equal(time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("buckets from %v to %v, want 2 March to 5 March", first, end)
	}
	start := timestamppb.New(now.Add(-time.Hour))
	for _, tt := range []struct {
		name  string
		req   *eventlogv1.CountEventsRequest
		field string
	}{
		{"no start", &eventlogv1.CountEventsRequest{BucketWidth: day}, "start_time"},
		{"no width", &eventlogv1.CountEventsRequest{StartTime: start}, "bucket_width"},
		{"unknown width", &eventlogv1.CountEventsRequest{StartTime: start, BucketWidth: 9}, "bucket_width"},
		{"unknown grouping", &eventlogv1.CountEventsRequest{StartTime: start, BucketWidth: day, GroupBy: 9}, "group_by"},
		{"start in the future", &eventlogv1.CountEventsRequest{StartTime: timestamppb.New(now.Add(time.Hour)), BucketWidth: day}, "start_time"},
		{"end before start", &eventlogv1.CountEventsRequest{StartTime: start, EndTime: timestamppb.New(now.Add(-2 * time.Hour)), BucketWidth: day}, "end_time"},
		{"too many minutes", &eventlogv1.CountEventsRequest{StartTime: timestamppb.New(now.Add(-7 * 24 * time.Hour)), BucketWidth: eventlogv1.BucketWidth_BUCKET_WIDTH_MINUTE}, "bucket_width"},
		{"bad type", &eventlogv1.CountEventsRequest{StartTime: start, BucketWidth: day, EventType: "nope"}, "event_type"},
	} {
		_, err := countFromProto(tt.req, now)
		var invalid *eventlog.InvalidError
		if !errors.As(err, &invalid) || invalid.Field != tt.field {
			t.Errorf("%s: error = %v, want invalid %s", tt.name, err, tt.field)
		}
	}
	// A week of minutes is the most one call covers.
	if _, err := countFromProto(&eventlogv1.CountEventsRequest{StartTime: timestamppb.New(now.Add(-6 * 24 * time.Hour)),
		BucketWidth: eventlogv1.BucketWidth_BUCKET_WIDTH_MINUTE}, now); err != nil {
		t.Errorf("6 days of minutes: %v", err)
	}
}
