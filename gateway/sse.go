package gateway

import (
	"bytes"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// Server-Sent Events: GET /v1/events:stream with "Accept: text/event-stream"
// serves the stream as an event stream, which a browser's EventSource reads
// and resumes by itself:
//
//	id: 42
//	data: {"id":"42","time":"...","eventType":"EVENT_TYPE_EDIT",...}
//
// for each entry (the data is the Event as JSON, on one line; the default
// event type, "message"), and for each heartbeat
//
//	id: 57
//	retry: 2000
//	: heartbeat
//
// which dispatches nothing but moves the stream's last event id past the
// entries considered so far. A client that reconnects sends the last id it
// saw as Last-Event-ID, which stands for after_id: the stream resumes right
// after it, with no entry missed or repeated. An error once the stream has
// started is an event of type "error" whose data is the google.rpc.Status
// as JSON; one before it starts is answered with its HTTP status as for any
// other request.

const eventStream = "text/event-stream"

// sseRetryMillis is the reconnection delay the stream asks clients for.
const sseRetryMillis = 2000

// sseMarshaler writes stream items as Server-Sent Events. grpc-gateway
// hands it each item as {"result": msg} and an error as {"error": status};
// anything else (the error of a request refused before its stream starts)
// it writes as JSON.
type sseMarshaler struct {
	json *jsonMarshaler
}

func (m *sseMarshaler) ContentType(v any) string {
	if _, ok := v.(*eventlogv1.StreamEventsResponse); ok {
		return eventStream
	}
	if _, ok := v.(map[string]any); ok {
		return eventStream
	}
	if _, ok := v.(map[string]proto.Message); ok {
		return eventStream
	}
	return m.json.ContentType(v)
}

// Delimiter is empty: each event ends with its blank line.
func (m *sseMarshaler) Delimiter() []byte { return nil }

var sseJSON = protojson.MarshalOptions{}

func (m *sseMarshaler) Marshal(v any) ([]byte, error) {
	var item any
	if r, ok := v.(map[string]any); ok {
		item = r["result"]
	}
	if e, ok := v.(map[string]proto.Message); ok {
		item = e["error"]
		if item == nil {
			item = e["result"]
		}
	}
	switch item := item.(type) {
	case *eventlogv1.StreamEventsResponse:
		var b bytes.Buffer
		switch {
		case item.GetEvent() != nil:
			data, err := sseJSON.Marshal(item.GetEvent())
			if err != nil {
				return nil, err
			}
			b.WriteString("id: " + strconv.FormatInt(item.GetEvent().GetId(), 10) + "\ndata: ")
			b.Write(oneLine(data))
			b.WriteString("\n\n")
		case item.GetHeartbeat() != nil:
			b.WriteString("id: " + strconv.FormatInt(item.GetHeartbeat().GetLastId(), 10) +
				"\nretry: " + strconv.Itoa(sseRetryMillis) + "\n: heartbeat\n\n")
		default:
			b.WriteString(": unknown item\n\n")
		}
		return b.Bytes(), nil
	case proto.Message:
		data, err := sseJSON.Marshal(item)
		if err != nil {
			return nil, err
		}
		return append(append([]byte("event: error\ndata: "), oneLine(data)...), "\n\n"...), nil
	}
	return m.json.Marshal(v)
}

// oneLine keeps JSON on one line: a newline would end an event's data.
// protojson escapes newlines within strings, and may only add some as
// spacing.
func oneLine(b []byte) []byte {
	return bytes.ReplaceAll(bytes.ReplaceAll(b, []byte("\r"), nil), []byte("\n"), []byte(" "))
}

func (m *sseMarshaler) Unmarshal(data []byte, v any) error     { return m.json.Unmarshal(data, v) }
func (m *sseMarshaler) NewDecoder(r io.Reader) runtime.Decoder { return m.json.NewDecoder(r) }
func (m *sseMarshaler) NewEncoder(w io.Writer) runtime.Encoder { return m.json.NewEncoder(w) }

// wantsEventStream reports whether r asks for the stream as Server-Sent
// Events.
func wantsEventStream(r *http.Request) bool {
	if r.Method != http.MethodGet || r.URL.Path != "/v1/events:stream" {
		return false
	}
	for _, v := range r.Header.Values("Accept") {
		for _, part := range strings.Split(v, ",") {
			if media, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && media == eventStream {
				return true
			}
		}
	}
	return false
}

// prepareEventStream makes an event-stream request one that grpc-gateway
// serves with sseMarshaler, with Last-Event-ID standing for after_id. It
// returns an error for a Last-Event-ID that is not an id.
func prepareEventStream(r *http.Request) error {
	r.Header.Set("Accept", eventStream)
	last := r.Header.Get("Last-Event-ID")
	if last == "" {
		return nil
	}
	id, err := strconv.ParseInt(strings.TrimSpace(last), 10, 64)
	if err != nil || id < 0 {
		return status.Errorf(codes.InvalidArgument, "Last-Event-ID %q: want the id of an entry or heartbeat, a non-negative integer", last)
	}
	q := r.URL.Query()
	q.Del("afterId")
	q.Set("after_id", strconv.FormatInt(id, 10))
	r.URL.RawQuery = q.Encode()
	return nil
}
