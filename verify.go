package eventlog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"math"
	"time"
)

// Head is the log's head row, as the store keeps it: the id and hash of the
// last entry appended. Every append moves it in the same transaction as it
// inserts the entries, so it always names the last entry of an intact log.
type Head struct {
	LastID   int64
	LastHash []byte
	// MaxID is the largest id among the stored entries, read together with
	// the head: anything above LastID was inserted without moving the head.
	MaxID int64
	// PrunedThrough is the last id that retention removed, 0 when none
	// was, and PrunedHash its hash: the chain goes on from them (see
	// Anchor).
	PrunedThrough int64
	PrunedHash    []byte
}

// Anchor records a prune: entries up to ThroughID were removed, and the
// log now starts after them. The next entry's prev_hash is ThroughHash,
// and TreeRange holds the Merkle tree's subtree hashes covering leaves
// [0, ThroughID), largest first, from which the roots of larger trees are
// still computed: a saved checkpoint still shows whether the log that
// remains extends it.
type Anchor struct {
	ThroughID   int64
	ThroughHash []byte
	TreeRange   [][]byte
	// Entries is the number of entries this prune removed.
	Entries int64
	// Before is the cutoff asked for; every removed entry is older.
	Before time.Time
	// PrunedAt and PrunedBy say when, and by which database role and
	// operator, the prune was made.
	PrunedAt time.Time
	PrunedBy string
}

// CorruptError says that something stored cannot be read back as what it
// should be: a row whose event type is not a known one, a case-folded
// column that does not match its field, a missing head row. ID is the
// entry's id, or 0 for the head row.
type CorruptError struct {
	ID      int64
	Problem string
}

func (e *CorruptError) Error() string {
	if e.ID == 0 {
		return "log head: " + e.Problem
	}
	return fmt.Sprintf("entry %d: %s", e.ID, e.Problem)
}

// ChainReader is what VerifyChain reads the log through.
type ChainReader interface {
	// ChainHead returns the head row and the largest stored id, read in one
	// snapshot. A missing head row is a *CorruptError.
	ChainHead(ctx context.Context) (Head, error)
	// ReadChain returns up to limit entries with after < id <= upTo, in
	// id order. When a row cannot be read as an entry it returns the
	// entries before it and a *CorruptError naming it.
	ReadChain(ctx context.Context, after, upTo int64, limit int) ([]Event, error)
}

// BreakKind says how the chain is broken at an entry.
type BreakKind uint8

// The kinds of break VerifyChain reports.
const (
	// BreakChanged: the entry's stored hash does not match its content and
	// prev_hash, so a field or the hash itself was changed, or the stored
	// row cannot be read as an entry at all.
	BreakChanged BreakKind = iota + 1
	// BreakReordered: the entry's content hashes correctly under another
	// id: entries were moved or swapped.
	BreakReordered
	// BreakLink: the entry hashes correctly, but its prev_hash is not the
	// hash of the entry before it: it, or the entry before it, was
	// rewritten with a recomputed hash.
	BreakLink
	// BreakMissing: ids are missing in the middle of the range.
	BreakMissing
	// BreakTruncated: entries at the end of the log are missing: the head
	// names a later entry than the last one stored.
	BreakTruncated
	// BreakHead: the head's hash is not the hash of the last entry (the
	// last entry was rewritten with a recomputed hash, or the head was
	// changed), or the head row is missing.
	BreakHead
	// BreakAfterHead: an entry was stored after the head's last id
	// without moving the head.
	BreakAfterHead
)

var breakNames = [...]string{
	BreakChanged:   "changed entry",
	BreakReordered: "reordered entries",
	BreakLink:      "broken link",
	BreakMissing:   "missing entries",
	BreakTruncated: "truncated tail",
	BreakHead:      "head mismatch",
	BreakAfterHead: "entry after the head",
}

func (k BreakKind) String() string {
	if k > 0 && int(k) < len(breakNames) {
		return breakNames[k]
	}
	return fmt.Sprintf("BreakKind(%d)", k)
}

// ChainBreak is the first place where the chain does not hold.
type ChainBreak struct {
	// ID is the first bad id: the entry that fails, or the first missing
	// id. It is 0 for a problem with the head row itself.
	ID      int64
	Kind    BreakKind
	Problem string
}

func (b *ChainBreak) Error() string {
	return fmt.Sprintf("entry %d: %s: %s", b.ID, b.Kind, b.Problem)
}

