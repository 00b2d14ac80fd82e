// Package propagation expands an entry into the entries propagated from it:
// a child entry for each object related to the one acted on, as rules
// allow. Relations come from the registry (eventlog.Graph) and from the
// write itself; rules come from a YAML file or CRADLE's defaults.
//
// Expansion always terminates: an object receives at most one child per
// source entry however many paths lead to it, depth is bounded, and the
// number of children per source entry is capped.
package propagation

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/eventlog/eventlog"
)

// Config configures an Engine.
type Config struct {
	// Rules say what propagates where; DefaultRules() when nil. An empty,
	// non-nil list propagates nothing.
	Rules []Rule
	// MaxFanout caps the children of one source entry;
	// eventlog.DefaultMaxFanout when 0.
	MaxFanout int
}

// Engine expands entries by rules. It is safe for concurrent use.
type Engine struct {
	rules     []Rule
	maxFanout int
}

var _ eventlog.Expander = (*Engine)(nil)

// New returns an Engine for cfg.
func New(cfg Config) (*Engine, error) {
	if cfg.Rules == nil {
		cfg.Rules = DefaultRules()
	}
	if cfg.MaxFanout == 0 {
		cfg.MaxFanout = eventlog.DefaultMaxFanout
	}
	if cfg.MaxFanout < 0 {
		return nil, fmt.Errorf("max fan-out %d: must be positive", cfg.MaxFanout)
	}
	rules := make([]Rule, len(cfg.Rules))
	for i, r := range cfg.Rules {
		r.From, r.To = foldAll(r.From), foldAll(r.To)
		if r.Depth == 0 {
			r.Depth = 1
		}
		if r.Depth < 0 || r.Depth > eventlog.MaxDepth {
			return nil, fmt.Errorf("rule %d: depth %d: want 1 to %d", i+1, r.Depth, eventlog.MaxDepth)
		}
		rules[i] = r
	}
	return &Engine{rules: rules, maxFanout: cfg.MaxFanout}, nil
}

// MaxFanout returns the cap on children per source entry.
func (e *Engine) MaxFanout() int { return e.maxFanout }

func foldAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = eventlog.Fold(n)
	}
	return out
}

func matches(names []string, contentType string) bool {
	ct := eventlog.Fold(contentType)
	for _, n := range names {
		if n == Any || n == ct {
			return true
		}
	}
	return false
}

func hasType(types []eventlog.EventType, t eventlog.EventType) bool {
	for _, x := range types {
		if x == t {
			return true
		}
	}
	return false
}

// stopped reports whether a stop rule forbids src's children on objects of
// contentType reached along a relation of kind.
func (e *Engine) stopped(src *eventlog.Event, contentType, kind string) bool {
	for i := range e.rules {
		r := &e.rules[i]
		if r.Stop && hasType(r.On, src.Type) && matches(r.From, src.ContentType) &&
			matches(r.To, contentType) && (r.Kind == "" || r.Kind == kind) {
			return true
		}
	}
	return false
}

// objectKey identifies an object: content types compare ignoring case.
func objectKey(o eventlog.ObjectRef) string {
	return eventlog.Fold(o.ContentType) + "\x00" + o.ObjectID
}

// hop is an object reached by a rule, from which the rule may go on.
type hop struct {
	obj    eventlog.ObjectRef
	id     int64 // the id of the entry on obj: the source's or a child's
	rule   *Rule
	parent eventlog.ObjectRef
}

