package server

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"

	"github.com/eventlog/eventlog"
	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
	"github.com/eventlog/eventlog/protomap"
)

// refFromProto checks an object reference whose fields are both required.
func refFromProto(field string, r *eventlogv1.ObjectRef) (eventlog.ObjectRef, error) {
	if r == nil {
		return eventlog.ObjectRef{}, eventlog.Invalid(field, "required: content_type and object_id")
	}
	ref := protomap.RefFromProto(r)
	if err := ref.Validate(); err != nil {
		return eventlog.ObjectRef{}, eventlog.Within(field, err)
	}
	return ref, nil
}

// relatedFromProto checks the objects a write names as related.
func relatedFromProto(field string, refs []*eventlogv1.ObjectRef) ([]eventlog.ObjectRef, error) {
	if len(refs) > eventlog.MaxInlineRelated {
		return nil, eventlog.Invalid(field, "at most %d objects, got %d", eventlog.MaxInlineRelated, len(refs))
	}
	if len(refs) == 0 {
		return nil, nil
	}
	out := make([]eventlog.ObjectRef, len(refs))
	for i, r := range refs {
		ref, err := refFromProto(fmt.Sprintf("%s[%d]", field, i), r)
		if err != nil {
			return nil, err
		}
		out[i] = ref
	}
	return out, nil
}

func relationFromProto(field string, r *eventlogv1.Relation) (eventlog.Relation, error) {
	switch {
	case r == nil:
		return eventlog.Relation{}, eventlog.Invalid(field, "required")
	case r.GetFrom() == nil:
		return eventlog.Relation{}, eventlog.Invalid(field+".from", "required: content_type and object_id")
	case r.GetTo() == nil:
		return eventlog.Relation{}, eventlog.Invalid(field+".to", "required: content_type and object_id")
	}
	rel := protomap.RelationFromProto(r)
	if err := rel.Validate(); err != nil {
		return eventlog.Relation{}, eventlog.Within(field, err)
	}
	return rel, nil
}

func relationsFromProto(rels []*eventlogv1.Relation) ([]eventlog.Relation, error) {
	switch {
	case len(rels) == 0:
		return nil, eventlog.Invalid("relations", "at least one relation is required")
	case len(rels) > eventlog.MaxRelationsPerCall:
		return nil, eventlog.Invalid("relations", "at most %d relations per call, got %d; split the call",
			eventlog.MaxRelationsPerCall, len(rels))
	}
	out := make([]eventlog.Relation, len(rels))
	for i, r := range rels {
		rel, err := relationFromProto(fmt.Sprintf("relations[%d]", i), r)
		if err != nil {
			return nil, err
		}
		out[i] = rel
	}
	return out, nil
}

// listRelationsFromProto checks a ListRelations request. A filter end needs
// a content type; its object id may be empty, for every object of the type.
func listRelationsFromProto(req *eventlogv1.ListRelationsRequest) (eventlog.RelationFilter, *eventlog.Relation, int, error) {
	var f eventlog.RelationFilter
	end := func(field string, r *eventlogv1.ObjectRef) (*eventlog.ObjectRef, error) {
		if r == nil {
			return nil, nil
		}
		if err := eventlog.CheckRequired(field+".content_type", r.GetContentType(), eventlog.MaxShortString); err != nil {
			return nil, err
		}
		if err := eventlog.CheckString(field+".object_id", r.GetObjectId(), eventlog.MaxObjectID, true); err != nil {
			return nil, err
		}
		ref := protomap.RefFromProto(r)
		return &ref, nil
	}
	var err error
	if f.From, err = end("from", req.GetFrom()); err != nil {
		return f, nil, 0, err
	}
	if f.To, err = end("to", req.GetTo()); err != nil {
		return f, nil, 0, err
	}
	if k := req.GetKind(); k != "" {
		if err := eventlog.CheckString("kind", k, eventlog.MaxShortString, true); err != nil {
			return f, nil, 0, err
		}
		f.Kind = &k
	}
	size, err := pageSize(req.GetPageSize())
	if err != nil {
		return f, nil, 0, err
	}
	var after *eventlog.Relation
	if tok := req.GetPageToken(); tok != "" {
		if after, err = decodeRelationToken(tok, f); err != nil {
			return f, nil, 0, err
		}
	}
	return f, after, size, nil
}

// A relation page token is the base64url encoding, without padding, of
//
//	version (1 byte, relationTokenVersion)
//	filter fingerprint (8 bytes: the first 8 of SHA-256 of the filter)
//	the last relation: from type, from id, to type, to id, kind
//	  (each a uvarint length and the bytes)
const relationTokenVersion = 2