// VerifyOptions says which part of the log VerifyChain checks.
type VerifyOptions struct {
	// Start is the first id to check; 0 or 1 starts at the first entry.
	Start int64
	// End is the last id to check, inclusive; 0 means the end of the log.
	// A range that reaches the end of the log also checks the head.
	End int64
	// MaxEntries, when positive, stops the check after that many entries;
	// VerifyResult.Next then says where to continue.
	MaxEntries int64
	// PageSize is the number of entries read at a time; 2,000 when 0.
	PageSize int
	// Progress, when set, is called after each page with the number of
	// entries checked so far and the last id checked.
	Progress func(checked, lastID int64)
}

// DefaultVerifyPageSize is the number of entries VerifyChain reads at a
// time unless told otherwise.
const DefaultVerifyPageSize = 2000

// VerifyResult is what VerifyChain found.
type VerifyResult struct {
	// Start and End are the first and last ids checked; End is Start-1
	// when nothing was checked.
	Start, End int64
	// Checked is the number of entries checked.
	Checked int64
	// EndHash is the hash of entry End: a value to record, against which a
	// later check of the same entry can be compared.
	EndHash []byte
	// Head is the head as read when the check started.
	Head Head
	// StartedAtPrune says that the check started after the pruned part
	// of the log (Head.PrunedThrough), from the anchor's hash.
	StartedAtPrune bool
	// HeadChecked says that the range reached the end of the log and the
	// head was compared with the last entry.
	HeadChecked bool
	// Next is the first id still to check when MaxEntries stopped the check
	// early, and 0 otherwise.
	Next int64
	// Break is the first break found, or nil when the range is intact.
	Break *ChainBreak
}

// movedWindow bounds how far from its place VerifyChain looks for the id
// under which a changed entry would hash correctly.
const movedWindow = 1024

