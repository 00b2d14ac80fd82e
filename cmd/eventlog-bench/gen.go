package main

import (
	crand "crypto/rand"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
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
	crand.Read(hash)
	crand.Read(prev)
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

// Realistic traffic: the object written to and the actor writing follow a
// skewed (Zipf) distribution, as in a service where some objects and some
// users are much busier than others, and details hold a few hundred bytes.
// The entries above touch 4 objects and 4 actors, always at the end of
// their index ranges; these spread over the indexes, hot and cold parts.
const (
	realObjects    = 100_000
	realActors     = 1_000
	realZipfS      = 1.1 // exponent: >1, the larger the more skewed
	realMinDetails = 200 // bytes of details JSON, uniform in [min, max]
	realMaxDetails = 800
)

// realDraw is the realistic traffic's draws for one entry.
type realDraw struct {
	object, actor, details int
	textAt                 int
}

// realRand draws realistic entries deterministically from their index:
// the same i gives the same entry in genRealEvent and realRow.
type realRand struct {
	src           *rand.PCG
	r             *rand.Rand
	object, actor *rand.Zipf
}

var realPool = sync.Pool{New: func() any {
	src := rand.NewPCG(0, 0)
	r := rand.New(src)
	return &realRand{src: src, r: r,
		object: rand.NewZipf(r, realZipfS, 1, realObjects-1),
		actor:  rand.NewZipf(r, realZipfS, 1, realActors-1)}
}}

func drawReal(i int) realDraw {
	rr := realPool.Get().(*realRand)
	defer realPool.Put(rr)
	rr.src.Seed(uint64(i), 0x9e3779b97f4a7c15)
	// Zipf draws 0 most often: scatter the ranks over the id space, so
	// that the hot objects are not all neighbours in the indexes.
	return realDraw{
		object:  int(scatter(rr.object.Uint64(), realObjects)),
		actor:   int(scatter(rr.actor.Uint64(), realActors)),
		details: realMinDetails + rr.r.IntN(realMaxDetails-realMinDetails+1),
		textAt:  rr.r.IntN(len(realText) - realMaxDetails),
	}
}

// scatter maps rank k of n to a number in [0, n), one to one, far from
// the numbers of the ranks beside it.
func scatter(k, n uint64) uint64 { return (k*7919 + 13) % n } // 7919 is prime, n is not its multiple

// realText is the text details are cut from.
var realText = func() string {
	var s strings.Builder
	words := []string{"status", "changed", "from", "draft", "to", "review", "owner", "set", "the", "title",
		"updated", "budget", "approved", "comment", "added", "attachment", "removed", "priority", "high", "low"}
	r := rand.New(rand.NewPCG(1, 2))
	for s.Len() < 4*realMaxDetails {
		s.WriteString(words[r.IntN(len(words))])
		s.WriteByte(' ')
	}
	return s.String()
}()

// realDetails returns the i-th entry's details as fields and as the JSON
// of those fields, of about d.details bytes.
func realDetails(i int, d realDraw) (note string, seq float64) {
	// {"field":"body","note":"…","seq":N}: 33 bytes and the digits of N
	// around the note.
	n := max(0, d.details-33-len(strconv.Itoa(i)))
	return realText[d.textAt : d.textAt+n], float64(i)
}

// genRealEvent returns the i-th entry of realistic traffic, as a client
// sends it.
func genRealEvent(i int) *eventlogv1.Event { return realEvent(i, true, false) }

// genSkewedEvent is genRealEvent with genEvent's small details: what the
// skewed object ids and actors cost, apart from the larger entries.
func genSkewedEvent(i int) *eventlogv1.Event { return realEvent(i, false, false) }

// genUniqueEvent is genRealEvent on an object no other entry names: the
// same entries, but each object id new, at the end of its index range.
// Against it, realistic traffic shows what the skewed object ids cost.
func genUniqueEvent(i int) *eventlogv1.Event { return realEvent(i, true, true) }

func realEvent(i int, details, unique bool) *eventlogv1.Event {
	d := drawReal(i)
	note, seq := realDetails(i, d)
	if unique {
		// Past the skewed ids' range, and increasing with i.
		d.object = realObjects + i
	}
	obj, actor := "obj-"+strconv.Itoa(d.object), strconv.Itoa(d.actor)
	fields := map[string]*structpb.Value{
		"field": structpb.NewStringValue("body"),
		"seq":   structpb.NewNumberValue(seq),
	}
	if details {
		fields["note"] = structpb.NewStringValue(note)
	}
	return &eventlogv1.Event{
		EventType:   genTypes[i%4],
		Actor:       &eventlogv1.Actor{Id: "u" + actor, Name: "user-" + actor, Kind: eventlogv1.ActorKind_ACTOR_KIND_USER},
		ContentType: genContentTypes[d.object%4],
		ObjectId:    obj,
		ObjectRepr:  "Object number " + strconv.Itoa(d.object),
		Details:     &structpb.Struct{Fields: fields},
		Request: &eventlogv1.RequestContext{
			RemoteAddr: "203.0.113.7", Method: "POST", Path: "/api/objects/" + obj,
			Protocol: "HTTP/1.1", Status: 200, UserAgent: "bench-client/1.0", RequestId: "req-" + strconv.Itoa(i),
		},
	}
}

// realRow is rawRow for realistic traffic: the columns of genRealEvent(i)
// as eventlog stores them.
func realRow(id int64, i int, timeArg func(time.Time) any) []any {
	d := drawReal(i)
	note, seq := realDetails(i, d)
	hash, prev := make([]byte, eventlog.HashSize), make([]byte, eventlog.HashSize)
	crand.Read(hash)
	crand.Read(prev)
	ct := genContentTypes[d.object%4]
	obj, actor := "obj-"+strconv.Itoa(d.object), strconv.Itoa(d.actor)
	actorID, actorName := "u"+actor, "user-"+actor
	return []any{
		id, timeArg(time.Now()), nil, genTypes[i%4].String()[len("EVENT_TYPE_"):],
		actorID, actorName, "user",
		ct, obj, "Object number " + strconv.Itoa(d.object),
		fmt.Sprintf(`{"field":"body","note":%q,"seq":%g}`, note, seq), int64(0),
		"203.0.113.7", "POST", "/api/objects/" + obj, "HTTP/1.1", int32(200),
		"bench-client/1.0", "req-" + strconv.Itoa(i),
		nil, hash, prev,
		eventlog.Fold(actorID), eventlog.Fold(actorName), eventlog.Fold(ct),
	}
}
