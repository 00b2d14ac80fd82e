import datetime as dt
import threading
import uuid

import pytest
import requests

import eventlog


def uid() -> str:
    return uuid.uuid4().hex[:12]


@pytest.fixture
def client(server):
    with eventlog.Client(server.url) as c:
        yield c


def test_log_get_and_list(client):
    obj = uid()
    resp = client.log("edit", "Note", obj, actor={"id": 7, "name": "bob", "kind": "user"},
                      object_repr="Meeting notes", details={"field": "body"},
                      request={"remote_addr": "203.0.113.7", "method": "PATCH", "path": "/notes/1", "status": 200})
    ev = resp["event"]
    assert isinstance(ev["id"], str) and int(ev["id"]) > 0
    got = client.get(ev["id"])
    assert got["eventType"] == "EVENT_TYPE_EDIT"
    assert got["actor"] == {"id": "7", "name": "bob", "kind": "ACTOR_KIND_USER"}
    assert (got["contentType"], got["objectId"], got["objectRepr"]) == ("Note", obj, "Meeting notes")
    assert got["details"] == {"field": "body"}
    assert got["request"] == {"remoteAddr": "203.0.113.7", "method": "PATCH", "path": "/notes/1", "status": 200}
    assert got["childCount"] == 0
    listed = list(client.list({"object_id": obj}))
    assert [e["id"] for e in listed] == [ev["id"]]


def test_log_basic_view(client):
    resp = client.log("create", "Note", uid(), actor="alice", details={"big": "x" * 100}, basic=True)
    assert set(resp["event"]) <= {"id", "time", "hash", "sourceId"}
    assert "details" not in resp["event"]


def test_list_follows_page_tokens(client):
    obj = uid()
    written = client.log_many([eventlog.entry("edit", "Page", obj, actor="carol", details={"n": i})
                               for i in range(23)])
    ids = [r["event"]["id"] for r in written]
    assert len(ids) == 23
    assert [e["id"] for e in client.list({"object_id": obj}, page_size=5, order_by="id asc")] == ids
    assert [e["id"] for e in client.list(object_id=obj, page_size=4)] == ids[::-1]
    # Filters: event type in any case, actor, a time range.
    assert len(list(client.list({"object_id": obj, "event_type": "EDIT", "actor": "CAROL"}))) == 23
    assert list(client.list({"object_id": obj, "event_type": "create"})) == []
    future = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)
    assert list(client.list({"object_id": obj, "start_time": future})) == []


def test_errors(client):
    with pytest.raises(eventlog.NotFound) as e:
        client.get(10**12)
    assert e.value.http_status == 404 and e.value.code == 5
    with pytest.raises(eventlog.InvalidArgument) as e:
        client.log_many([eventlog.entry("edit", "Note", "1", actor="a"),
                         {"event": {"eventType": "EVENT_TYPE_EDIT", "actor": {"name": "a"}, "objectId": "1"}}])
    assert e.value.field == "requests[1].event.content_type"
    assert e.value.http_status == 400
    with pytest.raises(eventlog.InvalidArgument) as e:
        list(client.list({"page_size": "ten"}))
    assert e.value.field == "page_size"
    with pytest.raises(ValueError):
        eventlog.entry("update", "Note", "1", actor="a")


def test_idempotency(client):
    key = "py-" + uid()
    first = client.log("edit", "Note", "k1", actor="a", idempotency_key=key)
    again = client.log("edit", "Note", "k1", actor="a", idempotency_key=key)
    assert again["event"]["id"] == first["event"]["id"]
    with pytest.raises(eventlog.AlreadyExists) as e:
        client.log("edit", "Note", "k2", actor="a", idempotency_key=key)
    assert e.value.http_status == 409


def test_unavailable():
    # A port nothing listens on: bind one, then close it.
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(eventlog.Unavailable):
        eventlog.Client(f"http://127.0.0.1:{port}", timeout=2).get(1)


