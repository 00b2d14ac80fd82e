package propagation

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/eventlog/eventlog"
	"go.yaml.in/yaml/v3"
)

// Direction says which way a rule follows relations.
type Direction uint8

// The directions. Forward follows a relation from its From object to its To
// object; Reverse the other way.
const (
	Forward Direction = iota
	Reverse
	Both
)

func (d Direction) String() string {
	switch d {
	case Forward:
		return "forward"
	case Reverse:
		return "reverse"
	case Both:
		return "both"
	}
	return fmt.Sprintf("Direction(%d)", d)
}

// Any matches every content type in Rule.From and Rule.To.
const Any = "*"

// Rule says which entries propagate where. A rule matches a source entry by
// its content type (From) and event type (On); it then reaches the related
// objects whose content type is in To, along relations of Kind (any kind
// when empty), up to Depth hops. A Stop rule instead forbids children: no
// entry matching From and On propagates to objects of the types in To.
type Rule struct {
	From      []string             // source content types, or Any
	On        []eventlog.EventType // source event types
	To        []string             // reached content types, or Any
	Kind      string               // relation kind; empty matches every kind
	As        eventlog.EventType   // event type of the children
	Depth     int                  // hops, 1 to eventlog.MaxDepth
	Direction Direction
	Stop      bool
	Line      int // where the rule starts in its file; 0 for built-in rules
}

// DefaultRules are CRADLE's: CREATE, EDIT and DELETE propagate one hop
// along every relation as EDIT; other event types never propagate.
func DefaultRules() []Rule {
	return []Rule{{
		From:  []string{Any},
		On:    []eventlog.EventType{eventlog.TypeCreate, eventlog.TypeEdit, eventlog.TypeDelete},
		To:    []string{Any},
		As:    eventlog.TypeEdit,
		Depth: 1,
	}}
}

// LoadRules reads a rules file. Its errors start with "FILE:LINE: ".
func LoadRules(path string) ([]Rule, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	rules, err := ParseRules(data)
	if err != nil {
		return nil, fmt.Errorf("%s:%w", path, err)
	}
	return rules, nil
}

// lineError is a problem at a line of a rules file.
type lineError struct {
	line int
	msg  string
}

func (e *lineError) Error() string { return fmt.Sprintf("%d: %s", e.line, e.msg) }

func errAt(n *yaml.Node, format string, args ...any) error {
	return &lineError{line: n.Line, msg: fmt.Sprintf(format, args...)}
}

// ParseRules parses the YAML form of rules:
//
//	rules:
//	  - from: Note              # source content type(s), or "*" (the default)
//	    on: [create, edit]      # source event types (default create, edit, delete)
//	    to: [Entity]            # reached content type(s), or "*" (the default)
//	    kind: links             # only relations of this kind (default: any)
//	    as: edit                # event type of the children (default edit)
//	    depth: 1                # hops, 1 to 5 (default 1)
//	    direction: forward      # forward, reverse or both (default forward)
//	  - to: [User]              # User objects never receive children
//	    stop: true
//
// Its errors start with "LINE: " and name the problem.
func ParseRules(data []byte) ([]Rule, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &lineError{line: 1, msg: "empty file: want a mapping with a \"rules\" list"}
		}
		return nil, yamlError(err)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return nil, errAt(root, "want a mapping with a \"rules\" list")
	}
	var list *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "rules":
			list = v
		default:
			return nil, errAt(k, "unknown key %q: the file has one key, \"rules\"", k.Value)
		}
	}
	if list == nil {
		return nil, errAt(root, "missing \"rules\": want a list of rules")
	}
	if list.Kind != yaml.SequenceNode {
		if list.Tag == "!!null" {
			return nil, nil
		}
		return nil, errAt(list, "\"rules\" must be a list")
	}
	rules := make([]Rule, 0, len(list.Content))
	for _, n := range list.Content {
		r, err := parseRule(n)
		if err != nil {
			return nil, err
		}
		rules = append(rules, r)
	}
	return rules, nil
}

// yamlError turns a YAML syntax error into a lineError where it can.
func yamlError(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		return errors.New(strings.TrimPrefix(te.Errors[0], "line "))
	}
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		return errors.New(rest)
	}
	return &lineError{line: 1, msg: msg}
}

