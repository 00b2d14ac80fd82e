package eventlog

import "context"

// Limits of the relation registry and of propagation.
const (
	MaxRelationsPerCall = 1000 // relations in one PutRelations or DeleteRelations call
	MaxInlineRelated    = 1000 // related objects named by one write
	MaxDepth            = 5    // hops a rule may propagate
	DefaultMaxFanout    = 1000 // children of one source entry
)

// ObjectRef names an object: its content type and id.
type ObjectRef struct {
	ContentType string
	ObjectID    string
}

// Relation is a directed edge between two objects: entries on From
// propagate to To, as the propagation rules allow.
type Relation struct {
	From ObjectRef
	To   ObjectRef
	Kind string
}

// RelationFilter selects relations; set fields combine with AND. A ref with
// an empty ObjectID matches every object of its content type.
type RelationFilter struct {
	From *ObjectRef
	To   *ObjectRef
	Kind *string
}

// Graph reads the relation registry while an entry is written, so that its
// children are computed from the registry as the write sees it.
type Graph interface {
	// EachRelation calls fn for every relation that starts at obj (or, when
	// reverse is set, ends at obj), until fn returns an error, which
	// EachRelation then returns.
	EachRelation(ctx context.Context, obj ObjectRef, reverse bool, fn func(Relation) error) error
}

// Write is one entry to append, with the objects it names as related for
// this write only.
type Write struct {
	Event   Event
	Related []ObjectRef
}

// Written is an entry as stored, with the entries propagated from it.
type Written struct {
	Event    Event
	Children []Event
	// Replayed says that the write's idempotency key already held this
	// entry (stored earlier, or by an earlier write of the same append):
	// nothing new was written for it.
	Replayed bool
}

// Expander computes the entries propagated from a source entry.
type Expander interface {
	// Expand returns the children of src, whose ID is assigned, in the
	// order they are written: the i-th child gets id src.ID+1+i. A child's
	// SourceID is src.ID or the id of an earlier child it came through.
	// The store fills each child's Time and hashes.
	Expand(ctx context.Context, src *Event, related []ObjectRef, g Graph) ([]Event, error)
}
