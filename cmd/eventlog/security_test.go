package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/eventlog/eventlog/auth"
	"github.com/eventlog/eventlog/internal/pgtest"
	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
)

// writeKeys writes a keys file with one key per "name=scopes" spec and
// returns its path and the tokens by name.
func writeKeys(t *testing.T, path string, specs ...string) map[string]string {
	t.Helper()
	tokens := map[string]string{}
	var lines []string
	for _, spec := range specs {
		name, scopes, _ := strings.Cut(spec, "=")
		sc, err := auth.ParseScopes(scopes)
		if err != nil {
			t.Fatal(err)
		}
		tok, k, err := auth.NewKey(name, sc)
		if err != nil {
			t.Fatal(err)
		}
		tokens[name] = tok
		lines = append(lines, k.Line())
	}
	if err := os.WriteFile(path, []byte("# test keys\n"+strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return tokens
}

func withToken(ctx context.Context, tok string) context.Context {
	if tok == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
}

// servedServices are the services the server registers.
var servedServices = []grpc.ServiceDesc{
	eventlogv1.EventLogService_ServiceDesc,
	healthpb.Health_ServiceDesc,
	reflectionpb.ServerReflection_ServiceDesc,
	reflectionv1alpha.ServerReflection_ServiceDesc,
}

// callAny calls a method with an empty request, whatever its kind, and
// returns the status: enough to see whether the call got past the guard.
func callAny(ctx context.Context, cc *grpc.ClientConn, method string, stream *grpc.StreamDesc) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if stream == nil {
		return cc.Invoke(ctx, method, &emptypb.Empty{}, &emptypb.Empty{})
	}
	cs, err := cc.NewStream(ctx, stream, method)
	if err != nil {
		return err
	}
	if err := cs.SendMsg(&emptypb.Empty{}); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if err := cs.CloseSend(); err != nil {
		return err
	}
	err = cs.RecvMsg(&emptypb.Empty{})
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// TestAuthEveryMethod calls every method of every served service with no
// key, a wrong key and a key of each scope, through the real server.
func TestAuthEveryMethod(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	tokens := writeKeys(t, keys, "reader=read", "writer=write", "admin=admin", "both=read,write")
	ts := startServer(t, filepath.Join(dir, "e2e.db"), "--keys", keys)
	cc := ts.conn(t)
	ctx := context.Background()

	callers := []struct {
		name   string
		token  string
		scopes auth.Scope
	}{
		{"no key", "", 0},
		{"wrong key", "evl_" + strings.Repeat("A", 43), 0},
		{"reader", tokens["reader"], auth.ScopeRead},
		{"writer", tokens["writer"], auth.ScopeWrite},
		{"admin", tokens["admin"], auth.ScopeAdmin},
		{"both", tokens["both"], auth.ScopeRead | auth.ScopeWrite},
	}
	type method struct {
		name   string
		stream *grpc.StreamDesc
	}
	var methods []method
	for _, sd := range servedServices {
		for _, m := range sd.Methods {
			methods = append(methods, method{"/" + sd.ServiceName + "/" + m.MethodName, nil})
		}
		for _, s := range sd.Streams {
			methods = append(methods, method{"/" + sd.ServiceName + "/" + s.StreamName,
				&grpc.StreamDesc{StreamName: s.StreamName, ServerStreams: s.ServerStreams, ClientStreams: s.ClientStreams}})
		}
	}
	for _, m := range methods {
		access, ok := auth.MethodAccess(m.name)
		if !ok {
			t.Errorf("served method %s has no access rule: it is refused to everyone", m.name)
		}
		for _, c := range callers {
			t.Run(strings.TrimPrefix(m.name, "/")+"/"+c.name, func(t *testing.T) {
				err := callAny(withToken(ctx, c.token), cc, m.name, m.stream)
				var want codes.Code
				switch {
				case access == auth.Public:
					want = codes.OK
				case c.scopes == 0:
					want = codes.Unauthenticated
				case access == auth.AnyKey:
					want = codes.OK
				case !ok:
					want = codes.PermissionDenied
				case access == auth.NeedRead && !c.scopes.Has(auth.ScopeRead),
					access == auth.NeedWrite && !c.scopes.Has(auth.ScopeWrite),
					access == auth.NeedAdmin && !c.scopes.Has(auth.ScopeAdmin):
					want = codes.PermissionDenied
				}
				got := status.Code(err)
				if want == codes.OK {
					// Past the guard, an empty request may still be invalid.
					if got == codes.Unauthenticated || got == codes.PermissionDenied {
						t.Errorf("%s as %s = %v, want it admitted", m.name, c.name, err)
					}
				} else if got != want {
					t.Errorf("%s as %s = %v, want %v", m.name, c.name, err, want)
				}
			})
		}
	}

	// Reflection lists only the services above: a service added later must
	// be added there, and so to this test.
	known := map[string]bool{}
	for _, sd := range servedServices {
		known[sd.ServiceName] = true
	}
	for _, name := range listServices(t, withToken(ctx, tokens["reader"]), cc) {
		if !known[name] {
			t.Errorf("the server serves %s, which this test does not call", name)
		}
	}
	for _, tok := range tokens {
		if strings.Contains(ts.logs.String(), tok) {
			t.Fatalf("the server's log contains a token:\n%s", ts.logs)
		}
	}
	if !strings.Contains(ts.logs.String(), "key=writer") {
		t.Errorf("the log does not name the key of a refused call:\n%s", ts.logs)
	}

	// The CLI sends the key from $EVENTLOG_TOKEN or --token.
	env := map[string]string{"EVENTLOG_SERVER": ts.addr, "EVENTLOG_TOKEN": tokens["writer"]}
	if out, err := cli(t, env, "log", "--type", "edit", "--actor", "carol", "--object", "Entry/1"); err != nil {
		t.Errorf("eventlog log with a write key: %v\n%s", err, out)
	}
	if out, err := cli(t, env, "list"); err == nil || !strings.Contains(err.Error(), "PermissionDenied") {
		t.Errorf("eventlog list with a write key = %v, want PermissionDenied\n%s", err, out)
	}
	if out, err := cli(t, env, "list", "--token", tokens["reader"]); err != nil || !strings.Contains(out, "carol") {
		t.Errorf("eventlog list --token READER = %v\n%s", err, out)
	}
	delete(env, "EVENTLOG_TOKEN")
	if out, err := cli(t, env, "get", "1"); err == nil || !strings.Contains(err.Error(), "Unauthenticated") {
		t.Errorf("eventlog get without a key = %v, want Unauthenticated\n%s", err, out)
	}
}

func listServices(t *testing.T, ctx context.Context, cc *grpc.ClientConn) []string {
	t.Helper()
	stream, err := reflectionpb.NewServerReflectionClient(cc).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.CloseSend()
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{},
	}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatalf("reflection: %v", err)
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	return names
}

// cli runs a client command of the binary with the given environment.
func cli(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(""), &out, &errOut)
	if err != nil {
		return out.String() + errOut.String(), err
	}
	return out.String(), nil
}

