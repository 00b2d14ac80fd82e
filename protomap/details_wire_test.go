package protomap

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// checkWireEqual holds AppendCanonicalDetailsWire(wire) to what
// AppendCanonicalDetails gives for the Struct proto.Unmarshal makes of wire:
// the same text, the same NUL report, the same error.
func checkWireEqual(t *testing.T, wire []byte) {
	t.Helper()
	got, gotNUL, err := AppendCanonicalDetailsWire([]byte("prefix"), wire)
	var s structpb.Struct
	if uerr := proto.Unmarshal(wire, &s); uerr != nil {
		if err == nil {
			t.Fatalf("%x: no error, but proto.Unmarshal fails: %v", wire, uerr)
		}
		return
	}
	want, wantNUL, wantErr := AppendCanonicalDetails([]byte("prefix"), &s)
	if (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) {
		t.Fatalf("%x: error %v, from the Struct %v", wire, err, wantErr)
	}
	if !bytes.Equal(got, want) || gotNUL != wantNUL {
		t.Fatalf("%x:\n got %s (NUL %v)\nwant %s (NUL %v)", wire, got, gotNUL, want, wantNUL)
	}
}

func TestCanonicalDetailsWire(t *testing.T) {
	structs := []*structpb.Struct{
		{},
		mustStruct(t, map[string]any{"a": 1}),
		mustStruct(t, map[string]any{
			"z": "last", "a": []any{1.5, "x\u2028y", nil, true, false, map[string]any{}}, "": "empty key",
			"nested": map[string]any{"b": map[string]any{"c": []any{[]any{}, math.Copysign(0, -1), 1e21, 1e-7}}},
			"nul":    "a\x00b", "html": "<&>", "ctl": "\t\n\x01", "é": "ü",
		}),
		{Fields: map[string]*structpb.Value{"nan": structpb.NewNumberValue(math.NaN())}},
		{Fields: map[string]*structpb.Value{"inf": structpb.NewListValue(&structpb.ListValue{Values: []*structpb.Value{structpb.NewNumberValue(math.Inf(-1))}})}},
		{Fields: map[string]*structpb.Value{"nokind": {}}},
		{Fields: map[string]*structpb.Value{"nil": nil}},
		{Fields: map[string]*structpb.Value{"null": {Kind: &structpb.Value_NullValue{NullValue: 7}}}},
	}
	many := map[string]any{}
	for i := range 30 {
		many[string(rune('a'+i%26))+strings.Repeat("x", i/26)] = i
	}
	structs = append(structs, mustStruct(t, many))
	for _, s := range structs {
		wire, err := proto.MarshalOptions{Deterministic: true}.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		checkWireEqual(t, wire)
	}

	// Wire forms that encoders do not write, but that proto.Unmarshal
	// reads with merging rules of its own: each is held to it.
	entry := func(key string, value []byte) []byte {
		var e []byte
		e = protowire.AppendTag(e, 1, protowire.BytesType)
		e = protowire.AppendString(e, key)
		e = protowire.AppendTag(e, 2, protowire.BytesType)
		e = protowire.AppendBytes(e, value)
		var b []byte
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		return protowire.AppendBytes(b, e)
	}
	str := func(s string) []byte {
		var v []byte
		v = protowire.AppendTag(v, 3, protowire.BytesType)
		return protowire.AppendString(v, s)
	}
	num := func(f float64) []byte {
		var v []byte
		v = protowire.AppendTag(v, 2, protowire.Fixed64Type)
		return protowire.AppendFixed64(v, math.Float64bits(f))
	}
	obj := func(entries ...[]byte) []byte {
		var v []byte
		v = protowire.AppendTag(v, 5, protowire.BytesType)
		return protowire.AppendBytes(v, bytes.Join(entries, nil))
	}
	unknown := protowire.AppendVarint(protowire.AppendTag(nil, 9, protowire.VarintType), 1)
	deep := str("bottom")
	for range 200 {
		deep = obj(entry("d", deep))
	}
	odd := map[string][]byte{
		"key twice, last wins":           append(entry("k", str("first")), entry("k", str("second"))...),
		"two kinds in a value":           entry("k", append(str("s"), num(2)...)),
		"one kind twice":                 entry("k", append(str("s"), str("t")...)),
		"object twice in a value merges": entry("k", append(obj(entry("a", num(1))), obj(entry("b", num(2)))...)),
		"unknown field in the struct":    append(entry("k", num(1)), unknown...),
		"unknown field in a value":       entry("k", append(num(1), unknown...)),
		"entry without a value":          protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), "k")),
		"key not UTF-8":                  entry("\xff", num(1)),
		"string not UTF-8":               entry("k", str("\xff")),
		"truncated":                      entry("k", str("abc"))[:5],
		"wrong wire type":                protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 3),
		"nesting past the direct path":   entry("k", deep),
		"only unknown fields":            unknown,
	}
	for name, wire := range odd {
		t.Run(name, func(t *testing.T) { checkWireEqual(t, wire) })
	}
}

func FuzzCanonicalDetailsWire(f *testing.F) {
	f.Add([]byte("\x01a\x02\x00\x00\x00\x00\x00\x00\xf0?"), false)
	f.Add([]byte("\x05k\x03v\u2028\x00\x04\x01x\x05\x02"), false)
	f.Add([]byte("\n\x0c\n\x01k\x12\x07\x1a\x05value"), true)
	f.Fuzz(func(t *testing.T, data []byte, raw bool) {
		if raw {
			checkWireEqual(t, data)
			return
		}
		r := fuzzReader{data: data}
		wire, err := proto.Marshal(r.object(0))
		if err != nil {
			t.Skip("not marshalable")
		}
		checkWireEqual(t, wire)
	})
}

// The direct path allocates nothing for the usual details: were it to
// fall back to building the Struct, this would fail.
func TestCanonicalDetailsWireAllocations(t *testing.T) {
	wire, err := proto.Marshal(mustStruct(t, map[string]any{
		"field": "body", "old": strings.Repeat("previous text ", 12), "new": strings.Repeat("current text ", 12),
		"count": 42, "tags": []any{"a", "b", "c"}, "meta": map[string]any{"source": "import", "ok": true, "n": nil},
	}))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, 4096)
	if n := testing.AllocsPerRun(100, func() {
		if _, _, err := AppendCanonicalDetailsWire(buf[:0], wire); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("AppendCanonicalDetailsWire allocates %v times per call, want 0", n)
	}
}
