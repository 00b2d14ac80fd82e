package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"
)

// grpc-gateway ignores a query parameter that names no field, so a typo
// (?actr=alice) would list everything; and its messages for a value of the
// wrong type quote Go's parsers. checkQuery checks the query first, with
// the same parser, and answers INVALID_ARGUMENT naming the parameter.

// queryRule is what the query of one route may hold.
type queryRule struct {
	msg     protoreflect.MessageDescriptor
	newMsg  func() proto.Message
	bound   map[protoreflect.Name]bool // top-level fields set by the path or the body
	allBody bool                       // body "*": the query sets nothing
	names   string                     // the parameters the route takes, for messages
}

// queryRules returns the rule of every HTTP binding of the services' methods,
// keyed by method and pattern as routeKey spells them.
func queryRules(services protoreflect.ServiceDescriptors) map[string]*queryRule {
	rules := map[string]*queryRule{}
	for i := range services.Len() {
		methods := services.Get(i).Methods()
		for j := range methods.Len() {
			m := methods.Get(j)
			rule, _ := proto.GetExtension(m.Options(), annotations.E_Http).(*annotations.HttpRule)
			if rule == nil {
				continue
			}
			for _, b := range append([]*annotations.HttpRule{rule}, rule.GetAdditionalBindings()...) {
				verb, path := httpPattern(b)
				if verb == "" {
					continue
				}
				rules[verb+" "+patternString(path)] = newQueryRule(m.Input(), b, path)
			}
		}
	}
	return rules
}

func httpPattern(r *annotations.HttpRule) (verb, path string) {
	switch p := r.GetPattern().(type) {
	case *annotations.HttpRule_Get:
		return http.MethodGet, p.Get
	case *annotations.HttpRule_Post:
		return http.MethodPost, p.Post
	case *annotations.HttpRule_Put:
		return http.MethodPut, p.Put
	case *annotations.HttpRule_Patch:
		return http.MethodPatch, p.Patch
	case *annotations.HttpRule_Delete:
		return http.MethodDelete, p.Delete
	case *annotations.HttpRule_Custom:
		return p.Custom.GetKind(), p.Custom.GetPath()
	}
	return "", ""
}

// patternString spells a path template as runtime.Pattern.String does:
// a variable without a template, {id}, is {id=*}.
func patternString(path string) string {
	var b strings.Builder
	for {
		open := strings.IndexByte(path, '{')
		if open < 0 {
			b.WriteString(path)
			return b.String()
		}
		end := strings.IndexByte(path[open:], '}')
		if end < 0 {
			b.WriteString(path)
			return b.String()
		}
		end += open
		v := path[open+1 : end]
		b.WriteString(path[:open+1])
		b.WriteString(v)
		if !strings.Contains(v, "=") {
			b.WriteString("=*")
		}
		b.WriteByte('}')
		path = path[end+1:]
	}
}

// pathVariables returns the top-level fields a path template sets.
func pathVariables(path string) []string {
	var names []string
	for {
		open := strings.IndexByte(path, '{')
		if open < 0 {
			return names
		}
		path = path[open+1:]
		end := strings.IndexAny(path, "=}")
		if end < 0 {
			return names
		}
		name, _, _ := strings.Cut(path[:end], ".")
		names = append(names, name)
		path = path[end:]
	}
}

func newQueryRule(md protoreflect.MessageDescriptor, b *annotations.HttpRule, path string) *queryRule {
	q := &queryRule{msg: md, bound: map[protoreflect.Name]bool{}, allBody: b.GetBody() == "*"}
	if mt, err := protoregistry.GlobalTypes.FindMessageByName(md.FullName()); err == nil {
		q.newMsg = func() proto.Message { return mt.New().Interface() }
	} else {
		q.newMsg = func() proto.Message { return dynamicpb.NewMessage(md) }
	}
	if body := b.GetBody(); body != "" && body != "*" {
		q.bound[protoreflect.Name(body)] = true
	}
	for _, v := range pathVariables(path) {
		q.bound[protoreflect.Name(v)] = true
	}
	var names []string
	fields := md.Fields()
	for i := range fields.Len() {
		if f := fields.Get(i); !q.bound[f.Name()] {
			names = appendParams(names, "", f, 0)
		}
	}
	q.names = strings.Join(names, ", ")
	return q
}

// appendParams appends the query parameters that set f: its name, or for
// a message the parameters of its fields, prefixed by "name.".
func appendParams(names []string, prefix string, f protoreflect.FieldDescriptor, depth int) []string {
	name := prefix + string(f.Name())
	m := f.Message()
	if m == nil || f.IsList() || f.IsMap() || isScalarMessage(m.FullName()) {
		return append(names, name)
	}
	if depth == 3 { // deep enough for any query; recursive types end here
		return names
	}
	fields := m.Fields()
	for i := range fields.Len() {
		names = appendParams(names, name+".", fields.Get(i), depth+1)
	}
	return names
}

// checkQuery is a grpc-gateway middleware that checks the query of a
// request against its route's rule.
func (g *Gateway) checkQuery(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, pathParams map[string]string) {
		for name, v := range pathParams {
			if !utf8.ValidString(v) {
				_, out := runtime.MarshalerForRequest(g.mux, r)
				g.handleError(r.Context(), g.mux, out, w, r, invalidParam(name, "not valid UTF-8"))
				return
			}
		}
		if r.URL.RawQuery != "" {
			if pat, ok := runtime.HTTPPattern(r.Context()); ok {
				if rule := g.queries[r.Method+" "+pat.String()]; rule != nil {
					if err := rule.check(r.URL.RawQuery); err != nil {
						_, out := runtime.MarshalerForRequest(g.mux, r)
						g.handleError(r.Context(), g.mux, out, w, r, err)
						return
					}
				}
			}
		}
		next(w, r, pathParams)
	}
}