func parseRule(n *yaml.Node) (Rule, error) {
	if n.Kind != yaml.MappingNode {
		return Rule{}, errAt(n, "a rule must be a mapping of from, on, to, kind, as, depth, direction, stop")
	}
	r := Rule{From: []string{Any}, To: []string{Any}, As: eventlog.TypeEdit, Depth: 1, Line: n.Line}
	onSet, asSet, depthSet, dirSet := false, false, false, false
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if seen[k.Value] {
			return Rule{}, errAt(k, "%q given twice in one rule", k.Value)
		}
		seen[k.Value] = true
		var err error
		switch k.Value {
		case "from":
			r.From, err = contentTypes(v, "from")
		case "to":
			r.To, err = contentTypes(v, "to")
		case "on":
			onSet = true
			var names []string
			if names, err = strings1(v, "on"); err == nil {
				r.On = r.On[:0]
				for _, name := range names {
					t, perr := eventlog.ParseEventType(name)
					if perr != nil {
						return Rule{}, errAt(v, "on: %v", perr)
					}
					r.On = append(r.On, t)
				}
			}
		case "kind":
			r.Kind, err = scalar(v, "kind")
		case "as":
			asSet = true
			var name string
			if name, err = scalar(v, "as"); err == nil {
				if r.As, err = eventlog.ParseEventType(name); err != nil {
					return Rule{}, errAt(v, "as: %v", err)
				}
			}
		case "depth":
			depthSet = true
			if err = v.Decode(&r.Depth); err != nil || v.Kind != yaml.ScalarNode {
				return Rule{}, errAt(v, "depth: want a whole number from 1 to %d, got %q", eventlog.MaxDepth, v.Value)
			}
			if r.Depth < 1 || r.Depth > eventlog.MaxDepth {
				return Rule{}, errAt(v, "depth: want 1 to %d, got %d", eventlog.MaxDepth, r.Depth)
			}
		case "direction":
			dirSet = true
			var d string
			if d, err = scalar(v, "direction"); err == nil {
				switch d {
				case "forward":
					r.Direction = Forward
				case "reverse":
					r.Direction = Reverse
				case "both":
					r.Direction = Both
				default:
					return Rule{}, errAt(v, "direction: want forward, reverse or both, got %q", d)
				}
			}
		case "stop":
			if v.Kind != yaml.ScalarNode || v.Decode(&r.Stop) != nil {
				return Rule{}, errAt(v, "stop: want true or false, got %q", v.Value)
			}
		default:
			return Rule{}, errAt(k, "unknown key %q: want from, on, to, kind, as, depth, direction or stop", k.Value)
		}
		if err != nil {
			return Rule{}, err
		}
	}
	if !onSet {
		r.On = []eventlog.EventType{eventlog.TypeCreate, eventlog.TypeEdit, eventlog.TypeDelete}
		if r.Stop {
			r.On = eventlog.EventTypes()
		}
	}
	if len(r.On) == 0 {
		return Rule{}, errAt(n, "on: an empty list matches nothing; remove the rule or name event types")
	}
	if r.Stop && (asSet || depthSet || dirSet) {
		return Rule{}, errAt(n, "a stop rule takes only from, on, to and kind")
	}
	return r, nil
}

// strings1 reads a scalar or a list of scalars.
func strings1(n *yaml.Node, key string) ([]string, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Value == "" {
			return nil, errAt(n, "%s: empty value", key)
		}
		return []string{n.Value}, nil
	case yaml.SequenceNode:
		out := make([]string, 0, len(n.Content))
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode || c.Value == "" {
				return nil, errAt(c, "%s: want a name, got %s", key, describe(c))
			}
			out = append(out, c.Value)
		}
		return out, nil
	}
	return nil, errAt(n, "%s: want a name or a list of names, got %s", key, describe(n))
}

func contentTypes(n *yaml.Node, key string) ([]string, error) {
	names, err := strings1(n, key)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, errAt(n, "%s: an empty list matches nothing; use \"*\" for any type", key)
	}
	for _, name := range names {
		if len(name) > eventlog.MaxShortString {
			return nil, errAt(n, "%s: content type longer than %d bytes", key, eventlog.MaxShortString)
		}
	}
	return names, nil
}

func scalar(n *yaml.Node, key string) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", errAt(n, "%s: want a single value, got %s", key, describe(n))
	}
	return n.Value, nil
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	return fmt.Sprintf("%q", n.Value)
}

// Describe renders a rule as one line of plain text, for "eventlog rules
// check".
func (r Rule) Describe() string {
	var b strings.Builder
	if r.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", r.Line)
	}
	types := make([]string, len(r.On))
	for i, t := range r.On {
		types[i] = strings.ToLower(t.String())
	}
	kind := "any relation"
	if r.Kind != "" {
		kind = fmt.Sprintf("relations of kind %q", r.Kind)
	}
	if r.Stop {
		fmt.Fprintf(&b, "%s on %s never propagate to %s (%s)",
			strings.Join(types, ", "), strings.Join(r.From, ", "), strings.Join(r.To, ", "), kind)
		return b.String()
	}
	fmt.Fprintf(&b, "%s on %s propagate as %s to %s, %d hop(s) along %s, %s",
		strings.Join(types, ", "), strings.Join(r.From, ", "), strings.ToLower(r.As.String()),
		strings.Join(r.To, ", "), r.Depth, kind, r.Direction)
	return b.String()
}
