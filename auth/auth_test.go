package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func hashLine(name, scopes, token string) string {
	return fmt.Sprintf("%s %s sha256:%x", name, scopes, sha256.Sum256([]byte(token)))
}

func TestParseKeys(t *testing.T) {
	file := strings.Join([]string{
		"# eventlog API keys",
		"",
		hashLine("ingest", "write", "t1"),
		"   " + hashLine("dash.board_1", "read", "t2") + "   ",
		"\t# indented comment",
		strings.ReplaceAll(hashLine("ops", "read,write,admin", "t3"), " ", "\t"),
	}, "\n")
	ks, err := ParseKeys(strings.NewReader(file))
	if err != nil {
		t.Fatalf("ParseKeys error = %v", err)
	}
	want := []Key{
		{Name: "ingest", Scopes: ScopeWrite, Hash: sha256.Sum256([]byte("t1"))},
		{Name: "dash.board_1", Scopes: ScopeRead, Hash: sha256.Sum256([]byte("t2"))},
		{Name: "ops", Scopes: ScopeRead | ScopeWrite | ScopeAdmin, Hash: sha256.Sum256([]byte("t3"))},
	}
	if diff := cmp.Diff(want, ks.Keys()); diff != "" {
		t.Errorf("ParseKeys (-want +got):\n%s", diff)
	}
	for _, tt := range []struct {
		token string
		want  string
		ok    bool
	}{
		{"t1", "ingest", true}, {"t2", "dash.board_1", true}, {"t3", "ops", true},
		{"t4", "", false}, {"", "", false}, {"T1", "", false},
	} {
		k, ok := ks.Lookup(tt.token)
		if k.Name != tt.want || ok != tt.ok {
			t.Errorf("Lookup(%q) = %q, %v; want %q, %v", tt.token, k.Name, ok, tt.want, tt.ok)
		}
	}
	empty, err := ParseKeys(strings.NewReader("# no keys yet\n"))
	if err != nil || empty.Len() != 0 {
		t.Errorf("ParseKeys(comments only) = %v keys, %v; want 0, nil", empty.Len(), err)
	}
}

func TestParseKeysErrors(t *testing.T) {
	good := hashLine("a", "read", "t")
	hash := fmt.Sprintf("%x", sha256.Sum256([]byte("x")))
	tests := []struct {
		name, file, want string
	}{
		{"two fields", "a read", "line 1: want three fields"},
		{"four fields", good + " extra", "want three fields"},
		{"bad name", hashLine("-a", "read", "t"), "key name"},
		{"name with space-like", hashLine("a/b", "read", "t"), "key name"},
		{"long name", hashLine(strings.Repeat("n", 65), "read", "t"), "1 to 64"},
		{"unknown scope", hashLine("a", "read,delete", "t"), `unknown scope "delete"`},
		{"empty scope", hashLine("a", "read,", "t"), `unknown scope ""`},
		{"scope twice", hashLine("a", "read,read", "t"), "given twice"},
		{"upper-case scope", hashLine("a", "READ", "t"), "unknown scope"},
		{"no prefix", "a read " + hash, `must start with "sha256:"`},
		{"a token", "a read evl_SECRETSECRET", "looks like a token"},
		{"short hash", "a read sha256:" + hash[:63], "64 lower-case hex"},
		{"upper-case hash", "a read sha256:" + strings.ToUpper(hash), "64 lower-case hex"},
		{"not hex", "a read sha256:" + strings.Repeat("zz", 32), "64 lower-case hex"},
		{"same name", good + "\n" + hashLine("a", "write", "u"), "line 2: name a already used on line 1"},
		{"same hash", good + "\n" + hashLine("b", "write", "t"), "line 2: the same hash as line 1"},
		{"long line", "# " + strings.Repeat("x", 5000), "longer than"},
		{"huge file", strings.Repeat("#\n", MaxKeysFileBytes), "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseKeys(strings.NewReader(tt.file))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParseKeys error = %v, want one containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), hash[:16]) {
				t.Errorf("ParseKeys error %q repeats the hash field", err)
			}
		})
	}
}

