package protomap

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/eventlog/eventlog"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// referenceDetails is the canonical form by its definition: protojson's
// text, put in canonical form.
func referenceDetails(s *structpb.Struct) ([]byte, error) {
	raw, err := protojson.Marshal(s)
	if err != nil {
		return nil, err
	}
	return eventlog.CanonicalJSON(raw)
}

func checkDetailsEqual(t *testing.T, s *structpb.Struct) {
	t.Helper()
	want, wantErr := referenceDetails(s)
	got, _, err := AppendCanonicalDetails(nil, s)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("%v: error %v, reference error %v", s, err, wantErr)
	}
	if err == nil && !bytes.Equal(got, want) {
		t.Fatalf("%v:\n got %s\nwant %s", s, got, want)
	}
}

func TestCanonicalDetailsEqualsReference(t *testing.T) {
	num := structpb.NewNumberValue
	str := structpb.NewStringValue
	list := func(vs ...*structpb.Value) *structpb.Value {
		return structpb.NewListValue(&structpb.ListValue{Values: vs})
	}
	obj := func(kv ...any) *structpb.Struct {
		s := &structpb.Struct{Fields: map[string]*structpb.Value{}}
		for i := 0; i < len(kv); i += 2 {
			s.Fields[kv[i].(string)] = kv[i+1].(*structpb.Value)
		}
		return s
	}
	var numbers []*structpb.Value
	for _, n := range []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1.5, 100, 1e20, 1e21, 123456789012345678901234.0, 1e-6, 1e-7, 9.99e-7,
		5e-324, math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64, 1 << 53, 1<<53 + 1, 12345.678e100, 3e-100, -2.5e-8,
		-12345, 1<<53 - 1, -(1 << 53), -(1<<53 + 2), 999999999999, 1e15, 2.5e15} {
		numbers = append(numbers, num(n))
	}
	cases := []*structpb.Struct{
		obj("a", str("x")),
		obj("b", num(1), "a", num(2), "B", num(3), "é", num(4), "", num(5), "a b", num(6), "aa", num(7)),
		obj("s", str("quote \" backslash \\ slash / tab \t nl \n cr \r bs \b ff \f bell \a nul \x00 us \x1f del \x7f")),
		obj("s", str("<html> & </html>"), "u", str("line\u2028sep\u2029 é 日本 🙂 \ufffd")),
		obj("k\"ey\n\u2028", str("v")),
		obj("n", list(numbers...)),
		obj("t", structpb.NewBoolValue(true), "f", structpb.NewBoolValue(false), "z", structpb.NewNullValue()),
		obj("nested", structpb.NewStructValue(obj("x", list(list(), structpb.NewStructValue(obj()), list(num(1), str("2"))), "y", structpb.NewStructValue(nil)))),
		obj("l", structpb.NewListValue(nil)),
		obj(strings.Repeat("k", 300), str(strings.Repeat("v\u00e9", 3000))),
	}
	for _, c := range cases {
		checkDetailsEqual(t, c)
	}
	// What neither can write.
	for _, bad := range []*structpb.Struct{
		obj("n", num(math.NaN())),
		obj("n", list(num(math.Inf(1)))),
		obj("n", structpb.NewStructValue(obj("m", num(math.Inf(-1))))),
		obj("v", &structpb.Value{}),
		obj("s", str("bad \xff utf-8")),
		obj("bad \xfe key", str("v")),
	} {
		if _, _, err := AppendCanonicalDetails(nil, bad); err == nil {
			t.Errorf("%v: no error", bad)
		}
		if _, err := referenceDetails(bad); err == nil {
			t.Errorf("%v: reference gave no error", bad)
		}
	}
}

func TestCanonicalDetailsNUL(t *testing.T) {
	for _, c := range []struct {
		s   *structpb.Struct
		nul bool
	}{
		{&structpb.Struct{Fields: map[string]*structpb.Value{"a": structpb.NewStringValue("x")}}, false},
		{&structpb.Struct{Fields: map[string]*structpb.Value{"a\x00": structpb.NewStringValue("x")}}, true},
		{&structpb.Struct{Fields: map[string]*structpb.Value{"a": structpb.NewListValue(&structpb.ListValue{Values: []*structpb.Value{structpb.NewStringValue("x\x00")}})}}, true},
	} {
		_, nul, err := AppendCanonicalDetails(nil, c.s)
		if err != nil || nul != c.nul {
			t.Errorf("%v: nul %v, err %v; want nul %v", c.s, nul, err, c.nul)
		}
	}
}

// FuzzCanonicalDetails builds details from the fuzzer's bytes and holds
// the encoder equal to the reference.
func FuzzCanonicalDetails(f *testing.F) {
	f.Add([]byte("\x01a\x02\x00\x00\x00\x00\x00\x00\xf0?"))
	f.Add([]byte("\x05k\x03v\u2028\x00\x04\x01x\x05\x02"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := fuzzReader{data: data}
		s := r.object(0)
		checkDetailsEqual(t, s)
	})
}

type fuzzReader struct{ data []byte }

func (r *fuzzReader) byte() byte {
	if len(r.data) == 0 {
		return 0
	}
	b := r.data[0]
	r.data = r.data[1:]
	return b
}