// waitFor polls cond until it holds or 10 seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("%s: not within 10s", what)
}

// TestReloadKeys replaces the keys file and triggers the reload the way
// serve's SIGHUP does, through the reload channel: new keys take effect,
// removed ones stop working, a stream opened with a removed key keeps
// going, and a bad file keeps the keys in use.
func TestReloadKeys(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	old := writeKeys(t, keys, "old=read")
	reload := make(chan os.Signal, 1)
	cfg := serveConfig{
		db: filepath.Join(dir, "e2e.db"), grpcAddr: "127.0.0.1:0", shutdownTimeout: 10 * time.Second,
		keysFile: keys, reload: reload,
	}
	ts := startWith(t, func(ctx context.Context, logs io.Writer) error {
		return (&app{cfg: cfg, log: slog.New(slog.NewTextHandler(logs, nil))}).Run(ctx)
	})
	cc := ts.conn(t)
	c := eventlogv1.NewEventLogServiceClient(cc)
	ctx := context.Background()
	list := func(tok string) error {
		_, err := c.ListEvents(withToken(ctx, tok), &eventlogv1.ListEventsRequest{})
		return err
	}
	if err := list(old["old"]); err != nil {
		t.Fatalf("ListEvents with the first key: %v", err)
	}
	// A stream opened with the old key.
	sctx, cancel := context.WithCancel(withToken(ctx, old["old"]))
	defer cancel()
	stream, err := reflectionpb.NewServerReflectionClient(cc).ServerReflectionInfo(sctx)
	if err != nil {
		t.Fatal(err)
	}
	ask := func() error {
		if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
			return err
		}
		_, err := stream.Recv()
		return err
	}
	if err := ask(); err != nil {
		t.Fatalf("reflection stream with the first key: %v", err)
	}

	current := writeKeys(t, keys, "new=read")
	reload <- syscall.SIGHUP
	waitFor(t, "the new key to work", func() bool { return list(current["new"]) == nil })
	if err := list(old["old"]); status.Code(err) != codes.Unauthenticated {
		t.Errorf("ListEvents with the removed key = %v, want Unauthenticated", err)
	}
	if err := ask(); err != nil {
		t.Errorf("the stream opened before the reload: %v, want it still served", err)
	}

	if err := os.WriteFile(keys, []byte("new read sha256:not-a-hash\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	reload <- syscall.SIGHUP
	waitFor(t, "the failed reload to be logged", func() bool {
		return strings.Contains(ts.logs.String(), "reload API keys failed: keeping the keys in use")
	})
	if err := list(current["new"]); err != nil {
		t.Errorf("ListEvents after a bad reload with the key in use: %v", err)
	}
	stream.CloseSend()
	cancel()
}

// TestSIGHUP sends the process a real SIGHUP while "eventlog serve" runs.
func TestSIGHUP(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	writeKeys(t, keys, "first=read")
	// Only the signal loads the file: the server does not look at it.
	ts := startServer(t, filepath.Join(dir, "e2e.db"), "--keys", keys, "--keys-poll", "0")
	c := eventlogv1.NewEventLogServiceClient(ts.conn(t))
	tokens := writeKeys(t, keys, "second=read")
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the key added before SIGHUP to work", func() bool {
		_, err := c.ListEvents(withToken(context.Background(), tokens["second"]), &eventlogv1.ListEventsRequest{})
		return err == nil
	})
	// The keys are swapped in before the reload is logged: wait for it.
	waitFor(t, "the log to report the reload", func() bool { return strings.Contains(ts.logs.String(), "reloaded API keys") })
	// The start-up line names the process to send the signal to.
	if want := fmt.Sprintf(" pid=%d ", os.Getpid()); !strings.Contains(ts.logs.String(), want) {
		t.Errorf("the log does not name the process (%q):\n%s", want, ts.logs)
	}
}

