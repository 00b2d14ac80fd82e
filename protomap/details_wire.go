package protomap

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// AppendCanonicalDetailsWire is AppendCanonicalDetails for a
// google.protobuf.Struct still in its protobuf wire form: it writes the
// canonical JSON straight from the bytes a client sent, without first
// building the Struct's maps and Value messages, which cost the server a
// fifth of its processor time on a large batch.
//
// The result, nul and error are exactly AppendCanonicalDetails' for the
// Struct that proto.Unmarshal makes of wire. Wire forms that encoders do
// not write in practice (a field repeated where it is singular, a map key
// given twice, fields unknown to Struct or Value, nesting past
// maxWireDepth) and every error go through proto.Unmarshal and
// AppendCanonicalDetails instead, so that merging rules and messages are
// theirs.
func AppendCanonicalDetailsWire(buf, wire []byte) (out []byte, nul bool, err error) {
	// The JSON is about as long as the wire form: one allocation, most
	// often, rather than one per doubling.
	e := detailsEncoder{buf: slices.Grow(buf, len(wire)+len(wire)/8+16)}
	if e.wireObject(wire, 0) {
		return e.buf, e.nul, nil
	}
	var s structpb.Struct
	if err := proto.Unmarshal(wire, &s); err != nil {
		return buf, false, fmt.Errorf("%w: %w", ErrUndecodable, err)
	}
	return AppendCanonicalDetails(buf, &s)
}

// ErrUndecodable is AppendCanonicalDetailsWire's error for bytes that are
// not a google.protobuf.Struct.
var ErrUndecodable = errors.New("cannot be decoded as google.protobuf.Struct")

// maxWireDepth bounds the nesting of objects and lists that the direct
// path follows.
const maxWireDepth = 64

// wireEntry is one field of a Struct in wire form.
type wireEntry struct {
	key, value []byte
}

// wireObject writes the Struct in b. It returns false, having written
// part of it perhaps, when b takes the general path.
func (e *detailsEncoder) wireObject(b []byte, depth int) bool {
	if depth > maxWireDepth {
		return false
	}
	var small [8]wireEntry
	entries := small[:0]
	for len(b) > 0 {
		entry, n := wireField(b, 1)
		if n < 0 {
			return false
		}
		b = b[n:]
		var k, v []byte
		var haveK, haveV bool
		for len(entry) > 0 {
			num, val, n := bytesField(entry)
			if n < 0 {
				return false
			}
			entry = entry[n:]
			switch {
			case num == 1 && !haveK:
				k, haveK = val, true
			case num == 2 && !haveV:
				v, haveV = val, true
			default:
				return false
			}
		}
		if !haveV {
			return false
		}
		entries = append(entries, wireEntry{k, v})
	}
	sortEntries(entries)
	e.buf = append(e.buf, '{')
	for i, en := range entries {
		if i > 0 {
			if bytes.Equal(entries[i-1].key, en.key) {
				return false
			}
			e.buf = append(e.buf, ',')
		}
		if e.string(wireString(en.key)) != nil { // invalid UTF-8 too
			return false
		}
		e.buf = append(e.buf, ':')
		if !e.wireValue(en.value, depth) {
			return false
		}
	}
	e.buf = append(e.buf, '}')
	return true
}

// sortEntries sorts entries by key. Objects have few keys: they are
// sorted by insertion, which keeps the stack of a call, whose goroutine
// starts with a small one, shallower than a general sort's would.
func sortEntries(entries []wireEntry) {
	if len(entries) > 12 {
		slices.SortFunc(entries, func(a, b wireEntry) int { return bytes.Compare(a.key, b.key) })
		return
	}
	for i := 1; i < len(entries); i++ {
		for j := i; j > 0 && bytes.Compare(entries[j-1].key, entries[j].key) > 0; j-- {
			entries[j-1], entries[j] = entries[j], entries[j-1]
		}
	}
}