// Expand returns the children of src: breadth first, so that an object
// reachable along several paths gets its child through the shortest, and
// the first rule (in file order) to reach it decides the child's type.
// related are objects the write names for one hop; they obey the rules as
// relations of no kind do.
func (e *Engine) Expand(ctx context.Context, src *eventlog.Event, related []eventlog.ObjectRef, g eventlog.Graph) ([]eventlog.Event, error) {
	srcObj := eventlog.ObjectRef{ContentType: src.ContentType, ObjectID: src.ObjectID}
	var frontier []hop
	for i := range e.rules {
		r := &e.rules[i]
		if !r.Stop && hasType(r.On, src.Type) && matches(r.From, src.ContentType) {
			frontier = append(frontier, hop{obj: srcObj, id: src.ID, rule: r})
		}
	}
	if len(frontier) == 0 {
		return nil, nil
	}
	// The objects given a child, and the source: made when the first
	// relation is found, as most objects have none.
	var visited map[string]bool
	var children []eventlog.Event
	add := func(from hop, to eventlog.ObjectRef, kind string, depth int) (hop, error) {
		if len(children) >= e.maxFanout {
			return hop{}, &eventlog.FanoutError{Limit: e.maxFanout, Source: srcObj}
		}
		child, err := e.child(src, from, to, kind, depth)
		if err != nil {
			return hop{}, err
		}
		child.ID = src.ID + 1 + int64(len(children))
		children = append(children, child)
		return hop{obj: to, id: child.ID, rule: from.rule, parent: from.obj}, nil
	}
	// reach decides whether from's rule gives obj a child.
	reach := func(from hop, obj eventlog.ObjectRef, kind string) bool {
		r := from.rule
		if r.Kind != "" && r.Kind != kind {
			return false
		}
		if !matches(r.To, obj.ContentType) || e.stopped(src, obj.ContentType, kind) {
			return false
		}
		if visited == nil {
			visited = map[string]bool{objectKey(srcObj): true}
		}
		k := objectKey(obj)
		if visited[k] {
			return false
		}
		visited[k] = true
		return true
	}

	var next []hop
	// The write's own related objects: one hop, through the first rule
	// that reaches each.
	for _, obj := range related {
		for _, h := range frontier {
			if reach(h, obj, "") {
				// Not added to the frontier: inline relations go one hop.
				if _, err := add(h, obj, "", 1); err != nil {
					return nil, err
				}
				break
			}
		}
	}

	for depth := 1; len(frontier) > 0; depth++ {
		for _, h := range frontier {
			if depth > h.rule.Depth {
				continue
			}
			type edge struct {
				obj  eventlog.ObjectRef
				kind string
			}
			var edges []edge
			walk := func(reverse bool) error {
				return g.EachRelation(ctx, h.obj, reverse, func(rel eventlog.Relation) error {
					to := rel.To
					if reverse {
						to = rel.From
					}
					if reach(h, to, rel.Kind) {
						if len(children)+len(edges) >= e.maxFanout {
							return &eventlog.FanoutError{Limit: e.maxFanout, Source: srcObj}
						}
						edges = append(edges, edge{to, rel.Kind})
					}
					return nil
				})
			}
			if h.rule.Direction != Reverse {
				if err := walk(false); err != nil {
					return nil, err
				}
			}
			if h.rule.Direction != Forward {
				if err := walk(true); err != nil {
					return nil, err
				}
			}
			for _, ed := range edges {
				n, err := add(h, ed.obj, ed.kind, depth)
				if err != nil {
					return nil, err
				}
				next = append(next, n)
			}
		}
		frontier, next = next, nil
	}
	return children, nil
}

// child builds the entry that from's rule writes on obj for src.
func (e *Engine) child(src *eventlog.Event, from hop, obj eventlog.ObjectRef, kind string, depth int) (eventlog.Event, error) {
	d := provenance{
		SourceID:        src.ID,
		SourceType:      src.Type.String(),
		SourceObject:    ref{src.ContentType, src.ObjectID},
		Via:             ref{from.obj.ContentType, from.obj.ObjectID},
		ViaID:           from.id,
		RelationKind:    kind,
		Depth:           depth,
		SourceObjectRep: src.ObjectRepr,
	}
	raw, err := json.Marshal(map[string]provenance{"propagated_from": d})
	if err != nil {
		return eventlog.Event{}, err
	}
	details, err := eventlog.CanonicalJSON(raw)
	if err != nil {
		return eventlog.Event{}, err
	}
	return eventlog.Event{
		OccurredTime: src.OccurredTime,
		Type:         from.rule.As,
		Actor:        src.Actor,
		ContentType:  obj.ContentType,
		ObjectID:     obj.ObjectID,
		Details:      details,
		SourceID:     from.id,
		Request:      src.Request,
	}, nil
}

// provenance is what a child's details say about where it came from.
type provenance struct {
	SourceID        int64  `json:"entry_id"`   // the original entry
	SourceType      string `json:"event_type"` // its event type
	SourceObject    ref    `json:"object"`     // the object it was on
	SourceObjectRep string `json:"object_repr,omitempty"`
	Via             ref    `json:"via"`          // the object this child was reached from
	ViaID           int64  `json:"via_entry_id"` // the entry on that object
	RelationKind    string `json:"relation_kind,omitempty"`
	Depth           int    `json:"depth"`
}

type ref struct {
	ContentType string `json:"content_type"`
	ObjectID    string `json:"object_id"`
}