// maxRelationTokenLen bounds a token: five strings at their limits.
var maxRelationTokenLen = base64.RawURLEncoding.EncodedLen(
	1 + 8 + 5*binary.MaxVarintLen64 + 2*eventlog.MaxShortString + 2*eventlog.MaxObjectID + eventlog.MaxShortString)

func relationFingerprint(f eventlog.RelationFilter) []byte {
	var b []byte
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	end := func(r *eventlog.ObjectRef) {
		if r == nil {
			b = append(b, 0)
			return
		}
		b = append(b, 1)
		str(eventlog.Fold(r.ContentType))
		str(r.ObjectID)
	}
	end(f.From)
	end(f.To)
	if f.Kind == nil {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		str(*f.Kind)
	}
	sum := sha256.Sum256(b)
	return sum[:8]
}

func encodeRelationToken(last eventlog.Relation, f eventlog.RelationFilter) string {
	b := []byte{relationTokenVersion}
	b = append(b, relationFingerprint(f)...)
	for _, s := range []string{last.From.ContentType, last.From.ObjectID, last.To.ContentType, last.To.ObjectID, last.Kind} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeRelationToken(tok string, f eventlog.RelationFilter) (*eventlog.Relation, error) {
	malformed := eventlog.Invalid("page_token", "malformed; pass the next_page_token of a previous response unchanged, or start again without a page token")
	if len(tok) > maxRelationTokenLen {
		return nil, malformed
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(tok)
	if err != nil || len(b) < 9 || b[0] != relationTokenVersion {
		return nil, malformed
	}
	if string(b[1:9]) != string(relationFingerprint(f)) {
		return nil, eventlog.Invalid("page_token", "does not match the request's filters; start again without a page token")
	}
	b = b[9:]
	var parts [5]string
	for i := range parts {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return nil, malformed
		}
		parts[i] = string(b[k : k+int(n)])
		b = b[k+int(n):]
	}
	if len(b) != 0 {
		return nil, malformed
	}
	return &eventlog.Relation{
		From: eventlog.ObjectRef{ContentType: parts[0], ObjectID: parts[1]},
		To:   eventlog.ObjectRef{ContentType: parts[2], ObjectID: parts[3]},
		Kind: parts[4],
	}, nil
}

// PutRelations registers relations.
func (s *Server) PutRelations(ctx context.Context, req *eventlogv1.PutRelationsRequest) (*eventlogv1.PutRelationsResponse, error) {
	rels, err := relationsFromProto(req.GetRelations())
	if err != nil {
		return nil, s.fail(ctx, "PutRelations", err)
	}
	n, err := s.store.PutRelations(ctx, rels)
	if err != nil {
		return nil, s.fail(ctx, "PutRelations", err)
	}
	return &eventlogv1.PutRelationsResponse{Created: int32(n)}, nil
}

// DeleteRelations removes relations.
func (s *Server) DeleteRelations(ctx context.Context, req *eventlogv1.DeleteRelationsRequest) (*eventlogv1.DeleteRelationsResponse, error) {
	rels, err := relationsFromProto(req.GetRelations())
	if err != nil {
		return nil, s.fail(ctx, "DeleteRelations", err)
	}
	n, err := s.store.DeleteRelations(ctx, rels)
	if err != nil {
		return nil, s.fail(ctx, "DeleteRelations", err)
	}
	return &eventlogv1.DeleteRelationsResponse{Deleted: int32(n)}, nil
}

// ListRelations returns one page of relations.
func (s *Server) ListRelations(ctx context.Context, req *eventlogv1.ListRelationsRequest) (*eventlogv1.ListRelationsResponse, error) {
	f, after, size, err := listRelationsFromProto(req)
	if err != nil {
		return nil, s.fail(ctx, "ListRelations", err)
	}
	rels, err := s.store.ListRelations(ctx, f, after, size+1)
	if err != nil {
		return nil, s.fail(ctx, "ListRelations", err)
	}
	resp := &eventlogv1.ListRelationsResponse{}
	if len(rels) > size {
		rels = rels[:size]
		resp.NextPageToken = encodeRelationToken(rels[size-1], f)
	}
	resp.Relations = make([]*eventlogv1.Relation, len(rels))
	for i, r := range rels {
		resp.Relations[i] = protomap.RelationToProto(r)
	}
	return resp, nil
}
