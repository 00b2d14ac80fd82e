package pgtest

import (
	"bytes"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
)

// Proxy forwards TCP connections to a PostgreSQL server and injects the
// faults of a network or a proxy that fails: an answer lost after the
// server acted on the request, a server that cannot be reached.
type Proxy struct {
	lis    net.Listener
	target string
	armed  atomic.Int64 // answers to drop, one per connection the client writes on next
	down   atomic.Bool  // refuse new connections
	drops  atomic.Int64 // answers dropped
	match  atomic.Pointer[dropMatch]

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// NewProxy starts a proxy to the database of dsn (a postgres:// URL) and
// returns it with the URL to connect through it. It stops when the test
// ends.
func NewProxy(t testing.TB, dsn string) (*Proxy, string) {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("proxy: %v", err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy: %v", err)
	}
	p := &Proxy{lis: lis, target: u.Host, conns: make(map[net.Conn]struct{})}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	u.Host = lis.Addr().String()
	return p, u.String()
}

// DropAnswers makes the next n requests, each on its own connection, reach
// the server, whose answer is then dropped and the connection closed, as
// when the network fails right after the server acted (committed).
func (p *Proxy) DropAnswers(n int) { p.armed.Store(int64(n)) }

// dropMatch is an armed DropAnswerTo.
type dropMatch struct {
	request []byte
	then    func()
}

// DropAnswerTo drops the answer to the next request whose bytes contain
// request (such as the simple query "COMMIT"), and then, before the
// connection closes, calls then (when not nil).
func (p *Proxy) DropAnswerTo(request string, then func()) {
	p.match.Store(&dropMatch{request: []byte(request), then: then})
}

// Dropped returns how many answers were dropped so far.
func (p *Proxy) Dropped() int64 { return p.drops.Load() }

// SetDown makes the server unreachable through the proxy (down) or
// reachable again: while down, new connections are closed at once.
func (p *Proxy) SetDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down.Store(down)
}

// CutAll closes every connection open through the proxy, as a database
// restart does.
func (p *Proxy) CutAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
}

func (p *Proxy) close() {
	p.lis.Close()
	p.CutAll()
	p.wg.Wait()
}

// trackPair records a client's connection and its server's, unless the
// proxy is down.
func (p *Proxy) trackPair(client, server net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down.Load() {
		return false
	}
	p.conns[client] = struct{}{}
	p.conns[server] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.conns, c)
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.lis.Accept()
		if err != nil {
			return
		}
		if p.down.Load() {
			client.Close()
			continue
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			client.Close()
			continue
		}
		// Down since the check above: refused all the same. Tracking
		// under the lock SetDown takes, a connection is either refused
		// or cut by the next CutAll.
		if !p.trackPair(client, server) {
			client.Close()
			server.Close()
			continue
		}
		p.wg.Add(2)
		go p.pipe(client, server)
	}
}

// pipe forwards both ways between client and server until either closes.
func (p *Proxy) pipe(client, server net.Conn) {
	var drop atomic.Bool
	var then atomic.Pointer[func()]
	closeBoth := func() {
		client.Close()
		server.Close()
		p.untrack(client)
		p.untrack(server)
	}
	go func() {
		defer p.wg.Done()
		defer closeBoth()
		buf := make([]byte, 64<<10)
		for {
			n, err := client.Read(buf)
			if n > 0 {
				if m := p.match.Load(); m != nil && !drop.Load() && bytes.Contains(buf[:n], m.request) && p.match.CompareAndSwap(m, nil) {
					if m.then != nil {
						then.Store(&m.then)
					}
					drop.Store(true)
				}
				if !drop.Load() && p.take() {
					drop.Store(true)
				}
				if _, werr := server.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	defer p.wg.Done()
	defer closeBoth()
	buf := make([]byte, 64<<10)
	for {
		n, err := server.Read(buf)
		if n > 0 && drop.Load() {
			// The server has answered, so it has acted; the client sees
			// its connection close instead: every other time reset, as a
			// failing network does, else closed, as a proxy does.
			if p.drops.Add(1)%2 == 0 {
				if tc, ok := client.(*net.TCPConn); ok {
					tc.SetLinger(0)
				}
			}
			if f := then.Load(); f != nil {
				(*f)()
			}
			return
		}
		if n > 0 {
			if _, werr := client.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// take uses up one armed drop, if any.
func (p *Proxy) take() bool {
	for {
		n := p.armed.Load()
		if n <= 0 {
			return false
		}
		if p.armed.CompareAndSwap(n, n-1) {
			return true
		}
	}
}
