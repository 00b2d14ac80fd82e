package client

import (
	"context"
	cryptorand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eventlog/eventlog"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// BatchWriter writes entries in one call, all or none, as LogEvents does.
// *Client is one.
type BatchWriter interface {
	LogEvents(ctx context.Context, writes []eventlog.Write) ([]eventlog.Written, error)
}

// FullPolicy says what Logger.Log does when the queue is full.
type FullPolicy int

const (
	// Block makes Log wait for room, or for its context to end.
	Block FullPolicy = iota
	// Drop makes Log return ErrDropped at once, and counts the entry as
	// dropped.
	Drop
)

// LoggerConfig configures a Logger. The zero value is usable.
type LoggerConfig struct {
	// BatchSize bounds the entries of one LogEvents call; 500 when 0, at
	// most eventlog.MaxBatch.
	BatchSize int
	// Linger is how long the sender waits for more entries before sending
	// a batch that is not full. 0 (the default) sends at once: while one
	// batch is on its way the next ones queue up, so batches grow with
	// the load, as the server's group commit does.
	Linger time.Duration
	// QueueSize bounds the entries held in memory, queued or being sent;
	// 10,000 when 0.
	QueueSize int
	// WhenFull is what Log does when QueueSize entries are held: Block
	// (the default) or Drop.
	WhenFull FullPolicy
	// MinBackoff and MaxBackoff bound the wait before a retry, which
	// doubles from the first to the second with jitter; 50ms and 5s when
	// 0.
	MinBackoff, MaxBackoff time.Duration
	// OnError is called, from the sender, with an entry the server refused
	// (its request is invalid, or its key names another entry): such an
	// entry is not retried. Nil ignores them; they are counted as failed.
	OnError func(w eventlog.Write, err error)
}

// LoggerStats counts what a Logger did.
type LoggerStats struct {
	Sent    int64 // entries acknowledged by the server
	Retried int64 // calls made again after a failure that may pass
	Dropped int64 // entries refused by Log because the queue was full
	Failed  int64 // entries the server refused (OnError)
	Queued  int64 // entries held now, queued or being sent
}

// ErrDropped is returned by Log when the queue is full and the Logger is
// configured to Drop.
var ErrDropped = errors.New("eventlog: the logger's queue is full; entry dropped")

// ErrClosed is returned by Log after Close.
var ErrClosed = errors.New("eventlog: the logger is closed")

// Logger sends entries to the log in the background, in batches, so that
// a service's requests never wait for the audit log. Log enqueues; a
// sender goroutine sends what is queued with LogEvents, retrying with
// backoff while the server cannot be reached.
//
// Retries never store an entry twice: Log gives every entry without an
// idempotency key a new random key, and a retry resends the same keys, so
// an entry whose answer was lost, or that a restarted server had already
// stored, is returned rather than written again. Memory is bounded by
// QueueSize; what Log does when it is reached is WhenFull. Flush and Close
// wait until what was logged before them is stored.
//
// A Logger is safe for concurrent use.
type Logger struct {
	w   BatchWriter
	cfg LoggerConfig

	queue chan item
	room  chan struct{} // a token per entry that may be held

	mu        sync.Mutex
	closed    bool
	logged    int64         // entries accepted by Log, in order
	done      int64         // entries accepted, then stored or given up, in order
	doneMoved chan struct{} // closed and replaced when done moves

	stop     chan struct{} // closed by Close when its context ends
	finished chan struct{} // closed when the sender has ended
	// ctx is the context of the calls; Close cancels it with stop.
	ctx    context.Context
	cancel context.CancelFunc

	sent, retried, dropped, failed atomic.Int64
	gaveUp                         atomic.Int64 // entries not stored when Close gave up
}

type item struct {
	w   eventlog.Write
	seq int64
}

// NewLogger starts a Logger that writes through c, asking for the basic
// view of what it stored (see LogEventsBasic).
func (c *Client) NewLogger(cfg LoggerConfig) *Logger {
	return NewLogger(basicWriter{c}, cfg)
}

type basicWriter struct{ c *Client }

func (w basicWriter) LogEvents(ctx context.Context, ws []eventlog.Write) ([]eventlog.Written, error) {
	return w.c.LogEventsBasic(ctx, ws)
}

// NewLogger starts a Logger that writes through w: a *Client, or anything
// that writes batches all or none.
func NewLogger(w BatchWriter, cfg LoggerConfig) *Logger {
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 500
	}
	cfg.BatchSize = min(cfg.BatchSize, eventlog.MaxBatch)
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 10_000
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 50 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 5 * time.Second
	}
	cfg.MaxBackoff = max(cfg.MaxBackoff, cfg.MinBackoff)
	l := &Logger{
		w:         w,
		cfg:       cfg,
		queue:     make(chan item, cfg.QueueSize),
		room:      make(chan struct{}, cfg.QueueSize),
		doneMoved: make(chan struct{}),
		stop:      make(chan struct{}),
		finished:  make(chan struct{}),
	}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	go l.send()
	return l
}

