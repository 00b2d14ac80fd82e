package store_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/bits"
	"strings"
	"testing"

	"github.com/eventlog/eventlog"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

var treeTests = []struct {
	name string
	fn   func(t *testing.T, b backend)
}{
	{"MerkleTreeProofs", testMerkleTree},
	{"MerkleTreeNodesAppendOnly", testMerkleNodesAppendOnly},
	{"MerkleTreeOverStoredHashes", testMerkleTreeOverStoredHashes},
}

// The tree takes the entries' hashes as stored, whatever they are (the
// chain's verification is what finds them changed), and refuses to go on
// over a missing entry. Hashes of other lengths that add up to whole ones,
// and a gap, are what a faster way of reading the leaves must not hide.
func testMerkleTreeOverStoredHashes(t *testing.T, b backend) {
	ctx := context.Background()
	for _, tt := range []struct {
		name    string
		edit    func(t *testing.T, x *tamperEnv)
		missing int64 // the entry Integrate reports missing; 0: none
	}{
		{name: "as written", edit: func(*testing.T, *tamperEnv) {}},
		{name: "hashes of 31 and 33 bytes", edit: func(t *testing.T, x *tamperEnv) {
			x.set(t, 3, "hash", bytes.Repeat([]byte{3}, eventlog.HashSize-1))
			x.set(t, 4, "hash", bytes.Repeat([]byte{4}, eventlog.HashSize+1))
		}},
		{name: "hash changed", edit: func(t *testing.T, x *tamperEnv) {
			x.set(t, 7, "hash", bytes.Repeat([]byte{7}, eventlog.HashSize))
		}},
		{name: "entry deleted", edit: func(t *testing.T, x *tamperEnv) {
			x.exec(t, `DELETE FROM events WHERE id = 10`)
		}, missing: 10},
	} {
		t.Run(strings.ReplaceAll(tt.name, " ", "_"), func(t *testing.T) {
			dsn := b.newDSN(t)
			s := open(t, dsn, nil)
			events := make([]eventlog.Event, 20)
			for i := range events {
				events[i] = ev(eventlog.TypeEdit, "alice", "Note", fmt.Sprint(i))
			}
			mustAppend(t, s, events...)
			x := &tamperEnv{db: rawDB(t, b, dsn), b: b}
			b.unprotect(t, x.db)
			tt.edit(t, x)
			var stored [][]byte
			if err := x.db.Select(&stored, `SELECT hash FROM events ORDER BY id`); err != nil {
				t.Fatal(err)
			}

			h, err := s.Integrate(ctx)
			if tt.missing != 0 {
				var corrupt *eventlog.CorruptError
				if !errors.As(err, &corrupt) || corrupt.ID != tt.missing {
					t.Fatalf("Integrate = %+v, %v; want a CorruptError for entry %d", h, err, tt.missing)
				}
				return
			}
			if err != nil {
				t.Fatalf("Integrate: %v", err)
			}
			if h.Size != int64(len(stored)) || !bytes.Equal(h.Root, mth(stored)) {
				t.Errorf("Integrate = size %d root %x, want size %d root %x (over the hashes as stored)", h.Size, h.Root, len(stored), mth(stored))
			}
		})
	}
}

// mth is the Merkle tree hash of RFC 6962, section 2.1, computed from the
// definition: the reference the store's tree is checked against.
func mth(leaves [][]byte) []byte {
	switch n := len(leaves); n {
	case 0:
		h := sha256.Sum256(nil)
		return h[:]
	case 1:
		h := sha256.Sum256(append([]byte{0}, leaves[0]...))
		return h[:]
	default:
		k := 1 << (bits.Len(uint(n-1)) - 1) // the largest power of two below n
		h := sha256.Sum256(append(append([]byte{1}, mth(leaves[:k])...), mth(leaves[k:])...))
		return h[:]
	}
}

