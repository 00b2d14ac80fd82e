package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"math/rand/v2"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/eventlog/eventlog"
	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
	"github.com/eventlog/eventlog/protomap"
)

// LogEvent appends w.Event, with w.Event.IdempotencyKey as the write's key
// when set, and returns the entry as stored with the entries propagated
// from it. Only the fields a writer gives are sent: not the id, time,
// hashes or source.
func (c *Client) LogEvent(ctx context.Context, w eventlog.Write) (eventlog.Written, error) {
	cctx, cancel := c.callContext(ctx)
	defer cancel()
	resp, err := c.rpc.LogEvent(cctx, protomap.WriteToProto(&w))
	if err != nil {
		return eventlog.Written{}, callError(err)
	}
	return protomap.WrittenFromProto(resp)
}

// LogEvents appends the entries of ws in one transaction, in order, and
// returns them as stored: all are written or none.
func (c *Client) LogEvents(ctx context.Context, ws []eventlog.Write) ([]eventlog.Written, error) {
	return c.logEvents(ctx, ws, eventlogv1.EventView_EVENT_VIEW_UNSPECIFIED)
}

// LogEventsBasic is LogEvents with the basic view of the stored entries:
// each holds its id, time, hash and source id, and no children, which
// spares the server encoding and the client decoding what it sent.
func (c *Client) LogEventsBasic(ctx context.Context, ws []eventlog.Write) ([]eventlog.Written, error) {
	return c.logEvents(ctx, ws, eventlogv1.EventView_EVENT_VIEW_BASIC)
}

