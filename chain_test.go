package eventlog_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/eventlog/eventlog"
)

// The hashes are what their definitions say, byte for byte: a chain hash
// is SHA-256 over the previous hash and the entry's canonical form, and a
// leaf hash is RFC 6962's, SHA-256 over a zero byte and the chain hash.
// One value is pinned, so that a change of the canonical form shows too.
func TestHashes(t *testing.T) {
	e := eventlog.Event{
		ID: 7, Time: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC), Type: eventlog.TypeEdit,
		Actor:       eventlog.Actor{ID: "u1", Name: "alice", Kind: eventlog.ActorUser},
		ContentType: "Entry", ObjectID: "42", ObjectRepr: "Foo",
		Details: []byte(`{"a":1}`),
	}
	prev := bytes.Repeat([]byte{0xab}, eventlog.HashSize)

	want := sha256.Sum256(append(append([]byte(nil), prev...), eventlog.AppendCanonical(nil, &e)...))
	got := eventlog.ChainHash(prev, &e)
	if !bytes.Equal(got, want[:]) {
		t.Fatalf("ChainHash = %x, want %x", got, want)
	}
	// The value the earlier implementation (hash.Hash and Sum) gave.
	if pinned := "4a6171fa1eb303f45a42054db551512d5a18c0b2b5dabcb123ae2124fd34605d"; hex.EncodeToString(got) != pinned {
		t.Fatalf("ChainHash = %x, want %s", got, pinned)
	}
	leaf := sha256.Sum256(append([]byte{0}, got...))
	if l := eventlog.LeafHash(got); !bytes.Equal(l, leaf[:]) {
		t.Fatalf("LeafHash = %x, want %x", l, leaf)
	}
}
