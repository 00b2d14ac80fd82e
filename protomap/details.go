package protomap

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"

	"google.golang.org/protobuf/types/known/structpb"
)

// AppendCanonicalDetails appends s to buf in the canonical JSON form
// (eventlog.CanonicalJSON): object keys sorted bytewise, no insignificant
// space, strings escaped as encoding/json escapes them without HTML
// escaping, numbers as protojson writes them. It is what
// CanonicalJSON(protojson.Marshal(s)) returns, without the intermediate
// text: on the write path that round trip cost more than the rest of a
// LogEvent's validation. A test holds the two equal.
//
// nul reports whether a key or a string holds a NUL character, which the
// stores cannot keep.
func AppendCanonicalDetails(buf []byte, s *structpb.Struct) (out []byte, nul bool, err error) {
	e := detailsEncoder{buf: buf}
	if err := e.object(s.GetFields()); err != nil {
		return buf, false, err
	}
	return e.buf, e.nul, nil
}

type detailsEncoder struct {
	buf []byte
	nul bool
}

func (e *detailsEncoder) object(fields map[string]*structpb.Value) error {
	var small [16]string
	keys := small[:0]
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	e.buf = append(e.buf, '{')
	for i, k := range keys {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		if err := e.string(k); err != nil {
			return fmt.Errorf("key %s: %w", strconv.QuoteToASCII(k), err)
		}
		e.buf = append(e.buf, ':')
		if err := e.value(fields[k]); err != nil {
			return fmt.Errorf("%s: %w", strconv.QuoteToASCII(k), err)
		}
	}
	e.buf = append(e.buf, '}')
	return nil
}

func (e *detailsEncoder) value(v *structpb.Value) error {
	switch k := v.GetKind().(type) {
	case *structpb.Value_NullValue:
		e.buf = append(e.buf, "null"...)
	case *structpb.Value_BoolValue:
		e.buf = strconv.AppendBool(e.buf, k.BoolValue)
	case *structpb.Value_NumberValue:
		return e.number(k.NumberValue)
	case *structpb.Value_StringValue:
		return e.string(k.StringValue)
	case *structpb.Value_StructValue:
		return e.object(k.StructValue.GetFields())
	case *structpb.Value_ListValue:
		e.buf = append(e.buf, '[')
		for i, x := range k.ListValue.GetValues() {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			if err := e.value(x); err != nil {
				return fmt.Errorf("[%d]: %w", i, err)
			}
		}
		e.buf = append(e.buf, ']')
	default:
		return errors.New("a value with no kind set")
	}
	return nil
}

// number writes n as protojson does: the shortest representation, in
// exponent form below 1e-6 and from 1e21, with a two-digit exponent at
// least ("1e-07" becomes "1e-7").
func (e *detailsEncoder) number(n float64) error {
	if math.IsNaN(n) || math.IsInf(n, 0) {
		return fmt.Errorf("the number %v has no JSON form", n)
	}
	// Whole numbers (ids, counts, sizes: most numbers in details) are
	// written as integers: the same digits as AppendFloat's, without its
	// cost, and without its deep stack, which a call's fresh goroutine
	// would first have to grow and copy.
	if n == math.Trunc(n) && math.Abs(n) <= 1<<53 && (n != 0 || !math.Signbit(n)) {
		e.buf = strconv.AppendInt(e.buf, int64(n), 10)
		return nil
	}
	format := byte('f')
	if abs := math.Abs(n); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	e.buf = strconv.AppendFloat(e.buf, n, format, -1, 64)
	if format == 'e' {
		// "1e-07" → "1e-7", as encoding/json and protojson write it.
		if l := len(e.buf); l >= 4 && e.buf[l-4] == 'e' && e.buf[l-3] == '-' && e.buf[l-2] == '0' {
			e.buf[l-2] = e.buf[l-1]
			e.buf = e.buf[:l-1]
		}
	}
	return nil
}

const hexDigits = "0123456789abcdef"

// string writes s quoted as encoding/json does with HTML escaping off.
func (e *detailsEncoder) string(s string) error {
	e.buf = append(e.buf, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			e.buf = append(e.buf, s[start:i]...)
			switch b {
			case '"', '\\':
				e.buf = append(e.buf, '\\', b)
			case '\b':
				e.buf = append(e.buf, '\\', 'b')
			case '\f':
				e.buf = append(e.buf, '\\', 'f')
			case '\n':
				e.buf = append(e.buf, '\\', 'n')
			case '\r':
				e.buf = append(e.buf, '\\', 'r')
			case '\t':
				e.buf = append(e.buf, '\\', 't')
			default:
				if b == 0 {
					e.nul = true
				}
				e.buf = append(e.buf, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return errors.New("a string that is not valid UTF-8")
		}
		if r == '\u2028' || r == '\u2029' {
			e.buf = append(e.buf, s[start:i]...)
			e.buf = append(e.buf, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	e.buf = append(e.buf, s[start:]...)
	e.buf = append(e.buf, '"')
	return nil
}
