package protomap

import (
	"unicode/utf8"
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/eventlog/eventlog"
	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
)

// Write requests decoded by hand.
//
// DecodeLogEventsRequest and DecodeLogEventRequest read the bytes of a
// write request straight into its eventlog.v1 message, with the events'
// details left undecoded (WireDetails), as the decoding forms of
// proto/eventlog/wire do. They allocate less: the messages of a batch's
// entries a kind at a time, and each entry's strings and details in one
// block, where protobuf's decoder allocates every string and message on its
// own. Protobuf's decoding was a sixth of the server's processor time for
// a batch, and most of its allocations.
//
// They take only the encoding that encoders write: every field known to
// the message, of its wire type, and each field that is not repeated given
// once, with strings that are UTF-8. For anything else, such as an unknown
// field, a field given twice (which protobuf merges) or bytes that do not
// decode, they return false, and the request is decoded by protobuf's
// rules instead: what they do decode is exactly what protobuf gives.

// DecodeLogEventsRequest decodes b, the bytes of an
// eventlog.v1.LogEventsRequest, into m, which must be empty. It returns
// false, with m to be reset, when b is not in the form it takes.
func DecodeLogEventsRequest(b []byte, m *eventlogv1.LogEventsRequest) bool {
	n := 0
	if !eachField(b, 1, func(f field) bool {
		switch {
		case f.num == 1 && f.typ == protowire.BytesType:
			n++
		case f.num == 2 && f.typ == protowire.VarintType:
			m.View = eventlogv1.EventView(int32(f.varint))
		default:
			return false
		}
		return true
	}) {
		return false
	}
	if n == 0 {
		return true
	}
	if n > eventlog.MaxBatch {
		// Refused later. The messages of every entry are allocated at
		// once below: two bytes a request must not make it allocate
		// hundreds.
		return false
	}
	d := newDecoder(n)
	m.Requests = make([]*eventlogv1.LogEventRequest, 0, n)
	return eachField(b, 1, func(f field) bool {
		if f.num != 1 {
			return true // the view, read above
		}
		r := &d.reqs[len(m.Requests)]
		d.left = n - len(m.Requests)
		m.Requests = append(m.Requests, r)
		return d.request(f.bytes, r)
	})
}

// DecodeLogEventRequest is DecodeLogEventsRequest for one request.
func DecodeLogEventRequest(b []byte, m *eventlogv1.LogEventRequest) bool {
	return newDecoder(0).request(b, m)
}

// fieldSet records the fields of a message seen so far, to refuse one
// given twice.
type fieldSet uint64

// first reports whether num is seen for the first time, and records it. A
// number the set cannot hold is never first: the field is refused.
func (s *fieldSet) first(num protowire.Number) bool {
	if num < 1 || num > 63 {
		return false
	}
	bit := fieldSet(1) << num
	if *s&bit != 0 {
		return false
	}
	*s |= bit
	return true
}

// field is a field of a message as eachField reads it: a varint or
// length-delimited field, with its value.
type field struct {
	num    protowire.Number
	typ    protowire.Type
	varint uint64 // a varint field's value
	bytes  []byte // a length-delimited field's contents
}

// eachField calls fn with each field of the message b, in order. It
// returns false, and stops, when a field is neither a varint nor
// length-delimited, is cut, or is given twice (but for the field
// repeated, 0 for none), or when fn returns false.
func eachField(b []byte, repeated protowire.Number, fn func(field) bool) bool {
	var seen fieldSet
	for len(b) > 0 {
		num, typ, l := protowire.ConsumeTag(b)
		if l < 0 || !seen.first(num) && num != repeated {
			return false
		}
		b = b[l:]
		f := field{num: num, typ: typ}
		switch typ {
		case protowire.VarintType:
			f.varint, l = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			f.bytes, l = protowire.ConsumeBytes(b)
		default:
			return false
		}
		if l < 0 || !fn(f) {
			return false
		}
		b = b[l:]
	}
	return true
}

// decoder holds the messages of a batch's entries, allocated a kind at a
// time: a kind's slab when the first entry needs one, for that entry and
// those after it (left), so that requests without an actor, say, allocate
// no actors. Each entry takes at most one message of each kind, so a slab
// lasts to the end; with no batch (one request) each message is allocated
// on its own.
type decoder struct {
	reqs     []eventlogv1.LogEventRequest
	left     int // the entries from the one being decoded to the end
	events   []eventlogv1.Event
	actors   []eventlogv1.Actor
	contexts []eventlogv1.RequestContext
}

func newDecoder(n int) *decoder {
	if n == 0 {
		return &decoder{}
	}
	return &decoder{reqs: make([]eventlogv1.LogEventRequest, n)}
}

// fromSlab returns the next message of a slab, making the slab first when
// there is none and the batch has entries left.
func fromSlab[T any](slab *[]T, left int) *T {
	if len(*slab) == 0 {
		if left <= 1 {
			return new(T)
		}
		*slab = make([]T, left)
	}
	m := &(*slab)[0]
	*slab = (*slab)[1:]
	return m
}

func (d *decoder) event() *eventlogv1.Event { return fromSlab(&d.events, d.left) }

func (d *decoder) actor() *eventlogv1.Actor { return fromSlab(&d.actors, d.left) }