func TestNewKey(t *testing.T) {
	tok, k, err := NewKey("ingest", ScopeRead|ScopeWrite)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok, "evl_") || len(tok) != 4+43 {
		t.Errorf("token %q: want evl_ and 43 base64url characters (256 bits)", tok)
	}
	if _, err := bearer("Bearer " + tok); err != nil {
		t.Errorf("a new token is not a valid bearer token: %v", err)
	}
	ks, err := ParseKeys(strings.NewReader(k.Line() + "\n"))
	if err != nil {
		t.Fatalf("ParseKeys(%q) error = %v", k.Line(), err)
	}
	if got, ok := ks.Lookup(tok); !ok || got != k {
		t.Errorf("Lookup(new token) = %+v, %v; want %+v", got, ok, k)
	}
	if strings.Contains(k.Line(), tok) {
		t.Errorf("key line %q contains the token", k.Line())
	}
	tok2, _, _ := NewKey("ingest", ScopeWrite)
	if tok2 == tok {
		t.Errorf("two new keys have the same token")
	}
	if _, _, err := NewKey("bad name", ScopeRead); err == nil {
		t.Errorf("NewKey(bad name): no error")
	}
	if _, _, err := NewKey("a", 0); err == nil {
		t.Errorf("NewKey(no scopes): no error")
	}
}

func TestScopes(t *testing.T) {
	for _, tt := range []struct {
		have, need Scope
		want       bool
	}{
		{ScopeRead, ScopeRead, true},
		{ScopeRead, ScopeWrite, false},
		{ScopeWrite, ScopeRead, false},
		{ScopeRead | ScopeWrite, ScopeWrite, true},
		{ScopeRead | ScopeWrite, ScopeAdmin, false},
		{ScopeAdmin, ScopeRead, true},
		{ScopeAdmin, ScopeWrite, true},
		{ScopeAdmin, ScopeAdmin, true},
		{ScopeMetrics, ScopeMetrics, true},
		{ScopeMetrics, ScopeRead, false},
		{ScopeRead, ScopeMetrics, false},
		{ScopeAdmin, ScopeMetrics, true},
	} {
		if got := tt.have.Has(tt.need); got != tt.want {
			t.Errorf("%s.Has(%s) = %v, want %v", tt.have, tt.need, got, tt.want)
		}
	}
	for _, s := range []string{"read", "write", "admin", "read,write", "read,write,admin", "metrics", "read,metrics"} {
		sc, err := ParseScopes(s)
		if err != nil || sc.String() != s {
			t.Errorf("ParseScopes(%q) = %v, %v; want it back", s, sc, err)
		}
	}
}

// TestMethodTable is the specification of who may call what.
func TestMethodTable(t *testing.T) {
	want := map[string]Access{
		"/eventlog.v1.EventLogService/LogEvent":                          NeedWrite,
		"/eventlog.v1.EventLogService/LogEvents":                         NeedWrite,
		"/eventlog.v1.EventLogService/PutRelations":                      NeedWrite,
		"/eventlog.v1.EventLogService/DeleteRelations":                   NeedWrite,
		"/eventlog.v1.EventLogService/GetEvent":                          NeedRead,
		"/eventlog.v1.EventLogService/ListEvents":                        NeedRead,
		"/eventlog.v1.EventLogService/StreamEvents":                      NeedRead,
		"/eventlog.v1.EventLogService/CountEvents":                       NeedRead,
		"/eventlog.v1.EventLogService/ListRelations":                     NeedRead,
		"/eventlog.v1.EventLogService/VerifyChain":                       NeedRead,
		"/eventlog.v1.EventLogService/GetCheckpoint":                     NeedRead,
		"/eventlog.v1.EventLogService/GetInclusionProof":                 NeedRead,
		"/eventlog.v1.EventLogService/GetConsistencyProof":               NeedRead,
		"/grpc.health.v1.Health/Check":                                   Public,
		"/grpc.health.v1.Health/Watch":                                   Public,
		"/grpc.health.v1.Health/List":                                    Public,
		"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo":      AnyKey,
		"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo": AnyKey,
	}
	if diff := cmp.Diff(want, methodAccess); diff != "" {
		t.Errorf("method table (-want +got):\n%s", diff)
	}
	// Every method the API and the health service define has a rule.
	var defined []string
	for _, sd := range []grpc.ServiceDesc{eventlogv1.EventLogService_ServiceDesc, healthpb.Health_ServiceDesc} {
		for _, m := range sd.Methods {
			defined = append(defined, "/"+sd.ServiceName+"/"+m.MethodName)
		}
		for _, s := range sd.Streams {
			defined = append(defined, "/"+sd.ServiceName+"/"+s.StreamName)
		}
	}
	for _, m := range defined {
		if _, ok := MethodAccess(m); !ok {
			t.Errorf("method %s has no access rule", m)
		}
	}
	got := Methods()
	sort.Strings(got)
	if len(got) != len(want) {
		t.Errorf("Methods() = %d methods, want %d", len(got), len(want))
	}
}