// check returns an INVALID_ARGUMENT status error about the first parameter
// of rawQuery, in key order, that the route does not take or cannot parse.
func (q *queryRule) check(rawQuery string) error {
	values, err := url.ParseQuery(rawQuery)
	if err != nil {
		return status.Errorf(codes.InvalidArgument, "query: %v", err)
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	seen := make(map[string]string, len(keys))
	for _, key := range keys {
		if key == "" {
			return status.Error(codes.InvalidArgument, "query: a parameter without a name")
		}
		if q.allBody {
			return invalidParam(key, "this request takes no query parameters; send the fields in the JSON body")
		}
		fd, path, ok := q.resolve(key)
		if !ok && q.names == "" {
			return invalidParam(key, "this request takes no query parameters")
		}
		if !ok {
			return invalidParam(key, "unknown query parameter; the parameters are %s", q.names)
		}
		if q.bound[fd[0].Name()] {
			return invalidParam(key, "set by the path, not the query")
		}
		if other, ok := seen[path]; ok {
			return invalidParam(key, "given twice, as %s and as %s", other, key)
		}
		seen[path] = key
		leaf := fd[len(fd)-1]
		vals := values[key]
		if len(vals) > 1 && !leaf.IsList() {
			return invalidParam(key, "given %d times; give it once", len(vals))
		}
		msg := q.newMsg()
		for _, v := range vals {
			if !utf8.ValidString(v) {
				return invalidParam(key, "not valid UTF-8")
			}
			if err := runtime.PopulateFieldFromPath(msg, key, v); err != nil {
				return invalidParam(key, "%s", valueProblem(leaf, v, err))
			}
		}
	}
	return nil
}

// resolve finds the fields a parameter names, by proto name or JSON name,
// and returns them with the parameter's proto path.
func (q *queryRule) resolve(key string) ([]protoreflect.FieldDescriptor, string, bool) {
	md := q.msg
	var fds []protoreflect.FieldDescriptor
	var names []string
	parts := strings.Split(key, ".")
	for i, part := range parts {
		if md == nil {
			return nil, "", false
		}
		fd := md.Fields().ByTextName(part)
		if fd == nil {
			fd = md.Fields().ByJSONName(part)
		}
		if fd == nil || fd.IsMap() || (i < len(parts)-1 && (fd.Message() == nil || fd.IsList())) {
			return nil, "", false
		}
		fds = append(fds, fd)
		names = append(names, string(fd.Name()))
		md = fd.Message()
	}
	if leaf := fds[len(fds)-1]; leaf.Message() != nil && !isScalarMessage(leaf.Message().FullName()) {
		return nil, "", false // a message is set through its fields
	}
	return fds, strings.Join(names, "."), true
}

// isScalarMessage reports whether grpc-gateway parses a message of this
// type from one query value.
func isScalarMessage(name protoreflect.FullName) bool {
	switch name {
	case "google.protobuf.Timestamp", "google.protobuf.Duration", "google.protobuf.FieldMask",
		"google.protobuf.DoubleValue", "google.protobuf.FloatValue", "google.protobuf.Int64Value",
		"google.protobuf.Int32Value", "google.protobuf.UInt64Value", "google.protobuf.UInt32Value",
		"google.protobuf.BoolValue", "google.protobuf.StringValue", "google.protobuf.BytesValue",
		"google.protobuf.Value", "google.protobuf.Struct":
		return true
	}
	return false
}

// valueProblem says what is wrong with v as a value of fd.
func valueProblem(fd protoreflect.FieldDescriptor, v string, err error) string {
	if errors.Is(err, strconv.ErrRange) {
		return fmt.Sprintf("%q is out of range", v)
	}
	switch fd.Kind() {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind,
		protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return fmt.Sprintf("want an integer, got %q", v)
	case protoreflect.BoolKind:
		return fmt.Sprintf("want true or false, got %q", v)
	case protoreflect.EnumKind:
		var names []string
		values := fd.Enum().Values()
		for i := range values.Len() {
			names = append(names, string(values.Get(i).Name()))
		}
		return fmt.Sprintf("want one of %s, got %q", strings.Join(names, ", "), v)
	case protoreflect.MessageKind:
		if fd.Message().FullName() == "google.protobuf.Timestamp" {
			return fmt.Sprintf("want an RFC 3339 time such as 2026-01-02T15:04:05Z, got %q", v)
		}
	}
	return fmt.Sprintf("cannot parse %q: %v", v, err)
}

// invalidParam is the INVALID_ARGUMENT error about one query parameter,
// with a google.rpc.BadRequest detail naming it.
func invalidParam(key, format string, args ...any) error {
	key = strings.ToValidUTF8(key, "\uFFFD")
	problem := strings.ToValidUTF8(fmt.Sprintf(format, args...), "\uFFFD")
	st := status.New(codes.InvalidArgument, key+": "+problem)
	if withDetails, err := st.WithDetails(&errdetails.BadRequest{
		FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: key, Description: problem}},
	}); err == nil {
		st = withDetails
	}
	return st.Err()
}
