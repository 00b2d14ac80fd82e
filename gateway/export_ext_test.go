package gateway_test

import (
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/eventlog/eventlog/gateway"
	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// pagingStub serves one page of three entries, then fails.
type pagingStub struct {
	eventlogv1.UnimplementedEventLogServiceServer
}

func (pagingStub) ListEvents(_ context.Context, req *eventlogv1.ListEventsRequest) (*eventlogv1.ListEventsResponse, error) {
	if req.GetPageToken() != "" {
		return nil, status.Error(codes.Unavailable, "the database\ncannot be reached")
	}
	if req.GetOrderBy() != "id asc" || req.GetAfterId() != 10 {
		return nil, status.Errorf(codes.InvalidArgument, "want order_by id asc after 10, got %q after %d", req.GetOrderBy(), req.GetAfterId())
	}
	resp := &eventlogv1.ListEventsResponse{NextPageToken: "next"}
	for id := int64(11); id <= 13; id++ {
		resp.Events = append(resp.Events, &eventlogv1.Event{Id: id, Hash: []byte{byte(id), 0xee}})
	}
	return resp, nil
}

// An export that stops early says so, in its trailers and in its last
// line, with where to resume.
func TestExportEndsEarly(t *testing.T) {
	gw := newGateway(t, func(g *grpc.Server) { eventlogv1.RegisterEventLogServiceServer(g, pagingStub{}) }, gateway.Config{})
	srv := httptest.NewServer(gw)
	defer srv.Close()
	for _, format := range []string{"jsonl", "csv"} {
		resp, err := http.Get(srv.URL + gateway.ExportPath + "?after_id=10&format=" + format)
		if err != nil {
			t.Fatal(err)
		}
		var body strings.Builder
		_, err = io.Copy(&body, resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: export = %d, %v", format, resp.StatusCode, err)
		}
		tr := resp.Trailer
		if tr.Get(gateway.TrailerComplete) != "false" || tr.Get(gateway.TrailerCount) != "3" || tr.Get(gateway.TrailerLastID) != "13" ||
			tr.Get(gateway.TrailerLastHash) != hex.EncodeToString([]byte{13, 0xee}) {
			t.Errorf("%s: trailers %v, want incomplete after 3 entries, the last 13", format, tr)
		}
		if e := tr.Get(gateway.TrailerError); !strings.Contains(e, "cannot be reached") || !strings.Contains(e, "after_id=13") || strings.Contains(e, "\n") {
			t.Errorf("%s: error trailer %q, want the cause on one line and after_id=13", format, e)
		}
		lines := strings.Split(strings.TrimSpace(body.String()), "\n")
		switch format {
		case "jsonl":
			last := lines[len(lines)-1]
			if len(lines) != 4 || !strings.HasPrefix(last, `{"export":{"complete":false,"count":"3","lastId":"13"`) || !strings.Contains(last, "after_id=13") {
				t.Errorf("jsonl: %d lines, the last %q; want 3 entries and an incomplete end line", len(lines), last)
			}
		case "csv":
			if len(lines) != 4 {
				t.Fatalf("csv: %d lines, want the header and 3 entries", len(lines))
			}
			// id,time,occurred_time,event_type,actor_id,actor_name,actor_kind,...
			if f := strings.Split(lines[1], ","); len(f) < 7 || f[0] != "11" || f[6] != "" {
				t.Errorf("csv: first row %q, want entry 11 with an empty actor_kind (no actor)", lines[1])
			}
		}
	}
}