// Log queues e for the log and returns. It gives e an idempotency key
// when it has none. When the queue is full it waits for room until ctx
// ends (Block), or returns ErrDropped (Drop).
func (l *Logger) Log(ctx context.Context, w eventlog.Write) error {
	if w.Event.IdempotencyKey == "" {
		w.Event.IdempotencyKey = newKey()
	}
	select {
	case l.room <- struct{}{}:
	default:
		if l.cfg.WhenFull == Drop {
			l.dropped.Add(1)
			return ErrDropped
		}
		select {
		case l.room <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		case <-l.stop:
			return ErrClosed
		}
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		<-l.room
		return ErrClosed
	}
	l.logged++
	// The queue holds QueueSize items and room admits as many: this send
	// never waits, so it is made under the lock that keeps seq in order.
	l.queue <- item{w: w, seq: l.logged}
	l.mu.Unlock()
	return nil
}

// Flush returns once every entry logged before it was stored (or refused
// by the server), or with ctx's error when ctx ends first.
func (l *Logger) Flush(ctx context.Context) error {
	l.mu.Lock()
	target := l.logged
	l.mu.Unlock()
	for {
		l.mu.Lock()
		done, moved := l.done, l.doneMoved
		l.mu.Unlock()
		if done >= target {
			if n := l.gaveUp.Load(); n > 0 {
				return fmt.Errorf("flush: %d entries were given up when the logger closed: %w", n, ErrClosed)
			}
			return nil
		}
		select {
		case <-moved:
		case <-ctx.Done():
			return fmt.Errorf("flush: %d entries not yet stored: %w", target-done, ctx.Err())
		case <-l.finished:
			return fmt.Errorf("flush: the logger stopped with %d entries not stored: %w", target-done, ErrClosed)
		}
	}
}

// Close stops taking entries, sends those queued and returns when they are
// stored. When ctx ends first, it stops retrying and returns ctx's error
// with the number of entries given up. Close is safe to call more than once.
func (l *Logger) Close(ctx context.Context) error {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		close(l.queue)
	}
	l.mu.Unlock()
	select {
	case <-l.finished:
		return nil
	case <-ctx.Done():
	}
	l.mu.Lock()
	select {
	case <-l.stop:
	default:
		close(l.stop)
		l.cancel()
	}
	lost := l.logged - l.done
	l.mu.Unlock()
	<-l.finished
	if lost > 0 {
		return fmt.Errorf("close: %d entries not stored: %w", lost, ctx.Err())
	}
	return nil
}

// Stats returns the counters.
func (l *Logger) Stats() LoggerStats {
	return LoggerStats{
		Sent:    l.sent.Load(),
		Retried: l.retried.Load(),
		Dropped: l.dropped.Load(),
		Failed:  l.failed.Load(),
		Queued:  int64(len(l.room)),
	}
}