// TestKeysFileWatched changes the keys file without a signal: the server
// loads each new content, written in place or swapped in through a
// symbolic link as Kubernetes updates a mounted Secret, and reports a file
// that does not load once, keeping the keys in use.
func TestKeysFileWatched(t *testing.T) {
	dir := t.TempDir()
	// The layout of a mounted Secret: keys -> ..data/keys, ..data -> a
	// directory of this version's files.
	for _, d := range []string{"v1", "v2"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	first := writeKeys(t, filepath.Join(dir, "v1", "keys"), "first=read")
	if err := os.Symlink("v1", filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	keys := filepath.Join(dir, "keys")
	if err := os.Symlink(filepath.Join("..data", "keys"), keys); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, filepath.Join(t.TempDir(), "e2e.db"), "--keys", keys, "--keys-poll", "20ms")
	c := eventlogv1.NewEventLogServiceClient(ts.conn(t))
	works := func(tok string) bool {
		_, err := c.ListEvents(withToken(context.Background(), tok), &eventlogv1.ListEventsRequest{})
		return err == nil
	}
	if !works(first["first"]) {
		t.Fatal("the first key does not work")
	}

	// The Secret changes: a new directory, and ..data moved onto it.
	second := writeKeys(t, filepath.Join(dir, "v2", "keys"), "second=read")
	if err := os.Symlink("v2", filepath.Join(dir, "..data_tmp")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the swapped-in key to work", func() bool { return works(second["second"]) })
	if works(first["first"]) {
		t.Errorf("the key of the replaced file still works")
	}

	// Written in place, with a mistake: reported once, the keys in use kept.
	if err := os.WriteFile(filepath.Join(dir, "v2", "keys"), []byte("second read sha256:not-a-hash\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const failed = "reload API keys failed: keeping the keys in use"
	waitFor(t, "the bad file to be reported", func() bool { return strings.Contains(ts.logs.String(), failed) })
	time.Sleep(200 * time.Millisecond) // ten more looks at the file
	if n := strings.Count(ts.logs.String(), failed); n != 1 {
		t.Errorf("the bad file was reported %d times, want once:\n%s", n, ts.logs)
	}
	if !works(second["second"]) {
		t.Errorf("the key in use stopped working after a bad file")
	}
	third := writeKeys(t, filepath.Join(dir, "v2", "keys"), "third=read")
	waitFor(t, "the corrected file's key to work", func() bool { return works(third["third"]) })
	if !strings.Contains(ts.logs.String(), `reason="the file changed"`) {
		t.Errorf("the log does not say why the keys were reloaded:\n%s", ts.logs)
	}
}

func TestCheckListen(t *testing.T) {
	for _, tt := range []struct {
		addr     string
		keys     bool
		loopback bool
		wantErr  string
	}{
		{"127.0.0.1:0", false, true, ""},
		{"[::1]:50051", false, true, ""},
		{"localhost:50051", false, true, ""},
		{"0.0.0.0:50051", false, false, "not a loopback address"},
		{":50051", false, false, "--keys"},
		{"203.0.113.7:50051", false, false, "eventlog keys new"},
		{"0.0.0.0:50051", true, false, ""},
		{":50051", true, false, ""},
		{"127.0.0.1", true, false, "want HOST:PORT"},
	} {
		loopback, err := checkListen("--grpc-addr", tt.addr, tt.keys)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("checkListen(%q, keys %v) = %v, want an error mentioning %q", tt.addr, tt.keys, err, tt.wantErr)
			}
			continue
		}
		if err != nil || loopback != tt.loopback {
			t.Errorf("checkListen(%q, keys %v) = %v, %v; want %v, nil", tt.addr, tt.keys, loopback, err, tt.loopback)
		}
	}
}

func TestServeRefusesBadSecurityFlags(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad-keys")
	os.WriteFile(bad, []byte("x read evl_secret\n"), 0o600)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--grpc-addr", "0.0.0.0:0"}, "not a loopback address"},
		{[]string{"--http-addr", "0.0.0.0:0"}, "--http-addr"},
		{[]string{"--keys", filepath.Join(dir, "missing")}, "--keys"},
		{[]string{"--keys", bad}, "looks like a token"},
		{[]string{"--tls-cert", "c.pem"}, "--tls-cert and --tls-key go together"},
		{[]string{"--tls-client-ca", "ca.pem"}, "--tls-client-ca needs --tls-cert"},
		{[]string{"--tls-cert", filepath.Join(dir, "no"), "--tls-key", filepath.Join(dir, "no")}, "--tls-cert, --tls-key"},
		{[]string{"--keys-poll", "-1s"}, "--keys-poll: want a duration of 0 or more"},
	} {
		args := append([]string{"serve", "--db", filepath.Join(dir, "x.db"), "--grpc-addr", "127.0.0.1:0"}, tt.args...)
		err := run(context.Background(), args, func(string) string { return "" }, strings.NewReader(""), io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("serve %v = %v, want an error mentioning %q", tt.args, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "evl_secret") {
			t.Errorf("serve %v error %q repeats a token", tt.args, err)
		}
	}
	err := run(context.Background(), []string{"serve", "--db", filepath.Join(dir, "x.db")},
		func(k string) string { return map[string]string{"EVENTLOG_KEYS_POLL": "often"}[k] }, strings.NewReader(""), io.Discard, io.Discard)
	if exitCode(err) != 2 || !strings.Contains(err.Error(), `EVENTLOG_KEYS_POLL: want a duration such as 5s, got "often"`) {
		t.Errorf("serve with EVENTLOG_KEYS_POLL=often = %v, want a usage error naming it", err)
	}
}

// pki is a CA with a server certificate for 127.0.0.1 and a client
// certificate, written as PEM files.
type pki struct {
	ca, serverCert, serverKey, clientCert, clientKey string
}

func newPKI(t *testing.T, dir, name string) pki {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name + " test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	write := func(file, typ string, der []byte) string {
		path := filepath.Join(dir, name+"-"+file)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	leaf := func(serial int64, cn string, usage x509.ExtKeyUsage, ips []net.IP) (string, string) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: ips, DNSNames: []string{"localhost"},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		keyDER, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		return write(cn+".pem", "CERTIFICATE", der), write(cn+"-key.pem", "PRIVATE KEY", keyDER)
	}
	p := pki{ca: write("ca.pem", "CERTIFICATE", caDER)}
	p.serverCert, p.serverKey = leaf(2, "server", x509.ExtKeyUsageServerAuth, []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback})
	p.clientCert, p.clientKey = leaf(3, "client", x509.ExtKeyUsageClientAuth, nil)
	return p
}

