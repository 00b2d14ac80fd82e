package eventlog

import (
	"fmt"
	"time"
)

// CountGroup says what separate counts a bucket of CountEvents holds.
type CountGroup int

// The groupings of counts.
const (
	GroupNone        CountGroup = iota // one count per bucket
	GroupEventType                     // per event type, keyed by its name
	GroupActor                         // per actor: its folded name, or its folded id when it has no name
	GroupContentType                   // per content type, folded
)

// The bucket widths counts can be taken at.
const (
	BucketMinute = time.Minute
	BucketHour   = time.Hour
	BucketDay    = 24 * time.Hour
)

// MaxCountBuckets bounds the buckets one count covers.
const MaxCountBuckets = 10_000

// CountQuery asks for the number of entries matching Filter in each bucket
// of Width between Filter.Start and Filter.End.
type CountQuery struct {
	Filter Filter
	// Width is BucketMinute, BucketHour or BucketDay; buckets are aligned
	// on the Unix epoch, so on UTC minutes, hours and days.
	Width time.Duration
	Group CountGroup
}

// Buckets returns the start of the first bucket and the end (exclusive) of
// the last one that the query's time range covers.
func (q *CountQuery) Buckets() (first, end time.Time) {
	first = q.Filter.Start.Truncate(q.Width)
	end = q.Filter.End.Truncate(q.Width).Add(q.Width)
	return first.UTC(), end.UTC()
}

// Validate checks the width, the grouping and the range, which must be
// bounded on both sides and hold at most MaxCountBuckets buckets.
func (q *CountQuery) Validate() error {
	switch q.Width {
	case BucketMinute, BucketHour, BucketDay:
	default:
		return Invalid("bucket_width", "want minute, hour or day, got %v", q.Width)
	}
	if q.Group < GroupNone || q.Group > GroupContentType {
		return Invalid("group_by", "unknown grouping %d", q.Group)
	}
	if q.Filter.Start.IsZero() {
		return Invalid("start_time", "required: counts cover a bounded range of time")
	}
	if q.Filter.End.IsZero() {
		return Invalid("end_time", "required: counts cover a bounded range of time")
	}
	if err := q.Filter.Validate(); err != nil {
		return err
	}
	first, end := q.Buckets()
	if n := end.Sub(first) / q.Width; n > MaxCountBuckets {
		return Invalid("bucket_width", "the range holds %d buckets of %v, over the limit of %d: choose a wider bucket or a shorter range", n, widthName(q.Width), MaxCountBuckets)
	}
	return nil
}

func widthName(d time.Duration) string {
	switch d {
	case BucketMinute:
		return "a minute"
	case BucketHour:
		return "an hour"
	case BucketDay:
		return "a day"
	}
	return fmt.Sprint(d)
}

// Count is the number of entries in one bucket, for one key of the grouping
// ("" without one).
type Count struct {
	Start time.Time
	Key   string
	N     int64
}