func (c *Client) logEvents(ctx context.Context, ws []eventlog.Write, view eventlogv1.EventView) ([]eventlog.Written, error) {
	req := &eventlogv1.LogEventsRequest{Requests: make([]*eventlogv1.LogEventRequest, len(ws)), View: view}
	for i := range ws {
		req.Requests[i] = protomap.WriteToProto(&ws[i])
	}
	cctx, cancel := c.callContext(ctx)
	defer cancel()
	resp, err := c.rpc.LogEvents(cctx, req)
	if err != nil {
		return nil, callError(err)
	}
	out := make([]eventlog.Written, len(resp.GetResponses()))
	for i, r := range resp.GetResponses() {
		if out[i], err = protomap.WrittenFromProto(r); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// GetEvent returns the entry with the given id and the number of entries
// propagated from it. An id that holds no entry is ErrNotFound.
func (c *Client) GetEvent(ctx context.Context, id int64) (eventlog.Event, int64, error) {
	cctx, cancel := c.callContext(ctx)
	defer cancel()
	resp, err := c.rpc.GetEvent(cctx, &eventlogv1.GetEventRequest{Id: id})
	if err != nil {
		return eventlog.Event{}, 0, callError(err)
	}
	e, err := protomap.EventFromProto(resp.GetEvent())
	return e, resp.GetChildCount(), err
}

// ListOption changes the order or page size of List.
type ListOption func(*eventlogv1.ListEventsRequest)

// Ascending lists oldest first; the default is newest first.
func Ascending() ListOption {
	return func(r *eventlogv1.ListEventsRequest) { r.OrderBy = "id asc" }
}

// PageSize asks for n entries a call; the server's default is 50, its
// maximum 1000.
func PageSize(n int32) ListOption {
	return func(r *eventlogv1.ListEventsRequest) { r.PageSize = n }
}

// List returns the entries that match f, newest first unless Ascending,
// fetching pages as the loop goes on. A failed call is the last item of the
// sequence, with its error.
func (c *Client) List(ctx context.Context, f eventlog.Filter, opts ...ListOption) iter.Seq2[eventlog.Event, error] {
	return func(yield func(eventlog.Event, error) bool) {
		token := ""
		for {
			page, next, err := c.ListPage(ctx, f, token, opts...)
			if err != nil {
				yield(eventlog.Event{}, err)
				return
			}
			for _, e := range page {
				if !yield(e, nil) {
					return
				}
			}
			if next == "" {
				return
			}
			if next == token {
				yield(eventlog.Event{}, fmt.Errorf("list: the server returned the same page token twice"))
				return
			}
			token = next
		}
	}
}

// ListPage returns one page of the entries that match f: the first when
// pageToken is empty, else the one the token names (with the same f and
// options), and the token of the next page, empty after the last.
func (c *Client) ListPage(ctx context.Context, f eventlog.Filter, pageToken string, opts ...ListOption) ([]eventlog.Event, string, error) {
	req := protomap.FilterToProto(f)
	for _, o := range opts {
		o(req)
	}
	req.PageToken = pageToken
	cctx, cancel := c.callContext(ctx)
	defer cancel()
	resp, err := c.rpc.ListEvents(cctx, req)
	if err != nil {
		return nil, "", callError(err)
	}
	out := make([]eventlog.Event, len(resp.GetEvents()))
	for i, pe := range resp.GetEvents() {
		if out[i], err = protomap.EventFromProto(pe); err != nil {
			return nil, "", err
		}
	}
	return out, resp.GetNextPageToken(), nil
}

// Follow returns the entries that match f with an id above afterID, in id
// order, then new ones as they are written, without end. A negative
// afterID starts with the entries written from now on.
//
// When the stream breaks (the server restarts or shuts down, the network
// fails, another replica takes over), Follow reconnects with backoff (see
// WithBackoff) and resumes after the last id it delivered or the server
// reported as scanned, so every entry comes once, in order. An error that
// a retry cannot mend, such as an invalid filter, or ctx ending, is the
// last item of the sequence.
func (c *Client) Follow(ctx context.Context, f eventlog.Filter, afterID int64) iter.Seq2[eventlog.Event, error] {
	return func(yield func(eventlog.Event, error) bool) {
		var cursor *int64
		if afterID >= 0 {
			cursor = &afterID
		}
		backoff := c.minBackoff
		for {
			progressed, stop, err := c.followOnce(ctx, f, &cursor, yield)
			if stop {
				return
			}
			if ctx.Err() != nil {
				yield(eventlog.Event{}, ctx.Err())
				return
			}
			if !retryable(err) {
				yield(eventlog.Event{}, callError(err))
				return
			}
			if progressed {
				backoff = c.minBackoff
			}
			// Up to a fifth less, so that clients cut off together do not
			// come back together.
			wait := backoff - time.Duration(rand.Int64N(int64(backoff)/5+1))
			if c.onRetry != nil {
				at := int64(-1)
				if cursor != nil {
					at = *cursor
				}
				c.onRetry(callError(err), wait, at)
			}
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				yield(eventlog.Event{}, ctx.Err())
				return
			case <-t.C:
			}
			backoff = min(2*backoff, c.maxBackoff)
		}
	}
}

// followOnce runs one stream until it fails. It says whether anything was
// received, and whether the consumer stopped the loop.
func (c *Client) followOnce(ctx context.Context, f eventlog.Filter, cursor **int64, yield func(eventlog.Event, error) bool) (progressed, stop bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.rpc.StreamEvents(ctx, protomap.FilterToStream(f, *cursor))
	if err != nil {
		return false, false, err
	}
	for {
		resp, err := stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = status.Error(codes.Unavailable, "the server ended the stream")
			}
			return progressed, false, err
		}
		progressed = true
		var id int64
		switch item := resp.GetItem().(type) {
		case *eventlogv1.StreamEventsResponse_Event:
			id = item.Event.GetId()
			if *cursor != nil && id <= **cursor {
				continue // delivered already
			}
			e, err := protomap.EventFromProto(item.Event)
			if !yield(e, err) || err != nil {
				return progressed, true, nil
			}
		case *eventlogv1.StreamEventsResponse_Heartbeat:
			id = item.Heartbeat.GetLastId()
		default:
			continue
		}
		if *cursor == nil || id > **cursor {
			*cursor = &id
		}
	}
}

// retryable says whether a stream error is worth reconnecting after: the
// server or the network failed, rather than the request.
func retryable(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.Internal, codes.Unknown, codes.ResourceExhausted, codes.Aborted:
		return true
	}
	return false
}