func TestTLS(t *testing.T) {
	dir := t.TempDir()
	p := newPKI(t, dir, "good")
	other := newPKI(t, dir, "other")

	t.Run("ServerTLS", func(t *testing.T) {
		ts := startServer(t, filepath.Join(dir, "tls.db"), "--tls-cert", p.serverCert, "--tls-key", p.serverKey)
		if !strings.Contains(ts.logs.String(), "tls=on") {
			t.Errorf("the start-up log does not say TLS is on:\n%s", ts.logs)
		}
		env := map[string]string{"EVENTLOG_SERVER": ts.addr}
		tests := []struct {
			name    string
			args    []string
			env     map[string]string
			wantErr string
		}{
			{"trusted CA", []string{"--tls-ca", p.ca}, nil, ""},
			{"CA from the environment", nil, map[string]string{"EVENTLOG_TLS_CA": p.ca}, ""},
			{"plaintext", nil, nil, "Unavailable"},
			{"system roots", []string{"--tls"}, nil, "certificate"},
			{"another CA", []string{"--tls-ca", other.ca}, nil, "certificate"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := map[string]string{}
				for k, v := range env {
					e[k] = v
				}
				for k, v := range tt.env {
					e[k] = v
				}
				out, err := cli(t, e, append([]string{"list", "--timeout", "60s"}, tt.args...)...)
				if tt.wantErr == "" {
					if err != nil {
						t.Errorf("eventlog list %v = %v\n%s", tt.args, err, out)
					}
				} else if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("eventlog list %v = %v, want an error mentioning %q\n%s", tt.args, err, tt.wantErr, out)
				}
			})
		}
	})

	t.Run("MutualTLS", func(t *testing.T) {
		keys := filepath.Join(dir, "keys")
		tokens := writeKeys(t, keys, "auditor=read")
		ts := startServer(t, filepath.Join(dir, "mtls.db"), "--grpc-addr", "[::1]:0", "--keys", keys,
			"--tls-cert", p.serverCert, "--tls-key", p.serverKey, "--tls-client-ca", p.ca)
		if !strings.Contains(ts.logs.String(), "tls=mutual") {
			t.Errorf("the start-up log does not say TLS is mutual:\n%s", ts.logs)
		}
		env := map[string]string{"EVENTLOG_SERVER": ts.addr, "EVENTLOG_TOKEN": tokens["auditor"]}
		tests := []struct {
			name    string
			args    []string
			wantErr string
		}{
			{"client certificate", []string{"--tls-ca", p.ca, "--tls-cert", p.clientCert, "--tls-key", p.clientKey}, ""},
			{"no client certificate", []string{"--tls-ca", p.ca}, "Unavailable"},
			{"certificate of another CA", []string{"--tls-ca", p.ca, "--tls-cert", other.clientCert, "--tls-key", other.clientKey}, "Unavailable"},
			{"certificate without its key", []string{"--tls-ca", p.ca, "--tls-cert", p.clientCert}, "go together"},
			{"certificate but no API key", []string{"--tls-ca", p.ca, "--tls-cert", p.clientCert, "--tls-key", p.clientKey, "--token", "evl_wrong"}, "Unauthenticated"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				out, err := cli(t, env, append([]string{"verify", "--timeout", "60s"}, tt.args...)...)
				if tt.wantErr == "" {
					if err != nil || !strings.HasPrefix(out, "OK") {
						t.Errorf("eventlog verify %v = %v\n%s", tt.args, err, out)
					}
				} else if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("eventlog verify %v = %v, want an error mentioning %q\n%s", tt.args, err, tt.wantErr, out)
				}
			})
		}
		// A Go client with the client certificate, for good measure.
		cert, err := tls.LoadX509KeyPair(p.clientCert, p.clientKey)
		if err != nil {
			t.Fatal(err)
		}
		conf, err := clientTLS(p.ca, "", "")
		if err != nil {
			t.Fatal(err)
		}
		conf.Certificates = []tls.Certificate{cert}
		cc, err := grpc.NewClient(ts.addr, grpc.WithTransportCredentials(credentials.NewTLS(conf)))
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Close()
		resp, err := healthpb.NewHealthClient(cc).Check(context.Background(), &healthpb.HealthCheckRequest{})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health check over mutual TLS = %v, %v", resp, err)
		}
	})
}

