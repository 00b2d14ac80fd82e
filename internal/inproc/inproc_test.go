package inproc

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestDialAccept(t *testing.T) {
	l := Listen()
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			t.Error(err)
		}
		accepted <- c
	}()
	client, err := l.Dial(context.Background(), "ignored")
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server := <-accepted
	defer server.Close()
	go client.Write([]byte("hello"))
	buf := make([]byte, 5)
	if _, err := io.ReadFull(server, buf); err != nil || string(buf) != "hello" {
		t.Errorf("server read %q, %v; want hello", buf, err)
	}
	if got := l.Addr().String(); got != "inproc" {
		t.Errorf("Addr() = %q, want inproc", got)
	}
}

func TestClose(t *testing.T) {
	l := Listen()
	done := make(chan error, 1)
	go func() {
		_, err := l.Accept()
		done <- err
	}()
	l.Close()
	l.Close() // twice is fine
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close = %v, want net.ErrClosed", err)
	}
	if _, err := l.Dial(context.Background(), ""); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Dial after Close = %v, want net.ErrClosed", err)
	}
}

func TestDialContext(t *testing.T) {
	l := Listen()
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := l.Dial(ctx, ""); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Dial with nobody accepting = %v, want the context's deadline", err)
	}
}
