package protomap

import (
	"time"

	"github.com/eventlog/eventlog"
	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
)

// The enums of the API and of the domain, one table each, read in both
// directions. The numbers happen to agree; the tables keep the two free to
// diverge. A test walks every value of both sides.

// table pairs the domain's values of an enum with the API's.
type table[D, P comparable] []struct {
	d D
	p P
}

// toProto returns the API's value of d, or none when d is not in t.
func (t table[D, P]) toProto(d D, none P) P {
	for _, r := range t {
		if r.d == d {
			return r.p
		}
	}
	return none
}

// fromProto returns the domain's value of p, and false when p is not in t.
func (t table[D, P]) fromProto(p P) (D, bool) {
	for _, r := range t {
		if r.p == p {
			return r.d, true
		}
	}
	var zero D
	return zero, false
}

var eventTypes = table[eventlog.EventType, eventlogv1.EventType]{
	{eventlog.TypeUnspecified, eventlogv1.EventType_EVENT_TYPE_UNSPECIFIED},
	{eventlog.TypeCreate, eventlogv1.EventType_EVENT_TYPE_CREATE},
	{eventlog.TypeDelete, eventlogv1.EventType_EVENT_TYPE_DELETE},
	{eventlog.TypeEdit, eventlogv1.EventType_EVENT_TYPE_EDIT},
	{eventlog.TypeFetch, eventlogv1.EventType_EVENT_TYPE_FETCH},
	{eventlog.TypeLogin, eventlogv1.EventType_EVENT_TYPE_LOGIN},
	{eventlog.TypeLogout, eventlogv1.EventType_EVENT_TYPE_LOGOUT},
	{eventlog.TypeLoginFailed, eventlogv1.EventType_EVENT_TYPE_LOGIN_FAILED},
}

var actorKinds = table[eventlog.ActorKind, eventlogv1.ActorKind]{
	{eventlog.ActorUnspecified, eventlogv1.ActorKind_ACTOR_KIND_UNSPECIFIED},
	{eventlog.ActorUser, eventlogv1.ActorKind_ACTOR_KIND_USER},
	{eventlog.ActorService, eventlogv1.ActorKind_ACTOR_KIND_SERVICE},
	{eventlog.ActorSystem, eventlogv1.ActorKind_ACTOR_KIND_SYSTEM},
}

// breakKinds has no row for the API's UNSPECIFIED: every break has a kind.
var breakKinds = table[eventlog.BreakKind, eventlogv1.ChainBreakKind]{
	{eventlog.BreakChanged, eventlogv1.ChainBreakKind_CHAIN_BREAK_KIND_CHANGED},
	{eventlog.BreakReordered, eventlogv1.ChainBreakKind_CHAIN_BREAK_KIND_REORDERED},
	{eventlog.BreakLink, eventlogv1.ChainBreakKind_CHAIN_BREAK_KIND_BROKEN_LINK},
	{eventlog.BreakMissing, eventlogv1.ChainBreakKind_CHAIN_BREAK_KIND_MISSING},
	{eventlog.BreakTruncated, eventlogv1.ChainBreakKind_CHAIN_BREAK_KIND_TRUNCATED},
	{eventlog.BreakHead, eventlogv1.ChainBreakKind_CHAIN_BREAK_KIND_HEAD_MISMATCH},
	{eventlog.BreakAfterHead, eventlogv1.ChainBreakKind_CHAIN_BREAK_KIND_AFTER_HEAD},
}

// bucketWidths has no row for the API's UNSPECIFIED: a count needs one.
var bucketWidths = table[time.Duration, eventlogv1.BucketWidth]{
	{eventlog.BucketMinute, eventlogv1.BucketWidth_BUCKET_WIDTH_MINUTE},
	{eventlog.BucketHour, eventlogv1.BucketWidth_BUCKET_WIDTH_HOUR},
	{eventlog.BucketDay, eventlogv1.BucketWidth_BUCKET_WIDTH_DAY},
}

var countGroups = table[eventlog.CountGroup, eventlogv1.CountGroupBy]{
	{eventlog.GroupNone, eventlogv1.CountGroupBy_COUNT_GROUP_BY_UNSPECIFIED},
	{eventlog.GroupEventType, eventlogv1.CountGroupBy_COUNT_GROUP_BY_EVENT_TYPE},
	{eventlog.GroupActor, eventlogv1.CountGroupBy_COUNT_GROUP_BY_ACTOR},
	{eventlog.GroupContentType, eventlogv1.CountGroupBy_COUNT_GROUP_BY_CONTENT_TYPE},
}

// EventTypeToProto returns the API's value of t; a type outside the table
// is UNSPECIFIED.
func EventTypeToProto(t eventlog.EventType) eventlogv1.EventType {
	return eventTypes.toProto(t, eventlogv1.EventType_EVENT_TYPE_UNSPECIFIED)
}

// EventTypeFromProto returns the domain's value of t, and false for a value
// the table does not know.
func EventTypeFromProto(t eventlogv1.EventType) (eventlog.EventType, bool) {
	return eventTypes.fromProto(t)
}

// ActorKindToProto returns the API's value of k; a kind outside the table
// is UNSPECIFIED.
func ActorKindToProto(k eventlog.ActorKind) eventlogv1.ActorKind {
	return actorKinds.toProto(k, eventlogv1.ActorKind_ACTOR_KIND_UNSPECIFIED)
}

// ActorKindFromProto returns the domain's value of k, and false for a value
// the table does not know.
func ActorKindFromProto(k eventlogv1.ActorKind) (eventlog.ActorKind, bool) {
	return actorKinds.fromProto(k)
}

// BreakKindToProto returns the API's value of k; a kind outside the table
// is UNSPECIFIED.
func BreakKindToProto(k eventlog.BreakKind) eventlogv1.ChainBreakKind {
	return breakKinds.toProto(k, eventlogv1.ChainBreakKind_CHAIN_BREAK_KIND_UNSPECIFIED)
}

// BreakKindFromProto returns the domain's value of k, and false for
// UNSPECIFIED or a value the table does not know.
func BreakKindFromProto(k eventlogv1.ChainBreakKind) (eventlog.BreakKind, bool) {
	return breakKinds.fromProto(k)
}

// BucketWidthFromProto returns the bucket width w stands for, and false for
// UNSPECIFIED or a value the table does not know.
func BucketWidthFromProto(w eventlogv1.BucketWidth) (time.Duration, bool) {
	return bucketWidths.fromProto(w)
}

// CountGroupFromProto returns the grouping g stands for (UNSPECIFIED: none),
// and false for a value the table does not know.
func CountGroupFromProto(g eventlogv1.CountGroupBy) (eventlog.CountGroup, bool) {
	return countGroups.fromProto(g)
}