def test_keys(new_server, eventlog_binary, tmp_path):
    import subprocess
    keys = tmp_path / "keys"

    def new_key(name, scopes):
        out = subprocess.run([str(eventlog_binary), "keys", "new", "--name", name, "--scopes", scopes,
                              "--file", str(keys)], check=True, capture_output=True, text=True).stdout
        return next(w for w in out.split() if w.startswith("evl_"))

    reader = new_key("reader", "read")
    writer = new_key("writer", "write")
    s = new_server("--keys", str(keys))
    with pytest.raises(eventlog.Unauthenticated) as e:
        eventlog.Client(s.url).get(1)
    assert e.value.http_status == 401
    with pytest.raises(eventlog.Unauthenticated):
        eventlog.Client(s.url, token="evl_" + "x" * 43).get(1)
    with pytest.raises(eventlog.PermissionDenied) as e:
        eventlog.Client(s.url, token=reader).log("edit", "Note", "1", actor="a")
    assert e.value.http_status == 403
    written = eventlog.Client(s.url, token=writer).log("edit", "Note", "1", actor="a")
    assert eventlog.Client(s.url, token=reader).get(written["event"]["id"])["objectId"] == "1"


def test_propagation_children(client):
    note, entity = uid(), uid()
    assert client.put_relations([(("Note", note), ("Entity", entity), "links")]) == 1
    resp = client.log("edit", "Note", note, actor="alice")
    assert [(c["contentType"], c["objectId"], c["sourceId"]) for c in resp["children"]] == \
        [("Entity", entity, resp["event"]["id"])]
    assert client.get(resp["event"]["id"])["childCount"] == 1
    assert client.delete_relations([(("Note", note), ("Entity", entity), "links")]) == 1


def test_follow_replays_then_goes_live(client):
    obj = uid()
    first = [r["event"]["id"] for r in client.log_many(
        [eventlog.entry("edit", "Follow", obj, actor="a", details={"n": i}) for i in range(3)])]
    stream = client.follow({"object_id": obj}, after_id=0)
    got = [next(stream)["id"] for _ in range(3)]
    assert got == first

    later = []

    def write():
        later.append(client.log("edit", "Follow", obj, actor="a")["event"]["id"])

    t = threading.Thread(target=write)
    t.start()
    ev = next(stream)
    t.join()
    assert ev["id"] == later[0]
    stream.close()


def test_follow_heartbeats(client):
    stream = client.follow({"object_id": uid()}, heartbeats=True)
    item = next(stream)
    assert "heartbeat" in item and "time" in item["heartbeat"]
    stream.close()


def test_follow_resumes_across_a_restart(new_server, tmp_path):
    s = new_server(workdir=tmp_path / "srv")
    c = eventlog.Client(s.url)
    ids = [r["event"]["id"] for r in c.log_many([eventlog.entry("edit", "R", str(i), actor="a") for i in range(5)])]
    stream = c.follow({"content_type": "R"}, after_id=0, max_backoff=0.2)
    assert [next(stream)["id"] for _ in range(5)] == ids

    # Stop the server: the stream ends with UNAVAILABLE. Start it again on
    # the same file and port, write more; the stream resumes after the last
    # id, with nothing missed and nothing twice.
    port = s.url.rsplit(":", 1)[1]
    s.stop()
    s2 = new_server("--http-addr", f"127.0.0.1:{port}", workdir=tmp_path / "srv")
    assert s2.url == s.url
    more = [r["event"]["id"] for r in c.log_many([eventlog.entry("edit", "R", str(i), actor="a") for i in range(5, 8)])]
    assert [next(stream)["id"] for _ in range(3)] == more
    stream.close()


def test_follow_without_reconnect_raises(new_server):
    s = new_server()
    c = eventlog.Client(s.url)
    stream = c.follow(reconnect=False, heartbeats=True)
    next(stream)  # the first heartbeat: the stream is open
    s.stop()
    with pytest.raises(eventlog.Unavailable):
        next(stream)


def test_content_type_is_sent(server):
    # The API refuses a body without Content-Type: application/json; the
    # client always sends it.
    r = requests.post(server.url + "/v1/events", data=b"{}")
    assert r.status_code == 415
    err = eventlog.errors.error_from(r.json(), r.status_code)
    assert isinstance(err, eventlog.InvalidArgument)
