package client

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"

	"github.com/eventlog/eventlog"
	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
)

// Checkpoint is a signed statement of the log's Merkle tree: its origin
// (the log's name), size and root hash. Note is the signed note it was read
// from, to keep.
type Checkpoint struct {
	Origin string
	Size   int64
	Root   []byte
	Note   string
}

// ErrRolledBack means that the log no longer extends a checkpoint it
// signed or that was kept of it: entries were removed or rewritten.
var ErrRolledBack = errors.New("the log does not extend the checkpoint")

// ParseVerifierKey parses a verifier key as "eventlog keys signing new"
// prints it (a note verifier key: NAME+HASH+KEY).
func ParseVerifierKey(key string) (note.Verifier, error) {
	v, err := note.NewVerifier(strings.TrimSpace(key))
	if err != nil {
		return nil, fmt.Errorf("verifier key: %w", err)
	}
	return v, nil
}

// ParseCheckpoint checks that text is a checkpoint signed by verifier and
// returns it. The origin must be the verifier's name.
func ParseCheckpoint(text string, verifier note.Verifier) (Checkpoint, error) {
	n, err := note.Open([]byte(text), note.VerifierList(verifier))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("checkpoint: %w", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 || lines[len(lines)-1] != "" {
		return Checkpoint{}, errors.New("checkpoint: want an origin, a size and a root hash, one a line")
	}
	cp := Checkpoint{Origin: lines[0], Note: text}
	if cp.Origin != verifier.Name() {
		return Checkpoint{}, fmt.Errorf("checkpoint: origin %q is not the key's name %q", cp.Origin, verifier.Name())
	}
	if cp.Size, err = strconv.ParseInt(lines[1], 10, 64); err != nil || cp.Size < 0 {
		return Checkpoint{}, fmt.Errorf("checkpoint: size %q is not a number of entries", lines[1])
	}
	if cp.Root, err = base64.StdEncoding.DecodeString(lines[2]); err != nil || len(cp.Root) != 32 {
		return Checkpoint{}, fmt.Errorf("checkpoint: root hash %q is not 32 bytes of base64", lines[2])
	}
	return cp, nil
}

// Checkpoint returns the server's newest checkpoint, checked against
// verifier.
func (c *Client) Checkpoint(ctx context.Context, verifier note.Verifier) (Checkpoint, error) {
	cctx, cancel := c.callContext(ctx)
	defer cancel()
	resp, err := c.rpc.GetCheckpoint(cctx, &eventlogv1.GetCheckpointRequest{})
	if err != nil {
		return Checkpoint{}, callError(err)
	}
	return ParseCheckpoint(resp.GetCheckpoint(), verifier)
}

// VerifyConsistency checks, with a proof from the server, that the log of
// checkpoint newer extends the log of checkpoint older: that nothing in
// older was removed or changed. A newer that is smaller, or of the same
// size with another root, is ErrRolledBack without asking.
func (c *Client) VerifyConsistency(ctx context.Context, older, newer Checkpoint) error {
	switch {
	case newer.Size < older.Size:
		return fmt.Errorf("%w: it has %d entries, the checkpoint %d", ErrRolledBack, newer.Size, older.Size)
	case newer.Size == older.Size:
		if !bytes.Equal(newer.Root, older.Root) {
			return fmt.Errorf("%w: %d entries either way, but another root hash", ErrRolledBack, newer.Size)
		}
		return nil
	case older.Size == 0:
		return nil
	}
	cctx, cancel := c.callContext(ctx)
	defer cancel()
	resp, err := c.rpc.GetConsistencyProof(cctx, &eventlogv1.GetConsistencyProofRequest{FromSize: older.Size, ToSize: newer.Size})
	if err != nil {
		return callError(err)
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, uint64(older.Size), uint64(newer.Size), resp.GetHashes(), older.Root, newer.Root); err != nil {
		return fmt.Errorf("%w: the consistency proof from %d to %d entries fails: %v", ErrRolledBack, older.Size, newer.Size, err)
	}
	return nil
}

// VerifyInclusion checks, with a proof from the server, that e is the
// entry of its id in the log of checkpoint cp.
func (c *Client) VerifyInclusion(ctx context.Context, e eventlog.Event, cp Checkpoint) error {
	if e.ID < 1 || e.ID > cp.Size {
		return fmt.Errorf("entry %d is not covered by a checkpoint of %d entries", e.ID, cp.Size)
	}
	cctx, cancel := c.callContext(ctx)
	defer cancel()
	resp, err := c.rpc.GetInclusionProof(cctx, &eventlogv1.GetInclusionProofRequest{Id: e.ID, TreeSize: cp.Size})
	if err != nil {
		return callError(err)
	}
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(e.ID-1), uint64(cp.Size), eventlog.LeafHash(e.Hash), resp.GetHashes(), cp.Root); err != nil {
		return fmt.Errorf("entry %d is not in the log of the checkpoint: %w", e.ID, err)
	}
	return nil
}

// TreeBuilder computes the root hash of the Merkle tree of a log from its
// entries, in id order, in memory of the order of log2 of their number:
// what an auditor with a copy of the entries compares with a checkpoint.
type TreeBuilder struct {
	r *compact.Range
}

// NewTreeBuilder returns a builder of the empty tree.
func NewTreeBuilder() *TreeBuilder {
	f := &compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
	return &TreeBuilder{r: f.NewEmptyRange(0)}
}

// NewTreeBuilderAfter returns a builder that starts after the entries a
// prune removed, from the subtree hashes its anchor recorded: the roots it
// computes are those of the whole log, removed entries included, so they
// compare with checkpoints signed before the prune.
func NewTreeBuilderAfter(a *eventlog.Anchor) (*TreeBuilder, error) {
	f := &compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
	r, err := f.NewRange(0, uint64(a.ThroughID), a.TreeRange)
	if err != nil {
		return nil, fmt.Errorf("the prune anchor at entry %d: its tree hashes do not cover entries 1 to %d: %w", a.ThroughID, a.ThroughID, err)
	}
	return &TreeBuilder{r: r}, nil
}

// Add adds the next entry, by its chain hash.
func (b *TreeBuilder) Add(chainHash []byte) {
	b.r.Append(eventlog.LeafHash(chainHash), nil)
}

// Size returns the number of entries added.
func (b *TreeBuilder) Size() int64 { return int64(b.r.End()) }

// Root returns the root hash of the tree of the entries added.
func (b *TreeBuilder) Root() []byte {
	root, _ := b.r.GetRootHash(nil)
	if root == nil {
		return rfc6962.DefaultHasher.EmptyRoot()
	}
	return root
}
