package main

import (
	"crypto/rand"
	"fmt"
	"strconv"
	"time"

	"github.com/eventlog/eventlog"
	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
	"google.golang.org/protobuf/types/known/structpb"
)

// The generated entries spread over four values of each filtered field,
// with strides that mix the combinations, so that every filter value
// matches about a quarter of the log and a filter with a time range over
// half of the log still has more than 100 pages.
var (
	genTypes = []eventlogv1.EventType{
		eventlogv1.EventType_EVENT_TYPE_CREATE, eventlogv1.EventType_EVENT_TYPE_EDIT,
		eventlogv1.EventType_EVENT_TYPE_DELETE, eventlogv1.EventType_EVENT_TYPE_FETCH,
	}
	genContentTypes = []string{"Note", "Entity", "Artifact", "Report"}
)

func genActor(i int) int   { return (i / 7) % 4 }
func genObject(i int) int  { return (i / 3) % 4 }
func genContent(i int) int { return (i / 5) % 4 }

// genEvent returns the i-th generated entry, as a client sends it: about
// 400 bytes with its request context and details.
func genEvent(i int) *eventlogv1.Event {
	a, o := genActor(i), genObject(i)
	return &eventlogv1.Event{
		EventType:   genTypes[i%4],
		Actor:       &eventlogv1.Actor{Id: "u" + strconv.Itoa(a), Name: "user-" + strconv.Itoa(a), Kind: eventlogv1.ActorKind_ACTOR_KIND_USER},
		ContentType: genContentTypes[genContent(i)],
		ObjectId:    "obj-" + strconv.Itoa(o),
		ObjectRepr:  "Object number " + strconv.Itoa(o),
		Details: &structpb.Struct{Fields: map[string]*structpb.Value{
			"field": structpb.NewStringValue("body"),
			"seq":   structpb.NewNumberValue(float64(i)),
		}},
		Request: &eventlogv1.RequestContext{
			RemoteAddr: "203.0.113.7", Method: "POST", Path: "/api/objects/obj-" + strconv.Itoa(o),
			Protocol: "HTTP/1.1", Status: 200, UserAgent: "bench-client/1.0", RequestId: "req-" + strconv.Itoa(i),
		},
	}
}

// rawRow returns the column values of the i-th generated entry for the
// raw baselines, in the order of rawColumns, with the given id: the same
// content as genEvent stored by eventlog, and random hashes.
func rawRow(id int64, i int, timeArg func(time.Time) any) []any {
	a, o := genActor(i), genObject(i)
	hash, prev := make([]byte, eventlog.HashSize), make([]byte, eventlog.HashSize)
	rand.Read(hash)
	rand.Read(prev)
	ct := genContentTypes[genContent(i)]
	actorID, actorName := "u"+strconv.Itoa(a), "user-"+strconv.Itoa(a)
	return []any{
		id, timeArg(time.Now()), nil, genTypes[i%4].String()[len("EVENT_TYPE_"):],
		actorID, actorName, "user",
		ct, "obj-" + strconv.Itoa(o), "Object number " + strconv.Itoa(o),
		fmt.Sprintf(`{"field":"body","seq":%d}`, i), int64(0),
		"203.0.113.7", "POST", "/api/objects/obj-" + strconv.Itoa(o), "HTTP/1.1", int32(200),
		"bench-client/1.0", "req-" + strconv.Itoa(i),
		nil, hash, prev,
		eventlog.Fold(actorID), eventlog.Fold(actorName), eventlog.Fold(ct),
	}
}

// rawColumns are the columns of eventlog's events table, in rawRow's order.
var rawColumns = []string{
	"id", "time", "occurred_time", "event_type", "actor_id", "actor_name", "actor_kind",
	"content_type", "object_id", "object_repr", "details", "source_id",
	"req_remote_addr", "req_method", "req_path", "req_protocol", "req_status", "req_user_agent", "req_request_id",
	"idempotency_key", "hash", "prev_hash", "actor_id_fold", "actor_name_fold", "content_type_fold",
}
