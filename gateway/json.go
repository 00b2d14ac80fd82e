package gateway

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/proto"
)

// jsonMarshaler is grpc-gateway's protojson marshaler with a stricter
// decoder: the body must be exactly one JSON value. (runtime.JSONPb reads
// the first value and ignores whatever follows it.) Reading the body once
// and handing it to protojson also spares the extra pass through
// encoding/json that runtime.JSONPb makes.
type jsonMarshaler struct {
	*runtime.JSONPb
}

// NewDecoder returns a decoder for a request body.
func (m *jsonMarshaler) NewDecoder(r io.Reader) runtime.Decoder {
	return runtime.DecoderFunc(func(v any) error {
		b, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		if len(bytes.TrimSpace(b)) == 0 {
			return io.EOF // no body: an empty request, as grpc-gateway has it
		}
		msg, ok := v.(proto.Message)
		if !ok {
			return m.JSONPb.Unmarshal(b, v)
		}
		if err := m.UnmarshalOptions.Unmarshal(b, msg); err != nil {
			// protojson's messages name the field and the position:
			// `proto: (line 1:2): unknown field "evnt"`, with a space or a
			// no-break space after the colon.
			msg := strings.TrimLeft(strings.TrimPrefix(err.Error(), "proto:"), " \u00a0")
			return fmt.Errorf("request body: %s", msg)
		}
		return nil
	})
}
