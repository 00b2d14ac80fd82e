package client_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/eventlog/eventlog/auth"
	"github.com/eventlog/eventlog/client"
)

// keyServer serves with API keys required, and records the user agent of
// the last call. It returns a token with the write scope.
func keyServer(t *testing.T) (*testServer, string, func() string) {
	t.Helper()
	tok, key, err := auth.NewKey("writer", auth.ScopeWrite)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := auth.ParseKeys(strings.NewReader(key.Line()))
	if err != nil {
		t.Fatal(err)
	}
	guard := auth.NewGuard(ks, slog.New(slog.NewTextHandler(io.Discard, nil)))
	var mu sync.Mutex
	var ua string
	record := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		mu.Lock()
		ua = strings.Join(md.Get("user-agent"), " ")
		mu.Unlock()
		return h(ctx, req)
	}
	ts := serve(t, backends(t)["sqlite"](t), grpc.ChainUnaryInterceptor(record, guard.UnaryInterceptor))
	return ts, tok, func() string { mu.Lock(); defer mu.Unlock(); return ua }
}

func TestAPIKeyAndUserAgent(t *testing.T) {
	ts, tok, userAgent := keyServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	_, err := dial(t, ts.addr).LogEvent(ctx, write(1))
	if status.Code(err) != codes.Unauthenticated {
		t.Errorf("LogEvent without a key: error = %v, want Unauthenticated", err)
	}
	_, err = dial(t, ts.addr, client.WithAPIKey("not-a-key")).LogEvent(ctx, write(1))
	if status.Code(err) != codes.Unauthenticated {
		t.Errorf("LogEvent with a wrong key: error = %v, want Unauthenticated", err)
	}
	c := dial(t, ts.addr, client.WithAPIKey(tok), client.WithUserAgent("billing/1.4"))
	if _, err := c.LogEvent(ctx, write(1)); err != nil {
		t.Fatalf("LogEvent with the key: %v", err)
	}
	if ua := userAgent(); !strings.HasPrefix(ua, "billing/1.4") {
		t.Errorf("user agent = %q, want it to start with billing/1.4", ua)
	}
}

func TestFromEnv(t *testing.T) {
	ts, tok, _ := keyServer(t)
	t.Setenv(client.EnvServer, ts.addr)
	t.Setenv(client.EnvToken, tok)
	t.Setenv(client.EnvTLSCA, "")
	t.Setenv(client.EnvTLSCert, "")
	t.Setenv(client.EnvTLSKey, "")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := client.Dial(ctx, "", client.FromEnv(), client.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.LogEvent(ctx, write(1)); err != nil {
		t.Errorf("LogEvent with the server and key from the environment: %v", err)
	}

	t.Setenv(client.EnvTLSCert, "/nonexistent/cert.pem")
	if _, err := client.Dial(ctx, "", client.FromEnv()); err == nil {
		t.Errorf("Dial with %s but not %s: error = nil, want one", client.EnvTLSCert, client.EnvTLSKey)
	}
}

func TestDialRefuses(t *testing.T) {
	ctx := context.Background()
	t.Setenv(client.EnvServer, "")
	for _, tt := range []struct {
		name   string
		target string
		opts   []client.Option
	}{
		{"key in plaintext to another host", "db.example:50051", []client.Option{client.WithInsecure(), client.WithAPIKey("k")}},
		{"no target", "", nil},
		{"no target in the environment", "", []client.Option{client.FromEnv()}},
		{"backoff upside down", "127.0.0.1:1", []client.Option{client.WithBackoff(time.Second, time.Millisecond)}},
		{"negative call timeout", "127.0.0.1:1", []client.Option{client.WithCallTimeout(-time.Second)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := client.Dial(ctx, tt.target, tt.opts...)
			if err == nil {
				c.Close()
				t.Fatal("Dial error = nil, want one")
			}
		})
	}
	// A key in plaintext to loopback is allowed, and elsewhere when asked.
	c, err := client.Dial(ctx, "localhost:50051", client.WithInsecure(), client.WithAPIKey("k"))
	if err != nil {
		t.Fatalf("Dial to loopback with a key in plaintext: %v", err)
	}
	c.Close()
	c, err = client.Dial(ctx, "db.example:50051", client.WithInsecure(), client.WithAPIKey("k"), client.WithPlaintextAPIKey())
	if err != nil {
		t.Fatalf("Dial with WithPlaintextAPIKey: %v", err)
	}
	c.Close()
}

func TestCallTimeout(t *testing.T) {
	ts := serve(t, backends(t)["sqlite"](t))
	ctx := context.Background()
	if _, _, err := dial(t, ts.addr, client.WithCallTimeout(time.Nanosecond)).GetEvent(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("GetEvent with a call timeout of 1ns: error = %v, want DeadlineExceeded", err)
	}
	_, _, err := dial(t, ts.addr, client.WithCallTimeout(time.Minute)).GetEvent(ctx, 1)
	if !errors.Is(err, client.ErrNotFound) {
		t.Errorf("GetEvent with a call timeout of 1m: error = %v, want ErrNotFound", err)
	}
}