// tamperWith runs statements on the database behind the server, with the
// append-only triggers lifted as an intruder with full access could.
func tamperWith(t *testing.T, db string, stmts ...string) {
	t.Helper()
	driver, dsn := "sqlite", "file:"+db+"?_pragma=busy_timeout(10000)"
	lift := []string{`DROP TRIGGER IF EXISTS events_no_update`, `DROP TRIGGER IF EXISTS events_no_delete`}
	if strings.HasPrefix(db, "postgres") {
		driver, dsn = "postgres", db
		lift = []string{`ALTER TABLE events DISABLE TRIGGER USER`}
	}
	conn, err := sqlx.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range append(lift, stmts...) {
		if _, err := conn.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func TestVerifyCommandSQLite(t *testing.T) {
	testVerifyCommand(t, filepath.Join(t.TempDir(), "verify.db"))
}

func TestVerifyCommandPostgres(t *testing.T) {
	testVerifyCommand(t, pgtest.NewDB(t, pgtest.URL(t)))
}

func testVerifyCommand(t *testing.T, db string) {
	// A server that checks at most 3 entries a call, so that the command
	// has to continue over several calls.
	cfg := serveConfig{db: db, grpcAddr: "127.0.0.1:0", shutdownTimeout: 10 * time.Second, maxVerify: 3}
	ts := startWith(t, func(ctx context.Context, logs io.Writer) error {
		return (&app{cfg: cfg, log: slog.New(slog.NewTextHandler(logs, nil))}).Run(ctx)
	})
	c := eventlogv1.NewEventLogServiceClient(ts.conn(t))
	var reqs []*eventlogv1.LogEventRequest
	for i := range 10 {
		reqs = append(reqs, &eventlogv1.LogEventRequest{Event: newEvent(eventlogv1.EventType_EVENT_TYPE_EDIT, "alice", "Entry", fmt.Sprint(i))})
	}
	if _, err := c.LogEvents(context.Background(), &eventlogv1.LogEventsRequest{Requests: reqs}); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"EVENTLOG_SERVER": ts.addr}
	verify := func(args ...string) (string, string, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append([]string{"verify", "--progress", "1ns"}, args...),
			func(k string) string { return env[k] }, strings.NewReader(""), &out, &errOut)
		return out.String(), errOut.String(), err
	}
	// The hash verify prints is the one get prints.
	got, err := cli(t, env, "get", "10")
	if err != nil {
		t.Fatalf("eventlog get 10: %v\n%s", err, got)
	}
	var entry struct{ Hash string }
	if err := json.Unmarshal([]byte(got), &entry); err != nil || entry.Hash == "" {
		t.Fatalf("eventlog get 10 printed %s: %v", got, err)
	}
	for _, args := range [][]string{nil, {"--db", db}} {
		out, progress, err := verify(args...)
		if err != nil || !strings.HasPrefix(out, "OK: entries 1 to 10 intact (10 entries)") || !strings.Contains(out, "head: last id 10 matches") {
			t.Errorf("eventlog verify %v = %v\n%s", args, err, out)
		}
		if want := "entry 10 hash " + entry.Hash + " "; !strings.Contains(out, want) {
			t.Errorf("eventlog verify %v printed no %q, the hash eventlog get printed:\n%s", args, want, out)
		}
		if !strings.Contains(progress, "entries checked, up to id") {
			t.Errorf("eventlog verify %v printed no progress:\n%s", args, progress)
		}
		out, _, err = verify(append(args, "--from", "4", "--to", "8")...)
		if err != nil || !strings.HasPrefix(out, "OK: entries 4 to 8 intact (5 entries)") || !strings.Contains(out, "head not checked") {
			t.Errorf("eventlog verify %v --from 4 --to 8 = %v\n%s", args, err, out)
		}
	}
	if out, _, err := verify("--from", "50"); err == nil || !strings.Contains(err.Error(), "start_id") {
		t.Errorf("eventlog verify --from 50 = %v, want an error about start_id\n%s", err, out)
	}

	tamperWith(t, db, `DELETE FROM events WHERE id = 7`)
	for _, args := range [][]string{nil, {"--db", db}} {
		out, _, err := verify(args...)
		if !errors.Is(err, errChainBroken) || exitCode(err) != 3 {
			t.Errorf("eventlog verify %v after a deletion = %v (exit %d), want the chain broken (exit 3)", args, err, exitCode(err))
		}
		if !strings.HasPrefix(out, "BROKEN at entry 7: missing entries: entry 7 is missing") || !strings.Contains(out, "entries 1 to 6 intact") {
			t.Errorf("eventlog verify %v after a deletion printed:\n%s", args, out)
		}
	}
	if !strings.Contains(ts.logs.String(), "hash chain broken") {
		t.Errorf("the server did not log the break:\n%s", ts.logs)
	}
}

