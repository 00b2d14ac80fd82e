package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/eventlog/eventlog"
	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
	"github.com/eventlog/eventlog/protomap"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// compactJSON marshals m with protojson on one line. protojson's output is
// deliberately unstable in its spacing, so it goes through json.Compact.
func compactJSON(m proto.Message) ([]byte, error) {
	b, err := protojson.MarshalOptions{}.Marshal(m)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// printJSON prints e as one JSON object on one line.
func printJSON(w io.Writer, e *eventlogv1.Event) error {
	b, err := compactJSON(e)
	if err != nil {
		return fmt.Errorf("encode entry %d: %w", e.GetId(), err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// printNginx prints e as one nginx-style line (see eventlog.Line).
func printNginx(w io.Writer, e *eventlogv1.Event) error {
	de, err := protomap.EventFromProto(e)
	if err != nil {
		return err
	}
	_, err = w.Write(append(eventlog.EventLine(&de).AppendTo(nil), '\n'))
	return err
}