func (r *fuzzReader) str() string {
	n := min(int(r.byte()%16), len(r.data))
	s := string(r.data[:n])
	r.data = r.data[n:]
	return s
}

func (r *fuzzReader) object(depth int) *structpb.Struct {
	s := &structpb.Struct{Fields: map[string]*structpb.Value{}}
	for n := r.byte() % 5; n > 0 && len(r.data) > 0; n-- {
		s.Fields[r.str()] = r.value(depth + 1)
	}
	return s
}

func (r *fuzzReader) value(depth int) *structpb.Value {
	switch k := r.byte() % 8; {
	case k == 0 || depth > 4:
		return structpb.NewNullValue()
	case k == 1:
		return structpb.NewBoolValue(r.byte()%2 == 0)
	case k == 2:
		var bits uint64
		for range 8 {
			bits = bits<<8 | uint64(r.byte())
		}
		return structpb.NewNumberValue(math.Float64frombits(bits))
	case k == 3:
		return structpb.NewNumberValue(float64(int8(r.byte())) * math.Pow(10, float64(int8(r.byte())%30)))
	case k == 4 || k == 5:
		return structpb.NewStringValue(r.str())
	case k == 6:
		return structpb.NewStructValue(r.object(depth))
	default:
		l := &structpb.ListValue{}
		for n := r.byte() % 4; n > 0 && len(r.data) > 0; n-- {
			l.Values = append(l.Values, r.value(depth+1))
		}
		return structpb.NewListValue(l)
	}
}

func TestCanonicalDetailsNilValue(t *testing.T) {
	checkDetailsEqual(t, &structpb.Struct{Fields: map[string]*structpb.Value{"a": nil}})
	checkDetailsEqual(t, &structpb.Struct{Fields: map[string]*structpb.Value{"a": structpb.NewListValue(&structpb.ListValue{Values: []*structpb.Value{nil}})}})
}

// checkParseEqual holds ParseDetails equal to protojson.Unmarshal on raw:
// both refuse it, or both give the same Struct.
func checkParseEqual(t *testing.T, raw []byte) {
	t.Helper()
	want := new(structpb.Struct)
	wantErr := protojson.Unmarshal(raw, want)
	got, err := ParseDetails(raw)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("%q: error %v, protojson's %v", raw, err, wantErr)
	}
	if err == nil && !proto.Equal(got, want) {
		t.Fatalf("%q:\n got %v\nwant %v", raw, got, want)
	}
}

func TestParseDetailsEqualsProtojson(t *testing.T) {
	for _, raw := range []string{
		`{}`, ` { } `, `{"a":1}`, "{\n\t\"a\" : [ 1 , 2 ] ,\r\n \"b\":{}}",
		`{"s":"plain"}`, `{"s":"q\"b\\s\/l\b\f\n\r\t"}`, `{"s":"\u00e9\u2028\ud83d\ude80 é 🚀"}`,
		`{"n":[0,-0,1.5,-2.25e10,1E5,1e+5,1e-7,5e-324,1.7976931348623157e308,123456789012345678901234567890]}`,
		`{"t":true,"f":false,"z":null,"l":[],"o":{"p":{"q":[{}]}}}`,
		`{"\u0000k":"\u0000v"}`,
		// What neither takes.
		`{"a":1,"a":2}`, `{"a":1e400}`, `{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":-}`, `{"a":1e}`,
		`{"a":"\ud83d"}`, `{"a":"\ud83dx"}`, `{"a":"\x"}`, `{"a":"\u12"}`, "{\"a\":\"\x01\"}", "{\"a\":\"\xff\"}",
		`{"a":tru}`, `{"a":nul}`, `{"a":1,}`, `{"a"}`, `{"a":1} x`, `[1]`, `"s"`, ``, `{`, `{"a":[1,2}`,
	} {
		checkParseEqual(t, []byte(raw))
	}
}

// FuzzParseDetails holds ParseDetails equal to protojson.Unmarshal on
// what the store keeps (AppendCanonicalDetails' output) and on arbitrary
// bytes.
func FuzzParseDetails(f *testing.F) {
	f.Add([]byte("\x01a\x02\x00\x00\x00\x00\x00\x00\xf0?"), false)
	f.Add([]byte(`{"a":[1,"x\u2028",{"b":null}]}`), true)
	f.Fuzz(func(t *testing.T, data []byte, rawJSON bool) {
		if rawJSON {
			checkParseEqual(t, data)
			return
		}
		r := fuzzReader{data: data}
		canon, _, err := AppendCanonicalDetails(nil, r.object(0))
		if err != nil {
			return
		}
		checkParseEqual(t, canon)
	})
}

// Details nested as deep as a write can send them read back whole.
func TestParseDetailsDeep(t *testing.T) {
	for _, depth := range []int{101, 3000} {
		v := structpb.NewStringValue("bottom")
		for range depth {
			v = structpb.NewListValue(&structpb.ListValue{Values: []*structpb.Value{v}})
		}
		s := &structpb.Struct{Fields: map[string]*structpb.Value{"deep": v}}
		canon, _, err := AppendCanonicalDetails(nil, s)
		if err != nil {
			t.Fatal(err)
		}
		checkParseEqual(t, canon)
		if got := DetailsToProto(canon); !proto.Equal(got, s) {
			t.Errorf("details nested %d deep do not read back", depth)
		}
	}
}
