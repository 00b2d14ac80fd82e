package protomap

import (
	"strings"
	"testing"

	"github.com/eventlog/eventlog"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
)

// The details codec is written by hand for speed: these measure it against
// the way it replaces, protojson and a second parse for the canonical form
// on the way in, protojson.Unmarshal on the way out.

func benchDetails(b *testing.B) *structpb.Struct {
	s, err := structpb.NewStruct(map[string]any{
		"field": "body", "old": strings.Repeat("previous text ", 12), "new": strings.Repeat("current text ", 12),
		"count": 42, "tags": []any{"a", "b", "c"}, "meta": map[string]any{"source": "import", "ok": true, "n": nil},
	})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func BenchmarkDetailsEncode(b *testing.B) {
	s := benchDetails(b)
	b.Run("canonical", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			var err error
			if buf, _, err = AppendCanonicalDetails(buf[:0], s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("protojson then canonical", func(b *testing.B) {
		for b.Loop() {
			j, err := protojson.Marshal(s)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := eventlog.CanonicalJSON(j); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkDetailsDecode(b *testing.B) {
	raw, _, err := AppendCanonicalDetails(nil, benchDetails(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("ParseDetails", func(b *testing.B) {
		for b.Loop() {
			if _, err := ParseDetails(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("protojson", func(b *testing.B) {
		for b.Loop() {
			var s structpb.Struct
			if err := protojson.Unmarshal(raw, &s); err != nil {
				b.Fatal(err)
			}
		}
	})
}
