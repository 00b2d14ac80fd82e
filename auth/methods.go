package auth

import "fmt"

// Access is what a caller needs to call one method.
type Access uint8

// The kinds of access. The zero value is not a valid rule: a method that
// is not in the table is denied to every caller.
const (
	// Public methods need no key.
	Public Access = iota + 1
	// AnyKey methods need a valid key with any scope but metrics alone.
	AnyKey
	// NeedRead, NeedWrite and NeedAdmin need a key with that scope (or
	// admin).
	NeedRead
	NeedWrite
	NeedAdmin
)

func (a Access) String() string {
	switch a {
	case Public:
		return "public"
	case AnyKey:
		return "any key"
	case NeedRead:
		return "read"
	case NeedWrite:
		return "write"
	case NeedAdmin:
		return "admin"
	}
	return fmt.Sprintf("Access(%d)", a)
}

// scope returns the scope a key needs for a, for the scoped kinds.
func (a Access) scope() Scope {
	switch a {
	case NeedRead:
		return ScopeRead
	case NeedWrite:
		return ScopeWrite
	}
	return ScopeAdmin
}

// methodAccess is the one table of who may call what, by full gRPC method
// name. A method missing from it is denied, even to admin keys, so that a
// method added to the API without a decision here fails closed.
//
// Health checks are public: load balancers and orchestrators probe them
// without credentials, and they say only whether the server is up.
// Reflection needs a key, of any scope: it describes the API to tools like
// grpcurl, which writers need as much as readers, but there is no reason to
// describe it to callers who cannot use it.
var methodAccess = map[string]Access{
	"/eventlog.v1.EventLogService/LogEvent":            NeedWrite,
	"/eventlog.v1.EventLogService/LogEvents":           NeedWrite,
	"/eventlog.v1.EventLogService/PutRelations":        NeedWrite,
	"/eventlog.v1.EventLogService/DeleteRelations":     NeedWrite,
	"/eventlog.v1.EventLogService/GetEvent":            NeedRead,
	"/eventlog.v1.EventLogService/ListEvents":          NeedRead,
	"/eventlog.v1.EventLogService/StreamEvents":        NeedRead,
	"/eventlog.v1.EventLogService/CountEvents":         NeedRead,
	"/eventlog.v1.EventLogService/ListRelations":       NeedRead,
	"/eventlog.v1.EventLogService/VerifyChain":         NeedRead,
	"/eventlog.v1.EventLogService/GetCheckpoint":       NeedRead,
	"/eventlog.v1.EventLogService/GetInclusionProof":   NeedRead,
	"/eventlog.v1.EventLogService/GetConsistencyProof": NeedRead,

	"/grpc.health.v1.Health/Check": Public,
	"/grpc.health.v1.Health/Watch": Public,
	"/grpc.health.v1.Health/List":  Public,

	"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo":      AnyKey,
	"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo": AnyKey,
}

// MethodAccess returns the access rule of a full method name, such as
// "/eventlog.v1.EventLogService/LogEvent", and whether it has one.
func MethodAccess(fullMethod string) (Access, bool) {
	a, ok := methodAccess[fullMethod]
	return a, ok
}

// Methods returns every method that has a rule.
func Methods() []string {
	out := make([]string, 0, len(methodAccess))
	for m := range methodAccess {
		out = append(out, m)
	}
	return out
}