func (d *decoder) context() *eventlogv1.RequestContext { return fromSlab(&d.contexts, d.left) }

// block is where an entry's strings and details are copied: one
// allocation, as large as the entry's bytes, which hold them all, so that
// it never grows and the strings made from it stay valid.
type block []byte

// string returns a copy of v as a string, false when v is not UTF-8 (which
// protobuf refuses in a string field).
func (k *block) string(v []byte) (string, bool) {
	if len(v) == 0 {
		return "", true
	}
	if !utf8.Valid(v) {
		return "", false
	}
	return unsafe.String(unsafe.SliceData(k.bytes(v)), len(v)), true
}

// bytes returns a copy of v.
func (k *block) bytes(v []byte) []byte {
	start := len(*k)
	*k = append(*k, v...)
	return (*k)[start:len(*k):len(*k)]
}

// request decodes an eventlog.v1.LogEventRequest.
func (d *decoder) request(b []byte, m *eventlogv1.LogEventRequest) bool {
	k := make(block, 0, len(b))
	return eachField(b, 3, func(f field) bool {
		if f.num == 4 && f.typ == protowire.VarintType {
			m.View = eventlogv1.EventView(int32(f.varint))
			return true
		}
		if f.typ != protowire.BytesType {
			return false
		}
		ok := false
		switch f.num {
		case 1:
			m.Event = d.event()
			ok = d.eventFields(f.bytes, m.Event, &k)
		case 2:
			m.IdempotencyKey, ok = k.string(f.bytes)
		case 3:
			ref := &eventlogv1.ObjectRef{}
			ok = objectRef(f.bytes, ref, &k)
			m.Related = append(m.Related, ref)
		}
		return ok
	})
}

// eventFields decodes an eventlog.v1.Event into e.
func (d *decoder) eventFields(b []byte, e *eventlogv1.Event, k *block) bool {
	return eachField(b, 0, func(f field) bool {
		switch f.num {
		case 1, 4, 10:
			if f.typ != protowire.VarintType {
				return false
			}
			switch f.num {
			case 1:
				e.Id = int64(f.varint)
			case 4:
				e.EventType = eventlogv1.EventType(int32(f.varint))
			default:
				e.SourceId = int64(f.varint)
			}
			return true
		}
		if f.typ != protowire.BytesType {
			return false
		}
		v, ok := f.bytes, true
		switch f.num {
		case 2:
			e.Time = &timestamppb.Timestamp{}
			ok = timestamp(v, e.Time)
		case 3:
			e.OccurredTime = &timestamppb.Timestamp{}
			ok = timestamp(v, e.OccurredTime)
		case 5:
			e.Actor = d.actor()
			ok = actor(v, e.Actor, k)
		case 6:
			e.ContentType, ok = k.string(v)
		case 7:
			e.ObjectId, ok = k.string(v)
		case 8:
			e.ObjectRepr, ok = k.string(v)
		case 9:
			e.Details = WireDetails(k.bytes(v))
		case 11:
			e.Request = d.context()
			ok = requestContext(v, e.Request, k)
		case 12:
			e.IdempotencyKey, ok = k.string(v)
		case 13:
			e.Hash = k.bytes(v)
		case 14:
			e.PrevHash = k.bytes(v)
		default:
			return false
		}
		return ok
	})
}

// timestamp decodes a google.protobuf.Timestamp.
func timestamp(b []byte, t *timestamppb.Timestamp) bool {
	return eachField(b, 0, func(f field) bool {
		switch {
		case f.typ != protowire.VarintType:
			return false
		case f.num == 1:
			t.Seconds = int64(f.varint)
		case f.num == 2:
			t.Nanos = int32(f.varint)
		default:
			return false
		}
		return true
	})
}

// stringFields decodes a message whose fields are strings, but for one
// varint field, into the strings strs (field i+1 into strs[i]) and
// *varint (field varintNum).
func stringFields(b []byte, k *block, strs []*string, varintNum protowire.Number, varint *int32) bool {
	return eachField(b, 0, func(f field) bool {
		switch {
		case f.num < 1 || int(f.num) > len(strs):
			return false
		case f.num == varintNum:
			if f.typ != protowire.VarintType {
				return false
			}
			*varint = int32(f.varint)
			return true
		case f.typ != protowire.BytesType:
			return false
		}
		s, ok := k.string(f.bytes)
		*strs[f.num-1] = s
		return ok
	})
}

func actor(b []byte, a *eventlogv1.Actor, k *block) bool {
	var kind int32
	if !stringFields(b, k, []*string{&a.Id, &a.Name, nil}, 3, &kind) {
		return false
	}
	a.Kind = eventlogv1.ActorKind(kind)
	return true
}

func requestContext(b []byte, r *eventlogv1.RequestContext, k *block) bool {
	return stringFields(b, k, []*string{&r.RemoteAddr, &r.Method, &r.Path, &r.Protocol, nil, &r.UserAgent, &r.RequestId}, 5, &r.Status)
}

func objectRef(b []byte, r *eventlogv1.ObjectRef, k *block) bool {
	return stringFields(b, k, []*string{&r.ContentType, &r.ObjectId}, 0, nil)
}