// The tree the store integrates has the root RFC 6962 defines at every
// size, and its inclusion and consistency proofs pass an independent
// verifier, for leaves and sizes across several integrations.
func testMerkleTree(t *testing.T, b backend) {
	ctx := context.Background()
	s := open(t, b.newDSN(t), nil)
	if h, err := s.TreeHead(ctx); err != nil || h.Size != 0 || fmt.Sprintf("%x", h.Root) != fmt.Sprintf("%x", mth(nil)) {
		t.Fatalf("TreeHead of an empty log = %+v, %v; want size 0 and the empty root", h, err)
	}
	var data [][]byte // leaf data: the entries' chain hashes
	n := 0
	for _, batch := range []int{1, 1, 2, 5, 17, 64, 3, 100, 47} {
		events := make([]eventlog.Event, batch)
		for i := range events {
			n++
			events[i] = ev(eventlog.TypeEdit, "alice", "Note", fmt.Sprint(n))
		}
		for _, e := range mustAppend(t, s, events...) {
			data = append(data, e.Hash)
		}
		if batch == 5 || batch == 3 {
			continue // integrated with the next batch
		}
		h, err := s.Integrate(ctx)
		if err != nil {
			t.Fatalf("Integrate: %v", err)
		}
		if h.Size != int64(len(data)) || fmt.Sprintf("%x", h.Root) != fmt.Sprintf("%x", mth(data)) {
			t.Fatalf("after integrating %d entries: head size %d root %x, want root %x", len(data), h.Size, h.Root, mth(data))
		}
		if again, err := s.Integrate(ctx); err != nil || again.Size != h.Size {
			t.Fatalf("Integrate with nothing new = %+v, %v; want the same head", again, err)
		}
	}
	size := int64(len(data))
	for _, treeSize := range []int64{1, 2, 3, 4, 5, 7, 8, 9, 26, 63, 64, 65, 91, 127, 128, 129, 190, size} {
		root := mth(data[:treeSize])
		for _, id := range []int64{1, 2, treeSize / 2, treeSize - 1, treeSize} {
			if id < 1 || id > treeSize {
				continue
			}
			p, err := s.InclusionProof(ctx, id, treeSize)
			if err != nil {
				t.Fatalf("InclusionProof(%d, %d): %v", id, treeSize, err)
			}
			if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(id-1), uint64(treeSize), eventlog.LeafHash(data[id-1]), p, root); err != nil {
				t.Errorf("inclusion of entry %d in the tree of %d: %v", id, treeSize, err)
			}
		}
		for _, from := range []int64{1, treeSize / 3, treeSize - 1, treeSize} {
			if from < 1 {
				continue
			}
			p, err := s.ConsistencyProof(ctx, from, treeSize)
			if err != nil {
				t.Fatalf("ConsistencyProof(%d, %d): %v", from, treeSize, err)
			}
			if err := proof.VerifyConsistency(rfc6962.DefaultHasher, uint64(from), uint64(treeSize), p, mth(data[:from]), root); err != nil {
				t.Errorf("consistency of %d with %d: %v", from, treeSize, err)
			}
		}
	}
	// A proof of an entry is no proof of another.
	p, _ := s.InclusionProof(ctx, 5, size)
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, 4, uint64(size), eventlog.LeafHash(data[5]), p, mth(data)); err == nil {
		t.Error("the proof of entry 5 verifies entry 6 as well")
	}
	for _, tt := range []struct {
		name  string
		call  func() error
		field string
	}{
		{"beyond the tree", func() error { _, err := s.InclusionProof(ctx, 1, size+1); return err }, "tree_size"},
		{"entry beyond the size", func() error { _, err := s.InclusionProof(ctx, 9, 8); return err }, "id"},
		{"consistency backwards", func() error { _, err := s.ConsistencyProof(ctx, 9, 8); return err }, "from_size"},
	} {
		var invalid *eventlog.InvalidError
		if err := tt.call(); !errors.As(err, &invalid) || invalid.Field != tt.field {
			t.Errorf("%s: error %v, want an InvalidError on %s", tt.name, err, tt.field)
		}
	}
}

// The tree's nodes, once written, cannot be changed or removed.
func testMerkleNodesAppendOnly(t *testing.T, b backend) {
	ctx := context.Background()
	dsn := b.newDSN(t)
	s := open(t, dsn, nil)
	events := make([]eventlog.Event, 40) // nodes of 16 and 32 entries are kept
	for i := range events {
		events[i] = ev(eventlog.TypeEdit, "alice", "Note", fmt.Sprint(i))
	}
	mustAppend(t, s, events...)
	if _, err := s.Integrate(ctx); err != nil {
		t.Fatal(err)
	}
	db := rawDB(t, b, dsn)
	var n int
	if err := db.Get(&n, `SELECT COUNT(*) FROM tree_nodes`); err != nil || n != 3 {
		t.Fatalf("tree_nodes holds %d rows (%v), want 3: two of 16 entries and one of 32", n, err)
	}
	for _, q := range []string{`UPDATE tree_nodes SET hash = hash`, `DELETE FROM tree_nodes`, `DELETE FROM tree_head`} {
		if _, err := db.Exec(q); err == nil {
			t.Errorf("%s succeeded, want it refused", q)
		}
	}
}