// VerifyChain walks the entries in the range opts names, oldest first, a
// page at a time, and checks that
//
//   - the ids follow each other with no gap;
//   - every entry's hash is ChainHash(prev_hash, entry);
//   - every entry's prev_hash is the hash of the entry before it (the
//     genesis hash for entry 1);
//   - when the range reaches the end of the log, the head's last id and
//     hash are those of the last entry, and no entry follows the head.
//
// It stops at the first break and reports it in VerifyResult.Break; an
// error means that the check itself could not be done. Only entries up to
// the head as read at the start are checked, so appends running at the same
// time do not disturb it.
func VerifyChain(ctx context.Context, r ChainReader, opts VerifyOptions) (VerifyResult, error) {
	start := max(opts.Start, 1)
	if opts.End < 0 {
		return VerifyResult{}, Invalid("end_id", "must not be negative, got %d", opts.End)
	}
	if opts.End != 0 && opts.End < start {
		return VerifyResult{}, Invalid("end_id", "must not be before start_id (%d), got %d", start, opts.End)
	}
	pageSize := opts.PageSize
	if pageSize <= 0 {
		pageSize = DefaultVerifyPageSize
	}
	res := VerifyResult{Start: start, End: start - 1}

	head, err := r.ChainHead(ctx)
	var corrupt *CorruptError
	if errors.As(err, &corrupt) {
		res.Break = &ChainBreak{ID: corrupt.ID, Kind: BreakHead, Problem: corrupt.Problem}
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("verify: %w", err)
	}
	res.Head = head
	if start <= head.PrunedThrough {
		// The entries before are gone: the chain goes on from the anchor.
		start = head.PrunedThrough + 1
		res.Start, res.End, res.StartedAtPrune = start, start-1, true
		if opts.End != 0 && opts.End < start {
			return res, &PrunedError{Through: head.PrunedThrough, What: fmt.Sprintf("entries up to %d", opts.End)}
		}
	}
	if start > head.LastID+1 {
		return res, Invalid("start_id", "the log ends at entry %d, got %d", head.LastID, start)
	}
	toEnd := opts.End == 0 || opts.End >= head.LastID
	end := head.LastID
	if !toEnd {
		end = opts.End
	}

	w := walk{r: r, res: &res, expect: start, prevHash: GenesisHash}
	if res.StartedAtPrune {
		w.prevHash = head.PrunedHash
	} else if start > 1 {
		if done, err := w.anchor(ctx); done || err != nil {
			return res, err
		}
	}
	res.EndHash = w.prevHash

	pages, stop := readAhead(ctx, r, start-1, end, pageSize, opts.MaxEntries)
	defer stop()
	for p := range pages {
		if p.err != nil && !errors.As(p.err, &corrupt) {
			return res, fmt.Errorf("verify: read entries after %d: %w", w.expect-1, p.err)
		}
		for i := range p.events {
			if w.check(&p.events[i]) {
				return res, nil
			}
		}
		if p.err != nil {
			// The row after the last good one cannot be read.
			if w.gap(corrupt.ID) {
				return res, nil
			}
			res.Break = &ChainBreak{ID: corrupt.ID, Kind: BreakChanged, Problem: corrupt.Problem}
			return res, nil
		}
		if opts.Progress != nil {
			opts.Progress(res.Checked, res.End)
		}
	}
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("verify: %w", err)
	}
	if opts.MaxEntries > 0 && res.Checked >= opts.MaxEntries && w.expect <= end {
		res.Next = w.expect
		return res, nil
	}

	if w.expect <= end {
		missing := rangeText(w.expect, end)
		if toEnd {
			res.Break = &ChainBreak{ID: w.expect, Kind: BreakTruncated, Problem: fmt.Sprintf(
				"%s missing at the end of the log: the head records last id %d, but the last entry is %d",
				missing, head.LastID, w.expect-1)}
		} else {
			res.Break = &ChainBreak{ID: w.expect, Kind: BreakMissing, Problem: fmt.Sprintf(
				"%s missing: no entry follows entry %d up to %d", missing, w.expect-1, end)}
		}
		return res, nil
	}
	if !toEnd {
		return res, nil
	}
	res.HeadChecked = true
	if !bytes.Equal(head.LastHash, w.prevHash) {
		what := fmt.Sprintf("the hash of entry %d", head.LastID)
		if head.LastID == 0 {
			what = "the genesis hash of an empty log"
		}
		res.Break = &ChainBreak{ID: head.LastID, Kind: BreakHead, Problem: fmt.Sprintf(
			"the head's hash %s is not %s (%s): the last entry was rewritten with a recomputed hash, or the head was changed",
			HashString(head.LastHash), what, HashString(w.prevHash))}
		return res, nil
	}
	if head.MaxID > head.LastID {
		extra, err := r.ReadChain(ctx, head.LastID, math.MaxInt64, 1)
		id := head.MaxID
		if len(extra) > 0 {
			id = extra[0].ID
		} else if errors.As(err, &corrupt) {
			id = corrupt.ID
		} else if err != nil {
			return res, fmt.Errorf("verify: read entries after the head: %w", err)
		}
		res.Break = &ChainBreak{ID: id, Kind: BreakAfterHead, Problem: fmt.Sprintf(
			"entry %d is stored after the head (last id %d): it was inserted without an append", id, head.LastID)}
	}
	return res, nil
}

// page is one read of a walk: entries, or the error that ended the reads.
type page struct {
	events []Event
	err    error
}

// readAhead reads the entries after < id <= end in pages, in order, one
// page ahead of the caller, so that the next read overlaps the checks of
// the current page. It stops after maxEntries entries when that is
// positive, after an empty page or an error, and when ctx ends; stop ends it
// and waits for it.
func readAhead(ctx context.Context, r ChainReader, after, end int64, pageSize int, maxEntries int64) (<-chan page, func()) {
	ctx, cancel := context.WithCancel(ctx)
	out := make(chan page, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(out)
		var read int64
		for after < end {
			limit := int64(pageSize)
			if maxEntries > 0 {
				if limit = min(limit, maxEntries-read); limit <= 0 {
					return
				}
			}
			events, err := r.ReadChain(ctx, after, end, int(limit))
			select {
			case out <- page{events, err}:
			case <-ctx.Done():
				return
			}
			if err != nil || len(events) == 0 {
				return
			}
			read += int64(len(events))
			after = events[len(events)-1].ID
		}
	}()
	return out, func() { cancel(); <-done }
}

// walk is the state of one VerifyChain run.
type walk struct {
	r        ChainReader
	res      *VerifyResult
	expect   int64  // the next id the chain must hold
	prevHash []byte // the hash of entry expect-1

	h   hash.Hash // reused for every entry: ChainHash without allocations
	buf []byte
	sum [HashSize]byte
}