// TestListPageFitsClients lists entries with large details: a page stops
// short of what a gRPC client accepts by default (4 MiB), instead of
// failing, and the next pages hold the rest.
func TestListPageFitsClients(t *testing.T) {
	ts := startServer(t, filepath.Join(t.TempDir(), "big.db"))
	cc, err := grpc.NewClient(ts.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	c := eventlogv1.NewEventLogServiceClient(cc)
	ctx := context.Background()
	const n = 120
	for batch := 0; batch < n; batch += 30 {
		var reqs []*eventlogv1.LogEventRequest
		for i := batch; i < batch+30; i++ {
			e := newEvent(eventlogv1.EventType_EVENT_TYPE_EDIT, "alice", "Big", fmt.Sprint(i))
			e.Details = details(t, map[string]any{"blob": strings.Repeat("x", 60<<10)})
			reqs = append(reqs, &eventlogv1.LogEventRequest{Event: e})
		}
		if _, err := c.LogEvents(ctx, &eventlogv1.LogEventsRequest{Requests: reqs}); err != nil {
			t.Fatalf("LogEvents: %v", err)
		}
	}
	req := &eventlogv1.ListEventsRequest{PageSize: 1000}
	var ids []int64
	pages := 0
	for {
		resp, err := c.ListEvents(ctx, req)
		if err != nil {
			t.Fatalf("ListEvents page %d: %v", pages+1, err)
		}
		pages++
		for _, e := range resp.GetEvents() {
			ids = append(ids, e.GetId())
		}
		if resp.GetNextPageToken() == "" {
			break
		}
		req.PageToken = resp.GetNextPageToken()
	}
	if len(ids) != n || pages < 2 {
		t.Errorf("listed %d entries in %d pages, want %d in more than one", len(ids), pages, n)
	}
	if !sort.SliceIsSorted(ids, func(i, j int) bool { return ids[i] > ids[j] }) {
		t.Errorf("ids over pages are not newest first: %v", ids)
	}
}

func TestKeysCommands(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "keys")
	out, err := cli(t, nil, "keys", "new", "--name", "ingest", "--scopes", "write", "--file", file)
	if err != nil {
		t.Fatalf("keys new: %v\n%s", err, out)
	}
	token := strings.TrimSpace(out)
	ks, err := auth.LoadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if k, ok := ks.Lookup(token); !ok || k.Name != "ingest" || k.Scopes != auth.ScopeWrite {
		t.Errorf("the keys file does not admit the printed token as ingest/write: %+v, %v", k, ok)
	}
	data, _ := os.ReadFile(file)
	if strings.Contains(string(data), token) {
		t.Errorf("the keys file holds the token:\n%s", data)
	}
	if out, err := cli(t, nil, "keys", "new", "--name", "ingest", "--scopes", "read", "--file", file); err == nil || !strings.Contains(err.Error(), "already used") {
		t.Errorf("keys new with a name in use = %v, want it refused\n%s", err, out)
	}
	out, err = cli(t, nil, "keys", "new", "--name", "dash", "--scopes", "read,admin")
	if err != nil || !strings.HasPrefix(out, "token: evl_") || !strings.Contains(out, "keys file line: dash read,admin sha256:") {
		t.Errorf("keys new without --file = %v\n%s", err, out)
	}
	out, err = cli(t, map[string]string{"EVENTLOG_KEYS": file}, "keys", "check")
	if err != nil || out != "ingest write\n" {
		t.Errorf("keys check = %q, %v; want the one key", out, err)
	}
	for _, args := range [][]string{
		{"keys"}, {"keys", "rotate"}, {"keys", "new", "--name", "x"}, {"keys", "new", "--name", "x y", "--scopes", "read"},
		{"keys", "new", "--name", "x", "--scopes", "root"}, {"keys", "check"},
	} {
		if _, err := cli(t, nil, args...); exitCode(err) != 2 {
			t.Errorf("eventlog %v = %v, want a usage error", args, err)
		}
	}
}

