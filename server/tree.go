package server

import (
	"context"
	"encoding/base64"
	"fmt"
	"time"

	"golang.org/x/mod/sumdb/note"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/eventlog/eventlog"
	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
)

// treeStore is a store that keeps the log's Merkle tree.
type treeStore interface {
	TreeHead(ctx context.Context) (eventlog.TreeHead, error)
	Integrate(ctx context.Context) (eventlog.TreeHead, error)
	InclusionProof(ctx context.Context, id, treeSize int64) ([][]byte, error)
	ConsistencyProof(ctx context.Context, from, to int64) ([][]byte, error)
}

// checkpoint is a signed statement of the tree's size and root.
type checkpoint struct {
	head eventlog.TreeHead
	note string // the signed note
}

// CheckpointText is the body of a checkpoint in the C2SP tlog-checkpoint
// format: the log's origin, the tree size and the base64 root hash, one a
// line.
func CheckpointText(origin string, h eventlog.TreeHead) string {
	return fmt.Sprintf("%s\n%d\n%s\n", origin, h.Size, base64.StdEncoding.EncodeToString(h.Root))
}

// integrator adds committed entries to the tree at once and then every
// interval and, with a signer, signs a checkpoint of each new size, until
// stop is closed.
func (s *Server) integrator(ts treeStore, interval time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(interval)
	defer t.Stop()
	size := int64(-1) // the tree's size after the last call, -1 before the first
	for {
		size = s.integrate(ts, stop, size)
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

// integrateBacklog is the number of entries from which one Integrate call
// is taken to be catching up on a backlog (a log that had entries before it
// had a tree, or writes faster than the interval): the next call follows at
// once. Below it, the rest waits for the next tick.
const integrateBacklog = 5_000

// integrate brings the tree up to the log's head, a bounded number of
// entries a call, and signs a checkpoint of it when it grew. size is the
// tree's size after the last call (-1 if none), and it returns the new one.
//
// While entries keep coming, each call finds some new ones, so integrate
// goes on calling only while calls add a backlog's worth (a log upgraded
// with many entries catches up over many calls, stopping when stop
// closes). Calling until a call found nothing had integrate run without
// pause under steady writes, each call paying its round trips to the
// database for the few entries of the last commit: 8% of the server's
// processor time on single writes.
func (s *Server) integrate(ts treeStore, stop <-chan struct{}, size int64) int64 {
	head := eventlog.TreeHead{Size: size}
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		h, err := ts.Integrate(ctx)
		cancel()
		if err != nil {
			s.log.Warn("integrate entries into the Merkle tree; trying again later", "err", err)
			return head.Size
		}
		before := head.Size
		head = h
		if before >= 0 && h.Size-before < integrateBacklog {
			break
		}
		select {
		case <-stop:
			return head.Size
		default:
		}
	}
	if s.signer == nil {
		return head.Size
	}
	if cp := s.checkpoint.Load(); cp != nil && cp.head.Size == head.Size {
		return head.Size
	}
	signed, err := note.Sign(&note.Note{Text: CheckpointText(s.signer.Name(), head)}, s.signer)
	if err != nil {
		s.log.Error("sign a checkpoint", "err", err)
		return head.Size
	}
	s.checkpoint.Store(&checkpoint{head: head, note: string(signed)})
	return head.Size
}

func (s *Server) trees() (treeStore, error) {
	ts, ok := s.store.(treeStore)
	if !ok {
		return nil, status.Error(codes.Unimplemented, "this store keeps no Merkle tree")
	}
	return ts, nil
}

// GetCheckpoint returns the newest signed checkpoint.
func (s *Server) GetCheckpoint(ctx context.Context, _ *eventlogv1.GetCheckpointRequest) (*eventlogv1.GetCheckpointResponse, error) {
	if s.signer == nil {
		return nil, status.Error(codes.FailedPrecondition,
			"this server signs no checkpoints: start it with --signing-key FILE (eventlog keys signing new makes one)")
	}
	cp := s.checkpoint.Load()
	if cp == nil {
		return nil, status.Error(codes.Unavailable, "no checkpoint yet: the tree has not been integrated; retry in a moment")
	}
	return &eventlogv1.GetCheckpointResponse{Checkpoint: cp.note, TreeSize: cp.head.Size, RootHash: cp.head.Root}, nil
}

// GetInclusionProof proves that an entry is in the tree of a size.
func (s *Server) GetInclusionProof(ctx context.Context, req *eventlogv1.GetInclusionProofRequest) (*eventlogv1.GetInclusionProofResponse, error) {
	ts, err := s.trees()
	if err != nil {
		return nil, err
	}
	if req.GetId() <= 0 {
		return nil, s.fail(ctx, "GetInclusionProof", eventlog.Invalid("id", "must be a positive entry id, got %d", req.GetId()))
	}
	size, err := s.treeSize(ctx, ts, "tree_size", req.GetTreeSize())
	if err != nil {
		return nil, s.fail(ctx, "GetInclusionProof", err)
	}
	// The proof first: for an entry a prune removed it says so.
	hashes, err := ts.InclusionProof(ctx, req.GetId(), size)
	if err != nil {
		return nil, s.fail(ctx, "GetInclusionProof", err)
	}
	e, err := s.store.Get(ctx, req.GetId())
	if err != nil {
		return nil, s.fail(ctx, "GetInclusionProof", err)
	}
	return &eventlogv1.GetInclusionProofResponse{LeafIndex: req.GetId() - 1, TreeSize: size, LeafHash: eventlog.LeafHash(e.Hash), Hashes: hashes}, nil
}

// GetConsistencyProof proves that the tree of one size is a prefix of the
// tree of another.
func (s *Server) GetConsistencyProof(ctx context.Context, req *eventlogv1.GetConsistencyProofRequest) (*eventlogv1.GetConsistencyProofResponse, error) {
	ts, err := s.trees()
	if err != nil {
		return nil, err
	}
	to, err := s.treeSize(ctx, ts, "to_size", req.GetToSize())
	if err != nil {
		return nil, s.fail(ctx, "GetConsistencyProof", err)
	}
	if req.GetFromSize() < 1 || req.GetFromSize() > to {
		return nil, s.fail(ctx, "GetConsistencyProof", eventlog.Invalid("from_size", "want 1 to to_size (%d), got %d", to, req.GetFromSize()))
	}
	hashes, err := ts.ConsistencyProof(ctx, req.GetFromSize(), to)
	if err != nil {
		return nil, s.fail(ctx, "GetConsistencyProof", err)
	}
	return &eventlogv1.GetConsistencyProofResponse{FromSize: req.GetFromSize(), ToSize: to, Hashes: hashes}, nil
}

// treeSize is size, or the tree's size now when it is 0.
func (s *Server) treeSize(ctx context.Context, ts treeStore, field string, size int64) (int64, error) {
	if size < 0 {
		return 0, eventlog.Invalid(field, "must not be negative, got %d", size)
	}
	if size > 0 {
		return size, nil
	}
	h, err := ts.TreeHead(ctx)
	if err != nil {
		return 0, err
	}
	if h.Size == 0 {
		return 0, eventlog.Invalid(field, "the tree is empty: no entry has been integrated yet")
	}
	return h.Size, nil
}