// PutRelations registers relations, and returns how many were new.
func (c *Client) PutRelations(ctx context.Context, rels []eventlog.Relation) (int, error) {
	cctx, cancel := c.callContext(ctx)
	defer cancel()
	resp, err := c.rpc.PutRelations(cctx, &eventlogv1.PutRelationsRequest{Relations: relationsToProto(rels)})
	if err != nil {
		return 0, callError(err)
	}
	return int(resp.GetCreated()), nil
}

// DeleteRelations removes relations, and returns how many there were.
func (c *Client) DeleteRelations(ctx context.Context, rels []eventlog.Relation) (int, error) {
	cctx, cancel := c.callContext(ctx)
	defer cancel()
	resp, err := c.rpc.DeleteRelations(cctx, &eventlogv1.DeleteRelationsRequest{Relations: relationsToProto(rels)})
	if err != nil {
		return 0, callError(err)
	}
	return int(resp.GetDeleted()), nil
}

func relationsToProto(rels []eventlog.Relation) []*eventlogv1.Relation {
	out := make([]*eventlogv1.Relation, len(rels))
	for i, r := range rels {
		out[i] = protomap.RelationToProto(r)
	}
	return out
}

// ListRelations returns the relations f selects, fetching pages as the
// loop goes on. A failed call is the last item, with its error.
func (c *Client) ListRelations(ctx context.Context, f eventlog.RelationFilter) iter.Seq2[eventlog.Relation, error] {
	return func(yield func(eventlog.Relation, error) bool) {
		token := ""
		for {
			page, next, err := c.ListRelationsPage(ctx, f, token, 0)
			if err != nil {
				yield(eventlog.Relation{}, err)
				return
			}
			for _, r := range page {
				if !yield(r, nil) {
					return
				}
			}
			if next == "" || next == token {
				return
			}
			token = next
		}
	}
}

// ListRelationsPage returns one page of the relations f selects, of at
// most pageSize (0 for the server's default), as ListPage does for entries.
func (c *Client) ListRelationsPage(ctx context.Context, f eventlog.RelationFilter, pageToken string, pageSize int32) ([]eventlog.Relation, string, error) {
	req := &eventlogv1.ListRelationsRequest{PageToken: pageToken, PageSize: pageSize}
	if f.From != nil {
		req.From = protomap.RefToProto(*f.From)
	}
	if f.To != nil {
		req.To = protomap.RefToProto(*f.To)
	}
	if f.Kind != nil {
		req.Kind = *f.Kind
	}
	cctx, cancel := c.callContext(ctx)
	defer cancel()
	resp, err := c.rpc.ListRelations(cctx, req)
	if err != nil {
		return nil, "", callError(err)
	}
	out := make([]eventlog.Relation, len(resp.GetRelations()))
	for i, r := range resp.GetRelations() {
		out[i] = protomap.RelationFromProto(r)
	}
	return out, resp.GetNextPageToken(), nil
}

// Verify checks the server's hash chain from o.Start to o.End (0: the end
// of the log, which checks the head too), as "eventlog verify" does: one
// call per slice the server checks at a time, calling o.Progress after
// each. A break is reported in the result, not as an error.
func (c *Client) Verify(ctx context.Context, o eventlog.VerifyOptions) (eventlog.VerifyResult, error) {
	var total eventlog.VerifyResult
	req := &eventlogv1.VerifyChainRequest{StartId: o.Start, EndId: o.End}
	for call := 0; ; call++ {
		cctx, cancel := c.callContext(ctx)
		resp, err := c.rpc.VerifyChain(cctx, req)
		cancel()
		if err != nil {
			return total, callError(err)
		}
		r := protomap.VerifyFromProto(resp)
		if call == 0 {
			total = r
		} else {
			total.End, total.EndHash, total.Head, total.HeadChecked, total.Next, total.Break =
				r.End, r.EndHash, r.Head, r.HeadChecked, r.Next, r.Break
			total.Checked += r.Checked
		}
		if o.Progress != nil {
			o.Progress(total.Checked, total.End)
		}
		if r.Break != nil || r.Next == 0 {
			return total, nil
		}
		if r.Next <= req.GetStartId() {
			return total, fmt.Errorf("verify: the server asked to continue at %d, not after %d", r.Next, req.GetStartId())
		}
		req.StartId = r.Next
	}
}