// TestGrantAndServeAsRole follows the documented set-up: grant a role, run
// the server as that role, log and verify through it.
func TestGrantAndServeAsRole(t *testing.T) {
	server := pgtest.URL(t)
	role := pgtest.NewRole(t, server)
	db := pgtest.NewDB(t, server)

	out, err := cli(t, nil, "grant", "--db", db, "--role", role)
	if err != nil || !strings.Contains(out, "events") || !strings.Contains(out, "SELECT, INSERT") {
		t.Fatalf("eventlog grant = %v\n%s", err, out)
	}
	appDB := strings.Replace(db, "postgres://postgres@", "postgres://"+role+"@", 1)
	ts := startServer(t, appDB)
	env := map[string]string{"EVENTLOG_SERVER": ts.addr}
	if out, err := cli(t, env, "log", "--type", "create", "--actor", "alice", "--object", "Entry/1"); err != nil {
		t.Fatalf("eventlog log through a server running as %s: %v\n%s", role, err, out)
	}
	if out, err := cli(t, env, "verify"); err != nil || !strings.HasPrefix(out, "OK: entry 1 intact") {
		t.Errorf("eventlog verify = %v\n%s", err, out)
	}
	if out, err := cli(t, nil, "grant", "--db", "x.db", "--role", role); exitCode(err) != 2 {
		t.Errorf("eventlog grant on SQLite = %v, want a usage error\n%s", err, out)
	}
}

// TestTransportLimits checks the limits serve sets on the transport.
func TestTransportLimits(t *testing.T) {
	ts := startServer(t, filepath.Join(t.TempDir(), "limits.db"))
	c := eventlogv1.NewEventLogServiceClient(ts.conn(t))
	ctx := context.Background()
	// Headers past 64 KiB (here a huge token) are refused before any
	// handler runs.
	_, err := c.ListEvents(withToken(ctx, strings.Repeat("x", 100<<10)), &eventlogv1.ListEventsRequest{})
	if err == nil {
		t.Errorf("ListEvents with 100 KiB of headers: no error, want it refused")
	}
	// A message past 16 MiB is RESOURCE_EXHAUSTED.
	e := newEvent(eventlogv1.EventType_EVENT_TYPE_EDIT, "a", "T", "1")
	e.ObjectRepr = strings.Repeat("x", 17<<20)
	_, err = c.LogEvent(ctx, &eventlogv1.LogEventRequest{Event: e})
	if status.Code(err) != codes.ResourceExhausted {
		t.Errorf("LogEvent of 17 MiB = %v, want ResourceExhausted", err)
	}
}

// route is one REST binding of an API method.
type route struct {
	method, path string
	fullMethod   string
}

// apiRoutes lists the REST routes of every method of the API, from the
// google.api.http options of the .proto file, path parameters filled in.
func apiRoutes(t *testing.T) []route {
	t.Helper()
	var out []route
	sd := eventlogv1.File_eventlog_v1_eventlog_proto.Services().Get(0)
	for i := range sd.Methods().Len() {
		m := sd.Methods().Get(i)
		rule, _ := proto.GetExtension(m.Options(), annotations.E_Http).(*annotations.HttpRule)
		if rule == nil {
			t.Errorf("method %s has no HTTP binding", m.Name())
			continue
		}
		r := route{fullMethod: "/" + string(sd.FullName()) + "/" + string(m.Name())}
		switch p := rule.GetPattern().(type) {
		case *annotations.HttpRule_Get:
			r.method, r.path = "GET", p.Get
		case *annotations.HttpRule_Post:
			r.method, r.path = "POST", p.Post
		default:
			t.Fatalf("method %s: binding %T not handled by this test", m.Name(), p)
		}
		r.path = strings.ReplaceAll(r.path, "{id}", "1")
		out = append(out, r)
	}
	return out
}