func testGuard(t *testing.T) (*Guard, *bytes.Buffer, map[string]string) {
	t.Helper()
	tokens := map[string]string{}
	var lines []string
	for _, k := range []struct{ name, scopes string }{
		{"reader", "read"}, {"writer", "write"}, {"admin", "admin"}, {"rw", "read,write"}, {"scraper", "metrics"},
	} {
		s, _ := ParseScopes(k.scopes)
		tok, key, err := NewKey(k.name, s)
		if err != nil {
			t.Fatal(err)
		}
		tokens[k.name] = tok
		lines = append(lines, key.Line())
	}
	ks, err := ParseKeys(strings.NewReader(strings.Join(lines, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	return NewGuard(ks, slog.New(slog.NewTextHandler(&logs, nil))), &logs, tokens
}

func TestGuardUnary(t *testing.T) {
	g, logs, tokens := testGuard(t)
	call := func(method string, md metadata.MD) (string, error) {
		ctx := metadata.NewIncomingContext(context.Background(), md)
		var name string
		_, err := g.UnaryInterceptor(ctx, nil, &grpc.UnaryServerInfo{FullMethod: method},
			func(ctx context.Context, _ any) (any, error) { name = KeyName(ctx); return nil, nil })
		return name, err
	}
	const (
		write  = "/eventlog.v1.EventLogService/LogEvent"
		read   = "/eventlog.v1.EventLogService/ListEvents"
		health = "/grpc.health.v1.Health/Check"
		refl   = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
		novel  = "/eventlog.v1.EventLogService/DropEverything"
	)
	bearerMD := func(tok string) metadata.MD { return metadata.Pairs("authorization", "Bearer "+tok) }
	tests := []struct {
		name     string
		method   string
		md       metadata.MD
		want     codes.Code
		wantName string
	}{
		{"health without a key", health, nil, codes.OK, ""},
		{"health with a wrong key", health, bearerMD("nope"), codes.OK, ""},
		{"no key", read, nil, codes.Unauthenticated, ""},
		{"wrong key", read, bearerMD("evl_wrong"), codes.Unauthenticated, ""},
		{"not bearer", read, metadata.Pairs("authorization", "Basic "+tokens["reader"]), codes.Unauthenticated, ""},
		{"bare token", read, metadata.Pairs("authorization", tokens["reader"]), codes.Unauthenticated, ""},
		{"two values", read, metadata.Pairs("authorization", "Bearer "+tokens["reader"], "authorization", "Bearer "+tokens["admin"]), codes.Unauthenticated, ""},
		{"huge token", read, bearerMD(strings.Repeat("x", 10000)), codes.Unauthenticated, ""},
		{"reader reads", read, bearerMD(tokens["reader"]), codes.OK, "reader"},
		{"scheme in lower case", read, metadata.Pairs("authorization", "bearer "+tokens["reader"]), codes.OK, "reader"},
		{"reader writes", write, bearerMD(tokens["reader"]), codes.PermissionDenied, "reader"},
		{"writer writes", write, bearerMD(tokens["writer"]), codes.OK, "writer"},
		{"writer reads", read, bearerMD(tokens["writer"]), codes.PermissionDenied, "writer"},
		{"admin writes", write, bearerMD(tokens["admin"]), codes.OK, "admin"},
		{"admin reads", read, bearerMD(tokens["admin"]), codes.OK, "admin"},
		{"rw writes", write, bearerMD(tokens["rw"]), codes.OK, "rw"},
		{"reflection with any key", refl, bearerMD(tokens["writer"]), codes.OK, "writer"},
		{"reflection without a key", refl, nil, codes.Unauthenticated, ""},
		{"metrics key reads", read, bearerMD(tokens["scraper"]), codes.PermissionDenied, "scraper"},
		{"metrics key writes", write, bearerMD(tokens["scraper"]), codes.PermissionDenied, "scraper"},
		{"metrics key reflects", refl, bearerMD(tokens["scraper"]), codes.PermissionDenied, "scraper"},
		{"metrics key checks health", health, bearerMD(tokens["scraper"]), codes.OK, ""},
		{"method without a rule, no key", novel, nil, codes.Unauthenticated, ""},
		{"method without a rule, admin", novel, bearerMD(tokens["admin"]), codes.PermissionDenied, "admin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, err := call(tt.method, tt.md)
			if status.Code(err) != tt.want {
				t.Fatalf("call %s = %v, want %v", tt.method, err, tt.want)
			}
			if err == nil && name != tt.wantName {
				t.Errorf("KeyName in the handler = %q, want %q", name, tt.wantName)
			}
		})
	}
	for name, tok := range tokens {
		if strings.Contains(logs.String(), tok) {
			t.Errorf("the log contains the token of %s:\n%s", name, logs)
		}
	}
	if !strings.Contains(logs.String(), "method has no access rule") {
		t.Errorf("the log does not report the method without a rule:\n%s", logs)
	}
}

func TestGuardSetAndTrack(t *testing.T) {
	g, _, tokens := testGuard(t)
	md := metadata.Pairs("authorization", "Bearer "+tokens["reader"])
	method := "/eventlog.v1.EventLogService/GetEvent"
	run := func() (string, error) {
		ctx := Track(metadata.NewIncomingContext(context.Background(), md))
		_, err := g.UnaryInterceptor(ctx, nil, &grpc.UnaryServerInfo{FullMethod: method},
			func(ctx context.Context, _ any) (any, error) { return nil, nil })
		return KeyName(ctx), err
	}
	if name, err := run(); err != nil || name != "reader" {
		t.Fatalf("tracked call = %q, %v; want reader, nil", name, err)
	}
	// Replacing the keys takes effect for the next call.
	orig := g.Keys()
	_, k, _ := NewKey("other", ScopeRead)
	ks, _ := ParseKeys(strings.NewReader(k.Line()))
	g.Set(ks)
	if name, err := run(); status.Code(err) != codes.Unauthenticated || name != "" {
		t.Errorf("after Set without the key: %q, %v; want Unauthenticated", name, err)
	}
	if name, ok := g.Identify("Bearer " + tokens["reader"]); ok {
		t.Errorf("Identify(removed key) = %q, true", name)
	}
	// A refused call still reports its key to the tracker.
	g.Set(orig)
	method = "/eventlog.v1.EventLogService/LogEvent"
	if name, err := run(); status.Code(err) != codes.PermissionDenied || name != "reader" {
		t.Errorf("refused tracked call = %q, %v; want reader, PermissionDenied", name, err)
	}
	if name, ok := g.Identify("Bearer " + tokens["writer"]); !ok || name != "writer" {
		t.Errorf("Identify(writer) = %q, %v", name, ok)
	}
	// The hook sees every call with a known key, refused ones included.
	var seen []string
	g.OnKey(func(ctx context.Context, name string) { seen = append(seen, name+"="+KeyName(ctx)) })
	run()
	method = "/eventlog.v1.EventLogService/GetEvent"
	run()
	md = metadata.Pairs("authorization", "Bearer evl_unknown")
	run()
	if diff := cmp.Diff([]string{"reader=reader", "reader=reader"}, seen); diff != "" {
		t.Errorf("OnKey calls (-want +got):\n%s", diff)
	}
	if KeyName(context.Background()) != "" {
		t.Errorf("KeyName of a bare context is not empty")
	}
}

type fakeStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (f *fakeStream) Context() context.Context { return f.ctx }

func TestGuardStream(t *testing.T) {
	g, _, tokens := testGuard(t)
	info := &grpc.StreamServerInfo{FullMethod: "/eventlog.v1.EventLogService/StreamEvents", IsServerStream: true}
	for _, tt := range []struct {
		tok  string
		want codes.Code
	}{
		{"", codes.Unauthenticated},
		{"evl_nope", codes.Unauthenticated},
		{tokens["writer"], codes.PermissionDenied},
		{tokens["reader"], codes.OK},
	} {
		md := metadata.MD{}
		if tt.tok != "" {
			md = metadata.Pairs("authorization", "Bearer "+tt.tok)
		}
		ss := &fakeStream{ctx: metadata.NewIncomingContext(context.Background(), md)}
		var name string
		err := g.StreamInterceptor(nil, ss, info, func(_ any, s grpc.ServerStream) error {
			name = KeyName(s.Context())
			return nil
		})
		if status.Code(err) != tt.want {
			t.Errorf("stream with token %.8q = %v, want %v", tt.tok, err, tt.want)
		}
		if err == nil && name != "reader" {
			t.Errorf("stream KeyName = %q, want reader", name)
		}
	}
}

func FuzzParseKeys(f *testing.F) {
	f.Add("# keys\n" + hashLine("ingest", "write", "t1") + "\n" + hashLine("ops", "read,admin", "t2"))
	f.Add("a read sha256:")
	f.Add("\n\n   \t#\n")
	f.Add("a read,write,admin evl_x")
	f.Fuzz(func(t *testing.T, file string) {
		ks, err := ParseKeys(strings.NewReader(file))
		if err != nil {
			return
		}
		// What parses, written back, parses to the same keys.
		var lines []string
		for _, k := range ks.Keys() {
			if CheckName(k.Name) != nil || k.Scopes == 0 {
				t.Fatalf("ParseKeys accepted key %+v", k)
			}
			lines = append(lines, k.Line())
		}
		again, err := ParseKeys(strings.NewReader(strings.Join(lines, "\n")))
		if err != nil {
			t.Fatalf("ParseKeys(written back) error = %v", err)
		}
		if diff := cmp.Diff(ks.Keys(), again.Keys()); diff != "" {
			t.Fatalf("keys written back and parsed (-first +again):\n%s", diff)
		}
	})
}

func FuzzBearer(f *testing.F) {
	f.Add("Bearer evl_abc")
	f.Add("bearer   x ")
	f.Add("Basic x")
	f.Add("Bearer " + strings.Repeat("a", 600))
	f.Fuzz(func(t *testing.T, v string) {
		tok, err := bearer(v)
		if err != nil {
			// The messages are fixed: nothing of the value gets into them.
			_, e1 := bearer("")
			_, e2 := bearer("Bearer " + strings.Repeat("a", maxTokenLen+1))
			_, e3 := bearer("Bearer \x01")
			if m := err.Error(); m != e1.Error() && m != e2.Error() && m != e3.Error() {
				t.Fatalf("bearer(%q) error %q is not one of the fixed messages", v, err)
			}
			return
		}
		if tok == "" || len(tok) > maxTokenLen || strings.ContainsAny(tok, " \t\r\n") {
			t.Fatalf("bearer(%q) = %q, an invalid token", v, tok)
		}
		if again, err := bearer("Bearer " + tok); err != nil || again != tok {
			t.Fatalf("bearer(Bearer %q) = %q, %v; want the token back", tok, again, err)
		}
	})
}

func TestGuardCheckHTTP(t *testing.T) {
	g, logs, tokens := testGuard(t)
	for _, tt := range []struct {
		name string
		auth []string
		want codes.Code
	}{
		{"no header", nil, codes.Unauthenticated},
		{"two headers", []string{"Bearer " + tokens["scraper"], "Bearer " + tokens["admin"]}, codes.Unauthenticated},
		{"not bearer", []string{"Basic " + tokens["scraper"]}, codes.Unauthenticated},
		{"unknown key", []string{"Bearer evl_wrong"}, codes.Unauthenticated},
		{"reader", []string{"Bearer " + tokens["reader"]}, codes.PermissionDenied},
		{"writer", []string{"Bearer " + tokens["writer"]}, codes.PermissionDenied},
		{"scraper", []string{"Bearer " + tokens["scraper"]}, codes.OK},
		{"admin", []string{"Bearer " + tokens["admin"]}, codes.OK},
	} {
		err := g.CheckHTTP(tt.auth, "/metrics", ScopeMetrics)
		if status.Code(err) != tt.want {
			t.Errorf("%s: CheckHTTP = %v, want %v", tt.name, err, tt.want)
		}
	}
	if !strings.Contains(logs.String(), "missing scope metrics") {
		t.Errorf("the log does not report the reader refused for its scope:\n%s", logs)
	}
	for name, tok := range tokens {
		if strings.Contains(logs.String(), tok) {
			t.Errorf("the log contains the token of %s", name)
		}
	}
}