// wireValue writes the Value in b.
func (e *detailsEncoder) wireValue(b []byte, depth int) bool {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 {
		return false
	}
	b = b[n:]
	var m int
	ok := false
	switch {
	case num == 1 && typ == protowire.VarintType: // null_value
		_, m = protowire.ConsumeVarint(b)
		e.buf = append(e.buf, "null"...)
		ok = true
	case num == 2 && typ == protowire.Fixed64Type: // number_value
		var bits uint64
		bits, m = protowire.ConsumeFixed64(b)
		ok = m >= 0 && e.number(math.Float64frombits(bits)) == nil
	case num == 3 && typ == protowire.BytesType: // string_value
		var s []byte
		s, m = protowire.ConsumeBytes(b)
		ok = m >= 0 && e.string(wireString(s)) == nil // an error for invalid UTF-8 too
	case num == 4 && typ == protowire.VarintType: // bool_value
		var v uint64
		v, m = protowire.ConsumeVarint(b)
		if v != 0 {
			e.buf = append(e.buf, "true"...)
		} else {
			e.buf = append(e.buf, "false"...)
		}
		ok = true
	case num == 5 && typ == protowire.BytesType: // struct_value
		var s []byte
		s, m = protowire.ConsumeBytes(b)
		ok = m >= 0 && e.wireObject(s, depth+1)
	case num == 6 && typ == protowire.BytesType: // list_value
		var l []byte
		l, m = protowire.ConsumeBytes(b)
		ok = m >= 0 && e.wireList(l, depth+1)
	}
	// One kind, and nothing after it: a second field, even the same
	// kind again, has merging rules of its own.
	return ok && m == len(b)
}

// wireList writes the ListValue in b.
func (e *detailsEncoder) wireList(b []byte, depth int) bool {
	if depth > maxWireDepth {
		return false
	}
	e.buf = append(e.buf, '[')
	for i := 0; len(b) > 0; i++ {
		v, n := wireField(b, 1)
		if n < 0 {
			return false
		}
		b = b[n:]
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		if !e.wireValue(v, depth) {
			return false
		}
	}
	e.buf = append(e.buf, ']')
	return true
}

// wireField reads the length-delimited field num at the start of b,
// returning its contents and the bytes it took, or n < 0.
func wireField(b []byte, num protowire.Number) (v []byte, n int) {
	got, v, n := bytesField(b)
	if n < 0 || got != num {
		return nil, -1
	}
	return v, n
}

// bytesField reads the length-delimited field at the start of b,
// returning its number, its contents and the bytes it took, or n < 0.
func bytesField(b []byte) (num protowire.Number, v []byte, n int) {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 || typ != protowire.BytesType {
		return 0, nil, -1
	}
	v, m := protowire.ConsumeBytes(b[n:])
	if m < 0 {
		return 0, nil, -1
	}
	return num, v, n + m
}

// wireString views b as a string, without copying it. The encoder only
// reads the strings it is given, and b is not changed while it does.
func wireString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// Details left in their wire form.
//
// The server decodes the write requests with the forms of
// proto/eventlog/wire (FromWire), which keep each event's details as the
// bytes the client sent. Those bytes travel on in the eventlog.v1 message
// as a Struct that holds them undecoded, as its unknown fields
// (WireDetails): proto.Marshal writes them back exactly as they came, so a
// response that returns the details costs no encoding, and
// AppendDetails reads them with AppendCanonicalDetailsWire.

// WireDetails returns a Struct holding wire, a Struct's encoding, undecoded.
func WireDetails(wire []byte) *structpb.Struct {
	s := &structpb.Struct{}
	if len(wire) > 0 {
		s.ProtoReflect().SetUnknown(wire)
	}
	return s
}

// AppendDetails is AppendCanonicalDetails for any Struct, one from
// WireDetails included. empty reports a Struct with no fields, for which
// it appends nothing.
func AppendDetails(buf []byte, s *structpb.Struct) (out []byte, nul, empty bool, err error) {
	if len(s.GetFields()) > 0 {
		out, nul, err = AppendCanonicalDetails(buf, s)
		return out, nul, false, err
	}
	wire := s.ProtoReflect().GetUnknown()
	if len(wire) == 0 {
		return buf, false, true, nil
	}
	out, nul, err = AppendCanonicalDetailsWire(buf, wire)
	if err == nil && len(out)-len(buf) == 2 { // "{}": unknown fields only
		return buf, false, true, nil
	}
	return out, nul, false, err
}