// TestAuthEveryRoute calls every REST route with no key, a wrong key and a
// key of each scope: 401 and 403 as gRPC gives UNAUTHENTICATED and
// PERMISSION_DENIED. The access log names the key of each call.
func TestAuthEveryRoute(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	tokens := writeKeys(t, keys, "reader=read", "writer=write", "admin=admin")
	ts := startServer(t, filepath.Join(dir, "e2e.db"), "--keys", keys)
	hc := &http.Client{Timeout: 30 * time.Second}
	callers := []struct {
		name   string
		token  string
		scopes auth.Scope
	}{
		{"no key", "", 0},
		{"wrong key", "evl_" + strings.Repeat("B", 43), 0},
		{"reader", tokens["reader"], auth.ScopeRead},
		{"writer", tokens["writer"], auth.ScopeWrite},
		{"admin", tokens["admin"], auth.ScopeAdmin},
	}
	for _, r := range apiRoutes(t) {
		access, ok := auth.MethodAccess(r.fullMethod)
		if !ok {
			t.Errorf("%s %s (%s) has no access rule", r.method, r.path, r.fullMethod)
		}
		for _, c := range callers {
			t.Run(r.method+"_"+r.path+"/"+c.name, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel() // ends a stream once its status is known
				var body io.Reader
				if r.method == "POST" {
					body = strings.NewReader("{}")
				}
				req, err := http.NewRequestWithContext(ctx, r.method, ts.http+r.path, body)
				if err != nil {
					t.Fatal(err)
				}
				if c.token != "" {
					req.Header.Set("Authorization", "Bearer "+c.token)
				}
				if body != nil {
					req.Header.Set("Content-Type", "application/json")
				}
				resp, err := hc.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				want := 0 // admitted: anything but 401 and 403
				switch {
				case c.scopes == 0:
					want = http.StatusUnauthorized
				case access == auth.NeedRead && !c.scopes.Has(auth.ScopeRead),
					access == auth.NeedWrite && !c.scopes.Has(auth.ScopeWrite),
					access == auth.NeedAdmin && !c.scopes.Has(auth.ScopeAdmin):
					want = http.StatusForbidden
				}
				if want == 0 {
					if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
						t.Errorf("%s %s as %s = %d, want it admitted", r.method, r.path, c.name, resp.StatusCode)
					}
				} else if resp.StatusCode != want {
					t.Errorf("%s %s as %s = %d, want %d", r.method, r.path, c.name, resp.StatusCode, want)
				}
			})
		}
	}
	// Probes and the API description need no key.
	for _, path := range []string{"/healthz", "/readyz", "/openapi.json"} {
		resp, err := hc.Get(ts.http + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s without a key = %d, want 200", path, resp.StatusCode)
		}
	}
	// The access log names the caller's key, for admitted and refused
	// requests alike, and never holds a token.
	waitFor(t, "the access lines of the keyed requests", func() bool {
		logs := ts.logs.String()
		return strings.Contains(logs, `- reader [`) && strings.Contains(logs, `- writer [`) && strings.Contains(logs, `- admin [`)
	})
	logs := ts.logs.String()
	if !regexp.MustCompile(`- writer \[[^\]]*\] "GET /v1/events HTTP/1.1" 403`).MatchString(logs) {
		t.Errorf("no access line for the writer's refused GET /v1/events:\n%s", logs)
	}
	for name, tok := range tokens {
		if strings.Contains(logs, tok) {
			t.Fatalf("the log contains the token of %s", name)
		}
	}
}

func TestHTTPS(t *testing.T) {
	dir := t.TempDir()
	p := newPKI(t, dir, "good")
	pool := x509.NewCertPool()
	pem, err := os.ReadFile(p.ca)
	if err != nil {
		t.Fatal(err)
	}
	pool.AppendCertsFromPEM(pem)
	get := func(url string, conf *tls.Config) (int, error) {
		hc := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{TLSClientConfig: conf}}
		resp, err := hc.Get(url)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}

	ts := startServer(t, filepath.Join(dir, "tls.db"), "--tls-cert", p.serverCert, "--tls-key", p.serverKey)
	https := strings.Replace(ts.http, "http://", "https://", 1)
	if code, err := get(https+"/healthz", &tls.Config{RootCAs: pool}); err != nil || code != 200 {
		t.Errorf("GET /healthz over TLS = %d, %v; want 200", code, err)
	}
	if code, err := get(ts.http+"/healthz", nil); err == nil && code == 200 {
		t.Errorf("GET /healthz in plaintext on the TLS port = %d, want it refused", code)
	}
	ts.stop(t)

	ts = startServer(t, filepath.Join(dir, "mtls.db"), "--tls-cert", p.serverCert, "--tls-key", p.serverKey, "--tls-client-ca", p.ca)
	https = strings.Replace(ts.http, "http://", "https://", 1)
	if code, err := get(https+"/healthz", &tls.Config{RootCAs: pool}); err == nil {
		t.Errorf("GET /healthz over mutual TLS without a client certificate = %d, want the handshake refused", code)
	}
	cert, err := tls.LoadX509KeyPair(p.clientCert, p.clientKey)
	if err != nil {
		t.Fatal(err)
	}
	if code, err := get(https+"/healthz", &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}}); err != nil || code != 200 {
		t.Errorf("GET /healthz over mutual TLS with a client certificate = %d, %v; want 200", code, err)
	}
}
