package protomap

import (
	"github.com/eventlog/eventlog"
	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
)

// The enums of the API and of the domain, one table each, read in both
// directions. The numbers happen to agree; the tables keep the two free to
// diverge. A test walks every value of both sides.

var eventTypes = []struct {
	d eventlog.EventType
	p eventlogv1.EventType
}{
	{eventlog.TypeUnspecified, eventlogv1.EventType_EVENT_TYPE_UNSPECIFIED},
	{eventlog.TypeCreate, eventlogv1.EventType_EVENT_TYPE_CREATE},
	{eventlog.TypeDelete, eventlogv1.EventType_EVENT_TYPE_DELETE},
	{eventlog.TypeEdit, eventlogv1.EventType_EVENT_TYPE_EDIT},
	{eventlog.TypeFetch, eventlogv1.EventType_EVENT_TYPE_FETCH},
	{eventlog.TypeLogin, eventlogv1.EventType_EVENT_TYPE_LOGIN},
	{eventlog.TypeLogout, eventlogv1.EventType_EVENT_TYPE_LOGOUT},
	{eventlog.TypeLoginFailed, eventlogv1.EventType_EVENT_TYPE_LOGIN_FAILED},
}

var actorKinds = []struct {
	d eventlog.ActorKind
	p eventlogv1.ActorKind
}{
	{eventlog.ActorUnspecified, eventlogv1.ActorKind_ACTOR_KIND_UNSPECIFIED},
	{eventlog.ActorUser, eventlogv1.ActorKind_ACTOR_KIND_USER},
	{eventlog.ActorService, eventlogv1.ActorKind_ACTOR_KIND_SERVICE},
	{eventlog.ActorSystem, eventlogv1.ActorKind_ACTOR_KIND_SYSTEM},
}

// breakKinds has no row for the API's UNSPECIFIED: every break has a kind.
var breakKinds = []struct {
	d eventlog.BreakKind
	p eventlogv1.ChainBreakKind
}{
	{eventlog.BreakChanged, eventlogv1.ChainBreakKind_CHAIN_BREAK_KIND_CHANGED},
	{eventlog.BreakReordered, eventlogv1.ChainBreakKind_CHAIN_BREAK_KIND_REORDERED},
	{eventlog.BreakLink, eventlogv1.ChainBreakKind_CHAIN_BREAK_KIND_BROKEN_LINK},
	{eventlog.BreakMissing, eventlogv1.ChainBreakKind_CHAIN_BREAK_KIND_MISSING},
	{eventlog.BreakTruncated, eventlogv1.ChainBreakKind_CHAIN_BREAK_KIND_TRUNCATED},
	{eventlog.BreakHead, eventlogv1.ChainBreakKind_CHAIN_BREAK_KIND_HEAD_MISMATCH},
	{eventlog.BreakAfterHead, eventlogv1.ChainBreakKind_CHAIN_BREAK_KIND_AFTER_HEAD},
}

// EventTypeToProto returns the API's value of t; a type outside the table
// is UNSPECIFIED.
func EventTypeToProto(t eventlog.EventType) eventlogv1.EventType {
	for _, r := range eventTypes {
		if r.d == t {
			return r.p
		}
	}
	return eventlogv1.EventType_EVENT_TYPE_UNSPECIFIED
}

// EventTypeFromProto returns the domain's value of t, and false for a value
// the table does not know.
func EventTypeFromProto(t eventlogv1.EventType) (eventlog.EventType, bool) {
	for _, r := range eventTypes {
		if r.p == t {
			return r.d, true
		}
	}
	return eventlog.TypeUnspecified, false
}

// ActorKindToProto returns the API's value of k; a kind outside the table
// is UNSPECIFIED.
func ActorKindToProto(k eventlog.ActorKind) eventlogv1.ActorKind {
	for _, r := range actorKinds {
		if r.d == k {
			return r.p
		}
	}
	return eventlogv1.ActorKind_ACTOR_KIND_UNSPECIFIED
}

// ActorKindFromProto returns the domain's value of k, and false for a value
// the table does not know.
func ActorKindFromProto(k eventlogv1.ActorKind) (eventlog.ActorKind, bool) {
	for _, r := range actorKinds {
		if r.p == k {
			return r.d, true
		}
	}
	return eventlog.ActorUnspecified, false
}

// BreakKindToProto returns the API's value of k; a kind outside the table
// is UNSPECIFIED.
func BreakKindToProto(k eventlog.BreakKind) eventlogv1.ChainBreakKind {
	for _, r := range breakKinds {
		if r.d == k {
			return r.p
		}
	}
	return eventlogv1.ChainBreakKind_CHAIN_BREAK_KIND_UNSPECIFIED
}

// BreakKindFromProto returns the domain's value of k, and false for
// UNSPECIFIED or a value the table does not know.
func BreakKindFromProto(k eventlogv1.ChainBreakKind) (eventlog.BreakKind, bool) {
	for _, r := range breakKinds {
		if r.p == k {
			return r.d, true
		}
	}
	return 0, false
}