// chainHash is ChainHash(prev, e), valid until the next call.
func (w *walk) chainHash(prev []byte, e *Event) []byte {
	if w.h == nil {
		w.h = sha256.New()
	}
	w.buf = AppendCanonical(w.buf[:0], e)
	w.h.Reset()
	w.h.Write(prev)
	w.h.Write(w.buf)
	return w.h.Sum(w.sum[:0])
}

// anchor reads the entry before the range, whose hash the first entry of
// the range must carry as its prev_hash. It reports true when that entry
// is itself a break.
func (w *walk) anchor(ctx context.Context) (bool, error) {
	id := w.expect - 1
	page, err := w.r.ReadChain(ctx, id-1, id, 1)
	var corrupt *CorruptError
	switch {
	case errors.As(err, &corrupt):
		w.res.Break = &ChainBreak{ID: corrupt.ID, Kind: BreakChanged, Problem: corrupt.Problem + " (the entry before the range)"}
		return true, nil
	case err != nil:
		return false, fmt.Errorf("verify: read entry %d: %w", id, err)
	case len(page) == 0:
		w.res.Break = &ChainBreak{ID: id, Kind: BreakMissing, Problem: fmt.Sprintf(
			"entry %d, the one before the range, is missing", id)}
		return true, nil
	}
	w.prevHash = page[0].Hash
	return false, nil
}

// gap reports a break when id is not the next one expected.
func (w *walk) gap(id int64) bool {
	switch {
	case id == w.expect:
		return false
	case id < w.expect:
		w.res.Break = &ChainBreak{ID: id, Kind: BreakReordered, Problem: fmt.Sprintf(
			"entry %d was read after entry %d: ids out of order", id, w.expect-1)}
	default:
		w.res.Break = &ChainBreak{ID: w.expect, Kind: BreakMissing, Problem: fmt.Sprintf(
			"%s missing: entry %d follows entry %d", rangeText(w.expect, id-1), id, w.expect-1)}
	}
	return true
}

// check checks one entry and reports true at a break.
func (w *walk) check(e *Event) bool {
	if w.gap(e.ID) {
		return true
	}
	if want := w.chainHash(e.PrevHash, e); !bytes.Equal(want, e.Hash) {
		if id, ok := movedFrom(e); ok {
			w.res.Break = &ChainBreak{ID: e.ID, Kind: BreakReordered, Problem: fmt.Sprintf(
				"entry %d holds the entry written as id %d: entries were moved or swapped", e.ID, id)}
			return true
		}
		w.res.Break = &ChainBreak{ID: e.ID, Kind: BreakChanged, Problem: fmt.Sprintf(
			"the stored hash %s does not match the entry's content (%s): a field or the hash was changed", HashString(e.Hash), HashString(want))}
		return true
	}
	if !bytes.Equal(e.PrevHash, w.prevHash) {
		before := fmt.Sprintf("the hash of entry %d", e.ID-1)
		switch {
		case e.ID == 1:
			before = "the genesis hash"
		case e.ID-1 == w.res.Head.PrunedThrough:
			before = fmt.Sprintf("the hash of entry %d as the prune that removed it recorded", e.ID-1)
		}
		w.res.Break = &ChainBreak{ID: e.ID, Kind: BreakLink, Problem: fmt.Sprintf(
			"prev_hash %s is not %s (%s): this entry or the one before it was rewritten with a recomputed hash",
			HashString(e.PrevHash), before, HashString(w.prevHash))}
		return true
	}
	w.prevHash = e.Hash
	w.expect++
	w.res.Checked++
	w.res.End = e.ID
	w.res.EndHash = e.Hash
	return false
}

// movedFrom looks for an id near e.ID under which e hashes correctly: the
// id it was written with, when entries were moved.
func movedFrom(e *Event) (int64, bool) {
	c := *e
	for d := int64(1); d <= movedWindow; d++ {
		for _, id := range [2]int64{e.ID - d, e.ID + d} {
			if id <= 0 {
				continue
			}
			c.ID = id
			if bytes.Equal(ChainHash(c.PrevHash, &c), e.Hash) {
				return id, true
			}
		}
	}
	return 0, false
}

func rangeText(from, to int64) string {
	if from == to {
		return fmt.Sprintf("entry %d is", from)
	}
	return fmt.Sprintf("entries %d to %d are", from, to)
}
