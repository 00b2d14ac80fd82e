package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// serverProc is "eventlog serve" running as a child process, with one
// client connection to it.
type serverProc struct {
	cmd  *exec.Cmd
	addr string
	// debugAddr serves Go's profiler, when started with one (see
	// bench.startServer).
	debugAddr string
	// postmaster is the process id of the PostgreSQL server whose CPU
	// time cpuTimes reads; 0: every PostgreSQL process.
	postmaster int
	// backends, when set, reads the CPU time of the backends serving
	// the server's PostgreSQL database (see backendsCPU).
	backends func() float64
	cc       *grpc.ClientConn
	logs     *tailBuffer
	done     chan error
}

// startServer runs "eventlog serve" on db and waits until its health check
// answers SERVING. The access log and the REST gateway are off: every
// figure is a gRPC call, and the no-op baseline goes through the same
// server.
func startServer(ctx context.Context, bin, db string, extra ...string) (*serverProc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	args := append([]string{"serve", "--db", db, "--grpc-addr", addr, "--http-addr", "off",
		"--access-log", "off", "--log-level", "warn"}, extra...)
	p := &serverProc{addr: addr, logs: &tailBuffer{max: 64 << 10}, done: make(chan error, 1)}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	p.cc, err = grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)))
	if err != nil {
		p.stop()
		return nil, err
	}
	h := healthpb.NewHealthClient(p.cc)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		resp, err := h.Check(cctx, &healthpb.HealthCheckRequest{})
		cancel()
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return p, nil
		}
		select {
		case err := <-p.done:
			p.done <- err
			p.cc.Close()
			return nil, fmt.Errorf("eventlog serve ended: %v\n%s", err, p.logs)
		case <-ctx.Done():
			p.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("eventlog serve did not become healthy: %v\n%s", err, p.logs)
		}
	}
}

// stop ends the server as SIGTERM does and waits for it.
func (p *serverProc) stop() error {
	if p.cc != nil {
		p.cc.Close()
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			return fmt.Errorf("eventlog serve: %v\n%s", err, p.logs)
		}
		return nil
	case <-time.After(time.Minute):
		p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("eventlog serve did not stop within a minute")
	}
}

// resetPeakRSS makes the kernel forget the process's peak resident size,
// so that peakRSS covers what happens after it.
func (p *serverProc) resetPeakRSS() error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", p.cmd.Process.Pid), []byte("5"), 0)
}

// peakRSS returns the process's peak resident set size (VmHWM), in bytes.
func (p *serverProc) peakRSS() (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", p.cmd.Process.Pid)
}

// startServer is startServer with the bench's options: with --profile, the
// server serves its profiler.
func (b *bench) startServer(ctx context.Context, db string, extra ...string) (*serverProc, error) {
	debug := ""
	if b.cfg.profile != "" {
		var err error
		if debug, err = freeAddr(); err != nil {
			return nil, err
		}
		extra = append(extra, "--debug-addr", debug)
	}
	p, err := startServer(ctx, b.cfg.eventlog, db, extra...)
	if p != nil {
		p.debugAddr, p.postmaster = debug, b.postmaster
		if name := pgDatabase(db); name != "" && b.admin != nil && b.postmaster != 0 {
			p.backends = backendsCPU(b.admin, name)
		}
	}
	return p, err
}

// profile fetches a CPU profile of the server over d, after wait, into
// path. It reports failures to log; a missing profile fails no figure.
func (p *serverProc) profile(ctx context.Context, wait, d time.Duration, path string, logf func(string, ...any)) {
	select {
	case <-time.After(wait):
	case <-ctx.Done():
		return
	}
	secs := max(1, int(d/time.Second))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", p.debugAddr, secs), nil)
	if err != nil {
		logf("profile: %v", err)
		return
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		logf("profile: %v", err)
		return
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s: %s", resp.Status, body)
	}
	if err == nil {
		err = os.WriteFile(path, body, 0o644)
	}
	if err != nil {
		logf("profile: %v", err)
	}
}

// pgDatabase returns the database a postgres:// URL names, "" for
// anything else (a SQLite file).
func pgDatabase(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return ""
	}
	return strings.TrimPrefix(u.Path, "/")
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(p)
	if over := t.buf.Len() - t.max; over > 0 {
		t.buf.Next(over)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.String()
}
