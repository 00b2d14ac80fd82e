package gateway_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/eventlog/eventlog/gateway"
)

// checkClientError fails unless the gateway answered with a JSON body and a
// status below 500: the service behind it never fails, so any 5xx is the
// gateway's fault.
func checkClientError(t *testing.T, w *httptest.ResponseRecorder, what string) {
	t.Helper()
	if w.Code >= 500 {
		t.Fatalf("%s: status %d, body %s", what, w.Code, w.Body)
	}
	if !json.Valid(w.Body.Bytes()) {
		t.Fatalf("%s: status %d, body is not JSON: %q", what, w.Code, w.Body)
	}
}

// FuzzQuery sends arbitrary query strings to the routes that read one,
// except the stream, which a valid query keeps open.
func FuzzQuery(f *testing.F) {
	for _, seed := range []string{
		"",
		"event_type=edit&actor=alice&content_type=Entry&start_time=2026-01-01T00:00:00Z",
		"eventType=EVENT_TYPE_EDIT&objectId=42&sourceId=0&endTime=2026-01-01T00:00:00.123456789%2B02:00",
		"page_size=2&page_token=AQID&order_by=id+asc",
		"page_size=-1", "page_size=1e3", "source_id=9223372036854775808", "start_time=0001-01-01T00:00:00Z",
		"start_time=9999-12-31T23:59:59Z&end_time=10000-01-01T00:00:00Z", "start_time.seconds=-62135596801",
		"start_time.nanos=2000000000", "actor=%00%ff", "%ff=1", "page_size=%ff", "actor[x]=1", "a.b.c=1", "=", "&&&", "%zz", ";",
		"order_by=id%20desc&order_by=id%20asc", "from.content_type=Note&from.object_id=1&to.contentType=Entity&kind=links",
		"from=x", "from.content_type.x=1", "to.object_id=%ff", "page_token=" + string(bytes.Repeat([]byte("A"), 300)),
	} {
		f.Add(seed)
	}
	gw := newGateway(f, realService(f, &memStore{}), gateway.Config{})
	f.Fuzz(func(t *testing.T, query string) {
		for _, path := range []string{"/v1/events", "/v1/events/1", "/v1/relations"} {
			r := httptest.NewRequest("GET", path, nil)
			r.URL.RawQuery = query
			w := httptest.NewRecorder()
			gw.ServeHTTP(w, r)
			checkClientError(t, w, "GET "+path+"?"+query)
		}
	})
}

// FuzzPath sends arbitrary ids to GET /v1/events/{id}.
func FuzzPath(f *testing.F) {
	for _, seed := range []string{"1", "0", "-1", "9223372036854775807", "9223372036854775808", "abc", "", "1/2", "%2F", "1:batchLog", "\xff"} {
		f.Add(seed)
	}
	gw := newGateway(f, realService(f, &memStore{}), gateway.Config{})
	f.Fuzz(func(t *testing.T, id string) {
		r := httptest.NewRequest("GET", "/v1/events/x", nil)
		r.URL.Path = "/v1/events/" + id
		w := httptest.NewRecorder()
		gw.ServeHTTP(w, r)
		checkClientError(t, w, "GET /v1/events/"+id)
	})
}

// FuzzBody sends arbitrary bodies to the routes that read one.
func FuzzBody(f *testing.F) {
	event := `{"eventType":"EVENT_TYPE_EDIT","actor":{"id":"7","name":"bob","kind":"ACTOR_KIND_USER"},` +
		`"contentType":"Note","objectId":"n-1","objectRepr":"r","details":{"a":[1,"x",null,true,{"b":{}}]},` +
		`"occurredTime":"2026-01-01T00:00:00Z","request":{"remoteAddr":"192.0.2.1","status":200}}`
	for _, seed := range []string{
		`{"event":` + event + `,"idempotencyKey":"k1"}`,
		`{"requests":[{"event":` + event + `},{"event":` + event + `}]}`,
		``, `{}`, `null`, `[]`, `"x"`, `{"event":null}`, `{"event":{}}`, `{"requests":[null]}`,
		`{"event":{"id":"abc"}}`, `{"event":{"eventType":99}}`, `{"event":{"eventType":"NOPE"}}`,
		`{"event":{"details":{"n":1e999}}}`, `{"event":{"occurredTime":"0000-01-01T00:00:00Z"}}`,
		`{"event":{"hash":"!!"}}`, `{"event":{"contentType":"\ud800"}}`, `{"evnt":1}`, `{"event":{}} x`,
		`{"event":{"event_type":1,"eventType":1}}`, "\xff\xfe", `{"event":{"details":{"":{"":{"":[[[[[]]]]]}}}}}`,
	} {
		f.Add(uint8(0), []byte(seed))
	}
	for _, seed := range []string{
		`{"relations":[{"from":{"contentType":"Note","objectId":"n1"},"to":{"contentType":"Entity","objectId":"e1"},"kind":"links"}]}`,
		`{"relations":[{}]}`, `{"relations":[{"from":null}]}`, `{"relations":"x"}`,
	} {
		f.Add(uint8(2), []byte(seed))
		f.Add(uint8(3), []byte(seed))
	}
	gw := newGateway(f, realService(f, &memStore{}), gateway.Config{MaxRequestBytes: 64 << 10})
	routes := []string{"/v1/events", "/v1/events:batchLog", "/v1/relations:batchPut", "/v1/relations:batchDelete"}
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		path := routes[int(route)%len(routes)]
		r := httptest.NewRequest("POST", path, bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		gw.ServeHTTP(w, r)
		checkClientError(t, w, "POST "+path+" "+string(body))
		if w.Code == http.StatusOK && !json.Valid(body) {
			t.Fatalf("POST %s accepted a body that is not JSON: %q", path, body)
		}
	})
}
