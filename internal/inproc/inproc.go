// Package inproc is a net.Listener whose connections stay inside the
// process: Dial hands the listener one end of a net.Pipe. The REST gateway
// uses it to reach the gRPC server through the server's own transport,
// interceptors included, without a socket that other processes could reach.
package inproc

import (
	"context"
	"net"
	"sync"
)

// Listener is a net.Listener for connections made with its Dial method.
// It is safe for concurrent use.
type Listener struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

var _ net.Listener = (*Listener)(nil)

// Listen returns a new Listener.
func Listen() *Listener {
	return &Listener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

// Accept waits for the next Dial and returns the server's end of its
// connection. After Close it returns net.ErrClosed.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

// Close stops the listener: Accept and Dial fail from then on. Connections
// already made stay open until their ends close them.
func (l *Listener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

// Addr returns the listener's address, network "inproc".
func (l *Listener) Addr() net.Addr { return addr{} }

// Dial connects to the listener. It waits for Accept until ctx is done, and
// fails with net.ErrClosed once the listener is closed. The address is
// ignored, so the method fits grpc.WithContextDialer.
func (l *Listener) Dial(ctx context.Context, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.closed:
		client.Close()
		server.Close()
		return nil, &net.OpError{Op: "dial", Net: "inproc", Err: net.ErrClosed}
	case <-ctx.Done():
		client.Close()
		server.Close()
		return nil, &net.OpError{Op: "dial", Net: "inproc", Err: ctx.Err()}
	}
}

type addr struct{}

func (addr) Network() string { return "inproc" }
func (addr) String() string  { return "inproc" }
