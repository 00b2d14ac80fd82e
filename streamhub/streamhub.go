// Package streamhub keeps the newest entries of the log in memory and wakes
// the streams that follow the log when it grows (see Hub).
package streamhub

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/eventlog/eventlog"
)

// Source is what the hub reads the log's tail from.
type Source interface {
	Head(ctx context.Context) (int64, error)
	List(ctx context.Context, f eventlog.Filter, p eventlog.Page) ([]eventlog.Event, error)
}

// Hub keeps the newest entries of the log in memory, in id order and
// without gaps, and wakes streams when it grows. Streams read from it while
// they are near the head and from the store when they are further behind,
// so a slow stream costs no memory of its own and never holds up writers;
// and one read of the store serves every stream.
//
// Entries arrive from this process's commits (publish) or, when another
// process shares the database, are loaded from the store when a commit
// announcement or a periodic check of the head says there are new ones.
// The store stays the source of truth: a missed announcement delays an
// entry until the next check, and never loses it.
type Hub struct {
	src      Source
	log      *slog.Logger
	maxBytes int
	poll     time.Duration

	kick chan struct{} // asks the loader to catch up; buffered, 1
	stop chan struct{} // closed by Close
	done chan struct{} // closed when the loader has ended

	mu      sync.Mutex
	ring    []eventlog.Event // ids last-len(ring)+1 .. last, oldest first
	bytes   int              // approximate size of ring
	last    int64            // id of the newest entry loaded; ring ends here
	known   int64            // newest id known to be committed (>= last)
	recheck bool             // a wake without an id: the loader reads the head
	changed chan struct{}    // closed and replaced when last grows
	started bool
	closed  bool
	// subscribers counts the streams. With none, the ring stays empty:
	// keeping it would cost every commit a copy, and the collector a
	// scan, for no reader. A stream that starts reads what is older than
	// the ring from the store, as any stream behind it does.
	subscribers int
}

func New(src Source, log *slog.Logger, maxBytes int, poll time.Duration) *Hub {
	return &Hub{
		src:      src,
		log:      log,
		maxBytes: maxBytes,
		poll:     poll,
		kick:     make(chan struct{}, 1),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		changed:  make(chan struct{}),
	}
}

// Start reads the head of the log and starts the loader. Entries committed
// before start are read from the store by the streams that want them.
func (h *Hub) Start(ctx context.Context) error {
	head, err := h.src.Head(ctx)
	if err != nil {
		return err
	}
	h.mu.Lock()
	h.last, h.known = head, head
	h.started = true
	h.mu.Unlock()
	go h.loader()
	return nil
}

// Stopped returns a channel closed when the hub closes.
func (h *Hub) Stopped() <-chan struct{} { return h.stop }

// Held returns the bytes and the entries the ring holds.
func (h *Hub) Held() (bytes, entries int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.bytes, len(h.ring)
}

// Close ends every stream's wait and stops the loader.
func (h *Hub) Close() {
	h.mu.Lock()
	if !h.closed {
		h.closed = true
		close(h.stop)
		close(h.changed)
	}
	started := h.started
	h.mu.Unlock()
	if started {
		<-h.done
	}
}

// size estimates the memory an entry holds.
func size(e *eventlog.Event) int {
	return 256 + len(e.Details) + len(e.Actor.ID) + len(e.Actor.Name) + len(e.ContentType) +
		len(e.ObjectID) + len(e.ObjectRepr) + len(e.Request.Path) + len(e.Request.UserAgent) +
		len(e.IdempotencyKey)
}

// appendLocked adds entries that continue the ring and trims its oldest
// entries to the size bound (always keeping the newest). Past the bound it
// trims to three quarters of it at once: the ring is copied once per
// quarter of its turnover, not on every append, which would copy the
// whole ring per commit once it is full.
func (h *Hub) appendLocked(entries []eventlog.Event) {
	if !h.keepingLocked(entries[len(entries)-1].ID) {
		return
	}
	for i := range entries {
		h.pushLocked(&entries[i])
	}
	h.trimLocked()
}

// appendWrittenLocked is appendLocked for entries as written: each entry
// followed by its children, last being the id of the last of them.
func (h *Hub) appendWrittenLocked(written []eventlog.Written, last int64) {
	if !h.keepingLocked(last) {
		return
	}
	for i := range written {
		h.pushLocked(&written[i].Event)
		for j := range written[i].Children {
			h.pushLocked(&written[i].Children[j])
		}
	}
	h.trimLocked()
}

// keepingLocked reports whether the ring keeps entries: only for streams.
// Without any, it empties the ring and moves its end to last.
func (h *Hub) keepingLocked(last int64) bool {
	if h.subscribers > 0 {
		return true
	}
	h.ring, h.bytes = nil, 0
	h.advanceLocked(last)
	return false
}

// pushLocked adds e at the ring's end.
func (h *Hub) pushLocked(e *eventlog.Event) {
	h.ring = append(h.ring, *e)
	h.bytes += size(e)
}

// trimLocked trims the ring to its bound, as appendLocked says, and moves
// its end to its newest entry.
func (h *Hub) trimLocked() {
	drop := 0
	if h.bytes > h.maxBytes {
		for h.bytes > h.maxBytes/4*3 && drop < len(h.ring)-1 {
			h.bytes -= size(&h.ring[drop])
			drop++
		}
	}
	if drop > 0 {
		// Copy rather than reslice, so the dropped entries can be freed,
		// with room for the third more that the ring takes until the
		// next trim.
		h.ring = append(make([]eventlog.Event, 0, (len(h.ring)-drop)*4/3+1), h.ring[drop:]...)
	}
	h.advanceLocked(h.ring[len(h.ring)-1].ID)
}

