// Package groupcommit groups concurrent writes into one store append
// (group commit): while one append runs, the next writes queue, and the
// next append takes them all, so that appends grow with the load and a
// lone write goes out at once.
package groupcommit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/eventlog/eventlog"
)

// Appender is the part of the store the Committer writes through.
type Appender interface {
	Append(ctx context.Context, writes []eventlog.Write) ([]eventlog.Written, error)
}

// Observer learns of each store append a Committer makes: the calls to
// Write and the entries it held (children not counted), how long the
// oldest of them waited in the queue, how long the append took and its
// error. It is called from the committer's goroutine, so it must be quick.
type Observer interface {
	GroupCommitted(writes, entries int, waited, took time.Duration, err error)
}

// write is one caller's request to the committer: entries to append
// atomically, and where to send the outcome.
type write struct {
	writes []eventlog.Write
	done   chan writeResult // buffered: the committer never blocks on it
	queued time.Time        // when it was queued; only with an observer
}

type writeResult struct {
	written []eventlog.Written
	err     error
}

// Committer groups concurrent writes into one store append (group commit).
// It takes the first waiting write, adds every other write already queued,
// up to maxEntries, and appends them in one transaction. There is no timer:
// while one append runs, the next writes queue up, so batches grow with the
// load and a lone write goes out at once.
type Committer struct {
	store      Appender
	maxEntries int
	timeout    time.Duration
	onCommit   func([]eventlog.Written) // called after each commit, in commit order
	obs        Observer                 // nil: none

	queue   chan *write
	closing chan struct{}
	closed  sync.Once
	done    chan struct{}
}

// New starts a Committer that appends through store, at most maxEntries
// entries an append, each append bounded by timeout; onCommit, when not
// nil, is called after each commit with what it wrote, in commit order;
// obs, when not nil, learns of every append. Close stops it.
func New(store Appender, maxEntries int, timeout time.Duration, onCommit func([]eventlog.Written), obs Observer) *Committer {
	if onCommit == nil {
		onCommit = func([]eventlog.Written) {}
	}
	c := &Committer{
		store:      store,
		maxEntries: maxEntries,
		timeout:    timeout,
		onCommit:   onCommit,
		obs:        obs,
		queue:      make(chan *write, 4*maxEntries),
		closing:    make(chan struct{}),
		done:       make(chan struct{}),
	}
	go c.loop()
	return c
}

// Write appends entries atomically and returns them as stored. It returns
// once the transaction has committed or failed, or when ctx ends; in the
// last case the write may still commit.
func (c *Committer) Write(ctx context.Context, writes []eventlog.Write) ([]eventlog.Written, error) {
	w := &write{writes: writes, done: make(chan writeResult, 1)}
	if c.obs != nil {
		w.queued = time.Now()
	}
	select {
	case <-c.closing:
		return nil, fmt.Errorf("%w: the server is shutting down", eventlog.ErrUnavailable)
	default:
	}
	select {
	case c.queue <- w:
	case <-c.closing:
		return nil, fmt.Errorf("%w: the server is shutting down", eventlog.ErrUnavailable)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case r := <-w.done:
		return r.written, r.err
	case <-c.done:
		// The loop has ended; it may have answered this write just before.
		select {
		case r := <-w.done:
			return r.written, r.err
		default:
			return nil, fmt.Errorf("%w: the server is shutting down", eventlog.ErrUnavailable)
		}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Close stops taking writes, finishes every write already queued and
// returns when the last one has been answered.
func (c *Committer) Close() {
	c.closed.Do(func() { close(c.closing) })
	<-c.done
}

func (c *Committer) loop() {
	defer close(c.done)
	for {
		var first *write
		select {
		case first = <-c.queue:
		case <-c.closing:
			// Writers that got into the queue before closing are answered.
			for {
				select {
				case w := <-c.queue:
					c.flush([]*write{w})
				default:
					return
				}
			}
		}
		batch := []*write{first}
		n := len(first.writes)
	gather:
		for n < c.maxEntries {
			select {
			case w := <-c.queue:
				batch = append(batch, w)
				n += len(w.writes)
			default:
				break gather
			}
		}
		c.flush(batch)
	}
}

// flush appends the batch in one transaction. If the store refused it
// and the batch holds several writes, each is retried on its own, so that
// one bad write does not fail the others and each caller gets its own
// outcome. When the database could not be reached, every write gets that
// answer: nothing was stored, or the store could not tell
// (eventlog.ErrOutcomeUnknown), and a write made again could be stored
// twice.
func (c *Committer) flush(batch []*write) {
	var waited time.Duration
	if c.obs != nil {
		waited = time.Since(batch[0].queued)
	}
	if len(batch) == 1 {
		out, err := c.append(1, batch[0].writes, waited)
		batch[0].done <- writeResult{out, err}
		return
	}
	n := 0
	for _, w := range batch {
		n += len(w.writes)
	}
	all := make([]eventlog.Write, 0, n)
	for _, w := range batch {
		all = append(all, w.writes...)
	}
	out, err := c.append(len(batch), all, waited)
	if errors.Is(err, eventlog.ErrUnavailable) {
		for _, w := range batch {
			w.done <- writeResult{err: err}
		}
		return
	}
	if err != nil {
		for _, w := range batch {
			out, err := c.append(1, w.writes, time.Since(w.queued))
			w.done <- writeResult{out, err}
		}
		return
	}
	for _, w := range batch {
		n := len(w.writes)
		w.done <- writeResult{written: out[:n:n]}
		out = out[n:]
	}
}

// append appends writes, which calls calls to Write made, and waited is
// how long the oldest of them waited (both for the observer).
func (c *Committer) append(calls int, writes []eventlog.Write, waited time.Duration) ([]eventlog.Written, error) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	var start time.Time
	if c.obs != nil {
		start = time.Now()
	}
	out, err := c.store.Append(ctx, writes)
	if c.obs != nil {
		c.obs.GroupCommitted(calls, len(writes), waited, time.Since(start), err)
	}
	if err == nil {
		c.onCommit(out)
	}
	return out, err
}
