package eventlog

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"
)

// CanonicalVersion is the version of the canonical form below. It is the
// first byte of every canonical encoding, so that a future form can be told
// apart from this one.
const CanonicalVersion = 1

// HashSize is the size of Event.Hash and Event.PrevHash.
const HashSize = sha256.Size

// HashString is the form in which the API (protobuf's JSON, the REST
// gateway), the command line and verification messages show a hash:
// standard base64, as in an entry's "hash" and "prevHash" fields.
func HashString(h []byte) string { return base64.StdEncoding.EncodeToString(h) }

// GenesisHash is the PrevHash of the first entry of a log: 32 zero bytes.
var GenesisHash = make([]byte, HashSize)

// AppendCanonical appends the canonical form of e to buf and returns the
// extended buffer. The form covers every stored field except the hashes
// themselves, in a fixed order:
//
//	version (1 byte, CanonicalVersion)
//	id (int64), time (int64 Unix microseconds),
//	occurred_time (int64 Unix microseconds, 0 when absent),
//	event_type, actor id, actor name, actor kind,
//	content_type, object_id, object_repr, details,
//	source_id (int64),
//	request remote_addr, method, path, protocol, status (int64),
//	user_agent, request_id,
//	idempotency_key
//
// Integers are 8 bytes big-endian; strings and details are a uvarint byte
// length followed by the bytes. Types and kinds use their stored names
// (EventType.String, ActorKind.String).
func AppendCanonical(buf []byte, e *Event) []byte {
	buf = append(buf, CanonicalVersion)
	buf = binary.BigEndian.AppendUint64(buf, uint64(e.ID))
	buf = binary.BigEndian.AppendUint64(buf, uint64(micros(e.Time)))
	buf = binary.BigEndian.AppendUint64(buf, uint64(micros(e.OccurredTime)))
	buf = appendString(buf, e.Type.String())
	buf = appendString(buf, e.Actor.ID)
	buf = appendString(buf, e.Actor.Name)
	buf = appendString(buf, e.Actor.Kind.String())
	buf = appendString(buf, e.ContentType)
	buf = appendString(buf, e.ObjectID)
	buf = appendString(buf, e.ObjectRepr)
	buf = binary.AppendUvarint(buf, uint64(len(e.Details)))
	buf = append(buf, e.Details...)
	buf = binary.BigEndian.AppendUint64(buf, uint64(e.SourceID))
	buf = appendString(buf, e.Request.RemoteAddr)
	buf = appendString(buf, e.Request.Method)
	buf = appendString(buf, e.Request.Path)
	buf = appendString(buf, e.Request.Protocol)
	buf = binary.BigEndian.AppendUint64(buf, uint64(int64(e.Request.Status)))
	buf = appendString(buf, e.Request.UserAgent)
	buf = appendString(buf, e.Request.RequestID)
	buf = appendString(buf, e.IdempotencyKey)
	return buf
}

func appendString(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

// micros returns t as Unix microseconds, or 0 for the zero time.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// ChainHash returns SHA-256(prev || canonical form of e), the value of
// e.Hash when e follows an entry whose hash is prev.
func ChainHash(prev []byte, e *Event) []byte {
	// One buffer and sha256.Sum256, whose state stays on the stack: a
	// hash.Hash and its Sum allocate twice more, for every entry written.
	b := AppendCanonical(append(make([]byte, 0, len(prev)+256+len(e.Details)), prev...), e)
	sum := sha256.Sum256(b)
	return sum[:]
}

// Seal sets e.PrevHash to prev and e.Hash to ChainHash(prev, e).
func Seal(prev []byte, e *Event) {
	e.PrevHash = append([]byte(nil), prev...)
	e.Hash = ChainHash(prev, e)
}

// CanonicalJSON checks that raw is a JSON object and returns it in the form
// stored and hashed: object keys sorted, no insignificant space, numbers as
// written. The same input always gives the same bytes.
func CanonicalJSON(raw []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("not a JSON object: trailing data")
	}
	if v == nil {
		return nil, fmt.Errorf("not a JSON object: null")
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(out.Bytes(), []byte("\n")), nil
}

// LeafHash is the Merkle tree's leaf hash of an entry whose chain hash is
// chainHash: RFC 6962's SHA-256(0x00 || data), the data being the chain
// hash, which covers every field of the entry and the chain before it.
func LeafHash(chainHash []byte) []byte {
	var b [1 + HashSize]byte // 0x00, then the hash
	sum := sha256.Sum256(append(b[:1], chainHash...))
	return sum[:]
}

// TreeHead is the state of the log's Merkle tree (RFC 6962) over its
// entries in id order: how many entries it covers, and its root hash.
type TreeHead struct {
	Size int64
	Root []byte
}