// advanceLocked moves the ring's end to last and wakes the streams.
func (h *Hub) advanceLocked(last int64) {
	h.last = last
	h.known = max(h.known, h.last)
	close(h.changed)
	h.changed = make(chan struct{})
}

// Subscribe counts a stream until the returned function is called.
func (h *Hub) Subscribe() (unsubscribe func()) {
	h.mu.Lock()
	h.subscribers++
	h.mu.Unlock()
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.subscribers--; h.subscribers == 0 {
			h.ring, h.bytes = nil, 0
		}
	}
}

// Publish adds entries this process has just committed, in id order. When
// they do not continue the ring (another process committed in between),
// the loader fills the gap from the store instead.
func (h *Hub) Publish(written []eventlog.Written) {
	// The entries are read where they are: a copy of a large batch cost
	// more than the rest of publishing it, and with no stream none is
	// kept.
	first, last, contiguous := span(written)
	if first == 0 {
		return
	}
	h.mu.Lock()
	if h.closed || first <= h.last {
		// A retry that wrote nothing new returns stored entries.
		h.mu.Unlock()
		return
	}
	if first == h.last+1 && contiguous {
		h.appendWrittenLocked(written, last)
		h.mu.Unlock()
		return
	}
	h.known = max(h.known, last)
	h.mu.Unlock()
	h.kickLoader()
}

// span returns the ids of the first and last entries written, each entry
// followed by its children, and whether each id follows the one before;
// first is 0 when there are none.
func span(written []eventlog.Written) (first, last int64, contiguous bool) {
	contiguous = true
	next := func(e *eventlog.Event) {
		switch {
		case first == 0:
			first = e.ID
		case e.ID != last+1:
			contiguous = false
		}
		last = e.ID
	}
	for i := range written {
		next(&written[i].Event)
		for j := range written[i].Children {
			next(&written[i].Children[j])
		}
	}
	return first, last, contiguous
}

// Wake tells the loader that entries up to lastID may have been committed.
// With lastID 0 (unknown: the watch has just connected or reconnected, and
// announcements may have been missed) the loader reads the head first.
func (h *Hub) Wake(lastID int64) {
	h.mu.Lock()
	if lastID > 0 && lastID <= h.last {
		h.mu.Unlock()
		return
	}
	if lastID == 0 {
		h.recheck = true
	}
	h.known = max(h.known, lastID)
	h.mu.Unlock()
	h.kickLoader()
}

func (h *Hub) kickLoader() {
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

// readHead raises known to the store's head; false when it cannot be read.
func (h *Hub) readHead(ctx context.Context) bool {
	head, err := h.src.Head(ctx)
	if err != nil {
		if ctx.Err() == nil {
			h.log.Warn("stream hub: read the log head", "err", err)
		}
		return false
	}
	h.mu.Lock()
	h.known = max(h.known, head)
	h.mu.Unlock()
	return true
}

// loader loads new entries from the store when kicked, and checks the
// Head every poll interval in case an announcement was missed.
func (h *Hub) loader() {
	defer close(h.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-h.stop
		cancel()
	}()
	tick := time.NewTicker(h.poll)
	defer tick.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-h.kick:
			h.mu.Lock()
			recheck := h.recheck
			h.recheck = false
			h.mu.Unlock()
			if recheck && !h.readHead(ctx) {
				continue
			}
		case <-tick.C:
			if !h.readHead(ctx) {
				continue
			}
		}
		if err := h.load(ctx); err != nil && ctx.Err() == nil {
			h.log.Warn("stream hub: load new entries", "err", err)
		}
	}
}

// load reads every entry after the ring's end up to the known head.
func (h *Hub) load(ctx context.Context) error {
	for {
		h.mu.Lock()
		if h.closed {
			h.mu.Unlock()
			return nil
		}
		last, known := h.last, h.known
		if last < known && h.subscribers == 0 {
			// Nobody reads the ring: skip the entries instead.
			h.advanceLocked(known)
			last = known
		}
		h.mu.Unlock()
		if last >= known {
			return nil
		}
		page, err := h.src.List(ctx, eventlog.Filter{}, eventlog.Page{Cursor: last, Ascending: true, Limit: 1000})
		if err != nil {
			return err
		}
		if len(page) == 0 {
			return nil
		}
		h.mu.Lock()
		if !h.closed && page[0].ID == h.last+1 {
			h.appendLocked(page)
		}
		h.mu.Unlock()
	}
}

// Head returns the newest id known to be committed.
func (h *Hub) Head() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.known
}

// Since returns up to max entries after cursor that match f, read from the
// ring, and the id up to which the ring was looked through. ok is false when
// the ring no longer holds the entry after cursor: read the store instead.
func (h *Hub) Since(cursor int64, f *eventlog.Filter, max int) (out []eventlog.Event, scanned int64, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	first := h.last - int64(len(h.ring)) + 1 // id of ring[0]
	if cursor < first-1 {
		return nil, cursor, false
	}
	scanned = cursor
	for i := int(cursor - first + 1); i >= 0 && i < len(h.ring) && len(out) < max; i++ {
		e := &h.ring[i]
		if f.Match(e) {
			out = append(out, *e)
		}
		scanned = e.ID
	}
	return out, scanned, true
}

// Wait returns a channel closed once the ring grows past cursor or the hub
// closes; and whether the hub is closed.
func (h *Hub) Wait(cursor int64) (<-chan struct{}, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, true
	}
	if h.last > cursor {
		c := make(chan struct{})
		close(c)
		return c, false
	}
	return h.changed, false
}