// send is the sender goroutine: it takes a batch of what is queued, sends
// it until it is stored or refused, and marks it done.
func (l *Logger) send() {
	defer close(l.finished)
	defer l.cancel()
	batch := make([]item, 0, l.cfg.BatchSize)
	for {
		first, ok := <-l.queue
		if !ok {
			return
		}
		batch = append(batch[:0], first)
		var linger <-chan time.Time
		var timer *time.Timer
		if l.cfg.Linger > 0 {
			timer = time.NewTimer(l.cfg.Linger)
			linger = timer.C
		}
	gather:
		for len(batch) < l.cfg.BatchSize {
			select {
			case it, ok := <-l.queue:
				if !ok {
					break gather
				}
				batch = append(batch, it)
			default:
				if linger == nil {
					break gather
				}
				select {
				case it, ok := <-l.queue:
					if !ok {
						break gather
					}
					batch = append(batch, it)
				case <-linger:
					break gather
				}
			}
		}
		if timer != nil {
			timer.Stop()
		}
		l.deliver(batch)
		l.finish(batch)
	}
}

// deliver sends batch until the server stores it, refuses it, or the
// Logger is told to stop. A refused batch is sent again entry by entry,
// so that one bad entry does not take its neighbours down.
func (l *Logger) deliver(batch []item) {
	writes := make([]eventlog.Write, len(batch))
	for i := range batch {
		writes[i] = batch[i].w
	}
	err := l.write(writes)
	if errors.Is(err, ErrClosed) {
		l.gaveUp.Add(int64(len(writes)))
		return
	}
	if err == nil || !refused(err) {
		return
	}
	if len(writes) == 1 {
		l.refuse(writes[0], err)
		return
	}
	for _, w := range writes {
		switch err := l.write([]eventlog.Write{w}); {
		case errors.Is(err, ErrClosed):
			l.gaveUp.Add(1)
		case err != nil && refused(err):
			l.refuse(w, err)
		}
	}
}

func (l *Logger) refuse(w eventlog.Write, err error) {
	l.failed.Add(1)
	if l.cfg.OnError != nil {
		l.cfg.OnError(w, err)
	}
}

// write makes one call for writes, again and again while its failure may
// pass, with backoff; it returns nil once stored, the server's refusal, or
// ErrClosed when the Logger is told to stop.
func (l *Logger) write(writes []eventlog.Write) error {
	wait := l.cfg.MinBackoff
	for {
		_, err := l.w.LogEvents(l.ctx, writes)
		if err == nil {
			l.sent.Add(int64(len(writes)))
			return nil
		}
		if refused(err) {
			return err
		}
		select {
		case <-l.stop:
			return ErrClosed
		default:
		}
		l.retried.Add(1)
		// Full jitter: a wait anywhere up to the backoff, so that the
		// loggers of many processes do not retry in step after an outage.
		select {
		case <-time.After(time.Duration(rand.Int64N(int64(wait)) + 1)):
		case <-l.stop:
			return ErrClosed
		}
		wait = min(2*wait, l.cfg.MaxBackoff)
	}
}

// finish marks batch done and makes room for as many entries.
func (l *Logger) finish(batch []item) {
	l.mu.Lock()
	l.done = batch[len(batch)-1].seq
	close(l.doneMoved)
	l.doneMoved = make(chan struct{})
	l.mu.Unlock()
	for range batch {
		<-l.room
	}
}

// refused reports whether err is the server refusing a request, which a
// retry would not change: bad input, a key that names another entry, a
// missing permission. Anything else (the server unreachable or shutting
// down, a deadline, an outcome unknown) may pass, and is retried with the
// same keys.
func refused(err error) bool {
	var invalid *eventlog.InvalidError
	if errors.As(err, &invalid) {
		return true
	}
	switch status.Code(err) {
	case codes.InvalidArgument, codes.AlreadyExists, codes.FailedPrecondition, codes.PermissionDenied,
		codes.Unauthenticated, codes.OutOfRange, codes.Unimplemented:
		return true
	}
	return false
}

// newKey returns a new idempotency key: 128 random bits, which no two
// entries share.
func newKey() string {
	var b [16]byte
	cryptorand.Read(b[:]) // never fails
	return "lg-" + hex.EncodeToString(b[:])
}
