package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
)

// rawCodec sends and receives messages as the bytes given, so that a test
// can send what no protobuf library would encode.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *v.(*[]byte), nil }
func (rawCodec) Unmarshal(data []byte, v any) error {
	*v.(*[]byte) = append([]byte(nil), data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

// nestedStruct returns a LogEventRequest whose event's details nest
// depth Structs.
func nestedStruct(depth int) []byte {
	var s []byte // an empty Struct
	for range depth {
		// Value{struct_value: s}, as the value of map entry "a".
		v := protowire.AppendBytes(protowire.AppendTag(nil, 5, protowire.BytesType), s)
		entry := protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), []byte("a"))
		entry = protowire.AppendBytes(protowire.AppendTag(entry, 2, protowire.BytesType), v)
		s = protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), entry)
	}
	event := protowire.AppendBytes(protowire.AppendTag(nil, 9, protowire.BytesType), s) // Event.details
	return protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), event)
}

// splitDetails returns a LogEventRequest whose event gives its details
// twice, with a field cut at the end of the first and finished by the
// second: protobuf decodes each occurrence alone and refuses it.
func splitDetails() []byte {
	var event []byte
	for _, d := range [][]byte{{0x0a, 0x0a, 0x0a, 0x01, 'k'}, {0x12, 0x05, 0x1a, 0x03, 'a', 'b', 'c'}} {
		event = protowire.AppendBytes(protowire.AppendTag(event, 9, protowire.BytesType), d)
	}
	return protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), event)
}

// Requests that cannot be decoded are INVALID_ARGUMENT, not INTERNAL, and
// each appears in the access log, as does a request refused for its size.
func TestUndecodableRequests(t *testing.T) {
	ts := startServer(t, filepath.Join(t.TempDir(), "decode.db"))
	cc := ts.conn(t)
	// ListEventsRequest's actor (field 2) holding bytes that are not UTF-8.
	badUTF8 := protowire.AppendBytes(protowire.AppendTag(nil, 2, protowire.BytesType), []byte{0xff, 0xfe, 'a'})
	tests := []struct {
		name, method string
		body         []byte
		want         codes.Code
	}{
		{"garbage", "LogEvent", []byte{0xff, 0xff, 0xff, 0xff, 0x0f}, codes.InvalidArgument},
		{"invalid UTF-8", "ListEvents", badUTF8, codes.InvalidArgument},
		{"nested too deep", "LogEvent", nestedStruct(10001), codes.InvalidArgument},
		{"details split", "LogEvent", splitDetails(), codes.InvalidArgument},
		{"too large", "LogEvents", make([]byte, maxMessageBytes+1), codes.ResourceExhausted},
		{"stream garbage", "StreamEvents", []byte{0x0a}, codes.InvalidArgument},
	}
	for _, tt := range tests {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		var reply []byte
		method := "/eventlog.v1.EventLogService/" + tt.method
		var err error
		if tt.method == "StreamEvents" {
			var s grpc.ClientStream
			s, err = cc.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, method, grpc.ForceCodec(rawCodec{}))
			if err == nil {
				if err = s.SendMsg(&tt.body); err == nil {
					s.CloseSend()
					err = s.RecvMsg(&reply)
				}
			}
		} else {
			err = cc.Invoke(ctx, method, &tt.body, &reply, grpc.ForceCodec(rawCodec{}))
		}
		cancel()
		if status.Code(err) != tt.want {
			t.Errorf("%s: %s = %v, want %s", tt.name, tt.method, err, tt.want)
		}
		if tt.want == codes.InvalidArgument && !strings.Contains(status.Convert(err).Message(), "cannot be decoded") {
			t.Errorf("%s: message %q does not say the request cannot be decoded", tt.name, status.Convert(err).Message())
		}
		// The server reads details from their bytes: what cannot be
		// decoded there is named.
		if tt.name == "nested too deep" && !strings.HasPrefix(status.Convert(err).Message(), "event.details: ") {
			t.Errorf("%s: message %q does not name event.details", tt.name, status.Convert(err).Message())
		}
	}
	ts.stop(t)
	log := ts.logs.String()
	for _, want := range []string{
		`"POST /eventlog.v1.EventLogService/LogEvent HTTP/2" 400 `,
		`"POST /eventlog.v1.EventLogService/ListEvents HTTP/2" 400 `,
		`"POST /eventlog.v1.EventLogService/LogEvents HTTP/2" 429 `,
		`"POST /eventlog.v1.EventLogService/StreamEvents HTTP/2" 400 `,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("the access log has no line %s:\n%s", want, log)
		}
	}
	if n := strings.Count(log, `/LogEvent HTTP/2" 400 `); n != 3 {
		t.Errorf("the access log has %d lines for the three undecodable LogEvent calls, want 3:\n%s", n, log)
	}
	if strings.Contains(log, "internal error") || strings.Contains(log, `" 500 `) {
		t.Errorf("an undecodable request was logged as the server's error:\n%s", log)
	}
}
